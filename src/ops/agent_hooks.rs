//! What the coding agents' hooks ask of the store: whether a tool call
//! writes paths another live session holds, a briefing at session start,
//! and the urgent mail that should be read before an agent stops.
//!
//! Conflicts are decided by the claim rules of [`super::claims`] (one read
//! of the claims table for every path of a call); paths outside the
//! repository are not ours to guard.

use super::claims::Conflict;
use super::messages::{InboxOptions, Received};
use super::sessions::StartOptions;
use super::tasks::TaskFilter;
use super::{Context, Error, Result};
use crate::agent_hooks::Target;
use crate::model::message::MessageKind;
use crate::model::names::escape_control;
use crate::model::session::Pulse;
use crate::model::time::{format_duration, Timestamp};
use std::path::Path;

/// How many messages and tasks a briefing lists; the rest are counted.
pub const BRIEF_ITEMS: usize = 5;

impl Context {
    /// The exclusive claims of other live sessions that the paths a tool
    /// is about to write fall under.
    ///
    /// Claims are repository-relative, so a path is guarded in whichever
    /// worktree it is written. A hook that does not know who is acting
    /// takes a write into a session's worktree as that session's own.
    pub fn tool_conflicts(&self, targets: &[Target]) -> Result<Vec<Conflict>> {
        let mut files = Vec::new();
        let mut patterns = Vec::new();
        let mut owners = std::collections::HashMap::new();
        for target in targets {
            let (path, exact) = match target {
                Target::File(path) => (path, true),
                Target::Path(path) => (path, false),
            };
            let input = path.to_string_lossy();
            let at = match self.locate(&input) {
                Ok(at) => at,
                // Outside the repository, or its top (which a shell command
                // like `rm -rf .` may name as a whole).
                Err(Error::Invalid(_)) => {
                    if !exact && self.is_repository_top(path)? {
                        patterns.push(crate::model::claim::ClaimPattern::parse("**")?);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let (None, Some(owner)) = (self.session(), at.owner()) {
                owners.insert(at.rel.clone(), owner.to_string());
            }
            if exact {
                files.push(at.rel);
                continue;
            }
            // A word that is no valid pattern (`a[`) is the file it names.
            match self.check_pattern_at(&at, &input) {
                Ok(pattern) => patterns.push(pattern),
                Err(Error::Invalid(_)) => files.push(at.rel),
                Err(e) => return Err(e),
            }
        }
        if files.is_empty() && patterns.is_empty() {
            return Ok(Vec::new());
        }
        let mut conflicts = self.conflicts_for(&files, &patterns)?;
        conflicts.retain(|c| owners.get(&c.file) != Some(&c.claim.session));
        Ok(conflicts)
    }

    fn is_repository_top(&self, path: &Path) -> Result<bool> {
        match self.relative_path(&path.join("x").to_string_lossy()) {
            Ok(rel) => Ok(rel == "x"),
            Err(Error::Invalid(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Makes sure the acting session is registered and active (a session
    /// that was ended is started again, without a new worktree), then
    /// briefs it: who it is, its task, claims, unread messages and the ready
    /// tasks for its role. Without a session name, says how to get one.
    pub fn agent_briefing(&self) -> Result<String> {
        let Some(me) = self.session().map(str::to_string) else {
            let mut text = String::from(
                "git-orchestrate coordinates the agents on this repository, and this agent has no session yet. \
                 Start one: `git orchestrate session start <name> --role <role>` and work in the worktree it \
                 prints: the session is recorded there, so the hooks know it is you. `git orchestrate prompt` \
                 explains the rest.\n",
            );
            text.push_str(&self.ready_lines(None)?);
            return Ok(text);
        };
        match self.heartbeat(&Pulse::default()) {
            Ok(_) => {}
            Err(Error::Refused(_)) => {
                let role = self.show_session(Some(&me)).ok().and_then(|v| v.session.role);
                let opts = StartOptions { name: me.clone(), role, no_worktree: true, ..Default::default() };
                self.start_session(opts)?;
            }
            Err(e) => return Err(e),
        }
        let view = self.show_session(Some(&me))?;
        let s = &view.session;
        let now = self.now();
        let mut text = format!("git-orchestrate: you are session {me}");
        if let Some(role) = &s.role {
            text.push_str(&format!(" (role {role})"));
        }
        if let (Some(wt), Some(branch)) = (&s.worktree, &s.branch) {
            text.push_str(&format!(", worktree {wt} on branch {branch}"));
        }
        text.push_str(".\n");
        if let Some(task) = &s.task {
            text.push_str(&format!("Your task: {task} (`git orchestrate task show {task}`).\n"));
        }
        let claims: Vec<String> = self
            .list_claims(false)?
            .into_iter()
            .filter(|c| c.claim.session == me)
            .map(|c| {
                format!(
                    "{} ({}, {} left)",
                    c.claim.path,
                    c.claim.mode.as_str(),
                    left(c.claim.expires_at, now)
                )
            })
            .collect();
        if !claims.is_empty() {
            text.push_str(&format!("Your claims: {}.\n", claims.join(", ")));
        }
        let unread = self.inbox(&InboxOptions { peek: true, ..Default::default() })?;
        if !unread.is_empty() {
            text.push_str(&format!(
                "Unread messages ({}); read them with `git orchestrate inbox`:\n",
                unread.len()
            ));
            for r in unread.iter().take(BRIEF_ITEMS) {
                text.push_str(&format!("  {}\n", message_line(r)));
            }
        }
        text.push_str(&self.ready_lines(s.role.as_deref())?);
        Ok(text)
    }

    /// Ready tasks, best first: a role's own and those with no role, or all.
    fn ready_lines(&self, role: Option<&str>) -> Result<String> {
        let ready = self.list_tasks(&TaskFilter { ready: true, ..Default::default() })?.tasks;
        let fits: Vec<_> = ready
            .iter()
            .filter(|t| role.is_none() || t.task.role.is_none() || t.task.role.as_deref() == role)
            .collect();
        if fits.is_empty() {
            return Ok("No task is ready.\n".to_string());
        }
        let mut text = match role {
            Some(r) => format!("Ready tasks for role {r} ({}):\n", fits.len()),
            None => format!("Ready tasks ({}):\n", fits.len()),
        };
        for t in fits.iter().take(BRIEF_ITEMS) {
            text.push_str(&format!(
                "  {} p{} {}\n",
                t.task.id,
                t.task.priority,
                escape_control(&t.task.title)
            ));
        }
        text.push_str("Take the best one with `git orchestrate task claim --next`.\n");
        Ok(text)
    }

    /// Unread `help` and `handoff` messages addressed to the acting session
    /// (directly or to its role), left unread.
    pub fn urgent_unread(&self) -> Result<Vec<Received>> {
        if self.session().is_none() {
            return Ok(Vec::new());
        }
        let unread = self.inbox(&InboxOptions { peek: true, ..Default::default() })?;
        Ok(unread
            .into_iter()
            .filter(|r| r.mailbox != "all")
            .filter(|r| matches!(r.message.kind, MessageKind::Help | MessageKind::Handoff))
            .collect())
    }
}

/// One line naming a message: id, kind, sender and subject.
pub fn message_line(r: &Received) -> String {
    let m = &r.message;
    format!("{} {} from {}: \"{}\"", m.id, m.kind.as_str(), m.from, escape_control(&m.subject))
}

fn left(until: Timestamp, now: Timestamp) -> String {
    format_duration(until - now)
}

impl Context {
    /// Those of `paths` (files under `top`) that a new session worktree
    /// would not get: neither tracked in `top`'s index nor listed in its
    /// `.worktreeinclude`. Relative to `top`.
    pub fn not_shared(&self, top: &Path, paths: &[std::path::PathBuf]) -> Vec<String> {
        let index = git2::Repository::open(top).ok().and_then(|r| r.index().ok());
        let (listed, _) = crate::worktree::include_list(top);
        paths
            .iter()
            .filter_map(|p| {
                let rel = p.strip_prefix(top).ok()?.to_string_lossy().into_owned();
                let tracked = index.as_ref().is_some_and(|i| i.get_path(Path::new(&rel), 0).is_some());
                let included = listed.iter().any(|l| rel == *l || rel.starts_with(&format!("{l}/")));
                (!tracked && !included).then_some(rel)
            })
            .collect()
    }

    /// Writes (or with `remove`, takes out) our hooks and MCP server in the
    /// agent's settings files of the main worktree (see [`Self::settings_top`]).
    /// Returns that folder and what happened to each file.
    pub fn integrate_agent(
        &self,
        agent: crate::agent_hooks::Agent,
        scope: crate::integrate::Scope,
        remove: bool,
    ) -> Result<(std::path::PathBuf, Vec<crate::integrate::FileReport>)> {
        use crate::integrate::IntegrateError;
        let top = self.settings_top()?;
        let record = self.store.common_dir().join("orchestrate").join("integrated");
        let files =
            crate::integrate::integrate(&top, agent, scope, remove, &record).map_err(|e| match e {
                IntegrateError::Io { .. } => Error::Store(crate::store::StoreError::Io {
                    action: "write the agent settings".into(),
                    source: std::io::Error::other(e.to_string()),
                }),
                other => Error::invalid(other.to_string()),
            })?;
        Ok((top, files))
    }
}

/// Which instructions file `prompt --install` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionsFile {
    Agents,
    Claude,
    Gemini,
}

impl InstructionsFile {
    pub fn file_name(self) -> &'static str {
        match self {
            InstructionsFile::Agents => "AGENTS.md",
            InstructionsFile::Claude => "CLAUDE.md",
            InstructionsFile::Gemini => "GEMINI.md",
        }
    }
}

impl Context {
    /// The instructions for the acting session (if any), for `role` or
    /// else the session's own role.
    pub fn prompt_text(&self, role: Option<&str>) -> Result<String> {
        if let Some(r) = role {
            crate::model::names::validate_name("role", r)?;
        }
        let session = self.session();
        if role == Some(crate::model::lead::LEAD_ROLE) {
            return Ok(crate::agent_hooks::lead_prompt::text(session, &format_duration(self.stale_after()?)));
        }
        let own_role = match (role, session) {
            (None, Some(me)) => self.show_session(Some(me)).ok().and_then(|v| v.session.role),
            _ => None,
        };
        Ok(crate::agent_hooks::prompt::text(
            session,
            role.or(own_role.as_deref()),
            &format_duration(self.stale_after()?),
        ))
    }

    /// Puts the instructions (for everyone: no session name, `role` if
    /// given) in the main worktree's AGENTS.md, CLAUDE.md or GEMINI.md (see
    /// [`Self::settings_top`]), between our markers. Returns the file and
    /// whether it changed.
    pub fn install_prompt(
        &self,
        file: InstructionsFile,
        role: Option<&str>,
    ) -> Result<(std::path::PathBuf, crate::integrate::Change)> {
        use crate::integrate::Change;
        if let Some(r) = role {
            crate::model::names::validate_name("role", r)?;
        }
        let path = self.settings_top()?.join(file.file_name());
        let io = |action: &str, e: std::io::Error| {
            Error::Store(crate::store::StoreError::Io {
                action: format!("{action} {}", path.display()),
                source: e,
            })
        };
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io("read", e)),
        };
        let block = crate::agent_hooks::prompt::text(None, role, &format_duration(self.stale_after()?));
        let new = crate::agent_hooks::prompt::splice(existing.as_deref().unwrap_or(""), &block).map_err(|b| {
            Error::invalid(format!(
                "{}:{}: our begin marker has no `{}` after it; put the end marker back or delete the block (nothing was changed)",
                path.display(),
                b.line,
                crate::agent_hooks::prompt::END
            ))
        })?;
        if existing.as_deref() == Some(new.as_str()) {
            return Ok((path, Change::Unchanged));
        }
        std::fs::write(&path, new).map_err(|e| io("write", e))?;
        Ok((path, if existing.is_some() { Change::Updated } else { Change::Created }))
    }
}
