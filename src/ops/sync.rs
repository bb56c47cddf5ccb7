//! `sync`: bring the local copies of the coordination refs up to date from
//! `orchestrate.remote`, publish what this clone has that the remote lacks,
//! and say what changed.

use super::{Context, Result};
use serde::Serialize;

/// At most this many events are listed per ref; the count says the rest.
const EVENTS_SHOWN: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The remote, as configured; `None` when there is none (the local refs
    /// are then the state itself, and there is nothing to sync).
    pub remote: Option<String>,
    /// Refs the fetch moved, with what happened on them.
    pub changed: Vec<RefChange>,
    /// Refs this clone had and the remote did not, now published there.
    pub published: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefChange {
    /// `tasks`, `sessions`, `claims`, `mail/<box>`, …
    pub collection: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// How many events arrived (the newest [`EVENTS_SHOWN`] are listed).
    pub count: usize,
    pub events: Vec<SyncEvent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncEvent {
    pub at: crate::model::time::Timestamp,
    pub actor: String,
    pub action: String,
    pub summary: String,
}

impl Context {
    /// Fetches every `refs/orchestrate/*` ref from the remote, then pushes
    /// (creating, never overwriting) the ones the remote does not have.
    pub fn sync(&self) -> Result<SyncReport> {
        let Some(remote) = self.store.remote() else {
            return Ok(SyncReport { remote: None, changed: Vec::new(), published: Vec::new() });
        };
        let moved = self.store.sync()?;
        let mut changed = Vec::new();
        for m in moved {
            let (mut events, mut count) = (Vec::new(), 0);
            if !m.is_read_cursor() {
                self.store.events(m.collection(), |commit, e| {
                    if Some(commit) == m.old {
                        return false;
                    }
                    count += 1;
                    if events.len() < EVENTS_SHOWN {
                        events.push(SyncEvent {
                            at: e.at,
                            actor: e.actor,
                            action: e.action,
                            summary: e.summary,
                        });
                    }
                    true
                })?;
            }
            changed.push(RefChange {
                collection: m.collection().to_string(),
                old: m.old.map(|o| o.to_string()),
                new: m.new.map(|o| o.to_string()),
                count,
                events,
            });
        }
        let published = self.store.publish_missing()?;
        Ok(SyncReport { remote: Some(remote.spec().to_string()), changed, published })
    }
}
