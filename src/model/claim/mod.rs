//! Claims: leases on repository paths that sessions take so parallel agents
//! do not overwrite each other's files.
//!
//! This module owns the claim document ([`Claim`]) and its mode. The path
//! patterns a claim covers, what they match and when two of them overlap are
//! [`pattern`]'s, built on the glob matcher in [`glob`]. Whether a claim is
//! still live (its session not stale, not released) is decided by the caller.
//! `docs/claims.md` describes the rules for users.

mod glob;
mod pattern;

pub use pattern::{ClaimPattern, PatternKind, MAX_PATTERN_BYTES};

use super::ids::TaskId;
use super::names::{escape_control, validate_line, validate_session_name};
use super::time::Timestamp;
use super::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_REASON_CHARS: usize = 200;

/// An exclusive claim keeps other sessions' exclusive claims off the paths
/// it covers; a shared claim is a notice ("I am reading or working near
/// here") that never conflicts with anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimMode {
    Exclusive,
    Shared,
}

impl ClaimMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimMode::Exclusive => "exclusive",
            ClaimMode::Shared => "shared",
        }
    }

    pub fn parse(text: &str) -> Result<ClaimMode, Invalid> {
        match text {
            "exclusive" => Ok(ClaimMode::Exclusive),
            "shared" => Ok(ClaimMode::Shared),
            _ => Err(Invalid(format!(
                "unknown claim mode '{}': use exclusive or shared",
                escape_control(text)
            ))),
        }
    }
}

impl fmt::Display for ClaimMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session's lease on the paths a pattern covers, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub format: u32,
    pub path: ClaimPattern,
    pub session: String,
    pub mode: ClaimMode,
    #[serde(default)]
    pub reason: Option<String>,
    /// The task id the claim is for, if any.
    #[serde(default)]
    pub task: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When activity last extended the lease, if it has been.
    #[serde(default)]
    pub renewed_at: Option<Timestamp>,
}

impl Claim {
    /// The lease length the claim was taken with.
    pub fn ttl(&self) -> chrono::Duration {
        self.expires_at - self.renewed_at.unwrap_or(self.created_at)
    }

    /// Extends the lease by its own length from `now`.
    pub fn renew(&mut self, now: Timestamp) {
        let ttl = self.ttl();
        self.renewed_at = Some(now);
        self.expires_at = now + ttl;
    }

    /// Checks the fields a user or an agent supplied: the session name, the
    /// reason, the task id, and that the claim expires after it starts. The
    /// pattern was checked when it was parsed.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate_session_name(&self.session)?;
        if let Some(reason) = &self.reason {
            validate_line("claim reason", reason, MAX_REASON_CHARS)?;
        }
        if let Some(task) = &self.task {
            TaskId::try_from(task.clone())?;
        }
        if self.expires_at <= self.created_at {
            return Err(Invalid(format!(
                "the claim on '{}' would expire at {}, not after it starts at {}: give a positive duration",
                self.path,
                self.expires_at.to_rfc3339(),
                self.created_at.to_rfc3339()
            )));
        }
        Ok(())
    }

    /// The lease has run out: from `expires_at` on, the claim holds nothing.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Whether this claim covers a repository-relative file path.
    pub fn covers(&self, path: &str) -> bool {
        self.path.matches_path(path)
    }

    /// Two claims conflict when they belong to different sessions, both are
    /// exclusive, and their patterns overlap. Shared claims never conflict.
    /// Liveness (expiry, stale or ended sessions) is the caller's to check.
    pub fn conflicts_with(&self, other: &Claim) -> bool {
        self.session != other.session
            && self.mode == ClaimMode::Exclusive
            && other.mode == ClaimMode::Exclusive
            && self.path.overlaps(&other.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn claim(path: &str, session: &str, mode: ClaimMode) -> Claim {
        let now = at("2026-11-22T12:00:00Z");
        Claim {
            format: crate::model::FORMAT,
            path: ClaimPattern::parse(path).unwrap(),
            session: session.to_string(),
            mode,
            reason: None,
            task: None,
            created_at: now,
            expires_at: now + Duration::hours(1),
            renewed_at: None,
        }
    }

    #[test]
    fn claims_round_trip_through_json_with_snake_case_fields() {
        let mut c = claim("src/**/*.rs", "alice", ClaimMode::Exclusive);
        c.reason = Some("refactor".into());
        c.task = Some("t-3f9a".into());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(json["path"], "src/**/*.rs");
        assert_eq!(json["mode"], "exclusive");
        assert_eq!(json["created_at"], "2026-11-22T12:00:00Z");
        assert_eq!(json["expires_at"], "2026-11-22T13:00:00Z");
        let back: Claim = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert_eq!(serde_json::to_value(ClaimMode::Shared).unwrap(), "shared");
    }

    #[test]
    fn only_overlapping_exclusive_claims_of_different_sessions_conflict() {
        use ClaimMode::{Exclusive, Shared};
        let cases = [
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "bob", Exclusive), true),
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "alice", Exclusive), false),
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "bob", Shared), false),
            (claim("src/", "alice", Shared), claim("src/a.rs", "bob", Shared), false),
            (claim("src/", "alice", Exclusive), claim("docs/", "bob", Exclusive), false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(a.conflicts_with(&b), expected, "{a:?} vs {b:?}");
            assert_eq!(b.conflicts_with(&a), expected, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn a_claim_expires_at_its_expiry_time() {
        let c = claim("src/", "alice", ClaimMode::Exclusive);
        assert!(!c.is_expired(c.expires_at - Duration::milliseconds(1)));
        assert!(c.is_expired(c.expires_at));
        assert!(c.covers("src/main.rs"));
    }

    #[test]
    fn claims_are_validated() {
        assert!(claim("src/", "alice", ClaimMode::Exclusive).validate().is_ok());
        let mut bad = claim("src/", "Alice", ClaimMode::Exclusive);
        assert!(bad.validate().is_err());
        bad.session = "alice".into();
        bad.reason = Some("two\nlines".into());
        assert!(bad.validate().is_err());
        bad.reason = None;
        bad.task = Some("not-a-task".into());
        assert!(bad.validate().is_err());
        bad.task = None;
        bad.expires_at = bad.created_at;
        assert!(bad.validate().is_err());
        assert_eq!(ClaimMode::parse("shared"), Ok(ClaimMode::Shared));
        assert!(ClaimMode::parse("read").is_err());
    }
}
