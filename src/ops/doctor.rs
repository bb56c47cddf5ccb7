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
//! A repair never deletes what someone wrote: a corrupt document is moved
//! aside to `corrupt/<its path>` in the same collection's tree (so it stays
//! reachable in git, and `git show <ref>:corrupt/<path>` reads it), which
//! lets the collection work again. Folders, lost agents and dangling
//! dependencies are reported with what a person can do, never touched.

use super::{Context, Error, Result};
use crate::model::message::Message;
use crate::model::session::{Session, SessionStatus};
use crate::model::task::{Task, TaskStatus};
use crate::model::FORMAT;
use crate::store::{refs, Change, Corrupt, Event, Meta, Outcome, Snapshot, StoreError};
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
    RemoveLock(String),
    InitMeta,
    /// Move these documents of this ref aside (and, for tasks, rebuild the index).
    MoveAside(String, Vec<String>),
    RebuildIndex,
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
        let newer = self.check_format(&mut problems)?;
        self.check_locks(&mut problems)?;
        self.check_documents(&mut problems)?;
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

    /// Returns whether the store is of a newer format (then nothing is repaired).
    fn check_format(&self, out: &mut Vec<Finding>) -> Result<bool> {
        match self.store.meta() {
            Ok(Some(_)) => Ok(false),
            Ok(None) => {
                let others = self.store.refs_under(refs::ROOT)?.into_iter().any(|(r, _)| r != refs::META);
                if others {
                    out.push(
                        Finding::new(
                            Kind::Format,
                            Some(refs::META),
                            Some("meta.json"),
                            "the format marker is missing, though there is coordination state".into(),
                        )
                        .repair(format!("write it (format {FORMAT})"), Repair::InitMeta),
                    );
                }
                Ok(false)
            }
            Err(StoreError::NewerFormat { found, supported, .. }) => {
                out.push(
                    Finding::new(
                        Kind::Format,
                        Some(refs::META),
                        Some("meta.json"),
                        format!("the store is in format {found}; this git-orchestrate understands {supported} at most"),
                    )
                    .hint("upgrade git-orchestrate; nothing is repaired in a newer store".into()),
                );
                Ok(true)
            }
            Err(StoreError::Corrupt { refname, path, reason }) => {
                out.push(corrupt_finding(&Corrupt { refname, path, reason }));
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `<ref>.lock` files under `refs/orchestrate/`.
    fn check_locks(&self, out: &mut Vec<Finding>) -> Result<()> {
        let root = self.store.common_dir().join(refs::ROOT.trim_end_matches('/'));
        for lock in lock_files(&root) {
            let Ok(rel) = lock.strip_prefix(self.store.common_dir()) else { continue };
            let rel = rel.to_string_lossy();
            let Some(refname) = rel.strip_suffix(".lock") else { continue };
            let age = std::fs::metadata(&lock)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            // A young lock is a live writer at work, not damage.
            if age < crate::store::engine::STALE_REF_LOCK {
                continue;
            }
            let age = crate::store::engine::lock_age(age);
            out.push(
                Finding::new(
                    Kind::LockFile,
                    Some(refname),
                    None,
                    format!("{} was left {age} ago by a writer that died", lock.display()),
                )
                .repair(
                    "remove it (the next write would too)".into(),
                    Repair::RemoveLock(refname.to_string()),
                ),
            );
        }
        Ok(())
    }

    /// Every document against its schema, and the task index against the blobs.
    fn check_documents(&self, out: &mut Vec<Finding>) -> Result<()> {
        let snap = self.store.snapshot(refs::SESSIONS)?;
        let (_, corrupt) = snap.decode_all::<Session>(&snap.list("")?)?;
        out.extend(corrupt.iter().map(corrupt_finding));

        if let Some(Err(c)) = self.store.claims().read()?.try_get_one()? {
            out.push(corrupt_finding(&c));
        }

        let snap = self.store.snapshot(refs::TASKS)?;
        let mut blobs = snap.list_all("open")?;
        blobs.extend(snap.list_all("closed")?);
        let (_, corrupt) = snap.decode_all::<Task>(&blobs)?;
        out.extend(corrupt.iter().map(corrupt_finding));
        for path in super::tasks::index_problems(&snap)? {
            out.push(
                Finding::new(
                    Kind::TaskIndex,
                    Some(refs::TASKS),
                    Some(&path),
                    "the index part does not agree with the task blobs (reads fall back to the blobs)".into(),
                )
                .repair("rebuild the index from the task blobs".into(), Repair::RebuildIndex),
            );
        }

        let (_, corrupt) = self.store.land_queue().all()?;
        out.extend(corrupt.iter().map(corrupt_finding));

        for (refname, head) in self.store.refs_under(&refs::mailbox(""))? {
            let mut next = Some(head);
            while let Some(oid) = next {
                let snap = self.store.snapshot_at(&refname, Some(oid))?;
                if let Some(entry) = snap.entry("message.json")? {
                    if let Err(c) = snap.decode::<Message>(&entry)? {
                        out.push(
                            Finding::new(
                                Kind::CorruptDocument,
                                Some(&refname),
                                Some(&format!("message.json in {oid}")),
                                format!("a message is corrupt: {}", c.reason),
                            )
                            .hint(format!(
                                "a message is part of its mailbox's history and stays; readers skip it \
                                 (see it with `git show {oid}:message.json`)"
                            )),
                        );
                    }
                }
                next = self.store.parent(oid)?;
            }
        }
        Ok(())
    }

    /// Sessions whose worktree is gone, and folders no session owns.
    fn check_sessions(&self, out: &mut Vec<Finding>) -> Result<()> {
        let snap = self.store.snapshot(refs::SESSIONS)?;
        let (sessions, _) = snap.decode_all::<Session>(&snap.list("")?)?;
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
                Some(refs::SESSIONS),
                Some(&<Session as crate::store::Stored>::place(&s.name)),
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
            if agent.state != super::agents::AgentState::Lost {
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
        let snap = self.store.snapshot(refs::SESSIONS)?;
        let (sessions, _) = snap.decode_all::<Session>(&snap.list("")?)?;
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
                    Some(refs::CLAIMS),
                    Some("claims.json"),
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
            Repair::RemoveLock(refname) => {
                self.store.heal_stale_lock(refname)?;
                Ok(())
            }
            Repair::InitMeta => {
                self.store.init(self.now())?;
                Ok(())
            }
            Repair::MoveAside(refname, paths) => self.move_aside(refname, paths),
            Repair::RebuildIndex => self.rebuild_task_index(&BTreeSet::new()),
            Repair::ReleaseClaims(session) => self.release_all_claims_of(session).map(|_| ()),
            Repair::ReleaseTask { id, holder } => {
                let note = format!("released by doctor: session {holder} has ended");
                self.finish_task_as(holder, id, super::tasks::Finish::Released, Some(&note), true).map(|_| ())
            }
            Repair::EndSession(name) => self.end_session(Some(name), false).map(|_| ()),
        }
    }

    /// Moves documents aside to `corrupt/<path>` in the same tree.
    fn move_aside(&self, refname: &str, paths: &[String]) -> Result<()> {
        if refname == refs::TASKS {
            return self.rebuild_task_index(&paths.iter().cloned().collect());
        }
        let now = self.now();
        let actor = self.actor();
        let compute = |snap: &Snapshot<'_>| {
            let event = Event::new("repair", &actor, now, format!("repair: move {} aside", paths.join(", ")));
            let mut change = Change::new(event);
            if !moved_aside(snap, &mut change, paths)? {
                return Ok::<_, Error>(Outcome::Unchanged(()));
            }
            if refname == refs::META {
                change.put("meta.json", &Meta { format: FORMAT, created_at: now });
            }
            Ok(change.write(()))
        };
        // The format marker itself is being fixed: no format check first.
        if refname == refs::META {
            self.store.compare_and_swap(refname, compute)
        } else {
            self.store.update(refname, compute)
        }
    }

    /// Moves the task blobs at `aside` to `corrupt/` and rewrites the whole
    /// index from the task blobs that remain.
    fn rebuild_task_index(&self, aside: &BTreeSet<String>) -> Result<()> {
        let now = self.now();
        let actor = self.actor();
        self.store.update(refs::TASKS, |snap| {
            let summary = if aside.is_empty() {
                "repair: rebuild the task index".to_string()
            } else {
                format!("repair: move {} aside and rebuild the task index", list(aside))
            };
            let mut change = Change::new(Event::new("repair", &actor, now, summary));
            let paths: Vec<String> = aside.iter().cloned().collect();
            moved_aside(snap, &mut change, &paths)?;
            let change = super::tasks::rebuild_index(snap, change, aside)?;
            Ok::<_, Error>(change.write(()))
        })
    }
}

/// Where a repair moves a corrupt document: `corrupt/<path>`, or with the
/// blob's id added if an earlier one was moved there already.
fn aside_path(snap: &Snapshot<'_>, path: &str, oid: git2::Oid) -> Result<String> {
    let plain = format!("corrupt/{path}");
    if snap.entry(&plain)?.is_none() {
        return Ok(plain);
    }
    Ok(format!("corrupt/{path}.{}", &oid.to_string()[..8]))
}

/// Adds to `change` each document at `paths` copied to its aside path and
/// removed; false if none of them is there any more.
fn moved_aside(snap: &Snapshot<'_>, change: &mut Change, paths: &[String]) -> Result<bool> {
    let mut any = false;
    for path in paths {
        let Some(entry) = snap.entry(path)? else { continue };
        let bytes = snap.bytes(&entry)?;
        change.put_bytes(aside_path(snap, path, entry.oid)?, bytes).remove(path.clone());
        any = true;
    }
    Ok(any)
}

fn corrupt_finding(c: &Corrupt) -> Finding {
    let aside = format!("corrupt/{}", c.path);
    let what = if c.refname == refs::TASKS {
        format!("move it to {}:{aside} (kept in git) and rebuild the task index", c.refname)
    } else if c.refname == refs::META {
        format!("move it to {}:{aside} (kept in git) and write a new format marker", c.refname)
    } else {
        format!("move it to {}:{aside} (kept in git), so the collection works again", c.refname)
    };
    Finding::new(
        Kind::CorruptDocument,
        Some(&c.refname),
        Some(&c.path),
        format!("{}:{} is corrupt: {}", c.refname, c.path, c.reason),
    )
    .repair(what, Repair::MoveAside(c.refname.clone(), vec![c.path.clone()]))
}

fn list(paths: &BTreeSet<String>) -> String {
    paths.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Every `*.lock` file under `dir`, at any depth.
fn lock_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "lock") {
            found.push(path);
        } else if path.is_dir() {
            found.extend(lock_files(&path));
        }
    }
    found
}
