//! The pure data model: tasks, ids, names and time, with their validation rules.
//!
//! Nothing here does IO or knows about git. Every type serialises to the JSON
//! format described in `docs/data-model.md`: snake_case fields, RFC 3339 UTC
//! times, and a `"format"` number on every stored document.

pub mod claim;
pub mod ids;
pub mod land;
pub mod lead;
pub mod message;
pub mod names;
pub mod plan;
pub mod session;
pub mod task;
pub mod time;

/// The storage format this binary writes. A repository or document that
/// declares a newer format is refused for writing.
pub const FORMAT: u32 = 1;

/// A value that a user or an agent supplied was not acceptable.
///
/// The message names the value and says what would be accepted; it is shown
/// to the user as is, and the command exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }
}
