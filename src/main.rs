//! `git-orchestrate`: parse the command line, run it, exit with its code.

fn main() {
    std::process::exit(git_orchestrate::cli::main());
}
