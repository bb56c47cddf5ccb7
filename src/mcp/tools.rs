//! The everyday tools' handlers: sessions, tasks, claims, messages,
//! landing and the board. Each turns its arguments into the same [`ops`]
//! call as the matching command and answers through
//! [`Orchestrate::run`](super::Orchestrate), which gives the `--json`
//! answer or error. The tools a coordinating agent needs beyond these are in
//! [`super::fleet`]; what each tool takes is in [`super::catalogue`].

use super::answer::{self, Listed};
use super::catalogue::{
    CheckArgs, ClaimArgs, HeartbeatArgs, InboxArgs, LandQueueArgs, ReleaseArgs, SendArgs, SessionEndArgs,
    SessionStartArgs, TaskAddArgs, TaskClaimArgs, TaskFinishArgs, TaskIdArgs, TaskListArgs, TaskNoteArgs,
};
use super::server::{failure, Orchestrate};
use crate::model::session::Pulse;
use crate::model::task::TaskSpec;
use crate::ops;
use crate::ops::claims::ClaimRequest;
use crate::ops::messages::{InboxOptions, Outgoing};
use crate::ops::sessions::StartOptions;
use crate::ops::tasks::{Finish, ListRequest};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer};
use std::sync::Mutex;
use std::time::Duration;

/// The longest `inbox` wait one call may ask for: an agent that wants to
/// wait longer calls again, and a client never sits on a call for minutes.
pub const MAX_WAIT_SECONDS: u64 = 60;

fn set_identity(identity: &Mutex<Option<String>>, name: Option<String>) {
    match identity.lock() {
        Ok(mut guard) => *guard = name,
        Err(poisoned) => *poisoned.into_inner() = name,
    }
}

#[tool_router(vis = "pub(super)")]
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
