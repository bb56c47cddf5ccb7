//! The paths a shell command writes, as far as a careful reading of the
//! common forms can tell: redirections (`>`, `>>`, `&>`, `N>`), `tee`,
//! `sed -i`, `perl -i`, `mv`, `cp`, `rm`, `rmdir`, `unlink`, `touch`,
//! `dd of=`, `find … -delete`, `git checkout -- / restore / rm / mv`, in
//! every command of a list or pipeline (`;`, `&&`, `||`, `|`, newlines),
//! after `cd` into a folder, behind `sudo`/`env`/`command`/`nohup`/`time`/
//! `nice`/`timeout`/`xargs` and variable assignments, and inside `bash -c`
//! and `eval` (a few levels deep). Heredoc bodies are text, not commands.
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
    /// Between commands: `;`, `&&`, `||`, `&`, a newline.
    Separator,
    /// `|` or `|&`: the next command reads this one's output.
    Pipe,
}

/// How deep `bash -c "…"` and `eval` are followed into each other.
const MAX_DEPTH: usize = 3;

/// Absolute paths (or glob patterns) that `command`, run in `cwd`, writes.
pub fn written_paths(command: &str, cwd: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(command, cwd, 0, &mut out);
    out
}

fn collect(command: &str, cwd: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let mut cwd = cwd.to_path_buf();
    // What the previous command of a pipeline prints as paths, for `| xargs rm`.
    let mut listed: Vec<Option<String>> = Vec::new();
    for words in commands(&tokenize(command)) {
        let upstream = std::mem::take(&mut listed);
        for target in &words.redirects {
            if let Some(p) = target.as_ref().and_then(|t| resolve(t, &cwd)) {
                out.push(p);
            }
        }
        let (args, via_xargs) = strip_wrappers(&words.args);
        let Some((name, rest)) = args.split_first() else { continue };
        let name = match name {
            Some(n) => n.rsplit('/').next().unwrap_or(n).to_string(),
            None => continue,
        };
        if name == "cd" && !via_xargs {
            match rest.first() {
                Some(Some(dir)) => match resolve(dir, &cwd) {
                    Some(d) => cwd = d,
                    None => return, // unknown folder: later paths cannot be placed
                },
                Some(None) => return,
                None => {}
            }
            continue;
        }
        listed = listed_paths(&name, rest);
        if let Some(script) = inner_script(&name, rest) {
            if depth < MAX_DEPTH {
                collect(&script, &cwd, depth + 1, out);
            }
            continue;
        }
        let mut targets = command_targets(&name, rest);
        // `find src -name x | xargs rm`: xargs hands the listed paths to rm.
        if via_xargs && words.piped && writes_operands(&name, rest) {
            targets.extend(upstream);
        }
        for target in targets.into_iter().flatten() {
            out.extend(resolve(&target, &cwd));
        }
    }
}

/// The command text a shell runs for us: `bash -c "…"` (also `sh`, `zsh`,
/// `dash`, `ksh`) and `eval …`; `None` when there is none or it is unknown.
fn inner_script(name: &str, args: &[Option<String>]) -> Option<String> {
    match name {
        "eval" => args.iter().cloned().collect::<Option<Vec<String>>>().map(|w| w.join(" ")),
        "bash" | "sh" | "zsh" | "dash" | "ksh" => {
            let mut inline = false;
            let mut iter = args.iter();
            while let Some(arg) = iter.next() {
                let arg = arg.as_deref()?;
                if arg == "--" {
                    break;
                }
                if let Some(flags) = arg.strip_prefix('-').or(arg.strip_prefix('+')) {
                    if matches!(arg, "-o" | "+o" | "-O" | "+O") {
                        iter.next();
                    } else if !flags.starts_with('-') && flags.contains('c') {
                        inline = true;
                    }
                    continue;
                }
                return inline.then(|| arg.to_string());
            }
            inline.then(|| iter.next().cloned().flatten()).flatten()
        }
        _ => None,
    }
}

/// The paths a command prints, one a line, for the next command of a
/// pipeline: `find`'s search roots, `ls` and `echo` operands, the files
/// `grep -l` searches.
fn listed_paths(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
    match name {
        "find" => find_roots(args).0,
        "ls" | "echo" => split_options(args, &[]).1,
        "grep" | "egrep" | "fgrep" => {
            let (options, operands) =
                split_options(args, &["-e", "-f", "-m", "-A", "-B", "-C", "--regexp", "--file"]);
            let lists = options.iter().any(|(o, _)| {
                matches!(o.as_str(), "--files-with-matches" | "--files-without-match")
                    || (!o.starts_with("--") && (o.contains('l') || o.contains('L')))
            });
            if !lists {
                return Vec::new();
            }
            let pattern_given =
                options.iter().any(|(o, _)| matches!(o.as_str(), "-e" | "-f" | "--regexp" | "--file"));
            let files: Vec<_> = operands.into_iter().skip(if pattern_given { 0 } else { 1 }).collect();
            let recursive = options.iter().any(|(o, _)| {
                o == "--recursive" || (!o.starts_with("--") && (o.contains('r') || o.contains('R')))
            });
            if files.is_empty() && recursive {
                vec![Some(".".to_string())]
            } else {
                files
            }
        }
        _ => Vec::new(),
    }
}

/// Whether a command run by xargs writes the paths it is handed.
fn writes_operands(name: &str, args: &[Option<String>]) -> bool {
    match name {
        "rm" | "rmdir" | "unlink" | "shred" | "truncate" | "touch" => true,
        "sed" => sed_in_place(&split_options(args, takes_value("sed")).0),
        "perl" => perl_script(args).in_place,
        _ => false,
    }
}

/// A path as the shell would see it, made absolute; `None` for what is not
/// a file (`/dev/null`) or what cannot be known.
fn resolve(word: &str, cwd: &Path) -> Option<PathBuf> {
    // `{}` is what xargs -I and find -exec put a path in place of.
    if word.is_empty() || word == "{}" || word.starts_with("/dev/") {
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
/// (`None` where the value is unknown), and whether it reads the previous
/// command's output.
#[derive(Default)]
struct Simple {
    args: Vec<Option<String>>,
    redirects: Vec<Option<String>>,
    piped: bool,
}

fn commands(tokens: &[Token]) -> Vec<Simple> {
    let mut out = Vec::new();
    let mut current = Simple::default();
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
                let next = Simple { piped: *token == Token::Pipe, ..Simple::default() };
                out.push(std::mem::replace(&mut current, next));
            }
        }
    }
    out.push(current);
    out
}

/// Drops what runs the real command: assignments, `sudo`, `env`, `nice`,
/// `timeout N`, `xargs`, ... with their options. Says whether xargs runs it.
fn strip_wrappers(args: &[Option<String>]) -> (&[Option<String>], bool) {
    let mut i = 0;
    let mut via_xargs = false;
    while let Some(Some(word)) = args.get(i) {
        let assignment = word
            .split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if assignment {
            i += 1;
            continue;
        }
        // Options that take a value, and operands before the command.
        let (with_value, operands): (&[&str], usize) = match word.as_str() {
            "sudo" => (&["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"], 0),
            "env" => (&["-u", "-C", "-S", "--unset", "--chdir"], 0),
            "command" | "nohup" | "time" | "exec" | "builtin" => (&[], 0),
            "nice" => (&["-n", "--adjustment"], 0),
            "ionice" => (&["-c", "-n", "-p", "--class", "--classdata"], 0),
            "stdbuf" => (&["-i", "-o", "-e"], 0),
            "timeout" => (&["-s", "-k", "--signal", "--kill-after"], 1),
            "xargs" => {
                via_xargs = true;
                (
                    &[
                        "-I",
                        "-L",
                        "-n",
                        "-P",
                        "-s",
                        "-d",
                        "-E",
                        "-a",
                        "--max-args",
                        "--max-procs",
                        "--delimiter",
                        "--arg-file",
                    ],
                    0,
                )
            }
            _ => break,
        };
        i += 1;
        while let Some(Some(option)) = args.get(i) {
            if !option.starts_with('-') || option == "-" {
                break;
            }
            i += if with_value.contains(&option.as_str()) { 2 } else { 1 };
        }
        i += operands;
    }
    (&args[i.min(args.len())..], via_xargs)
}

/// The paths one command writes (`None` for unknown words).
fn command_targets(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
    match name {
        "git" => return git_targets(args),
        "find" => {
            let (roots, deletes) = find_roots(args);
            return if deletes { roots } else { Vec::new() };
        }
        "perl" => {
            let perl = perl_script(args);
            return if perl.in_place { perl.files } else { Vec::new() };
        }
        "dd" => {
            return args
                .iter()
                .filter_map(|a| a.as_deref()?.strip_prefix("of=").map(|f| Some(f.to_string())))
                .collect()
        }
        _ => {}
    }
    let (options, operands) = split_options(args, takes_value(name));
    match name {
        "tee" | "rm" | "rmdir" | "touch" | "truncate" | "unlink" | "shred" => operands,
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
            if !sed_in_place(&options) {
                return Vec::new();
            }
            let script_given =
                options.iter().any(|(o, _)| matches!(o.as_str(), "-e" | "-f" | "--expression" | "--file"));
            operands.into_iter().skip(if script_given { 0 } else { 1 }).collect()
        }
        _ => Vec::new(),
    }
}

fn sed_in_place(options: &Options) -> bool {
    options
        .iter()
        .any(|(o, _)| o == "--in-place" || (!o.starts_with("--") && o.starts_with('-') && o.contains('i')))
}

/// The files `git` changes in the worktree: `checkout [<rev>] -- <paths>`,
/// `restore <paths>`, `rm <paths>`, `mv <from> <to>` (after `-C <dir>`).
fn git_targets(args: &[Option<String>]) -> Vec<Option<String>> {
    let mut dir: Option<String> = None;
    let mut i = 0;
    while let Some(Some(arg)) = args.get(i) {
        match arg.as_str() {
            "-C" => {
                let Some(Some(d)) = args.get(i + 1) else { return Vec::new() };
                dir = Some(match &dir {
                    Some(outer) if !d.starts_with('/') => format!("{outer}/{d}"),
                    _ => d.clone(),
                });
                i += 2;
            }
            "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" => i += 2,
            a if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let Some(Some(sub)) = args.get(i) else { return Vec::new() };
    let rest = &args[i + 1..];
    let paths: Vec<Option<String>> = match sub.as_str() {
        "checkout" => match rest.iter().position(|a| a.as_deref() == Some("--")) {
            Some(dash) => rest[dash + 1..].to_vec(),
            None => Vec::new(), // a branch, or a path only git can tell apart: not guessed
        },
        "restore" => split_options(rest, &["-s", "--source"]).1,
        "rm" | "mv" => split_options(rest, &[]).1,
        _ => Vec::new(),
    };
    match dir {
        None => paths,
        Some(dir) => paths
            .into_iter()
            .map(|p| p.map(|p| if p.starts_with('/') { p } else { format!("{dir}/{p}") }))
            .collect(),
    }
}

/// `find`'s search roots (`.` when none is named), and whether it deletes
/// what it finds (`-delete`, or `-exec rm …`).
fn find_roots(args: &[Option<String>]) -> (Vec<Option<String>>, bool) {
    let mut i = 0;
    while let Some(Some(option)) = args.get(i) {
        match option.as_str() {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            o if o.starts_with("-O") => i += 1,
            _ => break,
        }
    }
    let mut roots = Vec::new();
    while let Some(arg) = args.get(i) {
        if arg.as_deref().is_some_and(|a| a.starts_with('-') || a == "(" || a == "!" || a == ",") {
            break;
        }
        roots.push(arg.clone());
        i += 1;
    }
    if roots.is_empty() {
        roots.push(Some(".".to_string()));
    }
    let expression = &args[i..];
    let deletes = expression.iter().enumerate().any(|(k, a)| match a.as_deref() {
        Some("-delete") => true,
        Some("-exec" | "-execdir" | "-ok" | "-okdir") => expression
            .get(k + 1)
            .and_then(|c| c.as_deref())
            .map(|c| c.rsplit('/').next().unwrap_or(c))
            .is_some_and(|c| matches!(c, "rm" | "rmdir" | "unlink" | "shred" | "truncate")),
        _ => false,
    });
    (roots, deletes)
}

/// What a `perl` command line says: whether it edits in place (`-i`,
/// `-pi`, `-i.bak`) and the files it is given.
struct Perl {
    in_place: bool,
    files: Vec<Option<String>>,
}

fn perl_script(args: &[Option<String>]) -> Perl {
    let mut in_place = false;
    let mut script_given = false;
    let mut iter = args.iter();
    let mut operands = Vec::new();
    while let Some(arg) = iter.next() {
        let Some(word) = arg.as_deref() else {
            operands.push(None);
            operands.extend(iter.cloned());
            break;
        };
        if word == "--" || !word.starts_with('-') || word == "-" {
            if word != "--" {
                operands.push(arg.clone());
            }
            operands.extend(iter.cloned());
            break;
        }
        // A cluster of switches; some take the rest of the word as their value.
        let cluster: Vec<char> = word[1..].chars().collect();
        for (k, c) in cluster.iter().enumerate() {
            match c {
                'i' => {
                    in_place = true;
                    break; // the rest is the backup suffix
                }
                'e' | 'E' => {
                    script_given = true;
                    if k + 1 == cluster.len() {
                        iter.next();
                    }
                    break;
                }
                'M' | 'm' | 'I' | 'x' | 'd' | 'D' | 'C' | '0' | 'l' => break,
                _ => {}
            }
        }
    }
    let files = operands.into_iter().skip(if script_given { 0 } else { 1 }).collect();
    Perl { in_place, files }
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

    #[test]
    fn wrappers_are_seen_through() {
        assert_eq!(paths("nice -n 5 rm a"), ["/repo/a"]);
        assert_eq!(paths("nice -10 rm a"), ["/repo/a"]);
        assert_eq!(paths("timeout 10 rm a"), ["/repo/a"]);
        assert_eq!(paths("timeout -k 5 30s rm a"), ["/repo/a"]);
        assert_eq!(paths("nohup rm a &"), ["/repo/a"]);
        assert_eq!(paths("xargs rm -f b < list"), ["/repo/b"]);
        assert_eq!(paths("find docs -name '*.md' | xargs rm"), ["/repo/docs"]);
        assert_eq!(paths("ls *.log | xargs -0 rm -f"), ["/repo/*.log"]);
        assert_eq!(paths("grep -rl foo src | xargs sed -i s/foo/bar/"), ["/repo/src"]);
        assert!(paths("find docs | xargs grep x").is_empty(), "xargs running a reader");
        assert!(paths("cat list || xargs rm").is_empty(), "|| is no pipe");
        assert_eq!(paths("bash -c 'cd src && rm a.rs'; rm b"), ["/repo/src/a.rs", "/repo/b"]);
        assert_eq!(paths("sh -ec \"echo x > out\""), ["/repo/out"]);
        assert_eq!(paths("zsh -c 'bash -c \"touch deep\"'"), ["/repo/deep"]);
        assert_eq!(paths("sudo bash -c 'rm -rf build'"), ["/repo/build"]);
        assert_eq!(paths("eval rm x"), ["/repo/x"]);
        assert!(paths("bash script.sh").is_empty());
        assert!(paths("bash -c \"rm $X\"").is_empty(), "an unknown script is not guessed");
        let wrap = |c: String| format!("bash -c '{}'", c.replace('\'', "'\\''"));
        let three = (0..3).fold("rm z".to_string(), |c, _| wrap(c));
        assert_eq!(paths(&three), ["/repo/z"], "{three}");
        assert!(paths(&wrap(three.clone())).is_empty(), "recursion is bounded");
    }

    #[test]
    fn more_commands_that_write() {
        assert_eq!(paths("git checkout -- a.rs b.rs"), ["/repo/a.rs", "/repo/b.rs"]);
        assert_eq!(paths("git checkout HEAD~1 -- src/x.rs"), ["/repo/src/x.rs"]);
        assert!(paths("git checkout -b topic").is_empty());
        assert_eq!(paths("git restore --source HEAD --staged f"), ["/repo/f"]);
        assert_eq!(paths("git rm -r --cached old/"), ["/repo/old/"]);
        assert_eq!(paths("git mv a b"), ["/repo/a", "/repo/b"]);
        assert_eq!(paths("git -C sub restore f"), ["/repo/sub/f"]);
        assert!(paths("git status && git log -- a.rs").is_empty());
        assert_eq!(paths("unlink f"), ["/repo/f"]);
        assert_eq!(paths("find docs build -name '*.tmp' -delete"), ["/repo/docs", "/repo/build"]);
        assert_eq!(paths("find -L src -exec rm {} +"), ["/repo/src"]);
        assert_eq!(paths("find -name x -delete"), ["/repo"]);
        assert!(paths("find docs -name '*.md'").is_empty());
        assert_eq!(paths("perl -pi -e 's/a/b/' x.rs y.rs"), ["/repo/x.rs", "/repo/y.rs"]);
        assert_eq!(paths("perl -i.bak -pe 's/a/b/' x.rs"), ["/repo/x.rs"]);
        assert!(paths("perl -Mstrict -ne 'print' x.rs").is_empty(), "no -i: reads");
        assert_eq!(paths("dd if=/dev/zero of=disk.img bs=1M count=1"), ["/repo/disk.img"]);
    }
}
