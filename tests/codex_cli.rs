//! The real Codex CLI (npm `@openai/codex`) loads the settings `integrate
//! codex` wrote, in a session worktree, and calls our tools through its own
//! MCP client, offline and with no API key: `codex app-server` speaks
//! JSON-RPC on stdio, and its `mcpServer/tool/call` runs a tool of a
//! thread's MCP server the way a model's call would, with no model.
//!
//! Codex's state lives in the sandboxed HOME (`CODEX_HOME`), and its model
//! endpoint points at a closed port on 127.0.0.1, so nothing leaves the
//! machine. The CLI is installed once with npm into the cargo target
//! directory (`target/codex-cli-<version>`); later runs reuse it. If it
//! cannot be installed the test fails and says why.

mod common;

use common::Repo;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::OnceLock;
use std::time::Duration;

/// The version of Codex CLI the test runs (the one issue 17 was checked with).
const CODEX_CLI: &str = "0.171.0";

/// Codex CLI's entry point, installed on first use.
fn codex_cli() -> &'static Path {
    static CODEX: OnceLock<PathBuf> = OnceLock::new();
    CODEX.get_or_init(|| {
        common::npm_installed("codex-cli", "@openai/codex", CODEX_CLI, "node_modules/.bin/codex")
    })
}

/// A `codex app-server` process, asked one request at a time.
struct AppServer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    next_id: u64,
    /// Notifications seen while waiting for answers.
    notes: Vec<Value>,
}

impl AppServer {
    fn start(repo: &Repo, dir: &Path, codex_home: &Path) -> AppServer {
        // A port nothing listens on: Codex's model endpoint, so that its
        // warm-up connection is refused on this machine and goes nowhere else.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = repo.command(codex_cli().to_str().unwrap());
        cmd.arg("app-server")
            .args(["-c", &format!("openai_base_url=\"http://127.0.0.1:{closed}/v1\"")])
            .args(["-c", "check_for_update_on_startup=false", "-c", "analytics.enabled=false"])
            .current_dir(dir)
            .env("CODEX_HOME", codex_home);
        for var in ["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY", "CODEX_SANDBOX", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    if send.send(value).is_err() {
                        break;
                    }
                }
            }
        });
        let mut server = AppServer { child, stdin, lines, next_id: 0, notes: Vec::new() };
        server
            .ask("initialize", json!({ "clientInfo": { "name": "git-orchestrate-tests", "version": "1" } }));
        writeln!(server.stdin, "{}", json!({ "jsonrpc": "2.0", "method": "initialized" })).unwrap();
        server
    }

    /// The next message from Codex; a guard against a hang, not a timing check.
    fn next(&mut self) -> Value {
        self.lines.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| {
            panic!("codex app-server went quiet; notifications so far: {:#?}", self.notes)
        })
    }

    /// Sends a request and returns its answer (`result` or `error`).
    fn ask(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        writeln!(self.stdin, "{}", json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .unwrap();
        loop {
            let message = self.next();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
            self.notes.push(message);
        }
    }

    /// Waits until Codex says how starting our server went in `thread`.
    fn server_started(&mut self, thread: &str) -> Value {
        let is_ours = |m: &Value| {
            m["method"] == "mcpServer/startupStatus/updated"
                && m["params"]["threadId"] == thread
                && m["params"]["name"] == "orchestrate"
                && m["params"]["status"] != "starting"
        };
        if let Some(seen) = self.notes.iter().find(|m| is_ours(m)) {
            return seen["params"].clone();
        }
        loop {
            let message = self.next();
            if is_ours(&message) {
                return message["params"].clone();
            }
            self.notes.push(message);
        }
    }

    fn start_thread(&mut self, dir: &Path) -> String {
        let started = self.ask("thread/start", json!({ "cwd": dir }));
        started["result"]["thread"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no thread: {started}"))
            .to_string()
    }

    /// Calls one of our tools through Codex's MCP client; returns its object.
    fn call(&mut self, thread: &str, tool: &str, arguments: Value) -> Value {
        let params =
            json!({ "server": "orchestrate", "threadId": thread, "tool": tool, "arguments": arguments });
        let answer = self.ask("mcpServer/tool/call", params);
        let result = &answer["result"];
        assert_eq!(result["isError"], false, "{tool} failed through Codex: {answer}");
        let structured = result["structuredContent"].clone();
        assert!(structured.is_object(), "{tool}: structured content is an object: {answer}");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, structured, "{tool}: the text is the structured content");
        structured
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn codex_calls_every_list_tool_through_its_own_mcp_client_in_a_session_worktree() {
    let repo = Repo::new();
    // The project's settings, committed so that every session worktree has them.
    repo.ok(&["integrate", "codex"]);
    repo.git(&["add", ".codex"]);
    repo.git(&["commit", "-q", "-m", "Codex CLI settings"]);
    let task = repo.add("Build the API", &["-p", "1"]);
    let ann = repo.json(&["session", "start", "ann"]);
    let worktree = PathBuf::from(ann["worktree"].as_str().unwrap());
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("bob", &["send", "ann", "src/ is yours today"]);
    let codex_home = repo.home().join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();

    // Not trusted: Codex does not load the project's settings, so it has no
    // server of ours (the step `integrate codex` says is still needed).
    let mut untrusted = AppServer::start(&repo, &worktree, &codex_home);
    let thread = untrusted.start_thread(&worktree);
    let unknown = untrusted.ask(
        "mcpServer/tool/call",
        json!({ "server": "orchestrate", "threadId": thread, "tool": "task_list" }),
    );
    assert!(unknown["error"]["message"].as_str().unwrap_or("").contains("unknown MCP server"), "{unknown}");
    drop(untrusted);

    // Trusted as `integrate codex` says: the main repository, which the worktree shares.
    let trust = format!(
        "[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        repo.path().canonicalize().unwrap().display()
    );
    std::fs::write(codex_home.join("config.toml"), trust).unwrap();
    assert_eq!(
        repo.json(&["integrate", "codex"])["trust"]["project"],
        true,
        "integrate reads that trust back"
    );

    let mut codex = AppServer::start(&repo, &worktree, &codex_home);
    let thread = codex.start_thread(&worktree);
    let status = codex.server_started(&thread);
    assert_eq!(status["status"], "ready", "Codex started our server in the worktree: {status}");
    let listed =
        codex.ask("mcpServerStatus/list", json!({ "threadId": thread, "serverName": "orchestrate" }));
    let server = &listed["result"]["data"][0];
    assert_eq!(server["serverInfo"]["name"], "git-orchestrate", "{listed}");
    for tool in ["task_list", "claim", "release", "inbox"] {
        assert_eq!(
            server["tools"][tool]["outputSchema"]["type"], "object",
            "{tool} as Codex sees it: {server}"
        );
    }

    // Every tool that answers a list, through Codex's client, acting as the worktree's session.
    let tasks = codex.call(&thread, "task_list", json!({}));
    assert_eq!(common::strings(&tasks["tasks"], "id"), std::slice::from_ref(&task));
    let peeked = codex.call(&thread, "inbox", json!({ "peek": true }));
    assert_eq!(common::strings(&peeked["messages"], "subject"), ["src/ is yours today"]);
    let claimed = codex.call(&thread, "claim", json!({ "paths": ["src/"] }));
    assert_eq!(
        (&claimed["claims"][0]["path"], &claimed["claims"][0]["session"]),
        (&json!("src/"), &json!("ann"))
    );
    let released = codex.call(&thread, "release", json!({ "all": true }));
    assert_eq!(common::strings(&released["released"], "path"), ["src/"]);
    let read = codex.call(&thread, "inbox", json!({}));
    assert_eq!(common::strings(&read["messages"], "subject"), ["src/ is yours today"]);
    assert_eq!(codex.call(&thread, "task_claim", json!({ "next": true }))["id"], task.as_str());
    drop(codex);

    assert_eq!(repo.json(&["task", "show", &task])["assignee"], "ann");
    assert_eq!(repo.json(&["claims"]), json!([]));
    assert_eq!(repo.json_as("ann", &["inbox"]), json!([]), "the second inbox call read the message");
}
