//! The few git commands landing needs that libgit2 does not do as git
//! does: a merge computed without any working tree (`git merge-tree
//! --write-tree`, git's own merge machinery), a ref update held in a
//! prepared transaction (`git update-ref --stdin`) while a checkout is
//! brought forward (`git read-tree -u -m`, the two-tree merge that
//! `git merge --ff-only` does), and temporary worktrees for checks.
//!
//! Every command runs with the repository named explicitly and free of any
//! `GIT_DIR`/`GIT_WORK_TREE`/`GIT_INDEX_FILE` a hook may have set.

use git2::Oid;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("could not run git: {0}")]
    Spawn(#[from] std::io::Error),
}

/// git, in `dir`, with a clean environment.
pub(crate) fn git_in(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_PREFIX");
    cmd
}

fn run(mut cmd: Command, args: &[&str]) -> Result<Output, GitError> {
    Ok(cmd.args(args).stdin(Stdio::null()).output()?)
}

fn failed(args: &[&str], out: &Output) -> GitError {
    GitError::Failed { args: args.join(" "), stderr: String::from_utf8_lossy(&out.stderr).trim().to_string() }
}

/// The result of merging two commits without a working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeTree {
    /// The merged tree; with conflicts, it holds conflict markers.
    pub tree: Oid,
    /// Files that conflict textually, each once, in git's order.
    pub conflicts: Vec<String>,
}

/// Merges `theirs` into `ours` as `git merge` would, touching no working
/// tree or index: only objects are written. `base` overrides the merge base
/// (a rebase replays one commit with its parent as the base).
pub(crate) fn merge_tree(
    git_dir: &Path,
    ours: Oid,
    theirs: Oid,
    base: Option<Oid>,
) -> Result<MergeTree, GitError> {
    let (ours, theirs) = (ours.to_string(), theirs.to_string());
    let base_arg = base.map(|b| format!("--merge-base={b}"));
    let mut args = vec!["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z"];
    if let Some(b) = &base_arg {
        args.push(b);
    }
    args.extend([ours.as_str(), theirs.as_str()]);
    let out = run(git_in(git_dir), &args)?;
    // 0: clean; 1: conflicts; anything else: the merge could not be done.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(failed(&args, &out));
    }
    let mut fields = out.stdout.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let tree = fields.next().and_then(|t| Oid::from_str(t.trim()).ok()).ok_or_else(|| failed(&args, &out))?;
    let mut conflicts: Vec<String> = Vec::new();
    for name in fields.take_while(|f| !f.is_empty()) {
        if !conflicts.contains(&name) {
            conflicts.push(name);
        }
    }
    Ok(MergeTree { tree, conflicts })
}

/// The newest commit reachable from `from` but not from `base` that
/// changed `path`, if any.
pub(crate) fn last_change(git_dir: &Path, from: Oid, base: Option<Oid>, path: &str) -> Option<Oid> {
    let from = from.to_string();
    let not_base = base.map(|b| format!("^{b}"));
    let mut args = vec!["rev-list", "-1", from.as_str()];
    if let Some(b) = &not_base {
        args.push(b);
    }
    args.extend(["--", path]);
    let out = run(git_in(git_dir), &args).ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Oid::from_str(text.trim()).ok()
}

/// A ref update prepared (the ref locked and its old value verified) but
/// not yet committed: while it is held, nobody else can move the ref.
/// Dropping it without [`Prepared::commit`] aborts it.
pub(crate) struct Prepared {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// Why a prepared update could not be had.
#[derive(Debug)]
pub(crate) enum PrepareError {
    /// The ref is not at the expected value (or is locked by someone else).
    Lost,
    Git(GitError),
}

impl Prepared {
    /// Locks `refname` and checks that it is at `old`, to move it to `new`.
    pub(crate) fn start(git_dir: &Path, refname: &str, new: Oid, old: Oid) -> Result<Prepared, PrepareError> {
        let mut child = git_in(git_dir)
            .args(["update-ref", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| PrepareError::Git(e.into()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PrepareError::Git(GitError::Spawn(std::io::Error::other(
                "no pipe to git update-ref",
            ))));
        };
        let mut prepared = Prepared { child, stdin: Some(stdin), stdout };
        let script = format!("start\nupdate {refname} {new} {old}\nprepare\n");
        match prepared.say(&script, &["start: ok", "prepare: ok"]) {
            Ok(()) => Ok(prepared),
            Err(_) => Err(PrepareError::Lost),
        }
    }

    /// Sends commands and waits for the acknowledgements; on failure,
    /// returns what git said on stderr.
    fn say(&mut self, script: &str, acks: &[&str]) -> Result<(), String> {
        let sent = self.stdin.as_mut().map(|s| s.write_all(script.as_bytes()).and_then(|_| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.finish_with_stderr());
        }
        for ack in acks {
            let mut line = String::new();
            match self.stdout.read_line(&mut line) {
                Ok(n) if n > 0 && line.trim_end() == *ack => {}
                _ => return Err(self.finish_with_stderr()),
            }
        }
        Ok(())
    }

    fn finish_with_stderr(&mut self) -> String {
        self.stdin.take();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let _ = self.child.wait();
        stderr.trim().to_string()
    }

    /// Moves the ref.
    pub(crate) fn commit(mut self) -> Result<(), GitError> {
        let result = self.say("commit\n", &["commit: ok"]);
        self.stdin.take();
        let _ = self.child.wait();
        result.map_err(|stderr| GitError::Failed { args: "update-ref --stdin (commit)".into(), stderr })
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            // End of input without `commit` aborts the transaction.
            let _ = stdin.write_all(b"abort\n");
        }
        let _ = self.child.wait();
    }
}

/// Why a checkout could not be brought forward.
#[derive(Debug)]
pub(crate) enum Forward {
    /// The update would overwrite these uncommitted or untracked files.
    WouldOverwrite(Vec<String>),
    /// Anything else git refused, in its words.
    Refused(String),
}

/// Brings the checkout at `worktree` from `old` to `new` as `git merge
/// --ff-only` does: files that differ between the two are updated; the
/// user's changes to other files, staged or not, stay; if a changed file
/// has local changes (or an untracked file is in the way), nothing changes.
pub(crate) fn forward_checkout(worktree: &Path, old: Oid, new: Oid) -> Result<(), Forward> {
    // Fresh stat information, so files touched but not changed count as clean.
    let _ = run(git_in(worktree), &["update-index", "-q", "--refresh"]);
    let (old, new) = (old.to_string(), new.to_string());
    let args = ["read-tree", "-u", "-m", old.as_str(), new.as_str()];
    let out = run(git_in(worktree), &args).map_err(|e| Forward::Refused(e.to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut files = Vec::new();
    for line in stderr.lines() {
        // "error: Your local changes to the following files would be
        // overwritten by merge:\n\tpath" and the untracked-file variant list
        // paths indented by a tab; older wording names one entry per line.
        if let Some(path) = line.strip_prefix('\t') {
            files.push(path.trim().to_string());
        } else if let Some(rest) = line
            .strip_prefix("error: Entry '")
            .or_else(|| line.strip_prefix("error: Untracked working tree file '"))
        {
            if let Some((path, _)) = rest.split_once("' ") {
                files.push(path.to_string());
            }
        }
    }
    if files.is_empty() {
        return Err(Forward::Refused(stderr.trim().to_string()));
    }
    files.dedup();
    Err(Forward::WouldOverwrite(files))
}

/// A temporary, detached worktree of one commit, removed when dropped.
pub(crate) struct TempWorktree {
    repo: PathBuf,
    pub path: PathBuf,
}

impl TempWorktree {
    pub(crate) fn add(repo: &Path, path: PathBuf, commit: Oid) -> Result<TempWorktree, GitError> {
        let (p, c) = (path.to_string_lossy().into_owned(), commit.to_string());
        let args = ["worktree", "add", "--quiet", "--detach", p.as_str(), c.as_str()];
        let out = run(git_in(repo), &args)?;
        if !out.status.success() {
            return Err(failed(&args, &out));
        }
        Ok(TempWorktree { repo: repo.to_path_buf(), path })
    }
}

impl Drop for TempWorktree {
    fn drop(&mut self) {
        let p = self.path.to_string_lossy().into_owned();
        let _ = run(git_in(&self.repo), &["worktree", "remove", "--force", "--force", p.as_str()]);
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
            let _ = run(git_in(&self.repo), &["worktree", "prune"]);
        }
    }
}
