//! `task retry` (alias `reopen`): a failed or cancelled task goes back to
//! the queue as open, keeping its notes, commits and history, so the work
//! that waits on it can go on once it is done.

use super::{first_line, resolve, write_task};
use crate::model::ids::IdPrefix;
use crate::model::task::{validate_note, Task, TaskStatus};
use crate::ops::{Context, Error, Reason, Result};
use crate::store::Event;

impl Context {
    /// Reopens a failed or cancelled task. A done task is refused (its
    /// work is in; new work is a new task), as is one not finished.
    pub fn retry_task(&self, id: &str, note: Option<&str>) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        if let Some(text) = note {
            validate_note(text)?;
        }
        let by = self.actor();
        let now = self.now();
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            if !matches!(task.status, TaskStatus::Failed | TaskStatus::Cancelled) {
                let message = match task.status {
                    TaskStatus::Done => format!(
                        "{} is done: only a failed or cancelled task can be retried; add a new task for more work",
                        task.id
                    ),
                    status => format!("{} is {status}, not failed or cancelled: nothing to retry", task.id),
                };
                let reason = Reason::TaskNotRetryable { task: task.id.to_string(), status: task.status };
                return Err(Error::refusal(reason, message));
            }
            let was = task.status;
            task.status = TaskStatus::Open;
            task.assignee = None;
            task.claimed_at = None;
            task.closed_at = None;
            task.progress = 0;
            task.updated_at = now;
            let text = match note {
                Some(text) => format!("reopened (was {was}): {text}"),
                None => format!("reopened (was {was})"),
            };
            task.add_note(&by, &text, now);
            let summary = format!("retry {} by {by}: {}", task.id, first_line(&text, 80));
            write_task(view, Event::new("retry", &by, now, summary), task)
        })
    }
}
