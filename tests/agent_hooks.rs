//! Coding-agent hooks: the documented payloads of Claude Code, Codex CLI
//! and Gemini CLI (fixtures/agents) piped to `git orchestrate hook <agent>
//! <event>`, with the exact answer shapes and exit codes.

mod common;

use common::{Repo, Run, BIN};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixture(agent: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/agents")
        .join(agent)
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Pipes `payload` to the hook, run from `dir` (the payload names its own cwd).
fn hook_raw(repo: &Repo, agent: &str, event: &str, payload: &str, dir: &Path, session: Option<&str>) -> Run {
    let mut cmd = repo.command(BIN);
    cmd.current_dir(dir).args(["hook", agent, event]);
    if let Some(s) = session {
        cmd.env("ORCHESTRATE_SESSION", s);
    }
    Run::with_input(&mut cmd, payload.as_bytes())
}

/// The fixture with `__REPO__` set to `root`, piped to the hook.
fn hook_in(repo: &Repo, root: &Path, agent: &str, event: &str, name: &str, session: Option<&str>) -> Run {
    let payload = fixture(agent, name).replace("__REPO__", root.to_str().unwrap());
    hook_raw(repo, agent, event, &payload, repo.path(), session)
}

fn hook(repo: &Repo, agent: &str, event: &str, name: &str, session: Option<&str>) -> Run {
    hook_in(repo, repo.path(), agent, event, name, session)
}

/// A repository where alice (live) holds src/api/ exclusively.
fn claimed_repo() -> Repo {
    let repo = Repo::new();
    for (file, text) in
        [("src/api/login.rs", "fn login() {}\n"), ("docs/draft.rs", "x\n"), ("templates/api/a.rs", "a\n")]
    {
        let path = repo.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "layout"]);
    repo.ok_as("alice", &["claim", "src/api/", "--reason", "reworking auth"]);
    repo
}

/// Asserts a Claude Code / Codex denial: exactly the documented object.
fn assert_denied(run: &Run) -> String {
    assert_eq!(run.code, 0, "{run:?}");
    let answer: Value = run.json();
    let keys: Vec<&String> =
        answer["hookSpecificOutput"].as_object().expect("hookSpecificOutput").keys().collect();
    assert_eq!(keys, ["hookEventName", "permissionDecision", "permissionDecisionReason"], "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["hookSpecificOutput"]["hookEventName"], "PreToolUse");
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    answer["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_string()
}

fn assert_allowed(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "", "an allowed call gets no answer: {run:?}");
}

#[test]
fn every_claude_edit_tool_is_denied_on_a_path_another_session_claimed() {
    let repo = claimed_repo();
    for name in
        ["pre-tool-use-write", "pre-tool-use-edit", "pre-tool-use-multiedit", "pre-tool-use-notebookedit"]
    {
        let run = hook(&repo, "claude", "PreToolUse", name, Some("bob"));
        let reason = assert_denied(&run);
        for part in
            ["alice", "'src/api/'", "(reworking auth)", "expires in", "git orchestrate send alice", "claim"]
        {
            assert!(reason.contains(part), "{name}: '{part}' missing from: {reason}");
        }
    }
}

#[test]
fn unclaimed_outside_and_read_only_calls_are_allowed_silently() {
    let repo = claimed_repo();
    for name in [
        "pre-tool-use-write-unclaimed",
        "pre-tool-use-write-outside",
        "pre-tool-use-read",
        "pre-tool-use-bash-readonly",
    ] {
        assert_allowed(&hook(&repo, "claude", "PreToolUse", name, Some("bob")));
    }
}

#[test]
fn the_holder_edits_its_own_claim() {
    let repo = claimed_repo();
    assert_allowed(&hook(&repo, "claude", "PreToolUse", "pre-tool-use-write", Some("alice")));
    assert_allowed(&hook(&repo, "claude", "PreToolUse", "pre-tool-use-bash-rm", Some("alice")));
}

#[test]
fn shell_writes_onto_claimed_paths_are_denied() {
    let repo = claimed_repo();
    for form in ["redirect", "tee", "sed", "mv", "cp", "rm"] {
        let run = hook(&repo, "claude", "PreToolUse", &format!("pre-tool-use-bash-{form}"), Some("bob"));
        let reason = assert_denied(&run);
        assert!(reason.contains("alice"), "{form}: {reason}");
    }
}

#[test]
fn a_shell_path_that_is_no_valid_pattern_is_checked_as_the_file_it_names() {
    let repo = claimed_repo();
    let payload = fixture("claude", "pre-tool-use-bash-redirect")
        .replace("__REPO__", repo.path().to_str().unwrap())
        .replace("echo 'pub mod v2;' >> src/api/mod.rs", "touch 'src/api/odd[' docs/fine.md");
    let reason = assert_denied(&hook_raw(&repo, "claude", "PreToolUse", &payload, repo.path(), Some("bob")));
    assert!(reason.contains("src/api/odd[ is claimed by alice"), "{reason}");
}

#[test]
fn expired_and_shared_claims_and_stale_holders_do_not_deny() {
    let repo = claimed_repo();
    repo.ok_as("carol", &["claim", "docs/", "--shared"]);
    let shared = fixture("claude", "pre-tool-use-write")
        .replace("__REPO__", repo.path().to_str().unwrap())
        .replace("src/api/login.rs", "docs/notes.md");
    assert_allowed(&hook_raw(&repo, "claude", "PreToolUse", &shared, repo.path(), Some("bob")));
    // Three hours on, alice's two-hour lease has run out and she has gone stale.
    let later = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let payload = fixture("claude", "pre-tool-use-write").replace("__REPO__", repo.path().to_str().unwrap());
    let mut cmd = repo.command(BIN);
    cmd.args(["hook", "claude", "PreToolUse"])
        .env("ORCHESTRATE_SESSION", "bob")
        .env("ORCHESTRATE_NOW", later);
    let run = Run::with_input(&mut cmd, payload.as_bytes());
    assert_allowed(&run);
}

#[test]
fn the_session_is_the_one_recorded_in_the_payloads_worktree() {
    let repo = claimed_repo();
    let wt = PathBuf::from(repo.json(&["session", "start", "bob"])["worktree"].as_str().unwrap());
    // Run from elsewhere: the hook goes by the payload's cwd, bob's worktree.
    let elsewhere = repo.home().to_path_buf();
    let payload = fixture("claude", "pre-tool-use-write").replace("__REPO__", wt.to_str().unwrap());
    let run = hook_raw(&repo, "claude", "PreToolUse", &payload, &elsewhere, None);
    assert!(assert_denied(&run).contains("alice"));
    // Bob's own claim, in his worktree, does not stop him.
    let run = Run::of(repo.command(BIN).current_dir(&wt).args(["claim", "docs/"]));
    assert_eq!(run.code, 0, "{run:?}");
    let own = fixture("claude", "pre-tool-use-write-unclaimed").replace("__REPO__", wt.to_str().unwrap());
    repo.ok_as("alice", &["release", "src/api/"]);
    assert_allowed(&hook_raw(&repo, "claude", "PreToolUse", &own, &elsewhere, None));
    // ... but it stops alice, wherever her hook runs from.
    let run = hook_raw(&repo, "claude", "PreToolUse", &own, &elsewhere, Some("alice"));
    assert!(assert_denied(&run).contains("bob"));
}

#[test]
fn codex_patches_and_commands_get_the_claude_shaped_denial() {
    let repo = claimed_repo();
    let reason = assert_denied(&hook(&repo, "codex", "PreToolUse", "pre-tool-use-apply-patch", Some("bob")));
    assert!(reason.contains("src/api/login.rs is claimed by alice"), "{reason}");
    assert_denied(&hook(&repo, "codex", "PreToolUse", "pre-tool-use-bash", Some("bob")));
    assert_allowed(&hook(&repo, "codex", "PreToolUse", "pre-tool-use-apply-patch-unclaimed", Some("bob")));
}

#[test]
fn gemini_before_tool_denies_with_decision_and_reason() {
    let repo = claimed_repo();
    for name in ["before-tool-write-file", "before-tool-replace", "before-tool-shell"] {
        let run = hook(&repo, "gemini", "BeforeTool", name, Some("bob"));
        assert_eq!(run.code, 0, "{run:?}");
        let answer = run.json();
        let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["decision", "reason"], "{name}: {answer}");
        assert_eq!(answer["decision"], "deny");
        assert!(answer["reason"].as_str().unwrap().contains("alice"), "{answer}");
    }
    assert_allowed(&hook(&repo, "gemini", "BeforeTool", "before-tool-read-file", Some("bob")));
}

#[test]
fn a_broken_coordinator_allows_and_says_why_on_stderr() {
    let repo = claimed_repo();
    // Not JSON at all.
    let run = hook_raw(&repo, "claude", "PreToolUse", "{not json", repo.path(), Some("bob"));
    assert_allowed(&run);
    assert!(run.stderr.contains("not a hook's JSON"), "{run:?}");
    // No repository where the agent works.
    let outside = tempfile::tempdir().unwrap();
    let payload =
        fixture("claude", "pre-tool-use-write").replace("__REPO__", outside.path().to_str().unwrap());
    std::fs::create_dir_all(outside.path().join("src/api")).unwrap();
    let run = hook_raw(&repo, "claude", "PreToolUse", &payload, outside.path(), Some("bob"));
    assert_allowed(&run);
    assert!(run.stderr.contains("allowing"), "{run:?}");
    // A corrupt claims table.
    repo.plant("refs/orchestrate/claims", "claims.json", b"{ this is not json");
    let run = hook(&repo, "claude", "PreToolUse", "pre-tool-use-write", Some("bob"));
    assert_allowed(&run);
    assert!(run.stderr.contains("claims"), "{run:?}");
    // An event we do not handle.
    let run = hook(&repo, "claude", "PostToolUse", "pre-tool-use-write", Some("bob"));
    assert_allowed(&run);
    assert!(run.stderr.contains("unknown event"), "{run:?}");
}

#[test]
fn session_start_registers_the_agent_and_briefs_it() {
    let repo = claimed_repo();
    repo.ok(&["session", "start", "carol", "--no-worktree"]);
    repo.ok(&["session", "start", "erin", "--no-worktree", "--role", "backend"]);
    let task = repo.add("Build the API", &["--role", "backend", "-p", "1"]);
    repo.add("Write the docs", &["--role", "docs"]);
    repo.ok_as("carol", &["send", "all", "main is green"]);
    repo.ok_as("carol", &["send", "role:backend", "schema question", "--kind", "help"]);

    let run = hook(&repo, "claude", "SessionStart", "session-start", Some("dave"));
    assert_eq!(run.code, 0, "{run:?}");
    let answer = run.json();
    assert_eq!(
        answer,
        json!({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": answer["hookSpecificOutput"]["additionalContext"]}})
    );
    let text = answer["hookSpecificOutput"]["additionalContext"].as_str().unwrap();
    assert!(text.contains("you are session dave"), "{text}");
    assert!(
        text.contains(&task) && text.contains("Write the docs"),
        "dave has no role: every ready task\n{text}"
    );
    assert!(text.contains("main is green"), "{text}");
    // dave is a registered, live session now.
    let shown = repo.json(&["session", "show", "dave"]);
    assert_eq!(shown["status"], "active");

    // A backend agent sees its role's work and mail, and its claims.
    repo.ok_as("erin", &["claim", "src/db/"]);
    let run = hook(&repo, "codex", "SessionStart", "session-start", Some("erin"));
    let text = run.json()["hookSpecificOutput"]["additionalContext"].as_str().unwrap().to_string();
    assert!(text.contains("(role backend)") && text.contains(&task), "{text}");
    assert!(!text.contains("Write the docs"), "another role's task: {text}");
    assert!(text.contains("src/db/ (exclusive"), "{text}");
    assert!(text.contains("help from carol: \"schema question\""), "{text}");
    // Briefing reads without marking read.
    let inbox = repo.json_as("erin", &["inbox", "--peek"]);
    assert_eq!(inbox.as_array().unwrap().len(), 2);
}

#[test]
fn session_start_without_a_session_says_how_to_get_one() {
    let repo = Repo::new();
    let run = hook(&repo, "gemini", "SessionStart", "session-start", None);
    let text = run.json()["hookSpecificOutput"]["additionalContext"].as_str().unwrap().to_string();
    assert!(text.contains("no session yet") && text.contains("git orchestrate session start"), "{text}");
}

#[test]
fn an_ended_session_is_started_again_at_session_start() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "frank", "--no-worktree", "--role", "review"]);
    repo.ok(&["session", "end", "frank"]);
    let run = hook(&repo, "claude", "SessionStart", "session-start", Some("frank"));
    assert!(run.json()["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .contains("(role review)"));
    assert_eq!(repo.json(&["session", "show", "frank"])["status"], "active");
}

#[test]
fn stop_asks_once_to_read_urgent_messages_first() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok(&["session", "start", "carol", "--no-worktree"]);
    // A note does not hold anyone back; a help request does.
    repo.ok_as("carol", &["send", "bob", "fyi"]);
    assert_allowed(&hook(&repo, "claude", "Stop", "stop", Some("bob")));
    let id = repo.json_as("carol", &["send", "bob", "tests fail on main", "--kind", "help"])["id"]
        .as_str()
        .unwrap()
        .to_string();

    let run = hook(&repo, "claude", "Stop", "stop", Some("bob"));
    assert_eq!(run.code, 0, "{run:?}");
    let answer = run.json();
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["decision", "reason"]);
    assert_eq!(answer["decision"], "block");
    let reason = answer["reason"].as_str().unwrap();
    assert!(
        reason.contains(&id)
            && reason.contains("tests fail on main")
            && reason.contains("git orchestrate inbox")
    );
    // Never twice in a row.
    assert_allowed(&hook(&repo, "claude", "Stop", "stop-active", Some("bob")));
    // Codex reads the same answer; Gemini retries the turn with "deny".
    assert_eq!(hook(&repo, "codex", "Stop", "stop", Some("bob")).json()["decision"], "block");
    assert_eq!(hook(&repo, "gemini", "AfterAgent", "after-agent", Some("bob")).json()["decision"], "deny");
    // Once read, nothing holds bob back.
    repo.ok_as("bob", &["inbox"]);
    assert_allowed(&hook(&repo, "claude", "Stop", "stop", Some("bob")));
}

/// A Claude Code `Write` of `file`, from an agent whose cwd is `cwd`.
fn write_payload(cwd: &Path, file: &Path) -> String {
    json!({
        "session_id": "abc", "transcript_path": "/dev/null", "cwd": cwd,
        "hook_event_name": "PreToolUse", "tool_name": "Write",
        "tool_input": { "file_path": file, "content": "x" }
    })
    .to_string()
}

#[test]
fn a_claimed_path_is_guarded_in_every_worktree_and_free_in_the_holders_own() {
    let repo = claimed_repo();
    repo.ok(&["session", "start", "bob"]);
    repo.ok_as("alice", &["release", "--all"]);
    repo.ok(&["session", "end", "alice"]);
    repo.ok(&["session", "start", "alice"]);
    let alice_dir = PathBuf::from(format!("{}.worktrees/alice", repo.path().display()));
    let run =
        Run::of(repo.command(BIN).current_dir(&alice_dir).args(["claim", "src/api/", "--reason", "auth"]));
    assert_eq!(run.code, 0, "{run:?}");
    let worktrees = PathBuf::from(format!("{}.worktrees", repo.path().canonicalize().unwrap().display()));
    let (bob, alice) = (worktrees.join("bob"), worktrees.join("alice"));
    // Bob, in his worktree, writing the claimed file in his, alice's or the main checkout.
    for target in [&bob, &alice, &repo.path().canonicalize().unwrap()] {
        let file = target.join("src/api/login.rs");
        let run = hook_raw(&repo, "claude", "PreToolUse", &write_payload(&bob, &file), &bob, None);
        assert!(assert_denied(&run).contains("alice"), "{}", file.display());
    }
    // An agent started in the main checkout without a session, writing in
    // alice's worktree, is alice: her own claim does not refuse her.
    let main = repo.path().canonicalize().unwrap();
    let file = alice.join("src/api/login.rs");
    let run = hook_raw(&repo, "claude", "PreToolUse", &write_payload(&main, &file), repo.path(), None);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:?}");
    // The same from the main checkout with nobody named: refused.
    let file = main.join("src/api/login.rs");
    let run = hook_raw(&repo, "claude", "PreToolUse", &write_payload(&main, &file), repo.path(), None);
    assert_denied(&run);
}

#[test]
fn an_existing_file_named_like_a_glob_is_claimed_as_that_file() {
    let repo = Repo::new();
    let page = repo.path().join("app/[id]/page.tsx");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    std::fs::write(&page, "export default 1\n").unwrap();
    repo.ok_as("alice", &["claim", "app/[id]/page.tsx"]);
    let check = repo.run_as("bob", &["check", "app/[id]/page.tsx"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert_eq!(repo.run_as("bob", &["check", "app/i/page.tsx"]).code, 0, "not a character class");
    let main = repo.path().canonicalize().unwrap();
    let run = hook_raw(
        &repo,
        "claude",
        "PreToolUse",
        &write_payload(&main, &main.join("app/[id]/page.tsx")),
        repo.path(),
        Some("bob"),
    );
    assert!(assert_denied(&run).contains("alice"));
}

#[test]
fn shell_writes_behind_wrappers_patch_markers_and_git_are_denied() {
    let repo = claimed_repo();
    for command in [
        "echo '*** Begin Patch'; rm -rf src/api",
        "nice -n 5 rm src/api/login.rs",
        "timeout 30 rm src/api/login.rs",
        "find src -name '*.rs' | xargs rm",
        "bash -c 'cd src && rm -rf api'",
        "git checkout HEAD -- src/api/login.rs",
        "git restore src/api/login.rs",
        "git rm -q src/api/login.rs",
        "git mv src/api/login.rs src/auth.rs",
        "unlink src/api/login.rs",
        "find src/api -name '*.bak' -delete",
        "perl -pi -e 's/a/b/' src/api/login.rs",
        "dd if=/dev/zero of=src/api/login.rs count=1",
    ] {
        let payload = fixture("claude", "pre-tool-use-bash-redirect")
            .replace("__REPO__", repo.path().to_str().unwrap())
            .replace("echo 'pub mod v2;' >> src/api/mod.rs", command);
        let run = hook_raw(&repo, "claude", "PreToolUse", &payload, repo.path(), Some("bob"));
        assert!(assert_denied(&run).contains("alice"), "{command}");
    }
}

#[test]
fn a_field_of_the_wrong_type_that_we_do_not_need_does_not_let_the_call_through() {
    let repo = claimed_repo();
    let payload = fixture("claude", "pre-tool-use-write")
        .replace("__REPO__", repo.path().to_str().unwrap())
        .replace("\"session_id\": \"abc123\"", "\"session_id\": 5");
    assert!(payload.contains("\"session_id\": 5"), "{payload}");
    let run = hook_raw(&repo, "claude", "PreToolUse", &payload, repo.path(), Some("bob"));
    assert!(assert_denied(&run).contains("alice"));
}
