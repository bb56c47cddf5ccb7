//! `refs/orchestrate/lead`: the lead lease, one document `lead.json`.
//!
//! Replaced by compare-and-swap, so of two sessions taking the lead at
//! once one wins; removed when it is released.

use super::collection::{Collection, Single, Stored};
use super::engine::Document;
use super::{refs, Store};
use crate::model::lead::Lead;

impl Document for Lead {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Stored for Lead {
    const REF: &'static str = refs::LEAD;

    fn place(_: &str) -> String {
        "lead.json".to_string()
    }

    fn key(&self) -> &str {
        ""
    }
}

impl Single for Lead {}

impl Store {
    /// The lead lease.
    pub fn lead(&self) -> Collection<'_, Lead> {
        self.collection()
    }
}
