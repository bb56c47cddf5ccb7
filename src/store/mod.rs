//! The git engine: coordination state as commit chains under `refs/orchestrate/`.
//!
//! [`Store`] owns the repository handle and guards the format version in
//! `refs/orchestrate/meta`. [`engine`] holds the generic collection machinery
//! (snapshots, compare-and-swap updates, history); [`refs`] builds every ref
//! name. Each collection is read and written through a typed handle that
//! owns its ref, layout and codec ([`collection`] and the collection's own
//! module: `store.sessions()`, `store.tasks()`, `store.mailboxes()`, …);
//! `history` reads the store as a whole (every collection's events, every
//! head). The store never touches the working tree, the index or the
//! user's branches.

mod check;
mod claims;
mod collection;
mod engine;
pub mod error;
mod history;
mod land_queue;
mod lead;
mod mailboxes;
mod queue;
mod radar;
mod refs;
pub mod remote;
mod sessions;
pub mod tasks;

pub use check::Damage;
pub use claims::ClaimsTable;
pub use collection::{Collection, Single, Stored, View, Writes, Written};
pub use engine::{encode, tree_id, Change, Document, Entry, Event, Expected, Outcome, Snapshot};
pub use error::{Corrupt, StoreError};
pub use mailboxes::{Letter, Letters, Mailbox, Mailboxes};
pub use radar::Announced;

use crate::model::time::Timestamp;
use crate::model::FORMAT;
use git2::{ErrorCode, Repository};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// The document in `refs/orchestrate/meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    pub created_at: Timestamp,
}

impl Document for Meta {
    fn format(&self) -> u32 {
        self.format
    }
}

/// Where `refs/orchestrate/meta` keeps the format marker.
const META_PATH: &str = "meta.json";

/// What [`Store::init`] found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialised {
    /// Whether this call created the format marker (else it was there).
    pub created: bool,
    /// The format the store is in.
    pub format: u32,
    /// The ref that holds the format marker.
    pub refname: &'static str,
}

pub struct Store {
    repo: Repository,
    /// A snapshot of git config, read once per process.
    config: Option<git2::Config>,
    /// The meta commit last checked (or `Some(None)`: checked absent), so
    /// the format is re-read only when the meta ref moves.
    meta_seen: Cell<Option<Option<git2::Oid>>>,
    /// How many refs this store has moved: a front end that keeps a status
    /// file up to date rewrites it only when this changed.
    moves: Cell<u64>,
    /// This process's places in the writers' queues.
    queue: queue::WriterQueue,
    /// The clock every timestamp the store writes comes from, when pinned
    /// (`ORCHESTRATE_NOW`, set by `ops::Context`).
    pinned_now: Cell<Option<Timestamp>>,
    /// The coordination remote (`orchestrate.remote`), if any.
    remote: Option<remote::Remote>,
    /// Whether this process has brought the local copies up to date (or
    /// found them fresh, or said it could not).
    refreshed: Cell<bool>,
    /// Whether this process fetched every coordination ref (so its copies
    /// are as fresh as a fetch of one of them would make them).
    fetched: Cell<bool>,
}

impl Store {
    /// Opens the repository the way git does: `GIT_DIR` and friends first,
    /// else by discovery from the current directory.
    pub fn open_from_env() -> Result<Store, StoreError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let repo = Repository::open_from_env().map_err(|e| open_error(&cwd, e))?;
        Store::with_repository(repo)
    }

    /// Opens the repository at or above `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let repo = Repository::discover(path).map_err(|e| open_error(path, e))?;
        Store::with_repository(repo)
    }

    fn with_repository(repo: Repository) -> Result<Store, StoreError> {
        tune_libgit2();
        let config = repo.config().and_then(|mut c| c.snapshot()).ok();
        let repo = if config.as_ref().is_some_and(wants_fsync) {
            // libgit2 reads this option when it sets up the object and ref
            // databases, so the repository is opened again after setting it.
            enable_fsync();
            Repository::open(repo.path()).map_err(|e| open_error(repo.path(), e))?
        } else {
            repo
        };
        // libgit2 re-reads (stats) every config file on each lookup it makes
        // through a writable config: 35 stats for one write. A command is
        // short, so it works from one read-only snapshot taken here.
        if let Some(snapshot) = &config {
            repo.set_config(snapshot).map_err(StoreError::git("use a config snapshot"))?;
        }
        let remote = match &config {
            Some(config) => remote::Remote::from_config(config, repo.commondir())?,
            None => None,
        };
        Ok(Store {
            repo,
            config,
            meta_seen: Cell::new(None),
            queue: queue::WriterQueue::new(match remote {
                Some(_) => queue::MAX_WAIT_REMOTE,
                None => queue::MAX_WAIT,
            }),
            pinned_now: Cell::new(None),
            remote,
            refreshed: Cell::new(false),
            fetched: Cell::new(false),
            moves: Cell::new(0),
        })
    }

    /// How many refs this store has moved so far (each a write).
    pub fn moves(&self) -> u64 {
        self.moves.get()
    }

    /// Pins the clock the store records its own events with.
    pub fn pin_clock(&self, now: Option<Timestamp>) {
        self.pinned_now.set(now);
    }

    /// Now, by the pinned clock if there is one.
    pub fn now(&self) -> Timestamp {
        crate::model::time::to_stored(self.pinned_now.get().unwrap_or_else(chrono::Utc::now))
    }

    /// The coordination remote, when `orchestrate.remote` is set.
    pub fn remote(&self) -> Option<&remote::Remote> {
        self.remote.as_ref()
    }

    /// Brings the local copies of the coordination refs up to date, once
    /// per process, when they are older than `orchestrate.fetchInterval`.
    /// For a write (`strict`) a failed fetch is the write's failure; a read
    /// goes on with the local copies and says on stderr how old they are.
    pub fn refresh_view(&self, strict: bool) -> Result<(), StoreError> {
        let Some(remote) = &self.remote else { return Ok(()) };
        if self.refreshed.replace(true) || !remote.view_is_old() {
            return Ok(());
        }
        let timeout = if strict { remote::WRITE_TIMEOUT } else { remote::READ_TIMEOUT };
        match remote.fetch_all(timeout) {
            Ok(_) => {
                self.fetched.set(true);
                Ok(())
            }
            Err(e) if strict => Err(e),
            Err(e) => {
                let age = match remote.view_age() {
                    Some(age) => format!(
                        "fetched {} ago",
                        crate::model::time::format_duration(chrono::Duration::seconds(age.as_secs() as i64),)
                    ),
                    None => "never fetched".to_string(),
                };
                eprintln!("git-orchestrate: showing the local copy ({age}), which may be stale: {e}");
                Ok(())
            }
        }
    }

    /// Whether this process has fetched every coordination ref.
    pub(crate) fn fetched_all(&self) -> bool {
        self.fetched.get()
    }

    /// Fetches every coordination ref from the remote now, whatever the
    /// age of the local copies (`git orchestrate sync`).
    pub fn sync(&self) -> Result<Vec<remote::Moved>, StoreError> {
        let Some(remote) = &self.remote else { return Ok(Vec::new()) };
        self.refreshed.set(true);
        let moved = remote.fetch_all(remote::WRITE_TIMEOUT)?;
        self.fetched.set(true);
        Ok(moved)
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// A string from git config, if set.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.config.as_ref()?.get_string(key).ok()
    }

    /// A path from git config, with `~/` expanded as git does.
    pub fn config_path(&self, key: &str) -> Option<String> {
        let path = self.config.as_ref()?.get_path(key).ok()?;
        Some(path.to_string_lossy().into_owned())
    }

    /// The format recorded in `refs/orchestrate/meta`, if initialised.
    pub fn meta(&self) -> Result<Option<Meta>, StoreError> {
        let snapshot = self.snapshot(refs::META)?;
        let Some(entry) = snapshot.entry(META_PATH)? else { return Ok(None) };
        // A newer meta must be reported as such, not as corrupt: read the
        // number alone first.
        let bytes = snapshot.bytes(&entry)?;
        #[derive(Deserialize)]
        struct FormatOnly {
            format: u32,
        }
        match serde_json::from_slice::<FormatOnly>(&bytes) {
            Ok(f) if f.format > FORMAT => Err(StoreError::NewerFormat {
                refname: refs::META.to_string(),
                found: f.format,
                supported: FORMAT,
            }),
            _ => Ok(Some(snapshot.decode::<Meta>(&entry)??)),
        }
    }

    /// Creates `refs/orchestrate/meta` if it does not exist, and says
    /// whether this call created it. Safe to run concurrently: the create is
    /// a compare-and-swap from "absent".
    pub fn init(&self, now: Timestamp) -> Result<Initialised, StoreError> {
        let done = |created| Initialised { created, format: FORMAT, refname: refs::META };
        if self.check_format()? {
            return Ok(done(false));
        }
        let created = self.compare_and_swap(refs::META, |snapshot| {
            if snapshot.head().is_some() {
                return Ok::<_, StoreError>(Outcome::Unchanged(false));
            }
            let meta = Meta { format: FORMAT, created_at: now };
            let event = Event::new("init", "git-orchestrate", now, format!("init format {FORMAT}"));
            let mut change = Change::new(event);
            change.put(META_PATH, &meta);
            Ok(change.write(true))
        })?;
        // Whoever created it, check what is there now.
        self.check_format()?;
        Ok(done(created))
    }

    /// Refuses a store of a newer format; returns whether the store is
    /// initialised. Reads the format again only when the meta ref moved, so
    /// a long-running process notices an upgrade made by another binary.
    pub(crate) fn check_format(&self) -> Result<bool, StoreError> {
        let head = self.head(refs::META)?;
        if self.meta_seen.get() != Some(head) {
            if head.is_some() {
                self.meta()?;
            }
            self.meta_seen.set(Some(head));
        }
        Ok(head.is_some())
    }

    /// The git directory shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// This worktree's own git directory (`.git/worktrees/<name>` in a
    /// linked worktree, the common one otherwise).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The main worktree's top folder, or the git directory of a bare
    /// repository.
    pub fn main_root(&self) -> PathBuf {
        let common = self.common_dir();
        if self.repo.is_bare() {
            return common.to_path_buf();
        }
        let common = common.canonicalize().unwrap_or_else(|_| common.to_path_buf());
        match common.file_name() {
            Some(n) if n == ".git" => common.parent().map(Path::to_path_buf).unwrap_or(common),
            _ => common,
        }
    }
}

fn open_error(path: &Path, e: git2::Error) -> StoreError {
    if e.message().to_ascii_lowercase().contains("refstorage") {
        return StoreError::Reftable;
    }
    let message = if e.code() == ErrorCode::NotFound {
        "not inside a git repository; run this in a repository (or `git init` one first)".to_string()
    } else {
        e.message().to_string()
    };
    StoreError::NotARepository { path: path.to_path_buf(), message }
}

/// Settings that make reads and writes cheaper without weakening anything
/// the store relies on: every object is written by us and addressed by its
/// hash, so re-hashing each object read and re-checking that each referenced
/// object exists on write only costs time.
///
/// libgit2 also caches only trees and commits up to 4 KiB and no blobs, so a
/// collection's top tree (hundreds of shard entries) would be re-read on
/// every path lookup; the limits are raised to cover the store's objects.
///
/// These are process-wide settings that libgit2 reads without a lock, so
/// they are set once, when the first store is opened: a long-running
/// process (the MCP server) opens one before it serves anything, so no
/// other thread is using libgit2 then.
fn tune_libgit2() {
    static TUNED: std::sync::Once = std::sync::Once::new();
    TUNED.call_once(|| {
        git2::opts::strict_hash_verification(false);
        git2::opts::strict_object_creation(false);
        // SAFETY: these set process-global cache limits; `call_once` runs
        // this on the first `Store` open, before any object is read and
        // before any other thread uses libgit2 (see above).
        unsafe {
            let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20);
            let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Commit, 64 << 10);
            let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Blob, 256 << 10);
        }
    });
}

/// `orchestrate.fsync=true`, or a `core.fsync` that covers both objects and
/// references (as git understands it).
fn wants_fsync(config: &git2::Config) -> bool {
    if let Ok(explicit) = config.get_bool("orchestrate.fsync") {
        return explicit;
    }
    let Ok(components) = config.get_string("core.fsync") else { return false };
    fsync_covers_objects_and_refs(&components)
}

pub(crate) fn fsync_covers_objects_and_refs(components: &str) -> bool {
    let mut objects = false;
    let mut refs = false;
    for part in components.split(',').map(str::trim) {
        let (negated, name) = match part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let (o, r) = match name {
            "all" | "committed" | "added" => (true, true),
            "objects" | "loose-object" => (true, false),
            "reference" => (false, true),
            "none" => {
                objects = false;
                refs = false;
                continue;
            }
            _ => (false, false),
        };
        if o {
            objects = !negated;
        }
        if r {
            refs = !negated;
        }
    }
    objects && refs
}

/// Turns fsync on for the whole process, once (another process-wide
/// setting that libgit2 reads without a lock).
fn enable_fsync() {
    use std::os::raw::c_int;
    static ENABLED: std::sync::Once = std::sync::Once::new();
    // SAFETY: git_libgit2_opts with GIT_OPT_ENABLE_FSYNC_GITDIR takes exactly
    // one int argument, per libgit2's documented interface; libgit2 is
    // initialised by git2 before any repository is opened, which has happened.
    ENABLED.call_once(|| unsafe {
        libgit2_sys::git_libgit2_opts(libgit2_sys::GIT_OPT_ENABLE_FSYNC_GITDIR as c_int, 1 as c_int);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_follows_gits_core_fsync_components() {
        assert!(fsync_covers_objects_and_refs("committed"));
        assert!(fsync_covers_objects_and_refs("all"));
        assert!(fsync_covers_objects_and_refs("objects,reference"));
        assert!(fsync_covers_objects_and_refs("loose-object, reference"));
        assert!(!fsync_covers_objects_and_refs("objects"));
        assert!(!fsync_covers_objects_and_refs("all,-reference"));
        assert!(!fsync_covers_objects_and_refs("none"));
    }
}
