//! `git orchestrate spawn | ps | logs | stop | dispatch`: agents in the
//! background, each under a supervisor.

use super::output::Style;
use super::{CmdResult, Failure, Ui};
use crate::model::names::escape_control;
use crate::model::time::{format_duration, parse_duration};
use crate::ops::supervise::{
    AgentState, AgentView, DispatchEvent, DispatchOptions, HoldMode, SpawnOptions, DEFAULT_GRACE,
};
use crate::ops::Context;
use crate::os::process;
use crate::supervise::Phase;
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SpawnArgs {
    /// The agent's session name (created, or resumed with its worktree)
    name: String,
    /// Claim this task for the agent; it is marked done when the agent exits 0
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// The session's role (its preset comes from orchestrate.role.<role>.agent)
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    /// Start the agent again this many times after a failed run
    #[arg(long = "restart", value_name = "N", default_value_t = 0)]
    restarts: u32,
    /// Use the preset orchestrate.agent.<PRESET>.command instead of a command
    #[arg(long, value_name = "PRESET")]
    agent: Option<String>,
    /// Run in a window of a tmux session named after the repository, to watch live
    #[arg(long)]
    tmux: bool,
    /// Stop the agent after this long (e.g. 30m), recorded as timed out
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    timeout: Option<Duration>,
    /// Stop the agent once it has written nothing for this long (e.g. 5m)
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    idle_timeout: Option<Duration>,
    /// Start a new session's worktree from this branch, tag or commit (default: HEAD)
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The command to run, after `--`
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The agent's name
    name: String,
    /// Keep printing what the agent writes until it is over
    #[arg(short, long)]
    follow: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["name", "all"]))]
pub struct StopArgs {
    /// The agent's name
    name: Option<String>,
    /// Stop every running agent
    #[arg(long, conflicts_with = "name")]
    all: bool,
    /// How long to wait after SIGTERM before SIGKILL (default 10s)
    #[arg(long, value_name = "DURATION")]
    grace: Option<String>,
}

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// Most agents running at once
    #[arg(long, value_name = "N", default_value_t = 2)]
    max: usize,
    /// Only tasks of this role (repeatable); each role's preset is orchestrate.role.<role>.agent
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// Use this preset for every task instead of the role's
    #[arg(long, value_name = "PRESET")]
    agent: Option<String>,
    /// Restarts allowed to each agent after a failed run
    #[arg(long = "restart", value_name = "N", default_value_t = 0)]
    restarts: u32,
    /// Keep watching for new work instead of stopping when all is done
    #[arg(long)]
    watch: bool,
    /// Stop each agent after this long (e.g. 30m), recorded as timed out
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    timeout: Option<Duration>,
    /// Stop each agent once it has written nothing for this long (e.g. 5m)
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    idle_timeout: Option<Duration>,
    /// Let paused dispatchers start new agents again (after `stop --all`), then exit
    #[arg(long, conflicts_with_all = ["drain", "watch", "command"])]
    resume: bool,
    /// Have every dispatcher start nothing new and exit once its agents are over; wait for that
    #[arg(long, conflicts_with_all = ["watch", "command"])]
    drain: bool,
    /// A command to run for every task instead of a preset, after `--`
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The agent's folder under .git/orchestrate/agents/
    dir: PathBuf,
    /// Take over an agent whose supervisor died
    #[arg(long)]
    adopt: bool,
}

#[derive(Debug, Args)]
pub struct RunAgentArgs {
    /// Where to record how the command ended
    exit_file: PathBuf,
    /// The pid of the supervisor that starts the run
    #[arg(long)]
    supervisor: Option<u32>,
    /// The agent's command
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn spawn(ctx: &Context, ui: &Ui, a: SpawnArgs) -> CmdResult {
    let spawned = ctx.spawn(SpawnOptions {
        name: a.name,
        task: a.task,
        role: a.role,
        restarts: a.restarts,
        agent: a.agent,
        command: a.command,
        tmux: a.tmux,
        timeout: a.timeout,
        idle_timeout: a.idle_timeout,
        base: a.base,
        builds_on: None,
    })?;
    ui.emit(&spawned, || {
        let task = spawned.task.as_ref().map(|t| format!(" on {t}")).unwrap_or_default();
        let mut out = format!(
            "spawned {}{task}: pid {} in {}\nlog: {}\n",
            spawned.session,
            spawned.pid,
            spawned.worktree.display(),
            spawned.log.display()
        );
        if let Some(tmux) = &spawned.tmux {
            out.push_str(&format!("watch it: tmux attach -t {tmux}\n"));
        }
        out
    })
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Every agent ever spawned here, not only running and recently ended ones
    #[arg(long)]
    all: bool,
    /// First remove the records and logs of agents that ended more than a day ago
    #[arg(long)]
    prune: bool,
}

pub fn ps(ctx: &Context, ui: &Ui, a: PsArgs) -> CmdResult {
    if a.prune {
        let age =
            chrono::Duration::from_std(crate::ops::supervise::PRUNE_AFTER).unwrap_or(chrono::Duration::MAX);
        let pruned = ctx.prune_agents(age)?;
        if !pruned.is_empty() {
            eprintln!("pruned the records of {} agent(s): {}", pruned.len(), pruned.join(", "));
        }
    }
    let agents = ctx.list_agents_shown(a.all);
    let elsewhere = sessions_elsewhere(ctx);
    ui.emit(&agents, || {
        if agents.is_empty() {
            return format!(
                "no agents: start one with `git orchestrate spawn <name> -- <command>`\n{elsewhere}"
            );
        }
        let mut out = format!(
            "{:<20} {:<12} {:>8} {:<10} {:>8} {:>8}  {}\n",
            "SESSION", "TASK", "PID", "STATE", "RESTARTS", "UPTIME", "EXIT"
        );
        for a in &agents {
            let name = a.state.as_str();
            let state = match a.state {
                AgentState::Supervised(Phase::Running) => ui.paint(Style::Green, name),
                AgentState::Supervised(Phase::Failed) | AgentState::Lost => ui.paint(Style::Red, name),
                _ => name.to_string(),
            };
            let pad = " ".repeat(10usize.saturating_sub(name.len()));
            out.push_str(&format!(
                "{:<20} {:<12} {:>8} {state}{pad} {:>8} {:>8}  {}\n",
                a.session,
                a.task.as_deref().unwrap_or("-"),
                a.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                format!("{}/{}", a.restarts, a.max_restarts),
                a.uptime.map(|s| format_duration(chrono::Duration::seconds(s))).unwrap_or_else(|| "-".into()),
                exit_of(a),
            ));
        }
        out.push_str(&elsewhere);
        out
    })
}

/// Agents run on the machine that spawned them: with a coordination
/// remote, name the live sessions on other hosts, whose agents `ps` there
/// shows.
fn sessions_elsewhere(ctx: &Context) -> String {
    if !ctx.has_remote() {
        return String::new();
    }
    let Ok((sessions, _)) = ctx.list_sessions(false) else { return String::new() };
    let others: Vec<String> = sessions
        .iter()
        .filter_map(|v| {
            super::session::other_host(ctx, &v.session)
                .map(|h| format!("{} @{}", v.session.name, escape_control(h)))
        })
        .collect();
    if others.is_empty() {
        return String::new();
    }
    format!("on other hosts (run `git orchestrate ps` there): {}\n", others.join(", "))
}

fn exit_of(a: &AgentView) -> String {
    let exit = match (&a.exit, a.state) {
        (_, AgentState::Lost) => "supervisor gone".to_string(),
        (Some(e), _) if !a.is_active() => e.describe(),
        _ => "-".to_string(),
    };
    let mut notes = Vec::new();
    if a.supervisor_lost_at.is_some() && a.state != AgentState::Lost {
        notes.push("a supervisor was lost and replaced".to_string());
    }
    if !a.survivors.is_empty() {
        notes.push(format!("could not stop pids {:?}", a.survivors));
    }
    match notes.is_empty() {
        true => exit,
        false => format!("{exit} ({})", notes.join("; ")),
    }
}

pub fn logs(ctx: &Context, ui: &Ui, a: LogsArgs) -> CmdResult {
    let (dir, _) = ctx.agent(&a.name)?;
    let path = dir.log_file();
    let failed = |e: std::io::Error| Failure::Error(format!("cannot read {}: {e}", path.display()));
    if ui.json {
        let text = std::fs::read(&path).map_err(failed)?;
        let value =
            serde_json::json!({ "session": a.name, "log": path, "text": String::from_utf8_lossy(&text) });
        return ui.emit(&value, String::new);
    }
    let mut file = std::fs::File::open(&path).map_err(failed)?;
    let mut out = std::io::stdout().lock();
    // Whole lines only, so a character split between two reads is not
    // mangled; what the agent wrote is shown with control characters
    // escaped, so a log cannot repaint the terminal.
    let mut pending = Vec::new();
    loop {
        // Over (and not just its supervisor: a lost agent may write on).
        // Looked at before reading, so what it wrote until then is read.
        let over = !a.follow
            || ctx.agent(&a.name)?.1.is_none_or(|s| {
                s.phase.is_over() || (!s.supervisor.is_alive() && !s.agent.is_some_and(process::tree_alive))
            });
        let before = pending.len();
        file.read_to_end(&mut pending).map_err(failed)?;
        let grew = pending.len() > before;
        let upto = match (over && !grew, pending.iter().rposition(|&b| b == b'\n')) {
            (true, _) => pending.len(),
            (false, Some(newline)) => newline + 1,
            (false, None) => 0,
        };
        let text: String = String::from_utf8_lossy(&pending[..upto])
            .split_inclusive('\n')
            .map(|line| match line.strip_suffix('\n') {
                Some(line) => format!("{}\n", escape_control(line)),
                None => escape_control(line),
            })
            .collect();
        pending.drain(..upto);
        if out.write_all(text.as_bytes()).and_then(|_| out.flush()).is_err() {
            return Ok(()); // the reader went away (`logs -f | head`)
        }
        if over && !grew {
            return Ok(());
        }
        if !grew {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn stop(ctx: &Context, ui: &Ui, a: StopArgs) -> CmdResult {
    let grace =
        match &a.grace {
            None => DEFAULT_GRACE,
            Some(text) => parse_duration(text)
                .map_err(|e| Failure::Invalid(format!("--grace: {e}")))?
                .to_std()
                .map_err(|_| Failure::Invalid(format!("--grace {text}: give a duration like 5s or 1m")))?,
        };
    let Some(name) = a.name else { return stop_all(ctx, ui, grace) };
    let stopped = vec![ctx.stop_agent(&name, grace)?];
    ui.emit(&stopped, || render_stopped(&stopped))?;
    survivors_are_a_failure(ui, &stopped)
}

/// Processes that outlived SIGKILL (uninterruptible, or not ours to
/// signal) are said, and make the stop a failure (exit 3).
fn survivors_are_a_failure(ui: &Ui, stopped: &[AgentView]) -> CmdResult {
    let mut failed = false;
    for v in stopped.iter().filter(|v| !v.survivors.is_empty()) {
        ui.warn(&format!(
            "{}: could not stop pids {:?} (still alive after SIGKILL); end them by hand, see {}",
            v.session,
            v.survivors,
            v.log.display()
        ));
        failed = true;
    }
    match failed {
        true => Err(Failure::Reported(3)),
        false => Ok(()),
    }
}

/// Stops every running agent; one that cannot be stopped does not keep
/// the others running, and is reported.
fn stop_all(ctx: &Context, ui: &Ui, grace: Duration) -> CmdResult {
    let mut stopped = Vec::new();
    let mut failure = None;
    for (name, result) in ctx.stop_all_agents(grace) {
        match result {
            Ok(view) => stopped.push(view),
            // It ended by itself meanwhile: nothing to stop, not an error.
            Err(crate::ops::Error::Refused(_)) => {}
            Err(e) => {
                ui.warn(&format!("{name}: {e}"));
                failure.get_or_insert(Failure::from(e));
            }
        }
    }
    ui.emit(&stopped, || {
        render_stopped(&stopped) + "dispatchers paused: `git orchestrate dispatch --resume` lets them go on\n"
    })?;
    if let Err(e) = survivors_are_a_failure(ui, &stopped) {
        failure.get_or_insert(e);
    }
    match failure {
        Some(f) => Err(Failure::Reported(f.code())),
        None => Ok(()),
    }
}

fn render_stopped(stopped: &[AgentView]) -> String {
    if stopped.is_empty() {
        return "no agent is running: nothing to stop\n".to_string();
    }
    stopped.iter().map(|v| format!("stopped {} (was pid {})\n", v.session, pid(v))).collect()
}

fn pid(v: &AgentView) -> String {
    v.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
}

/// Reads `--timeout` and `--idle-timeout`.
fn timeout(text: &str) -> Result<Duration, String> {
    crate::ops::supervise::parse_timeout(text)
}

pub fn dispatch(ctx: &Context, ui: &Ui, a: DispatchArgs) -> CmdResult {
    if a.resume {
        let hold = ctx.resume_dispatchers()?;
        let value = serde_json::json!({ "resumed": hold.is_some(), "hold": hold });
        return ui.emit(&value, || match &hold {
            Some(h) => {
                format!("dispatchers resumed (held by {} since {})\n", h.by, super::output::time(h.at))
            }
            None => "no dispatcher was held: nothing to resume\n".to_string(),
        });
    }
    if a.drain {
        let mut events = Vec::new();
        ctx.drain_dispatchers(Duration::from_millis(250), |event| {
            if !ui.json {
                println!("{}", describe(event));
            }
            events.push(event.clone());
        })?;
        return ui.emit(&events, String::new);
    }
    let opts = DispatchOptions {
        max: a.max,
        roles: a.roles,
        watch: a.watch,
        restarts: a.restarts,
        agent: a.agent,
        command: a.command,
        poll: Duration::from_millis(250),
        timeout: a.timeout,
        idle_timeout: a.idle_timeout,
        once: false,
    };
    let mut events = Vec::new();
    let watch = opts.watch;
    ctx.dispatch(&opts, |event| {
        // Watching never ends, so JSON comes as one line per event then.
        if ui.json && watch {
            println!("{}", serde_json::to_string(event).unwrap_or_default());
        } else if !ui.json {
            println!("{}", describe(event));
        }
        events.push(event.clone());
    })?;
    if ui.json {
        ui.emit(&events, String::new)?;
    } else if events.is_empty() {
        println!("nothing to dispatch: no ready task (add work with `git orchestrate task add`)");
    }
    // Tasks nothing could run stay open: say so, and exit 1.
    let unrun: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            DispatchEvent::CannotRun { tasks, .. } => Some(tasks.join(", ")),
            _ => None,
        })
        .collect();
    // Agents that failed leave their tasks failed and dependents blocked:
    // say so, and exit 1, so a script sees the work is not all done.
    let failed: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            DispatchEvent::Finished { task: Some(task), state, .. }
                if *state != AgentState::Supervised(Phase::Exited) =>
            {
                Some(task.clone())
            }
            _ => None,
        })
        .collect();
    if !unrun.is_empty() {
        eprintln!(
            "error: not all done: nothing could run {}; they stay open (fix the preset, then dispatch again)",
            unrun.join(", ")
        );
    }
    if failed.is_empty() {
        return if unrun.is_empty() { Ok(()) } else { Err(Failure::Reported(1)) };
    }
    eprintln!(
        "error: not all done: the agents for {} did not finish; tasks that depend on them wait \
         (see `git orchestrate task list --all` and `git orchestrate logs <session>`)",
        failed.join(", ")
    );
    Err(Failure::Reported(1))
}

fn describe(event: &DispatchEvent) -> String {
    match event {
        DispatchEvent::Spawned(s) => format!(
            "spawned {} for {} (pid {}, log {})",
            s.session,
            s.task.as_deref().unwrap_or("-"),
            s.pid,
            s.log.display()
        ),
        DispatchEvent::Skipped { task, reason, .. } => format!("skipped {task}: {}", escape_control(reason)),
        DispatchEvent::CannotRun { role, reason, tasks } => format!(
            "cannot run {} task(s) of {} ({}): {}",
            tasks.len(),
            role.as_deref().map(|r| format!("role {r}")).unwrap_or_else(|| "no role".into()),
            tasks.join(", "),
            escape_control(reason)
        ),
        DispatchEvent::Held(hold) => format!(
            "{} by {}: starting nothing new",
            match hold.mode {
                HoldMode::Pause => "paused",
                HoldMode::Drain => "draining",
            },
            escape_control(&hold.by)
        ),
        DispatchEvent::Resumed => "resumed".to_string(),
        DispatchEvent::Finished { session, task, state, exit } => format!(
            "{session} {state}{} on {}",
            exit.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
            task.as_deref().unwrap_or("-")
        ),
    }
}

/// The supervisor process: runs until its agent is over.
pub fn supervise(a: SuperviseArgs) -> CmdResult {
    crate::ops::supervise::supervise(&a.dir, a.adopt)?;
    Ok(())
}

/// The wrapper of one agent run: exits as the agent did.
pub fn run_agent(a: RunAgentArgs) -> CmdResult {
    match crate::supervise::wrapper::run(&a.exit_file, a.supervisor, &a.command) {
        0 => Ok(()),
        code => Err(Failure::Reported(code)),
    }
}
