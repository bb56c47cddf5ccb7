//! The board (text, markdown, json) and the merged event log, with the
//! clock pinned so that ages and times are exact.

mod common;

use common::{Repo, Run, BIN};
use serde_json::Value;

/// Runs with the clock pinned at `at`.
fn at(repo: &Repo, at: &str, who: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = repo.command(BIN);
    cmd.env("ORCHESTRATE_NOW", at).args(args);
    if let Some(who) = who {
        cmd.env("ORCHESTRATE_SESSION", who);
    }
    let run = Run::of(&mut cmd);
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    run
}

/// A small, fully pinned scene: two sessions, four tasks, a claim, messages.
/// (Every pinned command a session runs is also its heartbeat.)
fn scene() -> (Repo, Vec<String>) {
    let repo = Repo::new();
    let t0 = "2030-01-01T10:00:00Z";
    at(&repo, t0, None, &["session", "start", "alice", "--no-worktree", "--role", "backend"]);
    at(&repo, t0, None, &["session", "start", "bob", "--no-worktree"]);
    let add = |title: &str, extra: &[&str]| {
        let mut args = vec!["--json", "task", "add", title];
        args.extend_from_slice(extra);
        at(&repo, t0, None, &args).json()["id"].as_str().unwrap().to_string()
    };
    let api = add("Build the API", &["-p", "1"]);
    let docs = add("Write docs", &["--after", &api]);
    let tests = add("Add tests", &["-p", "2", "--role", "backend"]);
    let old = add("Old idea", &[]);
    at(&repo, "2030-01-01T10:01:00Z", Some("alice"), &["task", "claim", &api]);
    at(
        &repo,
        "2030-01-01T10:02:00Z",
        Some("alice"),
        &["task", "note", &api, "routes done", "--progress", "40"],
    );
    at(
        &repo,
        "2030-01-01T10:02:00Z",
        Some("alice"),
        &["heartbeat", "--doing", "writing handlers", "--progress", "40"],
    );
    at(
        &repo,
        "2030-01-01T10:03:00Z",
        Some("alice"),
        &["claim", "src/api/", "--reason", "API work", "--ttl", "1h"],
    );
    at(&repo, "2030-01-01T10:04:00Z", Some("bob"), &["task", "cancel", &old]);
    at(
        &repo,
        "2030-01-01T10:05:00Z",
        Some("bob"),
        &["send", "alice", "need the schema \u{1b}[2J", "--kind", "help"],
    );
    (repo, vec![api, docs, tests, old])
}

fn normalise(text: &str, ids: &[String]) -> String {
    let names = ["<api>", "<docs>", "<tests>", "<old>"];
    ids.iter().zip(names).fold(text.to_string(), |t, (id, name)| t.replace(id.as_str(), name))
}

const NOW: &str = "2030-01-01T10:10:00Z";

#[test]
fn the_text_board_shows_sessions_tasks_claims_and_messages() {
    let (repo, ids) = scene();
    let board = normalise(&at(&repo, NOW, None, &["board"]).stdout, &ids);
    let expected = "\
git orchestrate board  2030-01-01 10:10:00Z

SESSIONS  2 live, 0 stale
  alice  live   hb    7m ago [backend] <api> ████░░░░░░  40%  writing handlers
  bob    live   hb    5m ago

NEEDS ATTENTION
  help from bob to alice, 5m ago: need the schema \\u{1b}[2J

TASKS  4 total  ░░░░░░░░░░░░░░░░░░░░ 0% done
  open 2 (ready 1, waiting 1, blocked 0) · claimed 1 · done 0 · failed 0 · cancelled 1

IN PROGRESS
  <api>  P1  alice        ████░░░░░░  40%  Build the API

READY
  <tests>  P2  Add tests [backend]

CLAIMS
  src/api/  exclusive  alice           53m left  API work

MESSAGES
     5m ago  bob -> alice  [help]  need the schema \\u{1b}[2J
";
    assert_eq!(board, expected);
}

#[test]
fn the_markdown_board_is_a_page_with_tables() {
    let (repo, ids) = scene();
    let page = normalise(&at(&repo, NOW, None, &["board", "--markdown"]).stdout, &ids);
    for line in [
        "# Status board",
        "_Generated 2030-01-01 10:10:00Z._",
        "| alice | live | backend |  | <api> | 40% | writing handlers | 7m ago |",
        "- **help** from bob to alice, 5m ago: need the schema \\u{1b}[2J",
        "4 total, 0% done: open 2 (ready 1, waiting 1, blocked 0), claimed 1, done 0, failed 0, cancelled 1.",
        "| <api> | 1 | Build the API |  | alice | 40% |",
        "| `src/api/` | exclusive | alice | 53m | API work |",
        "- 5m ago, bob → alice [help]: need the schema \\u{1b}[2J",
    ] {
        assert!(page.contains(line), "missing {line:?} in\n{page}");
    }
    assert!(!page.contains('\u{1b}'));
}

#[test]
fn the_json_board_is_the_whole_view_model() {
    let (repo, ids) = scene();
    let board: Value = at(&repo, NOW, None, &["--json", "board"]).json();
    assert_eq!(board["generated_at"], "2030-01-01T10:10:00Z");
    assert_eq!(board["tasks"]["total"], 4);
    assert_eq!(board["tasks"]["cancelled"], 1);
    assert_eq!(board["tasks"]["ready"], 1);
    assert_eq!(board["in_progress"][0]["id"], ids[0].as_str());
    assert_eq!(board["ready"][0]["id"], ids[2].as_str());
    assert_eq!(board["sessions"][0]["doing"], "writing handlers");
    assert_eq!(board["claims"][0]["path"], "src/api/");
    assert_eq!(board["messages"][0]["kind"], "help");
    assert_eq!(
        board["messages"][0]["subject"], "need the schema \u{1b}[2J",
        "JSON keeps the data as written"
    );
}

#[test]
fn board_watch_without_a_terminal_draws_once_and_exits() {
    let (repo, _) = scene();
    let run = at(&repo, NOW, None, &["board", "--watch"]);
    assert!(run.stdout.contains("SESSIONS"));
    assert!(!run.stdout.contains('\u{1b}'), "no colour or cursor control without a terminal");
}

#[test]
fn the_log_merges_every_collection_newest_first() {
    let (repo, ids) = scene();
    let log: Value = at(&repo, NOW, None, &["--json", "log"]).json();
    let entries = log.as_array().unwrap();
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let collections: std::collections::BTreeSet<&str> =
        entries.iter().map(|e| e["collection"].as_str().unwrap()).collect();
    for c in ["tasks", "sessions", "claims", "mail/alice", "meta"] {
        assert!(collections.contains(c), "{c} missing from {collections:?}");
    }
    assert_eq!(
        entries[0]["summary"].as_str().unwrap().split(':').next().unwrap().split(' ').next(),
        Some("send")
    );
    assert_eq!(entries[0]["actor"], "bob");

    let recent: Value = at(&repo, NOW, None, &["--json", "log", "--since", "2030-01-01T10:03:00Z"]).json();
    let summaries: Vec<String> =
        recent.as_array().unwrap().iter().map(|e| normalise(e["summary"].as_str().unwrap(), &ids)).collect();
    assert_eq!(summaries[0].split(':').next().unwrap().split(' ').next(), Some("send"));
    assert!(summaries.contains(&"cancel <old> by bob".to_string()), "{summaries:?}");
    assert!(summaries.contains(&"claim src/api/ by alice".to_string()), "{summaries:?}");
    assert!(!summaries.iter().any(|s| s.starts_with("add ")), "older events are left out: {summaries:?}");

    let text = at(&repo, NOW, None, &["log", "--since", "7m"]).stdout;
    assert!(text.lines().all(|l| l.starts_with("2030-01-01 10:0")), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
}
