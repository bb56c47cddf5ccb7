//! Sessions: start (register, worktree, identity, includes, setup), list,
//! show, heartbeat and end (release everything, keep every byte of work).
//!
//! Registration is a compare-and-swap on `refs/orchestrate/sessions`, so two
//! agents starting the same name at once cannot both get it. The worktree is
//! made after the name is secured; if that fails, the registration is
//! withdrawn so the name is free again.

use super::identity::{session_ended, unknown_session};
use super::places::lexically_normal;
use super::tasks::Finish;
use super::teardown::Saved;
use super::{Context, Error, Result};
use crate::model::names::{validate_name, validate_session_name};
use crate::model::session::{validate_capabilities, Pulse, Session, SessionStatus};
use crate::model::task::TaskStatus;
use crate::model::time::format_duration;
use crate::store::{Corrupt, Event, StoreError, Writes, Written};
use crate::worktree;
use serde::Serialize;
use std::collections::HashMap;
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
    /// The branch the session's work lands on (default: see [`Context::landing_target`]).
    pub into: Option<String>,
}

/// What `session start` did beyond registering.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    #[serde(flatten)]
    pub session: Session,
    /// Always false for a session just started or resumed.
    pub stale: bool,
    pub resumed: bool,
    pub copied: Vec<String>,
    /// Things worth knowing: skipped include lines, a reused branch.
    pub notes: Vec<String>,
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
    /// Starts a session under a readable name nobody has used here
    /// (`brisk-otter`), when none is given.
    pub fn start_session_named_for_me(&self, opts: StartOptions) -> Result<Started> {
        let snap = self.store.sessions().read()?;
        for attempt in 0..20u32 {
            // Short names first; a number is added only if those are taken.
            let random = fastrand::u32(..) % if attempt < 10 { 1024 } else { u32::MAX };
            let name = crate::model::names::readable_name(random);
            if snap.get(&name)?.is_some() || self.worktree_path(&name)?.exists() {
                continue;
            }
            match self.start_session(StartOptions { name, ..opts.clone() }) {
                // Someone took the name meanwhile: pick another.
                Err(Error::Refused(_)) if attempt < 19 => continue,
                other => return other,
            }
        }
        Err(Error::refused("could not find an unused session name: give one"))
    }

    pub fn start_session(&self, opts: StartOptions) -> Result<Started> {
        validate_session_name(&opts.name)?;
        if let Some(role) = &opts.role {
            validate_name("role", role)?;
        }
        validate_capabilities(&opts.capabilities)?;
        let root = self.store.main_root();
        // "The current HEAD" is the HEAD of the worktree the command runs in.
        let here = self.store.repository().workdir().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
        let base = opts.base.clone().unwrap_or_else(|| "HEAD".to_string());
        let base_commit = match opts.no_worktree {
            true => None,
            false => Some(worktree::resolve_commit(&here, &base).ok_or_else(|| {
                match worktree::has_commits(&here) {
                    false => Error::invalid(
                        "this repository has no commits yet, so a session worktree has nothing to start from: \
                         make a first commit, or start the session with --no-worktree",
                    ),
                    true => Error::invalid(format!(
                        "--base {base}: no such commit in this repository (give a branch, tag or commit)"
                    )),
                }
            })?),
        };
        let task = opts.task.as_deref().map(|t| self.resolve_task_id(t)).transpose()?;
        let into = self.landing_target(opts.into.as_deref(), opts.base.as_deref())?;
        let path = (!opts.no_worktree).then(|| self.worktree_path(&opts.name)).transpose()?;
        let branch = format!("orchestrate/{}", opts.name);
        let now = self.now();
        let stale_after = self.stale_after()?;
        // Whether the name was free when this start began: if it is taken
        // when the write lands, another process started it meanwhile.
        let free_before =
            self.session_document(&opts.name)?.is_none_or(|s| s.status != SessionStatus::Active);
        let taken = |s: &Session| match free_before {
            true => Error::refused(format!(
                "session {} was just started by another process; resume it with \
                 `git orchestrate session start {} --resume`, or pick another name",
                s.name, s.name
            )),
            false => Error::refused(format!(
                "session {} is already active ({}, last heard {} ago); \
                 resume it with `git orchestrate session start {} --resume`, or pick another name",
                s.name,
                if s.is_stale(now, stale_after) { "stale" } else { "live" },
                format_duration(now - s.heartbeat_at),
                s.name
            )),
        };
        // A folder in the way is refused before anything is written. But
        // the process that wins a race for the name makes its worktree
        // right after registering it, so a folder that looks foreign (not
        // yet a worktree, or one still on a detached HEAD) may be the
        // winner's, half made: if the name has been taken meanwhile, that
        // is what this start is told.
        if let (Some(path), false) = (&path, opts.resume) {
            if let Err(e) = self.check_worktree_path(&root, path, &branch) {
                return Err(match self.session_document(&opts.name)? {
                    Some(s) if s.status == SessionStatus::Active => taken(&s),
                    _ => e,
                });
            }
        }

        let (session, previous) = self.store.sessions().update(|snap| {
            let existing = snap.get(&opts.name)?;
            let resumed = match &existing {
                Some(s) if s.status == SessionStatus::Active && !opts.resume => return Err(taken(s)),
                Some(s) => s.status == SessionStatus::Active,
                None => false,
            };
            let mut session = match (&existing, resumed) {
                (Some(s), true) => {
                    let mut s = s.clone();
                    s.heartbeat_at = now;
                    // A resumed session keeps its target unless told otherwise
                    // (documents from before `into` existed get one now).
                    if opts.into.is_some() || s.into.is_none() {
                        s.into = into.clone();
                    }
                    s.host = Some(self.host());
                    s
                }
                _ => Session {
                    role: opts.role.clone(),
                    capabilities: opts.capabilities.clone(),
                    worktree: path.as_ref().map(|p| p.to_string_lossy().into_owned()),
                    branch: path.as_ref().map(|_| branch.clone()),
                    into: into.clone(),
                    host: Some(self.host()),
                    ..Session::new(&opts.name, now)
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
            let mut change = Writes::new(event);
            change.save(&session);
            // What was there before, to put back if the worktree fails.
            let previous = if resumed { None } else { Some(existing) };
            Ok(change.write((session, previous)))
        })?;

        let resumed = previous.is_none();
        let mut started = Started {
            stale: false,
            session,
            resumed,
            copied: Vec::new(),
            notes: Vec::new(),
            setup_error: None,
        };
        if let (Some(wt), Some(base_commit)) = (started.session.worktree.clone(), base_commit) {
            let wt = PathBuf::from(wt);
            // Checked again now that the name is ours: only the winner of a
            // race may judge (and make) the folder.
            if let Err(e) = self.check_worktree_path(&root, &wt, &branch) {
                if let Some(previous) = previous {
                    self.restore_session(&opts.name, previous)?;
                }
                return Err(e);
            }
            if let Some(tip) = worktree::branch_tip(&root, &branch).filter(|tip| *tip != base_commit) {
                if opts.base.is_some() && !wt.exists() {
                    started.notes.push(format!(
                        "branch {branch} already exists (at {}): the session continues it and --base is not used",
                        &tip[..tip.len().min(10)]
                    ));
                }
            }
            if let Err(e) = self.prepare_worktree(&root, &wt, &branch, &base_commit, &mut started) {
                if let Some(previous) = previous {
                    self.restore_session(&opts.name, previous)?;
                }
                return Err(e);
            }
            started.notes.extend(self.untrusted_worktree_notes(&wt));
        }
        if let Some(task) = task {
            match self.claim_task_as(&opts.name, task.as_str(), false) {
                Ok(claimed) => started.session.task = Some(claimed.id.to_string()),
                Err(Error::Refused(mut why)) => {
                    why.message = format!("session {} is started, but {}", opts.name, why.message);
                    return Err(Error::Refused(why));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(started)
    }

    /// The branch a new session's work lands on: `into` if given (it must
    /// name an existing local branch), else the branch `base` names, else the
    /// branch HEAD is on here, else `orchestrate.landInto`, else none.
    pub(crate) fn landing_target(&self, into: Option<&str>, base: Option<&str>) -> Result<Option<String>> {
        let repo = self.store.repository();
        let local = |name: &str| repo.find_branch(name, git2::BranchType::Local).is_ok();
        if let Some(given) = into {
            let name = given.strip_prefix("refs/heads/").unwrap_or(given);
            if !git2::Branch::name_is_valid(name).unwrap_or(false) || !local(name) {
                return Err(Error::invalid(format!(
                    "--into {}: no local branch of that name; give an existing branch (see `git branch`)",
                    crate::model::names::escape_control(given)
                )));
            }
            return Ok(Some(name.to_string()));
        }
        if let Some(base) = base {
            let name = base.strip_prefix("refs/heads/").unwrap_or(base);
            if local(name) {
                return Ok(Some(name.to_string()));
            }
        }
        if let Ok(head) = repo.head() {
            if head.is_branch() {
                if let Ok(name) = head.shorthand() {
                    return Ok(Some(name.to_string()));
                }
            }
        }
        Ok(self.store.config_string("orchestrate.landInto").filter(|b| !b.trim().is_empty()))
    }

    /// Refuses a worktree path that holds anything but this session's own
    /// worktree, so a start never takes over someone else's folder (or
    /// repository). A registration whose folder was deleted by hand is
    /// pruned so the worktree can be made again.
    fn check_worktree_path(&self, root: &Path, path: &Path, branch: &str) -> Result<()> {
        let fail = |e: worktree::WorktreeError| Error::worktree(path, e.to_string());
        let registered = worktree::registered(root).map_err(fail)?;
        if registered.iter().any(|r| r.missing) {
            worktree::prune(root).map_err(fail)?;
        }
        if !path.exists() {
            return Ok(());
        }
        let same = |r: &worktree::Registered| r.path.canonicalize().ok() == path.canonicalize().ok();
        match registered.iter().find(|r| same(r)) {
            Some(r) if r.branch.as_deref() == Some(branch) => Ok(()),
            Some(r) => Err(Error::refused(format!(
                "{} is a worktree on {}, not on {branch}: end or move it, or set orchestrate.worktreeRoot elsewhere",
                path.display(),
                r.branch.as_deref().unwrap_or("a detached HEAD")
            ))),
            None => Err(Error::refused(format!(
                "{} already exists and is not a worktree of this repository: move it away, or set \
                 orchestrate.worktreeRoot to another folder",
                path.display()
            ))),
        }
    }

    /// Makes sure the worktree exists and knows its session; until it has
    /// been prepared once, copies the include files and runs the setup
    /// command (so a start that failed half-way is finished by the next).
    fn prepare_worktree(
        &self,
        root: &Path,
        wt: &Path,
        branch: &str,
        base: &str,
        started: &mut Started,
    ) -> Result<()> {
        let fail = |e: String| Error::worktree(wt, e);
        if !wt.exists() {
            if let Some(parent) = wt.parent() {
                std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
            }
            worktree::create(root, wt, branch, base).map_err(|e| fail(e.to_string()))?;
        }
        worktree::record_identity(wt, &started.session.name).map_err(|e| fail(e.to_string()))?;
        if !worktree::is_prepared(wt) {
            let (includes, warnings) = worktree::include_list(root);
            started.notes.extend(warnings);
            worktree::record_includes(wt, &includes).map_err(|e| fail(e.to_string()))?;
            started.copied = worktree::copy_includes(root, wt, &includes).map_err(|e| fail(e.to_string()))?;
            if let Some(setup) = self.store.config_string("orchestrate.setup") {
                started.setup_error = worktree::run_setup(wt, &setup).err();
            }
            worktree::mark_prepared(wt).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    }

    /// Puts back the record a failed start replaced: the ended session it
    /// restarted, or nothing at all.
    fn restore_session(&self, name: &str, previous: Option<Session>) -> Result<()> {
        let now = self.now();
        self.store.sessions().update(|_| {
            let event = Event::new("withdraw", name, now, format!("withdraw session {name}: no worktree"))
                .entity(name);
            let mut change = Writes::new(event);
            match &previous {
                Some(doc) => change.save(doc),
                None => change.remove(name),
            };
            Ok::<_, Error>(change.write(()))
        })
    }

    /// `orchestrate.worktreeRoot/<name>`, or `<repo>.worktrees/<name>` beside
    /// the repository.
    fn worktree_path(&self, name: &str) -> Result<PathBuf> {
        Ok(lexically_normal(&self.worktree_root().join(name)))
    }

    pub fn list_sessions(&self, include_ended: bool) -> Result<(Vec<SessionView>, Vec<Corrupt>)> {
        let current = self.current_tasks()?;
        self.list_sessions_on(include_ended, &current)
    }

    /// The sessions, each shown on `current[name]`: the board passes the
    /// task listing it already has instead of reading the index again.
    pub(crate) fn list_sessions_on(
        &self,
        include_ended: bool,
        current: &HashMap<String, String>,
    ) -> Result<(Vec<SessionView>, Vec<Corrupt>)> {
        let snap = self.store.sessions().read()?;
        let (sessions, corrupt) = snap.all()?;
        let now = self.now();
        let stale_after = self.stale_after()?;
        let mut views: Vec<SessionView> = sessions
            .into_iter()
            .filter(|s| include_ended || s.status == SessionStatus::Active)
            .map(|mut s| {
                if s.status == SessionStatus::Active {
                    s.task = current.get(&s.name).cloned();
                }
                SessionView { stale: s.is_stale(now, stale_after), session: s }
            })
            .collect();
        views.sort_by(|a, b| (a.stale, &a.session.name).cmp(&(b.stale, &b.session.name)));
        Ok((views, corrupt))
    }

    pub fn show_session(&self, name: Option<&str>) -> Result<SessionView> {
        let name = self.name_or_me(name, "`session show`")?;
        let mut session = self.session_document(&name)?.ok_or_else(|| unknown_session(&name))?;
        if session.status == SessionStatus::Active {
            session.task = self.current_tasks()?.remove(&name);
        }
        Ok(SessionView { stale: session.is_stale(self.now(), self.stale_after()?), session })
    }

    /// The task each session is on: the one it claimed last among those it
    /// holds. Derived from the task index, so claiming a task is one write.
    fn current_tasks(&self) -> Result<HashMap<String, String>> {
        let filter = super::tasks::TaskFilter { status: Some(TaskStatus::Claimed), ..Default::default() };
        Ok(current_tasks_of(&self.list_tasks(&filter)?.tasks))
    }

    pub(crate) fn name_or_me(&self, name: Option<&str>, what: &str) -> Result<String> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.require_session(what)?.to_string(),
        };
        validate_session_name(&name)?;
        Ok(name)
    }

    /// Records a heartbeat, with what the session is doing. The session
    /// is shown as just heard from, so never stale.
    pub fn heartbeat(&self, pulse: &Pulse) -> Result<SessionView> {
        let pulse = &pulse.normalized();
        pulse.validate()?;
        let acting = self.acting_session("`heartbeat`")?;
        self.register_on_first_use(&acting)?;
        let me = acting.name;
        let now = self.now();
        let said = pulse.describe();
        let action = match said.is_empty() {
            true => "heartbeat".to_string(),
            false => format!("heartbeat: {said}"),
        };
        let session = self.update_session(&me, &action, |s| {
            pulse.apply(s);
            s.heartbeat_at = now;
            true
        })?;
        self.renew_claims_of(&me)?;
        Ok(SessionView { session, stale: false })
    }

    /// Refreshes the acting session's heartbeat if it is older than the
    /// heartbeat interval: every command a session runs keeps it live, at
    /// most one write per interval. It never fails the command, but it is
    /// never silent either: a heartbeat or claim renewal that could not be
    /// written is said on stderr, since a session that believes it is live
    /// while others see it stale loses its claims to them.
    pub fn touch(&self) {
        if let Err(e) = self.try_touch() {
            let me = self.session().unwrap_or("?");
            eprintln!(
                "warning: session {me}: the heartbeat (or claim renewal) was not recorded: {}",
                e.message()
            );
        }
    }

    /// [`Context::touch`], saying what went wrong.
    pub fn try_touch(&self) -> Result<()> {
        let Some(me) = self.session().map(str::to_string) else { return Ok(()) };
        let now = self.now();
        let interval = self.heartbeat_interval();
        let due = |s: &Session| s.status == SessionStatus::Active && now - s.heartbeat_at >= interval;
        match self.session_document(&me)? {
            Some(s) if due(&s) => {}
            _ => return Ok(()),
        }
        self.update_session(&me, "heartbeat", |s| {
            if !due(s) {
                return false;
            }
            s.heartbeat_at = now;
            true
        })?;
        // Activity renews the session's claims too.
        self.renew_claims_of(&me)
    }

    /// Records a session's landing on its document (ended sessions too: a
    /// queued branch may land after its session ended).
    pub(crate) fn record_session_landing(
        &self,
        name: &str,
        landed: &crate::model::land::Landed,
    ) -> Result<Session> {
        let by = self.actor();
        let now = self.now();
        self.store.sessions().update(|snap| {
            let mut session = snap.get(name)?.ok_or_else(|| unknown_session(name))?;
            session.landed = Some(landed.clone());
            let short = &landed.commit[..landed.commit.len().min(10)];
            let summary = format!("land {name} on {} at {short} ({}) by {by}", landed.into, landed.mode);
            let event = Event::new("land", &by, now, summary).entity(name);
            let mut change = Writes::new(event);
            change.save(&session);
            Ok::<_, Error>(change.write(session))
        })
    }

    /// Every session document that can be read.
    pub(crate) fn all_sessions(&self) -> Result<Vec<Session>> {
        let snap = self.store.sessions().read()?;
        Ok(snap.all()?.0)
    }

    /// Changes one session document; `edit` returns false for "no change".
    fn update_session(
        &self,
        name: &str,
        action: &str,
        mut edit: impl FnMut(&mut Session) -> bool,
    ) -> Result<Session> {
        let now = self.now();
        self.store.sessions().update(|snap| {
            let mut session = snap.get(name)?.ok_or_else(|| unknown_session(name))?;
            if session.status != SessionStatus::Active {
                return Err(session_ended(name));
            }
            if !edit(&mut session) {
                return Ok(Written::Unchanged(session));
            }
            // "heartbeat: doing tests, 40%" reads "heartbeat alice: doing tests, 40%".
            let (verb, said) = action.split_once(": ").map_or((action, None), |(v, s)| (v, Some(s)));
            let summary = match said {
                Some(said) => format!("{verb} {name}: {said}"),
                None => format!("{verb} {name}"),
            };
            let event = Event::new(verb, name, now, summary).entity(name);
            let mut change = Writes::new(event);
            change.save(&session);
            Ok(change.write(session))
        })
    }

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
        match crate::supervise::lock(&path, false) {
            Ok(Some(file)) => Ok(file),
            Ok(None) => Err(Error::refused(format!(
                "session {name} is being ended by another process right now; see \
                 `git orchestrate session show {name}` once it is done"
            ))),
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

/// Who is on what in a task listing: each holder's most recently claimed task.
pub(crate) fn current_tasks_of(tasks: &[super::tasks::TaskView]) -> HashMap<String, String> {
    let mut latest: HashMap<&str, (crate::model::time::Timestamp, &str)> = HashMap::new();
    for t in tasks.iter().map(|v| &v.task).filter(|t| t.status == TaskStatus::Claimed) {
        let (Some(holder), Some(at)) = (t.assignee.as_deref(), t.claimed_at) else { continue };
        if latest.get(holder).is_none_or(|(seen, _)| at > *seen) {
            latest.insert(holder, (at, t.id.as_str()));
        }
    }
    latest.into_iter().map(|(k, (_, id))| (k.to_string(), id.to_string())).collect()
}
