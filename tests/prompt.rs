//! `prompt`: the instructions for agents, true to the command line and
//! short, and `--install` into the instructions files between markers.

mod common;

use common::Repo;

/// Every `git orchestrate ...` command quoted in the text, as its words.
fn quoted_commands(text: &str) -> Vec<Vec<String>> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.strip_prefix("git orchestrate "))
        .map(|rest| rest.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn every_command_and_flag_in_the_prompt_exists() {
    let repo = Repo::new();
    let text = repo.ok(&["prompt", "--role", "backend"]);
    let commands = quoted_commands(&text);
    assert!(commands.len() >= 15, "{commands:?}");
    for words in commands {
        // The subcommand path: leading words that are plain names.
        let path: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()) && !w.is_empty())
            .take(2)
            .collect();
        let mut args = path.clone();
        args.push("-h");
        let help = repo.run(&args);
        let help = if help.code == 0 { help } else { repo.run(&[path[0], "-h"]) };
        assert_eq!(help.code, 0, "`git orchestrate {}` is not a command: {help:?}", words.join(" "));
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            assert!(help.stdout.contains(flag.as_str()), "`{}`: no {flag} in its help", words.join(" "));
        }
    }
}

#[test]
fn the_prompt_is_well_under_1500_tokens() {
    let repo = Repo::new();
    let text = repo.ok(&["prompt", "--role", "backend"]);
    // Measured with o200k_base: about 700 tokens (README). Any English or
    // command text takes at least 3 bytes a token, so this bounds it at 1,500.
    assert!(text.len() <= 4500, "{} bytes", text.len());
    for part in ["Take work", "Claim paths", "Talk", "inbox --wait", "heartbeat", "Finish", "Closes: <id>"] {
        assert!(text.contains(part), "no '{part}'");
    }
}

#[test]
fn the_prompt_speaks_to_the_acting_session_and_its_role() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree", "--role", "review"]);
    let out = repo.json_as("alice", &["prompt"]);
    let text = out["text"].as_str().unwrap();
    assert_eq!(out["session"], "alice");
    assert!(text.contains("You are session `alice` (role `review`)"), "{text}");
    assert!(text.contains("task claim --next --role review"), "{text}");
    let run = repo.run(&["prompt", "--role", "Not A Role"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn install_adds_the_block_once_and_keeps_the_users_text() {
    let repo = Repo::new();
    let mine = "# Project rules\n\nRun `make check` before committing.\n";
    std::fs::write(repo.path().join("AGENTS.md"), mine).unwrap();
    let out = repo.json(&["prompt", "--install", "agents-md"]);
    assert_eq!(out["change"], "updated");
    let installed = std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap();
    assert!(installed.starts_with(&format!("{mine}\n<!-- git-orchestrate:begin")), "{installed}");
    assert!(installed.ends_with("<!-- git-orchestrate:end -->\n"), "{installed}");
    assert!(!installed.contains("You are session"), "a shared file names no session");
    assert_eq!(repo.json(&["prompt", "--install", "agents-md"])["change"], "unchanged");

    // The user's text after our block stays; a new role refreshes ours.
    std::fs::write(repo.path().join("AGENTS.md"), format!("{installed}\n## Style\nTabs.\n")).unwrap();
    repo.ok(&["prompt", "--install", "agents-md", "--role", "backend"]);
    let refreshed = std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap();
    assert!(refreshed.starts_with(mine) && refreshed.ends_with("\n## Style\nTabs.\n"), "{refreshed}");
    assert!(refreshed.contains("--next --role backend"));
    assert_eq!(refreshed.matches("git-orchestrate:begin").count(), 1);

    for (target, file) in [("claude-md", "CLAUDE.md"), ("gemini-md", "GEMINI.md")] {
        assert_eq!(repo.json(&["prompt", "--install", target])["change"], "created");
        assert!(std::fs::read_to_string(repo.path().join(file))
            .unwrap()
            .contains("## Working with other agents"));
    }
}

#[test]
fn a_block_without_its_end_marker_is_refused_and_left_alone() {
    let repo = Repo::new();
    let broken = "# Rules\n<!-- git-orchestrate:begin -->\nold text\n";
    std::fs::write(repo.path().join("CLAUDE.md"), broken).unwrap();
    let run = repo.run(&["prompt", "--install", "claude-md"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("CLAUDE.md:2:"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(repo.path().join("CLAUDE.md")).unwrap(), broken);
}

#[test]
fn the_prompt_waits_within_a_shell_timeout_names_every_exit_code_and_no_export() {
    let repo = Repo::new();
    let text = repo.ok(&["prompt"]);
    let wait: u64 = text
        .split("inbox --wait ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no inbox --wait N in:\n{text}"));
    assert!(wait < 120, "Claude Code's Bash tool stops a command after 120 s by default: --wait {wait}");
    assert!(text.contains("3 failure"), "{text}");
    assert!(
        !text.contains("set `ORCHESTRATE_SESSION") && !text.contains("export ORCHESTRATE_SESSION"),
        "{text}"
    );
    assert!(text.contains("in its environment"), "{text}");
}

#[test]
fn install_matches_crlf_files_and_ignores_markers_quoted_in_fences() {
    let repo = Repo::new();
    let crlf = "# Rules\r\n\r\nUse tabs.\r\n";
    std::fs::write(repo.path().join("AGENTS.md"), crlf).unwrap();
    repo.ok(&["prompt", "--install", "agents-md"]);
    let installed = std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap();
    assert!(installed.starts_with(crlf), "{installed:?}");
    assert_eq!(
        installed.matches('\n').count(),
        installed.matches("\r\n").count(),
        "only CRLF: {installed:?}"
    );
    assert_eq!(repo.json(&["prompt", "--install", "agents-md"])["change"], "unchanged");

    let quoting = "# Notes\n\n```markdown\n<!-- git-orchestrate:begin -->\n```\n";
    std::fs::write(repo.path().join("CLAUDE.md"), quoting).unwrap();
    let run = repo.run(&["prompt", "--install", "claude-md"]);
    assert_eq!(run.code, 0, "{run:?}");
    let installed = std::fs::read_to_string(repo.path().join("CLAUDE.md")).unwrap();
    assert!(installed.starts_with(quoting) && installed.ends_with("<!-- git-orchestrate:end -->\n"));
}
