//! `git orchestrate lead [take|release|show]`: the one session that
//! coordinates the others.

use super::output::time;
use super::{CmdResult, Ui};
use crate::ops::lead::LeadView;
use crate::ops::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct LeadArgs {
    #[command(subcommand)]
    action: Option<LeadAction>,
}

#[derive(Debug, Subcommand)]
pub enum LeadAction {
    /// Become the lead (refused while another live session holds it)
    Take(ForceArgs),
    /// Give the lead up
    Release(ForceArgs),
    /// Who holds the lead, since when, and whether its lease holds (the default)
    Show,
}

#[derive(Debug, Args)]
pub struct ForceArgs {
    /// Take it from (or release it for) another live session: for a human sorting things out
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: LeadArgs) -> CmdResult {
    let view = match a.action.unwrap_or(LeadAction::Show) {
        LeadAction::Take(f) => ctx.take_lead(f.force)?,
        LeadAction::Release(f) => ctx.release_lead(f.force)?,
        LeadAction::Show => ctx.show_lead()?,
    };
    ui.emit(&view, || render(&view))
}

fn render(view: &LeadView) -> String {
    match (&view.lead, view.since) {
        (Some(lead), Some(since)) => {
            let state = if view.live { "live" } else { "stale: anyone may take the lead" };
            format!("lead: {lead} (since {}, {state})\n", time(since))
        }
        _ => "nobody holds the lead: `git orchestrate lead take` (as a session) makes you the lead\n"
            .to_string(),
    }
}
