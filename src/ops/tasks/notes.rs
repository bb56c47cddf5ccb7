//! What happens on a task besides its status: notes and progress, the
//! commits that worked on it and where its work landed.

use super::{first_line, resolve, write_task};
use crate::model::ids::IdPrefix;
use crate::model::task::{validate_note, validate_progress, Task};
use crate::ops::{Context, Error, Reason, Result};
use crate::store::tasks::Written;
use crate::store::Event;

impl Context {
    /// Records that `commit` worked on a task (a `Task:` trailer). Any
    /// task, finished or not, keeps the list of its commits.
    pub fn record_commit(&self, id: &str, commit: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let by = self.actor();
        let now = self.now();
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            if task.commits.iter().any(|c| c == commit) {
                return Ok(Written::Unchanged(task));
            }
            task.commits.push(commit.to_string());
            task.updated_at = now;
            let summary = format!("commit {} on {} by {by}", &commit[..commit.len().min(10)], task.id);
            write_task(view, Event::new("commit", &by, now, summary), task)
        })
    }

    /// Records on a task where its work landed (`land`), with a note.
    pub(crate) fn record_landing(&self, id: &str, landed: &crate::model::land::Landed) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        let by = self.actor();
        let now = self.now();
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            task.landed = Some(landed.clone());
            task.updated_at = now;
            let short = &landed.commit[..landed.commit.len().min(10)];
            let summary = format!("land {} on {} at {short} by {by}", task.id, landed.into);
            write_task(view, Event::new("land", &by, now, summary), task)
        })
    }

    /// Leaves a note on a task whatever its state (what a failed landing
    /// check printed, for whoever picks the work up again).
    pub(crate) fn note_task_anyway(&self, id: &str, text: &str) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        validate_note(text)?;
        let by = self.actor();
        let now = self.now();
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            task.add_note(&by, text, now);
            task.updated_at = now;
            let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
            write_task(view, Event::new("note", &by, now, summary), task)
        })
    }

    pub fn note_task(&self, id: &str, text: &str, progress: Option<u8>) -> Result<Task> {
        let prefix = IdPrefix::parse(id)?;
        validate_note(text)?;
        if let Some(p) = progress {
            validate_progress(p)?;
        }
        let by = self.actor();
        let now = self.now();
        let me = self.session().map(str::to_string);
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            if task.status.is_closed() {
                let message = format!(
                    "{} is {}: notes go on tasks that are not finished (add a new task for follow-up work)",
                    task.id, task.status
                );
                let reason = Reason::TaskClosed {
                    task: task.id.to_string(),
                    status: task.status,
                    action: "note".into(),
                };
                return Err(Error::refusal(reason, message));
            }
            if let Some(p) = progress {
                if task.assignee.is_none() || task.assignee != me {
                    let who = match &task.assignee {
                        Some(a) => format!("{a}, who holds it,"),
                        None => "the session that claims it".to_string(),
                    };
                    let message = format!("only {who} reports progress on {}", task.id);
                    let reason =
                        Reason::NotTaskHolder { task: task.id.to_string(), holder: task.assignee.clone() };
                    return Err(Error::refusal(reason, message));
                }
                task.progress = p;
            }
            task.add_note(&by, text, now);
            task.updated_at = now;
            let summary = format!("note {} by {by}: {}", task.id, first_line(text, 80));
            write_task(view, Event::new("note", &by, now, summary), task)
        })
    }
}
