//! What a spawned agent leaves on disk, under the common git directory
//! (`.git/orchestrate/agents/<name>/`), shared by every worktree:
//!
//! - `spec.json`  what to run, written by `spawn` before the supervisor starts;
//! - `state.json` what is happening, written by the supervisor (atomically);
//! - `agent.log`  the agent's stdout and stderr, appended run after run;
//! - `prompt.md`  the task's prompt, when the agent was given one;
//! - `stop`       who asked the agent to stop, and the grace period;
//! - `exit`       how the current run ended, written by the run's wrapper
//!   (see [`wrapper`]) the moment it ends, so the outcome survives the
//!   supervisor;
//! - `lock`       held (flock) by the supervisor for as long as it lives.
//!
//! Pids only mean something on this machine, so this state is local, not
//! in the refs; the outcome of a run is recorded on the session and the
//! task in the refs.

pub mod wrapper;

use crate::model::time::Timestamp;
use crate::os::process::Proc;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What to run, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// The command as the user wrote it, for display.
    pub display: String,
    pub worktree: PathBuf,
    /// The main working tree (`ORCHESTRATE_REPO`).
    pub repo: PathBuf,
    pub task: Option<String>,
    /// How many times a failed run is started again.
    pub restarts: u32,
    /// Feed the prompt file on stdin (else stdin is /dev/null).
    pub prompt_on_stdin: bool,
    /// The session that spawned the agent, told of the outcome.
    pub spawner: Option<String>,
    /// Run in a window of this tmux session instead of in the background.
    pub tmux: Option<String>,
    /// First delay before a restart; doubles each time.
    pub backoff_ms: u64,
    /// Stop the agent once it has been going this long (all runs).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Stop the agent once a run has written nothing for this long.
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The supervisor is starting the agent.
    Starting,
    Running,
    /// The last run failed; the next starts after a backoff.
    Restarting,
    /// Someone asked it to stop; waiting for it to go.
    Stopping,
    /// Finished: the agent exited 0.
    Exited,
    /// Finished: the last allowed run failed.
    Failed,
    /// Finished: stopped on request.
    Stopped,
    /// Finished: stopped for running too long, or silent too long.
    TimedOut,
}

impl Phase {
    pub fn is_over(self) -> bool {
        matches!(self, Phase::Exited | Phase::Failed | Phase::Stopped | Phase::TimedOut)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Restarting => "restarting",
            Phase::Stopping => "stopping",
            Phase::Exited => "exited",
            Phase::Failed => "failed",
            Phase::Stopped => "stopped",
            Phase::TimedOut => "timed_out",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "ended".to_string(),
        }
    }
}

impl From<std::process::ExitStatus> for Exit {
    fn from(status: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        Exit { code: status.code(), signal: status.signal() }
    }
}

/// The supervisor's account of an agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    pub task: Option<String>,
    pub command: String,
    pub phase: Phase,
    pub supervisor: Proc,
    /// The current (or last) run; its pid is also its process group.
    pub agent: Option<Proc>,
    pub restarts: u32,
    pub max_restarts: u32,
    pub started_at: Timestamp,
    /// When the current (or last) run started.
    pub run_started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub exit: Option<Exit>,
    #[serde(default)]
    pub stopped_by: Option<String>,
    #[serde(default)]
    pub tmux: Option<String>,
    /// Why it timed out ("no output for 5m"), when it did.
    #[serde(default)]
    pub timed_out: Option<String>,
    /// Supervisors that died while the agent was not over, each replaced
    /// by a new one that adopted the agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_supervisors: Vec<LostSupervisor>,
    /// Processes of the agent that could not be stopped (still alive after
    /// SIGKILL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub survivors: Vec<u32>,
}

/// A supervisor found dead while its agent was not over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LostSupervisor {
    pub pid: u32,
    /// When its loss was noticed (and a new supervisor took over).
    pub noticed_at: Timestamp,
}

/// Someone asked the agent to stop: the supervisor sends SIGTERM to its
/// process group, and SIGKILL after the grace period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopRequest {
    pub by: String,
    pub grace_ms: u64,
}

impl StopRequest {
    pub fn grace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.grace_ms)
    }
}

/// One agent's folder.
#[derive(Debug, Clone)]
pub struct AgentDir {
    pub path: PathBuf,
}

impl AgentDir {
    /// The folder of every agent of the repository whose common git
    /// directory is `common`.
    pub fn root(common: &Path) -> PathBuf {
        common.join("orchestrate").join("agents")
    }

    pub fn new(common: &Path, name: &str) -> AgentDir {
        AgentDir { path: Self::root(common).join(name) }
    }

    pub fn spec_file(&self) -> PathBuf {
        self.path.join("spec.json")
    }

    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.path.join("agent.log")
    }

    pub fn prompt_file(&self) -> PathBuf {
        self.path.join("prompt.md")
    }

    pub fn stop_file(&self) -> PathBuf {
        self.path.join("stop")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.path.join("lock")
    }

    /// Where the current run's wrapper leaves its exit status.
    pub fn exit_file(&self) -> PathBuf {
        self.path.join("exit")
    }

    /// How the current run ended, if its wrapper said.
    pub fn read_exit(&self) -> Option<Exit> {
        read_exit(&self.exit_file())
    }

    pub fn read_spec(&self) -> std::io::Result<Spec> {
        read_json(&self.spec_file())
    }

    pub fn write_spec(&self, spec: &Spec) -> std::io::Result<()> {
        write_json(&self.spec_file(), spec)
    }

    /// The state, if the supervisor has written one.
    pub fn read_state(&self) -> Option<State> {
        read_json(&self.state_file()).ok()
    }

    pub fn write_state(&self, state: &State) -> std::io::Result<()> {
        write_json(&self.state_file(), state)
    }

    /// The stop asked for, if any.
    pub fn stop_requested(&self) -> Option<StopRequest> {
        read_json(&self.stop_file()).ok()
    }

    pub fn request_stop(&self, request: &StopRequest) -> std::io::Result<()> {
        write_json(&self.stop_file(), request)
    }

    /// Takes the agent's lock without waiting: None if someone holds it.
    pub fn try_lock(&self) -> std::io::Result<Option<File>> {
        crate::os::lock(&self.lock_file(), false)
    }

    /// The last `max_lines` lines of the log (at most 4 KiB of it).
    pub fn log_tail(&self, max_lines: usize) -> String {
        let Ok(mut file) = File::open(self.log_file()) else { return String::new() };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(max_lines)..].join("\n")
    }
}

/// The lock dispatchers take to count running agents and start one, so
/// that together they never run more than their --max.
pub fn dispatch_lock_file(common: &Path) -> PathBuf {
    AgentDir::root(common).join("dispatch.lock")
}

/// Every agent folder, by name.
pub fn all(common: &Path) -> Vec<AgentDir> {
    let Ok(entries) = std::fs::read_dir(AgentDir::root(common)) else { return Vec::new() };
    let mut dirs: Vec<AgentDir> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| AgentDir { path: e.path() })
        .collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    dirs
}

/// Records how a run ended (see [`AgentDir::exit_file`]).
pub fn write_exit(path: &Path, exit: &Exit) -> std::io::Result<()> {
    write_json(path, exit)
}

/// Reads an exit file: the wrapper's JSON, or the bare exit code a tmux
/// pane's shell writes.
pub fn read_exit(path: &Path) -> Option<Exit> {
    let text = std::fs::read_to_string(path).ok()?;
    match text.trim().parse::<i32>() {
        Ok(code) => Some(Exit { code: Some(code), signal: None }),
        Err(_) => serde_json::from_str(&text).ok(),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes through a temporary file and a rename, so readers never see
/// half a file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(value).expect("plain data serialises"))?;
    std::fs::rename(&tmp, path)
}
