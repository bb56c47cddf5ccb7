//! The lead: the one session that coordinates the others (splits the work,
//! assigns it, hears of help requests, failures and completions). Its hold
//! is a lease that lives as long as the session does: renewed by any of
//! its activity (a heartbeat, any command), lost when it goes stale or
//! ends. Stored as one document, so taking it is one compare-and-swap.

use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The mailbox whose messages the lead reads: `role:lead`.
pub const LEAD_ROLE: &str = "lead";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub format: u32,
    /// The session that holds the lead.
    pub session: String,
    pub since: Timestamp,
    /// Who gave it the lead (itself, or a human with --force).
    pub by: String,
}
