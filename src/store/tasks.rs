//! `refs/orchestrate/tasks`: the task documents and the index kept beside
//! them, behind one handle ([`Store::tasks`]).
//!
//! Layout (see `docs/data-model.md`):
//!
//! ```text
//! open/<shard>/<id>.json     a task not yet finished (the source of truth)
//! closed/<shard>/<id>.json   a done, failed or cancelled task
//! index-open-<d>.json       summaries of the open tasks whose id starts with hex digit <d>
//! index-closed-<d>.json     the final status of each closed task whose id starts with <d>
//! ```
//!
//! This module is the only one that knows that layout: use cases read a
//! [`TaskTable`] (one snapshot) and write through a [`TaskWrites`] inside
//! [`Tasks::update`], never naming a path or the ref.
//!
//! The index exists because the queue's hot queries (the ready list and
//! `claim --next`) would otherwise read one blob per open task, and loose
//! object reads cost tens of microseconds each. With it they read at most
//! 16 summary blobs plus at most 16 closed-status blobs for dependencies.
//! Every write updates the task and its index entries in the same commit,
//! so they cannot disagree. An index blob that is missing or corrupt is
//! rebuilt from the task blobs (reads fall back to scanning them), so the
//! index is derived data and never the only copy of anything.

use super::{
    encode, refs, tree_id, Change, Corrupt, Document, Entry, Event, Outcome, Snapshot, Store, StoreError,
};
use crate::model::ids::{IdPrefix, TaskId};
use crate::model::task::{Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::model::FORMAT;
use git2::Oid;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where the task with `id` lives: `open/<shard>/<id>.json`, or
/// `closed/<shard>/<id>.json` once it is finished.
pub fn place(id: &TaskId, closed: bool) -> String {
    let side = if closed { "closed" } else { "open" };
    format!("{side}/{}/{id}.json", id.shard())
}

/// The handle on the tasks collection (see [`Store::tasks`]).
pub struct Tasks<'s> {
    store: &'s Store,
}

impl Store {
    /// The tasks collection.
    pub fn tasks(&self) -> Tasks<'_> {
        Tasks { store: self }
    }
}

impl<'s> Tasks<'s> {
    /// The collection as it is now.
    pub fn read(&self) -> Result<TaskTable<'s>, StoreError> {
        Ok(TaskTable::new(self.store.snapshot(refs::TASKS)?))
    }

    /// A compare-and-swap update of the collection (see [`Store::update`]):
    /// `compute` sees a fresh table on every attempt and says what to write
    /// with a [`TaskWrites`] (`view.writes(event)`), or that nothing
    /// changes.
    pub fn update<T, E>(
        &self,
        mut compute: impl FnMut(&TaskTable<'_>) -> Result<Written<T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.store.update(refs::TASKS, |snap| {
            let table = TaskTable::new(snap.clone());
            Ok(match compute(&table)? {
                Written::Unchanged(value) => Outcome::Unchanged(value),
                Written::Write(TaskChange(change), value) => Outcome::Write(change, value),
            })
        })
    }

    /// Where the open task `id` lives, as messages name it: the ref and
    /// the task's path in its tree.
    pub fn location(&self, id: &TaskId) -> (&'static str, String) {
        (refs::TASKS, place(id, false))
    }

    /// The events that touched the task `id` with the commit of each,
    /// oldest first. The walk stops at the task's creation, so it costs the
    /// task's lifetime, not the queue's.
    pub fn history(&self, id: &TaskId) -> Result<Vec<(Event, Oid)>, StoreError> {
        let mut history = Vec::new();
        self.store.history(refs::TASKS, |commit| {
            let event = Event::from_commit(commit);
            if !event.entities.iter().any(|e| e == id.as_str()) {
                return true;
            }
            let created = event.action == "add";
            history.push((event, commit.id()));
            !created
        })?;
        history.reverse();
        Ok(history)
    }

    /// The task documents that cannot be read, open and closed.
    pub fn corrupt(&self) -> Result<Vec<Corrupt>, StoreError> {
        let snap = self.store.snapshot(refs::TASKS)?;
        let mut blobs = snap.list_all("open")?;
        blobs.extend(snap.list_all("closed")?);
        Ok(snap.decode_all::<Task>(&blobs)?.1)
    }

    /// The index parts that do not say what the task blobs say (see
    /// [`index_problems`]), by path.
    pub fn index_problems(&self) -> Result<Vec<String>, StoreError> {
        index_problems(&self.store.snapshot(refs::TASKS)?)
    }
}

/// What an update's computation decided (the tasks collection's
/// [`Outcome`]).
pub enum Written<T> {
    /// Write these and return the value once the ref has moved.
    Write(TaskChange, T),
    /// Nothing to write: return the value.
    Unchanged(T),
}

/// The tasks and index parts one update writes, made by
/// [`TaskWrites::write`].
pub struct TaskChange(Change);

/// What looking a task up by an id prefix found.
#[derive(Debug)]
pub enum Found {
    Task(Box<Task>),
    /// No task has an id starting so.
    Missing,
    /// Several do (and none has exactly that id): how many, and a few.
    Ambiguous {
        count: usize,
        some: Vec<TaskId>,
    },
}

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

impl<T> Default for Part<T> {
    fn default() -> Part<T> {
        Part { tasks: BTreeMap::new(), shards: BTreeMap::new(), corrupt: Vec::new() }
    }
}

impl<T: Indexed> Part<T> {
    /// Loads the part for `digit`, given the shard trees of its side.
    fn load(snap: &Snapshot<'_>, digit: char, actual: &BTreeMap<String, Oid>) -> Result<Part<T>, StoreError> {
        let mut part = Part::default();
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
pub struct TaskTable<'r> {
    snap: Snapshot<'r>,
    /// The closed shards' tree ids and index parts, read on first use.
    closed_shards: OnceCell<BTreeMap<String, Oid>>,
    closed: RefCell<HashMap<char, Part<TaskStatus>>>,
}

impl<'r> TaskTable<'r> {
    fn new(snap: Snapshot<'r>) -> Self {
        TaskTable { snap, closed_shards: OnceCell::new(), closed: RefCell::new(HashMap::new()) }
    }

    /// The commit this table is of, if the collection exists.
    pub fn head(&self) -> Option<Oid> {
        self.snap.head()
    }

    /// Starts the writes of one update, recorded as `event`; every task it
    /// saves is named in the event.
    pub fn writes(&self, event: Event) -> TaskWrites<'_, 'r> {
        TaskWrites::new(&self.snap, event)
    }

    /// The one task `prefix` names; an exact id wins over longer ones. A
    /// corrupt task blob is an error that names it.
    pub fn find(&self, prefix: &IdPrefix) -> Result<Found, StoreError> {
        let mut matches: Vec<(TaskId, Entry)> = Vec::new();
        for side in ["open", "closed"] {
            let shards = match prefix.shard() {
                Some(shard) => vec![shard.to_string()],
                None => {
                    self.snap.subdirs(side)?.into_iter().filter(|s| s.starts_with(prefix.hex())).collect()
                }
            };
            for shard in shards {
                for entry in self.snap.list(&format!("{side}/{shard}"))? {
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
            (None, 0) => return Ok(Found::Missing),
            (None, count) => {
                let some = matches.iter().take(5).map(|(id, _)| id.clone()).collect();
                return Ok(Found::Ambiguous { count, some });
            }
        };
        let task = self.snap.decode::<Task>(&entry)?.map_err(StoreError::from)?;
        Ok(Found::Task(Box::new(task)))
    }

    /// The task with this full id, open or closed.
    pub fn get(&self, id: &TaskId) -> Result<Option<Task>, StoreError> {
        for closed in [false, true] {
            if let Some(task) = self.snap.get::<Task>(&place(id, closed))? {
                return Ok(Some(task));
            }
        }
        Ok(None)
    }

    /// The open (or claimed) task with this full id.
    pub fn get_open(&self, id: &TaskId) -> Result<Option<Task>, StoreError> {
        self.snap.get::<Task>(&place(id, false))
    }

    /// The hex part of every id in the shard `shard`, open or closed (for
    /// choosing a fresh id).
    pub fn ids_in_shard(&self, shard: &str) -> Result<BTreeSet<String>, StoreError> {
        let mut ids = BTreeSet::new();
        for side in ["open", "closed"] {
            for entry in self.snap.list(&format!("{side}/{shard}"))? {
                if let Some(id) = id_of_entry(&entry) {
                    ids.insert(id.hex().to_string());
                }
            }
        }
        Ok(ids)
    }

    /// Summaries of every open or claimed task, from the index where it is
    /// vouched for and from the task blobs where it is not; corrupt blobs
    /// are returned apart.
    pub fn open_summaries(&self) -> Result<(Vec<TaskSummary>, Vec<Corrupt>), StoreError> {
        let actual = self.snap.subdir_ids("open")?;
        let mut summaries = Vec::new();
        let mut corrupt = Vec::new();
        for digit in HEX_DIGITS {
            let part = Part::<TaskSummary>::load(&self.snap, digit, &actual)?;
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
            for status in Part::<TaskStatus>::load(&self.snap, digit, &actual)?.tasks.into_values() {
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
            let part = Part::<TaskStatus>::load(&self.snap, digit, &actual)?;
            corrupt.extend(part.corrupt);
            for id in part.tasks.into_iter().filter(|(_, s)| *s == status).map(|(id, _)| id) {
                let Some(entry) = self.snap.entry(&place(&id, true))? else { continue };
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
        Ok(match self.snap.get::<Task>(&place(id, false)) {
            Ok(task) => task.map(|t| t.status),
            Err(StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        })
    }

    /// The final status of a closed task, or `None` if no closed task has
    /// this id (or its blob is corrupt).
    pub fn closed_status(&self, id: &TaskId) -> Result<Option<TaskStatus>, StoreError> {
        let digit = digit_of(id);
        if let Some(part) = self.closed.borrow().get(&digit) {
            return Ok(part.tasks.get(id).copied());
        }
        let actual = match self.closed_shards.get() {
            Some(actual) => actual,
            None => {
                let ids = self.snap.subdir_ids("closed")?;
                self.closed_shards.get_or_init(|| ids)
            }
        };
        let part = Part::<TaskStatus>::load(&self.snap, digit, actual)?;
        let status = part.tasks.get(id).copied();
        self.closed.borrow_mut().insert(digit, part);
        Ok(status)
    }
}

/// The task id a blob's file name gives, if it is one.
fn id_of_entry(entry: &Entry) -> Option<TaskId> {
    let stem = entry.name.strip_suffix(".json")?;
    TaskId::try_from(stem.to_string()).ok()
}

const HEX_DIGITS: [char; 16] =
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

/// The writes of one update of the tasks collection: every task it saves,
/// with the index parts of each and the shard tree ids they vouch for.
pub struct TaskWrites<'s, 'r> {
    snap: &'s Snapshot<'r>,
    event: Event,
    /// Path to new content, or `None` to remove it, in the order given.
    edits: Vec<(String, Option<Vec<u8>>)>,
    open: BTreeMap<char, Part<TaskSummary>>,
    closed: BTreeMap<char, Part<TaskStatus>>,
    open_shards: Option<BTreeMap<String, Oid>>,
    closed_shards: Option<BTreeMap<String, Oid>>,
    /// (side, shard) to file name to its new blob id, or `None` if removed.
    shard_edits: BTreeMap<(&'static str, String), BTreeMap<String, Option<Oid>>>,
}

impl<'s, 'r> TaskWrites<'s, 'r> {
    fn new(snap: &'s Snapshot<'r>, event: Event) -> Self {
        TaskWrites {
            snap,
            event,
            edits: Vec::new(),
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            open_shards: None,
            closed_shards: None,
            shard_edits: BTreeMap::new(),
        }
    }

    /// Stores `task` (moving its blob between `open/` and `closed/` if its
    /// status says so) and updates the index.
    pub fn save(&mut self, task: &Task) -> Result<&mut Self, StoreError> {
        let closed = task.status.is_closed();
        let (side, other) = if closed { ("closed", "open") } else { ("open", "closed") };
        let path = place(&task.id, closed);
        let bytes =
            encode(task).map_err(|e| StoreError::Encode { path: path.clone(), reason: e.to_string() })?;
        let oid = Oid::hash_object(git2::ObjectType::Blob, &bytes).map_err(StoreError::git("hash a task"))?;
        let name = format!("{}.json", task.id);
        let shard = task.id.shard().to_string();
        if !self.event.entities.iter().any(|e| e == task.id.as_str()) {
            self.event.entities.push(task.id.to_string());
        }
        self.edits.push((place(&task.id, !closed), None));
        self.edits.push((path, Some(bytes)));
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
        Ok(self)
    }

    /// Ends the writes: the update writes them and returns `value` once
    /// the ref has moved.
    pub fn write<T>(self, value: T) -> Result<Written<T>, StoreError> {
        Ok(Written::Write(TaskChange(self.finish()?), value))
    }

    /// The change with every touched index part written, each vouching for
    /// the shard trees this change will produce.
    fn finish(mut self) -> Result<Change, StoreError> {
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
        let mut change = Change::new(self.event);
        for (path, edit) in self.edits {
            match edit {
                Some(bytes) => change.put_bytes(path, bytes),
                None => change.remove(path),
            };
        }
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
        let actual = match slot {
            Some(actual) => actual,
            None => slot.insert(self.snap.subdir_ids(side)?),
        };
        Ok(actual)
    }

    fn open_part(&mut self, digit: char) -> Result<&mut Part<TaskSummary>, StoreError> {
        loaded_part(self.snap, &mut self.open, &mut self.open_shards, digit)
    }

    fn closed_part(&mut self, digit: char) -> Result<&mut Part<TaskStatus>, StoreError> {
        loaded_part(self.snap, &mut self.closed, &mut self.closed_shards, digit)
    }
}

/// The index part for `digit` of one side, loaded on first use (with the
/// side's shard trees, read on first use too).
fn loaded_part<'p, T: Indexed>(
    snap: &Snapshot<'_>,
    parts: &'p mut BTreeMap<char, Part<T>>,
    shards: &mut Option<BTreeMap<String, Oid>>,
    digit: char,
) -> Result<&'p mut Part<T>, StoreError> {
    use std::collections::btree_map::Entry::{Occupied, Vacant};
    Ok(match parts.entry(digit) {
        Occupied(part) => part.into_mut(),
        Vacant(slot) => {
            let actual = match shards {
                Some(actual) => actual,
                None => shards.insert(snap.subdir_ids(T::SIDE)?),
            };
            slot.insert(Part::load(snap, digit, actual)?)
        }
    })
}

/// The index parts of one side as the task blobs say they should be, with
/// the blobs at `removed` taken out (moved aside by a repair).
fn true_parts<T: Indexed>(
    snap: &Snapshot<'_>,
    removed: &BTreeSet<String>,
) -> Result<BTreeMap<char, Part<T>>, StoreError> {
    let mut parts: BTreeMap<char, Part<T>> = HEX_DIGITS.iter().map(|d| (*d, Part::default())).collect();
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
pub(super) fn index_problems(snap: &Snapshot<'_>) -> Result<Vec<String>, StoreError> {
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
pub(super) fn rebuild_index(
    snap: &Snapshot<'_>,
    mut change: Change,
    removed: &BTreeSet<String>,
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
