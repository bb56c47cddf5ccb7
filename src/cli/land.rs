//! `git orchestrate land`: bring sessions' work into their target branch,
//! directly or through the shared landing queue.

use super::{CmdResult, Failure, Ui};
use crate::model::land::{LandMode, QueueEntry, QueueState};
use crate::model::names::escape_control;
use crate::ops::land::queue::QueueLanding;
use crate::ops::land::{LandOptions, LandOutcome, Status};
use crate::ops::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct LandArgs {
    /// Sessions whose branches to land (default: the acting session)
    #[arg(value_name = "SESSION", conflicts_with_all = ["next", "all", "list"])]
    sessions: Vec<String>,
    /// The branch to land on (default: the session's target, see `session start --into`)
    #[arg(long, value_name = "BRANCH", conflicts_with_all = ["next", "all", "list"])]
    into: Option<String>,
    /// One commit on the target with the branch's changes and task trailers
    #[arg(long, conflicts_with_all = ["merge", "rebase", "list"])]
    squash: bool,
    /// A merge commit naming the session, its task and its commits (the default)
    #[arg(long, conflicts_with_all = ["rebase", "list"])]
    merge: bool,
    /// The branch's commits replayed on the target, authors kept
    #[arg(long, conflicts_with = "list")]
    rebase: bool,
    /// Command that must pass in a temporary worktree of the result (default: orchestrate.landCheck)
    #[arg(long, value_name = "CMD", conflicts_with_all = ["queue", "list"])]
    check: Option<String>,
    /// Add the sessions' current branch heads to the landing queue instead
    #[arg(long, conflicts_with_all = ["next", "all", "list"])]
    queue: bool,
    /// Land the oldest queued entry (waits while another lander is on the one before)
    #[arg(long, conflicts_with_all = ["all", "list"])]
    next: bool,
    /// Land every queued entry in order; entries that cannot land are set aside
    #[arg(long, conflicts_with = "list")]
    all: bool,
    /// Show the landing queue
    #[arg(long)]
    list: bool,
}

impl LandArgs {
    fn mode(&self) -> Option<LandMode> {
        match (self.squash, self.merge, self.rebase) {
            (true, _, _) => Some(LandMode::Squash),
            (_, true, _) => Some(LandMode::Merge),
            (_, _, true) => Some(LandMode::Rebase),
            _ => None,
        }
    }

    fn options(&self) -> LandOptions {
        LandOptions { into: self.into.clone(), mode: self.mode(), check: self.check.clone() }
    }
}

pub fn run(ctx: &Context, ui: &Ui, args: LandArgs) -> CmdResult {
    if (args.next || args.all) && args.mode().is_some() {
        return Err(Failure::Invalid(
            "--next and --all land each entry in the mode it was queued with: queue it again with the mode you want"
                .into(),
        ));
    }
    let opts = args.options();
    if args.list {
        let entries = ctx.queue_list()?;
        return ui.emit(&entries, || render_queue(&entries));
    }
    if args.queue {
        let queued = ctx.queue_landing(&args.sessions, &opts)?;
        let waiting = ctx.queue_list()?;
        return ui.emit(&queued, || {
            queued
                .iter()
                .map(|q| {
                    let place = waiting
                        .iter()
                        .filter(|e| e.state != QueueState::SetAside)
                        .position(|e| e.seq == q.entry.seq)
                        .map(|i| format!(", number {} in line", i + 1))
                        .unwrap_or_default();
                    format!(
                        "{} {} ({} at {}) to land on {} by {}{place}",
                        q.action,
                        q.entry.id(),
                        q.entry.session,
                        &q.entry.head[..10],
                        q.entry.into,
                        q.entry.mode
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    }
    if args.next {
        let Some(landing) = ctx.land_next(&opts)? else {
            return Err(crate::ops::Error::refusal(
                crate::ops::Reason::QueueEmpty,
                "the landing queue is empty",
            )
            .into());
        };
        ui.emit(&landing, || render_queue_landing(&landing))?;
        return queue_exit(ui, std::slice::from_ref(&landing));
    }
    if args.all {
        let landings = ctx.land_all(&opts)?;
        ui.emit(&landings, || match landings.is_empty() {
            true => "the landing queue is empty: nothing to land".to_string(),
            false => landings.iter().map(render_queue_landing).collect::<Vec<_>>().join("\n"),
        })?;
        return queue_exit(ui, &landings);
    }
    let outcomes = ctx.land(&args.sessions, &opts)?;
    // Text: what landed on stdout, what did not on stderr.
    let landed: Vec<String> = outcomes.iter().filter(|o| o.is_landed()).map(render_outcome).collect();
    ui.emit(&outcomes, || landed.join("\n"))?;
    for o in outcomes.iter().flat_map(|o| &o.warnings) {
        ui.warn(o);
    }
    let failed: Vec<&LandOutcome> = outcomes.iter().filter(|o| !o.is_landed()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    for o in &failed {
        eprintln!("error: {}", render_outcome(o));
    }
    Err(Failure::Reported(1))
}

fn queue_exit(ui: &Ui, landings: &[QueueLanding]) -> CmdResult {
    for w in landings.iter().filter_map(|l| l.outcome.as_ref()).flat_map(|o| &o.warnings) {
        ui.warn(w);
    }
    let failed: Vec<&QueueLanding> = landings.iter().filter(|l| l.result != "landed").collect();
    if failed.is_empty() {
        return Ok(());
    }
    for l in &failed {
        eprintln!(
            "error: {} ({}): {}",
            l.entry.id(),
            l.entry.session,
            l.reason.as_deref().unwrap_or(l.result)
        );
    }
    Err(Failure::Reported(1))
}

fn render_outcome(o: &LandOutcome) -> String {
    match (o.status, &o.landed) {
        (Status::Landed, Some(l)) => {
            let how = if l.fast_forward { "fast-forward".to_string() } else { l.mode.to_string() };
            let mut out = format!("landed {} on {} at {} ({how})", o.session, o.into, &l.commit[..10]);
            if let Some(checkout) = &o.checkout {
                out.push_str(&format!("\nbrought {checkout} forward"));
            }
            if let Some(check) = &o.check {
                out.push_str(&format!("\ncheck `{}` passed", check.command));
            }
            if !o.tasks.is_empty() {
                out.push_str(&format!("\nrecorded on {}", o.tasks.join(", ")));
            }
            out
        }
        (Status::Conflict, _) => {
            let mut out = format!("{}: nothing landed: {} conflicts with {}:", o.session, o.branch, o.into);
            for c in &o.conflicts {
                let other = match (&c.commit, &c.session) {
                    (Some(commit), Some(s)) => format!(" (changed by {} from session {s})", &commit[..10]),
                    (Some(commit), None) => format!(" (changed by {})", &commit[..10]),
                    _ => String::new(),
                };
                out.push_str(&format!("\n  {}{other}", escape_control(&c.path)));
            }
            out.push_str(&format!(
                "\n{} was told: rebase {} onto {} and land again",
                o.session, o.branch, o.into
            ));
            out
        }
        (Status::CheckFailed, _) => {
            let mut out = format!("{}: nothing landed: {}", o.session, o.reason.as_deref().unwrap_or(""));
            if let Some(check) = &o.check {
                out.push_str("\n--- last lines of its output ---\n");
                out.push_str(&escape_control_keep_lines(&check.output));
            }
            out
        }
        _ => format!("{}: {}", o.session, o.reason.as_deref().unwrap_or(o.status.as_str())),
    }
}

fn render_queue_landing(l: &QueueLanding) -> String {
    let head = format!("{} ({} at {})", l.entry.id(), l.entry.session, &l.entry.head[..10]);
    match (l.result, &l.outcome) {
        ("landed", Some(o)) if o.status == Status::NothingToLand => {
            format!("{head}: already on {}, removed from the queue", o.into)
        }
        ("landed", Some(o)) => format!("{head}: {}", render_outcome(o)),
        ("set_aside", _) => format!("{head}: set aside: {}", l.reason.as_deref().unwrap_or("")),
        (_, _) => format!("{head}: put back in the queue: {}", l.reason.as_deref().unwrap_or("")),
    }
}

fn render_queue(entries: &[QueueEntry]) -> String {
    if entries.is_empty() {
        return "the landing queue is empty".to_string();
    }
    let mut out = String::new();
    for e in entries {
        let state = match (&e.state, &e.lander) {
            (QueueState::Landing, Some(l)) => format!("landing by {} (pid {})", l.name, l.pid),
            (QueueState::SetAside, _) => {
                format!("set aside: {}", escape_control(e.reason.as_deref().unwrap_or("")))
            }
            (state, _) => state.as_str().to_string(),
        };
        let task = e.task.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        out.push_str(&format!(
            "{:<6} {:<16} {} -> {} {}{task}  queued by {}  {state}\n",
            e.id(),
            e.session,
            &e.head[..10],
            e.into,
            e.mode,
            e.queued_by
        ));
    }
    out
}

/// Output of a command: controls escaped, line breaks kept.
fn escape_control_keep_lines(text: &str) -> String {
    crate::model::names::escape_lines(text, "").trim_end_matches('\n').to_string()
}

/// `session end --delete-branch`.
pub(crate) fn end_deleting_branch(ctx: &Context, ui: &Ui, name: Option<String>, force: bool) -> CmdResult {
    let result = ctx.end_session_deleting_branch(name.as_deref(), force)?;
    ui.emit(&result, || {
        let mut out = format!("ended session {}", result.ended.session.name);
        for note in &result.ended.notes {
            out.push_str(&format!("\nnote: {note}"));
        }
        if let Some(commit) = &result.ended.saved_commit {
            out.push_str(&format!("\nsaved uncommitted work as {commit}"));
        }
        if let Some(backup) = &result.ended.backup {
            out.push_str(&format!("\nfiles git does not track were kept in {backup}"));
        }
        match &result.deleted_branch {
            Some(branch) => out.push_str(&format!("\ndeleted branch {branch}: all of its work has landed")),
            None => out.push_str("\nthe branch is kept"),
        }
        out
    })
}
