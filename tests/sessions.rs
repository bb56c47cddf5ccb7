//! Sessions with their own worktrees, heartbeats and staleness.

mod common;

use common::{Repo, Run, BIN};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

/// Runs the binary inside `dir` (a session worktree) with no --session.
fn run_in(repo: &Repo, dir: &Path, args: &[&str]) -> Run {
    Run::of(repo.command(BIN).current_dir(dir).args(args))
}

fn start(repo: &Repo, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["session", "start", name];
    args.extend_from_slice(extra);
    let started = repo.json(&args);
    PathBuf::from(started["worktree"].as_str().unwrap())
}

#[test]
fn two_sessions_work_in_parallel_worktrees_without_naming_themselves() {
    let repo = Repo::new();
    let a = start(&repo, "alice", &["--role", "backend"]);
    let b = start(&repo, "bob", &[]);
    // Beside the repository, not inside it.
    let expected_root = PathBuf::from(format!("{}.worktrees", repo.path().canonicalize().unwrap().display()));
    assert_eq!(a, expected_root.join("alice"));
    assert!(a.join("README").exists() && b.join("README").exists());
    assert_eq!(repo.git(&["-C", a.to_str().unwrap(), "branch", "--show-current"]), "orchestrate/alice");

    let t1 = repo.add("first", &[]);
    let t2 = repo.add("second", &[]);
    let ca = run_in(&repo, &a, &["--json", "task", "claim", "--next"]);
    let cb = run_in(&repo, &b, &["--json", "task", "claim", "--next"]);
    assert_eq!((ca.code, cb.code), (0, 0), "{ca:?} {cb:?}");
    assert_eq!(ca.json()["assignee"], "alice");
    assert_eq!(cb.json()["assignee"], "bob");
    let mine = run_in(&repo, &a, &["--json", "task", "list", "--mine"]).json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let got: Vec<&str> =
        [&ca, &cb].iter().map(|r| if r.json()["id"] == t1.as_str() { "t1" } else { "t2" }).collect();
    assert!(got.contains(&"t1") && got.contains(&"t2"), "{t2}");

    let listed = repo.json(&["session", "list"]);
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(listed[0]["stale"], false);
    assert_eq!(listed[0]["role"], "backend");

    // Ending releases the task back to the queue and removes the worktree.
    let ended = run_in(&repo, &a, &["--json", "session", "end"]);
    assert_eq!(ended.code, 0, "{ended:?}");
    assert!(!a.exists());
    assert_eq!(
        repo.git(&["rev-parse", "--verify", "-q", "refs/heads/orchestrate/alice"]).len(),
        40,
        "branch kept"
    );
    let open: Vec<String> = repo
        .json(&["task", "list", "--ready"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(open.len(), 1, "alice's task is back in the queue");
}

#[test]
fn a_dirty_worktree_is_refused_on_end_and_saved_on_force() {
    let repo = Repo::new();
    let wt = start(&repo, "carol", &[]);
    std::fs::write(wt.join("notes.txt"), "precious work\n").unwrap();
    std::fs::write(wt.join("README"), "edited\n").unwrap();
    let before = repo.refs();

    let refused = repo.run(&["session", "end", "carol"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("notes.txt") && refused.stderr.contains("README"), "{}", refused.stderr);
    assert!(wt.join("notes.txt").exists(), "nothing removed");
    assert_eq!(repo.refs(), before, "nothing changed");

    let forced = repo.json(&["session", "end", "carol", "--force"]);
    let commit = forced["saved_commit"].as_str().unwrap();
    assert!(!wt.exists());
    assert_eq!(repo.git(&["show", &format!("{commit}:notes.txt")]), "precious work");
    assert_eq!(repo.git(&["show", "orchestrate/carol:README"]), "edited");
    assert_eq!(forced["status"], "ended");
}

#[test]
fn include_files_are_copied_never_committed_and_setup_runs() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".env"), "TOKEN=secret\n").unwrap();
    std::fs::create_dir(repo.path().join("local")).unwrap();
    std::fs::write(repo.path().join("local/cache"), "c\n").unwrap();
    std::fs::write(
        repo.path().join(".worktreeinclude"),
        "# untracked files agents need\n.env\nlocal/\n../escape\n",
    )
    .unwrap();
    repo.git(&["config", "orchestrate.setup", "echo ran > setup.out"]);
    let wt = start(&repo, "dave", &[]);
    assert_eq!(std::fs::read_to_string(wt.join(".env")).unwrap(), "TOKEN=secret\n");
    assert_eq!(std::fs::read_to_string(wt.join("local/cache")).unwrap(), "c\n");
    assert_eq!(std::fs::read_to_string(wt.join("setup.out")).unwrap().trim(), "ran");

    // Unchanged copies are not work; the setup output is.
    std::fs::remove_file(wt.join("setup.out")).unwrap();
    repo.ok(&["session", "end", "dave"]);

    // A changed copy is backed up, not committed.
    let wt = start(&repo, "erin", &[]);
    std::fs::write(wt.join(".env"), "TOKEN=rotated\n").unwrap();
    let ended = repo.json(&["session", "end", "erin", "--force"]);
    let backup = PathBuf::from(ended["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(backup.join(".env")).unwrap(), "TOKEN=rotated\n");
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "orchestrate/erin"]);
    assert!(!tree.contains(".env"), "{tree}");
}

#[test]
fn a_live_name_is_refused_and_resume_reattaches() {
    let repo = Repo::new();
    let wt = start(&repo, "frank", &[]);
    let task = repo.add("mine", &[]);
    run_in(&repo, &wt, &["task", "claim", &task]);
    std::fs::write(wt.join("wip.txt"), "half done\n").unwrap();

    let again = repo.run(&["session", "start", "frank"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("--resume"), "{}", again.stderr);

    // A restarted agent resumes: same worktree (work intact), same task.
    let resumed = repo.json(&["session", "start", "frank", "--resume"]);
    assert_eq!(resumed["resumed"], true);
    assert_eq!(PathBuf::from(resumed["worktree"].as_str().unwrap()), wt);
    assert_eq!(std::fs::read_to_string(wt.join("wip.txt")).unwrap(), "half done\n");
    let shown = repo.json(&["task", "show", &task]);
    assert_eq!(shown["assignee"], "frank");
}

#[test]
fn a_stale_session_is_shown_apart_and_its_task_can_be_taken_over() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.staleAfter", "1s"]);
    repo.pin_clock("2030-01-01T00:00:00Z");
    repo.ok(&["session", "start", "gone", "--no-worktree"]);
    let task = repo.add("abandoned", &[]);
    repo.ok_as("gone", &["task", "claim", &task]);
    let held = repo.run_as("other", &["task", "claim", &task]);
    assert_eq!(held.code, 1, "live holder keeps it: {held:?}");
    repo.pin_clock("2030-01-01T00:00:03Z");

    let listed = repo.json(&["session", "list"]);
    assert_eq!(listed[0]["name"], "gone");
    assert_eq!(listed[0]["stale"], true);
    assert!(repo.ok(&["session", "list"]).contains("stale"));

    let taken = repo.json_as("other", &["task", "claim", "--next"]);
    assert_eq!(taken["id"], task.as_str());
    assert_eq!(taken["assignee"], "other");
}

#[test]
fn a_name_that_claims_a_task_without_starting_a_session_still_goes_stale() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.staleAfter", "1s"]);
    repo.pin_clock("2030-01-01T00:00:00Z");
    let task = repo.add("abandoned", &[]);
    repo.ok_as("quickstart", &["task", "claim", &task]);
    assert_eq!(repo.json(&["session", "show", "quickstart"])["status"], "active");
    assert_eq!(repo.run_as("other", &["task", "claim", &task]).code, 1);
    repo.pin_clock("2030-01-01T00:00:03Z");
    assert_eq!(repo.json_as("other", &["task", "claim", &task])["assignee"], "other");
}

#[test]
fn commands_refresh_the_heartbeat_at_most_every_30_seconds() {
    let repo = Repo::new();
    let at = |t: &str, args: &[&str]| {
        let out = repo
            .command(BIN)
            .env("ORCHESTRATE_NOW", t)
            .env("ORCHESTRATE_SESSION", "hank")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    at("2030-01-01T00:00:00Z", &["session", "start", "hank", "--no-worktree"]);
    let heartbeat = || repo.json(&["session", "show", "hank"])["heartbeat_at"].as_str().unwrap().to_string();
    let writes = || repo.git(&["rev-list", "--count", "refs/orchestrate/sessions"]);
    let before = writes();
    at("2030-01-01T00:00:10Z", &["task", "list"]);
    assert_eq!(heartbeat(), "2030-01-01T00:00:00Z");
    assert_eq!(writes(), before, "no write within the interval");
    at("2030-01-01T00:00:31Z", &["task", "list"]);
    assert_eq!(heartbeat(), "2030-01-01T00:00:31Z");

    at(
        "2030-01-01T00:01:00Z",
        &["heartbeat", "--doing", "writing tests", "--progress", "40", "--phase", "test"],
    );
    let shown = repo.json(&["session", "show", "hank"]);
    assert_eq!(shown["doing"], "writing tests");
    assert_eq!(shown["progress"], 40);
    assert_eq!(shown["phase"], "test");
}

#[test]
fn the_worktree_root_can_be_configured() {
    let repo = Repo::new();
    let root = tempfile::tempdir().unwrap();
    repo.git(&["config", "orchestrate.worktreeRoot", root.path().to_str().unwrap()]);
    let wt = start(&repo, "ivy", &["--base", "HEAD"]);
    assert_eq!(wt, root.path().join("ivy"));
    assert!(wt.join("README").exists());
}

#[test]
fn bad_session_input_exits_2_and_creates_nothing() {
    let repo = Repo::new();
    let long = "a".repeat(65);
    let before = repo.refs();
    for args in [
        vec!["session", "start", "../x"],
        vec!["session", "start", "a/b"],
        vec!["session", "start", ""],
        vec!["session", "start", &long],
        vec!["session", "start", "tab\there"],
        vec!["session", "start", "all"],
        vec!["session", "start", "ok", "--role", "../r"],
        vec!["session", "start", "ok", "--base", "no-such-branch"],
        vec!["session", "end", "nobody"],
        vec!["session", "show", "nobody"],
        vec!["heartbeat", "--session", "x", "--progress", "101"],
        vec!["session", "end"],
    ] {
        let run = repo.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(repo.refs(), before, "{args:?} changed state");
    }
    let worktrees = PathBuf::from(format!("{}.worktrees", repo.path().display()));
    assert!(!worktrees.exists(), "no worktree folder was made");
}

#[test]
fn eight_processes_starting_one_name_leave_exactly_one_session() {
    let repo = Arc::new(Repo::new());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (repo, barrier) = (repo.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                repo.run(&["session", "start", "solo", "--no-worktree"]).code
            })
        })
        .collect();
    let codes: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{codes:?}");
    let starts = repo.git(&["log", "--format=%s", "refs/orchestrate/sessions"]);
    assert_eq!(starts.lines().filter(|l| *l == "start session solo").count(), 1);
}

#[test]
fn start_never_takes_over_a_folder_that_is_not_its_worktree() {
    let repo = Repo::new();
    let root = tempfile::tempdir().unwrap();
    repo.git(&["config", "orchestrate.worktreeRoot", root.path().to_str().unwrap()]);
    // Someone else's repository sits where the worktree would go.
    let other = root.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::process::Command::new("git").args(["init", "-q"]).current_dir(&other).output().unwrap();
    std::fs::write(other.join("notes.txt"), "theirs\n").unwrap();
    let before = repo.refs();
    let refused = repo.run(&["session", "start", "other"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("not a worktree of this repository"), "{}", refused.stderr);
    assert_eq!(repo.refs(), before);
    assert!(!other.join(".git/orchestrate-session").exists(), "their repository is untouched");
}

#[test]
fn ending_keeps_ignored_files_and_changed_secret_copies_out_of_harms_way() {
    let repo = Repo::new();
    std::fs::write(repo.path().join(".gitignore"), ".env\ntarget/\n").unwrap();
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore"]);
    std::fs::write(repo.path().join(".env"), "TOKEN=1\n").unwrap();
    std::fs::write(repo.path().join(".worktreeinclude"), ".env\n").unwrap();
    let wt = start(&repo, "ivan", &[]);
    std::fs::write(wt.join(".env"), "TOKEN=2\n").unwrap();
    std::fs::create_dir(wt.join("target")).unwrap();
    std::fs::write(wt.join("target/notes.log"), "built\n").unwrap();

    let refused = repo.run(&["session", "end", "ivan"]);
    assert_eq!(refused.code, 1, "a changed (ignored) .env copy is the agent's: {refused:?}");
    assert!(refused.stderr.contains(".env"), "{}", refused.stderr);

    let ended = repo.json(&["session", "end", "ivan", "--force"]);
    let backup = PathBuf::from(ended["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(backup.join(".env")).unwrap(), "TOKEN=2\n");
    assert_eq!(
        std::fs::read_to_string(backup.join("target/notes.log")).unwrap(),
        "built\n",
        "ignored files move, not vanish"
    );
    assert!(!wt.exists());
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "orchestrate/ivan"]);
    assert!(!tree.contains(".env"), "{tree}");
}

#[test]
fn commits_on_a_detached_head_are_kept_on_a_branch() {
    let repo = Repo::new();
    let wt = start(&repo, "judy", &[]);
    let git_in = |args: &[&str]| {
        let mut all = vec!["-C", wt.to_str().unwrap()];
        all.extend_from_slice(args);
        repo.git(&all)
    };
    git_in(&["checkout", "-q", "--detach"]);
    std::fs::write(wt.join("lonely.txt"), "only here\n").unwrap();
    git_in(&["add", "lonely.txt"]);
    git_in(&["-c", "user.name=j", "-c", "user.email=j@x", "commit", "-q", "-m", "detached work"]);
    let head = git_in(&["rev-parse", "HEAD"]);

    assert_eq!(repo.run(&["session", "end", "judy"]).code, 1, "refused: the commit is on no branch");
    let ended = repo.json(&["session", "end", "judy", "--force"]);
    let branch = ended["saved_branch"].as_str().unwrap();
    assert_eq!(repo.git(&["rev-parse", branch]), head);
    assert_eq!(repo.git(&["show", &format!("{branch}:lonely.txt")]), "only here");
}

#[test]
fn a_failed_end_leaves_the_session_its_tasks_and_its_claims() {
    let repo = Repo::new();
    let wt = start(&repo, "kim", &[]);
    let task = repo.add("kept", &[]);
    repo.ok_as("kim", &["task", "claim", &task]);
    repo.ok_as("kim", &["claim", "src/"]);
    repo.git(&["worktree", "lock", wt.to_str().unwrap()]);
    let failed = repo.run(&["session", "end", "kim"]);
    assert_ne!(failed.code, 0, "{failed:?}");
    assert_eq!(repo.json(&["task", "show", &task])["assignee"], "kim");
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 1);
    assert_eq!(repo.json(&["session", "show", "kim"])["status"], "active");
    repo.git(&["worktree", "unlock", wt.to_str().unwrap()]);
    repo.ok(&["session", "end", "kim"]);
}

#[test]
fn start_with_an_unknown_task_creates_nothing() {
    let repo = Repo::new();
    let before = repo.refs();
    assert_eq!(repo.run(&["session", "start", "lee", "--task", "t-ffffffff"]).code, 2);
    assert_eq!(repo.refs(), before);
    assert!(!PathBuf::from(format!("{}.worktrees/lee", repo.path().display())).exists());
}

#[test]
fn a_worktree_deleted_by_hand_does_not_block_ending_or_starting_again() {
    let repo = Repo::new();
    let wt = start(&repo, "max", &[]);
    std::fs::remove_dir_all(&wt).unwrap();
    let ended = repo.json(&["session", "end", "max"]);
    assert!(ended["notes"][0].as_str().unwrap().contains("already gone"), "{ended}");
    let again = start(&repo, "max", &[]);
    assert!(again.join("README").exists());
}

#[test]
fn include_folders_with_symbolic_links_copy_the_links_not_their_targets() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path().join("cache")).unwrap();
    std::os::unix::fs::symlink("..", repo.path().join("cache/up")).unwrap();
    std::fs::write(repo.path().join(".worktreeinclude"), "cache/\nmissing.txt\n*.yml\n").unwrap();
    let started = repo.json(&["session", "start", "ned"]);
    let wt = PathBuf::from(started["worktree"].as_str().unwrap());
    assert_eq!(std::fs::read_link(wt.join("cache/up")).unwrap(), PathBuf::from(".."));
    let notes: Vec<&str> = started["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains("missing.txt")) && notes.iter().any(|n| n.contains("*.yml")),
        "{notes:?}"
    );
}

#[test]
fn every_loser_of_a_start_race_with_worktrees_is_told_the_name_was_taken() {
    // Several rounds: the window (the winner's worktree half made) is short.
    for round in 0..8 {
        let repo = Arc::new(Repo::new());
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (repo, barrier) = (repo.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    repo.run(&["session", "start", "solo"])
                })
            })
            .collect();
        let runs: Vec<Run> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(runs.iter().filter(|r| r.code == 0).count(), 1, "round {round}: {runs:?}");
        for loser in runs.iter().filter(|r| r.code != 0) {
            assert_eq!(loser.code, 1, "round {round}: {loser:?}");
            assert!(
                loser.stderr.contains("session solo was just started by another process")
                    || loser.stderr.contains("session solo is already active"),
                "round {round}: a loser must hear that the name was taken, not about a folder: {}",
                loser.stderr
            );
        }
        // The winner's worktree is whole, on its branch, and the only one.
        let wt = PathBuf::from(format!("{}.worktrees/solo", repo.path().display()));
        assert!(wt.join("README").exists(), "round {round}");
        assert_eq!(repo.git(&["-C", wt.to_str().unwrap(), "branch", "--show-current"]), "orchestrate/solo");
        assert_eq!(repo.git(&["worktree", "list", "--porcelain"]).matches("worktree ").count(), 2);
        let log = repo.git(&["log", "--format=%s", "refs/orchestrate/sessions"]);
        assert_eq!(log.lines().filter(|l| *l == "start session solo").count(), 1, "round {round}: {log}");
        assert!(!log.contains("withdraw"), "round {round}: {log}");
    }
}

#[test]
fn start_in_a_repository_without_commits_says_so_and_offers_no_worktree() {
    let repo = Repo::new();
    let empty = tempfile::tempdir().unwrap();
    let in_empty = |args: &[&str]| Run::of(repo.command(BIN).current_dir(empty.path()).args(args));
    assert!(repo.command("git").current_dir(empty.path()).args(["init", "-q"]).status().unwrap().success());
    for args in [&["session", "start", "sol"][..], &["session", "start", "sol", "--base", "HEAD"]] {
        let run = in_empty(args);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains("no commits yet"), "{}", run.stderr);
        assert!(
            run.stderr.contains("--no-worktree") && run.stderr.contains("first commit"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("no such commit"), "{}", run.stderr);
    }
    assert_eq!(in_empty(&["session", "start", "sol", "--no-worktree"]).code, 0);
    // With commits, a bad --base is still named as such.
    let bad = repo.run(&["session", "start", "sol", "--base", "nope"]);
    assert!(bad.code == 2 && bad.stderr.contains("--base nope: no such commit"), "{bad:?}");
}

#[test]
fn a_start_without_a_name_whose_task_is_refused_starts_one_session_not_one_per_name_tried() {
    let repo = Repo::new();
    let id = repo.add("contested", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let run = repo.run(&["--json", "session", "start", "--no-worktree", "--task", &id]);
    assert_eq!(run.code, 1, "{run:?}");
    let error = run.json()["error"].clone();
    assert_eq!((&error["reason"], &error["holder"]), (&"held".into(), &"alice".into()), "{error:#}");
    assert!(error["message"].as_str().unwrap().contains("is started, but"), "{error:#}");
    // The name it picked is the one started; no other name was tried.
    let sessions: Vec<String> = repo
        .json(&["session", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sessions.len(), 2, "alice and the one started: {sessions:?}");
    assert!(sessions.contains(&"alice".to_string()), "{sessions:?}");
}
