//! Landing: how a session's work is integrated into its target branch, the
//! record a landing leaves on the session and its tasks, and the entries of
//! the landing queue (`refs/orchestrate/queue`).

use super::time::Timestamp;
use super::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a session's commits become part of the target branch. A target
/// that the branch already contains is fast-forwarded in every mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandMode {
    /// A merge commit with the target and the branch as parents.
    #[default]
    Merge,
    /// One commit on the target carrying the branch's changes and trailers.
    Squash,
    /// The branch's commits replayed on the target, authors kept.
    Rebase,
}

impl LandMode {
    pub const ALL: [LandMode; 3] = [LandMode::Merge, LandMode::Squash, LandMode::Rebase];

    pub fn as_str(self) -> &'static str {
        match self {
            LandMode::Merge => "merge",
            LandMode::Squash => "squash",
            LandMode::Rebase => "rebase",
        }
    }

    pub fn parse(text: &str) -> Result<LandMode, Invalid> {
        LandMode::ALL.into_iter().find(|m| m.as_str() == text).ok_or_else(|| {
            Invalid(format!(
                "unknown landing mode '{}': use merge, squash or rebase",
                super::names::escape_control(text)
            ))
        })
    }
}

impl fmt::Display for LandMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a landing did, recorded on the session and on the tasks it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landed {
    /// The target branch, without `refs/heads/`.
    pub into: String,
    /// The session branch head that was landed.
    pub head: String,
    /// The target's new tip: the merge or squash commit, the last replayed
    /// commit, or `head` itself for a fast-forward.
    pub commit: String,
    /// The target's tip before.
    pub previous: String,
    pub mode: LandMode,
    pub fast_forward: bool,
    pub by: String,
    pub at: Timestamp,
}

/// Where a queue entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Waiting for its turn.
    Queued,
    /// A lander is on it now.
    Landing,
    /// It could not land (conflict, failed check): kept with the reason,
    /// out of the way of the entries behind it, until it is queued again.
    SetAside,
}

impl QueueState {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Queued => "queued",
            QueueState::Landing => "landing",
            QueueState::SetAside => "set_aside",
        }
    }
}

/// The process landing an entry, so another lander can tell a lander that
/// died from one that is slow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lander {
    pub name: String,
    pub pid: u32,
    #[serde(default)]
    pub start: Option<u64>,
    pub host: String,
    pub since: Timestamp,
}

/// One entry of the landing queue, oldest first (`store.land_queue()` keeps them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub format: u32,
    /// Position in the queue; never reused.
    pub seq: u64,
    pub session: String,
    #[serde(default)]
    pub task: Option<String>,
    /// The branch and the head commit to land (the branch may move on).
    pub branch: String,
    pub head: String,
    pub into: String,
    pub mode: LandMode,
    pub queued_by: String,
    pub queued_at: Timestamp,
    pub state: QueueState,
    #[serde(default)]
    pub lander: Option<Lander>,
    /// Why it was set aside.
    #[serde(default)]
    pub reason: Option<String>,
}

impl QueueEntry {
    pub fn id(&self) -> String {
        format!("q-{}", self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name_and_refuse_anything_else() {
        for mode in LandMode::ALL {
            assert_eq!(LandMode::parse(mode.as_str()), Ok(mode));
        }
        assert!(LandMode::parse("ff").unwrap_err().0.contains("merge, squash or rebase"));
    }
}
