//! Sessions: start (register, worktree, identity, includes, setup), list,
//! show, heartbeat and end (release everything, keep every byte of work).
//!
//! Registration is a compare-and-swap on the sessions collection, so two
//! agents starting the same name at once cannot both get it. Starting lives
//! in [`start`], what a live session records (heartbeats, its landing) in
//! [`activity`], ending in [`end`]; listing and showing are here. Who is
//! acting and who is live is `ops::identity`'s, and ending a session with
//! its agent in mind is `ops::supervise::retire`'s.

mod activity;
mod end;
mod start;

pub use end::Ended;
pub use start::{StartOptions, Started};

use super::identity::unknown_session;
use super::{Context, Result};
use crate::model::names::validate_session_name;
use crate::model::session::{Session, SessionStatus};
use crate::model::task::TaskStatus;
use crate::store::Corrupt;
use serde::Serialize;
use std::collections::HashMap;

/// A session as shown: the stored document and its computed staleness.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: Session,
    pub stale: bool,
}

impl Context {
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

    /// Every session document that can be read.
    pub(crate) fn all_sessions(&self) -> Result<Vec<Session>> {
        let snap = self.store.sessions().read()?;
        Ok(snap.all()?.0)
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
