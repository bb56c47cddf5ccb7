//! `session end` never loses work and never misreports where it went:
//! nested repositories, submodules, ignored include files, another branch,
//! symbolic links, a dirty main checkout, an end killed half-way.

mod common;

use common::{Repo, Run, BIN};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn start(repo: &Repo, name: &str) -> PathBuf {
    PathBuf::from(repo.json(&["session", "start", name])["worktree"].as_str().unwrap())
}

/// Runs git in `dir` with the sandboxed configuration; asserts success.
fn git_in(repo: &Repo, dir: &Path, args: &[&str]) -> String {
    let out = repo.command("git").current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit_all(repo: &Repo, dir: &Path, message: &str) {
    git_in(repo, dir, &["add", "-A"]);
    git_in(repo, dir, &["commit", "-q", "-m", message]);
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

#[test]
fn a_repository_an_agent_made_inside_the_worktree_is_refused_then_moved_whole() {
    let repo = Repo::new();
    let wt = start(&repo, "nest");
    let lib = wt.join("lib");
    std::fs::create_dir(&lib).unwrap();
    git_in(&repo, &lib, &["init", "-q"]);
    std::fs::write(lib.join("p.txt"), "precious\n").unwrap();
    commit_all(&repo, &lib, "c");
    let head = git_in(&repo, &lib, &["rev-parse", "HEAD"]);
    let before = repo.refs();

    let refused = repo.run(&["session", "end", "nest"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("lib") && refused.stderr.contains("repositor"), "{}", refused.stderr);
    assert_eq!(repo.refs(), before);
    assert!(lib.join("p.txt").exists());

    let ended = repo.json(&["session", "end", "nest", "--force"]);
    assert_eq!(strings(&ended["repositories"]), ["lib"], "{ended}");
    let kept = PathBuf::from(ended["backup"].as_str().unwrap()).join("lib");
    assert_eq!(std::fs::read_to_string(kept.join("p.txt")).unwrap(), "precious\n");
    assert_eq!(git_in(&repo, &kept, &["rev-parse", "HEAD"]), head, "its history came along");
    assert!(ended["notes"].to_string().contains("lib"), "and it is said: {ended}");
    // Never a gitlink to a commit this repository does not have.
    let tree = repo.git(&["ls-tree", "-r", "orchestrate/nest"]);
    assert!(!tree.contains("160000") && !tree.contains("lib"), "{tree}");
    assert!(!wt.exists());
}

#[test]
fn a_submodule_with_commits_no_remote_has_keeps_them_and_a_clean_one_just_goes() {
    let repo = Repo::new();
    let upstream = tempfile::tempdir().unwrap();
    git_in(&repo, upstream.path(), &["init", "-q"]);
    std::fs::write(upstream.path().join("u.txt"), "u\n").unwrap();
    commit_all(&repo, upstream.path(), "u");
    let url = upstream.path().to_str().unwrap();
    let submodule_add = |wt: &Path| {
        git_in(&repo, wt, &["-c", "protocol.file.allow=always", "submodule", "add", "-q", url, "lib"]);
        commit_all(&repo, wt, "add lib");
    };

    // Clean and pushed: only a checkout, it goes with the worktree.
    let clean = start(&repo, "clean");
    submodule_add(&clean);
    let ended = repo.json(&["session", "end", "clean"]);
    assert_eq!(strings(&ended["repositories"]), Vec::<String>::new(), "{ended}");
    assert!(!clean.exists());

    // Moved to another commit a remote has: only the pointer changed. It
    // is uncommitted work of the worktree, named as such, and committed.
    std::fs::write(upstream.path().join("u2.txt"), "u2\n").unwrap();
    commit_all(&repo, upstream.path(), "u2");
    let pointer = start(&repo, "pointer");
    submodule_add(&pointer);
    git_in(&repo, &pointer.join("lib"), &["checkout", "-q", "HEAD~1"]);
    let older = git_in(&repo, &pointer.join("lib"), &["rev-parse", "HEAD"]);
    let refused = repo.run(&["session", "end", "pointer"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("uncommitted work (lib)"), "{}", refused.stderr);
    let ended = repo.json(&["session", "end", "pointer", "--force"]);
    assert_eq!(strings(&ended["repositories"]), Vec::<String>::new(), "{ended}");
    assert!(repo.git(&["ls-tree", "orchestrate/pointer", "lib"]).contains(&older));

    // A commit made inside the submodule exists only in its store under
    // the worktree's private git directory.
    let wt = start(&repo, "subby");
    submodule_add(&wt);
    std::fs::write(wt.join("lib/mine.txt"), "unpushed\n").unwrap();
    commit_all(&repo, &wt.join("lib"), "unpushed");
    let head = git_in(&repo, &wt.join("lib"), &["rev-parse", "HEAD"]);
    let before = repo.refs();
    let refused = repo.run(&["session", "end", "subby"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("lib") && refused.stderr.contains("1 commit no remote has"),
        "{}",
        refused.stderr
    );
    assert_eq!(repo.refs(), before);

    let ended = repo.json(&["session", "end", "subby", "--force"]);
    assert_eq!(strings(&ended["repositories"]), ["lib"], "{ended}");
    let kept = PathBuf::from(ended["backup"].as_str().unwrap()).join("lib");
    // A repository that works on its own: files, history, clean status.
    assert_eq!(git_in(&repo, &kept, &["rev-parse", "HEAD"]), head);
    assert_eq!(git_in(&repo, &kept, &["show", "HEAD:mine.txt"]), "unpushed");
    assert_eq!(git_in(&repo, &kept, &["status", "--porcelain"]), "");
    // The session's branch records the submodule at that commit.
    assert!(repo.git(&["ls-tree", "orchestrate/subby", "lib"]).contains(&head));
    assert!(!wt.exists());
}

#[test]
fn an_include_file_that_git_ignores_never_stops_an_end_and_is_never_committed() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), "/.env\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);
    std::fs::write(repo.path().join(".git/info/exclude"), "/secrets/\n").unwrap();
    std::fs::write(repo.path().join(".env"), "TOKEN=1\n").unwrap();
    std::fs::create_dir(repo.path().join("secrets")).unwrap();
    std::fs::write(repo.path().join("secrets/key"), "k1\n").unwrap();
    std::fs::write(repo.path().join(".worktreeinclude"), ".env\nsecrets/\n").unwrap();

    // Unchanged copies and real work: the work is committed, the copies go.
    let wt = start(&repo, "env");
    std::fs::write(wt.join("work.txt"), "done\n").unwrap();
    let ended = repo.json(&["session", "end", "env", "--force"]);
    let commit = ended["saved_commit"].as_str().unwrap();
    assert_eq!(repo.git(&["show", &format!("{commit}:work.txt")]), "done");
    assert!(ended["backup"].is_null(), "unchanged copies are only copies: {ended}");

    // Changed copies (a file and a folder) are backed up, even one the
    // agent staged by force; none is committed.
    let wt = start(&repo, "env2");
    std::fs::write(wt.join(".env"), "TOKEN=2\n").unwrap();
    std::fs::write(wt.join("secrets/key"), "k2\n").unwrap();
    std::fs::write(wt.join("secrets/new"), "n\n").unwrap();
    std::fs::write(wt.join("work.txt"), "more\n").unwrap();
    git_in(&repo, &wt, &["add", "-f", ".env"]);
    let ended = repo.json(&["session", "end", "env2", "--force"]);
    let backup = PathBuf::from(ended["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(backup.join(".env")).unwrap(), "TOKEN=2\n");
    assert_eq!(std::fs::read_to_string(backup.join("secrets/key")).unwrap(), "k2\n");
    assert_eq!(std::fs::read_to_string(backup.join("secrets/new")).unwrap(), "n\n");
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "orchestrate/env2"]);
    assert!(tree.contains("work.txt") && !tree.contains(".env") && !tree.contains("secrets"), "{tree}");
}

#[test]
fn copies_stay_copies_even_when_the_include_list_changed_since_the_start() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".env"), "TOKEN=1\n").unwrap();
    std::fs::write(repo.path().join(".worktreeinclude"), ".env\n").unwrap();
    let wt = start(&repo, "moved");
    std::fs::remove_file(repo.path().join(".worktreeinclude")).unwrap();
    std::fs::write(wt.join(".env"), "TOKEN=rotated\n").unwrap();
    let ended = repo.json(&["session", "end", "moved", "--force"]);
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "orchestrate/moved"]);
    assert!(!tree.contains(".env"), "a secret never lands in a branch: {tree}");
    let backup = PathBuf::from(ended["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(backup.join(".env")).unwrap(), "TOKEN=rotated\n");
}

#[test]
fn work_on_another_branch_is_reported_and_recorded_where_it_is() {
    let repo = Repo::new();
    let wt = start(&repo, "brancher");
    let session_tip = repo.git(&["rev-parse", "orchestrate/brancher"]);
    git_in(&repo, &wt, &["checkout", "-q", "-b", "feature-x"]);
    std::fs::write(wt.join("a.txt"), "committed\n").unwrap();
    commit_all(&repo, &wt, "a");
    std::fs::write(wt.join("b.txt"), "left over\n").unwrap();

    let refused = repo.run(&["session", "end", "brancher"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("committed to feature-x"), "{}", refused.stderr);

    let forced = repo.run(&["session", "end", "brancher", "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(
        forced.stdout.contains("on feature-x") && forced.stdout.contains("branch feature-x is kept"),
        "{}",
        forced.stdout
    );
    assert!(!forced.stdout.contains("orchestrate/brancher is kept"), "{}", forced.stdout);
    assert_eq!(repo.git(&["show", "feature-x:b.txt"]), "left over");
    assert_eq!(repo.git(&["rev-parse", "orchestrate/brancher"]), session_tip, "did not move");
    let shown = repo.json(&["session", "show", "brancher"]);
    assert_eq!(shown["branch"], "feature-x", "the record says where the work is");
}

#[test]
fn symbolic_links_are_saved_as_links_and_never_followed() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), "/build-link\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("theirs.txt"), "not ours\n").unwrap();
    let wt = start(&repo, "linker");
    std::os::unix::fs::symlink(outside.path(), wt.join("out-link")).unwrap();
    std::os::unix::fs::symlink(outside.path(), wt.join("build-link")).unwrap();
    std::os::unix::fs::symlink("..", wt.join("up")).unwrap();
    let ended = repo.json(&["session", "end", "linker", "--force"]);
    let commit = ended["saved_commit"].as_str().unwrap();
    let tree = repo.git(&["ls-tree", "-r", commit]);
    assert!(tree.lines().any(|l| l.starts_with("120000") && l.ends_with("out-link")), "{tree}");
    assert!(tree.lines().any(|l| l.starts_with("120000") && l.ends_with("\tup")), "{tree}");
    let backup = PathBuf::from(ended["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_link(backup.join("build-link")).unwrap(), outside.path());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("theirs.txt")).unwrap(),
        "not ours\n",
        "untouched"
    );
}

#[test]
fn ending_leaves_a_dirty_main_checkout_exactly_as_it_was() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), "*.log\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);
    let wt = start(&repo, "tidy");
    std::fs::write(repo.path().join("README"), "edited in main\n").unwrap();
    std::fs::write(repo.path().join("staged.txt"), "staged\n").unwrap();
    repo.git(&["add", "staged.txt"]);
    std::fs::write(repo.path().join("untracked.txt"), "mine\n").unwrap();
    std::fs::write(repo.path().join("main.log"), "ignored\n").unwrap();
    let status = || repo.git(&["status", "--porcelain", "--ignored"]);
    let (before, index) = (status(), repo.git(&["ls-files", "--stage"]));
    std::fs::write(wt.join("work.txt"), "w\n").unwrap();
    std::fs::write(wt.join("wt.log"), "log\n").unwrap();
    repo.json(&["session", "end", "tidy", "--force"]);
    assert_eq!(status(), before);
    assert_eq!(repo.git(&["ls-files", "--stage"]), index);
    assert_eq!(std::fs::read_to_string(repo.path().join("README")).unwrap(), "edited in main\n");
    assert_eq!(repo.git(&["branch", "--show-current"]), "main");
}

#[test]
fn an_end_killed_half_way_through_the_removal_is_finished_by_the_next_without_committing_deletions() {
    // The removal may have taken some files, or the worktree's .git too.
    for (round, takes) in ["f1.txt f2.txt f3.txt", ".git f1.txt f4.txt"].into_iter().enumerate() {
        let repo = Repo::new();
        for i in 0..6 {
            std::fs::write(repo.path().join(format!("f{i}.txt")), format!("{i}\n")).unwrap();
        }
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "files"]);
        let wt = start(&repo, "killed");
        std::fs::write(wt.join("work.txt"), "saved first\n").unwrap();

        // A `git` that, asked to remove the worktree, removes some of its
        // files and then kills the `git orchestrate` that called it.
        let real_git = String::from_utf8(
            std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let shims = tempfile::tempdir().unwrap();
        let shim = shims.path().join("git");
        let removed: Vec<String> = takes.split(' ').map(|f| format!("\"{}/{f}\"", wt.display())).collect();
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\ncase \"$*\" in *'worktree remove'*) rm -f {}; kill -9 $PPID; exit 1;; esac\nexec {real_git} \"$@\"\n",
                removed.join(" ")
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", shims.path().display(), std::env::var("PATH").unwrap());
        let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
        let killed = Run::of(
            repo.command(BIN)
                .env("PATH", format!("{bin_dir}:{path}"))
                .args(["session", "end", "killed", "--force"]),
        );
        assert_ne!(killed.code, 0, "round {round}: killed: {killed:?}");
        assert!(!wt.join("f1.txt").exists(), "round {round}: the removal had begun");
        let saved_tip = repo.git(&["rev-parse", "orchestrate/killed"]);
        assert_eq!(repo.git(&["show", "orchestrate/killed:work.txt"]), "saved first");

        let ended = repo.json(&["session", "end", "killed"]);
        assert_eq!(ended["status"], "ended", "round {round}");
        assert!(ended["saved_commit"].is_null(), "round {round}: nothing new to save: {ended}");
        assert_eq!(
            repo.git(&["rev-parse", "orchestrate/killed"]),
            saved_tip,
            "round {round}: no deletions committed"
        );
        assert_eq!(repo.git(&["show", "orchestrate/killed:f1.txt"]), "1");
        assert!(!wt.exists(), "round {round}");
    }
}

#[test]
fn a_repository_copied_in_as_an_include_is_a_copy_not_the_agents_work() {
    let repo = Repo::new();
    let tools = repo.path().join("tools");
    std::fs::create_dir(&tools).unwrap();
    git_in(&repo, &tools, &["init", "-q"]);
    std::fs::write(tools.join("t.sh"), "echo t\n").unwrap();
    commit_all(&repo, &tools, "t");
    std::fs::write(repo.path().join(".worktreeinclude"), "tools/\n").unwrap();

    // Unchanged: it goes with the worktree, no refusal, nothing moved.
    let wt = start(&repo, "copier");
    assert!(wt.join("tools/.git").exists());
    let ended = repo.json(&["session", "end", "copier"]);
    assert_eq!(strings(&ended["repositories"]), Vec::<String>::new(), "{ended}");
    assert!(!wt.exists());

    // Changed: backed up whole like any changed copy, history included.
    let wt = start(&repo, "changer");
    std::fs::write(wt.join("tools/t.sh"), "echo changed\n").unwrap();
    commit_all(&repo, &wt.join("tools"), "changed");
    let head = git_in(&repo, &wt.join("tools"), &["rev-parse", "HEAD"]);
    assert_eq!(repo.run(&["session", "end", "changer"]).code, 1);
    let ended = repo.json(&["session", "end", "changer", "--force"]);
    let kept = PathBuf::from(ended["backup"].as_str().unwrap()).join("tools");
    assert_eq!(git_in(&repo, &kept, &["rev-parse", "HEAD"]), head);
    let tree = repo.git(&["ls-tree", "-r", "orchestrate/changer"]);
    assert!(!tree.contains("tools"), "{tree}");
}

#[test]
fn two_ends_in_the_same_second_keep_both_backups_and_both_saved_branches() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), "*.log\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);
    let at = |args: &[&str]| {
        let out =
            repo.command(BIN).env("ORCHESTRATE_NOW", "2030-01-01T00:00:00Z").args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let (mut backups, mut branches) = (Vec::new(), Vec::new());
    for round in ["first", "second"] {
        let wt = PathBuf::from(at(&["--json", "session", "start", "again"])["worktree"].as_str().unwrap());
        std::fs::write(wt.join("run.log"), format!("{round}\n")).unwrap();
        // And a commit on a detached HEAD, which gets a branch of its own.
        git_in(&repo, &wt, &["checkout", "-q", "--detach"]);
        std::fs::write(wt.join("detached.txt"), format!("{round}\n")).unwrap();
        commit_all(&repo, &wt, round);
        let ended = at(&["--json", "session", "end", "again", "--force"]);
        backups.push(PathBuf::from(ended["backup"].as_str().unwrap()));
        branches.push(ended["saved_branch"].as_str().unwrap().to_string());
    }
    assert_ne!(backups[0], backups[1]);
    assert_eq!(std::fs::read_to_string(backups[0].join("run.log")).unwrap(), "first\n");
    assert_eq!(std::fs::read_to_string(backups[1].join("run.log")).unwrap(), "second\n");
    assert_ne!(branches[0], branches[1]);
    assert_eq!(repo.git(&["show", &format!("{}:detached.txt", branches[0])]), "first");
    assert_eq!(repo.git(&["show", &format!("{}:detached.txt", branches[1])]), "second");
}

#[test]
fn the_main_checkout_is_never_taken_for_a_session_worktree_and_a_moved_one_is_found() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), "*.log\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);

    // The worktree was deleted by hand and its branch checked out in the
    // main checkout, which is dirty: ending touches none of it.
    let wt = start(&repo, "gone");
    std::fs::remove_dir_all(&wt).unwrap();
    repo.git(&["worktree", "prune"]);
    repo.git(&["checkout", "-q", "orchestrate/gone"]);
    std::fs::write(repo.path().join("README"), "user's edit\n").unwrap();
    std::fs::write(repo.path().join("user.log"), "user's log\n").unwrap();
    let tip = repo.git(&["rev-parse", "orchestrate/gone"]);
    let ended = repo.json(&["session", "end", "gone", "--force"]);
    assert!(ended["saved_commit"].is_null() && ended["backup"].is_null(), "{ended}");
    assert!(ended["notes"].to_string().contains("already gone"), "{ended}");
    assert_eq!(repo.git(&["rev-parse", "orchestrate/gone"]), tip);
    assert_eq!(std::fs::read_to_string(repo.path().join("README")).unwrap(), "user's edit\n");
    assert_eq!(std::fs::read_to_string(repo.path().join("user.log")).unwrap(), "user's log\n");
    repo.git(&["checkout", "-q", "-f", "main"]);

    // Moved and switched to another branch: still found, by its name.
    let wt = start(&repo, "wander");
    let elsewhere = tempfile::tempdir().unwrap();
    let to = elsewhere.path().join("wt");
    repo.git(&["worktree", "move", wt.to_str().unwrap(), to.to_str().unwrap()]);
    git_in(&repo, &to, &["checkout", "-q", "-b", "feature-y"]);
    std::fs::write(to.join("w.txt"), "work\n").unwrap();
    let ended = repo.json(&["session", "end", "wander", "--force"]);
    assert!(ended["notes"].to_string().contains("moved to"), "{ended}");
    assert_eq!(ended["branch"], "feature-y");
    assert_eq!(repo.git(&["show", "feature-y:w.txt"]), "work");
    assert!(!to.exists());
}

#[test]
fn a_signing_setup_that_cannot_sign_does_not_stop_the_save() {
    let repo = Repo::new();
    repo.git(&["config", "commit.gpgSign", "true"]);
    repo.git(&["config", "gpg.program", "false"]);
    let wt = start(&repo, "signer");
    std::fs::write(wt.join("w.txt"), "work\n").unwrap();
    let ended = repo.json(&["session", "end", "signer", "--force"]);
    let commit = ended["saved_commit"].as_str().unwrap();
    assert_eq!(repo.git(&["show", &format!("{commit}:w.txt")]), "work");
}

#[test]
fn many_processes_ending_one_session_save_its_work_once_and_tell_the_rest_why() {
    for round in 0..3 {
        let repo = std::sync::Arc::new(Repo::new());
        std::fs::write(repo.path().join(".gitignore"), "*.log\n").unwrap();
        repo.git(&["add", ".gitignore"]);
        repo.git(&["commit", "-q", "-m", "ignore"]);
        let wt = start(&repo, "busy");
        std::fs::write(wt.join("work.txt"), "work\n").unwrap();
        std::fs::write(wt.join("run.log"), "log\n").unwrap();
        let lib = wt.join("lib");
        std::fs::create_dir(&lib).unwrap();
        git_in(&repo, &lib, &["init", "-q"]);
        std::fs::write(lib.join("p.txt"), "p\n").unwrap();
        commit_all(&repo, &lib, "p");

        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (repo, barrier) = (repo.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    repo.run(&["--json", "session", "end", "busy", "--force"])
                })
            })
            .collect();
        let runs: Vec<Run> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
        assert_eq!(winners.len(), 1, "round {round}: {runs:?}");
        for loser in runs.iter().filter(|r| r.code != 0) {
            assert_eq!(loser.code, 1, "round {round}: {loser:?}");
            assert!(
                loser.stderr.contains("is being ended by another process")
                    || loser.stderr.contains("has already ended"),
                "round {round}: {}",
                loser.stderr
            );
        }
        // Saved exactly once, and everything is somewhere.
        let saves = repo.git(&["log", "--format=%s", "orchestrate/busy"]);
        assert_eq!(saves.lines().filter(|l| l.contains("save uncommitted work")).count(), 1, "{saves}");
        assert_eq!(repo.git(&["show", "orchestrate/busy:work.txt"]), "work");
        let ended = winners[0].json();
        let backup = PathBuf::from(ended["backup"].as_str().unwrap());
        assert_eq!(std::fs::read_to_string(backup.join("run.log")).unwrap(), "log\n");
        assert_eq!(std::fs::read_to_string(backup.join("lib/p.txt")).unwrap(), "p\n");
        assert_eq!(repo.json(&["session", "show", "busy"])["status"], "ended");
        assert!(!wt.exists());
    }
}
