//! Claim patterns: the repository-relative paths a claim covers.
//!
//! This module owns how a pattern is parsed and normalised ([`ClaimPattern::parse`]),
//! what kind of thing it names ([`PatternKind`]), which paths it covers, and when
//! two patterns overlap. It guarantees that a parsed pattern is relative to the
//! repository root, normalised (so equal patterns have equal text), never
//! reaches outside the repository or into `.git`, and that [`ClaimPattern::overlaps`]
//! never answers "no" when some path could be covered by both patterns: for
//! exclusive locks a false "overlap" is safe, a false "no overlap" is not.
//! Globs themselves are compiled and matched by [`super::glob`].

use super::glob::{parse_segment, segment_lists_intersect, segments_match, GlobError, Segment};
use crate::model::names::escape_control;
use crate::model::Invalid;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest accepted pattern, in bytes, as typed.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// What a pattern names, decided from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// One file: `src/main.rs`.
    File,
    /// A directory, its own path and everything under it: `src/api/`.
    Directory,
    /// Anything using `*`, `?`, `[...]` or `**`: `src/**/*.rs`.
    Glob,
}

/// A validated, normalised, repository-relative path pattern.
///
/// Patterns are anchored at the repository root. `*`, `?` and `[...]` match
/// within one path segment and never cross `/`; `**` as a whole segment
/// matches zero or more segments; a trailing `/` means the directory, its own
/// path, and everything under it. Two patterns are equal when their
/// normalised text is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClaimPattern {
    text: String,
    kind: PatternKind,
    /// For a file or directory: its path without glob escapes and without a
    /// trailing `/`. Empty for a glob.
    literal: String,
    /// Pre-split at parse time so matching allocates nothing. A directory
    /// ends with [`Segment::AnyDepth`].
    segments: Vec<Segment>,
}

impl ClaimPattern {
    /// Parses a pattern as a user or an agent typed it, relative to the
    /// repository root.
    ///
    /// A leading `./` and `.` segments are dropped and repeated `/` collapse;
    /// `**/**` collapses to `**` and `**` inside a segment to `*`. Refused:
    /// empty input, absolute paths, `..`, a `.git` segment, control
    /// characters, backslashes, unclosed or backwards classes, and more than
    /// [`MAX_PATTERN_BYTES`] bytes. Turning an absolute or cwd-relative path
    /// into a repository-relative one is the caller's job.
    pub fn parse(input: &str) -> Result<ClaimPattern, Invalid> {
        if input.is_empty() {
            return Err(Invalid::new(
                "the claim path is empty: give a path relative to the repository root, \
                 like src/main.rs, src/api/ or src/**/*.rs",
            ));
        }
        if input.len() > MAX_PATTERN_BYTES {
            return Err(Invalid(format!(
                "the claim path '{}…' is {} bytes long; the limit is {MAX_PATTERN_BYTES}: \
                 claim a directory or a glob instead",
                escape_control(&input.chars().take(40).collect::<String>()),
                input.len()
            )));
        }
        let bad = |problem: &str| refuse(input, problem);
        if let Some(c) = input.chars().find(|c| c.is_control()) {
            return Err(bad(&format!("contains the control character U+{:04X}; remove it", c as u32)));
        }
        if is_absolute(input) {
            return Err(bad(
                "is absolute; give it relative to the repository root, which every pattern is anchored at \
                 (src/main.rs, not /home/me/repo/src/main.rs)",
            ));
        }
        if input.contains('\\') {
            return Err(bad(
                "contains a backslash; use '/' between directories, and write '[*]', '[?]' or '[[]' \
                 to match a literal '*', '?' or '['",
            ));
        }

        let pieces: Vec<&str> = input.split('/').collect();
        let directory = matches!(pieces.last(), Some(&"" | &"."));
        let mut segments: Vec<Segment> = Vec::with_capacity(pieces.len() + 1);
        let mut texts: Vec<String> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match piece {
                "" | "." => continue,
                ".." => {
                    return Err(bad("contains '..'; claims cannot reach outside the repository: \
                         give the path from the repository root"))
                }
                _ => {}
            }
            let (segment, text) = parse_segment(piece).map_err(|e| glob_refusal(input, e))?;
            if let Segment::Literal(name) = &segment {
                if name.eq_ignore_ascii_case(".git") {
                    return Err(bad(
                        "names git's own directory '.git'; claim files in the working tree instead",
                    ));
                }
                if name == "." || name == ".." {
                    return Err(bad(&format!(
                        "has the segment '{text}', which can only mean '{name}'; remove it"
                    )));
                }
            }
            if matches!(segment, Segment::AnyDepth) && matches!(segments.last(), Some(Segment::AnyDepth)) {
                continue;
            }
            segments.push(segment);
            texts.push(text);
        }
        if segments.is_empty() {
            return Err(bad("names the repository root, not a path in it; write '**' to claim everything"));
        }

        let all_literal = segments.iter().all(|s| matches!(s, Segment::Literal(_)));
        let literal = if all_literal {
            let names: Vec<&str> = segments
                .iter()
                .filter_map(|s| match s {
                    Segment::Literal(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            names.join("/")
        } else {
            String::new()
        };
        let mut text = texts.join("/");
        let kind = if directory && !matches!(segments.last(), Some(Segment::AnyDepth)) {
            text.push('/');
            segments.push(Segment::AnyDepth);
            if all_literal {
                PatternKind::Directory
            } else {
                PatternKind::Glob
            }
        } else if all_literal {
            PatternKind::File
        } else {
            PatternKind::Glob
        };
        Ok(ClaimPattern { text, kind, literal, segments })
    }

    /// The pattern that covers exactly one file path, as git prints it, with
    /// any `*`, `?` and `[` in it escaped (`app/[id].tsx` becomes
    /// `app/[[]id].tsx`), so a file name is never read as a glob.
    pub fn for_file(path: &str) -> Result<ClaimPattern, Invalid> {
        if path.ends_with('/') {
            return Err(refuse(path, "ends with '/', which names a directory; give a file path"));
        }
        let mut escaped = String::with_capacity(path.len() + 8);
        for c in path.chars() {
            match c {
                '*' => escaped.push_str("[*]"),
                '?' => escaped.push_str("[?]"),
                '[' => escaped.push_str("[[]"),
                c => escaped.push(c),
            }
        }
        ClaimPattern::parse(&escaped)
    }

    /// The normalised text. Directories keep their trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// For a file or a directory, its path without escapes or trailing `/`
    /// (`src/api` for `src/api/`); `None` for a glob.
    pub fn literal_path(&self) -> Option<&str> {
        match self.kind {
            PatternKind::File | PatternKind::Directory => Some(&self.literal),
            PatternKind::Glob => None,
        }
    }

    /// Whether this pattern covers a repository-relative file path, given as
    /// git prints it (`/` separators, no leading `./`). Allocates nothing.
    pub fn matches_path(&self, path: &str) -> bool {
        match self.kind {
            PatternKind::File => path == self.literal,
            PatternKind::Directory => path
                .strip_prefix(self.literal.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            PatternKind::Glob => !path.is_empty() && segments_match(&self.segments, path),
        }
    }

    /// Whether some path could be covered by both patterns.
    ///
    /// Decided exactly by intersecting the two patterns, segment by segment
    /// and, within a segment, character by character; the only approximation
    /// is that a character class is assumed to match at least one character,
    /// which can only turn a "no" into a "yes". Symmetric.
    pub fn overlaps(&self, other: &ClaimPattern) -> bool {
        match (self.kind, other.kind) {
            (PatternKind::File, PatternKind::File) => self.literal == other.literal,
            (PatternKind::File, _) => other.matches_path(&self.literal),
            (_, PatternKind::File) => self.matches_path(&other.literal),
            _ => segment_lists_intersect(&self.segments, &other.segments),
        }
    }
}

fn refuse(input: &str, problem: &str) -> Invalid {
    Invalid(format!("invalid claim path '{}': it {problem}", escape_control(input)))
}

/// The refusal for a piece that is not a well-formed glob.
fn glob_refusal(input: &str, error: GlobError) -> Invalid {
    match error {
        GlobError::UnclosedClass => {
            refuse(input, "has a '[' with no closing ']'; close the class, or write '[[]' for a literal '['")
        }
        GlobError::BackwardsRange { low, high } => refuse(
            input,
            &format!("has the range '{low}-{high}', which runs backwards; write it low to high"),
        ),
    }
}

/// `/x`, `\x`, `C:`, `C:/x`, `C:\x`.
fn is_absolute(input: &str) -> bool {
    let mut chars = input.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some('/' | '\\'), _, _) => true,
        (Some(drive), Some(':'), None | Some('/' | '\\')) => drive.is_ascii_alphabetic(),
        _ => false,
    }
}

impl PartialEq for ClaimPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ClaimPattern {}

impl Hash for ClaimPattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for ClaimPattern {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClaimPattern {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl TryFrom<String> for ClaimPattern {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Self, Invalid> {
        ClaimPattern::parse(&text)
    }
}

impl From<ClaimPattern> for String {
    fn from(pattern: ClaimPattern) -> String {
        pattern.text
    }
}

impl std::str::FromStr for ClaimPattern {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        ClaimPattern::parse(text)
    }
}

impl fmt::Display for ClaimPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn pattern(text: &str) -> ClaimPattern {
        ClaimPattern::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    /// (a, b, overlap?) — every row is checked in both directions.
    const OVERLAPS: &[(&str, &str, bool)] = &[
        // file / file
        ("src/main.rs", "src/main.rs", true),
        ("src/main.rs", "src/lib.rs", false),
        ("./src//main.rs", "src/main.rs", true),
        ("src/main.rs", "src/main.rs/", true),
        // file / directory
        ("src/a.rs", "src/", true),
        ("src/api/x.rs", "src/", true),
        ("src/a.rs", "docs/", false),
        ("src", "src/", true),
        ("srcx/a.rs", "src/", false),
        // directory / directory
        ("src/", "src/api/", true),
        ("src/", "src/", true),
        ("src/api/", "src/web/", false),
        ("a/b/", "a/bc/", false),
        // file / glob
        ("src/a.rs", "src/*.rs", true),
        ("src/a.md", "src/*.rs", false),
        ("src/x/a.rs", "src/*.rs", false),
        ("docs/a.md", "**/*.rs", false),
        ("docs/a.md", "**/*.md", true),
        ("a.md", "**/*.md", true),
        ("README.md", "*.md", true),
        ("docs/README.md", "*.md", false),
        ("docs/a.txt", "docs/?.txt", true),
        ("docs/ab.txt", "docs/?.txt", false),
        ("src/b.rs", "src/[ab]*.rs", true),
        ("src/c.rs", "src/[ab]*.rs", false),
        ("src/c.rs", "src/[!ab]*.rs", true),
        ("a/b", "a/**/b", true),
        ("a/c", "a/**/b", false),
        ("a/b", "*", false),
        ("app/[[]id].tsx", "app/[id].tsx", false),
        ("app/i.tsx", "app/[id].tsx", true),
        // directory / glob
        ("src/", "src/**/*.rs", true),
        ("src/api/", "src/*", true),
        ("src/api/", "src/*.rs", false),
        ("src/", "*.md", false),
        ("docs/", "**/*.rs", true),
        ("src/api/", "*/api/*.rs", true),
        ("a/", "b/**", false),
        ("a/", "*/", true),
        // glob / glob
        ("src/*.rs", "src/*.md", false),
        ("src/*.rs", "src/main.*", true),
        ("src/*.rs", "src/a*", true),
        ("*.rs", "*.md", false),
        ("**/*.rs", "**/*.md", false),
        ("a/**", "b/**", false),
        ("a/**", "**/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/*", true),
        ("*", "*/*", false),
        ("**", "a/b/c", true),
        ("?", "ab", false),
        ("??", "a*", true),
        ("a?c", "?b?", true),
        ("a?c", "?b", false),
        ("*a*", "*b*", true),
        ("a*", "*b", true),
        ("[a-c]*.rs", "[d-f]*.rs", false),
        ("[a-c]*.rs", "[c-f]*.rs", true),
        ("[!a]*", "a*", false),
        ("[!a]", "[ab]", true),
        ("[!ab]", "[ab]", false),
        ("[!a-m]", "[^n-z]", true),
        ("x[!a-z]", "x?", true),
        ("**/test/**", "src/**/*.rs", true),
        ("**/a*/**", "**/b*/**", true),
        ("src/**/mod.rs", "src/*/*.rs", true),
        ("src/**/mod.rs", "src/*.md", false),
        ("src/*/", "src/**/x.rs", true),
        ("*/*/*", "**/a", true),
        ("*/*/*", "a/b", false),
    ];

    #[test]
    fn overlap_follows_the_documented_table_in_both_directions() {
        for &(a, b, expected) in OVERLAPS {
            let (pa, pb) = (pattern(a), pattern(b));
            assert_eq!(pa.overlaps(&pb), expected, "{a} vs {b}");
            assert_eq!(pb.overlaps(&pa), expected, "{b} vs {a} (symmetry)");
        }
    }

    #[test]
    fn every_pattern_overlaps_itself() {
        for &(a, b, _) in OVERLAPS {
            for p in [pattern(a), pattern(b)] {
                assert!(p.overlaps(&p), "{p}");
            }
        }
    }

    /// (pattern, path, matches?)
    const MATCHES: &[(&str, &str, bool)] = &[
        ("src/main.rs", "src/main.rs", true),
        ("src/main.rs", "src/main.rs.bak", false),
        ("src/main.rs", "src", false),
        ("src/", "src/a/b.rs", true),
        ("src/", "src", true),
        ("src/", "srcx/a", false),
        ("src/", "docs/src/a", false),
        ("*.md", "README.md", true),
        ("*.md", "docs/a.md", false),
        ("**/*.md", "docs/a.md", true),
        ("**/*.md", "a.md", true),
        ("**/*.md", "a/b/c.md", true),
        ("**/*.md", "a/b/c.mdx", false),
        ("src/**/*.rs", "src/a.rs", true),
        ("src/**/*.rs", "src/x/y/a.rs", true),
        ("src/**/*.rs", "lib/a.rs", false),
        ("docs/?.txt", "docs/a.txt", true),
        ("docs/?.txt", "docs/é.txt", true),
        ("docs/?.txt", "docs/ab.txt", false),
        ("src/[ab]*.rs", "src/b2.rs", true),
        ("src/[ab]*.rs", "src/c.rs", false),
        ("src/[!ab]*.rs", "src/c.rs", true),
        ("src/[^ab]*.rs", "src/a.rs", false),
        ("[a-c]", "b", true),
        ("[a-c]", "d", false),
        ("a[-]b", "a-b", true),
        ("[]]", "]", true),
        ("[a-]", "-", true),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/x/y/c", false),
        ("a/**", "a/x", true),
        ("a/**", "a", true),
        ("a/**", "ab/x", false),
        ("*", "a", true),
        ("*", "a/b", false),
        ("*", ".hidden", true),
        ("*/", "a/b", true),
        ("*/", "a", true),
        ("a*b*c", "abxbc", true),
        ("a*b*c", "abxbcd", false),
        ("src/*.rs", "src/.rs", true),
        ("app/[[]id].tsx", "app/[id].tsx", true),
        ("app/[id].tsx", "app/[id].tsx", false),
        ("**", "anything/at/all", true),
        ("Src/", "src/a", false),
        ("**/a/**/a/**/a/**/a/**/b", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/c", false),
        ("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false),
    ];

    #[test]
    fn matches_path_follows_the_documented_table() {
        for &(p, path, expected) in MATCHES {
            assert_eq!(pattern(p).matches_path(path), expected, "{p} on {path}");
        }
    }

    #[test]
    fn matching_a_path_agrees_with_overlapping_that_files_pattern() {
        for &(p, path, expected) in MATCHES {
            let file = ClaimPattern::for_file(path).unwrap();
            assert_eq!(pattern(p).overlaps(&file), expected, "{p} vs file {path}");
            assert_eq!(file.overlaps(&pattern(p)), expected, "file {path} vs {p}");
        }
    }

    #[test]
    fn overlap_never_misses_a_path_that_both_patterns_match() {
        let names = ["a", "b", "ab", "x.rs", "a.md", ".h", "api"];
        let mut paths: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        for _ in 0..2 {
            let longer: Vec<String> =
                paths.iter().flat_map(|p| names.iter().map(move |n| format!("{p}/{n}"))).collect();
            paths.extend(longer);
        }
        let patterns: BTreeSet<ClaimPattern> = OVERLAPS
            .iter()
            .flat_map(|&(a, b, _)| [a, b])
            .chain(["a/", "a/b", "*/*.rs", "**/a*", "?", "[.]h", "a/**/*.md", "*/ap?/"])
            .map(pattern)
            .collect();
        for a in &patterns {
            for b in &patterns {
                if let Some(path) = paths.iter().find(|p| a.matches_path(p) && b.matches_path(p)) {
                    assert!(a.overlaps(b), "{a} and {b} both match {path} but do not overlap");
                }
            }
        }
    }

    #[test]
    fn input_is_normalised_to_one_spelling() {
        for (input, normal) in [
            ("./src/main.rs", "src/main.rs"),
            ("././a", "a"),
            ("src//api///", "src/api/"),
            ("a/./b", "a/b"),
            ("src/.", "src/"),
            ("a/**/**/b", "a/**/b"),
            ("a***b", "a*b"),
            ("***", "*"),
            ("x/**/", "x/**"),
            ("[*]", "[*]"),
            ("[!a-z]x", "[!a-z]x"),
        ] {
            assert_eq!(pattern(input).as_str(), normal, "{input}");
        }
        assert_eq!(pattern("./a//b"), pattern("a/b"));
    }

    #[test]
    fn the_kind_is_read_from_the_text() {
        for (input, kind, literal) in [
            ("src/main.rs", PatternKind::File, Some("src/main.rs")),
            ("src/api/", PatternKind::Directory, Some("src/api")),
            ("src/*.rs", PatternKind::Glob, None),
            ("src/**", PatternKind::Glob, None),
            ("*/", PatternKind::Glob, None),
            ("app/[[]id].tsx", PatternKind::File, Some("app/[id].tsx")),
        ] {
            let p = pattern(input);
            assert_eq!((p.kind(), p.literal_path()), (kind, literal), "{input}");
        }
    }

    #[test]
    fn a_file_path_is_escaped_so_it_is_never_read_as_a_glob() {
        let p = ClaimPattern::for_file("app/[id]/page?.tsx").unwrap();
        assert_eq!(p.as_str(), "app/[[]id]/page[?].tsx");
        assert_eq!(p.kind(), PatternKind::File);
        assert!(p.matches_path("app/[id]/page?.tsx"));
        assert!(!p.matches_path("app/i/pagex.tsx"));
        assert!(ClaimPattern::for_file("src/").is_err());
        assert!(ClaimPattern::for_file("../x").is_err());
    }

    #[test]
    fn unsafe_or_malformed_input_is_refused() {
        let long = "a/".repeat(MAX_PATTERN_BYTES / 2) + "b";
        for input in [
            "",
            ".",
            "./",
            "//",
            "/etc/passwd",
            "/",
            "C:\\x",
            "C:/x",
            "c:",
            "\\\\server\\share",
            "..",
            "../x",
            "a/../b",
            "a/..",
            ".git",
            ".git/",
            "a/.git/x",
            ".GIT/config",
            "a/.[g]it",
            "[.]",
            "a/[.][.]/b",
            "tab\there",
            "esc\u{1b}[2J",
            "new\nline",
            "a\\b",
            "src/[ab.rs",
            "[!]",
            "[]",
            "[z-a]",
            &long,
        ] {
            assert!(ClaimPattern::parse(input).is_err(), "{input:?} should be refused");
        }
    }

    #[test]
    fn refusals_name_the_value_and_the_way_out() {
        let message = |input: &str| ClaimPattern::parse(input).unwrap_err().0;
        assert!(message("/etc").contains("'/etc'") && message("/etc").contains("relative"));
        assert!(message("../x").contains("'..'"));
        assert!(message("a/.git/x").contains("'.git'"));
        assert!(message("a\\b").contains("'/'"));
        assert!(message("[ab").contains("'[[]'"));
        assert!(message("./").contains("'**'"));
        assert!(message("esc\u{1b}").contains("esc\\u{1b}"));
        assert!(message("").contains("src/main.rs"));
    }

    #[test]
    fn patterns_serialise_as_their_normalised_text() {
        let p = pattern("./src//api/");
        assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::json!("src/api/"));
        let back: ClaimPattern = serde_json::from_value(serde_json::json!("src/api/")).unwrap();
        assert_eq!(back, p);
        assert!(back.matches_path("src/api/x"));
        assert!(serde_json::from_value::<ClaimPattern>(serde_json::json!("../x")).is_err());
    }
}
