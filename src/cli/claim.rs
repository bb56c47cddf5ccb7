//! `git orchestrate claim | release | claims | check`: leases on paths.

use super::output::{time, Style};
use super::{CmdResult, Failure, Ui};
use crate::model::claim::ClaimMode;
use crate::model::names::escape_control;
use crate::model::time::format_duration;
use crate::ops::claims::{ClaimRequest, ClaimView};
use crate::ops::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// Files, directories (ending in /) or globs (src/**/*.rs), relative to the current folder
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// How long the lease lasts without activity (default 2h, at most 365d)
    #[arg(long, value_name = "DURATION")]
    ttl: Option<String>,
    /// A notice that others may share, not a lock
    #[arg(long)]
    shared: bool,
    /// Why, shown to whoever is refused
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// The task the claim is for
    #[arg(long, value_name = "ID")]
    task: Option<String>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["paths", "all"]))]
pub struct ReleaseArgs {
    /// The claimed patterns to release
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// Release every claim the session holds
    #[arg(long, conflicts_with = "paths")]
    all: bool,
}

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// Include expired claims
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files, folders or globs to check, relative to the current folder
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
}

pub fn claim(ctx: &Context, ui: &Ui, a: ClaimArgs) -> CmdResult {
    let req = ClaimRequest { paths: a.paths, ttl: a.ttl, shared: a.shared, reason: a.reason, task: a.task };
    let claims = ctx.claim_paths(&req)?;
    ui.emit(&claims, || {
        claims
            .iter()
            .map(|c| {
                format!(
                    "claimed {} ({}, until {})",
                    escape_control(c.path.as_str()),
                    c.mode,
                    time(c.expires_at)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

pub fn release(ctx: &Context, ui: &Ui, a: ReleaseArgs) -> CmdResult {
    let released = ctx.release_paths(&a.paths, a.all)?;
    ui.emit(&released, || {
        if released.is_empty() {
            return "no claims to release".to_string();
        }
        released
            .iter()
            .map(|c| format!("released {}", escape_control(c.path.as_str())))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

pub fn claims(ctx: &Context, ui: &Ui, a: ClaimsArgs) -> CmdResult {
    let claims = ctx.list_claims(a.all)?;
    ui.emit(&claims, || render(ctx, ui, &claims))
}

pub fn check(ctx: &Context, ui: &Ui, a: CheckArgs) -> CmdResult {
    let report = ctx.check_paths(&a.paths)?;
    if report.free {
        return ui.emit(&report, || "free: no other live session holds these paths".to_string());
    }
    if ui.json {
        ui.emit(&report, String::new)?;
    }
    let now = ctx.now();
    for c in &report.conflicts {
        let reason =
            c.claim.reason.as_deref().map(|r| format!(" ({})", escape_control(r))).unwrap_or_default();
        eprintln!(
            "{} is claimed by {} with '{}'{reason}, expires in {}",
            escape_control(&c.file),
            c.claim.session,
            escape_control(c.claim.path.as_str()),
            format_duration(c.claim.expires_at - now)
        );
    }
    Err(Failure::Reported(1))
}

fn render(ctx: &Context, ui: &Ui, claims: &[ClaimView]) -> String {
    if claims.is_empty() {
        return "no claims".to_string();
    }
    let now = ctx.now();
    let paths: Vec<String> = claims.iter().map(|c| escape_control(c.claim.path.as_str())).collect();
    let width = paths.iter().map(|p| p.chars().count()).max().unwrap_or(4);
    let mut out = String::new();
    for (view, path) in claims.iter().zip(&paths) {
        let c = &view.claim;
        let state = if view.expired {
            ui.paint(Style::Dim, "expired")
        } else if !view.live {
            ui.paint(Style::Yellow, "stale  ")
        } else {
            ui.paint(Style::Green, "live   ")
        };
        let mode = match c.mode {
            ClaimMode::Exclusive => "exclusive",
            ClaimMode::Shared => "shared   ",
        };
        let reason = c.reason.as_deref().map(|r| format!("  {}", escape_control(r))).unwrap_or_default();
        let task = c.task.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default();
        out.push_str(&format!(
            "{:<width$}  {mode}  {state}  {:<12} {:>4} left{task}{reason}\n",
            path,
            c.session,
            format_duration(c.expires_at - now),
        ));
    }
    out
}
