//! `task assign <id> <session>`: the lead (or a human) gives an open task
//! to a live session. The task stays open — the session claims it itself,
//! with `claim --next` taking what it was given first — so an assignment
//! is advice the claim makes real, and a session that goes stale frees it.

use super::super::messages::Outgoing;
use super::super::{Context, Error, Result};
use super::{resolve, write_task};
use crate::model::ids::IdPrefix;
use crate::model::names::validate_session_name;
use crate::model::task::{Task, TaskStatus};
use crate::store::{refs, Event};

impl Context {
    /// Assigns an open task to live session `to` and tells it so.
    pub fn assign_task(&self, id: &str, to: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        validate_session_name(to)?;
        self.require_lead_or_human("assign tasks")?;
        if self.session_document(to)?.is_none() {
            return Err(Error::invalid(format!(
                "no session named {to}: see `git orchestrate session list` for the live ones"
            )));
        }
        if !self.session_is_live(to)? {
            return Err(Error::refused(format!(
                "session {to} is not live (ended, or silent too long): assign the task to a live session"
            )));
        }
        let by = self.actor();
        let now = self.now();
        let task = self.store.update(refs::TASKS, |snap| {
            let (_, mut task) = resolve(snap, &prefix)?;
            match task.status {
                TaskStatus::Open => {}
                TaskStatus::Claimed => {
                    return Err(Error::refused(format!(
                        "{} is claimed by {}: only an open task can be assigned",
                        task.id,
                        task.assignee.as_deref().unwrap_or("someone")
                    )))
                }
                status => {
                    return Err(Error::refused(format!(
                        "{} is {status}: only an open task can be assigned (retry it first if it failed)",
                        task.id
                    )))
                }
            }
            if task.assigned_to.as_deref() == Some(to) {
                return Ok(crate::store::Outcome::Unchanged(task));
            }
            task.assigned_to = Some(to.to_string());
            task.updated_at = now;
            let summary = format!("assign {} to {to} by {by}", task.id);
            write_task(snap, Event::new("assign", &by, now, summary), task)
        })?;
        self.send(&Outgoing {
            to: to.to_string(),
            subject: format!("assigned to you: {} {}", task.id, task.title),
            body: format!("take it with `git orchestrate task claim {}` (or `task claim --next`)", task.id),
            kind: Some("handoff".to_string()),
            reply_to: None,
        })?;
        Ok(task)
    }
}
