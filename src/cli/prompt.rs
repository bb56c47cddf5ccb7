//! `git orchestrate prompt [--role R] [--install agents-md|claude-md|gemini-md]`:
//! the instructions an agent needs to take part, printed or put in the
//! file its agent reads.

use super::{CmdResult, Ui};
use crate::ops::agent_hooks::InstructionsFile;
use crate::ops::Context;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InstallTarget {
    /// AGENTS.md (Codex CLI and most agents)
    #[value(name = "agents-md")]
    Agents,
    /// CLAUDE.md (Claude Code)
    #[value(name = "claude-md")]
    Claude,
    /// GEMINI.md (Gemini CLI)
    #[value(name = "gemini-md")]
    Gemini,
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Write the task commands for this role (default: your session's role)
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// Add or refresh the instructions in this file at the top of the main worktree, between markers
    #[arg(long, value_name = "FILE")]
    install: Option<InstallTarget>,
}

pub fn run(ctx: &Context, ui: &Ui, a: PromptArgs) -> CmdResult {
    let Some(target) = a.install else {
        let text = ctx.prompt_text(a.role.as_deref())?;
        let json = serde_json::json!({ "session": ctx.session(), "text": text });
        return ui.emit(&json, || text.clone());
    };
    let file = match target {
        InstallTarget::Agents => InstructionsFile::Agents,
        InstallTarget::Claude => InstructionsFile::Claude,
        InstallTarget::Gemini => InstructionsFile::Gemini,
    };
    let (path, change) = ctx.install_prompt(file, a.role.as_deref())?;
    let top = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let untracked = ctx.not_shared(&top, std::slice::from_ref(&path));
    let json = serde_json::json!({ "path": path, "change": change, "untracked": !untracked.is_empty() });
    ui.emit(&json, || {
        let what = match change {
            crate::integrate::Change::Created => "created",
            crate::integrate::Change::Updated => "updated",
            crate::integrate::Change::Unchanged => "already up to date:",
            crate::integrate::Change::Removed => "removed",
        };
        let mut out = format!(
            "{what} {} (in the main worktree, which session worktrees are made from)\n",
            path.display()
        );
        out.push_str(&super::integrate::untracked_note(&untracked));
        out
    })
}
