//! A board a human can trust: requests and failures stay until dealt
//! with, capabilities and kept worktrees show, the human has a mailbox and
//! a notify hook, STATUS_BOARD.md follows every write, and the log says
//! what each heartbeat said.

mod common;

use common::{strings, Repo};
use std::time::{Duration, Instant};

#[test]
fn requests_and_problems_stay_on_the_board_until_dealt_with() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree", "--cap", "rust", "--cap", "sql"]);
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("bob", &["send", "alice", "how do I run the tests?", "--kind", "help"]);
    let handoff = repo.json_as("bob", &["send", "all", "take over the parser", "--kind", "handoff"]);
    // Status chatter that pushes them out of "recent messages".
    for i in 0..10 {
        repo.ok_as("bob", &["send", "all", &format!("status {i}"), "--kind", "status"]);
    }
    let a = repo.add("flaky step", &[]);
    let b = repo.add("after it", &["--after", &a]);
    repo.ok_as("bob", &["task", "claim", &a]);
    repo.ok_as("bob", &["task", "fail", &a, "--note", "the network is down"]);

    let board = repo.json(&["board"]);
    let requests = strings(&board["attention"]["requests"], "subject");
    assert_eq!(requests, ["how do I run the tests?", "take over the parser"], "{board:#}");
    assert!(
        !strings(&board["messages"], "subject").contains(&requests[0]),
        "scrolled out of recent messages"
    );
    assert_eq!(board["attention"]["failed"][0]["reason"], "the network is down");
    assert_eq!(board["attention"]["blocked"][0]["id"], b.as_str());
    assert!(board["attention"]["blocked"][0]["reason"].as_str().unwrap().contains(&format!("{a} (failed)")));
    let text = repo.ok(&["board"]);
    assert!(text.contains("NEEDS ATTENTION") && text.contains("help from bob to alice"), "{text}");
    assert!(text.contains("{rust,sql}"), "capabilities shown: {text}");
    let md = repo.ok(&["board", "--markdown"]);
    assert!(md.contains("## Needs attention") && md.contains("rust, sql"), "{md}");

    // Read by its recipient, answered by a reply, retried: gone.
    repo.ok_as("alice", &["inbox"]);
    repo.ok_as("alice", &["send", "bob", "on it", "--reply-to", handoff["id"].as_str().unwrap()]);
    repo.ok(&["task", "retry", &a]);
    let board = repo.json(&["board"]);
    assert!(board["attention"]["requests"].as_array().unwrap().is_empty(), "{:#}", board["attention"]);
    assert!(board["attention"]["failed"].as_array().unwrap().is_empty());
    assert!(board["attention"]["blocked"].as_array().unwrap().is_empty());
}

#[test]
fn the_human_has_a_mailbox_without_a_session() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    repo.ok_as("alice", &["send", "human", "need a decision", "API v1 or v2?", "--kind", "help"]);
    let inbox = repo.json_as("human", &["inbox"]);
    assert_eq!(strings(&inbox, "subject"), ["need a decision"]);
    repo.ok_as("human", &["send", "alice", "v2", "--reply-to", inbox[0]["id"].as_str().unwrap()]);
    assert_eq!(strings(&repo.json_as("alice", &["inbox"]), "from"), ["human"]);
    let all = strings(&repo.json(&["session", "list", "--all"]), "name");
    assert_eq!(all, ["alice"], "human is a mailbox, not a session");
}

/// Waits until `path` has `n` lines; returns them.
fn lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found: Vec<String> = text.lines().map(str::to_string).collect();
        if found.len() >= n {
            return found;
        }
        assert!(Instant::now() < deadline, "{} has {found:?}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn notify_runs_for_messages_to_the_human_and_failed_tasks_only() {
    let repo = Repo::new();
    let out = repo.home().join("notified");
    repo.git(&[
        "config",
        "orchestrate.notify",
        &format!("echo \"$ORCHESTRATE_EVENT|$1\" >> {}", out.display()),
    ]);
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    repo.ok_as("alice", &["send", "all", "not for the human"]);
    repo.ok_as("alice", &["send", "human", "stuck", "--kind", "help"]);
    let id = repo.add("breaks", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    repo.ok_as("alice", &["task", "fail", &id, "--note", "no disk"]);
    repo.ok_as("alice", &["task", "fail", &id, "--note", "said twice"]);
    let got = lines(&out, 2);
    assert!(got.contains(&"message|help from alice: stuck".to_string()), "{got:?}");
    assert!(got.contains(&format!("task_failed|task {id} failed: breaks")), "{got:?}");
    // Give a wrong extra line the time to show up, then check there is none.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines(&out, 2).len(), 2, "once per event");
}

#[test]
fn the_status_file_follows_every_write_and_is_never_committed() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.statusFile", "STATUS_BOARD.md"]);
    let file = repo.path().join("STATUS_BOARD.md");
    repo.ok(&["board"]);
    assert!(!file.exists(), "a read writes nothing");
    let id = repo.add("write the docs", &[]);
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(first.starts_with("# Status board") && first.contains("write the docs"), "{first}");
    // From a session worktree too: the file is the main checkout's.
    let wt = repo.json(&["session", "start", "alice"])["worktree"].as_str().unwrap().to_string();
    let run = common::Run::of(repo.command(common::BIN).current_dir(&wt).args(["task", "claim", &id]));
    assert_eq!(run.code, 0, "{run:?}");
    let second = std::fs::read_to_string(&file).unwrap();
    assert!(second.contains("| alice | live |"), "{second}");
    assert!(!std::path::Path::new(&wt).join("STATUS_BOARD.md").exists());
    assert_eq!(repo.git(&["status", "--porcelain"]), "", "excluded, never to be committed");
    assert_eq!(repo.git(&["rev-list", "--count", "HEAD"]), "1");
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_log_shows_what_a_heartbeat_said() {
    let repo = Repo::new();
    repo.ok_as("alice", &["heartbeat", "--doing", "running tests", "--progress", "40", "--phase", "Test"]);
    let log = repo.json(&["log"]);
    let summaries = strings(&log, "summary");
    assert!(
        summaries.contains(&"heartbeat alice: doing running tests, 40%, phase test".to_string()),
        "{summaries:?}"
    );
    assert!(strings(&log, "action").contains(&"heartbeat".to_string()));
}
