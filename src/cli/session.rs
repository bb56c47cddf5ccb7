//! `git orchestrate session …` and `git orchestrate heartbeat`.

use super::output::{time, Style};
use super::{CmdResult, Failure, Ui};
use crate::model::names::escape_control;
use crate::model::session::{Pulse, SessionStatus};
use crate::model::time::format_duration;
use crate::ops::sessions::{Ended, SessionView, StartOptions};
use crate::ops::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Register a session and give it a worktree on branch orchestrate/<name>
    Start(StartArgs),
    /// List active sessions (live first, stale apart); --all adds ended ones
    List(ListArgs),
    /// Show one session (default: your own)
    Show(NameArgs),
    /// End a session: release its tasks and claims, remove its worktree (never its work)
    End(EndArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Session name: lowercase letters, digits, '.', '_' and '-' (default: a new readable one, printed)
    name: Option<String>,
    /// The session's role (claim --next --role picks its tasks)
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// A capability (repeatable)
    #[arg(long = "cap", value_name = "C")]
    caps: Vec<String>,
    /// Where the session's branch starts (default: HEAD)
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Register only; make no worktree
    #[arg(long, conflicts_with = "base")]
    no_worktree: bool,
    /// Claim this task for the session right away
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// Reattach to an active session of this name (a restarted agent)
    #[arg(long, requires = "name")]
    resume: bool,
    /// The branch this session's work lands on (default: the branch --base names,
    /// else the branch HEAD is on, else orchestrate.landInto)
    #[arg(long, value_name = "BRANCH")]
    into: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include ended sessions
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// Session name (default: the acting session)
    name: Option<String>,
}

#[derive(Debug, Args)]
pub struct EndArgs {
    /// Session names (default: the acting session)
    names: Vec<String>,
    /// Also end the sessions of agents that are over, and remove kept worktrees whose work has landed
    #[arg(long, conflicts_with = "delete_branch")]
    ended_agents: bool,
    /// Save uncommitted work as a commit on the branch the worktree has checked out, move nested repositories and changed include copies aside, then end
    #[arg(long)]
    force: bool,
    /// Delete the session's branch too; refused unless all of its work has landed
    #[arg(long)]
    delete_branch: bool,
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// What the session is doing now
    #[arg(long, value_name = "TEXT")]
    doing: Option<String>,
    /// Percent done, 0 to 100
    #[arg(long, value_name = "0-100", value_parser = super::task::percent, allow_negative_numbers = true)]
    progress: Option<u8>,
    /// Phase name (plan, code, test, review, …)
    #[arg(long, value_name = "P")]
    phase: Option<String>,
}

pub fn run(ctx: &Context, ui: &Ui, command: SessionCommand) -> CmdResult {
    match command {
        SessionCommand::Start(a) => start(ctx, ui, a),
        SessionCommand::List(a) => {
            let (sessions, corrupt) = ctx.list_sessions(a.all)?;
            for c in &corrupt {
                ui.warn(&format!("skipped {c} (`git orchestrate doctor --repair` moves it aside)"));
            }
            ui.emit(&sessions, || render_list(ctx, ui, &sessions))
        }
        SessionCommand::Show(a) => {
            let view = ctx.show_session(a.name.as_deref())?;
            ui.emit(&view, || render_one(ctx, &view))
        }
        SessionCommand::End(a) if a.delete_branch && a.names.len() > 1 => {
            Err(Failure::Invalid("--delete-branch ends one session at a time: give one name".into()))
        }
        SessionCommand::End(a) if a.delete_branch => {
            super::land::end_deleting_branch(ctx, ui, a.names.into_iter().next(), a.force)
        }
        SessionCommand::End(a) if a.names.len() > 1 || a.ended_agents => end_many(ctx, ui, a),
        SessionCommand::End(a) => {
            let ended = ctx.end_session(a.names.first().map(String::as_str), a.force)?;
            ui.emit(&ended, || render_ended(&ended))
        }
    }
}

/// Ends several sessions: one that cannot be ended does not keep the
/// others from ending; each failure is reported, and the exit code is the
/// first failure's.
fn end_many(ctx: &Context, ui: &Ui, a: EndArgs) -> CmdResult {
    let mut results: Vec<(String, crate::ops::Result<Ended>)> = Vec::new();
    if a.ended_agents {
        results.extend(ctx.end_sessions_of_ended_agents());
    }
    for name in &a.names {
        results.push((name.clone(), ctx.end_session(Some(name), a.force)));
    }
    let mut ended = Vec::new();
    let mut failed = Vec::new();
    let mut code = None;
    for (name, result) in results {
        match result {
            Ok(e) => ended.push(e),
            Err(e) => {
                let message = e.message();
                ui.warn(&format!("{name}: {message}"));
                failed.push(
                    serde_json::json!({ "session": name, "error": { "kind": e.kind(), "message": message } }),
                );
                code.get_or_insert(Failure::from(e).code());
            }
        }
    }
    let value = serde_json::json!({ "ended": ended, "failed": failed });
    ui.emit(&value, || match ended.is_empty() {
        true => "no session ended\n".to_string(),
        false => ended.iter().map(|e| render_ended(e) + "\n").collect(),
    })?;
    match code {
        Some(code) => Err(Failure::Reported(code)),
        None => Ok(()),
    }
}

fn render_ended(ended: &Ended) -> String {
    let mut out = format!("ended session {}", ended.session.name);
    for note in &ended.notes {
        out.push_str(&format!("\nnote: {note}"));
    }
    let branch = ended.saved_branch.as_deref().or(ended.session.branch.as_deref());
    match (&ended.saved_commit, &ended.saved_branch) {
        (Some(commit), _) => out
            .push_str(&format!("\nsaved uncommitted work as {commit} on {}", branch.unwrap_or("its branch"))),
        (None, Some(kept)) => out.push_str(&format!("\nkept the detached HEAD's commits on branch {kept}")),
        _ => {}
    }
    if let Some(backup) = &ended.backup {
        let ignored = match ended.moved.is_empty() {
            true => String::new(),
            false => format!(" (ignored files: {})", ended.moved.join(", ")),
        };
        out.push_str(&format!("\nfiles git does not track were kept in {backup}{ignored}"));
    }
    if !ended.released_tasks.is_empty() {
        out.push_str(&format!("\nreleased tasks: {}", ended.released_tasks.join(", ")));
    }
    if ended.released_claims > 0 {
        out.push_str(&format!("\nreleased {} claim(s)", ended.released_claims));
    }
    if let Some(branch) = &ended.session.branch {
        out.push_str(&format!("\nbranch {branch} is kept"));
    }
    if let Some(why) = &ended.session.worktree_kept {
        out.push_str(&format!("\nworktree kept: {why}"));
    }
    out
}

fn start(ctx: &Context, ui: &Ui, a: StartArgs) -> CmdResult {
    let named = a.name.is_some();
    let opts = StartOptions {
        name: a.name.unwrap_or_default(),
        role: a.role,
        capabilities: a.caps,
        base: a.base,
        no_worktree: a.no_worktree,
        task: a.task,
        resume: a.resume,
        into: a.into,
    };
    let started = match named {
        true => ctx.start_session(opts)?,
        false => ctx.start_session_named_for_me(opts)?,
    };
    for note in &started.notes {
        ui.warn(note);
    }
    if let Some(error) = &started.setup_error {
        ui.warn(&format!(
            "orchestrate.setup failed in the new worktree ({}); the session is started",
            error.trim()
        ));
    }
    let name = &started.session.name;
    ui.emit(&started, || match (&started.session.worktree, named) {
        (Some(path), true) => path.clone(),
        (Some(path), false) => format!("session {name}: {path}\n(act as it with --session {name})"),
        (None, _) => format!("session {name} registered (no worktree)"),
    })
}

pub fn heartbeat(ctx: &Context, ui: &Ui, a: HeartbeatArgs) -> CmdResult {
    let view = ctx.heartbeat(&Pulse { doing: a.doing, progress: a.progress, phase: a.phase })?;
    ui.emit(&view, || format!("{} heartbeat at {}", view.session.name, time(view.session.heartbeat_at)))
}

fn state(view: &SessionView) -> &'static str {
    match (view.session.status, view.stale) {
        (SessionStatus::Ended, _) => "ended",
        (_, true) => "stale",
        _ => "live",
    }
}

fn render_list(ctx: &Context, ui: &Ui, sessions: &[SessionView]) -> String {
    if sessions.is_empty() {
        return "no sessions: start one with `git orchestrate session start NAME`".to_string();
    }
    let now = ctx.now();
    let width = sessions.iter().map(|v| v.session.name.len()).max().unwrap_or(4);
    let mut out = String::new();
    let mut shown_stale_header = false;
    for view in sessions {
        let s = &view.session;
        if view.stale && !shown_stale_header {
            out.push_str(&ui.paint(Style::Dim, "stale (no heartbeat within orchestrate.staleAfter):\n"));
            shown_stale_header = true;
        }
        let st = state(view);
        let painted = match st {
            "live" => ui.paint(Style::Green, &format!("{st:<5}")),
            "stale" => ui.paint(Style::Yellow, &format!("{st:<5}")),
            _ => ui.paint(Style::Dim, &format!("{st:<5}")),
        };
        let role = s.role.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
        let task = s.task.as_deref().map(|t| format!(" on {t}")).unwrap_or_default();
        let doing = s.doing.as_deref().map(|d| format!(": {}", escape_control(d))).unwrap_or_default();
        let progress = s.progress.map(|p| format!(" {p}%")).unwrap_or_default();
        let host = other_host(ctx, s).map(|h| format!(" @{}", escape_control(h))).unwrap_or_default();
        out.push_str(&format!(
            "{:<width$}  {painted}  {:>4} ago{host}{role}{task}{progress}{doing}\n",
            s.name,
            format_duration(now - s.heartbeat_at)
        ));
    }
    out
}

fn render_one(ctx: &Context, view: &SessionView) -> String {
    let s = &view.session;
    let mut out = format!("{}  {}\n", s.name, state(view));
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<11}{v}\n"));
    if let Some(role) = &s.role {
        line("role:", role.clone());
    }
    if !s.capabilities.is_empty() {
        line("caps:", s.capabilities.join(", "));
    }
    if let Some(host) = &s.host {
        line("host:", escape_control(host));
    }
    if let Some(wt) = &s.worktree {
        line("worktree:", escape_control(wt));
    }
    if let Some(b) = &s.branch {
        line("branch:", escape_control(b));
    }
    if let Some(into) = &s.into {
        line("lands on:", into.clone());
    }
    if let Some(t) = &s.task {
        line("task:", t.clone());
    }
    if let Some(d) = &s.doing {
        line("doing:", escape_control(d));
    }
    if let Some(p) = s.progress {
        line("progress:", format!("{p}%"));
    }
    if let Some(p) = &s.phase {
        line("phase:", p.clone());
    }
    line("started:", time(s.started_at));
    line(
        "heartbeat:",
        format!("{} ({} ago)", time(s.heartbeat_at), format_duration(ctx.now() - s.heartbeat_at)),
    );
    out
}

/// The host of a session that runs on another machine, when sessions run on
/// several (a coordination remote is set).
pub(super) fn other_host<'s>(ctx: &Context, s: &'s crate::model::session::Session) -> Option<&'s str> {
    if !ctx.has_remote() {
        return None;
    }
    s.host.as_deref().filter(|h| *h != ctx.host())
}
