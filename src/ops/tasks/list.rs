//! Listing and showing tasks: the queue as filtered rows with their
//! readiness, and one task with its history.

use super::{
    resolve, HistoryEntry, ListRequest, Statuses, TaskDetail, TaskFilter, TaskListing, TaskSummary, TaskView,
};
use crate::model::ids::{IdPrefix, TaskId};
use crate::model::names::validate_name;
use crate::model::task::{Readiness, TaskStatus};
use crate::ops::{Context, Result};
use crate::store::tasks::TaskTable;

impl Context {
    /// The tasks collection as it is now, for a front end that keeps its
    /// own cache of it (the web board decodes only the closed shards that
    /// changed since it last looked).
    pub fn task_table(&self) -> Result<TaskTable<'_>> {
        Ok(self.store.tasks().read()?)
    }

    /// The filter a list request means; "mine" needs a session.
    pub fn task_filter(&self, req: &ListRequest) -> Result<TaskFilter> {
        let status = req.status.as_deref().map(TaskStatus::parse).transpose()?;
        let assignee = match req.mine {
            true => Some(self.require_session("listing your own tasks (--mine)")?.to_string()),
            false => None,
        };
        Ok(TaskFilter {
            ready: req.ready,
            status,
            assignee,
            include_assigned: req.mine,
            role: req.role.clone(),
            closed: req.all,
        })
    }

    pub fn list_tasks(&self, filter: &TaskFilter) -> Result<TaskListing> {
        if let Some(role) = &filter.role {
            validate_name("role", role)?;
        }
        let view = self.store.tasks().read()?;
        let (mut tasks, mut corrupt) = view.open_summaries()?;
        let closed_status = filter.status.filter(|s| s.is_closed());
        if filter.closed || closed_status.is_some() {
            let (closed, bad) = match closed_status {
                // Only the tasks of that status are read, found by the index.
                Some(status) if !filter.closed => view.closed_tasks_with(status)?,
                _ => view.closed_tasks()?,
            };
            tasks.extend(closed.iter().map(TaskSummary::from));
            corrupt.extend(bad);
        }
        let mut statuses = Statuses::new(&tasks);
        let mut views = Vec::new();
        for task in tasks {
            let keep = filter.status.is_none_or(|s| task.status == s)
                && filter.assignee.as_ref().is_none_or(|a| {
                    task.assignee.as_ref() == Some(a)
                        || (filter.include_assigned && task.assigned_to.as_ref() == Some(a))
                })
                && filter.role.as_ref().is_none_or(|r| task.role.as_ref() == Some(r));
            if !keep {
                continue;
            }
            let readiness = statuses.readiness(&view, task.status, &task.depends_on)?;
            let ready = readiness == Readiness::Ready;
            if !filter.ready || ready {
                views.push(TaskView { task, ready, readiness });
            }
        }
        views.sort_by(|a, b| {
            let closed = |v: &TaskView| v.task.status.is_closed();
            closed(a).cmp(&closed(b)).then_with(|| a.task.queue_order(&b.task))
        });
        Ok(TaskListing { tasks: views, corrupt })
    }

    pub fn show_task(&self, id: &str) -> Result<TaskDetail> {
        let prefix = IdPrefix::parse(id)?;
        let view = self.store.tasks().read()?;
        let task = resolve(&view, &prefix)?;
        let readiness = Statuses::new(&[]).readiness(&view, task.status, &task.depends_on)?;
        let history = self.task_history(&task.id)?;
        Ok(TaskDetail { ready: readiness == Readiness::Ready, readiness, history, task })
    }

    /// The events that touched one task, oldest first. The walk stops at
    /// the task's creation, so it costs the task's lifetime, not the queue's.
    fn task_history(&self, id: &TaskId) -> Result<Vec<HistoryEntry>> {
        let events = self.store.tasks().history(id)?;
        Ok(events
            .into_iter()
            .map(|(event, commit)| HistoryEntry {
                at: event.at,
                actor: event.actor,
                action: event.action,
                summary: event.summary,
                commit: commit.to_string(),
            })
            .collect())
    }
}
