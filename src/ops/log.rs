//! The event log: every collection's history merged into one timeline.

use super::{Context, Result};
use crate::model::time::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub summary: String,
    /// The collection: `tasks`, `sessions`, `claims`, `mail/<box>`, `meta`.
    pub collection: String,
    pub commit: String,
}

impl Context {
    /// Every event since `since` (all of them without), newest first.
    /// Read cursors are positions in mailboxes, not events, and are left out.
    pub fn log(&self, since: Option<Timestamp>) -> Result<Vec<LogEntry>> {
        let mut entries = Vec::new();
        for collection in self.store.collections()? {
            self.store.events(&collection, |commit, event| {
                if since.is_some_and(|s| event.at < s) {
                    return false;
                }
                entries.push(LogEntry {
                    at: event.at,
                    actor: event.actor,
                    action: event.action,
                    summary: event.summary,
                    collection: collection.clone(),
                    commit: commit.to_string(),
                });
                true
            })?;
        }
        // Stable: events of one collection keep their chain order.
        entries.sort_by_key(|e| std::cmp::Reverse(e.at));
        Ok(entries)
    }
}
