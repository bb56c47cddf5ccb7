//! Many processes at once against one repository: no task held twice, no
//! update lost, and a repository that `git fsck` finds clean afterwards.

mod common;

use common::Repo;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::thread;

const WORKERS: usize = 8;

/// Runs `work(worker_index)` on WORKERS threads released at the same moment.
fn all_at_once<T: Send + 'static>(work: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    many_at_once(WORKERS, work)
}

/// Runs `work(worker_index)` on `workers` threads released at the same moment.
fn many_at_once<T: Send + 'static>(
    workers: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(workers));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..workers)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), work.clone());
            thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn assert_fsck_clean(repo: &Repo) {
    let out = repo.command("git").args(["fsck", "--strict", "--no-dangling"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "git fsck failed: {stderr}");
    assert!(!stderr.contains("error") && !stderr.contains("missing"), "{stderr}");
}

#[test]
fn sixteen_claimers_queued_for_120_tasks_claim_each_exactly_once() {
    let repo = Arc::new(Repo::new());
    let tasks: BTreeSet<String> =
        (0..120).map(|i| repo.add(&format!("task {i}"), &["-p", &(i % 5).to_string()])).collect();

    let r = repo.clone();
    // Sixteen writers of one collection wait in line for it (the writers'
    // queue) rather than racing and backing off.
    let claimed_by_worker = many_at_once(16, move |w| {
        let me = format!("worker-{w}");
        let mut mine = Vec::new();
        loop {
            let run = r.run_as(&me, &["--json", "task", "claim", "--next"]);
            match run.code {
                0 => mine.push(run.json()["id"].as_str().unwrap().to_string()),
                1 => break, // nothing ready: the queue is drained
                _ => panic!("{me}: unexpected failure {run:?}"),
            }
        }
        (me, mine)
    });

    let mut holder: BTreeMap<String, String> = BTreeMap::new();
    for (me, mine) in &claimed_by_worker {
        for id in mine {
            if let Some(other) = holder.insert(id.clone(), me.clone()) {
                panic!("{id} was claimed by both {other} and {me}");
            }
        }
    }
    assert_eq!(holder.keys().cloned().collect::<BTreeSet<_>>(), tasks, "every task claimed exactly once");
    assert!(claimed_by_worker.iter().filter(|(_, m)| !m.is_empty()).count() > 1, "the claimers really raced");

    // The stored state agrees with what each claimer was told.
    let stored = repo.json(&["task", "list", "--status", "claimed"]);
    let stored: BTreeMap<String, String> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_string(), t["assignee"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(stored, holder);
    let claims = repo
        .git(&["log", "--format=%s", "refs/orchestrate/tasks"])
        .lines()
        .filter(|l| l.starts_with("claim "))
        .count();
    assert_eq!(claims, tasks.len(), "one claim event per task");
    assert_fsck_clean(&repo);
}

#[test]
fn concurrent_adds_lose_nothing_and_ids_never_collide() {
    let repo = Arc::new(Repo::new());
    let r = repo.clone();
    let made =
        all_at_once(move |w| (0..15).map(|i| r.add(&format!("w{w} task {i}"), &[])).collect::<Vec<_>>());
    let made: Vec<String> = made.into_iter().flatten().collect();
    let unique: BTreeSet<&String> = made.iter().collect();
    assert_eq!(unique.len(), WORKERS * 15, "ids are unique");

    let listed = repo.json(&["task", "list"]);
    let listed: BTreeSet<String> =
        listed.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, made.iter().cloned().collect::<BTreeSet<_>>(), "every added task is listed");
    assert_fsck_clean(&repo);
}

#[test]
fn concurrent_notes_on_one_task_are_all_kept() {
    let repo = Arc::new(Repo::new());
    let id = repo.add("busy", &[]);
    let r = repo.clone();
    let task = id.clone();
    all_at_once(move |w| {
        for i in 0..8 {
            r.ok_as(&format!("w{w}"), &["task", "note", &task, &format!("note {w}/{i}")]);
        }
    });
    let shown = repo.json(&["task", "show", &id]);
    let notes: BTreeSet<String> =
        shown["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap().to_string()).collect();
    let expected: BTreeSet<String> =
        (0..WORKERS).flat_map(|w| (0..8).map(move |i| format!("note {w}/{i}"))).collect();
    assert_eq!(notes, expected, "no note lost");
    assert_eq!(shown["history"].as_array().unwrap().len(), 1 + WORKERS * 8);
    assert_fsck_clean(&repo);
}

/// Holds the writers' queue of `refs/orchestrate/tasks` from outside (the
/// `flock` tool on the same lock file) while `script` runs; returns once
/// the holder has the lock.
fn hold_tasks_queue(repo: &Repo, script: &str) -> std::process::Child {
    let lock = repo.path().join(".git/orchestrate/locks/tasks.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let acquired = repo.path().join("acquired");
    let child = repo
        .command("flock")
        .args(["-x", lock.to_str().unwrap(), "-c", &format!("touch acquired; {script}")])
        .spawn()
        .unwrap();
    while !acquired.exists() {
        thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

#[test]
fn a_writer_waits_in_line_for_the_one_holding_the_collections_queue() {
    let repo = Repo::new();
    repo.add("first", &[]);
    let mut holder = hold_tasks_queue(&repo, "sleep 1; touch released");
    let id = repo.add("second", &[]);
    assert!(repo.path().join("released").exists(), "the write waited for the holder to let go");
    holder.wait().unwrap();
    assert!(common::strings(&repo.json(&["task", "list"]), "id").contains(&id));
}

#[test]
fn readers_never_wait_for_the_writers_queue() {
    let repo = Repo::new();
    let id = repo.add("listed", &[]);
    let go = repo.path().join("go");
    let mut holder = hold_tasks_queue(&repo, "while [ ! -e go ]; do sleep 0.05; done");
    // While the queue is held, reads still answer (a reader that waited
    // would hang here until the test harness gives up).
    let listed = repo.json(&["task", "list"]);
    assert_eq!(common::strings(&listed, "id"), std::slice::from_ref(&id));
    repo.json(&["task", "show", &id]);
    repo.ok(&["board"]);
    std::fs::write(&go, "").unwrap();
    holder.wait().unwrap();
}
