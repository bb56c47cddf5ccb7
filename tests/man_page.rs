//! `git orchestrate --help` makes git open the man page `git-orchestrate(1)`:
//! the committed page must match the command line. Regenerate it with
//! `UPDATE_MAN=1 cargo test --test man_page`.

use clap::CommandFactory;
use git_orchestrate::cli::Cli;

fn render() -> Vec<u8> {
    let mut out = Vec::new();
    let command = Cli::command().name("git-orchestrate");
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    // Every command gets a section here (there are no per-command pages),
    // so `man git-orchestrate` documents the whole command line.
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub(&mut out, sub, "git orchestrate");
    }
    out.extend_from_slice(EXTRA.as_bytes());
    out
}

const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
0
done
.TP
1
refused by coordination: held by another session, nothing ready, a check failed, uncommitted work; the reason is on stderr (with --json, as {"error":{"kind":"refused","reason":...}} on stdout); doctor: problems left
.TP
2
bad input or usage; nothing was changed
.TP
3
failure: not a repository, a corrupt document (doctor --repair moves it aside), a newer storage format, a lock that cannot be removed, a git error; with orchestrate.remote, a write the remote did not accept (unreachable, no answer in time, refused by its hook, hidden refs), naming the remote and what git said; nothing was changed
.SH ENVIRONMENT
.TP
ORCHESTRATE_SESSION
the acting session, when --session is not given (else the session recorded in the current worktree)
.TP
ORCHESTRATE_HOST
the name of this machine that sessions record, shown beside sessions of other hosts (default: the host name)
.TP
ORCHESTRATE_NOW
an RFC 3339 time that pins the clock, for tests and demos
.TP
NO_COLOR
no colour, even on a terminal
.TP
GEMINI_CLI_TRUSTED_FOLDERS_PATH, GEMINI_CLI_HOME, CODEX_HOME
where integrate reads (and with \-\-trust\-worktrees writes) the agents' trust: Gemini CLI's trustedFolders.json and Codex CLI's config.toml, as the agents themselves do
.TP
ORCHESTRATE_TASK, ORCHESTRATE_REPO, ORCHESTRATE_LOG, ORCHESTRATE_PROMPT_FILE
set by spawn for the agent: its task, the main working tree, its log, and the file holding its prompt
.SH CONFIGURATION
.TP
orchestrate.staleAfter
heartbeat age after which a session is stale (default 15m)
.TP
orchestrate.worktreeRoot
where session worktrees are made (default <repo>.worktrees beside the repository)
.TP
orchestrate.setup
shell command run in every new session worktree
.TP
orchestrate.fsync
fsync every object and ref written (default: follows core.fsync)
.TP
orchestrate.remote
a git remote (a name or a URL) that every write is pushed to with a lease (git push \-\-force\-with\-lease), making it the shared state of clones on several machines; see sync
.TP
orchestrate.fetchInterval
how old the local copies of the remote's refs may be before a read fetches them again (default 3s; 0s fetches every time)
.TP
orchestrate.remoteHeartbeat
with a remote, how often a session's liveness (heartbeat, claim renewals) is pushed at most (default 60s)
.TP
orchestrate.agent.<preset>.command
shell command that starts an agent (spawn --agent <preset>); the task's prompt is added as its last argument
.TP
orchestrate.agent.<preset>.prompt
how the prompt reaches that command: argument (default) or stdin
.TP
orchestrate.role.<role>.agent
the preset spawn and dispatch use for tasks and sessions of that role
.TP
orchestrate.agentBackoff
delay before the first restart of a failed agent, doubled for each next one (default 1s)
.TP
orchestrate.agent.<preset>.timeout, orchestrate.agent.<preset>.idleTimeout
stop that preset's agents after this long, or after this long without output (spawn --timeout, --idle-timeout)
.TP
orchestrate.statusFile
a file (relative: in the main checkout) rewritten with the markdown board after every write
.TP
orchestrate.notify
a command run for each message to human and each failed task, with a summary as $1 and ORCHESTRATE_EVENT, ORCHESTRATE_SUBJECT, ORCHESTRATE_FROM, ORCHESTRATE_KIND, ORCHESTRATE_BODY, ORCHESTRATE_TASK
.TP
orchestrate.landInto
target branch of sessions that name none (start --into, else the branch --base names, else HEAD's branch); an ended agent's worktree is kept while its branch has commits its target lacks
.TP
orchestrate.landMode
how land integrates: merge (default), squash or rebase
.TP
orchestrate.landCheck
shell command that must pass in a temporary worktree of the result before land moves the target
.TP
orchestrate.landOnDone
queue: a task marked done in a session queues the session's branch for landing
.SH "SEE ALSO"
README.md, docs/data-model.md and docs/claims.md in the git-orchestrate sources.
"#;

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
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
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
