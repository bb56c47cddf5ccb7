//! Sessions: one per parallel agent, with a stable name, a role, what it is
//! doing, and a heartbeat. A session whose heartbeat is older than the stale
//! limit is *stale*: its claims stop blocking others and its tasks can be
//! taken over. Stale is computed, never stored.

use super::names::{validate_line, validate_name};
use super::time::Timestamp;
use super::Invalid;
use chrono::Duration;
use serde::{Deserialize, Serialize};

pub const MAX_DOING_CHARS: usize = 200;
pub const MAX_CAPABILITIES: usize = 32;

/// How old a heartbeat may get before the session counts as stale, unless
/// `orchestrate.staleAfter` says otherwise.
pub fn default_stale_after() -> Duration {
    Duration::minutes(15)
}

/// Commands refresh the acting session's heartbeat at most this often.
pub fn heartbeat_interval() -> Duration {
    Duration::seconds(30)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub format: u32,
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub status: SessionStatus,
    /// Absolute path of the session's worktree, if it has one.
    #[serde(default)]
    pub worktree: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    /// The branch the session's work lands on (`land`), without `refs/heads/`.
    /// Absent in documents written before sessions knew their target.
    #[serde(default)]
    pub into: Option<String>,
    /// The session's last landing: which branch head went where.
    #[serde(default)]
    pub landed: Option<super::land::Landed>,
    /// The machine the session runs on (its worktree and agents are there).
    #[serde(default)]
    pub host: Option<String>,
    /// The task the session is working on, if known.
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub doing: Option<String>,
    #[serde(default)]
    pub progress: Option<u8>,
    #[serde(default)]
    pub phase: Option<String>,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// Why an ended session's worktree was kept (its work is not landed
    /// yet); `session end` removes it once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree_kept: Option<String>,
}

impl Session {
    /// A session just started (or first seen) at `now`, without a worktree.
    pub fn new(name: &str, now: Timestamp) -> Session {
        Session {
            format: super::FORMAT,
            name: name.to_string(),
            role: None,
            capabilities: Vec::new(),
            status: SessionStatus::Active,
            worktree: None,
            branch: None,
            into: None,
            landed: None,
            host: None,
            task: None,
            doing: None,
            progress: None,
            phase: None,
            started_at: now,
            heartbeat_at: now,
            ended_at: None,
            worktree_kept: None,
        }
    }

    /// Active, but silent for longer than `stale_after`.
    pub fn is_stale(&self, now: Timestamp, stale_after: Duration) -> bool {
        self.status == SessionStatus::Active && now - self.heartbeat_at > stale_after
    }

    /// Active and heard from recently: its claims and tasks hold.
    pub fn is_live(&self, now: Timestamp, stale_after: Duration) -> bool {
        self.status == SessionStatus::Active && !self.is_stale(now, stale_after)
    }
}

/// What a heartbeat reports; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Pulse {
    pub doing: Option<String>,
    pub progress: Option<u8>,
    pub phase: Option<String>,
}

impl Pulse {
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(doing) = &self.doing {
            validate_line("--doing", doing, MAX_DOING_CHARS)?;
        }
        if let Some(p) = self.progress {
            super::task::validate_progress(p)?;
        }
        if let Some(phase) = &self.phase {
            validate_name("phase", phase)?;
        }
        Ok(())
    }

    /// The pulse as stored: the phase in lowercase (`BUILD` is `build`).
    pub fn normalized(&self) -> Pulse {
        Pulse { phase: self.phase.as_deref().map(super::names::folded), ..self.clone() }
    }

    /// What the pulse says, for the event log: "doing tests, 40%, phase build".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(doing) = &self.doing {
            parts.push(format!("doing {doing}"));
        }
        if let Some(p) = self.progress {
            parts.push(format!("{p}%"));
        }
        if let Some(phase) = &self.phase {
            parts.push(format!("phase {phase}"));
        }
        parts.join(", ")
    }

    pub fn is_empty(&self) -> bool {
        self.doing.is_none() && self.progress.is_none() && self.phase.is_none()
    }

    pub fn apply(&self, session: &mut Session) {
        if let Some(doing) = &self.doing {
            session.doing = Some(doing.clone());
        }
        if let Some(p) = self.progress {
            session.progress = Some(p);
        }
        if let Some(phase) = &self.phase {
            session.phase = Some(phase.clone());
        }
    }
}

pub fn validate_capabilities(caps: &[String]) -> Result<(), Invalid> {
    if caps.len() > MAX_CAPABILITIES {
        return Err(Invalid(format!("{} capabilities given; the limit is {MAX_CAPABILITIES}", caps.len())));
    }
    caps.iter().try_for_each(|c| validate_name("capability", c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(heartbeat: &str) -> Session {
        Session::new("alice", chrono::DateTime::parse_from_rfc3339(heartbeat).unwrap().to_utc())
    }

    #[test]
    fn a_session_is_stale_once_its_heartbeat_is_older_than_the_limit() {
        let s = session("2026-01-01T12:00:00Z");
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let limit = default_stale_after();
        assert!(s.is_live(at("2026-01-01T12:15:00Z"), limit));
        assert!(s.is_stale(at("2026-01-01T12:15:01Z"), limit));
        let mut ended = s.clone();
        ended.status = SessionStatus::Ended;
        assert!(!ended.is_stale(at("2027-01-01T00:00:00Z"), limit), "ended is not stale");
        assert!(!ended.is_live(at("2026-01-01T12:00:01Z"), limit));
    }

    #[test]
    fn pulses_are_validated_and_applied() {
        assert!(Pulse { progress: Some(101), ..Default::default() }.validate().is_err());
        assert!(Pulse { doing: Some("a\nb".into()), ..Default::default() }.validate().is_err());
        assert!(Pulse { phase: Some("Review Phase".into()), ..Default::default() }.validate().is_err());
        let mut s = session("2026-01-01T12:00:00Z");
        Pulse { doing: Some("tests".into()), progress: Some(40), phase: None }.apply(&mut s);
        assert_eq!((s.doing.as_deref(), s.progress), (Some("tests"), Some(40)));
    }
}
