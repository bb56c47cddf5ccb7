//! Merging into JSON settings files (Claude Code, Codex `hooks.json`,
//! Gemini CLI), keeping the user's keys in their order.
//!
//! The hooks layout is the same for all three:
//! `{"hooks": {"<Event>": [{"matcher": "...", "hooks": [{"type": "command",
//! "command": "...", "timeout": N}]}]}}`; MCP servers are
//! `{"mcpServers": {"<name>": {"command": "...", "args": [...]}}}`.

use super::{
    line_column, read, HookSpec, IntegrateError, Planned, HOOK_COMMAND, HOOK_TIMEOUT_SECS, MCP_ARGS,
    MCP_COMMAND, MCP_NAME,
};
use crate::agent_hooks::Agent;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::Path;

/// Reads `path` (missing or blank: `{}`), lets `edit` change it, and plans
/// the new text if the value changed, in the file's own indentation.
/// Removing from a missing file plans nothing; removal that empties a file
/// integrate `created` plans its deletion.
pub(super) fn plan(
    path: &Path,
    remove: bool,
    created: bool,
    edit: impl FnOnce(&mut Map<String, Value>, &Path) -> Result<(), IntegrateError>,
) -> Result<Planned, IntegrateError> {
    let text = read(path)?;
    let existed = text.is_some();
    if remove && !existed {
        return Ok(Planned::unchanged(path, existed));
    }
    if let Some((line, column)) = text.as_deref().and_then(first_comment) {
        return Err(IntegrateError::Commented { path: path.to_path_buf(), line, column });
    }
    let before: Value = match text.as_deref().filter(|t| !t.trim().is_empty()) {
        None => Value::Object(Map::new()),
        Some(t) => serde_json::from_str(t).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            IntegrateError::Unparsable { path: path.to_path_buf(), line, column, message }
        })?,
    };
    let Value::Object(mut doc) = before.clone() else {
        return Err(shape(path, "the file is not a JSON object"));
    };
    edit(&mut doc, path)?;
    if remove && created && doc.is_empty() {
        return Ok(Planned { path: path.to_path_buf(), existed, new_text: None, delete: true });
    }
    let after = Value::Object(doc);
    let indent = text.as_deref().map_or(DEFAULT_INDENT.to_string(), indentation);
    let new_text = (after != before).then(|| render(&after, &indent));
    Ok(Planned { path: path.to_path_buf(), existed, new_text, delete: false })
}

const DEFAULT_INDENT: &str = "  ";

/// Line and column of the first `//` or `/* */` comment outside a string
/// (JSONC, which Gemini CLI reads; serde_json would drop it).
fn first_comment(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && matches!(bytes.get(i + 1), Some(b'/' | b'*')) => {
                return Some(line_column(text, i));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The unit of indentation of a JSON text: the leading white space of its
/// first indented line (a tab, or so many spaces); two spaces if none.
fn indentation(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .find(|ws| !ws.is_empty())
        .map(|ws| {
            if ws.starts_with('\t') {
                "\t".to_string()
            } else {
                " ".repeat(ws.chars().take_while(|c| *c == ' ').count().max(1))
            }
        })
        .unwrap_or_else(|| DEFAULT_INDENT.to_string())
}

/// `value` pretty-printed with `indent`, with a final newline.
fn render(value: &Value, indent: &str) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut buf, formatter);
    value.serialize(&mut serializer).expect("a JSON value always serializes");
    let mut text = String::from_utf8(buf).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

fn shape(path: &Path, what: impl Into<String>) -> IntegrateError {
    IntegrateError::Shape { path: path.to_path_buf(), what: what.into() }
}

/// Whether a hook entry is ours: exactly as [`entry`] writes it for one
/// of `specs`. A hand-made entry that runs our command, or ours with a
/// key the user added, is the user's.
fn is_our_entry(entry: &Value, specs: &[HookSpec], agent: Agent) -> bool {
    specs.iter().any(|s| *entry == self::entry(s, agent))
}

/// One of our hook entries, in the agent's dialect.
fn entry(spec: &HookSpec, agent: Agent) -> Value {
    match agent {
        // Gemini counts milliseconds and shows a name in its logs.
        Agent::Gemini => json!({
            "name": "git-orchestrate",
            "type": "command",
            "command": spec.command,
            "timeout": HOOK_TIMEOUT_SECS * 1000,
        }),
        Agent::Claude | Agent::Codex => json!({
            "type": "command",
            "command": spec.command,
            "timeout": HOOK_TIMEOUT_SECS,
        }),
    }
}

/// One of our hook groups, in the agent's dialect.
fn group(spec: &HookSpec, agent: Agent) -> Value {
    let entry = entry(spec, agent);
    let mut g = Map::new();
    if let Some(m) = spec.matcher {
        g.insert("matcher".into(), Value::String(m.into()));
    }
    g.insert("hooks".into(), Value::Array(vec![entry]));
    Value::Object(g)
}

/// Puts our hook groups in (replacing an earlier one of ours where it
/// stands), or takes our entries out; groups, events and the `hooks` object
/// that only we filled are dropped with them.
pub(super) fn set_hooks(
    doc: &mut Map<String, Value>,
    path: &Path,
    specs: &[HookSpec],
    agent: Agent,
    remove: bool,
) -> Result<(), IntegrateError> {
    if remove && !doc.contains_key("hooks") {
        return Ok(());
    }
    let hooks = doc.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(events) = hooks else {
        return Err(shape(path, "\"hooks\" is not an object"));
    };
    let mut emptied = false;
    for spec in specs {
        if remove && !events.contains_key(spec.event) {
            continue;
        }
        let list = events.entry(spec.event).or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(groups) = list else {
            return Err(shape(path, format!("\"hooks.{}\" is not an array", spec.event)));
        };
        let wanted = (!remove).then(|| group(spec, agent));
        let had_ours = merge_groups(groups, wanted, &|e| is_our_entry(e, specs, agent));
        if remove && had_ours && groups.is_empty() {
            events.remove(spec.event);
            emptied = true;
        }
    }
    if emptied && events.is_empty() {
        doc.remove("hooks");
    }
    Ok(())
}

/// Replaces the first group made only of our entries with `wanted` (or
/// appends it), and takes our entries out of every other group, dropping
/// groups left empty. Returns whether any entry of ours was there.
fn merge_groups(groups: &mut Vec<Value>, wanted: Option<Value>, is_ours: &dyn Fn(&Value) -> bool) -> bool {
    let mut had_ours = false;
    let mut placed = false;
    let mut kept = Vec::with_capacity(groups.len() + 1);
    for mut g in groups.drain(..) {
        let Some(entries) = g.get_mut("hooks").and_then(Value::as_array_mut) else {
            kept.push(g);
            continue;
        };
        let ours = entries.iter().filter(|e| is_ours(e)).count();
        if ours == 0 {
            kept.push(g);
            continue;
        }
        had_ours = true;
        if ours == entries.len() {
            // A group of ours: the new one takes its place.
            if let (false, Some(w)) = (placed, &wanted) {
                kept.push(w.clone());
                placed = true;
            }
            continue;
        }
        entries.retain(|e| !is_ours(e));
        kept.push(g);
    }
    if let (false, Some(w)) = (placed, wanted) {
        kept.push(w);
    }
    *groups = kept;
    had_ours
}

/// Whether an MCP server entry runs `git-orchestrate mcp`.
fn is_our_server(server: &Value) -> bool {
    let command = server.get("command").and_then(Value::as_str);
    let args: Option<Vec<&str>> =
        server.get("args").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect());
    match (command, args) {
        (Some(MCP_COMMAND), Some(args)) => args == MCP_ARGS,
        (Some(c), None) => c == format!("{MCP_COMMAND} {}", MCP_ARGS.join(" ")),
        _ => false,
    }
}

/// Whether a settings document holds our MCP server or one of our hooks.
pub(super) fn has_ours(doc: &Value, agent: Agent) -> bool {
    let server = doc.get("mcpServers").and_then(|s| s.get(MCP_NAME)).is_some_and(is_our_server);
    let prefix = format!("{HOOK_COMMAND} {} ", agent.name());
    let hook = doc.get("hooks").and_then(Value::as_object).is_some_and(|events| {
        events.values().filter_map(Value::as_array).flatten().any(|group| {
            group.get("hooks").and_then(Value::as_array).into_iter().flatten().any(|entry| {
                entry.get("command").and_then(Value::as_str).is_some_and(|c| c.starts_with(&prefix))
            })
        })
    });
    server || hook
}

/// Registers our MCP server as `mcpServers.orchestrate`, or removes it.
/// A different server of that name is the user's: refused, never replaced.
pub(super) fn set_mcp(doc: &mut Map<String, Value>, path: &Path, remove: bool) -> Result<(), IntegrateError> {
    if remove && !doc.contains_key("mcpServers") {
        return Ok(());
    }
    let servers = doc.entry("mcpServers").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(shape(path, "\"mcpServers\" is not an object"));
    };
    match servers.get(MCP_NAME) {
        // Someone else's server of that name: not ours to take out.
        Some(existing) if remove && !is_our_server(existing) => {}
        Some(existing) if !is_our_server(existing) => {
            return Err(IntegrateError::Taken {
                path: path.to_path_buf(),
                what: format!("mcpServers.{MCP_NAME}"),
                found: existing.to_string(),
            })
        }
        Some(_) if remove => {
            servers.remove(MCP_NAME);
            if servers.is_empty() {
                doc.remove("mcpServers");
            }
        }
        Some(_) => {} // ours, as it is (the user may have added env or the like)
        None if remove => {}
        None => {
            servers.insert(MCP_NAME.into(), json!({ "command": MCP_COMMAND, "args": MCP_ARGS }));
        }
    }
    Ok(())
}

/// Claude Code asks before it starts a server of a project's `.mcp.json`,
/// and a headless `claude -p` cannot answer: `enabledMcpjsonServers` in
/// the settings approves ours by name. Adds `"orchestrate"` to the list (or
/// makes it), or takes exactly that entry out, dropping a list it emptied.
pub(super) fn set_mcp_approval(
    doc: &mut Map<String, Value>,
    path: &Path,
    remove: bool,
) -> Result<(), IntegrateError> {
    const KEY: &str = "enabledMcpjsonServers";
    if remove && !doc.contains_key(KEY) {
        return Ok(());
    }
    let list = doc.entry(KEY).or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(names) = list else {
        return Err(shape(path, format!("\"{KEY}\" is not an array")));
    };
    let ours = |v: &Value| v.as_str() == Some(MCP_NAME);
    if remove {
        let had = names.iter().any(ours);
        names.retain(|v| !ours(v));
        if had && names.is_empty() {
            doc.remove(KEY);
        }
    } else if !names.iter().any(ours) {
        names.push(Value::String(MCP_NAME.into()));
    }
    Ok(())
}
