//! The store as a whole rather than one collection: every collection's
//! history (for `log` and `sync`), every ref's head (for a watcher that
//! wants to know whether anything changed), and publishing to the
//! coordination remote what it lacks.
//!
//! Collections are named here as they sit under `refs/orchestrate/`:
//! `tasks`, `sessions`, `mail/<box>`, `meta`. Read cursors are positions in
//! mailboxes, not events, so they have no history of their own.

use super::engine::Event;
use super::remote::{Moved, Pushed};
use super::{refs, Store, StoreError};
use git2::Oid;

impl Store {
    /// Every collection that has a history, by its name under
    /// `refs/orchestrate/` (read cursors left out).
    pub fn collections(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .refs_under(refs::ROOT)?
            .into_iter()
            .filter(|(refname, _)| !refname.starts_with(refs::READ_CURSORS))
            .map(|(refname, _)| collection_name(&refname).to_string())
            .collect())
    }

    /// Walks the events of the collection `name` (as [`Store::collections`]
    /// names it), newest first, until `visit` returns false; `visit` gets
    /// each event's commit and the event it records.
    pub fn events(&self, name: &str, mut visit: impl FnMut(Oid, Event) -> bool) -> Result<(), StoreError> {
        self.history(&format!("{}{name}", refs::ROOT), |commit| {
            visit(commit.id(), Event::from_commit(commit))
        })
    }

    /// Every coordination ref, read cursors included, with the commit it
    /// points at: this changes whenever any coordination state does.
    pub fn heads(&self) -> Result<Vec<(String, Oid)>, StoreError> {
        self.refs_under(refs::ROOT)
    }

    /// Pushes to the coordination remote every coordination ref it does not
    /// have, creating and never overwriting: if another clone published one
    /// meanwhile, theirs stays and the next fetch brings it here. Returns
    /// the refs published (none without a remote).
    pub fn publish_missing(&self) -> Result<Vec<String>, StoreError> {
        let Some(remote) = self.remote() else { return Ok(Vec::new()) };
        let on_remote: Vec<String> =
            remote.ls_remote(&[format!("{}*", refs::ROOT)])?.into_iter().map(|(name, _)| name).collect();
        let mut published = Vec::new();
        for (refname, oid) in self.refs_under(refs::ROOT)? {
            if on_remote.contains(&refname) {
                continue;
            }
            if remote.push(&refname, oid, None)? == Pushed::Done {
                published.push(refname);
            }
        }
        Ok(published)
    }
}

/// The name under `refs/orchestrate/` of a coordination ref.
fn collection_name(refname: &str) -> &str {
    refname.strip_prefix(refs::ROOT).unwrap_or(refname)
}

impl Moved {
    /// What moved, named as [`Store::collections`] names collections
    /// (`tasks`, `mail/<box>`, or `read/<reader>/<box>` for a cursor).
    pub fn collection(&self) -> &str {
        collection_name(&self.refname)
    }

    /// Whether this is a read cursor (a position, with no events of its own).
    pub fn is_read_cursor(&self) -> bool {
        self.refname.starts_with(refs::READ_CURSORS)
    }
}
