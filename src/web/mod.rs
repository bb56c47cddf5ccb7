//! `board --serve`: the board as a live web page.
//!
//! One watcher thread looks at the heads of `refs/orchestrate/*` (and the
//! spawned agents' state files) every [`WATCH_INTERVAL`]; when anything
//! moved it rebuilds the page document once and publishes it on a
//! `tokio::sync::watch` channel. Every open page holds a server-sent event
//! stream fed from that channel, so a write reaches all of them within one
//! interval plus one rebuild, and a hundred tabs cost a hundred idle
//! sockets, not a hundred readers of the store. The browser never polls.
//!
//! The page, its script and its style are compiled into the binary: the
//! board works with no network. Everything an agent wrote reaches the page
//! as JSON and is put into the document with `textContent`; a strict
//! Content-Security-Policy forbids inline script besides.
//!
//! Writes exist only with `--allow-actions`, and each needs the token
//! printed with the URL (`Authorization: Bearer <token>`); see [`actions`].

mod actions;
pub mod view;

use crate::ops::{self, Context};
use crate::store::Store;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the watcher looks at the ref heads. Each look lists the refs
/// under `refs/orchestrate/` (a directory walk and `packed-refs`): cheap.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// A view is rebuilt at least this often, so that ages and staleness move
/// on a page even when nothing is written.
const REFRESH_EVERY: Duration = Duration::from_secs(15);

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Page and script only from this server; no inline script, no frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the web server: {0}")]
    Runtime(std::io::Error),
    #[error("the web server stopped: {0}")]
    Serve(std::io::Error),
    #[error("cannot make an action token: {0}")]
    Token(std::io::Error),
    #[error(transparent)]
    Ops(#[from] ops::Error),
}

/// How `board --serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: IpAddr,
    /// 0 for any free port.
    pub port: u16,
    pub allow_actions: bool,
}

/// Where the server listens, told to the caller before it serves.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listening {
    /// The page's address; with actions, the token rides in the fragment
    /// (never sent to the server in a request line, never in its logs).
    pub url: String,
    pub addr: SocketAddr,
    pub actions: bool,
    pub token: Option<String>,
}

/// A published view: the JSON texts every client gets.
#[derive(Debug)]
struct Published {
    board: String,
    page: String,
}

struct Shared {
    views: watch::Receiver<Arc<Published>>,
    token: Option<String>,
    repo: PathBuf,
    /// Host header values the server answers to (against DNS rebinding);
    /// empty when bound to a non-loopback address on purpose.
    hosts: Vec<String>,
}

/// Serves the board until the process is interrupted. `ready` is told the
/// address once the socket listens and the first view is built.
pub fn serve(repo: PathBuf, opts: ServeOptions, ready: impl FnOnce(&Listening)) -> Result<(), WebError> {
    let token = if opts.allow_actions { Some(new_token().map_err(WebError::Token)?) } else { None };
    let actions = view::Actions { enabled: opts.allow_actions };
    // The first view before listening: a broken store fails the command
    // at once instead of serving an error page.
    let mut closed = view::ClosedTasks::default();
    let first = build(&repo, &actions, &mut closed)?;
    let (publish, views) = watch::channel(Arc::new(first));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(WebError::Runtime)?;
    runtime.block_on(async move {
        let requested = SocketAddr::new(opts.bind, opts.port);
        let listener = tokio::net::TcpListener::bind(requested)
            .await
            .map_err(|source| WebError::Bind { addr: requested, source })?;
        let addr = listener.local_addr().map_err(WebError::Serve)?;
        // An event is one small write: send it at once, not after the
        // client's delayed acknowledgement of the one before (Nagle).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let hosts = if opts.bind.is_loopback() { allowed_hosts(addr) } else { Vec::new() };
        let url = match &token {
            Some(t) => format!("http://{addr}/#token={t}"),
            None => format!("http://{addr}/"),
        };
        let shared = Arc::new(Shared { views, token: token.clone(), repo: repo.clone(), hosts });
        spawn_watcher(repo, actions, closed, publish);
        ready(&Listening { url, addr, actions: opts.allow_actions, token });
        axum::serve(listener, router(shared)).await.map_err(WebError::Serve)
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }))
        .route("/api/board", get(board_json))
        .route("/api/view", get(page_json))
        .route("/api/events", get(events))
        .route("/api/actions/{action}", post(actions::handle))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), check_host))
        .with_state(shared)
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn json(body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/api/board`: the document `board --json` prints, as of the last change.
async fn board_json(State(shared): State<Arc<Shared>>) -> Response {
    json(shared.views.borrow().board.clone())
}

/// `/api/view`: the page document (the board and the detail beside it).
async fn page_json(State(shared): State<Arc<Shared>>) -> Response {
    json(shared.views.borrow().page.clone())
}

/// `/api/events`: the current page document at once, then each new one.
async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let mut views = shared.views.clone();
    views.mark_changed();
    let stream = futures_util::stream::unfold(views, |mut views| async move {
        views.changed().await.ok()?;
        let page = views.borrow_and_update().page.clone();
        Some((Ok(Event::default().event("view").data(page)), views))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Refuses requests that name another host: a page on another site that
/// points a name of its own at 127.0.0.1 must not read the board.
async fn check_host(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if shared.hosts.is_empty() {
        return next.run(request).await;
    }
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if shared.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return next.run(request).await;
    }
    let message = format!("this board answers to {} only, not to Host '{host}'", shared.hosts.join(", "));
    (StatusCode::MISDIRECTED_REQUEST, json(ops::error_json("refused", &message).to_string())).into_response()
}

/// The names a loopback listener is reached by: the address it is bound
/// to (as the printed URL has it) and the usual loopback names.
fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![addr.to_string()];
    for name in ["127.0.0.1", "localhost", "[::1]"].map(|h| format!("{h}:{port}")) {
        if !hosts.contains(&name) {
            hosts.push(name);
        }
    }
    hosts
}

/// 128 random bits from the kernel, as hex.
fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A context on a fresh handle of the repository, acting as `session`.
fn context(repo: &std::path::Path, session: Option<String>) -> Result<Context, ops::Error> {
    let store = Store::open(repo)?;
    Context::new(store, session)
}

fn build(
    repo: &std::path::Path,
    actions: &view::Actions,
    closed: &mut view::ClosedTasks,
) -> Result<Published, ops::Error> {
    let ctx = context(repo, None)?;
    let page = view::page_view(&ctx, actions, closed)?;
    Ok(Published { board: encode(&page.board)?, page: encode(&page)? })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, ops::Error> {
    serde_json::to_string(value).map_err(|e| ops::Error::failed(format!("cannot encode the board: {e}")))
}

/// What the watcher compares: every coordination ref head, and each
/// agent's state file and log length.
fn fingerprint(store: &Store) -> u64 {
    let mut hasher = DefaultHasher::new();
    match store.heads() {
        Ok(heads) => heads.hash(&mut hasher),
        Err(e) => e.to_string().hash(&mut hasher),
    }
    // The agents' folder itself: new agents, and the dispatchers' hold.
    if let Ok(entries) = std::fs::read_dir(crate::supervise::AgentDir::root(store.common_dir())) {
        let mut seen: Vec<_> = entries
            .flatten()
            .map(|e| (e.file_name(), e.metadata().ok().map(|m| (m.len(), m.modified().ok()))))
            .collect();
        seen.sort();
        seen.hash(&mut hasher);
    }
    for dir in crate::supervise::all(store.common_dir()) {
        for file in [dir.state_file(), dir.log_file()] {
            if let Ok(meta) = std::fs::metadata(&file) {
                (meta.len(), meta.modified().ok()).hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

/// The one watcher: looks every [`WATCH_INTERVAL`], rebuilds on a change
/// (or every [`REFRESH_EVERY`]), publishes to every client. A failed
/// rebuild keeps the last good view and is said once on stderr.
fn spawn_watcher(
    repo: PathBuf,
    actions: view::Actions,
    mut closed: view::ClosedTasks,
    publish: watch::Sender<Arc<Published>>,
) {
    std::thread::spawn(move || {
        let mut store = None;
        let mut last = None;
        let mut built_at = Instant::now();
        let mut last_error = None;
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            if store.is_none() {
                store = Store::open(&repo).ok();
            }
            let Some(handle) = &store else { continue };
            let now = fingerprint(handle);
            if last == Some(now) && built_at.elapsed() < REFRESH_EVERY {
                continue;
            }
            match build(&repo, &actions, &mut closed) {
                Ok(view) => {
                    last = Some(now);
                    built_at = Instant::now();
                    last_error = None;
                    if publish.send(Arc::new(view)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let message = e.message();
                    if last_error.as_ref() != Some(&message) {
                        eprintln!("warning: board --serve: cannot read the board: {message}");
                        last_error = Some(message);
                    }
                }
            }
        }
    });
}
