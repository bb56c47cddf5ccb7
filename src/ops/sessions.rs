//! Sessions: start (register, worktree, identity, includes, setup), list,
//! show, heartbeat and end (release everything, keep every byte of work).
//!
//! Registration is a compare-and-swap on `refs/orchestrate/sessions`, so two
//! agents starting the same name at once cannot both get it. The worktree is
//! made after the name is secured; if that fails, the registration is
//! withdrawn so the name is free again.

use super::tasks::Finish;
use super::{Context, Error, Result};
use crate::model::names::{validate_name, validate_session_name};
use crate::model::session::{
    heartbeat_interval, session_path, validate_capabilities, Pulse, Session, SessionStatus,
};
use crate::model::task::TaskStatus;
use crate::model::time::format_duration;
use crate::model::FORMAT;
use crate::store::{refs, Change, Corrupt, Event, Outcome, StoreError};
use crate::worktree;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A session as shown: the stored document and its computed staleness.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: Session,
    pub stale: bool,
}

#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub name: String,
    pub role: Option<String>,
    pub capabilities: Vec<String>,
    pub base: Option<String>,
    pub no_worktree: bool,
    pub task: Option<String>,
    pub resume: bool,
}

/// What `session start` did beyond registering.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    #[serde(flatten)]
    pub session: Session,
    pub resumed: bool,
    pub copied: Vec<String>,
    /// Why the setup command failed, if it did (the session is started).
    pub setup_error: Option<String>,
}

/// What `session end` did.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    #[serde(flatten)]
    pub session: Session,
    /// The commit that saved uncommitted work (`--force`), if any.
    pub saved_commit: Option<String>,
    /// Where changed copies of `.worktreeinclude` files (secrets like `.env`)
    /// were backed up instead of being committed, if any.
    pub backup: Option<String>,
    pub released_tasks: Vec<String>,
    pub released_claims: usize,
}

impl Context {
    fn session_snapshot_get(&self, name: &str) -> Result<Option<Session>> {
        let snap = self.store.snapshot(refs::SESSIONS)?;
        Ok(snap.get::<Session>(&session_path(name))?)
    }

    pub fn start_session(&self, opts: StartOptions) -> Result<Started> {
        validate_session_name(&opts.name)?;
        if let Some(role) = &opts.role {
            validate_name("role", role)?;
        }
        validate_capabilities(&opts.capabilities)?;
        let root = self.store.main_root();
        let base = opts.base.clone().unwrap_or_else(|| "HEAD".to_string());
        if !opts.no_worktree && worktree::resolve_commit(&root, &base).is_none() {
            return Err(Error::invalid(format!(
                "--base {base}: no such commit in this repository (give a branch, tag or commit)"
            )));
        }
        let path = (!opts.no_worktree).then(|| self.worktree_path(&opts.name)).transpose()?;
        let branch = format!("orchestrate/{}", opts.name);
        let now = self.now();
        let stale_after = self.stale_after()?;

        let (session, resumed) = self.store.update(refs::SESSIONS, |snap| {
            let existing = snap.get::<Session>(&session_path(&opts.name))?;
            let resumed = match &existing {
                Some(s) if s.status == SessionStatus::Active && !opts.resume => {
                    let state = if s.is_stale(now, stale_after) { "stale" } else { "live" };
                    return Err(Error::refused(format!(
                        "session {} is already active ({state}, last heard {} ago); \
                         resume it with `git orchestrate session start {} --resume`, or pick another name",
                        s.name,
                        format_duration(now - s.heartbeat_at),
                        s.name
                    )));
                }
                Some(s) => s.status == SessionStatus::Active,
                None => false,
            };
            let mut session = match (existing, resumed) {
                (Some(mut s), true) => {
                    s.heartbeat_at = now;
                    s
                }
                _ => Session {
                    format: FORMAT,
                    name: opts.name.clone(),
                    role: opts.role.clone(),
                    capabilities: opts.capabilities.clone(),
                    status: SessionStatus::Active,
                    worktree: path.as_ref().map(|p| p.to_string_lossy().into_owned()),
                    branch: path.as_ref().map(|_| branch.clone()),
                    task: None,
                    doing: None,
                    progress: None,
                    phase: None,
                    started_at: now,
                    heartbeat_at: now,
                    ended_at: None,
                },
            };
            if resumed {
                if opts.role.is_some() {
                    session.role = opts.role.clone();
                }
                if !opts.capabilities.is_empty() {
                    session.capabilities = opts.capabilities.clone();
                }
            }
            let verb = if resumed { "resume" } else { "start" };
            let event =
                Event::new(verb, &opts.name, now, format!("{verb} session {}", opts.name)).entity(&opts.name);
            let mut change = Change::new(event);
            change.put(session.path(), &session);
            Ok(change.write((session, resumed)))
        })?;

        let mut started = Started { session, resumed, copied: Vec::new(), setup_error: None };
        if let Some(wt) = started.session.worktree.clone() {
            if let Err(e) = self.prepare_worktree(&root, Path::new(&wt), &branch, &base, &mut started) {
                if !resumed {
                    self.withdraw_session(&opts.name)?;
                }
                return Err(e);
            }
        }
        if let Some(task) = &opts.task {
            let claimed = self.claim_task_as(&opts.name, task, false)?;
            started.session = self.set_session_task(&opts.name, Some(claimed.id.to_string()))?;
        }
        Ok(started)
    }

    /// Makes sure the worktree exists and knows its session; on a fresh one,
    /// copies the include files and runs the setup command.
    fn prepare_worktree(
        &self,
        root: &Path,
        wt: &Path,
        branch: &str,
        base: &str,
        started: &mut Started,
    ) -> Result<()> {
        let fresh = !wt.exists();
        if fresh {
            if let Some(parent) = wt.parent() {
                std::fs::create_dir_all(parent).map_err(|e| worktree_failure(wt, e.to_string()))?;
            }
            worktree::create(root, wt, branch, base).map_err(|e| worktree_failure(wt, e.to_string()))?;
        }
        worktree::record_identity(wt, &started.session.name)
            .map_err(|e| worktree_failure(wt, e.to_string()))?;
        if fresh {
            started.copied =
                worktree::copy_includes(root, wt).map_err(|e| worktree_failure(wt, e.to_string()))?;
            if let Some(setup) = self.store.config_string("orchestrate.setup") {
                started.setup_error = worktree::run_setup(wt, &setup).err();
            }
        }
        Ok(())
    }

    /// Takes back a registration whose worktree could not be made.
    fn withdraw_session(&self, name: &str) -> Result<()> {
        let now = self.now();
        self.store.update(refs::SESSIONS, |snap| {
            if snap.entry(&session_path(name))?.is_none() {
                return Ok::<_, Error>(Outcome::Unchanged(()));
            }
            let event = Event::new("withdraw", name, now, format!("withdraw session {name}: no worktree"))
                .entity(name);
            let mut change = Change::new(event);
            change.remove(session_path(name));
            Ok(change.write(()))
        })
    }

    /// `orchestrate.worktreeRoot/<name>`, or `<repo>.worktrees/<name>` beside
    /// the repository.
    fn worktree_path(&self, name: &str) -> Result<PathBuf> {
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
        Ok(root.join(name))
    }

    pub fn list_sessions(&self, include_ended: bool) -> Result<(Vec<SessionView>, Vec<Corrupt>)> {
        let snap = self.store.snapshot(refs::SESSIONS)?;
        let (sessions, corrupt) = snap.decode_all::<Session>(&snap.list("")?)?;
        let now = self.now();
        let stale_after = self.stale_after()?;
        let mut views: Vec<SessionView> = sessions
            .into_iter()
            .filter(|s| include_ended || s.status == SessionStatus::Active)
            .map(|s| SessionView { stale: s.is_stale(now, stale_after), session: s })
            .collect();
        views.sort_by(|a, b| (a.stale, &a.session.name).cmp(&(b.stale, &b.session.name)));
        Ok((views, corrupt))
    }

    pub fn show_session(&self, name: Option<&str>) -> Result<SessionView> {
        let name = self.name_or_me(name, "`session show`")?;
        let session = self.session_snapshot_get(&name)?.ok_or_else(|| unknown_session(&name))?;
        Ok(SessionView { stale: session.is_stale(self.now(), self.stale_after()?), session })
    }

    fn name_or_me(&self, name: Option<&str>, what: &str) -> Result<String> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.require_session(what)?.to_string(),
        };
        validate_session_name(&name)?;
        Ok(name)
    }

    /// Records a heartbeat, with what the session is doing.
    pub fn heartbeat(&self, pulse: &Pulse) -> Result<Session> {
        pulse.validate()?;
        let me = self.require_session("`heartbeat`")?.to_string();
        let now = self.now();
        let session = self.update_session(&me, "heartbeat", |s| {
            pulse.apply(s);
            s.heartbeat_at = now;
            true
        })?;
        self.renew_claims_of(&me)?;
        Ok(session)
    }

    /// Refreshes the acting session's heartbeat if it is older than the
    /// heartbeat interval: every command a session runs keeps it live, at
    /// most one write per interval. Best effort: a failure here never fails
    /// the command.
    pub fn touch(&self) {
        let Some(me) = self.session().map(str::to_string) else { return };
        let now = self.now();
        let due =
            |s: &Session| s.status == SessionStatus::Active && now - s.heartbeat_at >= heartbeat_interval();
        match self.session_snapshot_get(&me) {
            Ok(Some(s)) if due(&s) => {}
            _ => return,
        }
        let beat = self.update_session(&me, "heartbeat", |s| {
            if !due(s) {
                return false;
            }
            s.heartbeat_at = now;
            true
        });
        // Activity renews the session's claims too.
        if beat.is_ok() {
            let _ = self.renew_claims_of(&me);
        }
    }

    /// Records (or clears) the task a session is working on, if `name` is
    /// an active registered session. Best effort: the queue does not need
    /// sessions, so an unknown or ended name is not an error.
    pub(crate) fn note_current_task(&self, name: &str, task: Option<&str>, only_if: Option<&str>) {
        let Ok(Some(session)) = self.session_snapshot_get(name) else { return };
        if session.status != SessionStatus::Active
            || only_if.is_some_and(|id| session.task.as_deref() != Some(id))
        {
            return;
        }
        let _ = self.set_session_task(name, task.map(str::to_string));
    }

    pub(crate) fn set_session_task(&self, name: &str, task: Option<String>) -> Result<Session> {
        self.update_session(name, "task", |s| {
            let changed = s.task != task;
            s.task = task.clone();
            changed
        })
    }

    /// Changes one session document; `edit` returns false for "no change".
    fn update_session(
        &self,
        name: &str,
        action: &str,
        mut edit: impl FnMut(&mut Session) -> bool,
    ) -> Result<Session> {
        let now = self.now();
        self.store.update(refs::SESSIONS, |snap| {
            let mut session =
                snap.get::<Session>(&session_path(name))?.ok_or_else(|| unknown_session(name))?;
            if session.status != SessionStatus::Active {
                return Err(Error::refused(format!(
                    "session {name} has ended; start it again with `git orchestrate session start {name}`"
                )));
            }
            if !edit(&mut session) {
                return Ok(Outcome::Unchanged(session));
            }
            let event = Event::new(action, name, now, format!("{action} {name}")).entity(name);
            let mut change = Change::new(event);
            change.put(session.path(), &session);
            Ok(change.write(session))
        })
    }

    /// Ends a session: refuses (exit 1) while its worktree holds uncommitted
    /// work unless `force`, which first commits that work to the session's
    /// branch. Then releases its tasks and claims, removes the worktree and
    /// marks the session ended. The branch is kept.
    pub fn end_session(&self, name: Option<&str>, force: bool) -> Result<Ended> {
        let name = self.name_or_me(name, "`session end`")?;
        let session = self.session_snapshot_get(&name)?.ok_or_else(|| unknown_session(&name))?;
        if session.status == SessionStatus::Ended {
            return Err(Error::refused(format!("session {name} has already ended")));
        }
        let worktree = session.worktree.as_deref().map(Path::new).filter(|p| p.exists());
        let mut saved = Saved::default();
        if let Some(wt) = worktree {
            saved = self.save_or_refuse(&session, wt, force)?;
        }
        let released_tasks = self.release_tasks_of(&name)?;
        let released_claims = self.release_all_claims_of(&name)?;
        if let Some(wt) = worktree {
            // Everything the agent wrote is committed or backed up; what is
            // left is copies of the main worktree's include files. Check once
            // more, in case the agent wrote something meanwhile.
            let root = self.store.main_root();
            let includes = worktree::include_list(&root);
            let left = worktree::dirty(wt).map_err(|e| worktree_failure(wt, e.to_string()))?;
            if let Some(new) = left.iter().find(|p| !worktree::is_include(&includes, p)) {
                return Err(Error::refused(format!(
                    "{new} appeared in {} while the session was ending; run `git orchestrate session end {name}` again",
                    wt.display()
                )));
            }
            worktree::remove(&root, wt, !left.is_empty()).map_err(|e| worktree_failure(wt, e.to_string()))?;
        }
        let saved_commit = saved.commit;
        let backup = saved.backup;
        let now = self.now();
        let session = self.store.update(refs::SESSIONS, |snap| {
            let mut s = snap.get::<Session>(&session_path(&name))?.ok_or_else(|| unknown_session(&name))?;
            s.status = SessionStatus::Ended;
            s.ended_at = Some(now);
            s.task = None;
            let event = Event::new("end", &name, now, format!("end session {name}")).entity(&name);
            let mut change = Change::new(event);
            change.put(s.path(), &s);
            Ok::<_, Error>(change.write(s))
        })?;
        Ok(Ended { session, saved_commit, backup, released_tasks, released_claims })
    }

    /// Refuses to end a session whose worktree holds the agent's uncommitted
    /// work, or with `force` saves it: a commit on the session's branch for
    /// ordinary files, a backup folder under the git directory for changed
    /// copies of include files (which may hold secrets and must not be
    /// committed). Unchanged copies are not work and are left to the removal.
    fn save_or_refuse(&self, session: &Session, wt: &Path, force: bool) -> Result<Saved> {
        let name = &session.name;
        let root = self.store.main_root();
        let includes = worktree::include_list(&root);
        let dirty = worktree::dirty(wt).map_err(|e| worktree_failure(wt, e.to_string()))?;
        let work: Vec<&String> =
            dirty.iter().filter(|p| !worktree::is_pristine_include(&root, wt, &includes, p)).collect();
        if work.is_empty() {
            return Ok(Saved::default());
        }
        if !force {
            let shown: Vec<&str> = work.iter().take(10).map(|s| s.as_str()).collect();
            let more =
                if work.len() > 10 { format!(" (and {} more)", work.len() - 10) } else { String::new() };
            return Err(Error::refused(format!(
                "session {name} has uncommitted work in {}: {}{more}; commit it, or pass --force to save it \
                 as a commit on branch {} before the worktree is removed",
                wt.display(),
                shown.join(", "),
                session.branch.as_deref().unwrap_or("its branch")
            )));
        }
        let mut saved = Saved::default();
        let changed_copies: Vec<String> =
            work.iter().filter(|p| worktree::is_include(&includes, p)).map(|p| p.to_string()).collect();
        if !changed_copies.is_empty() {
            let stamp = self.now().format("%Y%m%dT%H%M%SZ");
            let backup =
                self.store.common_dir().join("orchestrate").join("saved").join(format!("{name}-{stamp}"));
            for rel in &changed_copies {
                worktree::back_up(wt, rel, &backup).map_err(|e| worktree_failure(wt, e.to_string()))?;
            }
            saved.backup = Some(backup.to_string_lossy().into_owned());
        }
        if work.len() > changed_copies.len() {
            let message = format!("orchestrate: save uncommitted work of session {name}");
            saved.commit = Some(
                worktree::save_work(wt, &message, &includes)
                    .map_err(|e| worktree_failure(wt, e.to_string()))?,
            );
        }
        Ok(saved)
    }

    /// Hands every task the session holds back to the queue, with a note.
    fn release_tasks_of(&self, name: &str) -> Result<Vec<String>> {
        let filter = super::tasks::TaskFilter {
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

#[derive(Debug, Default)]
struct Saved {
    commit: Option<String>,
    backup: Option<String>,
}

fn unknown_session(name: &str) -> Error {
    Error::invalid(format!("no session named {name}: see `git orchestrate session list --all`"))
}

fn worktree_failure(path: &Path, message: String) -> Error {
    Error::Store(StoreError::Io {
        action: format!("worktree {}", path.display()),
        source: std::io::Error::other(message),
    })
}

impl crate::store::Document for Session {
    fn format(&self) -> u32 {
        self.format
    }
}
