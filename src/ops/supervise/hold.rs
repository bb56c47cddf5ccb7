//! Holding dispatchers: `stop --all` pauses them (they let what runs
//! finish and start nothing new) and `dispatch --drain` drains them (they
//! let what runs finish, then exit). `dispatch --resume`, or a new
//! `dispatch`, lifts the hold.
//!
//! The hold is a small file beside the agents' folders
//! (`.git/orchestrate/agents/dispatch.hold`): dispatchers are processes on
//! this machine, like the agents they start, so this is local state too.

use super::super::{Context, Error, Result};
use crate::model::time::Timestamp;
use crate::supervise::AgentDir;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What dispatchers are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldMode {
    /// Start nothing new until resumed; keep watching.
    Pause,
    /// Start nothing new; exit once the agents started are over.
    Drain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub mode: HoldMode,
    pub by: String,
    pub at: Timestamp,
}

impl Context {
    fn hold_file(&self) -> PathBuf {
        AgentDir::root(self.store.common_dir()).join("dispatch.hold")
    }

    /// The hold on dispatchers, if any (an unreadable file counts as a
    /// pause: holding is the safe side).
    pub fn dispatch_hold(&self) -> Option<Hold> {
        let bytes = std::fs::read(self.hold_file()).ok()?;
        Some(serde_json::from_slice(&bytes).unwrap_or(Hold {
            mode: HoldMode::Pause,
            by: "unknown".into(),
            at: self.now(),
        }))
    }

    /// Puts every dispatcher of this repository on hold.
    pub fn hold_dispatchers(&self, mode: HoldMode) -> Result<Hold> {
        let hold = Hold { mode, by: self.actor(), at: self.now() };
        let path = self.hold_file();
        let failed = |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let bytes = serde_json::to_vec(&hold).map_err(|e| Error::failed(e.to_string()))?;
        std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, &path)).map_err(failed)?;
        Ok(hold)
    }

    /// Lifts the hold; returns the one there was.
    pub fn resume_dispatchers(&self) -> Result<Option<Hold>> {
        let hold = self.dispatch_hold();
        match std::fs::remove_file(self.hold_file()) {
            Ok(()) => Ok(hold),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::failed(format!("cannot remove {}: {e}", self.hold_file().display()))),
        }
    }
}
