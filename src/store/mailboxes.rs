//! `refs/orchestrate/mail/<box>` and `refs/orchestrate/read/<reader>/<box>`:
//! mailboxes, one ref each, and where each reader has read them up to.
//!
//! A mailbox is a chain of commits, one message each (`message.json`),
//! appended with compare-and-swap: concurrent senders are linearised, so
//! every reader sees one order and nothing is lost. A read cursor is a ref
//! pointing at the last commit of a mailbox its reader has read, moved only
//! forward; so reading what is new walks from the head back to the cursor
//! and costs the unread messages, not the history.
//!
//! A mailbox does not fit [`super::Collection`] (one document per commit,
//! one ref per box), so it has this handle of its own with the same
//! vocabulary, built on the same engine and the same ref-moving seam.
//! This module is the only place that names these refs and paths.

use super::engine::{Change, Document, Event};
use super::{refs, Corrupt, Store, StoreError};
use crate::model::message::Message;
use git2::Oid;
use std::collections::{BTreeSet, HashMap};

/// Where a mailbox commit keeps its message.
pub(super) const MESSAGE_PATH: &str = "message.json";

impl Document for Message {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Store {
    /// Every mailbox and read cursor.
    pub fn mailboxes(&self) -> Mailboxes<'_> {
        Mailboxes { store: self }
    }
}

/// The handle on every mailbox (see [`Store::mailboxes`]).
pub struct Mailboxes<'s> {
    store: &'s Store,
}

impl<'s> Mailboxes<'s> {
    /// The mailbox `name`: a session's name, `all` or `role.<role>`
    /// (validated by the caller), whether or not it holds anything yet.
    pub fn mailbox(&self, name: &str) -> Mailbox<'s> {
        Mailbox { store: self.store, name: name.to_string(), refname: refs::mailbox(name) }
    }

    /// Every mailbox that holds a message, with the commit at its head.
    pub fn all(&self) -> Result<Vec<(Mailbox<'s>, Oid)>, StoreError> {
        let prefix = refs::mailbox("");
        let found = self.store.refs_under(&prefix)?;
        Ok(found
            .into_iter()
            .map(|(refname, head)| {
                let name = refname.trim_start_matches(&prefix).to_string();
                (Mailbox { store: self.store, name, refname }, head)
            })
            .collect())
    }

    /// Every read cursor, by mailbox: `<box>` → the commits its readers are
    /// at. Below any of them in the chain, that reader has read everything.
    pub fn cursors(&self) -> Result<HashMap<String, BTreeSet<Oid>>, StoreError> {
        let mut cursors: HashMap<String, BTreeSet<Oid>> = HashMap::new();
        for (refname, oid) in self.store.refs_under(refs::READ_CURSORS)? {
            // `refs/orchestrate/read/<reader>/<box>`
            let Some(rest) = refname.strip_prefix(refs::READ_CURSORS) else { continue };
            let Some((_reader, mailbox)) = rest.split_once('/') else { continue };
            cursors.entry(mailbox.to_string()).or_default().insert(oid);
        }
        Ok(cursors)
    }

    /// Whether any mailbox holds the message `id`. Each post records the
    /// message id as its commit's entity, so this reads commit messages
    /// only, never a message document.
    pub fn holds(&self, id: &str) -> Result<bool, StoreError> {
        for (mailbox, _) in self.all()? {
            let mut found = false;
            self.store.history(&mailbox.refname, |commit| {
                found = Event::from_commit(commit).entities.iter().any(|e| e == id);
                !found
            })?;
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// With a coordination remote, fetches those of `boxes` whose head
    /// moved there (one cheap `ls-remote` first); says whether any did.
    /// Without one, nothing arrives from elsewhere: `false`.
    pub fn fetch_moved(&self, boxes: &[String]) -> Result<bool, StoreError> {
        let Some(remote) = self.store.remote() else { return Ok(false) };
        let heads: Vec<String> = boxes.iter().map(|b| refs::mailbox(b)).collect();
        remote.fetch_if_moved(&heads)
    }
}

/// One mailbox (see [`Mailboxes::mailbox`]).
pub struct Mailbox<'s> {
    store: &'s Store,
    name: String,
    refname: String,
}

impl<'s> Mailbox<'s> {
    /// The mailbox's name: a session's, `all` or `role.<role>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The newest commit of the mailbox, if it holds anything.
    pub fn head(&self) -> Result<Option<Oid>, StoreError> {
        self.store.head(&self.refname)
    }

    /// The last commit of this mailbox that `reader` has read, if any.
    pub fn cursor(&self, reader: &str) -> Result<Option<Oid>, StoreError> {
        self.store.head(&refs::read_cursor(reader, &self.name))
    }

    /// The mailbox's messages from the commit `from` back to the first,
    /// newest first (nothing for `None`). The chain is the order the
    /// messages were delivered in.
    pub fn letters(&self, from: Option<Oid>) -> Letters<'s> {
        Letters { store: self.store, refname: self.refname.clone(), next: from }
    }

    /// Appends `message` with compare-and-swap, and returns it as stored.
    /// It is stamped with the store's clock at each attempt, so a post that
    /// lost a race and was delivered after another also says it was sent
    /// after it. The commit records the message id as its entity (which
    /// [`Mailboxes::holds`] reads).
    pub fn post(&self, message: &Message) -> Result<Message, StoreError> {
        let from = &message.from;
        self.store.update(&self.refname, |_| {
            let message = Message { sent_at: self.store.now(), ..message.clone() };
            let summary = format!("send {} from {from} to {}: {}", message.id, message.to, message.subject);
            let event = Event::new("send", from, message.sent_at, summary).entity(&message.id);
            let mut change = Change::new(event);
            change.put(MESSAGE_PATH, &message);
            Ok::<_, StoreError>(change.write(message))
        })
    }

    /// Moves `reader`'s cursor forward to `up_to`, never backwards: if
    /// another process of the same reader moved it meanwhile, the furthest
    /// wins.
    pub fn mark_read(&self, reader: &str, up_to: Oid) -> Result<(), StoreError> {
        let cursor = refs::read_cursor(reader, &self.name);
        let event = format!("read {} by {reader}", self.name);
        self.store.move_pointer(&cursor, &event, |current| {
            Ok::<_, StoreError>(match current {
                Some(current) if current == up_to || self.store.is_descendant(current, up_to)? => None,
                _ => Some(up_to),
            })
        })
    }
}

/// One commit of a mailbox and the message it carries.
pub struct Letter {
    /// The mailbox commit (what read cursors point at).
    pub commit: Oid,
    /// The message; `None` for a commit that carries none, and apart one
    /// that cannot be read (one bad message never hides the rest).
    pub message: Result<Option<Message>, Corrupt>,
}

/// A walk down a mailbox's chain, newest first (see [`Mailbox::letters`]).
pub struct Letters<'s> {
    store: &'s Store,
    refname: String,
    next: Option<Oid>,
}

impl Letters<'_> {
    fn read(&mut self, commit: Oid) -> Result<Letter, StoreError> {
        let snap = self.store.snapshot_at(&self.refname, Some(commit))?;
        let message = match snap.entry(MESSAGE_PATH)? {
            None => Ok(None),
            Some(entry) => snap.decode::<Message>(&entry)?.map(Some),
        };
        self.next = self.store.parent(commit)?;
        Ok(Letter { commit, message })
    }
}

impl Iterator for Letters<'_> {
    type Item = Result<Letter, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let commit = self.next.take()?;
        Some(self.read(commit))
    }
}
