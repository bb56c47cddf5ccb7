//! `git orchestrate --help` makes git open the man page `git-orchestrate(1)`:
//! the committed page must match the command line. Regenerate it with
//! `UPDATE_MAN=1 cargo test --test man_page`.

use clap::CommandFactory;
use git_orchestrate::cli::Cli;

fn render() -> Vec<u8> {
    let mut out = Vec::new();
    let command = Cli::command().name("git-orchestrate");
    clap_mangen::Man::new(command.clone()).render(&mut out).unwrap();
    // The subcommands get sections of their own, so `man git-orchestrate`
    // documents every command, not only the top level.
    for sub in command.get_subcommands() {
        render_sub(&mut out, sub, "git orchestrate");
    }
    out
}

fn render_sub(out: &mut Vec<u8>, command: &clap::Command, parent: &str) {
    let name = format!("{parent} {}", command.get_name());
    out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
    let mut section = Vec::new();
    let cmd = command.clone().bin_name(&name);
    clap_mangen::Man::new(cmd.clone()).render_synopsis_section(&mut section).unwrap();
    clap_mangen::Man::new(cmd.clone()).render_description_section(&mut section).unwrap();
    clap_mangen::Man::new(cmd).render_options_section(&mut section).unwrap();
    // Demote the sub-page's own headings so they sit under this section.
    let text = String::from_utf8(section).unwrap().replace(".SH ", ".SS ");
    out.extend_from_slice(text.as_bytes());
    for sub in command.get_subcommands() {
        render_sub(out, sub, &name);
    }
}

#[test]
fn the_committed_man_page_matches_the_command_line() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/git-orchestrate.1");
    let fresh = render();
    if std::env::var_os("UPDATE_MAN").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/git-orchestrate.1 is stale: regenerate it with `UPDATE_MAN=1 cargo test --test man_page`"
    );
}
