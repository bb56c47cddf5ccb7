//! `git orchestrate completions`: scripts that complete the real command
//! line, in bash both as `git-orchestrate` and under git's own completion
//! (`git orchestrate <TAB>`).

mod common;

use common::{Repo, Run, BIN};
use std::path::Path;

/// git's bash completion, as the git package installs it.
const GIT_COMPLETION: &str = "/usr/share/bash-completion/completions/git";

/// What bash offers for `line` (words; the last is being completed), with
/// our script and git's completion loaded, through git's entry point when
/// the line starts with `git`.
fn complete(repo: &Repo, words: &[&str]) -> Vec<String> {
    assert!(
        Path::new(GIT_COMPLETION).exists(),
        "{GIT_COMPLETION} is missing: install git's bash completion (the git package ships it)"
    );
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let entry = if words[0] == "git" {
        "__git_wrap__git_main"
    } else {
        "_gitorchestrate git-orchestrate \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\""
    };
    let script = format!(
        "source {GIT_COMPLETION}\neval \"$({BIN} completions bash)\"\n\
         COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()\n\
         {entry}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" ")
    );
    let run = Run::of(repo.command("bash").args(["-c", &script]));
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[test]
fn git_orchestrate_tab_completes_under_gits_own_bash_completion() {
    let repo = Repo::new();
    assert_eq!(complete(&repo, &["git", "orchestrate", "ta"]), ["task"]);
    assert_eq!(complete(&repo, &["git", "orchestrate", "task", "re"]), ["release", "retry", "reopen"]);
    let flags = complete(&repo, &["git", "orchestrate", "dispatch", "--d"]);
    assert_eq!(flags, ["--drain"]);
    assert_eq!(complete(&repo, &["git", "orchestrate", "completions", "z"]), ["zsh"]);
    // And as the binary itself.
    assert_eq!(complete(&repo, &["git-orchestrate", "le"]), ["lead"]);
    assert_eq!(complete(&repo, &["git-orchestrate", "lead", "t"]), ["take"]);
}

#[test]
fn zsh_and_fish_scripts_name_the_command_and_its_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [("zsh", "#compdef git-orchestrate"), ("fish", "complete -c git-orchestrate")] {
        // Outside any repository: a completion script needs none.
        let run =
            Run::of(std::process::Command::new(BIN).current_dir(dir.path()).args(["completions", shell]));
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        assert!(run.stdout.contains(marker), "{shell}: {}", &run.stdout[..200.min(run.stdout.len())]);
        for sub in ["lead", "dispatch", "retry", "import"] {
            assert!(run.stdout.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let bad = Run::of(std::process::Command::new(BIN).current_dir(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("bash") && bad.stderr.contains("fish"),
        "says what it expects: {}",
        bad.stderr
    );
}
