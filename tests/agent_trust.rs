//! Trust: `integrate` says which trust step each agent still needs (reading
//! the agent's own files in the sandboxed HOME), `integrate gemini
//! --trust-worktrees` adds the worktree root to Gemini CLI's trusted folders
//! keeping everything else, and `session start` says once that Gemini will
//! not trust a new worktree.

mod common;

use common::{Repo, BIN};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn top(repo: &Repo) -> PathBuf {
    repo.path().canonicalize().unwrap()
}

fn worktree_root(repo: &Repo) -> String {
    format!("{}.worktrees", top(repo).display())
}

fn trusted_folders(repo: &Repo) -> PathBuf {
    repo.home().join(".gemini/trustedFolders.json")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn steps(out: &Value) -> Vec<String> {
    out["trust"]["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn integrate_says_the_trust_step_each_agent_still_needs() {
    let repo = Repo::new();
    let gemini = repo.json(&["integrate", "gemini"]);
    assert_eq!((&gemini["trust"]["project"], &gemini["trust"]["worktrees"]), (&Value::Null, &Value::Null));
    let said = steps(&gemini);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains(&format!("\"{}\": \"TRUST_FOLDER\"", top(&repo).display())), "{said:?}");
    assert!(said[0].contains(trusted_folders(&repo).to_str().unwrap()), "{said:?}");
    assert!(said[1].contains("--trust-worktrees"), "{said:?}");
    let text = repo.ok(&["integrate", "gemini"]);
    assert!(text.contains("still needed") && text.contains("trustedFolders.json"), "{text}");

    // Once the user trusts the project, only the worktrees are left.
    write(&trusted_folders(&repo), &format!("{{\"{}\": \"TRUST_FOLDER\"}}", top(&repo).display()));
    let gemini = repo.json(&["integrate", "gemini"]);
    assert_eq!((&gemini["trust"]["project"], &gemini["trust"]["worktrees"]), (&json!(true), &Value::Null));
    assert_eq!(steps(&gemini).len(), 1);
    // A parent rule of the user's that says no wins over nothing, and is said.
    let parent = top(&repo).parent().unwrap().to_path_buf();
    write(&trusted_folders(&repo), &format!("{{\"{}\": \"DO_NOT_TRUST\"}}", parent.display()));
    assert_eq!(repo.json(&["integrate", "gemini"])["trust"]["project"], false);

    // Codex: the project's trust in ~/.codex/config.toml (or $CODEX_HOME).
    let codex = repo.json(&["integrate", "codex"]);
    assert_eq!(codex["trust"]["project"], Value::Null);
    let said = steps(&codex);
    assert!(said[0].contains(&format!("[projects.\"{}\"] trust_level = \"trusted\"", top(&repo).display())));
    assert!(said[0].contains("codex exec --trust"), "{said:?}");
    assert!(said.last().unwrap().contains("/hooks"), "hooks are trusted one by one: {said:?}");
    let codex_home = repo.home().join("elsewhere");
    write(
        &codex_home.join("config.toml"),
        &format!("model = \"x\"\n\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n", top(&repo).display()),
    );
    let run = common::Run::of(
        repo.command(BIN).args(["--json", "integrate", "codex"]).env("CODEX_HOME", &codex_home),
    );
    let codex = run.json();
    assert_eq!((&codex["trust"]["project"], &codex["trust"]["worktrees"]), (&json!(true), &json!(true)));
    assert_eq!(steps(&codex).len(), 1, "only the hooks' own trust is left: {codex}");

    // Claude Code keeps no record to read: the dialog is always said.
    let claude = repo.json(&["integrate", "claude"]);
    assert!(steps(&claude)[0].contains("Do you trust the files in this folder?"), "{claude}");
    // Taking our settings out needs no trust.
    assert_eq!(repo.json(&["integrate", "claude", "--remove"])["trust"], Value::Null);
}

#[test]
fn trust_worktrees_adds_the_worktree_root_and_keeps_the_users_entries() {
    let repo = Repo::new();
    let mine = "{\n\t\"/home/me/work\": \"TRUST_PARENT\",\n\t\"/home/me/untrusted\": \"DO_NOT_TRUST\"\n}\n";
    write(&trusted_folders(&repo), mine);
    let out = repo.json(&["integrate", "gemini", "--trust-worktrees"]);
    let file = out["files"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (file["path"].as_str().unwrap(), file["change"].as_str().unwrap()),
        (trusted_folders(&repo).to_str().unwrap(), "updated")
    );
    let text = std::fs::read_to_string(trusted_folders(&repo)).unwrap();
    assert_eq!(
        text,
        format!(
            "{{\n\t\"/home/me/work\": \"TRUST_PARENT\",\n\t\"/home/me/untrusted\": \"DO_NOT_TRUST\",\n\t\"{}\": \"TRUST_FOLDER\"\n}}\n",
            worktree_root(&repo)
        ),
        "the user's entries, order and tabs stay; ours is added last"
    );
    assert_eq!(out["trust"]["worktrees"], true);
    assert!(steps(&out).iter().all(|s| !s.contains("--trust-worktrees")), "{out}");

    // Twice changes nothing; --remove takes exactly ours out again.
    let again = repo.json(&["integrate", "gemini", "--trust-worktrees"]);
    assert_eq!(again["files"].as_array().unwrap().last().unwrap()["change"], "unchanged");
    repo.ok(&["integrate", "gemini", "--remove", "--trust-worktrees"]);
    assert_eq!(std::fs::read_to_string(trusted_folders(&repo)).unwrap(), mine);
    assert!(!repo.path().join(".gemini/settings.json").exists(), "integrate had created it");

    // Only Gemini trusts folders one by one.
    let codex = repo.run(&["integrate", "codex", "--trust-worktrees"]);
    assert_eq!(codex.code, 2, "{codex:?}");
    assert!(codex.stderr.contains("--trust-worktrees is for Gemini CLI"), "{}", codex.stderr);
    assert!(!repo.path().join(".codex").exists(), "bad input changes nothing");
}

#[test]
fn trust_worktrees_refuses_a_file_it_would_spoil_before_writing_anything() {
    let repo = Repo::new();
    let commented = "{\n  // my folders\n  \"/home/me\": \"TRUST_FOLDER\"\n}\n";
    write(&trusted_folders(&repo), commented);
    let run = repo.run(&["integrate", "gemini", "--trust-worktrees"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("trustedFolders.json has comments"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(trusted_folders(&repo)).unwrap(), commented);
    assert!(!repo.path().join(".gemini").exists(), "the project's settings were not written either");

    // The user's own word on that very folder is never replaced.
    write(&trusted_folders(&repo), &format!("{{\"{}\": \"DO_NOT_TRUST\"}}", worktree_root(&repo)));
    let run = repo.run(&["integrate", "gemini", "--trust-worktrees"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("DO_NOT_TRUST") && run.stderr.contains("is not ours"), "{}", run.stderr);
}

#[test]
fn trust_worktrees_writes_where_gemini_reads_and_leaves_covered_folders_alone() {
    let repo = Repo::new();
    // GEMINI_CLI_HOME stands for ~ in Gemini CLI; the trusted folders path can be set outright too.
    let gemini_home = repo.home().join("gemini-home");
    let run = common::Run::of(
        repo.command(BIN)
            .args(["integrate", "gemini", "--trust-worktrees"])
            .env("GEMINI_CLI_HOME", &gemini_home),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(gemini_home.join(".gemini/trustedFolders.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, json!({ worktree_root(&repo): "TRUST_FOLDER" }));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(gemini_home.join(".gemini/trustedFolders.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only, as Gemini makes it");
    }
    let elsewhere = repo.home().join("folders.json");
    let run = common::Run::of(
        repo.command(BIN)
            .args(["integrate", "gemini", "--trust-worktrees"])
            .env("GEMINI_CLI_TRUSTED_FOLDERS_PATH", &elsewhere),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(elsewhere.exists() && !trusted_folders(&repo).exists());

    // A folder that a rule of the user's already trusts gets no entry of ours.
    let parent = top(&repo).parent().unwrap().to_path_buf();
    let theirs = format!("{{\"{}\": \"TRUST_FOLDER\"}}", parent.display());
    write(&trusted_folders(&repo), &theirs);
    let out = repo.json(&["integrate", "gemini", "--trust-worktrees"]);
    assert_eq!(out["files"].as_array().unwrap().last().unwrap()["change"], "unchanged");
    assert_eq!(std::fs::read_to_string(trusted_folders(&repo)).unwrap(), theirs);
}

#[test]
fn session_start_says_once_that_gemini_will_not_trust_the_new_worktree() {
    let repo = Repo::new();
    // Not integrated: nothing to say.
    let quiet = repo.json(&["session", "start", "first"]);
    assert!(quiet["notes"].as_array().unwrap().is_empty(), "{quiet}");

    repo.ok(&["integrate", "gemini"]);
    let warned = repo.run(&["session", "start", "second"]);
    assert_eq!(warned.code, 0, "{warned:?}");
    assert!(
        warned.stderr.contains("Gemini CLI does not trust") && warned.stderr.contains("--trust-worktrees"),
        "{}",
        warned.stderr
    );
    let again = repo.json(&["session", "start", "third"]);
    assert!(again["notes"].as_array().unwrap().is_empty(), "said once: {again}");
}

#[test]
fn session_start_says_nothing_once_the_worktrees_are_trusted() {
    let repo = Repo::new();
    repo.ok(&["integrate", "gemini", "--trust-worktrees"]);
    let started = repo.json(&["session", "start", "first"]);
    assert!(started["notes"].as_array().unwrap().is_empty(), "{started}");
}

#[test]
fn gemini_with_folder_trust_turned_off_needs_no_step() {
    let repo = Repo::new();
    write(
        &repo.home().join(".gemini/settings.json"),
        "{\n  // mine\n  \"security\": {\"folderTrust\": {\"enabled\": false}}\n}\n",
    );
    let out = repo.json(&["integrate", "gemini"]);
    assert_eq!((&out["trust"]["project"], &out["trust"]["worktrees"]), (&json!(true), &json!(true)));
    assert!(steps(&out).is_empty(), "{out}");
    let started = repo.json(&["session", "start", "first"]);
    assert!(started["notes"].as_array().unwrap().is_empty(), "{started}");
}
