//! `refs/orchestrate/queue`: the landing queue, one document per entry,
//! `entries/<seq>.json`, and `counter.json`, which hands out sequence
//! numbers so one is never reused.
//!
//! Two kinds of document in one ref, so the queue has a handle of its own
//! (the same vocabulary as [`Collection`](super::Collection)): every change
//! — adding an entry and moving the counter past it, taking one, settling
//! one — is one compare-and-swap of the ref.

use super::engine::{Change, Document, Event, Outcome, Snapshot};
use super::{refs, Corrupt, Store, StoreError};
use crate::model::land::QueueEntry;
use crate::model::FORMAT;
use serde::{Deserialize, Serialize};

/// The folder holding the entries.
const ENTRIES: &str = "entries";
/// Where the counter lives.
const COUNTER_PATH: &str = "counter.json";

/// `entries/<seq>.json`, zero-padded so the tree lists entries in queue order.
fn entry_path(seq: u64) -> String {
    format!("{ENTRIES}/{seq:012}.json")
}

/// The queue's counter: the sequence number the next entry gets, at least.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct QueueCounter {
    format: u32,
    next: u64,
}

impl Document for QueueCounter {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Document for QueueEntry {
    fn format(&self) -> u32 {
        self.format
    }
}

/// The handle on the landing queue (see [`Store::land_queue`]).
pub struct LandQueue<'s> {
    store: &'s Store,
}

impl Store {
    /// The landing queue.
    pub fn land_queue(&self) -> LandQueue<'_> {
        LandQueue { store: self }
    }
}

impl<'s> LandQueue<'s> {
    /// The queue as it is now.
    pub fn read(&self) -> Result<QueueView<'s>, StoreError> {
        Ok(QueueView { snap: self.store.snapshot(refs::QUEUE)? })
    }

    /// Every entry that can be read, oldest first, and apart those that
    /// cannot.
    pub fn all(&self) -> Result<(Vec<QueueEntry>, Vec<Corrupt>), StoreError> {
        self.read()?.all()
    }

    /// A compare-and-swap update of the queue (see [`Store::update`]):
    /// `compute` sees a fresh view on every attempt, and says what to write
    /// with [`QueueWrites`], or that nothing changes.
    pub fn update<T, E>(
        &self,
        mut compute: impl FnMut(&QueueView<'_>) -> Result<QueueWritten<T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.store.update(refs::QUEUE, |snap| {
            let view = QueueView { snap: snap.clone() };
            Ok(match compute(&view)? {
                QueueWritten::Unchanged(value) => Outcome::Unchanged(value),
                QueueWritten::Write(writes, value) => Outcome::Write(writes.change, value),
            })
        })
    }
}

/// One consistent state of the landing queue.
pub struct QueueView<'r> {
    snap: Snapshot<'r>,
}

impl QueueView<'_> {
    /// The entry with sequence number `seq`, if it is still queued; a
    /// corrupt one is an error.
    pub fn get(&self, seq: u64) -> Result<Option<QueueEntry>, StoreError> {
        self.snap.get(&entry_path(seq))
    }

    /// Every entry that can be read, oldest first, and apart those that
    /// cannot.
    pub fn all(&self) -> Result<(Vec<QueueEntry>, Vec<Corrupt>), StoreError> {
        let (mut entries, corrupt) = self.snap.decode_all::<QueueEntry>(&self.snap.list(ENTRIES)?)?;
        entries.sort_by_key(|e| e.seq);
        Ok((entries, corrupt))
    }

    /// The sequence number a new entry gets: past every entry in
    /// `entries` (those of this view) and every number handed out before.
    pub fn next_seq(&self, entries: &[QueueEntry]) -> Result<u64, StoreError> {
        let counted = self.snap.get::<QueueCounter>(COUNTER_PATH)?.map_or(1, |c| c.next);
        Ok(entries.iter().map(|e| e.seq + 1).max().unwrap_or(1).max(counted))
    }
}

/// What one update writes to the landing queue, and the event it records.
pub struct QueueWrites {
    change: Change,
}

impl QueueWrites {
    pub fn new(event: Event) -> QueueWrites {
        QueueWrites { change: Change::new(event) }
    }

    /// Adds `entry` as a new entry, and moves the counter past its number
    /// so it is never handed out again.
    pub fn add(&mut self, entry: &QueueEntry) -> &mut QueueWrites {
        self.change.put(COUNTER_PATH, &QueueCounter { format: FORMAT, next: entry.seq + 1 });
        self.save(entry)
    }

    /// Stores `entry` at its place, replacing what was there.
    pub fn save(&mut self, entry: &QueueEntry) -> &mut QueueWrites {
        self.change.put(entry_path(entry.seq), entry);
        self
    }

    /// Takes the entry with sequence number `seq` out of the queue.
    pub fn remove(&mut self, seq: u64) -> &mut QueueWrites {
        self.change.remove(entry_path(seq));
        self
    }

    /// Chains the writes into a [`QueueWritten::Write`].
    pub fn write<T>(self, value: T) -> QueueWritten<T> {
        QueueWritten::Write(self, value)
    }
}

/// What a queue update's computation decided.
pub enum QueueWritten<T> {
    /// Write these and return the value once the ref has moved.
    Write(QueueWrites, T),
    /// Nothing to write: return the value.
    Unchanged(T),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_sort_in_queue_order() {
        assert!(entry_path(9) < entry_path(10));
        assert_eq!(entry_path(3), "entries/000000000003.json");
    }
}
