//! `git orchestrate board --serve`: the board as a live page in a browser
//! (the server itself is `crate::web`).

use super::{CmdResult, Failure, Ui};
use crate::ops::Context;
use crate::web::{self, Listening, ServeOptions, WebError};
use clap::Args;
use std::io::Write;
use std::net::IpAddr;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve the board as a live web page (on 127.0.0.1) until interrupted
    #[arg(long)]
    pub serve: bool,
    /// Port to listen on (default: any free port; the URL is printed)
    #[arg(long, value_name = "N", requires = "serve")]
    port: Option<u16>,
    /// Address to listen on instead of 127.0.0.1 (the board is then visible to others)
    #[arg(long, value_name = "ADDR", requires = "serve")]
    bind: Option<IpAddr>,
    /// Open the page in the default browser
    #[arg(long, requires = "serve")]
    open: bool,
    /// Accept actions from the page (message, retry, release, stop, pause), each with the printed token
    #[arg(long, requires = "serve")]
    allow_actions: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: ServeArgs) -> CmdResult {
    let bind = a.bind.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !bind.is_loopback() {
        ui.warn(&format!(
            "--bind {bind}: anyone who can reach this address can read the board{}",
            if a.allow_actions { ", and act with the token" } else { "" }
        ));
    }
    let opts = ServeOptions { bind, port: a.port.unwrap_or(0), allow_actions: a.allow_actions };
    let ready = |at: &Listening| {
        announce(ui, at);
        if a.open {
            open_browser(ui, &at.url);
        }
    };
    web::serve(ctx.git_dir().to_path_buf(), opts, ready).map_err(|e| match e {
        WebError::Ops(e) => e.into(),
        WebError::Bind { .. } => {
            Failure::Error(format!("{e}: pick another with --port N (0 for any free port)"))
        }
        other => Failure::Error(other.to_string()),
    })
}

/// Says where the board is: one line for people, one JSON value with `--json`.
fn announce(ui: &Ui, at: &Listening) {
    let mut out = std::io::stdout().lock();
    let line = if ui.json {
        serde_json::to_string(at).unwrap_or_default()
    } else if let Some(token) = &at.token {
        format!("board at {}\nactions allowed with token {token} (the link carries it); Ctrl-C stops", at.url)
    } else {
        format!("board at {} (read-only); Ctrl-C stops", at.url)
    };
    // The URL is what a script waits for: flush it now, not at exit.
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// Opens the page with the desktop's opener; failing that is only a warning.
fn open_browser(ui: &Ui, url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let started = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        // Reap it in the background so it leaves no zombie.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => ui.warn(&format!("--open: cannot run {opener} ({e}); open {url} yourself")),
    }
}
