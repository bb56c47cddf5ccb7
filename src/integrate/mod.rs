//! `integrate`: writes our hooks and MCP server into a coding agent's
//! settings files, merging with what is there, and takes exactly ours out
//! again.
//!
//! | agent | hooks | MCP server |
//! | --- | --- | --- |
//! | Claude Code | `.claude/settings.json` (or `settings.local.json`): `hooks.PreToolUse`, `SessionStart`, `Stop` | `.mcp.json`: `mcpServers.orchestrate` |
//! | Codex CLI | `.codex/hooks.json`: `hooks.PreToolUse`, `SessionStart`, `Stop` | `.codex/config.toml`: `[mcp_servers.orchestrate]` |
//! | Gemini CLI | `.gemini/settings.json`: `hooks.BeforeTool`, `SessionStart`, `AfterAgent` | `.gemini/settings.json`: `mcpServers.orchestrate` |
//!
//! Guarantees: the user's keys, their order and their hooks are kept (JSON
//! through serde_json with `preserve_order`, TOML through `toml_edit`,
//! which keeps comments and layout). "Ours" is recognised exactly: a hook
//! whose command starts with `git-orchestrate hook `, an MCP server named
//! `orchestrate` that runs `git-orchestrate mcp`. Running twice changes
//! nothing; `--remove` drops only ours and tidies only what it emptied,
//! never deleting a file. A file that does not parse is reported with its
//! line and left as it was, and nothing is written unless every file can be.

mod json;
mod toml;

use crate::agent_hooks::{Agent, Event};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The command our hooks run; `git-orchestrate hook <agent> <event>`.
pub const HOOK_COMMAND: &str = "git-orchestrate hook";
/// The MCP server we register: its name, command and arguments.
pub const MCP_NAME: &str = "orchestrate";
pub const MCP_COMMAND: &str = "git-orchestrate";
pub const MCP_ARGS: [&str; 1] = ["mcp"];

/// Seconds an agent waits for our hook (Gemini counts milliseconds).
const HOOK_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum IntegrateError {
    #[error("{}:{line}:{column}: {message}; fix the file (nothing was changed)", path.display())]
    Unparsable { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: {what}; fix the file (nothing was changed)", path.display())]
    Shape { path: PathBuf, what: String },
    #[error("{}: {what} is not ours ({found}); rename or remove it and run again (nothing was changed)", path.display())]
    Taken { path: PathBuf, what: String, found: String },
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

/// Where Claude Code's hooks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `.claude/settings.json`, shared with the team through git.
    Project,
    /// `.claude/settings.local.json`, this checkout only.
    Local,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub change: Change,
}

/// A file's new text, decided before anything is written.
struct Planned {
    path: PathBuf,
    existed: bool,
    new_text: Option<String>,
}

/// One of our hooks: the agent's event name, the tool matcher, the command.
struct HookSpec {
    event: &'static str,
    matcher: Option<&'static str>,
    command: String,
}

fn hooks_for(agent: Agent) -> Vec<HookSpec> {
    let matcher = match agent {
        Agent::Claude => "Edit|Write|MultiEdit|NotebookEdit|Bash",
        Agent::Codex => "Bash|apply_patch",
        Agent::Gemini => "write_file|replace|run_shell_command",
    };
    [Event::BeforeTool, Event::SessionStart, Event::Stop]
        .into_iter()
        .map(|e| {
            let event = agent.event_name(e);
            HookSpec {
                event,
                matcher: (e == Event::BeforeTool).then_some(matcher),
                command: format!("{HOOK_COMMAND} {} {event}", agent.name()),
            }
        })
        .collect()
}

/// Whether a hook command is one of ours.
pub fn is_our_command(command: &str) -> bool {
    let c = command.trim_start();
    c.starts_with(&format!("{HOOK_COMMAND} ")) || c.starts_with("git orchestrate hook ")
}

/// Installs (or with `remove`, takes out) our hooks and MCP server for
/// `agent` in the checkout at `top`. All files are planned first; nothing
/// is written if any of them cannot be read or merged.
pub fn integrate(
    top: &Path,
    agent: Agent,
    scope: Scope,
    remove: bool,
) -> Result<Vec<FileReport>, IntegrateError> {
    let hooks = hooks_for(agent);
    let mut plans = Vec::new();
    match agent {
        Agent::Claude => {
            let settings = match scope {
                Scope::Project => ".claude/settings.json",
                Scope::Local => ".claude/settings.local.json",
            };
            plans.push(json::plan(&top.join(settings), remove, |doc, path| {
                json::set_hooks(doc, path, &hooks, agent, remove)
            })?);
            plans.push(json::plan(&top.join(".mcp.json"), remove, |doc, path| {
                json::set_mcp(doc, path, remove)
            })?);
        }
        Agent::Codex => {
            plans.push(json::plan(&top.join(".codex/hooks.json"), remove, |doc, path| {
                json::set_hooks(doc, path, &hooks, agent, remove)
            })?);
            plans.push(toml::plan(&top.join(".codex/config.toml"), remove)?);
        }
        Agent::Gemini => {
            plans.push(json::plan(&top.join(".gemini/settings.json"), remove, |doc, path| {
                json::set_hooks(doc, path, &hooks, agent, remove)?;
                json::set_mcp(doc, path, remove)
            })?);
        }
    }
    plans.into_iter().map(write).collect()
}

fn write(plan: Planned) -> Result<FileReport, IntegrateError> {
    let Some(text) = plan.new_text else {
        return Ok(FileReport { path: plan.path, change: Change::Unchanged });
    };
    let io = |action, source| IntegrateError::Io { action, path: plan.path.clone(), source };
    if let Some(parent) = plan.path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
    }
    let meta = std::fs::symlink_metadata(&plan.path).ok();
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        // A settings file linked from elsewhere (dotfiles) stays a link: write through it.
        std::fs::write(&plan.path, text).map_err(|e| io("write", e))?;
    } else {
        // Write beside, then rename: an interrupted write never leaves half a file.
        let tmp = plan.path.with_extension("orchestrate-tmp");
        std::fs::write(&tmp, text).map_err(|e| io("write", e))?;
        if let Some(m) = &meta {
            std::fs::set_permissions(&tmp, m.permissions()).map_err(|e| io("set the mode of", e))?;
        }
        std::fs::rename(&tmp, &plan.path).map_err(|e| io("replace", e))?;
    }
    let change = if plan.existed { Change::Updated } else { Change::Created };
    Ok(FileReport { path: plan.path, change })
}

/// Reads a settings file; a missing one is empty.
fn read(path: &Path) -> Result<Option<String>, IntegrateError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IntegrateError::Io { action: "read", path: path.to_path_buf(), source: e }),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
