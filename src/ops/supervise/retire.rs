//! Ending a session with its agent in mind: `session end` never pulls a
//! worktree from under a running agent, and ends a kept one once its work
//! has landed.
//!
//! When an agent is over, its session ends with it: its tasks and claims
//! are released and the board stops showing it as live. Its worktree goes
//! too, unless it holds work that has not landed — commits its target
//! branch does not have, or changes not committed — in which case it is
//! kept and the session says why, until `session end` finds the work
//! landed (or is told to save it).

use super::super::identity::unknown_session;
use super::super::sessions::Ended;
use super::super::teardown::Saved;
use super::super::{Context, Error, Reason, Result, Unlanded};
use crate::model::session::{Session, SessionStatus};
use crate::worktree;
use std::path::Path;

impl Context {
    /// Ends a session. Everything in its worktree is kept (see
    /// [`crate::ops::teardown`]): committed work stays on its branch;
    /// uncommitted work makes `end` refuse (exit 1) unless `force`, which
    /// commits it to the branch the worktree has checked out first (and
    /// records that branch as the session's); commits on a detached HEAD
    /// get a branch; changed copies of include files, ignored files and
    /// nested repositories are moved to a backup folder under the git
    /// directory. Only then is the worktree removed and are the session's
    /// tasks and claims released, so a failure on the way leaves the
    /// session's record, tasks and claims exactly as they were.
    pub fn end_session(&self, name: Option<&str>, force: bool) -> Result<Ended> {
        let name = self.name_or_me(name, "`session end`")?;
        self.session_document(&name)?.ok_or_else(|| unknown_session(&name))?;
        // One end of a session at a time: two would race over the same
        // files (one committing while the other removes). Held until this
        // end returns; the kernel drops it if the process dies.
        let _ending = self.lock_ending(&name)?;
        let session = self.session_document(&name)?.ok_or_else(|| unknown_session(&name))?;
        if session.status == SessionStatus::Ended {
            // An agent's session ended with it, its worktree kept for work
            // not landed: ending it now removes that worktree.
            if session.worktree_kept.is_some() {
                return self.reap_kept_worktree(&session, force);
            }
            return Err(Error::refusal(
                Reason::AlreadyEnded { session: name.clone() },
                format!("session {name} has already ended"),
            ));
        }
        // Never pull the worktree from under a running agent.
        if let Some(agent) = self.agent_view(&name).filter(|a| a.is_active()) {
            let pid = agent.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
            let reason =
                Reason::AgentAtWork { session: name.clone(), state: agent.state.to_string(), pid: agent.pid };
            return Err(Error::refusal(
                reason,
                format!("agent {name} is {} in this session (pid {pid})", agent.state),
            ));
        }
        self.end_active_session(&session, force)
    }

    /// Ends the session of agent `name`, whose last run is over (its
    /// supervisor calls this before it records the agent as over, so
    /// whoever sees the agent over sees its session ended). Nothing if the
    /// session has ended already (by hand, or a second call).
    pub fn retire_agent_session(&self, name: &str) -> Result<Option<Ended>> {
        let Some(session) = self.session_document(name)? else { return Ok(None) };
        if session.status != SessionStatus::Active {
            return Ok(None);
        }
        if let Some(why) = self.unlanded_work(&session)? {
            return self.close_session(&session, Some(why.to_string()), Saved::default()).map(Some);
        }
        match self.end_active_session(&session, false) {
            Ok(ended) => Ok(Some(ended)),
            // Something appeared in the worktree meanwhile: keep it.
            Err(Error::Refused(why)) => {
                let mut saved = Saved::default();
                saved.notes.push(why.message);
                self.close_session(&session, Some("work not landed".into()), saved).map(Some)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the kept worktree of an ended session once its work has
    /// landed (or, with `force`, once what is uncommitted is saved on its
    /// branch). Refused while commits are not on the target branch.
    pub fn reap_kept_worktree(&self, session: &Session, force: bool) -> Result<Ended> {
        let name = &session.name;
        if let Some(unlanded) = self.unlanded_work(session)?.filter(|_| !force) {
            let message = format!("session {name} has ended, and its worktree is kept: {unlanded}");
            let reason =
                Reason::WorktreeKept { session: name.clone(), branch: session.branch.clone(), unlanded };
            return Err(Error::refusal(reason, message));
        }
        let mut saved = Saved::default();
        self.tear_down_worktree(session, force, &mut saved)?;
        self.close_session(session, None, saved)
    }

    /// What in the session's worktree has not landed, or None: uncommitted
    /// changes, or commits on its branch that its target branch (the
    /// session's `into`, else `orchestrate.landInto`, else the main
    /// checkout's branch) does not contain.
    pub fn unlanded_work(&self, session: &Session) -> Result<Option<Unlanded>> {
        let Some(wt) = session.worktree.as_deref().map(Path::new).filter(|p| p.exists()) else {
            return Ok(None);
        };
        let root = self.store.main_root();
        let (includes, _) = worktree::include_list(&root);
        let dirty: Vec<String> = worktree::dirty(wt)
            .map_err(|e| Error::failed(e.to_string()))?
            .into_iter()
            .filter(|p| !worktree::is_include(&includes, p))
            .collect();
        if !dirty.is_empty() {
            return Ok(Some(Unlanded::Uncommitted { uncommitted: dirty.len() }));
        }
        let Some(target) = session.into.clone().or_else(|| self.land_target()) else { return Ok(None) };
        let repo = self.store.repository();
        let tip =
            |rev: &str| repo.revparse_single(rev).ok().and_then(|o| o.peel_to_commit().ok()).map(|c| c.id());
        let head = match session.branch.as_deref() {
            Some(branch) => tip(&format!("refs/heads/{branch}")),
            None => None,
        };
        let (Some(head), Some(base)) = (head, tip(&format!("refs/heads/{target}"))) else { return Ok(None) };
        let (ahead, _) = repo.graph_ahead_behind(head, base).map_err(|e| Error::failed(e.to_string()))?;
        Ok((ahead > 0).then_some(Unlanded::Commits { commits: ahead, into: target }))
    }

    /// The branch a session's work lands on: `orchestrate.landInto`, else
    /// the branch checked out in the main working tree.
    fn land_target(&self) -> Option<String> {
        if let Some(into) = self.store.config_string("orchestrate.landInto").filter(|b| !b.trim().is_empty())
        {
            return Some(into);
        }
        worktree::current_branch(&self.store.main_root()).ok().flatten()
    }
}

impl Context {
    /// `session end --ended-agents`: ends the sessions of agents that are
    /// over, and removes the kept worktrees of those whose work has landed
    /// since. Each result comes with the session's name.
    pub fn end_sessions_of_ended_agents(&self) -> Vec<(String, Result<Ended>)> {
        let mut results = Vec::new();
        for agent in self.list_agents().into_iter().filter(|a| !a.is_active()) {
            let name = agent.session;
            let session = match self.session_document(&name) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    results.push((name, Err(e)));
                    continue;
                }
            };
            match (session.status, &session.worktree_kept) {
                (SessionStatus::Active, _) => match self.retire_agent_session(&name) {
                    Ok(Some(ended)) => results.push((name, Ok(ended))),
                    Ok(None) => {}
                    Err(e) => results.push((name, Err(e))),
                },
                // Still not landed: it stays, and says so on the board.
                (SessionStatus::Ended, Some(_)) => match self.unlanded_work(&session) {
                    Ok(Some(_)) => {}
                    Ok(None) => results.push((name, self.reap_kept_worktree(&session, false))),
                    Err(e) => results.push((name, Err(e))),
                },
                (SessionStatus::Ended, None) => {}
            }
        }
        results
    }
}
