//! The board: one screen for the human. [`Board`] is the view model, plain
//! data computed by `ops::board`; this module renders it as text (colour
//! only when asked), markdown (a STATUS_BOARD.md page) or JSON (the model
//! itself). Rendering is pure: the same model always gives the same output,
//! and everything an agent wrote is shown with control characters escaped.

mod attention;

pub use attention::{Attention, KeptRow, ProblemRow};

use crate::model::names::escape_control;
use crate::model::time::{format_duration, Timestamp};
use chrono::Duration;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub generated_at: Timestamp,
    pub sessions: Vec<SessionRow>,
    pub tasks: TaskCounts,
    /// Done out of all tasks that were not cancelled, in percent.
    pub done_percent: u8,
    pub ready: Vec<TaskRow>,
    pub in_progress: Vec<TaskRow>,
    pub claims: Vec<ClaimRow>,
    /// Overlapping changes between live sessions' branches and with their
    /// targets (committed work only: see `ops::board`), conflicts first.
    pub conflicts: Vec<ConflictRow>,
    /// Why the conflicts section is partial or missing, if it is.
    pub conflicts_note: Option<String>,
    pub messages: Vec<MessageRow>,
    /// What needs someone: open requests, failed and blocked tasks, kept
    /// worktrees. Stays until dealt with, unlike `messages`.
    pub attention: Attention,
    /// Documents that could not be read: the sections that need them show
    /// what they could, and the board names each one.
    pub unreadable: Vec<UnreadableRow>,
    /// With a coordination remote: which, and how old this view of it is.
    pub remote: Option<RemoteView>,
}

/// A stored document that could not be read, and why.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadableRow {
    /// `<ref>:<path>`, as `git show` takes it.
    pub document: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConflictRow {
    pub session: String,
    /// Another session, or the session's target branch.
    pub other: String,
    /// `session` or `target`.
    pub against: String,
    pub files: Vec<String>,
    pub conflicts: Vec<String>,
}

impl ConflictRow {
    /// "alice and bob" or "alice and main (target)".
    fn sides(&self) -> String {
        match self.against.as_str() {
            "target" => format!("{} and {} (target)", self.session, text(&self.other)),
            _ => format!("{} and {}", self.session, text(&self.other)),
        }
    }

    /// What the row says: the conflicting files, then the clean overlaps.
    fn summary(&self) -> String {
        // File names are agents' text too (a name can hold a bidi override).
        let clean: Vec<String> =
            self.files.iter().filter(|f| !self.conflicts.contains(f)).map(|f| text(f)).collect();
        let conflicts: Vec<String> = self.conflicts.iter().map(|f| text(f)).collect();
        let mut parts = Vec::new();
        if !conflicts.is_empty() {
            parts.push(format!("conflict: {}", conflicts.join(", ")));
        }
        if !clean.is_empty() {
            parts.push(format!("both change: {}", clean.join(", ")));
        }
        parts.join("; ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoteView {
    /// `orchestrate.remote` as configured.
    pub remote: String,
    /// This machine, so rows of sessions on other hosts can be told apart.
    pub host: String,
    /// When the local copies were last fetched from the remote, if ever.
    pub fetched_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub name: String,
    pub role: Option<String>,
    pub capabilities: Vec<String>,
    pub stale: bool,
    pub task: Option<String>,
    pub doing: Option<String>,
    pub progress: Option<u8>,
    pub phase: Option<String>,
    pub heartbeat_at: Timestamp,
    /// The machine the session runs on.
    pub host: Option<String>,
    /// The agent spawned under this session's name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRow>,
}

/// A spawned agent as the board shows it: its `ps` state (`lost` while its
/// supervisor is dead and not replaced), and when a dead supervisor was
/// last found and replaced.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    pub state: String,
    pub supervisor_lost_at: Option<Timestamp>,
}

impl AgentRow {
    /// `agent running`, `agent lost (supervisor gone)`, `agent exited
    /// (supervisor lost 5m ago, replaced)`.
    fn describe(&self, now: Timestamp) -> String {
        let mut out = format!("agent {}", self.state);
        if self.state == "lost" {
            out.push_str(" (supervisor gone)");
        } else if let Some(at) = self.supervisor_lost_at {
            out.push_str(&format!(" (supervisor lost {} ago, replaced)", age(now, at)));
        }
        out
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskCounts {
    pub total: usize,
    pub open: usize,
    pub ready: usize,
    pub waiting: usize,
    pub blocked: usize,
    pub claimed: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub priority: u8,
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub progress: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub path: String,
    pub session: String,
    pub mode: String,
    pub reason: Option<String>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub id: String,
    pub from: String,
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub sent_at: Timestamp,
}

/// How text output may be decorated.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A bar of `width` cells, `percent` of them full.
pub fn bar(percent: u8, width: usize) -> String {
    let full = (usize::from(percent.min(100)) * width + 50) / 100;
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

impl Board {
    /// The host of a session that runs on another machine than this one.
    fn elsewhere<'b>(&self, s: &'b SessionRow) -> Option<&'b str> {
        let here = self.remote.as_ref().map(|r| r.host.as_str());
        s.host.as_deref().filter(|h| Some(*h) != here && self.remote.is_some())
    }
}

/// "fetched 5s ago", or that it never was.
fn fetched(now: Timestamp, at: Option<Timestamp>) -> String {
    match at {
        Some(at) => format!("fetched {} ago", age(now, at)),
        None => "never fetched (run `git orchestrate sync`)".to_string(),
    }
}

fn age(now: Timestamp, then: Timestamp) -> String {
    format_duration(now - then)
}

fn left(now: Timestamp, until: Timestamp) -> String {
    format_duration((until - now).max(Duration::zero()))
}

fn text(s: &str) -> String {
    escape_control(s)
}

impl Board {
    /// The board as text for a terminal or a log.
    pub fn render_text(&self, style: Style) -> String {
        let now = self.generated_at;
        let head = |s: &str| style.paint("1", s);
        let mut out = format!("{}  {}\n", head("git orchestrate board"), now.format("%Y-%m-%d %H:%M:%SZ"));
        if let Some(r) = &self.remote {
            out.push_str(&format!("view of {} {}\n", text(&r.remote), fetched(now, r.fetched_at)));
        }
        out.push('\n');

        let live = self.sessions.iter().filter(|s| !s.stale).count();
        out.push_str(&head(&format!("SESSIONS  {live} live, {} stale\n", self.sessions.len() - live)));
        if self.sessions.is_empty() {
            out.push_str("  none: start one with `git orchestrate session start NAME`\n");
        }
        let width = self.sessions.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &self.sessions {
            let state = if s.stale { style.paint("33", "stale") } else { style.paint("32", "live ") };
            let role = s.role.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
            let caps = match s.capabilities.is_empty() {
                true => String::new(),
                false => format!(" {{{}}}", s.capabilities.join(",")),
            };
            let task = s.task.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
            let progress = s.progress.map(|p| format!(" {} {p:>3}%", bar(p, 10))).unwrap_or_default();
            let doing = s.doing.as_deref().map(|d| format!("  {}", text(d))).unwrap_or_default();
            let phase = s.phase.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
            let host = self.elsewhere(s).map(|h| format!(" @{}", text(h))).unwrap_or_default();
            let agent = s.agent.as_ref().map(|a| format!("  {}", a.describe(now))).unwrap_or_default();
            let agent = match s.agent.as_ref().is_some_and(|a| a.state == "lost") {
                true => style.paint("31", &agent),
                false => agent,
            };
            out.push_str(&format!(
                "  {:<width$}  {state}  hb {:>5} ago{host}{role}{caps}{task}{progress}{doing}{phase}{agent}\n",
                s.name,
                age(now, s.heartbeat_at)
            ));
        }

        out.push_str(&self.attention.render_text(now, &head));
        let t = &self.tasks;
        out.push_str(&format!(
            "\n{}  {} {}% done\n",
            head(&format!("TASKS  {} total", t.total)),
            bar(self.done_percent, 20),
            self.done_percent
        ));
        out.push_str(&format!(
            "  open {} (ready {}, waiting {}, blocked {}) · claimed {} · done {} · failed {} · cancelled {}\n",
            t.open, t.ready, t.waiting, t.blocked, t.claimed, t.done, t.failed, t.cancelled
        ));
        if !self.in_progress.is_empty() {
            out.push_str(&format!("\n{}\n", head("IN PROGRESS")));
            for r in &self.in_progress {
                let who = r.assignee.as_deref().unwrap_or("-");
                out.push_str(&format!(
                    "  {}  P{}  {who:<12} {} {:>3}%  {}\n",
                    r.id,
                    r.priority,
                    bar(r.progress, 10),
                    r.progress,
                    text(&r.title)
                ));
            }
        }
        if !self.ready.is_empty() {
            out.push_str(&format!("\n{}\n", head("READY")));
            for r in &self.ready {
                let role = r.role.as_deref().map(|x| format!(" [{x}]")).unwrap_or_default();
                out.push_str(&format!("  {}  P{}  {}{role}\n", r.id, r.priority, text(&r.title)));
            }
        }
        if !self.claims.is_empty() {
            out.push_str(&format!("\n{}\n", head("CLAIMS")));
            let w = self.claims.iter().map(|c| text(&c.path).chars().count()).max().unwrap_or(0);
            for c in &self.claims {
                let reason = c.reason.as_deref().map(|r| format!("  {}", text(r))).unwrap_or_default();
                out.push_str(&format!(
                    "  {:<w$}  {:<9}  {:<12} {:>6} left{reason}\n",
                    text(&c.path),
                    c.mode,
                    c.session,
                    left(now, c.expires_at)
                ));
            }
        }
        if !self.conflicts.is_empty() || self.conflicts_note.is_some() {
            let n = self.conflicts.iter().filter(|c| !c.conflicts.is_empty()).count();
            out.push_str(&format!(
                "\n{}\n",
                head(&format!("CONFLICTS  {n} would conflict (committed work)"))
            ));
            for c in &self.conflicts {
                let summary = match c.conflicts.is_empty() {
                    true => c.summary(),
                    false => style.paint("31", &c.summary()),
                };
                out.push_str(&format!("  {}: {summary}\n", c.sides()));
            }
            if let Some(note) = &self.conflicts_note {
                out.push_str(&format!("  {note}\n"));
            }
        }
        if !self.messages.is_empty() {
            out.push_str(&format!("\n{}\n", head("MESSAGES")));
            for m in &self.messages {
                out.push_str(&format!(
                    "  {:>5} ago  {} -> {}  [{}]  {}\n",
                    age(now, m.sent_at),
                    text(&m.from),
                    m.to,
                    m.kind,
                    text(&m.subject)
                ));
            }
        }
        if !self.unreadable.is_empty() {
            out.push_str(&format!("\n{}\n", style.paint("31", &head("UNREADABLE"))));
            for u in &self.unreadable {
                out.push_str(&format!("  {} is corrupt: {}\n", u.document, text(&u.reason)));
            }
            out.push_str(
                "  what they hold is missing above; `git orchestrate doctor --repair` moves them aside\n",
            );
        }
        out
    }

    /// The board as a markdown page (for a STATUS_BOARD.md anyone can read).
    pub fn render_markdown(&self) -> String {
        let now = self.generated_at;
        // Agent text goes into table cells: escape control characters and
        // the characters that would break the table.
        let cell = |s: &str| text(s).replace('|', "\\|");
        let mut out = format!("# Status board\n\n_Generated {}._\n\n", now.format("%Y-%m-%d %H:%M:%SZ"));
        if let Some(r) = &self.remote {
            out.push_str(&format!("_View of {} {}._\n\n", cell(&r.remote), fetched(now, r.fetched_at)));
        }
        out.push_str("## Sessions\n\n");
        if self.sessions.is_empty() {
            out.push_str("No active sessions.\n");
        } else {
            out.push_str("| session | state | role | capabilities | task | progress | doing | heartbeat |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
            for s in &self.sessions {
                out.push_str(&format!(
                    "| {}{} | {}{} | {} | {} | {} | {} | {} | {} ago |\n",
                    s.name,
                    self.elsewhere(s).map(|h| format!(" @{}", cell(h))).unwrap_or_default(),
                    if s.stale { "stale" } else { "live" },
                    s.agent.as_ref().map(|a| format!(", {}", a.describe(now))).unwrap_or_default(),
                    s.role.as_deref().unwrap_or(""),
                    s.capabilities.join(", "),
                    s.task.as_deref().unwrap_or(""),
                    s.progress.map(|p| format!("{p}%")).unwrap_or_default(),
                    cell(s.doing.as_deref().unwrap_or("")),
                    age(now, s.heartbeat_at)
                ));
            }
        }
        out.push_str(&self.attention.render_markdown(now, &cell));
        let t = &self.tasks;
        out.push_str(&format!(
            "\n## Tasks\n\n{} total, {}% done: open {} (ready {}, waiting {}, blocked {}), claimed {}, done {}, failed {}, cancelled {}.\n",
            t.total, self.done_percent, t.open, t.ready, t.waiting, t.blocked, t.claimed, t.done, t.failed, t.cancelled
        ));
        let table = |title: &str, rows: &[TaskRow]| {
            let mut s = format!("\n### {title}\n\n");
            if rows.is_empty() {
                s.push_str("None.\n");
                return s;
            }
            s.push_str(
                "| id | P | title | role | assignee | progress |\n| --- | --- | --- | --- | --- | --- |\n",
            );
            for r in rows {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {}% |\n",
                    r.id,
                    r.priority,
                    cell(&r.title),
                    r.role.as_deref().unwrap_or(""),
                    r.assignee.as_deref().unwrap_or(""),
                    r.progress
                ));
            }
            s
        };
        out.push_str(&table("In progress", &self.in_progress));
        out.push_str(&table("Ready", &self.ready));
        out.push_str("\n## Claims\n\n");
        if self.claims.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| path | mode | session | left | reason |\n| --- | --- | --- | --- | --- |\n");
            for c in &self.claims {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    cell(&c.path),
                    c.mode,
                    c.session,
                    left(now, c.expires_at),
                    cell(c.reason.as_deref().unwrap_or(""))
                ));
            }
        }
        out.push_str("\n## Conflicts\n\n");
        if self.conflicts.is_empty() {
            out.push_str("No overlapping changes between live sessions' branches.\n");
        } else {
            out.push_str("| sides | would conflict | both change |\n| --- | --- | --- |\n");
            for c in &self.conflicts {
                let clean: Vec<&str> =
                    c.files.iter().filter(|f| !c.conflicts.contains(f)).map(String::as_str).collect();
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    c.sides(),
                    cell(&c.conflicts.join(", ")),
                    cell(&clean.join(", "))
                ));
            }
        }
        if let Some(note) = &self.conflicts_note {
            out.push_str(&format!("\n_{}_\n", cell(note)));
        }
        out.push_str("\n## Recent messages\n\n");
        if self.messages.is_empty() {
            out.push_str("None.\n");
        } else {
            for m in &self.messages {
                out.push_str(&format!(
                    "- {} ago, {} → {} [{}]: {}\n",
                    age(now, m.sent_at),
                    cell(&m.from),
                    m.to,
                    m.kind,
                    cell(&m.subject)
                ));
            }
        }
        if !self.unreadable.is_empty() {
            out.push_str("\n## Unreadable documents\n\n");
            for u in &self.unreadable {
                out.push_str(&format!("- `{}` is corrupt: {}\n", u.document, cell(&u.reason)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_that_lost_its_supervisor_shows_on_the_board() {
        let now: Timestamp = "2030-01-01T10:10:00Z".parse().unwrap();
        let row = |state: &str, lost: Option<Timestamp>| SessionRow {
            name: "w1".into(),
            role: None,
            capabilities: vec![],
            stale: false,
            task: None,
            doing: None,
            progress: None,
            phase: None,
            heartbeat_at: now,
            host: None,
            agent: Some(AgentRow { state: state.into(), supervisor_lost_at: lost }),
        };
        let board = |rows: Vec<SessionRow>| Board {
            generated_at: now,
            sessions: rows,
            tasks: TaskCounts::default(),
            done_percent: 0,
            ready: vec![],
            in_progress: vec![],
            claims: vec![],
            conflicts: vec![],
            conflicts_note: None,
            messages: vec![],
            attention: Attention::default(),
            unreadable: vec![],
            remote: None,
        };
        let lost_at = Some("2030-01-01T10:05:00Z".parse().unwrap());
        let b = board(vec![row("lost", None)]);
        assert!(b.render_text(Style { color: false }).contains("agent lost (supervisor gone)"));
        assert!(b.render_markdown().contains("| w1 | live, agent lost (supervisor gone) |"));
        let b = board(vec![row("running", lost_at)]);
        let text = b.render_text(Style { color: false });
        assert!(text.contains("agent running (supervisor lost 5m ago, replaced)"), "{text}");
    }

    #[test]
    fn bars_round_to_the_nearest_cell() {
        assert_eq!(bar(0, 10), "░░░░░░░░░░");
        assert_eq!(bar(55, 10), "██████░░░░");
        assert_eq!(bar(100, 4), "████");
        assert_eq!(bar(200, 4), "████");
    }
}
