//! Errors of the storage engine, each carrying the facts a user needs.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open a git repository here ({path}): {message}")]
    NotARepository { path: PathBuf, message: String },

    #[error(
        "this repository uses the reftable ref format, which libgit2 (and so git-orchestrate) cannot read yet; \
         convert it with `git refs migrate --ref-format=files`, or use a clone in the files format"
    )]
    Reftable,

    #[error("{refname} holds format {found}, but this git-orchestrate understands format {supported} at most; upgrade git-orchestrate before changing this repository's coordination state")]
    NewerFormat { refname: String, found: u32, supported: u32 },

    #[error(
        "{refname}:{path} is corrupt ({reason}); inspect it with `git show {refname}:{path}`, and move it \
         aside with `git orchestrate doctor --repair` so the rest works again"
    )]
    Corrupt { refname: String, path: String, reason: String },

    #[error("{refname} kept changing under {attempts} attempts in {elapsed:?}: too many writers at once; try again")]
    Contended { refname: String, attempts: u32, elapsed: Duration },

    #[error(
        "{lock} was left {age} ago by a writer that died, and cannot be removed ({source}); \
         remove it by hand (`rm {lock}`) and try again"
    )]
    StaleLock {
        lock: PathBuf,
        /// How long ago the lock file was last written, from its mtime.
        age: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "waited {waited:?} for the other writers of this collection (queued on {lock}); one of them is stuck \
         or stopped: find it with `fuser {lock}` (or `lsof`), let it finish, and try again"
    )]
    QueueTimeout { lock: PathBuf, waited: Duration },

    #[error("orchestrate.remote = {remote}: {reason}")]
    BadRemote { remote: String, reason: String },

    #[error("remote {remote}: git {action} failed: {message}; nothing was changed ({way_out})")]
    Remote { remote: String, action: String, message: String, way_out: String },
    #[error("cannot encode the document for {path}: {reason}; nothing was written")]
    Encode { path: String, reason: String },

    #[error("git: {action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },

    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn git(action: impl Into<String>) -> impl FnOnce(git2::Error) -> StoreError {
        let action = action.into();
        move |source| StoreError::Git { action, source }
    }
}

/// One document that could not be read. Listings collect these and go on
/// with the rest of the collection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Corrupt {
    pub refname: String,
    pub path: String,
    pub reason: String,
}

impl From<Corrupt> for StoreError {
    fn from(c: Corrupt) -> StoreError {
        StoreError::Corrupt { refname: c.refname, path: c.path, reason: c.reason }
    }
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} is corrupt: {}", self.refname, self.path, self.reason)
    }
}
