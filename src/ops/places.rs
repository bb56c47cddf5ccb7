//! Where things live on disk, as every use case finds them: the folder
//! session worktrees go in, the checkout a command runs in, and the top of
//! the main worktree where agents' settings are written.

use super::{Context, Error, Result};
use std::path::{Path, PathBuf};

impl Context {
    /// The top of the checkout the command runs in: where agents read
    /// their project settings and instructions.
    pub fn checkout_top(&self) -> Result<PathBuf> {
        self.store.repository().workdir().map(Path::to_path_buf).ok_or_else(|| {
            Error::invalid(
                "this repository has no checkout (bare): run this in a worktree, where the agents work",
            )
        })
    }

    /// Where `integrate` and `prompt --install` write: the top of the main
    /// worktree, which session worktrees are made from, wherever the command
    /// runs (a session's worktree must not collect our untracked files); the
    /// checkout it runs in when the repository itself is bare.
    pub fn settings_top(&self) -> Result<PathBuf> {
        let main = self.store.main_root();
        if main.join(".git").exists() {
            Ok(main)
        } else {
            self.checkout_top()
        }
    }

    /// Where session worktrees go: `orchestrate.worktreeRoot` (relative to
    /// the main worktree), or `<repo>.worktrees` beside the repository.
    pub fn worktree_root(&self) -> PathBuf {
        let root = match self.store.config_string("orchestrate.worktreeRoot") {
            Some(configured) => {
                let p = PathBuf::from(configured);
                if p.is_absolute() {
                    p
                } else {
                    self.store.main_root().join(p)
                }
            }
            None => {
                let main = self.store.main_root();
                let mut folder = main.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                folder.push(".worktrees");
                main.with_file_name(folder)
            }
        };
        lexically_normal(&root)
    }
}

/// `a/b/../c` as `a/c`, without touching the file system (the folder may
/// not exist yet).
pub(crate) fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
