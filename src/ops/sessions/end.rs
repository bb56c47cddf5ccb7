//! Ending a session: its worktree removed once everything in it is safe,
//! what it holds (tasks, claims) released, and its document marked ended;
//! one end of a session at a time.

use crate::model::session::{Session, SessionStatus};
use crate::model::task::TaskStatus;
use crate::ops::identity::unknown_session;
use crate::ops::tasks::{Finish, TaskFilter};
use crate::ops::teardown::Saved;
use crate::ops::{Context, Error, Reason, Result};
use crate::store::{Corrupt, Event, StoreError, Writes};
use crate::worktree;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `session end` did.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    #[serde(flatten)]
    pub session: Session,
    /// The commit that saved uncommitted work (`--force`), if any.
    pub saved_commit: Option<String>,
    /// The branch made for commits on a detached HEAD, if any.
    pub saved_branch: Option<String>,
    /// Where changed copies of `.worktreeinclude` files (secrets like `.env`)
    /// and ignored files were moved instead of being deleted, if anywhere.
    pub backup: Option<String>,
    /// Ignored files and folders moved to `backup`.
    pub moved: Vec<String>,
    /// Repositories nested in the worktree (submodules with commits no
    /// remote has, folders where an agent ran `git init`), moved whole to
    /// `backup`, each a repository that works on its own.
    pub repositories: Vec<String>,
    pub notes: Vec<String>,
    pub released_tasks: Vec<String>,
    pub released_claims: usize,
}

impl Context {
    /// Ends an active session whose agent, if it had one, is over (its
    /// supervisor calls this before it records itself as over).
    pub(crate) fn end_active_session(&self, session: &Session, force: bool) -> Result<Ended> {
        let mut saved = Saved::default();
        self.tear_down_worktree(session, force, &mut saved)?;
        self.close_session(session, None, saved)
    }

    /// Removes a session's worktree once everything in it is safe (see
    /// [`Context::end_session`] in `ops::supervise`); nothing if it has none.
    pub(crate) fn tear_down_worktree(&self, session: &Session, force: bool, saved: &mut Saved) -> Result<()> {
        let root = self.store.main_root();
        let elsewhere = session.host.as_deref().filter(|h| *h != self.host());
        if let (Some(host), Some(wt)) = (elsewhere, &session.worktree) {
            // Another machine's worktree is not here to save or remove.
            saved.notes.push(format!(
                "its worktree {wt} is on host {host} and was left there: remove it on {host} with \
                 `git worktree remove {wt}` once its work is safe"
            ));
            return Ok(());
        }
        if let Some(wt) = self.locate_worktree(&root, session, saved)? {
            if !worktree::relink(&root, &wt) {
                return Err(Error::worktree(
                    &wt,
                    "is no longer a worktree of this repository (its .git is gone and `git worktree repair` \
                     could not restore it): move what you need out of it, then run `git worktree prune`"
                        .to_string(),
                ));
            }
            self.save_or_refuse(&root, session, &wt, force, saved)?;
            if let Err(e) = worktree::remove(&root, &wt, true) {
                // Refused before touching anything (a locked worktree): it
                // is a worktree in use again, whose deletions are work.
                if worktree::status(&wt).is_ok_and(|st| !st.iter().any(|e| e.only_deleted())) {
                    worktree::unmark_removing(&wt);
                }
                return Err(Error::worktree(&wt, e.to_string()));
            }
            // The folder holding session worktrees goes once it is empty
            // (remove_dir refuses a folder with anything in it).
            if let Some(parent) = wt.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
        Ok(())
    }

    /// Releases what the session holds and records it as ended; `kept`
    /// says why its worktree stays (work not landed yet), if it does.
    pub(crate) fn close_session(
        &self,
        session: &Session,
        kept: Option<String>,
        mut saved: Saved,
    ) -> Result<Ended> {
        let name = session.name.clone();
        let root = self.store.main_root();
        // The session's branch is where its work really is: the branch its
        // worktree had checked out, or the one made for a detached HEAD.
        let work_branch = saved.work_branch.clone().filter(|b| session.branch.as_ref() != Some(b));
        if let (Some(actual), Some(recorded)) = (&work_branch, &session.branch) {
            let mut note = format!("the worktree was on {actual}, not {recorded}: its work is on {actual}");
            if worktree::branch_tip(&root, recorded).is_some()
                && !worktree::is_ancestor(&root, recorded, actual)
            {
                note.push_str(&format!(", and {recorded} (with commits {actual} does not have) is kept too"));
            }
            if saved.branch.as_ref() != Some(actual) {
                saved.notes.push(note);
            }
        }
        let released_tasks = self.release_tasks_of(&name)?;
        // A corrupt claims table must not keep a session from ending: its
        // claims bind nobody once it has ended, and the table is named.
        let released_claims = match self.release_all_claims_of(&name) {
            Ok(n) => n,
            Err(Error::Store(StoreError::Corrupt { refname, path, reason })) => {
                saved.notes.push(format!(
                    "the claims of {name} were not released: {}; they bind nobody now that it has ended",
                    Corrupt { refname, path, reason }
                ));
                0
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        let session = self.store.sessions().update(|snap| {
            let mut s = snap.get(&name)?.ok_or_else(|| unknown_session(&name))?;
            if let Some(actual) = &work_branch {
                s.branch = Some(actual.clone());
            }
            s.status = SessionStatus::Ended;
            s.ended_at = Some(now);
            s.task = None;
            s.worktree_kept = kept.clone();
            let summary = match &kept {
                Some(why) => format!("end session {name} (worktree kept: {why})"),
                None => format!("end session {name}"),
            };
            let event = Event::new("end", &name, now, summary).entity(&name);
            let mut change = Writes::new(event);
            change.save(&s);
            Ok::<_, Error>(change.write(s))
        })?;
        Ok(Ended {
            session,
            saved_commit: saved.commit,
            saved_branch: saved.branch,
            backup: saved.backup.map(|p| p.to_string_lossy().into_owned()),
            moved: saved.moved,
            repositories: saved.repositories,
            notes: saved.notes,
            released_tasks,
            released_claims,
        })
    }

    /// Takes the lock that makes ends of one session run one at a time, or
    /// refuses (exit 1) while another process holds it.
    pub(crate) fn lock_ending(&self, name: &str) -> Result<std::fs::File> {
        let path = self.store.common_dir().join("orchestrate").join("end-locks").join(name);
        match crate::os::lock(&path, false) {
            Ok(Some(file)) => Ok(file),
            Ok(None) => Err(Error::refusal(
                Reason::BeingEnded { session: name.to_string() },
                format!("session {name} is being ended by another process right now"),
            )),
            Err(e) => Err(Error::worktree(&path, e.to_string())),
        }
    }

    /// Where the session's worktree is now: where it was made, or where git
    /// says its branch is checked out if it was moved. `None` if it is gone
    /// (deleted by hand; its registration is pruned).
    fn locate_worktree(&self, root: &Path, session: &Session, saved: &mut Saved) -> Result<Option<PathBuf>> {
        let Some(recorded) = session.worktree.as_deref().map(PathBuf::from) else { return Ok(None) };
        let fail = |e: worktree::WorktreeError| Error::worktree(&recorded, e.to_string());
        let registered = worktree::registered(root).map_err(fail)?;
        let branch = session.branch.as_deref();
        // The main worktree (listed first) is never a session's, even if it
        // has the session's branch checked out: ending must not commit the
        // user's changes or move their ignored files away.
        let linked: Vec<&worktree::Registered> = registered.iter().skip(1).filter(|r| !r.missing).collect();
        let here = linked.iter().find(|r| r.path.canonicalize().ok() == recorded.canonicalize().ok());
        let mut moved = || {
            // Moved: found by its branch, or by the session name recorded in
            // it (it may have switched branch too).
            linked
                .iter()
                .find(|r| branch.is_some() && r.branch.as_deref() == branch)
                .or_else(|| {
                    linked
                        .iter()
                        .find(|r| worktree::identity(&r.path).as_deref() == Some(session.name.as_str()))
                })
                .map(|r| {
                    saved.notes.push(format!("the worktree had moved to {}", r.path.display()));
                    r.path.clone()
                })
        };
        let found = match here {
            Some(r) => Some(r.path.clone()),
            None => moved(),
        };
        if found.is_none() {
            if registered.iter().any(|r| r.missing) {
                worktree::prune(root).map_err(fail)?;
            }
            saved.notes.push(format!("the worktree {} was already gone", recorded.display()));
        }
        Ok(found)
    }

    /// Hands every task the session holds back to the queue, with a note.
    fn release_tasks_of(&self, name: &str) -> Result<Vec<String>> {
        let filter = TaskFilter {
            status: Some(TaskStatus::Claimed),
            assignee: Some(name.to_string()),
            ..Default::default()
        };
        let mut released = Vec::new();
        for view in self.list_tasks(&filter)?.tasks {
            let note = format!("released: session {name} ended");
            match self.finish_task_as(name, view.task.id.as_str(), Finish::Released, Some(&note), true) {
                Ok(_) => released.push(view.task.id.to_string()),
                // Someone else took it meanwhile: nothing to release.
                Err(Error::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(released)
    }
}
