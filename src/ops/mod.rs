//! Use cases shared by every front end (the CLI today; the MCP server, the
//! git hooks and the supervisor later): they validate input, then change the
//! store through compare-and-swap updates.
//!
//! Every operation validates all of its input before it writes anything, so
//! bad input never changes state. Errors say whether the request was bad
//! ([`Error::Invalid`], exit 2), refused by coordination ([`Error::Refused`],
//! exit 1), or could not be carried out ([`Error::Store`]).

pub mod agent_hooks;
pub mod attention;
pub mod board;
pub mod claims;
pub mod conflicts;
pub mod dependents;
pub mod doctor;
mod finish;
pub mod hooks;
pub mod identity;
pub mod init;
pub mod land;
pub mod lead;
pub mod log;
pub mod messages;
pub mod notify;
mod places;
pub mod sessions;
pub mod status_file;
pub mod supervise;
pub mod sync;
pub mod tasks;
mod teardown;
pub mod trust;

use crate::model::names::validate_session_name;
use crate::model::task::TaskStatus;
use crate::model::time::Timestamp;
use crate::model::Invalid;
use crate::store::{Store, StoreError};
use crate::supervise::Phase;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong: fix it and try again.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The request is fine but coordination says no (someone else holds
    /// it, nothing is ready, ...): the facts, and a message naming them.
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something outside the store failed (a process, a file): exit 3.
    #[error("{0}")]
    Failed(String),
}

/// Why coordination said no, as data: each front end words the way out in
/// its own terms (the CLI with `hint:` lines in CLI syntax, the MCP server
/// for tools), and `--json` errors carry the `reason` word and the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A task another live session holds.
    Held {
        task: String,
        holder: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        since: Option<Timestamp>,
    },
    /// Paths that overlap exclusive claims of other live sessions.
    Claimed { conflicts: Vec<ClaimConflict> },
    /// A task that waits on tasks not done yet.
    Waiting { task: String, waits_on: Vec<String> },
    /// A task that depends on tasks that will never be done.
    Blocked { task: String, blocked_by: Vec<String> },
    /// No task is ready to claim.
    NothingReady {
        #[serde(skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        waiting: usize,
        claimed: usize,
    },
    /// The session has ended.
    Ended { session: String },

    // The task queue's refusals.
    /// A task nobody holds: nothing to release, and finishing it (`action`:
    /// `done`, `fail`) takes a claim first.
    TaskNotClaimed { task: String, action: String },
    /// Progress on a task is reported by its holder alone.
    NotTaskHolder {
        task: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        holder: Option<String>,
    },
    /// Only an open task can be assigned.
    TaskNotOpen {
        task: String,
        status: TaskStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        holder: Option<String>,
    },
    /// Only a failed or cancelled task can be retried.
    TaskNotRetryable { task: String, status: TaskStatus },
    /// A task is assigned to live sessions only.
    AssigneeNotLive { session: String },
    /// Every id a new task's random digest allows in `shard` is taken.
    NoFreeTaskId { shard: String },

    // Spawned agents and landing.
    /// `spawn` under a name whose agent is not over yet.
    AgentRunning {
        agent: String,
        phase: Phase,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// An agent that has no state yet: another command is starting it.
    AgentStarting { agent: String },
    /// `stop` of an agent that is over.
    AgentNotRunning {
        agent: String,
        phase: Phase,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stopped_by: Option<String>,
    },
    /// `spawn` into a session that has no worktree of its own.
    NoWorktree { session: String },
    /// A task that is done, failed or cancelled: `action` (`spawn`,
    /// `claim`, `note`, `done`, `fail`, `release`, `cancel`) has nothing to
    /// act on.
    TaskClosed { task: String, status: TaskStatus, action: String },
    /// A task still held by a session whose agent is over: nobody will
    /// answer a request to release it.
    HeldByEndedAgent { task: String, holder: String },
    /// A task whose dependencies' branches do not merge, so there is no
    /// start for its agent.
    DependenciesConflict {
        task: String,
        /// The branch that did not merge.
        branch: String,
        /// What it was merged with: the target and the other branches.
        with: Vec<String>,
        files: Vec<String>,
    },
    /// An ended session's kept worktree holds work that has not landed.
    WorktreeKept {
        session: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        #[serde(flatten)]
        unlanded: Unlanded,
    },
    /// The target already has every commit of the branch.
    NothingToLand { session: String, branch: String, into: String, head: String },
    /// No entry waits in the landing queue.
    QueueEmpty,
    /// The target branch is being rebased in a worktree.
    TargetRebasing { into: String, worktree: String },
    /// The target branch is checked out in more than one worktree.
    TargetInSeveralCheckouts { into: String, worktrees: Vec<String> },
    /// git would not bring the target's checkout forward.
    CheckoutNotForwarded {
        into: String,
        checkout: String,
        /// What git said.
        git: String,
    },
    /// `--delete-branch` of a branch with commits not on its target.
    BranchNotLanded { session: String, branch: String, into: String, commits: usize },
    /// `--delete-branch` of a session with no target to compare with.
    NoLandTarget { session: String, branch: String },
    /// `--delete-branch` of a session with uncommitted work.
    UncommittedWork { session: String, files: Vec<String> },
    // Messages.
    /// `inbox --wait` waited its limit and nothing new arrived.
    NoNewMessage { session: String, waited_secs: u64 },
    // Git hooks: what `hooks install` and `uninstall` will not change.
    /// `core.hooksPath` is a folder of the repository a hook manager keeps.
    HooksManaged { dir: String },
    /// `core.hooksPath` is relative, so each worktree would read its own.
    HooksPathRelative { path: String },
    /// A hook that cannot be wrapped without breaking it.
    HookUnwrappable { hook: String },
    /// A hook that is not ours sits where ours was, with the saved earlier
    /// hook still beside it: replacing either would lose one.
    HookReplaced { hook: String, saved: String },
    // Sessions, path claims and the lead.
    /// `session start` of a name an active session has (without resume).
    SessionActive {
        session: String,
        /// Whether it has been silent longer than `orchestrate.staleAfter`.
        stale: bool,
        heartbeat_at: Timestamp,
        /// Whether another process started it while this start was under way.
        just_started: bool,
    },
    /// No readable session name was free, however many were tried.
    NoUnusedName,
    /// A session's worktree folder is the worktree of another branch.
    WorktreeOfAnotherBranch {
        path: String,
        /// The session's branch.
        branch: String,
        /// What the folder has checked out (none: a detached HEAD).
        checked_out: Option<String>,
    },
    /// A session's worktree folder exists and is not a worktree of this
    /// repository.
    FolderInTheWay { path: String },
    /// Another process is ending the session right now.
    BeingEnded { session: String },
    /// `session end` (without --force) of a worktree holding work that its
    /// removal would lose.
    UnsavedWork {
        session: String,
        worktree: String,
        /// Uncommitted changes.
        files: Vec<String>,
        /// Repositories nested in the worktree that hold work.
        repositories: Vec<String>,
        /// Changed copies of `.worktreeinclude` files.
        changed_copies: Vec<String>,
        /// Commits on a detached HEAD that no branch contains.
        orphaned_commits: bool,
        /// The branch the worktree has checked out, which --force commits
        /// to (none: a detached HEAD, which gets a new branch).
        checked_out: Option<String>,
    },
    /// Files that appeared in the worktree while the session was ending.
    ChangedWhileEnding { session: String, worktree: String, files: Vec<String> },
    /// `release` of a path the session holds no claim on.
    NotClaimed { session: String, path: String, held: Vec<String> },
    /// Another live session holds the lead.
    LeadHeld {
        lead: String,
        since: Timestamp,
        /// Who gave it the lead (itself, or a human with --force).
        by: String,
        /// How long it must be silent before anyone may take the lead.
        stale_after: String,
    },
    /// Nobody holds the lead.
    NoLead,
    /// A release of the lead by a session that does not hold it.
    NotTheLead { lead: String, session: String },
    /// Something only the live lead or a human may do.
    LeadOnly {
        /// What was asked for (`assign tasks`).
        action: String,
        /// The live lead, if anyone holds it.
        #[serde(skip_serializing_if = "Option::is_none")]
        lead: Option<String>,
    },
    /// `session end` of a session that has ended (and keeps no worktree).
    AlreadyEnded { session: String },
    /// `session end` while a spawned agent is at work in the session.
    AgentAtWork {
        session: String,
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// Coordination by the board page of a session that is live.
    SessionLive { session: String },
}

/// What in an ended session's worktree has not landed: uncommitted
/// changes (counted first), else commits its target does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Unlanded {
    Uncommitted { uncommitted: usize },
    Commits { commits: usize, into: String },
}

impl std::fmt::Display for Unlanded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unlanded::Uncommitted { uncommitted } => write!(f, "{uncommitted} uncommitted change(s)"),
            Unlanded::Commits { commits, into } => write!(f, "{commits} commit(s) not on {into}"),
        }
    }
}

/// One claim that stands in the way of a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimConflict {
    /// What was asked for.
    pub path: String,
    /// The claim it overlaps.
    pub pattern: String,
    pub holder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub expires_at: Timestamp,
}

/// A refusal: its reason with the facts, and a message that names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Boxed: the facts of some reasons are large, and every `Result` of
    /// ours carries room for the largest error.
    #[serde(flatten)]
    pub reason: Box<Reason>,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error {
    /// A refusal with its facts.
    pub fn refusal(reason: Reason, message: impl Into<String>) -> Error {
        Error::Refused(Refusal { reason: Box::new(reason), message: message.into() })
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(Invalid(message.into()))
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed(message.into())
    }

    /// A worktree at `path` that git could not make, change or remove.
    pub(crate) fn worktree(path: &std::path::Path, message: impl Into<String>) -> Error {
        Error::Store(StoreError::Io {
            action: format!("worktree {}", path.display()),
            source: std::io::Error::other(message.into()),
        })
    }

    /// What kind of failure this is, as `--json` and the MCP server name it:
    /// `invalid` (exit 2), `refused` (exit 1) or `error` (exit 3).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid(_) | Error::Store(StoreError::BadRemote { .. }) => "invalid",
            Error::Refused(_) => "refused",
            Error::Store(_) | Error::Failed(_) => "error",
        }
    }

    /// The message with every cause, on one line.
    pub fn message(&self) -> String {
        error_chain(self)
    }
}

/// An error and its causes on one line, each said once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// How a failure is reported as JSON, by the CLI with `--json` and by the
/// MCP server: `{"error": {"kind": …, "message": …}}`.
pub fn error_json(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "kind": kind, "message": message } })
}

/// A refusal as JSON: `{"error": {"kind": "refused", "reason": …, <facts>,
/// "message": …}}`, with `hints` worded by the front end.
pub fn refusal_json(refusal: &Refusal, hints: &[String]) -> serde_json::Value {
    let mut error = serde_json::Map::new();
    error.insert("kind".into(), "refused".into());
    if let Ok(serde_json::Value::Object(facts)) = serde_json::to_value(refusal) {
        error.extend(facts);
    }
    if !hints.is_empty() {
        error.insert("hints".into(), hints.into());
    }
    serde_json::json!({ "error": error })
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Environment variable naming this machine (else its host name): sessions
/// record it, so another machine leaves their worktrees alone.
pub const HOST_ENV: &str = "ORCHESTRATE_HOST";

/// This machine's name: `$ORCHESTRATE_HOST`, else the kernel's host name.
pub fn this_host() -> String {
    if let Some(host) = std::env::var(HOST_ENV).ok().filter(|h| !h.trim().is_empty()) {
        return host.trim().to_string();
    }
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into a buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// What the front end wants done whenever coordination state may have
/// changed inside a long-running operation (an agent's supervisor), set
/// once at start-up: the CLI keeps its status file up to date with it.
/// Kept as a hook so the supervisor does not depend on the board.
static AFTER_CHANGE: std::sync::OnceLock<fn(&Context)> = std::sync::OnceLock::new();

/// Sets [`AFTER_CHANGE`] for this process (the first call wins).
pub fn on_change(after: fn(&Context)) {
    let _ = AFTER_CHANGE.set(after);
}

/// Environment variable naming the acting session.
pub const SESSION_ENV: &str = "ORCHESTRATE_SESSION";
/// Environment variable pinning the clock (RFC 3339), for tests and demos.
pub const NOW_ENV: &str = "ORCHESTRATE_NOW";

/// Everything an operation needs: the store, who is acting, and the clock.
pub struct Context {
    store: Store,
    session: Option<String>,
    /// Every working tree of the repository, read once when first needed.
    worktrees: std::cell::OnceCell<Vec<claims::WorkTree>>,
    /// How this front end names a session, for errors that need one.
    session_hint: &'static str,
    /// The store's write count when the status file was last rewritten.
    status_moves: std::cell::Cell<u64>,
}

impl Context {
    /// Who is acting: `session` (the `--session` flag), else
    /// `$ORCHESTRATE_SESSION`, else the session recorded in this worktree by
    /// `session start`, else nobody.
    pub fn new(store: Store, session: Option<String>) -> Result<Context> {
        let session = match session {
            Some(s) => Some(s),
            None => std::env::var(SESSION_ENV).ok().filter(|s| !s.is_empty()),
        };
        let session = session.or_else(|| {
            let file = store.git_dir().join(crate::worktree::IDENTITY_FILE);
            let name = std::fs::read_to_string(file).ok()?;
            Some(name.trim().to_string()).filter(|n| !n.is_empty())
        });
        if let Some(name) = &session {
            validate_session_name(name)?;
        }
        let pinned_now = match std::env::var(NOW_ENV) {
            Ok(text) => Some(
                chrono::DateTime::parse_from_rfc3339(&text)
                    .map_err(|_| Invalid(format!("{NOW_ENV}='{text}' is not an RFC 3339 time")))?
                    .to_utc(),
            ),
            Err(_) => None,
        };
        store.pin_clock(pinned_now);
        Ok(Context {
            store,
            session,
            worktrees: std::cell::OnceCell::new(),
            session_hint: "pass --session NAME or set ORCHESTRATE_SESSION=NAME",
            status_moves: std::cell::Cell::new(0),
        })
    }

    /// Runs the front end's [`on_change`] hook, if it set one.
    pub(crate) fn changed(&self) {
        if let Some(after) = AFTER_CHANGE.get() {
            after(self);
        }
    }

    pub fn now(&self) -> Timestamp {
        // One clock for the whole process: the store stamps its own
        // events (heals, repairs) with the same pinned time.
        self.store.now()
    }

    /// The acting session, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The acting session, or an error saying how to name one.
    pub fn require_session(&self, what: &str) -> Result<&str> {
        self.session
            .as_deref()
            .ok_or_else(|| Error::invalid(format!("{what} needs a session: {}", self.session_hint)))
    }

    /// Says how this front end names a session, in errors that need one
    /// (the MCP server has no `--session` flag to offer).
    pub fn with_session_hint(mut self, hint: &'static str) -> Context {
        self.session_hint = hint;
        self
    }

    /// The heartbeat age after which a session is stale
    /// (`orchestrate.staleAfter`, default 15m).
    pub fn stale_after(&self) -> Result<chrono::Duration> {
        match self.store.config_string("orchestrate.staleAfter") {
            None => Ok(crate::model::session::default_stale_after()),
            Some(text) => crate::model::time::parse_duration(&text)
                .map_err(|e| Error::invalid(format!("git config orchestrate.staleAfter: {e}"))),
        }
    }

    /// How often liveness (heartbeats, claim renewals) is written: every
    /// 30 s, or with a coordination remote every `orchestrate.remoteHeartbeat`
    /// (default 60 s), since hosted remotes ask for few pushes a minute.
    pub fn heartbeat_interval(&self) -> chrono::Duration {
        if self.store.remote().is_none() {
            return crate::model::session::heartbeat_interval();
        }
        let default = chrono::Duration::seconds(60);
        let Some(text) = self.store.config_string("orchestrate.remoteHeartbeat") else { return default };
        match crate::model::time::parse_duration(&text) {
            Ok(d) if d >= chrono::Duration::seconds(1) => d,
            _ => {
                eprintln!(
                    "warning: git config orchestrate.remoteHeartbeat = '{}' is not a duration of 1s or more \
                     (like 60s or 2m); using 60s",
                    crate::model::names::escape_control(&text)
                );
                default
            }
        }
    }

    /// Whether sessions are coordinated through a remote (`orchestrate.remote`),
    /// so they may run on several machines.
    pub fn has_remote(&self) -> bool {
        self.store.remote().is_some()
    }

    /// Bounds every later exchange with the coordination remote to `limit`
    /// (the git hooks: a commit waits for them).
    pub fn limit_remote_wait(&self, limit: std::time::Duration) {
        if let Some(remote) = self.store.remote() {
            remote.limit_wait(limit);
        }
    }

    /// The git directory of the worktree this runs in.
    pub fn git_dir(&self) -> &std::path::Path {
        self.store.git_dir()
    }

    /// The machine this runs on, as sessions record it: `$ORCHESTRATE_HOST`,
    /// else the host name.
    pub fn host(&self) -> String {
        this_host()
    }

    /// Who to record as the author of an event: the session, or else the
    /// human at the keyboard (git's `user.name`).
    pub fn actor(&self) -> String {
        if let Some(s) = &self.session {
            return s.clone();
        }
        self.store
            .config_string("user.name")
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "human".to_string())
    }
}
