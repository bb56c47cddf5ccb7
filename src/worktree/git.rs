//! Running git for the worktree code: in a given folder, free of any
//! `GIT_DIR`, `GIT_WORK_TREE` or `GIT_INDEX_FILE` a hook may have set, with
//! a failure turned into a [`WorktreeError`] that names the command and what
//! git said; and the one fact every other part reads through it, a
//! worktree's private git directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

pub(super) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorktreeError {
    let action = action.into();
    move |source| WorktreeError::Io { action, source }
}

/// git in `dir`, free of any `GIT_DIR` a hook may have set.
pub(super) fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    cmd
}

/// What git said, or its failure as an error naming the command.
pub(super) fn succeeded(args: &[&str], out: Output) -> Result<Output, WorktreeError> {
    if !out.status.success() {
        return Err(WorktreeError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// Runs git in `dir`, free of any `GIT_DIR` a hook may have set.
pub(super) fn git(dir: &Path, args: &[&str]) -> Result<Output, WorktreeError> {
    succeeded(args, git_command(dir, args).output().map_err(io("run git"))?)
}

/// Runs git in `dir` with `input` on its standard input (a list of paths
/// for `--pathspec-from-file=-`: no argument list limit, no quoting).
pub(super) fn git_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Result<Output, WorktreeError> {
    let mut child = git_command(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("run git"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(io("write to git"))?;
    }
    succeeded(args, child.wait_with_output().map_err(io("run git"))?)
}

/// Paths as git reads them from `--pathspec-from-file=- --pathspec-file-nul`.
pub(super) fn nul_separated(paths: &[String]) -> Vec<u8> {
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    input
}

pub(super) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether a git command that answers by its exit status says yes
/// (`diff --quiet`: no difference). A git that could not run says no.
pub(super) fn git_quiet(dir: &Path, args: &[&str]) -> bool {
    let mut full = vec!["--literal-pathspecs"];
    full.extend_from_slice(args);
    git(dir, &full).is_ok()
}

/// The private git directory of a worktree (`.git/worktrees/<name>`).
pub fn private_dir(worktree: &Path) -> Result<PathBuf, WorktreeError> {
    Ok(PathBuf::from(stdout(&git(worktree, &["rev-parse", "--absolute-git-dir"])?)))
}
