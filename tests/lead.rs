//! A lead: one session coordinates (a lease), hears of help, failures and
//! completions, assigns tasks, imports plans — and the whole scenario run
//! from the command line.

mod common;

use common::{strings, Repo, Run};
use serde_json::Value;
use std::time::{Duration, Instant};

fn at(repo: &Repo, when: &str, args: &[&str]) -> Run {
    Run::of(repo.command(common::BIN).env("ORCHESTRATE_NOW", when).args(args))
}

#[test]
fn one_session_holds_the_lead_until_it_goes_stale_or_a_human_forces_it() {
    let repo = Repo::new();
    assert_eq!(repo.json(&["lead"])["lead"], Value::Null);
    let t0 = "2026-01-01T10:00:00Z";
    assert_eq!(at(&repo, t0, &["--session", "alice", "lead", "take"]).code, 0);
    let taken = at(&repo, "2026-01-01T10:05:00Z", &["--session", "bob", "lead", "take"]);
    assert_eq!(taken.code, 1, "{taken:?}");
    assert!(
        taken.stderr.contains("alice holds the lead") && taken.stderr.contains("--force"),
        "{}",
        taken.stderr
    );
    let shown = at(&repo, "2026-01-01T10:05:00Z", &["--json", "lead", "show"]).json();
    assert_eq!((shown["lead"].as_str(), shown["live"].as_bool()), (Some("alice"), Some(true)));
    // Silent for longer than staleAfter (15m): the lease is lost.
    let later = "2026-01-01T10:20:00Z";
    assert_eq!(at(&repo, later, &["--json", "lead"]).json()["live"], false);
    let run = at(&repo, later, &["--json", "--session", "bob", "lead", "take"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["lead"], "bob");
    // A human sorts things out.
    let forced = at(&repo, later, &["--json", "--session", "carol", "lead", "take", "--force"]);
    assert_eq!(forced.json()["lead"], "carol");
    let refused = at(&repo, later, &["--session", "bob", "lead", "release"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("carol holds the lead"), "{}", refused.stderr);
    assert_eq!(at(&repo, later, &["--session", "carol", "lead", "release"]).code, 0);
    assert_eq!(repo.json(&["lead"])["lead"], Value::Null);
}

#[test]
fn of_many_sessions_taking_the_lead_at_once_exactly_one_gets_it() {
    let repo = Repo::new();
    repo.ok(&["init"]);
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let children: Vec<_> = names
        .iter()
        .map(|n| repo.command(common::BIN).args(["--session", n, "lead", "take"]).output_async())
        .collect();
    let codes: Vec<i32> =
        children.into_iter().map(|c| c.wait_with_output().unwrap().status.code().unwrap()).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|&c| c == 0 || c == 1), "{codes:?}");
    let winner = names[codes.iter().position(|&c| c == 0).unwrap()].clone();
    assert_eq!(repo.json(&["lead"])["lead"], winner.as_str());
}

trait Async {
    fn output_async(&mut self) -> std::process::Child;
}

impl Async for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    }
}

fn subjects(inbox: &Value) -> Vec<String> {
    strings(inbox, "subject")
}

#[test]
fn help_completions_and_agent_failures_reach_the_lead() {
    let repo = Repo::new();
    repo.ok_as("boss", &["lead", "take"]);
    for s in ["alice", "bob"] {
        repo.ok(&["session", "start", s, "--no-worktree"]);
    }
    repo.ok_as("bob", &["send", "alice", "stuck on the schema", "--kind", "help"]);
    repo.ok_as("bob", &["send", "alice", "done with the API", "--kind", "completion"]);
    repo.ok_as("bob", &["send", "alice", "just chatting"]);
    repo.ok_as("bob", &["send", "all", "everyone: help", "--kind", "help"]);
    let inbox = repo.json_as("boss", &["inbox"]);
    assert_eq!(
        subjects(&inbox),
        ["stuck on the schema", "done with the API", "everyone: help"],
        "a broadcast once, chatter not at all: {inbox:#}"
    );
    assert_eq!(inbox[0]["mailbox"], "role.lead");
    assert_eq!(inbox[0]["to"], "alice", "the copy says who it was for");
    // Alice still has hers.
    assert_eq!(subjects(&repo.json_as("alice", &["inbox"])).len(), 4);

    // An agent started by a human, failing: the lead hears of it.
    let id = repo.add("breaks", &[]);
    repo.ok(&["spawn", "w1", "--task", &id, "--", "sh", "-c", "echo oops; exit 4"]);
    let got = repo.json_as("boss", &["inbox", "--wait", "60"]);
    let subject = subjects(&got).join("\n");
    assert!(
        subject.contains("agent w1 failed (exit 4)") && subject.contains(&format!("{id} failed")),
        "{subject}"
    );
}

#[test]
fn the_lead_assigns_a_task_and_the_session_takes_it_first() {
    let repo = Repo::new();
    for s in ["boss", "bob", "carol"] {
        repo.ok(&["session", "start", s, "--no-worktree"]);
    }
    repo.ok_as("boss", &["lead", "take"]);
    let urgent = repo.add("urgent", &["-p", "0"]);
    let minor = repo.add("minor", &["-p", "4"]);
    // Only the lead (or a human) assigns.
    let run = repo.run_as("carol", &["task", "assign", &minor, "bob"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("only the lead (boss)"), "{}", run.stderr);

    let assigned = repo.json_as("boss", &["task", "assign", &minor, "bob"]);
    assert_eq!((assigned["status"].as_str(), assigned["assigned_to"].as_str()), (Some("open"), Some("bob")));
    assert_eq!(
        strings(&repo.json_as("bob", &["task", "list", "--mine"]), "id"),
        std::slice::from_ref(&minor)
    );
    let mail = repo.json_as("bob", &["inbox"]);
    assert!(subjects(&mail)[0].contains(&minor), "{mail:#}");
    // Carol's --next leaves it to bob; bob's takes it before the urgent one.
    assert_eq!(repo.json_as("carol", &["task", "claim", "--next"])["id"], urgent.as_str());
    let claimed = repo.json_as("bob", &["task", "claim", "--next"]);
    assert_eq!(claimed["id"], minor.as_str());
    assert_eq!(claimed["assigned_to"], Value::Null, "the claim makes it real");

    // A human may too; bad targets are refused.
    let other = repo.add("other", &[]);
    assert_eq!(repo.run(&["task", "assign", &other, "carol"]).code, 0);
    let before = repo.refs();
    assert_eq!(repo.run(&["task", "assign", &other, "nobody"]).code, 2);
    assert_eq!(repo.run(&["task", "assign", &urgent, "bob"]).code, 1, "claimed already");
    assert_eq!(repo.refs(), before, "refusals change nothing");
    repo.ok(&["session", "end", "bob"]);
    let ended = repo.run(&["task", "assign", &other, "bob"]);
    assert_eq!(ended.code, 1, "{ended:?}");
    assert!(ended.stderr.contains("not live"), "{}", ended.stderr);
}

const PLAN: &str = r#"{"tasks":[
  {"key":"schema","title":"Design the schema","description":"tables","priority":1,"role":"backend","labels":["db"]},
  {"key":"api","title":"Write the API","role":"backend","after":["schema","EXISTING"]},
  {"key":"docs","title":"Document it","after":["api"]}
]}"#;

#[test]
fn import_adds_a_plan_with_its_dependencies_and_prints_key_to_id() {
    let repo = Repo::new();
    let existing = repo.add("already there", &[]);
    let file = repo.home().join("plan.json");
    std::fs::write(&file, PLAN.replace("EXISTING", &existing)).unwrap();
    let out = repo.json(&["task", "import", file.to_str().unwrap()]);
    let keys = strings(&out["tasks"], "key");
    assert_eq!(keys, ["schema", "api", "docs"]);
    let ids = strings(&out["tasks"], "id");
    let schema = repo.json(&["task", "show", &ids[0]]);
    assert_eq!((schema["priority"].as_u64(), schema["role"].as_str()), (Some(1), Some("backend")));
    assert_eq!(schema["description"], "tables");
    let api = repo.json(&["task", "show", &ids[1]]);
    assert_eq!(strings_of(&api["depends_on"]), [ids[0].clone(), existing.clone()]);
    assert_eq!(strings_of(&repo.json(&["task", "show", &ids[2]])["depends_on"]), [ids[1].clone()]);
    assert_eq!(
        strings(&repo.json(&["task", "list", "--ready"]), "id").len(),
        2,
        "schema and the existing one"
    );
    // One event in the log, and each task's history starts with it.
    assert_eq!(strings(&api["history"], "action"), ["add"]);
    // The text form says key → id.
    let md = repo.home().join("plan.md");
    std::fs::write(&md, "# Next\n- [ ] Tests\n  key: tests\n  after: docs-in-store\n").unwrap();
    let run = repo.run(&["task", "import", md.to_str().unwrap()]);
    assert_eq!(run.code, 2, "an unknown key: {run:?}");
    std::fs::write(
        &md,
        format!("- [x] Done before\n  key: old\n- [ ] Tests\n  key: tests\n  after: old, {}\n", ids[2]),
    )
    .unwrap();
    let text = repo.ok(&["task", "import", md.to_str().unwrap()]);
    assert!(text.starts_with("tests → t-") && text.contains("skipped (checked off): old"), "{text}");
}

fn strings_of(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn a_bad_plan_is_refused_naming_the_entry_and_adds_nothing() {
    let repo = Repo::new();
    repo.add("keeps the store initialised", &[]);
    let file = repo.home().join("plan.json");
    let cases = [
        (
            r#"{"tasks":[{"key":"a","title":"A","after":["c"]},{"key":"b","title":"B","after":["a"]},{"key":"c","title":"C","after":["b"]}]}"#,
            "a -> c -> b -> a",
        ),
        (r#"{"tasks":[{"key":"a","title":"A"},{"key":"a","title":"again"}]}"#, "entry 2 repeats the key 'a'"),
        (
            r#"{"tasks":[{"key":"a","title":"A"},{"key":"b","title":"B","after":["nope"]}]}"#,
            "entry 2 (key 'b'): after 'nope'",
        ),
        (
            r#"{"tasks":[{"key":"a","title":"A"},{"key":"b","title":"B","after":["t-ffff"]}]}"#,
            "entry 2 (key 'b'): after 't-ffff'",
        ),
        (r#"{"tasks":[{"key":"a","title":"A","priority":9}]}"#, "entry 1 (key 'a'): priority"),
        (r#"{"tasks":[{"key":"a","title":"A","role":"Back End"}]}"#, "entry 1 (key 'a')"),
    ];
    let before = repo.refs();
    for (plan, says) in cases {
        std::fs::write(&file, plan).unwrap();
        let run = repo.run(&["--json", "task", "import", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{plan}: {run:?}");
        assert!(run.stderr.contains(says), "{plan}: {}", run.stderr);
        assert_eq!(run.json()["error"]["kind"], "invalid");
    }
    assert_eq!(repo.refs(), before, "nothing was added");
}

#[test]
fn the_lead_prompt_is_short_and_every_command_in_it_exists() {
    let repo = Repo::new();
    let text = repo.ok(&["prompt", "--role", "lead"]);
    // Any English or command text takes at least 3 bytes a token: 4,500
    // bytes bound it at 1,500 tokens.
    assert!(text.len() <= 4500, "{} bytes", text.len());
    for part in
        ["lead take", "task import", "dispatch", "task assign", "inbox --wait", "task retry", "send human"]
    {
        assert!(text.contains(part), "no {part} in:\n{text}");
    }
    for code in text.split('`').skip(1).step_by(2).filter_map(|c| c.strip_prefix("git orchestrate ")) {
        let words: Vec<&str> = code.split_whitespace().collect();
        let path: Vec<&str> = words
            .iter()
            .copied()
            .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
            .take(2)
            .collect();
        let mut args = path.clone();
        args.push("-h");
        let help = repo.run(&args);
        let help = if help.code == 0 { help } else { repo.run(&[path[0], "-h"]) };
        assert_eq!(help.code, 0, "`{code}` is not a command");
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            assert!(help.stdout.contains(flag), "`{code}`: no {flag}");
        }
    }
}

/// The lead scenario from the command line: a lead takes over, imports a
/// plan, dispatches specialists, hears of a failure, fixes and retries
/// it, and the dependent work follows until all is done.
#[test]
fn the_lead_scenario_runs_end_to_end_from_the_command_line() {
    let repo = Repo::new();
    repo.ok_as("lead", &["lead", "take"]);
    // The backend specialist fails until the lead supplies what it needs.
    let fix = repo.home().join("fixed");
    repo.git(&[
        "config",
        "orchestrate.agent.builder.command",
        &format!("test -e {} && echo built", fix.display()),
    ]);
    repo.git(&["config", "orchestrate.role.backend.agent", "builder"]);
    repo.git(&["config", "orchestrate.agent.writer.command", "echo written"]);
    repo.git(&["config", "orchestrate.role.docs.agent", "writer"]);
    let plan = repo.home().join("plan.md");
    std::fs::write(
        &plan,
        "- [ ] Build the service\n  key: build\n  role: backend\n- [ ] Document it\n  key: docs\n  role: docs\n  after: build\n",
    )
    .unwrap();
    let ids = strings(&repo.json_as("lead", &["task", "import", plan.to_str().unwrap()])["tasks"], "id");

    let first = repo.run_as("lead", &["dispatch", "--max", "2"]);
    assert_eq!(first.code, 1, "the build failed: {first:?}");
    let news = subjects(&repo.json_as("lead", &["inbox", "--wait", "30"])).join("\n");
    assert!(news.contains(&format!("{} failed", ids[0])), "{news}");
    assert_eq!(repo.json(&["task", "show", &ids[1]])["readiness"]["state"], "blocked");

    std::fs::write(&fix, "").unwrap();
    repo.ok_as("lead", &["task", "retry", &ids[0], "--note", "the tool is installed now"]);
    repo.ok_as("lead", &["dispatch", "--max", "2"]);
    for id in &ids {
        assert_eq!(repo.json(&["task", "show", id])["status"], "done", "{id}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut heard = String::new();
    while !(heard.contains(&format!("{} done", ids[0])) && heard.contains(&format!("{} done", ids[1]))) {
        assert!(Instant::now() < deadline, "the lead never heard both completions: {heard}");
        heard.push_str(&subjects(&repo.json_as("lead", &["inbox"])).join("\n"));
    }
    // The agents' sessions ended with them; nothing is left running.
    assert!(repo.json(&["session", "list"]).as_array().unwrap().iter().all(|s| s["name"] == "lead"));
    repo.ok_as("lead", &["lead", "release"]);
}

#[test]
fn the_lead_hears_of_a_new_conflict_once() {
    let repo = Repo::new();
    repo.ok(&["hooks", "install"]);
    repo.ok_as("boss", &["lead", "take"]);
    let commit = |who: &str, text: &str| {
        let dir = std::path::PathBuf::from(format!("{}.worktrees/{who}", repo.path().display()));
        std::fs::write(dir.join("README"), text).unwrap();
        for args in [vec!["add", "README"], vec!["commit", "-q", "-m", "edit"]] {
            let run = Run::of(repo.command("git").current_dir(&dir).args(&args));
            assert_eq!(run.code, 0, "{run:?}");
        }
    };
    repo.ok(&["session", "start", "alice"]);
    repo.ok(&["session", "start", "bob"]);
    commit("alice", "alice's\n");
    commit("bob", "bob's\n");
    commit("bob", "bob's again\n");
    let heard = subjects(&repo.json_as("boss", &["inbox"]));
    assert_eq!(heard, ["conflict ahead with bob: README"], "once, as one of the two sides heard it");
}
