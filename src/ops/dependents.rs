//! Dependents start from the work they depend on.
//!
//! When `dispatch` starts a task whose dependencies are done, the agent's
//! worktree starts from:
//!
//! - the target branch (the one the new session will land on), when every
//!   dependency's work has landed there (its session branch head is
//!   reachable from the target, or `land` recorded on the task or its
//!   session that a squash or rebase carried that head there) or left no
//!   commits;
//! - otherwise a merge of the target and the branches whose work has not
//!   landed, computed in the object database and committed as real merge
//!   commits (or the branch itself when it already contains the target);
//! - nothing at all when those branches conflict: the task is not started,
//!   and the refusal names the branches and the files.
//!
//! A task without dependencies starts where any session does.

use super::{Context, Error, Reason, Result};
use crate::merging::{self, MergeError};
use crate::model::ids::TaskId;
use crate::model::land::Landed;
use crate::model::session::Session;
use crate::model::task::{Task, TaskStatus};
use crate::ops::land::carried_by_record;
use git2::Oid;
use serde::Serialize;
use std::collections::HashMap;

/// Where a dependent task's worktree starts, and the work it builds on.
#[derive(Debug, Clone, Serialize)]
pub struct StartPoint {
    /// The commit the new worktree starts from.
    pub commit: String,
    /// The target branch it starts from (or merges onto), if known.
    pub target: Option<String>,
    pub builds_on: Vec<BuildsOn>,
}

/// One dependency's work.
#[derive(Debug, Clone, Serialize)]
pub struct BuildsOn {
    pub task: String,
    pub branch: Option<String>,
    pub commit: String,
    /// Its work is already on the target branch.
    pub landed: bool,
}

impl StartPoint {
    /// What the agent's prompt says about where its work starts.
    pub fn describe(&self) -> String {
        let mut text = format!("Your worktree starts from commit {}", short(&self.commit));
        if let Some(target) = &self.target {
            text.push_str(&format!(" (on top of {target})"));
        }
        text.push_str(", which contains the work of the tasks yours depends on:\n");
        for b in &self.builds_on {
            let branch = b.branch.as_deref().map(|br| format!("branch {br} at ")).unwrap_or_default();
            let landed = match (&self.target, b.landed) {
                (Some(target), true) => format!(", landed in {target}"),
                (_, true) => ", landed".to_string(),
                (_, false) => ", merged in for you (not landed yet)".to_string(),
            };
            text.push_str(&format!("- {}: {branch}{}{landed}\n", b.task, short(&b.commit)));
        }
        text
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

impl Context {
    /// The commit `base` names (a branch, tag or commit), as seen from the
    /// worktree the command runs in; bad input when it names none.
    pub fn resolve_base(&self, base: &str) -> Result<String> {
        let here = self.store.repository().workdir().map(std::path::Path::to_path_buf);
        let here = here.unwrap_or_else(|| self.store.main_root());
        let found = match base.starts_with('-') || base.trim().is_empty() {
            true => None,
            false => crate::worktree::resolve_commit(&here, base),
        };
        found.ok_or_else(|| {
            Error::invalid(format!(
                "--base {}: no such commit in this repository (give a branch, tag or commit)",
                crate::model::names::escape_control(base)
            ))
        })
    }

    /// Where an agent for task `id` (in session `session`) starts: `None` when
    /// the task has no dependency with work to build on (the default start
    /// applies). A refusal when the dependencies' branches conflict.
    pub fn start_point_for(
        &self,
        id: &str,
        depends_on: &[TaskId],
        session: &str,
    ) -> Result<Option<StartPoint>> {
        if depends_on.is_empty() {
            return Ok(None);
        }
        let repo = self.store.repository();
        // The target the new session will record (see `landing_target`).
        let target = self.landing_target(None, None)?;
        let start = match target.as_deref().and_then(|t| self.branch_tip(t)) {
            Some(tip) => tip,
            None => repo
                .head()
                .and_then(|h| h.peel_to_commit())
                .map(|c| c.id())
                .map_err(|e| Error::failed(format!("cannot read HEAD to start {session} from: {e}")))?,
        };
        let (sessions, _) = self.list_sessions_on(true, &HashMap::new())?;
        let sessions: HashMap<String, Session> =
            sessions.into_iter().map(|v| (v.session.name.clone(), v.session)).collect();
        let mut builds_on = Vec::new();
        let mut unlanded = Vec::new();
        for dep in depends_on {
            let dep = self.task_document(dep.as_str())?;
            if dep.status != TaskStatus::Done {
                continue;
            }
            let Some((branch, tip)) = self.work_of(&dep, &sessions) else { continue };
            // On the target as it is (merged or fast-forwarded), or carried
            // there by a recorded squash or rebase (on the task or its session).
            let by_record = |record: Option<&Landed>| {
                target.as_deref().is_some_and(|t| carried_by_record(repo, record, t, tip, start))
            };
            let holder = dep.assignee.as_deref().and_then(|h| sessions.get(h));
            let landed = tip == start
                || repo.graph_descendant_of(start, tip).unwrap_or(false)
                || by_record(dep.landed.as_ref())
                || by_record(holder.and_then(|s| s.landed.as_ref()));
            if !landed {
                unlanded.push((branch.clone().unwrap_or_else(|| short(&tip.to_string()).to_string()), tip));
            }
            builds_on.push(BuildsOn { task: dep.id.to_string(), branch, commit: tip.to_string(), landed });
        }
        if builds_on.is_empty() {
            return Ok(None);
        }
        let onto = target.clone().unwrap_or_else(|| "HEAD".to_string());
        let names: Vec<&str> = unlanded.iter().map(|(n, _)| n.as_str()).collect();
        let message = format!(
            "orchestrate: start {session} ({}) from {onto} with {}\n",
            id,
            if names.is_empty() { "its dependencies landed".to_string() } else { names.join(", ") }
        );
        let now = self.now();
        let signature = git2::Signature::new(
            "git-orchestrate",
            "git-orchestrate@localhost",
            &git2::Time::new(now.timestamp(), 0),
        )
        .map_err(|e| Error::failed(format!("cannot build a signature: {e}")))?;
        let commit = match merging::merge_onto(repo, start, &unlanded, &signature, &message) {
            Ok(commit) => commit,
            Err(MergeError::Conflict { branch, files }) => {
                let others: Vec<&str> = names.iter().copied().filter(|n| *n != branch).collect();
                let with_words = match others.is_empty() {
                    true => onto.clone(),
                    false => format!("{onto} and {}", others.join(", ")),
                };
                let message = format!(
                    "{} is not started: the work it depends on does not merge cleanly: {branch} conflicts with \
                     {with_words} on {}; land or reconcile those branches, and it will be started",
                    id,
                    files.join(", ")
                );
                let with = std::iter::once(onto.as_str()).chain(others).map(str::to_string).collect();
                let reason = Reason::DependenciesConflict { task: id.to_string(), branch, with, files };
                return Err(Error::refusal(reason, message));
            }
            Err(e) => return Err(Error::failed(format!("cannot combine the work {id} depends on: {e}"))),
        };
        Ok(Some(StartPoint { commit: commit.to_string(), target, builds_on }))
    }

    /// A finished task's work: the head of the branch of the session that
    /// did it, else the commit its landing made (the branch may be deleted
    /// once landed), else the last commit recorded on the task, if any
    /// exists. `sessions` are all sessions by name.
    fn work_of(&self, task: &Task, sessions: &HashMap<String, Session>) -> Option<(Option<String>, Oid)> {
        let repo = self.store.repository();
        if let Some(holder) = task.assignee.as_deref() {
            let branch = sessions
                .get(holder)
                .and_then(|s| s.branch.clone())
                .unwrap_or_else(|| format!("orchestrate/{holder}"));
            if let Some(tip) = self.branch_tip(&branch) {
                return Some((Some(branch), tip));
            }
        }
        let landed = task.landed.as_ref().and_then(|l| Oid::from_str(&l.commit).ok());
        if let Some(commit) = landed.filter(|c| repo.find_commit(*c).is_ok()) {
            return Some((None, commit));
        }
        let last = task.commits.iter().rev().find_map(|c| {
            let oid = Oid::from_str(c).ok()?;
            repo.find_commit(oid).ok().map(|c| c.id())
        })?;
        Some((None, last))
    }
}
