//! `dispatch`: keeps up to N agents busy with ready tasks, highest
//! priority first; as tasks finish and their dependents become ready, it
//! spawns agents for those.
//!
//! A task is taken with a claim that only an *open* task passes, so of
//! several dispatchers (or a dispatcher and a human) exactly one gets it,
//! and only the winner spawns.

use super::super::tasks::{Finish, TaskFilter};
use super::super::{Context, Error, Result};
use super::{SpawnOptions, Spawned};
use crate::model::names::validate_name;
use crate::model::task::TaskStatus;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct DispatchOptions {
    /// Most agents running at once (all of this repository's, however
    /// they were started).
    pub max: usize,
    /// Only tasks of these roles (all tasks when empty).
    pub roles: Vec<String>,
    /// Keep watching for work instead of stopping when all is done.
    pub watch: bool,
    pub restarts: u32,
    /// Preset for every task (else the task role's preset).
    pub agent: Option<String>,
    /// Command for every task (else a preset).
    pub command: Vec<String>,
    /// How often to look for work and finished agents.
    pub poll: Duration,
}

/// Something `dispatch` did or saw.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DispatchEvent {
    Spawned(Spawned),
    /// A task it could not start an agent for (and why); reported once.
    Skipped {
        task: String,
        reason: String,
    },
    /// An agent it spawned is over.
    Finished {
        session: String,
        task: Option<String>,
        state: String,
        exit: Option<String>,
    },
}

impl Context {
    /// Runs the dispatch loop, calling `report` for every event. Returns
    /// when nothing is ready and nothing runs (never, with `watch`).
    pub fn dispatch(&self, opts: &DispatchOptions, mut report: impl FnMut(&DispatchEvent)) -> Result<()> {
        if opts.max == 0 {
            return Err(Error::invalid("--max 0 would never run anything: give 1 or more"));
        }
        for role in &opts.roles {
            validate_name("role", role)?;
        }
        if let Some(preset) = &opts.agent {
            validate_name("agent preset", preset)?;
        }
        let mut skipped = BTreeSet::new();
        let mut mine: BTreeSet<String> = BTreeSet::new();
        loop {
            let agents = self.list_agents();
            for agent in agents.iter().filter(|a| !a.is_active()) {
                if !mine.remove(&agent.session) {
                    continue;
                }
                report(&DispatchEvent::Finished {
                    session: agent.session.clone(),
                    task: agent.task.clone(),
                    state: agent.state.clone(),
                    exit: agent.exit.map(|e| e.describe()),
                });
            }
            let mut running = agents.iter().filter(|a| a.is_active() && a.state != "lost").count();
            let mut waiting = false;
            if running < opts.max {
                let ready = self.list_tasks(&TaskFilter { ready: true, ..TaskFilter::default() })?;
                for view in ready.tasks.iter().filter(|v| v.task.status == TaskStatus::Open) {
                    let task = &view.task;
                    if !opts.roles.is_empty() && !task.role.as_ref().is_some_and(|r| opts.roles.contains(r)) {
                        continue;
                    }
                    if running >= opts.max {
                        waiting = true;
                        break;
                    }
                    let id = task.id.to_string();
                    if skipped.contains(&id) {
                        continue;
                    }
                    let name = agent_name(task.role.as_deref(), &id);
                    let spawn = SpawnOptions {
                        name: name.clone(),
                        task: Some(id.clone()),
                        role: None,
                        restarts: opts.restarts,
                        agent: opts.agent.clone(),
                        command: opts.command.clone(),
                        tmux: false,
                    };
                    // Nothing to run it with: say so once, leave it for a human.
                    if opts.command.is_empty()
                        && opts.agent.is_none()
                        && task.role.as_deref().and_then(|r| self.role_agent(r)).is_none()
                    {
                        let role = task.role.as_deref().unwrap_or("none");
                        report(&DispatchEvent::Skipped {
                            task: id.clone(),
                            reason: format!(
                                "no agent for role {role}: set `git config orchestrate.role.{role}.agent <preset>`, \
                                 or run dispatch with --agent PRESET"
                            ),
                        });
                        skipped.insert(id);
                        continue;
                    }
                    match self.claim_open_task_as(&name, &id) {
                        Ok(_) => {}
                        Err(Error::Refused(_)) => continue, // another dispatcher was first
                        Err(e) => return Err(e),
                    }
                    match self.spawn(spawn) {
                        Ok(spawned) => {
                            running += 1;
                            mine.insert(name);
                            report(&DispatchEvent::Spawned(spawned));
                        }
                        Err(e) => {
                            let why = e.to_string();
                            let _ = self.finish_task_as(&name, &id, Finish::Released, None, true);
                            report(&DispatchEvent::Skipped { task: id.clone(), reason: why });
                            skipped.insert(id);
                        }
                    }
                }
            } else {
                waiting = true;
            }
            if !opts.watch && running == 0 && !waiting {
                return Ok(());
            }
            std::thread::sleep(opts.poll);
        }
    }
}

/// The session name for a task's agent: its role (or `agent`) and the id.
fn agent_name(role: Option<&str>, id: &str) -> String {
    format!("{}-{}", role.unwrap_or("agent"), id)
}
