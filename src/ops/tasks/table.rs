//! Reading and writing the tasks collection, with its index kept in step.
//!
//! Layout of `refs/orchestrate/tasks` (see `docs/data-model.md`):
//!
//! ```text
//! open/<shard>/<id>.json     a task not yet finished (the source of truth)
//! closed/<shard>/<id>.json   a done, failed or cancelled task
//! index-open-<d>.json       summaries of the open tasks whose id starts with hex digit <d>
//! index-closed-<d>.json     the final status of each closed task whose id starts with <d>
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
use crate::model::task::{task_path, Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::model::FORMAT;
use crate::store::{encode, tree_id, Change, Corrupt, Document, Snapshot, StoreError};
use git2::Oid;
use serde::de::DeserializeOwned;
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub claimed_at: Option<Timestamp>,
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
            assigned_to: t.assigned_to.clone(),
            created_at: t.created_at,
            claimed_at: t.claimed_at,
            progress: t.progress,
        }
    }
}

impl TaskSummary {
    /// The order `claim --next` and listings use: priority, then age, then id.
    pub fn queue_order(&self, other: &TaskSummary) -> std::cmp::Ordering {
        crate::model::task::queue_key(self.priority, self.created_at, &self.id)
            .cmp(&crate::model::task::queue_key(other.priority, other.created_at, &other.id))
    }
}

/// One part of the index: the entries for tasks whose id starts with one
/// hex digit, and the shard trees they were taken from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct IndexDoc<T> {
    format: u32,
    /// Shard name to the tree id the entries describe.
    #[serde(default)]
    shards: BTreeMap<String, String>,
    tasks: BTreeMap<TaskId, T>,
}

impl<T: Serialize + DeserializeOwned> Document for IndexDoc<T> {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Document for Task {
    fn format(&self) -> u32 {
        self.format
    }
}

/// What one side of the collection (`open` or `closed`) indexes per task.
trait Indexed: Clone + Serialize + DeserializeOwned {
    /// `open` or `closed`: the task directory and the index name.
    const SIDE: &'static str;
    fn of(task: &Task) -> Self;
}

impl Indexed for TaskSummary {
    const SIDE: &'static str = "open";
    fn of(task: &Task) -> Self {
        TaskSummary::from(task)
    }
}

impl Indexed for TaskStatus {
    const SIDE: &'static str = "closed";
    fn of(task: &Task) -> Self {
        task.status
    }
}

fn index_path(side: &str, digit: char) -> String {
    format!("index-{side}-{digit}.json")
}

fn compact<T: Serialize>(doc: &T) -> Vec<u8> {
    // Serialising our own types cannot fail: they have string keys only.
    serde_json::to_vec(doc).unwrap_or_default()
}

fn digit_of(id: &TaskId) -> char {
    id.hex().chars().next().unwrap_or('0')
}

/// One index part as it really is: entries checked against the shard
/// trees, and the shards that are vouched for (clean and summarised).
#[derive(Debug, Clone)]
struct Part<T> {
    tasks: BTreeMap<TaskId, T>,
    shards: BTreeMap<String, Oid>,
    corrupt: Vec<Corrupt>,
}

impl<T: Indexed> Part<T> {
    /// Loads the part for `digit`, given the shard trees of its side.
    fn load(snap: &Snapshot<'_>, digit: char, actual: &BTreeMap<String, Oid>) -> Result<Part<T>, StoreError> {
        let mut part = Part { tasks: BTreeMap::new(), shards: BTreeMap::new(), corrupt: Vec::new() };
        let doc = match snap.entry(&index_path(T::SIDE, digit))? {
            None => None,
            Some(entry) => match snap.decode::<IndexDoc<T>>(&entry)? {
                Ok(doc) => Some(doc),
                Err(c) => {
                    part.corrupt.push(c);
                    None
                }
            },
        };
        let (recorded, mut entries) = match doc {
            Some(doc) => (doc.shards, doc.tasks),
            None => (BTreeMap::new(), BTreeMap::new()),
        };
        for (shard, oid) in actual.iter().filter(|(s, _)| s.starts_with(digit)) {
            if recorded.get(shard).is_some_and(|r| *r == oid.to_string()) {
                part.shards.insert(shard.clone(), *oid);
                continue;
            }
            // Not vouched for: read the shard's task blobs.
            entries.retain(|id, _| id.shard() != shard);
            let blobs = snap.list(&format!("{}/{shard}", T::SIDE))?;
            let (tasks, corrupt) = snap.decode_all::<Task>(&blobs)?;
            entries.extend(tasks.iter().map(|t| (t.id.clone(), T::of(t))));
            if corrupt.is_empty() {
                part.shards.insert(shard.clone(), *oid);
            }
            part.corrupt.extend(corrupt);
        }
        // Entries whose shard is gone are gone too.
        entries.retain(|id, _| actual.contains_key(id.shard()));
        part.tasks = entries;
        Ok(part)
    }

    fn doc(&self) -> IndexDoc<T> {
        IndexDoc {
            format: FORMAT,
            shards: self.shards.iter().map(|(s, o)| (s.clone(), o.to_string())).collect(),
            tasks: self.tasks.clone(),
        }
    }
}

/// A read view of the tasks collection at one snapshot.
pub struct TaskTable<'s, 'r> {
    snap: &'s Snapshot<'r>,
    closed_shards: Option<BTreeMap<String, Oid>>,
    closed: HashMap<char, Part<TaskStatus>>,
}

impl<'s, 'r> TaskTable<'s, 'r> {
    pub fn new(snap: &'s Snapshot<'r>) -> Self {
        TaskTable { snap, closed_shards: None, closed: HashMap::new() }
    }

    /// Summaries of every open or claimed task, from the index where it is
    /// vouched for and from the task blobs where it is not; corrupt blobs
    /// are returned apart.
    pub fn open_summaries(&self) -> Result<(Vec<TaskSummary>, Vec<Corrupt>), StoreError> {
        let actual = self.snap.subdir_ids("open")?;
        let mut summaries = Vec::new();
        let mut corrupt = Vec::new();
        for digit in HEX_DIGITS {
            let part = Part::<TaskSummary>::load(self.snap, digit, &actual)?;
            summaries.extend(part.tasks.into_values());
            corrupt.extend(part.corrupt);
        }
        Ok((summaries, corrupt))
    }

    /// How many closed tasks there are of each final status, from the
    /// closed index (and the blobs of shards it does not vouch for).
    pub fn closed_counts(&self) -> Result<BTreeMap<TaskStatus, usize>, StoreError> {
        let actual = self.snap.subdir_ids("closed")?;
        let mut counts = BTreeMap::new();
        for digit in HEX_DIGITS {
            for status in Part::<TaskStatus>::load(self.snap, digit, &actual)?.tasks.into_values() {
                *counts.entry(status).or_default() += 1;
            }
        }
        Ok(counts)
    }

    /// Every closed task, read from the task blobs (for `--all`).
    pub fn closed_tasks(&self) -> Result<(Vec<Task>, Vec<Corrupt>), StoreError> {
        let entries = self.snap.list_all("closed")?;
        self.snap.decode_all(&entries)
    }

    /// The closed tasks with one final status: their ids from the closed
    /// index, then only their blobs (`task list --status failed` and the
    /// board's failed tasks need a few of many thousands).
    pub fn closed_tasks_with(&self, status: TaskStatus) -> Result<(Vec<Task>, Vec<Corrupt>), StoreError> {
        let actual = self.snap.subdir_ids("closed")?;
        let mut tasks = Vec::new();
        let mut corrupt = Vec::new();
        for digit in HEX_DIGITS {
            let part = Part::<TaskStatus>::load(self.snap, digit, &actual)?;
            corrupt.extend(part.corrupt);
            for id in part.tasks.into_iter().filter(|(_, s)| *s == status).map(|(id, _)| id) {
                let Some(entry) = self.snap.entry(&task_path(&id, true))? else { continue };
                match self.snap.decode::<Task>(&entry)? {
                    Ok(task) => tasks.push(task),
                    Err(c) => corrupt.push(c),
                }
            }
        }
        Ok((tasks, corrupt))
    }

    /// The tree id of each shard of closed tasks. A shard whose id did not
    /// change holds the same tasks, so a long-running reader (the web
    /// board) decodes again only the shards that changed.
    pub fn closed_shard_ids(&self) -> Result<BTreeMap<String, Oid>, StoreError> {
        self.snap.subdir_ids("closed")
    }

    /// The closed tasks of one shard, read from their blobs.
    pub fn closed_tasks_in(&self, shard: &str) -> Result<(Vec<Task>, Vec<Corrupt>), StoreError> {
        let entries = self.snap.list(&format!("closed/{shard}"))?;
        self.snap.decode_all(&entries)
    }

    /// The status of an open task read from its blob, if it is open.
    pub fn open_status(&self, id: &TaskId) -> Result<Option<TaskStatus>, StoreError> {
        Ok(match self.snap.get::<Task>(&task_path(id, false)) {
            Ok(task) => task.map(|t| t.status),
            Err(StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        })
    }

    /// The final status of a closed task, or `None` if no closed task has
    /// this id (or its blob is corrupt).
    pub fn closed_status(&mut self, id: &TaskId) -> Result<Option<TaskStatus>, StoreError> {
        let digit = digit_of(id);
        if !self.closed.contains_key(&digit) {
            let actual = match &self.closed_shards {
                Some(a) => a,
                None => self.closed_shards.insert(self.snap.subdir_ids("closed")?),
            };
            let part = Part::<TaskStatus>::load(self.snap, digit, actual)?;
            self.closed.insert(digit, part);
        }
        Ok(self.closed.get(&digit).and_then(|p| p.tasks.get(id).copied()))
    }
}

const HEX_DIGITS: [char; 16] =
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

/// Accumulates task writes into one [`Change`], updating the index parts
/// of every task it saves and the shard tree ids they vouch for.
pub struct TaskWriter<'s, 'r> {
    snap: &'s Snapshot<'r>,
    change: Change,
    open: BTreeMap<char, Part<TaskSummary>>,
    closed: BTreeMap<char, Part<TaskStatus>>,
    open_shards: Option<BTreeMap<String, Oid>>,
    closed_shards: Option<BTreeMap<String, Oid>>,
    /// (side, shard) to file name to its new blob id, or `None` if removed.
    shard_edits: BTreeMap<(&'static str, String), BTreeMap<String, Option<Oid>>>,
}

impl<'s, 'r> TaskWriter<'s, 'r> {
    pub fn new(snap: &'s Snapshot<'r>, change: Change) -> Self {
        TaskWriter {
            snap,
            change,
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            open_shards: None,
            closed_shards: None,
            shard_edits: BTreeMap::new(),
        }
    }

    /// Stores `task` (moving its blob between `open/` and `closed/` if its
    /// status says so) and updates the index.
    pub fn save(&mut self, task: &Task) -> Result<(), StoreError> {
        let closed = task.status.is_closed();
        let (side, other) = if closed { ("closed", "open") } else { ("open", "closed") };
        let bytes =
            encode(task).map_err(|e| StoreError::Encode { path: task.path(), reason: e.to_string() })?;
        let oid = Oid::hash_object(git2::ObjectType::Blob, &bytes).map_err(StoreError::git("hash a task"))?;
        let name = format!("{}.json", task.id);
        let shard = task.id.shard().to_string();
        self.change.remove(task_path(&task.id, !closed)).put_bytes(task.path(), bytes);
        self.shard_edits.entry((side, shard.clone())).or_default().insert(name.clone(), Some(oid));
        self.shard_edits.entry((other, shard)).or_default().insert(name, None);

        let digit = digit_of(&task.id);
        self.open_part(digit)?.tasks.remove(&task.id);
        if closed {
            self.closed_part(digit)?.tasks.insert(task.id.clone(), task.status);
        } else {
            // A retried task moves back from closed/ (the closed part is
            // read for this write anyway, to vouch for its shard).
            self.closed_part(digit)?.tasks.remove(&task.id);
            self.open_part(digit)?.tasks.insert(task.id.clone(), TaskSummary::from(task));
        }
        Ok(())
    }

    /// The change with every touched index part written, each vouching for
    /// the shard trees this change will produce.
    pub fn finish(mut self) -> Result<Change, StoreError> {
        let edits = std::mem::take(&mut self.shard_edits);
        for ((side, shard), files) in &edits {
            let digit = shard.chars().next().unwrap_or('0');
            let new_id = self.shard_tree_after(side, shard, files)?;
            let existed = self.side_shards(side)?.contains_key(shard);
            let vouched = self.vouched(side, digit)?;
            // A shard stays vouched for only if it was clean (or new) before.
            let was_clean = !existed || vouched.contains_key(shard);
            match new_id {
                Some(id) if was_clean => vouched.insert(shard.clone(), id),
                _ => vouched.remove(shard),
            };
        }
        // Index parts are for programs, not people: compact JSON keeps the
        // bytes hashed and compressed on every write down.
        let mut change = self.change;
        for (digit, part) in &self.open {
            change.put_bytes(index_path("open", *digit), compact(&part.doc()));
        }
        for (digit, part) in &self.closed {
            change.put_bytes(index_path("closed", *digit), compact(&part.doc()));
        }
        Ok(change)
    }

    /// The tree id `side/shard` will have after `files` are applied, or
    /// `None` if it ends up empty (and so disappears).
    fn shard_tree_after(
        &self,
        side: &str,
        shard: &str,
        files: &BTreeMap<String, Option<Oid>>,
    ) -> Result<Option<Oid>, StoreError> {
        let mut entries: BTreeMap<String, (i32, Oid)> = self
            .snap
            .raw_entries(&format!("{side}/{shard}"))?
            .into_iter()
            .map(|(name, mode, oid)| (name, (mode, oid)))
            .collect();
        for (name, edit) in files {
            match edit {
                Some(oid) => entries.insert(name.clone(), (i32::from(git2::FileMode::Blob), *oid)),
                None => entries.remove(name),
            };
        }
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(tree_id(entries.into_iter().map(|(n, (m, o))| (n, m, o)))))
    }

    fn vouched(&mut self, side: &str, digit: char) -> Result<&mut BTreeMap<String, Oid>, StoreError> {
        Ok(if side == "open" {
            &mut self.open_part(digit)?.shards
        } else {
            &mut self.closed_part(digit)?.shards
        })
    }

    fn side_shards(&mut self, side: &str) -> Result<&BTreeMap<String, Oid>, StoreError> {
        let slot = if side == "open" { &mut self.open_shards } else { &mut self.closed_shards };
        if slot.is_none() {
            *slot = Some(self.snap.subdir_ids(side)?);
        }
        Ok(slot.get_or_insert_with(BTreeMap::new))
    }

    fn open_part(&mut self, digit: char) -> Result<&mut Part<TaskSummary>, StoreError> {
        if !self.open.contains_key(&digit) {
            let actual = self.side_shards("open")?.clone();
            self.open.insert(digit, Part::load(self.snap, digit, &actual)?);
        }
        Ok(self.open.entry(digit).or_insert_with(|| Part {
            tasks: BTreeMap::new(),
            shards: BTreeMap::new(),
            corrupt: Vec::new(),
        }))
    }

    fn closed_part(&mut self, digit: char) -> Result<&mut Part<TaskStatus>, StoreError> {
        if !self.closed.contains_key(&digit) {
            let actual = self.side_shards("closed")?.clone();
            self.closed.insert(digit, Part::load(self.snap, digit, &actual)?);
        }
        Ok(self.closed.entry(digit).or_insert_with(|| Part {
            tasks: BTreeMap::new(),
            shards: BTreeMap::new(),
            corrupt: Vec::new(),
        }))
    }
}

/// The index parts of one side as the task blobs say they should be, with
/// the blobs at `removed` taken out (moved aside by a repair).
fn true_parts<T: Indexed>(
    snap: &Snapshot<'_>,
    removed: &std::collections::BTreeSet<String>,
) -> Result<BTreeMap<char, Part<T>>, StoreError> {
    let mut parts: BTreeMap<char, Part<T>> = HEX_DIGITS
        .iter()
        .map(|d| (*d, Part { tasks: BTreeMap::new(), shards: BTreeMap::new(), corrupt: Vec::new() }))
        .collect();
    for shard in snap.subdirs(T::SIDE)? {
        let dir = format!("{}/{shard}", T::SIDE);
        let kept = |path: &str| !removed.contains(path);
        let entries: Vec<(String, i32, Oid)> = snap
            .raw_entries(&dir)?
            .into_iter()
            .filter(|(name, _, _)| kept(&format!("{dir}/{name}")))
            .collect();
        if entries.is_empty() {
            continue;
        }
        let shard_id = tree_id(entries);
        let blobs: Vec<_> = snap.list(&dir)?.into_iter().filter(|e| kept(&e.path)).collect();
        let (tasks, corrupt) = snap.decode_all::<Task>(&blobs)?;
        let Some(part) = shard.chars().next().and_then(|d| parts.get_mut(&d)) else { continue };
        part.tasks.extend(tasks.iter().map(|t| (t.id.clone(), T::of(t))));
        if corrupt.is_empty() {
            part.shards.insert(shard.clone(), shard_id);
        }
        part.corrupt.extend(corrupt);
    }
    Ok(parts)
}

/// The index parts that do not say what the task blobs say (missing where
/// there are tasks, corrupt, or out of date), by path. Read-only: a reader
/// already falls back to the blobs for these; `doctor` reports them.
pub fn index_problems(snap: &Snapshot<'_>) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    problems.extend(side_problems::<TaskSummary>(snap)?);
    problems.extend(side_problems::<TaskStatus>(snap)?);
    Ok(problems)
}

fn side_problems<T: Indexed + PartialEq>(snap: &Snapshot<'_>) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    for (digit, truth) in true_parts::<T>(snap, &Default::default())? {
        let path = index_path(T::SIDE, digit);
        let stored = match snap.entry(&path)? {
            None => None,
            Some(entry) => match snap.decode::<IndexDoc<T>>(&entry)? {
                Ok(doc) => Some(doc),
                Err(_) => {
                    problems.push(path);
                    continue;
                }
            },
        };
        let expected = truth.doc();
        let agrees = match stored {
            None => expected.tasks.is_empty() && expected.shards.is_empty(),
            Some(doc) => doc.tasks == expected.tasks && doc.shards == expected.shards,
        };
        if !agrees {
            problems.push(path);
        }
    }
    Ok(problems)
}

/// Adds to `change` the removal of the task blobs at `removed` and every
/// index part rewritten from the task blobs that remain.
pub fn rebuild_index(
    snap: &Snapshot<'_>,
    mut change: Change,
    removed: &std::collections::BTreeSet<String>,
) -> Result<Change, StoreError> {
    for path in removed {
        change.remove(path.clone());
    }
    let mut rewrite = |path: String, empty: bool, bytes: Vec<u8>| {
        // A digit with no tasks needs no part (a missing part is empty).
        if empty {
            change.remove(path);
        } else {
            change.put_bytes(path, bytes);
        }
    };
    for (digit, part) in true_parts::<TaskSummary>(snap, removed)? {
        let empty = part.tasks.is_empty() && part.shards.is_empty();
        rewrite(index_path("open", digit), empty, compact(&part.doc()));
    }
    for (digit, part) in true_parts::<TaskStatus>(snap, removed)? {
        let empty = part.tasks.is_empty() && part.shards.is_empty();
        rewrite(index_path("closed", digit), empty, compact(&part.doc()));
    }
    Ok(change)
}
