//! The board's "needs attention" section: what stays on it until someone
//! deals with it (see `ops::attention`).

use super::{age, text, MessageRow};
use crate::model::time::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Attention {
    /// Help and handoff messages not read or answered yet, oldest first.
    pub requests: Vec<MessageRow>,
    pub failed: Vec<ProblemRow>,
    pub blocked: Vec<ProblemRow>,
    /// Ended agents whose worktree is kept: work not landed yet.
    pub kept: Vec<KeptRow>,
}

/// A task that needs someone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemRow {
    pub id: String,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptRow {
    pub session: String,
    pub worktree: Option<String>,
    pub branch: Option<String>,
    pub reason: String,
}

impl Attention {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.failed.is_empty() && self.blocked.is_empty() && self.kept.is_empty()
    }

    /// Lines for the text board; nothing when all is well.
    pub fn render_text(&self, now: Timestamp, head: &dyn Fn(&str) -> String) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = format!("\n{}\n", head("NEEDS ATTENTION"));
        for m in &self.requests {
            out.push_str(&format!(
                "  {} from {} to {}, {} ago: {}\n",
                m.kind,
                text(&m.from),
                m.to,
                age(now, m.sent_at),
                text(&m.subject)
            ));
        }
        for (what, rows) in [("failed", &self.failed), ("blocked", &self.blocked)] {
            for r in rows {
                out.push_str(&format!("  {what} {}  {}: {}\n", r.id, text(&r.title), text(&r.reason)));
            }
        }
        for k in &self.kept {
            out.push_str(&format!(
                "  ended {}: worktree kept ({}) {}\n",
                k.session,
                k.reason,
                k.worktree.as_deref().unwrap_or("")
            ));
        }
        out
    }

    /// The markdown section; "None." when all is well.
    pub fn render_markdown(&self, now: Timestamp, cell: &dyn Fn(&str) -> String) -> String {
        let mut out = "\n## Needs attention\n\n".to_string();
        if self.is_empty() {
            out.push_str("None.\n");
            return out;
        }
        for m in &self.requests {
            out.push_str(&format!(
                "- **{}** from {} to {}, {} ago: {}\n",
                m.kind,
                cell(&m.from),
                m.to,
                age(now, m.sent_at),
                cell(&m.subject)
            ));
        }
        for (what, rows) in [("failed", &self.failed), ("blocked", &self.blocked)] {
            for r in rows {
                out.push_str(&format!("- **{what}** {} {}: {}\n", r.id, cell(&r.title), cell(&r.reason)));
            }
        }
        for k in &self.kept {
            out.push_str(&format!(
                "- **worktree kept** for ended session {}: {} (`{}`)\n",
                k.session,
                k.reason,
                k.worktree.as_deref().unwrap_or("")
            ));
        }
        out
    }
}
