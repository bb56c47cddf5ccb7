//! The collection engine: a collection is a commit chain under one ref.
//!
//! Each commit's tree holds the collection's documents as JSON blobs; its
//! parent is the previous state. An update reads the ref, lets the caller
//! compute a [`Change`] from that [`Snapshot`], writes blobs, trees and the
//! commit, and only then moves the ref with compare-and-swap from the commit
//! it read. Local writers of one ref take turns through a kernel lock
//! ([`super::queue`]), so the move normally succeeds first time. If a writer
//! that does not queue (plain git, a fetch) moved the ref first (`Modified`)
//! or holds its lock (`Locked`), the update starts over from a fresh snapshot
//! after a short jittered pause, a bounded number of times; a `<ref>.lock`
//! left by a writer that died is removed, and the removal recorded. So:
//!
//! - every write is atomic: readers see the old tree or the new one;
//! - a crash leaves at most unreachable objects, never a half-written state;
//! - `git log <ref>` is the collection's event log, one commit per event.

use super::error::{Corrupt, StoreError};
use super::remote::{Pushed, Remote, RemoteHead};
use super::Store;
use crate::model::time::Timestamp;
use git2::build::TreeUpdateBuilder;
use git2::{Commit, ErrorCode, FileMode, ObjectType, Oid, Repository, Signature, Tree};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A stored JSON document: it declares the format it was written in.
pub trait Document: Serialize + DeserializeOwned {
    fn format(&self) -> u32;
}

/// What a ref is expected to point at when it is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The ref must not exist yet (create-if-absent).
    Absent,
    /// The ref must still point at this commit.
    At(Oid),
}

impl Expected {
    fn of(head: Option<Oid>) -> Expected {
        head.map_or(Expected::Absent, Expected::At)
    }

    /// libgit2 takes the zero id as "must not exist".
    fn as_oid(self) -> Oid {
        match self {
            Expected::Absent => Oid::ZERO_SHA1,
            Expected::At(oid) => oid,
        }
    }
}

/// The event an update records: its commit message is the one-line
/// `summary`, followed by trailers that `log` and `task show` read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub action: String,
    pub actor: String,
    pub summary: String,
    pub entities: Vec<String>,
    pub at: Timestamp,
}

impl Event {
    pub fn new(action: &str, actor: &str, at: Timestamp, summary: impl Into<String>) -> Event {
        Event {
            action: action.to_string(),
            actor: actor.to_string(),
            summary: summary.into(),
            entities: Vec::new(),
            at,
        }
    }

    pub fn entity(mut self, id: impl Into<String>) -> Event {
        self.entities.push(id.into());
        self
    }

    fn message(&self) -> String {
        // The summary may quote text written by an agent: keep it one line,
        // and escape what would reorder or hide text in `git log`.
        let one_line: String = self.summary.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let summary = crate::model::names::escape_control(&one_line);
        let mut message = format!(
            "{summary}\n\nAction: {}\nActor: {}\nAt: {}\n",
            self.action,
            self.actor,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        for entity in &self.entities {
            message.push_str(&format!("Entity: {entity}\n"));
        }
        message
    }

    /// Reads an event back from a commit made by [`Store::update`].
    pub fn from_commit(commit: &Commit<'_>) -> Event {
        let message = commit.message().unwrap_or("");
        let mut event = Event {
            action: String::new(),
            actor: commit.author().name().unwrap_or("").to_string(),
            summary: message.lines().next().unwrap_or("").to_string(),
            entities: Vec::new(),
            at: chrono::DateTime::from_timestamp(commit.time().seconds(), 0).unwrap_or_default(),
        };
        for line in message.lines().skip(1) {
            if let Some(v) = line.strip_prefix("Action: ") {
                event.action = v.to_string();
            } else if let Some(v) = line.strip_prefix("Actor: ") {
                event.actor = v.to_string();
            } else if let Some(v) = line.strip_prefix("At: ") {
                // Commit times have whole seconds; the trailer keeps the event's own.
                if let Ok(at) = chrono::DateTime::parse_from_rfc3339(v) {
                    event.at = at.to_utc();
                }
            } else if let Some(v) = line.strip_prefix("Entity: ") {
                event.entities.push(v.to_string());
            }
        }
        event
    }
}

/// The documents an update writes and removes, and the event it records.
/// The last of the puts and removes given for one path wins.
#[derive(Debug)]
pub struct Change {
    /// Path to new content, or `None` to remove the path.
    edits: BTreeMap<String, Option<Vec<u8>>>,
    event: Event,
    /// The first document that could not be encoded: the change is then
    /// never written.
    /// (path, why)
    unencodable: Option<Box<(String, String)>>,
}

impl Change {
    pub fn new(event: Event) -> Change {
        Change { edits: BTreeMap::new(), event, unencodable: None }
    }

    /// Writes `doc` at `path`, replacing what was there. A document that
    /// cannot be encoded fails the update when it is written.
    pub fn put<T: Serialize>(&mut self, path: impl Into<String>, doc: &T) -> &mut Change {
        let path = path.into();
        match encode(doc) {
            Ok(bytes) => self.put_bytes(path, bytes),
            Err(e) => {
                self.unencodable.get_or_insert_with(|| Box::new((path, e.to_string())));
                self
            }
        }
    }

    /// Writes bytes already encoded with [`encode`] at `path`.
    pub fn put_bytes(&mut self, path: impl Into<String>, bytes: Vec<u8>) -> &mut Change {
        self.edits.insert(path.into(), Some(bytes));
        self
    }

    /// Removes the document at `path`, if there is one.
    pub fn remove(&mut self, path: impl Into<String>) -> &mut Change {
        self.edits.insert(path.into(), None);
        self
    }

    /// Chains the change into an [`Outcome::Write`].
    pub fn write<T>(self, value: T) -> Outcome<T> {
        Outcome::Write(self, value)
    }
}

/// How every document is stored: pretty JSON with a final newline, so
/// `git show` reads well and diffs are line by line.
pub fn encode<T: Serialize>(doc: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// What an update's computation decided.
pub enum Outcome<T> {
    /// Write this change and return the value once the ref has moved.
    Write(Change, T),
    /// Nothing to write (the state already says so): return the value.
    Unchanged(T),
}

/// One consistent state of a collection, as of one commit.
#[derive(Clone)]
pub struct Snapshot<'r> {
    repo: &'r Repository,
    refname: &'r str,
    commit: Option<Commit<'r>>,
    tree: Option<Tree<'r>>,
}

/// A blob found in a snapshot.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub name: String,
    pub oid: Oid,
}

impl<'r> Snapshot<'r> {
    pub fn head(&self) -> Option<Oid> {
        self.commit.as_ref().map(Commit::id)
    }

    /// The blob at `path`, if any.
    pub fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        let Some(tree) = &self.tree else { return Ok(None) };
        match tree.get_path(std::path::Path::new(path)) {
            Ok(e) if e.kind() == Some(ObjectType::Blob) => Ok(Some(Entry {
                path: path.to_string(),
                name: e.name().unwrap_or("").to_string(),
                oid: e.id(),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(StoreError::git(format!("read {}:{path}", self.refname))(e)),
        }
    }

    /// The blobs directly inside the directory `dir` ("" for the root).
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>, StoreError> {
        self.walk(dir, false)
    }

    /// Every blob anywhere under `dir`.
    pub fn list_all(&self, dir: &str) -> Result<Vec<Entry>, StoreError> {
        self.walk(dir, true)
    }

    /// The names of the subdirectories of `dir`.
    pub fn subdirs(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.subdir_ids(dir)?.into_keys().collect())
    }

    /// The subdirectories of `dir` with their tree ids.
    pub fn subdir_ids(&self, dir: &str) -> Result<BTreeMap<String, Oid>, StoreError> {
        let Some(tree) = self.subtree(dir)? else { return Ok(BTreeMap::new()) };
        Ok(tree
            .iter()
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .filter_map(|e| e.name().ok().map(|n| (n.to_string(), e.id())))
            .collect())
    }

    /// The entries (name, file mode, id) directly in `dir`, for computing
    /// what its tree id becomes after a change.
    pub fn raw_entries(&self, dir: &str) -> Result<Vec<(String, i32, Oid)>, StoreError> {
        let Some(tree) = self.subtree(dir)? else { return Ok(Vec::new()) };
        Ok(tree.iter().filter_map(|e| e.name().ok().map(|n| (n.to_string(), e.filemode(), e.id()))).collect())
    }

    fn subtree(&self, dir: &str) -> Result<Option<Tree<'r>>, StoreError> {
        let Some(tree) = &self.tree else { return Ok(None) };
        if dir.is_empty() {
            return Ok(Some(tree.clone()));
        }
        let entry = match tree.get_path(std::path::Path::new(dir)) {
            Ok(e) => e,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::git(format!("read {}:{dir}", self.refname))(e)),
        };
        if entry.kind() != Some(ObjectType::Tree) {
            return Ok(None);
        }
        let tree = self
            .repo
            .find_tree(entry.id())
            .map_err(StoreError::git(format!("read {}:{dir}", self.refname)))?;
        Ok(Some(tree))
    }

    fn walk(&self, dir: &str, recursive: bool) -> Result<Vec<Entry>, StoreError> {
        let Some(tree) = self.subtree(dir)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        self.walk_tree(&tree, dir, recursive, &mut out)?;
        Ok(out)
    }

    fn walk_tree(
        &self,
        tree: &Tree<'r>,
        dir: &str,
        recursive: bool,
        out: &mut Vec<Entry>,
    ) -> Result<(), StoreError> {
        for e in tree.iter() {
            let name = e.name().unwrap_or("").to_string();
            let path = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
            match e.kind() {
                Some(ObjectType::Blob) => out.push(Entry { path, name, oid: e.id() }),
                Some(ObjectType::Tree) if recursive => {
                    let sub = self
                        .repo
                        .find_tree(e.id())
                        .map_err(StoreError::git(format!("read {}:{path}", self.refname)))?;
                    self.walk_tree(&sub, &path, true, out)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads the raw bytes of a blob.
    pub fn bytes(&self, entry: &Entry) -> Result<Vec<u8>, StoreError> {
        let blob = self
            .repo
            .find_blob(entry.oid)
            .map_err(StoreError::git(format!("read {}:{}", self.refname, entry.path)))?;
        Ok(blob.content().to_vec())
    }

    /// Decodes a document. A blob that is not valid JSON for `T`, or that
    /// declares a newer format, is returned as [`Corrupt`] so a listing can
    /// report it and go on; only a git failure is an error.
    pub fn decode<T: Document>(&self, entry: &Entry) -> Result<Result<T, Corrupt>, StoreError> {
        let blob = self
            .repo
            .find_blob(entry.oid)
            .map_err(StoreError::git(format!("read {}:{}", self.refname, entry.path)))?;
        let corrupt =
            |reason: String| Corrupt { refname: self.refname.to_string(), path: entry.path.clone(), reason };
        Ok(match serde_json::from_slice::<T>(blob.content()) {
            Ok(doc) if doc.format() > crate::model::FORMAT => Err(corrupt(format!(
                "it is in format {}, newer than this git-orchestrate understands ({}); upgrade git-orchestrate",
                doc.format(),
                crate::model::FORMAT
            ))),
            Ok(doc) => Ok(doc),
            Err(e) => Err(corrupt(e.to_string())),
        })
    }

    /// Reads and decodes the document at `path`; a corrupt one is an error.
    pub fn get<T: Document>(&self, path: &str) -> Result<Option<T>, StoreError> {
        match self.entry(path)? {
            None => Ok(None),
            Some(entry) => Ok(Some(self.decode(&entry)??)),
        }
    }

    /// Decodes every blob in `entries`, splitting good documents from corrupt ones.
    pub fn decode_all<T: Document>(&self, entries: &[Entry]) -> Result<(Vec<T>, Vec<Corrupt>), StoreError> {
        let mut docs = Vec::with_capacity(entries.len());
        let mut corrupt = Vec::new();
        for entry in entries {
            match self.decode(entry)? {
                Ok(doc) => docs.push(doc),
                Err(c) => corrupt.push(c),
            }
        }
        Ok((docs, corrupt))
    }
}

/// Bounded, jittered exponential backoff for compare-and-swap retries. With
/// the writers' queue ([`super::queue`]) a retry means a writer that does
/// not queue (plain git, a fetch) moved the ref or holds its lock.
struct Backoff {
    attempt: u32,
    started: Instant,
    base: Duration,
    cap: Duration,
}

/// Why a ref move did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// Another writer moved the ref first.
    Moved,
    /// `<ref>.lock` exists: another writer is mid-update, or one crashed.
    Locked,
}

impl Backoff {
    const MAX_ATTEMPTS: u32 = 200;
    const MAX_TIME: Duration = Duration::from_secs(30);
    const BASE: Duration = Duration::from_micros(500);
    const CAP: Duration = Duration::from_millis(40);

    fn new() -> Backoff {
        Backoff { attempt: 0, started: Instant::now(), base: Self::BASE, cap: Self::CAP }
    }

    /// For pushes to a remote, which take milliseconds each.
    fn remote() -> Backoff {
        Backoff {
            attempt: 0,
            started: Instant::now(),
            base: Duration::from_millis(5),
            cap: Duration::from_millis(250),
        }
    }

    /// Sleeps before the next attempt, or says the budget is spent.
    fn wait(&mut self, refname: &str) -> Result<(), StoreError> {
        self.attempt += 1;
        let elapsed = self.started.elapsed();
        if self.attempt >= Self::MAX_ATTEMPTS || elapsed >= Self::MAX_TIME {
            return Err(StoreError::Contended {
                refname: refname.to_string(),
                attempts: self.attempt,
                elapsed,
            });
        }
        let exp = self.base.saturating_mul(1 << self.attempt.min(10)).min(self.cap);
        // Jitter in [0.5, 1.5) spreads writers that collided apart.
        std::thread::sleep(exp.mul_f64(0.5 + fastrand::f64()));
        Ok(())
    }
}

/// Where a write is decided: by the compare-and-swap of a local ref, or by
/// a push with a lease to the coordination remote ([`super::remote`]).
enum Authority<'s> {
    Local,
    Remote {
        remote: &'s Remote,
        /// What the remote holds, if fetched since the last attempt; `None`
        /// while the attempt goes on the local copy alone.
        known: Option<RemoteHead>,
    },
}

impl Authority<'_> {
    fn backoff(&self) -> Backoff {
        match self {
            Authority::Local => Backoff::new(),
            // A push takes milliseconds: spread the losers further apart.
            Authority::Remote { .. } => Backoff::remote(),
        }
    }

    /// The commit the next attempt builds on: the local copy, which is the
    /// remote's value once fetched. When the remote has no such ref, what
    /// this clone has is what gets published.
    fn base(&self, store: &Store, refname: &str) -> Result<Option<Oid>, StoreError> {
        store.head(refname)
    }

    /// Makes `new` the ref's value if it still is `base`.
    fn publish(
        &self,
        store: &Store,
        refname: &str,
        new: Oid,
        base: Option<Oid>,
        message: &str,
    ) -> Result<Option<Lost>, StoreError> {
        match self {
            Authority::Local => store.move_ref(refname, new, Expected::of(base), message),
            Authority::Remote { remote, known } => {
                let expected = match known {
                    Some(RemoteHead::Absent) => None,
                    Some(RemoteHead::At(_)) | None => base,
                };
                match remote.push(refname, new, expected)? {
                    Pushed::Lost => Ok(Some(Lost::Moved)),
                    Pushed::Done => {
                        // The remote has it: the local copy follows. Should this
                        // fail (a fetch holds the ref's lock), the next fetch
                        // brings the same value.
                        let _ = store.repo.reference(refname, new, true, message);
                        Ok(None)
                    }
                }
            }
        }
    }

    /// After a lost attempt: heal a dead writer's lock, or wait, and learn
    /// what the remote holds now.
    fn lost(
        &mut self,
        store: &Store,
        refname: &str,
        lost: Lost,
        backoff: &mut Backoff,
    ) -> Result<(), StoreError> {
        match self {
            Authority::Local => {
                if lost == Lost::Locked && store.heal_ref_lock(refname)? {
                    return Ok(());
                }
                backoff.wait(refname)
            }
            Authority::Remote { remote, known } => {
                backoff.wait(refname)?;
                *known = Some(remote.fetch_ref(refname)?);
                Ok(())
            }
        }
    }
}

/// A `<ref>.lock` this old, found by a writer holding the ref's place in
/// the writers' queue, was left by a process that died: a live git process
/// holds a ref lock for about a millisecond, and no queued writer can be
/// holding it.
pub const STALE_REF_LOCK: Duration = Duration::from_secs(3);

/// The age of a file from its mtime, or `None` if it is gone.
pub(super) fn file_age(path: &std::path::Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(std::time::SystemTime::now().duration_since(modified).unwrap_or_default())
}

/// A lock file's age as people read it: `850ms`, `12.3s`, `5m`.
pub fn lock_age(age: Duration) -> String {
    if age < Duration::from_secs(1) {
        format!("{}ms", age.as_millis())
    } else if age < Duration::from_secs(60) {
        format!("{:.1}s", age.as_secs_f64())
    } else {
        crate::model::time::format_duration(chrono::Duration::seconds(age.as_secs() as i64))
    }
}

impl Store {
    /// The current commit of `refname`, if the ref exists.
    pub(super) fn head(&self, refname: &str) -> Result<Option<Oid>, StoreError> {
        self.refresh_view(false)?;
        match self.repo.refname_to_id(refname) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(StoreError::git(format!("read {refname}"))(e)),
        }
    }

    /// A consistent view of the collection under `refname` as it is now.
    pub(super) fn snapshot<'r>(&'r self, refname: &'r str) -> Result<Snapshot<'r>, StoreError> {
        let head = self.head(refname)?;
        self.snapshot_at(refname, head)
    }

    pub(super) fn snapshot_at<'r>(
        &'r self,
        refname: &'r str,
        head: Option<Oid>,
    ) -> Result<Snapshot<'r>, StoreError> {
        let read = StoreError::git(format!("read {refname}"));
        let (commit, tree) = match head {
            None => (None, None),
            Some(oid) => {
                let commit = self.repo.find_commit(oid).map_err(read)?;
                let tree = commit.tree().map_err(StoreError::git(format!("read {refname}")))?;
                (Some(commit), Some(tree))
            }
        };
        Ok(Snapshot { repo: &self.repo, refname, commit, tree })
    }

    /// Runs a compare-and-swap update of the collection under `refname`.
    ///
    /// `compute` sees a fresh snapshot on every attempt and must derive its
    /// decision from it alone: it may run several times, and only the run
    /// whose change lands returns its value. Errors from `compute` end the
    /// update at once with nothing written. A store of a newer format is
    /// refused before anything is computed; a store with no format marker
    /// gets one just before its first real write (never for a refusal).
    pub(super) fn update<T, E>(
        &self,
        refname: &str,
        mut compute: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut initialised = self.check_format()?;
        self.compare_and_swap(refname, |snapshot| {
            let outcome = compute(snapshot)?;
            if !initialised && matches!(outcome, Outcome::Write(..)) {
                self.init(self.now())?;
                initialised = true;
            }
            Ok(outcome)
        })
    }

    /// The update loop itself, without the format check (used to create the
    /// format marker).
    pub(super) fn compare_and_swap<T, E>(
        &self,
        refname: &str,
        mut compute: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _turn = self.queue.wait_turn(self.common_dir(), refname)?;
        let mut authority = self.authority(refname)?;
        let mut backoff = authority.backoff();
        loop {
            let base = authority.base(self, refname)?;
            let snapshot = self.snapshot_at(refname, base)?;
            let (change, value) = match compute(&snapshot)? {
                Outcome::Unchanged(value) => return Ok(value),
                Outcome::Write(change, value) => (change, value),
            };
            let commit = self.write_commit(&snapshot, &change)?;
            match authority.publish(self, refname, commit, base, &change.event.summary)? {
                None => return Ok(value),
                Some(lost) => authority.lost(self, refname, lost, &mut backoff)?,
            }
        }
    }

    /// Moves a ref that is not a collection but points into one (a read
    /// cursor pointing at a mailbox commit), with the same queue, retries
    /// and healing as [`Store::update`]. `decide` sees where the ref points
    /// now and says where it should point, or `None` to leave it.
    pub(super) fn move_pointer<E>(
        &self,
        refname: &str,
        message: &str,
        mut decide: impl FnMut(Option<Oid>) -> Result<Option<Oid>, E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let _turn = self.queue.wait_turn(self.common_dir(), refname)?;
        let mut authority = self.authority(refname)?;
        let mut backoff = authority.backoff();
        loop {
            let current = authority.base(self, refname)?;
            let Some(target) = decide(current)? else { return Ok(()) };
            match authority.publish(self, refname, target, current, message)? {
                None => return Ok(()),
                Some(lost) => authority.lost(self, refname, lost, &mut backoff)?,
            }
        }
    }

    /// Removes `<ref>.lock` if it was left by a writer that died, as the
    /// next writer would (`doctor --repair`). Returns whether it did.
    pub fn heal_stale_lock(&self, refname: &str) -> Result<bool, StoreError> {
        let _turn = self.queue.wait_turn(self.common_dir(), refname)?;
        self.heal_ref_lock(refname)
    }

    /// Who decides whether a write of `refname` happens: this repository,
    /// or the coordination remote (the one seam between the two).
    fn authority(&self, refname: &str) -> Result<Authority<'_>, StoreError> {
        let Some(remote) = self.remote() else { return Ok(Authority::Local) };
        // fetch → compute → push: a write, and above all a refusal ("nothing
        // ready", "held by …"), is decided on what the remote holds now, not
        // on a copy up to orchestrate.fetchInterval old. A command that has
        // just fetched everything starts from that instead.
        self.refresh_view(true)?;
        let known = if self.fetched_all() { None } else { Some(remote.fetch_ref(refname)?) };
        Ok(Authority::Remote { remote, known })
    }

    /// Removes `<ref>.lock` if it was left by a writer that died (see
    /// [`STALE_REF_LOCK`]); the caller holds the ref's place in the queue.
    /// Says so on stderr and records it on the `meta` chain, so `log` shows
    /// it. Returns false if the lock is young (a live writer that does not
    /// queue holds it) or already gone.
    fn heal_ref_lock(&self, refname: &str) -> Result<bool, StoreError> {
        let lock = self.common_dir().join(format!("{refname}.lock"));
        let Some(age) = file_age(&lock) else { return Ok(false) };
        if age < STALE_REF_LOCK {
            return Ok(false);
        }
        let age = lock_age(age);
        match std::fs::remove_file(&lock) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(source) => return Err(StoreError::StaleLock { lock, age, source }),
        }
        let summary = format!("heal: removed {refname}.lock, left {age} ago by a writer that died");
        eprintln!("git-orchestrate: {summary}");
        let event = Event::new("heal", "git-orchestrate", self.now(), summary).entity(refname);
        // The store's own events go on the meta chain; a store with no
        // format marker yet has no chain to record on.
        self.compare_and_swap(super::refs::META, |snapshot| {
            Ok::<_, StoreError>(match snapshot.head() {
                None => Outcome::Unchanged(()),
                Some(_) => Change::new(event.clone()).write(()),
            })
        })?;
        Ok(true)
    }

    /// Writes the change's blobs, trees and commit (objects first; the ref
    /// is moved separately, last).
    fn write_commit(&self, snapshot: &Snapshot<'_>, change: &Change) -> Result<Oid, StoreError> {
        let refname = snapshot.refname;
        if let Some(failed) = &change.unencodable {
            let (path, reason) = failed.as_ref();
            return Err(StoreError::Encode { path: format!("{refname}:{path}"), reason: reason.clone() });
        }
        let write = |what: &str| StoreError::git(format!("write {what} for {refname}"));
        let empty;
        let base = match &snapshot.tree {
            Some(tree) => tree,
            None => {
                // libgit2 knows the empty tree without it being stored, so
                // the first write leaves no stray object behind.
                empty = self.repo.find_tree(empty_tree_id()).map_err(write("the empty tree"))?;
                &empty
            }
        };
        // Blobs go through `git_odb_write`, which looks for the object before
        // it creates anything. `Repository::blob` streams into a new temporary
        // file first and only then finds that an unchanged document is already
        // stored: a file created and deleted for nothing, inside the writers'
        // queue, on every write that keeps a document as it was.
        let odb = self.repo.odb().map_err(write("a document"))?;
        let mut builder = TreeUpdateBuilder::new();
        for (path, edit) in &change.edits {
            match edit {
                Some(bytes) => {
                    let oid = odb.write(ObjectType::Blob, bytes).map_err(write("a document"))?;
                    builder.upsert(path.as_str(), oid, FileMode::Blob);
                }
                // libgit2 refuses to remove what is not there.
                None if base.get_path(std::path::Path::new(path)).is_ok() => {
                    builder.remove(path.as_str());
                }
                None => {}
            }
        }
        let tree_id = builder.create_updated(&self.repo, base).map_err(write("the tree"))?;
        let tree = self.repo.find_tree(tree_id).map_err(write("the tree"))?;
        let signature = signature(&change.event)?;
        let parents: Vec<&Commit<'_>> = snapshot.commit.iter().collect();
        self.repo
            .commit(None, &signature, &signature, &change.event.message(), &tree, &parents)
            .map_err(write("the commit"))
    }

    /// Moves `refname` to `new` if it still is as `expected`. Returns why
    /// not when another writer got there first (the caller retries).
    ///
    /// This is the one place a coordination ref is moved locally: every
    /// update and pointer move of a store without a remote goes through it,
    /// by way of [`Authority::publish`], which with `orchestrate.remote`
    /// pushes with a lease instead.
    fn move_ref(
        &self,
        refname: &str,
        new: Oid,
        expected: Expected,
        message: &str,
    ) -> Result<Option<Lost>, StoreError> {
        match self.repo.reference_matching(refname, new, true, expected.as_oid(), message) {
            Ok(_) => {
                self.moves.set(self.moves.get() + 1);
                Ok(None)
            }
            // Another writer holds refname.lock right now (libgit2 never
            // waits for a lock).
            Err(e) if e.code() == ErrorCode::Locked => Ok(Some(Lost::Locked)),
            // Modified: the ref moved since we read it. NotFound: the ref we
            // read was deleted meanwhile.
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::NotFound | ErrorCode::Exists) => {
                Ok(Some(Lost::Moved))
            }
            Err(e) => Err(StoreError::git(format!("update {refname}"))(e)),
        }
    }

    /// Every ref whose name starts with `prefix`, with its target.
    pub(super) fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>, StoreError> {
        self.refresh_view(false)?;
        let read = StoreError::git(format!("list {prefix}*"));
        let mut found = Vec::new();
        for r in self.repo.references_glob(&format!("{prefix}*")).map_err(read)? {
            let r = r.map_err(StoreError::git(format!("list {prefix}*")))?;
            if let (Ok(name), Some(oid)) = (r.name(), r.target()) {
                found.push((name.to_string(), oid));
            }
        }
        Ok(found)
    }

    /// The first parent of a commit, if any.
    pub(super) fn parent(&self, commit: Oid) -> Result<Option<Oid>, StoreError> {
        let c = self.repo.find_commit(commit).map_err(StoreError::git(format!("read commit {commit}")))?;
        Ok(c.parent_ids().next())
    }

    /// Whether `commit` descends from `ancestor`.
    pub(super) fn is_descendant(&self, commit: Oid, ancestor: Oid) -> Result<bool, StoreError> {
        self.repo.graph_descendant_of(commit, ancestor).map_err(StoreError::git("compare commits"))
    }

    /// Walks the collection's history from the newest event, first parent
    /// first, until `visit` returns false.
    pub(super) fn history(
        &self,
        refname: &str,
        mut visit: impl FnMut(&Commit<'_>) -> bool,
    ) -> Result<(), StoreError> {
        let read = |e| StoreError::git(format!("read the history of {refname}"))(e);
        let mut next = self.head(refname)?;
        while let Some(oid) = next {
            let commit = self.repo.find_commit(oid).map_err(read)?;
            if !visit(&commit) {
                break;
            }
            next = commit.parent_ids().next();
        }
        Ok(())
    }
}

/// The id git gives a tree with these entries (name, file mode, id), computed
/// without writing anything. Used to record, inside a change, the tree a
/// directory will have once the change lands.
pub fn tree_id(entries: impl IntoIterator<Item = (String, i32, Oid)>) -> Oid {
    let mut entries: Vec<(String, i32, Oid)> = entries.into_iter().collect();
    // git orders entries by name, comparing a subtree's name as if it ended in '/'.
    let key = |(name, mode, _): &(String, i32, Oid)| {
        let mut k = name.as_bytes().to_vec();
        if *mode == i32::from(FileMode::Tree) {
            k.push(b'/');
        }
        k
    };
    entries.sort_by_key(key);
    let mut bytes = Vec::new();
    for (name, mode, oid) in &entries {
        bytes.extend_from_slice(format!("{mode:o} {name}\0").as_bytes());
        bytes.extend_from_slice(oid.as_bytes());
    }
    Oid::hash_object(ObjectType::Tree, &bytes).unwrap_or(Oid::ZERO_SHA1)
}

/// The id of the empty tree, which every git implementation knows.
fn empty_tree_id() -> Oid {
    Oid::hash_object(ObjectType::Tree, &[]).unwrap_or(Oid::ZERO_SHA1)
}

fn signature(event: &Event) -> Result<Signature<'static>, StoreError> {
    // Actor names are validated session names or a user's git name; angle
    // brackets would break the signature line, so they are dropped.
    let name: String = event.actor.chars().filter(|c| !matches!(c, '<' | '>' | '\n')).collect();
    let name = if name.trim().is_empty() { "unknown".to_string() } else { name };
    let time = git2::Time::new(event.at.timestamp(), 0);
    Signature::new(&name, "git-orchestrate", &time).map_err(StoreError::git("build the commit signature"))
}
