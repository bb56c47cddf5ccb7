//! The real Gemini CLI (npm `@google/gemini-cli`) runs an agent in a session
//! worktree, offline and with no API key, and calls our tools through its
//! own MCP client: the one that wraps stdio servers in a compliance shim,
//! whose SDK rejected every list a tool answered with.
//!
//! Gemini CLI talks to a stand-in for the Gemini API on 127.0.0.1
//! (`tests/gemini_api_stub.js`, through `GOOGLE_GEMINI_BASE_URL`) whose
//! "model" asks for a scripted list of tool calls each turn. Everything
//! else is Gemini's own: it reads the settings `integrate gemini` wrote in
//! the worktree, applies its folder trust from the sandboxed HOME, starts
//! `git-orchestrate mcp`, offers our tools to the model, calls them through
//! its MCP client and sends what came back to the model, which logs it.
//!
//! The CLI is installed once with npm into the cargo target directory
//! (`target/gemini-cli-<version>`); later runs reuse it. If it cannot be
//! installed the test fails and says why.

mod common;

use common::Repo;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The version of Gemini CLI the test runs (the one issue 17 was found with).
const GEMINI_CLI: &str = "0.61.0";

/// Gemini CLI's entry point, installed on first use.
fn gemini_cli() -> &'static Path {
    static GEMINI: OnceLock<PathBuf> = OnceLock::new();
    GEMINI.get_or_init(|| {
        common::npm_installed(
            "gemini-cli",
            "@google/gemini-cli",
            GEMINI_CLI,
            "node_modules/@google/gemini-cli/bundle/gemini.js",
        )
    })
}

/// The stand-in Gemini API, serving `turns`; its log is read afterwards.
struct ApiStub {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ApiStub {
    fn start(dir: &Path, turns: &Value) -> ApiStub {
        let script = dir.join("turns.json");
        std::fs::write(&script, turns.to_string()).unwrap();
        let log = dir.join("api.jsonl");
        let stub = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gemini_api_stub.js");
        let mut child = Command::new("node")
            .arg(stub)
            .arg(&script)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("this test needs node on PATH: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.trim().parse().unwrap_or_else(|_| panic!("the API stub did not say its port: {line:?}"));
        ApiStub { child, port, log }
    }

    /// Each request that offered tools: the turn, the tools, the responses.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for ApiStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `gemini -p` in `dir` against the stub, with Gemini's state in the
/// sandboxed HOME and nothing of the developer's Gemini environment.
fn run_gemini(repo: &Repo, dir: &Path, api: &ApiStub) -> common::Run {
    let mut cmd = repo.command("node");
    cmd.arg(gemini_cli())
        .args(["-p", "Coordinate with the other agents.", "--yolo", "--output-format", "json"])
        .current_dir(dir)
        .env("GOOGLE_GEMINI_BASE_URL", format!("http://127.0.0.1:{}", api.port))
        .env("GEMINI_API_KEY", "offline-test")
        .env("GEMINI_CLI_SYSTEM_SETTINGS_PATH", repo.home().join("no-system-settings.json"))
        .env("NO_BROWSER", "true");
    for var in [
        "GEMINI_CLI_HOME",
        "GEMINI_CLI_TRUSTED_FOLDERS_PATH",
        "GEMINI_CLI_TRUST_WORKSPACE",
        "GEMINI_MODEL",
        "GEMINI_SANDBOX",
        "SANDBOX",
        "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_GCA",
        "GOOGLE_CLOUD_PROJECT",
        "CLOUD_SHELL",
    ] {
        cmd.env_remove(var);
    }
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A guard against a hang, not a timing check: a run takes seconds.
    let pid = child.id();
    let guard = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return false;
            }
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
        true
    });
    let out = child.wait_with_output().unwrap();
    let run = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    drop(guard);
    run
}

/// The JSON object a tool answered with, as the model received it: Gemini
/// CLI wraps the text in `<untrusted_context>` tags.
fn answered(responses: &[Value], tool: &str) -> Value {
    let name = format!("mcp_orchestrate_{tool}");
    let found = responses
        .iter()
        .find(|r| r["name"] == name.as_str())
        .unwrap_or_else(|| panic!("no response to {tool} reached the model: {responses:#?}"));
    let output = found["response"]["output"]
        .as_str()
        .unwrap_or_else(|| panic!("{tool} failed in Gemini CLI's MCP client: {found}"));
    let (start, end) = (output.find('{').unwrap(), output.rfind('}').unwrap());
    let value: Value = serde_json::from_str(&output[start..=end])
        .unwrap_or_else(|e| panic!("{tool} did not answer JSON ({e}): {output}"));
    assert!(value.is_object(), "{tool}: {value}");
    value
}

#[test]
fn gemini_cli_calls_every_list_tool_through_its_own_mcp_client_in_a_trusted_worktree() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.home().join(".gemini")).unwrap();
    // Gemini's own user settings: an API key login (pointed at the stub), and nothing sent anywhere else.
    std::fs::write(
        repo.home().join(".gemini/settings.json"),
        json!({
            "security": { "auth": { "selectedType": "gemini-api-key" } },
            "privacy": { "usageStatisticsEnabled": false },
            "telemetry": { "enabled": false },
            "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false }
        })
        .to_string(),
    )
    .unwrap();
    // The project's settings, committed so that every session worktree has them.
    repo.ok(&["integrate", "gemini"]);
    repo.git(&["add", ".gemini/settings.json"]);
    repo.git(&["commit", "-q", "-m", "Gemini CLI settings"]);
    let api_task = repo.add("Build the API", &["-p", "1"]);
    let docs_task = repo.add("Write the docs", &[]);
    let ann = repo.json(&["session", "start", "ann"]);
    let worktree = PathBuf::from(ann["worktree"].as_str().unwrap());
    repo.ok(&["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("bob", &["send", "ann", "src/ is yours today"]);

    let turns = json!([
        [
            { "tool": "task_list", "args": {} },
            { "tool": "inbox", "args": { "peek": true } },
            { "tool": "claim", "args": { "paths": ["src/"], "reason": "through gemini" } }
        ],
        [
            { "tool": "check", "args": { "paths": ["src/main.rs"] } },
            { "tool": "release", "args": { "paths": ["src/"] } },
            { "tool": "task_claim", "args": { "next": true } }
        ],
        [
            { "tool": "inbox", "args": {} },
            { "tool": "board", "args": {} }
        ]
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let api = ApiStub::start(scratch.path(), &turns);

    // Without trust, Gemini CLI will not run in the worktree at all (and
    // `session start` said so): the negative control for what follows.
    let untrusted = run_gemini(&repo, &worktree, &api);
    assert_eq!(untrusted.code, 55, "{untrusted:?}");
    assert!(untrusted.stderr.contains("not running in a trusted directory"), "{}", untrusted.stderr);
    assert!(api.requests().is_empty(), "nothing reached the model");

    repo.ok(&["integrate", "gemini", "--trust-worktrees"]);
    let run = run_gemini(&repo, &worktree, &api);
    assert_eq!(run.code, 0, "gemini failed:\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["response"], "done", "the scripted model saw all its turns");

    let requests = api.requests();
    let turn = |n: usize| -> Vec<Value> {
        let request = requests
            .iter()
            .find(|r| r["turn"] == n)
            .unwrap_or_else(|| panic!("no request of turn {n}: {requests:#?}"));
        request["responses"].as_array().unwrap().clone()
    };
    let offered: Vec<&str> =
        requests[0]["offered"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for tool in ["task_list", "inbox", "claim", "release", "check", "task_claim", "board"] {
        assert!(offered.contains(&format!("mcp_orchestrate_{tool}").as_str()), "{tool} offered: {offered:?}");
    }

    // Every list a tool answers with reached the model as an object.
    let first = turn(1);
    let listed = answered(&first, "task_list");
    assert_eq!(common::strings(&listed["tasks"], "id"), [api_task.clone(), docs_task.clone()]);
    let peeked = answered(&first, "inbox");
    assert_eq!(common::strings(&peeked["messages"], "subject"), ["src/ is yours today"]);
    let claimed = answered(&first, "claim");
    assert_eq!(
        (&claimed["claims"][0]["path"], &claimed["claims"][0]["session"]),
        (&json!("src/"), &json!("ann")),
        "the server Gemini started in the worktree acts as its session"
    );
    let second = turn(2);
    assert_eq!(answered(&second, "check")["free"], true, "ann's own claim leaves the path free for her");
    assert_eq!(common::strings(&answered(&second, "release")["released"], "path"), ["src/"]);
    assert_eq!(answered(&second, "task_claim")["id"], api_task.as_str());
    let third = turn(3);
    assert_eq!(common::strings(&answered(&third, "inbox")["messages"], "subject"), ["src/ is yours today"]);
    assert_eq!(answered(&third, "board")["in_progress"][0]["id"], api_task.as_str());

    // And the calls did what they said, as the CLI sees it.
    assert_eq!(repo.json(&["task", "show", &api_task])["assignee"], "ann");
    assert_eq!(repo.json(&["claims"]), json!([]));
    assert_eq!(repo.json_as("ann", &["inbox"]), json!([]), "the second inbox call read the message");
}
