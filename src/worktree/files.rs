//! Copying and moving paths out of a worktree into a backup folder, keeping
//! their relative paths: what ending a session does with work it must not
//! delete. Symbolic links are copied as links, never followed.

use super::git::{io, WorktreeError};
use std::path::Path;

/// Copies `rel` from the worktree into `backup`, keeping its relative path.
pub fn back_up(worktree: &Path, rel: &str, backup: &Path) -> Result<(), WorktreeError> {
    copy_recursively(&worktree.join(rel), &backup.join(rel))
}

/// Moves `rel` from the worktree into `backup`, keeping its relative path
/// (a rename where possible, else a copy then a removal).
pub fn move_out(worktree: &Path, rel: &str, backup: &Path) -> Result<(), WorktreeError> {
    let (from, to) = (worktree.join(rel), backup.join(rel));
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
    }
    if std::fs::rename(&from, &to).is_ok() {
        return Ok(());
    }
    copy_recursively(&from, &to)?;
    let removed = if from.is_dir() && !from.is_symlink() {
        std::fs::remove_dir_all(&from)
    } else {
        std::fs::remove_file(&from)
    };
    removed.map_err(io(format!("remove {}", from.display())))
}

/// Copies a file or folder; symbolic links are copied as links, never
/// followed (a link to `..` would otherwise copy forever, and one to a file
/// outside the repository would copy its content).
pub(super) fn copy_recursively(from: &Path, to: &Path) -> Result<(), WorktreeError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
    }
    let meta = std::fs::symlink_metadata(from).map_err(io(format!("read {}", from.display())))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(io(format!("read {}", from.display())))?;
        return std::os::unix::fs::symlink(target, to).map_err(io(format!("link {}", to.display())));
    }
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(io(format!("create {}", to.display())))?;
        for entry in std::fs::read_dir(from).map_err(io(format!("read {}", from.display())))? {
            let entry = entry.map_err(io(format!("read {}", from.display())))?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ()).map_err(io(format!("copy {}", from.display())))
    }
}
