//! What the page shows: the board document (`board --json`, unchanged)
//! and, beside it, the detail the board leaves out — every session with its
//! worktree and branch, tasks in columns with their dependencies, messages
//! with `help` and `handoff` pinned while unread, spawned agents with a log
//! tail. Computed once per change by the watcher and shared by every client.

use crate::model::task::{Readiness, TaskStatus};
use crate::model::time::Timestamp;
use crate::ops::board::FeedMessage;
use crate::ops::sessions::SessionView;
use crate::ops::tasks::{TaskFilter, TaskSummary, TaskTable, TaskView};
use crate::ops::{Context, Result};
use crate::store::refs;
use git2::Oid;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many tasks each column lists (its count is always the whole).
const COLUMN_SHOWN: usize = 60;
/// How many recent messages the page lists, beside the pinned ones.
const MESSAGES_SHOWN: usize = 30;
/// How far back a mailbox is read looking for unread `help`/`handoff`.
const PIN_DEPTH: usize = 200;
/// Ended sessions shown, most recent first.
const ENDED_SHOWN: usize = 10;
/// Agents shown, active first, and the lines of log each gets.
const AGENTS_SHOWN: usize = 30;
const LOG_LINES: usize = 12;

/// The whole page document, sent to every client on each change.
#[derive(Debug, Serialize)]
pub struct PageView {
    pub generated_at: crate::model::time::Timestamp,
    /// Exactly what `board --json` prints.
    pub board: Value,
    pub sessions: Vec<SessionView>,
    pub columns: BTreeMap<&'static str, Column>,
    /// Every task a shown task depends on, transitively: id → summary.
    pub dependencies: HashMap<String, DepNode>,
    pub messages: Vec<FeedMessage>,
    pub agents: Vec<AgentRow>,
    /// The landing queue, oldest first.
    pub queue: Vec<crate::model::land::QueueEntry>,
    /// Why the queue could not be read, when it could not.
    pub queue_note: Option<String>,
    /// The hold on the dispatchers (paused or draining), if any.
    pub dispatch_hold: Option<crate::ops::supervise::Hold>,
    pub actions: Actions,
}

#[derive(Debug, Default, Serialize)]
pub struct Column {
    pub count: usize,
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Serialize)]
pub struct DepNode {
    pub title: String,
    pub status: TaskStatus,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AgentRow {
    #[serde(flatten)]
    pub agent: crate::ops::supervise::AgentView,
    pub log_tail: String,
}

/// Whether this server accepts actions (with the token).
#[derive(Debug, Clone, Serialize)]
pub struct Actions {
    pub enabled: bool,
}

/// The closed tasks as last read, by shard, each with its tree id: closed
/// tasks are most of a long-lived queue and rarely change, so each rebuild
/// decodes only the shards a write touched.
#[derive(Debug, Default)]
pub struct ClosedTasks {
    shards: HashMap<String, (Oid, Vec<(Timestamp, TaskSummary)>)>,
}

impl ClosedTasks {
    /// Brings the cache up to `snap` and returns every closed task, most
    /// recently closed first.
    fn refresh(&mut self, table: &TaskTable<'_, '_>) -> Result<Vec<&(Timestamp, TaskSummary)>> {
        let ids = table.closed_shard_ids()?;
        self.shards.retain(|shard, (oid, _)| ids.get(shard) == Some(oid));
        for (shard, oid) in ids {
            if self.shards.contains_key(&shard) {
                continue;
            }
            // Corrupt documents are reported by `task list --all` and
            // `doctor`; the board shows what it can read.
            let (tasks, _) = table.closed_tasks_in(&shard)?;
            let rows =
                tasks.iter().map(|t| (t.closed_at.unwrap_or(t.updated_at), TaskSummary::from(t))).collect();
            self.shards.insert(shard, (oid, rows));
        }
        let mut all: Vec<&(Timestamp, TaskSummary)> =
            self.shards.values().flat_map(|(_, rows)| rows).collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(all)
    }
}

/// Builds the page document from a fresh read of every collection.
pub fn page_view(ctx: &Context, actions: &Actions, closed: &mut ClosedTasks) -> Result<PageView> {
    let board = ctx.board()?;
    let board = serde_json::to_value(&board).map_err(|e| crate::ops::Error::failed(e.to_string()))?;
    let open = ctx.list_tasks(&TaskFilter::default())?.tasks;
    let snap = ctx.store.snapshot(refs::TASKS)?;
    let table = TaskTable::new(&snap);
    let closed = closed.refresh(&table)?;
    let (sessions, _) = ctx.list_sessions(true)?;
    // A queue that cannot be read leaves the rest of the page standing.
    let (queue, queue_note) = match ctx.queue_list() {
        Ok(queue) => (queue, None),
        Err(e) => (Vec::new(), Some(format!("the landing queue cannot be read: {}", e.message()))),
    };
    let columns = columns(&open, &closed);
    let by_id: HashMap<&str, &TaskSummary> = open
        .iter()
        .map(|v| &v.task)
        .chain(closed.iter().map(|(_, t)| t))
        .map(|t| (t.id.as_str(), t))
        .collect();
    Ok(PageView {
        generated_at: ctx.now(),
        board,
        sessions: sessions_shown(sessions),
        dependencies: dependencies_of(&by_id, &columns),
        columns,
        messages: ctx.message_feed(MESSAGES_SHOWN, PIN_DEPTH)?,
        agents: agents(ctx),
        queue,
        queue_note,
        dispatch_hold: ctx.dispatch_hold(),
        actions: actions.clone(),
    })
}

/// Active sessions, then the most recently ended ones.
fn sessions_shown(all: Vec<SessionView>) -> Vec<SessionView> {
    use crate::model::session::SessionStatus;
    let (active, mut ended): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|s| s.session.status == SessionStatus::Active);
    ended.sort_by_key(|s| std::cmp::Reverse(s.session.heartbeat_at));
    ended.truncate(ENDED_SHOWN);
    active.into_iter().chain(ended).collect()
}

/// The column a task belongs in.
fn column_of(view: &TaskView) -> &'static str {
    match (view.task.status, &view.readiness) {
        (TaskStatus::Claimed, _) => "claimed",
        (TaskStatus::Done, _) => "done",
        (TaskStatus::Failed | TaskStatus::Cancelled, _) => "failed",
        (_, Readiness::Ready) => "ready",
        _ => "waiting",
    }
}

/// Open tasks in queue order (priority, then age); finished ones most
/// recently closed first.
fn columns(open: &[TaskView], closed: &[&(Timestamp, TaskSummary)]) -> BTreeMap<&'static str, Column> {
    let mut columns: BTreeMap<&'static str, Column> = ["ready", "waiting", "claimed", "done", "failed"]
        .into_iter()
        .map(|c| (c, Column::default()))
        .collect();
    let closed =
        closed.iter().map(|(_, t)| TaskView { task: t.clone(), ready: false, readiness: Readiness::NotOpen });
    for view in open.iter().cloned().chain(closed) {
        let column = columns.entry(column_of(&view)).or_default();
        column.count += 1;
        if column.tasks.len() < COLUMN_SHOWN {
            column.tasks.push(view);
        }
    }
    columns
}

/// Every task reachable through `depends_on` from a task that is shown, so
/// the page can draw the whole chain on a click.
fn dependencies_of(
    by_id: &HashMap<&str, &TaskSummary>,
    columns: &BTreeMap<&'static str, Column>,
) -> HashMap<String, DepNode> {
    let mut out = HashMap::new();
    let mut todo: Vec<String> = columns
        .values()
        .flat_map(|c| c.tasks.iter().flat_map(|t| t.task.depends_on.iter().map(|d| d.to_string())))
        .collect();
    let mut seen = HashSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(t) = by_id.get(id.as_str()) else { continue };
        let depends_on: Vec<String> = t.depends_on.iter().map(|d| d.to_string()).collect();
        todo.extend(depends_on.iter().cloned());
        out.insert(id, DepNode { title: t.title.clone(), status: t.status, depends_on });
    }
    out
}

/// Spawned agents, running ones first, each with the end of its log.
fn agents(ctx: &Context) -> Vec<AgentRow> {
    let mut agents = ctx.list_agents();
    agents.sort_by_key(|a| (!a.is_active(), std::cmp::Reverse(a.started_at)));
    agents.truncate(AGENTS_SHOWN);
    agents
        .into_iter()
        .map(|agent| {
            let dir = crate::supervise::AgentDir::new(ctx.store.common_dir(), &agent.session);
            AgentRow { log_tail: dir.log_tail(LOG_LINES), agent }
        })
        .collect()
}
