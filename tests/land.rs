//! Landing: sessions know their target branch, `land` brings their work
//! there (merge, squash, rebase) without touching any working tree, and a
//! queue lets several landers share the work exactly once, in order.

mod common;

use common::Repo;
use std::path::PathBuf;

/// Starts a session and returns its worktree.
fn start(repo: &Repo, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["session", "start", name];
    args.extend_from_slice(extra);
    PathBuf::from(repo.json(&args)["worktree"].as_str().unwrap())
}

#[test]
fn a_session_lands_on_the_branch_it_was_told_or_the_one_it_started_from() {
    let repo = Repo::new();
    repo.git(&["branch", "release"]);
    repo.git(&["branch", "topic"]);
    // Default: the branch HEAD is on.
    start(&repo, "plain", &[]);
    assert_eq!(repo.json(&["session", "show", "plain"])["into"], "main");
    // The branch --base names.
    start(&repo, "based", &["--base", "release"]);
    assert_eq!(repo.json(&["session", "show", "based"])["into"], "release");
    // --into wins over both.
    start(&repo, "told", &["--base", "release", "--into", "topic"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "topic");
    // A base that is a commit, not a branch, falls back to HEAD's branch.
    let commit = repo.git(&["rev-parse", "HEAD"]);
    start(&repo, "commit", &["--base", &commit]);
    assert_eq!(repo.json(&["session", "show", "commit"])["into"], "main");
    // On a detached HEAD, orchestrate.landInto decides.
    repo.git(&["checkout", "-q", "--detach"]);
    repo.git(&["config", "orchestrate.landInto", "release"]);
    start(&repo, "detached", &[]);
    assert_eq!(repo.json(&["session", "show", "detached"])["into"], "release");
    // A resumed session keeps its target unless given a new one.
    repo.json(&["session", "start", "told", "--resume"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "topic");
    repo.json(&["session", "start", "told", "--resume", "--into", "release"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "release");
    let shown = repo.ok(&["session", "show", "told"]);
    assert!(shown.lines().any(|l| l.starts_with("lands on:") && l.ends_with(" release")), "{shown}");
}

#[test]
fn an_into_that_is_not_a_branch_is_refused_and_registers_nothing() {
    let repo = Repo::new();
    let before = repo.refs();
    for bad in ["nope", "main..x", "HEAD~1"] {
        let run = repo.run(&["session", "start", "s", "--into", bad]);
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stderr.contains("--into") && run.stderr.contains("git branch"), "{}", run.stderr);
    }
    assert_eq!(repo.refs(), before);
    assert!(!PathBuf::from(format!("{}.worktrees/s", repo.path().display())).exists());
}
