//! Agent hooks: what Claude Code, Codex CLI and Gemini CLI send a hook on
//! stdin, which paths a tool call is about to write, and the JSON each
//! agent reads back. Pure: no IO; [`crate::ops::agent_hooks`] decides with the
//! store, and `cli` reads stdin and prints.
//!
//! The shapes follow each agent's documentation (cited in
//! `docs/agents.md`):
//!
//! - Claude Code (hooks reference, <https://code.claude.com/docs/en/hooks>):
//!   stdin carries `session_id`, `transcript_path`, `cwd`, `permission_mode`,
//!   `hook_event_name`, and for tool events `tool_name`, `tool_input`,
//!   `tool_use_id`; `Stop` adds `stop_hook_active`, `SessionStart` adds
//!   `source`. `Write`/`Edit`/`MultiEdit` name an absolute `file_path`,
//!   `NotebookEdit` a `notebook_path`, `Bash` a `command`. A PreToolUse
//!   denial is `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
//!   "permissionDecision": "deny", "permissionDecisionReason": …}}`, context
//!   is `hookSpecificOutput.additionalContext`, and a Stop hook keeps the
//!   agent going with `{"decision": "block", "reason": …}`.
//! - Codex CLI (`codex-rs/hooks/schema/generated/*.schema.json` in
//!   openai/codex, and <https://developers.openai.com/codex/hooks>): the
//!   same events and answers as Claude Code; `Bash` and `apply_patch` carry
//!   their text in `tool_input.command` (the raw patch for `apply_patch`).
//! - Gemini CLI (`docs/hooks/reference.md` in google-gemini/gemini-cli):
//!   `BeforeTool` with `tool_name` (`write_file`, `replace`,
//!   `run_shell_command`) and `tool_input`; a denial is `{"decision":
//!   "deny", "reason": …}`; `SessionStart` takes
//!   `hookSpecificOutput.additionalContext`; `AfterAgent` (with
//!   `stop_hook_active`) retries the turn with `decision: "deny"`.

pub mod lead_prompt;
pub mod patch;
pub mod prompt;
pub mod shell;

use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The coding agents whose hooks we answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Claude,
    Codex,
    Gemini,
}

impl Agent {
    pub fn from_name(name: &str) -> Option<Agent> {
        match name {
            "claude" => Some(Agent::Claude),
            "codex" => Some(Agent::Codex),
            "gemini" => Some(Agent::Gemini),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }

    /// The agent's name for each of our events, as its settings spell it.
    pub fn event_name(self, event: Event) -> &'static str {
        match (self, event) {
            (_, Event::SessionStart) => "SessionStart",
            (Agent::Gemini, Event::BeforeTool) => "BeforeTool",
            (_, Event::BeforeTool) => "PreToolUse",
            (Agent::Gemini, Event::Stop) => "AfterAgent",
            (_, Event::Stop) => "Stop",
        }
    }

    /// The event an agent's event name stands for.
    pub fn event(self, name: &str) -> Option<Event> {
        [Event::SessionStart, Event::BeforeTool, Event::Stop]
            .into_iter()
            .find(|e| self.event_name(*e) == name)
    }
}

/// What a hook is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The agent starts or resumes: register and brief it.
    SessionStart,
    /// A tool is about to run: deny writes to paths others hold.
    BeforeTool,
    /// The agent is about to stop: urgent mail first.
    Stop,
}

/// The fields of a hook's stdin that we use; the rest is ignored. A field
/// of an unexpected type reads as absent rather than failing the whole
/// payload (which would let the call through unchecked).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HookInput {
    #[serde(default, deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub cwd: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub hook_event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Value,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub stop_hook_active: bool,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Value::deserialize(d)?.as_str().map(str::to_string))
}

fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)?.as_bool().unwrap_or(false))
}

/// A path a tool is about to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file named by an edit tool: taken literally, whatever its characters.
    File(PathBuf),
    /// A path from a shell command: a file, a folder, or a glob the shell
    /// will expand.
    Path(PathBuf),
}

/// The paths `tool_name` with `tool_input` will write, run in `cwd`;
/// empty for tools that write nothing we can see.
pub fn write_targets(tool_name: &str, tool_input: &Value, cwd: &Path) -> Vec<Target> {
    let text = |key: &str| tool_input.get(key).and_then(Value::as_str);
    let absolute = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        }
    };
    // A patch, whatever the tool is called (apply_patch, or the shell
    // running `apply_patch <<'EOF'`); a shell command is read as one too.
    let mut targets: Vec<Target> = text("command")
        .filter(|c| c.contains(patch::BEGIN))
        .map(|c| patch::patched_paths(c, cwd).into_iter().map(Target::File).collect())
        .unwrap_or_default();
    let more = match tool_name {
        "Write" | "Edit" | "MultiEdit" | "write_file" | "replace" => {
            text("file_path").map(|p| vec![Target::File(absolute(p))]).unwrap_or_default()
        }
        "NotebookEdit" => text("notebook_path").map(|p| vec![Target::File(absolute(p))]).unwrap_or_default(),
        "Bash" | "run_shell_command" => {
            let Some(command) = text("command") else { return Vec::new() };
            // Gemini's shell tool may run in a folder of its own (`directory`,
            // relative to the project root; `dir_path` in some versions).
            let dir =
                text("directory").or(text("dir_path")).map(absolute).unwrap_or_else(|| cwd.to_path_buf());
            shell::written_paths(command, &dir).into_iter().map(Target::Path).collect()
        }
        _ => Vec::new(),
    };
    targets.extend(more);
    targets
}

/// The answer that refuses a tool call, with `reason` for the agent.
pub fn deny(agent: Agent, reason: &str) -> Value {
    match agent {
        Agent::Gemini => json!({ "decision": "deny", "reason": reason }),
        Agent::Claude | Agent::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
    }
}

/// The answer that adds `text` to the agent's context at session start.
pub fn session_context(text: &str) -> Value {
    json!({ "hookSpecificOutput": { "hookEventName": "SessionStart", "additionalContext": text } })
}

/// The answer that keeps the agent from stopping, telling it why.
pub fn keep_going(agent: Agent, reason: &str) -> Value {
    match agent {
        Agent::Gemini => json!({ "decision": "deny", "reason": reason }),
        Agent::Claude | Agent::Codex => json!({ "decision": "block", "reason": reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_tools_name_one_file() {
        let cwd = Path::new("/repo/sub");
        for (tool, input) in [
            ("Write", json!({"file_path": "/repo/a.rs", "content": "x"})),
            ("Edit", json!({"file_path": "/repo/a.rs", "old_string": "x", "new_string": "y"})),
            ("MultiEdit", json!({"file_path": "/repo/a.rs", "edits": []})),
            ("NotebookEdit", json!({"notebook_path": "/repo/a.rs", "new_source": ""})),
            ("write_file", json!({"file_path": "/repo/a.rs", "content": ""})),
            ("replace", json!({"file_path": "/repo/a.rs", "old_string": "", "new_string": ""})),
        ] {
            assert_eq!(write_targets(tool, &input, cwd), [Target::File("/repo/a.rs".into())], "{tool}");
        }
        assert!(write_targets("Read", &json!({"file_path": "/repo/a.rs"}), cwd).is_empty());
    }

    #[test]
    fn a_patch_marker_does_not_hide_the_rest_of_a_shell_command() {
        let cwd = Path::new("/repo");
        let input = json!({"command": "echo '*** Begin Patch'; rm -rf docs"});
        assert_eq!(write_targets("Bash", &input, cwd), [Target::Path("/repo/docs".into())]);
        let both = json!({"command": "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: a.md\n+x\n*** End Patch\nEOF\nrm b"});
        assert_eq!(
            write_targets("Bash", &both, cwd),
            [Target::File("/repo/a.md".into()), Target::Path("/repo/b".into())]
        );
    }

    #[test]
    fn event_names_per_agent() {
        assert_eq!(Agent::Claude.event("PreToolUse"), Some(Event::BeforeTool));
        assert_eq!(Agent::Gemini.event("BeforeTool"), Some(Event::BeforeTool));
        assert_eq!(Agent::Gemini.event("AfterAgent"), Some(Event::Stop));
        assert_eq!(Agent::Codex.event("Stop"), Some(Event::Stop));
        assert_eq!(Agent::Claude.event("BeforeTool"), None);
    }
}
