//! Starting a session: its name (given, or a readable one nobody has
//! used), its registration, its worktree (checked, made, its include files
//! copied and its setup run) and the branch its work lands on.
//!
//! The worktree is made after the name is secured; if that fails, the
//! registration is withdrawn so the name is free again.

use crate::model::names::{validate_name, validate_session_name};
use crate::model::session::{validate_capabilities, Session, SessionStatus};
use crate::model::time::format_duration;
use crate::ops::places::lexically_normal;
use crate::ops::{Context, Error, Reason, Result};
use crate::store::{Event, Writes};
use crate::worktree;
use serde::Serialize;
use std::path::{Path, PathBuf};

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
                // Someone took the name (or its folder) meanwhile: pick
                // another. Any other refusal is this start's answer: the
                // session may be started already (its task refused).
                Err(Error::Refused(why)) if attempt < 19 && name_was_taken(&why.reason) => continue,
                other => return other,
            }
        }
        Err(Error::refusal(Reason::NoUnusedName, "could not find an unused session name"))
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
        let taken = |s: &Session| {
            let stale = s.is_stale(now, stale_after);
            let message = match free_before {
                true => format!("session {} was just started by another process", s.name),
                false => format!(
                    "session {} is already active ({}, last heard {} ago)",
                    s.name,
                    if stale { "stale" } else { "live" },
                    format_duration(now - s.heartbeat_at),
                ),
            };
            let reason = Reason::SessionActive {
                session: s.name.clone(),
                stale,
                heartbeat_at: s.heartbeat_at,
                just_started: free_before,
            };
            Error::refusal(reason, message)
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
            Some(r) => Err(Error::refusal(
                Reason::WorktreeOfAnotherBranch {
                    path: path.display().to_string(),
                    branch: branch.to_string(),
                    checked_out: r.branch.clone(),
                },
                format!(
                    "{} is a worktree on {}, not on {branch}",
                    path.display(),
                    r.branch.as_deref().unwrap_or("a detached HEAD")
                ),
            )),
            None => Err(Error::refusal(
                Reason::FolderInTheWay { path: path.display().to_string() },
                format!("{} already exists and is not a worktree of this repository", path.display()),
            )),
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
}

/// Whether a start was refused because another process took the name, or
/// the folder its worktree would have, first.
fn name_was_taken(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::SessionActive { .. } | Reason::FolderInTheWay { .. } | Reason::WorktreeOfAnotherBranch { .. }
    )
}
