//! Session worktrees: create, inspect, save and remove them.
//!
//! Worktrees are managed through the git CLI (`git worktree add/remove`), so
//! they behave exactly as the user's own worktrees do (checkout hooks,
//! sparse checkout, config). Nothing here ever deletes uncommitted work:
//! [`dirty`] reports it, [`save_work`] commits it to the branch checked out,
//! and [`remove`] refuses a worktree that still has any. Repositories
//! nested inside a worktree (submodules, or a `git init` an agent ran) are
//! found by [`nested`], so their own history is never removed with it.
//!
//! This module holds a worktree's life through git: create, status, save,
//! remove, and the markers in its private git directory. Beside it,
//! [`includes`] owns the `.worktreeinclude` copies, [`files`] moves work
//! aside into a backup folder, and [`git`] is the one way all of them run git.

mod files;
mod git;
mod includes;
pub mod nested;

pub use files::{back_up, move_out};
pub use git::{private_dir, WorktreeError};
pub use includes::{
    changed_includes, copy_includes, include_list, is_include, is_pristine_include, record_includes,
    recorded_includes, INCLUDE_FILE,
};

use git::{git, git_quiet, git_with_input, io, nul_separated, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file, inside a worktree's private git directory, that names the
/// session working there.
pub const IDENTITY_FILE: &str = "orchestrate-session";

/// Resolves `rev` to a commit id in the repository at `dir`, or `None`.
pub fn resolve_commit(dir: &Path, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &spec]).ok().map(|o| stdout(&o))
}

/// Whether the repository at `dir` has any commit at all: a branch, a tag
/// or a HEAD to start from. A fresh `git init` has none.
pub fn has_commits(dir: &Path) -> bool {
    resolve_commit(dir, "HEAD").is_some()
        || git(dir, &["for-each-ref", "--count=1", "--format=x", "refs/heads/", "refs/tags/"])
            .is_ok_and(|o| !stdout(&o).is_empty())
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

/// The session named in a worktree's private git directory, if any.
pub fn identity(worktree: &Path) -> Option<String> {
    let name = std::fs::read_to_string(private_dir(worktree).ok()?.join(IDENTITY_FILE)).ok()?;
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
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

/// One line of `git status`: a path and how it differs from HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// Relative to the worktree; a folder git did not enter (a nested
    /// repository) ends with `/`.
    pub path: String,
    /// The two status letters, index then worktree (`??` untracked).
    pub code: [u8; 2],
}

impl StatusEntry {
    pub fn untracked(&self) -> bool {
        self.code == *b"??"
    }

    /// A tracked file that is gone from the worktree and nothing else.
    pub fn only_deleted(&self) -> bool {
        matches!(self.code, [b' ' | b'D', b'D'] | [b'D', b' '])
    }
}

/// Uncommitted changes in a worktree (ignored files excepted), from
/// `git status`.
pub fn status(worktree: &Path) -> Result<Vec<StatusEntry>, WorktreeError> {
    let out = git(worktree, &["status", "--porcelain=v1", "-z", "--untracked-files=all"])?;
    let mut entries = Vec::new();
    let mut fields = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        if entry.len() > 3 {
            let path = String::from_utf8_lossy(&entry[3..]).into_owned();
            entries.push(StatusEntry { path, code: [entry[0], entry[1]] });
        }
        // A rename or copy is followed by its source path.
        if matches!(entry.first(), Some(b'R' | b'C')) {
            fields.next();
        }
    }
    Ok(entries)
}

/// Uncommitted work in a worktree: the paths of modified, staged and
/// untracked files (ignored files excepted), from `git status`.
pub fn dirty(worktree: &Path) -> Result<Vec<String>, WorktreeError> {
    Ok(status(worktree)?.into_iter().map(|e| e.path).collect())
}

/// Ignored files and folders in a worktree (build output, copies of
/// `.env`, …), as paths relative to it.
pub fn ignored(worktree: &Path) -> Result<Vec<String>, WorktreeError> {
    let out =
        git(worktree, &["status", "--porcelain=v1", "-z", "--ignored=matching", "--untracked-files=all"])?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|f| f.starts_with(b"!! "))
        .map(|f| String::from_utf8_lossy(&f[3..]).trim_end_matches('/').to_string())
        .collect())
}

/// The branch checked out in a worktree, or `None` when HEAD is detached.
pub fn current_branch(worktree: &Path) -> Result<Option<String>, WorktreeError> {
    match git(worktree, &["symbolic-ref", "-q", "--short", "HEAD"]) {
        Ok(out) => Ok(Some(stdout(&out))),
        Err(WorktreeError::Git { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the worktree's HEAD commit is on some branch (else removing the
/// worktree would leave its commits reachable from nothing).
pub fn head_is_on_a_branch(worktree: &Path) -> Result<bool, WorktreeError> {
    // for-each-ref, not `branch --contains`: the latter lists the detached
    // HEAD itself as "(HEAD detached …)".
    let out = git(worktree, &["for-each-ref", "--contains", "HEAD", "--format=%(refname)", "refs/heads/"])?;
    Ok(!stdout(&out).is_empty())
}

/// Creates `branch` at the worktree's HEAD (never moving an existing one).
pub fn branch_at_head(worktree: &Path, branch: &str) -> Result<(), WorktreeError> {
    git(worktree, &["branch", branch, "HEAD"]).map(|_| ())
}

/// A worktree registered in the repository.
#[derive(Debug, Clone)]
pub struct Registered {
    pub path: PathBuf,
    pub branch: Option<String>,
    /// Its folder is gone (deleted by hand): `git worktree prune` drops it.
    pub missing: bool,
}

/// Every worktree the repository knows about.
pub fn registered(repo: &Path) -> Result<Vec<Registered>, WorktreeError> {
    let out = git(repo, &["worktree", "list", "--porcelain", "-z"])?;
    let mut list = Vec::new();
    let mut current: Option<Registered> = None;
    for field in out.stdout.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()) {
        if let Some(path) = field.strip_prefix("worktree ") {
            list.extend(current.take());
            let path = PathBuf::from(path);
            current = Some(Registered { missing: !path.exists(), path, branch: None });
        } else if let (Some(branch), Some(c)) = (field.strip_prefix("branch refs/heads/"), current.as_mut()) {
            c.branch = Some(branch.to_string());
        }
    }
    list.extend(current);
    Ok(list)
}

/// Gives back a worktree folder the `.git` file that ties it to the
/// repository, if it lost it (a removal cut short can take it first).
/// Returns whether the worktree is usable now.
pub fn relink(repo: &Path, worktree: &Path) -> bool {
    if std::fs::symlink_metadata(worktree.join(".git")).is_err() {
        // git repairs the file and still exits 1, having complained first
        // that the folder is not a repository: the outcome is what counts.
        let _ = git(repo, &["worktree", "repair", &worktree.to_string_lossy()]);
    }
    git(worktree, &["rev-parse", "--absolute-git-dir"]).is_ok()
}

/// Forgets worktrees whose folders were deleted by hand.
pub fn prune(repo: &Path) -> Result<(), WorktreeError> {
    git(repo, &["worktree", "prune"]).map(|_| ())
}

/// Marks a worktree as prepared (include files copied, setup run), in its
/// private git directory, so a retried start finishes what a failed one
/// left undone and a resumed one does not redo it.
pub fn mark_prepared(worktree: &Path) -> Result<(), WorktreeError> {
    let git_dir = stdout(&git(worktree, &["rev-parse", "--absolute-git-dir"])?);
    let file = PathBuf::from(git_dir).join("orchestrate-prepared");
    std::fs::write(&file, "").map_err(io(format!("write {}", file.display())))
}

pub fn is_prepared(worktree: &Path) -> bool {
    git(worktree, &["rev-parse", "--absolute-git-dir"])
        .map(|o| PathBuf::from(stdout(&o)).join("orchestrate-prepared").exists())
        .unwrap_or(false)
}

/// The commit a branch points at, if it exists.
pub fn branch_tip(repo: &Path, branch: &str) -> Option<String> {
    resolve_commit(repo, &format!("refs/heads/{branch}"))
}

/// Commits exactly `paths` (tracked or not, as they are in the worktree)
/// to whatever the worktree has checked out, bypassing hooks, and never
/// anything staged under `keep_out` (copies of include files: secrets stay
/// out of branches even if an agent staged them). Paths are literal and
/// read from standard input, so none is ever taken for a pattern and no
/// list is too long; ignored files are never named, so git never refuses
/// them. Returns the new commit, or `None` if nothing differed after all.
pub fn save_work(
    worktree: &Path,
    message: &str,
    paths: &[String],
    keep_out: &[String],
) -> Result<Option<String>, WorktreeError> {
    let from_stdin = ["--pathspec-from-file=-", "--pathspec-file-nul"];
    if !paths.is_empty() {
        let mut add = vec!["--literal-pathspecs", "add", "--all"];
        add.extend(from_stdin);
        git_with_input(worktree, &add, &nul_separated(paths))?;
    }
    let staged_copies: Vec<String> = keep_out
        .iter()
        .filter(|p| !git_quiet(worktree, &["diff", "--cached", "--quiet", "--", p]))
        .cloned()
        .collect();
    if !staged_copies.is_empty() {
        let mut reset = vec!["--literal-pathspecs", "reset", "--quiet"];
        reset.extend(from_stdin);
        git_with_input(worktree, &reset, &nul_separated(&staged_copies))?;
    }
    if git_quiet(worktree, &["diff", "--cached", "--quiet"]) {
        return Ok(None);
    }
    git(
        worktree,
        &[
            "-c",
            "user.name=git-orchestrate",
            "-c",
            "user.email=git-orchestrate@localhost",
            // A signing prompt (gpg, ssh) would hang or fail an unattended
            // end; the commit is the tool's, under its own name.
            "-c",
            "commit.gpgSign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
        ],
    )?;
    Ok(Some(stdout(&git(worktree, &["rev-parse", "HEAD"])?)))
}

/// The file, in a worktree's private git directory, that says everything
/// in the worktree was saved and its removal began, at which HEAD.
const REMOVING_FILE: &str = "orchestrate-removing";

/// Records, just before the removal starts, that everything in the
/// worktree has been saved: if the removal is cut short (the process
/// killed half-way), the next `end` knows the files missing are the
/// removal's doing, not deletions to commit.
pub fn mark_removing(worktree: &Path) -> Result<(), WorktreeError> {
    let head = stdout(&git(worktree, &["rev-parse", "HEAD"])?);
    let file = private_dir(worktree)?.join(REMOVING_FILE);
    std::fs::write(&file, format!("{head}\n")).map_err(io(format!("write {}", file.display())))
}

/// Withdraws [`mark_removing`] after a removal that failed without
/// touching anything (a locked worktree): the worktree is in use again.
pub fn unmark_removing(worktree: &Path) {
    if let Ok(dir) = private_dir(worktree) {
        let _ = std::fs::remove_file(dir.join(REMOVING_FILE));
    }
}

/// Whether an earlier removal of this worktree began and was cut short:
/// it was marked, and HEAD has not moved since.
pub fn removal_interrupted(worktree: &Path) -> bool {
    let Ok(dir) = private_dir(worktree) else { return false };
    let Ok(marked) = std::fs::read_to_string(dir.join(REMOVING_FILE)) else { return false };
    resolve_commit(worktree, "HEAD").is_some_and(|head| head == marked.trim())
}

/// Whether `ancestor` is contained in `commit` (both revisions).
pub fn is_ancestor(repo: &Path, ancestor: &str, commit: &str) -> bool {
    git(repo, &["merge-base", "--is-ancestor", ancestor, commit]).is_ok()
}

/// Removes a worktree. `only_copies` is true when the caller has checked
/// that everything left uncommitted is an unchanged copy made at start:
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
