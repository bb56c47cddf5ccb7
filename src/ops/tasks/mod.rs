//! The task queue: add, list, show, edit, claim, note and finish tasks.
//!
//! Every change is one compare-and-swap update of `refs/orchestrate/tasks`,
//! computed from the snapshot it replaces. That is what makes `claim_next`
//! atomic: two claimers may pick the same task from the same snapshot, but
//! only one of their commits can replace it; the other re-reads and picks
//! again.

mod assign;
mod import;
mod retry;
mod table;

pub use import::{Imported, ImportedTask};
pub use table::{index_problems, rebuild_index, TaskSummary, TaskTable, TaskWriter};

use super::{Context, Error, Reason, Result};
use crate::model::ids::{digest_from, IdPrefix, TaskId};
use crate::model::names::{validate_name, validate_text};
use crate::model::task::{
    find_cycle, readiness, task_path, validate_labels, validate_note, validate_priority, validate_progress,
    validate_title, Readiness, Task, TaskSpec, TaskStatus, MAX_DEPENDENCIES, MAX_DESCRIPTION_BYTES,
};
use crate::model::time::{format_duration, Timestamp};
use crate::model::Invalid;
use crate::store::{refs, Change, Corrupt, Entry, Event, Outcome, Snapshot, StoreError};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// A task as listed: its summary and its computed readiness.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: TaskSummary,
    pub ready: bool,
    pub readiness: Readiness,
}

/// Result of a listing: the tasks that could be read, and the documents
/// that could not (reported, never fatal).
#[derive(Debug, Default, Serialize)]
pub struct TaskListing {
    pub tasks: Vec<TaskView>,
    pub corrupt: Vec<Corrupt>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub ready: bool,
    pub status: Option<TaskStatus>,
    /// Only tasks this session holds.
    pub assignee: Option<String>,
    /// With `assignee`: also the open tasks the lead assigned to it.
    pub include_assigned: bool,
    pub role: Option<String>,
    /// Include done, failed and cancelled tasks.
    pub closed: bool,
}

/// What `task list` asks for, as a person or an agent words it.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub ready: bool,
    /// A status name: open, claimed, done, failed, cancelled.
    pub status: Option<String>,
    /// Only the acting session's tasks.
    pub mine: bool,
    pub role: Option<String>,
    /// Include finished tasks.
    pub all: bool,
}

/// One event in a task's history, read from the commit chain.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub summary: String,
    pub commit: String,
}

/// Everything `task show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: Task,
    pub ready: bool,
    pub readiness: Readiness,
    pub history: Vec<HistoryEntry>,
}

/// Changes for `task edit`; `None` or empty leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<u8>,
    pub kind: Option<String>,
    pub role: Option<String>,
    pub add_after: Vec<String>,
    pub remove_after: Vec<String>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    /// Clear the role.
    pub clear_role: bool,
}

/// How a task is finished or handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Done,
    Failed,
    Released,
    Cancelled,
}

impl Finish {
    pub fn verb(self) -> &'static str {
        match self {
            Finish::Done => "done",
            Finish::Failed => "fail",
            Finish::Released => "release",
            Finish::Cancelled => "cancel",
        }
    }

    /// The action as a phrase for messages ("nothing to mark done").
    fn phrase(self) -> &'static str {
        match self {
            Finish::Done => "mark done",
            Finish::Failed => "mark failed",
            Finish::Released => "release",
            Finish::Cancelled => "cancel",
        }
    }

    fn status(self) -> TaskStatus {
        match self {
            Finish::Done => TaskStatus::Done,
            Finish::Failed => TaskStatus::Failed,
            Finish::Released => TaskStatus::Open,
            Finish::Cancelled => TaskStatus::Cancelled,
        }
    }
}

impl Context {
    /// The full id of the task `input` names (any unique prefix).
    pub fn resolve_task_id(&self, input: &str) -> Result<TaskId> {
        let prefix = IdPrefix::parse(input)?;
        let snap = self.store.snapshot(refs::TASKS)?;
        Ok(resolve(&snap, &prefix)?.1.id)
    }

    /// Records that `commit` worked on a task (a `Task:` trailer). Any
    /// task, finished or not, keeps the list of its commits.
    pub fn record_commit(&self, id: &str, commit: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let by = self.actor();
        let now = self.now();
        self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            if task.commits.iter().any(|c| c == commit) {
                return Ok(Outcome::Unchanged(task));
            }
            task.commits.push(commit.to_string());
            task.updated_at = now;
            let summary = format!("commit {} on {} by {by}", &commit[..commit.len().min(10)], task.id);
            write_task(snap, Event::new("commit", &by, now, summary), task)
        })
    }

    /// Records on a task where its work landed (`land`), with a note.
    pub(crate) fn record_landing(&self, id: &str, landed: &crate::model::land::Landed) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let by = self.actor();
        let now = self.now();
        self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            task.landed = Some(landed.clone());
            task.updated_at = now;
            let short = &landed.commit[..landed.commit.len().min(10)];
            let summary = format!("land {} on {} at {short} by {by}", task.id, landed.into);
            write_task(snap, Event::new("land", &by, now, summary), task)
        })
    }

    /// Leaves a note on a task whatever its state (what a failed landing
    /// check printed, for whoever picks the work up again).
    pub(crate) fn note_task_anyway(&self, id: &str, text: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        validate_note(text)?;
        let by = self.actor();
        let now = self.now();
        self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            task.add_note(&by, text, now);
            task.updated_at = now;
            let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
            write_task(snap, Event::new("note", &by, now, summary), task)
        })
    }

    pub fn add_task(&self, spec: TaskSpec, after: &[String]) -> Result<Task> {
        let spec = spec.normalized();
        spec.validate()?;
        let after = parse_prefixes(after)?;
        let by = self.actor();
        let now = self.now();
        let digest = digest_from(fastrand::u128(..));
        self.store.update(refs::TASKS, |snap| {
            let deps = resolve_all(snap, &after)?;
            let id = unused_id(snap, &digest)?;
            let task = spec.clone().into_task(id, deps, &by, now);
            let summary = format!("add {} by {by}: {}", task.id, task.title);
            write_task(snap, Event::new("add", &by, now, summary), task)
        })
    }

    /// The filter a list request means; "mine" needs a session.
    pub fn task_filter(&self, req: &ListRequest) -> Result<TaskFilter> {
        let status = req.status.as_deref().map(TaskStatus::parse).transpose()?;
        let assignee = match req.mine {
            true => Some(self.require_session("listing your own tasks (--mine)")?.to_string()),
            false => None,
        };
        Ok(TaskFilter {
            ready: req.ready,
            status,
            assignee,
            include_assigned: req.mine,
            role: req.role.clone(),
            closed: req.all,
        })
    }

    pub fn list_tasks(&self, filter: &TaskFilter) -> Result<TaskListing> {
        if let Some(role) = &filter.role {
            validate_name("role", role)?;
        }
        let snap = self.store.snapshot(refs::TASKS)?;
        let mut table = TaskTable::new(&snap);
        let (mut tasks, mut corrupt) = table.open_summaries()?;
        let closed_status = filter.status.filter(|s| s.is_closed());
        if filter.closed || closed_status.is_some() {
            let (closed, bad) = match closed_status {
                // Only the tasks of that status are read, found by the index.
                Some(status) if !filter.closed => table.closed_tasks_with(status)?,
                _ => table.closed_tasks()?,
            };
            tasks.extend(closed.iter().map(TaskSummary::from));
            corrupt.extend(bad);
        }
        let mut statuses = Statuses::new(&tasks);
        let mut views = Vec::new();
        for task in tasks {
            let keep = filter.status.is_none_or(|s| task.status == s)
                && filter.assignee.as_ref().is_none_or(|a| {
                    task.assignee.as_ref() == Some(a)
                        || (filter.include_assigned && task.assigned_to.as_ref() == Some(a))
                })
                && filter.role.as_ref().is_none_or(|r| task.role.as_ref() == Some(r));
            if !keep {
                continue;
            }
            let readiness = statuses.readiness(&mut table, task.status, &task.depends_on)?;
            let ready = readiness == Readiness::Ready;
            if !filter.ready || ready {
                views.push(TaskView { task, ready, readiness });
            }
        }
        views.sort_by(|a, b| {
            let closed = |v: &TaskView| v.task.status.is_closed();
            closed(a).cmp(&closed(b)).then_with(|| a.task.queue_order(&b.task))
        });
        Ok(TaskListing { tasks: views, corrupt })
    }

    /// One task as stored, without its history (cheaper than `show_task`).
    pub fn load_task(&self, id: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let snap = self.store.snapshot(refs::TASKS)?;
        Ok(resolve(&snap, &prefix)?.1)
    }

    pub fn show_task(&self, id: &str) -> Result<TaskDetail> {
        let prefix = IdPrefix::parse(id)?;
        let snap = self.store.snapshot(refs::TASKS)?;
        let (_, task) = resolve(&snap, &prefix)?;
        let mut table = TaskTable::new(&snap);
        let readiness = Statuses::new(&[]).readiness(&mut table, task.status, &task.depends_on)?;
        let history = self.task_history(&task.id)?;
        Ok(TaskDetail { ready: readiness == Readiness::Ready, readiness, history, task })
    }

    /// One task as stored, without its history (which `show_task` walks).
    pub(crate) fn task_document(&self, id: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let snap = self.store.snapshot(refs::TASKS)?;
        Ok(resolve(&snap, &prefix)?.1)
    }

    /// The events that touched one task, oldest first. The walk stops at
    /// the task's creation, so it costs the task's lifetime, not the queue's.
    fn task_history(&self, id: &TaskId) -> Result<Vec<HistoryEntry>> {
        let mut history = Vec::new();
        self.store.history(refs::TASKS, |commit| {
            let event = Event::from_commit(commit);
            if !event.entities.iter().any(|e| e == id.as_str()) {
                return true;
            }
            let created = event.action == "add";
            history.push(HistoryEntry {
                at: event.at,
                actor: event.actor,
                action: event.action,
                summary: event.summary,
                commit: commit.id().to_string(),
            });
            !created
        })?;
        history.reverse();
        Ok(history)
    }

    /// Applies `edit`; returns the task and whether anything changed.
    pub fn edit_task(&self, id: &str, mut edit: TaskEdit) -> Result<(Task, bool)> {
        let prefix = IdPrefix::parse(id)?;
        edit.kind = edit.kind.as_deref().map(crate::model::names::folded);
        validate_edit(&edit)?;
        let add_after = parse_prefixes(&edit.add_after)?;
        let remove_after = parse_prefixes(&edit.remove_after)?;
        let by = self.actor();
        let now = self.now();
        self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            let before = task.clone();
            apply_fields(&mut task, &edit);
            for dep in resolve_all(snap, &remove_after)? {
                task.depends_on.retain(|d| d != &dep);
            }
            let added: Vec<TaskId> =
                resolve_all(snap, &add_after)?.into_iter().filter(|d| !task.depends_on.contains(d)).collect();
            if !added.is_empty() {
                refuse_cycle(snap, &task.id, &added)?;
                task.depends_on.extend(added);
                if task.depends_on.len() > MAX_DEPENDENCIES {
                    return Err(Error::invalid(format!(
                        "{} would have {} dependencies; the limit is {MAX_DEPENDENCIES}",
                        task.id,
                        task.depends_on.len()
                    )));
                }
            }
            if task == before {
                return Ok(Outcome::Unchanged((task, false)));
            }
            task.updated_at = now;
            let event = Event::new("edit", &by, now, format!("edit {} by {by}", task.id));
            Ok(match write_task(snap, event, task)? {
                Outcome::Write(change, task) => Outcome::Write(change, (task, true)),
                Outcome::Unchanged(task) => Outcome::Unchanged((task, false)),
            })
        })
    }

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
        self.store.update(refs::TASKS, |snap| {
            let (_, task) = resolve(snap, &prefix)?;
            match task.status {
                TaskStatus::Claimed if only_open => {
                    let holder = task.assignee.clone().unwrap_or_else(|| "someone".to_string());
                    let message = format!("{} is already claimed by {holder}", task.id);
                    let reason = Reason::Held { task: task.id.to_string(), holder, since: task.claimed_at };
                    return Err(Error::refusal(reason, message));
                }
                TaskStatus::Claimed if task.assignee.as_deref() == Some(me) => {
                    return Ok(Outcome::Unchanged(task));
                }
                // Only a task someone else holds needs its holder looked up.
                TaskStatus::Claimed if self.holder_is_live(task.assignee.as_deref())? => return Err(held_by_other(&task, now)),
                TaskStatus::Claimed => {}
                status if status.is_closed() => {
                    return Err(Error::refused(format!("{} is already {status}: nothing to claim", task.id)));
                }
                _ => {}
            }
            if !force {
                let mut table = TaskTable::new(snap);
                let readiness = Statuses::new(&[]).readiness(&mut table, task.status, &task.depends_on)?;
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
            claim(snap, task, me, now)
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
        self.store.update(refs::TASKS, |snap| {
            let mut table = TaskTable::new(snap);
            let (tasks, corrupt) = table.open_summaries()?;
            let mut statuses = Statuses::new(&tasks);
            let mut ready = Vec::new();
            let (mut waiting, mut claimed) = (0, 0);
            for task in tasks.iter().filter(|t| role.is_none_or(|r| t.role.as_deref() == Some(r))) {
                match statuses.readiness(&mut table, task.status, &task.depends_on)? {
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
                match snap.get::<Task>(&task_path(&candidate.id, false)) {
                    Ok(Some(task)) if task.assignee.as_deref() == Some(me.as_str()) => continue,
                    Ok(Some(task)) => return claim(snap, task, &me, now),
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

    pub fn note_task(&self, id: &str, text: &str, progress: Option<u8>) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        validate_note(text)?;
        if let Some(p) = progress {
            validate_progress(p)?;
        }
        let by = self.actor();
        let now = self.now();
        let me = self.session().map(str::to_string);
        self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            if task.status.is_closed() {
                return Err(Error::refused(format!(
                    "{} is {}: notes go on tasks that are not finished (add a new task for follow-up work)",
                    task.id, task.status
                )));
            }
            if let Some(p) = progress {
                if task.assignee.is_none() || task.assignee != me {
                    let holder = match &task.assignee {
                        Some(a) => format!("{a}, who holds it"),
                        None => "the session that claims it".to_string(),
                    };
                    return Err(Error::refused(format!(
                        "only {holder} reports progress on {}; leave the note without --progress",
                        task.id
                    )));
                }
                task.progress = p;
            }
            task.add_note(&by, text, now);
            task.updated_at = now;
            let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
            write_task(snap, Event::new("note", &by, now, summary), task)
        })
    }

    /// Finishes a task on behalf of `by` (a session name, or a human's name
    /// with `force`).
    pub(crate) fn finish_task_as(
        &self,
        by: &str,
        id: &str,
        how: Finish,
        note: Option<&str>,
        force: bool,
    ) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        if let Some(text) = note {
            validate_note(text)?;
        }
        let me = Some(by.to_string());
        let now = self.now();
        // Whether this call is the one that failed it (not a repeat).
        let mut failed_now = false;
        let task = self.store.update(refs::TASKS, |snap| {
            failed_now = false;
            let (_, mut task) = resolve(snap, &prefix)?;
            let mine = me.is_some() && task.assignee == me;
            // Saying it twice is not an error: a retried `done` succeeds,
            // and a note given with it is still recorded.
            let repeat = task.status == how.status()
                && how != Finish::Released
                && (mine || force || how == Finish::Cancelled);
            if repeat {
                let Some(text) = note else { return Ok(Outcome::Unchanged(task)) };
                task.add_note(by, text, now);
                task.updated_at = now;
                let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
                return write_task(snap, Event::new("note", by, now, summary), task);
            }
            check_finish(&task, how, mine, force, now)?;
            failed_now = how == Finish::Failed;
            task.status = how.status();
            task.updated_at = now;
            match how {
                Finish::Released => {
                    task.assignee = None;
                    task.claimed_at = None;
                }
                Finish::Done => {
                    task.progress = 100;
                    task.closed_at = Some(now);
                }
                Finish::Failed | Finish::Cancelled => task.closed_at = Some(now),
            }
            if let Some(text) = note {
                task.add_note(by, text, now);
            }
            let summary = format!("{} {} by {by}", how.verb(), task.id);
            write_task(snap, Event::new(how.verb(), by, now, summary), task)
        })?;
        if failed_now {
            self.notify(super::notify::Notice::TaskFailed(&task));
        }
        Ok(task)
    }
}

/// The outcome that stores `task` (and its index entries) as one event.
fn write_task(snap: &Snapshot<'_>, event: Event, task: Task) -> Result<Outcome<Task>> {
    let mut writer = TaskWriter::new(snap, Change::new(event.entity(task.id.as_str())));
    writer.save(&task)?;
    Ok(writer.finish()?.write(task))
}

fn claim(snap: &Snapshot<'_>, mut task: Task, me: &str, now: Timestamp) -> Result<Outcome<Task>> {
    task.status = TaskStatus::Claimed;
    task.assignee = Some(me.to_string());
    task.assigned_to = None;
    task.claimed_at = Some(now);
    task.updated_at = now;
    let summary = format!("claim {} by {me}", task.id);
    write_task(snap, Event::new("claim", me, now, summary), task)
}

fn check_finish(task: &Task, how: Finish, mine: bool, force: bool, now: Timestamp) -> Result<()> {
    if task.status.is_closed() {
        return Err(Error::refused(format!(
            "{} is already {}: nothing to {}",
            task.id,
            task.status,
            how.phrase()
        )));
    }
    let claimed = task.status == TaskStatus::Claimed;
    match how {
        Finish::Released if !claimed => {
            Err(Error::refused(format!("{} is not claimed: nothing to release", task.id)))
        }
        Finish::Cancelled if !claimed => Ok(()),
        _ if mine || force => Ok(()),
        _ if claimed => Err(held_by_other(task, now)),
        _ => Err(Error::refused(format!(
            "{} is open and not yours: claim it first (`git orchestrate task claim {}`), or pass --force",
            task.id, task.id
        ))),
    }
}

fn held_by_other(task: &Task, now: Timestamp) -> Error {
    let holder = task.assignee.clone().unwrap_or_else(|| "another session".to_string());
    let since = task.claimed_at.map(|t| format!(" for {}", format_duration(now - t))).unwrap_or_default();
    let message = format!("{} is claimed by {holder}{since}", task.id);
    Error::refusal(Reason::Held { task: task.id.to_string(), holder, since: task.claimed_at }, message)
}

fn validate_edit(edit: &TaskEdit) -> Result<()> {
    if let Some(t) = &edit.title {
        validate_title(t)?;
    }
    if let Some(d) = &edit.description {
        validate_text("description", d, MAX_DESCRIPTION_BYTES)?;
    }
    if let Some(p) = edit.priority {
        validate_priority(p)?;
    }
    if let Some(k) = &edit.kind {
        validate_name("task type", k)?;
    }
    if let Some(r) = &edit.role {
        validate_name("role", r)?;
    }
    validate_labels(&edit.add_labels)?;
    Ok(())
}

fn apply_fields(task: &mut Task, edit: &TaskEdit) {
    if let Some(t) = &edit.title {
        task.title = t.trim().to_string();
    }
    if let Some(d) = &edit.description {
        task.description = d.clone();
    }
    if let Some(p) = edit.priority {
        task.priority = p;
    }
    if let Some(k) = &edit.kind {
        task.kind = k.clone();
    }
    if let Some(r) = &edit.role {
        task.role = Some(r.clone());
    }
    if edit.clear_role {
        task.role = None;
    }
    task.labels.retain(|l| !edit.remove_labels.contains(l));
    for label in &edit.add_labels {
        if !task.labels.contains(label) {
            task.labels.push(label.clone());
        }
    }
}

fn refuse_cycle(snap: &Snapshot<'_>, id: &TaskId, added: &[TaskId]) -> Result<()> {
    let mut failure = None;
    let cycle = find_cycle(id, added, |t| match load_by_id(snap, t) {
        Ok(task) => task.map(|t| t.depends_on).unwrap_or_default(),
        Err(e) => {
            failure.get_or_insert(e);
            Vec::new()
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    match cycle {
        None => Ok(()),
        Some(path) => Err(Error::invalid(format!(
            "that would make a dependency cycle: {}; drop one of these dependencies (`--no-after`)",
            join_ids(&path).replace(", ", " -> ")
        ))),
    }
}

fn parse_prefixes(inputs: &[String]) -> Result<Vec<IdPrefix>> {
    Ok(inputs.iter().map(|s| IdPrefix::parse(s)).collect::<Result<Vec<_>, Invalid>>()?)
}

/// Reads one task by its full id, wherever it lives.
fn load_by_id(snap: &Snapshot<'_>, id: &TaskId) -> Result<Option<Task>> {
    for closed in [false, true] {
        if let Some(task) = snap.get::<Task>(&task_path(id, closed))? {
            return Ok(Some(task));
        }
    }
    Ok(None)
}

/// Finds the one task a prefix names. An exact id wins over longer ones.
fn resolve(snap: &Snapshot<'_>, prefix: &IdPrefix) -> Result<(Entry, Task)> {
    let mut matches: Vec<(TaskId, Entry)> = Vec::new();
    for dir in ["open", "closed"] {
        let shards = match prefix.shard() {
            Some(shard) => vec![shard.to_string()],
            None => snap.subdirs(dir)?.into_iter().filter(|s| s.starts_with(prefix.hex())).collect(),
        };
        for shard in shards {
            for entry in snap.list(&format!("{dir}/{shard}"))? {
                if let Some(id) = id_of_entry(&entry).filter(|id| prefix.matches(id)) {
                    matches.push((id, entry));
                }
            }
        }
    }
    let exact = matches.iter().position(|(id, _)| id.hex() == prefix.hex());
    let (_, entry) = match (exact, matches.len()) {
        (Some(i), _) => matches.swap_remove(i),
        (None, 1) => matches.remove(0),
        (None, 0) => {
            return Err(Error::invalid(format!(
                "no task {prefix}: see `git orchestrate task list --all` for the ids there are"
            )))
        }
        (None, n) => {
            let some: Vec<TaskId> = matches.iter().take(5).map(|(id, _)| id.clone()).collect();
            return Err(Error::invalid(format!(
                "{prefix} is ambiguous: it matches {n} tasks ({}); give more digits",
                join_ids(&some)
            )));
        }
    };
    let task = snap.decode::<Task>(&entry)?.map_err(StoreError::from)?;
    Ok((entry, task))
}

fn resolve_all(snap: &Snapshot<'_>, prefixes: &[IdPrefix]) -> Result<Vec<TaskId>> {
    let mut ids = Vec::new();
    for prefix in prefixes {
        let (_, task) = resolve(snap, prefix)?;
        if !ids.contains(&task.id) {
            ids.push(task.id);
        }
    }
    Ok(ids)
}

fn id_of_entry(entry: &Entry) -> Option<TaskId> {
    let stem = entry.name.strip_suffix(".json")?;
    TaskId::try_from(stem.to_string()).ok()
}

/// A fresh id for a task: see [`TaskId::first_free`].
fn unused_id(snap: &Snapshot<'_>, digest: &str) -> Result<TaskId> {
    let shard = &digest[..2];
    let mut existing = BTreeSet::new();
    for dir in ["open", "closed"] {
        for entry in snap.list(&format!("{dir}/{shard}"))? {
            if let Some(id) = id_of_entry(&entry) {
                existing.insert(id.hex().to_string());
            }
        }
    }
    TaskId::first_free(digest, existing.iter().map(String::as_str))
        .ok_or_else(|| Error::refused(format!("no free task id in shard {shard}: try again")))
}

/// Dependency statuses: open ones from the listing at hand, closed ones
/// from the closed index, each looked up once.
struct Statuses {
    known: HashMap<TaskId, Option<TaskStatus>>,
}

impl Statuses {
    fn new(open: &[TaskSummary]) -> Statuses {
        Statuses { known: open.iter().map(|t| (t.id.clone(), Some(t.status))).collect() }
    }

    fn readiness(
        &mut self,
        table: &mut TaskTable<'_, '_>,
        status: TaskStatus,
        deps: &[TaskId],
    ) -> Result<Readiness> {
        if status != TaskStatus::Open {
            return Ok(Readiness::NotOpen);
        }
        for dep in deps {
            if !self.known.contains_key(dep) {
                let s = match table.closed_status(dep)? {
                    Some(s) => Some(s),
                    // Not closed: it may be open but outside this listing.
                    None => table.open_status(dep)?,
                };
                self.known.insert(dep.clone(), s);
            }
        }
        Ok(readiness(status, deps, |d| self.known.get(d).copied().flatten()))
    }
}

fn join_ids(ids: &[TaskId]) -> String {
    ids.iter().map(TaskId::as_str).collect::<Vec<_>>().join(", ")
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}
