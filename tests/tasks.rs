//! The task queue, driven through the real binary.

mod common;

use common::Repo;
use serde_json::Value;

fn ids(list: &Value) -> Vec<String> {
    common::strings(list, "id")
}

#[test]
fn init_creates_the_format_marker_once() {
    let repo = Repo::new();
    let first = repo.json(&["init"]);
    assert_eq!(first["created"], true);
    assert_eq!(first["format"], 1);
    let meta = repo.git(&["show", "refs/orchestrate/meta:meta.json"]);
    assert!(meta.contains("\"format\": 1"), "{meta}");
    let refs = repo.refs();
    assert_eq!(repo.json(&["init"])["created"], false);
    assert_eq!(repo.refs(), refs, "a second init changes nothing");
}

#[test]
fn a_task_goes_from_added_to_claimed_to_done_with_its_history() {
    let repo = Repo::new();
    let id = repo
        .add("Set up CI", &["-p", "1", "--role", "backend", "--label", "infra", "-d", "Use GitHub Actions"]);
    assert!(id.starts_with("t-") && id.len() >= 6, "{id}");

    let listed = repo.json(&["task", "list"]);
    assert_eq!(ids(&listed), std::slice::from_ref(&id));
    assert_eq!(listed[0]["status"], "open");
    assert_eq!(listed[0]["ready"], true);
    assert_eq!(listed[0]["role"], "backend");

    let claimed = repo.json_as("alice", &["task", "claim", &id]);
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["assignee"], "alice");

    repo.ok_as("alice", &["task", "note", &id, "workflow written", "--progress", "60"]);
    let done = repo.json_as("alice", &["task", "done", &id, "--note", "green"]);
    assert_eq!(done["status"], "done");
    assert_eq!(done["progress"], 100);
    assert!(done["closed_at"].is_string());

    let shown = repo.json(&["task", "show", &id]);
    assert_eq!(shown["description"], "Use GitHub Actions");
    assert_eq!(shown["labels"], serde_json::json!(["infra"]));
    let notes: Vec<&str> =
        shown["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(notes, ["workflow written", "green"]);
    let actions: Vec<&str> =
        shown["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["add", "claim", "note", "done"]);
    assert_eq!(shown["history"][1]["actor"], "alice");

    // The finished task is stored under closed/ and gone from open/.
    let shard = &id[2..4];
    repo.git(&["cat-file", "-e", &format!("refs/orchestrate/tasks:closed/{shard}/{id}.json")]);
    let open = format!("refs/orchestrate/tasks:open/{shard}/{id}.json");
    assert!(!repo.command("git").args(["cat-file", "-e", &open]).output().unwrap().status.success());

    // Done tasks leave the default list but show with --all.
    assert_eq!(ids(&repo.json(&["task", "list"])), Vec::<String>::new());
    assert_eq!(ids(&repo.json(&["task", "list", "--all"])), std::slice::from_ref(&id));
    assert_eq!(ids(&repo.json(&["task", "list", "--status", "done"])), [id]);
}

#[test]
fn every_state_change_is_one_commit_in_the_event_log() {
    let repo = Repo::new();
    let id = repo.add("Write docs", &[]);
    repo.ok_as("bob", &["task", "claim", &id]);
    repo.ok_as("bob", &["task", "release", &id]);
    let log = repo.git(&["log", "--format=%s", "refs/orchestrate/tasks"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines,
        [
            format!("release {id} by bob"),
            format!("claim {id} by bob"),
            format!("add {id} by Test Human: Write docs")
        ]
    );
}

#[test]
fn dependencies_decide_readiness() {
    let repo = Repo::new();
    let first = repo.add("Schema", &[]);
    let second = repo.add("API", &["--after", &first]);
    let third = repo.add("UI", &["--after", &second, "--after", &first]);

    let ready = repo.json(&["task", "list", "--ready"]);
    assert_eq!(ids(&ready), std::slice::from_ref(&first));
    let all = repo.json(&["task", "list"]);
    let waiting = all.as_array().unwrap().iter().find(|t| t["id"] == second.as_str()).unwrap();
    assert_eq!(waiting["readiness"]["state"], "waiting");
    assert_eq!(waiting["readiness"]["on"], serde_json::json!([first]));

    // A task that is not ready cannot be claimed, unless forced.
    let refused = repo.run_as("alice", &["task", "claim", &second]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains(&first), "{}", refused.stderr);

    repo.ok_as("alice", &["task", "claim", &first]);
    repo.ok_as("alice", &["task", "done", &first]);
    assert_eq!(ids(&repo.json(&["task", "list", "--ready"])), std::slice::from_ref(&second));

    // A failed dependency blocks its dependents for good.
    repo.ok_as("alice", &["task", "claim", &second]);
    repo.ok_as("alice", &["task", "fail", &second, "--note", "schema wrong"]);
    let shown = repo.json(&["task", "show", &third]);
    assert_eq!(shown["readiness"]["state"], "blocked");
    assert_eq!(shown["ready"], false);
    assert_eq!(repo.run_as("bob", &["task", "claim", "--next"]).code, 1);

    // Editing the dependency away makes it ready.
    repo.ok(&["task", "edit", &third, "--no-after", &second]);
    assert_eq!(ids(&repo.json(&["task", "list", "--ready"])), [third]);
}

#[test]
fn a_dependency_cycle_is_refused_and_nothing_is_written() {
    let repo = Repo::new();
    let a = repo.add("A", &[]);
    let b = repo.add("B", &["--after", &a]);
    let c = repo.add("C", &["--after", &b]);
    let before = repo.refs();

    let cycle = repo.run(&["task", "edit", &a, "--after", &c]);
    assert_eq!(cycle.code, 2, "{cycle:?}");
    assert!(cycle.stderr.contains("cycle"), "{}", cycle.stderr);
    assert!(cycle.stderr.contains(&format!("{a} -> {c} -> {b} -> {a}")), "{}", cycle.stderr);

    let itself = repo.run(&["task", "edit", &a, "--after", &a]);
    assert_eq!(itself.code, 2, "{itself:?}");
    assert_eq!(repo.refs(), before);
}

#[test]
fn claim_next_takes_the_highest_priority_then_the_oldest() {
    let repo = Repo::new();
    let low = repo.add("low", &["-p", "3"]);
    let old_high = repo.add("old high", &["-p", "1"]);
    let new_high = repo.add("new high", &["-p", "1"]);
    let backend = repo.add("backend only", &["-p", "0", "--role", "backend"]);

    assert_eq!(repo.json_as("a", &["task", "claim", "--next", "--role", "backend"])["id"], backend.as_str());
    assert_eq!(repo.json_as("a", &["task", "claim", "--next"])["id"], old_high.as_str());
    assert_eq!(repo.json_as("b", &["task", "claim", "--next"])["id"], new_high.as_str());
    assert_eq!(repo.json_as("c", &["task", "claim", "--next"])["id"], low.as_str());

    let empty = repo.run_as("d", &["task", "claim", "--next"]);
    assert_eq!(empty.code, 1, "{empty:?}");
    assert!(empty.stderr.contains("nothing ready"), "{}", empty.stderr);

    let mine = repo.json_as("a", &["task", "list", "--mine"]);
    let mut expected = vec![backend, old_high];
    expected.sort();
    let mut got = ids(&mine);
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn only_the_holder_finishes_or_releases_a_task_unless_forced() {
    let repo = Repo::new();
    let id = repo.add("Contested", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let before = repo.refs();

    for verb in ["done", "fail", "release", "cancel"] {
        let run = repo.run_as("bob", &["task", verb, &id]);
        assert_eq!(run.code, 1, "bob {verb}: {run:?}");
        assert!(run.stderr.contains("alice"), "{verb}: {}", run.stderr);
    }
    let grab = repo.run_as("bob", &["task", "claim", &id]);
    assert_eq!(grab.code, 1);
    assert!(grab.stderr.contains("claimed by alice"), "{}", grab.stderr);
    assert_eq!(repo.refs(), before, "refusals write nothing");

    // Claiming again as the holder is fine and writes nothing.
    repo.ok_as("alice", &["task", "claim", &id]);
    assert_eq!(repo.refs(), before);

    // A human can force it.
    let forced = repo.json(&["task", "release", &id, "--force"]);
    assert_eq!(forced["status"], "open");
    assert_eq!(forced["assignee"], Value::Null);
    repo.ok_as("bob", &["task", "claim", &id]);
    repo.ok_as("bob", &["task", "done", &id]);
    // Saying done twice is not an error; done again by someone else is refused.
    repo.ok_as("bob", &["task", "done", &id]);
    assert_eq!(repo.run_as("alice", &["task", "done", &id]).code, 1);
}

#[test]
fn an_unclaimed_task_can_be_cancelled_but_not_finished_by_anyone() {
    let repo = Repo::new();
    let id = repo.add("Maybe", &[]);
    assert_eq!(repo.run_as("bob", &["task", "done", &id]).code, 1);
    assert_eq!(repo.json_as("bob", &["task", "cancel", &id])["status"], "cancelled");
    assert_eq!(repo.run_as("bob", &["task", "claim", &id]).code, 1);
}

#[test]
fn ids_are_found_by_any_unique_prefix_and_ambiguity_is_an_error() {
    let repo = Repo::new();
    let made: Vec<String> = (0..20).map(|i| repo.add(&format!("task {i}"), &[])).collect();
    let id = &made[0];
    assert_eq!(repo.json(&["task", "show", id])["id"], id.as_str());
    assert_eq!(repo.json(&["task", "show", &id[2..]])["id"], id.as_str(), "without t-");
    assert_eq!(repo.json(&["task", "show", &id.to_uppercase()])["id"], id.as_str(), "any case");

    // 20 ids over 16 hex digits: two must share their first digit.
    let digit = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|d| made.iter().filter(|id| id[2..].starts_with(d.as_str())).count() > 1)
        .unwrap();
    let ambiguous = repo.run(&["task", "show", &format!("t-{digit}")]);
    assert_eq!(ambiguous.code, 2, "{ambiguous:?}");
    assert!(ambiguous.stderr.contains("ambiguous"), "{}", ambiguous.stderr);

    let mut unique = made.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), made.len(), "ids are distinct");
}

#[test]
fn every_command_speaks_json() {
    let repo = Repo::new();
    let id = repo.add("json", &[]);
    let other = repo.add("other", &[]);
    for args in [
        vec!["init"],
        vec!["task", "list"],
        vec!["task", "list", "--ready"],
        vec!["task", "show", &id],
        vec!["task", "edit", &id, "--title", "renamed"],
        vec!["task", "claim", &id],
        vec!["task", "note", &id, "hi"],
        vec!["task", "release", &id],
        vec!["task", "claim", "--next"],
        vec!["task", "done", &id],
        vec!["task", "cancel", &other],
    ] {
        let value = repo.json_as("alice", &args);
        assert!(value.is_object() || value.is_array(), "{args:?}: {value}");
    }
    // Errors are JSON too, with their kind, and the exit code still says it.
    let run = repo.run_as("alice", &["--json", "task", "claim", "t-ffffffff"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["kind"], "invalid");
}

#[test]
fn control_characters_are_refused_on_input_and_escaped_on_output() {
    let repo = Repo::new();
    let id = repo.add("plain", &[]);
    let before = repo.refs();
    let run = repo.run_as("evil", &["task", "note", &id, "paint \u{1b}[2J the screen"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(repo.refs(), before);

    // A writer that bypasses the CLI can still store one: showing it must
    // not repaint the terminal.
    let shard = &id[2..4];
    let path = format!("open/{shard}/{id}.json");
    let blob = repo.git(&["show", &format!("refs/orchestrate/tasks:{path}")]);
    let hostile = blob.replace("\"title\": \"plain\"", "\"title\": \"x\\u001b[2Jy\"");
    assert_ne!(hostile, blob);
    repo.plant("refs/orchestrate/tasks", &path, hostile.as_bytes());
    let shown = repo.ok(&["task", "show", &id]);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(shown.contains("x\\u{1b}[2Jy"), "{shown}");
}

#[test]
fn times_and_authors_come_from_the_pinned_clock_and_session() {
    let repo = Repo::new();
    let out = repo
        .command(common::BIN)
        .env("ORCHESTRATE_NOW", "2030-01-02T03:04:05Z")
        .env("ORCHESTRATE_SESSION", "pinned")
        .args(["--json", "task", "add", "pinned task"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let task: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(task["created_at"], "2030-01-02T03:04:05Z");
    assert_eq!(task["created_by"], "pinned");
    let author = repo.git(&["log", "-1", "--format=%an %at", "refs/orchestrate/tasks"]);
    assert_eq!(author, "pinned 1893553445");
}
