//! Crashes heal: a `<ref>.lock` left by a writer that died is removed by
//! the next writer (said on stderr, recorded in `log`), a lock that cannot
//! be removed is never silent, and after a storm of writers killed at
//! random every acknowledged write is there and the next write just works.

mod common;

use common::Repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Leaves `<ref>.lock` as a writer that died `age` ago would.
fn leave_lock(repo: &Repo, refname: &str, age: Duration) -> PathBuf {
    let lock = repo.path().join(".git").join(format!("{refname}.lock"));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
    set_age(&lock, age);
    lock
}

fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn heal_events(repo: &Repo) -> Vec<String> {
    let log = repo.json(&["log"]);
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "heal")
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_stale_lock_of_each_collection_is_removed_by_the_next_writer_and_recorded() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "a", "--no-worktree"]);
    repo.ok(&["session", "start", "b", "--no-worktree"]);
    repo.ok_as("b", &["send", "a", "first"]);
    repo.ok_as("a", &["inbox"]);
    repo.ok_as("b", &["send", "a", "second"]);
    let writers: [(&str, &str, Vec<&str>); 5] = [
        ("refs/orchestrate/tasks", "", vec!["task", "add", "after the crash"]),
        ("refs/orchestrate/sessions", "a", vec!["heartbeat", "--doing", "healing"]),
        ("refs/orchestrate/claims", "a", vec!["claim", "src/"]),
        ("refs/orchestrate/mail/a", "b", vec!["send", "a", "third"]),
        ("refs/orchestrate/read/a/a", "a", vec!["inbox"]),
    ];
    for (refname, who, args) in writers {
        let lock = leave_lock(&repo, refname, Duration::from_secs(600));
        let run = if who.is_empty() { repo.run(&args) } else { repo.run_as(who, &args) };
        assert_eq!(run.code, 0, "{refname}: {run:?}");
        assert!(!lock.exists(), "{refname}.lock is removed");
        assert!(
            run.stderr.contains(&format!("removed {refname}.lock, left 10m ago by a writer that died")),
            "{refname}: the healing is said on stderr: {}",
            run.stderr
        );
        assert!(
            heal_events(&repo).iter().any(|s| s.contains(&format!("{refname}.lock"))),
            "{refname}: the healing is in the log"
        );
    }
    // Each write went through.
    assert_eq!(repo.json(&["task", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(repo.json(&["session", "show", "a"])["doing"], "healing");
    assert_eq!(common::strings(&repo.json(&["claims"]), "path"), ["src/"]);
    let unread = repo.json_as("a", &["inbox", "--peek"]);
    assert_eq!(common::strings(&unread, "subject"), Vec::<String>::new(), "the inbox read moved the cursor");
    let all = repo.json_as("a", &["inbox", "--all", "--peek"]);
    assert_eq!(common::strings(&all, "subject"), ["first", "second", "third"]);
}

#[test]
fn a_stale_lock_on_the_format_marker_heals_too() {
    let repo = Repo::new();
    repo.add("before", &[]);
    let tasks_lock = leave_lock(&repo, "refs/orchestrate/tasks", Duration::from_secs(30));
    let meta_lock = leave_lock(&repo, "refs/orchestrate/meta", Duration::from_secs(30));
    // Recording the first healing on the meta chain meets the second lock.
    let run = repo.run(&["task", "add", "after"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!tasks_lock.exists() && !meta_lock.exists());
    let healed = heal_events(&repo);
    assert!(healed.iter().any(|s| s.contains("refs/orchestrate/meta.lock")), "{healed:?}");
    assert!(healed.iter().any(|s| s.contains("refs/orchestrate/tasks.lock")), "{healed:?}");
}

#[test]
fn a_lock_that_cannot_be_removed_fails_loudly_with_its_real_age() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "a", "--no-worktree"]);
    repo.ok_as("a", &["claim", "src/"]);
    // A directory where the lock file should be: no writer can remove it.
    let lock = repo.path().join(".git/refs/orchestrate/sessions.lock");
    std::fs::create_dir_all(lock.join("stuck")).unwrap();
    set_age(&lock, Duration::from_secs(2 * 3600));
    let before = repo.refs();

    // A heartbeat is the write: it fails, naming the lock and its age.
    let run = repo.run_as("a", &["heartbeat"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("sessions.lock was left 2h ago"), "{}", run.stderr);
    assert!(run.stderr.contains("remove it by hand"), "{}", run.stderr);

    // Any other command succeeds, but says its heartbeat was not recorded.
    let later = "2099-01-01T00:00:00Z";
    let run = Run::of(repo.command(common::BIN).env("ORCHESTRATE_NOW", later).args([
        "--session",
        "a",
        "task",
        "list",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("warning: session a: the heartbeat"), "{}", run.stderr);
    assert!(run.stderr.contains("sessions.lock"), "{}", run.stderr);
    assert_eq!(repo.refs(), before, "nothing was written");
    std::fs::remove_dir_all(&lock).unwrap();

    // A claim renewal that cannot be written fails the heartbeat too.
    let lock = repo.path().join(".git/refs/orchestrate/claims.lock");
    std::fs::create_dir_all(lock.join("stuck")).unwrap();
    set_age(&lock, Duration::from_secs(90));
    let run = repo.run_as("a", &["heartbeat"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("claims.lock was left 1m ago"), "{}", run.stderr);
}

use common::Run;

/// What the storm's writers were told succeeded.
#[derive(Default)]
struct Acknowledged {
    tasks: BTreeSet<String>,
    messages: BTreeSet<String>,
}

#[test]
fn after_a_storm_of_killed_writers_every_acknowledged_write_is_there() {
    const WRITERS: usize = 6;
    const ROUNDS: usize = 4;
    let repo = Arc::new(Repo::new());
    repo.ok(&["session", "start", "reader", "--no-worktree"]);
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut killed = 0;
    for round in 0..ROUNDS {
        let running: Arc<Mutex<BTreeMap<u32, ()>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (repo, acked, running, stop) =
                    (repo.clone(), acked.clone(), running.clone(), stop.clone());
                std::thread::spawn(move || {
                    let me = format!("w{w}");
                    let mut i = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        let subject = format!("r{round} {me} {i}");
                        let args: Vec<&str> = match i % 3 {
                            0 => vec!["--json", "--session", &me, "send", "reader", &subject],
                            1 => vec!["--json", "--session", &me, "heartbeat"],
                            _ => vec!["--json", "task", "add", &subject],
                        };
                        let child = repo
                            .command(common::BIN)
                            .args(&args)
                            .stdout(std::process::Stdio::piped())
                            .stderr(std::process::Stdio::piped())
                            .spawn()
                            .unwrap();
                        let pid = child.id();
                        running.lock().unwrap().insert(pid, ());
                        let out = child.wait_with_output().unwrap();
                        running.lock().unwrap().remove(&pid);
                        if out.status.code() != Some(0) {
                            // Killed (or failed): nothing was acknowledged.
                            assert!(
                                out.status.code().is_none(),
                                "{me}: {}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                            continue;
                        }
                        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                        let mut acked = acked.lock().unwrap();
                        match i % 3 {
                            0 => acked.messages.insert(v["id"].as_str().unwrap().to_string()),
                            1 => true,
                            _ => acked.tasks.insert(v["id"].as_str().unwrap().to_string()),
                        };
                    }
                })
            })
            .collect();
        for _ in 0..25 {
            std::thread::sleep(Duration::from_millis(fastrand::u64(5..40)));
            let running = running.lock().unwrap();
            let pids: Vec<u32> = running.keys().copied().collect();
            if let Some(pid) = pids.get(fastrand::usize(..pids.len().max(1))) {
                // SAFETY: kill(2) on a child of this test that has not been
                // waited for yet (it is removed from `running` only after).
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
                killed += 1;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }
    assert!(killed > 0, "writers were killed");

    // The next writes succeed without anyone removing anything by hand
    // (a lock left by the storm is healed by them).
    let last = repo.add("after the storm", &[]);
    repo.ok_as("w0", &["send", "reader", "after the storm"]);
    repo.ok_as("w0", &["heartbeat"]);

    let acked = acked.lock().unwrap();
    let tasks: BTreeSet<String> = common::strings(&repo.json(&["task", "list"]), "id").into_iter().collect();
    assert!(acked.tasks.is_subset(&tasks), "every acknowledged task is stored");
    assert!(tasks.contains(&last));
    let messages: BTreeSet<String> =
        common::strings(&repo.json_as("reader", &["inbox", "--all", "--peek"]), "id").into_iter().collect();
    assert!(acked.messages.is_subset(&messages), "every acknowledged message is stored");
    assert!(!acked.tasks.is_empty() && !acked.messages.is_empty(), "the writers got work done");

    let fsck = repo.command("git").args(["fsck", "--strict", "--no-dangling"]).output().unwrap();
    assert!(fsck.status.success(), "git fsck: {}", String::from_utf8_lossy(&fsck.stderr));
    let leftovers: Vec<_> = walk_locks(&repo.path().join(".git/refs/orchestrate"));
    assert!(leftovers.is_empty(), "no lock left behind: {leftovers:?}");
}

fn walk_locks(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_locks(&path));
        } else if path.extension().is_some_and(|e| e == "lock") {
            found.push(path);
        }
    }
    found
}
