//! `doctor`: checks every ref under `refs/orchestrate/` and what it points
//! at on disk, and with `repair` fixes what is safe to fix.
//!
//! The checks: the format version; every document against its schema; the
//! task index against the task blobs; leftover `<ref>.lock` files; sessions
//! whose worktree is gone; folders under the worktree root that no session
//! owns; agents whose supervisor is gone and could not be replaced; claims
//! held and tasks claimed by ended sessions; dependencies on tasks that do
//! not exist.
//!
//! The store checks and repairs itself (`store::check`: the format, lock
//! files, documents, the task index); the rest is checked here, against
//! what the use cases know. A repair never deletes what someone wrote: a
//! corrupt document is moved aside in git, and folders, lost agents and
//! dangling dependencies are reported with what a person can do, never
//! touched.

use super::{Context, Error, Result};
use crate::model::session::{Session, SessionStatus};
use crate::model::task::TaskStatus;
use crate::store::{refs, ClaimsDoc, Damage, StoreError, Stored};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What kind of damage a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Format,
    CorruptDocument,
    TaskIndex,
    LockFile,
    WorktreeGone,
    StrayDirectory,
    AgentLost,
    ClaimOfEndedSession,
    TaskOfEndedSession,
    MissingDependency,
}

/// One problem found, and what was (or would be) done about it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    #[serde(rename = "ref")]
    pub refname: Option<String>,
    pub path: Option<String>,
    pub problem: String,
    /// What `--repair` does about it; `None` when it needs a person.
    pub repair: Option<String>,
    /// What a person can do, when `--repair` does nothing.
    pub hint: Option<String>,
    pub repaired: bool,
    /// Why the repair failed, if it was tried and failed.
    pub repair_error: Option<String>,
    #[serde(skip)]
    action: Option<Repair>,
}

/// The repairs `doctor` knows, each safe to make.
#[derive(Debug, Clone)]
enum Repair {
    /// Damage to the store itself, which the store repairs.
    Store(Damage),
    ReleaseClaims(String),
    ReleaseTask {
        id: String,
        holder: String,
    },
    EndSession(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// No problem left (none found, or every one repaired).
    pub healthy: bool,
    pub repaired: usize,
    pub problems: Vec<Finding>,
}

impl Finding {
    fn new(kind: Kind, refname: Option<&str>, path: Option<&str>, problem: String) -> Finding {
        Finding {
            kind,
            refname: refname.map(str::to_string),
            path: path.map(str::to_string),
            problem,
            repair: None,
            hint: None,
            repaired: false,
            repair_error: None,
            action: None,
        }
    }

    fn repair(mut self, what: String, action: Repair) -> Finding {
        self.repair = Some(what);
        self.action = Some(action);
        self
    }

    fn hint(mut self, hint: String) -> Finding {
        self.hint = Some(hint);
        self
    }
}

impl Context {
    /// Checks the store; with `repair`, fixes what is safe and says so.
    pub fn doctor(&self, repair: bool) -> Result<DoctorReport> {
        let mut problems = Vec::new();
        let damage = self.store.check()?;
        let newer = damage.iter().any(|d| matches!(d, Damage::NewerFormat { .. }));
        problems.extend(damage.into_iter().map(store_finding));
        self.check_sessions(&mut problems)?;
        self.check_agents(&mut problems);
        self.check_holdings(&mut problems)?;
        self.check_dependencies(&mut problems)?;
        // A store of a newer format is never written by this binary.
        if repair && !newer {
            for finding in problems.iter_mut() {
                let Some(action) = finding.action.clone() else { continue };
                match self.apply(&action) {
                    Ok(()) => finding.repaired = true,
                    Err(e) => finding.repair_error = Some(e.message()),
                }
            }
        }
        let repaired = problems.iter().filter(|f| f.repaired).count();
        Ok(DoctorReport { healthy: problems.iter().all(|f| f.repaired), repaired, problems })
    }

    /// Sessions whose worktree is gone, and folders no session owns.
    fn check_sessions(&self, out: &mut Vec<Finding>) -> Result<()> {
        let (sessions, _) = self.store.sessions().all()?;
        let (now, stale_after) = (self.now(), self.stale_after()?);
        let mut owned = BTreeSet::new();
        for s in sessions.iter().filter(|s| s.status == SessionStatus::Active) {
            let Some(wt) = s.worktree.as_deref() else { continue };
            owned.insert(canonical(Path::new(wt)));
            if Path::new(wt).exists() {
                continue;
            }
            let finding = Finding::new(
                Kind::WorktreeGone,
                Some(Session::REF),
                Some(&Session::place(&s.name)),
                format!("session {} is active but its worktree {wt} is gone", s.name),
            );
            out.push(if s.is_live(now, stale_after) {
                finding.hint(format!(
                    "it is live (an agent may still be at work): end it with `git orchestrate session end {}` \
                     once it is done",
                    s.name
                ))
            } else {
                finding.repair(
                    format!("end session {} (its tasks go back to the queue, its claims are released)", s.name),
                    Repair::EndSession(s.name.clone()),
                )
            });
        }
        let root = self.worktree_root();
        let Ok(entries) = std::fs::read_dir(&root) else { return Ok(()) };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() || owned.contains(&canonical(&path)) {
                continue;
            }
            out.push(
                Finding::new(
                    Kind::StrayDirectory,
                    None,
                    Some(&path.to_string_lossy()),
                    format!("{} is under the worktree root, and no active session owns it", path.display()),
                )
                .hint(
                    "doctor never deletes files: look inside, keep what you need, then remove it \
                     (`git worktree remove` if git lists it in `git worktree list`)"
                        .into(),
                ),
            );
        }
        Ok(())
    }

    /// Agents whose supervisor died while they were not finished and could
    /// not be handed to a new one (listing them tries that first).
    fn check_agents(&self, out: &mut Vec<Finding>) {
        for agent in self.list_agents() {
            if agent.state != super::supervise::AgentState::Lost {
                continue;
            }
            out.push(
                Finding::new(
                    Kind::AgentLost,
                    None,
                    Some(&agent.log.to_string_lossy()),
                    format!("agent {}'s supervisor (pid {}) is gone", agent.session, agent.supervisor),
                )
                .hint(format!(
                    "see what it did with `git orchestrate logs {0}`, then `git orchestrate stop {0}`",
                    agent.session
                )),
            );
        }
    }

    /// Claims held and tasks claimed by sessions that have ended.
    fn check_holdings(&self, out: &mut Vec<Finding>) -> Result<()> {
        let (sessions, _) = self.store.sessions().all()?;
        let ended: BTreeSet<&str> =
            sessions.iter().filter(|s| s.status == SessionStatus::Ended).map(|s| s.name.as_str()).collect();
        let claims = match self.list_claims(true) {
            Ok(claims) => claims,
            // Already reported as a corrupt document.
            Err(Error::Store(StoreError::Corrupt { .. })) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut holders: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in claims.iter().filter(|c| ended.contains(c.claim.session.as_str())) {
            holders.entry(c.claim.session.as_str()).or_default().push(c.claim.path.to_string());
        }
        for (session, paths) in holders {
            out.push(
                Finding::new(
                    Kind::ClaimOfEndedSession,
                    Some(ClaimsDoc::REF),
                    Some(&ClaimsDoc::place("")),
                    format!("session {session} has ended but still holds {}", paths.join(", ")),
                )
                .repair("release them".into(), Repair::ReleaseClaims(session.to_string())),
            );
        }
        let filter = super::tasks::TaskFilter { status: Some(TaskStatus::Claimed), ..Default::default() };
        for view in self.list_tasks(&filter)?.tasks {
            let Some(holder) = view.task.assignee.as_deref().filter(|h| ended.contains(h)) else { continue };
            let id = view.task.id.to_string();
            out.push(
                Finding::new(
                    Kind::TaskOfEndedSession,
                    Some(refs::TASKS),
                    Some(&crate::model::task::task_path(&view.task.id, false)),
                    format!("task {id} is claimed by session {holder}, which has ended"),
                )
                .repair(
                    "hand it back to the queue, with a note".into(),
                    Repair::ReleaseTask { id, holder: holder.to_string() },
                ),
            );
        }
        Ok(())
    }

    /// Open tasks that depend on tasks that do not exist.
    fn check_dependencies(&self, out: &mut Vec<Finding>) -> Result<()> {
        let snap = self.store.snapshot(refs::TASKS)?;
        let mut table = super::tasks::TaskTable::new(&snap);
        let (open, _) = table.open_summaries()?;
        let open_ids: BTreeSet<String> = open.iter().map(|t| t.id.to_string()).collect();
        for task in &open {
            for dep in &task.depends_on {
                if open_ids.contains(dep.as_str()) || table.closed_status(dep)?.is_some() {
                    continue;
                }
                out.push(
                    Finding::new(
                        Kind::MissingDependency,
                        Some(refs::TASKS),
                        Some(&crate::model::task::task_path(&task.id, false)),
                        format!("task {} depends on {dep}, which does not exist", task.id),
                    )
                    .hint(format!(
                        "it can never become ready: drop the dependency with \
                         `git orchestrate task edit {} --no-after {dep}`, or cancel the task",
                        task.id
                    )),
                );
            }
        }
        Ok(())
    }

    fn apply(&self, action: &Repair) -> Result<()> {
        match action {
            Repair::Store(damage) => {
                self.store.repair(damage, &self.actor(), self.now())?;
                Ok(())
            }
            Repair::ReleaseClaims(session) => self.release_all_claims_of(session).map(|_| ()),
            Repair::ReleaseTask { id, holder } => {
                let note = format!("released by doctor: session {holder} has ended");
                self.finish_task_as(holder, id, super::tasks::Finish::Released, Some(&note), true).map(|_| ())
            }
            Repair::EndSession(name) => self.end_session(Some(name), false).map(|_| ()),
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Damage to the store as a finding, with what `--repair` does about it.
fn store_finding(damage: Damage) -> Finding {
    let kind = match &damage {
        Damage::MissingFormat | Damage::NewerFormat { .. } => Kind::Format,
        Damage::Corrupt(_) | Damage::CorruptMessage { .. } => Kind::CorruptDocument,
        Damage::TaskIndex { .. } => Kind::TaskIndex,
        Damage::StaleLock { .. } => Kind::LockFile,
    };
    let finding = Finding::new(kind, Some(damage.refname()), damage.path().as_deref(), damage.to_string());
    match (&damage, damage.repair()) {
        (_, Some(what)) => finding.repair(what, Repair::Store(damage)),
        (Damage::NewerFormat { .. }, None) => {
            finding.hint("upgrade git-orchestrate; nothing is repaired in a newer store".into())
        }
        (Damage::CorruptMessage { commit, .. }, None) => finding.hint(format!(
            "a message is part of its mailbox's history and stays; readers skip it \
             (see it with `git show {commit}:message.json`)"
        )),
        (_, None) => finding,
    }
}
