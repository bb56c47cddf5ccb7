//! Agents in the background: `spawn` starts a command in a session's
//! worktree under a small supervisor process (see [`supervisor`]), `ps`
//! lists them, `stop` ends them, `dispatch` keeps up to N of them busy
//! with ready tasks.

mod dispatch;
mod hold;
mod recover;
mod retire;
mod supervisor;

pub use dispatch::{DispatchEvent, DispatchOptions};
pub use hold::{Hold, HoldMode};
pub use supervisor::supervise;

use super::sessions::StartOptions;
use super::{Context, Error, Reason, Result};
use crate::model::names::{validate_name, validate_session_name};
use crate::model::task::{Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::os::process::{self, Proc};
use crate::supervise::{AgentDir, Phase, Spec, State, StopRequest};
use serde::Serialize;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable through which `spawn` hands the supervisor the
/// agent's lock, held for as long as the supervisor lives.
pub const LOCK_FD_ENV: &str = "ORCHESTRATE_LOCK_FD";
/// The most restarts `--restart` accepts.
pub const MAX_RESTARTS: u32 = 100;
/// How long an agent that is over stays in `ps` without `--all`.
pub const RECENTLY_ENDED: Duration = Duration::from_secs(3600);
/// How long ago an agent must have ended for `ps --prune` to remove it.
pub const PRUNE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long `stop` waits between SIGTERM and SIGKILL, unless told.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    pub name: String,
    pub task: Option<String>,
    pub role: Option<String>,
    pub restarts: u32,
    /// A preset from `orchestrate.agent.<preset>.command`.
    pub agent: Option<String>,
    /// The command to run (empty: use the preset).
    pub command: Vec<String>,
    pub tmux: bool,
    /// Stop the agent after this long (else the preset's `timeout`).
    pub timeout: Option<Duration>,
    /// Stop the agent after this long without output (else the preset's
    /// `idleTimeout`).
    pub idle_timeout: Option<Duration>,
    /// The commit (or branch, tag) a new session's worktree starts from.
    pub base: Option<String>,
    /// What the prompt says about the work the agent's builds on.
    pub builds_on: Option<String>,
}

/// What `spawn` started.
#[derive(Debug, Clone, Serialize)]
pub struct Spawned {
    pub session: String,
    pub task: Option<String>,
    pub pid: u32,
    pub supervisor: u32,
    pub worktree: PathBuf,
    pub log: PathBuf,
    pub command: String,
    pub resumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux: Option<String>,
}

/// One line of `ps`.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    pub session: String,
    pub task: Option<String>,
    /// The agent's pid (also its process group).
    pub pid: Option<u32>,
    pub supervisor: u32,
    pub state: AgentState,
    pub restarts: u32,
    pub max_restarts: u32,
    pub started_at: Timestamp,
    pub run_started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// Seconds the current run has been going, while it runs.
    pub uptime: Option<i64>,
    pub exit: Option<crate::supervise::Exit>,
    pub command: String,
    pub log: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux: Option<String>,
    /// When the last supervisor found dead was noticed (and replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor_lost_at: Option<Timestamp>,
    /// Processes of the agent that could not be stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub survivors: Vec<u32>,
}

impl AgentView {
    pub fn is_active(&self) -> bool {
        self.state.is_active()
    }
}

/// What `ps` says of an agent: its supervisor's phase, or `lost` when the
/// supervisor died while it should still be supervising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Supervised(Phase),
    Lost,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Supervised(phase) => phase.as_str(),
            AgentState::Lost => "lost",
        }
    }

    /// Not over: running, between runs, or lost (so it may still run,
    /// unwatched).
    pub fn is_active(self) -> bool {
        !matches!(self, AgentState::Supervised(phase) if phase.is_over())
    }
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AgentState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How an agent's command and prompt come from a preset.
struct Preset {
    command: String,
    prompt_on_stdin: bool,
    timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl Context {
    /// Starts `opts.command` (or a preset) as agent `opts.name`: creates or
    /// resumes the session and its worktree, claims the task, and hands the
    /// command to a detached supervisor. Returns once the agent runs.
    pub fn spawn(&self, opts: SpawnOptions) -> Result<Spawned> {
        validate_session_name(&opts.name)?;
        if let Some(role) = &opts.role {
            validate_name("role", role)?;
        }
        if opts.restarts > MAX_RESTARTS {
            return Err(Error::invalid(format!("--restart {}: at most {MAX_RESTARTS}", opts.restarts)));
        }
        let task = match &opts.task {
            Some(id) => Some(self.show_task(id)?.task),
            None => None,
        };
        if let Some(task) = &task {
            self.check_claimable(task, &opts.name)?;
        }
        if let Some(program) = opts.command.first() {
            check_program(program)?;
        }
        let base_commit = opts.base.as_deref().map(|base| self.resolve_base(base)).transpose()?;
        let role = opts.role.clone().or_else(|| task.as_ref().and_then(|t| t.role.clone()));
        let preset = self.preset_for(&opts, role.as_deref())?;
        let backoff = self.backoff()?;
        let tmux = match opts.tmux {
            true => Some(self.tmux_session_name()?),
            false => None,
        };

        // The spawner hears how the agent ends, so it needs a mailbox.
        if self.session().is_some() {
            let acting = self.acting_session("`spawn`")?;
            self.register_on_first_use(&acting)?;
        }

        let dir = AgentDir::new(self.store.common_dir(), &opts.name);
        // An agent that lost its supervisor is taken over (or concluded)
        // first, so what it did is recorded before anything is decided.
        self.adopt_if_lost(&dir)?;
        let lock = lock_when_over(&dir)?.ok_or_else(|| already_running(&dir, &opts.name))?;
        if let Some(state) = dir.read_state().filter(|s| !s.phase.is_over()) {
            // A lost supervisor's agent may still run, unwatched, in the worktree.
            if state.supervisor.is_alive() || state.agent.is_some_and(process::tree_alive) {
                return Err(already_running_state(&opts.name, &state));
            }
        }
        // What the last run left (its state, a stop asked of it, its prompt).
        for stale in [dir.state_file(), dir.stop_file(), dir.prompt_file()] {
            let _ = std::fs::remove_file(stale);
        }

        let started = self.start_session(StartOptions {
            name: opts.name.clone(),
            role: role.clone(),
            task: task.as_ref().map(|t| t.id.to_string()),
            resume: true,
            base: base_commit.clone(),
            ..StartOptions::default()
        })?;
        let worktree = started.session.worktree.clone().map(PathBuf::from).ok_or_else(|| {
            Error::refusal(
                Reason::NoWorktree { session: opts.name.clone() },
                format!(
                    "session {} has no worktree (it was started with --no-worktree), so an agent would share \
                     the main one",
                    opts.name
                ),
            )
        })?;

        let timeout = opts.timeout.or(preset.as_ref().and_then(|p| p.timeout));
        let idle_timeout = opts.idle_timeout.or(preset.as_ref().and_then(|p| p.idle_timeout));
        let (command, display, prompt_on_stdin) = match preset {
            None => (opts.command.clone(), shell_words(&opts.command), false),
            Some(preset) => {
                let builds_on = match (&opts.builds_on, &opts.base, &base_commit) {
                    (Some(text), _, _) => Some(text.clone()),
                    (None, Some(base), Some(commit)) => Some(format!(
                        "Your worktree starts from {base} (commit {}).\n",
                        &commit[..commit.len().min(10)]
                    )),
                    _ => None,
                };
                let prompt = task.as_ref().map(|t| prompt_for(t, &opts.name, builds_on.as_deref()));
                if let Some(prompt) = &prompt {
                    std::fs::write(dir.prompt_file(), prompt).map_err(|e| agent_dir_failure(&dir, e))?;
                }
                let mut argv = vec!["sh".to_string(), "-c".to_string()];
                match (&prompt, preset.prompt_on_stdin) {
                    (Some(prompt), false) => {
                        argv.push(format!("{} \"$1\"", preset.command));
                        argv.push("git-orchestrate-agent".to_string());
                        argv.push(prompt.clone());
                    }
                    _ => argv.push(preset.command.clone()),
                }
                (argv, preset.command, preset.prompt_on_stdin && prompt.is_some())
            }
        };
        let spec = Spec {
            name: opts.name.clone(),
            command,
            display: display.clone(),
            worktree: worktree.clone(),
            repo: self.store.main_root(),
            task: task.as_ref().map(|t| t.id.to_string()),
            restarts: opts.restarts,
            prompt_on_stdin,
            spawner: self.session().filter(|s| *s != opts.name).map(str::to_string),
            tmux: tmux.clone(),
            backoff_ms: backoff.as_millis() as u64,
            timeout_ms: timeout.map(|d| d.as_millis() as u64),
            idle_timeout_ms: idle_timeout.map(|d| d.as_millis() as u64),
        };
        dir.write_spec(&spec).map_err(|e| agent_dir_failure(&dir, e))?;
        append_log(&dir, &format!("--- {} spawn {}: {display}\n", self.now().to_rfc3339(), opts.name))?;

        let supervisor = self.start_supervisor(&dir, &lock, false)?;
        drop(lock);
        let state = wait_until_started(&dir, supervisor)?;
        Ok(Spawned {
            session: opts.name,
            task: spec.task,
            pid: state.agent.map(|a| a.pid).unwrap_or(supervisor),
            supervisor,
            worktree,
            log: dir.log_file(),
            command: display,
            resumed: started.resumed,
            tmux,
        })
    }

    /// Refuses a task the agent could not work on: finished, or held by
    /// another live session. (The claim itself, later, is the atomic check.)
    fn check_claimable(&self, task: &Task, name: &str) -> Result<()> {
        if task.status.is_closed() {
            return Err(Error::refusal(
                Reason::TaskClosed { task: task.id.to_string(), status: task.status },
                format!("{} is already {}", task.id, task.status),
            ));
        }
        let holder = task.assignee.as_deref().filter(|h| *h != name);
        if let Some(holder) = holder.filter(|_| task.status == TaskStatus::Claimed) {
            // An agent of ours that is over still holds it: nobody will answer a message.
            let (task_id, holder_name) = (task.id.to_string(), holder.to_string());
            if self.agent_view(holder).is_some_and(|a| !a.is_active()) {
                return Err(Error::refusal(
                    Reason::HeldByEndedAgent { task: task_id, holder: holder_name },
                    format!("{} is still held by {holder}, whose agent is over", task.id),
                ));
            }
            if self.holder_is_live(task.assignee.as_deref())? {
                return Err(Error::refusal(
                    Reason::Held { task: task_id, holder: holder_name, since: task.claimed_at },
                    format!(
                        "{} is held by {holder}, a live session: spawn the agent for another task",
                        task.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The preset to use, or None for a literal command; checks that
    /// exactly one of the two is given.
    fn preset_for(&self, opts: &SpawnOptions, role: Option<&str>) -> Result<Option<Preset>> {
        let name = match (&opts.agent, opts.command.is_empty()) {
            (Some(_), false) => {
                return Err(Error::invalid("give either --agent PRESET or a command after `--`, not both"))
            }
            (None, false) => return Ok(None),
            (Some(preset), true) => preset.clone(),
            (None, true) => match (role, role.and_then(|r| self.role_agent(r))) {
                (_, Some(preset)) => preset,
                (Some(role), None) => {
                    return Err(Error::invalid(format!(
                        "nothing to run: role {role} has no agent; set `git config orchestrate.role.{role}.agent \
                         <preset>`, or give --agent PRESET or a command after `--`"
                    )))
                }
                (None, None) => {
                    return Err(Error::invalid(
                        "nothing to run: give a command after `--`, or --agent PRESET (define one with \
                         `git config orchestrate.agent.<preset>.command '<command>'`)",
                    ))
                }
            },
        };
        self.preset(&name).map(Some)
    }

    /// `orchestrate.role.<role>.agent`.
    pub fn role_agent(&self, role: &str) -> Option<String> {
        self.store.config_string(&format!("orchestrate.role.{role}.agent")).filter(|p| !p.trim().is_empty())
    }

    fn preset(&self, name: &str) -> Result<Preset> {
        validate_name("agent preset", name)?;
        let key = format!("orchestrate.agent.{name}.command");
        let command = self.store.config_string(&key).filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            Error::invalid(format!(
                "no agent preset {name}: define it with `git config {key} '<command>'` (see README, Presets and roles)"
            ))
        })?;
        if let Some(program) = program_of(&command) {
            check_program(&program).map_err(|_| {
                Error::invalid(format!(
                    "agent preset {name} runs {program}, which is not on PATH: install it, or fix \
                     `git config {key}`"
                ))
            })?;
        }
        let prompt_key = format!("orchestrate.agent.{name}.prompt");
        let prompt_on_stdin = match self.store.config_string(&prompt_key).as_deref() {
            None | Some("argument") => false,
            Some("stdin") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "git config {prompt_key} is '{other}': use argument or stdin"
                )))
            }
        };
        let timeout = self.preset_duration(name, "timeout")?;
        let idle_timeout = self.preset_duration(name, "idleTimeout")?;
        Ok(Preset { command, prompt_on_stdin, timeout, idle_timeout })
    }

    /// `orchestrate.agent.<preset>.<key>` as a duration, if set.
    fn preset_duration(&self, name: &str, key: &str) -> Result<Option<Duration>> {
        let key = format!("orchestrate.agent.{name}.{key}");
        let Some(text) = self.store.config_string(&key) else { return Ok(None) };
        parse_timeout(&text).map(Some).map_err(|why| Error::invalid(format!("git config {key}: {why}")))
    }

    /// `orchestrate.agentBackoff`: the first delay before a restart
    /// (doubled for each further one), default 1s.
    fn backoff(&self) -> Result<Duration> {
        let Some(text) = self.store.config_string("orchestrate.agentBackoff") else {
            return Ok(Duration::from_secs(1));
        };
        let malformed = || {
            Error::invalid(format!(
                "git config orchestrate.agentBackoff is '{text}': write a duration like 500ms or 2s"
            ))
        };
        let parsed = crate::model::time::parse_duration(&text)
            .map_err(|e| Error::invalid(format!("git config orchestrate.agentBackoff: {e}")))?;
        parsed.to_std().map_err(|_| malformed())
    }

    /// The tmux session agents of this repository run in: the repository's
    /// folder name and a short hash of its path, so two checkouts called
    /// `app` do not share one.
    fn tmux_session_name(&self) -> Result<String> {
        let ok = Command::new("tmux").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !ok.is_ok_and(|s| s.success()) {
            return Err(Error::invalid(
                "--tmux needs tmux, which is not installed here: install it, or spawn without --tmux",
            ));
        }
        let root = self.store.main_root();
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "orchestrate".into());
        // FNV-1a: stable from run to run, unlike std's hasher.
        let hash = root
            .to_string_lossy()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        // tmux treats '.' and ':' in target names specially.
        Ok(format!("{}-{:04x}", name.replace(['.', ':'], "-"), hash & 0xffff))
    }

    /// Starts the supervisor in a session of its own, handing it the lock;
    /// with `adopt`, one that takes over from a supervisor that died.
    fn start_supervisor(&self, dir: &AgentDir, lock: &std::fs::File, adopt: bool) -> Result<u32> {
        let exe = std::env::current_exe().map_err(|e| {
            Error::failed(format!("cannot find the git-orchestrate binary to supervise with: {e}"))
        })?;
        let log = open_log(dir)?;
        let err = log.try_clone().map_err(|e| agent_dir_failure(dir, e))?;
        let fd = lock.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg("supervise");
        if adopt {
            cmd.arg("--adopt");
        }
        cmd.arg(&dir.path)
            .current_dir(&dir.path)
            .env(LOCK_FD_ENV, fd.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        process::detach(&mut cmd);
        // SAFETY: fcntl is async-signal-safe; it lets the lock's
        // descriptor survive exec so the supervisor goes on holding it.
        unsafe {
            cmd.pre_exec(move || match libc::fcntl(fd, libc::F_SETFD, 0) {
                -1 => Err(std::io::Error::last_os_error()),
                _ => Ok(()),
            });
        }
        let mut child =
            cmd.spawn().map_err(|e| Error::failed(format!("cannot start the supervisor: {e}")))?;
        let pid = child.id();
        // Reap it whenever it ends, for callers that live on (dispatch).
        std::thread::spawn(move || child.wait());
        Ok(pid)
    }

    /// Every agent spawned in this repository, as its supervisor last
    /// recorded it. An agent whose supervisor died is first handed to a
    /// new one; it is shown as `lost` only if that could not be done.
    pub fn list_agents(&self) -> Vec<AgentView> {
        let now = self.now();
        crate::supervise::all(self.store.common_dir())
            .into_iter()
            .filter_map(|dir| {
                self.adopt_quietly(&dir);
                let state = dir.read_state()?;
                Some(view(&dir, state, now))
            })
            .collect()
    }

    /// The agents `ps` shows: every one not over, and those over for less
    /// than [`RECENTLY_ENDED`] (all of them with `all`).
    pub fn list_agents_shown(&self, all: bool) -> Vec<AgentView> {
        let now = self.now();
        let recent = chrono::Duration::from_std(RECENTLY_ENDED).unwrap_or(chrono::Duration::MAX);
        self.list_agents()
            .into_iter()
            .filter(|a| all || a.is_active() || a.ended_at.is_none_or(|t| now - t < recent))
            .collect()
    }

    /// Removes the records (spec, state, log) of agents over for longer
    /// than `age`; returns their names. Their sessions, branches and
    /// worktrees are not touched.
    pub fn prune_agents(&self, age: chrono::Duration) -> Result<Vec<String>> {
        let now = self.now();
        let mut pruned = Vec::new();
        for view in self.list_agents() {
            let old = !view.is_active() && view.ended_at.is_some_and(|t| now - t > age);
            if !old {
                continue;
            }
            let dir = AgentDir::new(self.store.common_dir(), &view.session);
            // Not while a spawn under that name holds the lock.
            let Some(_lock) = dir.try_lock().map_err(|e| agent_dir_failure(&dir, e))? else { continue };
            std::fs::remove_dir_all(&dir.path).map_err(|e| agent_dir_failure(&dir, e))?;
            pruned.push(view.session);
        }
        Ok(pruned)
    }

    /// Agent `name` as `ps` shows it, if one was spawned under that name.
    pub fn agent_view(&self, name: &str) -> Option<AgentView> {
        let dir = AgentDir::new(self.store.common_dir(), name);
        self.adopt_quietly(&dir);
        let state = dir.read_state()?;
        Some(view(&dir, state, self.now()))
    }

    /// One agent, or an error naming the ones there are.
    pub fn agent(&self, name: &str) -> Result<(AgentDir, Option<State>)> {
        validate_session_name(name)?;
        let dir = AgentDir::new(self.store.common_dir(), name);
        if !dir.spec_file().exists() {
            return Err(Error::invalid(format!(
                "no agent named {name} was spawned here: `git orchestrate ps` lists them"
            )));
        }
        self.adopt_if_lost(&dir)?;
        let state = dir.read_state();
        Ok((dir, state))
    }

    /// Stops agent `name`: SIGTERM to its process group, SIGKILL after
    /// `grace`, and the stop recorded. Refused when it is not running.
    pub fn stop_agent(&self, name: &str, grace: Duration) -> Result<AgentView> {
        let stopping = self.ask_to_stop(name, grace)?;
        self.await_stop(stopping)
    }

    /// Stops every running agent: all are asked first, so their
    /// supervisors end them at the same time, each with its own grace
    /// period. One that cannot be stopped does not keep the others running.
    /// Dispatchers are paused first, so none starts an agent for the tasks
    /// the stopped ones leave (`dispatch --resume` lets them go on).
    pub fn stop_all_agents(&self, grace: Duration) -> Vec<(String, Result<AgentView>)> {
        if let Err(e) = self.hold_dispatchers(HoldMode::Pause) {
            return vec![("dispatchers".to_string(), Err(e))];
        }
        let names: Vec<String> =
            self.list_agents().into_iter().filter(AgentView::is_active).map(|v| v.session).collect();
        let asked: Vec<_> = names.iter().map(|name| self.ask_to_stop(name, grace)).collect();
        names
            .into_iter()
            .zip(asked)
            .map(|(name, asked)| (name, asked.and_then(|s| self.await_stop(s))))
            .collect()
    }

    /// Leaves a stop request for the supervisor.
    fn ask_to_stop(&self, name: &str, grace: Duration) -> Result<Stopping> {
        let (dir, state) = self.agent(name)?;
        let state = state.ok_or_else(|| {
            Error::refusal(
                Reason::AgentStarting { agent: name.to_string() },
                format!("agent {name} has not started yet: try again"),
            )
        })?;
        if state.phase.is_over() {
            return Err(not_running(name, &state));
        }
        let request = StopRequest { by: self.actor(), grace_ms: grace.as_millis() as u64 };
        dir.request_stop(&request).map_err(|e| agent_dir_failure(&dir, e))?;
        Ok(Stopping { name: name.to_string(), dir, state, request })
    }

    /// Waits for a stop to be carried out and recorded.
    fn await_stop(&self, stopping: Stopping) -> Result<AgentView> {
        let Stopping { name, dir, state, request } = stopping;
        let (by, grace) = (request.by.clone(), request.grace());
        // A live supervisor ends its agent (SIGTERM, then SIGKILL after the
        // grace period) and records the stop; for a lost one it is done here.
        let deadline = Instant::now() + grace + Duration::from_secs(15);
        loop {
            let now = dir.read_state().unwrap_or_else(|| state.clone());
            if now.phase.is_over() && now.phase != Phase::Stopped {
                // It ended by itself before the stop reached it.
                return Err(not_running(&name, &now));
            }
            if now.phase.is_over() {
                return Ok(view(&dir, now, self.now()));
            }
            if !now.supervisor.is_alive() {
                let mut state = dir.read_state().unwrap_or(now);
                if state.phase.is_over() {
                    return Ok(view(&dir, state, self.now()));
                }
                if let Some(agent) = state.agent {
                    let end = process::terminate_tree(agent, grace);
                    supervisor::note_tree_end(&dir, &end, grace, &mut state.survivors);
                }
                state.phase = Phase::Stopped;
                state.stopped_by = Some(by);
                let _ = append_log(&dir, "--- its supervisor was gone: stopped here\n");
                let spec = dir.read_spec().map_err(|e| agent_dir_failure(&dir, e))?;
                let state = supervisor::conclude(&supervisor::agent_context(&spec)?, &spec, &dir, state)?;
                return Ok(view(&dir, state, self.now()));
            }
            if Instant::now() > deadline {
                return Err(Error::failed(format!(
                    "the supervisor of {name} (pid {}) has not ended it {}s after the stop; see {}",
                    now.supervisor.pid,
                    (grace + Duration::from_secs(15)).as_secs(),
                    dir.log_file().display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A stop asked for and not yet carried out.
struct Stopping {
    name: String,
    dir: AgentDir,
    state: State,
    request: StopRequest,
}

fn view(dir: &AgentDir, state: State, now: Timestamp) -> AgentView {
    let lost = !state.phase.is_over() && !state.supervisor.is_alive();
    let running = state.phase == Phase::Running && !lost;
    AgentView {
        session: state.name,
        task: state.task,
        pid: state.agent.map(|a| a.pid),
        supervisor: state.supervisor.pid,
        state: if lost { AgentState::Lost } else { AgentState::Supervised(state.phase) },
        restarts: state.restarts,
        max_restarts: state.max_restarts,
        started_at: state.started_at,
        run_started_at: state.run_started_at,
        ended_at: state.ended_at,
        uptime: running.then(|| state.run_started_at.map(|t| (now - t).num_seconds())).flatten(),
        exit: state.exit,
        command: state.command,
        log: dir.log_file(),
        tmux: state.tmux,
        supervisor_lost_at: state.lost_supervisors.last().map(|l| l.noticed_at),
        survivors: state.survivors,
    }
}

/// Waits (a few seconds at most) for the supervisor to start the agent.
fn wait_until_started(dir: &AgentDir, supervisor: u32) -> Result<State> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let sup = Proc::of(supervisor);
    loop {
        match dir.read_state() {
            Some(state) if state.supervisor.pid == supervisor && state.phase != Phase::Starting => {
                return Ok(state)
            }
            _ if !sup.is_alive() => {
                return Err(Error::failed(format!(
                    "the supervisor stopped before starting the agent; its log says:\n{}",
                    dir.log_tail(10)
                )))
            }
            _ if Instant::now() > deadline => {
                // Give up on it entirely, so no agent runs without its task.
                process::signal_group(supervisor, libc::SIGKILL);
                if let Some(agent) = dir.read_state().and_then(|s| s.agent) {
                    process::terminate_tree(agent, Duration::from_secs(1));
                }
                return Err(Error::failed(format!(
                    "the supervisor (pid {supervisor}) had not started the agent after 10s, so it was stopped; see {}",
                    dir.log_file().display()
                )));
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Takes the agent's lock. A supervisor that has recorded its agent's end
/// still holds it for the moment it takes to exit: that is waited for (a
/// few seconds at most). None if the agent is not over.
fn lock_when_over(dir: &AgentDir) -> Result<Option<std::fs::File>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(lock) = dir.try_lock().map_err(|e| agent_dir_failure(dir, e))? {
            return Ok(Some(lock));
        }
        let over = dir.read_state().is_some_and(|s| s.phase.is_over());
        if !over || Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn not_running(name: &str, state: &State) -> Error {
    let reason = Reason::AgentNotRunning {
        agent: name.to_string(),
        phase: state.phase,
        exit_code: state.exit.and_then(|e| e.code),
        signal: state.exit.and_then(|e| e.signal),
        stopped_by: state.stopped_by.clone().filter(|_| state.phase == Phase::Stopped),
    };
    Error::refusal(reason, format!("agent {name} is not running ({}): nothing to stop", describe_end(state)))
}

fn describe_end(state: &State) -> String {
    let how = state.exit.map(|e| e.describe()).unwrap_or_else(|| "no exit status".to_string());
    match state.phase {
        Phase::Stopped => format!("stopped by {}", state.stopped_by.as_deref().unwrap_or("someone")),
        phase => format!("{}, {how}", phase.as_str()),
    }
}

/// Reads a timeout: a duration like `90s`, `30m` or `2h`, more than zero.
pub fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    // The shared parser's words for what is wrong ("too long: the most is
    // 365d", "invalid duration …"); only zero is this function's to refuse.
    let duration = crate::model::time::parse_duration(text).map_err(|e| e.0)?;
    duration.to_std().ok().filter(|d| !d.is_zero()).ok_or_else(|| {
        format!("'{text}' is not a timeout: write a duration of more than zero, like 90s, 30m or 2h")
    })
}

/// Refuses a program that is not on PATH (or, given as a path, does not
/// exist), before anything is created for it. A relative path is left
/// for the worktree to resolve.
fn check_program(program: &str) -> Result<()> {
    let path = std::path::Path::new(program);
    let found = if program.contains('/') {
        !path.is_absolute() || path.exists()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
    };
    match found {
        true => Ok(()),
        false => Err(Error::invalid(format!(
            "cannot run {program}: no such program{}; check the command after `--`",
            if program.contains('/') { "" } else { " on PATH" }
        ))),
    }
}

/// The program a preset's shell command starts, when that can be told
/// without running a shell: the first word after any `VAR=value`
/// assignments. None for anything a shell must interpret first (a
/// variable, a subshell, a builtin such as `exec` or `cd`).
fn program_of(command: &str) -> Option<String> {
    let word = command.split_whitespace().find(|w| {
        !(w.contains('=') && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
    })?;
    let shell_syntax = word.chars().any(|c| "$`(){}[]<>|&;'\"\\*?~!".contains(c));
    const BUILTINS: [&str; 8] = ["exec", "cd", "env", "command", "nohup", "time", "eval", "."];
    (!shell_syntax && !BUILTINS.contains(&word)).then(|| word.to_string())
}

/// The prompt an agent gets for a task, with what its work builds on.
fn prompt_for(task: &Task, session: &str, builds_on: Option<&str>) -> String {
    let mut prompt = format!("{}\n", task.title);
    if !task.description.trim().is_empty() {
        prompt.push('\n');
        prompt.push_str(task.description.trim_end());
        prompt.push('\n');
    }
    prompt.push_str(&format!(
        "\nYou are git-orchestrate session {session}, working on task {id} in this worktree. \
         Commit your work with a `Closes: {id}` trailer when it is done; \
         `git orchestrate prompt` tells how to coordinate with the other agents.\n",
        id = task.id
    ));
    if let Some(text) = builds_on {
        prompt.push('\n');
        prompt.push_str(text);
    }
    prompt
}

/// A command line for display: words with spaces or quotes are quoted.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain =
                !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn open_log(dir: &AgentDir) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.log_file())
        .map_err(|e| agent_dir_failure(dir, e))
}

fn append_log(dir: &AgentDir, line: &str) -> Result<()> {
    use std::io::Write;
    open_log(dir)?.write_all(line.as_bytes()).map_err(|e| agent_dir_failure(dir, e))
}

fn agent_dir_failure(dir: &AgentDir, e: std::io::Error) -> Error {
    Error::failed(format!("cannot write the agent's files in {}: {e}", dir.path.display()))
}

fn already_running(dir: &AgentDir, name: &str) -> Error {
    match dir.read_state() {
        Some(state) => already_running_state(name, &state),
        None => Error::refusal(
            Reason::AgentStarting { agent: name.to_string() },
            format!("agent {name} is being started by another command"),
        ),
    }
}

fn already_running_state(name: &str, state: &State) -> Error {
    let pid = state.agent.map(|a| format!(" (pid {})", a.pid)).unwrap_or_default();
    let reason =
        Reason::AgentRunning { agent: name.to_string(), phase: state.phase, pid: state.agent.map(|a| a.pid) };
    Error::refusal(reason, format!("agent {name} is already {}{pid}", state.phase.as_str()))
}
