//! The supervisor: a small process that stays with one agent. It runs the
//! agent in the session's worktree with its output in the log, heartbeats
//! for the session (which renews its claims), restarts a failed run with
//! backoff, and when it is over records the outcome on the task and the
//! session and tells the spawner.
//!
//! Each run goes through a wrapper ([`crate::supervise::wrapper`]) that writes
//! the run's exit status to the agent's folder, so a supervisor that dies
//! loses nothing: a new one started with `--adopt` (see [`super::recover`])
//! watches the run it left, or reads how it ended, and carries on.

use super::super::messages::Outgoing;
use super::super::tasks::Finish;
use super::super::{Context, Error, Result};
use super::{agent_dir_failure, append_log, open_log, LOCK_FD_ENV};
use crate::model::session::{Pulse, MAX_DOING_CHARS};
use crate::model::task::TaskStatus;
use crate::os::process::{self, Proc};
use crate::store::Store;
use crate::supervise::wrapper::LEFTOVER_GRACE;
use crate::supervise::{AgentDir, Exit, LostSupervisor, Phase, Spec, State};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often the supervisor looks at its agent.
const TICK: Duration = Duration::from_millis(100);
/// The longest wait between two restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Variables the caller may have set that would point the agent at the
/// wrong repository, index, task or prompt: the agent gets its own.
const CALLER_VARS: [&str; 11] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_OBJECT_DIRECTORY",
    "ORCHESTRATE_TASK",
    "ORCHESTRATE_REPO",
    "ORCHESTRATE_LOG",
    "ORCHESTRATE_PROMPT_FILE",
    LOCK_FD_ENV,
];

/// Supervises the agent described in `dir` until it is over; with `adopt`,
/// takes over from a supervisor that died, starting from its state.
pub fn supervise(dir: &Path, adopt: bool) -> Result<()> {
    let dir = AgentDir { path: dir.to_path_buf() };
    // Started by `spawn` or a looker, we were handed the agent's lock;
    // started by the run's wrapper, we take it ourselves, and stand down if
    // another supervisor holds it (someone else adopted the agent first).
    let _own_lock = match keep_lock_from_agent() {
        true => None,
        false => match dir.try_lock().map_err(|e| agent_dir_failure(&dir, e))? {
            Some(lock) => Some(lock),
            None => return Ok(()),
        },
    };
    if adopt && !dir.read_state().is_some_and(|s| super::recover::needs_adoption(&s)) {
        return Ok(());
    }
    let spec = dir.read_spec().map_err(|e| agent_dir_failure(&dir, e))?;
    let ctx = agent_context(&spec)?;
    let (state, run) = match adopt {
        true => adopt_agent(&ctx, &spec, &dir)?,
        false => (fresh_state(&ctx, &spec, &dir)?, None),
    };
    run_to_the_end(&ctx, &spec, &dir, state, run)
}

/// The state of a new agent, written before anything runs.
fn fresh_state(ctx: &Context, spec: &Spec, dir: &AgentDir) -> Result<State> {
    let state = State {
        name: spec.name.clone(),
        task: spec.task.clone(),
        command: spec.display.clone(),
        phase: Phase::Starting,
        supervisor: Proc::me(),
        agent: None,
        restarts: 0,
        max_restarts: spec.restarts,
        started_at: ctx.now(),
        run_started_at: None,
        ended_at: None,
        exit: None,
        stopped_by: None,
        tmux: spec.tmux.clone(),
        timed_out: None,
        lost_supervisors: Vec::new(),
        survivors: Vec::new(),
    };
    dir.write_state(&state).map_err(|e| agent_dir_failure(dir, e))?;
    Ok(state)
}

/// Takes over an agent whose supervisor died: records the loss, and returns
/// the run it left (still going, or ended with its status in the exit
/// file), if it was in one. The state names the new supervisor at once if
/// the run still goes; if it ended, the conclusion will.
fn adopt_agent(ctx: &Context, spec: &Spec, dir: &AgentDir) -> Result<(State, Option<Run>)> {
    let mut state = dir.read_state().ok_or_else(|| {
        Error::failed(format!("agent {} has no state in {} to adopt", spec.name, dir.path.display()))
    })?;
    let lost = state.supervisor;
    state.lost_supervisors.push(LostSupervisor { pid: lost.pid, noticed_at: ctx.now() });
    state.supervisor = Proc::me();
    let run = match (state.phase, state.agent) {
        (Phase::Running | Phase::Stopping, Some(agent)) => Some(match spec.tmux {
            Some(_) => Run::Pane { proc: agent, exit_file: dir.exit_file() },
            None => Run::Adopted { proc: agent, exit_file: dir.exit_file() },
        }),
        _ => None,
    };
    let still_running = run.as_ref().is_some_and(|r| r.proc().is_alive());
    let _ = append_log(
        dir,
        &format!(
            "--- supervisor (pid {}) was gone; pid {} took over{}\n",
            lost.pid,
            std::process::id(),
            match (&run, still_running) {
                (None, _) => String::new(),
                (Some(_), true) => " the running agent".to_string(),
                (Some(_), false) => " the agent, which had ended".to_string(),
            }
        ),
    );
    if run.is_none() || still_running {
        dir.write_state(&state).map_err(|e| agent_dir_failure(dir, e))?;
    }
    Ok((state, run))
}

/// The supervision loop: runs (or goes on watching `adopted`), restarts
/// failed runs, and concludes.
fn run_to_the_end(
    ctx: &Context,
    spec: &Spec,
    dir: &AgentDir,
    mut state: State,
    adopted: Option<Run>,
) -> Result<()> {
    let mut first_run = adopted.is_none() && state.restarts == 0;
    let mut adopted = adopted;
    let limits = Limits::of(spec);
    loop {
        if let Some(mut run) = adopted.take() {
            let exit = watch_to_the_end(ctx, &mut run, dir, &mut state, &limits);
            state.exit = Some(exit);
        } else {
            if let Some(stop) = dir.stop_requested() {
                state.stopped_by = Some(stop.by);
                state.phase = Phase::Stopped;
                break;
            }
            let exit = one_run(ctx, spec, dir, &mut state, &limits, std::mem::take(&mut first_run))?;
            state.exit = Some(exit);
        }
        let exit = state.exit.unwrap_or(Exit { code: None, signal: None });
        // A run that succeeded before anyone asked it to stop did its work:
        // the stop came too late to change that.
        if exit.success() && ended_before_the_stop(dir) {
            state.phase = Phase::Exited;
            break;
        }
        // A time limit ends it for good: no restart.
        if let Some(why) = &state.timed_out {
            let _ = append_log(dir, &format!("--- timed out: {why}\n"));
            state.phase = Phase::TimedOut;
            break;
        }
        if let Some(stop) = dir.stop_requested() {
            state.stopped_by = Some(stop.by);
            state.phase = Phase::Stopped;
            break;
        }
        if exit.success() {
            state.phase = Phase::Exited;
            break;
        }
        if state.restarts >= spec.restarts {
            state.phase = Phase::Failed;
            break;
        }
        let delay = backoff(spec.backoff_ms, state.restarts);
        state.restarts += 1;
        state.phase = Phase::Restarting;
        dir.write_state(&state).map_err(|e| agent_dir_failure(dir, e))?;
        let _ = append_log(
            dir,
            &format!(
                "--- {}; restart {} of {} in {:.1}s\n",
                exit.describe(),
                state.restarts,
                spec.restarts,
                delay.as_secs_f64()
            ),
        );
        pause(dir, delay);
    }
    conclude(ctx, spec, dir, state)?;
    Ok(())
}

/// Whether the run's exit status was recorded before a stop was asked for
/// (or no stop was): both are files in the agent's folder, so their times
/// come from one clock.
fn ended_before_the_stop(dir: &AgentDir) -> bool {
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match (modified(dir.exit_file()), modified(dir.stop_file())) {
        (_, None) => true,
        (Some(ended), Some(asked)) => ended < asked,
        (None, Some(_)) => false,
    }
}

/// Starts one run and watches it to its end.
fn one_run(
    ctx: &Context,
    spec: &Spec,
    dir: &AgentDir,
    state: &mut State,
    limits: &Limits,
    first_run: bool,
) -> Result<Exit> {
    let mut run = match start(spec, dir) {
        Ok(run) => run,
        Err(e) => {
            let _ = append_log(dir, &format!("--- cannot start {}: {e}\n", spec.display));
            return Ok(Exit { code: Some(127), signal: None });
        }
    };
    // Once it has started (so it does not wait on the write), but before
    // the state says so: when spawn returns, the session already says
    // what it is doing.
    if first_run {
        let doing: String = format!("agent: {}", spec.display).chars().take(MAX_DOING_CHARS).collect();
        if let Err(e) = ctx.heartbeat(&Pulse { doing: Some(doing), ..Pulse::default() }) {
            let _ = append_log(dir, &format!("--- supervisor: heartbeat failed: {e}\n"));
        }
    }
    state.agent = Some(run.proc());
    state.run_started_at = Some(ctx.now());
    state.phase = Phase::Running;
    dir.write_state(state).map_err(|e| agent_dir_failure(dir, e))?;
    Ok(watch_to_the_end(ctx, &mut run, dir, state, limits))
}

/// Watches a run to its end, then ends what it left running; processes
/// that could not be stopped are added to the state's survivors, and a
/// time limit that ended it is recorded in it.
fn watch_to_the_end(
    ctx: &Context,
    run: &mut Run,
    dir: &AgentDir,
    state: &mut State,
    limits: &Limits,
) -> Exit {
    let exit = watch(ctx, run, dir, &mut state.survivors, limits, &mut state.timed_out);
    end_leftovers(run, dir, &mut state.survivors);
    exit
}

/// The time limits of an agent (`spawn --timeout`, `--idle-timeout`).
struct Limits {
    /// When the agent has been going too long (all its runs under this
    /// supervisor together), and the limit.
    deadline: Option<(Instant, Duration)>,
    /// How long a run may write nothing.
    idle: Option<Duration>,
}

impl Limits {
    fn of(spec: &Spec) -> Limits {
        let timeout = spec.timeout_ms.map(Duration::from_millis);
        Limits {
            deadline: timeout.map(|d| (Instant::now() + d, d)),
            idle: spec.idle_timeout_ms.map(Duration::from_millis),
        }
    }
}

fn describe(d: Duration) -> String {
    crate::model::time::format_duration(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
}

/// Ends an agent's account once its final phase is known: notes it in the
/// log, records the outcome, ends its session, then writes the final
/// state. The outcome goes to the refs before the state says "over", so
/// whoever sees the agent over (dispatch) also sees its task finished and
/// its session ended. `ctx` acts as the agent.
pub(super) fn conclude(ctx: &Context, spec: &Spec, dir: &AgentDir, mut state: State) -> Result<State> {
    state.ended_at = Some(ctx.now());
    let exit = state.exit.map(|e| e.describe()).unwrap_or_else(|| "never started".into());
    let _ = append_log(dir, &format!("--- {}: {exit}\n", state.phase.as_str()));
    if let Err(e) = record_outcome(ctx, spec, &state, dir) {
        eprintln!("git-orchestrate: could not record how agent {} ended: {e}", spec.name);
    }
    if let Err(e) = ctx.retire_agent_session(&spec.name) {
        let _ = append_log(dir, &format!("--- could not end session {}: {e}\n", spec.name));
    }
    dir.write_state(&state).map_err(|e| agent_dir_failure(dir, e))?;
    ctx.changed();
    Ok(state)
}

/// Waits for the run to end, heartbeating for the session meanwhile, and
/// ends it (its whole process tree) if a stop is asked for or a time limit
/// passes (then saying which in `timed_out`).
fn watch(
    ctx: &Context,
    run: &mut Run,
    dir: &AgentDir,
    survivors: &mut Vec<u32>,
    limits: &Limits,
    timed_out: &mut Option<String>,
) -> Exit {
    let mut last_beat = Instant::now();
    let interval = ctx.heartbeat_interval().to_std().unwrap_or(Duration::from_secs(30));
    let mut stopping = false;
    let log_len = || std::fs::metadata(dir.log_file()).map(|m| m.len()).unwrap_or(0);
    let (mut seen_len, mut last_output) = (log_len(), Instant::now());
    loop {
        if let Some(exit) = run.try_wait() {
            return exit;
        }
        if timed_out.is_none() && !stopping {
            let len = log_len();
            if len != seen_len {
                (seen_len, last_output) = (len, Instant::now());
            }
            let why = match (limits.deadline, limits.idle) {
                (Some((at, total)), _) if Instant::now() >= at => {
                    Some(format!("ran longer than {}", describe(total)))
                }
                (_, Some(idle)) if last_output.elapsed() >= idle => {
                    Some(format!("no output for {}", describe(idle)))
                }
                _ => None,
            };
            if let Some(why) = why {
                let _ = append_log(dir, &format!("--- {why}: stopping it\n"));
                *timed_out = Some(why);
                let end = process::terminate_tree(run.proc(), LEFTOVER_GRACE);
                note_tree_end(dir, &end, LEFTOVER_GRACE, survivors);
                continue;
            }
        }
        if let Some(stop) = dir.stop_requested().filter(|_| !stopping) {
            stopping = true;
            let end = process::terminate_tree(run.proc(), stop.grace());
            note_tree_end(dir, &end, stop.grace(), survivors);
            continue;
        }
        if last_beat.elapsed() >= interval {
            last_beat = Instant::now();
            if let Err(e) = ctx.heartbeat(&Pulse::default()) {
                let _ = append_log(dir, &format!("--- supervisor: heartbeat failed: {e}\n"));
            }
            ctx.changed();
        }
        std::thread::sleep(TICK);
    }
}

/// Ends what is left of the run once its leader has exited (children it
/// started in the background, in its group or not), so nothing of a run
/// outlives it, holds the log open or works on in the worktree unseen.
/// (The run's wrapper does this itself; this is for a wrapper that was
/// killed, or a tmux pane.)
fn end_leftovers(run: &Run, dir: &AgentDir, survivors: &mut Vec<u32>) {
    let leader = run.proc();
    if process::tree_alive(leader) {
        let _ = append_log(dir, "--- ending what the agent left running\n");
        let end = process::terminate_tree(leader, LEFTOVER_GRACE);
        note_tree_end(dir, &end, LEFTOVER_GRACE, survivors);
    }
}

/// Logs how ending a process tree went, and keeps its survivors.
pub(super) fn note_tree_end(
    dir: &AgentDir,
    end: &process::TreeEnd,
    grace: Duration,
    survivors: &mut Vec<u32>,
) {
    if end.killed {
        let _ = append_log(dir, &format!("--- stop: SIGKILL after {}s grace\n", grace.as_secs()));
    }
    if !end.survivors.is_empty() {
        let _ =
            append_log(dir, &format!("--- could not stop pids {:?}: they outlived SIGKILL\n", end.survivors));
        survivors.extend(end.survivors.iter().filter(|p| !survivors.contains(p)).collect::<Vec<_>>());
    }
}

/// Sleeps `delay`, but wakes as soon as a stop is asked for.
fn pause(dir: &AgentDir, delay: Duration) {
    let until = Instant::now() + delay;
    while Instant::now() < until && dir.stop_requested().is_none() {
        std::thread::sleep(TICK.min(until - Instant::now()));
    }
}

fn backoff(first_ms: u64, restarts: u32) -> Duration {
    Duration::from_millis(first_ms.saturating_mul(1 << restarts.min(16))).min(MAX_BACKOFF)
}

/// One run of the agent: its wrapper as a child of ours, a tmux pane's
/// process, or a wrapper adopted from a supervisor that died (not our
/// child, so watched by pid and its exit file).
enum Run {
    Child { child: Child, proc: Proc, exit_file: PathBuf },
    Pane { proc: Proc, exit_file: PathBuf },
    Adopted { proc: Proc, exit_file: PathBuf },
}

impl Run {
    fn proc(&self) -> Proc {
        match self {
            Run::Child { proc, .. } | Run::Pane { proc, .. } | Run::Adopted { proc, .. } => *proc,
        }
    }

    /// How the run ended, once it has: as its wrapper recorded it.
    fn try_wait(&mut self) -> Option<Exit> {
        match self {
            Run::Child { child, exit_file, .. } => match child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => {
                    Some(crate::supervise::read_exit(exit_file).unwrap_or(Exit::from(status)))
                }
                Err(_) => {
                    Some(crate::supervise::read_exit(exit_file).unwrap_or(Exit { code: None, signal: None }))
                }
            },
            Run::Pane { proc, exit_file } if !proc.is_alive() => {
                let exit = crate::supervise::read_exit(exit_file);
                Some(exit.unwrap_or(Exit { code: None, signal: Some(libc::SIGTERM) }))
            }
            // A wrapper killed before it could say how the agent ended
            // leaves no status: the run ended, how is unknown.
            Run::Adopted { proc, exit_file } if !proc.is_alive() => {
                Some(crate::supervise::read_exit(exit_file).unwrap_or(Exit { code: None, signal: None }))
            }
            Run::Pane { .. } | Run::Adopted { .. } => None,
        }
    }
}

/// The environment an agent sees.
fn environment(spec: &Spec, dir: &AgentDir) -> Vec<(String, String)> {
    let mut env = vec![
        (crate::ops::SESSION_ENV.to_string(), spec.name.clone()),
        ("ORCHESTRATE_REPO".to_string(), spec.repo.to_string_lossy().into_owned()),
        ("ORCHESTRATE_LOG".to_string(), dir.log_file().to_string_lossy().into_owned()),
    ];
    if let Some(task) = &spec.task {
        env.push(("ORCHESTRATE_TASK".to_string(), task.clone()));
    }
    if dir.prompt_file().exists() {
        env.push(("ORCHESTRATE_PROMPT_FILE".to_string(), dir.prompt_file().to_string_lossy().into_owned()));
    }
    env
}

/// Starts one run: the agent's command under its wrapper
/// (`git-orchestrate run-agent`), in a session of its own.
fn start(spec: &Spec, dir: &AgentDir) -> std::io::Result<Run> {
    // The last run's status must not pass for this one's.
    match std::fs::remove_file(dir.exit_file()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if spec.tmux.is_some() {
        return start_in_tmux(spec, dir);
    }
    if spec.command.is_empty() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("run-agent")
        .arg(dir.exit_file())
        .arg(format!("--supervisor={}", std::process::id()))
        .arg("--")
        .args(&spec.command)
        .current_dir(&spec.worktree);
    scrub(&mut cmd);
    cmd.envs(environment(spec, dir));
    let stdin = match spec.prompt_on_stdin {
        true => Stdio::from(std::fs::File::open(dir.prompt_file())?),
        false => Stdio::null(),
    };
    let log = open_log(dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    cmd.stdin(stdin).stdout(log.try_clone()?).stderr(log);
    process::detach(&mut cmd);
    let child = cmd.spawn()?;
    let proc = Proc::of(child.id());
    Ok(Run::Child { child, proc, exit_file: dir.exit_file() })
}

/// Runs the agent in a new window of the repository's tmux session (made
/// with this window as its first, so no idle shell is left when the agents
/// are done); the window's shell copies its output to the log and leaves
/// its exit status in a file.
fn start_in_tmux(spec: &Spec, dir: &AgentDir) -> std::io::Result<Run> {
    let session = spec.tmux.as_deref().unwrap_or("orchestrate");
    let exists = Command::new("tmux")
        .args(["has-session", "-t", &format!("={session}")])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()?
        .success();
    let exit_file = dir.exit_file();
    let stdin = if spec.prompt_on_stdin { dir.prompt_file() } else { PathBuf::from("/dev/null") };
    let script = r#"exit_file=$1 log=$2 input=$3; shift 3; { "$@" < "$input"; echo $? > "$exit_file"; } 2>&1 | tee -a "$log""#;
    let mut args: Vec<String> = match exists {
        true => vec!["new-window".into(), "-t".into(), format!("={session}:")],
        false => vec!["new-session".into(), "-s".into(), session.into()],
    };
    args.extend(["-d", "-P", "-F", "#{pane_pid}"].map(String::from));
    args.extend(["-n".to_string(), spec.name.clone(), "-c".to_string()]);
    args.push(spec.worktree.to_string_lossy().into_owned());
    for (key, value) in environment(spec, dir) {
        args.extend(["-e".to_string(), format!("{key}={value}")]);
    }
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into(), "sh".into()]);
    args.push(exit_file.to_string_lossy().into_owned());
    args.push(dir.log_file().to_string_lossy().into_owned());
    args.push(stdin.to_string_lossy().into_owned());
    args.extend(spec.command.iter().cloned());
    let out = Command::new("tmux").args(&args).stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| std::io::Error::other("tmux did not say the pane's pid"))?;
    Ok(Run::Pane { proc: Proc::of(pid), exit_file })
}

fn scrub(cmd: &mut Command) {
    for var in CALLER_VARS {
        cmd.env_remove(var);
    }
}

/// The lock `spawn` handed over must not leak into the agent: it is the
/// supervisor's, and ends with it. Returns whether a lock was handed over.
fn keep_lock_from_agent() -> bool {
    match std::env::var(LOCK_FD_ENV).ok().and_then(|v| v.parse::<i32>().ok()) {
        Some(fd) => {
            // SAFETY: marks a descriptor we inherited close-on-exec.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            true
        }
        None => false,
    }
}

/// A context acting as the agent's session.
pub(super) fn agent_context(spec: &Spec) -> Result<Context> {
    let at = if spec.worktree.exists() { &spec.worktree } else { &spec.repo };
    let store = Store::open(at)?;
    Context::new(store, Some(spec.name.clone()))
}

/// Records how the agent ended: on the task (done, failed with the log's
/// tail, or a note that it was stopped), on the session, and in a message
/// to the spawner.
fn record_outcome(ctx: &Context, spec: &Spec, state: &State, dir: &AgentDir) -> Result<()> {
    let name = &spec.name;
    let exit = state.exit.map(|e| e.describe()).unwrap_or_else(|| "never started".into());
    let restarts = match state.restarts {
        0 => String::new(),
        1 => " after 1 restart".to_string(),
        n => format!(" after {n} restarts"),
    };
    let summary = match state.phase {
        Phase::Exited => format!("exited 0{restarts}"),
        Phase::Failed => format!("failed ({exit}){restarts}"),
        Phase::TimedOut => format!("timed out ({})", state.timed_out.as_deref().unwrap_or("time limit")),
        _ => format!("stopped by {}", state.stopped_by.as_deref().unwrap_or("someone")),
    };
    let tail = printable(&dir.log_tail(20));
    let mut task_news = String::new();
    if let Some(id) = &spec.task {
        let task = ctx.show_task(id)?.task;
        let mine = task.status == TaskStatus::Claimed && task.assignee.as_deref() == Some(name.as_str());
        match state.phase {
            _ if task.status.is_closed() => task_news = format!("; {id} is {}", task.status),
            Phase::Exited if mine => {
                ctx.finish_task_as(name, id, Finish::Done, Some(&format!("agent {summary}")), false)?;
                task_news = format!("; {id} done");
            }
            Phase::Failed | Phase::TimedOut if mine => {
                let note = format!("agent {summary}; the end of its log:\n{tail}");
                ctx.finish_task_as(name, id, Finish::Failed, Some(&note), false)?;
                task_news = format!("; {id} failed");
            }
            Phase::Stopped if mine => {
                let note = format!("agent {summary}; {id} goes back to the queue as its session ends");
                ctx.note_task(id, &note, None)?;
            }
            _ => {}
        }
    }
    let doing: String = format!("agent {summary}").chars().take(MAX_DOING_CHARS).collect();
    match ctx.heartbeat(&Pulse { doing: Some(doing), ..Pulse::default() }) {
        Ok(_) | Err(Error::Refused(_)) => {}
        Err(e) => return Err(e),
    }
    // The spawner hears how it ended; so does the lead (a completion is
    // copied to it by `send`, a failure here), or the lead alone when
    // nobody spawned it from a session.
    let to = match &spec.spawner {
        Some(spawner) => spawner.clone(),
        None if ctx.show_lead()?.lead.is_some() => format!("role:{}", crate::model::lead::LEAD_ROLE),
        None => return Ok(()),
    };
    let mut body = format!("log: {}\n", dir.log_file().display());
    if state.phase != Phase::Exited {
        body.push_str(&format!("\n{tail}\n"));
    }
    let message = ctx.send(&Outgoing {
        to: to.clone(),
        subject: format!("agent {name} {summary}{task_news}"),
        body,
        kind: Some(if state.phase == Phase::Exited { "completion" } else { "status" }.to_string()),
        reply_to: None,
    })?;
    if state.phase != Phase::Exited {
        ctx.tell_lead(&message, &crate::model::message::Recipient::parse(&to)?)?;
    }
    Ok(())
}

/// Log text made fit for a note: control characters (colours, cursor
/// moves) become '?'.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && !matches!(c, '\n' | '\t') { '?' } else { c }).collect()
}
