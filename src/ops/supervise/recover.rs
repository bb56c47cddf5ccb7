//! Agents whose supervisor died. The agent's run goes on without it (and
//! its wrapper records how it ends), but nobody would heartbeat for its
//! session or record its outcome. A new supervisor started with `--adopt`
//! takes over: it watches the run (or reads how it ended) and carries on
//! where the dead one stopped — heartbeats, restarts, the outcome on the
//! task. The run's wrapper starts one the moment its supervisor dies;
//! failing that (a tmux window has no wrapper, or the wrapper died too),
//! whoever looks at the agent next — `ps`, the board, `stop`, `spawn`,
//! `session end`, `dispatch`, `doctor` — does. The agent's lock makes sure
//! only one of them adopts it. The loss stays on record in the agent's
//! state, log, `ps` line and the board.

use super::super::{Context, Error, Result};
use super::agent_dir_failure;
use crate::os::process::Proc;
use crate::supervise::{AgentDir, Phase, State};
use std::time::{Duration, Instant};

/// How long the looker waits for the new supervisor to take over.
const ADOPTION_WAIT: Duration = Duration::from_secs(10);
/// How long a look waits for another process's adoption to show (a
/// process that holds the agent's lock without adopting it, stuck, must
/// not hold every look up for long).
const TAKEOVER_WAIT: Duration = Duration::from_secs(3);
/// How long a look waits for a supervisor that is concluding its agent.
const CONCLUSION_WAIT: Duration = Duration::from_secs(5);

/// Whether a supervisor is needed and missing: the agent is in a run (or
/// between runs) and its supervisor is gone. An agent that never got as
/// far as its first run is not adopted: `spawn` reported that failure.
pub(super) fn needs_adoption(state: &State) -> bool {
    matches!(state.phase, Phase::Running | Phase::Restarting | Phase::Stopping)
        && !state.supervisor.is_alive()
}

impl Context {
    /// If agent `dir` lost its supervisor, starts a new one that adopts it
    /// and waits until it has taken over (or concluded the agent). Returns
    /// whether it did; false if nothing was lost, or another process holds
    /// the agent (a live supervisor, a spawn or another adoption).
    pub(super) fn adopt_if_lost(&self, dir: &AgentDir) -> Result<bool> {
        if !dir.read_state().is_some_and(|s| needs_adoption(&s)) {
            wait_while_concluding(dir);
            return Ok(false);
        }
        // A live supervisor holds the lock for as long as it lives: taking
        // it proves the supervisor is gone and makes this adoption the only one.
        let Some(lock) = dir.try_lock().map_err(|e| agent_dir_failure(dir, e))? else {
            // Someone else (the run's wrapper, another look) is adopting it.
            wait_until_taken_over(dir);
            wait_while_concluding(dir);
            return Ok(false);
        };
        let Some(state) = dir.read_state().filter(needs_adoption) else {
            drop(lock);
            wait_while_concluding(dir);
            return Ok(false);
        };
        let adopter = self.start_supervisor(dir, &lock, true)?;
        drop(lock);
        wait_until_adopted(dir, &state, adopter)?;
        wait_while_concluding(dir);
        Ok(true)
    }

    /// [`Context::adopt_if_lost`] for a look that cannot fail (listing):
    /// an adoption that fails leaves the agent shown as lost, and says why.
    pub(super) fn adopt_quietly(&self, dir: &AgentDir) {
        if let Err(e) = self.adopt_if_lost(dir) {
            eprintln!(
                "warning: agent {} lost its supervisor and a new one could not take over: {e}",
                dir.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
            );
        }
    }
}

/// The run ended (its exit status is recorded) but the supervisor has not
/// concluded yet: a look in that moment waits for the conclusion (a few
/// seconds at most), so it never acts on an agent that is in fact over.
fn wait_while_concluding(dir: &AgentDir) {
    let deadline = Instant::now() + CONCLUSION_WAIT;
    while Instant::now() < deadline
        && dir.read_state().is_some_and(|s| s.phase == Phase::Running && s.supervisor.is_alive())
        && dir.read_exit().is_some()
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (a few seconds at most) until another process's adoption shows:
/// the state names a live supervisor, or is over.
fn wait_until_taken_over(dir: &AgentDir) {
    let deadline = Instant::now() + TAKEOVER_WAIT;
    while Instant::now() < deadline && dir.read_state().is_some_and(|s| needs_adoption(&s)) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the new supervisor `adopter` names itself in the state (the
/// run goes on) or has concluded the agent (the run had ended).
fn wait_until_adopted(dir: &AgentDir, before: &State, adopter: u32) -> Result<()> {
    let deadline = Instant::now() + ADOPTION_WAIT;
    let proc = Proc::of(adopter);
    loop {
        match dir.read_state() {
            Some(s) if s.supervisor.pid == adopter || (s.phase.is_over() && !before.phase.is_over()) => {
                return Ok(())
            }
            _ if !proc.is_alive() => {
                return Err(Error::failed(format!(
                    "the new supervisor (pid {adopter}) stopped before taking over; see {}",
                    dir.log_file().display()
                )))
            }
            _ if Instant::now() > deadline => {
                return Err(Error::failed(format!(
                    "the new supervisor (pid {adopter}) had not taken over after {}s; see {}",
                    ADOPTION_WAIT.as_secs(),
                    dir.log_file().display()
                )))
            }
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}
