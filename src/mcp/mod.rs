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
//! The SDK answers both lifecycles: the `initialize` handshake (protocol
//! revisions up to 2025-11-25, what Claude Code speaks) and the stateless
//! 2026-07-28 revision, where each request carries its protocol version
//! and client capabilities in `_meta` and there is no handshake.
//!
//! Each call opens the repository afresh and runs on a blocking thread, so
//! a call sees the current git configuration, and a long `inbox` wait never
//! holds up other calls. Who is acting is decided at start-up like for any
//! command (`--session`, `$ORCHESTRATE_SESSION`, the worktree's session) and
//! changed by `session_start`.

mod answer;
mod fleet;
mod hints;

use answer::{Listed, ToolAnswer};

use crate::model::session::Pulse;
use crate::model::task::TaskSpec;
use crate::ops::claims::ClaimRequest;
use crate::ops::messages::{InboxOptions, Outgoing};
use crate::ops::sessions::StartOptions;
use crate::ops::tasks::{Finish, ListRequest};
use crate::ops::{self, Context};
use crate::store::Store;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest `inbox` wait one call may ask for: an agent that wants to
/// wait longer calls again, and a client never sits on a call for minutes.
pub const MAX_WAIT_SECONDS: u64 = 60;

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

/// The server: who is acting, and the tools.
#[derive(Clone)]
pub struct Orchestrate {
    session: Arc<Mutex<Option<String>>>,
    tool_router: ToolRouter<Self>,
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
fn failure(e: ops::Error) -> CallToolResult {
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

fn internal(e: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(e.to_string(), None)
}

impl Orchestrate {
    pub fn new(session: Option<String>) -> Orchestrate {
        let mut tool_router = Self::tool_router() + Self::fleet_tools();
        for route in tool_router.map.values_mut() {
            let mut schema = route.attr.input_schema.as_ref().clone();
            compact_schema(&mut schema);
            route.attr.input_schema = Arc::new(schema);
            // Every tool answers with an object; list tools say their key.
            route.attr.output_schema.get_or_insert_with(answer::object);
        }
        Orchestrate { session: Arc::new(Mutex::new(session)), tool_router }
    }

    fn acting(&self) -> Option<String> {
        self.session.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Runs `op` as the acting session on a blocking thread, with a fresh
    /// view of the repository; a success counts as a heartbeat, as for
    /// every command.
    async fn run<T, F>(&self, op: F) -> Result<CallToolResult, ErrorData>
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

fn set_identity(identity: &Mutex<Option<String>>, name: Option<String>) {
    match identity.lock() {
        Ok(mut guard) => *guard = name,
        Err(poisoned) => *poisoned.into_inner() = name,
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionStartArgs {
    /// lowercase letters, digits, . _ -
    name: String,
    role: Option<String>,
    #[serde(default)]
    caps: Vec<String>,
    /// where its branch starts (default HEAD)
    base: Option<String>,
    /// register only, make no worktree
    #[serde(default)]
    no_worktree: bool,
    /// claim this task now
    task: Option<String>,
    /// reattach to an active session of this name
    #[serde(default)]
    resume: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEndArgs {
    /// default: the acting session
    name: Option<String>,
    /// commit uncommitted work to its branch first
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatArgs {
    doing: Option<String>,
    /// percent
    #[schemars(range(max = 100))]
    progress: Option<u8>,
    phase: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskAddArgs {
    title: String,
    description: Option<String>,
    /// 0 (highest) to 4; default 2
    #[schemars(range(max = 4))]
    priority: Option<u8>,
    #[serde(rename = "type")]
    kind: Option<String>,
    role: Option<String>,
    /// ids of tasks that must be done first
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskListArgs {
    /// only tasks ready to claim
    #[serde(default)]
    ready: bool,
    /// open, claimed, done, failed or cancelled
    status: Option<String>,
    /// only tasks you hold
    #[serde(default)]
    mine: bool,
    role: Option<String>,
    /// include finished tasks
    #[serde(default)]
    all: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIdArgs {
    /// task id or unique prefix
    id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskClaimArgs {
    /// task id or unique prefix; or give next
    id: Option<String>,
    /// claim the best ready task
    #[serde(default)]
    next: bool,
    /// with next: only this role's tasks
    role: Option<String>,
    /// claim even if dependencies are not done
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskNoteArgs {
    id: String,
    text: String,
    /// percent (holder only)
    #[schemars(range(max = 100))]
    progress: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskFinishArgs {
    id: String,
    note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LandQueueArgs {
    /// whose work (default: yours)
    session: Option<String>,
    /// merge (default), squash or rebase
    mode: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    /// files, dir/ or globs, relative to the repository
    paths: Vec<String>,
    /// lease length, e.g. 30m (default 2h)
    ttl: Option<String>,
    /// a notice others may share, not a lock
    #[serde(default)]
    shared: bool,
    reason: Option<String>,
    task: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    #[serde(default)]
    paths: Vec<String>,
    /// release every claim you hold
    #[serde(default)]
    all: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    paths: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// session name, all, or role:<r>
    to: String,
    subject: String,
    body: Option<String>,
    /// note, help, handoff, status or completion
    kind: Option<String>,
    /// id of the message this answers
    reply_to: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxArgs {
    /// include messages already read
    #[serde(default)]
    all: bool,
    /// leave them unread
    #[serde(default)]
    peek: bool,
    /// wait this long for an unread message
    #[schemars(range(max = 60))]
    wait_seconds: Option<u64>,
}

#[tool_router]
impl Orchestrate {
    /// Start (or resume) a session; later calls act as it
    #[tool]
    async fn session_start(
        &self,
        Parameters(a): Parameters<SessionStartArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, identity| {
            let started = ctx.start_session(StartOptions {
                name: a.name,
                role: a.role,
                capabilities: a.caps,
                base: a.base,
                no_worktree: a.no_worktree,
                task: a.task,
                resume: a.resume,
                into: None,
            })?;
            set_identity(identity, Some(started.session.name.clone()));
            Ok(started)
        })
        .await
    }

    /// End a session: release its tasks and claims, remove its worktree (never its work)
    #[tool]
    async fn session_end(
        &self,
        Parameters(a): Parameters<SessionEndArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, identity| {
            let ended = ctx.end_session(a.name.as_deref(), a.force)?;
            if ctx.session() == Some(ended.session.name.as_str()) {
                set_identity(identity, None);
            }
            Ok(ended)
        })
        .await
    }

    /// Say you are alive and what you are doing
    #[tool]
    async fn heartbeat(&self, Parameters(a): Parameters<HeartbeatArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.heartbeat(&Pulse { doing: a.doing, progress: a.progress, phase: a.phase }))
            .await
    }

    /// Add a task to the shared queue
    #[tool]
    async fn task_add(&self, Parameters(a): Parameters<TaskAddArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let spec = TaskSpec {
                title: a.title,
                description: a.description.unwrap_or_default(),
                priority: a.priority,
                kind: a.kind,
                role: a.role,
                labels: a.labels,
            };
            ctx.add_task(spec, &a.after)
        })
        .await
    }

    /// List tasks by priority (unfinished ones unless all)
    #[tool(output_schema = answer::listing("tasks"))]
    async fn task_list(&self, Parameters(a): Parameters<TaskListArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let req =
                ListRequest { ready: a.ready, status: a.status, mine: a.mine, role: a.role, all: a.all };
            Ok(Listed::new("tasks", ctx.list_tasks(&ctx.task_filter(&req)?)?.tasks))
        })
        .await
    }

    /// One task with its notes and history
    #[tool]
    async fn task_show(&self, Parameters(a): Parameters<TaskIdArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.show_task(&a.id)).await
    }

    /// Claim a task by id, or the best ready one with next
    #[tool]
    async fn task_claim(
        &self,
        Parameters(a): Parameters<TaskClaimArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| match (a.id, a.next) {
            (None, true) if !a.force => ctx.claim_next(a.role.as_deref()),
            (Some(id), false) if a.role.is_none() => ctx.claim_task(&id, a.force),
            _ => Err(ops::Error::invalid(
                "give a task id, or next: true (role goes with next, force with an id)",
            )),
        })
        .await
    }

    /// Leave a progress note on a task
    #[tool]
    async fn task_note(&self, Parameters(a): Parameters<TaskNoteArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.note_task(&a.id, &a.text, a.progress)).await
    }

    /// Mark a task you hold as done
    #[tool]
    async fn task_done(
        &self,
        Parameters(a): Parameters<TaskFinishArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.finish(a, Finish::Done).await
    }

    /// Mark a task you hold as failed
    #[tool]
    async fn task_fail(
        &self,
        Parameters(a): Parameters<TaskFinishArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.finish(a, Finish::Failed).await
    }

    /// Hand a task you hold back to the queue
    #[tool]
    async fn task_release(
        &self,
        Parameters(a): Parameters<TaskFinishArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.finish(a, Finish::Released).await
    }

    /// Lease paths so other sessions keep off them (all or none)
    #[tool(output_schema = answer::listing("claims"))]
    async fn claim(&self, Parameters(a): Parameters<ClaimArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let req =
                ClaimRequest { paths: a.paths, ttl: a.ttl, shared: a.shared, reason: a.reason, task: a.task };
            Ok(Listed::new("claims", ctx.claim_paths(&req)?))
        })
        .await
    }

    /// Give claims back: these paths, or all
    #[tool(output_schema = answer::listing("released"))]
    async fn release(&self, Parameters(a): Parameters<ReleaseArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| Ok(Listed::new("released", ctx.release_paths(&a.paths, a.all)?))).await
    }

    /// Whether another live session holds any of these paths, and who
    #[tool]
    async fn check(&self, Parameters(a): Parameters<CheckArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.check_paths(&a.paths)).await
    }

    /// Message a session, all, or role:<r>
    #[tool]
    async fn send(&self, Parameters(a): Parameters<SendArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let out = Outgoing {
                to: a.to,
                subject: a.subject,
                body: a.body.unwrap_or_default(),
                kind: a.kind,
                reply_to: a.reply_to,
            };
            ctx.send(&out)
        })
        .await
    }

    /// Your unread messages, oldest first, then marked read
    #[tool(output_schema = answer::listing("messages"))]
    async fn inbox(
        &self,
        Parameters(a): Parameters<InboxArgs>,
        request: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Some(secs) = a.wait_seconds {
            if secs > MAX_WAIT_SECONDS {
                return Ok(failure(ops::Error::invalid(format!(
                    "wait_seconds is at most {MAX_WAIT_SECONDS}: call inbox again to wait longer"
                ))));
            }
            // Wait without marking anything read, then read only if the
            // client still wants the answer: one that cancelled or went
            // away meanwhile loses no message to a reply nobody reads.
            let wait = Some(Some(Duration::from_secs(secs)));
            let waited = self
                .run(move |ctx, _| {
                    Ok(Listed::new("messages", ctx.inbox(&InboxOptions { all: false, peek: true, wait })?))
                })
                .await?;
            if request.ct.is_cancelled() {
                return Err(ErrorData::internal_error(
                    "the inbox wait was cancelled; nothing was read",
                    None,
                ));
            }
            if waited.is_error == Some(true) {
                return Ok(waited);
            }
        }
        self.run(move |ctx, _| {
            Ok(Listed::new("messages", ctx.inbox(&InboxOptions { all: a.all, peek: a.peek, wait: None })?))
        })
        .await
    }

    /// Queue your committed work to land on your target branch
    #[tool(output_schema = answer::listing("queued"))]
    async fn land_queue(
        &self,
        Parameters(a): Parameters<LandQueueArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let mode = a.mode.as_deref().map(crate::model::land::LandMode::parse).transpose()?;
            let opts = crate::ops::land::LandOptions { mode, ..Default::default() };
            let sessions: Vec<String> = a.session.into_iter().collect();
            Ok(Listed::new("queued", ctx.queue_landing(&sessions, &opts)?))
        })
        .await
    }

    /// Sessions, tasks, claims and recent messages at once
    #[tool]
    async fn board(&self) -> Result<CallToolResult, ErrorData> {
        self.run(|ctx, _| ctx.board()).await
    }
}

impl Orchestrate {
    async fn finish(&self, a: TaskFinishArgs, how: Finish) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.finish_task(&a.id, how, a.note.as_deref(), false)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Orchestrate {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("git-orchestrate", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
