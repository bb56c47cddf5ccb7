//! Refusals are data: `--json` errors carry the reason word and its facts,
//! and stderr words the way out in `hint:` lines of CLI syntax.

mod common;

use common::Repo;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

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
