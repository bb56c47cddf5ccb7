//! Messages between sessions: direct, broadcast (`all`) or to a role.
//!
//! A message is stored once, in the mailbox of its recipient: a session's
//! own box, `all`, or `role.<role>`. Subjects and bodies are kept as the
//! sender wrote them (an agent may paste tool output); anything that shows
//! them escapes control characters.

use super::names::{escape_control, validate_name, validate_session_name};
use super::time::Timestamp;
use super::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_SUBJECT_CHARS: usize = 200;
/// The human's mailbox: anyone may send to `human` (no session needed),
/// and the human reads it with `--session human inbox`.
pub const HUMAN: &str = "human";
/// Bodies larger than this are refused: messages are for coordination,
/// files belong in the repository.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Note,
    Help,
    Handoff,
    Status,
    Completion,
}

impl MessageKind {
    pub const ALL: [MessageKind; 5] = [
        MessageKind::Note,
        MessageKind::Help,
        MessageKind::Handoff,
        MessageKind::Status,
        MessageKind::Completion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Note => "note",
            MessageKind::Help => "help",
            MessageKind::Handoff => "handoff",
            MessageKind::Status => "status",
            MessageKind::Completion => "completion",
        }
    }

    pub fn parse(text: &str) -> Result<MessageKind, Invalid> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
            Invalid(format!(
                "unknown message kind '{}': use note, help, handoff, status or completion",
                escape_control(text)
            ))
        })
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Session(String),
    All,
    Role(String),
}

impl Recipient {
    /// Parses `<session>`, `all` or `role:<role>`.
    pub fn parse(text: &str) -> Result<Recipient, Invalid> {
        if text == "all" {
            return Ok(Recipient::All);
        }
        if let Some(role) = text.strip_prefix("role:") {
            validate_name("role", role)?;
            return Ok(Recipient::Role(role.to_string()));
        }
        validate_session_name(text)
            .map_err(|e| Invalid(format!("{e} (a recipient is a session name, `all`, or `role:<role>`)")))?;
        Ok(Recipient::Session(text.to_string()))
    }

    /// The mailbox that holds messages for this recipient: the session's
    /// name, `all`, or `role.<role>`.
    pub fn mailbox(&self) -> String {
        match self {
            Recipient::Session(name) => name.clone(),
            Recipient::All => "all".to_string(),
            Recipient::Role(role) => format!("role.{role}"),
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Session(name) => f.write_str(name),
            Recipient::All => f.write_str("all"),
            Recipient::Role(role) => write!(f, "role:{role}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub format: u32,
    /// `m-` and hex digits.
    pub id: String,
    pub from: String,
    /// As the sender wrote it: a session name, `all` or `role:<role>`.
    pub to: String,
    pub kind: MessageKind,
    pub subject: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    pub sent_at: Timestamp,
}

/// Checks a subject: not blank, one line, bounded. Other control
/// characters are kept and escaped when shown.
pub fn validate_subject(subject: &str) -> Result<(), Invalid> {
    if subject.trim().is_empty() {
        return Err(Invalid::new("the subject is empty: say what the message is about"));
    }
    if subject.contains(['\n', '\r']) {
        return Err(Invalid::new("the subject must be one line: put the rest in the body"));
    }
    let count = subject.chars().count();
    if count > MAX_SUBJECT_CHARS {
        return Err(Invalid(format!("the subject is {count} characters; the limit is {MAX_SUBJECT_CHARS}")));
    }
    Ok(())
}

pub fn validate_body(body: &str) -> Result<(), Invalid> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Invalid(format!(
            "the body is {} bytes; the limit is {MAX_BODY_BYTES}: commit large content to the repository and send its path",
            body.len()
        )));
    }
    Ok(())
}

/// Checks a message id given with `--reply-to`.
pub fn validate_message_id(id: &str) -> Result<(), Invalid> {
    let hex = id.strip_prefix("m-").unwrap_or("");
    if hex.len() < 4
        || hex.len() > 32
        || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Invalid(format!(
            "'{}' is not a message id: ids look like m-3f9a1c2e (see `git orchestrate inbox --all`)",
            escape_control(id)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_name_a_mailbox() {
        assert_eq!(Recipient::parse("alice").unwrap().mailbox(), "alice");
        assert_eq!(Recipient::parse("all").unwrap().mailbox(), "all");
        assert_eq!(Recipient::parse("role:review").unwrap().mailbox(), "role.review");
        for bad in ["", "../x", "role:", "role:../x", "a/b", "Alice", "role.x"] {
            assert!(Recipient::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subjects_are_one_bounded_line_and_bodies_are_bounded() {
        assert!(validate_subject("build is red").is_ok());
        assert!(validate_subject("colour \u{1b}[31m kept, escaped on display").is_ok());
        assert!(validate_subject(" ").is_err());
        assert!(validate_subject("a\nb").is_err());
        assert!(validate_subject(&"x".repeat(201)).is_err());
        assert!(validate_body(&"y".repeat(MAX_BODY_BYTES)).is_ok());
        assert!(validate_body(&"y".repeat(MAX_BODY_BYTES + 1)).is_err());
    }

    #[test]
    fn message_ids_are_m_and_hex() {
        assert!(validate_message_id("m-3f9a1c2e").is_ok());
        for bad in ["3f9a", "m-", "m-xyz1", "t-3f9a"] {
            assert!(validate_message_id(bad).is_err(), "{bad}");
        }
    }
}
