//! The shell lexer: a command line split into words and operators as the
//! shell would (quotes, backslashes, `$…` and backquotes whose value is
//! unknown, comments, heredoc bodies skipped as text), then grouped into
//! simple commands with their output redirection targets.
//!
//! It knows nothing about what any command does; that is [`super::writes`]'s.

/// A piece of a command line.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A word with an unknown value: `$VAR`, `$(...)`, backquotes.
    Opaque,
    /// Output redirection; the next word is its target.
    Redirect,
    /// Input redirection (`<`, `<<<`): the next word is read, not written.
    Input,
    /// `<<DELIM` / `<<-DELIM`: the body, up to a line holding DELIM, is text.
    Heredoc(String),
    /// Between commands: `;`, `&&`, `||`, `&`, a newline.
    Separator,
    /// `|` or `|&`: the next command reads this one's output.
    Pipe,
}

/// One simple command: its words and its output redirection targets
/// (`None` where the value is unknown), and whether it reads the previous
/// command's output.
#[derive(Default)]
pub(super) struct SimpleCommand {
    pub(super) args: Vec<Option<String>>,
    pub(super) redirects: Vec<Option<String>>,
    pub(super) piped: bool,
}

/// The simple commands of a command line, in order: the words and the
/// operators of [`tokenize`] grouped at `;`, `&&`, `||`, `&`, `|` and newlines.
pub(super) fn split_commands(text: &str) -> Vec<SimpleCommand> {
    commands(&tokenize(text))
}

fn commands(tokens: &[Token]) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut current = SimpleCommand::default();
    let mut iter = tokens.iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            Token::Word(w) => current.args.push(Some(w.clone())),
            Token::Opaque => current.args.push(None),
            Token::Redirect => match iter.next() {
                Some(Token::Word(w)) => current.redirects.push(Some(w.clone())),
                Some(Token::Opaque) => current.redirects.push(None),
                _ => {}
            },
            Token::Input => {
                if matches!(iter.peek(), Some(Token::Word(_) | Token::Opaque)) {
                    iter.next();
                }
            }
            Token::Heredoc(_) => {}
            Token::Separator | Token::Pipe => {
                let next = SimpleCommand { piped: *token == Token::Pipe, ..SimpleCommand::default() };
                out.push(std::mem::replace(&mut current, next));
            }
        }
    }
    out.push(current);
    out
}

/// Splits a command line into words and operators, with quotes and
/// backslashes handled as the shell does.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut pending_heredocs: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    let mut word = String::new();
    let mut in_word = false;
    let mut opaque = false;
    let flush = |tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool, opaque: &mut bool| {
        if *in_word {
            tokens.push(if *opaque { Token::Opaque } else { Token::Word(std::mem::take(word)) });
        }
        word.clear();
        *in_word = false;
        *opaque = false;
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] != '\n' {
                    word.push(chars[i + 1]);
                    in_word = true;
                }
                i += 2;
                continue;
            }
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() && "\"\\$`".contains(chars[i + 1]) {
                        i += 1;
                    } else if chars[i] == '$' || chars[i] == '`' {
                        opaque = true;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '$' | '`' => {
                opaque = true;
                in_word = true;
                word.push(c);
                // Skip a $( ... ) or ` ... ` group whole: its operators are not ours.
                let close = match (c, chars.get(i + 1)) {
                    ('$', Some('(')) => Some(')'),
                    ('$', Some('{')) => Some('}'),
                    ('`', _) => Some('`'),
                    _ => None,
                };
                if let Some(close) = close {
                    let mut depth = 0;
                    i += if c == '`' { 1 } else { 2 };
                    while i < chars.len() {
                        if chars[i] == close && depth == 0 {
                            break;
                        }
                        if close == ')' && chars[i] == '(' {
                            depth += 1;
                        } else if close == ')' && chars[i] == ')' {
                            depth -= 1;
                        }
                        i += 1;
                    }
                }
            }
            ' ' | '\t' => flush(&mut tokens, &mut word, &mut in_word, &mut opaque),
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\n' => {
                flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
                tokens.push(Token::Separator);
                i += 1;
                // Heredoc bodies start on the next line: skip them.
                for (delim, strip_tabs) in pending_heredocs.drain(..) {
                    while i < chars.len() {
                        let end = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| i + p);
                        let line: String = chars[i..end].iter().collect();
                        i = (end + 1).min(chars.len());
                        let line = if strip_tabs { line.trim_start_matches('\t') } else { &line };
                        if line == delim {
                            break;
                        }
                    }
                }
                continue;
            }
            ';' | '|' | '&' | '(' | ')' => {
                // `&>` and `&>>` redirect both streams; `>&2` was handled with '>'.
                if c == '&' && chars.get(i + 1) == Some(&'>') {
                    flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
                    i += if chars.get(i + 2) == Some(&'>') { 3 } else { 2 };
                    tokens.push(Token::Redirect);
                    continue;
                }
                flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
                if c == '|' && chars.get(i + 1) != Some(&'|') {
                    // `|&` pipes both streams.
                    if chars.get(i + 1) == Some(&'&') {
                        i += 1;
                    }
                    tokens.push(Token::Pipe);
                    i += 1;
                    continue;
                }
                tokens.push(Token::Separator);
                while i + 1 < chars.len() && matches!(chars[i + 1], '|' | '&' | ';') && chars[i + 1] == c {
                    i += 1;
                }
            }
            '>' => {
                // A file-descriptor number right before it (`2>`) is part of the operator.
                if in_word && !opaque && !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
                i += 1;
                if matches!(chars.get(i), Some('>') | Some('|')) {
                    i += 1;
                }
                if chars.get(i) == Some(&'&') {
                    // `>&2`, `2>&1`: a copy of a descriptor, not a file.
                    i += 1;
                    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '-') {
                        i += 1;
                    }
                    continue;
                }
                tokens.push(Token::Redirect);
                continue;
            }
            '<' => {
                flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
                if chars.get(i + 1) == Some(&'<') && chars.get(i + 2) != Some(&'<') {
                    i += 2;
                    let strip_tabs = chars.get(i) == Some(&'-');
                    if strip_tabs {
                        i += 1;
                    }
                    while chars.get(i) == Some(&' ') {
                        i += 1;
                    }
                    let mut delim = String::new();
                    while i < chars.len() && !chars[i].is_whitespace() && !";|&<>()".contains(chars[i]) {
                        if !"'\"\\".contains(chars[i]) {
                            delim.push(chars[i]);
                        }
                        i += 1;
                    }
                    pending_heredocs.push((delim.clone(), strip_tabs));
                    tokens.push(Token::Heredoc(delim));
                    continue;
                }
                while chars.get(i) == Some(&'<') {
                    i += 1;
                }
                tokens.push(Token::Input);
                continue;
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    flush(&mut tokens, &mut word, &mut in_word, &mut opaque);
    tokens
}
