//! `git orchestrate mcp`: a client we did not write (the official MCP Python
//! SDK, PyPI `mcp`) drives two sessions through the server, and raw
//! JSON-RPC lines check both lifecycles, the errors, and that a tool answers
//! with the JSON the CLI prints.
//!
//! The Python SDK is installed once into a virtual environment under the
//! cargo target directory (`target/mcp-venv-<version>`); later runs reuse
//! it. If it cannot be installed the test fails and says why.

mod common;

use common::{Repo, BIN};
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
    assert_eq!(tools.len(), 17);
    for (tool_id, args) in [(2, vec!["task", "show", id.as_str()]), (3, vec!["task", "list"])] {
        let result = &reply(&replies, tool_id)["result"];
        assert_eq!(result["isError"], false, "{result}");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, result["structuredContent"]);
        assert_eq!(text, repo.json(&args), "the tool answers with what `--json {}` prints", args.join(" "));
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
    assert!(bytes < 7_000, "tools/list grew to {bytes} bytes: keep tool descriptions short");
    for tool in tools {
        let description = tool["description"].as_str().unwrap();
        assert!(description.len() <= 90, "{}: description too long: {description}", tool["name"]);
        assert!(tool["inputSchema"].get("$schema").is_none(), "no per-tool $schema");
    }
}
