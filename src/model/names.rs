//! Names that become ref or path components: sessions, roles, boxes, types.
//!
//! A name is checked before it is ever used to build a ref name or a path, so
//! a hostile or mistyped name (`../x`, `a/b`, `x.lock`, control characters)
//! can never escape `refs/orchestrate/` or a worktree root.

use super::Invalid;

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a name used as a ref or path component.
///
/// Accepted: 1 to 64 characters from `a-z 0-9 . _ -`, starting with a letter
/// or digit, with no `..`, not ending in `.` or `.lock`. `what` names the kind
/// of thing ("session name", "role") in the error.
const ADJECTIVES: [&str; 32] = [
    "amber", "brave", "brisk", "calm", "clever", "cosy", "crisp", "deft", "eager", "fair", "fond", "gentle",
    "glad", "happy", "jolly", "keen", "kind", "lively", "lucky", "merry", "neat", "nimble", "plucky",
    "proud", "quick", "quiet", "sharp", "steady", "sunny", "swift", "tidy", "witty",
];
const ANIMALS: [&str; 32] = [
    "badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon", "ferret", "finch", "fox", "gecko",
    "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marten", "newt", "otter", "owl", "panda", "puffin",
    "quail", "raven", "robin", "seal", "stoat", "tapir", "viper", "walrus", "wren",
];

/// A readable session name (`brisk-otter`) from a random number, for a
/// session started without one.
pub fn readable_name(random: u32) -> String {
    let adjective = ADJECTIVES[(random % 32) as usize];
    let animal = ANIMALS[((random / 32) % 32) as usize];
    match random / 1024 % 100 {
        0 => format!("{adjective}-{animal}"),
        n => format!("{adjective}-{animal}-{n}"),
    }
}

/// A name as people write it (`BUILD`, ` Git_Workflow `) in the form it is
/// stored and compared in: trimmed, ASCII lowercase. For names whose case
/// carries no meaning (phases, task types).
pub fn folded(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

pub fn validate_name(what: &str, name: &str) -> Result<(), Invalid> {
    let problem = if name.is_empty() {
        Some("is empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!("is longer than {MAX_NAME_LEN} characters"))
    } else if let Some(c) = name.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-')) {
        Some(format!("contains {}", describe_char(c)))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must start with a letter or a digit".to_string())
    } else if name.contains("..") {
        Some("contains '..'".to_string())
    } else if name.ends_with('.') || name.ends_with(".lock") {
        Some("must not end with '.' or '.lock'".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Invalid(format!(
            "invalid {what} '{}': it {problem}; use lowercase letters, digits, '.', '_' and '-' (at most {MAX_NAME_LEN})",
            escape_control(name)
        ))),
    }
}

/// Checks a session name: a valid name that cannot be mistaken for a shared
/// mailbox (`all`, `role.<r>`).
pub fn validate_session_name(name: &str) -> Result<(), Invalid> {
    validate_name("session name", name)?;
    if name == "all" || name.starts_with("role.") {
        return Err(Invalid(format!(
            "invalid session name '{name}': 'all' and names starting with 'role.' are mailbox names; choose another name"
        )));
    }
    Ok(())
}

/// Checks one line of free text written by a user or an agent (a title, a
/// label, a subject): not empty, no control characters, at most `max` chars.
pub fn validate_line(what: &str, text: &str, max: usize) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(Invalid(format!("{what} is empty: give some text")));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(Invalid(format!(
            "{what} contains {}: keep it on one line without control characters",
            describe_char(c)
        )));
    }
    let count = text.chars().count();
    if count > max {
        return Err(Invalid(format!("{what} is {count} characters long; the limit is {max}")));
    }
    Ok(())
}

/// Checks a block of free text (a description, a note): newlines and tabs are
/// fine, other control characters are not, and the size is bounded.
pub fn validate_text(what: &str, text: &str, max_bytes: usize) -> Result<(), Invalid> {
    if let Some(c) = text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(Invalid(format!("{what} contains {}: remove control characters", describe_char(c))));
    }
    if text.len() > max_bytes {
        return Err(Invalid(format!("{what} is {} bytes; the limit is {max_bytes}", text.len())));
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Escapes what must not reach a terminal or a page raw from text an
/// agent wrote: control characters (which move the cursor, recolour or
/// clear a terminal) and [`is_hidden_format`] characters (which reorder or
/// hide what is shown). Every display of agent text goes through here.
pub fn escape_control(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            c if needs_escape(c) => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Multi-line text as indented lines (for a note or a message body), each
/// line escaped like [`escape_control`]: line breaks are shown as breaks,
/// every other control character stays escaped.
pub fn escape_lines(text: &str, indent: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    let mut out = String::new();
    for line in text.split('\n') {
        out.push_str(indent);
        out.push_str(&escape_control(line.strip_suffix('\r').unwrap_or(line)));
        out.push('\n');
    }
    out
}

/// Whether `c` is escaped when shown: a control character or a hidden
/// format character.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_hidden_format(c)
}

/// Characters that print nothing yet change what is seen: bidirectional
/// overrides, embeddings, isolates and marks (which can make `abc` display
/// as `cba`, "Trojan Source") and zero-width characters (which make two
/// different names look the same).
pub fn is_hidden_format(c: char) -> bool {
    matches!(c,
        '\u{061c}'                   // arabic letter mark
        | '\u{200b}'..='\u{200f}'     // zero-width space, (non-)joiner, LRM, RLM
        | '\u{202a}'..='\u{202e}'     // embeddings and overrides
        | '\u{2060}'..='\u{2064}'     // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}'     // isolates
        | '\u{feff}'                   // zero-width no-break space (BOM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_accepted() {
        for name in ["alice", "agent-2", "backend.api", "a", "x_y", "9lives"] {
            assert_eq!(validate_name("session name", name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_that_could_escape_a_ref_or_path_are_refused() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for name in [
            "",
            "../x",
            "a/b",
            "..",
            "a..b",
            ".hidden",
            "-flag",
            "Alice",
            "a b",
            "x.lock",
            "x.",
            "tab\there",
            "nul\0",
            "é",
            &long,
        ] {
            assert!(validate_name("session name", name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn mailbox_names_are_not_session_names() {
        assert!(validate_session_name("all").is_err());
        assert!(validate_session_name("role.backend").is_err());
        assert!(validate_session_name("allison").is_ok());
    }

    #[test]
    fn a_line_refuses_newlines_and_escapes_keep_terminals_safe() {
        assert!(validate_line("title", "fix it", 10).is_ok());
        assert!(validate_line("title", "two\nlines", 100).is_err());
        assert!(validate_line("title", "   ", 100).is_err());
        assert!(validate_line("title", "toolong", 3).is_err());
        assert_eq!(escape_control("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(escape_control("plain"), "plain");
    }

    #[test]
    fn bidi_and_zero_width_characters_are_escaped_like_controls() {
        assert_eq!(escape_control("a\u{202e}cba\u{202c}"), "a\\u{202e}cba\\u{202c}");
        assert_eq!(escape_control("x\u{2066}y\u{2069}"), "x\\u{2066}y\\u{2069}");
        assert_eq!(
            escape_control("ad\u{200b}min\u{200d}\u{2060}\u{feff}"),
            "ad\\u{200b}min\\u{200d}\\u{2060}\\u{feff}"
        );
        assert_eq!(escape_control("naïve café ✓ 日本"), "naïve café ✓ 日本");
    }

    #[test]
    fn multi_line_text_is_shown_as_indented_lines_with_controls_escaped() {
        assert_eq!(escape_lines("one\ntwo\x1b[2J\r\n\nfour\n", "  "), "  one\n  two\\u{1b}[2J\n  \n  four\n");
        assert_eq!(escape_lines("single", "> "), "> single\n");
    }
}
