//! Path claims (filled in below once the claim model lands).

use super::{Context, Result};

impl Context {
    /// Releases every claim a session holds; returns how many.
    pub(crate) fn release_all_claims_of(&self, _session: &str) -> Result<usize> {
        Ok(0)
    }
}
