//! Conflict radar benchmark: `cargo bench --bench conflicts`.
//!
//! In one temporary repository of 400 files, 20 live sessions each have a
//! worktree with three committed changed files, every other one two more
//! uncommitted edits and an untracked file, and neighbouring sessions share
//! a file (half of those shared edits conflict). Main has moved on since
//! they started. It times, interleaved, median of many runs:
//!
//! 1. `conflicts --json` (every pair and every session against main,
//!    uncommitted work snapshot in every worktree); target: under 500 ms;
//! 2. `conflicts --committed --json` (branch heads only);
//! 3. `board --json` (its CONFLICTS section compares branch heads only);
//! 4. the binary's start-up (`--version`), for scale.
//!
//! Set `BENCH_RUNS` to change how many runs (default 20).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SESSIONS: usize = 20;
const FILES: usize = 400;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let repo = repo.as_path();
    git(repo, &["init", "-q", "-b", "main"]);
    for i in 0..FILES {
        write(repo, &file(i), &lines(i, "base"));
    }
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "files"]);
    git(repo, &["config", "orchestrate.worktreeRoot", dir.path().join("wt").to_str().expect("utf-8")]);
    for s in 0..SESSIONS {
        let name = format!("s{s:02}");
        run(repo, bin, &["session", "start", &name]);
        let wt = dir.path().join("wt").join(&name);
        // Files 2s, 2s+1, 2s+2: s and s+1 share file 2s+2. Sessions edit
        // the first line (s % 4 < 2) or the last, so every other pair of
        // neighbours conflicts and the rest merge cleanly.
        for k in 0..3 {
            let i = 2 * s + k;
            let at = if s % 4 < 2 { "first" } else { "last" };
            write(&wt, &file(i), &edited(i, &name, at));
        }
        git(&wt, &["add", "."]);
        git(&wt, &["commit", "-q", "-m", "work"]);
        if s % 2 == 1 {
            for i in [100 + 2 * s, 101 + 2 * s] {
                write(&wt, &file(i), &edited(i, &name, "first"));
            }
            write(&wt, &format!("notes/{name}.md"), "untracked\n");
        }
    }
    // Main moves on: one file that a session also changed, and others.
    for i in [4, 300, 301] {
        write(repo, &file(i), &edited(i, "main", "first"));
    }
    git(repo, &["commit", "-q", "-am", "main moves"]);

    let check = run(repo, bin, &["--json", "conflicts"]);
    let radar: serde_json::Value = serde_json::from_str(&check).expect("json");
    let overlaps = radar["overlaps"].as_array().expect("overlaps");
    let conflicting =
        overlaps.iter().filter(|o| !o["conflicts"].as_array().expect("list").is_empty()).count();
    assert_eq!(radar["sessions"].as_array().expect("sessions").len(), SESSIONS, "{radar:#}");

    let (mut full, mut committed, mut board, mut startup) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        full.push(time(repo, bin, &["--json", "conflicts"]));
        committed.push(time(repo, bin, &["--json", "conflicts", "--committed"]));
        board.push(time(repo, bin, &["--json", "board"]));
        startup.push(time(repo, bin, &["--version"]));
    }
    let (f, c, b, v) = (median(full), median(committed), median(board), median(startup));
    println!(
        "conflicts benchmark: {SESSIONS} live sessions, {FILES} files, {} overlaps ({conflicting} conflicting), \
         median of {runs} interleaved runs",
        overlaps.len()
    );
    println!("  conflicts (with uncommitted)   {:>8.2} ms   {:.2}x the 500 ms target", ms(f), ms(f) / 500.0);
    println!("  conflicts --committed          {:>8.2} ms", ms(c));
    println!("  board (committed radar)        {:>8.2} ms", ms(b));
    println!("  git-orchestrate --version      {:>8.2} ms   (process start-up)", ms(v));
}

fn file(i: usize) -> String {
    format!("src/mod{}/file{i}.rs", i % 20)
}

fn lines(i: usize, who: &str) -> String {
    (0..20).map(|l| format!("// {who} line {l} of file {i}\n")).collect()
}

/// The file with its first or last line rewritten by `who`.
fn edited(i: usize, who: &str, at: &str) -> String {
    let mut all: Vec<String> = lines(i, "base").lines().map(str::to_string).collect();
    let line = if at == "first" { 0 } else { all.len() - 1 };
    all[line] = format!("// {who} changed this");
    all.join("\n") + "\n"
}

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).current_dir(dir).output().expect("run");
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn time(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    run(dir, program, args);
    start.elapsed()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-c", "user.name=bench", "-c", "user.email=bench@example.com"];
    all.extend_from_slice(args);
    run(dir, "git", &all).trim().to_string()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
