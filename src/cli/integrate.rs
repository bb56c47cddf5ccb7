//! `git orchestrate integrate claude|codex|gemini [--project|--local]
//! [--remove]`: our hooks and MCP server in a coding agent's settings.

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
    let scope = if a.local { Scope::Local } else { Scope::Project };
    let (top, files) = ctx.integrate_agent(agent, scope, a.remove)?;
    let written: Vec<_> = files
        .iter()
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
    });
    ui.emit(&json, || {
        let mut out = render(&files, &top, a.remove);
        out.push_str(&untracked_note(&untracked));
        out
    })
}

fn render(files: &[FileReport], top: &std::path::Path, removed: bool) -> String {
    let mut out = format!("in the main worktree {} (session worktrees are made from it):\n", top.display());
    for f in files {
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
