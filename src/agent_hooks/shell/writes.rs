//! The write rules: which paths each known command writes (`tee`, `sed -i`,
//! `perl -i`, `mv`, `cp`, `rm`, `touch`, `dd of=`, `find … -delete`,
//! `git checkout -- / restore / rm / mv`, …), which paths a command prints
//! for the next one of a pipeline, and whether a command run by `xargs`
//! writes what it is handed.
//!
//! Rules work on a command's name and its words (`None` for a word whose
//! value is unknown); they never guess an unknown word, and they return the
//! paths as written, for the caller to resolve against the current folder.

/// The paths a command prints, one a line, for the next command of a
/// pipeline: `find`'s search roots, `ls` and `echo` operands, the files
/// `grep -l` searches.
pub(super) fn listed_paths(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
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
pub(super) fn writes_operands(name: &str, args: &[Option<String>]) -> bool {
    match name {
        "rm" | "rmdir" | "unlink" | "shred" | "truncate" | "touch" => true,
        "sed" => sed_in_place(&split_options(args, takes_value("sed")).0),
        "perl" => perl_script(args).in_place,
        _ => false,
    }
}

/// The paths one command writes (`None` for unknown words).
pub(super) fn command_targets(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
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
