//! Dependents start from the work they depend on: `spawn --base`, and
//! `dispatch` starting a task from its target when its dependencies' work
//! has landed, from a merge of their branches when it has not, and not at
//! all (saying why, once) when those branches conflict.

mod common;

use common::{Repo, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn wt(repo: &Repo, name: &str) -> PathBuf {
    PathBuf::from(format!("{}.worktrees/{name}", repo.path().display()))
}

fn git_in(repo: &Repo, dir: &Path, args: &[&str]) -> String {
    let run = Run::of(repo.command("git").current_dir(dir).args(args));
    assert_eq!(run.code, 0, "git {args:?} in {}: {}", dir.display(), run.stderr);
    run.stdout.trim().to_string()
}

fn commit(repo: &Repo, dir: &Path, file: &str, content: &str) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    git_in(repo, dir, &["add", file]);
    git_in(repo, dir, &["commit", "-q", "-m", &format!("change {file}")]);
    git_in(repo, dir, &["rev-parse", "HEAD"])
}

fn wait_over(repo: &Repo, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = repo.json(&["ps"]);
        let over = ps.as_array().unwrap().iter().any(|a| {
            a["session"] == name && ["exited", "failed", "stopped"].contains(&a["state"].as_str().unwrap())
        });
        if over {
            return;
        }
        assert!(Instant::now() < deadline, "agent {name} still not over: {ps:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A task done by session `who`, which committed `file` on its branch.
fn done_with_work(repo: &Repo, who: &str, title: &str, file: &str, content: &str) -> (String, String) {
    let id = repo.add(title, &[]);
    repo.ok(&["session", "start", who, "--task", &id]);
    let head = commit(repo, &wt(repo, who), file, content);
    repo.ok_as(who, &["task", "done", &id]);
    (id, head)
}

/// A preset whose agent prints its HEAD, its files and its prompt to its
/// log (its worktree may be gone once it is over and its work landed).
fn see_and_echo(repo: &Repo) {
    let command = "echo head=$(git rev-parse HEAD) parents=[$(git log -1 --format=%P HEAD)]; ls; printf 'prompt=[%s]\\n'";
    repo.git(&["config", "orchestrate.agent.echo.command", command]);
}

fn events(repo: &Repo, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["dispatch"];
    all.extend_from_slice(args);
    repo.json(&all).as_array().unwrap().clone()
}

#[test]
fn spawn_base_starts_the_worktree_from_the_given_revision() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.path().join("feat.txt"), "feature\n").unwrap();
    repo.git(&["add", "feat.txt"]);
    repo.git(&["commit", "-q", "-m", "feature"]);
    let feature = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.ok(&["spawn", "w1", "--base", "feature", "--", "true"]);
    wait_over(&repo, "w1");
    assert_eq!(git_in(&repo, &wt(&repo, "w1"), &["rev-parse", "HEAD"]), feature);
    assert!(wt(&repo, "w1").join("feat.txt").exists());
}

#[test]
fn spawn_with_a_bad_base_is_refused_before_anything_is_made() {
    let repo = Repo::new();
    repo.ok(&["init"]);
    let before = repo.refs();
    for base in ["no-such-branch", "--all", ""] {
        let flag = format!("--base={base}");
        let run = repo.run(&["--session", "lead", "spawn", "w1", &flag, "--", "true"]);
        assert_eq!(run.code, 2, "--base {base:?}: {run:?}");
        assert!(run.stderr.contains("--base"), "{}", run.stderr);
    }
    assert_eq!(repo.refs(), before, "nothing registered");
    assert!(!wt(&repo, "w1").exists());
    assert!(!repo.path().join(".git/orchestrate/agents/w1").exists());
}

#[test]
fn a_dependent_starts_from_a_merge_of_its_dependencys_unlanded_branch() {
    let repo = Repo::new();
    see_and_echo(&repo);
    let (a, head) = done_with_work(&repo, "dev-a", "make the feature", "feature.txt", "feature\n");
    // main moves on meanwhile, so the start is a true merge.
    std::fs::write(repo.path().join("main.txt"), "main\n").unwrap();
    repo.git(&["add", "main.txt"]);
    repo.git(&["commit", "-q", "-m", "main moves"]);
    let main = repo.git(&["rev-parse", "main"]);
    let b = repo.add("use the feature", &["--after", &a]);

    let events = events(&repo, &["--agent", "echo"]);
    assert!(events.iter().any(|e| e["event"] == "spawned" && e["task"] == b.as_str()), "{events:?}");
    let log = repo.ok(&["logs", &format!("agent-{b}")]);
    let seen: Vec<&str> = log.lines().collect();
    assert!(seen.contains(&"feature.txt"), "the dependency's file is in the dependent's worktree: {log}");
    assert!(seen.contains(&"main.txt"), "and so is the target's newer work: {log}");
    assert!(
        log.contains(&format!("parents=[{main} {head}]")),
        "a real merge of the target and the branch: {log}"
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), main, "the target did not move");

    assert!(log.contains("orchestrate/dev-a"), "the prompt names the branch: {log}");
    assert!(log.contains(&head[..10]), "and its commit: {log}");
    assert!(log.contains("not landed yet"), "{log}");
}

#[test]
fn a_dependent_starts_from_the_target_once_its_dependencys_work_landed() {
    let repo = Repo::new();
    see_and_echo(&repo);
    let (a, head) = done_with_work(&repo, "dev-a", "make the feature", "feature.txt", "feature\n");
    repo.git(&["merge", "-q", "--no-ff", "-m", "land dev-a", "orchestrate/dev-a"]);
    let main = repo.git(&["rev-parse", "main"]);
    let b = repo.add("use the feature", &["--after", &a]);
    events(&repo, &["--agent", "echo"]);
    let log = repo.ok(&["logs", &format!("agent-{b}")]);
    assert!(log.contains(&format!("head={main} ")), "starts from the target itself: {log}");
    assert!(log.lines().any(|l| l == "feature.txt"), "{log}");
    assert!(
        log.contains(&format!("{a}: branch orchestrate/dev-a at {}, landed in main", &head[..10])),
        "{log}"
    );
}

#[test]
fn a_dependent_of_two_conflicting_branches_is_not_started_and_the_reason_is_said_once() {
    let repo = Repo::new();
    let (a, _) = done_with_work(&repo, "dev-a", "one way", "shared.txt", "one way\n");
    let (b, _) = done_with_work(&repo, "dev-b", "another way", "shared.txt", "another way\n");
    let c = repo.add("combine them", &["--after", &a, "--after", &b]);
    // Another task keeps the dispatcher polling for a while.
    let busy = repo.add("something else", &[]);

    let events = events(&repo, &["--", "sh", "-c", "sleep 1.5"]);
    let skipped: Vec<&Value> = events.iter().filter(|e| e["event"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "said once, not at every poll: {events:?}");
    assert_eq!(skipped[0]["task"], c.as_str());
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(reason.contains("shared.txt") && reason.contains("orchestrate/dev-b"), "{reason}");
    // The same as data: which branch did not merge, with what, on which files.
    let refusal = &skipped[0]["refusal"];
    assert_eq!(refusal["reason"], "dependencies_conflict", "{refusal:#}");
    assert_eq!(refusal["task"], c.as_str());
    assert_eq!(refusal["branch"], "orchestrate/dev-b", "{refusal:#}");
    assert_eq!(refusal["with"], serde_json::json!(["main", "orchestrate/dev-a"]), "{refusal:#}");
    assert_eq!(refusal["files"], serde_json::json!(["shared.txt"]), "{refusal:#}");
    assert!(events.iter().any(|e| e["event"] == "spawned" && e["task"] == busy.as_str()));
    assert!(!events.iter().any(|e| e["event"] == "spawned" && e["task"] == c.as_str()));
    assert_eq!(repo.json(&["task", "show", &c])["status"], "open", "left for later");
    assert!(!wt(&repo, &format!("agent-{c}")).exists());
    let sessions = repo.json(&["session", "list", "--all"]);
    let names = common::strings(&sessions, "name");
    assert!(!names.contains(&format!("agent-{c}")), "no session was started for it: {names:?}");
    assert!(names.contains(&format!("agent-{busy}")));
}

#[test]
fn a_dependent_starts_from_the_target_once_its_dependencys_work_landed_as_a_squash() {
    let repo = Repo::new();
    see_and_echo(&repo);
    let (a, _) = done_with_work(&repo, "dev-a", "make the feature", "feature.txt", "feature\n");
    // main moves on, so the land is a true squash (a fast-forward needs
    // none): the branch head is not reachable from main, but land records
    // that it carried it there.
    std::fs::write(repo.path().join("main.txt"), "main\n").unwrap();
    repo.git(&["add", "main.txt"]);
    repo.git(&["commit", "-q", "-m", "main moves"]);
    repo.ok(&["land", "dev-a", "--squash"]);
    let main = repo.git(&["rev-parse", "main"]);
    assert!(
        Run::of(repo.command("git").args(["merge-base", "--is-ancestor", "orchestrate/dev-a", "main"])).code
            != 0,
        "a squash leaves the branch unmerged"
    );
    let b = repo.add("use the feature", &["--after", &a]);
    let events = events(&repo, &["--agent", "echo"]);
    assert!(events.iter().any(|e| e["event"] == "spawned"), "{events:?}");
    let log = repo.ok(&["logs", &format!("agent-{b}")]);
    assert!(log.contains(&format!("head={main} ")), "no merge of the squashed branch again: {log}");
    assert!(log.lines().any(|l| l == "feature.txt"), "{log}");
    assert!(log.contains("landed in main"), "{log}");
}
