//! Messages between sessions: direct, broadcast, role, threads, unread
//! tracking, waiting, and many concurrent senders.

mod common;

use common::{Repo, Run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

fn sessions(repo: &Repo, specs: &[(&str, Option<&str>)]) {
    for (name, role) in specs {
        let mut args = vec!["session", "start", name, "--no-worktree"];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        repo.ok(&args);
    }
}

fn subjects(messages: &Value) -> Vec<String> {
    common::strings(messages, "subject")
}

/// The subjects in mailbox `mailbox` in the order they were appended to
/// its chain.
fn delivered(repo: &Repo, mailbox: &str) -> Vec<String> {
    let refname = format!("refs/orchestrate/mail/{mailbox}");
    let log = repo.git(&["log", "--reverse", "--first-parent", "--format=%H", &refname]);
    log.lines()
        .map(|commit| {
            let json: Value =
                serde_json::from_str(&repo.git(&["show", &format!("{commit}:message.json")])).unwrap();
            json["subject"].as_str().unwrap().to_string()
        })
        .collect()
}

fn send_at(repo: &Repo, at: &str, from: &str, to: &str, subject: &str) {
    let run = Run::of(repo.command(common::BIN).env("ORCHESTRATE_NOW", at).args([
        "--session",
        from,
        "send",
        to,
        subject,
    ]));
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn the_inbox_shows_messages_in_delivery_order_even_when_clocks_disagree() {
    let repo = Repo::new();
    sessions(&repo, &[("bob", Some("dev"))]);
    // Senders whose clocks disagree: a message delivered later can say it
    // was sent earlier. Each mailbox is shown in the order it received.
    send_at(&repo, "2030-01-01T10:05:00Z", "alice", "bob", "first to bob");
    send_at(&repo, "2030-01-01T10:00:00Z", "carol", "bob", "second to bob");
    send_at(&repo, "2030-01-01T10:01:00Z", "dave", "all", "first to all");
    send_at(&repo, "2030-01-01T09:00:00Z", "erin", "role:dev", "first to dev");
    send_at(&repo, "2030-01-01T10:06:00Z", "alice", "bob", "third to bob");
    send_at(&repo, "2030-01-01T09:59:00Z", "carol", "all", "second to all");
    let shown = subjects(&repo.json_as("bob", &["inbox"]));
    let position =
        |s: &str| shown.iter().position(|x| x == s).unwrap_or_else(|| panic!("{s} missing: {shown:?}"));
    assert_eq!(shown.len(), 6, "{shown:?}");
    for chain in
        [["first to bob", "second to bob", "third to bob"].as_slice(), &["first to all", "second to all"]]
    {
        let at: Vec<usize> = chain.iter().map(|s| position(s)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{chain:?} out of delivery order: {shown:?}");
    }
}

#[test]
fn direct_broadcast_and_role_messages_reach_the_right_inboxes() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None), ("bob", Some("review")), ("carol", None)]);
    repo.ok_as("alice", &["send", "bob", "for bob", "direct", "--kind", "help"]);
    repo.ok_as("alice", &["send", "all", "for everyone"]);
    repo.ok_as("alice", &["send", "role:review", "for reviewers"]);

    let bob = repo.json_as("bob", &["inbox"]);
    assert_eq!(subjects(&bob), ["for bob", "for everyone", "for reviewers"]);
    assert_eq!(bob[0]["kind"], "help");
    assert_eq!(bob[0]["body"], "direct");
    assert_eq!(bob[0]["from"], "alice");
    assert_eq!(bob[0]["to"], "bob");
    assert!(bob[0]["id"].as_str().unwrap().starts_with("m-"));
    assert!(bob[0]["sent_at"].is_string());
    assert_eq!(subjects(&repo.json_as("carol", &["inbox"])), ["for everyone"]);
    assert_eq!(subjects(&repo.json_as("alice", &["inbox"])), Vec::<String>::new(), "not your own broadcast");
}

#[test]
fn peek_leaves_messages_unread_and_all_shows_read_ones() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None), ("bob", None)]);
    repo.ok_as("alice", &["send", "bob", "one"]);
    repo.ok_as("alice", &["send", "bob", "two"]);
    assert_eq!(subjects(&repo.json_as("bob", &["inbox", "--peek"])), ["one", "two"]);
    assert_eq!(subjects(&repo.json_as("bob", &["inbox"])), ["one", "two"]);
    assert_eq!(subjects(&repo.json_as("bob", &["inbox"])), Vec::<String>::new());
    repo.ok_as("alice", &["send", "bob", "three"]);
    let all = repo.json_as("bob", &["inbox", "--all", "--peek"]);
    assert_eq!(subjects(&all), ["one", "two", "three"]);
    let read: Vec<bool> = all.as_array().unwrap().iter().map(|m| m["read"].as_bool().unwrap()).collect();
    assert_eq!(read, [true, true, false]);
    // The cursor points at the newest message read.
    repo.ok_as("bob", &["inbox"]);
    assert_eq!(
        repo.git(&["rev-parse", "refs/orchestrate/read/bob/bob"]),
        repo.git(&["rev-parse", "refs/orchestrate/mail/bob"])
    );
}

#[test]
fn replies_thread_and_bodies_come_from_stdin() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None), ("bob", None)]);
    let question = repo.json_as("alice", &["send", "bob", "which port?"]);
    let id = question["id"].as_str().unwrap();
    let sent = common::Run::with_input(
        repo.command(common::BIN).args([
            "--json",
            "--session",
            "bob",
            "send",
            "alice",
            "re: which port?",
            "-",
            "--reply-to",
            id,
        ]),
        b"8080, see config/dev.toml\n",
    );
    assert_eq!(sent.code, 0, "{sent:?}");
    let answer = repo.json_as("alice", &["inbox"]);
    assert_eq!(answer[0]["reply_to"], id);
    assert_eq!(answer[0]["body"], "8080, see config/dev.toml\n");
    assert!(repo.ok_as("alice", &["inbox", "--all"]).contains(&format!("in reply to {id}")));
}

#[test]
fn inbox_wait_is_woken_by_a_send_from_another_process_and_times_out_otherwise() {
    let repo = Arc::new(Repo::new());
    sessions(&repo, &[("alice", None), ("bob", None)]);
    let waiter = {
        let repo = repo.clone();
        std::thread::spawn(move || repo.run_as("bob", &["--json", "inbox", "--wait", "20"]))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    repo.ok_as("alice", &["send", "bob", "ping"]);
    let woken = waiter.join().unwrap();
    assert_eq!(woken.code, 0, "{woken:?}");
    assert_eq!(subjects(&woken.json()), ["ping"]);

    let timed_out = repo.run_as("bob", &["inbox", "--wait", "1"]);
    assert_eq!(timed_out.code, 1, "{timed_out:?}");
}

#[test]
fn eight_senders_of_25_messages_each_deliver_every_one_exactly_once_in_one_order() {
    let repo = Arc::new(Repo::new());
    sessions(&repo, &[("alice", None), ("bob", None)]);
    let barrier = Arc::new(Barrier::new(8));
    let senders: Vec<_> = (0..8)
        .map(|w| {
            let (repo, barrier) = (repo.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..25 {
                    repo.ok_as(&format!("sender-{w}"), &["send", "all", &format!("{w}/{i}")]);
                }
            })
        })
        .collect();
    senders.into_iter().for_each(|h| h.join().unwrap());

    let alice = subjects(&repo.json_as("alice", &["inbox"]));
    let bob = subjects(&repo.json_as("bob", &["inbox"]));
    assert_eq!(alice.len(), 200);
    assert_eq!(alice.iter().collect::<BTreeSet<_>>().len(), 200, "no duplicates");
    assert_eq!(alice, bob, "one order for every reader");
    // The order they were delivered in: the mailbox's chain, oldest first.
    assert_eq!(alice, delivered(&repo, "all"), "the inbox follows the chain");
    // Each sender's messages arrive in the order it sent them.
    for w in 0..8 {
        let mine: Vec<&String> = alice.iter().filter(|s| s.starts_with(&format!("{w}/"))).collect();
        let expected: Vec<String> = (0..25).map(|i| format!("{w}/{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>());
    }
    assert!(repo.json_as("alice", &["inbox"]).as_array().unwrap().is_empty(), "all read");
}

#[test]
fn control_characters_in_a_subject_are_kept_but_shown_escaped() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None), ("bob", None)]);
    repo.ok_as("alice", &["send", "bob", "clear \u{1b}[2J screen", "bell \u{7}"]);
    let shown = repo.ok_as("bob", &["inbox", "--peek"]);
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
    assert!(shown.contains("clear \\u{1b}[2J screen"), "{shown}");
    let json = repo.json_as("bob", &["inbox"]);
    assert_eq!(json[0]["subject"], "clear \u{1b}[2J screen", "stored as written");
}

#[test]
fn bad_messages_exit_2_and_send_nothing() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None)]);
    let huge = "x".repeat(64 * 1024 + 1);
    let before = repo.refs();
    for args in [
        vec!["send", "nobody", "hi"],
        vec!["send", "role:ghosts", "hi"],
        vec!["send", "../x", "hi"],
        vec!["send", "alice", ""],
        vec!["send", "alice", "two\nlines"],
        vec!["send", "alice", "big", &huge],
        vec!["send", "alice", "hi", "--kind", "shout"],
        vec!["send", "alice", "hi", "--reply-to", "nope"],
        vec!["inbox", "--wait", "soon"],
    ] {
        let run = repo.run_as("alice", &args);
        assert_eq!(run.code, 2, "{:?}: {run:?}", &args[..2]);
        assert_eq!(repo.refs(), before);
    }
    assert_eq!(repo.run(&["inbox"]).code, 2, "inbox needs a session");
}

#[test]
fn a_reply_to_a_message_that_does_not_exist_is_refused_and_nothing_is_sent() {
    let repo = Repo::new();
    sessions(&repo, &[("alice", None), ("bob", None)]);
    let direct = repo.json_as("alice", &["send", "bob", "direct"]);
    let broadcast = repo.json_as("alice", &["send", "all", "to everyone"]);
    let before = repo.refs();
    let run = repo.run_as("bob", &["send", "alice", "re: ghost", "--reply-to", "m-00000000"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("m-00000000") && run.stderr.contains("inbox"), "{}", run.stderr);
    assert_eq!(repo.refs(), before, "nothing sent");
    // Replies to messages in any mailbox (direct or broadcast) still go.
    for parent in [&direct, &broadcast] {
        let id = parent["id"].as_str().unwrap();
        assert_eq!(repo.json_as("bob", &["send", "alice", "re", "--reply-to", id])["reply_to"], id);
    }
}
