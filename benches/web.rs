//! Web board benchmark: `cargo bench --bench web`.
//!
//! Starts `board --serve` on loopback, keeps one client on its event stream
//! (`/api/events`, as an open page does), and times:
//!
//! 1. a CLI write (`task add`) until the page document that contains it
//!    reaches the client, in a small repository and in one holding 10,000
//!    tasks (9,000 of them closed) — from the start of the write and from
//!    the moment the command returned (target: under 300 ms);
//! 2. `GET /api/board` in the 10,000-task repository (target: under
//!    50 ms): as served (built once per change and kept), and what building
//!    and encoding it costs when something changed, in process; the page
//!    document's rebuild after a write (closed tasks already read) and its
//!    first build; `board --json` in a process, beside bare start-up.
//!
//! It reports medians. Set `BENCH_RUNS` to change how many runs.

mod common;

use git_orchestrate::store::Store;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
const CLOSED: usize = 9_000;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");

    let small = tempfile::tempdir().expect("temp dir");
    setup(small.path());
    run(small.path(), bin, &["init"]);
    let (from_start, from_exit, worst) = event_latency(small.path(), bin, runs);
    println!("write → event, small repository ({runs} runs, median):");
    println!("  from the start of `task add`: {:>7.1} ms", ms(from_start));
    println!(
        "  from its exit:                {:>7.1} ms   (target < 300 ms; slowest {:.1} ms)",
        ms(from_exit),
        ms(worst)
    );

    let big = tempfile::tempdir().expect("temp dir");
    setup(big.path());
    common::populate(big.path(), TASKS, CLOSED);
    let (from_start, from_exit, worst) = event_latency(big.path(), bin, runs);
    println!("write → event, {TASKS} tasks ({runs} runs, median):");
    println!("  from the start of `task add`: {:>7.1} ms", ms(from_start));
    println!(
        "  from its exit:                {:>7.1} ms   (target < 300 ms; slowest {:.1} ms)",
        ms(from_exit),
        ms(worst)
    );

    let server = Server::start(big.path(), bin);
    let agent = agent(Some(Duration::from_secs(30)));
    let url = format!("{}/api/board", server.base);
    let mut served = Vec::new();
    let mut size = 0;
    for _ in 0..runs * 5 {
        let t = Instant::now();
        let body =
            agent.get(&url).call().expect("GET /api/board").into_body().read_to_string().expect("body");
        served.push(t.elapsed());
        size = body.len();
    }
    let mut built = Vec::new();
    let mut startup = Vec::new();
    for _ in 0..runs {
        built.push(time(big.path(), bin, &["--json", "board"]));
        startup.push(time(big.path(), bin, &["--version"]));
    }
    let (board, page, cold) = build_times(big.path(), runs);
    println!("{TASKS} tasks ({} runs, median):", runs * 5);
    println!(
        "  GET /api/board ({size} bytes, as served):   {:>7.2} ms   (target < 50 ms)",
        ms(median(served))
    );
    println!(
        "  the board document built and encoded:      {:>7.1} ms   (what /api/board costs after a write)",
        ms(board)
    );
    println!(
        "  the page document, rebuilt after a write:   {:>7.1} ms   (first build {:.1} ms)",
        ms(page),
        ms(cold)
    );
    println!("  board --json in a process:                  {:>7.1} ms", ms(median(built)));
    println!("  git-orchestrate --version:                  {:>7.1} ms", ms(median(startup)));
}

/// In-process medians: the board document (built and encoded, what the
/// server does once per change), the page document with the closed tasks
/// already read (a rebuild after a write), and the first page build.
fn build_times(repo: &Path, runs: usize) -> (Duration, Duration, Duration) {
    use git_orchestrate::ops::Context;
    use git_orchestrate::web::view::{page_view, Actions, ClosedTasks};
    let ctx = || Context::new(Store::open(repo).expect("open"), None).expect("context");
    let actions = Actions { enabled: false };
    let mut board = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let doc = ctx().board().expect("board");
        serde_json::to_string(&doc).expect("encode");
        board.push(t.elapsed());
    }
    let mut closed = ClosedTasks::default();
    let t = Instant::now();
    page_view(&ctx(), &actions, &mut closed).expect("page");
    let cold = t.elapsed();
    let mut page = Vec::new();
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");
    for i in 0..runs {
        // A task added and cancelled: the write also changes a shard of
        // closed tasks, so the rebuild reads that shard again.
        let out = Command::new(bin)
            .args(["--json", "task", "add", &format!("bench rebuild {i}")])
            .current_dir(repo)
            .output()
            .expect("task add");
        let added: Value = serde_json::from_slice(&out.stdout).expect("task add --json");
        run(repo, bin, &["task", "cancel", added["id"].as_str().expect("id")]);
        let t = Instant::now();
        let view = page_view(&ctx(), &actions, &mut closed).expect("page");
        serde_json::to_string(&view).expect("encode");
        page.push(t.elapsed());
    }
    (median(board), median(page), cold)
}

/// Median time from a `task add` to the first event whose board counts it.
fn event_latency(repo: &Path, bin: &str, runs: usize) -> (Duration, Duration, Duration) {
    let server = Server::start(repo, bin);
    let events = subscribe(&format!("{}/api/events", server.base));
    let before = next_total(&events, |_| true).1;
    let mut from_start = Vec::new();
    let mut from_exit = Vec::new();
    for i in 0..runs {
        // The watcher looks every 100 ms: a write right after the last
        // event would always land just after a look (the worst case), so
        // each write waits a random part of the interval first.
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..250)));
        let start = Instant::now();
        run(repo, bin, &["task", "add", &format!("bench write {i}")]);
        let exit = Instant::now();
        let total = before + 1 + i as u64;
        let (arrived, _) = next_total(&events, |t| t >= total);
        from_start.push(arrived - start);
        from_exit.push(arrived.saturating_duration_since(exit));
    }
    let worst = from_exit.iter().max().copied().unwrap_or_default();
    (median(from_start), median(from_exit), worst)
}

/// The next event whose `board.tasks.total` passes `wanted`: when it came
/// and the total.
fn next_total(events: &mpsc::Receiver<(Instant, Value)>, wanted: impl Fn(u64) -> bool) -> (Instant, u64) {
    loop {
        let (at, view) = events.recv_timeout(Duration::from_secs(10)).expect("an event within 10 s");
        let total = view["board"]["tasks"]["total"].as_u64().expect("board.tasks.total");
        if wanted(total) {
            return (at, total);
        }
    }
}

/// Reads the event stream on a thread; each page document with the instant
/// its last byte arrived.
fn subscribe(url: &str) -> mpsc::Receiver<(Instant, Value)> {
    let (send, receive) = mpsc::channel();
    let response = agent(None).get(url).call().expect("GET /api/events");
    std::thread::spawn(move || {
        let reader = BufReader::new(response.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ") {
                let at = Instant::now();
                let view: Value = serde_json::from_str(data).expect("a page document");
                if send.send((at, view)).is_err() {
                    return;
                }
            }
        }
    });
    receive
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(repo: &Path, bin: &str) -> Server {
        let mut child = Command::new(bin)
            .args(["--json", "board", "--serve", "--port", "0"])
            .current_dir(repo)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start board --serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the address");
        let at: Value = serde_json::from_str(&line).expect("board --serve --json says where it listens");
        Server { child, base: format!("http://{}", at["addr"].as_str().expect("addr")) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(timeout).build().into()
}

fn setup(repo: &Path) {
    git(repo, &["init", "-q"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", "root"]);
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).current_dir(dir).output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn time(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let t = Instant::now();
    run(dir, program, args);
    t.elapsed()
}

fn git(dir: &Path, args: &[&str]) {
    run(dir, "git", args);
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
