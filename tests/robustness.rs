//! Bad input never changes state; corrupt or foreign state never stops the
//! rest of the queue.

mod common;

use common::Repo;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)).unwrap()
}

#[test]
fn bad_input_exits_2_and_changes_nothing() {
    let repo = Repo::new();
    let id = repo.add("existing", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let long_title = "x".repeat(201);
    let huge = "y".repeat(70 * 1024);
    let cases: Vec<Vec<&str>> = vec![
        vec!["task", "add", ""],
        vec!["task", "add", "   "],
        vec!["task", "add", "two\nlines"],
        vec!["task", "add", &long_title],
        vec!["task", "add", "ok", "-d", &huge],
        vec!["task", "add", "ok", "-p", "5"],
        vec!["task", "add", "ok", "-p", "high"],
        vec!["task", "add", "ok", "--role", "../x"],
        vec!["task", "add", "ok", "--role", "Back End"],
        vec!["task", "add", "ok", "--type", "a/b"],
        vec!["task", "add", "ok", "--label", ""],
        vec!["task", "add", "ok", "--after", "t-ffffffff"],
        vec!["task", "add", "ok", "--after", "not-an-id"],
        vec!["task", "list", "--status", "sleeping"],
        vec!["task", "list", "--role", "../../x"],
        vec!["task", "show", "t-ffffffff"],
        vec!["task", "show", "zzz"],
        vec!["task", "show", "../../etc/passwd"],
        vec!["task", "edit", &id, "-p", "9"],
        vec!["task", "edit", &id, "--title", ""],
        vec!["task", "edit", &id, "--after", "t-ffffffff"],
        vec!["task", "note", &id, ""],
        vec!["task", "note", &id, "x", "--progress", "101"],
        vec!["task", "claim"],
        vec!["task", "claim", "t-ffffffff"],
        vec!["task", "claim", "--next", "--role", "UPPER"],
        vec!["--session", "../escape", "task", "claim", "--next"],
        vec!["--session", "all", "task", "claim", "--next"],
        vec!["--session", "", "task", "list"],
        vec!["task", "done", "t-ffffffff"],
        vec!["task", "frobnicate"],
        vec!["no-such-command"],
    ];
    let before = repo.refs();
    for args in cases {
        let mut full = vec!["--session", "alice"];
        full.extend(&args);
        let run = repo.run(&full);
        assert_eq!(run.code, 2, "{args:?} should be bad input:\n{}{}", run.stdout, run.stderr);
        assert!(!run.stderr.trim().is_empty(), "{args:?} must say what is wrong");
        assert_eq!(repo.refs(), before, "{args:?} changed state");
    }
}

#[test]
fn commands_that_need_a_session_say_how_to_name_one() {
    let repo = Repo::new();
    let id = repo.add("task", &[]);
    for args in
        [vec!["task", "claim", id.as_str()], vec!["task", "claim", "--next"], vec!["task", "done", &id]]
    {
        let run = repo.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("--session") && run.stderr.contains("ORCHESTRATE_SESSION"),
            "{}",
            run.stderr
        );
    }
    // The environment variable works as well as the flag.
    let run = repo
        .command(common::BIN)
        .env("ORCHESTRATE_SESSION", "envy")
        .args(["--json", "task", "claim", &id])
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&run.stdout).unwrap()["assignee"], "envy");
}

#[test]
fn a_corrupt_task_is_reported_with_its_ref_and_path_and_the_rest_still_works() {
    let repo = Repo::new();
    let victim = repo.add("victim", &[]);
    let survivors: Vec<String> = (0..3).map(|i| repo.add(&format!("survivor {i}"), &[])).collect();
    let path = format!("open/{}/{victim}.json", &victim[2..4]);
    repo.plant("refs/orchestrate/tasks", &path, &fixture("task-not-json.json"));

    let show = repo.run(&["task", "show", &victim]);
    assert_eq!(show.code, 3, "{show:?}");
    assert!(show.stderr.contains(&format!("refs/orchestrate/tasks:{path}")), "{}", show.stderr);

    // The others can still be listed, claimed and finished.
    let listed = repo.json(&["task", "list", "--all"]);
    for id in &survivors {
        assert!(listed.as_array().unwrap().iter().any(|t| t["id"] == id.as_str()), "{id} missing");
    }
    for _ in 0..3 {
        let claimed = repo.json_as("alice", &["task", "claim", "--next"]);
        let id = claimed["id"].as_str().unwrap();
        if id == victim {
            panic!("claimed the corrupt task");
        }
        repo.ok_as("alice", &["task", "done", id]);
    }
}

#[test]
fn a_corrupt_task_is_reported_by_list_and_stays_reported_after_later_writes() {
    let repo = Repo::new();
    let ids: Vec<String> = (0..40).map(|i| repo.add(&format!("task {i}"), &[])).collect();
    let victim = &ids[0];
    let path = format!("open/{}/{victim}.json", &victim[2..4]);
    repo.plant("refs/orchestrate/tasks", &path, &fixture("task-wrong-shape.json"));
    let where_ = format!("refs/orchestrate/tasks:{path}");

    let listed = repo.run(&["--json", "task", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stderr.contains(&where_), "list must report it: {}", listed.stderr);
    assert_eq!(listed.json().as_array().unwrap().len(), ids.len() - 1, "the rest is listed");

    // A write to a task in the same index part must not launder the shard.
    let neighbour = ids.iter().skip(1).find(|id| id[2..3] == victim[2..3]).unwrap_or(&ids[1]);
    repo.ok(&["task", "note", neighbour, "still here"]);
    let again = repo.run(&["task", "list"]);
    assert!(again.stderr.contains(&where_), "still reported: {}", again.stderr);
}

#[test]
fn the_index_vouches_for_exactly_the_shard_trees_that_are_there() {
    let repo = Repo::new();
    let ids: Vec<String> = (0..30).map(|i| repo.add(&format!("task {i}"), &[])).collect();
    for id in ids.iter().take(10) {
        repo.ok_as("a", &["task", "claim", id]);
        repo.ok_as("a", &["task", "done", id]);
    }
    for side in ["open", "closed"] {
        let shards = repo.git(&[
            "ls-tree",
            "--format=%(objectname) %(path)",
            &format!("refs/orchestrate/tasks:{side}"),
        ]);
        for line in shards.lines() {
            let (oid, shard) = line.split_once(' ').unwrap();
            let digit = &shard[..1];
            let index: serde_json::Value = serde_json::from_str(
                &repo.git(&["show", &format!("refs/orchestrate/tasks:index-{side}-{digit}.json")]),
            )
            .unwrap();
            assert_eq!(index["shards"][shard], oid, "{side}/{shard}: the recorded tree id is the real one");
        }
    }
    let listed = repo.run(&["task", "list", "--all"]);
    assert!(listed.stderr.is_empty(), "{}", listed.stderr);
}

#[test]
fn a_corrupt_index_is_reported_and_rebuilt_from_the_tasks() {
    let repo = Repo::new();
    let ids: Vec<String> = (0..12).map(|i| repo.add(&format!("task {i}"), &[])).collect();
    let digit = &ids[0][2..3];
    let index = format!("index-open-{digit}.json");
    repo.plant("refs/orchestrate/tasks", &index, b"garbage");

    let run = repo.run(&["--json", "task", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains(&format!("refs/orchestrate/tasks:{index}")), "{}", run.stderr);
    let listed = run.json();
    assert_eq!(listed.as_array().unwrap().len(), ids.len(), "every task still listed");

    // The next write to that part of the index rebuilds it.
    repo.ok(&["task", "note", &ids[0], "touch"]);
    let rebuilt = repo.run(&["task", "list"]);
    assert!(rebuilt.stderr.is_empty(), "{}", rebuilt.stderr);
    assert_eq!(repo.json(&["task", "list"]).as_array().unwrap().len(), ids.len());
}

#[test]
fn a_newer_format_is_refused_for_writing() {
    let repo = Repo::new();
    let id = repo.add("before the upgrade", &[]);
    repo.plant("refs/orchestrate/meta", "meta.json", &fixture("meta-format-2.json"));
    let before = repo.refs();
    for args in [vec!["task", "add", "after"], vec!["task", "claim", &id], vec!["init"]] {
        let run = repo.run_as("alice", &args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        assert!(run.stderr.contains("format 2") && run.stderr.contains("upgrade"), "{}", run.stderr);
    }
    assert_eq!(repo.refs(), before);
}

#[test]
fn a_document_in_a_newer_format_is_skipped_with_a_report() {
    let repo = Repo::new();
    let id = repo.add("future", &[]);
    let path = format!("open/{}/{id}.json", &id[2..4]);
    let blob = repo.git(&["show", &format!("refs/orchestrate/tasks:{path}")]);
    repo.plant("refs/orchestrate/tasks", &path, blob.replace("\"format\": 1", "\"format\": 7").as_bytes());
    let run = repo.run(&["task", "show", &id]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("format 7"), "{}", run.stderr);
}

#[test]
fn outside_a_repository_the_error_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .args(["task", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn a_reftable_repository_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--ref-format=reftable"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    if !init.status.success() {
        eprintln!("this git cannot make reftable repositories; skipping");
        return;
    }
    let out = std::process::Command::new(common::BIN)
        .current_dir(dir.path())
        .args(["task", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reftable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_input_in_a_fresh_repository_does_not_even_create_the_format_marker() {
    let repo = Repo::new();
    for args in [
        vec!["task", "add", "x", "--after", "t-0000"],
        vec!["task", "add", ""],
        vec!["task", "show", "t-1234"],
    ] {
        assert_eq!(repo.run(&args).code, 2, "{args:?}");
        assert_eq!(repo.refs(), "", "{args:?} wrote something");
    }
    // A refusal writes nothing either.
    assert_eq!(repo.run_as("a", &["task", "claim", "--next"]).code, 1);
    assert_eq!(repo.refs(), "");
}

#[test]
fn usage_errors_are_json_when_json_is_asked_for() {
    let repo = Repo::new();
    for args in [
        vec!["--json", "task", "add", "x", "-p", "9"],
        vec!["--json", "task", "claim"],
        vec!["task", "note", "t-1", "x", "--progress", "300", "--json"],
    ] {
        let run = repo.run(&args);
        assert_eq!(run.code, 2, "{args:?}");
        assert_eq!(run.json()["error"]["kind"], "invalid", "{args:?}");
    }
}

#[test]
fn finished_tasks_take_no_notes_and_repeated_finishes_keep_their_note() {
    let repo = Repo::new();
    let id = repo.add("finish me", &[]);
    repo.ok_as("a", &["task", "claim", &id]);
    // Only the holder reports progress; anyone may leave a note.
    assert_eq!(repo.run_as("b", &["task", "note", &id, "looks good", "--progress", "90"]).code, 1);
    repo.ok_as("b", &["task", "note", &id, "looks good"]);
    repo.ok_as("a", &["task", "done", &id]);
    let again = repo.json_as("a", &["task", "done", &id, "--note", "merged as 1a2b3c"]);
    assert_eq!(again["status"], "done");
    assert_eq!(again["notes"].as_array().unwrap().last().unwrap()["text"], "merged as 1a2b3c");
    let late = repo.run_as("a", &["task", "note", &id, "one more thing", "--progress", "3"]);
    assert_eq!(late.code, 1, "{late:?}");
    assert_eq!(repo.json(&["task", "show", &id])["progress"], 100);
}

#[test]
fn an_edit_that_changes_nothing_says_so_and_writes_nothing() {
    let repo = Repo::new();
    let id = repo.add("same", &["--role", "backend"]);
    let before = repo.refs();
    let out = repo.ok(&["task", "edit", &id, "--title", "same"]);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(repo.refs(), before);
    let cleared = repo.json(&["task", "edit", &id, "--no-role"]);
    assert_eq!(cleared["role"], serde_json::Value::Null);
}

#[test]
fn every_duration_is_bounded_and_a_too_long_one_names_the_bound() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    let before = repo.refs();
    // However it is written, a duration past the bound is "too long", never
    // "invalid", and nothing is stored.
    for args in [
        vec!["claim", "src/", "--ttl", "999999999h"],
        vec!["claim", "src/", "--ttl", "99999999999999h"],
        vec!["claim", "src/", "--ttl", "99999999999999999999999s"],
        vec!["claim", "src/", "--ttl", "366d"],
        vec!["stop", "--all", "--grace", "9999d"],
        vec!["inbox", "--wait", "99999999999"],
        vec!["log", "--since", "99999999999h"],
    ] {
        let mut full = vec!["--session", "alice"];
        full.extend(&args);
        let run = repo.run(&full);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains("too long") && run.stderr.contains("365d"), "{args:?}: {}", run.stderr);
        assert_eq!(repo.refs(), before, "{args:?} changed state");
    }
    // A configured duration goes through the same bound.
    repo.git(&["config", "orchestrate.staleAfter", "999999h"]);
    let run = repo.run(&["session", "list"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("orchestrate.staleAfter") && run.stderr.contains("365d"), "{}", run.stderr);
    repo.git(&["config", "--unset", "orchestrate.staleAfter"]);

    // The bound itself is accepted, and the expiry it gives is RFC 3339.
    let claimed = repo
        .command(common::BIN)
        .env("ORCHESTRATE_NOW", "2030-01-01T00:00:00Z")
        .args(["--json", "--session", "alice", "claim", "src/", "--ttl", "365d"])
        .output()
        .unwrap();
    assert!(claimed.status.success(), "{}", String::from_utf8_lossy(&claimed.stderr));
    let claims: serde_json::Value = serde_json::from_slice(&claimed.stdout).unwrap();
    assert_eq!(claims[0]["expires_at"], "2031-01-01T00:00:00Z");
}
