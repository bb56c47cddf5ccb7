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
//!
//! [`lexer`] splits a command line into simple commands; [`writes`] holds
//! the rules for what each known command writes; this module walks the
//! commands in order, following `cd`, wrappers, pipelines into `xargs` and
//! nested shells, and makes every path absolute.

mod lexer;
mod writes;

use lexer::split_commands;
use std::path::{Component, Path, PathBuf};
use writes::{command_targets, listed_paths, writes_operands};

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
    for words in split_commands(command) {
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
