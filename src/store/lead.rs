//! `refs/orchestrate/lead`: the lead lease, one document `lead.json`.
//!
//! Replaced by compare-and-swap, so of two sessions taking the lead at
//! once one wins; removed when it is released.

use super::collection::{Collection, Single};
use super::engine::Document;
use super::{refs, Store};
use crate::model::lead::Lead;

impl Document for Lead {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Single for Lead {
    const REF: &'static str = refs::LEAD;
    const PLACE: &'static str = "lead.json";
}

impl Store {
    /// The lead lease.
    pub fn lead(&self) -> Collection<'_, Lead> {
        self.collection()
    }
}
