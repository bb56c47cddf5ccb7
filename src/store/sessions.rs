//! `refs/orchestrate/sessions`: one document per session, `<name>.json`.
//!
//! A session is registered by compare-and-swap, so two agents starting one
//! name at once cannot both get it; its heartbeat, what it is doing and how
//! it ended are updates of its document.

use super::collection::{Collection, Stored};
use super::engine::Document;
use super::{refs, Store};
use crate::model::session::Session;

impl Document for Session {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Stored for Session {
    const REF: &'static str = refs::SESSIONS;

    type Key = str;

    fn place(name: &str) -> String {
        format!("{name}.json")
    }

    fn key(&self) -> &str {
        &self.name
    }
}

impl Store {
    /// The sessions collection.
    pub fn sessions(&self) -> Collection<'_, Session> {
        self.collection()
    }
}
