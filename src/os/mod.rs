//! What the tool asks of the operating system beyond files: processes
//! (an identity that survives pid reuse, detaching, whole process trees)
//! and locks the kernel drops when their holder dies, so no crash leaves
//! one behind.

pub mod process;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Locks `path` (made if missing) with flock, released when the file is
/// closed — by the holder's death too. Without `wait`, None if taken.
pub fn lock(path: &Path, wait: bool) -> std::io::Result<Option<File>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    let how = if wait { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    loop {
        // SAFETY: flock on a descriptor we own.
        match unsafe { libc::flock(file.as_raw_fd(), how) } {
            0 => return Ok(Some(file)),
            _ => match std::io::Error::last_os_error() {
                e if e.raw_os_error() == Some(libc::EWOULDBLOCK) => return Ok(None),
                e if e.kind() == std::io::ErrorKind::Interrupted => continue,
                e => return Err(e),
            },
        }
    }
}
