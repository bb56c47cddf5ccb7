//! What needs a human (or the lead) on the board: help and handoff
//! requests nobody has read or answered yet, failed and blocked tasks
//! with their reason, and ended agents whose worktree holds work not
//! landed. Unlike "recent messages", these stay until they are dealt with.

use super::tasks::TaskFilter;
use super::{Context, Result};
use crate::board::{Attention, KeptRow, MessageRow, ProblemRow};
use crate::model::message::{Message, MessageKind};
use crate::model::session::SessionStatus;
use crate::model::task::{Readiness, TaskStatus};
use std::collections::BTreeSet;

/// How far back each mailbox is searched for open requests.
const REQUESTS_SEARCHED: usize = 500;

impl Context {
    /// Everything the board lists as needing attention.
    pub fn attention(&self) -> Result<Attention> {
        Ok(Attention {
            requests: self.open_requests()?,
            failed: self.failed_tasks()?,
            blocked: self.blocked_tasks()?,
            kept: self.kept_worktrees()?,
        })
    }

    /// Help and handoff messages still unread by whoever they were for
    /// (for `all` and role boxes: by anyone), and not answered by a reply.
    fn open_requests(&self) -> Result<Vec<MessageRow>> {
        let mailboxes = self.store.mailboxes();
        let cursors = mailboxes.cursors()?;
        let mut open = Vec::new();
        let mut replied = BTreeSet::new();
        for (mailbox, head) in mailboxes.all()? {
            let read = cursors.get(mailbox.name());
            for letter in mailbox.letters(Some(head)).take(REQUESTS_SEARCHED) {
                let letter = letter?;
                // The chain is linear: below a reader's cursor, all is read.
                if read.is_some_and(|read| read.contains(&letter.commit)) {
                    break;
                }
                if let Ok(Some(m)) = letter.message {
                    if let Some(id) = &m.reply_to {
                        replied.insert(id.clone());
                    }
                    if matches!(m.kind, MessageKind::Help | MessageKind::Handoff) {
                        open.push(m);
                    }
                }
            }
        }
        // A copy delivered to the lead is the same request.
        let mut seen = BTreeSet::new();
        open.retain(|m| !replied.contains(&m.id) && seen.insert(m.id.clone()));
        open.sort_by_key(|m| m.sent_at);
        Ok(open.into_iter().map(MessageRow::from).collect())
    }

    fn failed_tasks(&self) -> Result<Vec<ProblemRow>> {
        let filter = TaskFilter { status: Some(TaskStatus::Failed), ..TaskFilter::default() };
        let mut failed = Vec::new();
        for view in self.list_tasks(&filter)?.tasks {
            let task = self.load_task(view.task.id.as_str())?;
            let reason = task
                .notes
                .last()
                .and_then(|n| n.text.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("no reason given")
                .to_string();
            failed.push(ProblemRow { id: task.id.to_string(), title: task.title, reason });
        }
        Ok(failed)
    }

    fn blocked_tasks(&self) -> Result<Vec<ProblemRow>> {
        let listing = self.list_tasks(&TaskFilter::default())?;
        let mut blocked = Vec::new();
        for view in listing.tasks {
            if let Readiness::Blocked { by } = &view.readiness {
                let by: Vec<String> = by
                    .iter()
                    .map(|id| match self.load_task(id.as_str()) {
                        Ok(t) => format!("{id} ({})", t.status),
                        Err(_) => format!("{id} (missing)"),
                    })
                    .collect();
                blocked.push(ProblemRow {
                    id: view.task.id.to_string(),
                    title: view.task.title.clone(),
                    reason: format!("depends on {}, which will not be done", by.join(", ")),
                });
            }
        }
        Ok(blocked)
    }

    fn kept_worktrees(&self) -> Result<Vec<KeptRow>> {
        let (sessions, _) = self.list_sessions(true)?;
        Ok(sessions
            .into_iter()
            .filter(|v| v.session.status == SessionStatus::Ended)
            .filter_map(|v| {
                let reason = v.session.worktree_kept?;
                Some(KeptRow {
                    session: v.session.name,
                    worktree: v.session.worktree,
                    branch: v.session.branch,
                    reason,
                })
            })
            .collect())
    }
}

impl From<Message> for MessageRow {
    fn from(m: Message) -> MessageRow {
        MessageRow {
            id: m.id,
            from: m.from,
            to: m.to,
            kind: m.kind.to_string(),
            subject: m.subject,
            sent_at: m.sent_at,
        }
    }
}
