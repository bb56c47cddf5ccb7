//! `dispatch`: keeps up to N agents busy with ready tasks, highest
//! priority first; as tasks finish and their dependents become ready, it
//! spawns agents for those.
//!
//! A task is taken with a claim that only an *open* task passes, so of
//! several dispatchers (or a dispatcher and a human) exactly one gets it,
//! and only the winner spawns. Only agents working on tasks count towards
//! `--max` (a monitor or other daemon spawned without a task does not), and
//! every dispatcher counts every other's: they share one limit.

use super::super::tasks::{Finish, TaskFilter, TaskView};
use super::super::{Context, Error, Reason, Result};
use super::hold::{Hold, HoldMode};
use super::{check_program, AgentState, SpawnOptions, Spawned, MAX_RESTARTS};
use crate::model::names::validate_name;
use crate::model::task::TaskStatus;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct DispatchOptions {
    /// Most agents working on tasks at once (all of this repository's,
    /// however they were started).
    pub max: usize,
    /// Only tasks of these roles (all tasks when empty).
    pub roles: Vec<String>,
    /// Keep watching for work instead of stopping when all is done.
    pub watch: bool,
    /// One pass: start what fits now and return (what the MCP tool does).
    pub once: bool,
    pub restarts: u32,
    /// Preset for every task (else the task role's preset).
    pub agent: Option<String>,
    /// Command for every task (else a preset).
    pub command: Vec<String>,
    /// How often to look for work and finished agents.
    pub poll: Duration,
    /// Stop each agent after this long (else its preset's).
    pub timeout: Option<Duration>,
    /// Stop each agent after this long without output (else its preset's).
    pub idle_timeout: Option<Duration>,
}

/// Something `dispatch` did or saw.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DispatchEvent {
    Spawned(Spawned),
    /// A task it could not start an agent for (and why); reported once.
    Skipped {
        task: String,
        /// Why, in words.
        reason: String,
        /// When coordination said no: its reason and facts, as a refused
        /// command's `--json` error carries them.
        #[serde(skip_serializing_if = "Option::is_none")]
        refusal: Option<Box<Reason>>,
    },
    /// Nothing can run the tasks of this role (no preset, or its program
    /// is missing); reported once, before any of them is touched. They
    /// stay open.
    CannotRun {
        role: Option<String>,
        reason: String,
        tasks: Vec<String>,
    },
    /// An agent it spawned is over.
    Finished {
        session: String,
        task: Option<String>,
        state: AgentState,
        exit: Option<String>,
    },
    /// Dispatchers were put on hold (`stop --all`, `dispatch --drain`):
    /// what runs finishes, nothing new starts.
    Held(Hold),
    /// The hold was lifted (`dispatch --resume`, or a new `dispatch`).
    Resumed,
}

impl Context {
    /// Runs the dispatch loop, calling `report` for every event. Returns
    /// when nothing is ready and nothing runs (never, with `watch`, unless
    /// drained), or after one pass with `once`. A new dispatch lifts any
    /// hold on dispatchers.
    pub fn dispatch(&self, opts: &DispatchOptions, mut report: impl FnMut(&DispatchEvent)) -> Result<()> {
        self.check_dispatch(opts)?;
        if self.resume_dispatchers()?.is_some() {
            report(&DispatchEvent::Resumed);
        }
        let mut pass = Pass::default();
        loop {
            self.report_finished(&mut pass.mine, &mut report);
            let hold = self.dispatch_hold();
            if hold != pass.hold {
                match &hold {
                    Some(h) => report(&DispatchEvent::Held(h.clone())),
                    None => report(&DispatchEvent::Resumed),
                }
                pass.hold = hold.clone();
            }
            let full = match &hold {
                Some(_) => false,
                None => self.dispatch_pass(opts, &mut pass, &mut report)?,
            };
            let drained = hold.as_ref().is_some_and(|h| h.mode == HoldMode::Drain) && pass.mine.is_empty();
            let idle = !full && pass.mine.is_empty() && (hold.is_some() || self.running_task_agents() == 0);
            if opts.once || drained || (!opts.watch && idle) {
                return Ok(());
            }
            std::thread::sleep(opts.poll);
        }
    }

    /// `dispatch --drain`: holds every dispatcher (each lets its agents
    /// finish, then exits) and waits until no agent works on a task.
    pub fn drain_dispatchers(&self, poll: Duration, mut report: impl FnMut(&DispatchEvent)) -> Result<()> {
        report(&DispatchEvent::Held(self.hold_dispatchers(HoldMode::Drain)?));
        let mut running: BTreeSet<String> = self
            .list_agents()
            .into_iter()
            .filter(|a| a.task.is_some() && a.is_active() && a.state != AgentState::Lost)
            .map(|a| a.session)
            .collect();
        while !running.is_empty() {
            std::thread::sleep(poll);
            self.report_finished(&mut running, &mut report);
        }
        Ok(())
    }

    /// Reports (and forgets) the agents of `mine` that are over.
    fn report_finished(&self, mine: &mut BTreeSet<String>, report: &mut impl FnMut(&DispatchEvent)) {
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
    }

    /// Starts agents for ready tasks until --max is reached; returns
    /// whether it stopped because the limit was reached.
    fn dispatch_pass(
        &self,
        opts: &DispatchOptions,
        pass: &mut Pass,
        report: &mut impl FnMut(&DispatchEvent),
    ) -> Result<bool> {
        let lock_file = crate::supervise::dispatch_lock_file(self.store.common_dir());
        let ready = self.list_tasks(&TaskFilter { ready: true, ..TaskFilter::default() })?;
        let wanted: Vec<&TaskView> = ready
            .tasks
            .iter()
            .filter(|v| v.task.status == TaskStatus::Open)
            .filter(|v| opts.roles.is_empty() || v.task.role.as_ref().is_some_and(|r| opts.roles.contains(r)))
            .collect();
        self.report_unrunnable_roles(opts, &wanted, pass, report);
        for view in wanted {
            let task = &view.task;
            let id = task.id.to_string();
            if pass.skipped.contains(&id) || pass.unrunnable.contains_key(&task.role) {
                continue;
            }
            let mut spawn = SpawnOptions {
                name: agent_name(task.role.as_deref(), &id),
                task: Some(id.clone()),
                restarts: opts.restarts,
                agent: opts.agent.clone(),
                command: opts.command.clone(),
                timeout: opts.timeout,
                idle_timeout: opts.idle_timeout,
                ..SpawnOptions::default()
            };
            // Counting and starting under one lock keeps every
            // dispatcher together within --max.
            let _turn = crate::os::lock(&lock_file, true)
                .map_err(|e| Error::failed(format!("cannot lock {}: {e}", lock_file.display())))?;
            if self.running_task_agents() >= opts.max {
                return Ok(true);
            }
            // Dependents start from their dependencies' work.
            match self.start_point_for(&id, &task.depends_on, &spawn.name) {
                Ok(Some(start)) => {
                    spawn.builds_on = Some(start.describe());
                    spawn.base = Some(start.commit);
                    pass.held.remove(&id);
                }
                Ok(None) => {
                    pass.held.remove(&id);
                }
                Err(Error::Refused(refusal)) => {
                    let reason = refusal.message;
                    if pass.held.get(&id) != Some(&reason) {
                        let refusal = Some(refusal.reason);
                        report(&DispatchEvent::Skipped { task: id.clone(), reason: reason.clone(), refusal });
                        pass.held.insert(id, reason);
                    }
                    continue;
                }
                Err(e) => {
                    report(&DispatchEvent::Skipped {
                        task: id.clone(),
                        reason: e.to_string(),
                        refusal: None,
                    });
                    pass.skipped.insert(id);
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
                    pass.mine.insert(name);
                    report(&DispatchEvent::Spawned(spawned));
                }
                Err(e) => {
                    // Put the task back as it was; say why once.
                    let _ = self.finish_task_as(&name, &id, Finish::Released, None, true);
                    report(&DispatchEvent::Skipped {
                        task: id.clone(),
                        reason: e.to_string(),
                        refusal: None,
                    });
                    pass.skipped.insert(id);
                }
            }
        }
        Ok(false)
    }

    /// Finds, before any task is touched, the roles nothing can run (no
    /// preset, or a preset whose program is missing) and says so once per
    /// role, naming its ready tasks; those tasks are left open.
    fn report_unrunnable_roles(
        &self,
        opts: &DispatchOptions,
        wanted: &[&TaskView],
        pass: &mut Pass,
        report: &mut impl FnMut(&DispatchEvent),
    ) {
        let probe =
            SpawnOptions { agent: opts.agent.clone(), command: opts.command.clone(), ..Default::default() };
        let mut found: BTreeMap<Option<String>, (String, Vec<String>)> = BTreeMap::new();
        for view in wanted {
            let role = view.task.role.clone();
            if pass.unrunnable.contains_key(&role) || pass.runnable.contains(&role) {
                if let Some((_, tasks)) = found.get_mut(&role) {
                    tasks.push(view.task.id.to_string());
                }
                continue;
            }
            match self.preset_for(&probe, role.as_deref()) {
                Ok(_) => {
                    pass.runnable.insert(role);
                }
                Err(e) => {
                    pass.unrunnable.insert(role.clone(), e.to_string());
                    found.insert(role, (e.to_string(), vec![view.task.id.to_string()]));
                }
            }
        }
        for (role, (reason, tasks)) in found {
            report(&DispatchEvent::CannotRun { role, reason, tasks });
        }
    }

    /// Agents of this repository working on a task now. Neither a lost
    /// one (nothing supervises it, and `ps` shows it) nor one spawned
    /// without a task (a monitor, a daemon) takes a place.
    fn running_task_agents(&self) -> usize {
        self.list_agents()
            .iter()
            .filter(|a| a.task.is_some() && a.is_active() && a.state != AgentState::Lost)
            .count()
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

/// What one dispatcher remembers from pass to pass.
#[derive(Default)]
struct Pass {
    /// The agents it started that are not over yet.
    mine: BTreeSet<String>,
    /// Tasks it could not spawn for (reported once).
    skipped: BTreeSet<String>,
    /// Tasks whose dependencies' work does not merge, with the reason last
    /// said: said again only when it changes (the branches moved).
    held: BTreeMap<String, String>,
    /// Roles nothing can run, and why (reported once).
    unrunnable: BTreeMap<Option<String>, String>,
    /// Roles known to have something to run.
    runnable: BTreeSet<Option<String>>,
    /// The hold last seen, to report changes once.
    hold: Option<Hold>,
}

/// The session name for a task's agent: its role (or `agent`) and the id.
fn agent_name(role: Option<&str>, id: &str) -> String {
    format!("{}-{}", role.unwrap_or("agent"), id)
}
