//! One bad document stays one bad document: views that do not need it keep
//! working and name it; commands that need it say "corrupt" (never "does
//! not exist") and point at `doctor --repair`.

mod common;

use common::Repo;

const CORRUPT_CLAIMS: &str = "refs/orchestrate/claims:claims.json";

/// A repository with two sessions, a claim, a task in progress and a message.
fn busy_repo() -> (Repo, String) {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    let id = repo.add("the schema", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    repo.ok_as("alice", &["claim", "src/"]);
    repo.ok_as("bob", &["send", "alice", "hello there"]);
    (repo, id)
}

fn says_corrupt_with_the_way_out(stderr: &str, document: &str) {
    assert!(stderr.contains(&format!("{document} is corrupt")), "{stderr}");
    assert!(stderr.contains("doctor --repair"), "{stderr}");
    assert!(!stderr.contains("no session") && !stderr.contains("no task"), "{stderr}");
}

#[test]
fn the_board_shows_everything_else_and_names_a_corrupt_claims_table() {
    let (repo, id) = busy_repo();
    repo.plant("refs/orchestrate/claims", "claims.json", b"{ not json");

    let board = repo.ok(&["board"]);
    assert!(board.contains("alice") && board.contains("bob"), "sessions are shown:\n{board}");
    assert!(board.contains(&id), "tasks are shown:\n{board}");
    assert!(board.contains("hello there"), "messages are shown:\n{board}");
    assert!(board.contains(&format!("{CORRUPT_CLAIMS} is corrupt")), "the claims are named:\n{board}");

    let json = repo.json(&["board"]);
    assert_eq!(json["unreadable"][0]["document"], CORRUPT_CLAIMS);
    assert_eq!(json["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(json["in_progress"][0]["id"], id.as_str());

    let markdown = repo.ok(&["board", "--markdown"]);
    assert!(markdown.contains(CORRUPT_CLAIMS), "{markdown}");
}

#[test]
fn commands_that_need_a_corrupt_claims_table_say_corrupt_and_how_to_repair() {
    let (repo, _) = busy_repo();
    repo.plant("refs/orchestrate/claims", "claims.json", b"{ not json");
    let before = repo.refs();
    for args in [
        vec!["claims"],
        vec!["--session", "bob", "check", "src/a.rs"],
        vec!["--session", "bob", "claim", "docs/"],
    ] {
        let run = repo.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        says_corrupt_with_the_way_out(&run.stderr, CORRUPT_CLAIMS);
    }
    assert_eq!(repo.refs(), before, "nothing was written");
}

#[test]
fn a_session_ends_even_with_a_corrupt_claims_table_and_says_what_it_could_not_release() {
    let (repo, id) = busy_repo();
    repo.plant("refs/orchestrate/claims", "claims.json", b"[]");
    let run = repo.run(&["--json", "session", "end", "alice"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ended = run.json();
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["released_tasks"][0], id.as_str(), "its task went back to the queue");
    let notes = ended["notes"].to_string();
    assert!(notes.contains("were not released") && notes.contains(CORRUPT_CLAIMS), "{notes}");
}

#[test]
fn sending_to_a_session_whose_document_is_corrupt_says_corrupt_not_unknown() {
    let (repo, _) = busy_repo();
    repo.plant("refs/orchestrate/sessions", "bob.json", b"{\"format\": 1}");
    let run = repo.run_as("alice", &["send", "bob", "are you there?"]);
    assert_eq!(run.code, 3, "{run:?}");
    says_corrupt_with_the_way_out(&run.stderr, "refs/orchestrate/sessions:bob.json");
    // A name that really is unknown is still bad input.
    assert_eq!(repo.run_as("alice", &["send", "carol", "hi"]).code, 2);
    // Other recipients still work, and the board names the bad document.
    repo.ok_as("bob", &["send", "alice", "still here"]);
    let board = repo.json(&["board"]);
    assert_eq!(board["unreadable"][0]["document"], "refs/orchestrate/sessions:bob.json");
    assert_eq!(board["sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn a_corrupt_task_says_corrupt_when_cancelled_or_edited() {
    let (repo, _) = busy_repo();
    let id = repo.add("to break", &[]);
    let shard = &id[2..4];
    let path = format!("open/{shard}/{id}.json");
    repo.plant("refs/orchestrate/tasks", &path, b"{\"format\": 1, \"id\": 7}");
    for args in [vec!["task", "cancel", id.as_str()], vec!["task", "edit", id.as_str(), "--title", "x"]] {
        let run = repo.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        says_corrupt_with_the_way_out(&run.stderr, &format!("refs/orchestrate/tasks:{path}"));
    }
}
