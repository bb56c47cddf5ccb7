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
/// The wait is on the calling thread itself, so the kernel wakes the next
/// writer directly when the holder lets go. (Waiting on a helper thread
/// that then wakes the caller costs a second wake-up on every turn, and on
/// a busy machine each wake-up waits milliseconds for a CPU, during which
/// the lock is taken but nobody is using it: that hand-over time bounds
/// the throughput of the whole queue.)
///
/// A blocking `flock` takes no timeout, so a one-shot timer aimed at this
/// thread interrupts it with a signal whose handler does nothing; `flock`
/// then returns `EINTR` and the wait ends once `max_wait` has passed.
#[cfg(target_os = "linux")]
fn wait_for_lock(file: &File, path: &Path, max_wait: Duration) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + max_wait;
    let _timer = WakeTimer::arm(max_wait).map_err(io_error(path))?;
    loop {
        // SAFETY: flock on a descriptor `file` owns and keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(io_error(path)(e));
        }
        if std::time::Instant::now() >= deadline {
            return Err(StoreError::QueueTimeout { lock: path.to_path_buf(), waited: max_wait });
        }
        // Another signal interrupted the wait: wait on.
    }
}

/// A one-shot timer that interrupts this thread's blocking calls once,
/// after a delay; dropping it disarms it.
#[cfg(target_os = "linux")]
struct WakeTimer {
    timer: libc::timer_t,
    /// The thread's signal mask before the wake signal was let through.
    old_mask: libc::sigset_t,
}

#[cfg(target_os = "linux")]
impl WakeTimer {
    fn arm(after: Duration) -> std::io::Result<WakeTimer> {
        let signal = wake_signal()?;
        // SAFETY: plain libc calls on values owned here: a zeroed sigevent
        // and sigset filled in field by field, a timer id written by
        // timer_create, and the calling thread's own id and signal mask.
        unsafe {
            let mut only_wake: libc::sigset_t = std::mem::zeroed();
            let mut old_mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut only_wake);
            libc::sigaddset(&mut only_wake, signal);
            // A thread that blocks the signal would never be interrupted.
            let rc = libc::pthread_sigmask(libc::SIG_UNBLOCK, &only_wake, &mut old_mask);
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            let mut event: libc::sigevent = std::mem::zeroed();
            event.sigev_notify = libc::SIGEV_THREAD_ID;
            event.sigev_signo = signal;
            event.sigev_notify_thread_id = libc::gettid();
            let mut timer: libc::timer_t = std::mem::zeroed();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) != 0 {
                let e = std::io::Error::last_os_error();
                libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut());
                return Err(e);
            }
            let armed = WakeTimer { timer, old_mask };
            let when = libc::itimerspec {
                it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                it_value: libc::timespec {
                    tv_sec: after.as_secs() as libc::time_t,
                    // At least a nanosecond: all zero would disarm it.
                    tv_nsec: after.subsec_nanos().max(1) as libc::c_long,
                },
            };
            if libc::timer_settime(armed.timer, 0, &when, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(armed)
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for WakeTimer {
    fn drop(&mut self) {
        // SAFETY: the timer was created by `arm` and is deleted once; after
        // timer_delete it cannot fire, and the mask restored is the one
        // this thread had.
        unsafe {
            libc::timer_delete(self.timer);
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut());
        }
    }
}

/// The signal that ends a wait: a real-time signal no one else here uses,
/// with a handler that does nothing and, without `SA_RESTART`, makes the
/// blocking call it lands in return `EINTR`. Installed once per process.
#[cfg(target_os = "linux")]
fn wake_signal() -> std::io::Result<libc::c_int> {
    extern "C" fn ignore(_: libc::c_int) {}
    static INSTALLED: std::sync::OnceLock<Result<libc::c_int, i32>> = std::sync::OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let signal = libc::SIGRTMIN() + 6;
        // SAFETY: sigaction with a zeroed struct whose handler is a function
        // that does nothing (async-signal-safe) and whose mask is emptied.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL));
            }
        }
        Ok(signal)
    });
    installed.map_err(std::io::Error::from_raw_os_error)
}

/// Elsewhere, a helper thread waits on a second descriptor of the same open
/// file. If the wait runs out, the helper's message (the lock, once it gets
/// it) finds no receiver and is dropped, which releases the lock at once:
/// an abandoned wait never ends up holding the lock in a long-running
/// process.
#[cfg(not(target_os = "linux"))]
fn wait_for_lock(file: &File, path: &Path, max_wait: Duration) -> Result<(), StoreError> {
    let waiter = file.try_clone().map_err(io_error(path))?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<std::io::Result<File>>(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Another open file description of the same lock file: flock treats
    /// it as another writer, even in this process.
    fn hold(path: &Path) -> File {
        let other = open(path).expect("open the lock file");
        assert!(try_lock(&other).expect("flock"), "the lock is free");
        other
    }

    #[test]
    fn a_wait_gives_up_after_max_wait_and_leaves_the_lock_to_its_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let queue = WriterQueue::new(Duration::from_millis(200));
        let holder = hold(&lock_file(dir.path(), "refs/orchestrate/tasks"));
        let refused = queue.wait_turn(dir.path(), "refs/orchestrate/tasks");
        assert!(matches!(refused, Err(StoreError::QueueTimeout { .. })), "timed out");
        // Nothing was left behind: the holder still holds it, and once it
        // lets go the next writer gets its turn.
        let third = open(&lock_file(dir.path(), "refs/orchestrate/tasks")).expect("open");
        assert!(!try_lock(&third).expect("flock"), "still held by its holder");
        drop(holder);
        assert!(queue.wait_turn(dir.path(), "refs/orchestrate/tasks").is_ok());
    }

    #[test]
    fn a_waiting_writer_gets_its_turn_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = lock_file(dir.path(), "refs/orchestrate/sessions");
        let holder = hold(&path);
        let (ready, go) = std::sync::mpsc::channel();
        let release = std::thread::spawn(move || {
            go.recv().expect("the waiter is about to wait");
            std::thread::sleep(Duration::from_millis(50));
            drop(holder);
        });
        let queue = WriterQueue::new(Duration::from_secs(30));
        ready.send(()).expect("the releaser is there");
        let turn = queue.wait_turn(dir.path(), "refs/orchestrate/sessions");
        assert!(turn.is_ok(), "got the turn: {:?}", turn.err());
        // It is really held now: another description cannot take it.
        let other = open(&path).expect("open");
        assert!(!try_lock(&other).expect("flock"), "held by the waiter");
        release.join().expect("the releaser");
    }
}
