//! `git orchestrate mcp`: a client we did not write (the official MCP Python
//! SDK, PyPI `mcp`) drives two sessions through the server, and raw
//! JSON-RPC lines check both lifecycles, the errors, that a tool answers
//! with the JSON the CLI prints, and that every tool answers with a JSON
//! object (a list under a key), as its output schema says.
//!
//! The Python SDK is installed once into a virtual environment under the
//! cargo target directory (`target/mcp-venv-<version>`); later runs reuse
//! it. If it cannot be installed the test fails and says why.

mod common;

use common::{strings, Repo, BIN};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The version of the official Python SDK the tests run against.
const PYTHON_MCP: &str = "2.3.0";

/// A Python with the pinned `mcp` package, installed on first use.
fn python_with_mcp() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let target = Path::new(BIN).parent().and_then(Path::parent).expect("binary in target/<profile>/");
        let venv = target.join(format!("mcp-venv-{PYTHON_MCP}"));
        let python = venv.join("bin").join("python");
        if has_mcp(&python) {
            return python;
        }
        // Built aside and moved into place, so an interrupted install is
        // never taken for a finished one.
        let building = target.join(format!("mcp-venv-{PYTHON_MCP}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        let step = |program: &Path, args: &[&str]| {
            let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
                panic!("the MCP tests need Python 3 (python3 on PATH) to run the official MCP client: {e}")
            });
            assert!(
                out.status.success(),
                "installing the MCP Python SDK (mcp=={PYTHON_MCP}) for the tests failed: {program:?} {args:?}\n{}{}\
                 It needs Python 3 with venv and pip, and access to PyPI.",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        step(Path::new("python3"), &["-m", "venv", building.to_str().unwrap()]);
        let pip = [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "60",
            &format!("mcp=={PYTHON_MCP}"),
        ];
        step(&building.join("bin").join("python"), &pip);
        if std::fs::rename(&building, &venv).is_err() {
            // Another test run finished first; use its environment.
            let _ = std::fs::remove_dir_all(&building);
        }
        assert!(has_mcp(&python), "mcp=={PYTHON_MCP} was installed but cannot be imported by {python:?}");
        python
    })
}

fn has_mcp(python: &Path) -> bool {
    let check = format!("import mcp, importlib.metadata as m; assert m.version('mcp') == '{PYTHON_MCP}'");
    Command::new(python).args(["-c", &check]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_official_python_client_drives_two_sessions_through_claims_messages_and_done() {
    let repo = Repo::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let run = common::Run::of(repo.command(python_with_mcp().to_str().unwrap()).args([
        script.to_str().unwrap(),
        BIN,
        repo.path().to_str().unwrap(),
    ]));
    assert_eq!(run.code, 0, "the Python client failed:\n{}{}", run.stdout, run.stderr);
    let made = run.json();

    // What the tools did is what the CLI sees.
    let api = repo.json(&["task", "show", made["api"].as_str().unwrap()]);
    assert_eq!(api["status"], "done");
    assert_eq!(api["notes"][0]["text"], "merged");
    let docs = repo.json(&["task", "show", made["docs"].as_str().unwrap()]);
    assert_eq!(
        (&docs["status"], &docs["assignee"], &docs["progress"]),
        (&json!("claimed"), &json!("bob"), &json!(30))
    );
    assert_eq!(repo.json(&["session", "show", "alice"])["status"], "ended");
    assert!(!Path::new(made["worktree"].as_str().unwrap()).exists(), "alice's worktree was removed");
    let claims = repo.json(&["claims"]);
    assert_eq!(common::strings(&claims, "session"), ["bob"], "alice's claims went with her session");
}

/// The lead scenario through MCP alone: tests/mcp_lead.py takes the lead,
/// imports a plan, dispatches, retries a failure, lands and assigns with
/// the official client; the CLI then sees what it did.
#[test]
fn the_lead_scenario_runs_through_the_mcp_server_alone() {
    let repo = Repo::new();
    let fix = repo.home().join("tool-installed");
    // The specialists: a builder that fails until its tool is there, and a
    // writer; each commits its work in its worktree.
    let commit = |file: &str| format!("echo {file} > {file} && git add {file} && git commit -qm {file}");
    repo.git(&[
        "config",
        "orchestrate.agent.builder.command",
        &format!("test -e {} && {} && true", fix.display(), commit("built.txt")),
    ]);
    repo.git(&["config", "orchestrate.role.backend.agent", "builder"]);
    repo.git(&["config", "orchestrate.agent.writer.command", &format!("{} && true", commit("docs.txt"))]);
    repo.git(&["config", "orchestrate.role.docs.agent", "writer"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_lead.py");
    let run = common::Run::of(repo.command(python_with_mcp().to_str().unwrap()).args([
        script.to_str().unwrap(),
        BIN,
        repo.path().to_str().unwrap(),
        fix.to_str().unwrap(),
    ]));
    assert_eq!(run.code, 0, "the lead's client failed:\n{}{}", run.stdout, run.stderr);
    let made = run.json();
    for key in ["build", "docs"] {
        let task = repo.json(&["task", "show", made["tasks"][key].as_str().unwrap()]);
        assert_eq!(task["status"], "done", "{key}: {task}");
    }
    // Both branches landed on main.
    assert_eq!(repo.git(&["show", "main:built.txt"]), "built.txt");
    assert_eq!(repo.git(&["show", "main:docs.txt"]), "docs.txt");
    let extra = repo.json(&["task", "show", made["extra"].as_str().unwrap()]);
    assert_eq!(extra["assigned_to"], "helper");
    assert_eq!(repo.json(&["lead"])["lead"], Value::Null, "released at the end");
}

/// A server process fed JSON-RPC lines; stdin is closed after the last.
fn exchange(repo: &Repo, flags: &[&str], lines: &[Value]) -> Vec<Value> {
    let mut child = repo
        .command(BIN)
        .args(flags)
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        let text = match line {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        writeln!(stdin, "{text}").unwrap();
    }
    drop(stdin);
    let replies: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("every line the server writes is JSON"))
        .collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "the server exits cleanly when stdin closes: {status}");
    replies
}

fn reply(replies: &[Value], id: u64) -> &Value {
    replies
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no reply to request {id} in {replies:#?}"))
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

fn initialize() -> [Value; 2] {
    [
        request(
            1,
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "raw", "version": "1" }
            }),
        ),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    ]
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    request(id, "tools/call", json!({ "name": tool, "arguments": arguments }))
}

#[test]
fn malformed_requests_and_unknown_tools_are_json_rpc_errors_while_refusals_are_tool_results() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice", "--no-worktree"]);
    repo.ok_as("alice", &["claim", "src/"]);
    let [init, initialized] = initialize();
    let before = repo.refs();
    let replies = exchange(
        &repo,
        &["--session", "bob"],
        &[
            init,
            initialized,
            json!({ "not": "a JSON-RPC message" }),
            Value::String("this line is not JSON {".to_string()),
            call(2, "no_such_tool", json!({})),
            request(3, "no/such/method", json!({})),
            request(4, "tools/call", json!({ "arguments": {} })),
            call(5, "claim", json!({ "paths": ["src/main.rs"] })),
            call(6, "task_show", json!({ "id": "zz" })),
            call(7, "task_add", json!({ "titel": "typo" })),
        ],
    );
    assert_eq!(reply(&replies, 1)["result"]["serverInfo"]["name"], "git-orchestrate");
    let codes: Vec<&Value> =
        replies.iter().filter(|r| r["id"].is_null()).map(|r| &r["error"]["code"]).collect();
    assert!(codes.contains(&&json!(-32600)), "a reply to the message that is not JSON-RPC: {replies:#?}");
    assert!(codes.contains(&&json!(-32700)), "a parse error for the line that is not JSON: {replies:#?}");
    assert_eq!(reply(&replies, 2)["error"]["code"], -32602, "unknown tool");
    assert_eq!(reply(&replies, 3)["error"]["code"], -32601, "unknown method");
    assert!(reply(&replies, 4)["error"]["code"].is_i64(), "a tools/call without a name");

    let refused = &reply(&replies, 5)["result"];
    assert_eq!(refused["isError"], true);
    assert_eq!(refused["structuredContent"]["error"]["kind"], "refused");
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(message.contains("held by alice") && message.contains("ask alice"), "{message}");
    assert_eq!(refused["structuredContent"]["error"]["message"], message);
    let bad_id = &reply(&replies, 6)["result"];
    assert_eq!(
        (&bad_id["isError"], &bad_id["structuredContent"]["error"]["kind"]),
        (&json!(true), &json!("invalid"))
    );
    // Arguments that do not fit the schema are a tool error the model can
    // correct (as the MCP specification asks), naming the fields it accepts.
    let typo = &reply(&replies, 7)["result"];
    assert_eq!(typo["isError"], true);
    assert!(typo["content"][0]["text"].as_str().unwrap().contains("unknown field `titel`"), "{typo}");
    assert_eq!(repo.refs(), before, "nothing was written");
}

#[test]
fn an_agents_refusal_carries_its_facts_and_hints_worded_for_tools() {
    let repo = Repo::new();
    repo.ok(&["spawn", "w1", "--", "sleep", "300"]);
    repo.ok(&["spawn", "w2", "--", "true"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while repo
        .json(&["ps"])
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["session"] == "w2" && a["state"] != "exited")
    {
        assert!(std::time::Instant::now() < deadline, "w2 never ended");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let [init, initialized] = initialize();
    let replies = exchange(
        &repo,
        &[],
        &[
            init,
            initialized,
            call(2, "spawn", json!({ "name": "w1", "command": ["true"] })),
            call(3, "stop", json!({ "name": "w2" })),
        ],
    );
    repo.ok(&["stop", "w1", "--grace", "1s"]);
    let error = |id| {
        let result = &reply(&replies, id)["result"];
        assert_eq!(result["isError"], true, "{result}");
        let error = result["structuredContent"]["error"].clone();
        assert_eq!(error["kind"], "refused", "{error:#}");
        // The text a client shows says the way out too, in tool terms.
        let text = result["content"][0]["text"].as_str().unwrap();
        assert_eq!(error["message"], text);
        for hint in error["hints"].as_array().unwrap() {
            assert!(text.contains(hint.as_str().unwrap()), "{text}");
            assert!(!hint.as_str().unwrap().contains("git orchestrate"), "no CLI syntax for a tool: {hint}");
        }
        error
    };
    let running = error(2);
    assert_eq!(
        (&running["reason"], &running["agent"], &running["phase"]),
        (&json!("agent_running"), &json!("w1"), &json!("running"))
    );
    assert_eq!(running["hints"][0], "call stop with name: \"w1\" first, or spawn under another name");
    let over = error(3);
    assert_eq!(
        (&over["reason"], &over["phase"], &over["exit_code"]),
        (&json!("agent_not_running"), &json!("exited"), &json!(0))
    );
    assert_eq!(over["hints"][0], "call logs with name: \"w2\" to see how it ended");
}

#[test]
fn a_stateless_client_is_served_without_initialize_and_gets_the_cli_json() {
    let repo = Repo::new();
    let id = repo.add("Build the API", &["-p", "1", "--label", "api"]);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let replies = exchange(
        &repo,
        &[],
        &[
            request(1, "tools/list", json!({ "_meta": meta })),
            request(
                2,
                "tools/call",
                json!({ "name": "task_show", "arguments": { "id": id }, "_meta": meta }),
            ),
            request(3, "tools/call", json!({ "name": "task_list", "arguments": {}, "_meta": meta })),
        ],
    );
    let tools = reply(&replies, 1)["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 29);
    // An object as the CLI prints it; a list the CLI prints bare, under its key.
    let cli_list = json!({ "tasks": repo.json(&["task", "list"]) });
    for (tool_id, cli) in [(2, repo.json(&["task", "show", &id])), (3, cli_list)] {
        let result = &reply(&replies, tool_id)["result"];
        assert_eq!(result["isError"], false, "{result}");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, result["structuredContent"]);
        assert_eq!(text, cli, "the tool answers with what `--json` prints");
    }
}

#[test]
fn the_tool_list_stays_small() {
    let repo = Repo::new();
    let [init, initialized] = initialize();
    let replies = exchange(&repo, &[], &[init, initialized, request(2, "tools/list", json!({}))]);
    let list = reply(&replies, 2);
    let tools = list["result"]["tools"].as_array().unwrap();
    let bytes = list.to_string().len();
    // The number the README states; run with --nocapture to see it.
    println!("tools/list: {} tools, {bytes} bytes, about {} tokens (bytes/4)", tools.len(), bytes / 4);
    // 18 everyday tools took about 7,500 bytes; the 11 a lead needs to
    // coordinate (spawn, ps, logs, stop, dispatch, lead, task_assign,
    // task_import, task_retry, land, conflicts) about 4,000 more.
    assert!(bytes < 11_600, "tools/list grew to {bytes} bytes: keep tool descriptions short");
    for tool in tools {
        let description = tool["description"].as_str().unwrap();
        assert!(description.len() <= 90, "{}: description too long: {description}", tool["name"]);
        assert!(tool["inputSchema"].get("$schema").is_none(), "no per-tool $schema");
    }
}

/// A server process driven one request at a time: each call waits for its
/// reply, so calls that depend on each other run in order.
struct Conversation {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Conversation {
    fn open(repo: &Repo) -> Conversation {
        let mut child = repo
            .command(BIN)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut conversation = Conversation { child, stdin, stdout, next_id: 1 };
        let [init, initialized] = initialize();
        conversation.ask("initialize", init["params"].clone());
        writeln!(conversation.stdin, "{initialized}").unwrap();
        conversation
    }

    fn ask(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        writeln!(self.stdin, "{}", request(id, method, params)).unwrap();
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the server closed stdout before answering {id}"
            );
            let reply: Value = serde_json::from_str(&line).expect("every line the server writes is JSON");
            if reply["id"] == id {
                return reply;
            }
        }
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every tool, with arguments under which it succeeds, in an order that
/// makes each call meaningful. A tool added to the server must be added
/// here: the test below fails for a tool it does not call.
fn every_tool_call(ids: &[String; 3]) -> Vec<(&'static str, Value)> {
    let [a, b, c] = ids;
    vec![
        ("session_start", json!({ "name": "ann", "no_worktree": true, "resume": true })),
        ("heartbeat", json!({ "doing": "checking every tool" })),
        ("lead", json!({ "action": "take" })),
        ("task_import", json!({ "plan": "- [ ] Imported\n" })),
        ("task_assign", json!({ "id": c, "session": "bob" })),
        ("task_add", json!({ "title": "One more", "after": [a] })),
        ("task_list", json!({})),
        ("task_show", json!({ "id": a })),
        ("task_claim", json!({ "id": a })),
        ("task_note", json!({ "id": a, "text": "half way", "progress": 50 })),
        ("task_done", json!({ "id": a })),
        ("task_claim", json!({ "id": b })),
        ("task_fail", json!({ "id": b, "note": "cannot" })),
        ("task_retry", json!({ "id": b })),
        ("task_claim", json!({ "id": c })),
        ("task_release", json!({ "id": c })),
        ("claim", json!({ "paths": ["src/", "docs/"] })),
        ("check", json!({ "paths": ["src/lib.rs"] })),
        ("release", json!({ "paths": ["docs/"] })),
        ("send", json!({ "to": "bob", "subject": "done with mine" })),
        ("land_queue", json!({ "session": "cat" })),
        ("inbox", json!({ "peek": true })),
        ("inbox", json!({})),
        ("board", json!({})),
        ("spawn", json!({ "name": "w1", "command": ["sleep", "300"] })),
        ("ps", json!({})),
        ("logs", json!({ "name": "w1", "lines": 5 })),
        ("stop", json!({ "name": "w1", "grace": "1s" })),
        ("conflicts", json!({})),
        ("land", json!({ "sessions": ["w1"] })),
        ("dispatch", json!({ "max": 1, "command": ["sleep", "300"] })),
        ("session_end", json!({})),
    ]
}

#[test]
fn every_tool_answers_with_a_json_object_as_its_output_schema_says() {
    let repo = Repo::new();
    let ids = [repo.add("First", &[]), repo.add("Second", &[]), repo.add("Third", &[])];
    for name in ["ann", "bob"] {
        repo.ok(&["session", "start", name, "--no-worktree"]);
    }
    repo.ok_as("bob", &["send", "ann", "how far are you?"]);
    // A session with committed work on its branch, for land_queue.
    let cat = std::path::PathBuf::from(repo.ok(&["session", "start", "cat"]).trim());
    std::fs::write(cat.join("cat.txt"), "cat\n").unwrap();
    repo.git(&["-C", cat.to_str().unwrap(), "add", "cat.txt"]);
    repo.git(&["-C", cat.to_str().unwrap(), "commit", "-q", "-m", "cat's work"]);
    let mut server = Conversation::open(&repo);
    let listed = server.ask("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap();
    let calls = every_tool_call(&ids);
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert!(
            calls.iter().any(|(called, _)| *called == name),
            "{name} is not called by every_tool_call in tests/mcp.rs: add a call of it there"
        );
        assert_eq!(tool["outputSchema"]["type"], "object", "{name} declares an object output: {tool}");
    }
    let mut lists = Vec::new();
    for (name, arguments) in calls {
        let reply = server.ask("tools/call", json!({ "name": name, "arguments": arguments }));
        let result = &reply["result"];
        assert_eq!(result["isError"], false, "{name} {arguments} failed: {reply}");
        let structured = &result["structuredContent"];
        assert!(structured.is_object(), "{name}: structured content is an object: {result}");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(&text, structured, "{name}: the text is the structured content");
        let schema = &tools.iter().find(|t| t["name"] == name).unwrap()["outputSchema"];
        for (key, property) in schema["properties"].as_object().into_iter().flatten() {
            assert!(structured.get(key).is_some(), "{name}: its output schema names {key}: {structured}");
            if property["type"] == "array" {
                lists.push((name, structured[key].as_array().unwrap().len()));
            }
        }
    }
    // The tools that list things answered with their lists, not empty by accident.
    assert_eq!(
        lists,
        [
            ("task_list", 5),
            ("claim", 2),
            ("release", 1),
            ("land_queue", 1),
            ("inbox", 1),
            ("inbox", 1),
            ("ps", 1),
            ("stop", 1),
            ("land", 1),
            ("dispatch", 1)
        ],
        "each list under its key, with what the calls before it made"
    );
    // What the server said it did is what the CLI sees.
    assert_eq!(repo.json(&["task", "show", &ids[0]])["status"], "done");
    // Failed, retried, then taken by the one agent the dispatch pass started.
    let second = repo.json(&["task", "show", &ids[1]]);
    assert_eq!(strings(&second["history"], "action")[2..], ["fail", "retry", "claim"], "{second}");
    assert_eq!(second["assignee"], format!("agent-{}", ids[1]));
    // Assigned to bob, then claimed and released by ann: open, and nobody's.
    let third = repo.json(&["task", "show", &ids[2]]);
    assert_eq!((third["status"].as_str(), third.get("assigned_to")), (Some("open"), None));
    assert!(strings(&third["history"], "action").contains(&"assign".to_string()));
    assert_eq!(repo.json(&["session", "show", "ann"])["status"], "ended");
    assert_eq!(repo.json(&["session", "show", "w1"])["status"], "ended", "stopped, and its session with it");
    assert_eq!(common::strings(&repo.json(&["land", "--list"]), "session"), ["cat"]);
}

#[test]
fn session_and_lead_refusals_carry_their_facts_and_hints_worded_for_tools() {
    let repo = Repo::new();
    for s in ["boss", "bob"] {
        repo.ok(&["session", "start", s, "--no-worktree"]);
    }
    repo.ok_as("boss", &["lead", "take"]);
    let [init, initialized] = initialize();
    let before = repo.refs();
    let replies = exchange(
        &repo,
        &["--session", "bob"],
        &[
            init,
            initialized,
            call(2, "lead", json!({ "action": "take" })),
            call(3, "session_start", json!({ "name": "boss", "no_worktree": true })),
            call(4, "release", json!({ "paths": ["src/"] })),
        ],
    );
    let error = |id| {
        let result = &reply(&replies, id)["result"];
        assert_eq!(result["isError"], true, "{result:#}");
        let error = result["structuredContent"]["error"].clone();
        for hint in error["hints"].as_array().unwrap() {
            assert!(!hint.as_str().unwrap().contains("git orchestrate"), "worded for tools: {hint}");
        }
        error
    };
    let held = error(2);
    assert_eq!((&held["reason"], &held["lead"]), (&json!("lead_held"), &json!("boss")));
    assert!(held["hints"][0]
        .as_str()
        .unwrap()
        .starts_with("ask boss to release it: call send with to: \"boss\""));
    let active = error(3);
    assert_eq!((&active["reason"], &active["session"]), (&json!("session_active"), &json!("boss")));
    assert_eq!(active["hints"][0], "call session_start with resume: true to act as it, or pick another name");
    let not_claimed = error(4);
    assert_eq!((&not_claimed["reason"], &not_claimed["path"]), (&json!("not_claimed"), &json!("src/")));
    assert_eq!(not_claimed["hints"][0], "call claims to see who holds what");
    assert_eq!(repo.refs(), before, "nothing was written");
}
