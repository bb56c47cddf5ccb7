//! `git orchestrate sync`: fetch the coordination refs from
//! `orchestrate.remote` and say what changed.

use super::{CmdResult, Ui};
use crate::model::names::escape_control;
use crate::ops::Context;
use std::fmt::Write;

pub fn run(ctx: &Context, ui: &Ui) -> CmdResult {
    let report = ctx.sync()?;
    ui.emit(&report, || {
        let Some(remote) = &report.remote else {
            return "no orchestrate.remote is set: this repository's refs are the shared state, nothing to sync"
                .to_string();
        };
        let mut text = String::new();
        if report.changed.is_empty() && report.published.is_empty() {
            let _ = writeln!(text, "up to date with {remote}");
        }
        for change in &report.changed {
            let _ = writeln!(text, "{}: {} new event(s) from {remote}", change.collection, change.count);
            for e in &change.events {
                let _ = writeln!(text, "  {}  {}", e.at.format("%H:%M:%SZ"), escape_control(&e.summary));
            }
            if change.count > change.events.len() {
                let _ = writeln!(text, "  … and {} more (git orchestrate log)", change.count - change.events.len());
            }
        }
        for refname in &report.published {
            let _ = writeln!(text, "published {refname} to {remote} (it had none)");
        }
        text.trim_end().to_string()
    })
}
