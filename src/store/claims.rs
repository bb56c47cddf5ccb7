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

/// The claims table as stored. Only its handle reads and writes it:
/// [`View::claims`] and [`Writes::save_claims`] are the way in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClaimsTable {
    format: u32,
    claims: Vec<Claim>,
}

impl Document for ClaimsTable {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Single for ClaimsTable {
    const REF: &'static str = refs::CLAIMS;
    const PLACE: &'static str = "claims.json";
}

impl View<'_, ClaimsTable> {
    /// Every claim on record (expired ones too, until a write sweeps them);
    /// none before the first claim. A corrupt table is an error that names
    /// it.
    pub fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        Ok(self.get_one()?.map(|table| table.claims).unwrap_or_default())
    }
}

impl Writes<ClaimsTable> {
    /// Replaces the whole table with `claims`.
    pub fn save_claims(&mut self, claims: Vec<Claim>) -> &mut Writes<ClaimsTable> {
        self.save(&ClaimsTable { format: FORMAT, claims })
    }
}

impl Store {
    /// The claims table.
    pub fn claims(&self) -> Collection<'_, ClaimsTable> {
        self.collection()
    }
}
