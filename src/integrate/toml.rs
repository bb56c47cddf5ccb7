//! Merging our MCP server into Codex's `.codex/config.toml` with
//! `toml_edit`, which keeps the user's comments, order and layout:
//!
//! ```toml
//! [mcp_servers.orchestrate]
//! command = "git-orchestrate"
//! args = ["mcp"]
//! ```

use super::{line_column, read, IntegrateError, Planned, MCP_ARGS, MCP_COMMAND, MCP_NAME};
use std::path::Path;
use toml_edit::{value, Array, DocumentMut, Item, Table};

/// Plans our server in (or out of) `path`; `created` says integrate made
/// the file, so removal that empties it deletes it.
pub(super) fn plan(path: &Path, remove: bool, created: bool) -> Result<Planned, IntegrateError> {
    let text = read(path)?;
    let existed = text.is_some();
    if remove && !existed {
        return Ok(Planned::unchanged(path, existed));
    }
    let text = text.unwrap_or_default();
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, column) = line_column(&text, e.span().map_or(0, |s| s.start));
        let message = e.message().trim().to_string();
        IntegrateError::Unparsable { path: path.to_path_buf(), line, column, message }
    })?;
    let shape = |what: &str| IntegrateError::Shape { path: path.to_path_buf(), what: what.to_string() };
    if remove {
        let Some(servers) = doc.get_mut("mcp_servers") else { return Ok(unchanged(path, existed)) };
        let servers = servers.as_table_like_mut().ok_or_else(|| shape("mcp_servers is not a table"))?;
        if !servers.get(MCP_NAME).is_some_and(is_ours) {
            return Ok(unchanged(path, existed)); // someone else's of that name stays
        }
        servers.remove(MCP_NAME);
        if servers.is_empty() {
            doc.remove("mcp_servers");
        }
    } else {
        let servers = doc.entry("mcp_servers").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true); // no empty [mcp_servers] header of its own
            Item::Table(t)
        });
        let servers = servers.as_table_like_mut().ok_or_else(|| shape("mcp_servers is not a table"))?;
        match servers.get(MCP_NAME) {
            Some(existing) if is_ours(existing) => return Ok(unchanged(path, existed)),
            Some(existing) => {
                return Err(IntegrateError::Taken {
                    path: path.to_path_buf(),
                    what: format!("[mcp_servers.{MCP_NAME}]"),
                    found: existing.to_string().trim().to_string(),
                })
            }
            None => {
                let mut ours = Table::new();
                ours.insert("command", value(MCP_COMMAND));
                ours.insert("args", value(MCP_ARGS.iter().copied().collect::<Array>()));
                servers.insert(MCP_NAME, Item::Table(ours));
            }
        }
    }
    let new_text = doc.to_string();
    if remove && created && new_text.trim().is_empty() {
        return Ok(Planned { path: path.to_path_buf(), existed, new_text: None, delete: true });
    }
    Ok(Planned {
        path: path.to_path_buf(),
        existed,
        new_text: (new_text != text).then_some(new_text),
        delete: false,
    })
}

fn unchanged(path: &Path, existed: bool) -> Planned {
    Planned::unchanged(path, existed)
}

/// Whether a server entry runs `git-orchestrate mcp`.
fn is_ours(item: &Item) -> bool {
    let Some(table) = item.as_table_like() else { return false };
    let command = table.get("command").and_then(Item::as_str);
    let args: Option<Vec<&str>> =
        table.get("args").and_then(Item::as_array).map(|a| a.iter().filter_map(|v| v.as_str()).collect());
    command == Some(MCP_COMMAND) && args.as_deref() == Some(&MCP_ARGS[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, remove: bool) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        plan(&path, remove, false).unwrap().new_text
    }

    #[test]
    fn adds_our_server_keeping_comments_and_order() {
        let text = "# my settings\nmodel = \"gpt-5\"  # best\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n";
        let added = run(text, false).unwrap();
        assert!(added.starts_with(text), "the user's text is kept as written:\n{added}");
        assert!(
            added.contains("[mcp_servers.orchestrate]\ncommand = \"git-orchestrate\"\nargs = [\"mcp\"]\n"),
            "{added}"
        );
        assert_eq!(run(&added, false), None, "twice changes nothing");
        assert_eq!(run(&added, true).as_deref(), Some(text), "removal gives back the file as it was");
    }

    #[test]
    fn removal_tidies_only_what_it_emptied() {
        let added = run("", false).unwrap();
        assert_eq!(added, "[mcp_servers.orchestrate]\ncommand = \"git-orchestrate\"\nargs = [\"mcp\"]\n");
        assert_eq!(run(&added, true).as_deref(), Some(""));
        assert_eq!(run("[mcp_servers]\n", true), None);
    }
}
