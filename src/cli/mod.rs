//! The `git orchestrate` command line: one file per command, each with an
//! `XxxArgs` (clap derive; doc comments become the help) and a `run`.
//!
//! Output goes through [`Ui`]: human text by default, one JSON value on
//! stdout with `--json`. Errors print once on stderr (and as a JSON object
//! on stdout with `--json`) and map to the exit codes of the contract.

mod agent_hook;
mod board;
mod board_serve;
mod claim;
mod completions;
mod conflicts;
mod doctor;
mod hints;
mod hooks;
mod init;
mod integrate;
pub(crate) mod land;
mod lead;
mod log;
mod mcp;
mod message;
mod output;
mod prompt;
mod session;
mod supervise;
mod sync;
mod task;

pub use output::Ui;

use crate::ops::{self, Context};
use crate::store::{Store, StoreError};
use clap::{Parser, Subcommand};

/// Coordinate AI coding agents on one repository, with git as the coordinator.
#[derive(Debug, Parser)]
#[command(name = "git-orchestrate", bin_name = "git orchestrate", version, max_term_width = 100)]
pub struct Cli {
    /// Print one JSON value on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Act as this session (else $ORCHESTRATE_SESSION)
    #[arg(long, global = true, value_name = "NAME")]
    pub session: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up refs/orchestrate/meta in this repository (idempotent)
    Init,
    /// One screen: sessions, tasks, claims and recent messages
    Board(board::BoardArgs),
    /// Start, list, show and end agent sessions (each with its own worktree)
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Record that the acting session is alive, and what it is doing
    Heartbeat(session::HeartbeatArgs),
    /// Add, list, claim and finish tasks in the shared queue
    #[command(subcommand)]
    Task(Box<task::TaskCommand>),
    /// Claim paths (files, dir/, globs) so other sessions keep off them
    Claim(claim::ClaimArgs),
    /// Release claims: the given patterns, or --all
    Release(claim::ReleaseArgs),
    /// List the claims in force
    Claims(claim::ClaimsArgs),
    /// Exit 1 naming the holder if another live session claims one of these paths
    Check(claim::CheckArgs),
    /// Send a message to a session, to all, or to role:<r>
    Send(message::SendArgs),
    /// Which live sessions' changes (committed or not) overlap, and which would conflict
    Conflicts(conflicts::ConflictsArgs),
    /// Read your unread messages (own box, all, your role's), oldest first
    Inbox(message::InboxArgs),
    /// Every event of every collection in one timeline, newest first
    Log(log::LogArgs),
    /// Check the coordination state for damage; --repair fixes what is safe (exit 1: problems left)
    Doctor(doctor::DoctorArgs),
    /// Fetch the coordination refs from orchestrate.remote and say what changed
    Sync,
    /// Install, remove or inspect the git hooks (commit trailers, claim guard)
    #[command(subcommand)]
    Hooks(hooks::HooksCommand),
    /// Run one git hook or agent hook (what the installed scripts and agent settings call)
    Hook(hooks::HookArgs),
    /// Start an agent command in the background, in its own session and worktree
    Spawn(supervise::SpawnArgs),
    /// List running and recently ended agents: task, pid, state, restarts, uptime, exit
    Ps(supervise::PsArgs),
    /// Show (or follow, -f) an agent's output
    Logs(supervise::LogsArgs),
    /// Stop an agent (SIGTERM to all its processes, then SIGKILL), or --all
    Stop(supervise::StopArgs),
    /// Spawn agents for ready tasks, up to --max at once, until all is done
    Dispatch(supervise::DispatchArgs),
    /// Supervise one spawned agent (what spawn starts; not for people)
    #[command(hide = true)]
    Supervise(supervise::SuperviseArgs),
    /// Take, release or show the lead: the one session that coordinates the others
    Lead(lead::LeadArgs),
    /// Print a completion script for bash (with `git orchestrate <TAB>`), zsh or fish
    Completions(completions::CompletionsArgs),
    /// Run one agent run and record its exit status (what the supervisor starts; not for people)
    #[command(hide = true)]
    RunAgent(supervise::RunAgentArgs),
    /// Serve these operations as MCP tools on stdio (for Claude Code and other agents)
    Mcp(mcp::McpArgs),
    /// Print the instructions an agent needs to take part (or put them in AGENTS.md, CLAUDE.md, GEMINI.md)
    Prompt(prompt::PromptArgs),
    /// Put our hooks and MCP server in a coding agent's settings (or take them out)
    Integrate(integrate::IntegrateArgs),
    /// Land sessions' work on their target branch (merge, squash or rebase), or queue it
    Land(land::LandArgs),
}

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Refused by coordination: exit 1.
    Refused(ops::Refusal),
    /// Bad input or usage: exit 2.
    Invalid(String),
    /// Anything else: exit 3.
    Error(String),
    /// The command already said why on stderr (and stdout): exit with this code.
    Reported(i32),
}

impl Failure {
    fn code(&self) -> i32 {
        match self {
            Failure::Refused(_) => 1,
            Failure::Invalid(_) => 2,
            Failure::Error(_) => 3,
            Failure::Reported(code) => *code,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Failure::Refused(_) => "refused",
            Failure::Invalid(_) => "invalid",
            Failure::Error(_) | Failure::Reported(_) => "error",
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Refused(r) => &r.message,
            Failure::Invalid(m) | Failure::Error(m) => m,
            Failure::Reported(_) => "",
        }
    }
}

impl From<ops::Error> for Failure {
    fn from(e: ops::Error) -> Failure {
        match e {
            ops::Error::Invalid(i) => Failure::Invalid(i.0),
            ops::Error::Refused(m) => Failure::Refused(m),
            ops::Error::Store(s) => s.into(),
            ops::Error::Failed(m) => Failure::Error(m),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            // A coordination remote that is not one is a configuration mistake.
            StoreError::BadRemote { .. } => Failure::Invalid(ops::error_chain(&e)),
            e => Failure::Error(ops::error_chain(&e)),
        }
    }
}

impl From<crate::model::Invalid> for Failure {
    fn from(e: crate::model::Invalid) -> Failure {
        Failure::Invalid(e.0)
    }
}

pub type CmdResult = Result<(), Failure>;

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: not errors.
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            let _ = e.print();
            if wants_json() {
                // clap's message without its usage and help footer, on one line
                // ("the following required arguments were not provided: <ID>").
                let detail = e.render().to_string();
                let message: Vec<&str> = detail
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                    .filter(|l| !l.is_empty())
                    .collect();
                Ui::new(true).error_json_only("invalid", message.join(" ").trim_start_matches("error: "));
            }
            return 2;
        }
    };
    let ui = Ui::new(cli.json);
    match run(cli, &ui) {
        Ok(()) => 0,
        Err(Failure::Reported(code)) => code,
        Err(Failure::Refused(refusal)) => {
            ui.refusal(&refusal, &hints::for_refusal(&refusal.reason));
            1
        }
        Err(failure) => {
            ui.error(failure.kind(), failure.message());
            failure.code()
        }
    }
}

/// Whether `--json` was given, for errors found before parsing succeeded.
fn wants_json() -> bool {
    std::env::args().skip(1).take_while(|a| a != "--").any(|a| a == "--json")
}

fn run(cli: Cli, ui: &Ui) -> CmdResult {
    // A supervisor changes the board as its agent starts and ends.
    crate::ops::on_change(refresh_status_file);
    // Agent hooks find their repository from the payload's folder.
    if let Command::Hook(args) = &cli.command {
        if let Some(agent) = crate::agent_hooks::Agent::from_name(&args.name) {
            return agent_hook::run(agent, args.args.first().map(String::as_str), cli.session.clone());
        }
    }
    let context = || -> Result<Context, Failure> {
        let store = Store::open_from_env()?;
        Ok(Context::new(store, cli.session.clone())?)
    };
    // The supervisor finds its repository and session in its spec.
    if let Command::Supervise(args) = cli.command {
        return supervise::supervise(args);
    }
    if let Command::RunAgent(args) = cli.command {
        return supervise::run_agent(args);
    }
    // A completion script needs no repository.
    if let Command::Completions(args) = cli.command {
        return completions::run(ui, args);
    }
    let ctx = match (context(), &cli.command) {
        (Ok(ctx), _) => ctx,
        // A hook never blocks a commit because the coordinator is broken.
        (Err(failure), Command::Hook(_)) => {
            eprintln!("git-orchestrate: hook skipped: {}", failure.message());
            return Ok(());
        }
        (Err(failure), _) => return Err(failure),
    };
    let result = match cli.command {
        Command::Init => init::run(&ctx, ui),
        Command::Board(args) => board::run(&ctx, ui, args),
        Command::Session(cmd) => session::run(&ctx, ui, cmd),
        Command::Heartbeat(args) => session::heartbeat(&ctx, ui, args),
        Command::Task(cmd) => task::run(&ctx, ui, *cmd),
        Command::Claim(args) => claim::claim(&ctx, ui, args),
        Command::Release(args) => claim::release(&ctx, ui, args),
        Command::Claims(args) => claim::claims(&ctx, ui, args),
        Command::Check(args) => claim::check(&ctx, ui, args),
        Command::Send(args) => message::send(&ctx, ui, args),
        Command::Inbox(args) => message::inbox(&ctx, ui, args),
        Command::Conflicts(args) => conflicts::run(&ctx, ui, args),
        Command::Log(args) => log::run(&ctx, ui, args),
        Command::Doctor(args) => doctor::run(&ctx, ui, args),
        Command::Sync => sync::run(&ctx, ui),
        Command::Hooks(cmd) => hooks::hooks(&ctx, ui, cmd),
        Command::Hook(args) => hooks::hook(&ctx, ui, args),
        Command::Spawn(args) => supervise::spawn(&ctx, ui, args),
        Command::Ps(args) => supervise::ps(&ctx, ui, args),
        Command::Logs(args) => supervise::logs(&ctx, ui, args),
        Command::Stop(args) => supervise::stop(&ctx, ui, args),
        Command::Dispatch(args) => supervise::dispatch(&ctx, ui, args),
        Command::Supervise(_) | Command::RunAgent(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
        Command::Lead(args) => lead::run(&ctx, ui, args),
        Command::Mcp(args) => mcp::run(&ctx, args),
        Command::Integrate(args) => integrate::run(&ctx, ui, args),
        Command::Prompt(args) => prompt::run(&ctx, ui, args),
        Command::Land(args) => land::run(&ctx, ui, args),
    };
    // Any command a session runs counts as a sign of life (at most one
    // write per interval; never fails the command).
    if result.is_ok() {
        ctx.touch();
    }
    // The status board follows every write, whether the command
    // succeeded or not (a refusal may still have written on its way).
    refresh_status_file(&ctx);
    result
}

/// Rewrites `orchestrate.statusFile` if a write happened since it was last
/// written; a failure is said, never fatal.
fn refresh_status_file(ctx: &Context) {
    if let Err(e) = ctx.refresh_status_file() {
        eprintln!("git-orchestrate: orchestrate.statusFile not updated: {}", e.message());
    }
}
