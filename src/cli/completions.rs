//! `git orchestrate completions bash|zsh|fish`: a completion script for
//! the shell, generated from the command line itself (clap_complete), so
//! it never falls out of step with it.
//!
//! The bash script also defines `_git_orchestrate`, which git's own bash
//! completion calls for `git orchestrate <TAB>`: it hands the words after
//! `orchestrate` to the generated completer as if `git-orchestrate` had
//! been typed.

use super::{Cli, CmdResult, Failure, Ui};
use clap::{Args, CommandFactory, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; source the output, e.g. in ~/.bashrc:
    /// eval "$(git orchestrate completions bash)"
    shell: Shell,
}

/// The bash script. clap_complete names its functions from the binary's
/// name but spells a `-` in it two ways (`git__orchestrate` in one place,
/// `git__subcmd__orchestrate` in another), which breaks every subcommand:
/// so the script is generated for a name without one and registered for
/// `git-orchestrate`, then the bridge for git is added.
fn bash_script() -> Result<String, Failure> {
    const PLAIN: &str = "gitorchestrate";
    let mut out = Vec::new();
    clap_complete::generate(clap_complete::Shell::Bash, &mut Cli::command().name(PLAIN), PLAIN, &mut out);
    let script = String::from_utf8_lossy(&out).replace(&format!(" {PLAIN}\n"), " git-orchestrate\n");
    let completer = format!("_{PLAIN}");
    if !script.contains(&format!("complete -F {completer} ")) {
        return Err(Failure::Error("the generated bash script registers no completer".into()));
    }
    Ok(script + &GIT_BRIDGE.replace("COMPLETER", &completer))
}

/// The bridge from git's bash completion (`git orchestrate <TAB>`, which
/// calls `_git_orchestrate` with git's `words` and `cword`) to the
/// generated completer of `git-orchestrate`.
const GIT_BRIDGE: &str = r#"
# `git orchestrate <TAB>`: git's completion calls _git_orchestrate.
_git_orchestrate() {
    local i at=0
    for ((i = 1; i < ${#words[@]}; i++)); do
        if [[ "${words[i]}" == orchestrate ]]; then at=$i; break; fi
    done
    local COMP_WORDS=("git-orchestrate" "${words[@]:at+1}")
    local COMP_CWORD=$((cword - at))
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPLETER git-orchestrate "$cur" "$prev"
}
"#;

pub fn run(ui: &Ui, a: CompletionsArgs) -> CmdResult {
    if ui.json {
        return Err(Failure::Invalid("completions prints a shell script: drop --json".into()));
    }
    let name = "git-orchestrate";
    let mut out = Vec::new();
    match a.shell {
        Shell::Bash => out = bash_script()?.into_bytes(),
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut Cli::command().name(name), name, &mut out)
        }
        Shell::Fish => clap_complete::generate(
            clap_complete::Shell::Fish,
            &mut Cli::command().name(name),
            name,
            &mut out,
        ),
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A reader that went away (`| head`) is not an error.
    let _ = stdout.write_all(&out).and_then(|_| stdout.flush());
    Ok(())
}
