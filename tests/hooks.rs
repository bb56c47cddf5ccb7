//! Git hooks with real `git commit`s: completions from trailers, the claim
//! guard, and living alongside the user's own hooks.

mod common;

use common::{Repo, Run};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn start(repo: &Repo, name: &str) -> PathBuf {
    PathBuf::from(repo.json(&["session", "start", name])["worktree"].as_str().unwrap())
}

/// `git <args>` inside `dir`, with the sandboxed environment.
fn git_in(repo: &Repo, dir: &Path, args: &[&str]) -> Run {
    Run::of(repo.command("git").current_dir(dir).args(args))
}

fn commit(repo: &Repo, dir: &Path, file: &str, message: &[&str]) -> Run {
    std::fs::write(dir.join(file), format!("{message:?}\n")).unwrap();
    assert_eq!(git_in(repo, dir, &["add", file]).code, 0);
    let mut args = vec!["commit", "-q"];
    for m in message {
        args.extend(["-m", m]);
    }
    git_in(repo, dir, &args)
}

fn head(repo: &Repo, dir: &Path) -> String {
    git_in(repo, dir, &["rev-parse", "HEAD"]).stdout.trim().to_string()
}

#[test]
fn a_closes_trailer_marks_the_task_done_and_tells_everyone() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let wt = start(&repo, "alice");
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    let task = repo.add("Fix the login", &[]);
    repo.ok_as("alice", &["task", "claim", &task]);

    let run = commit(&repo, &wt, "login.rs", &["Fix the login", &format!("Closes: {task}")]);
    assert_eq!(run.code, 0, "{run:?}");
    let sha = head(&repo, &wt);
    let shown = repo.json(&["task", "show", &task]);
    assert_eq!(shown["status"], "done");
    assert_eq!(shown["commits"], serde_json::json!([sha]));
    for reader in ["bob", "alice-reader"] {
        if reader == "alice-reader" {
            repo.ok(&["session", "start", reader, "--no-worktree"]);
        }
        let inbox = repo.json_as(reader, &["inbox"]);
        let completion =
            inbox.as_array().unwrap().iter().find(|m| m["kind"] == "completion").expect("a completion");
        assert_eq!(completion["from"], "alice");
        assert!(completion["subject"].as_str().unwrap().contains(&task));
        assert!(completion["body"].as_str().unwrap().contains(&sha));
    }
}

#[test]
fn a_task_trailer_records_and_prose_never_closes() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let wt = start(&repo, "carol");
    let task = repo.add("Refactor", &[]);
    repo.ok_as("carol", &["task", "claim", &task]);

    // prepare-commit-msg adds the Task trailer for the current task.
    assert_eq!(commit(&repo, &wt, "a.rs", &[&format!("This closes the gap in {task}, done")]).code, 0);
    let message = git_in(&repo, &wt, &["log", "-1", "--format=%B"]).stdout;
    assert!(message.contains(&format!("Task: {task}")), "{message}");
    let shown = repo.json(&["task", "show", &task]);
    assert_eq!(shown["status"], "claimed", "prose does not close");
    assert_eq!(shown["commits"].as_array().unwrap().len(), 1, "the commit is recorded");

    // A message that names a task already gets no second trailer.
    let other = repo.add("Other", &[]);
    assert_eq!(commit(&repo, &wt, "b.rs", &["Work", &format!("Task: {other}")]).code, 0);
    let message = git_in(&repo, &wt, &["log", "-1", "--format=%B"]).stdout;
    assert!(!message.contains(&format!("Task: {task}")), "{message}");
    assert_eq!(repo.json(&["task", "show", &other])["commits"].as_array().unwrap().len(), 1);
}

#[test]
fn pre_commit_refuses_paths_claimed_by_another_live_session_and_no_verify_bypasses() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let wt = start(&repo, "dave");
    repo.ok(&["session", "start", "erin", "--no-worktree"]);
    repo.ok_as("erin", &["claim", "src/api/", "--reason", "auth rewrite"]);
    repo.ok_as("dave", &["claim", "docs/"]);
    std::fs::create_dir_all(wt.join("src/api")).unwrap();
    std::fs::create_dir_all(wt.join("docs")).unwrap();

    let refused = commit(&repo, &wt, "src/api/x.rs", &["touch erin's files"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    for fact in ["src/api/x.rs", "erin", "src/api/", "auth rewrite", "expires in", "--no-verify"] {
        assert!(refused.stderr.contains(fact), "missing {fact:?}: {}", refused.stderr);
    }
    // Own claims and unclaimed paths are fine.
    assert_eq!(git_in(&repo, &wt, &["reset", "-q"]).code, 0);
    assert_eq!(commit(&repo, &wt, "docs/a.md", &["my docs"]).code, 0);
    // --no-verify bypasses, as with any hook.
    std::fs::write(wt.join("src/api/x.rs"), "y").unwrap();
    git_in(&repo, &wt, &["add", "src/api/x.rs"]);
    assert_eq!(git_in(&repo, &wt, &["commit", "-q", "--no-verify", "-m", "anyway"]).code, 0);
}

#[test]
fn expired_claims_shared_claims_and_stale_sessions_never_block() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.staleAfter", "1s"]);
    repo.pin_clock("2030-01-01T00:00:00Z");
    repo.ok(&["hooks", "install"]);
    repo.ok(&["session", "start", "sleepy", "--no-worktree"]);
    repo.ok(&["session", "start", "sharer", "--no-worktree"]);
    repo.ok_as("sleepy", &["claim", "a.txt"]);
    repo.ok_as("sharer", &["claim", "b.txt", "--shared"]);
    repo.pin_clock("2030-01-01T00:00:03Z");
    let wt = start(&repo, "frank");
    assert_eq!(commit(&repo, &wt, "a.txt", &["stale holder"]).code, 0);
    assert_eq!(commit(&repo, &wt, "b.txt", &["shared claim"]).code, 0);
}

#[test]
fn a_users_hook_keeps_running_first_and_comes_back_intact() {
    let repo = Repo::new();
    let hooks = repo.path().join(".git/hooks");
    let user_hook = "#!/bin/sh\nif [ -f .block ]; then echo 'user hook says no' >&2; exit 7; fi\necho ran >> .git/user-hook.log\n";
    std::fs::write(hooks.join("pre-commit"), user_hook).unwrap();
    std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o750)).unwrap();
    repo.ok(&["hooks", "install"]);
    let status = repo.json(&["hooks", "status"]);
    assert_eq!(status["hooks"][0]["installed"], true);
    assert!(status["hooks"][0]["saved"].as_str().unwrap().ends_with("pre-commit.pre-orchestrate"));

    assert_eq!(commit(&repo, repo.path(), "one.txt", &["one"]).code, 0);
    assert_eq!(std::fs::read_to_string(repo.path().join(".git/user-hook.log")).unwrap(), "ran\n");
    std::fs::write(repo.path().join(".block"), "").unwrap();
    let blocked = commit(&repo, repo.path(), "two.txt", &["two"]);
    assert_eq!(blocked.code, 1, "the user's hook still decides: {blocked:?}");
    assert!(blocked.stderr.contains("user hook says no"));

    repo.ok(&["hooks", "uninstall"]);
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), user_hook);
    assert_eq!(std::fs::metadata(hooks.join("pre-commit")).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(!hooks.join("post-commit").exists() && !hooks.join("pre-commit.pre-orchestrate").exists());
}

#[test]
fn one_install_covers_every_worktree_and_core_hooks_path_is_respected() {
    let repo = Repo::new();
    let wt = start(&repo, "gina");
    // Installed from inside a linked worktree: goes to the common git dir.
    let out =
        repo.command(common::BIN).current_dir(&wt).args(["--json", "hooks", "install"]).output().unwrap();
    assert!(out.status.success());
    let dir = PathBuf::from(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["dir"].as_str().unwrap(),
    );
    assert_eq!(dir.canonicalize().unwrap(), repo.path().join(".git/hooks").canonicalize().unwrap());
    repo.ok(&["hooks", "uninstall"]);

    let elsewhere = tempfile::tempdir().unwrap();
    repo.git(&["config", "core.hooksPath", elsewhere.path().to_str().unwrap()]);
    repo.ok(&["hooks", "install"]);
    assert!(elsewhere.path().join("post-commit").exists());
    assert!(!repo.path().join(".git/hooks/post-commit").exists());
}

#[test]
fn a_tracked_hooks_folder_is_not_edited_and_the_way_out_is_explained() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path().join(".husky")).unwrap();
    std::fs::write(repo.path().join(".husky/pre-commit"), "#!/bin/sh\nnpm test\n").unwrap();
    repo.git(&["add", ".husky"]);
    repo.git(&["commit", "-q", "-m", "husky"]);
    repo.git(&["config", "core.hooksPath", ".husky"]);
    let run = repo.run(&["hooks", "install"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("hook manager") && run.stderr.contains("git-orchestrate hook pre-commit"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".husky/pre-commit")).unwrap(),
        "#!/bin/sh\nnpm test\n"
    );
    assert!(!repo.path().join(".husky/post-commit").exists());
}

#[test]
fn a_corrupted_state_never_blocks_a_commit() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    repo.ok(&["session", "start", "hal", "--no-worktree"]);
    repo.plant("refs/orchestrate/claims", "claims.json", b"{ not json");
    repo.plant("refs/orchestrate/tasks", "index-open-0.json", b"garbage");
    let run = commit(&repo, repo.path(), "c.txt", &["still commits", "Closes: t-0000"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("git-orchestrate"), "problems are reported: {}", run.stderr);
    // Even a store this binary cannot write (a newer format) lets commits through.
    repo.plant(
        "refs/orchestrate/meta",
        "meta.json",
        b"{\"format\": 9, \"created_at\": \"2030-01-01T00:00:00Z\"}",
    );
    assert_eq!(commit(&repo, repo.path(), "d.txt", &["and again", "Task: t-0000"]).code, 0);
}

#[test]
fn a_hook_that_depends_on_its_own_name_is_never_wrapped() {
    let repo = Repo::new();
    let hooks = repo.path().join(".git/hooks");
    let dispatcher = "#!/bin/sh\n. \"$(dirname \"$0\")/_/$(basename \"$0\")\"\n";
    std::fs::write(hooks.join("pre-commit"), dispatcher).unwrap();
    std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = repo.run(&["hooks", "install"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("own name") && run.stderr.contains("git-orchestrate hook pre-commit"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), dispatcher, "untouched");
    assert!(!hooks.join("post-commit").exists(), "nothing installed");
}

#[test]
fn a_relative_hooks_path_is_refused_because_worktrees_would_not_share_it() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let run = repo.run(&["hooks", "install"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("relative") && run.stderr.contains("session worktrees"), "{}", run.stderr);
    assert!(!repo.path().join(".githooks").exists());
}

#[test]
fn an_emptied_editor_message_still_aborts_the_commit() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let wt = start(&repo, "ivy");
    let task = repo.add("current", &[]);
    repo.ok_as("ivy", &["task", "claim", &task]);
    std::fs::write(wt.join("e.txt"), "e").unwrap();
    git_in(&repo, &wt, &["add", "e.txt"]);
    // An editor that leaves the message empty: git must abort as usual.
    let out = repo
        .command("git")
        .current_dir(&wt)
        .env("GIT_EDITOR", "true")
        .args(["commit", "-q"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the commit must abort: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_repeated_closes_trailer_records_the_commit_but_announces_nothing_again() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let wt = start(&repo, "jack");
    repo.ok(&["session", "start", "kate", "--no-worktree"]);
    let task = repo.add("once", &[]);
    repo.ok_as("jack", &["task", "claim", &task]);
    assert_eq!(commit(&repo, &wt, "a.txt", &["first", &format!("Closes: {task}")]).code, 0);
    assert_eq!(
        git_in(
            &repo,
            &wt,
            &["commit", "-q", "--amend", "-m", "first, amended", "-m", &format!("Closes: {task}")]
        )
        .code,
        0
    );
    assert_eq!(commit(&repo, &wt, "b.txt", &["again", &format!("Done: {task}\nCloses: #12")]).code, 0);
    let completions = repo.json_as("kate", &["inbox"]);
    let n = completions.as_array().unwrap().iter().filter(|m| m["kind"] == "completion").count();
    assert_eq!(n, 1, "announced once: {completions}");
    assert_eq!(
        repo.json(&["task", "show", &task])["commits"].as_array().unwrap().len(),
        3,
        "every commit recorded"
    );
}

#[test]
fn a_closes_trailer_does_not_close_a_task_another_live_session_holds() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    repo.ok(&["session", "start", "holder", "--no-worktree"]);
    let task = repo.add("theirs", &[]);
    repo.ok_as("holder", &["task", "claim", &task]);
    let wt = start(&repo, "passer");
    let run = commit(&repo, &wt, "c.txt", &["fix", &format!("Closes: {task}")]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("held by holder"), "{}", run.stderr);
    let shown = repo.json(&["task", "show", &task]);
    assert_eq!(shown["status"], "claimed");
    assert_eq!(shown["commits"].as_array().unwrap().len(), 1, "but the commit is recorded");
}

#[test]
fn pre_commit_checks_every_name_and_stays_out_of_merges() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    let erin = start(&repo, "erin");
    repo.ok_as("erin", &["claim", "src/api/"]);
    std::fs::create_dir_all(erin.join("src/api")).unwrap();
    assert_eq!(commit(&repo, &erin, "src/api/mine.rs", &["erin's work"]).code, 0);

    // Odd names under a claimed folder are still caught.
    let main = repo.path();
    std::fs::create_dir_all(main.join("src/api")).unwrap();
    std::fs::write(main.join("src/api/we\\ird.rs"), "x").unwrap();
    git_in(&repo, main, &["add", "src/api"]);
    let refused = git_in(&repo, main, &["commit", "-q", "-m", "odd name"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(git_in(&repo, main, &["reset", "-q", "--hard"]).code, 0);
    let _ = std::fs::remove_file(main.join("src/api/we\\ird.rs"));

    // Concluding a merge of erin's branch brings in her commits: not blocked.
    assert_eq!(git_in(&repo, main, &["merge", "-q", "--no-ff", "--no-commit", "orchestrate/erin"]).code, 0);
    let merged = git_in(&repo, main, &["commit", "-q", "-m", "merge erin"]);
    assert_eq!(merged.code, 0, "{merged:?}");
}

#[test]
fn install_never_overwrites_a_saved_hook() {
    let repo = Repo::new();
    let hooks = repo.path().join(".git/hooks");
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\necho ORIGINAL\n").unwrap();
    std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    repo.ok(&["hooks", "install"]);
    std::fs::remove_file(hooks.join("pre-commit")).unwrap();
    std::os::unix::fs::symlink("../../node_modules/nowhere/pc", hooks.join("pre-commit")).unwrap();
    let run = repo.run(&["hooks", "install"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.pre-orchestrate")).unwrap(),
        "#!/bin/sh\necho ORIGINAL\n"
    );
}
