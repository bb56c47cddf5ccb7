//! What a tool answers: always a JSON object, as text and as structured
//! content, with an output schema that says so.
//!
//! Real clients need the object. MCP's `structuredContent` is a JSON
//! object, and before protocol 2026-07-28 the SDK drops any other value,
//! leaving the list as text only; Gemini CLI then parses that text into
//! `structuredContent` itself and its MCP SDK rejects the array ("expected
//! record, received array"), so every list-returning tool failed there.
//!
//! The guarantee is in the types: [`Orchestrate::run`](super::Orchestrate)
//! takes only a [`ToolAnswer`], which is implemented for the types that
//! serialise as objects (a command's `--json` object as it is) and for
//! [`Listed`], which puts a list the CLI prints bare under a key
//! (`{"tasks": […]}`). A tool that tries to answer with a `Vec` does not
//! compile. Every tool gets an output schema of type object: a list tool
//! names its key with [`listing`], any other gets [`object`] by default.

use crate::board::Board;
use crate::model::message::Message;
use crate::model::task::Task;
use crate::ops::claims::CheckReport;
use crate::ops::sessions::{Ended, SessionView, Started};
use crate::ops::tasks::TaskDetail;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A value a tool may answer with: one that serialises as a JSON object.
/// Implement it for a new result type only if it is a struct or map; a
/// list goes in a [`Listed`].
pub trait ToolAnswer: Serialize + Send + 'static {}

impl ToolAnswer for Task {}
impl ToolAnswer for TaskDetail {}
impl ToolAnswer for Started {}
impl ToolAnswer for Ended {}
impl ToolAnswer for SessionView {}
impl ToolAnswer for Message {}
impl ToolAnswer for CheckReport {}
impl ToolAnswer for Board {}
impl ToolAnswer for crate::ops::supervise::Spawned {}
impl ToolAnswer for crate::ops::lead::LeadView {}
impl ToolAnswer for crate::ops::tasks::Imported {}
impl ToolAnswer for crate::ops::conflicts::Radar {}

/// A list under a key: `{"<key>": [...]}`. The list is what the matching
/// command prints with `--json`.
pub struct Listed<T> {
    key: &'static str,
    items: Vec<T>,
}

impl<T> Listed<T> {
    pub fn new(key: &'static str, items: Vec<T>) -> Listed<T> {
        Listed { key, items }
    }
}

impl<T: Serialize> Serialize for Listed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.key, &self.items)?;
        map.end()
    }
}

impl<T: Serialize + Send + 'static> ToolAnswer for Listed<T> {}

/// The output schema of a tool that answers with an object. Nothing is
/// `required`: a failed call answers `{"error": {"kind", "message"}}`, and
/// clients (the TypeScript SDK in Gemini CLI) check even that against the
/// schema.
pub fn object() -> Arc<Map<String, Value>> {
    schema(json!({ "type": "object" }))
}

/// The output schema of a tool that answers `{"<key>": [objects]}`.
pub fn listing(key: &str) -> Arc<Map<String, Value>> {
    schema(json!({
        "type": "object",
        "properties": { key: { "type": "array", "items": { "type": "object" } } }
    }))
}

fn schema(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_answers_as_an_object_under_its_key() {
        let listed = Listed::new("tasks", vec![json!({"id": "t-1"})]);
        assert_eq!(serde_json::to_value(&listed).unwrap(), json!({"tasks": [{"id": "t-1"}]}));
        let empty: Listed<Value> = Listed::new("messages", Vec::new());
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"messages":[]}"#);
    }
}
