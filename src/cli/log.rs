//! `git orchestrate log`: one timeline of every event, paged like git.

use super::{CmdResult, Ui};
use crate::model::names::escape_control;
use crate::model::time::parse_when;
use crate::ops::Context;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only events since then: an RFC 3339 time, a date, or an age like 2h
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
}

pub fn run(ctx: &Context, ui: &Ui, a: LogArgs) -> CmdResult {
    let since = a.since.as_deref().map(|w| parse_when(w, ctx.now())).transpose()?;
    let entries = ctx.log(since)?;
    if ui.json {
        return ui.emit(&entries, String::new);
    }
    let text: String = entries
        .iter()
        .map(|e| {
            format!(
                "{}  {:<12} {:<14} {}\n",
                e.at.format("%Y-%m-%d %H:%M:%SZ"),
                escape_control(&e.actor),
                e.collection,
                escape_control(&e.summary)
            )
        })
        .collect();
    if text.is_empty() {
        return ui.emit(&entries, || "no events".to_string());
    }
    if std::io::stdout().is_terminal() && page(&text) {
        return Ok(());
    }
    ui.emit(&entries, || text)
}

/// Shows `text` through the user's git pager, as `git log` would. Returns
/// false if there is none to run (the caller prints instead).
fn page(text: &str) -> bool {
    let Ok(out) = Command::new("git").args(["var", "GIT_PAGER"]).output() else { return false };
    let pager = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || pager.is_empty() || pager == "cat" {
        return false;
    }
    let mut command = Command::new("sh");
    command.arg("-c").arg(&pager).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        command.env("LESS", "FRX");
    }
    let Ok(mut child) = command.spawn() else { return false };
    if let Some(mut stdin) = child.stdin.take() {
        // The reader quitting early (q in less) is not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    let _ = child.wait();
    true
}
