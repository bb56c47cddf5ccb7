//! Repositories nested inside a session worktree: submodules, and folders
//! where an agent ran `git init`.
//!
//! Their history lives in a git directory that removing the worktree may
//! remove too: an untracked repository keeps it in its own `.git`, and a
//! submodule added in a linked worktree keeps it under the worktree's
//! private git directory (`.git/worktrees/<name>/modules/…`). Git itself
//! refuses to remove a worktree with submodules; here each nested
//! repository is looked at, and one that holds anything found nowhere
//! else (its own commits, uncommitted changes, ignored files) is moved
//! whole — files and history together, as a repository that works on its
//! own — instead of being deleted.

use super::files::{copy_recursively, move_out};
use super::git::{git, io, private_dir, stdout, WorktreeError};
use super::StatusEntry;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A git repository inside a worktree, other than the worktree itself.
#[derive(Debug, Clone, Serialize)]
pub struct Nested {
    /// Relative to the worktree, without a trailing `/`.
    pub path: String,
    /// Recorded in the worktree's index (a submodule, or a repository
    /// added as a gitlink); else git does not track it at all.
    pub tracked: bool,
    /// Where its history is.
    #[serde(skip)]
    pub git_dir: PathBuf,
    /// Its history is inside the worktree or its private git directory,
    /// so removing the worktree would remove it.
    pub history_goes_with_worktree: bool,
    /// Commits reachable from its branches, tags, HEAD or stash that no
    /// remote-tracking branch contains.
    pub unpushed: usize,
    /// It has uncommitted changes or untracked files.
    pub changed: bool,
    /// It has files its own ignore rules hide (build output, notes).
    pub ignored: bool,
}

impl Nested {
    /// Holds work that removing the worktree would lose and that the
    /// agent should have dealt with: `end` without `--force` refuses.
    pub fn holds_work(&self) -> bool {
        !self.tracked || self.changed || (self.history_goes_with_worktree && self.unpushed > 0)
    }

    /// Must be moved out before the worktree goes. A clean submodule whose
    /// commits a remote has is only a checkout, and goes with it.
    pub fn must_be_kept(&self) -> bool {
        self.holds_work() || self.ignored
    }

    /// What it holds, for a message: "a repository git does not track",
    /// "a submodule with 2 commits no remote has and uncommitted changes".
    pub fn describe(&self) -> String {
        let what = if self.tracked { "a submodule" } else { "a repository git does not track" };
        let mut holds = Vec::new();
        if self.history_goes_with_worktree && self.unpushed > 0 {
            let s = if self.unpushed == 1 { "" } else { "s" };
            holds.push(format!("{} commit{s} no remote has", self.unpushed));
        }
        if self.changed {
            holds.push("uncommitted changes".to_string());
        }
        match holds.is_empty() {
            true => format!("{} ({what})", self.path),
            false => format!("{} ({what}, with {})", self.path, holds.join(" and ")),
        }
    }
}

/// Every repository nested in `worktree`: the gitlinks in its index that
/// are checked out, and the untracked folders `git status` did not enter
/// because they hold a `.git`. Repositories inside ignored folders are not
/// listed: those folders are moved whole anyway.
pub fn find(worktree: &Path, status: &[StatusEntry]) -> Result<Vec<Nested>, WorktreeError> {
    let mut found: Vec<(String, bool)> = Vec::new();
    let staged = git(worktree, &["ls-files", "--stage", "-z"])?;
    for line in staged.stdout.split(|b| *b == 0).filter(|l| l.starts_with(b"160000 ")) {
        if let Some(tab) = line.iter().position(|b| *b == b'\t') {
            found.push((String::from_utf8_lossy(&line[tab + 1..]).into_owned(), true));
        }
    }
    for entry in status.iter().filter(|e| e.untracked() && e.path.ends_with('/')) {
        found.push((entry.path.trim_end_matches('/').to_string(), false));
    }
    found.dedup();
    let own_dirs = [canonical(worktree), canonical(&private_dir(worktree)?)];
    let mut nested = Vec::new();
    for (path, tracked) in found {
        let dir = worktree.join(&path);
        if std::fs::symlink_metadata(dir.join(".git")).is_err() {
            continue; // a gitlink not checked out, or a plain folder
        }
        nested.push(inspect(&dir, path, tracked, &own_dirs));
    }
    Ok(nested)
}

fn inspect(dir: &Path, path: String, tracked: bool, own_dirs: &[PathBuf]) -> Nested {
    let git_dir = git(dir, &["rev-parse", "--absolute-git-dir"])
        .map(|o| PathBuf::from(stdout(&o)))
        .unwrap_or_else(|_| dir.join(".git"));
    let history_goes_with_worktree = {
        let at = canonical(&git_dir);
        own_dirs.iter().any(|own| at.starts_with(own))
    };
    // A repository git cannot read is counted as holding work: it is kept.
    let unpushed = match git(dir, &["rev-list", "--count", "--all", "--not", "--remotes"]) {
        Ok(out) => stdout(&out).parse().unwrap_or(usize::MAX),
        Err(_) => usize::MAX,
    };
    // What git cannot answer counts as there: the repository is kept.
    let status = git(dir, &["status", "--porcelain", "--ignored=matching", "--ignore-submodules=none"])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let (changed, ignored) = match &status {
        Ok(text) => (text.lines().any(|l| !l.starts_with("!! ")), text.lines().any(|l| l.starts_with("!! "))),
        Err(_) => (true, true),
    };
    Nested { changed, ignored, path, tracked, git_dir, history_goes_with_worktree, unpushed }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Moves a nested repository whole to `backup/<path>`, as a repository
/// that works on its own: when its history lives elsewhere (a submodule's
/// `.git` file pointing into the worktree's private git directory), that
/// history is moved in as its `.git`, and the setting that tied it to the
/// old folder is dropped. Returns where it is now.
///
/// The history moves first, the files after: a process killed in between
/// leaves the history safe in the backup and the files in the worktree,
/// where the next `end` finds them and keeps them too.
pub fn move_whole(worktree: &Path, nested: &Nested, backup: &Path) -> Result<PathBuf, WorktreeError> {
    let (from, to) = (worktree.join(&nested.path), backup.join(&nested.path));
    let gitfile = std::fs::symlink_metadata(from.join(".git")).map(|m| m.is_file()).unwrap_or(false);
    if !gitfile || !nested.history_goes_with_worktree || !nested.git_dir.is_dir() {
        if gitfile && nested.git_dir.is_dir() {
            // The history stays where it is: point the moved checkout at it.
            let text = format!("gitdir: {}\n", nested.git_dir.display());
            let dot_git = from.join(".git");
            std::fs::write(&dot_git, text).map_err(io(format!("write {}", dot_git.display())))?;
        }
        // Its history is in its own .git folder (or stays put): one rename.
        move_out(worktree, &nested.path, backup)?;
        return Ok(to);
    }
    std::fs::create_dir_all(&to).map_err(io(format!("create {}", to.display())))?;
    let dot_git = to.join(".git");
    if std::fs::rename(&nested.git_dir, &dot_git).is_err() {
        copy_recursively(&nested.git_dir, &dot_git)?;
        std::fs::remove_dir_all(&nested.git_dir)
            .map_err(io(format!("remove {}", nested.git_dir.display())))?;
    }
    // A submodule's git directory names its checkout's old folder. (Set
    // through --file: git will not start in a repository whose
    // core.worktree names a folder that is gone.)
    let config = dot_git.join("config");
    let _ = git(backup, &["config", "--file", &config.to_string_lossy(), "--unset", "core.worktree"]);
    let read = |e| WorktreeError::Io { action: format!("read {}", from.display()), source: e };
    for entry in std::fs::read_dir(&from).map_err(read)? {
        let name = entry.map_err(read)?.file_name();
        if name != ".git" {
            let rel = format!("{}/{}", nested.path, name.to_string_lossy());
            move_out(worktree, &rel, backup)?;
        }
    }
    std::fs::remove_file(from.join(".git")).map_err(io(format!("remove {}", from.join(".git").display())))?;
    std::fs::remove_dir(&from).map_err(io(format!("remove {}", from.display())))?;
    Ok(to)
}
