//! Session worktrees: create, inspect, save and remove them.
//!
//! Worktrees are managed through the git CLI (`git worktree add/remove`), so
//! they behave exactly as the user's own worktrees do (checkout hooks,
//! sparse checkout, config). Nothing here ever deletes uncommitted work:
//! [`dirty`] reports it, [`save_work`] commits it to the session's branch,
//! and [`remove`] refuses a worktree that still has any.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The file, inside a worktree's private git directory, that names the
/// session working there.
pub const IDENTITY_FILE: &str = "orchestrate-session";

/// Files listed here (one path per line, `#` comments) are copied from the
/// main worktree into every new session worktree: `.env` and the like.
pub const INCLUDE_FILE: &str = ".worktreeinclude";

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("`git {args}` failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorktreeError {
    let action = action.into();
    move |source| WorktreeError::Io { action, source }
}

/// Runs git in `dir`, free of any `GIT_DIR` a hook may have set.
fn git(dir: &Path, args: &[&str]) -> Result<Output, WorktreeError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(io("run git"))?;
    if !out.status.success() {
        return Err(WorktreeError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Resolves `rev` to a commit id in the repository at `dir`, or `None`.
pub fn resolve_commit(dir: &Path, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &spec]).ok().map(|o| stdout(&o))
}

pub fn branch_exists(dir: &Path, branch: &str) -> bool {
    git(dir, &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")]).is_ok()
}

/// Adds a worktree at `path` on `branch`: a new branch from `base`, or the
/// existing branch when it is already there (a resumed or restarted session).
pub fn create(repo: &Path, path: &Path, branch: &str, base: &str) -> Result<(), WorktreeError> {
    let path_str = path.to_string_lossy();
    if branch_exists(repo, branch) {
        git(repo, &["worktree", "add", "--quiet", &path_str, branch])?;
    } else {
        git(repo, &["worktree", "add", "--quiet", "-b", branch, &path_str, base])?;
    }
    Ok(())
}

/// Writes the session's name into the worktree's private git directory, so
/// commands run there know who is acting without flags.
pub fn record_identity(worktree: &Path, session: &str) -> Result<(), WorktreeError> {
    let git_dir = stdout(&git(worktree, &["rev-parse", "--absolute-git-dir"])?);
    let file = PathBuf::from(git_dir).join(IDENTITY_FILE);
    std::fs::write(&file, format!("{session}\n")).map_err(io(format!("write {}", file.display())))
}

/// The paths listed in the main worktree's `.worktreeinclude` that exist
/// there, relative to it. Entries outside the repository are ignored.
pub fn include_list(main: &Path) -> Vec<String> {
    let Ok(list) = std::fs::read_to_string(main.join(INCLUDE_FILE)) else { return Vec::new() };
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
        .filter(|rel| {
            !rel.is_empty()
                && !Path::new(rel).is_absolute()
                && !rel.split('/').any(|s| s == ".." || s == ".git")
        })
        .filter(|rel| main.join(rel).exists())
        .collect()
}

/// Copies the untracked files listed in the main worktree's
/// `.worktreeinclude` into `to`. Returns the paths copied.
pub fn copy_includes(from: &Path, to: &Path) -> Result<Vec<String>, WorktreeError> {
    let mut copied = Vec::new();
    for rel in include_list(from) {
        if !to.join(&rel).exists() {
            copy_recursively(&from.join(&rel), &to.join(&rel))?;
            copied.push(rel);
        }
    }
    Ok(copied)
}

/// Whether `rel` in the worktree is a copy made from the main worktree's
/// include list and still identical to its original: not the agent's work.
pub fn is_pristine_include(main: &Path, worktree: &Path, includes: &[String], rel: &str) -> bool {
    let listed = includes.iter().any(|inc| rel == inc || rel.starts_with(&format!("{inc}/")));
    listed
        && matches!((std::fs::read(main.join(rel)), std::fs::read(worktree.join(rel))), (Ok(a), Ok(b)) if a == b)
}

/// Whether `rel` comes from the include list (changed or not).
pub fn is_include(includes: &[String], rel: &str) -> bool {
    includes.iter().any(|inc| rel == inc || rel.starts_with(&format!("{inc}/")))
}

/// Copies `rel` from the worktree into `backup`, keeping its relative path.
pub fn back_up(worktree: &Path, rel: &str, backup: &Path) -> Result<(), WorktreeError> {
    copy_recursively(&worktree.join(rel), &backup.join(rel))
}

fn copy_recursively(from: &Path, to: &Path) -> Result<(), WorktreeError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
    }
    if from.is_dir() {
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

/// Runs the configured setup command in a new worktree with `sh -c`.
/// Returns its combined output on failure.
pub fn run_setup(worktree: &Path, command: &str) -> Result<(), String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(worktree)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exit {}: {}{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Uncommitted work in a worktree: the paths of modified, staged and
/// untracked files (ignored files excepted), from `git status`.
pub fn dirty(worktree: &Path) -> Result<Vec<String>, WorktreeError> {
    let out = git(worktree, &["status", "--porcelain=v1", "-z", "--untracked-files=all"])?;
    let mut paths = Vec::new();
    let mut fields = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        let text = String::from_utf8_lossy(entry);
        if text.len() > 3 {
            paths.push(text[3..].to_string());
        }
        // A rename or copy is followed by its source path.
        if matches!(entry.first(), Some(b'R' | b'C')) {
            fields.next();
        }
    }
    Ok(paths)
}

/// Commits everything uncommitted (tracked and untracked, not ignored) to
/// the worktree's branch, bypassing hooks, except the paths in `exclude`.
/// Returns the new commit id.
pub fn save_work(worktree: &Path, message: &str, exclude: &[String]) -> Result<String, WorktreeError> {
    let mut add = vec!["add".to_string(), "--all".to_string(), "--".to_string(), ".".to_string()];
    add.extend(exclude.iter().map(|p| format!(":(exclude,literal){p}")));
    git(worktree, &add.iter().map(String::as_str).collect::<Vec<_>>())?;
    git(
        worktree,
        &[
            "-c",
            "user.name=git-orchestrate",
            "-c",
            "user.email=git-orchestrate@localhost",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
        ],
    )?;
    Ok(stdout(&git(worktree, &["rev-parse", "HEAD"])?))
}

/// Removes a worktree. `only_copies` is true when the caller has checked
/// that everything left uncommitted is a copy made at start (or backed up):
/// then git is told to remove it anyway; otherwise git refuses a worktree
/// with uncommitted work, as it should.
pub fn remove(repo: &Path, worktree: &Path, only_copies: bool) -> Result<(), WorktreeError> {
    let path = worktree.to_string_lossy();
    let mut args = vec!["worktree", "remove"];
    if only_copies {
        args.push("--force");
    }
    args.push(&path);
    git(repo, &args)?;
    Ok(())
}
