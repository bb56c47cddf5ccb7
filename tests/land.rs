//! Landing: sessions know their target branch, `land` brings their work
//! there (merge, squash, rebase) without touching any working tree, and a
//! queue lets several landers share the work exactly once, in order.

mod common;

use common::{Repo, Run, BIN};
use std::path::{Path, PathBuf};

/// Runs the binary inside `dir` (a session worktree) with no --session.
fn run_in(repo: &Repo, dir: &Path, args: &[&str]) -> Run {
    Run::of(repo.command(BIN).current_dir(dir).args(args))
}

/// Starts a session and returns its worktree.
fn start(repo: &Repo, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["session", "start", name];
    args.extend_from_slice(extra);
    PathBuf::from(repo.json(&args)["worktree"].as_str().unwrap())
}

#[test]
fn a_session_lands_on_the_branch_it_was_told_or_the_one_it_started_from() {
    let repo = Repo::new();
    repo.git(&["branch", "release"]);
    repo.git(&["branch", "topic"]);
    // Default: the branch HEAD is on.
    start(&repo, "plain", &[]);
    assert_eq!(repo.json(&["session", "show", "plain"])["into"], "main");
    // The branch --base names.
    start(&repo, "based", &["--base", "release"]);
    assert_eq!(repo.json(&["session", "show", "based"])["into"], "release");
    // --into wins over both.
    start(&repo, "told", &["--base", "release", "--into", "topic"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "topic");
    // A base that is a commit, not a branch, falls back to HEAD's branch.
    let commit = repo.git(&["rev-parse", "HEAD"]);
    start(&repo, "commit", &["--base", &commit]);
    assert_eq!(repo.json(&["session", "show", "commit"])["into"], "main");
    // On a detached HEAD, orchestrate.landInto decides.
    repo.git(&["checkout", "-q", "--detach"]);
    repo.git(&["config", "orchestrate.landInto", "release"]);
    start(&repo, "detached", &[]);
    assert_eq!(repo.json(&["session", "show", "detached"])["into"], "release");
    // A resumed session keeps its target unless given a new one.
    repo.json(&["session", "start", "told", "--resume"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "topic");
    repo.json(&["session", "start", "told", "--resume", "--into", "release"]);
    assert_eq!(repo.json(&["session", "show", "told"])["into"], "release");
    let shown = repo.ok(&["session", "show", "told"]);
    assert!(shown.lines().any(|l| l.starts_with("lands on:") && l.ends_with(" release")), "{shown}");
}

#[test]
fn an_into_that_is_not_a_branch_is_refused_and_registers_nothing() {
    let repo = Repo::new();
    let before = repo.refs();
    for bad in ["nope", "main..x", "HEAD~1"] {
        let run = repo.run(&["session", "start", "s", "--into", bad]);
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stderr.contains("--into") && run.stderr.contains("git branch"), "{}", run.stderr);
    }
    assert_eq!(repo.refs(), before);
    assert!(!PathBuf::from(format!("{}.worktrees/s", repo.path().display())).exists());
}

/// Writes `content` to `file` in `dir` and commits it there.
fn commit_in(repo: &Repo, dir: &Path, file: &str, content: &str, message: &str) -> String {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    let d = dir.to_str().unwrap();
    repo.git(&["-C", d, "add", file]);
    repo.git(&["-C", d, "commit", "-q", "-m", message]);
    repo.git(&["-C", d, "rev-parse", "HEAD"])
}

fn tip(repo: &Repo, branch: &str) -> String {
    repo.git(&["rev-parse", &format!("refs/heads/{branch}")])
}

fn parents(repo: &Repo, rev: &str) -> Vec<String> {
    repo.git(&["rev-list", "--parents", "-n", "1", rev])
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Lands with --json and returns the one outcome.
fn land(repo: &Repo, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--json", "land"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    let value = run.json();
    (run.code, value.as_array().map(|a| a[0].clone()).unwrap_or(value))
}

#[test]
fn a_branch_ahead_of_its_target_fast_forwards_and_a_diverged_one_merges() {
    let repo = Repo::new();
    let wt = start(&repo, "alice", &[]);
    let task = repo.add("feature a", &[]);
    repo.ok_as("alice", &["task", "claim", &task]);
    let head = commit_in(&repo, &wt, "a.txt", "a\n", "add a");
    let (code, out) = land(&repo, &["alice"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["status"], "landed");
    assert_eq!(out["landed"]["fast_forward"], true);
    assert_eq!(tip(&repo, "main"), head, "a fast-forward makes no commit");
    // The main checkout was brought forward with it.
    assert_eq!(std::fs::read_to_string(repo.path().join("a.txt")).unwrap(), "a\n");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    // The task records it; everyone hears of it; the log shows it.
    let shown = repo.json(&["task", "show", &task]);
    assert_eq!(shown["landed"]["commit"], head.as_str());
    assert_eq!(shown["landed"]["into"], "main");
    let text = repo.ok(&["task", "show", &task]);
    assert!(text.contains(&format!("landed:      main as {} (fast-forward)", &head[..12])), "{text}");
    let inbox = repo.json_as("bob", &["inbox", "--all", "--peek"]);
    let landed_msg =
        inbox.as_array().unwrap().iter().find(|m| m["kind"] == "completion").expect("completion");
    assert!(landed_msg["subject"].as_str().unwrap().contains("landed alice"), "{landed_msg}");
    let log = repo.ok(&["log"]);
    assert!(log.contains("land alice on main"), "{log}");

    // Diverged: main moved on meanwhile.
    let wt_b = start(&repo, "bob", &[]);
    let b_head = commit_in(&repo, &wt_b, "b.txt", "b\n", "add b");
    let before = commit_in(&repo, repo.path(), "main.txt", "m\n", "main moves on");
    let (code, out) = land(&repo, &["bob"]);
    assert_eq!(code, 0, "{out}");
    let merge = tip(&repo, "main");
    assert_eq!(parents(&repo, &merge), vec![before.clone(), b_head.clone()]);
    let message = repo.git(&["log", "-1", "--format=%B", &merge]);
    assert!(
        message.contains("session bob") && message.contains(&b_head[..10]) && message.contains("add b"),
        "{message}"
    );
    assert!(repo.path().join("b.txt").exists() && repo.path().join("main.txt").exists());
    assert_eq!(repo.json(&["session", "show", "bob"])["landed"]["commit"], merge.as_str());
    // Landing again: nothing to land, exit 1, nothing changes.
    let refs = repo.refs();
    let run = repo.run(&["land", "bob"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("nothing to land"), "{}", run.stderr);
    assert_eq!(tip(&repo, "main"), merge);
    assert_eq!(repo.refs(), refs);
}

#[test]
fn squash_carries_the_trailers_and_rebase_keeps_the_authors() {
    let repo = Repo::new();
    let task = repo.add("squash me", &[]);
    let wt = start(&repo, "sq", &[]);
    commit_in(&repo, &wt, "s1.txt", "1\n", "one");
    commit_in(&repo, &wt, "s2.txt", "2\n", &format!("two\n\nCloses: {task}"));
    let moved = commit_in(&repo, repo.path(), "m.txt", "m\n", "main moves on");
    let (code, out) = land(&repo, &["sq", "--squash"]);
    assert_eq!(code, 0, "{out}");
    let squash = tip(&repo, "main");
    assert_eq!(parents(&repo, &squash), vec![moved.clone()], "one commit on the target");
    let message = repo.git(&["log", "-1", "--format=%B", &squash]);
    assert!(message.contains(&format!("Closes: {task}")), "{message}");
    assert_eq!(out["tasks"][0], task.as_str(), "the task its commits close");
    assert_eq!(repo.json(&["task", "show", &task])["landed"]["mode"], "squash");
    // The squash carried the branch: it is fully landed, so it may go.
    let ended = repo.json(&["session", "end", "sq", "--delete-branch"]);
    assert_eq!(ended["deleted_branch"], "orchestrate/sq");
    assert!(repo.run(&["land", "sq"]).code != 0);

    let wt = start(&repo, "rb", &[]);
    let d = wt.to_str().unwrap();
    std::fs::write(wt.join("r1.txt"), "r1\n").unwrap();
    repo.git(&["-C", d, "add", "r1.txt"]);
    repo.git(&[
        "-C",
        d,
        "-c",
        "user.name=Agent One",
        "-c",
        "user.email=one@example.com",
        "commit",
        "-qm",
        "r one",
    ]);
    std::fs::write(wt.join("r2.txt"), "r2\n").unwrap();
    repo.git(&["-C", d, "add", "r2.txt"]);
    repo.git(&[
        "-C",
        d,
        "-c",
        "user.name=Agent Two",
        "-c",
        "user.email=two@example.com",
        "commit",
        "-qm",
        "r two",
    ]);
    let moved = commit_in(&repo, repo.path(), "m2.txt", "m2\n", "main moves again");
    let (code, out) = land(&repo, &["rb", "--rebase"]);
    assert_eq!(code, 0, "{out}");
    let log = repo.git(&["log", "--format=%an|%s", "-3", "main"]);
    assert_eq!(log, "Agent Two|r two\nAgent One|r one\nTest Human|main moves again");
    assert_eq!(parents(&repo, "main~1"), vec![moved], "replayed on the target, linear");
    assert!(repo.path().join("r1.txt").exists() && repo.path().join("r2.txt").exists());
    // The branch head is not on main, but the landing carried it.
    let refused = repo.run(&["session", "end", "rb", "--delete-branch"]);
    assert_eq!(refused.code, 0, "{refused:?}");
    assert!(repo.run(&["rev-parse", "--verify", "-q", "refs/heads/orchestrate/rb"]).code != 0);
}

#[test]
fn a_conflict_lands_nothing_names_the_files_and_tells_the_session() {
    let repo = Repo::new();
    commit_in(&repo, repo.path(), "shared.txt", "base\n", "shared file");
    let wt_a = start(&repo, "alice", &[]);
    let wt_b = start(&repo, "bob", &[]);
    commit_in(&repo, &wt_a, "shared.txt", "alice\n", "alice edits");
    let brought = tip(&repo, "orchestrate/alice");
    commit_in(&repo, &wt_b, "shared.txt", "bob\n", "bob edits");
    commit_in(&repo, &wt_b, "bob-only.txt", "b\n", "bob adds");
    assert_eq!(land(&repo, &["alice"]).0, 0);
    let main = tip(&repo, "main");
    let refs = repo.refs();
    let status = repo.git(&["status", "--porcelain"]);

    let run = repo.run(&["--json", "land", "bob"]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.json()[0];
    assert_eq!(out["status"], "conflict");
    assert_eq!(out["conflicts"][0]["path"], "shared.txt");
    assert_eq!(out["conflicts"][0]["commit"], brought.as_str());
    assert_eq!(out["conflicts"][0]["session"], "alice");
    assert!(run.stderr.contains("shared.txt") && run.stderr.contains("alice"), "{}", run.stderr);
    // Nothing moved: the target, the checkout, the store (but bob's mail).
    assert_eq!(tip(&repo, "main"), main);
    assert_eq!(repo.git(&["status", "--porcelain"]), status);
    assert!(!repo.path().join("bob-only.txt").exists());
    let changed: Vec<String> = repo
        .refs()
        .lines()
        .filter(|l| !refs.contains(*l))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(changed, vec!["refs/orchestrate/mail/bob"]);
    let inbox = repo.json_as("bob", &["inbox"]);
    let messages = inbox.as_array().unwrap();
    let handoffs: Vec<_> = messages.iter().filter(|m| m["kind"] == "handoff").collect();
    assert_eq!(handoffs.len(), 1, "{inbox}");
    let body = handoffs[0]["body"].as_str().unwrap();
    assert!(
        body.contains("shared.txt") && body.contains("git rebase main") && body.contains("land"),
        "{body}"
    );
}

#[test]
fn a_failing_check_lands_nothing_and_keeps_its_output() {
    let repo = Repo::new();
    let task = repo.add("checked", &[]);
    let wt = start(&repo, "alice", &[]);
    repo.ok_as("alice", &["task", "claim", &task]);
    commit_in(&repo, &wt, "a.txt", "a\n", "add a");
    commit_in(&repo, repo.path(), "m.txt", "m\n", "main moves on");
    let main = tip(&repo, "main");
    let check = "for i in $(seq 1 60); do echo line $i; done; echo broken >&2; exit 3";
    let run = repo.run(&["--json", "land", "alice", "--check", check]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.json()[0];
    assert_eq!(out["status"], "check_failed");
    assert_eq!(out["check"]["exit_code"], 3);
    let output = out["check"]["output"].as_str().unwrap();
    assert_eq!(output.lines().count(), 40, "{output}");
    assert!(output.ends_with("broken") && !output.contains("line 20\n"), "{output}");
    assert_eq!(tip(&repo, "main"), main);
    let notes = repo.json(&["task", "show", &task])["notes"].to_string();
    assert!(notes.contains("broken") && notes.contains("line 60"), "{notes}");
    // The temporary worktree is gone.
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 2, "main and alice only");

    // Through the queue, the check's failure sets the entry aside and the
    // session hears why.
    repo.json(&["land", "--queue", "alice"]);
    let run = repo.run(&["--json", "land", "--next", "--check", check]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["result"], "set_aside");
    assert_eq!(repo.json(&["land", "--list"])[0]["state"], "set_aside");
    let told = repo.json_as("alice", &["inbox"]).to_string();
    assert!(told.contains("failed its check") && told.contains("broken"), "{told}");
    assert_eq!(tip(&repo, "main"), main);

    // A check that passes ran on the candidate: both sides' files are
    // there, and the untracked files session worktrees get (.worktreeinclude).
    std::fs::write(repo.path().join(".env"), "SECRET=1\n").unwrap();
    std::fs::write(repo.path().join(".worktreeinclude"), ".env\n").unwrap();
    repo.git(&["config", "orchestrate.landCheck", "test -f a.txt && test -f m.txt && grep -q SECRET .env"]);
    let (code, out) = land(&repo, &["alice"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["check"]["passed"], true);
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 2);
}

#[test]
fn a_dirty_main_checkout_keeps_its_changes_and_blocks_only_when_they_would_be_overwritten() {
    let repo = Repo::new();
    commit_in(&repo, repo.path(), "a.txt", "a\n", "a");
    let wt = start(&repo, "alice", &[]);
    commit_in(&repo, &wt, "a.txt", "a from alice\n", "alice edits a");
    commit_in(&repo, &wt, "new.txt", "new\n", "alice adds new");
    // The user's work in progress: an edit to a file alice did not touch,
    // a staged file, and an untracked one.
    std::fs::write(repo.path().join("README"), "hello\nmy edit\n").unwrap();
    std::fs::write(repo.path().join("staged.txt"), "staged\n").unwrap();
    repo.git(&["add", "staged.txt"]);
    std::fs::write(repo.path().join("notes.txt"), "mine\n").unwrap();
    // First, an edit to a file alice changed: refused, nothing moves.
    std::fs::write(repo.path().join("a.txt"), "my own a\n").unwrap();
    let main = tip(&repo, "main");
    let run = repo.run(&["--json", "land", "alice"]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.json()[0];
    assert_eq!(out["status"], "checkout_blocked");
    assert_eq!(out["blocked_files"], serde_json::json!(["a.txt"]));
    assert!(run.stderr.contains("a.txt"), "{}", run.stderr);
    assert_eq!(tip(&repo, "main"), main);
    assert_eq!(std::fs::read_to_string(repo.path().join("a.txt")).unwrap(), "my own a\n");
    assert!(!repo.path().join("new.txt").exists());
    // An untracked file in the way is refused too.
    repo.git(&["checkout", "--", "a.txt"]);
    std::fs::write(repo.path().join("new.txt"), "my new\n").unwrap();
    let run = repo.run(&["--json", "land", "alice"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()[0]["blocked_files"], serde_json::json!(["new.txt"]));
    assert_eq!(std::fs::read_to_string(repo.path().join("new.txt")).unwrap(), "my new\n");
    assert_eq!(tip(&repo, "main"), main);
    // Out of the way: it lands, and every change of the user's is still there.
    std::fs::remove_file(repo.path().join("new.txt")).unwrap();
    let (code, out) = land(&repo, &["alice"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(repo.path().join("a.txt")).unwrap(), "a from alice\n");
    assert_eq!(std::fs::read_to_string(repo.path().join("README")).unwrap(), "hello\nmy edit\n");
    assert_eq!(std::fs::read_to_string(repo.path().join("notes.txt")).unwrap(), "mine\n");
    let status = repo.git(&["status", "--porcelain"]);
    // (git() trims the leading space of " M README")
    assert_eq!(status, "M README\nA  staged.txt\n?? notes.txt", "{status}");
}

#[test]
fn bad_input_exits_2_and_nothing_to_land_exits_1_changing_nothing() {
    let repo = Repo::new();
    repo.json(&["session", "start", "loose", "--no-worktree"]);
    let wt = start(&repo, "alice", &[]);
    start(&repo, "idle", &[]);
    commit_in(&repo, &wt, "a.txt", "a\n", "add a");
    repo.git(&["tag", "v1"]);
    let before = repo.refs();
    let main = tip(&repo, "main");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["land", "nobody"], 2, "no session named nobody"),
        (&["land", "loose"], 2, "no branch"),
        (&["land", "alice", "--into", "v1"], 2, "not a local branch"),
        (&["land", "alice", "--into", "nope"], 2, "not a local branch"),
        (&["land", "alice", "--into", "orchestrate/alice"], 2, "own branch"),
        (&["land", "alice", "--squash", "--rebase"], 2, "cannot be used with"),
        (&["land", "--next", "--squash"], 2, "mode it was queued with"),
        (&["land", "alice", "nobody"], 2, "no session named nobody"),
        (&["land"], 2, "needs a session"),
        (&["land", "idle"], 1, "nothing to land"),
        (&["land", "--queue", "idle"], 1, "nothing to land"),
        (&["land", "--next"], 1, "queue is empty"),
    ];
    for (args, code, words) in cases {
        let run = repo.run(args);
        assert_eq!(run.code, *code, "{args:?}: {run:?}");
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let run = repo.run(&json_args);
        assert_eq!(run.code, *code, "{args:?}");
        let value = run.json();
        assert!(value["error"].is_object() || value[0]["status"] == "nothing_to_land", "{args:?}: {value}");
    }
    assert_eq!(repo.refs(), before);
    assert_eq!(tip(&repo, "main"), main);
}

/// The subjects of the target's first-parent history, oldest first.
fn first_parent_subjects(repo: &Repo, branch: &str) -> Vec<String> {
    repo.git(&["log", "--first-parent", "--reverse", "--format=%s", branch])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn two_landers_racing_over_a_queue_of_ten_land_each_entry_once_in_order() {
    let repo = Repo::new();
    let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    for name in &names {
        let wt = start(&repo, name, &[]);
        commit_in(&repo, &wt, &format!("{name}.txt"), &format!("{name}\n"), &format!("{name} work"));
    }
    for name in &names {
        let queued = repo.json(&["land", "--queue", name]);
        assert_eq!(queued[0]["action"], "added");
    }
    let listed = repo.json(&["land", "--list"]);
    assert_eq!(common::strings(&listed, "session"), names);

    let landers: Vec<std::process::Child> = (0..2)
        .map(|i| {
            repo.command(BIN)
                .args(["--session", &format!("lander{i}"), "--json", "land", "--all"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut landed: Vec<u64> = Vec::new();
    for child in landers {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let results: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        for r in results.as_array().unwrap() {
            assert_eq!(r["result"], "landed", "{r}");
            assert_eq!(r["outcome"]["status"], "landed", "landed by this lander, not found landed: {r}");
            landed.push(r["entry"]["seq"].as_u64().unwrap());
        }
    }
    landed.sort();
    assert_eq!(landed, (1..=10).collect::<Vec<u64>>(), "each entry exactly once");
    assert_eq!(repo.json(&["land", "--list"]), serde_json::json!([]));
    // In queue order on the target: s0 fast-forwarded, then one merge each.
    let subjects = first_parent_subjects(&repo, "main");
    let mut expected = vec!["initial".to_string(), "s0 work".to_string()];
    expected.extend((1..10).map(|i| format!("Merge session s{i} into main")));
    assert_eq!(subjects, expected);
    for name in &names {
        assert_eq!(repo.git(&["show", &format!("main:{name}.txt")]), *name);
    }
    // The queue's own history says the same: landed q-1 … q-10, in order.
    let events = repo.git(&["log", "--reverse", "--format=%s", "refs/orchestrate/queue"]);
    let order: Vec<&str> =
        events.lines().filter(|l| l.starts_with("landed ")).map(|l| l.split(' ').nth(1).unwrap()).collect();
    let wanted: Vec<String> = (1..=10).map(|i| format!("q-{i}")).collect();
    assert_eq!(order, wanted.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn an_entry_that_cannot_land_is_set_aside_without_blocking_and_requeued_in_one_command() {
    let repo = Repo::new();
    commit_in(&repo, repo.path(), "shared.txt", "base\n", "shared");
    let a = start(&repo, "a", &[]);
    let b = start(&repo, "b", &[]);
    let c = start(&repo, "c", &[]);
    commit_in(&repo, &a, "a.txt", "a\n", "a work");
    commit_in(&repo, &b, "shared.txt", "b's version\n", "b work");
    commit_in(&repo, &c, "c.txt", "c\n", "c work");
    commit_in(&repo, repo.path(), "shared.txt", "main's version\n", "main edits shared");
    for name in ["a", "b", "c"] {
        repo.json(&["land", "--queue", name]);
    }
    let run = repo.run(&["--json", "land", "--all"]);
    assert_eq!(run.code, 1, "{run:?}");
    let results = run.json();
    let summary: Vec<(String, String)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["entry"]["session"].as_str().unwrap().into(), r["result"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        summary,
        [("a", "landed"), ("b", "set_aside"), ("c", "landed")].map(|(s, r)| (s.to_string(), r.to_string()))
    );
    assert!(repo.path().join("a.txt").exists() && repo.path().join("c.txt").exists());
    let listed = repo.json(&["land", "--list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["session"], "b");
    assert_eq!(listed[0]["state"], "set_aside");
    assert!(listed[0]["reason"].as_str().unwrap().contains("shared.txt"), "{listed}");
    let told = repo.json_as("b", &["inbox", "--peek"]).to_string();
    assert!(told.contains("land --queue"), "told to queue again: {told}");
    assert!(repo.ok(&["land", "--list"]).contains("set aside"));
    // Set aside, it is skipped: the queue counts as empty.
    assert_eq!(repo.run(&["land", "--next"]).code, 1);

    // b resolves (merging main, keeping its own version) and queues again.
    let d = b.to_str().unwrap();
    let _ = repo.command("git").args(["-C", d, "merge", "-q", "main"]).output().unwrap();
    std::fs::write(b.join("shared.txt"), "b's version\n").unwrap();
    repo.git(&["-C", d, "commit", "-qam", "b resolves"]);
    let queued = repo.json(&["land", "--queue", "b"]);
    assert_eq!(queued[0]["action"], "requeued");
    let listed = repo.json(&["land", "--list"]);
    assert_eq!((listed.as_array().unwrap().len(), &listed[0]["state"]), (1, &serde_json::json!("queued")));
    let next = repo.json(&["land", "--next"]);
    assert_eq!(next["result"], "landed", "{next}");
    assert_eq!(repo.git(&["show", "main:shared.txt"]), "b's version");
    assert_eq!(repo.json(&["land", "--list"]), serde_json::json!([]));
}

#[test]
fn five_sessions_changing_different_files_all_land_every_line() {
    let repo = Repo::new();
    let modes = ["--merge", "--squash", "--rebase", "--merge", "--rebase"];
    let mut written: Vec<(String, Vec<String>)> = Vec::new();
    for (i, _) in modes.iter().enumerate() {
        let name = format!("w{i}");
        let wt = start(&repo, &name, &[]);
        let file = format!("dir{i}/file.txt");
        let mut lines = Vec::new();
        for n in 0..3 {
            lines.push(format!("{name} line {n}"));
            commit_in(&repo, &wt, &file, &(lines.join("\n") + "\n"), &format!("{name} commit {n}"));
        }
        written.push((file, lines));
    }
    // The target moves between landings too.
    for (i, mode) in modes.iter().enumerate() {
        commit_in(&repo, repo.path(), &format!("main{i}.txt"), "m\n", &format!("main {i}"));
        let (code, out) = land(&repo, &[&format!("w{i}"), mode]);
        assert_eq!(code, 0, "w{i} {mode}: {out}");
    }
    for (file, lines) in &written {
        let content = repo.git(&["show", &format!("main:{file}")]);
        for line in lines {
            assert!(content.lines().any(|l| l == line), "{line} missing from {file}: {content}");
        }
    }
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_branch_is_deleted_with_its_session_only_when_fully_landed() {
    let repo = Repo::new();
    let wt = start(&repo, "alice", &[]);
    commit_in(&repo, &wt, "a.txt", "a\n", "a");
    let before = repo.refs();
    let run = repo.run(&["session", "end", "alice", "--delete-branch"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("1 commit(s) not landed on main"), "{}", run.stderr);
    assert_eq!(repo.refs(), before, "nothing changed");
    assert!(wt.exists());
    assert_eq!(repo.json(&["session", "show", "alice"])["status"], "active");

    assert_eq!(land(&repo, &["alice"]).0, 0);
    // Landed: it ends with no --force, and the branch goes.
    let ended = repo.json(&["session", "end", "alice", "--delete-branch"]);
    assert_eq!(ended["deleted_branch"], "orchestrate/alice");
    assert!(!wt.exists());
    let branch =
        Run::of(repo.command("git").args(["rev-parse", "--verify", "-q", "refs/heads/orchestrate/alice"]));
    assert_ne!(branch.code, 0, "the branch is gone: {branch:?}");
    assert!(repo.path().join("a.txt").exists(), "the work is on main");
}

#[test]
fn delete_branch_with_force_refuses_when_uncommitted_work_would_be_left_unlanded() {
    let repo = Repo::new();
    let wt = start(&repo, "bob", &[]);
    commit_in(&repo, &wt, "b.txt", "b\n", "b");
    assert_eq!(land(&repo, &["bob"]).0, 0);
    // Landed, but then changed and not committed: --force would commit it
    // to the branch, which would then hold work that has not landed.
    std::fs::write(wt.join("b.txt"), "changed after landing\n").unwrap();
    let before = repo.refs();
    let run = repo.run(&["session", "end", "bob", "--delete-branch", "--force"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("uncommitted work (b.txt)"), "{}", run.stderr);
    assert_eq!(repo.refs(), before, "nothing changed");
    assert_eq!(std::fs::read_to_string(wt.join("b.txt")).unwrap(), "changed after landing\n");
    assert_eq!(repo.json(&["session", "show", "bob"])["status"], "active");
    repo.git(&["rev-parse", "--verify", "-q", "refs/heads/orchestrate/bob"]);
}

#[test]
fn with_land_on_done_a_finished_task_queues_its_sessions_branch() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.landOnDone", "queue"]);
    repo.ok(&["hooks", "install"]);
    // By command.
    let t1 = repo.add("one", &[]);
    let wt = start(&repo, "alice", &[]);
    run_in(&repo, &wt, &["task", "claim", &t1]);
    commit_in(&repo, &wt, "a.txt", "a\n", "a");
    let done = run_in(&repo, &wt, &["task", "done", &t1]);
    assert_eq!(done.code, 0, "{done:?}");
    // By a Closes: trailer, through the post-commit hook.
    let t2 = repo.add("two", &[]);
    let wt_b = start(&repo, "bob", &[]);
    run_in(&repo, &wt_b, &["task", "claim", &t2]);
    commit_in(&repo, &wt_b, "b.txt", "b\n", &format!("b\n\nCloses: {t2}"));
    let listed = repo.json(&["land", "--list"]);
    assert_eq!(common::strings(&listed, "session"), ["alice", "bob"]);
    assert_eq!(listed[0]["task"], t1.as_str());
    assert_eq!(listed[1]["task"], t2.as_str());
    assert_eq!(listed[1]["head"], tip(&repo, "orchestrate/bob").as_str());
    let all = repo.json(&["land", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(repo.path().join("a.txt").exists() && repo.path().join("b.txt").exists());
    assert_eq!(repo.json(&["task", "show", &t2])["landed"]["into"], "main");
}

#[test]
fn landers_racing_for_one_target_recompute_and_never_overwrite_each_other() {
    let repo = Repo::new();
    let names: Vec<String> = (0..6).map(|i| format!("r{i}")).collect();
    for name in &names {
        let wt = start(&repo, name, &[]);
        commit_in(&repo, &wt, &format!("{name}.txt"), &format!("{name}\n"), &format!("{name} work"));
    }
    let children: Vec<std::process::Child> = names
        .iter()
        .map(|name| {
            repo.command(BIN)
                .args(["--json", "land", name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for name in &names {
        assert_eq!(repo.git(&["show", &format!("main:{name}.txt")]), *name, "{name}'s work was overwritten");
        let head = tip(&repo, &format!("orchestrate/{name}"));
        assert!(repo.run(&["land", name]).stderr.contains("nothing to land"));
        repo.git(&["merge-base", "--is-ancestor", &head, "main"]);
    }
    // The checkout followed every move.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_session_recorded_before_targets_existed_lands_on_the_main_checkouts_branch() {
    let repo = Repo::new();
    let wt = start(&repo, "old", &[]);
    commit_in(&repo, &wt, "o.txt", "o\n", "old work");
    // The document as an older binary wrote it: no `into`.
    let doc = repo.git(&["show", "refs/orchestrate/sessions:old.json"]);
    let mut value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    value.as_object_mut().unwrap().remove("into");
    repo.plant("refs/orchestrate/sessions", "old.json", value.to_string().as_bytes());
    assert_eq!(repo.json(&["session", "show", "old"])["into"], serde_json::Value::Null);
    let (code, out) = land(&repo, &["old"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["into"], "main");
    assert!(repo.path().join("o.txt").exists());
}

#[test]
fn a_corrupt_queue_entry_stops_the_queue_loudly_until_doctor_moves_it_aside() {
    let repo = Repo::new();
    let wt = start(&repo, "alice", &[]);
    commit_in(&repo, &wt, "a.txt", "a\n", "a");
    repo.json(&["land", "--queue", "alice"]);
    repo.plant("refs/orchestrate/queue", "entries/000000000007.json", b"{ not json");
    for args in [&["land", "--list"][..], &["land", "--next"][..]] {
        let run = repo.run(args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("entries/000000000007.json") && run.stderr.contains("doctor --repair"),
            "{}",
            run.stderr
        );
    }
    assert!(!repo.path().join("a.txt").exists(), "nothing landed past it");
    let doctor = repo.run(&["doctor", "--repair"]);
    assert!(doctor.stdout.contains("entries/000000000007.json"), "{doctor:?}");
    assert_eq!(repo.git(&["show", "refs/orchestrate/queue:corrupt/entries/000000000007.json"]), "{ not json");
    let next = repo.json(&["land", "--next"]);
    assert_eq!(next["result"], "landed", "{next}");
    assert!(repo.path().join("a.txt").exists());
}

#[test]
fn an_entry_whose_lander_was_killed_is_taken_over_and_landed_once() {
    let repo = Repo::new();
    let wt = start(&repo, "alice", &[]);
    commit_in(&repo, &wt, "a.txt", "a\n", "a");
    repo.json(&["land", "--queue", "alice"]);
    // A lander that took the entry and was killed (its pid is gone).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let path = "entries/000000000001.json";
    let doc = repo.git(&["show", &format!("refs/orchestrate/queue:{path}")]);
    let mut entry: serde_json::Value = serde_json::from_str(&doc).unwrap();
    entry["state"] = "landing".into();
    entry["lander"] = serde_json::json!({
        "name": "ghost", "pid": dead, "start": null, "host": host, "since": "2026-01-01T00:00:00Z"
    });
    repo.plant("refs/orchestrate/queue", path, entry.to_string().as_bytes());
    assert!(repo.ok(&["land", "--list"]).contains("landing by ghost"));
    let next = repo.json(&["land", "--next"]);
    assert_eq!(next["result"], "landed", "{next}");
    assert!(repo.path().join("a.txt").exists());
    assert_eq!(repo.json(&["land", "--list"]), serde_json::json!([]));
    let events = repo.git(&["log", "--format=%s", "refs/orchestrate/queue"]);
    assert!(events.lines().any(|l| l.starts_with("take over q-1")), "{events}");
    assert_eq!(events.lines().filter(|l| l.starts_with("landed q-1")).count(), 1);
}

#[test]
fn a_dependent_starts_from_the_target_once_its_dependency_landed_by_squash() {
    let repo = Repo::new();
    // The agent says what it sees: its worktree goes once it is over with
    // nothing unlanded.
    repo.git(&[
        "config",
        "orchestrate.agent.echo.command",
        "echo head=$(git rev-parse HEAD); ls; printf '%s'",
    ]);
    let a = repo.add("make the feature", &[]);
    let wt = start(&repo, "dev-a", &["--task", &a]);
    commit_in(&repo, &wt, "feature.txt", "feature\n", "feature");
    repo.ok_as("dev-a", &["task", "done", &a]);
    commit_in(&repo, repo.path(), "main.txt", "main\n", "main moves on");
    // Squashed: the branch head is not on main, but its work is.
    assert_eq!(land(&repo, &["dev-a", "--squash"]).0, 0);
    // The target builds on the landed work: merging the branch again would
    // now conflict.
    commit_in(&repo, repo.path(), "feature.txt", "feature v2\n", "feature v2");
    let main = tip(&repo, "main");
    let b = repo.add("use the feature", &["--after", &a]);
    repo.json(&["dispatch", "--agent", "echo"]);
    let log = repo.ok(&["logs", &format!("agent-{b}")]);
    assert!(
        log.contains(&format!("head={main}\n")),
        "starts from the target itself, not from a merge of the squashed branch again: {log}"
    );
    assert!(log.lines().any(|l| l == "feature.txt"), "{log}");
}

#[test]
fn a_target_being_rebased_is_not_moved_under_the_rebase() {
    let repo = Repo::new();
    commit_in(&repo, repo.path(), "f.txt", "base\n", "base");
    let wt = start(&repo, "alice", &[]);
    commit_in(&repo, &wt, "a.txt", "a\n", "a");
    // The user rebases main onto a side branch and stops at a conflict.
    repo.git(&["checkout", "-q", "-b", "side"]);
    commit_in(&repo, repo.path(), "f.txt", "side\n", "side");
    repo.git(&["checkout", "-q", "main"]);
    commit_in(&repo, repo.path(), "f.txt", "main\n", "main");
    let main = tip(&repo, "main");
    let rebase = repo.command("git").args(["rebase", "side"]).output().unwrap();
    assert!(!rebase.status.success(), "the rebase stops at its conflict");
    let run = repo.run(&["land", "alice"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("being rebased"), "{}", run.stderr);
    assert_eq!(tip(&repo, "main"), main);
    repo.git(&["rebase", "--abort"]);
    assert_eq!(land(&repo, &["alice"]).0, 0);
}

#[test]
fn a_queue_number_is_never_handed_out_again_once_its_entry_has_landed() {
    let repo = Repo::new();
    let first = start(&repo, "first", &[]);
    commit_in(&repo, &first, "first.txt", "first\n", "first work");
    assert_eq!(repo.json(&["land", "--queue", "first"])[0]["seq"], 1);
    let landed = repo.json(&["land", "--all"]);
    assert_eq!((&landed[0]["entry"]["seq"], &landed[0]["result"]), (&1.into(), &"landed".into()));
    // The queue is empty now, so only the counter remembers that 1 was used.
    assert_eq!(repo.json(&["land", "--list"]), serde_json::json!([]));
    let second = start(&repo, "second", &[]);
    commit_in(&repo, &second, "second.txt", "second\n", "second work");
    let queued = repo.json(&["land", "--queue", "second"]);
    assert_eq!((&queued[0]["seq"], &queued[0]["action"]), (&2.into(), &"added".into()), "{queued:#}");
}
