//! The tools a coordinating agent needs beyond the everyday ones: agents
//! (spawn, ps, logs, stop, dispatch), the lead, assigning, importing and
//! retrying tasks, landing and the conflict radar — so a lead that speaks
//! only MCP can run the whole fleet. Each calls the same use case as the
//! matching command; a dispatch is one bounded pass, a log a bounded tail.

use super::answer::{Listed, ToolAnswer};
use super::server::{failure, Orchestrate};
use crate::model::land::LandMode;
use crate::model::plan::Plan;
use crate::ops::land::LandOptions;
use crate::ops::supervise::{parse_timeout, DispatchOptions, SpawnOptions, DEFAULT_GRACE};
use crate::ops::{self};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router, ErrorData};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The most log lines one `logs` call returns.
pub const MAX_LOG_LINES: usize = 200;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnArgs {
    /// its session name
    name: String,
    task: Option<String>,
    role: Option<String>,
    /// a preset, instead of command
    agent: Option<String>,
    /// program and arguments
    #[serde(default)]
    command: Vec<String>,
    /// e.g. 30m
    timeout: Option<String>,
    /// without output, e.g. 5m
    idle_timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsArgs {
    /// also older ones
    #[serde(default)]
    all: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    name: String,
    /// default 40, at most 200
    lines: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopArgs {
    name: Option<String>,
    /// also pauses dispatchers
    #[serde(default)]
    all: bool,
    /// e.g. 5s
    grace: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchArgs {
    /// default 2
    max: Option<usize>,
    #[serde(default)]
    roles: Vec<String>,
    /// instead of role presets
    #[serde(default)]
    command: Vec<String>,
    timeout: Option<String>,
    idle_timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadArgs {
    /// take, release or show (default)
    action: Option<String>,
    /// over a live lead (humans)
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignArgs {
    id: String,
    /// a live session
    session: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportArgs {
    /// {"tasks":[{key,title,description,priority,role,labels,after}]}, or a checklist
    plan: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryArgs {
    id: String,
    note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LandArgs {
    /// default: the acting session
    #[serde(default)]
    sessions: Vec<String>,
    into: Option<String>,
    /// merge, squash or rebase
    mode: Option<String>,
    /// must pass first
    check: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictsArgs {
    /// branch heads only
    #[serde(default)]
    committed: bool,
}

/// The end of an agent's log.
#[derive(Debug, Serialize)]
pub struct LogTail {
    pub session: String,
    pub log: PathBuf,
    pub text: String,
}

impl ToolAnswer for LogTail {}

fn timeout(field: &str, text: Option<String>) -> ops::Result<Option<Duration>> {
    text.map(|t| parse_timeout(&t).map_err(|why| ops::Error::invalid(format!("{field}: {why}")))).transpose()
}

#[tool_router(router = fleet_tools, vis = "pub(super)")]
impl Orchestrate {
    /// Start an agent in the background, in its own session and worktree
    #[tool]
    async fn spawn(&self, Parameters(a): Parameters<SpawnArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            ctx.spawn(SpawnOptions {
                name: a.name,
                task: a.task,
                role: a.role,
                agent: a.agent,
                command: a.command,
                timeout: timeout("timeout", a.timeout)?,
                idle_timeout: timeout("idle_timeout", a.idle_timeout)?,
                ..SpawnOptions::default()
            })
        })
        .await
    }

    /// Agents: running and recently ended
    #[tool(output_schema = super::answer::listing("agents"))]
    async fn ps(&self, Parameters(a): Parameters<PsArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| Ok(Listed::new("agents", ctx.list_agents_shown(a.all)))).await
    }

    /// The last lines of an agent's output
    #[tool]
    async fn logs(&self, Parameters(a): Parameters<LogsArgs>) -> Result<CallToolResult, ErrorData> {
        let lines = a.lines.unwrap_or(40);
        if lines > MAX_LOG_LINES {
            return Ok(failure(ops::Error::invalid(format!("lines is at most {MAX_LOG_LINES}"))));
        }
        self.run(move |ctx, _| {
            let (dir, _) = ctx.agent(&a.name)?;
            // What the agent wrote, with control characters escaped line by line.
            let tail = dir.log_tail(lines);
            let text: Vec<String> = tail.lines().map(crate::model::names::escape_control).collect();
            let text = text.join("\n");
            Ok(LogTail { session: a.name, log: dir.log_file(), text })
        })
        .await
    }

    /// Stop an agent, or all (which also pauses dispatchers)
    #[tool(output_schema = super::answer::listing("stopped"))]
    async fn stop(&self, Parameters(a): Parameters<StopArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let grace = match &a.grace {
                None => DEFAULT_GRACE,
                Some(text) => {
                    parse_timeout(text).map_err(|why| ops::Error::invalid(format!("grace: {why}")))?
                }
            };
            match (a.name, a.all) {
                (Some(name), false) => Ok(Listed::new("stopped", vec![ctx.stop_agent(&name, grace)?])),
                (None, true) => {
                    let mut stopped = Vec::new();
                    for (_, result) in ctx.stop_all_agents(grace) {
                        match result {
                            Ok(view) => stopped.push(view),
                            Err(ops::Error::Refused(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Listed::new("stopped", stopped))
                }
                _ => Err(ops::Error::invalid("give a name, or all: true")),
            }
        })
        .await
    }

    /// One dispatch pass: spawn agents for ready tasks up to max
    #[tool(output_schema = super::answer::listing("events"))]
    async fn dispatch(&self, Parameters(a): Parameters<DispatchArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let opts = DispatchOptions {
                max: a.max.unwrap_or(2),
                roles: a.roles,
                once: true,
                restarts: 0,
                agent: None,
                command: a.command,
                poll: Duration::ZERO,
                timeout: timeout("timeout", a.timeout)?,
                idle_timeout: timeout("idle_timeout", a.idle_timeout)?,
                watch: false,
            };
            let mut events = Vec::new();
            ctx.dispatch(&opts, |e| events.push(e.clone()))?;
            Ok(Listed::new("events", events))
        })
        .await
    }

    /// Take, release or show the lead
    #[tool]
    async fn lead(&self, Parameters(a): Parameters<LeadArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| match a.action.as_deref().unwrap_or("show") {
            "take" => ctx.take_lead(a.force),
            "release" => ctx.release_lead(a.force),
            "show" => ctx.show_lead(),
            other => Err(ops::Error::invalid(format!("action '{other}': use take, release or show"))),
        })
        .await
    }

    /// Give an open task to a live session (lead or human)
    #[tool]
    async fn task_assign(&self, Parameters(a): Parameters<AssignArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.assign_task(&a.id, &a.session)).await
    }

    /// Add a plan's tasks at once, all or nothing; answers key -> id
    #[tool]
    async fn task_import(&self, Parameters(a): Parameters<ImportArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.import_tasks(&Plan::parse(&a.plan)?)).await
    }

    /// Put a failed or cancelled task back in the queue
    #[tool]
    async fn task_retry(&self, Parameters(a): Parameters<RetryArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.retry_task(&a.id, a.note.as_deref())).await
    }

    /// Land sessions' branches on their target
    #[tool(output_schema = super::answer::listing("outcomes"))]
    async fn land(&self, Parameters(a): Parameters<LandArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| {
            let mode = a.mode.as_deref().map(LandMode::parse).transpose()?;
            let opts = LandOptions { into: a.into, mode, check: a.check };
            Ok(Listed::new("outcomes", ctx.land(&a.sessions, &opts)?))
        })
        .await
    }

    /// Which live sessions' changes overlap or would conflict
    #[tool]
    async fn conflicts(&self, Parameters(a): Parameters<ConflictsArgs>) -> Result<CallToolResult, ErrorData> {
        self.run(move |ctx, _| ctx.conflicts(!a.committed)).await
    }
}
