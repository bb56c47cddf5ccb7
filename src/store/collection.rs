//! A typed handle on a collection of documents under one ref: the only way
//! use cases read and write one.
//!
//! Each collection's own module (`store/sessions.rs`, …) owns its ref, its
//! tree layout and its document codec by implementing [`Stored`] for its
//! document type; `ops` asks for `store.sessions()` and gets and saves
//! `Session`s, never naming a ref or a path. Reads are one consistent
//! snapshot ([`View`]); writes are a compare-and-swap of the whole
//! collection ([`Collection::update`]), through the writers' queue and the
//! one seam that moves the ref (`engine`).
//!
//! A collection of one document (the claims table, the lead lease, the
//! radar's record) is [`Single`]: it is read and written without a key.
//! A collection may keep a [`Companion`] document beside its own, written
//! in the same compare-and-swap (the landing queue's counter, in
//! `store/land_queue.rs`). The tasks collection keeps an index beside its
//! documents and the mailboxes are one ref each, so those have handles of
//! their own (`store/tasks.rs`, `store/mailboxes.rs`) built on the same
//! engine.

use super::engine::{Change, Document, Event, Outcome, Snapshot};
use super::{Corrupt, Store, StoreError};
use std::marker::PhantomData;

/// A kind of document a collection stores, and where.
pub trait Stored: Document {
    /// The ref the collection lives under.
    const REF: &'static str;
    /// The folder of the tree holding every document of the collection
    /// ("" for the root); anything else in the tree is not one of them.
    const FOLDER: &'static str = "";

    /// What names one document of the collection (a session's name, a
    /// queue entry's sequence number, …).
    type Key: ?Sized;

    /// Where the document with `key` lives in the collection's tree.
    fn place(key: &Self::Key) -> String;

    /// This document's key.
    fn key(&self) -> &Self::Key;
}

/// A collection that is one document (the claims table, the lead lease,
/// the radar's record): it states its ref and its file, and is [`Stored`]
/// with a key that is always the same, so these read and write it without
/// one.
pub trait Single: Document {
    /// The ref the collection lives under.
    const REF: &'static str;
    /// The path of its one document in the ref's tree.
    const PLACE: &'static str;
}

/// The key of the one document of a [`Single`] collection.
const ONLY: &str = "";

impl<D: Single> Stored for D {
    const REF: &'static str = <D as Single>::REF;

    type Key = str;

    fn place(_: &str) -> String {
        D::PLACE.to_string()
    }

    fn key(&self) -> &str {
        ONLY
    }
}

/// A document a collection of `D`s keeps beside its own, outside its
/// folder, changed in the same compare-and-swap as they are (the landing
/// queue's counter). Only the collection's own module reads and writes it.
pub(super) trait Companion<D: Stored>: Document {
    /// Its path in the collection's tree.
    const PLACE: &'static str;
}

/// The handle on the collection of `D`s (see [`Store::collection`]).
pub struct Collection<'s, D> {
    store: &'s Store,
    doc: PhantomData<fn() -> D>,
}

impl Store {
    /// The collection that stores `D`s. Each collection's module names it
    /// (`store.sessions()`).
    pub fn collection<D: Stored>(&self) -> Collection<'_, D> {
        Collection { store: self, doc: PhantomData }
    }
}

impl<'s, D: Stored> Collection<'s, D> {
    /// The collection as it is now.
    pub fn read(&self) -> Result<View<'s, D>, StoreError> {
        Ok(View { snap: self.store.snapshot(D::REF)?, doc: PhantomData })
    }

    /// The document with `key`, if there is one; a corrupt one is an error
    /// that names it.
    pub fn get(&self, key: &D::Key) -> Result<Option<D>, StoreError> {
        self.read()?.get(key)
    }

    /// Every document that can be read, and apart those that cannot.
    pub fn all(&self) -> Result<(Vec<D>, Vec<Corrupt>), StoreError> {
        self.read()?.all()
    }

    /// Where the document with `key` lives, as messages name it: the
    /// collection's ref and the document's path in its tree.
    pub fn location(&self, key: &D::Key) -> (&'static str, String) {
        (D::REF, D::place(key))
    }

    /// A compare-and-swap update of the collection (see [`Store::update`]):
    /// `compute` sees a fresh view on every attempt, and says what to
    /// write with [`Writes`], or that nothing changes.
    pub fn update<T, E>(
        &self,
        mut compute: impl FnMut(&View<'_, D>) -> Result<Written<D, T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.store.update(D::REF, |snap| {
            let view = View::<D> { snap: snap.clone(), doc: PhantomData };
            Ok(match compute(&view)? {
                Written::Unchanged(value) => Outcome::Unchanged(value),
                Written::Write(writes, value) => Outcome::Write(writes.change, value),
            })
        })
    }
}

impl<D: Single> Collection<'_, D> {
    /// The collection's one document, if it has been written; a corrupt
    /// one is an error that names it.
    pub fn get_one(&self) -> Result<Option<D>, StoreError> {
        self.get(ONLY)
    }
}

/// One consistent state of a collection of `D`s.
pub struct View<'r, D> {
    snap: Snapshot<'r>,
    doc: PhantomData<fn() -> D>,
}

impl<D: Stored> View<'_, D> {
    /// The document with `key`, if there is one; a corrupt one is an error.
    pub fn get(&self, key: &D::Key) -> Result<Option<D>, StoreError> {
        self.snap.get(&D::place(key))
    }

    /// The document with `key`, if there is one, or what makes it
    /// unreadable: for a caller that can go on without it.
    pub fn try_get(&self, key: &D::Key) -> Result<Option<Result<D, Corrupt>>, StoreError> {
        match self.snap.entry(&D::place(key))? {
            None => Ok(None),
            Some(entry) => self.snap.decode(&entry).map(Some),
        }
    }

    /// Every document that can be read, and apart those that cannot.
    pub fn all(&self) -> Result<(Vec<D>, Vec<Corrupt>), StoreError> {
        self.snap.decode_all(&self.snap.list(D::FOLDER)?)
    }

    /// The collection's companion document `C`, if it has been written; a
    /// corrupt one is an error.
    pub(super) fn companion<C: Companion<D>>(&self) -> Result<Option<C>, StoreError> {
        self.snap.get(C::PLACE)
    }
}

impl<D: Single> View<'_, D> {
    /// The collection's one document, if there is one; a corrupt one is an
    /// error.
    pub fn get_one(&self) -> Result<Option<D>, StoreError> {
        self.get(ONLY)
    }

    /// The collection's one document, or what makes it unreadable.
    pub fn try_get_one(&self) -> Result<Option<Result<D, Corrupt>>, StoreError> {
        self.try_get(ONLY)
    }
}

/// What one update writes to a collection of `D`s, and the event it
/// records.
pub struct Writes<D> {
    change: Change,
    doc: PhantomData<fn() -> D>,
}

impl<D: Stored> Writes<D> {
    pub fn new(event: Event) -> Writes<D> {
        Writes { change: Change::new(event), doc: PhantomData }
    }

    /// Stores `doc` at its place, replacing what was there.
    pub fn save(&mut self, doc: &D) -> &mut Writes<D> {
        self.change.put(D::place(doc.key()), doc);
        self
    }

    /// Removes the document with `key`, if there is one.
    pub fn remove(&mut self, key: &D::Key) -> &mut Writes<D> {
        self.change.remove(D::place(key));
        self
    }

    /// Chains the writes into a [`Written::Write`].
    pub fn write<T>(self, value: T) -> Written<D, T> {
        Written::Write(self, value)
    }

    /// Stores the collection's companion document `doc`, replacing it.
    pub(super) fn save_companion<C: Companion<D>>(&mut self, doc: &C) -> &mut Writes<D> {
        self.change.put(C::PLACE, doc);
        self
    }
}

impl<D: Single> Writes<D> {
    /// Removes the collection's one document.
    pub fn remove_one(&mut self) -> &mut Writes<D> {
        self.remove(ONLY)
    }
}

/// What an update's computation decided (see [`Outcome`], its untyped form).
pub enum Written<D, T> {
    /// Write these and return the value once the ref has moved.
    Write(Writes<D>, T),
    /// Nothing to write: return the value.
    Unchanged(T),
}
