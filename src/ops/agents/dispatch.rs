//! `dispatch`: keeps up to N agents busy with ready tasks, highest
//! priority first; as tasks finish and their dependents become ready, it
//! spawns agents for those.
//!
//! A task is taken with a claim that only an *open* task passes, so of
//! several dispatchers (or a dispatcher and a human) exactly one gets it,
//! and only the winner spawns.

use super::super::tasks::{Finish, TaskFilter};
use super::super::{Context, Error, Result};
use super::{check_program, AgentState, SpawnOptions, Spawned, MAX_RESTARTS};
use crate::model::names::validate_name;
use crate::model::task::TaskStatus;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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
        state: AgentState,
        exit: Option<String>,
    },
}

impl Context {
    /// Runs the dispatch loop, calling `report` for every event. Returns
    /// when nothing is ready and nothing runs (never, with `watch`).
    pub fn dispatch(&self, opts: &DispatchOptions, mut report: impl FnMut(&DispatchEvent)) -> Result<()> {
        self.check_dispatch(opts)?;
        let lock_file = crate::agents::dispatch_lock_file(self.store.common_dir());
        let mut skipped = BTreeSet::new();
        // Tasks whose dependencies' work does not merge, with the reason last
        // said: said again only when it changes (the branches moved).
        let mut held: BTreeMap<String, String> = BTreeMap::new();
        let mut mine: BTreeSet<String> = BTreeSet::new();
        loop {
            for agent in self.list_agents().iter().filter(|a| !a.is_active()) {
                if mine.remove(&agent.session) {
                    report(&DispatchEvent::Finished {
                        session: agent.session.clone(),
                        task: agent.task.clone(),
                        state: agent.state,
                        exit: agent.exit.map(|e| e.describe()),
                    });
                }
            }
            let ready = self.list_tasks(&TaskFilter { ready: true, ..TaskFilter::default() })?;
            let mut full = false;
            for view in ready.tasks.iter().filter(|v| v.task.status == TaskStatus::Open) {
                let task = &view.task;
                let id = task.id.to_string();
                let wanted =
                    opts.roles.is_empty() || task.role.as_ref().is_some_and(|r| opts.roles.contains(r));
                if !wanted || skipped.contains(&id) {
                    continue;
                }
                let mut spawn = SpawnOptions {
                    name: agent_name(task.role.as_deref(), &id),
                    task: Some(id.clone()),
                    restarts: opts.restarts,
                    agent: opts.agent.clone(),
                    command: opts.command.clone(),
                    ..SpawnOptions::default()
                };
                // Nothing to run it with: say so once, leave it for a human.
                if let Err(e) = self.preset_for(&spawn, task.role.as_deref()) {
                    report(&DispatchEvent::Skipped { task: id.clone(), reason: e.to_string() });
                    skipped.insert(id);
                    continue;
                }
                // Counting and starting under one lock keeps every
                // dispatcher together within --max.
                let _turn = crate::agents::lock(&lock_file, true)
                    .map_err(|e| Error::failed(format!("cannot lock {}: {e}", lock_file.display())))?;
                if self.running_agents() >= opts.max {
                    full = true;
                    break;
                }
                // Dependents start from their dependencies' work.
                match self.start_point_for(&id, &task.depends_on, &spawn.name) {
                    Ok(Some(start)) => {
                        spawn.builds_on = Some(start.describe());
                        spawn.base = Some(start.commit);
                        held.remove(&id);
                    }
                    Ok(None) => {
                        held.remove(&id);
                    }
                    Err(Error::Refused(refusal)) => {
                        let reason = refusal.message;
                        if held.get(&id) != Some(&reason) {
                            report(&DispatchEvent::Skipped { task: id.clone(), reason: reason.clone() });
                            held.insert(id, reason);
                        }
                        continue;
                    }
                    Err(e) => {
                        report(&DispatchEvent::Skipped { task: id.clone(), reason: e.to_string() });
                        skipped.insert(id);
                        continue;
                    }
                }
                let name = spawn.name.clone();
                match self.claim_open_task_as(&name, &id) {
                    Ok(_) => {}
                    Err(Error::Refused(_)) => continue, // another dispatcher was first
                    Err(e) => return Err(e),
                }
                match self.spawn(spawn) {
                    Ok(spawned) => {
                        mine.insert(name);
                        report(&DispatchEvent::Spawned(spawned));
                    }
                    Err(e) => {
                        // Put the task back as it was; say why once.
                        let _ = self.finish_task_as(&name, &id, Finish::Released, None, true);
                        report(&DispatchEvent::Skipped { task: id.clone(), reason: e.to_string() });
                        skipped.insert(id);
                    }
                }
            }
            if !opts.watch && !full && mine.is_empty() && self.running_agents() == 0 {
                return Ok(());
            }
            std::thread::sleep(opts.poll);
        }
    }

    /// Agents of this repository running now (a lost one is not counted:
    /// nothing supervises it, and `ps` shows it).
    fn running_agents(&self) -> usize {
        self.list_agents().iter().filter(|a| a.is_active() && a.state != AgentState::Lost).count()
    }

    /// Everything about the options that can be wrong, before any task is
    /// touched.
    fn check_dispatch(&self, opts: &DispatchOptions) -> Result<()> {
        if opts.max == 0 {
            return Err(Error::invalid("--max 0 would never run anything: give 1 or more"));
        }
        if opts.restarts > MAX_RESTARTS {
            return Err(Error::invalid(format!("--restart {}: at most {MAX_RESTARTS}", opts.restarts)));
        }
        if let Some(program) = opts.command.first() {
            check_program(program)?;
        }
        self.backoff()?;
        // What each role would run (or the one preset or command for all).
        let probe =
            SpawnOptions { agent: opts.agent.clone(), command: opts.command.clone(), ..Default::default() };
        if opts.agent.is_some() || !opts.command.is_empty() {
            self.preset_for(&probe, None)?;
        }
        for role in &opts.roles {
            validate_name("role", role)?;
            self.preset_for(&probe, Some(role))?;
        }
        Ok(())
    }
}

/// The session name for a task's agent: its role (or `agent`) and the id.
fn agent_name(role: Option<&str>, id: &str) -> String {
    format!("{}-{}", role.unwrap_or("agent"), id)
}
