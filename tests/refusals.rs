//! Refusals are data: `--json` errors carry the reason word and its facts,
//! and stderr words the way out in `hint:` lines of CLI syntax.

mod common;

use common::Repo;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs as `who` with `--json`, expects a refusal (exit 1); returns the
/// error object and stderr.
fn refused(repo: &Repo, who: &str, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--session", who];
    all.extend_from_slice(args);
    refused_anyone(repo, &all)
}

/// Runs with `--json` (and no session unless `args` name one), expects a
/// refusal (exit 1) with its message and `hint:` lines on stderr; returns
/// the error object and stderr.
fn refused_anyone(repo: &Repo, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    assert_eq!(run.code, 1, "{args:?}: {run:?}");
    let error = run.json()["error"].clone();
    assert_eq!(error["kind"], "refused", "{error:#}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{error:#}");
    assert!(run.stderr.contains(&format!("error: {message}")), "{}", run.stderr);
    for hint in error["hints"].as_array().into_iter().flatten() {
        assert!(run.stderr.contains(&format!("hint: {}", hint.as_str().unwrap())), "{}", run.stderr);
    }
    (error, run.stderr)
}

/// Polls `ps` until agent `name` is over.
fn wait_over(repo: &Repo, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = repo.json(&["ps"]);
        let state = ps.as_array().unwrap().iter().find(|a| a["session"] == name).map(|a| a["state"].clone());
        if state
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| ["exited", "failed", "stopped"].contains(&s))
        {
            return;
        }
        assert!(Instant::now() < deadline, "agent {name} still not over: {ps:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a session with a worktree and returns the worktree.
fn start(repo: &Repo, name: &str) -> PathBuf {
    PathBuf::from(repo.json(&["session", "start", name])["worktree"].as_str().unwrap())
}

/// Writes `file` in `dir` and commits it there.
fn commit_in(repo: &Repo, dir: &Path, file: &str, content: &str) {
    std::fs::write(dir.join(file), content).unwrap();
    let d = dir.to_str().unwrap();
    repo.git(&["-C", d, "add", file]);
    repo.git(&["-C", d, "commit", "-q", "-m", file]);
}

#[test]
fn a_task_held_by_another_session_names_the_task_and_its_holder() {
    let repo = Repo::new();
    let id = repo.add("contested", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "bob", &["task", "claim", &id]);
    assert_eq!(error["reason"], "held");
    assert_eq!(error["task"], id.as_str());
    assert_eq!(error["holder"], "alice");
    assert!(error["since"].is_string(), "{error:#}");
    assert!(error["message"].as_str().unwrap().contains("claimed by alice"), "{error:#}");
    assert!(stderr.contains("hint: pick another task: `git orchestrate task claim --next`"), "{stderr}");
    assert!(stderr.contains(&format!("`git orchestrate task release {id} --force`")), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
    // Finishing someone else's task is the same refusal.
    let (error, _) = refused(&repo, "bob", &["task", "done", &id]);
    assert_eq!((&error["reason"], &error["holder"]), (&"held".into(), &"alice".into()));
}

#[test]
fn a_path_claim_lists_each_conflict_with_pattern_holder_and_expiry() {
    let repo = Repo::new();
    repo.ok_as("alice", &["claim", "src/", "--reason", "refactor"]);
    let (error, stderr) = refused(&repo, "bob", &["claim", "src/api/login.rs"]);
    assert_eq!(error["reason"], "claimed");
    let conflicts = error["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{error:#}");
    assert_eq!(conflicts[0]["path"], "src/api/login.rs");
    assert_eq!(conflicts[0]["pattern"], "src/");
    assert_eq!(conflicts[0]["holder"], "alice");
    assert_eq!(conflicts[0]["why"], "refactor");
    assert!(conflicts[0]["expires_at"].is_string(), "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("'src/api/login.rs' overlaps 'src/', held by alice (refactor)"), "{message}");
    assert!(stderr.contains("hint: ask alice to release it: `git orchestrate send alice"), "{stderr}");
}

#[test]
fn waiting_blocked_nothing_ready_and_ended_carry_their_facts() {
    let repo = Repo::new();
    let first = repo.add("first", &[]);
    let second = repo.add("second", &["--after", &first]);
    let (error, stderr) = refused(&repo, "bob", &["task", "claim", &second]);
    assert_eq!(error["reason"], "waiting");
    assert_eq!(error["task"], second.as_str());
    assert_eq!(error["waits_on"], serde_json::json!([first]));
    assert!(stderr.contains(&format!("`git orchestrate task claim {second} --force`")), "{stderr}");

    repo.ok(&["task", "cancel", &first]);
    let (error, _) = refused(&repo, "bob", &["task", "claim", &second]);
    assert_eq!(error["reason"], "blocked");
    assert_eq!(error["blocked_by"], serde_json::json!([first]));

    let (error, stderr) = refused(&repo, "bob", &["task", "claim", "--next"]);
    assert_eq!(error["reason"], "nothing_ready");
    assert_eq!(error["waiting"], 1);
    assert_eq!(error["claimed"], 0);
    assert!(stderr.contains("hint: add work with `git orchestrate task add`"), "{stderr}");

    repo.ok(&["session", "start", "carol", "--no-worktree"]);
    repo.ok(&["session", "end", "carol"]);
    let (error, stderr) = refused(&repo, "carol", &["heartbeat"]);
    assert_eq!(error["reason"], "ended");
    assert_eq!(error["session"], "carol");
    assert!(stderr.contains("hint: start it again with `git orchestrate session start carol`"), "{stderr}");
}

#[test]
fn an_inbox_wait_that_runs_out_names_the_session_and_how_long_it_waited() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("bob", &["send", "all", "from bob himself"]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "bob", &["inbox", "--wait", "1"]);
    assert_eq!(error["reason"], "no_new_message");
    assert_eq!(error["session"], "bob");
    assert_eq!(error["waited_secs"], 1);
    assert!(error["message"].as_str().unwrap().contains("no new message within 1s"), "{error:#}");
    assert!(stderr.contains("hint: wait longer with `git orchestrate inbox --wait <seconds>`"), "{stderr}");
    assert!(stderr.contains("`git orchestrate inbox --all`"), "{stderr}");
    assert_eq!(repo.refs(), before, "a wait that ran out marks nothing read");
}

/// Runs `hooks install --json` as a human, expects a refusal; returns the
/// error object and stderr.
fn install_refused(repo: &Repo) -> (Value, String) {
    let run = repo.run(&["--json", "hooks", "install"]);
    assert_eq!(run.code, 1, "{run:?}");
    let error = run.json()["error"].clone();
    assert_eq!(error["kind"], "refused", "{error:#}");
    (error, run.stderr)
}

fn executable(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn hooks_that_install_will_not_change_are_named_with_their_paths() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let (error, stderr) = install_refused(&repo);
    assert_eq!((&error["reason"], &error["path"]), (&"hooks_path_relative".into(), &".githooks".into()));
    assert!(stderr.contains("hint: make it absolute: `git config core.hooksPath"), "{stderr}");
    assert!(!repo.path().join(".githooks").exists(), "nothing installed");

    std::fs::create_dir(repo.path().join(".husky")).unwrap();
    std::fs::write(repo.path().join(".husky/pre-commit"), "#!/bin/sh\nnpm test\n").unwrap();
    repo.git(&["add", ".husky"]);
    repo.git(&["commit", "-q", "-m", "husky"]);
    repo.git(&["config", "core.hooksPath", ".husky"]);
    let (error, stderr) = install_refused(&repo);
    assert_eq!(error["reason"], "hooks_managed", "{error:#}");
    assert!(error["dir"].as_str().is_some_and(|d| d.ends_with(".husky")), "{error:#}");
    assert!(stderr.contains("hint: `git orchestrate hooks status`"), "{stderr}");

    repo.git(&["config", "--unset", "core.hooksPath"]);
    let hooks = repo.path().join(".git/hooks");
    let dispatcher = "#!/bin/sh\n. \"$(dirname \"$0\")/_/$(basename \"$0\")\"\n";
    executable(&hooks.join("pre-commit"), dispatcher);
    let (error, _) = install_refused(&repo);
    assert_eq!(error["reason"], "hook_unwrappable", "{error:#}");
    assert!(error["hook"].as_str().is_some_and(|h| h.ends_with("pre-commit")), "{error:#}");
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), dispatcher, "untouched");

    // Ours installed over the user's hook (saved beside it), then replaced
    // by someone else's: neither is overwritten.
    executable(&hooks.join("pre-commit"), "#!/bin/sh\necho ORIGINAL\n");
    repo.ok(&["hooks", "install"]);
    executable(&hooks.join("pre-commit"), "#!/bin/sh\necho SOMEONE ELSE\n");
    let (error, stderr) = install_refused(&repo);
    assert_eq!(error["reason"], "hook_replaced", "{error:#}");
    assert!(error["hook"].as_str().is_some_and(|h| h.ends_with("pre-commit")), "{error:#}");
    assert!(error["saved"].as_str().is_some_and(|h| h.ends_with("pre-commit.pre-orchestrate")), "{error:#}");
    assert!(!error["message"].as_str().unwrap().contains("git orchestrate"), "no CLI syntax: {error:#}");
    assert!(stderr.contains("hint: then run `git orchestrate hooks install` again"), "{stderr}");
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), "#!/bin/sh\necho SOMEONE ELSE\n");
}

#[test]
fn other_refusals_still_say_refused_with_a_message() {
    let repo = Repo::new();
    let id = repo.add("nobody's", &[]);
    let (error, _) = refused(&repo, "bob", &["task", "release", &id]);
    assert_eq!(error["reason"], "other");
    assert!(error["message"].as_str().unwrap().contains("not claimed"), "{error:#}");
}

#[test]
fn ending_a_session_an_agent_works_in_or_one_already_ended_says_which() {
    let repo = Repo::new();
    repo.ok(&["spawn", "w1", "--", "sleep", "300"]);
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "w1"]);
    assert_eq!(error["reason"], "agent_at_work");
    assert_eq!((&error["session"], &error["state"]), (&json!("w1"), &json!("running")), "{error:#}");
    assert!(error["pid"].is_u64(), "{error:#}");
    assert!(
        stderr.contains("hint: stop it first with `git orchestrate stop w1`, then end the session"),
        "{stderr}"
    );
    assert_eq!(repo.refs(), before, "a refusal writes nothing");

    repo.ok(&["stop", "w1", "--grace", "1s"]);
    wait_over(&repo, "w1");
    assert_eq!(repo.json(&["session", "show", "w1"])["status"], "ended", "its session ended with it");
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "w1"]);
    assert_eq!((&error["reason"], &error["session"]), (&json!("already_ended"), &json!("w1")), "{error:#}");
    assert!(!stderr.contains("hint:"), "nothing to do, so no way out to offer: {stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn an_agent_that_runs_or_is_over_names_itself_its_phase_and_how_it_ended() {
    let repo = Repo::new();
    repo.ok(&["spawn", "w1", "--", "sleep", "300"]);
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["spawn", "w1", "--", "true"]);
    assert_eq!(error["reason"], "agent_running");
    assert_eq!(error["agent"], "w1");
    assert_eq!(error["phase"], "running");
    assert!(error["pid"].is_u64(), "{error:#}");
    assert!(error["message"].as_str().unwrap().starts_with("agent w1 is already running (pid "), "{error:#}");
    assert!(
        stderr.contains("hint: stop it with `git orchestrate stop w1`, or spawn under another name"),
        "{stderr}"
    );
    assert_eq!(repo.refs(), before, "a refusal writes nothing");

    repo.ok(&["stop", "w1", "--grace", "1s"]);
    let (error, stderr) = refused_anyone(&repo, &["stop", "w1"]);
    assert_eq!(error["reason"], "agent_not_running");
    assert_eq!((&error["agent"], &error["phase"]), (&json!("w1"), &json!("stopped")));
    assert!(error["stopped_by"].is_string(), "{error:#}");
    assert!(error["message"].as_str().unwrap().contains("nothing to stop"), "{error:#}");
    assert!(stderr.contains("hint: see how it ended with `git orchestrate logs w1`"), "{stderr}");

    repo.ok(&["spawn", "w2", "--", "sh", "-c", "exit 0"]);
    wait_over(&repo, "w2");
    let (error, _) = refused_anyone(&repo, &["stop", "w2"]);
    assert_eq!((&error["phase"], &error["exit_code"]), (&json!("exited"), &json!(0)), "{error:#}");
    assert_eq!(error.get("stopped_by"), None, "{error:#}");
}

#[test]
fn spawn_for_a_closed_task_a_held_task_or_a_session_without_worktree_says_which() {
    let repo = Repo::new();
    let done = repo.add("finished", &[]);
    repo.ok_as("alice", &["task", "claim", &done]);
    repo.ok_as("alice", &["task", "done", &done]);
    let held = repo.add("alice's", &[]);
    repo.ok_as("alice", &["task", "claim", &held]);
    let before = repo.refs();

    let (error, stderr) = refused_anyone(&repo, &["spawn", "w1", "--task", &done, "--", "true"]);
    assert_eq!(
        (&error["reason"], &error["task"], &error["status"]),
        (&json!("task_closed"), &json!(done), &json!("done"))
    );
    assert!(stderr.contains("`git orchestrate task list --ready`"), "{stderr}");

    let (error, stderr) = refused_anyone(&repo, &["spawn", "w1", "--task", &held, "--", "true"]);
    assert_eq!(
        (&error["reason"], &error["task"], &error["holder"]),
        (&json!("held"), &json!(held), &json!("alice"))
    );
    assert!(error["message"].as_str().unwrap().contains("held by alice, a live session"), "{error:#}");
    assert!(stderr.contains("hint: or ask alice to release it"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");

    // Held by a session whose agent is over: nobody will answer a message.
    repo.ok(&["spawn", "gone", "--", "true"]);
    wait_over(&repo, "gone");
    repo.ok(&["session", "start", "gone", "--no-worktree"]);
    let orphan = repo.add("gone's", &[]);
    repo.ok_as("gone", &["task", "claim", &orphan]);
    let (error, stderr) = refused_anyone(&repo, &["spawn", "w1", "--task", &orphan, "--", "true"]);
    assert_eq!(error["reason"], "held_by_ended_agent", "{error:#}");
    assert_eq!((&error["task"], &error["holder"]), (&json!(orphan), &json!("gone")));
    assert!(
        stderr
            .contains(&format!("hint: spawn it again as gone: `git orchestrate spawn gone --task {orphan}")),
        "{stderr}"
    );

    repo.ok(&["session", "start", "bare", "--no-worktree"]);
    let (error, stderr) = refused_anyone(&repo, &["spawn", "bare", "--", "true"]);
    assert_eq!((&error["reason"], &error["session"]), (&json!("no_worktree"), &json!("bare")));
    assert!(stderr.contains("hint: end it with `git orchestrate session end bare`"), "{stderr}");
}

#[test]
fn an_ended_agents_kept_worktree_says_what_has_not_landed() {
    let repo = Repo::new();
    repo.ok(&["spawn", "committer", "--", "sh", "-c", "echo x > f && git add f && git commit -qm work"]);
    repo.ok(&["spawn", "scribbler", "--", "sh", "-c", "echo x > notes.txt"]);
    wait_over(&repo, "committer");
    wait_over(&repo, "scribbler");
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "committer"]);
    assert_eq!(error["reason"], "worktree_kept");
    assert_eq!((&error["session"], &error["branch"]), (&json!("committer"), &json!("orchestrate/committer")));
    assert_eq!((&error["commits"], &error["into"]), (&json!(1), &json!("main")), "{error:#}");
    assert!(
        error["message"].as_str().unwrap().ends_with("its worktree is kept: 1 commit(s) not on main"),
        "{error:#}"
    );
    assert!(
        stderr.contains("hint: land its branch (`git orchestrate land committer`), or pass --force"),
        "{stderr}"
    );
    let (error, _) = refused_anyone(&repo, &["session", "end", "scribbler"]);
    assert_eq!((&error["reason"], &error["uncommitted"]), (&json!("worktree_kept"), &json!(1)), "{error:#}");
    assert_eq!(error.get("commits"), None, "{error:#}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn landing_refusals_name_the_session_branch_target_and_files() {
    let repo = Repo::new();
    let (error, stderr) = refused_anyone(&repo, &["land", "--next"]);
    assert_eq!(error["reason"], "queue_empty");
    assert!(stderr.contains("hint: queue work with `git orchestrate land --queue`"), "{stderr}");

    let wt = start(&repo, "alice");
    commit_in(&repo, &wt, "a.txt", "a\n");
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "alice", "--delete-branch"]);
    assert_eq!(error["reason"], "branch_not_landed");
    assert_eq!((&error["session"], &error["branch"]), (&json!("alice"), &json!("orchestrate/alice")));
    assert_eq!((&error["into"], &error["commits"]), (&json!("main"), &json!(1)));
    assert_eq!(error["message"], "orchestrate/alice has 1 commit(s) not landed on main");
    assert!(stderr.contains("hint: land them first: `git orchestrate land alice`"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");

    repo.ok(&["land", "alice"]);
    let head = repo.git(&["rev-parse", "refs/heads/orchestrate/alice"]);
    let (error, _) = refused_anyone(&repo, &["land", "--queue", "alice"]);
    assert_eq!(error["reason"], "nothing_to_land");
    assert_eq!(
        (&error["session"], &error["into"], &error["head"]),
        (&json!("alice"), &json!("main"), &json!(head))
    );

    std::fs::write(wt.join("a.txt"), "changed after landing\n").unwrap();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "alice", "--delete-branch", "--force"]);
    assert_eq!((&error["reason"], &error["files"]), (&json!("uncommitted_work"), &json!(["a.txt"])));
    assert!(stderr.contains("hint: commit it and land it first (`git orchestrate land alice`)"), "{stderr}");
}

#[test]
fn a_target_checked_out_twice_held_by_another_git_or_being_rebased_names_its_worktrees() {
    let repo = Repo::new();
    let wt = start(&repo, "alice");
    commit_in(&repo, &wt, "a.txt", "a\n");
    // main checked out a second time (git needs --force for that).
    let second = repo.home().join("second");
    repo.git(&["worktree", "add", "-q", "--force", second.to_str().unwrap(), "main"]);
    let (error, stderr) = refused_anyone(&repo, &["land", "alice"]);
    assert_eq!((&error["reason"], &error["into"]), (&json!("target_in_several_checkouts"), &json!("main")));
    let worktrees: Vec<PathBuf> =
        error["worktrees"].as_array().unwrap().iter().map(|w| PathBuf::from(w.as_str().unwrap())).collect();
    assert_eq!(worktrees.len(), 2, "{error:#}");
    assert!(worktrees.iter().any(|w| w.ends_with("second")), "{error:#}");
    assert!(stderr.contains("hint: see them with `git worktree list`"), "{stderr}");
    repo.git(&["worktree", "remove", "--force", second.to_str().unwrap()]);

    // Another git command holds the main checkout's index.
    let index_lock = repo.path().join(".git/index.lock");
    std::fs::write(&index_lock, "").unwrap();
    let main = repo.git(&["rev-parse", "main"]);
    let (error, stderr) = refused_anyone(&repo, &["land", "alice"]);
    assert_eq!((&error["reason"], &error["into"]), (&json!("checkout_not_forwarded"), &json!("main")));
    assert_eq!(
        PathBuf::from(error["checkout"].as_str().unwrap()).canonicalize().unwrap(),
        repo.path().canonicalize().unwrap()
    );
    assert!(error["git"].as_str().unwrap().contains("index.lock"), "what git said: {error:#}");
    assert!(stderr.contains("hint: see what is in the way with `git -C "), "{stderr}");
    assert_eq!(repo.git(&["rev-parse", "main"]), main, "neither the branch nor the checkout moved");
    std::fs::remove_file(&index_lock).unwrap();

    // The user rebases main and stops at a conflict.
    commit_in(&repo, repo.path(), "f.txt", "base\n");
    repo.git(&["checkout", "-q", "-b", "side"]);
    commit_in(&repo, repo.path(), "f.txt", "side\n");
    repo.git(&["checkout", "-q", "main"]);
    commit_in(&repo, repo.path(), "f.txt", "main\n");
    let rebase = repo.command("git").args(["rebase", "side"]).output().unwrap();
    assert!(!rebase.status.success(), "the rebase stops at its conflict");
    let (error, stderr) = refused_anyone(&repo, &["land", "alice"]);
    assert_eq!((&error["reason"], &error["into"]), (&json!("target_rebasing"), &json!("main")));
    let root = repo.path().canonicalize().unwrap();
    assert_eq!(PathBuf::from(error["worktree"].as_str().unwrap()).canonicalize().unwrap(), root, "{error:#}");
    assert!(
        stderr.contains("hint: finish or abort that rebase (`git rebase --continue` or `--abort`)"),
        "{stderr}"
    );
    repo.git(&["rebase", "--abort"]);
}

#[test]
fn a_session_name_in_use_says_how_the_session_is_and_how_to_resume_it() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "start", "alice", "--no-worktree"]);
    assert_eq!(error["reason"], "session_active");
    assert_eq!(error["session"], "alice");
    assert_eq!(error["stale"], false);
    assert_eq!(error["just_started"], false);
    assert!(error["heartbeat_at"].is_string(), "{error:#}");
    assert!(
        error["message"].as_str().unwrap().contains("session alice is already active (live"),
        "{error:#}"
    );
    assert!(
        stderr.contains("hint: resume it with `git orchestrate session start alice --resume`"),
        "{stderr}"
    );
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn a_folder_in_the_way_of_a_session_worktree_is_named_with_what_it_is() {
    let repo = Repo::new();
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    repo.git(&["config", "orchestrate.worktreeRoot", root_path.to_str().unwrap()]);
    // A plain folder where bob's worktree would go.
    std::fs::create_dir(root_path.join("bob")).unwrap();
    std::fs::write(root_path.join("bob/notes.txt"), "mine\n").unwrap();
    // And another branch's worktree where carol's would go.
    repo.git(&["worktree", "add", "-q", "-b", "elsewhere", root_path.join("carol").to_str().unwrap()]);
    let before = repo.refs();

    let (error, stderr) = refused_anyone(&repo, &["session", "start", "bob"]);
    assert_eq!(error["reason"], "folder_in_the_way");
    assert_eq!(error["path"], root_path.join("bob").to_str().unwrap());
    assert!(
        stderr.contains("hint: or keep session worktrees elsewhere: `git config orchestrate.worktreeRoot"),
        "{stderr}"
    );

    let (error, stderr) = refused_anyone(&repo, &["session", "start", "carol"]);
    assert_eq!(error["reason"], "worktree_of_another_branch");
    assert_eq!(error["path"], root_path.join("carol").to_str().unwrap());
    assert_eq!(error["branch"], "orchestrate/carol");
    assert_eq!(error["checked_out"], "elsewhere");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("is a worktree on elsewhere, not on orchestrate/carol"));
    assert!(stderr.contains("hint: end or move that worktree"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
    assert_eq!(std::fs::read_to_string(root_path.join("bob/notes.txt")).unwrap(), "mine\n");
}

#[test]
fn ending_a_session_another_process_is_ending_is_refused_as_being_ended() {
    common::ensure_program("flock", &["util-linux"]);
    let repo = Repo::new();
    repo.ok(&["session", "start", "dave", "--no-worktree"]);
    // Another `session end dave` holds the ending lock: a process that
    // says when it has it and keeps it until its input closes.
    let lock = repo.path().join(".git/orchestrate/end-locks/dave");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = std::process::Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["-c", "echo locked; read _"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut said)
        .unwrap();
    assert_eq!(said.trim(), "locked");

    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "dave"]);
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(error["reason"], "being_ended");
    assert_eq!(error["session"], "dave");
    assert!(stderr.contains("hint: see `git orchestrate session show dave` once it is done"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
    // Once the other end is over, the lock is free again.
    assert_eq!(repo.json(&["session", "end", "dave"])["status"], "ended");
}

#[test]
fn releasing_a_path_not_claimed_names_what_the_session_does_hold() {
    let repo = Repo::new();
    repo.ok_as("alice", &["claim", "src/", "docs/"]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "alice", &["release", "tests/"]);
    assert_eq!(error["reason"], "not_claimed");
    assert_eq!(error["session"], "alice");
    assert_eq!(error["path"], "tests/");
    assert_eq!(error["held"], serde_json::json!(["src/", "docs/"]));
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("alice holds no claim on 'tests/'; it holds src/, docs/"));
    assert!(stderr.contains("hint: see who holds what with `git orchestrate claims`"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn the_lead_refusals_carry_the_lead_and_what_was_asked() {
    let repo = Repo::new();
    for s in ["boss", "bob"] {
        repo.ok(&["session", "start", s, "--no-worktree"]);
    }
    // Nobody holds it: nothing to release, and only a human may assign.
    let (error, _) = refused(&repo, "bob", &["lead", "release"]);
    assert_eq!(error["reason"], "no_lead");
    let id = repo.add("work", &[]);
    let (error, stderr) = refused(&repo, "bob", &["task", "assign", &id, "boss"]);
    assert_eq!(error["reason"], "lead_only");
    assert_eq!(error["action"], "assign tasks");
    assert!(error.get("lead").is_none(), "{error:#}");
    assert!(stderr.contains("hint: take the lead first: `git orchestrate lead take`"), "{stderr}");

    repo.ok_as("boss", &["lead", "take"]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "bob", &["lead", "take"]);
    assert_eq!(error["reason"], "lead_held");
    assert_eq!(error["lead"], "boss");
    assert_eq!(error["by"], "boss");
    assert_eq!(error["stale_after"], "15m");
    assert!(error["since"].is_string(), "{error:#}");
    assert!(error["message"].as_str().unwrap().contains("boss holds the lead (since "), "{error:#}");
    assert!(
        stderr.contains("hint: a human can take it over with `git orchestrate lead take --force`"),
        "{stderr}"
    );

    let (error, stderr) = refused(&repo, "bob", &["lead", "release"]);
    assert_eq!(error["reason"], "not_the_lead");
    assert_eq!((&error["lead"], &error["session"]), (&"boss".into(), &"bob".into()));
    assert!(stderr.contains("`git orchestrate lead release --force`"), "{stderr}");

    let (error, stderr) = refused(&repo, "bob", &["task", "assign", &id, "boss"]);
    assert_eq!((&error["reason"], &error["lead"]), (&"lead_only".into(), &"boss".into()));
    assert!(error["message"].as_str().unwrap().contains("only the lead (boss) or a human may assign tasks"));
    assert!(stderr.contains("hint: ask boss: `git orchestrate send boss"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn ending_a_session_with_unsaved_work_lists_the_work_and_where_force_puts_it() {
    let repo = Repo::new();
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    repo.git(&["config", "orchestrate.worktreeRoot", root_path.to_str().unwrap()]);
    repo.ok(&["session", "start", "erin"]);
    let wt = root_path.join("erin");
    std::fs::write(wt.join("draft.txt"), "not committed\n").unwrap();
    let before = repo.refs();
    let (error, stderr) = refused_anyone(&repo, &["session", "end", "erin"]);
    assert_eq!(error["reason"], "unsaved_work");
    assert_eq!(error["session"], "erin");
    assert_eq!(error["worktree"], wt.to_str().unwrap());
    assert_eq!(error["files"], serde_json::json!(["draft.txt"]));
    assert_eq!(error["repositories"], serde_json::json!([]));
    assert_eq!(error["orphaned_commits"], false);
    assert_eq!(error["checked_out"], "orchestrate/erin");
    assert!(error["message"].as_str().unwrap().contains("session erin has uncommitted work (draft.txt)"));
    assert!(stderr.contains("hint: or end it with `git orchestrate session end erin --force`"), "{stderr}");
    assert!(stderr.contains("committed to orchestrate/erin (the branch it has checked out)"), "{stderr}");
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
    assert_eq!(std::fs::read_to_string(wt.join("draft.txt")).unwrap(), "not committed\n");
}
