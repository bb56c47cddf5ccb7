//! Input as people write it: phases and types in any case, percentages
//! with `%`, a session without a name; what is still refused says what
//! was expected.

mod common;

use common::Repo;

#[test]
fn phases_and_types_are_taken_in_any_case_and_stored_lowercase() {
    let repo = Repo::new();
    let beat = repo.json_as("alice", &["heartbeat", "--phase", "BUILD", "--progress", "25%"]);
    assert_eq!((beat["phase"].as_str(), beat["progress"].as_u64()), (Some("build"), Some(25)));
    let task = repo.json(&["task", "add", "fix CI", "--type", "GIT_WORKFLOW"]);
    assert_eq!(task["type"], "git_workflow");
    let id = task["id"].as_str().unwrap();
    assert_eq!(repo.json(&["task", "edit", id, "--type", "Bug"])["type"], "bug");
    repo.ok_as("alice", &["task", "claim", id]);
    assert_eq!(repo.json_as("alice", &["task", "note", id, "half", "--progress", "50%"])["progress"], 50);
}

#[test]
fn what_is_still_refused_says_what_was_expected_and_changes_nothing() {
    let repo = Repo::new();
    repo.ok_as("alice", &["heartbeat"]);
    let before = repo.refs();
    for (args, expected) in [
        (vec!["heartbeat", "--progress", "101%"], "whole number from 0 to 100"),
        (vec!["heartbeat", "--progress", "lots"], "whole number from 0 to 100"),
        (vec!["heartbeat", "--phase", "Build Phase"], "use lowercase letters, digits"),
        (vec!["task", "add", "x", "--type", "big bug"], "use lowercase letters, digits"),
    ] {
        let run = repo.run_as("alice", &args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    assert_eq!(repo.refs(), before);
}

#[test]
fn a_session_started_without_a_name_gets_a_readable_unique_one() {
    let repo = Repo::new();
    let first = repo.json(&["session", "start"]);
    let second = repo.json(&["session", "start", "--no-worktree"]);
    let (a, b) = (first["name"].as_str().unwrap(), second["name"].as_str().unwrap());
    assert_ne!(a, b);
    for name in [a, b] {
        let words: Vec<&str> = name.split('-').collect();
        assert!(
            words.len() >= 2 && words[..2].iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())),
            "{name}"
        );
    }
    assert!(std::path::Path::new(first["worktree"].as_str().unwrap()).is_dir());
    let text = repo.ok(&["session", "start", "--no-worktree"]);
    let name = text.split_whitespace().nth(1).unwrap();
    assert_eq!(repo.json(&["session", "show", name])["status"], "active", "{text}");
    assert_eq!(repo.run(&["session", "start", "--resume"]).code, 2, "nothing to resume without a name");
}
