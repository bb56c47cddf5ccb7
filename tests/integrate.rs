//! `integrate`: our hooks and MCP server merged into each agent's settings
//! files without losing the user's, idempotently, and taken out exactly.

mod common;

use common::{Repo, Run};
use serde_json::{json, Value};
use std::path::Path;

fn read(repo: &Repo, file: &str) -> String {
    std::fs::read_to_string(repo.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn read_json(repo: &Repo, file: &str) -> Value {
    serde_json::from_str(&read(repo, file)).unwrap()
}

fn write(repo: &Repo, file: &str, text: &str) {
    let path = repo.path().join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// (file relative to the checkout, change) for each file an integrate reported.
fn changes(repo: &Repo, out: &Value) -> Vec<(String, String)> {
    let top = repo.path().canonicalize().unwrap();
    out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = Path::new(f["path"].as_str().unwrap()).canonicalize().unwrap_or_default();
            let rel = path.strip_prefix(&top).map(|p| p.display().to_string()).unwrap_or_default();
            (rel, f["change"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn claude_gets_hooks_and_the_mcp_server_once() {
    let repo = Repo::new();
    let out = repo.json(&["integrate", "claude"]);
    let created = |f: &str| (f.to_string(), "created".to_string());
    assert_eq!(changes(&repo, &out), [created(".claude/settings.json"), created(".mcp.json")]);
    let settings = read_json(&repo, ".claude/settings.json");
    assert_eq!(
        settings,
        json!({"hooks": {
            "PreToolUse": [{"matcher": "Edit|Write|MultiEdit|NotebookEdit|Bash", "hooks": [
                {"type": "command", "command": "git-orchestrate hook claude PreToolUse", "timeout": 10}]}],
            "SessionStart": [{"hooks": [{"type": "command", "command": "git-orchestrate hook claude SessionStart", "timeout": 10}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "git-orchestrate hook claude Stop", "timeout": 10}]}],
        },
        "enabledMcpjsonServers": ["orchestrate"]})
    );
    assert_eq!(
        read_json(&repo, ".mcp.json"),
        json!({"mcpServers": {"orchestrate": {"command": "git-orchestrate", "args": ["mcp"]}}})
    );
    let before = (read(&repo, ".claude/settings.json"), read(&repo, ".mcp.json"));
    let again = repo.json(&["integrate", "claude"]);
    assert!(changes(&repo, &again).iter().all(|(_, c)| c == "unchanged"), "{again}");
    assert_eq!((read(&repo, ".claude/settings.json"), read(&repo, ".mcp.json")), before);
    // --local writes the checkout's own file.
    repo.ok(&["integrate", "claude", "--local"]);
    assert_eq!(read_json(&repo, ".claude/settings.local.json"), settings);
}

const USER_SETTINGS: &str = r#"{
  "permissions": {"allow": ["Bash(npm test)"]},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "my-guard"}]}
    ],
    "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}]
  },
  "model": "opus"
}
"#;

#[test]
fn the_users_settings_are_kept_in_order_and_removal_gives_them_back() {
    let repo = Repo::new();
    write(&repo, ".claude/settings.json", USER_SETTINGS);
    write(&repo, ".mcp.json", r#"{"mcpServers": {"docs": {"command": "docs-mcp"}}}"#);
    repo.ok(&["integrate", "claude"]);
    let merged = read_json(&repo, ".claude/settings.json");
    assert_eq!(keys(&merged), ["permissions", "hooks", "model", "enabledMcpjsonServers"]);
    assert_eq!(keys(&merged["hooks"]), ["PreToolUse", "PostToolUse", "SessionStart", "Stop"]);
    let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2);
    assert_eq!(pre[0]["hooks"][0]["command"], "my-guard", "the user's hook stays first");
    assert_eq!(pre[1]["hooks"][0]["command"], "git-orchestrate hook claude PreToolUse");
    assert_eq!(merged["hooks"]["PostToolUse"][0]["hooks"][0]["command"], "prettier --write");
    assert_eq!(keys(&read_json(&repo, ".mcp.json")["mcpServers"]), ["docs", "orchestrate"]);

    // A copy of our entry moved into a group of the user's goes with ours;
    // a hand-made entry that runs the same command is the user's and stays.
    let mut mixed = merged.clone();
    let ours = json!({"type": "command", "command": "git-orchestrate hook claude PreToolUse", "timeout": 10});
    let theirs = json!({"type": "command", "command": "git-orchestrate hook claude PreToolUse"});
    mixed["hooks"]["PreToolUse"][0]["hooks"].as_array_mut().unwrap().push(ours);
    mixed["hooks"]["PostToolUse"][0]["hooks"].as_array_mut().unwrap().push(theirs.clone());
    write(&repo, ".claude/settings.json", &serde_json::to_string_pretty(&mixed).unwrap());

    let out = repo.json(&["integrate", "claude", "--remove"]);
    assert!(changes(&repo, &out).iter().all(|(_, c)| c == "updated"), "{out}");
    let mut restored = read_json(&repo, ".claude/settings.json");
    let post = restored["hooks"]["PostToolUse"][0]["hooks"].as_array_mut().unwrap();
    assert_eq!(post.pop(), Some(theirs), "the user's own entry is kept");
    assert_eq!(restored, serde_json::from_str::<Value>(USER_SETTINGS).unwrap());
    assert_eq!(keys(&restored), ["permissions", "hooks", "model"]);
    assert_eq!(keys(&restored["hooks"]), ["PreToolUse", "PostToolUse"]);
    assert_eq!(read_json(&repo, ".mcp.json"), json!({"mcpServers": {"docs": {"command": "docs-mcp"}}}));
}

#[test]
fn removal_leaves_an_emptied_file_tidy_and_creates_nothing() {
    let repo = Repo::new();
    let out = repo.json(&["integrate", "codex", "--remove"]);
    assert!(changes(&repo, &out).iter().all(|(_, c)| c == "unchanged"), "{out}");
    assert!(!repo.path().join(".codex").exists(), "nothing to remove: nothing written");
    // Files integrate created go again; one the user had stays, emptied.
    write(&repo, ".mcp.json", "{}\n");
    repo.ok(&["integrate", "claude"]);
    let out = repo.json(&["integrate", "claude", "--remove"]);
    assert_eq!(
        changes(&repo, &out),
        [(String::new(), "removed".to_string()), (".mcp.json".to_string(), "updated".to_string())],
        "{out}"
    );
    assert!(!repo.path().join(".claude").exists(), "created by integrate: deleted, folder and all");
    assert_eq!(read(&repo, ".mcp.json"), "{}\n");
}

#[test]
fn codex_config_keeps_comments_and_hooks_json_has_the_claude_shape() {
    let repo = Repo::new();
    let config = "# Codex settings for this project\nmodel = \"gpt-5-codex\" # fast\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = []\n";
    write(&repo, ".codex/config.toml", config);
    repo.ok(&["integrate", "codex"]);
    let merged = read(&repo, ".codex/config.toml");
    assert!(merged.starts_with(config), "{merged}");
    assert!(
        merged.ends_with("[mcp_servers.orchestrate]\ncommand = \"git-orchestrate\"\nargs = [\"mcp\"]\n"),
        "{merged}"
    );
    let hooks = read_json(&repo, ".codex/hooks.json");
    assert_eq!(hooks["hooks"]["PreToolUse"][0]["matcher"], "Bash|apply_patch");
    assert_eq!(
        hooks["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "git-orchestrate hook codex PreToolUse"
    );
    assert_eq!(hooks["hooks"]["Stop"][0]["hooks"][0]["command"], "git-orchestrate hook codex Stop");
    let again = repo.json(&["integrate", "codex"]);
    assert!(changes(&repo, &again).iter().all(|(_, c)| c == "unchanged"), "{again}");
    repo.ok(&["integrate", "codex", "--remove"]);
    assert_eq!(read(&repo, ".codex/config.toml"), config);
    assert!(!repo.path().join(".codex/hooks.json").exists(), "integrate made it: removal deletes it");
}

#[test]
fn gemini_gets_before_tool_in_milliseconds_and_the_server_in_one_file() {
    let repo = Repo::new();
    write(
        &repo,
        ".gemini/settings.json",
        r#"{"theme": "GitHub", "mcpServers": {"docs": {"command": "docs-mcp"}}}"#,
    );
    repo.ok(&["integrate", "gemini"]);
    let s = read_json(&repo, ".gemini/settings.json");
    assert_eq!(keys(&s), ["theme", "mcpServers", "hooks"]);
    assert_eq!(
        s["hooks"]["BeforeTool"],
        json!([{"matcher": "write_file|replace|run_shell_command", "hooks": [{"name": "git-orchestrate",
            "type": "command", "command": "git-orchestrate hook gemini BeforeTool", "timeout": 10000}]}])
    );
    assert_eq!(keys(&s["hooks"]), ["BeforeTool", "SessionStart", "AfterAgent"]);
    assert_eq!(s["mcpServers"]["orchestrate"], json!({"command": "git-orchestrate", "args": ["mcp"]}));
    repo.ok(&["integrate", "gemini", "--remove"]);
    assert_eq!(
        read_json(&repo, ".gemini/settings.json"),
        json!({"theme": "GitHub", "mcpServers": {"docs": {"command": "docs-mcp"}}})
    );
    let run = repo.run(&["integrate", "gemini", "--local"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn bad_settings_are_named_with_their_line_and_nothing_is_written() {
    let repo = Repo::new();
    write(&repo, ".claude/settings.json", "{\n  \"model\": \"opus\",\n  \"hooks\": {,}\n}\n");
    let run = repo.run(&["integrate", "claude"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains(".claude/settings.json:3:"), "{}", run.stderr);
    assert_eq!(read(&repo, ".claude/settings.json"), "{\n  \"model\": \"opus\",\n  \"hooks\": {,}\n}\n");
    assert!(!repo.path().join(".mcp.json").exists(), "no file is written when one cannot be");

    write(&repo, ".codex/config.toml", "model = \"x\"\n[mcp_servers\n");
    let run = repo.run(&["integrate", "codex"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains(".codex/config.toml:2:"), "{}", run.stderr);
    assert!(!repo.path().join(".codex/hooks.json").exists());
}

#[test]
fn a_server_of_the_same_name_that_is_not_ours_is_never_replaced() {
    let repo = Repo::new();
    let theirs = r#"{"mcpServers": {"orchestrate": {"command": "other-tool"}}}"#;
    write(&repo, ".mcp.json", theirs);
    let run = repo.run(&["integrate", "claude"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("mcpServers.orchestrate is not ours"), "{}", run.stderr);
    assert_eq!(read(&repo, ".mcp.json"), theirs);
    assert!(!repo.path().join(".claude").exists());
    // Removing leaves it too.
    repo.ok(&["integrate", "claude", "--remove"]);
    assert_eq!(read(&repo, ".mcp.json"), theirs);
}

#[test]
fn a_linked_settings_file_stays_a_link_and_a_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let dotfiles = repo.home().join("dotfiles-settings.json");
    std::fs::write(&dotfiles, r#"{"model": "opus"}"#).unwrap();
    std::fs::create_dir_all(repo.path().join(".claude")).unwrap();
    std::os::unix::fs::symlink(&dotfiles, repo.path().join(".claude/settings.json")).unwrap();
    write(&repo, ".mcp.json", "{}");
    std::fs::set_permissions(repo.path().join(".mcp.json"), std::fs::Permissions::from_mode(0o600)).unwrap();
    repo.ok(&["integrate", "claude"]);
    let link = std::fs::symlink_metadata(repo.path().join(".claude/settings.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    let through: Value = serde_json::from_str(&std::fs::read_to_string(&dotfiles).unwrap()).unwrap();
    assert_eq!(through["model"], "opus");
    assert!(through["hooks"]["PreToolUse"].is_array(), "written through the link: {through}");
    let mode = std::fs::metadata(repo.path().join(".mcp.json")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn nothing_is_written_when_one_file_cannot_be() {
    let repo = Repo::new();
    write(&repo, ".claude/settings.json", USER_SETTINGS);
    // .mcp.json links to a file in a folder that does not exist.
    std::os::unix::fs::symlink(repo.home().join("gone/mcp.json"), repo.path().join(".mcp.json")).unwrap();
    let run = repo.run(&["integrate", "claude"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains(".mcp.json"), "{}", run.stderr);
    assert_eq!(read(&repo, ".claude/settings.json"), USER_SETTINGS, "the other file is untouched");
    let left: Vec<_> =
        std::fs::read_dir(repo.path().join(".claude")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["settings.json"], "no temporary file is left");
    // Nothing staged survives in a folder integrate would have made.
    let run = repo.run(&["integrate", "codex"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn numbers_and_indentation_are_kept_as_the_user_wrote_them() {
    let repo = Repo::new();
    let tabs = "{\n\t\"big\": 12345678901234567890123,\n\t\"ratio\": 1.50\n}\n";
    write(&repo, ".claude/settings.json", tabs);
    let four = "{\n    \"mcpServers\": {\n        \"docs\": {\n            \"command\": \"docs-mcp\"\n        }\n    }\n}\n";
    write(&repo, ".mcp.json", four);
    repo.ok(&["integrate", "claude"]);
    let settings = read(&repo, ".claude/settings.json");
    assert!(
        settings.starts_with(
            "{\n\t\"big\": 12345678901234567890123,\n\t\"ratio\": 1.50,\n\t\"hooks\": {\n\t\t\""
        ),
        "{settings}"
    );
    let mcp = read(&repo, ".mcp.json");
    assert!(mcp.contains("\n        \"orchestrate\": {\n            \"command\""), "{mcp}");
    repo.ok(&["integrate", "claude", "--remove"]);
    assert_eq!(read(&repo, ".claude/settings.json"), tabs);
    assert_eq!(read(&repo, ".mcp.json"), four);
}

#[test]
fn claude_approves_our_project_server_by_name_and_takes_only_that_back() {
    let repo = Repo::new();
    write(&repo, ".claude/settings.local.json", r#"{"enabledMcpjsonServers": ["docs"]}"#);
    repo.ok(&["integrate", "claude", "--local"]);
    let s = read_json(&repo, ".claude/settings.local.json");
    assert_eq!(s["enabledMcpjsonServers"], json!(["docs", "orchestrate"]));
    repo.ok(&["integrate", "claude", "--local"]);
    assert_eq!(
        read_json(&repo, ".claude/settings.local.json")["enabledMcpjsonServers"],
        json!(["docs", "orchestrate"])
    );
    repo.ok(&["integrate", "claude", "--local", "--remove"]);
    assert_eq!(read_json(&repo, ".claude/settings.local.json"), json!({"enabledMcpjsonServers": ["docs"]}));
    write(&repo, ".claude/settings.json", r#"{"enabledMcpjsonServers": "all"}"#);
    let run = repo.run(&["integrate", "claude"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("\"enabledMcpjsonServers\" is not an array"), "{}", run.stderr);
}

#[test]
fn settings_with_comments_are_refused_clearly_and_left_alone() {
    let repo = Repo::new();
    let jsonc = "{\n  // my theme\n  \"theme\": \"GitHub\",\n  \"url\": \"http://x/*not a comment*/\"\n}\n";
    write(&repo, ".gemini/settings.json", jsonc);
    let run = repo.run(&["integrate", "gemini"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(".gemini/settings.json has comments, which integrate would drop: the first is at line 2, column 3"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&repo, ".gemini/settings.json"), jsonc);
    // Comment-like text inside strings is no comment.
    write(&repo, ".gemini/settings.json", "{\"url\": \"http://x/*y*/\", \"q\": \"a\\\"//b\"}");
    repo.ok(&["integrate", "gemini"]);
    assert_eq!(read_json(&repo, ".gemini/settings.json")["url"], "http://x/*y*/");
}

#[test]
fn run_in_a_session_worktree_it_writes_the_main_worktree_and_says_what_to_share() {
    let repo = Repo::new();
    let wt = std::path::PathBuf::from(repo.json(&["session", "start", "bob"])["worktree"].as_str().unwrap());
    let in_wt = |args: &[&str]| Run::of(repo.command(common::BIN).current_dir(&wt).args(args));
    let run = in_wt(&["integrate", "claude", "--local"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(repo.path().join(".claude/settings.local.json").exists());
    assert!(repo.path().join(".mcp.json").exists());
    assert!(!wt.join(".claude").exists() && !wt.join(".mcp.json").exists(), "nothing in bob's worktree");
    assert!(run.stdout.contains("in the main worktree"), "{}", run.stdout);
    assert!(run.stdout.contains(".worktreeinclude"), "{}", run.stdout);
    assert!(run.stdout.contains("\n.claude/settings.local.json\n.mcp.json"), "{}", run.stdout);
    let run = in_wt(&["prompt", "--install", "agents-md"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(repo.path().join("AGENTS.md").exists() && !wt.join("AGENTS.md").exists());
    assert!(run.stdout.contains("\nAGENTS.md"), "{}", run.stdout);
    let status = Run::of(repo.command("git").current_dir(&wt).args(["status", "--porcelain"]));
    assert_eq!(status.stdout, "", "bob's worktree stays clean");
    // Committed or listed files need no note.
    repo.git(&["add", ".mcp.json", "AGENTS.md"]);
    repo.git(&["commit", "-q", "-m", "share agent settings"]);
    write(&repo, ".worktreeinclude", ".claude/\n");
    let out = repo.json(&["integrate", "claude", "--local"]);
    assert_eq!(out["untracked"], json!([]), "{out}");
    repo.ok(&["integrate", "claude", "--local", "--remove"]);
    assert_eq!(repo.json(&["integrate", "claude", "--local"])["untracked"], json!([]));
}
