//! `git orchestrate integrate claude|codex|gemini [--project|--local]
//! [--remove] [--trust-worktrees]`: our hooks and MCP server in a coding
//! agent's settings, and the trust step the agent still needs.

use super::{CmdResult, Failure, Ui};
use crate::agent_hooks::Agent;
use crate::integrate::{Change, FileReport, Scope};
use crate::ops::Context;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AgentName {
    /// Claude Code: .claude/settings.json (or .local.json) and .mcp.json
    Claude,
    /// Codex CLI: .codex/hooks.json and .codex/config.toml
    Codex,
    /// Gemini CLI: .gemini/settings.json
    Gemini,
}

#[derive(Debug, Args)]
pub struct IntegrateArgs {
    /// The agent whose settings to write
    agent: AgentName,
    /// Claude Code: hooks in .claude/settings.json, shared through git (the default)
    #[arg(long, conflicts_with = "local")]
    project: bool,
    /// Claude Code: hooks in .claude/settings.local.json, kept out of git
    #[arg(long)]
    local: bool,
    /// Take our hooks and MCP server out again, leaving everything else as it is
    #[arg(long)]
    remove: bool,
    /// Gemini CLI: add the session worktrees' folder to your trusted folders
    /// (~/.gemini/trustedFolders.json); with --remove, take it out again
    #[arg(long)]
    trust_worktrees: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: IntegrateArgs) -> CmdResult {
    let agent = match a.agent {
        AgentName::Claude => Agent::Claude,
        AgentName::Codex => Agent::Codex,
        AgentName::Gemini => Agent::Gemini,
    };
    if agent != Agent::Claude && (a.project || a.local) {
        return Err(Failure::Invalid(format!(
            "--project and --local choose Claude Code's settings file; {} has one place for project settings",
            agent.name()
        )));
    }
    if a.trust_worktrees && agent != Agent::Gemini {
        return Err(Failure::Invalid(format!(
            "--trust-worktrees is for Gemini CLI, which trusts folders one by one; {} needs no such step for              session worktrees (see the trust steps `integrate {}` prints)",
            agent.name(),
            agent.name()
        )));
    }
    if a.trust_worktrees {
        // Nothing is written unless Gemini's file can take the entry too.
        ctx.trust_worktrees(a.remove, false)?;
    }
    let scope = if a.local { Scope::Local } else { Scope::Project };
    let (top, mut files) = ctx.integrate_agent(agent, scope, a.remove)?;
    if a.trust_worktrees {
        files.push(ctx.trust_worktrees(a.remove, true)?);
    }
    let trust = (!a.remove).then(|| ctx.agent_trust(agent, &top));
    let written: Vec<_> = files
        .iter()
        .filter(|f| f.path.starts_with(&top))
        .filter(|f| matches!(f.change, Change::Created | Change::Updated))
        .map(|f| f.path.clone())
        .collect();
    let untracked = if a.remove { Vec::new() } else { ctx.not_shared(&top, &written) };
    let json = serde_json::json!({
        "agent": agent.name(),
        "removed": a.remove,
        "top": top,
        "files": files,
        "untracked": untracked,
        "trust": trust,
    });
    ui.emit(&json, || {
        let mut out = render(&files, &top, a.remove);
        out.push_str(&untracked_note(&untracked));
        out.push_str(&trust_note(trust.as_ref()));
        out
    })
}

/// The trust steps still needed, one a line.
fn trust_note(trust: Option<&crate::integrate::trust::Trust>) -> String {
    let Some(trust) = trust.filter(|t| !t.steps.is_empty()) else { return String::new() };
    let mut out = String::from("still needed before the agent uses them:\n");
    for step in &trust.steps {
        out.push_str(&format!("  - {step}\n"));
    }
    out
}

fn render(files: &[FileReport], top: &std::path::Path, removed: bool) -> String {
    let mut out = format!("in the main worktree {} (session worktrees are made from it):\n", top.display());
    for f in files {
        if !f.path.starts_with(top) {
            // The user's own file outside the checkout (Gemini's trusted folders).
            let what = match (f.change, removed) {
                (Change::Unchanged, false) => "already trusted in",
                (Change::Unchanged, true) => "nothing of ours in",
                (_, false) => "trusted the session worktrees in",
                (_, true) => "took the session worktrees out of",
            };
            out.push_str(&format!("  {what} {}\n", f.path.display()));
            continue;
        }
        let path = f.path.strip_prefix(top).unwrap_or(&f.path).display();
        let what = match (f.change, removed) {
            (Change::Created, _) => "created",
            (Change::Updated, false) => "updated",
            (Change::Updated, true) => "took ours out of",
            (Change::Unchanged, false) => "already set up:",
            (Change::Unchanged, true) => "nothing of ours in",
            (Change::Removed, _) => "removed (integrate had created it)",
        };
        out.push_str(&format!("  {what} {path}\n"));
    }
    out
}

/// Says that files git does not track reach session worktrees only once
/// committed or listed in `.worktreeinclude`, with the lines to list them.
pub(super) fn untracked_note(untracked: &[String]) -> String {
    if untracked.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "note: git does not track these, so session worktrees get them only once they are committed, \
         or listed in .worktreeinclude (for files that stay out of git, like settings.local.json); \
         the lines for it:\n",
    );
    for rel in untracked {
        out.push_str(&format!("{rel}\n"));
    }
    out
}
