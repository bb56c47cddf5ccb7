//! Refusals are data: `--json` errors carry the reason word and its facts,
//! and stderr words the way out in `hint:` lines of CLI syntax.

mod common;

use common::Repo;
use serde_json::Value;

/// Runs as `who` with `--json`, expects a refusal (exit 1); returns the
/// error object and stderr.
fn refused(repo: &Repo, who: &str, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = repo.run_as(who, &all);
    assert_eq!(run.code, 1, "{args:?}: {run:?}");
    let error = run.json()["error"].clone();
    assert_eq!(error["kind"], "refused", "{error:#}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{error:#}");
    (error, run.stderr)
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
fn other_refusals_still_say_refused_with_a_message() {
    let repo = Repo::new();
    let id = repo.add("nobody's", &[]);
    let (error, _) = refused(&repo, "bob", &["task", "release", &id]);
    assert_eq!(error["reason"], "other");
    assert!(error["message"].as_str().unwrap().contains("not claimed"), "{error:#}");
}

/// Runs `--json <args>` as nobody in particular (a human), expects a
/// refusal; returns the error object and stderr.
fn refused_human(repo: &Repo, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    assert_eq!(run.code, 1, "{args:?}: {run:?}");
    let error = run.json()["error"].clone();
    assert_eq!(error["kind"], "refused", "{error:#}");
    (error, run.stderr)
}

#[test]
fn a_session_name_in_use_says_how_the_session_is_and_how_to_resume_it() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    let before = repo.refs();
    let (error, stderr) = refused_human(&repo, &["session", "start", "alice", "--no-worktree"]);
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

    let (error, stderr) = refused_human(&repo, &["session", "start", "bob"]);
    assert_eq!(error["reason"], "folder_in_the_way");
    assert_eq!(error["path"], root_path.join("bob").to_str().unwrap());
    assert!(
        stderr.contains("hint: or keep session worktrees elsewhere: `git config orchestrate.worktreeRoot"),
        "{stderr}"
    );

    let (error, stderr) = refused_human(&repo, &["session", "start", "carol"]);
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
    let (error, stderr) = refused_human(&repo, &["session", "end", "dave"]);
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
    let (error, stderr) = refused_human(&repo, &["session", "end", "erin"]);
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
