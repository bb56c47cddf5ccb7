//! Finishing a task: done, failed, cancelled, or released back to the
//! queue, by its holder (or anyone with `force`). Saying it twice is not
//! an error. (Queueing the work for landing is `ops::finish`.)

use super::claim::held_by_other;
use super::{first_line, resolve, write_task, Finish};
use crate::model::ids::IdPrefix;
use crate::model::task::{validate_note, Task, TaskStatus};
use crate::model::time::Timestamp;
use crate::ops::{Context, Error, Reason, Result};
use crate::store::tasks::Written;
use crate::store::Event;

impl Context {
    /// Finishes a task on behalf of `by` (a session name, or a human's name
    /// with `force`).
    pub(crate) fn finish_task_as(
        &self,
        by: &str,
        id: &str,
        how: Finish,
        note: Option<&str>,
        force: bool,
    ) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        if let Some(text) = note {
            validate_note(text)?;
        }
        let me = Some(by.to_string());
        let now = self.now();
        // Whether this call is the one that failed it (not a repeat).
        let mut failed_now = false;
        let task = self.store.tasks().update(|view| {
            failed_now = false;
            let mut task = resolve(view, &prefix)?;
            let mine = me.is_some() && task.assignee == me;
            // Saying it twice is not an error: a retried `done` succeeds,
            // and a note given with it is still recorded.
            let repeat = task.status == how.status()
                && how != Finish::Released
                && (mine || force || how == Finish::Cancelled);
            if repeat {
                let Some(text) = note else { return Ok(Written::Unchanged(task)) };
                task.add_note(by, text, now);
                task.updated_at = now;
                let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
                return write_task(view, Event::new("note", by, now, summary), task);
            }
            check_finish(&task, how, mine, force, now)?;
            failed_now = how == Finish::Failed;
            task.status = how.status();
            task.updated_at = now;
            match how {
                Finish::Released => {
                    task.assignee = None;
                    task.claimed_at = None;
                }
                Finish::Done => {
                    task.progress = 100;
                    task.closed_at = Some(now);
                }
                Finish::Failed | Finish::Cancelled => task.closed_at = Some(now),
            }
            if let Some(text) = note {
                task.add_note(by, text, now);
            }
            let summary = format!("{} {} by {by}", how.verb(), task.id);
            write_task(view, Event::new(how.verb(), by, now, summary), task)
        })?;
        if failed_now {
            self.notify(crate::ops::notify::Notice::TaskFailed(&task));
        }
        Ok(task)
    }
}

fn check_finish(task: &Task, how: Finish, mine: bool, force: bool, now: Timestamp) -> Result<()> {
    if task.status.is_closed() {
        let message = format!("{} is already {}: nothing to {}", task.id, task.status, how.phrase());
        let reason =
            Reason::TaskClosed { task: task.id.to_string(), status: task.status, action: how.verb().into() };
        return Err(Error::refusal(reason, message));
    }
    let not_claimed = || Reason::TaskNotClaimed { task: task.id.to_string(), action: how.verb().into() };
    let claimed = task.status == TaskStatus::Claimed;
    match how {
        Finish::Released if !claimed => {
            Err(Error::refusal(not_claimed(), format!("{} is not claimed: nothing to release", task.id)))
        }
        Finish::Cancelled if !claimed => Ok(()),
        _ if mine || force => Ok(()),
        _ if claimed => Err(held_by_other(task, now)),
        _ => Err(Error::refusal(not_claimed(), format!("{} is open and not yours: claim it first", task.id))),
    }
}
