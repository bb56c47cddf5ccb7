//! Task ids: `t-` followed by a short lowercase hex string.
//!
//! The hex part is a prefix of a random 128-bit value, so two machines never
//! need a shared counter. An id starts 4 hex digits long and is lengthened, one
//! digit at a time, while it collides with an existing id or prefix; since the
//! check runs inside the compare-and-swap update, concurrent writers cannot both
//! take the same id. On input, any unique prefix is accepted, with or without
//! the `t-`.

use super::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shortest hex part of a new id.
pub const MIN_HEX_LEN: usize = 4;
/// Longest hex part (a whole 128-bit value).
pub const MAX_HEX_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

impl TaskId {
    pub const PREFIX: &'static str = "t-";

    /// The id's hex digits, without `t-`.
    pub fn hex(&self) -> &str {
        &self.0[Self::PREFIX.len()..]
    }

    /// The shard directory that holds this task: its first two hex digits.
    /// Ids are random, so shards fill evenly, and every id with a given
    /// prefix lives in the same shard.
    pub fn shard(&self) -> &str {
        &self.hex()[..2]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Candidate ids for a new task, shortest first, all prefixes of `digest`
    /// (a hex string of at least [`MIN_HEX_LEN`] digits).
    pub fn candidates(digest: &str) -> impl Iterator<Item = TaskId> + '_ {
        (MIN_HEX_LEN..=digest.len().min(MAX_HEX_LEN))
            .map(move |n| TaskId(format!("{}{}", Self::PREFIX, &digest[..n])))
    }

    /// The shortest candidate cut from `digest` that is neither a stored id
    /// nor a prefix of one (`existing` holds the hex parts of the stored
    /// ids). A stored id that is a prefix of the new one is fine: lookups
    /// prefer an exact match.
    pub fn first_free<'a>(
        digest: &str,
        existing: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Option<TaskId> {
        TaskId::candidates(digest).find(|c| !existing.clone().into_iter().any(|e| e.starts_with(c.hex())))
    }
}

impl TryFrom<String> for TaskId {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Self, Invalid> {
        let hex = text.strip_prefix(Self::PREFIX).unwrap_or("");
        if hex.len() < MIN_HEX_LEN || hex.len() > MAX_HEX_LEN || !is_lower_hex(hex) {
            return Err(Invalid(format!("'{text}' is not a task id (t- and hex digits)")));
        }
        Ok(TaskId(text))
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> String {
        id.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user typed to name a task: the hex digits of a full id or of a
/// prefix of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// Accepts `t-3f9a`, `3f9a`, `T-3F9A` or a shorter prefix like `t-3f`.
    pub fn parse(input: &str) -> Result<IdPrefix, Invalid> {
        let lower = input.trim().to_ascii_lowercase();
        let hex = lower.strip_prefix(TaskId::PREFIX).unwrap_or(&lower);
        if hex.is_empty() || hex.len() > MAX_HEX_LEN || !is_lower_hex(hex) {
            return Err(Invalid(format!(
                "'{}' is not a task id: ids look like t-3f9a (see `git orchestrate task list`)",
                super::names::escape_control(input)
            )));
        }
        Ok(IdPrefix(hex.to_string()))
    }

    pub fn hex(&self) -> &str {
        &self.0
    }

    /// The shard all matching ids live in, when the prefix is long enough
    /// to tell.
    pub fn shard(&self) -> Option<&str> {
        self.0.get(..2)
    }

    pub fn matches(&self, id: &TaskId) -> bool {
        id.hex().starts_with(&self.0)
    }
}

impl fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", TaskId::PREFIX, self.0)
    }
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Formats 128 random bits as the hex digest new ids are cut from.
pub fn digest_from(random: u128) -> String {
    format!("{random:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_grow_one_digit_at_a_time() {
        let digest = digest_from(0x3f9a_1234_0000_0000_0000_0000_0000_0000);
        let ids: Vec<_> = TaskId::candidates(&digest).take(3).map(String::from).collect();
        assert_eq!(ids, ["t-3f9a", "t-3f9a1", "t-3f9a12"]);
        assert_eq!(TaskId::candidates(&digest).count(), MAX_HEX_LEN - MIN_HEX_LEN + 1);
    }

    #[test]
    fn a_new_id_grows_past_stored_ids_it_would_equal_or_prefix() {
        let digest = "35ab7c00000000000000000000000000";
        assert_eq!(TaskId::first_free(digest, []).unwrap().as_str(), "t-35ab");
        // Equal to a stored id: one digit longer.
        assert_eq!(TaskId::first_free(digest, ["35ab"]).unwrap().as_str(), "t-35ab7");
        // A prefix of a stored id: longer than it.
        assert_eq!(TaskId::first_free(digest, ["35ab7c1"]).unwrap().as_str(), "t-35ab7c0");
        // A stored id that is a prefix of the candidate does not block it.
        assert_eq!(TaskId::first_free(digest, ["35ab", "35ab7"]).unwrap().as_str(), "t-35ab7c");
    }

    #[test]
    fn shard_is_the_first_two_hex_digits() {
        let id = TaskId::try_from("t-3f9a".to_string()).unwrap();
        assert_eq!(id.shard(), "3f");
        assert_eq!(id.hex(), "3f9a");
    }

    #[test]
    fn prefixes_accept_case_and_a_missing_t() {
        assert_eq!(IdPrefix::parse("T-3F").unwrap().hex(), "3f");
        assert_eq!(IdPrefix::parse("3f9a").unwrap().hex(), "3f9a");
        assert_eq!(IdPrefix::parse("t-3").unwrap().shard(), None);
        for bad in ["", "t-", "t-xyz", "../etc", "t-3f 9a"] {
            assert!(IdPrefix::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_ids_must_be_well_formed() {
        assert!(TaskId::try_from("t-3f9a".to_string()).is_ok());
        for bad in ["3f9a", "t-3F9A", "t-", "t-zz", "t-3f/../x"] {
            assert!(TaskId::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
