//! The tool catalogue as a client lists it: what each everyday tool takes
//! (its argument type, whose doc comments become the input schema's
//! descriptions) and the last touches every tool's schemas get before they
//! are listed.
//!
//! A tool's name and one-line description are the name and doc comment of
//! its handler (rmcp's `#[tool]` reads them there), in [`super::tools`] and
//! [`super::fleet`]; the fleet tools keep their argument types beside their
//! handlers. Arguments are `deny_unknown_fields`, so a misspelt argument is a
//! tool error naming what the tool takes rather than silently ignored.

use super::answer;
use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Readies every tool for listing: its input schema compacted, and an
/// object output schema where the tool named none.
pub(super) fn finish_schemas<S>(router: &mut ToolRouter<S>) {
    for route in router.map.values_mut() {
        let mut schema = route.attr.input_schema.as_ref().clone();
        compact_schema(&mut schema);
        route.attr.input_schema = Arc::new(schema);
        // Every tool answers with an object; list tools say their key.
        route.attr.output_schema.get_or_insert_with(answer::object);
    }
}

/// Drops what the generated schemas say that costs an agent's context and
/// tells it nothing: the `$schema` dialect of every tool, Rust's integer
/// formats (`uint8`), `null` as an alternative type of optional arguments
/// (they are optional by not being required), and defaults of `false` or
/// `[]`.
fn compact_schema(schema: &mut serde_json::Map<String, Value>) {
    schema.remove("$schema");
    schema.remove("format");
    // An optional flag or list defaults to false or empty: saying so costs
    // every client's context and tells it nothing.
    if schema.get("default").is_some_and(|d| d == &Value::Bool(false) || d == &serde_json::json!([])) {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get("type") {
        let named: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
        if let [only] = named.as_slice() {
            let only = (*only).clone();
            schema.insert("type".to_string(), only);
        }
    }
    for value in schema.values_mut() {
        match value {
            Value::Object(inner) => compact_schema(inner),
            Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(compact_schema),
            _ => {}
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionStartArgs {
    /// lowercase letters, digits, . _ -
    pub(super) name: String,
    pub(super) role: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    /// where its branch starts (default HEAD)
    pub(super) base: Option<String>,
    /// register only, make no worktree
    #[serde(default)]
    pub(super) no_worktree: bool,
    /// claim this task now
    pub(super) task: Option<String>,
    /// reattach to an active session of this name
    #[serde(default)]
    pub(super) resume: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEndArgs {
    /// default: the acting session
    pub(super) name: Option<String>,
    /// commit uncommitted work to its branch first
    #[serde(default)]
    pub(super) force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatArgs {
    pub(super) doing: Option<String>,
    /// percent
    #[schemars(range(max = 100))]
    pub(super) progress: Option<u8>,
    pub(super) phase: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskAddArgs {
    pub(super) title: String,
    pub(super) description: Option<String>,
    /// 0 (highest) to 4; default 2
    #[schemars(range(max = 4))]
    pub(super) priority: Option<u8>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) role: Option<String>,
    /// ids of tasks that must be done first
    #[serde(default)]
    pub(super) after: Vec<String>,
    #[serde(default)]
    pub(super) labels: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskListArgs {
    /// only tasks ready to claim
    #[serde(default)]
    pub(super) ready: bool,
    /// open, claimed, done, failed or cancelled
    pub(super) status: Option<String>,
    /// only tasks you hold
    #[serde(default)]
    pub(super) mine: bool,
    pub(super) role: Option<String>,
    /// include finished tasks
    #[serde(default)]
    pub(super) all: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIdArgs {
    /// task id or unique prefix
    pub(super) id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskClaimArgs {
    /// task id or unique prefix; or give next
    pub(super) id: Option<String>,
    /// claim the best ready task
    #[serde(default)]
    pub(super) next: bool,
    /// with next: only this role's tasks
    pub(super) role: Option<String>,
    /// claim even if dependencies are not done
    #[serde(default)]
    pub(super) force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskNoteArgs {
    pub(super) id: String,
    pub(super) text: String,
    /// percent (holder only)
    #[schemars(range(max = 100))]
    pub(super) progress: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskFinishArgs {
    pub(super) id: String,
    pub(super) note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LandQueueArgs {
    /// whose work (default: yours)
    pub(super) session: Option<String>,
    /// merge (default), squash or rebase
    pub(super) mode: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    /// files, dir/ or globs, relative to the repository
    pub(super) paths: Vec<String>,
    /// lease length, e.g. 30m (default 2h)
    pub(super) ttl: Option<String>,
    /// a notice others may share, not a lock
    #[serde(default)]
    pub(super) shared: bool,
    pub(super) reason: Option<String>,
    pub(super) task: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    #[serde(default)]
    pub(super) paths: Vec<String>,
    /// release every claim you hold
    #[serde(default)]
    pub(super) all: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    pub(super) paths: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// session name, all, or role:<r>
    pub(super) to: String,
    pub(super) subject: String,
    pub(super) body: Option<String>,
    /// note, help, handoff, status or completion
    pub(super) kind: Option<String>,
    /// id of the message this answers
    pub(super) reply_to: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxArgs {
    /// include messages already read
    #[serde(default)]
    pub(super) all: bool,
    /// leave them unread
    #[serde(default)]
    pub(super) peek: bool,
    /// wait this long for an unread message
    #[schemars(range(max = 60))]
    pub(super) wait_seconds: Option<u64>,
}
