//! `doctor`: each kind of damage found (exit 1, named with ref and path and
//! what `--repair` would do), then repaired (exit 0, nothing someone wrote
//! deleted), and a healthy store left alone.

mod common;

use common::Repo;
use serde_json::Value;
use std::time::{Duration, SystemTime};

fn doctor(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json", "doctor"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    assert!(run.code == 0 || run.code == 1, "{run:?}");
    (run.code, run.json())
}

/// The findings of one kind.
fn of_kind<'v>(report: &'v Value, kind: &str) -> Vec<&'v Value> {
    report["problems"].as_array().unwrap().iter().filter(|f| f["kind"] == kind).collect()
}

fn busy_repo() -> Repo {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    let first = repo.add("first", &["-p", "1"]);
    let second = repo.add("second", &["--after", &first]);
    for i in 0..12 {
        repo.add(&format!("filler {i}"), &[]);
    }
    repo.ok_as("alice", &["task", "claim", &first]);
    repo.ok_as("alice", &["task", "done", &first]);
    repo.ok_as("bob", &["task", "claim", &second]);
    repo.ok_as("alice", &["claim", "src/"]);
    repo.ok_as("bob", &["send", "alice", "hello"]);
    repo
}

/// Rewrites a stored JSON document through `edit`, as another tool could.
fn edit_document(repo: &Repo, refname: &str, path: &str, edit: impl FnOnce(&mut Value)) {
    let mut doc: Value = serde_json::from_str(&repo.git(&["show", &format!("{refname}:{path}")])).unwrap();
    edit(&mut doc);
    repo.plant(refname, path, doc.to_string().as_bytes());
}

#[test]
fn a_healthy_store_is_healthy_and_doctor_writes_nothing() {
    let repo = busy_repo();
    let before = repo.refs();
    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["healthy"], true);
    assert_eq!(report["problems"], serde_json::json!([]));
    assert!(repo.ok(&["doctor"]).contains("healthy"));
    let (code, _) = doctor(&repo, &["--repair"]);
    assert_eq!(code, 0);
    assert_eq!(repo.refs(), before, "nothing to repair, nothing written");
}

#[test]
fn corrupt_documents_are_moved_aside_where_doctor_says_and_each_collection_works_again() {
    let repo = busy_repo();
    let task = repo.add("to break", &[]);
    let task_path = format!("open/{}/{task}.json", &task[2..4]);
    let bad: [(&str, &str, &[u8]); 4] = [
        ("refs/orchestrate/claims", "claims.json", b"{ not json"),
        ("refs/orchestrate/sessions", "bob.json", b"[1, 2]"),
        ("refs/orchestrate/tasks", &task_path, b"{\"format\": 1}"),
        ("refs/orchestrate/meta", "meta.json", b"meta?"),
    ];
    for (refname, path, bytes) in bad {
        repo.plant(refname, path, bytes);
    }
    let before = repo.refs();

    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(repo.refs(), before, "doctor without --repair writes nothing");
    let corrupt = of_kind(&report, "corrupt_document");
    for (refname, path, _) in bad {
        let f = corrupt
            .iter()
            .find(|f| f["ref"] == refname && f["path"] == path)
            .unwrap_or_else(|| panic!("{refname}:{path} is reported: {report:#}"));
        let repair = f["repair"].as_str().unwrap();
        assert!(repair.contains(&format!("{refname}:corrupt/{path}")), "{repair}");
        assert_eq!(f["repaired"], false);
    }
    let text = repo.run(&["doctor"]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("doctor --repair` fixes"), "{}", text.stdout);

    let (code, report) = doctor(&repo, &["--repair"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(of_kind(&report, "corrupt_document").iter().all(|f| f["repaired"] == true));
    for (refname, path, bytes) in bad {
        let kept = repo.git(&["show", &format!("{refname}:corrupt/{path}")]);
        assert_eq!(kept.as_str(), String::from_utf8_lossy(bytes).trim(), "{refname}:{path} is kept aside");
    }
    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 0, "healthy after the repair: {report:#}");

    // Every collection works again.
    assert_eq!(repo.json(&["board"])["unreadable"], serde_json::json!([]));
    repo.ok_as("alice", &["claim", "docs/"]);
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("alice", &["send", "bob", "welcome back"]);
    let listed = common::strings(&repo.json(&["task", "list"]), "id");
    assert!(!listed.contains(&task), "the broken task is aside, not listed");
    repo.add("after the repair", &[]);
}

#[test]
fn a_leftover_lock_and_an_index_that_disagrees_are_repaired() {
    let repo = busy_repo();
    let lock = repo.path().join(".git/refs/orchestrate/claims.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::File::open(&lock).unwrap().set_modified(SystemTime::now() - Duration::from_secs(120)).unwrap();
    // An index part that is valid JSON but says something else.
    let tasks = repo.git(&["ls-tree", "--name-only", "refs/orchestrate/tasks"]);
    let part = tasks.lines().find(|l| l.starts_with("index-open-")).unwrap().to_string();
    edit_document(&repo, "refs/orchestrate/tasks", &part, |doc| doc["tasks"] = serde_json::json!({}));

    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1);
    let locks = of_kind(&report, "lock_file");
    assert_eq!(locks.len(), 1, "{report:#}");
    assert_eq!(locks[0]["ref"], "refs/orchestrate/claims");
    assert!(locks[0]["problem"].as_str().unwrap().contains("left 2m ago"), "{:#}", locks[0]);
    let index = of_kind(&report, "task_index");
    assert_eq!(index.len(), 1, "{report:#}");
    assert_eq!(index[0]["path"], part.as_str());
    assert!(lock.exists(), "nothing removed without --repair");

    let (code, report) = doctor(&repo, &["--repair"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(!lock.exists());
    assert_eq!(doctor(&repo, &[]).0, 0);
    assert!(repo.json(&["log"]).as_array().unwrap().iter().any(|e| e["action"] == "repair"));
}

#[test]
fn claims_and_tasks_held_by_an_ended_session_are_released() {
    let repo = busy_repo();
    let id = repo.add("held", &[]);
    repo.ok(&["session", "start", "gone", "--no-worktree"]);
    repo.ok_as("gone", &["task", "claim", &id]);
    repo.ok_as("gone", &["claim", "lib/"]);
    // Ended by another tool, which released nothing.
    edit_document(&repo, "refs/orchestrate/sessions", "gone.json", |doc| doc["status"] = "ended".into());

    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1);
    let claims = of_kind(&report, "claim_of_ended_session");
    assert_eq!(claims.len(), 1, "{report:#}");
    assert!(claims[0]["problem"].as_str().unwrap().contains("lib/"));
    let tasks = of_kind(&report, "task_of_ended_session");
    assert_eq!(tasks.len(), 1, "{report:#}");
    assert!(tasks[0]["problem"].as_str().unwrap().contains(&id));

    assert_eq!(doctor(&repo, &["--repair"]).0, 0);
    assert_eq!(repo.json(&["task", "show", &id])["status"], "open");
    assert!(!common::strings(&repo.json(&["claims"]), "path").contains(&"lib/".to_string()));
    assert_eq!(doctor(&repo, &[]).0, 0);
}

#[test]
fn a_stale_session_whose_worktree_is_gone_is_ended_and_stray_folders_are_only_reported() {
    let repo = Repo::new();
    let started = repo.json(&["session", "start", "w1"]);
    let worktree = std::path::PathBuf::from(started["worktree"].as_str().unwrap());
    let id = repo.add("in w1", &[]);
    repo.ok_as("w1", &["task", "claim", &id]);
    repo.git(&["worktree", "remove", "--force", worktree.to_str().unwrap()]);
    let stray = worktree.parent().unwrap().join("left-behind");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("notes.txt"), "mine").unwrap();

    // Live: reported, not repaired (an agent may still be at work).
    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1);
    let gone = of_kind(&report, "worktree_gone");
    assert_eq!(gone.len(), 1, "{report:#}");
    assert_eq!(gone[0]["repair"], Value::Null);
    assert!(gone[0]["hint"].as_str().unwrap().contains("session end w1"));
    let strays = of_kind(&report, "stray_directory");
    assert_eq!(strays.len(), 1, "{report:#}");
    assert!(strays[0]["path"].as_str().unwrap().ends_with("left-behind"));

    // Stale (an hour later): ended by the repair, its task back in the queue.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let run = common::Run::of(
        repo.command(common::BIN)
            .env("ORCHESTRATE_NOW", later.to_rfc3339())
            .args(["--json", "doctor", "--repair"]),
    );
    assert_eq!(run.code, 1, "the stray folder is left for a person: {run:?}");
    let report = run.json();
    assert_eq!(of_kind(&report, "worktree_gone")[0]["repaired"], true, "{report:#}");
    assert_eq!(of_kind(&report, "stray_directory")[0]["repaired"], false);
    assert_eq!(repo.json(&["session", "show", "w1"])["status"], "ended");
    assert_eq!(repo.json(&["task", "show", &id])["status"], "open");
    assert_eq!(std::fs::read_to_string(stray.join("notes.txt")).unwrap(), "mine", "never deleted");
}

#[test]
fn a_dependency_on_a_missing_task_is_reported_with_the_way_out() {
    let repo = Repo::new();
    let id = repo.add("waits", &[]);
    let path = format!("open/{}/{id}.json", &id[2..4]);
    edit_document(&repo, "refs/orchestrate/tasks", &path, |doc| {
        doc["depends_on"] = serde_json::json!(["t-dead"])
    });
    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1);
    let missing = of_kind(&report, "missing_dependency");
    assert_eq!(missing.len(), 1, "{report:#}");
    assert!(missing[0]["problem"].as_str().unwrap().contains("t-dead"));
    assert!(missing[0]["hint"].as_str().unwrap().contains("--no-after t-dead"));
    assert_eq!(missing[0]["repair"], Value::Null, "a person decides");
}

#[test]
fn an_agent_whose_supervisor_died_and_was_not_replaced_is_reported() {
    let repo = Repo::new();
    // In a tmux window, where no wrapper replaces the supervisor at once.
    let spawn = common::Run::of(
        repo.command(common::BIN)
            .env("TMUX_TMPDIR", repo.home())
            .args(["--json", "spawn", "w1", "--tmux", "--", "sleep", "300"]),
    );
    assert_eq!(spawn.code, 0, "{spawn:?}");
    let spawned = spawn.json();
    let supervisor = spawned["supervisor"].as_u64().unwrap() as i32;
    // Something holds the agent's lock (as a stuck process could), so no new
    // supervisor can take over when this one dies.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(repo.path().join(".git/orchestrate/agents/w1/lock"))
        .unwrap();
    // SAFETY: kill(2) on the supervisor this test just spawned.
    unsafe { libc::kill(supervisor, libc::SIGKILL) };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 only asks whether the process still exists.
    while unsafe { libc::kill(supervisor, 0) } == 0 {
        assert!(std::time::Instant::now() < deadline, "the supervisor died");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: flock on a descriptor this test owns; taken once the
    // supervisor's (shared with nobody else) is gone with it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        assert!(std::time::Instant::now() < deadline, "the lock was not released");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1);
    let lost = of_kind(&report, "agent_lost");
    assert_eq!(lost.len(), 1, "{report:#}");
    assert!(lost[0]["hint"].as_str().unwrap().contains("git orchestrate stop w1"));
    // Once the lock is free, the next look (here stop) hands the agent to a
    // new supervisor, which stops it.
    drop(lock);
    repo.ok(&["stop", "w1", "--grace", "1s"]);
    assert!(of_kind(&doctor(&repo, &[]).1, "agent_lost").is_empty());
    let _ = common::Run::of(repo.command("tmux").env("TMUX_TMPDIR", repo.home()).args(["kill-server"]));
}

#[test]
fn an_agent_whose_supervisor_died_is_taken_over_and_not_a_problem() {
    let repo = Repo::new();
    let spawned = repo.json(&["spawn", "w1", "--", "sleep", "300"]);
    let supervisor = spawned["supervisor"].as_u64().unwrap() as i32;
    // SAFETY: kill(2) on the supervisor this test just spawned.
    unsafe { libc::kill(supervisor, libc::SIGKILL) };
    let (code, report) = doctor(&repo, &[]);
    assert!(of_kind(&report, "agent_lost").is_empty(), "{report:#}");
    assert_eq!(code, 0, "{report:#}");
    repo.ok(&["stop", "w1", "--grace", "1s"]);
}

#[test]
fn a_corrupt_lead_or_radar_document_is_found_moved_aside_and_sending_still_works() {
    let repo = busy_repo();
    repo.ok_as("alice", &["lead", "take"]);
    let bad: [(&str, &str, &[u8]); 2] = [
        ("refs/orchestrate/lead", "lead.json", b"{ lead?"),
        ("refs/orchestrate/radar", "announced.json", b"[]"),
    ];
    for (refname, path, bytes) in bad {
        repo.plant(refname, path, bytes);
    }
    // A help request is sent even though its copy to the lead cannot be made.
    let sent = repo.run(&["--session", "bob", "send", "alice", "stuck", "--kind", "help"]);
    assert_eq!(sent.code, 0, "{sent:?}");
    assert!(sent.stderr.contains("not copied to the lead"), "{}", sent.stderr);

    let (code, report) = doctor(&repo, &[]);
    assert_eq!(code, 1, "{report:#}");
    for (refname, path, _) in bad {
        assert!(
            of_kind(&report, "corrupt_document").iter().any(|f| f["ref"] == refname && f["path"] == path),
            "{refname}:{path} is reported: {report:#}"
        );
    }
    let (code, report) = doctor(&repo, &["--repair"]);
    assert_eq!(code, 0, "{report:#}");
    for (refname, path, bytes) in bad {
        let kept = repo.git(&["show", &format!("{refname}:corrupt/{path}")]);
        assert_eq!(kept.as_str(), String::from_utf8_lossy(bytes).trim(), "{refname}:{path} is kept aside");
    }
    repo.ok_as("alice", &["lead", "take"]);
    assert_eq!(repo.json(&["lead", "show"])["lead"], "alice");
}
