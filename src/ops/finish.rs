//! `task done | fail | cancel | release` as a use case: the task is
//! finished (`ops::tasks`), then what follows a finished task happens —
//! with `orchestrate.landOnDone=queue`, its session's branch joins the
//! landing queue (`ops::land`). Kept apart so tasks never depend on landing.

use super::tasks::Finish;
use super::{Context, Result};
use crate::model::task::Task;

impl Context {
    /// Marks a task done, failed or cancelled, or releases it back to the
    /// queue. Only the holder may do so unless `force` is given; anyone may
    /// cancel a task nobody holds.
    pub fn finish_task(&self, id: &str, how: Finish, note: Option<&str>, force: bool) -> Result<Task> {
        // Anyone may cancel a task nobody holds; the rest needs the holder
        // (a session) or a human's --force.
        if self.session().is_none() && !force && how != Finish::Cancelled {
            self.require_session(&format!("`task {}` (or, for a human, --force)", how.verb()))?;
        }
        let by = self.actor();
        let task = self.finish_task_as(&by, id, how, note, force)?;
        // orchestrate.landOnDone=queue: finished work goes to the landing
        // queue by itself. Best effort: the task is done either way.
        if how == Finish::Done {
            if let Some(me) = self.session() {
                let _ = self.queue_on_done(me, task.id.as_str());
            }
        }
        Ok(task)
    }
}
