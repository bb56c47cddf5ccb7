//! `git orchestrate mcp`: serve the coordination tools over MCP on stdio.

use super::{CmdResult, Failure};
use crate::ops::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct McpArgs {}

/// Serves until the client closes stdin. The acting session is the one
/// this command would act as (`--session`, `$ORCHESTRATE_SESSION`, the
/// worktree's), until a `session_start` call names another.
pub fn run(ctx: &Context, _args: McpArgs) -> CmdResult {
    crate::mcp::serve(ctx.session().map(str::to_string)).map_err(Failure::Error)
}
