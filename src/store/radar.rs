//! `refs/orchestrate/radar`: which textual conflicts between sessions the
//! commit-time radar has announced, one document `announced.json`, so a
//! conflict is announced once and again only when it changes.

use super::collection::{Collection, Single};
use super::engine::Document;
use super::{refs, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The announced conflicts: `"<a>+<b>"` (session names sorted) to the
/// files the pair conflicts on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Announced {
    pub format: u32,
    pub pairs: BTreeMap<String, Vec<String>>,
}

impl Document for Announced {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Single for Announced {
    const REF: &'static str = refs::RADAR;
    const PLACE: &'static str = "announced.json";
}

impl Store {
    /// The radar's record of announced conflicts.
    pub fn radar(&self) -> Collection<'_, Announced> {
        self.collection()
    }
}
