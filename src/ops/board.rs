//! Gathers the board's view model from every collection.

use super::tasks::TaskFilter;
use super::{Context, Result};
use crate::board::{
    AgentRow, Board, ClaimRow, ConflictRow, MessageRow, SessionRow, TaskCounts, TaskRow, UnreadableRow,
};
use crate::model::message::{Message, MessageKind};
use crate::model::task::{Readiness, TaskStatus};
use crate::store::{refs, Corrupt, StoreError};

/// How many ready tasks and recent messages the board shows.
const READY_SHOWN: usize = 10;
const MESSAGES_SHOWN: usize = 8;
/// How many live sessions the board's radar compares, and how many of its
/// overlaps it shows.
const RADAR_SESSIONS: usize = 40;
const CONFLICTS_SHOWN: usize = 10;

impl Context {
    pub fn board(&self) -> Result<Board> {
        let now = self.now();
        let listing = self.list_tasks(&TaskFilter::default())?;
        let current = super::sessions::current_tasks_of(&listing.tasks);
        let (sessions, corrupt_sessions) = self.list_sessions_on(false, &current)?;
        // One bad document stays one bad document: every section that does
        // not need it is shown, and it is named.
        let mut unreadable: Vec<Corrupt> = listing.corrupt.clone();
        unreadable.extend(corrupt_sessions);
        let agents = self.list_agents();
        let agent_of = |name: &str| {
            agents.iter().find(|a| a.session == name).map(|a| AgentRow {
                state: a.state.as_str().to_string(),
                supervisor_lost_at: a.supervisor_lost_at,
            })
        };
        let sessions = sessions
            .into_iter()
            .map(|v| SessionRow {
                agent: agent_of(&v.session.name),
                name: v.session.name,
                role: v.session.role,
                capabilities: v.session.capabilities,
                stale: v.stale,
                task: v.session.task,
                doing: v.session.doing,
                progress: v.session.progress,
                phase: v.session.phase,
                heartbeat_at: v.session.heartbeat_at,
                host: v.session.host,
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

        let claims = match self.list_claims(false) {
            Ok(claims) => claims,
            Err(super::Error::Store(StoreError::Corrupt { refname, path, reason })) => {
                unreadable.push(Corrupt { refname, path, reason });
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let claims = claims
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

        let messages = self.recent_messages(MESSAGES_SHOWN, &mut unreadable)?;
        let (conflicts, conflicts_note) = self.board_conflicts();
        Ok(Board {
            generated_at: now,
            sessions,
            tasks: counts,
            done_percent,
            ready,
            in_progress,
            claims,
            attention: self.attention()?,
            conflicts,
            conflicts_note,
            messages,
            unreadable: unreadable
                .into_iter()
                .map(|c| UnreadableRow { document: format!("{}:{}", c.refname, c.path), reason: c.reason })
                .collect(),
            remote: self.store.remote().map(|r| crate::board::RemoteView {
                remote: r.spec().to_string(),
                host: self.host(),
                fetched_at: r
                    .view_age()
                    .and_then(|age| chrono::Duration::from_std(age).ok())
                    .map(|age| now - age),
            }),
        })
    }

    /// The board's CONFLICTS rows. Kept cheap for a board redrawn every
    /// second: branch heads only (no worktree is scanned; `conflicts` does
    /// that), at most [`RADAR_SESSIONS`] sessions, merges remembered per
    /// pair of commits so only what moved is merged again, and at most
    /// [`CONFLICTS_SHOWN`] rows, conflicts first. A failure becomes a note:
    /// the board never fails because of the radar.
    fn board_conflicts(&self) -> (Vec<ConflictRow>, Option<String>) {
        let sessions = match self.radar_sessions() {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(format!("conflicts not computed: {}", e.message()))),
        };
        let mut notes = Vec::new();
        let considered = &sessions[..sessions.len().min(RADAR_SESSIONS)];
        if sessions.len() > RADAR_SESSIONS {
            notes.push(format!(
                "only the first {RADAR_SESSIONS} of {} live sessions compared",
                sessions.len()
            ));
        }
        let radar = match self
            .radar_of(considered, &super::conflicts::Scope { targets: true, ..Default::default() })
        {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(format!("conflicts not computed: {}", e.message()))),
        };
        let mut rows: Vec<ConflictRow> = radar
            .overlaps
            .into_iter()
            .map(|o| ConflictRow {
                against: match o.against {
                    super::conflicts::Against::Session => "session".into(),
                    super::conflicts::Against::Target => "target".into(),
                },
                session: o.session,
                other: o.other,
                files: o.files,
                conflicts: o.conflicts,
            })
            .collect();
        // Conflicts first; the order within each group stays the radar's.
        rows.sort_by_key(|r| r.conflicts.is_empty());
        if rows.len() > CONFLICTS_SHOWN {
            notes.push(format!(
                "{} more overlaps: see `git orchestrate conflicts`",
                rows.len() - CONFLICTS_SHOWN
            ));
            rows.truncate(CONFLICTS_SHOWN);
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        (rows, note)
    }

    /// The newest messages across every mailbox, newest first.
    /// A message that cannot be read is added to `unreadable`.
    fn recent_messages(&self, n: usize, unreadable: &mut Vec<Corrupt>) -> Result<Vec<MessageRow>> {
        let mut messages: Vec<Message> = Vec::new();
        for (mailbox, head) in self.store.mailboxes().all()? {
            for letter in mailbox.letters(Some(head)).take(n) {
                let letter = letter?;
                match letter.message {
                    Ok(Some(m)) => messages.push(m),
                    Ok(None) => {}
                    Err(c) => {
                        unreadable.push(Corrupt { path: format!("{} (in {})", c.path, letter.commit), ..c })
                    }
                }
            }
        }
        messages.sort_by_key(|m| std::cmp::Reverse(m.sent_at));
        messages.truncate(n);
        Ok(messages.into_iter().map(MessageRow::from).collect())
    }

    /// Recent messages newest first (`shown` of them), with unread `help`
    /// and `handoff` pinned however old they are (searched `pin_depth`
    /// deep in each mailbox). A message is unread while no reader's cursor
    /// on its mailbox has reached it: a mailbox is one linear chain, so
    /// walking from its head, everything before the first cursor met is
    /// unread by all.
    pub fn message_feed(&self, shown: usize, pin_depth: usize) -> Result<Vec<FeedMessage>> {
        let mailboxes = self.store.mailboxes();
        let cursors = mailboxes.cursors()?;
        let mut all: Vec<FeedMessage> = Vec::new();
        for (mailbox, head) in mailboxes.all()? {
            let read_marks = cursors.get(mailbox.name());
            let mut unread = true;
            for (depth, letter) in mailbox.letters(Some(head)).take(pin_depth).enumerate() {
                let letter = letter?;
                if read_marks.is_some_and(|marks| marks.contains(&letter.commit)) {
                    unread = false;
                }
                if depth >= shown && !unread {
                    break;
                }
                if let Ok(Some(m)) = letter.message {
                    let pinned = unread && matches!(m.kind, MessageKind::Help | MessageKind::Handoff);
                    if pinned || depth < shown {
                        all.push(FeedMessage { message: m, pinned });
                    }
                }
            }
        }
        all.sort_by_key(|m| std::cmp::Reverse(m.message.sent_at));
        let (pinned, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.pinned);
        Ok(pinned.into_iter().chain(rest.into_iter().take(shown)).collect())
    }
}

/// A message as the web board's feed lists it.
#[derive(Debug, serde::Serialize)]
pub struct FeedMessage {
    #[serde(flatten)]
    pub message: Message,
    /// A `help` or `handoff` no reader of its mailbox has read yet.
    pub pinned: bool,
}
