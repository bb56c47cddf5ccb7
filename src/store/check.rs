//! The store's own health, as `doctor` asks after it: the format marker,
//! ref locks left by writers that died, every document of every collection
//! against its schema, and the task index against the task blobs; and the
//! repairs that are safe to make.
//!
//! A repair never deletes what someone wrote: a corrupt document is moved
//! aside to `corrupt/<its path>` in the same collection's tree, so it stays
//! reachable in git (`git show <ref>:corrupt/<path>`) and the collection
//! works again. A corrupt message stays where it is: it is part of its
//! mailbox's history, and readers skip it.

use super::engine::{file_age, lock_age, Change, Event, Outcome, Snapshot, STALE_REF_LOCK};
use super::mailboxes::MESSAGE_PATH;
use super::{refs, Corrupt, Meta, Store, StoreError, META_PATH};
use crate::model::time::Timestamp;
use crate::model::FORMAT;
use git2::Oid;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Damage to the store itself.
#[derive(Debug, Clone)]
pub enum Damage {
    /// There is coordination state but no format marker.
    MissingFormat,
    /// The store is in a newer format than this binary understands: it is
    /// never written, so never repaired.
    NewerFormat { found: u32, supported: u32 },
    /// A document that does not read against its schema.
    Corrupt(Corrupt),
    /// A message that does not read; it stays in its mailbox's history.
    CorruptMessage { refname: String, commit: Oid, reason: String },
    /// A part of the task index that disagrees with the task blobs (reads
    /// fall back to the blobs).
    TaskIndex { path: String },
    /// `<ref>.lock`, left by a writer that died.
    StaleLock { refname: String, file: PathBuf, age: Duration },
}

impl Damage {
    /// The ref the damage is in.
    pub fn refname(&self) -> &str {
        match self {
            Damage::MissingFormat | Damage::NewerFormat { .. } => refs::META,
            Damage::Corrupt(c) => &c.refname,
            Damage::CorruptMessage { refname, .. } | Damage::StaleLock { refname, .. } => refname,
            Damage::TaskIndex { .. } => refs::TASKS,
        }
    }

    /// The path of the damaged document in its collection's tree, if any.
    pub fn path(&self) -> Option<String> {
        match self {
            Damage::MissingFormat | Damage::NewerFormat { .. } => Some(META_PATH.into()),
            Damage::Corrupt(c) => Some(c.path.clone()),
            Damage::CorruptMessage { commit, .. } => Some(format!("{MESSAGE_PATH} in {commit}")),
            Damage::TaskIndex { path } => Some(path.clone()),
            Damage::StaleLock { .. } => None,
        }
    }

    /// What a repair does, in words; `None` when it needs a person.
    pub fn repair(&self) -> Option<String> {
        Some(match self {
            Damage::MissingFormat => format!("write it (format {FORMAT})"),
            Damage::NewerFormat { .. } | Damage::CorruptMessage { .. } => return None,
            Damage::Corrupt(c) => {
                let aside = format!("{}:corrupt/{}", c.refname, c.path);
                match c.refname.as_str() {
                    refs::TASKS => format!("move it to {aside} (kept in git) and rebuild the task index"),
                    refs::META => format!("move it to {aside} (kept in git) and write a new format marker"),
                    _ => format!("move it to {aside} (kept in git), so the collection works again"),
                }
            }
            Damage::TaskIndex { .. } => "rebuild the index from the task blobs".into(),
            Damage::StaleLock { .. } => "remove it (the next write would too)".into(),
        })
    }
}

impl Store {
    /// Every damage to the store, format first.
    pub fn check(&self) -> Result<Vec<Damage>, StoreError> {
        let mut found = Vec::new();
        match self.meta() {
            Ok(Some(_)) => {}
            Ok(None) => {
                if self.refs_under(refs::ROOT)?.into_iter().any(|(r, _)| r != refs::META) {
                    found.push(Damage::MissingFormat);
                }
            }
            Err(StoreError::NewerFormat { found: newer, supported, .. }) => {
                // Nothing else of a newer store is read against this schema.
                return Ok(vec![Damage::NewerFormat { found: newer, supported }]);
            }
            Err(StoreError::Corrupt { refname, path, reason }) => {
                found.push(Damage::Corrupt(Corrupt { refname, path, reason }))
            }
            Err(e) => return Err(e),
        }
        found.extend(self.stale_locks());
        self.check_documents(&mut found)?;
        Ok(found)
    }

    /// Repairs `damage` as [`Damage::repair`] says, as `actor`. Returns
    /// false for damage that needs a person.
    pub fn repair(&self, damage: &Damage, actor: &str, now: Timestamp) -> Result<bool, StoreError> {
        match damage {
            Damage::NewerFormat { .. } | Damage::CorruptMessage { .. } => return Ok(false),
            Damage::MissingFormat => {
                self.init(now)?;
            }
            Damage::StaleLock { refname, .. } => {
                self.heal_stale_lock(refname)?;
            }
            Damage::TaskIndex { .. } => self.rebuild_task_index(&BTreeSet::new(), actor, now)?,
            Damage::Corrupt(c) if c.refname == refs::TASKS => {
                self.rebuild_task_index(&BTreeSet::from([c.path.clone()]), actor, now)?
            }
            Damage::Corrupt(c) => self.move_aside(&c.refname, &c.path, actor, now)?,
        }
        Ok(true)
    }

    /// `<ref>.lock` files under `refs/orchestrate/` older than a live
    /// writer ever holds one.
    fn stale_locks(&self) -> Vec<Damage> {
        let common = self.common_dir();
        let mut found = Vec::new();
        for file in lock_files(&common.join(refs::ROOT.trim_end_matches('/'))) {
            let Ok(rel) = file.strip_prefix(common) else { continue };
            let Some(refname) = rel.to_string_lossy().strip_suffix(".lock").map(str::to_string) else {
                continue;
            };
            let age = file_age(&file).unwrap_or_default();
            // A young lock is a live writer at work, not damage.
            if age >= STALE_REF_LOCK {
                found.push(Damage::StaleLock { refname, file, age });
            }
        }
        found
    }

    /// Every document against its schema, and the task index against the blobs.
    fn check_documents(&self, found: &mut Vec<Damage>) -> Result<(), StoreError> {
        let corrupt =
            |found: &mut Vec<Damage>, list: Vec<Corrupt>| found.extend(list.into_iter().map(Damage::Corrupt));

        corrupt(found, self.sessions().all()?.1);

        // The one-document collections.
        let singles = [
            self.claims().read()?.try_get_one()?.and_then(Result::err),
            self.lead().read()?.try_get_one()?.and_then(Result::err),
            self.radar().read()?.try_get_one()?.and_then(Result::err),
        ];
        found.extend(singles.into_iter().flatten().map(Damage::Corrupt));

        corrupt(found, self.tasks().corrupt()?);
        for path in self.tasks().index_problems()? {
            found.push(Damage::TaskIndex { path });
        }

        corrupt(found, self.land_queue().all()?.1);

        for (mailbox, head) in self.mailboxes().all()? {
            for letter in mailbox.letters(Some(head)) {
                let letter = letter?;
                if let Err(c) = letter.message {
                    found.push(Damage::CorruptMessage {
                        refname: c.refname,
                        commit: letter.commit,
                        reason: c.reason,
                    });
                }
            }
        }
        Ok(())
    }

    /// Moves the document at `path` of `refname` aside to `corrupt/`.
    fn move_aside(&self, refname: &str, path: &str, actor: &str, now: Timestamp) -> Result<(), StoreError> {
        let compute = |snap: &Snapshot<'_>| {
            let event = Event::new("repair", actor, now, format!("repair: move {path} aside"));
            let mut change = Change::new(event);
            if !moved_aside(snap, &mut change, &[path.to_string()])? {
                return Ok::<_, StoreError>(Outcome::Unchanged(()));
            }
            if refname == refs::META {
                change.put(META_PATH, &Meta { format: FORMAT, created_at: now });
            }
            Ok(change.write(()))
        };
        // The format marker itself is being fixed: no format check first.
        if refname == refs::META {
            self.compare_and_swap(refname, compute)
        } else {
            self.update(refname, compute)
        }
    }

    /// Moves the task blobs at `aside` to `corrupt/` and rewrites the whole
    /// index from the task blobs that remain.
    fn rebuild_task_index(
        &self,
        aside: &BTreeSet<String>,
        actor: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.update(refs::TASKS, |snap| {
            let summary = if aside.is_empty() {
                "repair: rebuild the task index".to_string()
            } else {
                let paths: Vec<&str> = aside.iter().map(String::as_str).collect();
                format!("repair: move {} aside and rebuild the task index", paths.join(", "))
            };
            let mut change = Change::new(Event::new("repair", actor, now, summary));
            let paths: Vec<String> = aside.iter().cloned().collect();
            moved_aside(snap, &mut change, &paths)?;
            let change = super::tasks::rebuild_index(snap, change, aside)?;
            Ok::<_, StoreError>(change.write(()))
        })
    }
}

/// Where a repair moves a corrupt document: `corrupt/<path>`, or with the
/// blob's id added if an earlier one was moved there already.
fn aside_path(snap: &Snapshot<'_>, path: &str, oid: Oid) -> Result<String, StoreError> {
    let plain = format!("corrupt/{path}");
    if snap.entry(&plain)?.is_none() {
        return Ok(plain);
    }
    Ok(format!("corrupt/{path}.{}", &oid.to_string()[..8]))
}

/// Adds to `change` each document at `paths` copied to its aside path and
/// removed; false if none of them is there any more.
fn moved_aside(snap: &Snapshot<'_>, change: &mut Change, paths: &[String]) -> Result<bool, StoreError> {
    let mut any = false;
    for path in paths {
        let Some(entry) = snap.entry(path)? else { continue };
        let bytes = snap.bytes(&entry)?;
        change.put_bytes(aside_path(snap, path, entry.oid)?, bytes).remove(path.clone());
        any = true;
    }
    Ok(any)
}

/// Every `*.lock` file under `dir`, at any depth.
fn lock_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "lock") {
            found.push(path);
        } else if path.is_dir() {
            found.extend(lock_files(&path));
        }
    }
    found
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::MissingFormat => {
                f.write_str("the format marker is missing, though there is coordination state")
            }
            Damage::NewerFormat { found, supported } => {
                write!(
                    f,
                    "the store is in format {found}; this git-orchestrate understands {supported} at most"
                )
            }
            Damage::Corrupt(c) => write!(f, "{}:{} is corrupt: {}", c.refname, c.path, c.reason),
            Damage::CorruptMessage { reason, .. } => write!(f, "a message is corrupt: {reason}"),
            Damage::TaskIndex { .. } => f.write_str(
                "the index part does not agree with the task blobs (reads fall back to the blobs)",
            ),
            Damage::StaleLock { file, age, .. } => {
                write!(f, "{} was left {} ago by a writer that died", file.display(), lock_age(*age))
            }
        }
    }
}
