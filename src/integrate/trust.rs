//! The trust step each agent needs before it uses what `integrate` wrote.
//!
//! Every agent CLI ignores a project's own hooks and MCP servers in a
//! folder its user has not trusted, and keeps that trust in the user's own
//! files, outside the repository:
//!
//! | agent | where trust is kept | what a session worktree gets |
//! | --- | --- | --- |
//! | Gemini CLI | `~/.gemini/trustedFolders.json`: `{"<path>": "TRUST_FOLDER" \| "TRUST_PARENT" \| "DO_NOT_TRUST"}`, the longest matching path wins (`$GEMINI_CLI_TRUSTED_FOLDERS_PATH`, or `$GEMINI_CLI_HOME` for `~`) | nothing: worktrees sit beside the repository, outside its folder; `gemini -p` refuses to run there (exit 55) |
//! | Codex CLI | `~/.codex/config.toml` (`$CODEX_HOME`): `[projects."<repo>"] trust_level = "trusted"`; each project hook is trusted again by its hash (`/hooks`) | the main repository's trust |
//! | Claude Code | the "Do you trust the files in this folder?" dialog, per folder (`claude -p` does not ask) | a dialog in each new worktree |
//!
//! [`report`] says which step is still needed, looking at the user's files
//! where the answer can be read from them (Gemini, Codex); Claude Code
//! keeps no reliable record of it, so its step is always said.
//! [`trust_gemini_folder`] adds (or takes out) one folder in Gemini's file,
//! keeping every other entry, the order and the indentation.

use super::{json, write_all, Change, FileReport, IntegrateError};
use crate::agent_hooks::Agent;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Gemini's word for a trusted folder.
pub const GEMINI_TRUST_FOLDER: &str = "TRUST_FOLDER";

/// What trust an agent still needs in a checkout, and how to give it.
#[derive(Debug, Clone, Serialize)]
pub struct Trust {
    /// The user's file that holds this agent's trust, if it has one.
    pub file: Option<PathBuf>,
    /// Whether the agent trusts the main worktree: None when it cannot be
    /// read from the agent's files.
    pub project: Option<bool>,
    /// Whether it trusts the session worktrees under the worktree root.
    pub worktrees: Option<bool>,
    /// What to do, one step a line; empty when nothing is needed.
    pub steps: Vec<String>,
}

/// The environment the agents read their home folders from.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Gemini CLI's `~`: `$GEMINI_CLI_HOME`, else the user's home.
fn gemini_home() -> Option<PathBuf> {
    env_path("GEMINI_CLI_HOME").or_else(|| env_path("HOME"))
}

/// Where Gemini CLI keeps its trusted folders.
pub fn gemini_trusted_folders_file() -> Option<PathBuf> {
    env_path("GEMINI_CLI_TRUSTED_FOLDERS_PATH")
        .or_else(|| gemini_home().map(|h| h.join(".gemini").join("trustedFolders.json")))
}

/// Where Codex CLI keeps its user configuration.
pub fn codex_config_file() -> Option<PathBuf> {
    env_path("CODEX_HOME")
        .or_else(|| env_path("HOME").map(|h| h.join(".codex")))
        .map(|d| d.join("config.toml"))
}

/// The trust step `agent` still needs for the checkout at `top`, whose
/// session worktrees go under `worktree_root`.
pub fn report(agent: Agent, top: &Path, worktree_root: &Path) -> Trust {
    match agent {
        Agent::Gemini => gemini_report(top, worktree_root),
        Agent::Codex => codex_report(top),
        Agent::Claude => Trust {
            file: None,
            project: None,
            worktrees: None,
            steps: vec![
                "Claude Code runs this project's hooks only in a folder you trusted: start `claude` here once and \
                 answer yes to \"Do you trust the files in this folder?\"; each new session worktree asks once \
                 more, and `claude -p` does not ask"
                    .to_string(),
            ],
        },
    }
}

fn gemini_report(top: &Path, worktree_root: &Path) -> Trust {
    let file = gemini_trusted_folders_file();
    let project = gemini_trusts(top);
    let worktrees = gemini_trusts(worktree_root);
    let shown = file.as_ref().map_or("~/.gemini/trustedFolders.json".into(), |f| f.display().to_string());
    let mut steps = Vec::new();
    if project != Some(true) {
        steps.push(format!(
            "Gemini CLI ignores this project's hooks and MCP server until you trust the folder: run `gemini` in {} \
             once and choose to trust it, or add \"{}\": \"{GEMINI_TRUST_FOLDER}\" to {shown}; in a folder not \
             trusted, `gemini -p` stops with exit 55",
            top.display(),
            top.display()
        ));
    }
    if worktrees != Some(true) {
        steps.push(format!(
            "session worktrees go to {}, outside the project folder, so Gemini CLI does not trust them either: \
             `git orchestrate integrate gemini --trust-worktrees` adds that folder to {shown}",
            worktree_root.display()
        ));
    }
    Trust { file, project, worktrees, steps }
}

fn codex_report(top: &Path) -> Trust {
    let file = codex_config_file();
    let project = file.as_deref().and_then(|f| codex_trusts(f, top));
    let shown = file.as_ref().map_or("~/.codex/config.toml".into(), |f| f.display().to_string());
    let mut steps = Vec::new();
    if project != Some(true) {
        steps.push(format!(
            "Codex CLI loads this project's .codex/ settings only in a trusted project: answer yes when `codex` \
             asks in {}, run `codex exec --trust` there once, or add [projects.\"{}\"] trust_level = \"trusted\" \
             to {shown}; session worktrees share the main repository's trust",
            top.display(),
            top.display()
        ));
    }
    steps.push(
        "Codex CLI also runs each project hook only once you trusted it, by its content: review them with `/hooks` \
         in `codex` (a changed hook asks again)"
            .to_string(),
    );
    Trust { file, project, worktrees: project, steps }
}

/// Whether `[projects."<top>"] trust_level = "trusted"` is in Codex's
/// configuration; None when the file cannot be read or says nothing.
fn codex_trusts(file: &Path, top: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(file).ok()?;
    let doc: toml_edit::DocumentMut = text.parse().ok()?;
    let projects = doc.get("projects")?.as_table_like()?;
    let key = top.to_string_lossy();
    let level = projects.get(&key)?.as_table_like()?.get("trust_level")?.as_str()?.to_string();
    Some(level == "trusted")
}

/// Whether Gemini CLI trusts `folder`, as Gemini decides it: the
/// environment first (`GEMINI_CLI_TRUST_WORKSPACE`), then the longest
/// rule of the trusted folders file that covers the folder (a
/// `TRUST_PARENT` rule covers its parent). None when no rule says.
pub fn gemini_trusts(folder: &Path) -> Option<bool> {
    match std::env::var("GEMINI_CLI_TRUST_WORKSPACE").as_deref() {
        Ok("true") => Some(true),
        Ok("false") => Some(false),
        _ if !gemini_checks_trust() => Some(true),
        _ => gemini_file_trusts(folder),
    }
}

/// Whether the user's Gemini settings leave folder trust on (the
/// default): `security.folderTrust.enabled: false` turns it off.
fn gemini_checks_trust() -> bool {
    let Some(settings) = gemini_home().map(|h| h.join(".gemini").join("settings.json")) else { return true };
    let Ok(text) = std::fs::read_to_string(settings) else { return true };
    let Ok(doc) = serde_json::from_str::<Value>(&strip_comments(&text)) else { return true };
    doc.pointer("/security/folderTrust/enabled") != Some(&Value::Bool(false))
}

/// What Gemini's trusted folders file alone says of `folder`.
fn gemini_file_trusts(folder: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(gemini_trusted_folders_file()?).ok()?;
    let Ok(Value::Object(rules)) = serde_json::from_str::<Value>(&strip_comments(&text)) else { return None };
    let location = real(folder);
    let mut best: Option<(usize, &str)> = None;
    for (rule, level) in &rules {
        let Some(level) = level.as_str() else { continue };
        let rule_path = Path::new(rule);
        let effective =
            if level == "TRUST_PARENT" { rule_path.parent().unwrap_or(rule_path) } else { rule_path };
        if location.starts_with(real(effective)) && best.is_none_or(|(len, _)| rule.len() > len) {
            best = Some((rule.len(), level));
        }
    }
    match best?.1 {
        "DO_NOT_TRUST" => Some(false),
        "TRUST_FOLDER" | "TRUST_PARENT" => Some(true),
        _ => None,
    }
}

/// A path with its links resolved, as far as it exists.
pub fn real(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if parent != path => real(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// JSON with `//` and `/* */` comments taken out (Gemini reads its files
/// as JSONC); strings are left as they are.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for skipped in chars.by_ref() {
                    if previous == '*' && skipped == '/' {
                        break;
                    }
                    previous = skipped;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Adds `"<folder>": "TRUST_FOLDER"` to Gemini's trusted folders file
/// (`file`), or with `remove` takes exactly that entry out, keeping every
/// other entry as it was. A folder Gemini already trusts through another
/// rule is left alone; an entry of the user's for that very folder that
/// says otherwise is refused, never replaced.
/// With `write` false it only checks that the file can be changed.
pub fn trust_gemini_folder(
    file: &Path,
    folder: &Path,
    remove: bool,
    write: bool,
) -> Result<FileReport, IntegrateError> {
    let key = folder.to_string_lossy().into_owned();
    if !remove && gemini_file_trusts(folder) == Some(true) {
        return Ok(FileReport { path: file.to_path_buf(), change: Change::Unchanged });
    }
    let plan = json::plan(file, remove, false, |doc, path| {
        match doc.get(&key) {
            Some(Value::String(level)) if level == GEMINI_TRUST_FOLDER => {
                if remove {
                    doc.remove(&key);
                }
            }
            Some(other) if !remove => {
                return Err(IntegrateError::Taken {
                    path: path.to_path_buf(),
                    what: format!("the entry for {key}"),
                    found: other.to_string(),
                })
            }
            Some(_) => {} // the user's own word on that folder stays
            None if remove => {}
            None => {
                doc.insert(key.clone(), Value::String(GEMINI_TRUST_FOLDER.into()));
            }
        }
        Ok(())
    })?;
    if !write {
        return Ok(FileReport { path: file.to_path_buf(), change: Change::Unchanged });
    }
    let created = !plan.existed && plan.new_text.is_some();
    let mut reports = write_all(vec![plan])?;
    if created {
        // Gemini makes this file readable by its owner only; so do we.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(reports.remove(0))
}

/// Whether the Gemini settings at `settings` hold our hooks or MCP server.
pub fn gemini_integrated(settings: &Path) -> bool {
    std::fs::read_to_string(settings)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|doc| json::has_ours(&doc, Agent::Gemini))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_and_strings_stay() {
        let text =
            "{\n  // mine\n  \"/a//b\": \"TRUST_FOLDER\", /* old: \"/c\" */\n  \"/d\": \"x\\\"//y\"\n}";
        let value: Value = serde_json::from_str(&strip_comments(text)).unwrap();
        assert_eq!(value, serde_json::json!({"/a//b": "TRUST_FOLDER", "/d": "x\"//y"}));
    }
}
