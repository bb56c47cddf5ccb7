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

/// Runs as a human (no session) with `--json`, expects a refusal.
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
fn a_finished_task_names_its_status_and_what_was_asked() {
    let repo = Repo::new();
    let done = repo.add("done", &[]);
    repo.ok_as("alice", &["task", "claim", &done]);
    repo.ok_as("alice", &["task", "done", &done]);
    let cancelled = repo.add("cancelled", &[]);
    repo.ok(&["task", "cancel", &cancelled]);
    let before = repo.refs();

    for (who, args, action) in [
        ("bob", vec!["task", "claim", done.as_str()], "claim"),
        ("bob", vec!["task", "note", done.as_str(), "one more thing"], "note"),
        ("bob", vec!["task", "done", done.as_str()], "done"),
        ("alice", vec!["task", "release", done.as_str()], "release"),
    ] {
        let (error, stderr) = refused(&repo, who, &args);
        assert_eq!(error["reason"], "task_finished", "{args:?}: {error:#}");
        assert_eq!((&error["task"], &error["status"]), (&done.as_str().into(), &"done".into()), "{error:#}");
        assert_eq!(error["action"], action, "{error:#}");
        assert!(stderr.contains("hint: its work is in: add a new task"), "{stderr}");
    }
    let (error, stderr) = refused(&repo, "bob", &["task", "claim", &cancelled]);
    assert_eq!((&error["reason"], &error["status"]), (&"task_finished".into(), &"cancelled".into()));
    assert!(
        stderr.contains(&format!("hint: reopen it first: `git orchestrate task retry {cancelled}`")),
        "{stderr}"
    );
    assert_eq!(repo.refs(), before, "a refusal writes nothing");
}

#[test]
fn a_task_nobody_holds_cannot_be_released_or_finished_without_a_claim() {
    let repo = Repo::new();
    let id = repo.add("nobody's", &[]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "bob", &["task", "release", &id]);
    assert_eq!(error["reason"], "task_not_claimed");
    assert_eq!((&error["task"], &error["action"]), (&id.as_str().into(), &"release".into()));
    assert!(error["message"].as_str().unwrap().contains("not claimed"), "{error:#}");
    assert!(!stderr.contains("hint:"), "nothing to do, so no way out to offer: {stderr}");

    let (error, stderr) = refused(&repo, "bob", &["task", "done", &id]);
    assert_eq!((&error["reason"], &error["action"]), (&"task_not_claimed".into(), &"done".into()));
    let message = error["message"].as_str().unwrap();
    assert!(
        !message.contains("git orchestrate"),
        "the CLI syntax is the hint's, not the message's: {message}"
    );
    assert!(stderr.contains(&format!("hint: claim it first: `git orchestrate task claim {id}`")), "{stderr}");
    assert!(stderr.contains(&format!("`git orchestrate task done {id} --force`")), "{stderr}");
    assert_eq!(repo.refs(), before);
}

#[test]
fn progress_from_anyone_but_the_holder_names_the_holder() {
    let repo = Repo::new();
    let id = repo.add("mine", &[]);
    let open = repo.add("open", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let before = repo.refs();
    let (error, stderr) = refused(&repo, "bob", &["task", "note", &id, "looks good", "--progress", "90"]);
    assert_eq!(error["reason"], "not_task_holder");
    assert_eq!((&error["task"], &error["holder"]), (&id.as_str().into(), &"alice".into()));
    assert!(
        error["message"].as_str().unwrap().contains("only alice, who holds it, reports progress"),
        "{error:#}"
    );
    assert!(stderr.contains("hint: leave the note without --progress"), "{stderr}");

    let (error, _) = refused(&repo, "bob", &["task", "note", &open, "started?", "--progress", "5"]);
    assert_eq!(error["reason"], "not_task_holder");
    assert!(error.get("holder").is_none(), "nobody holds it: {error:#}");
    assert_eq!(repo.refs(), before);
}

#[test]
fn assign_and_retry_refusals_carry_the_task_status_and_session() {
    let repo = Repo::new();
    for s in ["alice", "bob", "carol"] {
        repo.ok(&["session", "start", s, "--no-worktree"]);
    }
    repo.ok(&["session", "end", "carol"]);
    let claimed = repo.add("claimed", &[]);
    repo.ok_as("alice", &["task", "claim", &claimed]);
    let done = repo.add("done", &[]);
    repo.ok_as("alice", &["task", "claim", &done]);
    repo.ok_as("alice", &["task", "done", &done]);
    let open = repo.add("open", &[]);
    let before = repo.refs();

    let (error, stderr) = refused_human(&repo, &["task", "assign", &open, "carol"]);
    assert_eq!((&error["reason"], &error["session"]), (&"assignee_not_live".into(), &"carol".into()));
    assert!(stderr.contains("hint: see the live sessions with `git orchestrate session list`"), "{stderr}");

    let (error, _) = refused_human(&repo, &["task", "assign", &claimed, "bob"]);
    assert_eq!(error["reason"], "task_not_open");
    assert_eq!((&error["task"], &error["status"]), (&claimed.as_str().into(), &"claimed".into()));
    assert_eq!(error["holder"], "alice");
    let (error, _) = refused_human(&repo, &["task", "assign", &done, "bob"]);
    assert_eq!((&error["reason"], &error["status"]), (&"task_not_open".into(), &"done".into()));

    let (error, _) = refused_human(&repo, &["task", "retry", &open]);
    assert_eq!(error["reason"], "task_not_retryable");
    assert_eq!((&error["task"], &error["status"]), (&open.as_str().into(), &"open".into()));
    let (error, stderr) = refused_human(&repo, &["task", "retry", &done]);
    assert_eq!((&error["reason"], &error["status"]), (&"task_not_retryable".into(), &"done".into()));
    assert!(stderr.contains("hint: its work is in: add a new task"), "{stderr}");
    assert_eq!(repo.refs(), before, "refusals change nothing");
}
