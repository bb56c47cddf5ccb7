//! Diffs, merges and worktree snapshots computed in the object database,
//! never in a working tree: what the conflict radar and dependent tasks'
//! start points are made of.
//!
//! - [`snapshot_worktree`] records a worktree's uncommitted state (tracked
//!   changes and untracked files that are not ignored) as a commit, the way
//!   `git stash create` does, without touching its index file or its files:
//!   the index is loaded into memory, brought up to date there and written
//!   out only as a tree. The commit's signature and time are fixed (those of
//!   the HEAD it builds on), so the same state always gives the same commit
//!   and repeated looks write no new objects.
//! - [`changed_paths`] lists the files one tree changes relative to another.
//! - [`conflicting_paths`] merges two commits in memory (libgit2's merge,
//!   with rename detection) and names the files that would conflict; results
//!   are remembered per pair of commits for the life of the process, so a
//!   board redrawn every second merges only what moved.
//! - [`merge_onto`] merges branches onto a start commit as real merge
//!   commits, refusing (with the files named) when a merge conflicts.

use git2::{IndexAddOption, Oid, Repository, Signature};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },
    /// Merging `branch` into what was merged so far conflicts on `files`.
    #[error("merging {branch} conflicts on {}", files.join(", "))]
    Conflict { branch: String, files: Vec<String> },
}

fn git(action: impl Into<String>) -> impl FnOnce(git2::Error) -> MergeError {
    let action = action.into();
    move |source| MergeError::Git { action, source }
}

/// A worktree's state: the commit it has checked out, and the commit that
/// holds its uncommitted work on top (the same commit when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorktreeState {
    pub head: Oid,
    pub tip: Oid,
}

impl WorktreeState {
    pub fn uncommitted(&self) -> bool {
        self.head != self.tip
    }
}

/// Snapshots the worktree at `path` (see the module guide). Paths for which
/// `skip` returns true (copies of `.worktreeinclude` files) are left out of
/// the untracked files taken in.
pub fn snapshot_worktree(path: &Path, skip: &dyn Fn(&str) -> bool) -> Result<WorktreeState, MergeError> {
    let at = path.display();
    let repo = Repository::open(path).map_err(git(format!("open the worktree {at}")))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git(format!("read HEAD of the worktree {at}")))?;
    // Loaded into memory only: nothing below writes the index file.
    let mut index = repo.index().map_err(git(format!("read the index of {at}")))?;
    if index.has_conflicts() {
        // A merge in progress has no single state to record yet.
        return Ok(WorktreeState { head: head.id(), tip: head.id() });
    }
    index.update_all(["*"], None).map_err(git(format!("look at the changes in {at}")))?;
    // A nested repository comes as its folder (`nested/`): git would add it
    // as a gitlink, libgit2 refuses it; its files are not this worktree's
    // to compare, so it is left out.
    let mut leave_out = |p: &Path, _: &[u8]| -> i32 {
        let p = p.to_string_lossy();
        i32::from(p.ends_with('/') || skip(&p))
    };
    index
        .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut leave_out))
        .map_err(git(format!("look at the untracked files in {at}")))?;
    let tree = index.write_tree().map_err(git(format!("record the worktree {at}")))?;
    if tree == head.tree_id() {
        return Ok(WorktreeState { head: head.id(), tip: head.id() });
    }
    let tree = repo.find_tree(tree).map_err(git(format!("record the worktree {at}")))?;
    let signature = Signature::new("git-orchestrate", "git-orchestrate@localhost", &head.time())
        .map_err(git("build a signature"))?;
    let tip = repo
        .commit(None, &signature, &signature, "orchestrate: uncommitted work (snapshot)\n", &tree, &[&head])
        .map_err(git(format!("record the worktree {at}")))?;
    Ok(WorktreeState { head: head.id(), tip })
}

/// The paths (old and new names) that differ between the trees of two
/// commits; `from: None` compares with the empty tree.
pub fn changed_paths(repo: &Repository, from: Option<Oid>, to: Oid) -> Result<BTreeSet<String>, MergeError> {
    let tree_of = |oid: Oid| repo.find_commit(oid).and_then(|c| c.tree());
    let old = from.map(tree_of).transpose().map_err(git("read a commit"))?;
    let new = tree_of(to).map_err(git("read a commit"))?;
    let diff = repo.diff_tree_to_tree(old.as_ref(), Some(&new), None).map_err(git("compare two commits"))?;
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path() {
                paths.insert(p.to_string_lossy().into_owned());
            }
        }
    }
    Ok(paths)
}

/// The best common ancestor of two commits, if they have one.
pub fn merge_base(repo: &Repository, a: Oid, b: Oid) -> Result<Option<Oid>, MergeError> {
    match repo.merge_base(a, b) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git("find a merge base")(e)),
    }
}

thread_local! {
    /// Conflicting paths per (smaller, larger) commit pair: a merge's result
    /// never changes, so it is computed once per process.
    static MERGED: RefCell<HashMap<(Oid, Oid), Vec<String>>> = RefCell::new(HashMap::new());
}

/// Bounds the memo so a long `board --watch` does not grow without limit.
const MEMO_LIMIT: usize = 4096;

/// The files that would conflict textually if `a` and `b` were merged
/// (sorted; empty for a clean merge).
pub fn conflicting_paths(repo: &Repository, a: Oid, b: Oid) -> Result<Vec<String>, MergeError> {
    let key = if a <= b { (a, b) } else { (b, a) };
    if let Some(known) = MERGED.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(known);
    }
    let paths = merge_conflicts(repo, a, b)?;
    MERGED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_LIMIT {
            m.clear();
        }
        m.insert(key, paths.clone());
    });
    Ok(paths)
}

fn merge_conflicts(repo: &Repository, a: Oid, b: Oid) -> Result<Vec<String>, MergeError> {
    let ours = repo.find_commit(a).map_err(git("read a commit"))?;
    let theirs = repo.find_commit(b).map_err(git("read a commit"))?;
    let index = repo.merge_commits(&ours, &theirs, None).map_err(git("merge two commits in memory"))?;
    index_conflicts(&index)
}

fn index_conflicts(index: &git2::Index) -> Result<Vec<String>, MergeError> {
    let mut paths = BTreeSet::new();
    if !index.has_conflicts() {
        return Ok(Vec::new());
    }
    for conflict in index.conflicts().map_err(git("read the merge's conflicts"))? {
        let conflict = conflict.map_err(git("read the merge's conflicts"))?;
        for entry in [conflict.ancestor, conflict.our, conflict.their].into_iter().flatten() {
            paths.insert(String::from_utf8_lossy(&entry.path).into_owned());
        }
    }
    Ok(paths.into_iter().collect())
}

/// Merges each of `branches` (name, commit) in turn onto `start`: a branch
/// already contained is skipped, one that contains what was merged so far
/// is fast-forwarded to, any other is merged with a real merge commit whose
/// first parent is what was merged so far. Returns the resulting commit, or
/// the first merge that conflicts. Objects are written; no ref moves.
pub fn merge_onto(
    repo: &Repository,
    start: Oid,
    branches: &[(String, Oid)],
    signature: &Signature<'_>,
    message: &str,
) -> Result<Oid, MergeError> {
    let mut current = start;
    for (name, tip) in branches {
        let tip = *tip;
        let contains = |a: Oid, b: Oid| -> Result<bool, MergeError> {
            Ok(a == b || repo.graph_descendant_of(a, b).map_err(git("compare two commits"))?)
        };
        if contains(current, tip)? {
            continue;
        }
        if contains(tip, current)? {
            current = tip;
            continue;
        }
        // Through the memo: a dispatcher asks again at every poll until the
        // branches are reconciled.
        let files = conflicting_paths(repo, current, tip)?;
        if !files.is_empty() {
            return Err(MergeError::Conflict { branch: name.clone(), files });
        }
        let ours = repo.find_commit(current).map_err(git("read a commit"))?;
        let theirs = repo.find_commit(tip).map_err(git(format!("read {name}")))?;
        let mut index =
            repo.merge_commits(&ours, &theirs, None).map_err(git(format!("merge {name} in memory")))?;
        let tree = index.write_tree_to(repo).map_err(git(format!("write the merge of {name}")))?;
        let tree = repo.find_tree(tree).map_err(git(format!("write the merge of {name}")))?;
        current = repo
            .commit(None, signature, signature, message, &tree, &[&ours, &theirs])
            .map_err(git(format!("write the merge of {name}")))?;
    }
    Ok(current)
}
