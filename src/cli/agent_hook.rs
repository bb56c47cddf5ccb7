//! `git orchestrate hook claude|codex|gemini <event>`: the entry point the
//! coding agents' hook settings call (written by `integrate`). Reads the
//! hook's JSON on stdin and prints the agent's answer on stdout.
//!
//! A hook never wedges an agent because the coordinator failed: a bad
//! payload, no repository, a corrupt store or any other internal error
//! prints a note on stderr and exits 0 with no answer, which every agent
//! takes as "go ahead". Only a real claim denies a tool call.
//!
//! `ops` says what stands in the way (the conflicting claims, the urgent
//! unread messages); the words an agent reads, with the commands that get
//! it out, are this front end's.

use super::CmdResult;
use crate::agent_hooks::{self, Agent, Event, HookInput};
use crate::model::time::Timestamp;
use crate::ops::claims::Conflict;
use crate::ops::messages::Received;
use crate::ops::{agent_hooks as agent_ops, Context};
use crate::store::Store;
use serde_json::Value;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

/// Hook payloads are small; a bigger one is not a hook's.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

pub fn run(agent: Agent, event: Option<&str>, session: Option<String>) -> CmdResult {
    match answer(agent, event, session) {
        Ok(Some(value)) => println!("{value}"),
        Ok(None) => {}
        Err(why) => eprintln!("git-orchestrate: {} hook: {why}; allowing", agent.name()),
    }
    Ok(())
}

fn answer(agent: Agent, event: Option<&str>, session: Option<String>) -> Result<Option<Value>, String> {
    let input = read_input()?;
    let name = event.or(input.hook_event_name.as_deref()).ok_or("no event given")?;
    let event = agent.event(name).ok_or_else(|| {
        let known = [Event::SessionStart, Event::BeforeTool, Event::Stop].map(|e| agent.event_name(e));
        format!(
            "unknown event '{}' (handled: {})",
            crate::model::names::escape_control(name),
            known.join(", ")
        )
    })?;
    // The agent's folder: the payload's `cwd`, else where we were started.
    let cwd = input
        .cwd
        .as_deref()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .or_else(|| std::env::current_dir().ok())
        .ok_or("no working folder")?;
    let targets = match event {
        Event::BeforeTool => {
            let targets =
                agent_hooks::write_targets(input.tool_name.as_deref().unwrap_or(""), &input.tool_input, &cwd);
            if targets.is_empty() {
                return Ok(None); // writes nothing we guard: no need to look at the store
            }
            targets
        }
        Event::Stop if input.stop_hook_active => return Ok(None), // asked once already: let it stop
        _ => Vec::new(),
    };
    if std::env::current_dir().ok().as_ref() != Some(&cwd) {
        std::env::set_current_dir(&cwd).map_err(|e| format!("cannot enter {}: {e}", cwd.display()))?;
    }
    let store = Store::open_from_env().map_err(|e| e.to_string())?;
    let ctx = Context::new(store, session).map_err(|e| e.to_string())?;
    let result = match event {
        Event::BeforeTool => ctx.tool_conflicts(&targets).map(|conflicts| {
            (!conflicts.is_empty()).then(|| agent_hooks::deny(agent, &refusal(&conflicts, ctx.now())))
        }),
        Event::SessionStart => ctx.agent_briefing().map(|text| Some(agent_hooks::session_context(&text))),
        Event::Stop => ctx.urgent_unread().map(|urgent| {
            (!urgent.is_empty()).then(|| agent_hooks::keep_going(agent, &unread_reason(&urgent)))
        }),
    };
    // Agent activity is a sign of life, like any command.
    ctx.touch();
    result.map_err(|e| e.to_string())
}

fn read_input() -> Result<HookInput, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("reads the hook's JSON on stdin (agents call it; see docs/agents.md)".into());
    }
    let mut raw = String::new();
    stdin.lock().take(MAX_INPUT).read_to_string(&mut raw).map_err(|e| format!("cannot read stdin: {e}"))?;
    serde_json::from_str(&raw).map_err(|e| format!("stdin is not a hook's JSON ({e})"))
}

/// Why a tool call is refused, and what to do instead.
fn refusal(conflicts: &[Conflict], now: Timestamp) -> String {
    let lines: Vec<String> = conflicts.iter().take(3).map(|c| c.describe(now)).collect();
    let more = match conflicts.len() {
        n if n > 3 => format!(" (and {} more)", n - 3),
        _ => String::new(),
    };
    let holder = conflicts.first().map(|c| c.claim.session.as_str()).unwrap_or("the holder");
    format!(
        "git-orchestrate: {}{more}. Another agent is working there: do not change it. Ask {holder} to release it \
         (`git orchestrate send {holder} \"<subject>\" \"<what you need>\" --kind help`), or claim and do something \
         else (`git orchestrate claims` lists what is taken).",
        lines.join("; ")
    )
}

/// Why an agent should not stop yet.
fn unread_reason(urgent: &[Received]) -> String {
    let lines: Vec<String> =
        urgent.iter().take(agent_ops::BRIEF_ITEMS).map(agent_ops::message_line).collect();
    format!(
        "git-orchestrate: {} urgent message(s) wait for you: {}. Read them with `git orchestrate inbox`, answer \
         (`git orchestrate send <from> \"<subject>\" \"<answer>\" --reply-to <id>`), then stop.",
        urgent.len(),
        lines.join("; ")
    )
}
