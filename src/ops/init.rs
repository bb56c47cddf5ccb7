//! `init`: set up the coordination state of a repository (the format
//! marker), idempotently. Every other write sets it up on first use too;
//! this is for a human who wants it there before any agent starts.

use super::{Context, Result};
pub use crate::store::Initialised;

impl Context {
    /// Creates the format marker if it is missing, and says what is there.
    pub fn init(&self) -> Result<Initialised> {
        Ok(self.store.init(self.now())?)
    }
}
