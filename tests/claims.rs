//! Path claims: exclusive and shared leases, expiry, staleness, overlaps,
//! and the atomic overlap check under concurrency.

mod common;

use common::{Repo, Run, BIN};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Barrier};

fn run_in(repo: &Repo, dir: &Path, who: &str, args: &[&str]) -> Run {
    Run::of(repo.command(BIN).current_dir(dir).env("ORCHESTRATE_SESSION", who).args(args))
}

fn sessions(repo: &Repo, names: &[&str]) {
    for name in names {
        repo.ok(&["session", "start", name, "--no-worktree"]);
    }
}

#[test]
fn an_exclusive_claim_refuses_overlaps_naming_holder_pattern_reason_and_expiry() {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    repo.ok_as("alice", &["claim", "src/api/", "--reason", "reworking auth", "--ttl", "45m"]);
    for pattern in ["src/api/", "src/api/login.rs", "src/**/*.rs", "src/", "src/*"] {
        let refused = repo.run_as("bob", &["claim", pattern]);
        assert_eq!(refused.code, 1, "{pattern}: {refused:?}");
        for fact in ["alice", "src/api/", "reworking auth", "expires in 4"] {
            assert!(refused.stderr.contains(fact), "{pattern}: missing {fact:?} in {}", refused.stderr);
        }
    }
    // Disjoint paths are fine.
    for pattern in ["src/db/", "docs/*.md", "src/*.rs", "README"] {
        repo.ok_as("bob", &["claim", pattern]);
    }
    // The holder may claim inside its own claim.
    repo.ok_as("alice", &["claim", "src/api/login.rs"]);
}

#[test]
fn shared_claims_never_block_and_check_ignores_them() {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    repo.ok_as("alice", &["claim", "docs/", "--shared"]);
    repo.ok_as("bob", &["claim", "docs/", "--shared"]);
    repo.ok_as("bob", &["claim", "docs/guide.md"]);
    assert_eq!(repo.run_as("carol", &["check", "docs/intro.md"]).code, 0);
    assert_eq!(repo.run_as("carol", &["check", "docs/guide.md"]).code, 1);
}

#[test]
fn reclaiming_renews_and_expired_claims_never_block() {
    let repo = Repo::new();
    repo.pin_clock("2030-01-01T00:00:00Z");
    sessions(&repo, &["alice", "bob"]);
    let first = repo.json_as("alice", &["claim", "lib/", "--ttl", "1s"]);
    let second = repo.json_as("alice", &["claim", "lib/", "--ttl", "2s"]);
    assert!(second[0]["expires_at"].as_str() > first[0]["expires_at"].as_str());
    let listed = repo.json(&["claims"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "renewed, not duplicated");
    assert_eq!(repo.run_as("bob", &["claim", "lib/x.rs"]).code, 1);
    repo.pin_clock("2030-01-01T00:00:03Z");
    assert_eq!(repo.run_as("bob", &["check", "lib/x.rs"]).code, 0);
    repo.ok_as("bob", &["claim", "lib/x.rs"]);
}

#[test]
fn claims_of_stale_sessions_never_block_and_are_superseded() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.staleAfter", "1s"]);
    repo.pin_clock("2030-01-01T00:00:00Z");
    sessions(&repo, &["sleepy", "busy"]);
    repo.ok_as("sleepy", &["claim", "app/"]);
    assert_eq!(repo.run_as("busy", &["claim", "app/main.rs"]).code, 1);
    repo.pin_clock("2030-01-01T00:00:03Z");
    assert!(repo.ok(&["claims"]).contains("stale"));
    repo.ok_as("busy", &["claim", "app/main.rs"]);
    // The stale claim gave way, so the sleeper coming back finds no overlap.
    let paths: Vec<String> = common::strings(&repo.json(&["claims"]), "path");
    assert_eq!(paths, ["app/main.rs"]);
}

#[test]
fn check_is_relative_to_the_current_folder_and_ignores_your_own_claims() {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    std::fs::create_dir_all(repo.path().join("src/api")).unwrap();
    let sub = repo.path().join("src");
    let claimed = run_in(&repo, &sub, "alice", &["--json", "claim", "api/"]);
    assert_eq!(claimed.code, 0, "{claimed:?}");
    assert_eq!(claimed.json()[0]["path"], "src/api/");
    assert_eq!(run_in(&repo, &sub, "alice", &["check", "api/x.rs"]).code, 0, "own claim");
    let held = run_in(&repo, &sub, "bob", &["--json", "check", "api/x.rs", "main.rs"]);
    assert_eq!(held.code, 1, "{held:?}");
    assert_eq!(held.json()["conflicts"][0]["file"], "src/api/x.rs");
    assert_eq!(held.json()["conflicts"][0]["path"], "src/api/");
    assert_eq!(held.json()["conflicts"][0]["session"], "alice");
    assert!(held.stderr.contains("claimed by alice with 'src/api/'"), "{}", held.stderr);
    let abs = repo.path().canonicalize().unwrap().join("src/api/y.rs");
    assert_eq!(
        repo.run_as("bob", &["check", abs.to_str().unwrap()]).code,
        1,
        "absolute paths inside the repo"
    );
}

#[test]
fn ending_a_session_releases_its_claims_and_resuming_keeps_them() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "keeper"]);
    repo.ok_as("keeper", &["claim", "kept/"]);
    repo.ok(&["session", "start", "keeper", "--resume"]);
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 1, "resume keeps claims");
    repo.ok(&["session", "start", "leaver", "--no-worktree"]);
    repo.ok_as("leaver", &["claim", "gone/", "other/"]);
    let ended = repo.json(&["session", "end", "leaver"]);
    assert_eq!(ended["released_claims"], 2);
    let left: Vec<String> = common::strings(&repo.json(&["claims"]), "session");
    assert_eq!(left, ["keeper"]);
}

#[test]
fn release_takes_back_named_patterns_or_all() {
    let repo = Repo::new();
    sessions(&repo, &["alice"]);
    repo.ok_as("alice", &["claim", "a/", "b/", "c.txt"]);
    let not_held = repo.run_as("alice", &["release", "d/"]);
    assert_eq!(not_held.code, 1, "{not_held:?}");
    assert!(not_held.stderr.contains("a/"), "lists what it holds: {}", not_held.stderr);
    repo.ok_as("alice", &["release", "a/"]);
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 2);
    repo.ok_as("alice", &["release", "--all"]);
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 0);
}

#[test]
fn bad_claim_input_exits_2_and_changes_nothing() {
    let repo = Repo::new();
    sessions(&repo, &["alice"]);
    let before = repo.refs();
    for args in [
        vec!["claim", "../outside"],
        vec!["claim", "/etc/passwd"],
        vec!["claim", ".git/config"],
        vec!["claim", "src/../../x"],
        vec!["claim", "."],
        vec!["claim", "ok", "--ttl", "soon"],
        vec!["claim", "ok", "--ttl", "0s"],
        vec!["claim", "ok", "--reason", "two\nlines"],
        vec!["claim", "ok", "--task", "t-ffffffff"],
        vec!["claim", "src/[unclosed"],
        vec!["check", "../x"],
        vec!["claim"],
        vec!["release"],
    ] {
        let run = repo.run_as("alice", &args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(repo.refs(), before, "{args:?} changed state");
    }
    let no_session = repo.run(&["claim", "x"]);
    assert_eq!(no_session.code, 2);
}

#[test]
fn eight_sessions_racing_for_overlapping_exclusive_claims_leave_one_winner() {
    let repo = Arc::new(Repo::new());
    let names: Vec<String> = (0..8).map(|i| format!("racer-{i}")).collect();
    for name in &names {
        repo.ok(&["session", "start", name, "--no-worktree"]);
    }
    // Every pattern overlaps every other.
    let patterns =
        ["src/", "src/lib.rs", "src/**/*.rs", "src/*", "src/lib.rs", "src/**", "src/l*", "src/?ib.rs"];
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = names
        .iter()
        .zip(patterns)
        .map(|(name, pattern)| {
            let (repo, barrier, name) = (repo.clone(), barrier.clone(), name.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (name.clone(), repo.run_as(&name, &["claim", pattern]).code)
            })
        })
        .collect();
    let results: Vec<(String, i32)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<&String> = results.iter().filter(|(_, c)| *c == 0).map(|(n, _)| n).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|(_, c)| *c == 0 || *c == 1), "{results:?}");
    let holders: BTreeSet<String> = common::strings(&repo.json(&["claims"]), "session").into_iter().collect();
    assert_eq!(holders.into_iter().collect::<Vec<_>>(), [winners[0].clone()]);
}

#[test]
fn a_new_name_that_claims_becomes_a_session_and_an_ended_one_is_refused() {
    let repo = Repo::new();
    repo.ok_as("newcomer", &["claim", "lib/"]);
    let shown = repo.json(&["session", "show", "newcomer"]);
    assert_eq!(shown["status"], "active", "registered on first use, so it can go stale and be ended");
    assert_eq!(shown["worktree"], serde_json::Value::Null);
    repo.ok(&["session", "end", "newcomer"]);
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 0, "ending released it");
    let refused = repo.run_as("newcomer", &["claim", "lib/"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("session start newcomer"), "{}", refused.stderr);
}

#[test]
fn a_folder_is_claimed_whole_however_it_is_written() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("lib/sub")).unwrap();
    sessions(&repo, &["alice", "bob"]);
    for (i, spelling) in ["lib", "lib/.", "lib/"].iter().enumerate() {
        let claimed = repo.json_as("alice", &["claim", spelling]);
        assert_eq!(claimed[0]["path"], "lib/", "{spelling}");
        assert_eq!(
            repo.run_as("bob", &["check", "lib/sub/x.rs"]).code,
            1,
            "{spelling} covers what is inside"
        );
        repo.ok_as("alice", &["release", "--all"]);
        let _ = i;
    }
    let inside = repo.path().join("lib/sub");
    let out = repo
        .command(common::BIN)
        .current_dir(&inside)
        .args(["--json", "--session", "alice", "claim", "."])
        .output()
        .unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0]["path"], "lib/sub/");
}

#[test]
fn a_refusal_names_the_requested_pattern_that_overlapped() {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    repo.ok_as("alice", &["claim", "src/api/"]);
    let refused = repo.run_as("bob", &["claim", "docs/", "src/**/*.md"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("'src/**/*.md' overlaps 'src/api/', held by alice"),
        "{}",
        refused.stderr
    );
}

#[test]
fn check_understands_folders_globs_and_paths_through_symbolic_links() {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    std::fs::create_dir_all(repo.path().join("src/api")).unwrap();
    std::fs::write(repo.path().join("src/api/[id].rs"), "").unwrap();
    repo.ok_as("alice", &["claim", "src/api/login.rs"]);
    assert_eq!(repo.run_as("bob", &["check", "src/"]).code, 1, "a folder holding a claimed file");
    assert_eq!(repo.run_as("bob", &["check", "src/*/*.rs"]).code, 1, "a glob");
    assert_eq!(repo.run_as("bob", &["check", "src/api/[id].rs"]).code, 0, "an existing file is never a glob");
    let link_dir = tempfile::tempdir().unwrap();
    let link = link_dir.path().join("repo");
    std::os::unix::fs::symlink(repo.path(), &link).unwrap();
    let through = link.join("src/api/login.rs");
    assert_eq!(repo.run_as("bob", &["check", through.to_str().unwrap()]).code, 1);
}

/// A repository with `docs/same.md`, an alias `docs-link -> docs`, and
/// live sessions alice and bob.
fn aliased_repo() -> Repo {
    let repo = Repo::new();
    sessions(&repo, &["alice", "bob"]);
    std::fs::create_dir(repo.path().join("docs")).unwrap();
    std::fs::write(repo.path().join("docs/same.md"), "x\n").unwrap();
    std::os::unix::fs::symlink("docs", repo.path().join("docs-link")).unwrap();
    repo
}

#[test]
fn a_claim_through_a_symbolic_link_is_a_claim_on_what_it_points_to() {
    let repo = aliased_repo();
    let claimed = repo.json_as("alice", &["claim", "docs-link/same.md"]);
    assert_eq!(claimed[0]["path"], "docs/same.md", "{claimed}");
    // The other name of the same file: refused, and check agrees.
    let run = repo.run_as("bob", &["claim", "docs/same.md"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("alice"), "{}", run.stderr);
    for path in ["docs-link/same.md", "docs/same.md", "docs-link/", "docs-link"] {
        let run = repo.run_as("bob", &["check", path]);
        assert_eq!(run.code, 1, "check {path}: {run:?}");
    }
    // And the other way round: a folder claimed by one name covers the other.
    let run = repo.run_as("bob", &["claim", "docs-link/"]);
    assert_eq!(run.code, 1, "{run:?}");
    // A link to a file is the file.
    std::os::unix::fs::symlink("docs/same.md", repo.path().join("alias.md")).unwrap();
    assert_eq!(repo.run_as("bob", &["check", "alias.md"]).code, 1);
    // From a folder reached through the link, `..` is taken after the link,
    // as the system does: docs-link/../docs-link/same.md is docs/same.md.
    let run = run_in(&repo, &repo.path().join("docs-link"), "bob", &["check", "../docs-link/same.md"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn the_agent_hook_and_the_pre_commit_guard_agree_with_check_through_a_link() {
    let repo = aliased_repo();
    repo.ok(&["hooks", "install"]);
    repo.ok_as("alice", &["claim", "docs-link/same.md"]);
    let top = repo.path().canonicalize().unwrap();
    // Claude Code's Write through either name, for bob.
    for file in ["docs-link/same.md", "docs/same.md"] {
        let payload = serde_json::json!({
            "session_id": "abc", "transcript_path": "/dev/null", "cwd": top,
            "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_input": { "file_path": top.join(file), "content": "x" }
        });
        let mut cmd = repo.command(BIN);
        cmd.env("ORCHESTRATE_SESSION", "bob").args(["hook", "claude", "PreToolUse"]);
        let run = Run::with_input(&mut cmd, payload.to_string().as_bytes());
        assert!(run.stdout.contains("\"deny\"") && run.stdout.contains("alice"), "{file}: {run:?}");
    }
    // bob's commit of the file is refused by the pre-commit guard.
    repo.git(&["add", "docs/same.md"]);
    let commit =
        Run::of(repo.command("git").env("ORCHESTRATE_SESSION", "bob").args(["commit", "-qm", "docs"]));
    assert_eq!(commit.code, 1, "{commit:?}");
    assert!(commit.stderr.contains("docs/same.md") && commit.stderr.contains("alice"), "{}", commit.stderr);
}

#[test]
fn a_path_through_a_link_out_of_the_repository_is_refused_with_exit_2() {
    let repo = aliased_repo();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("secret"), "s\n").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), repo.path().join("link-out")).unwrap();
    // A link that points nowhere yet is followed all the same.
    std::os::unix::fs::symlink("/nonexistent-orchestrate/dir", repo.path().join("dangling")).unwrap();
    let before = repo.refs();
    for path in ["link-out/secret", "link-out/", "link-out/new.md", "dangling/a.md", "docs-link/../../x"] {
        for command in ["claim", "check"] {
            let run = repo.run_as("bob", &["--json", command, path]);
            assert_eq!(run.code, 2, "{command} {path}: {run:?}");
            assert_eq!(run.json()["error"]["kind"], "invalid", "{run:?}");
            assert!(run.stderr.contains("outside the repository"), "{}", run.stderr);
        }
    }
    assert_eq!(repo.refs(), before, "nothing was claimed");
}
