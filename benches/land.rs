//! Landing benchmark: `cargo bench --bench land`.
//!
//! In a temporary repository of 200 files with `main` checked out, each run
//! starts a session, commits one small change on its branch, and times, side
//! by side and interleaved so machine noise hits both alike:
//!
//! 1. `git orchestrate land <session>` of a branch `main` has not moved
//!    from: a fast-forward, against `git merge` of the same branch in a
//!    scratch clone at the same state (also a fast-forward);
//! 2. the same after `main` moved on (another file changed): a true merge
//!    commit, against `git merge --no-edit` of the same branch in the
//!    scratch clone at the same state.
//!
//! No check command runs. Both sides update their checkout. `land` also
//! records the landing on the session and sends a completion message, in
//! one process start; `git merge` does neither. Target: land within 3x of
//! `git merge`. It reports medians; set `BENCH_RUNS` to change how many.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "Bench"]);
    git(&repo, &["config", "user.email", "bench@example.com"]);
    for i in 0..200 {
        let sub = repo.join(format!("src/m{}", i % 10));
        std::fs::create_dir_all(&sub).expect("dir");
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n").repeat(20)).expect("write");
    }
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "root"]);
    git(dir.path(), &["clone", "-q", repo.to_str().unwrap_or("repo"), "scratch"]);

    let (mut land_ff, mut merge_ff, mut land_merge, mut merge_merge) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        for true_merge in [false, true] {
            let name = format!("s{i}{}", if true_merge { "m" } else { "f" });
            let out = run(&repo, bin, &["session", "start", &name]);
            let wt = Path::new(out.trim()).to_path_buf();
            std::fs::write(wt.join(format!("{name}.txt")), "work\n").expect("write");
            git(&wt, &["add", "."]);
            git(&wt, &["commit", "-q", "-m", &format!("{name} work")]);
            if true_merge {
                std::fs::write(repo.join(format!("main-{name}.txt")), "main\n").expect("write");
                git(&repo, &["add", "."]);
                git(&repo, &["commit", "-q", "-m", "main moves on"]);
            }
            // The scratch clone at the same state, with the branch fetched.
            git(&scratch, &["fetch", "-q", "origin", "main", &format!("orchestrate/{name}")]);
            git(&scratch, &["reset", "-q", "--hard", "origin/main"]);
            let branch = format!("origin/orchestrate/{name}");
            git(&scratch, &["fetch", "-q", "origin", &format!("orchestrate/{name}:refs/remotes/{branch}")]);

            let merged = time(&scratch, "git", &["merge", "-q", "--no-edit", &branch]);
            let landed = time(&repo, bin, &["land", &name]);
            if true_merge {
                merge_merge.push(merged);
                land_merge.push(landed);
            } else {
                merge_ff.push(merged);
                land_ff.push(landed);
            }
            let parents = git(&repo, &["rev-list", "--parents", "-n", "1", "main"]);
            assert_eq!(
                parents.split_whitespace().count(),
                if true_merge { 3 } else { 2 },
                "{name}: {parents}"
            );
            git(&scratch, &["reset", "-q", "--hard", "origin/main"]);
        }
    }
    let report = |what: &str, land: &mut Vec<Duration>, merge: &mut Vec<Duration>| {
        let (l, m) = (median(land), median(merge));
        println!(
            "{what:<14} land {:>7.2} ms   git merge {:>7.2} ms   ratio {:.2}x (target <= 3x)",
            ms(l),
            ms(m),
            ms(l) / ms(m)
        );
    };
    println!("landing a one-commit branch, median of {runs} runs each, interleaved:");
    report("fast-forward", &mut land_ff, &mut merge_ff);
    report("true merge", &mut land_merge, &mut merge_merge);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn command(dir: &Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env_remove("ORCHESTRATE_SESSION")
        .env_remove("GIT_DIR");
    cmd
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = command(dir, program).args(args).output().expect("run");
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(dir, "git", args).trim().to_string()
}

fn time(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    run(dir, program, args);
    start.elapsed()
}
