//! # git-orchestrate
//!
//! Coordinates several AI coding agents working on one repository, using the
//! repository itself as the coordinator: tasks, sessions, path claims and
//! messages live as JSON documents in commit chains under `refs/orchestrate/`,
//! and every write is a compare-and-swap ref update. No server is involved.
//!
//! The crate is layered. Each layer uses only those listed before it, and
//! the use cases (`ops`) are the only way the front ends reach the store:
//!
//! - [`model`]: the data types and their validation rules. Pure: no IO.
//! - [`os`]: what the tool asks of the operating system: process identity
//!   that survives pid reuse, detaching, process trees, and locks the kernel
//!   drops when their holder dies.
//! - [`store`]: the git engine. Each collection is a typed handle that owns
//!   its ref, tree layout and document codec (`store.tasks()`,
//!   `store.sessions()`, `store.mailboxes()`, ...); under them, commit
//!   chains, writers of one ref queued on a kernel lock, compare-and-swap
//!   updates through one seam that moves a ref (locally, or a push with a
//!   lease to the coordination remote), stale ref locks healed, the store's
//!   own checks and repairs, the format guard, and every ref name.
//! - [`merging`], [`worktree`], [`hooks`], [`integrate`], [`agent_hooks`],
//!   [`supervise`]: git and file work the use cases need: in-memory merges
//!   and worktree snapshots; session worktrees and their includes; installing
//!   the git hooks; merging into coding agents' settings files; what their
//!   hooks send and read back (pure); and what a spawned agent's supervisor
//!   keeps on disk, with the wrapper each run goes through.
//! - [`ops`]: the use cases every front end shares, as methods on
//!   [`ops::Context`] (who acts, the clock, the store). `ops::identity`
//!   (acting session, liveness) is what the others ask; above it each
//!   use-case module depends on others only one way (`tests/layering.rs`
//!   checks there is no circle). [`board`] renders the board they compute.
//! - Front ends: [`cli`] (the `git orchestrate` command line: arguments,
//!   text and JSON output, exit codes 0 done, 1 refused, 2 bad input,
//!   3 failure), [`mcp`] (the same use cases as MCP tools) and [`web`]
//!   (`board --serve`, the board as a live page).
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
