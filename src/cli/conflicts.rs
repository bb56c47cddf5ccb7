//! `git orchestrate conflicts`: the conflict radar. A view: it exits 0
//! whether or not conflicts lie ahead.

use super::output::Style;
use super::{CmdResult, Ui};
use crate::model::names::escape_control;
use crate::ops::conflicts::{Against, Overlap, Radar};
use crate::ops::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Compare branch heads only, leaving uncommitted work in worktrees out
    #[arg(long)]
    committed: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: ConflictsArgs) -> CmdResult {
    let radar = ctx.conflicts(!a.committed)?;
    ui.emit(&radar, || render(ui, &radar))
}

fn render(ui: &Ui, radar: &Radar) -> String {
    let mut out = String::new();
    let scope = match radar.uncommitted {
        true => "committed and uncommitted work",
        false => "committed work only",
    };
    let n = radar.sessions.len();
    out.push_str(&format!(
        "{} live session{} with a branch looked at ({scope})\n",
        n,
        if n == 1 { "" } else { "s" }
    ));
    if radar.overlaps.is_empty() && n > 0 {
        out.push_str("no overlaps: no two sides change the same file\n");
    }
    for o in &radar.overlaps {
        out.push_str(&line(ui, o));
    }
    for u in &radar.unseen {
        out.push_str(&format!("not looked at: {}: {}\n", u.session, escape_control(&u.reason)));
    }
    out
}

fn line(ui: &Ui, o: &Overlap) -> String {
    let other = match o.against {
        Against::Session => escape_control(&o.other),
        Against::Target => format!("{} (its target)", escape_control(&o.other)),
    };
    // File names are agents' text too (a name can hold a bidi override).
    let clean: Vec<String> =
        o.files.iter().filter(|f| !o.conflicts.contains(f)).map(|f| escape_control(f)).collect();
    let conflicts: Vec<String> = o.conflicts.iter().map(|f| escape_control(f)).collect();
    let mut parts = Vec::new();
    if !conflicts.is_empty() {
        parts.push(format!("{} {}", ui.paint(Style::Red, "would conflict on"), conflicts.join(", ")));
    }
    if !clean.is_empty() {
        parts.push(format!("both change {} (merges cleanly)", clean.join(", ")));
    }
    format!("{} and {other}: {}\n", o.session, parts.join("; "))
}
