//! Agents in the background: spawn, supervise, ps, logs, stop, dispatch.
//! Small shell commands stand in for agents.

mod common;

use common::{strings, Repo, Run};
use git_orchestrate::os::process::Proc;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Polls `ps` until agent `name` is over; returns its line.
fn wait_over(repo: &Repo, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = repo.json(&["ps"]);
        let agent = ps.as_array().unwrap().iter().find(|a| a["session"] == name).cloned();
        if let Some(agent) =
            agent.filter(|a| ["exited", "failed", "stopped"].contains(&a["state"].as_str().unwrap()))
        {
            return agent;
        }
        assert!(Instant::now() < deadline, "agent {name} still not over: {ps:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn agent<'a>(ps: &'a Value, name: &str) -> &'a Value {
    ps.as_array()
        .unwrap()
        .iter()
        .find(|a| a["session"] == name)
        .unwrap_or_else(|| panic!("no {name} in {ps:#}"))
}

fn log_of(repo: &Repo, name: &str) -> String {
    repo.ok(&["logs", name])
}

fn task_json(repo: &Repo, id: &str) -> Value {
    repo.json(&["task", "show", id])
}

/// Waits until `path` exists (the agent got that far).
fn wait_file(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn spawn_returns_at_once_and_the_agent_outlives_its_killed_parent_shell() {
    let repo = Repo::new();
    let id = repo.add("say hello", &[]);
    let gate = repo.home().join("gate");
    // The parent shell spawns the agent and is killed -9 right away; the
    // agent waits for the gate, so it is certainly still running by then.
    let script = format!(
        "git-orchestrate --session boss spawn w1 --task {id} -- sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done; \
         echo \"agent $ORCHESTRATE_SESSION task $ORCHESTRATE_TASK repo $ORCHESTRATE_REPO\"; pwd; echo oops >&2'; \
         kill -9 $$",
        gate = gate.display()
    );
    let run = Run::of(repo.command("sh").args(["-c", &script]));
    assert_eq!(run.code, -1, "the parent shell was killed: {run:?}");
    assert!(run.stdout.contains("spawned w1 on") && run.stdout.contains("log:"), "{}", run.stdout);
    let ps = repo.json(&["ps"]);
    assert_eq!(agent(&ps, "w1")["state"], "running", "{ps:#}");
    std::fs::write(&gate, "").unwrap();

    let line = wait_over(&repo, "w1");
    assert_eq!(line["state"], "exited");
    assert_eq!(line["exit"]["code"], 0);
    let log = log_of(&repo, "w1");
    let root = repo.path().canonicalize().unwrap();
    assert!(log.contains(&format!("agent w1 task {id} repo {}", root.display())), "{log}");
    assert!(log.contains(&format!("{}.worktrees/w1", root.display())), "ran in its worktree: {log}");
    assert!(log.contains("oops"), "stderr is logged too: {log}");
    // Exit 0: the task is done, and the spawner is told.
    assert_eq!(task_json(&repo, &id)["status"], "done");
    let inbox = repo.json_as("boss", &["inbox"]);
    assert_eq!(inbox[0]["kind"], "completion", "{inbox:#}");
    assert!(inbox[0]["subject"].as_str().unwrap().contains("agent w1 exited 0"), "{inbox:#}");
}

#[test]
fn a_failing_agent_is_restarted_with_backoff_until_it_succeeds() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agentBackoff", "50ms"]);
    let id = repo.add("flaky work", &[]);
    let count = repo.home().join("count");
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo run $n; [ $n -ge 3 ]",
        c = count.display()
    );
    repo.ok_as("boss", &["spawn", "w1", "--task", &id, "--restart", "3", "--", "sh", "-c", &script]);
    let line = wait_over(&repo, "w1");
    assert_eq!((line["state"].as_str(), line["restarts"].as_u64()), (Some("exited"), Some(2)), "{line:#}");
    let log = log_of(&repo, "w1");
    for expected in ["run 1", "restart 1 of 3", "run 2", "restart 2 of 3", "run 3"] {
        assert!(log.contains(expected), "{expected} missing from {log}");
    }
    assert_eq!(task_json(&repo, &id)["status"], "done");
}

#[test]
fn the_last_failure_marks_the_task_failed_with_the_end_of_the_log() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agentBackoff", "50ms"]);
    let id = repo.add("doomed", &[]);
    repo.ok_as(
        "boss",
        &["spawn", "w1", "--task", &id, "--restart", "1", "--", "sh", "-c", "echo cannot compile; exit 3"],
    );
    let line = wait_over(&repo, "w1");
    assert_eq!(line["state"], "failed");
    assert_eq!(line["exit"]["code"], 3);
    assert_eq!(line["restarts"], 1);
    let task = task_json(&repo, &id);
    assert_eq!(task["status"], "failed");
    let note = task["notes"][0]["text"].as_str().unwrap();
    assert!(note.contains("failed (exit 3) after 1 restart") && note.contains("cannot compile"), "{note}");
    let inbox = repo.json_as("boss", &["inbox"]);
    assert_eq!(inbox[0]["kind"], "status");
    assert!(inbox[0]["body"].as_str().unwrap().contains("cannot compile"), "{inbox:#}");
}

#[test]
fn an_agent_that_exits_zero_after_finishing_its_task_leaves_it_as_it_is() {
    let repo = Repo::new();
    let id = repo.add("self-closing", &[]);
    let script = format!("git-orchestrate task done {id} --note 'did it myself'");
    repo.ok(&["spawn", "w1", "--task", &id, "--", "sh", "-c", &script]);
    wait_over(&repo, "w1");
    let task = task_json(&repo, &id);
    assert_eq!(task["status"], "done");
    let notes = strings(&task["notes"], "text");
    assert_eq!(notes, ["did it myself"], "not finished twice");
}

#[test]
fn stop_kills_the_whole_process_group_within_the_grace_period() {
    let repo = Repo::new();
    let id = repo.add("long", &[]);
    let pids = repo.home().join("pids");
    // Children in the background, and a parent that ignores SIGTERM.
    let script = format!(
        "sleep 300 & a=$!; sh -c 'sleep 300' & b=$!; echo \"$a $b\" > {p}.tmp; mv {p}.tmp {p}; \
         trap '' TERM; while true; do sleep 0.1; done",
        p = pids.display()
    );
    repo.ok(&["spawn", "w1", "--task", &id, "--", "sh", "-c", &script]);
    wait_file(&pids);
    let children: Vec<u32> =
        std::fs::read_to_string(&pids).unwrap().split_whitespace().map(|p| p.parse().unwrap()).collect();
    let agent_pid = agent(&repo.json(&["ps"]), "w1")["pid"].as_u64().unwrap() as u32;
    let procs: Vec<Proc> = children.iter().chain([&agent_pid]).map(|&p| Proc::of(p)).collect();
    assert!(procs.iter().all(Proc::is_alive));

    let stopped = repo.json(&["stop", "w1", "--grace", "1s"]);
    assert_eq!(stopped[0]["state"], "stopped", "{stopped:#}");
    for p in &procs {
        assert!(!p.is_alive(), "pid {} survived the stop", p.pid);
    }
    let line = agent(&repo.json(&["ps"]), "w1").clone();
    assert_eq!(line["state"], "stopped");
    // The stop is recorded; the agent's session ended, so the task is
    // back in the queue for whoever takes it next.
    let task = task_json(&repo, &id);
    assert_eq!(task["status"], "open");
    assert!(task["notes"][0]["text"].as_str().unwrap().contains("stopped by"), "{task:#}");
    assert_eq!(repo.json(&["session", "show", "w1"])["status"], "ended");
    let again = repo.run(&["stop", "w1"]);
    assert_eq!(again.code, 1, "nothing left to stop: {again:?}");
    assert!(again.stderr.contains("not running"), "{}", again.stderr);
}

#[test]
fn an_agent_that_honours_sigterm_is_stopped_without_sigkill() {
    let repo = Repo::new();
    repo.ok(&[
        "spawn",
        "w1",
        "--",
        "sh",
        "-c",
        "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    repo.ok(&["stop", "--all", "--grace", "30s"]);
    let log = log_of(&repo, "w1");
    assert!(log.contains("bye") && !log.contains("SIGKILL"), "{log}");
}

/// Kills agent `name`'s supervisor with SIGKILL and waits until it is gone;
/// returns it.
/// Ends the tmux server of a test's sandbox when the test is over.
struct TmuxServer<'a>(&'a Repo);

impl Drop for TmuxServer<'_> {
    fn drop(&mut self) {
        let _ = Run::of(self.0.command("tmux").env("TMUX_TMPDIR", self.0.home()).args(["kill-server"]));
    }
}

fn kill_supervisor(spawned: &Value) -> Proc {
    let supervisor = Proc::of(spawned["supervisor"].as_u64().unwrap() as u32);
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(supervisor.pid as i32, libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while supervisor.is_alive() {
        assert!(Instant::now() < deadline, "the supervisor survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    supervisor
}

/// Spawns `w1` on a new task with an agent that waits for a gate file and
/// then exits 0, kills its supervisor, opens the gate and waits until the
/// agent has ended. Returns the repository and the task.
///
/// In a tmux window (which the run's wrapper does not watch over) nobody
/// replaces the supervisor until someone looks; with `tmux` the tmux
/// server's socket folder is in the repository's sandboxed home.
fn agent_done_while_its_supervisor_was_dead(tmux: bool) -> (Repo, String) {
    let repo = Repo::new();
    let id = repo.add("work", &[]);
    let gate = repo.home().join("gate");
    let script = format!("while [ ! -e {} ]; do sleep 0.05; done; echo finished", gate.display());
    let mut args = vec!["--session", "boss", "--json", "spawn", "w1", "--task", &id];
    if tmux {
        args.push("--tmux");
    }
    args.extend(["--", "sh", "-c", &script]);
    let run = Run::of(repo.command(common::BIN).env("TMUX_TMPDIR", repo.home()).args(&args));
    assert_eq!(run.code, 0, "{run:?}");
    let spawned = run.json();
    let agent_proc = Proc::of(spawned["pid"].as_u64().unwrap() as u32);
    kill_supervisor(&spawned);
    std::fs::write(&gate, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent_proc.is_alive() {
        assert!(Instant::now() < deadline, "the agent did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    (repo, id)
}

/// Once an agent's success is concluded: the task is done, the spawner
/// told, the loss on record.
fn assert_success_kept(repo: &Repo, id: &str) {
    let line = wait_over(repo, "w1");
    assert_eq!(
        (line["state"].as_str(), line["exit"]["code"].as_i64()),
        (Some("exited"), Some(0)),
        "{line:#}"
    );
    assert!(line["supervisor_lost_at"].is_string(), "the loss is on record: {line:#}");
    assert_eq!(task_json(repo, id)["status"], "done", "the work is not done twice");
    let inbox = repo.json_as("boss", &["inbox"]);
    assert!(inbox[0]["subject"].as_str().unwrap().contains("agent w1 exited 0"), "{inbox:#}");
    assert!(log_of(repo, "w1").contains("was gone"), "{}", log_of(repo, "w1"));
}

#[test]
fn an_agent_that_succeeded_after_its_supervisor_died_is_concluded_by_whoever_looks_next() {
    // Each of these looks at the agent first; none may lose its success.
    let lookers: [&[&str]; 6] = [
        &["ps"],
        &["board"],
        &["stop", "w1"],
        &["spawn", "w1", "--", "true"],
        &["session", "end", "w1"],
        &["dispatch", "--max", "1", "--", "true"],
    ];
    common::ensure_program("tmux", &["tmux"]);
    for (looker, tmux) in lookers.iter().flat_map(|l| [(*l, false), (*l, true)]) {
        let (repo, id) = agent_done_while_its_supervisor_was_dead(tmux);
        let _server = TmuxServer(&repo);
        let run = repo.run(looker);
        // `stop` finds nothing left to stop; the others go on as usual.
        let expected = if looker[0] == "stop" { 1 } else { 0 };
        assert_eq!(run.code, expected, "{looker:?} (tmux: {tmux}): {run:?}");
        if looker[0] == "stop" {
            assert!(run.stderr.contains("not running (exited, exit 0)"), "{looker:?}: {}", run.stderr);
        }
        if looker[0] == "spawn" {
            // The new run (no task) must not hide the old one's outcome.
            wait_over(&repo, "w1");
            assert_eq!(task_json(&repo, &id)["status"], "done", "{looker:?} (tmux: {tmux})");
            continue;
        }
        assert_success_kept(&repo, &id);
    }
}

#[test]
fn the_run_starts_a_new_supervisor_as_soon_as_its_supervisor_dies() {
    let repo = Repo::new();
    let id = repo.add("work", &[]);
    let gate = repo.home().join("gate");
    let script = format!("while [ ! -e {} ]; do sleep 0.05; done", gate.display());
    let spawned = repo.json(&["spawn", "w1", "--task", &id, "--", "sh", "-c", &script]);
    let lost = kill_supervisor(&spawned);
    // Nobody runs an agent command: the state file itself shows the new
    // supervisor, which heartbeats from now on.
    let state_file = repo.path().join(".git/orchestrate/agents/w1/state.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        let state: Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
        if state["supervisor"]["pid"] != lost.pid {
            break state;
        }
        assert!(Instant::now() < deadline, "no new supervisor: {state:#}\n{}", log_of(&repo, "w1"));
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(state["phase"], "running", "{state:#}");
    assert_eq!(state["lost_supervisors"][0]["pid"], lost.pid, "{state:#}");
    assert!(Proc::of(state["supervisor"]["pid"].as_u64().unwrap() as u32).is_alive());
    // The agent's success is recorded by it, still without anyone looking.
    std::fs::write(&gate, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while task_json(&repo, &id)["status"] != "done" {
        assert!(Instant::now() < deadline, "never done: {:#}", task_json(&repo, &id));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_running_agent_whose_supervisor_died_is_adopted_and_still_stoppable() {
    let repo = Repo::new();
    let id = repo.add("long", &[]);
    let spawned = repo.json(&["spawn", "w1", "--task", &id, "--", "sleep", "300"]);
    let agent_proc = Proc::of(spawned["pid"].as_u64().unwrap() as u32);
    let lost = kill_supervisor(&spawned);

    // The next look hands it to a new supervisor, and says so.
    let ps = repo.json(&["ps"]);
    let line = agent(&ps, "w1");
    assert_eq!(line["state"], "running", "{ps:#}");
    assert_eq!(line["pid"], agent_proc.pid, "the same run goes on: {ps:#}");
    assert_ne!(line["supervisor"], lost.pid, "{ps:#}");
    assert!(Proc::of(line["supervisor"].as_u64().unwrap() as u32).is_alive(), "{ps:#}");
    assert!(line["supervisor_lost_at"].is_string(), "{ps:#}");
    assert!(repo.ok(&["ps"]).contains("a supervisor was lost and replaced"));
    assert!(repo.ok(&["board"]).contains("agent running (supervisor lost"), "{}", repo.ok(&["board"]));
    assert!(agent_proc.is_alive());

    // Supervised again: a second spawn is refused, the session cannot end
    // under it, and stop ends it as usual.
    let again = repo.run(&["spawn", "w1", "--", "true"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("stop w1"), "{}", again.stderr);
    let end = repo.run(&["session", "end", "w1"]);
    assert_eq!(end.code, 1, "{end:?}");
    assert!(end.stderr.contains("git orchestrate stop w1"), "{}", end.stderr);
    repo.ok(&["stop", "w1", "--grace", "1s"]);
    assert!(!agent_proc.is_alive(), "the adopted agent is stopped");
    assert_eq!(agent(&repo.json(&["ps"]), "w1")["state"], "stopped");
    // The stop ended its session too, and put its task back in the queue.
    assert_eq!(task_json(&repo, &id)["status"], "open");
    assert_eq!(repo.json(&["session", "show", "w1"])["status"], "ended");
}

#[test]
fn an_agent_whose_supervisor_died_during_a_restart_backoff_is_restarted_by_the_next() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agentBackoff", "3s"]);
    let id = repo.add("flaky", &[]);
    let count = repo.home().join("count");
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; [ $n -ge 2 ]",
        c = count.display()
    );
    let spawned = repo.json(&["spawn", "w1", "--task", &id, "--restart", "2", "--", "sh", "-c", &script]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent(&repo.json(&["ps"]), "w1")["state"] != "restarting" {
        assert!(Instant::now() < deadline, "never restarting");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_supervisor(&spawned);
    let line = wait_over(&repo, "w1");
    assert_eq!((line["state"].as_str(), line["restarts"].as_u64()), (Some("exited"), Some(1)), "{line:#}");
    assert_eq!(task_json(&repo, &id)["status"], "done");
}

/// Reads the pids an agent script wrote, one per file, once all are there.
fn pids_in(files: &[PathBuf]) -> Vec<Proc> {
    files
        .iter()
        .map(|f| {
            wait_file(f);
            Proc::of(std::fs::read_to_string(f).unwrap().trim().parse().unwrap())
        })
        .collect()
}

/// A script that starts children that leave the agent's process group and
/// session: one with `setsid`, and one that is orphaned as well (its parent
/// exits at once, double-fork style); their pids go to `a` and `b`.
fn escaping_children(a: &std::path::Path, b: &std::path::Path) -> String {
    format!(
        "setsid sleep 300 & echo $! > {a}.tmp; mv {a}.tmp {a}; \
         setsid sh -c 'sleep 301 & echo $! > {b}.tmp; mv {b}.tmp {b}'; ",
        a = a.display(),
        b = b.display()
    )
}

fn wait_gone(procs: &[Proc], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Some(p) = procs.iter().find(|p| p.is_alive()) {
        assert!(Instant::now() < deadline, "pid {} survived {what}", p.pid);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stop_all_ends_children_that_left_the_process_group_with_setsid() {
    let repo = Repo::new();
    let (a, b) = (repo.home().join("a"), repo.home().join("b"));
    let script = format!("{}trap '' TERM; while true; do sleep 0.1; done", escaping_children(&a, &b));
    repo.ok(&["spawn", "w1", "--", "sh", "-c", &script]);
    let children = pids_in(&[a, b]);
    assert!(children.iter().all(Proc::is_alive));
    let stopped = repo.json(&["stop", "--all", "--grace", "1s"]);
    assert_eq!(stopped[0]["state"], "stopped", "{stopped:#}");
    assert!(stopped[0].get("survivors").is_none(), "everything could be stopped: {stopped:#}");
    for p in &children {
        assert!(!p.is_alive(), "pid {} (started with setsid) survived the stop", p.pid);
    }
}

#[test]
fn children_that_left_the_process_group_end_with_an_agent_that_exits() {
    let repo = Repo::new();
    let (a, b) = (repo.home().join("a"), repo.home().join("b"));
    let script = format!("{}exit 0", escaping_children(&a, &b));
    repo.ok(&["spawn", "w1", "--", "sh", "-c", &script]);
    let children = pids_in(&[a, b]);
    assert_eq!(wait_over(&repo, "w1")["state"], "exited");
    wait_gone(&children, "the end of its agent");
}

#[test]
fn stopping_an_adopted_agent_ends_its_setsid_children_too() {
    let repo = Repo::new();
    let (a, b) = (repo.home().join("a"), repo.home().join("b"));
    let script = format!("{}while true; do sleep 0.1; done", escaping_children(&a, &b));
    let spawned = repo.json(&["spawn", "w1", "--", "sh", "-c", &script]);
    let children = pids_in(&[a, b]);
    kill_supervisor(&spawned);
    repo.ok(&["stop", "w1", "--grace", "1s"]);
    wait_gone(&children, "the stop");
}

#[test]
fn a_second_spawn_under_a_running_name_is_refused() {
    let repo = Repo::new();
    repo.ok(&["spawn", "w1", "--", "sleep", "300"]);
    let before = repo.refs();
    let again = repo.run(&["spawn", "w1", "--", "true"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("already running") && again.stderr.contains("stop w1"), "{}", again.stderr);
    assert_eq!(repo.refs(), before);
    repo.ok(&["stop", "w1", "--grace", "1s"]);
    // Once stopped, the name can be spawned again (its session had ended
    // with the stop, so it starts afresh).
    let run = repo.json(&["spawn", "w1", "--", "true"]);
    assert_eq!(run["resumed"], false);
    assert_eq!(wait_over(&repo, "w1")["state"], "exited");
}

#[test]
fn logs_follow_prints_until_the_agent_is_over() {
    let repo = Repo::new();
    repo.ok(&["spawn", "w1", "--", "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done"]);
    let out = repo.ok(&["logs", "w1", "-f"]);
    assert!(out.contains("line 1") && out.contains("line 3") && out.contains("--- exited"), "{out}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let repo = Repo::new();
    let id = repo.add("t", &[]);
    repo.git(&["config", "orchestrate.agent.typo.prompt", "sideways"]);
    repo.git(&["config", "orchestrate.agent.typo.command", "true"]);
    let before = repo.refs();
    let cases: &[&[&str]] = &[
        &["spawn", "w1"],
        &["spawn", "w1", "--agent", "nope"],
        &["spawn", "w1", "--agent", "typo"],
        &["spawn", "w1", "--agent", "typo", "--", "true"],
        &["spawn", "bad name", "--", "true"],
        &["spawn", "w1", "--restart", "1000", "--", "true"],
        &["spawn", "w1", "--task", "t-ffff", "--", "true"],
        &["spawn", "w1", "--task", &id, "--role", "no/role", "--", "true"],
        &["logs", "ghost"],
        &["stop", "ghost"],
        &["stop", "w1", "--grace", "soon"],
        &["stop"],
        &["spawn", "w1", "--", "/nonexistent/agent"],
        &["spawn", "w1", "--", "no-such-agent-program"],
        &["dispatch", "--max", "0", "--", "true"],
        &["dispatch", "--role", "bad role", "--", "true"],
        &["dispatch", "--role", "nobody"],
        &["dispatch", "--agent", "nope"],
        &["dispatch", "--agent", "typo"],
        &["dispatch", "--agent", "typo", "--", "true"],
        &["dispatch", "--restart", "1000", "--", "true"],
        &["dispatch", "--", "no-such-agent-program"],
    ];
    for args in cases {
        let run = repo.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(!run.stderr.trim().is_empty(), "{args:?} says why");
    }
    assert_eq!(repo.refs(), before);
    assert!(repo.json(&["ps"]).as_array().unwrap().is_empty());
}

#[test]
fn a_preset_gets_the_task_as_its_prompt_by_argument_or_on_stdin() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agent.arg.command", "printf 'prompt=[%s]\\n'"]);
    repo.git(&["config", "orchestrate.agent.pipe.command", "sed 's/^/stdin: /'"]);
    repo.git(&["config", "orchestrate.agent.pipe.prompt", "stdin"]);
    let a = repo.add("Fix the parser", &["-d", "It drops the last token."]);
    let b = repo.add("Write docs", &["-d", "Explain presets."]);
    repo.ok(&["spawn", "w1", "--task", &a, "--agent", "arg"]);
    repo.ok(&["spawn", "w2", "--task", &b, "--agent", "pipe"]);
    wait_over(&repo, "w1");
    wait_over(&repo, "w2");
    let one = log_of(&repo, "w1");
    assert!(one.contains("prompt=[Fix the parser\n\nIt drops the last token."), "{one}");
    assert!(one.contains(&format!("Closes: {a}")), "{one}");
    let two = log_of(&repo, "w2");
    assert!(two.contains("stdin: Write docs") && two.contains("stdin: Explain presets."), "{two}");
}

#[test]
fn a_role_chooses_its_preset() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.agent.cheap.command", "echo cheap model"]);
    repo.git(&["config", "orchestrate.agent.strong.command", "echo strong model"]);
    repo.git(&["config", "orchestrate.role.search.agent", "cheap"]);
    repo.git(&["config", "orchestrate.role.review.agent", "strong"]);
    let find = repo.add("find callers", &["--role", "search"]);
    let review = repo.add("review the patch", &["--role", "review"]);
    repo.ok(&["spawn", "w1", "--task", &find]);
    repo.ok(&["spawn", "w2", "--task", &review]);
    wait_over(&repo, "w1");
    wait_over(&repo, "w2");
    assert!(log_of(&repo, "w1").contains("cheap model"));
    assert!(log_of(&repo, "w2").contains("strong model"));
}

/// Agents that append `start <task>` / `end <task>` lines to a trace.
fn tracer(trace: &std::path::Path) -> String {
    format!(
        "echo start $ORCHESTRATE_TASK >> {t}; sleep 0.3; echo end $ORCHESTRATE_TASK >> {t}",
        t = trace.display()
    )
}

#[test]
fn dispatch_runs_a_dependency_chain_in_order_with_at_most_n_at_once() {
    let repo = Repo::new();
    let a = repo.add("a", &[]);
    let b = repo.add("b", &["--after", &a]);
    let c = repo.add("c", &["--after", &b]);
    let others: Vec<String> = (0..4).map(|i| repo.add(&format!("other {i}"), &[])).collect();
    let trace = repo.home().join("trace");
    let events = repo.json(&["dispatch", "--max", "2", "--", "sh", "-c", &tracer(&trace)]);
    let spawned: Vec<&Value> =
        events.as_array().unwrap().iter().filter(|e| e["event"] == "spawned").collect();
    assert_eq!(spawned.len(), 7, "{events:#}");

    let lines = std::fs::read_to_string(&trace).unwrap();
    let mut running = 0;
    let mut order = Vec::new();
    for line in lines.lines() {
        let what = line.split_once(' ').unwrap().0;
        running += if what == "start" { 1 } else { -1 };
        assert!(running <= 2, "more than 2 agents at once:\n{lines}");
        order.push(line.to_string());
    }
    let at =
        |l: String| order.iter().position(|o| *o == l).unwrap_or_else(|| panic!("{l} missing:\n{lines}"));
    assert!(at(format!("end {a}")) < at(format!("start {b}")), "{lines}");
    assert!(at(format!("end {b}")) < at(format!("start {c}")), "{lines}");
    for id in [&a, &b, &c].into_iter().chain(&others) {
        assert_eq!(task_json(&repo, id)["status"], "done", "{id}");
    }
}

#[test]
fn two_dispatchers_never_spawn_two_agents_for_one_task() {
    let repo = Repo::new();
    let ids: Vec<String> = (0..8).map(|i| repo.add(&format!("job {i}"), &[])).collect();
    let trace = repo.home().join("trace");
    let script = tracer(&trace);
    let dispatchers: Vec<_> = (0..2)
        .map(|_| {
            repo.command(common::BIN)
                .args(["--json", "dispatch", "--max", "3", "--", "sh", "-c", &script])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut spawned = Vec::new();
    for d in dispatchers {
        let out = d.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let events: Value = serde_json::from_slice(&out.stdout).unwrap();
        spawned.extend(
            events
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"] == "spawned")
                .map(|e| e["task"].to_string()),
        );
    }
    let mut running = 0;
    for line in std::fs::read_to_string(&trace).unwrap_or_default().lines() {
        running += if line.starts_with("start") { 1 } else { -1 };
        assert!(running <= 3, "the two dispatchers ran more than --max agents together");
    }
    spawned.sort();
    let mut unique = spawned.clone();
    unique.dedup();
    assert_eq!(spawned, unique, "a task was spawned twice");
    let starts: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("start ").map(str::to_string))
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(sorted, expected, "every task ran exactly once");
}

#[test]
fn tmux_runs_the_agent_in_a_window_of_the_repository_session() {
    common::ensure_program("tmux", &["tmux"]);
    let repo = Repo::new();
    let sockets = repo.home().join("tmux");
    std::fs::create_dir_all(&sockets).unwrap();
    let gate = repo.home().join("gate");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; echo in tmux $ORCHESTRATE_SESSION; exit 4",
        gate.display()
    );
    let spawn = Run::of(
        repo.command(common::BIN)
            .env("TMUX_TMPDIR", &sockets)
            .args(["--json", "spawn", "w1", "--tmux", "--", "sh", "-c", &script]),
    );
    assert_eq!(spawn.code, 0, "{spawn:?}");
    let session = spawn.json()["tmux"].as_str().unwrap().to_string();
    let name = repo.path().file_name().unwrap().to_string_lossy().replace('.', "-");
    assert!(session.starts_with(&format!("{name}-")), "{session} is named after {name}");
    let windows =
        Run::of(repo.command("tmux").env("TMUX_TMPDIR", &sockets).args(["list-sessions", "-F", "#S"]));
    assert!(windows.stdout.lines().any(|s| s == session), "{windows:?}");
    std::fs::write(&gate, "").unwrap();
    let line = wait_over(&repo, "w1");
    assert_eq!(line["exit"]["code"], 4, "{line:#}");
    assert!(log_of(&repo, "w1").contains("in tmux w1"));
    let _ = Run::of(repo.command("tmux").env("TMUX_TMPDIR", &sockets).args(["kill-server"]));
}

#[test]
fn what_an_agent_leaves_running_in_its_group_ends_with_it() {
    let repo = Repo::new();
    let pids = repo.home().join("pids");
    let script = format!("sleep 300 & echo $! > {p}.tmp; mv {p}.tmp {p}; exit 0", p = pids.display());
    repo.ok(&["spawn", "w1", "--", "sh", "-c", &script]);
    assert_eq!(wait_over(&repo, "w1")["state"], "exited");
    let child = Proc::of(std::fs::read_to_string(&pids).unwrap().trim().parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.is_alive() {
        assert!(Instant::now() < deadline, "the background child outlived its agent");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_agent_sees_its_own_task_not_the_callers() {
    let repo = Repo::new();
    let out = repo.home().join("env");
    let script =
        format!("echo \"task=[$ORCHESTRATE_TASK] prompt=[$ORCHESTRATE_PROMPT_FILE]\" > {}", out.display());
    let run = Run::of(
        repo.command(common::BIN)
            .env("ORCHESTRATE_TASK", "t-dead")
            .env("ORCHESTRATE_PROMPT_FILE", "/tmp/elsewhere")
            .args(["spawn", "w1", "--", "sh", "-c", &script]),
    );
    assert_eq!(run.code, 0, "{run:?}");
    wait_over(&repo, "w1");
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "task=[] prompt=[]");
}

#[test]
fn spawning_for_a_task_another_live_session_holds_is_refused_before_anything_is_made() {
    let repo = Repo::new();
    let id = repo.add("taken", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    let before = repo.refs();
    let run = repo.run(&["spawn", "w1", "--task", &id, "--", "true"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("held by alice"), "{}", run.stderr);
    assert_eq!(repo.refs(), before, "no session was made");
    assert!(!PathBuf::from(format!("{}.worktrees/w1", repo.path().display())).exists());
}

#[test]
fn stop_all_stops_the_running_ones_past_those_already_over() {
    let repo = Repo::new();
    repo.ok(&["spawn", "quick", "--", "true"]);
    repo.ok(&["spawn", "slow1", "--", "sleep", "300"]);
    repo.ok(&["spawn", "slow2", "--", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]);
    wait_over(&repo, "quick");
    let stopped = repo.json(&["stop", "--all", "--grace", "1s"]);
    let mut names = strings(&stopped, "session");
    names.sort();
    assert_eq!(names, ["slow1", "slow2"]);
    let ps = repo.json(&["ps"]);
    assert_eq!(agent(&ps, "quick")["state"], "exited");
    assert_eq!(agent(&ps, "slow2")["state"], "stopped");
}

#[test]
fn dispatch_says_when_an_agent_failed_and_its_dependents_wait() {
    let repo = Repo::new();
    let a = repo.add("breaks", &[]);
    let b = repo.add("after it", &["--after", &a]);
    let run = repo.run(&["dispatch", "--", "sh", "-c", "exit 5"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(&a) && run.stderr.contains("not all done"), "{}", run.stderr);
    assert_eq!(task_json(&repo, &a)["status"], "failed");
    assert_eq!(task_json(&repo, &b)["status"], "open");
}
