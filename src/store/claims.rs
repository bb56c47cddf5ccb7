//! `refs/orchestrate/claims`: the whole live claims table, one document
//! `claims.json`.
//!
//! One document, so the overlap check of a new claim and its write are one
//! compare-and-swap: two live sessions can never both take overlapping
//! exclusive claims, whatever the timing.

use super::collection::{Collection, Single, View, Writes};
use super::engine::Document;
use super::{refs, Store, StoreError};
use crate::model::claim::Claim;
use crate::model::FORMAT;
use serde::{Deserialize, Serialize};

/// The claims table as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClaimsDoc {
    pub format: u32,
    pub claims: Vec<Claim>,
}

impl Document for ClaimsDoc {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Single for ClaimsDoc {
    const REF: &'static str = refs::CLAIMS;
    const PLACE: &'static str = "claims.json";
}

impl View<'_, ClaimsDoc> {
    /// Every claim on record (expired ones too, until a write sweeps them);
    /// none before the first claim. A corrupt table is an error that names
    /// it.
    pub fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        Ok(self.get_one()?.map(|table| table.claims).unwrap_or_default())
    }
}

impl Writes<ClaimsDoc> {
    /// Replaces the whole table with `claims`.
    pub fn save_claims(&mut self, claims: Vec<Claim>) -> &mut Writes<ClaimsDoc> {
        self.save(&ClaimsDoc { format: FORMAT, claims })
    }
}

impl Store {
    /// The claims table.
    pub fn claims(&self) -> Collection<'_, ClaimsDoc> {
        self.collection()
    }
}
