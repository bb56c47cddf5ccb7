//! The writers' queue: local writers of one ref take turns.
//!
//! Before an update reads the ref it means to move, it takes an exclusive
//! `flock` on `<common git dir>/orchestrate/locks/<ref>.lock` and holds it
//! across compute, write and move. Writers of one ref on this machine so
//! wait in line in the kernel instead of racing, losing the compare-and-swap
//! and backing off; the more of them, the more the backoff cost, which made
//! throughput collapse under contention. The compare-and-swap stays: it
//! guards against writers that do not take this lock (plain git, a fetch,
//! a remote later).
//!
//! - The kernel releases the lock when its holder dies, so a crash never
//!   leaves the queue blocked, and the lock file itself carries no state.
//! - Readers never take it.
//! - One lock per ref, so mailboxes and read cursors do not queue behind
//!   each other. A ref's lock file is its name under `refs/orchestrate/`
//!   with `/` written as `~` (which no ref name may contain): flat, and one
//!   file per ref.
//! - Re-entrant within a process: an update that nests another update of
//!   the same ref (or the format marker created inside an update) does not
//!   wait for itself. Nested locks are only ever taken in one order (a
//!   collection, then `meta`), so two processes cannot deadlock.
//! - The wait is bounded: a holder that is stopped (Ctrl-Z) or stuck does
//!   not hang every other writer forever.

use super::error::StoreError;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long a writer waits in line before it gives up.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30);
/// With a coordination remote each writer ahead holds its turn for network
/// round trips (a fetch and a push per attempt), so the line moves slower.
pub(crate) const MAX_WAIT_REMOTE: Duration = Duration::from_secs(120);

/// The lock files of one repository, and the ones this process holds.
pub(crate) struct WriterQueue {
    /// How long a writer waits for its turn before it gives up.
    max_wait: Duration,
    /// Refs whose lock this process holds, with how many nested updates
    /// hold it, and the open file that holds it.
    held: RefCell<HashMap<String, (usize, File)>>,
}

/// This process's place at the head of one ref's queue; leaving the scope
/// lets the next writer in.
pub(crate) struct Turn<'q> {
    queue: &'q WriterQueue,
    refname: String,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut held = self.queue.held.borrow_mut();
        if let Some((count, _)) = held.get_mut(&self.refname) {
            *count -= 1;
            if *count == 0 {
                // Closing the last descriptor releases the flock.
                held.remove(&self.refname);
            }
        }
    }
}

/// The lock file that queues the writers of `refname`.
pub fn lock_file(common_dir: &Path, refname: &str) -> PathBuf {
    let name = refname.strip_prefix(super::refs::ROOT).unwrap_or(refname).replace('/', "~");
    locks_dir(common_dir).join(format!("{name}.lock"))
}

/// Where the writers' lock files live.
pub fn locks_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("orchestrate").join("locks")
}

impl WriterQueue {
    pub(crate) fn new(max_wait: Duration) -> WriterQueue {
        WriterQueue { max_wait, held: RefCell::default() }
    }

    /// Waits for this process's turn to write `refname`.
    pub(crate) fn wait_turn(&self, common_dir: &Path, refname: &str) -> Result<Turn<'_>, StoreError> {
        if let Some((count, _)) = self.held.borrow_mut().get_mut(refname) {
            *count += 1;
            return Ok(Turn { queue: self, refname: refname.to_string() });
        }
        let path = lock_file(common_dir, refname);
        let file = open(&path)?;
        if !try_lock(&file).map_err(io_error(&path))? {
            wait_for_lock(&file, &path, self.max_wait)?;
        }
        self.held.borrow_mut().insert(refname.to_string(), (1, file));
        Ok(Turn { queue: self, refname: refname.to_string() })
    }
}

fn open(path: &Path) -> Result<File, StoreError> {
    let open = || std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path);
    match open() {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            open().map_err(io_error(path))
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { action: format!("lock {}", path.display()), source }
}

/// Takes the lock if it is free; false if another process holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor this `File` owns and keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

/// Blocks in the kernel until the lock is ours, for at most `max_wait`.
///
/// A blocking `flock` cannot be given a timeout, so a helper thread waits
/// on a second descriptor of the same open file. If the wait runs out, the
/// helper's message (the lock, once it gets it) finds no receiver and is
/// dropped, which releases the lock at once: an abandoned wait never ends up
/// holding the lock in a long-running process.
fn wait_for_lock(file: &File, path: &Path, max_wait: Duration) -> Result<(), StoreError> {
    let waiter = file.try_clone().map_err(io_error(path))?;
    let (sender, receiver) = mpsc::sync_channel::<std::io::Result<File>>(1);
    std::thread::spawn(move || {
        let locked = loop {
            // SAFETY: flock on a descriptor `waiter` owns and keeps open.
            let rc = unsafe { libc::flock(waiter.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break Ok(waiter);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                break Err(e);
            }
        };
        let _ = sender.send(locked);
    });
    match receiver.recv_timeout(max_wait) {
        // Both descriptors share one open file description, so the lock
        // taken through the clone is held through `file` as well; the clone
        // may be closed.
        Ok(Ok(_clone)) => Ok(()),
        Ok(Err(e)) => Err(io_error(path)(e)),
        Err(_) => Err(StoreError::QueueTimeout { lock: path.to_path_buf(), waited: max_wait }),
    }
}
