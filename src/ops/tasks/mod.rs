//! The task queue: add, list, show, edit, claim, note and finish tasks.
//!
//! Every change is one compare-and-swap update of the tasks collection
//! (`store.tasks()`), computed from the view it replaces. That is what
//! makes `claim_next` atomic: two claimers may pick the same task from the
//! same view, but only one of their commits can replace it; the other
//! re-reads and picks again.
//!
//! One module per use: adding and editing (`edit`), listing and showing
//! (`list`), claiming and the queue order (`claim`), finishing (`finish`),
//! notes and records (`notes`), `assign`, `retry`, `import`. This module
//! keeps the types they share and the helpers that find tasks by prefix.

mod assign;
mod claim;
mod edit;
mod finish;
mod import;
mod list;
mod notes;
mod retry;

pub use crate::store::tasks::TaskSummary;
pub use import::{Imported, ImportedTask};

use super::{Context, Error, Reason, Result};
use crate::model::ids::{IdPrefix, TaskId};
use crate::model::task::{readiness, Readiness, Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::model::Invalid;
use crate::store::tasks::{Found, TaskTable, Written};
use crate::store::{Corrupt, Event};
use serde::Serialize;
use std::collections::{btree_map, BTreeMap, BTreeSet, HashMap};

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
        let view = self.store.tasks().read()?;
        Ok(resolve(&view, &prefix)?.id)
    }

    /// One task as stored, without its history (cheaper than `show_task`).
    pub fn load_task(&self, id: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let view = self.store.tasks().read()?;
        resolve(&view, &prefix)
    }

    /// One task as stored, without its history (which `show_task` walks).
    pub(crate) fn task_document(&self, id: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let view = self.store.tasks().read()?;
        resolve(&view, &prefix)
    }
}

/// The outcome that stores `task` (and its index entries) as one event.
fn write_task(view: &TaskTable<'_>, event: Event, task: Task) -> Result<Written<Task>> {
    let mut writes = view.writes(event);
    writes.save(&task)?;
    Ok(writes.write(task)?)
}

fn parse_prefixes(inputs: &[String]) -> Result<Vec<IdPrefix>> {
    Ok(inputs.iter().map(|s| IdPrefix::parse(s)).collect::<Result<Vec<_>, Invalid>>()?)
}

/// Finds the one task a prefix names. An exact id wins over longer ones.
fn resolve(view: &TaskTable<'_>, prefix: &IdPrefix) -> Result<Task> {
    match view.find(prefix)? {
        Found::Task(task) => Ok(*task),
        Found::Missing => Err(Error::invalid(format!(
            "no task {prefix}: see `git orchestrate task list --all` for the ids there are"
        ))),
        Found::Ambiguous { count, some } => Err(Error::invalid(format!(
            "{prefix} is ambiguous: it matches {count} tasks ({}); give more digits",
            join_ids(&some)
        ))),
    }
}

fn resolve_all(view: &TaskTable<'_>, prefixes: &[IdPrefix]) -> Result<Vec<TaskId>> {
    let mut ids = Vec::new();
    for prefix in prefixes {
        let task = resolve(view, prefix)?;
        if !ids.contains(&task.id) {
            ids.push(task.id);
        }
    }
    Ok(ids)
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

    fn readiness(&mut self, view: &TaskTable<'_>, status: TaskStatus, deps: &[TaskId]) -> Result<Readiness> {
        if status != TaskStatus::Open {
            return Ok(Readiness::NotOpen);
        }
        for dep in deps {
            if !self.known.contains_key(dep) {
                let s = match view.closed_status(dep)? {
                    Some(s) => Some(s),
                    // Not closed: it may be open but outside this listing.
                    None => view.open_status(dep)?,
                };
                self.known.insert(dep.clone(), s);
            }
        }
        Ok(readiness(status, deps, |d| self.known.get(d).copied().flatten()))
    }
}

/// One new id per digest (see [`TaskId::first_free`]), unused in the
/// store and among each other.
fn fresh_ids(view: &TaskTable<'_>, digests: &[String]) -> Result<Vec<TaskId>> {
    let mut taken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut ids = Vec::new();
    for digest in digests {
        let shard = digest[..2].to_string();
        let existing = match taken.entry(shard.clone()) {
            btree_map::Entry::Occupied(known) => known.into_mut(),
            btree_map::Entry::Vacant(slot) => slot.insert(view.ids_in_shard(&shard)?),
        };
        let id = TaskId::first_free(digest, existing.iter().map(String::as_str))
            .ok_or_else(|| no_free_id(&shard))?;
        existing.insert(id.hex().to_string());
        ids.push(id);
    }
    Ok(ids)
}

/// Every id a new task's digest allows in `shard` is taken (a new random
/// digest, on the next try, picks other ones).
fn no_free_id(shard: &str) -> Error {
    let message = format!("no free task id in shard {shard}: try again");
    Error::refusal(Reason::NoFreeTaskId { shard: shard.to_string() }, message)
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
