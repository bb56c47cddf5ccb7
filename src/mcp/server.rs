//! The server's state, who is acting and the tools, and the one path every
//! tool call takes: into the [`ops`](crate::ops) use case as the acting
//! session, on a blocking thread with a fresh view of the repository, and
//! back as the `--json` answer ([`success`]) or error ([`failure`]).

use super::answer::ToolAnswer;
use super::{catalogue, hints};
use crate::ops::{self, Context};
use crate::store::Store;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::ErrorData;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The server: who is acting, and the tools.
#[derive(Clone)]
pub struct Orchestrate {
    session: Arc<Mutex<Option<String>>>,
    pub(super) tool_router: ToolRouter<Self>,
}

/// A successful call's JSON object: as text, in the field order `--json`
/// prints, and as structured content.
fn success(text: String, value: Value) -> Result<CallToolResult, ErrorData> {
    if !value.is_object() {
        // A `ToolAnswer` implemented for a type that is not a struct or map.
        return Err(internal(format!("the tool answered with {value}, which is not a JSON object")));
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    Ok(result)
}

/// A failure as `--json` reports it: the message as text, and
/// `{"error": {"kind", "message"}}` as structured content.
pub(super) fn failure(e: ops::Error) -> CallToolResult {
    let mut message = e.message();
    let structured = match &e {
        // A refusal carries its reason and facts, and the way out for a tool caller.
        ops::Error::Refused(refusal) => {
            let hints = hints::for_refusal(&refusal.reason);
            for hint in &hints {
                message.push_str(&format!("; {hint}"));
            }
            // The text a client shows and the structured message are one.
            let worded = ops::Refusal { message: message.clone(), ..refusal.clone() };
            ops::refusal_json(&worded, &hints)
        }
        _ => ops::error_json(e.kind(), &message),
    };
    let mut result = CallToolResult::error(vec![ContentBlock::text(message)]);
    result.structured_content = Some(structured);
    result
}

fn internal(e: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(e.to_string(), None)
}

impl Orchestrate {
    pub fn new(session: Option<String>) -> Orchestrate {
        let mut tool_router = Self::tool_router() + Self::fleet_tools();
        catalogue::finish_schemas(&mut tool_router);
        Orchestrate { session: Arc::new(Mutex::new(session)), tool_router }
    }

    fn acting(&self) -> Option<String> {
        self.session.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Runs `op` as the acting session on a blocking thread, with a fresh
    /// view of the repository; a success counts as a heartbeat, as for
    /// every command.
    pub(super) async fn run<T, F>(&self, op: F) -> Result<CallToolResult, ErrorData>
    where
        T: ToolAnswer,
        F: FnOnce(&Context, &Mutex<Option<String>>) -> ops::Result<T> + Send + 'static,
    {
        let session = self.acting();
        let identity = self.session.clone();
        let outcome =
            tokio::task::spawn_blocking(move || -> ops::Result<serde_json::Result<(String, Value)>> {
                let ctx = Context::new(Store::open_from_env()?, session)?.with_session_hint(
                    "call the session_start tool first (or start the server with --session NAME)",
                );
                let value = op(&ctx, &identity)?;
                ctx.touch();
                let _ = ctx.refresh_status_file();
                Ok(serde_json::to_string(&value).and_then(|text| Ok((text, serde_json::to_value(&value)?))))
            })
            .await
            .map_err(internal)?;
        match outcome {
            Ok(Ok((text, value))) => success(text, value),
            Ok(Err(e)) => Err(internal(e)),
            Err(e) => Ok(failure(e)),
        }
    }
}
