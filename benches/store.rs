//! Store benchmark: `cargo bench --bench store`.
//!
//! In one temporary repository holding 10,000 tasks (9,000 of them closed),
//! it times, side by side and interleaved so machine noise hits both alike:
//!
//! 1. one state change through the CLI (`task claim` / `task release`,
//!    alternating) against `git update-ref` moving a ref, the floor for any
//!    process that moves a ref; it prints the ratio (target: within 2x);
//! 2. `task list --ready` (target: under 15 ms), next to the bare start-up
//!    of the binary (`--version`) for scale;
//! 3. `check` of 100 paths against 100 live claims (target: well under
//!    20 ms), beside the same start-up;
//! 4. the pre-commit hook on a commit of 100 staged files with 100 live
//!    claims (target: well under 50 ms), beside the same start-up;
//! 5. the Claude Code `PreToolUse` hook for a `Write` into a claimed
//!    folder (denied) and an unclaimed one (allowed), against the same 100
//!    claims, beside the same start-up (the hook must answer well inside
//!    its timeout: every agent tool call waits for it);
//! 6. `spawn` of an agent (session, worktree, supervisor, running) against
//!    `git worktree add` alone, the floor of making a worktree; fewer runs,
//!    as each leaves a worktree.
//!
//! It reports medians of many runs. Set `BENCH_RUNS` to change how many.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
const CLOSED: usize = 9_000;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");
    let dir = tempfile::tempdir().expect("temp dir");
    // BENCH_KEEP=1 keeps the repository for profiling and prints its path.
    let repo = if std::env::var_os("BENCH_KEEP").is_some() { dir.keep() } else { dir.path().to_path_buf() };
    let repo = repo.as_path();
    git(repo, &["init", "-q"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", "root"]);
    // A ready task for the state-change runs.
    let target = common::populate(repo, TASKS, CLOSED)[TASKS - 2].to_string();
    let checked = claim_paths(repo, bin);
    stage(repo, &checked);
    let head = git(repo, &["rev-parse", "HEAD"]);
    let root = git(repo, &["rev-parse", "HEAD^{tree}"]);
    let root_commit = git(repo, &["commit-tree", &root, "-m", "other"]);

    let mut update_ref = Vec::new();
    let mut state_change = Vec::new();
    let mut ready = Vec::new();
    let mut startup = Vec::new();
    let mut check = Vec::new();
    let mut pre_commit = Vec::new();
    let mut hook_denied = Vec::new();
    let mut hook_allowed = Vec::new();
    let write_into = |path: &str| {
        serde_json::json!({
            "session_id": "bench", "transcript_path": "/dev/null", "cwd": repo,
            "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_input": { "file_path": repo.join(path), "content": "x" }
        })
        .to_string()
    };
    let (denied_input, allowed_input) = (write_into("mod3/lib.rs"), write_into("src/free/lib.rs"));
    let hook_args = ["--session", "checker", "hook", "claude", "PreToolUse"];
    let check_args: Vec<&str> =
        ["--session", "checker", "check"].into_iter().chain(checked.iter().map(String::as_str)).collect();
    for i in 0..runs {
        let oid = if i % 2 == 0 { &root_commit } else { &head };
        update_ref.push(time(repo, "git", &["update-ref", "refs/bench/x", oid]));
        let verb = if i % 2 == 0 { "claim" } else { "release" };
        state_change.push(time(repo, bin, &["--session", "bench", "task", verb, &target]));
        ready.push(time(repo, bin, &["task", "list", "--ready"]));
        startup.push(time(repo, bin, &["--version"]));
        check.push(time(repo, bin, &check_args));
        pre_commit.push(time(repo, bin, &["--session", "checker", "hook", "pre-commit"]));
        let (elapsed, out) = time_with_input(repo, bin, &hook_args, &denied_input);
        assert!(out.contains("\"deny\""), "the claimed path is denied: {out}");
        hook_denied.push(elapsed);
        let (elapsed, out) = time_with_input(repo, bin, &hook_args, &allowed_input);
        assert!(out.is_empty(), "the free path is allowed silently: {out}");
        hook_allowed.push(elapsed);
    }
    let (spawn, worktree_add) = spawns(repo, bin, runs.min(12));
    let (u, s, r, v, c) =
        (median(update_ref), median(state_change), median(ready), median(startup), median(check));
    let p = median(pre_commit);
    let (hd, ha) = (median(hook_denied), median(hook_allowed));
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("repository kept at {}", repo.display());
    }
    println!("store benchmark: {TASKS} tasks ({CLOSED} closed), median of {runs} interleaved runs");
    println!("  git update-ref                 {:>8.2} ms", ms(u));
    println!(
        "  task claim/release (CLI)       {:>8.2} ms   ratio {:.2}x update-ref (target <= 2x)",
        ms(s),
        ratio(s, u)
    );
    println!("  git-orchestrate --version      {:>8.2} ms   (process start-up)", ms(v));
    println!(
        "  task list --ready              {:>8.2} ms   ratio {:.2}x the 15 ms target",
        ms(r),
        ms(r) / 15.0
    );
    println!(
        "  check 100 paths, 100 claims    {:>8.2} ms   ratio {:.2}x start-up (target well under 20 ms)",
        ms(c),
        ratio(c, v)
    );
    println!(
        "  pre-commit, 100 files/claims   {:>8.2} ms   ratio {:.2}x start-up (target well under 50 ms)",
        ms(p),
        ratio(p, v)
    );
    println!(
        "  hook claude PreToolUse, denied {:>8.2} ms   ratio {:.2}x start-up (allowed: {:.2} ms, {:.2}x)",
        ms(hd),
        ratio(hd, v),
        ms(ha),
        ratio(ha, v)
    );
    println!(
        "  spawn (worktree + supervisor)  {:>8.2} ms   ratio {:.2}x git worktree add ({:.2} ms)",
        ms(spawn),
        ratio(spawn, worktree_add),
        ms(worktree_add)
    );
}

/// Times `spawn` of an agent that exits at once, each under a new name,
/// interleaved with `git worktree add` of a new branch. Worktrees go
/// inside the repository's temporary folder.
fn spawns(repo: &Path, bin: &str, runs: usize) -> (Duration, Duration) {
    let root = repo.join(".bench-worktrees");
    git(repo, &["config", "orchestrate.worktreeRoot", root.to_str().expect("utf-8 path")]);
    let (mut spawn, mut add) = (Vec::new(), Vec::new());
    for i in 0..runs {
        spawn.push(time(repo, bin, &["spawn", &format!("agent{i}"), "--", "true"]));
        let path = root.join(format!("plain{i}"));
        add.push(time(
            repo,
            "git",
            &["worktree", "add", "-q", "-b", &format!("plain{i}"), path.to_str().unwrap()],
        ));
    }
    (median(spawn), median(add))
}

fn time_with_input(dir: &Path, program: &str, args: &[&str], input: &str) -> (Duration, String) {
    use std::io::Write;
    use std::process::Stdio;
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (elapsed, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Takes 100 exclusive claims (20 sessions, 5 patterns each: directories,
/// globs and files) and returns 100 file paths that none of them covers,
/// the worst case: every path is tested against every claim.
fn claim_paths(repo: &Path, bin: &str) -> Vec<String> {
    for s in 0..20 {
        let session = format!("s{s}");
        time(repo, bin, &["session", "start", &session, "--no-worktree"]);
        let patterns = [
            format!("mod{s}/"),
            format!("src/**/gen{s}_*.rs"),
            format!("docs/{s}/*.md"),
            format!("lib/f{s}.rs"),
            format!("t{s}/?x.rs"),
        ];
        let mut args = vec!["--session", session.as_str(), "claim"];
        args.extend(patterns.iter().map(String::as_str));
        time(repo, bin, &args);
    }
    (0..100).map(|i| format!("src/dir{i}/file{i}.rs")).collect()
}

/// Writes and stages one file at each path, for the pre-commit hook.
fn stage(repo: &Path, paths: &[String]) {
    for p in paths {
        let file = repo.join(p);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, p).expect("write");
    }
    git(repo, &["add", "src"]);
}

fn time(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(program).args(args).current_dir(dir).output().expect("run");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
