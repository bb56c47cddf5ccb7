//! Several clones coordinating through one git remote (`orchestrate.remote`):
//! every write is a push with a lease, so the remote linearises all writers
//! on every machine. Proven over a file:// bare repository and over
//! `git daemon` on 127.0.0.1, with many processes at once and SIGKILLs.

mod common;

use common::{Repo, Run, BIN};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bare coordination repository and clones of it, all under the test's
/// sandboxed HOME, each with `orchestrate.remote = origin`.
struct Net {
    repo: Repo,
    bare: PathBuf,
    clones: Vec<PathBuf>,
}

impl Net {
    /// `clones` clones (the first is the test repository itself) of a bare
    /// repository reached through `url(bare path)`.
    fn new(clones: usize, url: impl Fn(&Path) -> String) -> Net {
        let repo = Repo::new();
        let bare = repo.home().join("coord.git");
        repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
        let url = url(&bare);
        repo.git(&["remote", "add", "origin", &url]);
        repo.git(&["push", "-q", "origin", "main"]);
        let mut net = Net { bare, clones: vec![repo.path().to_path_buf()], repo };
        for i in 1..clones {
            let dir = net.repo.home().join(format!("clone{i}"));
            net.repo.git(&["clone", "-q", &url, dir.to_str().unwrap()]);
            net.clones.push(dir);
        }
        for dir in net.clones.clone() {
            net.git_in(&dir, &["config", "orchestrate.remote", "origin"]);
            // Reads fetch every time, so what one clone wrote the next read sees.
            net.git_in(&dir, &["config", "orchestrate.fetchInterval", "0s"]);
        }
        net
    }

    fn command(&self, clone: usize) -> Command {
        let mut cmd = self.repo.command(BIN);
        cmd.current_dir(&self.clones[clone]);
        cmd
    }

    fn run(&self, clone: usize, args: &[&str]) -> Run {
        Run::of(self.command(clone).args(args))
    }

    fn ok(&self, clone: usize, args: &[&str]) -> String {
        let run = self.run(clone, args);
        assert_eq!(run.code, 0, "clone {clone}: git orchestrate {args:?}:\n{}{}", run.stdout, run.stderr);
        run.stdout
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.repo.command("git").current_dir(dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The remote's own view: `git --git-dir <bare> …`.
    fn remote_git(&self, args: &[&str]) -> String {
        let mut all = vec!["--git-dir", self.bare.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.repo.command("git").args(&all).output().unwrap();
        assert!(out.status.success(), "git {all:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Every task on the remote with its status and assignee, read by a
    /// fresh clone's `task list --all --json` after a sync.
    fn remote_tasks(&self, clone: usize) -> BTreeMap<String, (String, String)> {
        self.ok(clone, &["sync"]);
        let list = Run::of(self.command(clone).args(["--json", "task", "list", "--all"])).json();
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    (
                        t["status"].as_str().unwrap().to_string(),
                        t["assignee"].as_str().unwrap_or("").to_string(),
                    ),
                )
            })
            .collect()
    }
}

fn file_url(bare: &Path) -> String {
    format!("file://{}", bare.display())
}

/// Runs `work(i)` for every i on its own thread at once; returns the results in order.
fn at_once<T: Send + 'static>(n: usize, work: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let work = std::sync::Arc::new(work);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// `processes` claimers spread over the clones each take tasks with
/// `task claim --next` until none is ready; returns who got which.
fn race_claims(net: std::sync::Arc<Net>, processes: usize) -> Vec<(String, Vec<String>)> {
    let clones = net.clones.len();
    at_once(processes, move |i| {
        let who = format!("w{i}");
        let mut got = Vec::new();
        for _ in 0..200 {
            let run = net.run(i % clones, &["--session", &who, "--json", "task", "claim", "--next"]);
            match run.code {
                0 => got.push(run.json()["id"].as_str().unwrap().to_string()),
                1 => break,
                _ => panic!("{who}: claim failed:\n{}{}", run.stdout, run.stderr),
            }
        }
        (who, got)
    })
}

fn assert_exactly_once(net: &Net, claims: &[(String, Vec<String>)], tasks: usize) {
    let mut seen = BTreeSet::new();
    for (_, ids) in claims {
        for id in ids {
            assert!(seen.insert(id.clone()), "{id} was claimed twice: {claims:?}");
        }
    }
    assert_eq!(seen.len(), tasks, "every task claimed: {claims:?}");
    let remote = net.remote_tasks(0);
    for (who, ids) in claims {
        for id in ids {
            assert_eq!(remote[id], ("claimed".to_string(), who.clone()), "{id} on the remote");
        }
    }
    let fsck = net.remote_git(&["fsck", "--no-progress"]);
    assert!(!fsck.contains("error"), "remote fsck: {fsck}");
}

#[test]
fn eight_processes_on_three_clones_claim_each_of_60_tasks_exactly_once() {
    let net = Net::new(3, file_url);
    for i in 0..60 {
        net.ok(i % 3, &["task", "add", &format!("task {i}")]);
    }
    let net = std::sync::Arc::new(net);
    let claims = race_claims(net.clone(), 8);
    assert_exactly_once(&net, &claims, 60);
    // Every clone's plain git sees the remote's history of the queue.
    let remote_log = net.remote_git(&["log", "--oneline", "refs/orchestrate/tasks"]);
    assert_eq!(remote_log.lines().count(), 120, "60 adds and 60 claims, one commit each");
    for dir in &net.clones {
        net.git_in(dir, &["fetch", "-q", "origin", "+refs/orchestrate/*:refs/orchestrate/*"]);
        assert_eq!(net.git_in(dir, &["log", "--oneline", "refs/orchestrate/tasks"]), remote_log);
    }
}

#[test]
fn overlapping_exclusive_claims_from_two_clones_have_one_winner() {
    let net = Net::new(2, file_url);
    net.ok(0, &["session", "start", "alice", "--no-worktree"]);
    net.ok(1, &["session", "start", "bob", "--no-worktree"]);
    let net = std::sync::Arc::new(net);
    for round in 0..4 {
        let codes = at_once(2, {
            let net = net.clone();
            move |i| {
                let (who, path) = if i == 0 { ("alice", "src/") } else { ("bob", "src/api/login.rs") };
                let run = net.run(i, &["--session", who, "claim", path]);
                assert!(run.code == 0 || run.code == 1, "{who}: {}{}", run.stdout, run.stderr);
                run.code
            }
        });
        assert_eq!(
            codes.iter().filter(|c| **c == 0).count(),
            1,
            "round {round}: exactly one winner: {codes:?}"
        );
        let claims = Run::of(net.command(1).args(["--json", "claims"])).json();
        assert_eq!(claims.as_array().unwrap().len(), 1, "round {round}: one claim on the remote: {claims}");
        net.ok(0, &["--session", "alice", "release", "--all"]);
        net.ok(1, &["--session", "bob", "release", "--all"]);
    }
}

#[test]
fn a_message_from_another_clone_wakes_inbox_wait() {
    let net = Net::new(2, file_url);
    net.ok(0, &["session", "start", "alice", "--no-worktree"]);
    net.ok(1, &["session", "start", "bob", "--no-worktree"]);
    // bob waits in clone 1; alice sends from clone 0 a moment later.
    let waiter = net
        .command(1)
        .args(["--session", "bob", "--json", "inbox", "--wait", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    net.ok(0, &["--session", "alice", "send", "bob", "schema is in", "see t-1"]);
    let sent = Instant::now();
    let out = waiter.wait_with_output().unwrap();
    let woke_after = sent.elapsed();
    assert!(out.status.success(), "inbox --wait: {}", String::from_utf8_lossy(&out.stderr));
    let inbox: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inbox[0]["subject"], "schema is in", "{inbox}");
    assert_eq!(inbox[0]["from"], "alice");
    eprintln!("inbox --wait woke {woke_after:?} after the send from the other clone");
}

#[test]
fn sigkill_during_pushes_loses_no_acknowledged_write() {
    let net = Net::new(2, file_url);
    net.ok(0, &["init"]);
    let mut acknowledged = BTreeSet::new();
    for round in 0..4 {
        // Six adders at once; a few are killed at random moments.
        let mut children: Vec<Child> = (0..6)
            .map(|i| {
                let script = format!(
                    "for n in 1 2 3 4 5 6; do {BIN} --json task add 'r{round} p{i} n'$n || exit 1; done"
                );
                net.repo
                    .command("sh")
                    .current_dir(&net.clones[i % 2])
                    .args(["-c", &script])
                    .process_group(0)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(40 + fastrand_ms(round)));
        for (i, child) in children.iter_mut().enumerate() {
            if i % 2 == round % 2 {
                kill_group(child);
            }
        }
        for child in children {
            let out = child.wait_with_output().unwrap();
            // Only a whole answer is an acknowledgement: a writer killed
            // mid-print leaves a partial one, which ends the stream.
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            for v in serde_json::Deserializer::from_str(&stdout).into_iter::<serde_json::Value>() {
                let Ok(v) = v else { break };
                acknowledged.insert(v["id"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(!acknowledged.is_empty());
    let remote = net.remote_tasks(1);
    for id in &acknowledged {
        assert!(remote.contains_key(id), "acknowledged {id} is on the remote");
    }
    let fsck = net.remote_git(&["fsck", "--no-progress"]);
    assert!(!fsck.contains("error"), "remote fsck: {fsck}");
    // The next write goes through with no manual step.
    net.ok(1, &["task", "add", "after the storm"]);
}

/// A few milliseconds that differ from round to round.
fn fastrand_ms(round: usize) -> u64 {
    [35, 80, 20, 120][round % 4]
}

/// SIGKILL to the writer's whole process group (the shell, git-orchestrate
/// and the `git push` it runs), the way a crash or an OOM kill ends it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill").args(["-9", "--", &format!("-{}", child.id())]).status();
}

#[test]
fn an_unreachable_remote_fails_writes_with_exit_3_and_changes_nothing() {
    let net = Net::new(2, file_url);
    net.ok(0, &["task", "add", "before"]);
    net.ok(1, &["task", "list"]);
    let gone = net.repo.home().join("gone.git");
    std::fs::rename(&net.bare, &gone).unwrap();
    let before = net.git_in(&net.clones[1], &["for-each-ref", "refs/orchestrate/"]);
    let run = net.run(1, &["task", "add", "while away"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("remote origin"), "names the remote: {}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(
        net.git_in(&net.clones[1], &["for-each-ref", "refs/orchestrate/"]),
        before,
        "local state unchanged"
    );
    // Reads go on with the local copy and say it may be stale.
    let read = net.run(1, &["task", "list"]);
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert!(read.stdout.contains("before"), "{}", read.stdout);
    assert!(read.stderr.contains("may be stale"), "{}", read.stderr);
    std::fs::rename(&gone, &net.bare).unwrap();
    net.ok(1, &["task", "add", "back again"]);
}

#[test]
fn a_remote_that_is_not_one_is_bad_input() {
    let repo = Repo::new();
    repo.git(&["config", "orchestrate.remote", "nosuch"]);
    let before = repo.refs();
    let run = repo.run(&["task", "add", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no remote named 'nosuch'"), "{}", run.stderr);
    assert!(run.stderr.contains("git remote add"), "says the way out: {}", run.stderr);
    assert_eq!(repo.refs(), before);
    let json = repo.run(&["--json", "task", "list"]);
    assert_eq!(json.code, 2);
    assert_eq!(json.json()["error"]["kind"], "invalid");
    // A real remote with an interval that is no duration is bad input too.
    repo.git(&["config", "orchestrate.remote", "/nonexistent/coord.git"]);
    repo.git(&["config", "orchestrate.fetchInterval", "soon"]);
    let run = repo.run(&["task", "add", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("orchestrate.fetchInterval = 'soon'"), "{}", run.stderr);
    assert_eq!(repo.refs(), before);
}

#[test]
fn a_remote_whose_hook_refuses_says_what_the_server_said() {
    let net = Net::new(1, file_url);
    let hook = net.bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'coordination refs are not welcome here' >&2\nexit 1\n").unwrap();
    set_executable(&hook);
    let run = net.run(0, &["task", "add", "x"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("coordination refs are not welcome here"), "{}", run.stderr);
    assert!(net.remote_git(&["for-each-ref", "refs/orchestrate/"]).is_empty());
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn sync_says_what_arrived_and_publishes_what_the_remote_lacks() {
    let repo = Repo::new();
    // State made before any remote was set up...
    repo.ok(&["task", "add", "made locally"]);
    let bare = repo.home().join("coord.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", &file_url(&bare)]);
    repo.git(&["config", "orchestrate.remote", "origin"]);
    // ... is published by the first sync.
    let report = repo.json(&["sync"]);
    let published: Vec<&str> =
        report["published"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(published.contains(&"refs/orchestrate/tasks"), "{report}");
    let out = Command::new("git")
        .args(["--git-dir", bare.to_str().unwrap(), "log", "--oneline", "refs/orchestrate/tasks"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("made locally"));
    // A second clone syncs and is told what arrived.
    let other = repo.home().join("other");
    repo.git(&["clone", "-q", &file_url(&bare), other.to_str().unwrap()]);
    let git_other = |args: &[&str]| {
        assert!(repo.command("git").current_dir(&other).args(args).status().unwrap().success())
    };
    git_other(&["config", "orchestrate.remote", "origin"]);
    let mut cmd = repo.command(BIN);
    let run = Run::of(cmd.current_dir(&other).args(["sync"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("tasks: 1 new event(s)"), "{}", run.stdout);
    assert!(run.stdout.contains("made locally"), "{}", run.stdout);
    let again = Run::of(repo.command(BIN).current_dir(&other).args(["sync"]));
    assert!(again.stdout.contains("up to date"), "{}", again.stdout);
    // Without a remote there is nothing to sync, and it says so.
    let plain = Repo::new();
    assert!(plain.ok(&["sync"]).contains("no orchestrate.remote"));
}

/// `git daemon` serving the test's HOME on a free loopback port; stopped on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(repo: &Repo) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = repo.home().to_str().unwrap().to_string();
        let child = repo
            .command("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={base}"),
                &base,
            ])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not listen on 127.0.0.1:{port} within 15s");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }
}

impl Drop for Daemon {
    /// Ends the daemon and every process it forked for a connection (its
    /// process group), so nothing outlives the test.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-9", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

#[test]
fn over_git_daemon_on_loopback_every_task_is_claimed_exactly_once() {
    let repo = Repo::new();
    let bare = repo.home().join("coord.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let _daemon = Daemon::start(&repo);
    let url = format!("git://127.0.0.1:{}/coord.git", _daemon.port);
    repo.git(&["remote", "add", "origin", &url]);
    repo.git(&["push", "-q", "origin", "main"]);
    let mut net = Net { bare, clones: vec![repo.path().to_path_buf()], repo };
    let dir = net.repo.home().join("clone1");
    net.repo.git(&["clone", "-q", &url, dir.to_str().unwrap()]);
    net.clones.push(dir);
    for dir in net.clones.clone() {
        net.git_in(&dir, &["config", "orchestrate.remote", "origin"]);
        net.git_in(&dir, &["config", "orchestrate.fetchInterval", "0s"]);
    }
    for i in 0..24 {
        net.ok(i % 2, &["task", "add", &format!("task {i}")]);
    }
    let net = std::sync::Arc::new(net);
    let claims = race_claims(net.clone(), 6);
    assert_exactly_once(&net, &claims, 24);
}

#[test]
fn a_session_of_another_host_is_ended_there_and_its_worktree_left_to_that_host() {
    let net = Net::new(2, file_url);
    let on = |clone: usize, host: &str, args: &[&str]| {
        let run = Run::of(net.command(clone).env("ORCHESTRATE_HOST", host).args(args));
        assert_eq!(run.code, 0, "{host}: {args:?}:\n{}{}", run.stdout, run.stderr);
        run
    };
    let started = on(0, "laptop", &["--json", "session", "start", "alice"]).json();
    let worktree = PathBuf::from(started["worktree"].as_str().unwrap());
    assert_eq!(started["host"], "laptop");
    assert!(worktree.is_dir());
    // The build box sees alice on the laptop, in its list and on its board.
    let list = on(1, "buildbox", &["session", "list"]);
    assert!(list.stdout.contains("alice") && list.stdout.contains("@laptop"), "{}", list.stdout);
    let board = on(1, "buildbox", &["--json", "board"]).json();
    assert_eq!(board["sessions"][0]["host"], "laptop", "{board}");
    assert_eq!(board["remote"]["host"], "buildbox");
    let ps = on(1, "buildbox", &["ps"]);
    assert!(ps.stdout.contains("alice @laptop"), "{}", ps.stdout);
    // Ending it there ends the session but leaves the laptop's worktree.
    let ended = on(1, "buildbox", &["session", "end", "alice"]);
    assert!(ended.stdout.contains("on host laptop"), "{}", ended.stdout);
    assert!(worktree.is_dir(), "the other host's worktree is left alone");
    let show = on(0, "laptop", &["--json", "session", "show", "alice"]).json();
    assert_eq!(show["status"], "ended", "{show}");
}

/// Runs a git command, failing the test if it is still running after a
/// minute: a hook that waits on a dead remote must not hold a commit.
fn git_bounded(net: &Net, clone: usize, session: &str, args: &[&str]) -> Run {
    let mut child = net
        .repo
        .command("git")
        .current_dir(&net.clones[clone])
        .env("ORCHESTRATE_SESSION", session)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("git {args:?} was still running after 60s: a hook waited on the remote");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn hooks_check_the_freshest_claims_and_never_hold_a_commit_on_a_dead_remote() {
    let net = Net::new(2, file_url);
    net.ok(0, &["session", "start", "alice", "--no-worktree"]);
    net.ok(1, &["session", "start", "bob", "--no-worktree"]);
    net.ok(1, &["hooks", "install"]);
    // Three tasks the commit names: three writes in its post-commit hook.
    let tasks: Vec<String> =
        (0..3).map(|i| net.ok(1, &["task", "add", &format!("docs part {i}")]).trim().to_string()).collect();
    // alice claims src/ on the other machine after bob's clone last looked.
    net.ok(0, &["--session", "alice", "claim", "src/"]);
    let bob = &net.clones[1];
    std::fs::create_dir_all(bob.join("src")).unwrap();
    std::fs::write(bob.join("src/a.rs"), "fn a() {}\n").unwrap();
    net.git_in(bob, &["add", "src/a.rs"]);
    // The pre-commit check fetched alice's claim: the commit is refused.
    let refused = git_bounded(&net, 1, "bob", &["commit", "-qm", "a"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("alice") && refused.stderr.contains("src/a.rs"), "{}", refused.stderr);

    // Now the remote accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("git://127.0.0.1:{}/coord.git", silent.local_addr().unwrap().port());
    net.git_in(bob, &["remote", "set-url", "origin", &url]);
    // The check goes on with the claims it has (alice's), says they may be
    // stale, and still refuses.
    let refused = git_bounded(&net, 1, "bob", &["commit", "-qm", "a"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("may be stale"), "{}", refused.stderr);
    assert!(refused.stderr.contains("alice"), "{}", refused.stderr);
    // An unclaimed path commits; the post-commit hook's writes (recording
    // the commit on each task) fail as warnings after one wait, not one
    // wait each.
    net.git_in(bob, &["reset", "-q"]);
    std::fs::write(bob.join("NOTES.md"), "notes\n").unwrap();
    net.git_in(bob, &["add", "NOTES.md"]);
    let message = format!("notes\n\nTask: {}\nTask: {}\nTask: {}", tasks[0], tasks[1], tasks[2]);
    let committed = git_bounded(&net, 1, "bob", &["commit", "-qm", &message]);
    assert_eq!(committed.code, 0, "{committed:?}");
    assert!(
        tasks.iter().all(|t| committed.stderr.contains(&format!("{t}: remote origin: git "))),
        "the commit was not recorded on the task, and the hook says why: {}",
        committed.stderr
    );
    assert_eq!(net.git_in(bob, &["log", "-1", "--format=%s"]), "notes", "the commit was made");
    drop(silent);
}

#[test]
fn a_remote_that_hides_the_coordination_refs_is_named_with_the_way_out() {
    let net = Net::new(1, file_url);
    net.remote_git(&["config", "transfer.hideRefs", "refs/orchestrate"]);
    let before = net.repo.refs();
    let run = net.run(0, &["--json", "task", "add", "x"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.json()["error"]["kind"], "error", "{}", run.stdout);
    let error: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "one line: {}", run.stderr);
    assert!(error[0].contains("deny updating a hidden ref"), "quotes the server: {}", error[0]);
    assert!(error[0].contains("transfer.hideRefs"), "says the way out: {}", error[0]);
    assert!(!error[0].contains("failed to push some refs"), "no boilerplate: {}", error[0]);
    assert_eq!(net.repo.refs(), before, "nothing changed here");
    assert!(net.remote_git(&["for-each-ref", "refs/orchestrate/"]).is_empty(), "nor there");
}

#[test]
fn a_url_nothing_answers_at_fails_writes_in_one_line_and_reads_go_on() {
    let repo = Repo::new();
    repo.ok(&["task", "add", "made before"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The listener is gone: connections to the port are refused.
    let url = format!("git://127.0.0.1:{port}/coord.git");
    repo.git(&["config", "orchestrate.remote", &url]);
    let before = repo.refs();
    for args in [&["task", "add", "x"][..], &["sync"][..]] {
        let run = repo.run(args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        let error: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(error.len(), 1, "{args:?}: one line: {}", run.stderr);
        assert!(error[0].contains(&format!("remote {url}")), "names the remote: {}", error[0]);
        assert!(error[0].contains("ls-remote"), "says how to check it: {}", error[0]);
    }
    assert_eq!(repo.refs(), before, "nothing changed");
    let read = repo.run(&["--json", "board"]);
    assert_eq!(read.code, 0, "{read:?}");
    assert!(read.stderr.contains("may be stale"), "{}", read.stderr);
    let board = read.json();
    assert_eq!(board["remote"]["remote"], url.as_str(), "{board}");
    assert!(board["remote"]["fetched_at"].is_null(), "never fetched, and it says so: {board}");
}

#[test]
fn a_refusal_is_decided_on_what_the_remote_holds_not_on_an_old_copy() {
    let net = Net::new(2, file_url);
    // Reads may use copies up to an hour old here; writes must not.
    net.git_in(&net.clones[1], &["config", "orchestrate.fetchInterval", "1h"]);
    net.ok(1, &["sync"]);
    net.ok(0, &["task", "add", "made in the other clone"]);
    let run = net.run(1, &["--session", "bob", "--json", "task", "claim", "--next"]);
    assert_eq!(run.code, 0, "the task on the remote is ready: {}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["title"], "made in the other clone");
    // A refusal, too, names the remote's holder, not the old copy's state.
    let id = run.json()["id"].as_str().unwrap().to_string();
    net.git_in(&net.clones[0], &["config", "orchestrate.fetchInterval", "1h"]);
    let refused = net.run(0, &["--session", "alice", "--json", "task", "claim", &id]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stdout.contains("bob"), "held by bob: {}", refused.stdout);
}
