//! `git orchestrate send` and `git orchestrate inbox`.

use super::output::{time, Style};
use super::{CmdResult, Failure, Ui};
use crate::model::names::{escape_control, escape_lines};
use crate::ops::messages::{InboxOptions, Outgoing, Received};
use crate::ops::Context;
use clap::Args;
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// A session name, `all`, or `role:<role>`
    to: String,
    /// One line saying what it is about
    subject: String,
    /// The message itself; `-` reads it from standard input
    body: Option<String>,
    /// note (default), help, handoff, status or completion
    #[arg(long, value_name = "K")]
    kind: Option<String>,
    /// The id of the message this answers
    #[arg(long, value_name = "ID")]
    reply_to: Option<String>,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Show messages already read too
    #[arg(long)]
    all: bool,
    /// Read without marking anything read
    #[arg(long)]
    peek: bool,
    /// Wait until something unread arrives (at most SECS; exit 1 if nothing does)
    #[arg(long, value_name = "SECS", num_args = 0..=1)]
    wait: Option<Option<u64>>,
}

pub fn send(ctx: &Context, ui: &Ui, a: SendArgs) -> CmdResult {
    let body = match a.body.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(crate::model::message::MAX_BODY_BYTES as u64 + 1)
                .read_to_string(&mut text)
                .map_err(|e| Failure::Invalid(format!("cannot read the body from standard input: {e}")))?;
            text
        }
        Some(text) => text.to_string(),
        None => String::new(),
    };
    let out = Outgoing { to: a.to, subject: a.subject, body, kind: a.kind, reply_to: a.reply_to };
    let message = ctx.send(&out)?;
    ui.emit(&message, || format!("{} sent to {}", message.id, message.to))
}

pub fn inbox(ctx: &Context, ui: &Ui, a: InboxArgs) -> CmdResult {
    let wait = a.wait.map(|secs| secs.map(Duration::from_secs));
    let received = ctx.inbox(&InboxOptions { all: a.all, peek: a.peek, wait })?;
    ui.emit(&received, || render(ui, &received, a.all))
}

fn render(ui: &Ui, received: &[Received], all: bool) -> String {
    if received.is_empty() {
        return if all { "no messages".to_string() } else { "no unread messages".to_string() };
    }
    let mut out = String::new();
    for r in received {
        let m = &r.message;
        let kind = match m.kind.as_str() {
            "help" | "handoff" => ui.paint(Style::Yellow, m.kind.as_str()),
            "completion" => ui.paint(Style::Green, m.kind.as_str()),
            k => k.to_string(),
        };
        let state = if r.read { ui.paint(Style::Dim, " (read)") } else { String::new() };
        out.push_str(&format!(
            "{}  {}  {} -> {}  [{kind}]  {}{state}\n",
            ui.paint(Style::Dim, &m.id),
            time(m.sent_at),
            escape_control(&m.from),
            m.to,
            ui.paint(Style::Bold, &escape_control(&m.subject)),
        ));
        if let Some(parent) = &m.reply_to {
            out.push_str(&format!("    in reply to {parent}\n"));
        }
        if !m.body.is_empty() {
            out.push_str(&escape_lines(&m.body, "    "));
        }
    }
    out
}
