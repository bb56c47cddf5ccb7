//! Contention benchmark: `cargo bench --bench race`.
//!
//! 16 processes race `task claim --next` over 200 ready tasks until the
//! queue is drained (each worker runs the CLI again and again, as an
//! agent's shell would), against the Python + SQLite CLI this tool replaces
//! (`benches/sqlite_baseline_cli.py`, run with `python3 -S`, WAL and
//! `synchronous=FULL`) raced the same way, and against 2 processes of ours.
//! Rounds are interleaved so machine noise hits all three alike; it prints
//! the median claims/s of each and the ratios. Targets: 16 processes at
//! least 4x the baseline (goal 5x), and at least 80% of what 2 reach.
//!
//! Every round also checks the result: each task claimed exactly once, the
//! stored state agreeing with what the claimers were told, `git fsck` clean.
//! Set `BENCH_ROUNDS` (default 3) and `BENCH_TASKS` (default 200);
//! `BENCH_DIR` (where the races run) and `BENCH_BIN` (another build of
//! git-orchestrate to race) are described below.

use git_orchestrate::model::ids::{digest_from, TaskId};
use git_orchestrate::model::task::TaskSpec;
use git_orchestrate::store::{Event, Store};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sqlite_baseline_cli.py");

fn main() {
    let python = interpreter();
    let rounds: usize = env_number("BENCH_ROUNDS", 3);
    let tasks: usize = env_number("BENCH_TASKS", 200);
    // BENCH_BIN races another build (say, the one before a change) in
    // the same conditions.
    let bin =
        std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_git-orchestrate").to_string());
    let bin = bin.as_str();
    let scratch = scratch_dir();
    println!("scratch repositories in {}", scratch.display());
    // Every race's directory lives until the end: deleting one round's
    // repository (thousands of files) must not be billed to the next race.
    let mut keep = Vec::new();
    let (mut ours16, mut ours2, mut base16) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let o16 = race_ours(bin, tasks, 16, scratch_in(&scratch, &mut keep));
        let b16 = race_baseline(&python, tasks, 16, scratch_in(&scratch, &mut keep));
        let o2 = race_ours(bin, tasks, 2, scratch_in(&scratch, &mut keep));
        println!(
            "round {}: ours x16 {o16:>6.1}/s   sqlite x16 {b16:>6.1}/s   ours x2 {o2:>6.1}/s",
            round + 1
        );
        ours16.push(o16);
        base16.push(b16);
        ours2.push(o2);
    }
    let (o16, b16, o2) = (median(ours16), median(base16), median(ours2));
    println!("task claim --next over {tasks} tasks, median of {rounds} rounds:");
    println!("  git-orchestrate, 16 processes  {o16:>7.1} claims/s");
    println!("  python+sqlite,   16 processes  {b16:>7.1} claims/s");
    println!("  git-orchestrate,  2 processes  {o2:>7.1} claims/s");
    println!("  16 vs baseline: {:.2}x (target 4x, goal 5x)", o16 / b16);
    println!("  16 vs 2:        {:.0}% (target 80%)", 100.0 * o16 / o2);
}

/// Races `workers` CLI processes over `tasks` fresh tasks; returns claims/s.
fn race_ours(bin: &str, tasks: usize, workers: usize, repo: &Path) -> f64 {
    git(repo, &["init", "-q"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", "root"]);
    let ids = populate(repo, tasks);
    for w in 0..workers {
        run(Command::new(bin)
            .args(["session", "start", &format!("w{w}"), "--no-worktree"])
            .current_dir(repo));
    }
    let repo_path = repo.to_path_buf();
    let bin = bin.to_string();
    let (claimed, elapsed) = race(workers, move |w| {
        let out = Command::new(&bin)
            .args(["--session", &format!("w{w}"), "task", "claim", "--next", "--json"])
            .current_dir(&repo_path)
            .output()
            .expect("run git-orchestrate");
        match out.status.code() {
            Some(0) => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
                Some(v["id"].as_str().expect("an id").to_string())
            }
            Some(1) => None,
            _ => panic!("claim failed: {}", String::from_utf8_lossy(&out.stderr)),
        }
    });
    check_exactly_once(&claimed, &ids);
    let stored = git(repo, &["log", "--format=%s", "refs/orchestrate/tasks"]);
    assert_eq!(stored.lines().filter(|l| l.starts_with("claim ")).count(), tasks, "one claim event per task");
    let fsck = Command::new("git").args(["fsck", "--strict", "--no-dangling"]).current_dir(repo).output();
    assert!(fsck.expect("git fsck").status.success(), "git fsck is clean");
    tasks as f64 / elapsed.as_secs_f64()
}

/// Races `workers` processes of the baseline over `tasks` fresh tasks.
fn race_baseline(python: &str, tasks: usize, workers: usize, dir: &Path) -> f64 {
    let db = dir.join("tasks.db");
    let db = db.to_str().expect("utf-8 path").to_string();
    // The schema through the CLI itself, then the tasks in one transaction.
    run(Command::new(python).args(["-S", BASELINE, &db, "note", "none"]));
    let seed = format!(
        "import sqlite3,time\ncon=sqlite3.connect({db:?})\n\
         con.executemany('INSERT INTO conversation_tasks(task_id,title,created) VALUES(?,?,?)',\
         [('b%05d'%i,'task %d'%i,time.time()+i) for i in range({tasks})])\ncon.commit()\n"
    );
    run(Command::new(python).args(["-S", "-c", &seed]));
    let ids: BTreeSet<String> = (0..tasks).map(|i| format!("b{i:05}")).collect();
    let python = python.to_string();
    let (claimed, elapsed) = race(workers, move |w| {
        let out = Command::new(&python)
            .args(["-S", BASELINE, &db, "claim-next", &format!("w{w}")])
            .output()
            .expect("run python3");
        match out.status.code() {
            Some(0) => Some(String::from_utf8_lossy(&out.stdout).trim().to_string()),
            Some(1) => None,
            _ => panic!("baseline claim failed: {}", String::from_utf8_lossy(&out.stderr)),
        }
    });
    check_exactly_once(&claimed, &ids);
    tasks as f64 / elapsed.as_secs_f64()
}

/// The Python interpreter itself, not a version manager's shim in front of
/// it (pyenv's `python3` is a shell script that costs more than the claim).
fn interpreter() -> String {
    let found = run(Command::new("python3").args(["-S", "-c", "import sys; print(sys.executable)"]));
    let found = found.trim().to_string();
    println!("baseline interpreter: {found}");
    found
}

/// Starts `workers` threads at one moment, each calling `claim` until it
/// returns `None`; returns every claimed id and the time until all stopped.
fn race(
    workers: usize,
    claim: impl Fn(usize) -> Option<String> + Send + Sync + 'static,
) -> (Vec<String>, Duration) {
    let barrier = Arc::new(Barrier::new(workers + 1));
    let claim = Arc::new(claim);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (barrier, claim) = (barrier.clone(), claim.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                while let Some(id) = claim(w) {
                    mine.push(id);
                }
                mine
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let claimed: Vec<String> = handles.into_iter().flat_map(|h| h.join().expect("a worker")).collect();
    (claimed, start.elapsed())
}

fn check_exactly_once(claimed: &[String], ids: &BTreeSet<String>) {
    let unique: BTreeSet<String> = claimed.iter().cloned().collect();
    assert_eq!(unique.len(), claimed.len(), "no task claimed twice");
    assert_eq!(&unique, ids, "every task claimed");
}

/// Writes `count` ready tasks in one commit through the library.
fn populate(repo: &Path, count: usize) -> BTreeSet<String> {
    let store = Store::open(repo).expect("open the repository");
    let now = chrono::Utc::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let id = TaskId::candidates(&digest_from(fastrand::u128(..))).nth(4).expect("an id");
            let spec = TaskSpec {
                title: format!("race task {i}"),
                priority: Some((i % 5) as u8),
                ..TaskSpec::default()
            };
            spec.into_task(id, Vec::new(), "bench", now)
        })
        .collect();
    store
        .tasks()
        .update(|view| {
            let mut writes = view.writes(Event::new("add", "bench", now, format!("add {count} race tasks")));
            for task in &tasks {
                writes.save(task)?;
            }
            writes.write(())
        })
        .expect("write the tasks");
    tasks.iter().map(|t| t.id.to_string()).collect()
}

/// Where the races run: `BENCH_DIR`, else cargo's scratch directory for
/// benchmarks under `target/`. Not the system temp dir by default: on a
/// shared machine it is where every test suite creates and deletes its
/// repositories, and ext4 without a journal then makes each new file there
/// skip every recently deleted inode (hundreds of microseconds a file,
/// against a few under `target/`); git writes a few files per claim and
/// SQLite none, so that would measure the neighbours, not the claims.
fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("race"));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// A new directory under `scratch`, kept (in `keep`) until the bench ends.
fn scratch_in<'k>(scratch: &Path, keep: &'k mut Vec<tempfile::TempDir>) -> &'k Path {
    keep.push(tempfile::Builder::new().prefix("race-").tempdir_in(scratch).expect("temp dir"));
    keep.last().expect("just pushed").path()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git").args(args).current_dir(dir)).trim().to_string()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
