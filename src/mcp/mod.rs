//! `git orchestrate mcp`: the coordination operations as MCP tools, served
//! on stdio with the official Rust SDK (`rmcp`).
//!
//! Every tool calls the same [`ops`](crate::ops) use case as the matching
//! command and answers with the JSON that command prints with `--json`, as
//! text content and as structured content, always as an object: a list the
//! command prints bare comes under a key (`{"tasks": […]}`, see
//! [`answer`]). An error an agent can act on
//! (bad input, a refusal, a store failure) is a tool result with `isError`
//! and `{"error": {"kind", "message"}}`, the CLI's `--json` error. A
//! request the server cannot route (an unknown tool or method, a message
//! that is not JSON-RPC, a line that is not JSON) is a JSON-RPC error. Arguments that do not fit a
//! tool's schema are a tool error (text only) naming what the tool takes,
//! as the MCP specification asks, so the model can correct itself.
//!
//! Each call opens the repository afresh and runs on a blocking thread, so
//! a call sees the current git configuration, and a long `inbox` wait never
//! holds up other calls. Who is acting is decided at start-up like for any
//! command (`--session`, `$ORCHESTRATE_SESSION`, the worktree's session) and
//! changed by `session_start`.
//!
//! The SDK answers both lifecycles: the `initialize` handshake (protocol
//! revisions up to 2025-11-25, what Claude Code speaks) and the stateless
//! 2026-07-28 revision, where each request carries its protocol version
//! and client capabilities in `_meta` and there is no handshake. It also
//! answers `ping`, and routes `tools/list` and `tools/call` to the tools.
//!
//! This module serves stdio: the JSON-RPC loop the SDK runs, the framing in
//! front of it that answers a line that is not JSON, and what the server
//! says of itself at `initialize`. [`server`] holds who is acting and the one
//! path every call takes into `ops` and back; [`catalogue`] says what each
//! tool takes; [`tools`] and [`fleet`] hold the handlers; [`answer`] makes
//! every answer an object and [`hints`] words a refusal's way out for a tool
//! caller.

mod answer;
mod catalogue;
mod fleet;
mod hints;
mod server;
mod tools;

pub use server::Orchestrate;

use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool_handler, ServerHandler, ServiceExt};

const INSTRUCTIONS: &str = "Coordinates agents on this repository: claim a task and the paths you \
change before editing, check your inbox, finish what you claim.";

/// Serves the tools on stdin/stdout until the client closes stdin.
/// `session` is who acts until `session_start` names someone else.
pub fn serve(session: Option<String>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the MCP server: {e}"))?;
    let result = runtime.block_on(async {
        let (transport, writer) = answer_parse_errors();
        let server = Orchestrate::new(session);
        let served = async {
            let running =
                server.serve(transport).await.map_err(|e| format!("MCP session did not start: {e}"))?;
            running.waiting().await.map(|_| ()).map_err(|e| format!("MCP server stopped: {e}"))
        };
        let result = served.await;
        // Everything answered reaches stdout before the process ends.
        let _ = writer.await;
        result
    });
    // An `inbox` wait still running for a client that left only reads; it
    // is abandoned rather than waited for.
    runtime.shutdown_background();
    result
}

/// Stands between stdio and the SDK, which skips a line that is not JSON
/// without a word: such a line gets JSON-RPC's parse error (-32700, id
/// null), as the JSON-RPC specification asks, and every other line goes to
/// the SDK. One task writes stdout, so answers never interleave. Returns
/// the SDK's side of the pipes and the writer task.
fn answer_parse_errors() -> ((tokio::io::DuplexStream, tokio::io::DuplexStream), tokio::task::JoinHandle<()>)
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    const PIPE: usize = 1 << 20;
    let (sdk_in, mut feed) = tokio::io::duplex(PIPE);
    let (sdk_out, answers) = tokio::io::duplex(PIPE);
    let (lines, mut out) = tokio::sync::mpsc::unbounded_channel::<String>();
    let errors = lines.clone();
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = stdin.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(&line).is_err() {
                let error = serde_json::json!({
                    "jsonrpc": "2.0", "id": null,
                    "error": { "code": -32700, "message": "parse error: the line is not JSON" }
                });
                let _ = errors.send(error.to_string());
                continue;
            }
            if feed.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                break;
            }
        }
        // Dropping `feed` tells the SDK the client has gone.
    });
    tokio::spawn(async move {
        let mut answers = BufReader::new(answers).lines();
        while let Ok(Some(line)) = answers.next_line().await {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out.recv().await {
            if stdout.write_all(format!("{line}\n").as_bytes()).await.is_err()
                || stdout.flush().await.is_err()
            {
                break;
            }
        }
    });
    ((sdk_in, sdk_out), writer)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Orchestrate {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("git-orchestrate", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
