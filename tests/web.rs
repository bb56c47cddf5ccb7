//! `board --serve`: the live web board, driven in a real headless Chromium
//! through chromedriver's WebDriver HTTP API, and its HTTP API checked
//! directly (the same document as `board --json`, writes refused without
//! `--allow-actions` and without the token).
//!
//! The browser test needs Debian's `chromium` and `chromium-driver`
//! (`.ci/run` installs them); without them it fails and says so.

mod common;

use common::{Repo, BIN};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one wait in these tests may last before it fails.
const WAIT: Duration = Duration::from_secs(20);
const XSS_TITLE: &str = "<img src=x onerror=alert(1)>";

/// A `board --serve` running in the background, stopped on drop.
struct Server {
    child: Child,
    url: String,
    base: String,
    token: Option<String>,
}

impl Server {
    fn start(repo: &Repo, extra: &[&str]) -> Server {
        let mut cmd = repo.command(BIN);
        cmd.args(["--json", "board", "--serve", "--port", "0"]).args(extra);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let at: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("board --serve --json said {line:?}, not JSON ({e})"));
        let url = at["url"].as_str().unwrap().to_string();
        let addr = at["addr"].as_str().unwrap();
        if !extra.contains(&"--bind") {
            assert!(addr.starts_with("127.0.0.1:"), "serves on loopback by default: {addr}");
        }
        Server { child, base: format!("http://{addr}"), url, token: at["token"].as_str().map(str::to_string) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `(status, body)` of a GET.
fn get(url: &str) -> (u16, String) {
    let mut response = agent().get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

/// `(status, body as JSON)` of a POST of `body`, with this bearer token.
fn post(url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = agent().post(url).header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(body.to_string()).unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let text = response.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url} answered {text:?} ({e})"));
    (response.status().as_u16(), value)
}

/// Polls `check` until it gives a value or [`WAIT`] passes.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "gave up after {WAIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------ the browser

/// The first of `names` found on PATH or in the usual Debian places.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> =
        std::env::split_paths(&path).chain(["/usr/bin", "/usr/lib/chromium"].map(PathBuf::from)).collect();
    names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n))).find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver and one headless Chromium session on it, both ended on drop.
struct Browser {
    driver: Child,
    endpoint: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        common::ensure_program("chromium", &["chromium", "chromium-driver"]);
        common::ensure_program("chromedriver", &["chromium", "chromium-driver"]);
        let missing = "the web board test needs headless Chromium and its WebDriver: \
                       `apt-get install chromium chromium-driver` (Debian; .ci/run installs them)";
        let chromium = find_program(&["chromium", "chromium-browser"]).unwrap_or_else(|| panic!("{missing}"));
        let chromedriver = find_program(&["chromedriver"]).unwrap_or_else(|| panic!("{missing}"));
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut browser =
            Browser { driver, endpoint, session: String::new(), _profile: tempfile::tempdir().unwrap() };
        wait_for("chromedriver to be ready", || {
            let response = agent().get(&format!("{}/status", browser.endpoint)).call().ok()?;
            let status: Value = serde_json::from_str(&response.into_body().read_to_string().ok()?).ok()?;
            status["value"]["ready"].as_bool().filter(|r| *r)
        });
        let profile = format!("--user-data-dir={}", browser._profile.path().display());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1440,1000",
            profile.as_str(),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "eager",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session =
            created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).into();
        browser
    }

    /// One WebDriver command; returns its `value`, panicking on an error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.try_call(method, path, body);
        assert!(status < 400, "WebDriver {method} {path}: {status} {value}");
        value
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.endpoint);
        let agent = agent();
        let response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, body) => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        let reply: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("WebDriver said {text:?} ({e})"));
        (response.status().as_u16(), reply["value"].clone())
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, url: &str) {
        self.call("POST", &self.session_path("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    fn run(&self, script: &str) -> Value {
        self.call("POST", &self.session_path("/execute/sync"), Some(json!({ "script": script, "args": [] })))
    }

    fn wait_for_script(&self, what: &str, script: &str) {
        wait_for(what, || self.run(script).as_bool().filter(|ok| *ok));
    }

    /// The text of an open alert dialog, if a script raised one.
    fn alert(&self) -> Option<String> {
        let (status, value) = self.try_call("GET", &self.session_path("/alert/text"), None);
        (status < 400).then(|| value.as_str().unwrap_or_default().to_string())
    }

    fn screenshot(&self, to: &Path) {
        let encoded = self.call("GET", &self.session_path("/screenshot"), None);
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap()).unwrap();
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &self.session_path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A repository with a few sessions, tasks in every column and messages.
fn populated() -> (Repo, String) {
    let repo = Repo::new();
    repo.ok(&["init"]);
    repo.ok(&["session", "start", "alice", "--role", "backend", "--no-worktree"]);
    repo.ok(&["session", "start", "bob", "--role", "frontend", "--no-worktree"]);
    let schema = repo.add("Design the schema", &["-p", "0", "--role", "backend"]);
    repo.add("Wire the UI to the API", &["--after", &schema, "--role", "frontend"]);
    repo.add("Write the API docs", &["-p", "3"]);
    let xss = repo.add(XSS_TITLE, &["-p", "1"]);
    let done = repo.add("Set up CI", &["-p", "2"]);
    repo.ok_as("bob", &["task", "claim", &done]);
    repo.ok_as("bob", &["task", "done", &done]);
    repo.ok_as("alice", &["task", "claim", &schema]);
    repo.ok_as("alice", &["task", "note", &schema, "tables drafted", "--progress", "40"]);
    repo.ok_as("alice", &["heartbeat", "--doing", "drafting tables", "--progress", "40"]);
    repo.ok_as("alice", &["claim", "src/db/", "--reason", "schema work"]);
    repo.ok_as(
        "bob",
        &["send", "alice", "blocked on the schema", "which table holds users?", "--kind", "help"],
    );
    repo.ok_as("alice", &["send", "all", "<b>schema</b> draft pushed"]);
    (repo, xss)
}

#[test]
fn the_page_renders_the_board_updates_live_and_shows_agent_text_as_text() {
    let (repo, xss) = populated();
    let server = Server::start(&repo, &[]);
    let browser = Browser::start();
    browser.open(&server.url);

    // It renders the board: sessions, tasks in their columns, messages.
    browser.wait_for_script(
        "the board to render",
        &format!("return !!document.querySelector('[data-task-id=\"{xss}\"]')"),
    );
    let shown = browser.run(
        "const text = s => [...document.querySelectorAll(s)].map(e => e.textContent);
         return { sessions: [...document.querySelectorAll('[data-session]')].map(e => e.dataset.session),
                  claimed: text('[data-column=claimed] .title'), done: text('[data-column=done] .title'),
                  waiting: text('[data-column=waiting] .title'), pinned: text('#pinned .subject'),
                  messages: text('#messages .subject'), live: document.getElementById('live').textContent }",
    );
    assert_eq!(shown["sessions"], json!(["alice", "bob"]), "{shown}");
    assert_eq!(shown["claimed"], json!(["Design the schema"]), "{shown}");
    assert_eq!(shown["done"], json!(["Set up CI"]), "{shown}");
    assert_eq!(shown["waiting"], json!(["Wire the UI to the API"]), "{shown}");
    assert_eq!(shown["pinned"], json!(["blocked on the schema"]), "the unread help is pinned: {shown}");
    assert_eq!(shown["messages"], json!(["<b>schema</b> draft pushed"]), "{shown}");
    assert_eq!(shown["live"], json!("live"), "{shown}");

    // Agent-written text is text: the title reads literally, no element
    // was made from it, and no script ran.
    let title =
        browser.run(&format!("return document.querySelector('[data-task-id=\"{xss}\"] .title').textContent"));
    assert_eq!(title, json!(XSS_TITLE));
    assert_eq!(
        browser.run("return document.querySelectorAll('img').length"),
        json!(0),
        "an <img> was injected"
    );
    assert_eq!(browser.alert(), None, "a script from a task title ran");

    // A task added from the command line appears without a reload: the
    // marker set in this page load survives.
    browser.run("window.__sameLoad = 'yes'; return true");
    let added = repo.add("Added after the page loaded", &["--role", "backend"]);
    browser.wait_for_script(
        "the new task to appear",
        &format!("return !!document.querySelector('[data-column=ready] [data-task-id=\"{added}\"]')"),
    );
    assert_eq!(browser.run("return window.__sameLoad"), json!("yes"), "the page was reloaded");
    assert_eq!(browser.alert(), None);

    if let Some(to) = std::env::var_os("WEB_SCREENSHOT") {
        browser.screenshot(Path::new(&to));
    }
}

#[test]
fn api_board_is_the_document_board_json_prints() {
    let (repo, _) = populated();
    let server = Server::start(&repo, &[]);
    let (status, body) = get(&format!("{}/api/board", server.base));
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).unwrap();
    let mut printed = repo.json(&["board"]);
    // The two were made at different instants; everything else is equal.
    printed["generated_at"] = served["generated_at"].clone();
    assert_eq!(served, printed);
}

#[test]
fn a_read_only_board_refuses_every_write() {
    let (repo, _) = populated();
    let server = Server::start(&repo, &[]);
    assert_eq!(server.token, None);
    assert!(!server.url.contains("token"), "{}", server.url);
    let before = repo.refs();
    for action in ["send", "release-claims", "stop", "retry", "pause"] {
        let body = json!({"to": "alice", "subject": "hi", "session": "alice", "agent": "alice"});
        let (status, reply) = post(&format!("{}/api/actions/{action}", server.base), Some("guess"), &body);
        assert_eq!(status, 403, "{action}: {reply}");
        assert!(reply["error"]["message"].as_str().unwrap().contains("--allow-actions"), "{reply}");
    }
    assert_eq!(repo.refs(), before, "a refused write changed the store");
}

#[test]
fn actions_need_the_printed_token() {
    let (repo, _) = populated();
    let server = Server::start(&repo, &["--allow-actions"]);
    let token = server.token.clone().expect("a token is printed with --allow-actions");
    assert!(server.url.ends_with(&format!("#token={token}")), "{}", server.url);
    let send = format!("{}/api/actions/send", server.base);
    let message = json!({"to": "alice", "subject": "please rebase", "kind": "note"});
    let before = repo.refs();

    for wrong in [None, Some("0".repeat(token.len())), Some(format!("{token}x"))] {
        let (status, reply) = post(&send, wrong.as_deref(), &message);
        assert_eq!(status, 401, "{wrong:?}: {reply}");
    }
    assert_eq!(repo.refs(), before, "a write without the token changed the store");

    // With the token, the message goes out as `human`.
    let (status, reply) = post(&send, Some(&token), &message);
    assert_eq!(status, 200, "{reply}");
    let inbox = repo.json_as("alice", &["inbox", "--peek"]);
    let sent: Vec<&Value> =
        inbox.as_array().unwrap().iter().filter(|m| m["subject"] == "please rebase").collect();
    assert_eq!(sent.len(), 1, "{inbox}");
    assert_eq!(sent[0]["from"], "human");

    // Bad input is refused with the reason; a live session keeps its claims.
    let (status, reply) = post(&send, Some(&token), &json!({"to": "alice"}));
    assert_eq!(status, 400, "{reply}");
    let release = format!("{}/api/actions/release-claims", server.base);
    let (status, reply) = post(&release, Some(&token), &json!({"session": "alice"}));
    assert_eq!(status, 409, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("alice is live"), "{reply}");
    assert_eq!(repo.json(&["claims"]).as_array().unwrap().len(), 1);
    let (status, reply) = post(&format!("{}/api/actions/launch", server.base), Some(&token), &json!({}));
    assert_eq!(status, 400, "{reply}");
}

#[test]
fn a_failed_task_is_retried_and_dispatch_paused_from_the_page() {
    let (repo, _) = populated();
    let failed = repo.add("Flaky migration", &[]);
    repo.ok_as("bob", &["task", "claim", &failed]);
    repo.ok_as("bob", &["task", "fail", &failed, "--note", "timed out"]);
    let server = Server::start(&repo, &["--allow-actions"]);
    let token = server.token.clone().unwrap();
    let action = |name: &str| format!("{}/api/actions/{name}", server.base);

    let (status, reply) = post(&action("retry"), Some(&token), &json!({"task": failed}));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(repo.json(&["task", "show", &failed])["status"], "open");
    // A done task is not retried: refused, with the reason.
    let done = repo.json(&["task", "list", "--status", "done"])[0]["id"].as_str().unwrap().to_string();
    let (status, reply) = post(&action("retry"), Some(&token), &json!({"task": done}));
    assert_eq!(status, 409, "{reply}");

    let (status, reply) = post(&action("pause"), Some(&token), &json!({}));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["by"], "human", "{reply}");
    let view = || -> Value { serde_json::from_str(&get(&format!("{}/api/view", server.base)).1).unwrap() };
    let paused = wait_for("the page document to say dispatch is paused", || {
        Some(view()).filter(|v| v["dispatch_hold"].is_object())
    });
    assert_eq!(paused["dispatch_hold"]["mode"], "pause");
    let (status, reply) = post(&action("resume"), Some(&token), &json!({}));
    assert_eq!(status, 200, "{reply}");
    wait_for("the page document to say dispatch is not held", || {
        view()["dispatch_hold"].is_null().then_some(())
    });
}

#[test]
fn an_agent_can_be_stopped_from_the_page() {
    let repo = Repo::new();
    repo.ok(&["init"]);
    repo.ok(&["spawn", "worker", "--", "sleep", "60"]);
    let server = Server::start(&repo, &["--allow-actions"]);
    let token = server.token.clone().unwrap();
    let (status, reply) =
        post(&format!("{}/api/actions/stop", server.base), Some(&token), &json!({"agent": "worker"}));
    assert_eq!(status, 200, "{reply}");
    let ps = repo.json(&["ps"]);
    assert_eq!(ps[0]["session"], "worker", "{ps}");
    assert_eq!(ps[0]["state"], "stopped", "{ps}");
}

#[test]
fn every_open_stream_gets_each_change() {
    let (repo, _) = populated();
    let server = Server::start(&repo, &[]);
    let total = |view: &Value| view["board"]["tasks"]["total"].as_u64().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    const STREAMS: usize = 20;
    for stream in 0..STREAMS {
        let response = agent().get(&format!("{}/api/events", server.base)).call().unwrap();
        let send = send.clone();
        std::thread::spawn(move || {
            let lines = BufReader::new(response.into_body().into_reader()).lines();
            for line in lines.map_while(Result::ok) {
                if let Some(data) = line.strip_prefix("data: ") {
                    let view: Value = serde_json::from_str(data).unwrap();
                    if send.send((stream, view)).is_err() {
                        return;
                    }
                }
            }
        });
    }
    // Each stream starts with the current view, then follows the writes.
    let mut first = vec![None; STREAMS];
    while first.iter().any(Option::is_none) {
        let (stream, view) = receive.recv_timeout(WAIT).expect("every stream's first view");
        first[stream].get_or_insert(total(&view));
    }
    let before = first[0].unwrap();
    assert!(first.iter().all(|t| *t == Some(before)), "{first:?}");
    repo.add("One more", &[]);
    let mut seen = [false; STREAMS];
    while seen.iter().any(|s| !s) {
        let (stream, view) = receive.recv_timeout(WAIT).expect("every stream to see the write");
        seen[stream] |= total(&view) == before + 1;
    }
}

#[test]
fn a_stale_sessions_claims_can_be_released_from_the_page() {
    let (repo, _) = populated();
    repo.git(&["config", "orchestrate.staleAfter", "1s"]);
    let server = Server::start(&repo, &["--allow-actions"]);
    let token = server.token.clone().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (status, reply) = post(
        &format!("{}/api/actions/release-claims", server.base),
        Some(&token),
        &json!({"session": "alice"}),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["released"], 1);
    assert_eq!(repo.json(&["claims"]), json!([]));
}

#[test]
fn a_request_naming_another_host_is_refused() {
    let (repo, _) = populated();
    let server = Server::start(&repo, &[]);
    let addr = server.base.trim_start_matches("http://");
    let ask = |host: &str| {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(stream, "GET /api/board HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply.lines().next().unwrap_or_default().to_string()
    };
    assert!(ask("attacker.example:80").contains(" 421 "));
    assert!(ask(addr).contains(" 200 "));

    // Another loopback address, named as the printed URL names it.
    let other = Server::start(&repo, &["--bind", "127.0.0.2"]);
    let addr = other.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(stream, "GET /api/board HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
}

#[test]
fn serve_flags_are_checked_before_anything_listens() {
    let repo = Repo::new();
    repo.ok(&["init"]);
    for args in [
        vec!["board", "--port", "8080"],
        vec!["board", "--allow-actions"],
        vec!["board", "--serve", "--watch"],
        vec!["board", "--serve", "--port", "http"],
        vec!["board", "--serve", "--bind", "localhost:80"],
    ] {
        let run = repo.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
    }
}

/// Runs git in `dir` (a session's worktree) with the sandboxed config.
fn git_in(repo: &Repo, dir: &Path, args: &[&str]) {
    let out = repo.command("git").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_page_shows_the_conflict_radar_and_the_landing_queue() {
    let repo = Repo::new();
    repo.ok(&["init"]);
    for (name, line) in [("alice", "alice's line\n"), ("bob", "bob's line\n")] {
        let started = repo.json(&["session", "start", name]);
        let dir = PathBuf::from(started["worktree"].as_str().unwrap());
        std::fs::write(dir.join("README"), line).unwrap();
        git_in(&repo, &dir, &["commit", "-q", "-am", &format!("{name} rewrites README")]);
    }
    repo.ok(&["land", "--queue", "alice"]);
    let server = Server::start(&repo, &[]);
    let browser = Browser::start();
    browser.open(&server.url);
    browser.wait_for_script(
        "the radar and the queue to render",
        "return !!document.querySelector('[data-section=conflicts] .radar.conflict') \
         && !!document.querySelector('[data-section=queue] .chip.queued')",
    );
    let shown = browser.run(
        "const text = s => [...document.querySelectorAll(s)].map(e => e.textContent);
         return { radar: text('[data-section=conflicts] .radar.conflict'),
                  queue: text('[data-section=queue] li'),
                  alice: text('[data-session=alice] .chip'), bob: text('[data-session=bob] .chip') }",
    );
    let radar = shown["radar"].to_string();
    assert!(radar.contains("alice") && radar.contains("bob") && radar.contains("README"), "{shown}");
    assert!(shown["queue"].to_string().contains("alice"), "{shown}");
    let chips = |who: &str| {
        shown[who].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert!(chips("alice").contains(&"conflicting".to_string()), "{shown}");
    assert!(chips("alice").iter().any(|c| c.starts_with("queued")), "{shown}");
    assert!(chips("bob").contains(&"conflicting".to_string()), "{shown}");
    assert!(!chips("bob").iter().any(|c| c.starts_with("queued")), "{shown}");
}
