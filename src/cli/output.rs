//! Printing results: text for people, one JSON value for programs.
//!
//! A closed stdout (`git orchestrate task list | head -1`) is not an error.
//! Colour is used only on a terminal and never when `NO_COLOR` is set.

use super::{CmdResult, Failure};
use serde::Serialize;
use std::io::{IsTerminal, Write};

pub struct Ui {
    pub json: bool,
    pub color: bool,
}

impl Ui {
    pub fn new(json: bool) -> Ui {
        let color = !json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ui { json, color }
    }

    /// Prints `value` as JSON, or the text `render` makes.
    pub fn emit<T: Serialize>(&self, value: &T, render: impl FnOnce() -> String) -> CmdResult {
        if self.json {
            let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Error(e.to_string()))?;
            print(&text);
        } else {
            let text = render();
            if !text.is_empty() {
                print(text.trim_end_matches('\n'));
            }
        }
        Ok(())
    }

    pub fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    pub fn error(&self, kind: &str, message: &str) {
        eprintln!("error: {message}");
        if self.json {
            self.error_json_only(kind, message);
        }
    }

    /// A refusal: its message and `hint:` lines on stderr, and with
    /// `--json` the reason and its facts on stdout.
    pub fn refusal(&self, refusal: &crate::ops::Refusal, hints: &[String]) {
        eprintln!("error: {}", refusal.message);
        for hint in hints {
            eprintln!("hint: {hint}");
        }
        if self.json {
            print(&crate::ops::refusal_json(refusal, hints).to_string());
        }
    }

    /// The JSON half of an error, for errors already printed on stderr.
    pub fn error_json_only(&self, kind: &str, message: &str) {
        print(&crate::ops::error_json(kind, message).to_string());
    }

    /// Wraps text in an ANSI style when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Dim => "2",
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// A stored time as people read it: `2026-11-22 19:52:36Z`.
pub fn time(t: crate::model::time::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Dim,
    Bold,
    Green,
    Yellow,
    Red,
    Cyan,
}

/// Writes a line to stdout; a reader that went away ends output quietly.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
        // Broken pipe or closed stdout: nothing more to say to anyone.
    }
}
