//! Every ref name the store uses, built in one place.
//!
//! Each builder's doc comment shows the literal pattern. Callers pass names
//! that `model::names` has already validated, so every result is a valid ref.

/// Prefix shared by all coordination refs.
pub const ROOT: &str = "refs/orchestrate/";

/// `refs/orchestrate/meta` — the format version of the whole store.
pub const META: &str = "refs/orchestrate/meta";

/// `refs/orchestrate/tasks` — `open/<shard>/<id>.json`, `closed/<shard>/<id>.json`.
pub const TASKS: &str = "refs/orchestrate/tasks";

/// `refs/orchestrate/sessions` — `<name>.json` per session.
pub const SESSIONS: &str = "refs/orchestrate/sessions";

/// `refs/orchestrate/claims` — `claims.json`, the whole live claims table.
pub const CLAIMS: &str = "refs/orchestrate/claims";

/// `refs/orchestrate/lead` — `lead.json`, the lead lease: which session coordinates.
pub const LEAD: &str = "refs/orchestrate/lead";
/// `refs/orchestrate/queue` — `entries/<seq>.json` per landing queue entry, `counter.json`.
pub const QUEUE: &str = "refs/orchestrate/queue";
/// `refs/orchestrate/radar` — `announced.json`, the conflicts between
/// sessions that the commit-time radar has announced.
pub const RADAR: &str = "refs/orchestrate/radar";

/// `refs/orchestrate/mail/<box>` — one mailbox, a chain of one message per commit.
pub fn mailbox(mailbox: &str) -> String {
    format!("{ROOT}mail/{mailbox}")
}

/// `refs/orchestrate/read/` — the folder of every read cursor: positions in
/// mailboxes, not collections with events of their own.
pub const READ_CURSORS: &str = "refs/orchestrate/read/";

/// `refs/orchestrate/read/<name>/<box>` — the last commit of `<box>` that `<name>` read.
pub fn read_cursor(reader: &str, mailbox: &str) -> String {
    format!("{READ_CURSORS}{reader}/{mailbox}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_name_is_a_valid_ref() {
        for name in [
            META,
            TASKS,
            SESSIONS,
            CLAIMS,
            QUEUE,
            RADAR,
            LEAD,
            &mailbox("alice"),
            &read_cursor("alice", "role.backend"),
        ] {
            assert!(git2::Reference::is_valid_name(name), "{name}");
            assert!(name.starts_with(ROOT));
        }
        assert_eq!(read_cursor("bob", "all"), "refs/orchestrate/read/bob/all");
    }
}
