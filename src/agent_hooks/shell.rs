//! The paths a shell command writes, as far as a careful reading of the
//! common forms can tell: redirections (`>`, `>>`, `&>`, `N>`), `tee`,
//! `sed -i`, `mv`, `cp`, `rm`, `rmdir` and `touch`, in every command of a
//! list or pipeline (`;`, `&&`, `||`, `|`, newlines), after `cd` into a
//! folder, behind `sudo`/`env`/`command`/`nohup`/`time` and variable
//! assignments. Heredoc bodies are text, not commands.
//!
//! This is a guard against mistakes, not a sandbox: a write it cannot see
//! (a script, `python -c`, a path in a variable) is allowed, and the git
//! pre-commit hook still checks what gets committed.

use std::path::{Component, Path, PathBuf};

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
    /// Between commands: `;`, `&&`, `||`, `|`, `&`, a newline.
    Separator,
}

/// Absolute paths (or glob patterns) that `command`, run in `cwd`, writes.
pub fn written_paths(command: &str, cwd: &Path) -> Vec<PathBuf> {
    let mut cwd = cwd.to_path_buf();
    let mut out = Vec::new();
    for words in commands(&tokenize(command)) {
        let Some(words) = words else { continue };
        let resolve = |w: &String, cwd: &Path| resolve(w, cwd);
        for target in &words.redirects {
            if let Some(p) = target.as_ref().and_then(|t| resolve(t, &cwd)) {
                out.push(p);
            }
        }
        let args = strip_wrappers(&words.args);
        let Some((name, rest)) = args.split_first() else { continue };
        let name = match name {
            Some(n) => n.rsplit('/').next().unwrap_or(n).to_string(),
            None => continue,
        };
        if name == "cd" {
            match rest.first() {
                Some(Some(dir)) => match resolve(dir, &cwd) {
                    Some(d) => cwd = d,
                    None => return out, // unknown folder: later paths cannot be placed
                },
                Some(None) => return out,
                None => {}
            }
            continue;
        }
        for target in command_targets(&name, rest) {
            match target {
                Some(t) => out.extend(resolve(&t, &cwd)),
                None => continue,
            }
        }
    }
    out
}

/// A path as the shell would see it, made absolute; `None` for what is not
/// a file (`/dev/null`) or what cannot be known.
fn resolve(word: &str, cwd: &Path) -> Option<PathBuf> {
    if word.is_empty() || word.starts_with("/dev/") {
        return None;
    }
    let expanded = match word.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(std::env::var_os("HOME")?).join(rest.trim_start_matches('/'))
        }
        Some(_) => return None, // ~user
        None => PathBuf::from(word),
    };
    let joined = if expanded.is_absolute() { expanded } else { cwd.join(expanded) };
    // `..` and `.` folded away, a final `/` kept (it says "a folder").
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if word.ends_with('/') && !out.as_os_str().is_empty() {
        out.as_mut_os_string().push("/");
    }
    Some(out)
}

/// One simple command: its words and its output redirection targets
/// (`None` where the value is unknown).
struct Simple {
    args: Vec<Option<String>>,
    redirects: Vec<Option<String>>,
}

fn commands(tokens: &[Token]) -> Vec<Option<Simple>> {
    let mut out = Vec::new();
    let mut current = Simple { args: Vec::new(), redirects: Vec::new() };
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
            Token::Separator => {
                let done =
                    std::mem::replace(&mut current, Simple { args: Vec::new(), redirects: Vec::new() });
                out.push(Some(done));
            }
        }
    }
    out.push(Some(current));
    out
}

/// Drops what runs the real command: assignments, `sudo`, `env`, ...
/// with their options.
fn strip_wrappers(args: &[Option<String>]) -> &[Option<String>] {
    let mut i = 0;
    while let Some(Some(word)) = args.get(i) {
        let assignment = word
            .split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if assignment {
            i += 1;
            continue;
        }
        let with_value: &[&str] = match word.as_str() {
            "sudo" => &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
            "env" => &["-u", "-C", "-S", "--unset", "--chdir"],
            "command" | "nohup" | "time" | "exec" => &[],
            _ => break,
        };
        i += 1;
        while let Some(Some(option)) = args.get(i) {
            if !option.starts_with('-') || option == "-" {
                break;
            }
            i += if with_value.contains(&option.as_str()) { 2 } else { 1 };
        }
    }
    &args[i.min(args.len())..]
}

/// The paths one command writes (`None` for unknown words).
fn command_targets(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
    let (options, operands) = split_options(args, takes_value(name));
    match name {
        "tee" | "rm" | "rmdir" | "touch" | "truncate" => operands,
        "mv" | "cp" | "install" | "ln" => {
            let target_dir = options
                .iter()
                .find_map(|(o, v)| (o == "-t" || o == "--target-directory").then(|| v.clone()).flatten());
            match (name, target_dir) {
                ("mv", Some(dir)) => operands.into_iter().chain([Some(dir)]).collect(),
                (_, Some(dir)) => vec![Some(dir)],
                // mv also removes its sources.
                ("mv", None) => operands,
                (_, None) => operands.last().cloned().into_iter().collect(),
            }
        }
        "sed" => {
            let in_place = options.iter().any(|(o, _)| {
                o == "--in-place" || (!o.starts_with("--") && o.starts_with('-') && o.contains('i'))
            });
            if !in_place {
                return Vec::new();
            }
            let script_given =
                options.iter().any(|(o, _)| matches!(o.as_str(), "-e" | "-f" | "--expression" | "--file"));
            operands.into_iter().skip(if script_given { 0 } else { 1 }).collect()
        }
        _ => Vec::new(),
    }
}

/// Options that take the next word as their value, per command.
fn takes_value(name: &str) -> &'static [&'static str] {
    match name {
        "mv" | "cp" | "install" | "ln" => &["-t", "--target-directory", "-S", "--suffix", "-m", "-o", "-g"],
        "sed" => &["-e", "-f", "--expression", "--file", "-l", "--line-length"],
        "truncate" => &["-s", "--size", "-r", "--reference"],
        _ => &[],
    }
}

type Options = Vec<(String, Option<String>)>;

/// Splits arguments into options (with their values) and operands; `--`
/// ends the options.
fn split_options(args: &[Option<String>], with_value: &[&str]) -> (Options, Vec<Option<String>>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg {
            Some(a) if a == "--" => {
                operands.extend(iter.cloned());
                break;
            }
            Some(a) if a.starts_with('-') && a.len() > 1 => {
                if let Some((key, value)) = a.split_once('=').filter(|_| a.starts_with("--")) {
                    options.push((key.to_string(), Some(value.to_string())));
                } else if with_value.contains(&a.as_str()) {
                    options.push((a.clone(), iter.next().cloned().flatten()));
                } else {
                    options.push((a.clone(), None));
                }
            }
            other => operands.push(other.clone()),
        }
    }
    (options, operands)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(command: &str) -> Vec<String> {
        written_paths(command, Path::new("/repo"))
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn redirections_name_their_targets() {
        assert_eq!(paths("echo hi > a.txt"), ["/repo/a.txt"]);
        assert_eq!(paths("echo hi>>logs/b.txt"), ["/repo/logs/b.txt"]);
        assert_eq!(paths("make 2> err.log &> all.log"), ["/repo/err.log", "/repo/all.log"]);
        assert_eq!(paths("printf x >| '/abs/with space'"), ["/abs/with space"]);
        assert!(paths("cargo test 2>&1 | head >/dev/null").is_empty(), "descriptor copies and /dev/null");
        assert!(paths("wc -l < input.txt").is_empty(), "input is read, not written");
    }

    #[test]
    fn write_commands_name_their_targets() {
        assert_eq!(paths("cargo build | tee -a build.log out.log"), ["/repo/build.log", "/repo/out.log"]);
        assert_eq!(paths("sed -i 's/a/b/' src/x.rs src/y.rs"), ["/repo/src/x.rs", "/repo/src/y.rs"]);
        assert_eq!(paths("sed -i.bak -e s/a/b/ f.rs"), ["/repo/f.rs"]);
        assert!(paths("sed 's/a/b/' f.rs").is_empty(), "sed without -i only reads");
        assert_eq!(paths("mv a.rs b.rs"), ["/repo/a.rs", "/repo/b.rs"], "mv removes its source");
        assert_eq!(paths("cp -r src/a dest/"), ["/repo/dest/"]);
        assert_eq!(paths("cp -t out a b"), ["/repo/out"]);
        assert_eq!(paths("rm -rf build/ -- -odd"), ["/repo/build/", "/repo/-odd"]);
        assert_eq!(paths("sudo -u me rm x"), ["/repo/x"]);
        assert_eq!(paths("FOO=1 env rm y"), ["/repo/y"]);
        assert!(paths("ls -la; cat a.rs; grep -r x src").is_empty());
    }

    #[test]
    fn lists_cd_quotes_and_heredocs() {
        assert_eq!(paths("cd src && rm a.rs; touch ../b"), ["/repo/src/a.rs", "/repo/b"]);
        assert_eq!(paths("echo 'rm x > y' \"> z\""), Vec::<String>::new());
        assert_eq!(
            paths("cat > notes.md <<'EOF'\nrm everything\n> nope\nEOF\nrm last"),
            ["/repo/notes.md", "/repo/last"]
        );
        assert!(paths("rm \"$FILE\" $(pwd)/x").is_empty(), "unknown values are not guessed");
        assert_eq!(paths("# rm commented\nrm real"), ["/repo/real"]);
        assert_eq!(paths("rm a\\ b"), ["/repo/a b"]);
    }
}
