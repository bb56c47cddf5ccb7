//! Remote benchmark: `cargo bench --bench remote`.
//!
//! A coordination remote (`orchestrate.remote`) makes every write a push
//! with a lease. This times, side by side in one run and interleaved so
//! machine noise hits both alike, over a file:// bare repository and over
//! `git daemon` on 127.0.0.1:
//!
//! 1. one remote state change through the CLI (`task claim` / `task
//!    release`, alternating, default `orchestrate.fetchInterval`) against
//!    the same change done by hand: `git fetch` of `refs/orchestrate/tasks`,
//!    a commit on it that edits the task's document (the same objects to
//!    send), `git push --force-with-lease` of it, from another clone of the
//!    same remote, on the same ref. It prints the ratio (goal: at most
//!    1.3x), and the ratio to an empty commit pushed by hand, the floor;
//! 2. the same change with `orchestrate.fetchInterval = 0s` (every command
//!    fetches all coordination refs first), the worst case;
//! 3. claims/s with 8 processes over 2 clones racing `task claim --next`
//!    through `git daemon`, checked afterwards: every task claimed exactly
//!    once, the remote agreeing with what the claimers were told;
//! 4. the push budget: `BENCH_AGENTS` busy agents (default 4), each in its
//!    own clone with the git hooks installed, work for 10 minutes of pinned
//!    time (`ORCHESTRATE_NOW`); it counts the ref updates the remote
//!    received (its reflog) and prints pushes a minute, per agent and in all.
//!
//! Set `BENCH_ROUNDS` (default 3), `BENCH_OPS` (state changes per round
//! and kind, default 20) and `BENCH_TASKS` (tasks in the race, default 60).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_git-orchestrate");

fn main() {
    let rounds = env_number("BENCH_ROUNDS", 3);
    let ops = env_number("BENCH_OPS", 20);
    let tasks = env_number("BENCH_TASKS", 60);
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let home = root.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let env = Env { home: home.clone() };
    let daemon = Daemon::start(&env, root);

    let mut rows = Vec::new();
    for (transport, url_of) in [
        (
            "file://",
            Box::new(|bare: &Path| format!("file://{}", bare.display())) as Box<dyn Fn(&Path) -> String>,
        ),
        ("git daemon", Box::new(|bare: &Path| format!("git://127.0.0.1:{}/{}", daemon.port, name(bare)))),
    ] {
        let tag = transport.replace(|c: char| !c.is_ascii_alphanumeric(), "");
        let bare = root.join(format!("coord-{tag}.git"));
        env.git(root, &["init", "-q", "--bare", path(&bare)]);
        let url = url_of(&bare);
        let seed = root.join(format!("seed-{tag}"));
        env.git(root, &["init", "-q", path(&seed)]);
        env.git(&seed, &["commit", "-q", "--allow-empty", "-m", "root"]);
        env.git(&seed, &["push", "-q", &url, "HEAD:refs/heads/main"]);
        let ours = env.clone_of(&url, &root.join(format!("ours-{tag}")));
        let worst = env.clone_of(&url, &root.join(format!("worst-{tag}")));
        let hand = env.clone_of(&url, &root.join(format!("hand-{tag}")));
        env.git(&worst, &["config", "orchestrate.fetchInterval", "0s"]);
        let task = env.ok(&ours, &["task", "add", "the task claimed and released"]).trim().to_string();
        env.ok(&ours, &["session", "start", "w", "--no-worktree"]);
        // The worst case flips a task of its own: the two never meet.
        let other = env.ok(&ours, &["task", "add", "the other task"]).trim().to_string();
        env.ok(&worst, &["sync"]);
        env.ok(&worst, &["session", "start", "v", "--no-worktree"]);
        let (mut o, mut w, mut h, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut claimed = (false, false);
        for round in 0..rounds {
            // Interleaved one by one, so noise hits every kind alike.
            for _ in 0..ops {
                o.push(env.state_change(&ours, "w", &task, &mut claimed.0));
                h.push(by_hand(&env, &hand, &task, true));
                w.push(env.state_change(&worst, "v", &other, &mut claimed.1));
                e.push(by_hand(&env, &hand, &task, false));
            }
            let last = |v: &Vec<f64>| median(v[v.len() - ops..].to_vec());
            println!(
                "{transport:<10} round {}: ours {:>6.1} ms   by hand {:>6.1} ms   fetchInterval=0s {:>6.1} ms   \
                 empty commit by hand {:>6.1} ms",
                round + 1,
                last(&o),
                last(&h),
                last(&w),
                last(&e),
            );
        }
        rows.push((transport, median(o), median(h), median(w), median(e)));
        let fsck = Command::new("git").args(["--git-dir", path(&bare), "fsck", "--no-progress"]).output();
        assert!(fsck.expect("git fsck").status.success(), "the remote's fsck is clean");
    }

    let claims_per_s: Vec<f64> =
        (0..rounds).map(|round| race(&env, root, daemon.port, tasks, round)).collect();

    let agents = env_number("BENCH_AGENTS", 4);
    let budget = push_budget(&env, root, agents);

    println!();
    println!("one remote state change (task claim/release), median of {} per kind:", rounds * ops);
    for (transport, o, h, w, e) in &rows {
        println!(
            "  {transport:<10} git-orchestrate {o:>6.1} ms   by hand (git fetch, edit the task's document, \
             git push --force-with-lease) {h:>6.1} ms   ratio {:.2}x (goal <= 1.3x)",
            o / h
        );
        println!(
            "  {:<10} with fetchInterval=0s {w:>6.1} ms ({:.2}x)   against an empty commit by hand {e:>6.1} ms \
             ({:.2}x)",
            "",
            w / h,
            o / e
        );
    }
    println!(
        "task claim --next, 8 processes over 2 clones through git daemon, {tasks} tasks: {:.1} claims/s \
         (median of {rounds} rounds)",
        median(claims_per_s)
    );
    println!("{budget}");
}

/// `agents` agents, one per clone (one per machine), each working 10
/// minutes of pinned time: every minute a few reads (`inbox`, `task list`,
/// `board`) and one commit with a `Task:` trailer; every 5 minutes it
/// claims the next task and a folder, and at the end of the 5 finishes the
/// task, releases the folder and announces it. Counts what the remote's
/// reflog received. Returns the lines to print.
fn push_budget(env: &Env, root: &Path, agents: usize) -> String {
    const MINUTES: i64 = 10;
    let bare = root.join("budget.git");
    env.git(root, &["init", "-q", "--bare", path(&bare)]);
    // Every ref update the remote accepts leaves one reflog line.
    env.git(&bare, &["config", "core.logAllRefUpdates", "always"]);
    let url = format!("file://{}", bare.display());
    let seed = root.join("budget-seed");
    env.git(root, &["init", "-q", path(&seed)]);
    env.git(&seed, &["commit", "-q", "--allow-empty", "-m", "root"]);
    env.git(&seed, &["push", "-q", &url, "HEAD:refs/heads/main"]);
    let start = chrono::DateTime::parse_from_rfc3339("2030-01-01T09:00:00Z").expect("a time").to_utc();
    let at = |seconds: i64| (start + chrono::Duration::seconds(seconds)).to_rfc3339();
    let clones: Vec<PathBuf> = (0..agents)
        .map(|a| {
            let clone = env.clone_of(&url, &root.join(format!("budget-{a}")));
            let setup =
                |args: &[&str]| run(env.command(BIN, &clone).env("ORCHESTRATE_NOW", at(0)).args(args));
            setup(&["hooks", "install"]);
            setup(&["session", "start", &format!("agent{a}"), "--no-worktree"]);
            clone
        })
        .collect();
    for i in 0..agents * 2 {
        run(env.command(BIN, &clones[0]).env("ORCHESTRATE_NOW", at(0)).args([
            "task",
            "add",
            &format!("work {i}"),
        ]));
    }
    // Each clone sees the tasks now, not up to fetchInterval later.
    for clone in &clones {
        run(env.command(BIN, clone).env("ORCHESTRATE_NOW", at(0)).args(["sync"]));
    }
    let pushes_before = reflog_lines(&bare);
    let mut task = vec![String::new(); agents];
    for minute in 0..MINUTES {
        for (a, clone) in clones.iter().enumerate() {
            // Agents a few seconds apart, as they would be.
            let now = at(60 * minute + 60 + 7 * a as i64);
            let me = format!("agent{a}");
            let orchestrate = |args: &[&str]| {
                run(env
                    .command(BIN, clone)
                    .env("ORCHESTRATE_NOW", &now)
                    .env("ORCHESTRATE_SESSION", &me)
                    .args(args))
            };
            if minute % 5 == 0 {
                let claimed = orchestrate(&["--json", "task", "claim", "--next"]);
                let claimed: serde_json::Value = serde_json::from_str(&claimed).expect("JSON");
                task[a] = claimed["id"].as_str().expect("an id").to_string();
                orchestrate(&["claim", &format!("src/{me}/")]);
            }
            orchestrate(&["inbox"]);
            orchestrate(&["task", "list"]);
            orchestrate(&["board"]);
            let file = clone.join(format!("work-{minute}.txt"));
            std::fs::write(&file, format!("minute {minute}\n")).expect("write a file");
            env.git(clone, &["add", "."]);
            let message = format!("minute {minute}\n\nTask: {}", task[a]);
            run(env
                .command("git", clone)
                .env("ORCHESTRATE_NOW", &now)
                .env("ORCHESTRATE_SESSION", &me)
                .args(["commit", "-q", "-m", &message]));
            if minute % 5 == 4 {
                orchestrate(&["task", "done", &task[a], "--note", "done"]);
                orchestrate(&["release", "--all"]);
                orchestrate(&["send", "all", &format!("{} done", task[a])]);
            }
        }
    }
    let pushes = reflog_lines(&bare) - pushes_before;
    let per_minute = pushes as f64 / MINUTES as f64;
    format!(
        "push budget: {agents} busy agents on {agents} clones, {MINUTES} minutes: {pushes} pushes, \
         {per_minute:.1} a minute ({:.1} per agent a minute: 1 commit recorded, 3 reads and the coalesced \
         heartbeat each minute; a task claimed, a folder claimed, done, released and announced every 5)",
        per_minute / agents as f64
    )
}

/// How many ref updates the remote's reflogs hold under `refs/orchestrate/`.
fn reflog_lines(bare: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    count(&path)
                } else {
                    std::fs::read_to_string(&path).map(|t| t.lines().count()).unwrap_or(0)
                }
            })
            .sum()
    }
    count(&bare.join("logs/refs/orchestrate"))
}

/// The sandbox every git and git-orchestrate process runs in: its own HOME
/// and global config, none of the caller's.
struct Env {
    home: PathBuf,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "bench")
            .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
            .env("GIT_COMMITTER_NAME", "bench")
            .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
            .env_remove("GIT_DIR")
            .env_remove("ORCHESTRATE_SESSION")
            .stdin(Stdio::null());
        cmd
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        run(self.command("git", dir).args(args))
    }

    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        run(self.command(BIN, dir).args(args))
    }

    /// A clone of the remote with `orchestrate.remote = origin`.
    fn clone_of(&self, url: &str, dir: &Path) -> PathBuf {
        self.git(dir.parent().expect("a parent"), &["clone", "-q", url, path(dir)]);
        self.git(dir, &["config", "orchestrate.remote", "origin"]);
        dir.to_path_buf()
    }

    /// One `task claim` or `task release`, whichever flips the task; ms.
    fn state_change(&self, clone: &Path, session: &str, task: &str, claimed: &mut bool) -> f64 {
        let verb = if *claimed { "release" } else { "claim" };
        let started = Instant::now();
        self.ok(clone, &["--session", session, "task", verb, task]);
        *claimed = !*claimed;
        started.elapsed().as_secs_f64() * 1000.0
    }
}

/// A remote state change done by hand on the same ref: fetch it, commit
/// on top (in process, with libgit2), push with a lease; ms. With `edit`,
/// the commit changes the task's document as a claim does (a new blob and
/// the trees above it: the same objects to send and store); without, it
/// is an empty commit, the floor of any push.
fn by_hand(env: &Env, clone: &Path, task: &str, edit: bool) -> f64 {
    const TASKS: &str = "refs/orchestrate/tasks";
    let started = Instant::now();
    env.git(clone, &["fetch", "-q", "--no-tags", "origin", &format!("+{TASKS}:{TASKS}")]);
    let repo = git2::Repository::open(clone).expect("open the clone");
    let head = repo.find_reference(TASKS).and_then(|r| r.peel_to_commit()).expect("the tasks ref");
    let mut tree = head.tree().expect("its tree");
    if edit {
        let doc = document_path(&repo, &tree, "", &format!("{task}.json")).expect("the task's document");
        let blob = tree.get_path(Path::new(&doc)).and_then(|e| repo.find_blob(e.id())).expect("the document");
        // Add or take away a trailing space: still the same JSON document.
        let mut bytes = blob.content().to_vec();
        if bytes.ends_with(b" \n") {
            bytes.truncate(bytes.len() - 2);
            bytes.push(b'\n');
        } else {
            bytes.truncate(bytes.len().saturating_sub(1));
            bytes.extend_from_slice(b" \n");
        }
        let new_blob = repo.blob(&bytes).expect("a blob");
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(doc.as_str(), new_blob, git2::FileMode::Blob);
        let id = update.create_updated(&repo, &tree).expect("a tree");
        tree = repo.find_tree(id).expect("the new tree");
    }
    let me = git2::Signature::now("bench", "bench@example.invalid").expect("a signature");
    let new = repo.commit(None, &me, &me, "by hand", &tree, &[&head]).expect("a commit");
    let lease = format!("--force-with-lease={TASKS}:{}", head.id());
    env.git(clone, &["push", "-q", "--atomic", &lease, "origin", &format!("{new}:{TASKS}")]);
    started.elapsed().as_secs_f64() * 1000.0
}

/// Where in the tree the blob called `name` is (the task's shard).
fn document_path(repo: &git2::Repository, tree: &git2::Tree<'_>, dir: &str, name: &str) -> Option<String> {
    for entry in tree.iter() {
        let entry_name = entry.name().ok()?;
        let path = if dir.is_empty() { entry_name.to_string() } else { format!("{dir}/{entry_name}") };
        match entry.kind() {
            Some(git2::ObjectType::Blob) if entry_name == name => return Some(path),
            Some(git2::ObjectType::Tree) => {
                let sub = repo.find_tree(entry.id()).ok()?;
                if let Some(found) = document_path(repo, &sub, &path, name) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// 8 processes over 2 clones of a fresh remote served by `git daemon` race
/// `task claim --next` over `tasks` tasks; returns claims/s.
fn race(env: &Env, root: &Path, port: u16, tasks: usize, round: usize) -> f64 {
    const WORKERS: usize = 8;
    let bare = root.join(format!("race{round}.git"));
    env.git(root, &["init", "-q", "--bare", path(&bare)]);
    let url = format!("git://127.0.0.1:{port}/{}", name(&bare));
    let seed = root.join(format!("race{round}-seed"));
    env.git(root, &["init", "-q", path(&seed)]);
    env.git(&seed, &["commit", "-q", "--allow-empty", "-m", "root"]);
    env.git(&seed, &["push", "-q", &url, "HEAD:refs/heads/main"]);
    let clones: Vec<PathBuf> =
        (0..2).map(|c| env.clone_of(&url, &root.join(format!("race{round}-clone{c}")))).collect();
    let mut ids = BTreeSet::new();
    for i in 0..tasks {
        ids.insert(env.ok(&clones[i % 2], &["task", "add", &format!("task {i}")]).trim().to_string());
    }
    for w in 0..WORKERS {
        env.ok(&clones[w % 2], &["session", "start", &format!("w{w}"), "--no-worktree"]);
    }
    let clones = Arc::new(clones);
    let barrier = Arc::new(Barrier::new(WORKERS + 1));
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (clones, barrier) = (clones.clone(), barrier.clone());
            let env = Env { home: env.home.clone() };
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let out = env
                        .command(BIN, &clones[w % 2])
                        .args(["--session", &format!("w{w}"), "--json", "task", "claim", "--next"])
                        .output()
                        .expect("run git-orchestrate");
                    match out.status.code() {
                        Some(0) => {
                            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
                            mine.push((format!("w{w}"), v["id"].as_str().expect("an id").to_string()));
                        }
                        Some(1) => break mine,
                        _ => panic!("claim failed: {}", String::from_utf8_lossy(&out.stderr)),
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let claimed: Vec<(String, String)> =
        handles.into_iter().flat_map(|h| h.join().expect("a claimer")).collect();
    let elapsed = started.elapsed();
    let unique: BTreeSet<String> = claimed.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(unique.len(), claimed.len(), "no task claimed twice");
    assert_eq!(unique, ids, "every task claimed");
    env.ok(&clones[0], &["sync"]);
    let list = env.ok(&clones[0], &["--json", "task", "list", "--all"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    for (who, id) in &claimed {
        let task =
            list.as_array().expect("a list").iter().find(|t| t["id"] == id.as_str()).expect("the task");
        assert_eq!(task["assignee"], who.as_str(), "the remote agrees that {who} holds {id}");
    }
    let per_s = tasks as f64 / elapsed.as_secs_f64();
    println!("race round {}: {per_s:.1} claims/s", round + 1);
    per_s
}

/// `git daemon` serving `root` on a free loopback port; stopped on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(env: &Env, root: &Path) -> Daemon {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = env
            .command("git", root)
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.display()),
                path(root),
            ])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon");
        let daemon = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not listen within 15s");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }
}

impl Drop for Daemon {
    /// Ends the daemon's whole process group: `git daemon` runs git-daemon
    /// as a child, which killing the git process alone leaves listening.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-9", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn name(p: &Path) -> String {
    p.file_name().expect("a file name").to_string_lossy().into_owned()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
