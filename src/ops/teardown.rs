//! What `session end` does with a worktree before removing it: refuse
//! while it holds the agent's work, or with `--force` save every byte of
//! it, and say truly where each piece went.
//!
//! - Changes git tracks or could track are committed to whatever the
//!   worktree has checked out (the session's branch, or another one the
//!   agent switched to: that branch is then named as the session's); a
//!   detached HEAD gets a branch.
//! - Exactly the changed paths are committed, literally: ignored files are
//!   never named to `git add` (which would refuse them), and copies of
//!   `.worktreeinclude` files are never committed, even if staged.
//! - Changed include copies are backed up; ignored files and repositories
//!   nested in the worktree (a `git init`, a submodule with commits no
//!   remote has) are moved whole under `.git/orchestrate/saved/`.
//! - Just before the removal starts, the worktree is marked as saved, so
//!   an `end` that was killed half-way through the removal is finished by
//!   the next one without taking the files already removed for deletions.

use super::{Context, Error, Reason, Result};
use crate::model::session::Session;
use crate::worktree::{self, nested};
use std::path::{Path, PathBuf};

/// Where `end` put what it saved.
#[derive(Debug, Default)]
pub(crate) struct Saved {
    /// The commit that saved uncommitted work, if any.
    pub commit: Option<String>,
    /// The branch made for commits on a detached HEAD, if any.
    pub branch: Option<String>,
    /// The branch the worktree's work is on: the one it had checked out,
    /// or `branch`. `None` when HEAD was detached on commits a branch has.
    pub work_branch: Option<String>,
    pub backup: Option<PathBuf>,
    /// Ignored files and folders moved to `backup`.
    pub moved: Vec<String>,
    /// Nested repositories moved whole to `backup`.
    pub repositories: Vec<String>,
    pub notes: Vec<String>,
}

impl Context {
    /// Refuses (exit 1), or with `force` saves, everything in the worktree
    /// that the agent wrote and that would not survive its removal. On
    /// success the worktree holds nothing but unchanged copies and may be
    /// removed.
    pub(super) fn save_or_refuse(
        &self,
        root: &Path,
        session: &Session,
        wt: &Path,
        force: bool,
        saved: &mut Saved,
    ) -> Result<()> {
        let name = &session.name;
        let fail = |e: worktree::WorktreeError| Error::worktree(wt, e.to_string());
        let includes = includes_of(root, wt);
        let changed_copies =
            whole_repositories(wt, &includes, worktree::changed_includes(root, wt, &includes));
        let interrupted = worktree::removal_interrupted(wt);
        if interrupted {
            saved.notes.push(
                "an earlier end was cut short while removing the worktree; the files it had removed \
                 were saved before and are not taken for deletions"
                    .to_string(),
            );
        }
        let status = worktree::status(wt).map_err(fail)?;
        // A repository copied in as an include is a copy like any other:
        // the include rules (back up if changed) govern it.
        let nested: Vec<nested::Nested> = nested::find(wt, &status)
            .map_err(fail)?
            .into_iter()
            .filter(|n| !worktree::is_include(&includes, &n.path))
            .collect();
        let is_nested = |path: &str| nested.iter().any(|n| n.path == path.trim_end_matches('/'));
        // What `git add` gets: every change but include copies, files an
        // interrupted removal took, and untracked nested repositories
        // (added, they would be commits this repository does not have).
        let work: Vec<String> = status
            .iter()
            .filter(|e| !worktree::is_include(&includes, &e.path))
            .filter(|e| !(interrupted && e.only_deleted()))
            .filter(|e| !(e.untracked() && is_nested(&e.path)))
            .map(|e| e.path.clone())
            .collect();
        let held: Vec<&nested::Nested> = nested.iter().filter(|n| n.holds_work()).collect();
        let on_branch = worktree::current_branch(wt).map_err(fail)?;
        let orphaned = on_branch.is_none() && !worktree::head_is_on_a_branch(wt).map_err(fail)?;

        if !force && (!work.is_empty() || !held.is_empty() || !changed_copies.is_empty() || orphaned) {
            // A nested repository holding work is named below, once; a
            // submodule that only points at another commit is a change here.
            let named_below = |p: &String| held.iter().any(|n| n.path == p.trim_end_matches('/'));
            let files: Vec<String> = work.iter().filter(|p| !named_below(p)).cloned().collect();
            let mut what = Vec::new();
            if !files.is_empty() {
                what.push(format!("uncommitted work ({})", list(&files)));
            }
            if !held.is_empty() {
                let each: Vec<String> = held.iter().map(|n| n.describe()).collect();
                what.push(format!("repositories inside it ({})", each.join("; ")));
            }
            if !changed_copies.is_empty() {
                what.push(format!(
                    "changed copies of {} files ({})",
                    worktree::INCLUDE_FILE,
                    list(&changed_copies)
                ));
            }
            if orphaned {
                what.push("commits on a detached HEAD that no branch contains".to_string());
            }
            let message = format!("session {name} has {} in {}", what.join(" and "), wt.display());
            let reason = Reason::UnsavedWork {
                session: name.clone(),
                worktree: wt.display().to_string(),
                files,
                repositories: held.iter().map(|n| n.path.clone()).collect(),
                changed_copies,
                orphaned_commits: orphaned,
                checked_out: on_branch,
            };
            return Err(Error::refusal(reason, message));
        }
        let stamp = self.now().format("%Y%m%dT%H%M%SZ").to_string();
        let backup = fresh_folder(
            &self.store.common_dir().join("orchestrate").join("saved"),
            &format!("{name}-{stamp}"),
        );
        for rel in &changed_copies {
            worktree::back_up(wt, rel, &backup).map_err(fail)?;
            saved.backup = Some(backup.clone());
        }
        if !work.is_empty() {
            let message = format!("orchestrate: save uncommitted work of session {name}");
            saved.commit = worktree::save_work(wt, &message, &work, &includes).map_err(fail)?;
        }
        if on_branch.is_none() && (orphaned || saved.commit.is_some()) {
            let session_branch = session.branch.clone().unwrap_or_else(|| format!("orchestrate/{name}"));
            // A fresh name: a branch an earlier end made is never moved.
            let mut keep = format!("{session_branch}-saved-{stamp}");
            for n in 2.. {
                if !worktree::branch_exists(wt, &keep) {
                    break;
                }
                keep = format!("{session_branch}-saved-{stamp}-{n}");
            }
            worktree::branch_at_head(wt, &keep).map_err(fail)?;
            saved.branch = Some(keep);
        }
        saved.work_branch = saved.branch.clone().or(on_branch);
        // Nested repositories go whole, history and all, before anything
        // else is moved out of the folders around them.
        for repository in nested.iter().filter(|n| n.must_be_kept()) {
            let to = nested::move_whole(wt, repository, &backup).map_err(fail)?;
            saved.notes.push(format!("{} was moved whole to {}", repository.describe(), to.display()));
            saved.repositories.push(repository.path.clone());
            saved.backup = Some(backup.clone());
        }
        self.move_ignored_out(root, wt, &includes, &changed_copies, &backup, saved)?;
        // Nothing but unchanged copies (and what was moved out) may be left
        // now; check again in case the agent wrote something meanwhile.
        let moved_repository =
            |path: &str| saved.repositories.iter().any(|r| r == path.trim_end_matches('/'));
        let late: Vec<String> = worktree::status(wt)
            .map_err(fail)?
            .into_iter()
            .filter(|e| !worktree::is_include(&includes, &e.path))
            .filter(|e| !(interrupted && e.only_deleted()))
            .filter(|e| !moved_repository(&e.path))
            .map(|e| e.path)
            .collect();
        if !late.is_empty() {
            let message =
                format!("{} appeared in {} while the session was ending", list(&late), wt.display());
            let reason = Reason::ChangedWhileEnding {
                session: name.clone(),
                worktree: wt.display().to_string(),
                files: late,
            };
            return Err(Error::refusal(reason, message));
        }
        worktree::mark_removing(wt).map_err(fail)
    }

    /// Ignored files (build output, logs, notes) are not deleted with the
    /// worktree: they move to the backup folder. Unchanged include copies
    /// are only copies and go; changed ones were backed up already.
    fn move_ignored_out(
        &self,
        root: &Path,
        wt: &Path,
        includes: &[String],
        changed_copies: &[String],
        backup: &Path,
        saved: &mut Saved,
    ) -> Result<()> {
        let fail = |e: worktree::WorktreeError| Error::worktree(wt, e.to_string());
        let ignored = worktree::ignored(wt).map_err(fail)?;
        for rel in ignored.iter().filter(|p| !worktree::is_pristine_include(root, wt, includes, p)) {
            if changed_copies.iter().any(|c| c == rel || c.starts_with(&format!("{rel}/"))) {
                continue; // already backed up
            }
            worktree::move_out(wt, rel, backup).map_err(fail)?;
            saved.moved.push(rel.clone());
            saved.backup = Some(backup.to_path_buf());
        }
        Ok(())
    }
}

/// The include paths of a worktree: those listed now, and those recorded
/// when it was made (the list may have changed or gone since).
pub(crate) fn includes_of(root: &Path, wt: &Path) -> Vec<String> {
    let (mut includes, _) = worktree::include_list(root);
    for recorded in worktree::recorded_includes(wt) {
        if !includes.contains(&recorded) {
            includes.push(recorded);
        }
    }
    includes
}

/// `<parent>/<name>`, or `<name>-2`, `-3`, … if that exists: an end run
/// again within the same second (after one killed half-way, or with a
/// pinned clock) never moves files over those an earlier one kept.
fn fresh_folder(parent: &Path, name: &str) -> PathBuf {
    let mut candidate = parent.join(name);
    let mut n = 2;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        candidate = parent.join(format!("{name}-{n}"));
        n += 1;
    }
    candidate
}

/// Changed files of an include that is a repository stand for the whole
/// repository: a backup of only the files that differ (new objects, a
/// moved ref) would not be a repository at all.
fn whole_repositories(wt: &Path, includes: &[String], changed: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in changed {
        let repository = includes.iter().find(|inc| {
            (path == **inc || path.starts_with(&format!("{inc}/")))
                && std::fs::symlink_metadata(wt.join(inc).join(".git")).is_ok()
        });
        let kept = repository.cloned().unwrap_or(path);
        if !out.contains(&kept) {
            out.push(kept);
        }
    }
    out
}

/// The first few paths of a list, for a message.
pub(super) fn list(paths: &[String]) -> String {
    let shown: Vec<&str> = paths.iter().take(10).map(String::as_str).collect();
    match paths.len() {
        n if n > 10 => format!("{} and {} more", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}
