//! `refs/orchestrate/queue`: the landing queue, one document per entry,
//! `entries/<seq>.json`, and `counter.json`, which hands out sequence
//! numbers so one is never reused.
//!
//! The entries are a [`Collection`] keyed by sequence number; the counter
//! is its companion document, so adding an entry and moving the counter
//! past it are one compare-and-swap of the ref, like taking an entry or
//! settling one.

use super::collection::{Collection, Companion, Stored, View, Writes};
use super::engine::Document;
use super::{refs, Store, StoreError};
use crate::model::land::QueueEntry;
use crate::model::FORMAT;
use serde::{Deserialize, Serialize};

impl Document for QueueEntry {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Stored for QueueEntry {
    const REF: &'static str = refs::QUEUE;
    const FOLDER: &'static str = "entries";

    type Key = u64;

    /// `entries/<seq>.json`, zero-padded so the tree lists entries in
    /// queue order.
    fn place(seq: &u64) -> String {
        format!("{}/{seq:012}.json", Self::FOLDER)
    }

    fn key(&self) -> &u64 {
        &self.seq
    }
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

impl Companion<QueueEntry> for QueueCounter {
    const PLACE: &'static str = "counter.json";
}

impl Store {
    /// The landing queue.
    pub fn land_queue(&self) -> Collection<'_, QueueEntry> {
        self.collection()
    }
}

impl View<'_, QueueEntry> {
    /// The sequence number a new entry gets: past every entry queued and
    /// every number handed out before. A corrupt entry or counter is an
    /// error, since a number could be handed out twice.
    pub fn next_seq(&self) -> Result<u64, StoreError> {
        let (entries, corrupt) = self.all()?;
        if let Some(c) = corrupt.into_iter().next() {
            return Err(c.into());
        }
        let counted = self.companion::<QueueCounter>()?.map_or(1, |c| c.next);
        Ok(entries.iter().map(|e| e.seq + 1).max().unwrap_or(1).max(counted))
    }
}

impl Writes<QueueEntry> {
    /// Adds `entry` as a new entry, and moves the counter past its number
    /// so it is never handed out again.
    pub fn add(&mut self, entry: &QueueEntry) -> &mut Writes<QueueEntry> {
        self.save_companion(&QueueCounter { format: FORMAT, next: entry.seq + 1 });
        self.save(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_sort_in_queue_order() {
        assert!(QueueEntry::place(&9) < QueueEntry::place(&10));
        assert_eq!(QueueEntry::place(&3), "entries/000000000003.json");
    }
}
