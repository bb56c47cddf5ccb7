//! Claims: leases on repository paths that sessions take so parallel agents
//! do not overwrite each other's files.
//!
//! This module owns the path patterns a claim covers ([`ClaimPattern`]), what
//! they match, and when two of them overlap; and the claim document itself
//! ([`Claim`]). It guarantees that a parsed pattern is relative to the
//! repository root, normalised (so equal patterns have equal text), never
//! reaches outside the repository or into `.git`, and that [`ClaimPattern::overlaps`]
//! never answers "no" when some path could be covered by both patterns: for
//! exclusive locks a false "overlap" is safe, a false "no overlap" is not.
//! Whether a claim is still live (its session not stale, not released) is
//! decided by the caller. `docs/claims.md` describes the rules for users.

use super::ids::TaskId;
use super::names::{escape_control, validate_line, validate_session_name};
use super::time::Timestamp;
use super::Invalid;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest accepted pattern, in bytes, as typed.
pub const MAX_PATTERN_BYTES: usize = 1024;
pub const MAX_REASON_CHARS: usize = 200;

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

#[derive(Debug, Clone)]
enum Segment {
    /// A segment without wildcards, escapes already removed.
    Literal(String),
    /// A segment with at least one `*`, `?` or class.
    Glob(Vec<Token>),
    /// `**`: zero or more whole segments.
    AnyDepth,
}

#[derive(Debug, Clone)]
enum Token {
    Char(char),
    /// `?`: exactly one character.
    AnyChar,
    /// `*`: zero or more characters (runs of `*` are collapsed at parse time).
    Star,
    Class(CharClass),
}

/// `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]`.
#[derive(Debug, Clone)]
struct CharClass {
    negated: bool,
    ranges: Vec<(char, char)>,
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
            let (segment, text) = parse_segment(piece, input)?;
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
            _ => sequences_intersect(
                &self.segments,
                &other.segments,
                |s| matches!(s, Segment::AnyDepth),
                segments_intersect,
            ),
        }
    }
}

fn refuse(input: &str, problem: &str) -> Invalid {
    Invalid(format!("invalid claim path '{}': it {problem}", escape_control(input)))
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

/// Parses one `/`-free piece into a segment and its normalised text.
fn parse_segment(piece: &str, input: &str) -> Result<(Segment, String), Invalid> {
    if piece == "**" {
        return Ok((Segment::AnyDepth, piece.to_string()));
    }
    let chars: Vec<char> = piece.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len());
    let mut text = String::with_capacity(piece.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(tokens.last(), Some(Token::Star)) {
                    tokens.push(Token::Star);
                    text.push('*');
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                text.push('?');
                i += 1;
            }
            '[' => {
                let (token, end) = parse_class(&chars, i, input)?;
                text.extend(&chars[i..end]);
                tokens.push(token);
                i = end;
            }
            c => {
                tokens.push(Token::Char(c));
                text.push(c);
                i += 1;
            }
        }
    }
    let literal: Option<String> = tokens
        .iter()
        .map(|t| match t {
            Token::Char(c) => Some(*c),
            _ => None,
        })
        .collect();
    let segment = match literal {
        Some(name) => Segment::Literal(name),
        None => Segment::Glob(tokens),
    };
    Ok((segment, text))
}

/// Parses the class that opens at `chars[start]` (a `[`). Returns the token
/// (a plain character when the class holds just one) and the index after `]`.
fn parse_class(chars: &[char], start: usize, input: &str) -> Result<(Token, usize), Invalid> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&low) = chars.get(i) else {
            return Err(refuse(
                input,
                "has a '[' with no closing ']'; close the class, or write '[[]' for a literal '['",
            ));
        };
        if low == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&high)) if high != ']' => {
                if high < low {
                    return Err(refuse(
                        input,
                        &format!("has the range '{low}-{high}', which runs backwards; write it low to high"),
                    ));
                }
                ranges.push((low, high));
                i += 3;
            }
            _ => {
                ranges.push((low, low));
                i += 1;
            }
        }
    }
    let token = match ranges.first() {
        Some(&(c, _)) if !negated && ranges.iter().all(|&(l, h)| l == c && h == c) => Token::Char(c),
        _ => Token::Class(CharClass { negated, ranges }),
    };
    Ok((token, i))
}

impl CharClass {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(low, high)| low <= c && c <= high) != self.negated
    }

    /// Whether some character is in both classes. Exact on the ranges (it
    /// may count a surrogate code point, which only errs towards "yes").
    fn intersects(&self, other: &CharClass) -> bool {
        match (self.negated, other.negated) {
            (true, true) => true,
            (false, false) => {
                self.ranges.iter().any(|&(l1, h1)| other.ranges.iter().any(|&(l2, h2)| l1 <= h2 && l2 <= h1))
            }
            (false, true) => positive_minus_negated(self, other),
            (true, false) => positive_minus_negated(other, self),
        }
    }
}

/// Whether `positive` holds a character outside `negated`'s ranges. The
/// smallest such character, if any, is a range start of `positive` or just
/// after a range end of `negated`.
fn positive_minus_negated(positive: &CharClass, negated: &CharClass) -> bool {
    let in_positive = |c: u32| positive.ranges.iter().any(|&(l, h)| l as u32 <= c && c <= h as u32);
    let in_negated = |c: u32| negated.ranges.iter().any(|&(l, h)| l as u32 <= c && c <= h as u32);
    positive
        .ranges
        .iter()
        .map(|&(l, _)| l as u32)
        .chain(negated.ranges.iter().map(|&(_, h)| h as u32 + 1))
        .any(|c| in_positive(c) && !in_negated(c))
}

impl Token {
    fn matches_char(&self, c: char) -> bool {
        match self {
            Token::Char(t) => *t == c,
            Token::AnyChar | Token::Star => true,
            Token::Class(class) => class.contains(c),
        }
    }

    /// Whether two single-character tokens (not `*`) share a character.
    fn intersects(&self, other: &Token) -> bool {
        match (self, other) {
            (Token::Char(c), t) | (t, Token::Char(c)) => t.matches_char(*c),
            (Token::Class(a), Token::Class(b)) => a.intersects(b),
            // `?` or `*` against a class: assume the class is not empty.
            _ => true,
        }
    }
}

/// Matches a path against segments, treating `**` like a wildcard over whole
/// segments: greedy with one backtrack point, so O(segments x path segments)
/// at worst, never exponential, and without allocating.
fn segments_match(segments: &[Segment], path: &str) -> bool {
    // `pos` is the byte offset where the next path segment starts; past the
    // end (`path.len() + 1`) once the last one is consumed.
    let end = path.len() + 1;
    let next_segment = |pos: usize| -> (&str, usize) {
        let rest = path.get(pos..).unwrap_or("");
        match rest.find('/') {
            Some(k) => (&rest[..k], pos + k + 1),
            None => (rest, end),
        }
    };
    let (mut si, mut pos) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if let Some(segment) = segments.get(si) {
            if matches!(segment, Segment::AnyDepth) {
                resume = Some((si + 1, pos));
                si += 1;
                continue;
            }
            if pos < end {
                let (name, next) = next_segment(pos);
                if segment_matches(segment, name) {
                    si += 1;
                    pos = next;
                    continue;
                }
            }
        } else if pos == end {
            return true;
        }
        // Mismatch: let the last `**` swallow one more segment.
        match resume {
            Some((after, from)) if from < end => {
                let (_, next) = next_segment(from);
                resume = Some((after, next));
                si = after;
                pos = next;
            }
            _ => return false,
        }
    }
}

fn segment_matches(segment: &Segment, name: &str) -> bool {
    match segment {
        Segment::Literal(literal) => literal == name,
        Segment::Glob(tokens) => tokens_match(tokens, name),
        Segment::AnyDepth => true,
    }
}

/// The same greedy algorithm as [`segments_match`], over characters.
fn tokens_match(tokens: &[Token], name: &str) -> bool {
    let (mut ti, mut pos) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if let Some(token) = tokens.get(ti) {
            if matches!(token, Token::Star) {
                resume = Some((ti + 1, pos));
                ti += 1;
                continue;
            }
            if let Some(c) = name.get(pos..).and_then(|rest| rest.chars().next()) {
                if token.matches_char(c) {
                    ti += 1;
                    pos += c.len_utf8();
                    continue;
                }
            }
        } else if pos == name.len() {
            return true;
        }
        match resume {
            Some((after, from)) => match name.get(from..).and_then(|rest| rest.chars().next()) {
                Some(c) => {
                    let next = from + c.len_utf8();
                    resume = Some((after, next));
                    ti = after;
                    pos = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Whether two path segments can be the same name.
fn segments_intersect(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Literal(x), Segment::Literal(y)) => x == y,
        (Segment::Literal(name), other) | (other, Segment::Literal(name)) => segment_matches(other, name),
        (Segment::Glob(x), Segment::Glob(y)) => {
            sequences_intersect(x, y, |t| matches!(t, Token::Star), Token::intersects)
        }
        // `**` never reaches here: `sequences_intersect` handles it.
        _ => true,
    }
}

/// Whether two sequences of "stars" (each matching any run of elements) and
/// single-element matchers accept a common sequence: reachability in the
/// product of their two automata. State `(i, j)` means the first `i` items of
/// `a` and `j` of `b` have matched the same prefix. Moves only go forward, so
/// one row-major pass decides it in O(|a| x |b|).
fn sequences_intersect<T>(
    a: &[T],
    b: &[T],
    is_star: impl Fn(&T) -> bool,
    singles_intersect: impl Fn(&T, &T) -> bool,
) -> bool {
    let width = b.len() + 1;
    let mut reached = vec![false; (a.len() + 1) * width];
    reached[0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reached[i * width + j] {
                continue;
            }
            if i == a.len() && j == b.len() {
                return true;
            }
            let star_a = a.get(i).is_some_and(&is_star);
            let star_b = b.get(j).is_some_and(&is_star);
            // A star matches nothing.
            if star_a {
                reached[(i + 1) * width + j] = true;
            }
            if star_b {
                reached[i * width + j + 1] = true;
            }
            if let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
                match (star_a, star_b) {
                    // A star swallows the other side's next element.
                    (true, false) => reached[i * width + j + 1] = true,
                    (false, true) => reached[(i + 1) * width + j] = true,
                    (false, false) if singles_intersect(x, y) => reached[(i + 1) * width + j + 1] = true,
                    _ => {}
                }
            }
        }
    }
    false
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

/// An exclusive claim keeps other sessions' exclusive claims off the paths
/// it covers; a shared claim is a notice ("I am reading or working near
/// here") that never conflicts with anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimMode {
    Exclusive,
    Shared,
}

impl ClaimMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimMode::Exclusive => "exclusive",
            ClaimMode::Shared => "shared",
        }
    }

    pub fn parse(text: &str) -> Result<ClaimMode, Invalid> {
        match text {
            "exclusive" => Ok(ClaimMode::Exclusive),
            "shared" => Ok(ClaimMode::Shared),
            _ => Err(Invalid(format!(
                "unknown claim mode '{}': use exclusive or shared",
                escape_control(text)
            ))),
        }
    }
}

impl fmt::Display for ClaimMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session's lease on the paths a pattern covers, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub format: u32,
    pub path: ClaimPattern,
    pub session: String,
    pub mode: ClaimMode,
    #[serde(default)]
    pub reason: Option<String>,
    /// The task id the claim is for, if any.
    #[serde(default)]
    pub task: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When activity last extended the lease, if it has been.
    #[serde(default)]
    pub renewed_at: Option<Timestamp>,
}

impl Claim {
    /// The lease length the claim was taken with.
    pub fn ttl(&self) -> chrono::Duration {
        self.expires_at - self.renewed_at.unwrap_or(self.created_at)
    }

    /// Extends the lease by its own length from `now`.
    pub fn renew(&mut self, now: Timestamp) {
        let ttl = self.ttl();
        self.renewed_at = Some(now);
        self.expires_at = now + ttl;
    }

    /// Checks the fields a user or an agent supplied: the session name, the
    /// reason, the task id, and that the claim expires after it starts. The
    /// pattern was checked when it was parsed.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate_session_name(&self.session)?;
        if let Some(reason) = &self.reason {
            validate_line("claim reason", reason, MAX_REASON_CHARS)?;
        }
        if let Some(task) = &self.task {
            TaskId::try_from(task.clone())?;
        }
        if self.expires_at <= self.created_at {
            return Err(Invalid(format!(
                "the claim on '{}' would expire at {}, not after it starts at {}: give a positive duration",
                self.path,
                self.expires_at.to_rfc3339(),
                self.created_at.to_rfc3339()
            )));
        }
        Ok(())
    }

    /// The lease has run out: from `expires_at` on, the claim holds nothing.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Whether this claim covers a repository-relative file path.
    pub fn covers(&self, path: &str) -> bool {
        self.path.matches_path(path)
    }

    /// Two claims conflict when they belong to different sessions, both are
    /// exclusive, and their patterns overlap. Shared claims never conflict.
    /// Liveness (expiry, stale or ended sessions) is the caller's to check.
    pub fn conflicts_with(&self, other: &Claim) -> bool {
        self.session != other.session
            && self.mode == ClaimMode::Exclusive
            && other.mode == ClaimMode::Exclusive
            && self.path.overlaps(&other.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};
    use std::collections::BTreeSet;

    fn pattern(text: &str) -> ClaimPattern {
        ClaimPattern::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn claim(path: &str, session: &str, mode: ClaimMode) -> Claim {
        let now = at("2026-11-22T12:00:00Z");
        Claim {
            format: crate::model::FORMAT,
            path: pattern(path),
            session: session.to_string(),
            mode,
            reason: None,
            task: None,
            created_at: now,
            expires_at: now + Duration::hours(1),
            renewed_at: None,
        }
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

    #[test]
    fn claims_round_trip_through_json_with_snake_case_fields() {
        let mut c = claim("src/**/*.rs", "alice", ClaimMode::Exclusive);
        c.reason = Some("refactor".into());
        c.task = Some("t-3f9a".into());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(json["path"], "src/**/*.rs");
        assert_eq!(json["mode"], "exclusive");
        assert_eq!(json["created_at"], "2026-11-22T12:00:00Z");
        assert_eq!(json["expires_at"], "2026-11-22T13:00:00Z");
        let back: Claim = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert_eq!(serde_json::to_value(ClaimMode::Shared).unwrap(), "shared");
    }

    #[test]
    fn only_overlapping_exclusive_claims_of_different_sessions_conflict() {
        use ClaimMode::{Exclusive, Shared};
        let cases = [
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "bob", Exclusive), true),
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "alice", Exclusive), false),
            (claim("src/", "alice", Exclusive), claim("src/a.rs", "bob", Shared), false),
            (claim("src/", "alice", Shared), claim("src/a.rs", "bob", Shared), false),
            (claim("src/", "alice", Exclusive), claim("docs/", "bob", Exclusive), false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(a.conflicts_with(&b), expected, "{a:?} vs {b:?}");
            assert_eq!(b.conflicts_with(&a), expected, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn a_claim_expires_at_its_expiry_time() {
        let c = claim("src/", "alice", ClaimMode::Exclusive);
        assert!(!c.is_expired(c.expires_at - Duration::milliseconds(1)));
        assert!(c.is_expired(c.expires_at));
        assert!(c.covers("src/main.rs"));
    }

    #[test]
    fn claims_are_validated() {
        assert!(claim("src/", "alice", ClaimMode::Exclusive).validate().is_ok());
        let mut bad = claim("src/", "Alice", ClaimMode::Exclusive);
        assert!(bad.validate().is_err());
        bad.session = "alice".into();
        bad.reason = Some("two\nlines".into());
        assert!(bad.validate().is_err());
        bad.reason = None;
        bad.task = Some("not-a-task".into());
        assert!(bad.validate().is_err());
        bad.task = None;
        bad.expires_at = bad.created_at;
        assert!(bad.validate().is_err());
        assert_eq!(ClaimMode::parse("shared"), Ok(ClaimMode::Shared));
        assert!(ClaimMode::parse("read").is_err());
    }
}
