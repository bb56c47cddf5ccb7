//! Gathers the board's view model from every collection.

use super::tasks::TaskFilter;
use super::{Context, Result};
use crate::board::{Board, ClaimRow, MessageRow, SessionRow, TaskCounts, TaskRow};
use crate::model::message::Message;
use crate::model::task::{Readiness, TaskStatus};
use crate::store::refs;

/// How many ready tasks and recent messages the board shows.
const READY_SHOWN: usize = 10;
const MESSAGES_SHOWN: usize = 8;

impl Context {
    pub fn board(&self) -> Result<Board> {
        let now = self.now();
        let listing = self.list_tasks(&TaskFilter::default())?;
        let current = super::sessions::current_tasks_of(&listing.tasks);
        let (sessions, _) = self.list_sessions_on(false, &current)?;
        let sessions = sessions
            .into_iter()
            .map(|v| SessionRow {
                name: v.session.name,
                role: v.session.role,
                capabilities: v.session.capabilities,
                stale: v.stale,
                task: v.session.task,
                doing: v.session.doing,
                progress: v.session.progress,
                phase: v.session.phase,
                heartbeat_at: v.session.heartbeat_at,
            })
            .collect();

        let mut counts = TaskCounts::default();
        let mut ready = Vec::new();
        let mut in_progress = Vec::new();
        for view in &listing.tasks {
            let t = &view.task;
            let row = TaskRow {
                id: t.id.to_string(),
                title: t.title.clone(),
                priority: t.priority,
                role: t.role.clone(),
                assignee: t.assignee.clone(),
                progress: t.progress,
            };
            match (&t.status, &view.readiness) {
                (TaskStatus::Claimed, _) => {
                    counts.claimed += 1;
                    in_progress.push(row);
                }
                (_, Readiness::Ready) => {
                    counts.open += 1;
                    counts.ready += 1;
                    ready.push(row);
                }
                (_, Readiness::Blocked { .. }) => {
                    counts.open += 1;
                    counts.blocked += 1;
                }
                _ => {
                    counts.open += 1;
                    counts.waiting += 1;
                }
            }
        }
        ready.truncate(READY_SHOWN);
        let snap = self.store.snapshot(refs::TASKS)?;
        let closed = super::tasks::TaskTable::new(&snap).closed_counts()?;
        counts.done = closed.get(&TaskStatus::Done).copied().unwrap_or(0);
        counts.failed = closed.get(&TaskStatus::Failed).copied().unwrap_or(0);
        counts.cancelled = closed.get(&TaskStatus::Cancelled).copied().unwrap_or(0);
        counts.total = counts.open + counts.claimed + counts.done + counts.failed + counts.cancelled;
        let countable = counts.total - counts.cancelled;
        let done_percent = (counts.done * 100).checked_div(countable).unwrap_or(0) as u8;

        let claims = self
            .list_claims(false)?
            .into_iter()
            .filter(|c| c.live)
            .map(|c| ClaimRow {
                path: c.claim.path.to_string(),
                session: c.claim.session,
                mode: c.claim.mode.to_string(),
                reason: c.claim.reason,
                expires_at: c.claim.expires_at,
            })
            .collect();

        Ok(Board {
            generated_at: now,
            sessions,
            tasks: counts,
            done_percent,
            ready,
            in_progress,
            claims,
            messages: self.recent_messages(MESSAGES_SHOWN)?,
            attention: self.attention()?,
        })
    }

    /// The newest messages across every mailbox, newest first.
    fn recent_messages(&self, n: usize) -> Result<Vec<MessageRow>> {
        let mut messages: Vec<Message> = Vec::new();
        for (refname, head) in self.store.refs_under(&refs::mailbox(""))? {
            let mut next = Some(head);
            for _ in 0..n {
                let Some(oid) = next else { break };
                if let Ok(Some(m)) =
                    self.store.snapshot_at(&refname, Some(oid))?.get::<Message>("message.json")
                {
                    messages.push(m);
                }
                next = self.store.parent(oid)?;
            }
        }
        messages.sort_by_key(|m| std::cmp::Reverse(m.sent_at));
        messages.truncate(n);
        Ok(messages
            .into_iter()
            .map(|m| MessageRow {
                id: m.id,
                from: m.from,
                to: m.to,
                kind: m.kind.to_string(),
                subject: m.subject,
                sent_at: m.sent_at,
            })
            .collect())
    }
}
