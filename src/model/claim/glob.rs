//! The glob matcher behind claim patterns: one `/`-free piece of a pattern
//! compiled into a [`Segment`] (`*`, `?`, `[...]` classes, `**`), a path
//! matched against a list of segments, and whether two lists can match a
//! common path.
//!
//! Matching is greedy with one backtrack point, so it is never exponential and
//! allocates nothing; intersection is exact except that a character class is
//! assumed to match at least one character, which only errs towards "yes".
//! What a pattern means as a claim (anchoring, normalisation, which inputs are
//! refused and how the refusal is worded) is [`super::pattern`]'s.

/// Why a piece of a pattern is not a well-formed glob. The pattern parser
/// words it for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GlobError {
    /// A `[` with no closing `]`.
    UnclosedClass,
    /// A class range such as `z-a` whose end comes before its start.
    BackwardsRange { low: char, high: char },
}

/// One `/`-free piece of a compiled pattern.
#[derive(Debug, Clone)]
pub(super) enum Segment {
    /// A segment without wildcards, escapes already removed.
    Literal(String),
    /// A segment with at least one `*`, `?` or class.
    Glob(Vec<Token>),
    /// `**`: zero or more whole segments.
    AnyDepth,
}

/// One element of a glob segment.
#[derive(Debug, Clone)]
pub(super) enum Token {
    Char(char),
    /// `?`: exactly one character.
    AnyChar,
    /// `*`: zero or more characters (runs of `*` are collapsed at parse time).
    Star,
    Class(CharClass),
}

/// `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]`.
#[derive(Debug, Clone)]
pub(super) struct CharClass {
    negated: bool,
    ranges: Vec<(char, char)>,
}

/// Parses one `/`-free piece into a segment and its normalised text.
pub(super) fn parse_segment(piece: &str) -> Result<(Segment, String), GlobError> {
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
                let (token, end) = parse_class(&chars, i)?;
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
fn parse_class(chars: &[char], start: usize) -> Result<(Token, usize), GlobError> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&low) = chars.get(i) else {
            return Err(GlobError::UnclosedClass);
        };
        if low == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&high)) if high != ']' => {
                if high < low {
                    return Err(GlobError::BackwardsRange { low, high });
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
pub(super) fn segments_match(segments: &[Segment], path: &str) -> bool {
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

/// Whether some path matches both segment lists: `**` is the star over whole
/// segments, and two other segments meet when they can be the same name.
pub(super) fn segment_lists_intersect(a: &[Segment], b: &[Segment]) -> bool {
    sequences_intersect(a, b, |s| matches!(s, Segment::AnyDepth), segments_intersect)
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
