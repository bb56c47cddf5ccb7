//! Reading and writing the tasks collection, with its index kept in step.
//!
//! Layout of `refs/orchestrate/tasks` (see `docs/data-model.md`):
//!
//! ```text
//! open/<shard>/<id>.json     a task not yet finished (the source of truth)
//! closed/<shard>/<id>.json   a done, failed or cancelled task
//! index/open-<d>.json        summaries of the open tasks whose id starts with hex digit <d>
//! index/closed-<d>.json      the final status of each closed task whose id starts with <d>
//! ```
//!
//! The index exists because the queue's hot queries (the ready list and
//! `claim --next`) would otherwise read one blob per open task, and loose
//! object reads cost tens of microseconds each. With it they read at most
//! 16 summary blobs plus at most 16 closed-status blobs for dependencies. Every write updates the task and its index entries in the same
//! commit, so they cannot disagree. An index blob that is missing or corrupt
//! is rebuilt from the task blobs (reads fall back to scanning them), so the
//! index is derived data and never the only copy of anything.

use crate::model::ids::TaskId;
use crate::model::task::{Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::model::FORMAT;
use crate::store::{Change, Corrupt, Document, Snapshot, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What the index keeps of an open task: everything the queue queries and
/// the list shows, without the description, notes and commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: TaskId,
    pub title: String,
    pub status: TaskStatus,
    pub priority: u8,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<TaskId>,
    #[serde(default)]
    pub assignee: Option<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub progress: u8,
}

impl From<&Task> for TaskSummary {
    fn from(t: &Task) -> TaskSummary {
        TaskSummary {
            id: t.id.clone(),
            title: t.title.clone(),
            status: t.status,
            priority: t.priority,
            kind: t.kind.clone(),
            role: t.role.clone(),
            labels: t.labels.clone(),
            depends_on: t.depends_on.clone(),
            assignee: t.assignee.clone(),
            created_at: t.created_at,
            progress: t.progress,
        }
    }
}

impl TaskSummary {
    /// The order `claim --next` and listings use: priority, then age, then id.
    pub fn queue_order(&self, other: &TaskSummary) -> std::cmp::Ordering {
        (self.priority, self.created_at, &self.id).cmp(&(other.priority, other.created_at, &other.id))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OpenIndex {
    format: u32,
    tasks: BTreeMap<TaskId, TaskSummary>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ClosedIndex {
    format: u32,
    tasks: BTreeMap<TaskId, TaskStatus>,
}

impl Document for Task {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Document for OpenIndex {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Document for ClosedIndex {
    fn format(&self) -> u32 {
        self.format
    }
}

fn open_index_path(digit: char) -> String {
    format!("index/open-{digit}.json")
}

fn closed_index_path(digit: char) -> String {
    format!("index/closed-{digit}.json")
}

fn digit_of(id: &TaskId) -> char {
    id.hex().chars().next().unwrap_or('0')
}

const HEX_DIGITS: [char; 16] =
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

/// A read view of the tasks collection at one snapshot.
pub struct TaskTable<'s, 'r> {
    snap: &'s Snapshot<'r>,
    closed: HashMap<char, Option<ClosedIndex>>,
}

impl<'s, 'r> TaskTable<'s, 'r> {
    pub fn new(snap: &'s Snapshot<'r>) -> Self {
        TaskTable { snap, closed: HashMap::new() }
    }

    /// Summaries of every open or claimed task, from the index where it is
    /// sound and from the task blobs where it is not.
    pub fn open_summaries(&self) -> Result<(Vec<TaskSummary>, Vec<Corrupt>), StoreError> {
        let mut summaries = Vec::new();
        let mut corrupt = Vec::new();
        let mut shards: Option<Vec<String>> = None;
        for digit in HEX_DIGITS {
            match self.read_open_index(digit)? {
                Some(Ok(index)) => summaries.extend(index.tasks.into_values()),
                found => {
                    if let Some(Err(c)) = found {
                        corrupt.push(c);
                    }
                    let shards = match &shards {
                        Some(s) => s,
                        None => shards.insert(self.snap.subdirs("open")?),
                    };
                    let (tasks, bad) = self.scan_open(digit, shards)?;
                    summaries.extend(tasks.iter().map(TaskSummary::from));
                    corrupt.extend(bad);
                }
            }
        }
        Ok((summaries, corrupt))
    }

    fn read_open_index(&self, digit: char) -> Result<Option<Result<OpenIndex, Corrupt>>, StoreError> {
        match self.snap.entry(&open_index_path(digit))? {
            None => Ok(None),
            Some(entry) => Ok(Some(self.snap.decode::<OpenIndex>(&entry)?)),
        }
    }

    /// Reads the task blobs of the open shards starting with `digit`.
    fn scan_open(&self, digit: char, shards: &[String]) -> Result<(Vec<Task>, Vec<Corrupt>), StoreError> {
        let mut tasks = Vec::new();
        let mut corrupt = Vec::new();
        for shard in shards.iter().filter(|s| s.starts_with(digit)) {
            let entries = self.snap.list(&format!("open/{shard}"))?;
            let (t, c) = self.snap.decode_all::<Task>(&entries)?;
            tasks.extend(t);
            corrupt.extend(c);
        }
        Ok((tasks, corrupt))
    }

    /// Every closed task, read from the task blobs (for `--all`).
    pub fn closed_tasks(&self) -> Result<(Vec<Task>, Vec<Corrupt>), StoreError> {
        let entries = self.snap.list_all("closed")?;
        self.snap.decode_all(&entries)
    }

    /// The status of an open task read from its blob, if it is open.
    pub fn open_status(&self, id: &TaskId) -> Result<Option<TaskStatus>, StoreError> {
        Ok(match self.snap.get::<Task>(&crate::model::task::task_path(id, false)) {
            Ok(task) => task.map(|t| t.status),
            Err(StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        })
    }

    /// The final status of a closed task, or `None` if no closed task has
    /// this id.
    pub fn closed_status(&mut self, id: &TaskId) -> Result<Option<TaskStatus>, StoreError> {
        let digit = digit_of(id);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.closed.entry(digit) {
            let index = match self.snap.entry(&closed_index_path(digit))? {
                Some(entry) => self.snap.decode::<ClosedIndex>(&entry)?.ok(),
                None => None,
            };
            slot.insert(index);
        }
        if let Some(Some(index)) = self.closed.get(&digit) {
            return Ok(index.tasks.get(id).copied());
        }
        // No usable index for this shard: ask the task blob itself.
        Ok(match self.snap.get::<Task>(&crate::model::task::task_path(id, true)) {
            Ok(task) => task.map(|t| t.status),
            Err(StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        })
    }
}

/// Accumulates task writes into one [`Change`], updating the index entries
/// of every task it saves.
pub struct TaskWriter<'s, 'r> {
    snap: &'s Snapshot<'r>,
    change: Change,
    open: BTreeMap<char, OpenIndex>,
    closed: BTreeMap<char, ClosedIndex>,
}

impl<'s, 'r> TaskWriter<'s, 'r> {
    pub fn new(snap: &'s Snapshot<'r>, change: Change) -> Self {
        TaskWriter { snap, change, open: BTreeMap::new(), closed: BTreeMap::new() }
    }

    /// Stores `task` (moving its blob between `open/` and `closed/` if its
    /// status says so) and updates the index.
    pub fn save(&mut self, task: &Task) -> Result<(), StoreError> {
        let closed = task.status.is_closed();
        let path = task.path();
        let other = crate::model::task::task_path(&task.id, !closed);
        self.change.remove(other).put(path, task);

        let open = self.open_index(digit_of(&task.id))?;
        if closed {
            open.tasks.remove(&task.id);
            self.closed_index(digit_of(&task.id))?.tasks.insert(task.id.clone(), task.status);
        } else {
            // Closed is final: a task never moves back to open/.
            open.tasks.insert(task.id.clone(), TaskSummary::from(task));
        }
        Ok(())
    }

    /// The change with every touched index blob written.
    pub fn finish(self) -> Change {
        let mut change = self.change;
        for (digit, index) in &self.open {
            change.put(open_index_path(*digit), index);
        }
        for (digit, index) in &self.closed {
            change.put(closed_index_path(*digit), index);
        }
        change
    }

    fn open_index(&mut self, digit: char) -> Result<&mut OpenIndex, StoreError> {
        if !self.open.contains_key(&digit) {
            let table = TaskTable::new(self.snap);
            let index = match table.read_open_index(digit)? {
                Some(Ok(index)) => index,
                // Missing or corrupt: rebuild this part from the task blobs.
                _ => {
                    let shards = self.snap.subdirs("open")?;
                    let (tasks, _) = table.scan_open(digit, &shards)?;
                    let tasks = tasks.iter().map(|t| (t.id.clone(), TaskSummary::from(t))).collect();
                    OpenIndex { format: FORMAT, tasks }
                }
            };
            self.open.insert(digit, index);
        }
        Ok(self.open.entry(digit).or_default())
    }

    fn closed_index(&mut self, digit: char) -> Result<&mut ClosedIndex, StoreError> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.closed.entry(digit) {
            let index = match self.snap.entry(&closed_index_path(digit))? {
                Some(entry) => self.snap.decode::<ClosedIndex>(&entry)?.ok(),
                None => None,
            };
            let index = match index {
                Some(index) => index,
                // Missing or corrupt: rebuild this part from the task blobs.
                None => {
                    let mut tasks = BTreeMap::new();
                    for shard in self.snap.subdirs("closed")?.iter().filter(|s| s.starts_with(digit)) {
                        let entries = self.snap.list(&format!("closed/{shard}"))?;
                        let (closed, _) = self.snap.decode_all::<Task>(&entries)?;
                        tasks.extend(closed.into_iter().map(|t| (t.id, t.status)));
                    }
                    ClosedIndex { format: FORMAT, tasks }
                }
            };
            slot.insert(index);
        }
        Ok(self.closed.entry(digit).or_default())
    }
}
