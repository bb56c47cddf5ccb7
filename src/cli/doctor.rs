//! `git orchestrate doctor [--repair]`: check the coordination state, and
//! fix what is safe to fix.

use super::{CmdResult, Failure, Ui};
use crate::model::names::escape_control;
use crate::ops::doctor::{DoctorReport, Finding};
use crate::ops::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Fix what is safe to fix (corrupt documents are moved aside, never deleted) and say what was done
    #[arg(long)]
    repair: bool,
}

/// Exit 0 when healthy (nothing found, or everything repaired), 1 when a
/// problem is left.
pub fn run(ctx: &Context, ui: &Ui, args: DoctorArgs) -> CmdResult {
    let report = ctx.doctor(args.repair)?;
    ui.emit(&report, || render(&report, args.repair))?;
    if report.healthy {
        Ok(())
    } else {
        Err(Failure::Reported(1))
    }
}

fn render(report: &DoctorReport, repair: bool) -> String {
    let mut out = String::new();
    for f in &report.problems {
        out.push_str(&render_finding(f));
    }
    let found = report.problems.len();
    let fixable = report.problems.iter().filter(|f| f.repair.is_some()).count();
    out.push_str(&match (found, repair) {
        (0, _) => "healthy: nothing to repair".to_string(),
        (_, true) => format!("repaired {} of {found} problem(s)", report.repaired),
        (_, false) if fixable > 0 => {
            format!("{found} problem(s); `git orchestrate doctor --repair` fixes {fixable} of them")
        }
        (_, false) => format!("{found} problem(s); none that --repair can fix (see each one above)"),
    });
    out
}

fn render_finding(f: &Finding) -> String {
    let mut out = format!("problem: {}\n", escape_control(&f.problem));
    let place = match (&f.refname, &f.path) {
        (Some(r), Some(p)) => format!("{r}:{p}"),
        (Some(r), None) => r.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => String::new(),
    };
    if !place.is_empty() {
        out.push_str(&format!("  at:     {}\n", escape_control(&place)));
    }
    match (&f.repair, f.repaired, &f.repair_error) {
        (Some(what), true, _) => out.push_str(&format!("  done:   {what}\n")),
        (Some(what), false, Some(e)) => out.push_str(&format!("  failed: {what}: {}\n", escape_control(e))),
        (Some(what), false, None) => out.push_str(&format!("  repair: {what}\n")),
        (None, _, _) => {}
    }
    if let Some(hint) = &f.hint {
        out.push_str(&format!("  hint:   {hint}\n"));
    }
    out
}
