//! An unattended fleet: dispatch's limit, retrying failed work, presets
//! that cannot run, time limits, pausing and draining dispatchers, agents
//! whose sessions end with them, and `ps` over time.

mod common;

use common::{strings, Repo, Run};
use serde_json::Value;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const OVER: [&str; 4] = ["exited", "failed", "stopped", "timed_out"];

/// Polls `ps --all` until agent `name` is over; returns its line.
fn wait_over(repo: &Repo, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = repo.json(&["ps", "--all"]);
        let agent = ps.as_array().unwrap().iter().find(|a| a["session"] == name).cloned();
        if let Some(agent) = agent.filter(|a| OVER.contains(&a["state"].as_str().unwrap())) {
            return agent;
        }
        assert!(Instant::now() < deadline, "agent {name} still not over: {ps:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn task(repo: &Repo, id: &str) -> Value {
    repo.json(&["task", "show", id])
}

/// A command left running, whose stdout lines arrive on a channel.
struct Streamed {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Streamed {
    fn start(repo: &Repo, args: &[&str]) -> Streamed {
        let mut child = repo
            .command(common::BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Streamed { child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `what`; returns it.
    fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {what}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for the process to end; returns its exit code.
    fn wait(mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running; saw:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dispatch_max_counts_agents_on_tasks_not_a_daemon_spawned_without_one() {
    let repo = Repo::new();
    repo.ok(&["spawn", "monitor", "--", "sleep", "300"]);
    let a = repo.add("a", &[]);
    let b = repo.add("b", &[]);
    // With the monitor counted, --max 1 would never start anything.
    let dispatch = Streamed::start(&repo, &["dispatch", "--max", "1", "--", "true"]);
    assert_eq!(dispatch.wait(), 0);
    assert_eq!(task(&repo, &a)["status"], "done");
    assert_eq!(task(&repo, &b)["status"], "done");
    let ps = repo.json(&["ps"]);
    let monitor = ps.as_array().unwrap().iter().find(|a| a["session"] == "monitor").unwrap();
    assert_eq!(monitor["state"], "running", "the daemon is left alone");
}

#[test]
fn a_failed_task_is_retried_with_its_history_and_its_dependents_follow() {
    let repo = Repo::new();
    let a = repo.add("flaky", &[]);
    let b = repo.add("after it", &["--after", &a]);
    repo.ok_as("s1", &["task", "claim", &a]);
    repo.ok_as("s1", &["task", "fail", &a, "--note", "network down"]);
    assert_eq!(repo.json(&["task", "list"]).as_array().unwrap().len(), 1, "b is blocked, a closed");

    let reopened = repo.json(&["task", "retry", &a, "--note", "network is back"]);
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["assignee"], Value::Null);
    let shown = task(&repo, &a);
    let notes = strings(&shown["notes"], "text");
    assert!(notes[0].contains("network down"), "{notes:?}");
    assert!(notes[1].contains("reopened (was failed): network is back"), "{notes:?}");
    let actions = strings(&shown["history"], "action");
    assert_eq!(actions, ["add", "claim", "fail", "retry"]);
    // It is ready again, and out of the closed listing.
    assert_eq!(strings(&repo.json(&["task", "list", "--ready"]), "id"), std::slice::from_ref(&a));
    assert!(repo.json(&["task", "list", "--status", "failed"]).as_array().unwrap().is_empty());
    assert_eq!(task(&repo, &b)["readiness"]["state"], "waiting", "{:#}", task(&repo, &b));

    repo.ok_as("s2", &["task", "claim", &a]);
    repo.ok_as("s2", &["task", "done", &a]);
    assert_eq!(strings(&repo.json(&["task", "list", "--ready"]), "id"), std::slice::from_ref(&b));

    // A cancelled one comes back under the other name too.
    let c = repo.add("cancelled", &[]);
    repo.ok(&["task", "cancel", &c]);
    assert_eq!(repo.json(&["task", "reopen", &c])["status"], "open");
}

#[test]
fn retry_refuses_what_is_not_failed_or_cancelled_and_changes_nothing() {
    let repo = Repo::new();
    let open = repo.add("open", &[]);
    let done = repo.add("done", &[]);
    repo.ok_as("s1", &["task", "claim", &done]);
    repo.ok_as("s1", &["task", "done", &done]);
    let before = repo.refs();
    for (id, code, says) in
        [(&open, 1, "nothing to retry"), (&done, 1, "add a new task"), (&"t-zzzz".to_string(), 2, "")]
    {
        let run = repo.run(&["task", "retry", id]);
        assert_eq!(run.code, code, "{run:?}");
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert_eq!(repo.refs(), before);
}

#[test]
fn a_preset_whose_program_is_missing_is_reported_once_and_fails_no_task() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agent.ghost.command", "no-such-agent-xyz --model big"]);
    repo.git(&["config", "orchestrate.role.backend.agent", "ghost"]);
    repo.git(&["config", "orchestrate.agent.quick.command", "true"]);
    repo.git(&["config", "orchestrate.role.docs.agent", "quick"]);
    let b1 = repo.add("api", &["--role", "backend"]);
    let b2 = repo.add("db", &["--role", "backend"]);
    let d = repo.add("readme", &["--role", "docs"]);

    let run = repo.run(&["--json", "dispatch"]);
    assert_eq!(run.code, 1, "{run:?}");
    let events = run.json();
    let cannot: Vec<&Value> =
        events.as_array().unwrap().iter().filter(|e| e["event"] == "cannot_run").collect();
    assert_eq!(cannot.len(), 1, "reported once: {events:#}");
    assert_eq!(cannot[0]["role"], "backend");
    assert!(cannot[0]["reason"].as_str().unwrap().contains("no-such-agent-xyz"), "{events:#}");
    let mut tasks: Vec<&str> =
        cannot[0]["tasks"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    tasks.sort();
    let mut expected = vec![b1.as_str(), b2.as_str()];
    expected.sort();
    assert_eq!(tasks, expected);
    assert!(run.stderr.contains("nothing could run"), "{}", run.stderr);
    for id in [&b1, &b2] {
        let t = task(&repo, id);
        assert_eq!(t["status"], "open", "{t:#}");
        assert!(t["notes"].as_array().unwrap().is_empty(), "no task failed for it: {t:#}");
    }
    assert_eq!(task(&repo, &d)["status"], "done", "the other role ran");

    // spawn with that preset is refused before anything is made.
    let before = repo.refs();
    let spawn = repo.run(&["spawn", "w1", "--agent", "ghost"]);
    assert_eq!(spawn.code, 2, "{spawn:?}");
    assert!(
        spawn.stderr.contains("no-such-agent-xyz") && spawn.stderr.contains("not on PATH"),
        "{}",
        spawn.stderr
    );
    assert_eq!(repo.refs(), before);
}

#[test]
fn an_agent_silent_too_long_is_stopped_and_recorded_as_timed_out() {
    let repo = Repo::new();
    let id = repo.add("hangs", &[]);
    repo.ok(&[
        "spawn",
        "w1",
        "--task",
        &id,
        "--idle-timeout",
        "1s",
        "--",
        "sh",
        "-c",
        "echo hello; sleep 300",
    ]);
    let line = wait_over(&repo, "w1");
    assert_eq!(line["state"], "timed_out", "{line:#}");
    let t = task(&repo, &id);
    assert_eq!(t["status"], "failed");
    let notes = strings(&t["notes"], "text").join("\n");
    assert!(notes.contains("timed out (no output for 1s)") && notes.contains("hello"), "{notes}");
}

#[test]
fn an_agent_running_too_long_is_timed_out_even_while_it_writes() {
    let repo = Repo::new();
    repo.ok(&[
        "spawn",
        "w1",
        "--timeout",
        "2s",
        "--",
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.2; done",
    ]);
    let line = wait_over(&repo, "w1");
    assert_eq!(line["state"], "timed_out", "{line:#}");
    assert!(repo.ok(&["logs", "w1"]).contains("ran longer than 2s"));
}

#[test]
fn a_preset_carries_its_time_limits_in_git_config() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agent.slow.command", "sleep 300"]);
    repo.git(&["config", "orchestrate.agent.slow.idleTimeout", "1s"]);
    repo.ok(&["spawn", "w1", "--agent", "slow"]);
    assert_eq!(wait_over(&repo, "w1")["state"], "timed_out");

    repo.git(&["config", "orchestrate.agent.slow.timeout", "never"]);
    let run = repo.run(&["spawn", "w2", "--agent", "slow"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("orchestrate.agent.slow.timeout"), "{}", run.stderr);
    for (bad, said) in [("0s", "more than zero"), ("soon", "invalid duration"), ("400d", "too long")] {
        let run = repo.run(&["spawn", "w3", "--timeout", bad, "--", "true"]);
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stderr.contains(said), "{bad}: {}", run.stderr);
    }
}

/// An agent that waits for `gate` to exist, then exits 0.
fn gated(gate: &std::path::Path) -> String {
    format!("while [ ! -e {} ]; do sleep 0.1; done", gate.display())
}

#[test]
fn stop_all_pauses_a_watching_dispatcher_until_resumed() {
    let repo = Repo::new();
    let gate = repo.home().join("gate");
    let a = repo.add("a", &[]);
    let mut dispatcher = Streamed::start(
        &repo,
        &["--json", "dispatch", "--watch", "--max", "1", "--", "sh", "-c", &gated(&gate)],
    );
    dispatcher.wait_for(&format!("\"task\":\"{a}\""));
    let stopped = repo.json(&["stop", "--all", "--grace", "1s"]);
    assert_eq!(stopped.as_array().unwrap().len(), 1);
    dispatcher.wait_for("\"event\":\"held\"");
    // The stopped agent's task went back to the queue; the held
    // dispatcher does not take it (a few of its polls go by).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(task(&repo, &a)["status"], "open");
    assert!(repo
        .json(&["ps"])
        .as_array()
        .unwrap()
        .iter()
        .all(|a| OVER.contains(&a["state"].as_str().unwrap())));

    let resumed = repo.json(&["dispatch", "--resume"]);
    assert_eq!(resumed["resumed"], true);
    dispatcher.wait_for("\"event\":\"resumed\"");
    dispatcher.wait_for("\"event\":\"spawned\"");
    std::fs::write(&gate, "").unwrap();
    dispatcher.wait_for("\"event\":\"finished\"");
    assert_eq!(task(&repo, &a)["status"], "done");
}

#[test]
fn drain_lets_running_agents_finish_then_every_dispatcher_exits() {
    let repo = Repo::new();
    let gate = repo.home().join("gate");
    let first = repo.add("first", &["-p", "0"]);
    let second = repo.add("second", &["-p", "1"]);
    let mut dispatcher = Streamed::start(
        &repo,
        &["--json", "dispatch", "--watch", "--max", "1", "--", "sh", "-c", &gated(&gate)],
    );
    dispatcher.wait_for(&format!("\"task\":\"{first}\""));
    let drain = Streamed::start(&repo, &["dispatch", "--drain"]);
    dispatcher.wait_for("\"mode\":\"drain\"");
    std::fs::write(&gate, "").unwrap();
    assert_eq!(drain.wait(), 0);
    assert_eq!(dispatcher.wait(), 0, "the watching dispatcher exits once drained");
    assert_eq!(task(&repo, &first)["status"], "done", "what ran finished");
    assert_eq!(task(&repo, &second)["status"], "open", "nothing new started");
}

fn worktree(repo: &Repo, name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}.worktrees/{name}", repo.path().display()))
}

#[test]
fn an_agent_that_ended_ends_its_session_and_keeps_only_a_worktree_with_unlanded_work() {
    let repo = Repo::new();
    let id = repo.add("claimed by the agent", &[]);
    repo.ok_as("lead", &["claim", "src/", "--reason", "not the agent's"]);
    repo.ok(&["spawn", "idle", "--task", &id, "--", "sh", "-c", "exit 3"]);
    repo.ok(&["spawn", "committer", "--", "sh", "-c", "echo x > f && git add f && git commit -qm work"]);
    repo.ok(&["spawn", "scribbler", "--", "sh", "-c", "echo x > notes.txt"]);
    for name in ["idle", "committer", "scribbler"] {
        wait_over(&repo, name);
        assert_eq!(repo.json(&["session", "show", name])["status"], "ended", "{name}");
    }
    // Nothing to keep: the worktree is gone, the failed task recorded.
    assert!(!worktree(&repo, "idle").exists());
    assert_eq!(task(&repo, &id)["status"], "failed");
    // Work not on main keeps the worktree, and the session says why.
    assert!(worktree(&repo, "committer").join("f").exists());
    let committer = repo.json(&["session", "show", "committer"]);
    assert_eq!(committer["worktree_kept"], "1 commit(s) not on main", "{committer:#}");
    let scribbler = repo.json(&["session", "show", "scribbler"]);
    assert_eq!(scribbler["worktree_kept"], "1 uncommitted change(s)", "{scribbler:#}");
    assert!(worktree(&repo, "scribbler").join("notes.txt").exists());
    // The board says so.
    let kept = repo.json(&["board"])["attention"]["kept"].clone();
    assert_eq!(strings(&kept, "session"), ["committer", "scribbler"], "{kept:#}");
    assert!(repo.ok(&["board"]).contains("ended committer: worktree kept (1 commit(s) not on main)"));

    // Until the work lands, --ended-agents leaves it; then it goes.
    let first = repo.json(&["session", "end", "--ended-agents"]);
    assert!(first["ended"].as_array().unwrap().is_empty(), "{first:#}");
    assert!(worktree(&repo, "committer").exists());
    repo.git(&["merge", "-q", "--ff-only", "orchestrate/committer"]);
    let second = repo.json(&["session", "end", "--ended-agents"]);
    let ended: Vec<&str> =
        second["ended"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(ended, ["committer"], "{second:#}");
    assert!(!worktree(&repo, "committer").exists());
    assert_eq!(repo.json(&["session", "show", "committer"]).get("worktree_kept"), None);
    assert!(worktree(&repo, "scribbler").exists(), "uncommitted work is never dropped");
    // A human can still end it, saving the work on its branch.
    let forced = repo.json(&["session", "end", "scribbler", "--force"]);
    assert!(forced["saved_commit"].is_string(), "{forced:#}");
    assert!(!worktree(&repo, "scribbler").exists());
    // The lead's claim was never the agents' to release.
    assert_eq!(strings(&repo.json(&["claims"]), "session"), ["lead"]);
}

#[test]
fn session_end_takes_several_names_and_ends_those_it_can() {
    let repo = Repo::new();
    for name in ["a", "b", "c"] {
        repo.ok(&["session", "start", name, "--no-worktree"]);
    }
    let run = repo.run(&["--json", "session", "end", "a", "nobody", "b"]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.json();
    let ended: Vec<&str> =
        out["ended"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(ended, ["a", "b"]);
    assert_eq!(out["failed"][0]["session"], "nobody");
    assert!(run.stderr.contains("no session named nobody"), "{}", run.stderr);
    let live = strings(&repo.json(&["session", "list"]), "name");
    assert_eq!(live, ["c"]);
}

#[test]
fn ps_shows_running_and_recently_ended_agents_and_prunes_old_records() {
    let repo = Repo::new();
    let at = |when: &str, args: &[&str]| {
        let run = Run::of(repo.command(common::BIN).env("ORCHESTRATE_NOW", when).arg("--json").args(args));
        assert_eq!(run.code, 0, "{run:?}");
        run.json()
    };
    let names = |ps: &Value| {
        let mut n = strings(ps, "session");
        n.sort();
        n
    };
    let run = Run::of(
        repo.command(common::BIN)
            .env("ORCHESTRATE_NOW", "2026-01-01T00:00:00Z")
            .args(["spawn", "old", "--", "true"]),
    );
    assert_eq!(run.code, 0, "{run:?}");
    wait_over(&repo, "old");
    repo.ok(&["spawn", "runner", "--", "sleep", "300"]);

    assert_eq!(names(&at("2026-01-01T00:30:00Z", &["ps"])), ["old", "runner"]);
    assert_eq!(names(&at("2026-01-01T02:00:00Z", &["ps"])), ["runner"], "ended over an hour ago");
    assert_eq!(names(&at("2026-01-01T02:00:00Z", &["ps", "--all"])), ["old", "runner"]);
    // A day later its record goes; a running one never does.
    assert_eq!(names(&at("2026-01-01T12:00:00Z", &["ps", "--all", "--prune"])), ["old", "runner"]);
    assert_eq!(names(&at("2026-01-03T00:00:00Z", &["ps", "--all", "--prune"])), ["runner"]);
    assert!(!repo.path().join(".git/orchestrate/agents/old").exists());
}
