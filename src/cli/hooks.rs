//! `git orchestrate hooks install|uninstall|status`, and `git orchestrate
//! hook <name>`: the entry points the installed scripts call.

use super::{CmdResult, Failure, Ui};
use crate::hooks::HookState;
use crate::ops::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Install the pre-commit, prepare-commit-msg and post-commit hooks (keeping yours)
    Install,
    /// Remove them and put back the hooks you had
    Uninstall,
    /// Say what is installed where
    Status,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// pre-commit, prepare-commit-msg or post-commit (git); claude, codex or gemini (agents)
    pub(super) name: String,
    /// The arguments git gave the hook; for an agent, the event (PreToolUse, SessionStart, Stop, ...)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(super) args: Vec<String>,
}

pub fn hooks(ctx: &Context, ui: &Ui, command: HooksCommand) -> CmdResult {
    let (dir, states, verb) = match command {
        HooksCommand::Install => {
            let (dir, states) = ctx.hooks_install()?;
            (dir, states, "installed")
        }
        HooksCommand::Uninstall => {
            let (dir, states) = ctx.hooks_uninstall()?;
            (dir, states, "uninstalled")
        }
        HooksCommand::Status => {
            let (dir, states) = ctx.hooks_status();
            (dir, states, "status")
        }
    };
    let json = serde_json::json!({ "dir": dir, "hooks": states });
    ui.emit(&json, || render(&dir, &states, verb))
}

fn render(dir: &Path, states: &[HookState], verb: &str) -> String {
    let mut out = match verb {
        "status" => format!("hooks in {}\n", dir.display()),
        v => format!("{v} in {}\n", dir.display()),
    };
    for s in states {
        let state = match (s.installed, s.foreign) {
            (true, _) => "git-orchestrate",
            (false, true) => "yours (git-orchestrate not installed)",
            (false, false) => "none",
        };
        let saved = match (&s.saved, s.saved_runs) {
            (Some(p), true) => format!("; yours runs first: {}", name(p)),
            (Some(p), false) if s.installed => {
                format!("; yours is kept as {} but not run: it is not executable", name(p))
            }
            (Some(p), false) => format!("; an earlier hook is kept as {} but nothing runs it", name(p)),
            (None, _) => String::new(),
        };
        out.push_str(&format!("  {:<19} {state}{saved}\n", s.hook));
    }
    out
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Runs one hook. Only a real claim conflict in pre-commit fails (exit 1);
/// any other problem is reported on stderr and the commit goes on.
pub fn hook(ctx: &Context, ui: &Ui, a: HookArgs) -> CmdResult {
    if matches!(a.name.as_str(), "pre-commit" | "prepare-commit-msg" | "post-commit") {
        // A commit waits for these: a slow or dead coordination remote may
        // cost it seconds, never the 30 s a write would otherwise wait.
        ctx.limit_remote_wait(crate::store::remote::HOOK_TIMEOUT);
    }
    match a.name.as_str() {
        "pre-commit" => match ctx.hook_pre_commit() {
            Ok(conflicts) if conflicts.is_empty() => Ok(()),
            Ok(conflicts) => {
                let now = ctx.now();
                eprintln!("git-orchestrate: this commit touches paths another session has claimed:");
                for c in &conflicts {
                    eprintln!("  {}", c.describe(now));
                }
                eprintln!("Ask the holder (`git orchestrate send <holder> ...`), unstage those paths, or commit with --no-verify.");
                Err(Failure::Reported(1))
            }
            Err(e) => {
                eprintln!("git-orchestrate: pre-commit check skipped: {e}");
                Ok(())
            }
        },
        "prepare-commit-msg" => {
            let Some(file) = a.args.first() else {
                return Err(Failure::Invalid(
                    "prepare-commit-msg needs the message file git passes it".into(),
                ));
            };
            if let Err(e) =
                ctx.hook_prepare_commit_msg(&PathBuf::from(file), a.args.get(1).map(String::as_str))
            {
                eprintln!("git-orchestrate: no Task trailer added: {e}");
            }
            Ok(())
        }
        "post-commit" => {
            match ctx.hook_post_commit() {
                Ok(report) => {
                    for w in &report.warnings {
                        eprintln!("git-orchestrate: {w}");
                    }
                    if !report.closed.is_empty() && !ui.json {
                        eprintln!("git-orchestrate: closed {}", report.closed.join(", "));
                    }
                    for c in report.conflicts.iter().filter(|_| !ui.json) {
                        eprintln!(
                            "git-orchestrate: this commit conflicts with {}'s work on {}; both of you were told",
                            c.other,
                            c.files.join(", ")
                        );
                    }
                    if ui.json {
                        ui.emit(&report, String::new)?;
                    }
                }
                Err(e) => eprintln!("git-orchestrate: post-commit: {e}"),
            }
            Ok(())
        }
        other => Err(Failure::Invalid(format!(
            "unknown hook '{}': git-orchestrate handles pre-commit, prepare-commit-msg and post-commit, and the agents claude, codex and gemini",
            crate::model::names::escape_control(other)
        ))),
    }
}
