//! The conflict radar (`conflicts`, the board's CONFLICTS section, the
//! commit-time announcements) and dependents starting from the work they
//! depend on (`spawn --base`, `dispatch`).

mod common;

use common::{strings, Repo, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A session's worktree, where `session start` makes it.
fn wt(repo: &Repo, name: &str) -> PathBuf {
    PathBuf::from(format!("{}.worktrees/{name}", repo.path().display()))
}

/// Runs git in `dir` with the sandboxed environment; returns stdout.
fn git_in(repo: &Repo, dir: &Path, args: &[&str]) -> String {
    let run = Run::of(repo.command("git").current_dir(dir).args(args));
    assert_eq!(run.code, 0, "git {args:?} in {}: {}", dir.display(), run.stderr);
    run.stdout.trim().to_string()
}

fn write(dir: &Path, file: &str, content: &str) {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

/// Writes `file` in `dir` and commits it.
fn commit(repo: &Repo, dir: &Path, file: &str, content: &str) {
    write(dir, file, content);
    git_in(repo, dir, &["add", file]);
    git_in(repo, dir, &["commit", "-q", "-m", &format!("change {file}")]);
}

/// Ten lines, so that edits far apart merge cleanly.
const TEN: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";

/// A repository with `f.txt` (ten lines) and `g.txt` on main, and live
/// sessions with worktrees.
fn scene(sessions: &[&str]) -> Repo {
    let repo = Repo::new();
    write(repo.path(), "f.txt", TEN);
    write(repo.path(), "g.txt", "g\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "files"]);
    for s in sessions {
        repo.ok(&["session", "start", s]);
    }
    repo
}

/// The overlap between `session` and `other`, if the radar lists one.
fn overlap<'a>(radar: &'a Value, session: &str, other: &str) -> Option<&'a Value> {
    radar["overlaps"].as_array().unwrap().iter().find(|o| o["session"] == session && o["other"] == other)
}

fn list(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_radar_sees_committed_and_uncommitted_work_without_touching_the_worktree() {
    let repo = scene(&["alice", "bob"]);
    let (a, b) = (wt(&repo, "alice"), wt(&repo, "bob"));
    commit(&repo, &a, "f.txt", &TEN.replace("1\n", "alice\n"));
    // bob's edit is not committed, and his new file is not even added.
    write(&b, "f.txt", &TEN.replace("1\n", "bob\n"));
    write(&b, "notes/new.txt", "bob's\n");
    write(&a, "notes/new.txt", "alice's\n");
    let status_before = git_in(&repo, &b, &["status", "--porcelain"]);
    let index = std::fs::read(repo.path().join(".git/worktrees/bob/index")).unwrap();

    let radar = repo.json(&["conflicts"]);
    let pair = overlap(&radar, "alice", "bob").unwrap_or_else(|| panic!("no alice/bob overlap: {radar:#}"));
    assert_eq!(pair["against"], "session");
    assert_eq!(list(&pair["files"]), ["f.txt", "notes/new.txt"]);
    assert_eq!(list(&pair["conflicts"]), ["f.txt", "notes/new.txt"], "both add the file differently");
    let bob = radar["sessions"].as_array().unwrap().iter().find(|s| s["session"] == "bob").unwrap();
    assert_eq!(bob["uncommitted"], true);
    assert_eq!(radar["uncommitted"], true);

    // Nothing in bob's worktree moved: same status, same index file, same files.
    assert_eq!(git_in(&repo, &b, &["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read(repo.path().join(".git/worktrees/bob/index")).unwrap(), index);
    assert_eq!(std::fs::read_to_string(b.join("f.txt")).unwrap(), TEN.replace("1\n", "bob\n"));

    // --committed leaves uncommitted work out: bob has nothing committed.
    let committed = repo.json(&["conflicts", "--committed"]);
    assert_eq!(committed["uncommitted"], false);
    assert!(committed["overlaps"].as_array().unwrap().is_empty(), "{committed:#}");
}

#[test]
fn a_clean_overlap_is_not_a_conflict_and_the_text_says_which_is_which() {
    let repo = scene(&["alice", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "f.txt", &TEN.replace("1\n", "alice\n"));
    commit(&repo, &wt(&repo, "bob"), "f.txt", &TEN.replace("10\n", "bob\n"));
    let radar = repo.json(&["conflicts"]);
    let pair = overlap(&radar, "alice", "bob").unwrap();
    assert_eq!(list(&pair["files"]), ["f.txt"]);
    assert!(pair["conflicts"].as_array().unwrap().is_empty(), "{pair}");

    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob's g\n");
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice's g\n");
    let run = repo.run(&["conflicts"]);
    assert_eq!(run.code, 0, "a view exits 0 even with conflicts ahead: {run:?}");
    assert!(
        run.stdout.contains("alice and bob: would conflict on g.txt; both change f.txt (merges cleanly)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_session_is_compared_with_its_target_and_not_blamed_for_the_targets_changes() {
    let repo = scene(&["alice"]);
    // main moves on after alice started; bob starts from the new main.
    commit(&repo, repo.path(), "g.txt", "main's g\n");
    repo.ok(&["session", "start", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice's g\n");
    let radar = repo.json(&["conflicts"]);
    let target = overlap(&radar, "alice", "main").unwrap_or_else(|| panic!("no target row: {radar:#}"));
    assert_eq!(target["against"], "target");
    assert_eq!(list(&target["conflicts"]), ["g.txt"]);
    // bob only has main's change to g.txt, which is not his own work.
    assert!(overlap(&radar, "alice", "bob").is_none(), "{radar:#}");
    let bob = radar["sessions"].as_array().unwrap().iter().find(|s| s["session"] == "bob").unwrap();
    assert!(bob["changed"].as_array().unwrap().is_empty(), "{bob}");
    assert_eq!(bob["target"], "main");
}

#[test]
fn ignored_files_and_copies_of_include_files_are_not_work() {
    let repo = Repo::new();
    write(repo.path(), ".gitignore", "build/\n");
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore build"]);
    write(repo.path(), ".env", "SECRET=1\n");
    write(repo.path(), ".worktreeinclude", ".env\n");
    repo.ok(&["session", "start", "alice"]);
    repo.ok(&["session", "start", "bob"]);
    for s in ["alice", "bob"] {
        assert!(wt(&repo, s).join(".env").exists(), "the include copy is made");
        write(&wt(&repo, s), "build/out.o", s);
    }
    let radar = repo.json(&["conflicts"]);
    assert!(radar["overlaps"].as_array().unwrap().is_empty(), "{radar:#}");
    for s in radar["sessions"].as_array().unwrap() {
        assert_eq!(s["uncommitted"], false, "{s}");
    }
}

#[test]
fn stale_ended_and_worktreeless_sessions_are_left_out_and_a_lost_branch_is_reported() {
    let repo = scene(&["alice", "bob", "carol"]);
    repo.ok(&["session", "start", "dave", "--no-worktree"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob\n");
    // carol's worktree and branch disappear behind the tool's back.
    git_in(&repo, repo.path(), &["worktree", "remove", "--force", wt(&repo, "carol").to_str().unwrap()]);
    repo.git(&["branch", "-D", "orchestrate/carol"]);
    let radar = repo.json(&["conflicts"]);
    assert_eq!(strings(&radar["sessions"], "session"), ["alice", "bob"]);
    assert_eq!(strings(&radar["unseen"], "session"), ["carol"]);
    assert!(radar["unseen"][0]["reason"].as_str().unwrap().contains("orchestrate/carol"));
    assert!(overlap(&radar, "alice", "bob").is_some());
    repo.ok(&["session", "end", "bob"]);
    let radar = repo.json(&["conflicts"]);
    assert!(overlap(&radar, "alice", "bob").is_none(), "an ended session is not compared: {radar:#}");
}

#[test]
fn conflicts_rejects_bad_input_and_changes_nothing() {
    let repo = scene(&["alice"]);
    let before = repo.refs();
    for args in [&["conflicts", "alice"][..], &["conflicts", "--bogus"]] {
        let run = repo.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let run = repo.run(&["--json", "conflicts", "--nope"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["kind"], "invalid");
    assert_eq!(repo.refs(), before);
    let empty = Repo::new();
    let run = empty.run(&["conflicts"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("0 live sessions"), "{}", run.stdout);
}

fn subjects(repo: &Repo, who: &str) -> Vec<String> {
    strings(&repo.json_as(who, &["inbox", "--peek"]), "subject")
}

#[test]
fn a_commit_that_makes_a_new_conflict_tells_both_sessions_once() {
    let repo = scene(&["alice", "bob", "carol"]);
    repo.ok(&["hooks", "install"]);
    let (a, b) = (wt(&repo, "alice"), wt(&repo, "bob"));
    commit(&repo, &a, "f.txt", &TEN.replace("1\n", "alice\n"));
    assert!(subjects(&repo, "alice").is_empty(), "no conflict yet");
    commit(&repo, &b, "f.txt", &TEN.replace("1\n", "bob\n"));
    assert_eq!(subjects(&repo, "alice"), ["conflict ahead with bob: f.txt"]);
    assert_eq!(subjects(&repo, "bob"), ["conflict ahead with alice: f.txt"]);
    assert!(subjects(&repo, "carol").is_empty(), "carol is not part of it");
    let message = &repo.json_as("alice", &["inbox", "--peek"])[0];
    assert_eq!(message["from"], "bob", "a reply reaches the other side");

    // More commits on either side with the same conflict: no new message.
    commit(&repo, &b, "f.txt", &TEN.replace("1\n", "bob again\n"));
    commit(&repo, &a, "h.txt", "unrelated\n");
    assert_eq!(subjects(&repo, "alice").len(), 1);
    assert_eq!(subjects(&repo, "bob").len(), 1);

    // A further conflicting file is news.
    commit(&repo, &a, "g.txt", "alice's g\n");
    commit(&repo, &b, "g.txt", "bob's g\n");
    assert_eq!(subjects(&repo, "alice").last().unwrap(), "conflict ahead with bob: f.txt, g.txt");
    assert_eq!(subjects(&repo, "bob").len(), 2);

    // Resolved, then conflicting again: told again.
    commit(&repo, &b, "f.txt", &TEN.replace("1\n", "alice\n"));
    commit(&repo, &b, "g.txt", "alice's g\n");
    commit(&repo, &b, "g.txt", "bob's g, again\n");
    assert_eq!(subjects(&repo, "bob").last().unwrap(), "conflict ahead with alice: g.txt");
    assert_eq!(subjects(&repo, "bob").len(), 3);
}

#[test]
fn a_commit_by_the_human_in_the_main_checkout_announces_nothing() {
    let repo = scene(&["alice"]);
    repo.ok(&["hooks", "install"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    let run = Run::of(repo.command("git").args(["commit", "-q", "--allow-empty", "-m", "human"]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("conflict"), "{}", run.stderr);
    assert!(repo.git(&["for-each-ref", "refs/orchestrate/radar"]).is_empty());
}

#[test]
fn the_board_has_a_conflicts_section_in_every_format() {
    let repo = scene(&["alice", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "f.txt", &TEN.replace("1\n", "alice\n"));
    commit(&repo, &wt(&repo, "bob"), "f.txt", &TEN.replace("1\n", "bob\n"));
    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob's g\n");
    commit(&repo, &wt(&repo, "alice"), "g.txt", TEN);
    commit(&repo, repo.path(), "g.txt", "main's g\n");
    let text = repo.ok(&["board"]);
    assert!(text.contains("CONFLICTS  3 would conflict (committed work)"), "{text}");
    assert!(text.contains("  alice and bob: conflict: f.txt, g.txt\n"), "{text}");
    assert!(text.contains("  alice and main (target): conflict: g.txt\n"), "{text}");
    let page = repo.ok(&["board", "--markdown"]);
    assert!(page.contains("## Conflicts"), "{page}");
    assert!(page.contains("| alice and bob | f.txt, g.txt |  |"), "{page}");
    let board = repo.json(&["board"]);
    let rows = board["conflicts"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{board:#}");
    assert_eq!(rows[0]["session"], "alice");
    assert_eq!(rows[0]["other"], "bob");
    assert_eq!(list(&rows[0]["conflicts"]), ["f.txt", "g.txt"]);

    // Uncommitted work is not on the board (it stays cheap); `conflicts` has it.
    write(&wt(&repo, "alice"), "new.txt", "x");
    write(&wt(&repo, "bob"), "new.txt", "y");
    assert_eq!(repo.json(&["board"])["conflicts"].as_array().unwrap().len(), 3);
    assert!(overlap(&repo.json(&["conflicts"]), "alice", "bob").unwrap()["files"]
        .as_array()
        .unwrap()
        .contains(&Value::from("new.txt")));
}

#[test]
fn a_board_without_overlaps_has_no_conflicts_section() {
    let repo = scene(&["alice", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "a.txt", "a\n");
    commit(&repo, &wt(&repo, "bob"), "b.txt", "b\n");
    assert!(!repo.ok(&["board"]).contains("CONFLICTS"));
    assert!(repo.ok(&["board", "--markdown"]).contains("No overlapping changes"));
}

#[test]
fn nested_repositories_and_symlinks_in_a_worktree_do_not_stop_the_radar() {
    let repo = scene(&["alice", "bob"]);
    let (a, b) = (wt(&repo, "alice"), wt(&repo, "bob"));
    let nested = a.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    git_in(&repo, &nested, &["init", "-q"]);
    commit(&repo, &nested, "lib.txt", "nested\n");
    std::os::unix::fs::symlink("f.txt", a.join("link")).unwrap();
    std::os::unix::fs::symlink("g.txt", b.join("link")).unwrap();
    let radar = repo.json(&["conflicts"]);
    assert!(radar["unseen"].as_array().unwrap().is_empty(), "{radar:#}");
    let alice = &radar["sessions"][0];
    assert_eq!(list(&alice["changed"]), ["link"], "the nested repository is not alice's file: {alice}");
    assert_eq!(list(&overlap(&radar, "alice", "bob").unwrap()["conflicts"]), ["link"]);
}

#[test]
fn stale_sessions_are_not_compared() {
    let repo = scene(&["alice", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob\n");
    let later = Run::of(
        repo.command(common::BIN)
            .env("ORCHESTRATE_NOW", "2100-01-01T00:00:00Z")
            .args(["--json", "conflicts"]),
    );
    assert_eq!(later.code, 0, "{later:?}");
    assert!(later.json()["sessions"].as_array().unwrap().is_empty(), "{}", later.stdout);
    assert!(overlap(&repo.json(&["conflicts"]), "alice", "bob").is_some());
}

#[test]
fn a_session_is_compared_with_the_target_it_recorded() {
    let repo = scene(&[]);
    repo.git(&["branch", "release"]);
    repo.ok(&["session", "start", "carol", "--into", "release"]);
    repo.git(&["checkout", "-q", "release"]);
    commit(&repo, repo.path(), "g.txt", "release's g\n");
    repo.git(&["checkout", "-q", "main"]);
    commit(&repo, &wt(&repo, "carol"), "g.txt", "carol's g\n");
    let radar = repo.json(&["conflicts"]);
    assert_eq!(radar["sessions"][0]["target"], "release");
    let row = overlap(&radar, "carol", "release").unwrap_or_else(|| panic!("{radar:#}"));
    assert_eq!(list(&row["conflicts"]), ["g.txt"]);
    assert!(overlap(&radar, "carol", "main").is_none());
}

#[test]
fn sessions_without_a_target_are_compared_from_their_merge_base() {
    let repo = scene(&[]);
    repo.git(&["checkout", "-q", "--detach"]);
    repo.ok(&["session", "start", "alice"]);
    repo.ok(&["session", "start", "bob"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob\n");
    let radar = repo.json(&["conflicts"]);
    for s in radar["sessions"].as_array().unwrap() {
        assert!(s["target"].is_null() && s["changed"].is_null(), "{s}");
    }
    assert_eq!(list(&overlap(&radar, "alice", "bob").unwrap()["conflicts"]), ["g.txt"]);
    assert_eq!(radar["overlaps"].as_array().unwrap().len(), 1, "no target rows: {radar:#}");
}

#[test]
fn a_corrupt_announcement_record_does_not_silence_the_radar() {
    let repo = scene(&["alice", "bob"]);
    repo.ok(&["hooks", "install"]);
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    repo.plant("refs/orchestrate/radar", "announced.json", b"{ not json");
    let corrupt = repo.git(&["rev-parse", "refs/orchestrate/radar"]);
    std::fs::write(wt(&repo, "bob").join("g.txt"), "bob\n").unwrap();
    git_in(&repo, &wt(&repo, "bob"), &["add", "g.txt"]);
    let run = Run::of(repo.command("git").current_dir(wt(&repo, "bob")).args(["commit", "-q", "-m", "bob"]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("announced.json is corrupt"), "said once, with where: {}", run.stderr);
    assert_eq!(subjects(&repo, "alice"), ["conflict ahead with bob: g.txt"]);
    let record: Value =
        serde_json::from_str(&repo.git(&["show", "refs/orchestrate/radar:announced.json"])).unwrap();
    assert_eq!(record["format"], 1);
    assert_eq!(list(&record["pairs"]["alice+bob"]), ["g.txt"]);
    assert_eq!(
        repo.git(&["rev-parse", "refs/orchestrate/radar^"]),
        corrupt,
        "the old record is in the history"
    );
}

#[test]
fn racing_hooks_announce_a_conflict_exactly_once() {
    let repo = scene(&["alice", "bob"]);
    // The commits are made without hooks; then several post-commit hooks
    // run at once in both worktrees, as after two simultaneous commits.
    commit(&repo, &wt(&repo, "alice"), "g.txt", "alice\n");
    commit(&repo, &wt(&repo, "bob"), "g.txt", "bob\n");
    let hooks: Vec<_> = (0..6)
        .map(|i| {
            let dir = wt(&repo, if i % 2 == 0 { "alice" } else { "bob" });
            repo.command(common::BIN).current_dir(dir).args(["hook", "post-commit"]).spawn().unwrap()
        })
        .collect();
    for mut hook in hooks {
        assert!(hook.wait().unwrap().success());
    }
    assert_eq!(subjects(&repo, "alice"), ["conflict ahead with bob: g.txt"]);
    assert_eq!(subjects(&repo, "bob"), ["conflict ahead with alice: g.txt"]);
    let announcements = repo.git(&["log", "--format=%s", "refs/orchestrate/radar"]);
    assert_eq!(announcements.lines().count(), 1, "one record written: {announcements}");
}
