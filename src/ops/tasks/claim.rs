//! Claiming tasks: one by id, or the best ready one (`claim --next`), in
//! queue order, taking over tasks whose holder went stale. Each claim is
//! one compare-and-swap, so of claimers racing for a task exactly one wins.

use super::{join_ids, resolve, write_task, Statuses, TaskSummary};
use crate::model::ids::IdPrefix;
use crate::model::names::validate_name;
use crate::model::task::{Readiness, Task, TaskStatus};
use crate::model::time::{format_duration, Timestamp};
use crate::ops::{Context, Error, Reason, Result};
use crate::store::tasks::{TaskTable, Written};
use crate::store::{Event, StoreError};

impl Context {
    /// Claims one task by id for the acting session.
    pub fn claim_task(&self, id: &str, force: bool) -> Result<Task> {
        let acting = self.acting_session("claiming a task")?;
        let me = &acting.name;
        let task = self.claim_task_as(me, id, force)?;
        self.register_on_first_use(&acting)?;
        Ok(task)
    }

    /// Claims one task by id for session `me`. A task held by a session
    /// that has gone stale (or ended) can be taken over.
    pub fn claim_task_as(&self, me: &str, id: &str, force: bool) -> Result<Task> {
        self.claim_as(me, id, force, false)
    }

    /// Claims a task for `me` only if it is open: unlike
    /// [`Context::claim_task_as`], a task `me` already holds is refused, so
    /// of several callers claiming for the same name exactly one wins.
    pub fn claim_open_task_as(&self, me: &str, id: &str) -> Result<Task> {
        self.claim_as(me, id, false, true)
    }

    fn claim_as(&self, me: &str, id: &str, force: bool, only_open: bool) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let now = self.now();
        self.store.tasks().update(|view| {
            let task = resolve(view, &prefix)?;
            match task.status {
                TaskStatus::Claimed if only_open => {
                    let holder = task.assignee.clone().unwrap_or_else(|| "someone".to_string());
                    let message = format!("{} is already claimed by {holder}", task.id);
                    let reason = Reason::Held { task: task.id.to_string(), holder, since: task.claimed_at };
                    return Err(Error::refusal(reason, message));
                }
                TaskStatus::Claimed if task.assignee.as_deref() == Some(me) => {
                    return Ok(Written::Unchanged(task));
                }
                // Only a task someone else holds needs its holder looked up.
                TaskStatus::Claimed if self.holder_is_live(task.assignee.as_deref())? => return Err(held_by_other(&task, now)),
                TaskStatus::Claimed => {}
                status if status.is_closed() => {
                    let message = format!("{} is already {status}: nothing to claim", task.id);
                    let reason = Reason::TaskClosed { task: task.id.to_string(), status, action: "claim".into() };
                    return Err(Error::refusal(reason, message));
                }
                _ => {}
            }
            if !force {
                let readiness = Statuses::new(&[]).readiness(view, task.status, &task.depends_on)?;
                match &readiness {
                    Readiness::Waiting { on } => {
                        let message = format!("{} is not ready: it waits on {}", task.id, join_ids(on));
                        let waits_on = on.iter().map(ToString::to_string).collect();
                        return Err(Error::refusal(Reason::Waiting { task: task.id.to_string(), waits_on }, message));
                    }
                    Readiness::Blocked { by } => {
                        let message = format!(
                            "{} is blocked: it depends on {}, which will never be done (failed, cancelled or missing)",
                            task.id,
                            join_ids(by)
                        );
                        let blocked_by = by.iter().map(ToString::to_string).collect();
                        return Err(Error::refusal(Reason::Blocked { task: task.id.to_string(), blocked_by }, message));
                    }
                    _ => {}
                }
            }
            claim(view, task, me, now)
        })
    }

    /// Claims the best ready task: highest priority, then oldest, optionally
    /// of one role. Atomic under any number of concurrent claimers.
    pub fn claim_next(&self, role: Option<&str>) -> Result<Task> {
        if let Some(role) = role {
            validate_name("role", role)?;
        }
        let acting = self.acting_session("claiming a task")?;
        let me = &acting.name;
        let task = self.claim_next_as(me, role)?;
        self.register_on_first_use(&acting)?;
        Ok(task)
    }

    fn claim_next_as(&self, me: &str, role: Option<&str>) -> Result<Task> {
        if let Some(role) = role {
            validate_name("role", role)?;
        }
        let me = me.to_string();
        let now = self.now();
        let live = self.live_sessions()?;
        self.store.tasks().update(|view| {
            let (tasks, corrupt) = view.open_summaries()?;
            let mut statuses = Statuses::new(&tasks);
            let mut ready = Vec::new();
            let (mut waiting, mut claimed) = (0, 0);
            for task in tasks.iter().filter(|t| role.is_none_or(|r| t.role.as_deref() == Some(r))) {
                match statuses.readiness(view, task.status, &task.depends_on)? {
                    Readiness::Ready => ready.push(task),
                    // Held by a session that went stale or ended: up for grabs.
                    Readiness::NotOpen
                        if task.status == TaskStatus::Claimed
                            && task.assignee.as_deref().and_then(|a| live.get(a)) == Some(&false) =>
                    {
                        ready.push(task)
                    }
                    Readiness::NotOpen => claimed += 1,
                    Readiness::Waiting { .. } | Readiness::Blocked { .. } => waiting += 1,
                }
            }
            // What the lead gave me first; what it gave another live
            // session is that one's.
            let given_to_other =
                |t: &&TaskSummary| t.assigned_to.as_deref().is_some_and(|a| a != me && live.get(a) == Some(&true));
            ready.retain(|t| !given_to_other(t));
            let given_to_me = |t: &&TaskSummary| t.assigned_to.as_deref() == Some(me.as_str());
            ready.sort_by(|a, b| given_to_me(b).cmp(&given_to_me(a)).then_with(|| a.queue_order(b)));
            // The best one whose blob can be read: a corrupt task is skipped
            // (and reported by `task list`), never a reason to stop.
            let mut unreadable = corrupt.len();
            for candidate in ready {
                match view.get_open(&candidate.id) {
                    Ok(Some(task)) if task.assignee.as_deref() == Some(me.as_str()) => continue,
                    Ok(Some(task)) => return claim(view, task, &me, now),
                    Ok(None) | Err(StoreError::Corrupt { .. }) => unreadable += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            let scope = role.map(|r| format!(" for role {r}")).unwrap_or_default();
            let broken = match unreadable {
                0 => String::new(),
                n => format!(", {n} could not be read (see `git orchestrate task list`)"),
            };
            let message =
                format!("nothing ready{scope}: {waiting} open task(s) wait on dependencies, {claimed} claimed{broken}");
            Err(Error::refusal(Reason::NothingReady { role: role.map(str::to_string), waiting, claimed }, message))
        })
    }
}

fn claim(view: &TaskTable<'_>, mut task: Task, me: &str, now: Timestamp) -> Result<Written<Task>> {
    task.status = TaskStatus::Claimed;
    task.assignee = Some(me.to_string());
    task.assigned_to = None;
    task.claimed_at = Some(now);
    task.updated_at = now;
    let summary = format!("claim {} by {me}", task.id);
    write_task(view, Event::new("claim", me, now, summary), task)
}

pub(super) fn held_by_other(task: &Task, now: Timestamp) -> Error {
    let holder = task.assignee.clone().unwrap_or_else(|| "another session".to_string());
    let since = task.claimed_at.map(|t| format!(" for {}", format_duration(now - t))).unwrap_or_default();
    let message = format!("{} is claimed by {holder}{since}", task.id);
    Error::refusal(Reason::Held { task: task.id.to_string(), holder, since: task.claimed_at }, message)
}
