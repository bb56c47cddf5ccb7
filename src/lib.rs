//! # git-orchestrate
//!
//! Coordinates several AI coding agents working on one repository, using the
//! repository itself as the coordinator: tasks, sessions, path claims and
//! messages live as JSON documents in commit chains under `refs/orchestrate/`,
//! and every write is a compare-and-swap ref update. No server is involved.
//!
//! The crate is layered; each layer only uses the ones above it here:
//!
//! - [`model`]: the data types and their validation rules. Pure: no IO.
//! - [`store`]: the git engine. Collections as commit chains, snapshots,
//!   writers of one ref queued on a kernel lock, compare-and-swap updates
//!   with bounded jittered retry, stale ref locks healed, history walks,
//!   the format guard in `refs/orchestrate/meta`, and every ref name.
//! - [`ops`]: the use cases (`add_task`, `claim_next`, ...) that every front end
//!   shares, and the acting identity and clock.
//! - [`merging`]: diffs, in-memory merges and worktree snapshots in the
//!   object database (the conflict radar's and dependents' git work).
//! - [`supervise`]: the supervisor of spawned agent processes: what it keeps
//!   on disk and the wrapper each run goes through (it records the exit
//!   status). Its use cases (`spawn`, `stop`, `dispatch`, ...) are in
//!   `ops::supervise`; coding agents' own hooks are [`agent_hooks`].
//! - [`os`]: what the tool asks of the operating system: process identity
//!   that survives pid reuse, detaching, process trees, and locks the kernel
//!   drops when their holder dies.
//! - [`mcp`]: the same use cases as MCP tools (`git orchestrate mcp`).
//! - [`web`]: `board --serve`, the board as a live page: one watcher of
//!   the refs, a server-sent event stream per page, the page embedded.
//! - [`agent_hooks`]: what the coding agents' hooks send and read back (pure).
//! - [`cli`]: the `git orchestrate` command line: argument parsing, text and
//!   JSON output, and the mapping from errors to exit codes (0 done,
//!   1 refused by coordination, 2 bad input, 3 failure).
//!
//! `docs/data-model.md` describes the storage format and the concurrency rules.

#![warn(clippy::unwrap_used)]

pub mod agent_hooks;
pub mod board;
pub mod cli;
pub mod hooks;
pub mod integrate;
pub mod mcp;
pub mod merging;
pub mod model;
pub mod ops;
pub mod os;
pub mod store;
pub mod supervise;
pub mod web;
pub mod worktree;
