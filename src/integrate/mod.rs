//! `integrate`: writes our hooks and MCP server into a coding agent's
//! settings files, merging with what is there, and takes exactly ours out
//! again.
//!
//! | agent | hooks | MCP server |
//! | --- | --- | --- |
//! | Claude Code | `.claude/settings.json` (or `settings.local.json`): `hooks.PreToolUse`, `SessionStart`, `Stop`, and `enabledMcpjsonServers: ["orchestrate"]` | `.mcp.json`: `mcpServers.orchestrate` |
//! | Codex CLI | `.codex/hooks.json`: `hooks.PreToolUse`, `SessionStart`, `Stop` | `.codex/config.toml`: `[mcp_servers.orchestrate]` |
//! | Gemini CLI | `.gemini/settings.json`: `hooks.BeforeTool`, `SessionStart`, `AfterAgent` | `.gemini/settings.json`: `mcpServers.orchestrate` |
//!
//! Guarantees: the user's keys, their order and their hooks are kept (JSON
//! through serde_json with `preserve_order`, TOML through `toml_edit`,
//! which keeps comments and layout). "Ours" is recognised exactly: a hook
//! entry exactly as we write it, an MCP server named `orchestrate` that
//! runs `git-orchestrate mcp`. JSON with comments (Gemini reads JSONC) is
//! refused, since serde_json would drop them. Running twice changes
//! nothing; `--remove` drops only ours and tidies only what it emptied: a
//! file is deleted only if `integrate` created it (recorded in the
//! repository's `orchestrate/integrated` file) and removal empties it. A
//! file that does not parse is reported with its line and left as it was.
//! Nothing is written unless every file can be: each new text is staged in
//! a temporary file beside its target, and only when all are staged are
//! they renamed into place. JSON numbers keep their text (serde_json's
//! `arbitrary_precision`) and a file keeps its indentation.

mod json;
mod toml;
pub mod trust;

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
    #[error(
        "{} has comments, which integrate would drop: the first is at line {line}, column {column}; \
         take them out, or add the settings by hand (docs/agents.md shows them); nothing was changed",
        path.display()
    )]
    Commented { path: PathBuf, line: usize, column: usize },
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
    /// Deleted: `integrate` had created it, and `--remove` emptied it.
    Removed,
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
    /// The file is to be deleted (we created it; removal emptied it).
    delete: bool,
}

impl Planned {
    fn unchanged(path: &Path, existed: bool) -> Planned {
        Planned { path: path.to_path_buf(), existed, new_text: None, delete: false }
    }
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

/// Installs (or with `remove`, takes out) our hooks and MCP server for
/// `agent` in the checkout at `top`. All files are planned first; nothing
/// is written if any of them cannot be read, merged or staged. `record`
/// lists the files integrate created (relative to `top`), so that removal
/// deletes them again.
pub fn integrate(
    top: &Path,
    agent: Agent,
    scope: Scope,
    remove: bool,
    record: &Path,
) -> Result<Vec<FileReport>, IntegrateError> {
    let hooks = hooks_for(agent);
    let mut created = read_record(record);
    let ours = |rel: &str| created.iter().any(|c| c == rel);
    let mut plans = Vec::new();
    match agent {
        Agent::Claude => {
            let settings = match scope {
                Scope::Project => ".claude/settings.json",
                Scope::Local => ".claude/settings.local.json",
            };
            plans.push(json::plan(&top.join(settings), remove, ours(settings), |doc, path| {
                json::set_hooks(doc, path, &hooks, agent, remove)?;
                json::set_mcp_approval(doc, path, remove)
            })?);
            plans.push(json::plan(&top.join(".mcp.json"), remove, ours(".mcp.json"), |doc, path| {
                json::set_mcp(doc, path, remove)
            })?);
        }
        Agent::Codex => {
            plans.push(json::plan(
                &top.join(".codex/hooks.json"),
                remove,
                ours(".codex/hooks.json"),
                |doc, path| json::set_hooks(doc, path, &hooks, agent, remove),
            )?);
            plans.push(toml::plan(&top.join(".codex/config.toml"), remove, ours(".codex/config.toml"))?);
        }
        Agent::Gemini => {
            let settings = ".gemini/settings.json";
            plans.push(json::plan(&top.join(settings), remove, ours(settings), |doc, path| {
                json::set_hooks(doc, path, &hooks, agent, remove)?;
                json::set_mcp(doc, path, remove)
            })?);
        }
    }
    let reports = write_all(plans)?;
    // Bookkeeping only: a record that cannot be written leaves a file as `{}` later.
    let before = created.clone();
    for r in &reports {
        let Ok(rel) = r.path.strip_prefix(top) else { continue };
        let rel = rel.to_string_lossy().into_owned();
        match r.change {
            Change::Created if !created.contains(&rel) => created.push(rel),
            Change::Removed => created.retain(|c| *c != rel),
            _ => {}
        }
    }
    if created != before {
        let _ = write_record(record, &created);
    }
    Ok(reports)
}

fn read_record(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn write_record(record: &Path, created: &[String]) -> std::io::Result<()> {
    if created.is_empty() {
        return match std::fs::remove_file(record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if let Some(parent) = record.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut text = created.join("\n");
    text.push('\n');
    std::fs::write(record, text)
}

/// A new text written beside its target, to be renamed onto it.
struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
}

/// Writes every plan or none: new texts are staged beside their targets
/// (through a link, beside the file it points to, so the link stays), and
/// renamed into place only once all are staged. On an error the staged
/// files and the folders made for them are taken away again.
fn write_all(plans: Vec<Planned>) -> Result<Vec<FileReport>, IntegrateError> {
    let mut staged = Vec::new();
    let mut made_dirs = Vec::new();
    if let Err(e) = stage(&plans, &mut staged, &mut made_dirs) {
        for s in &staged {
            let _ = std::fs::remove_file(&s.tmp);
        }
        for dir in made_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    let mut pending = staged.into_iter();
    while let Some(s) = pending.next() {
        if let Err(source) = std::fs::rename(&s.tmp, &s.dest) {
            let _ = std::fs::remove_file(&s.tmp);
            for rest in pending {
                let _ = std::fs::remove_file(&rest.tmp);
            }
            return Err(IntegrateError::Io { action: "replace", path: s.dest, source });
        }
    }
    let mut reports = Vec::new();
    for plan in plans {
        let change = if plan.delete {
            std::fs::remove_file(&plan.path).map_err(|source| IntegrateError::Io {
                action: "delete",
                path: plan.path.clone(),
                source,
            })?;
            // The agent's folder goes too if that left it empty.
            if let Some(parent) = plan.path.parent() {
                let _ = std::fs::remove_dir(parent);
            }
            Change::Removed
        } else if plan.new_text.is_none() {
            Change::Unchanged
        } else if plan.existed {
            Change::Updated
        } else {
            Change::Created
        };
        reports.push(FileReport { path: plan.path, change });
    }
    Ok(reports)
}

fn stage(
    plans: &[Planned],
    staged: &mut Vec<Staged>,
    made_dirs: &mut Vec<PathBuf>,
) -> Result<(), IntegrateError> {
    for plan in plans {
        let Some(text) = &plan.new_text else { continue };
        let io = |action, source| IntegrateError::Io { action, path: plan.path.clone(), source };
        let is_link = std::fs::symlink_metadata(&plan.path).is_ok_and(|m| m.file_type().is_symlink());
        let dest = if is_link {
            // A settings file linked from elsewhere (dotfiles) stays a link: write what it points to.
            std::fs::canonicalize(&plan.path).map_err(|e| io("follow the link", e))?
        } else {
            plan.path.clone()
        };
        let parent = dest.parent().unwrap_or(Path::new("."));
        let mut missing: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
        made_dirs.extend(missing);
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = parent.join(format!(".{name}.orchestrate-tmp"));
        staged.push(Staged { tmp: tmp.clone(), dest: dest.clone() });
        std::fs::write(&tmp, text).map_err(|e| io("write", e))?;
        if let Ok(meta) = std::fs::metadata(&dest) {
            std::fs::set_permissions(&tmp, meta.permissions()).map_err(|e| io("set the mode of", e))?;
        }
    }
    Ok(())
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
