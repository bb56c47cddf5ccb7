//! The instructions an agent needs to take part (`git orchestrate prompt`),
//! and putting them in AGENTS.md / CLAUDE.md / GEMINI.md between markers,
//! so that installing again replaces our block and nothing else.
//!
//! The text is kept short on purpose: it is loaded into every agent's
//! context, where each token costs. Measured size is in the README.

/// The first line of our block in an instructions file.
pub const BEGIN: &str =
    "<!-- git-orchestrate:begin (written by `git orchestrate prompt --install`; changes inside are replaced) -->";
/// The last line of our block.
pub const END: &str = "<!-- git-orchestrate:end -->";

/// The instructions, for `session` (if known) and `role` (if any);
/// `stale_after` is how long a silent session stays live (`15m`).
pub fn text(session: Option<&str>, role: Option<&str>, stale_after: &str) -> String {
    let role_flag = role.map(|r| format!(" --role {r}")).unwrap_or_default();
    let who = match (session, role) {
        (Some(s), Some(r)) => format!("You are session `{s}` (role `{r}`); every command acts as it."),
        (Some(s), None) => format!("You are session `{s}`; every command acts as it."),
        (None, _) => format!(
            "Every command acts as your session: work inside the worktree that `git orchestrate session start <name>{role_flag}` \
             made (it prints the path and records who you are there), or have the agent started with \
             `ORCHESTRATE_SESSION=<name>` in its environment (an `export` in your shell does not reach the hooks). \
             After a restart: `git orchestrate session start <name> --resume`."
        ),
    };
    format!(
        r#"## Working with other agents: git orchestrate

Several agents change this repository at once. `git orchestrate` coordinates them through git refs (no server). Follow this protocol.

**Who you are.** {who} `git orchestrate session show` tells you.

**Take work.**
- `git orchestrate task list --ready{role_flag}`: what can be done now.
- `git orchestrate task claim --next{role_flag}`: take the best ready task (atomic; exit 1 if none). Or `task claim <id>`.
- `git orchestrate task show <id>`: description, notes, history.
- `git orchestrate task add "<title>" -d "<details>" --after <id>{role_flag}`: queue follow-up work instead of doing everything yourself.

**Claim paths before you edit them.**
- `git orchestrate claim src/api/ docs/api.md --reason "<why>" --task <id>`: exclusive leases (2h, renewed while you are active). Exit 1 names the holder: then do other work, or ask them.
- `git orchestrate check <path>` (exit 1 if someone else holds it); `git orchestrate claims` lists every lease.
- Edits of paths another session holds are refused: never work around a claim.

**Talk.**
- `git orchestrate send <session>|all|role:<r> "<subject>" "<body>" --kind note|help|handoff|status --reply-to <id>` (kind and reply optional).
- `git orchestrate inbox`: your unread messages. Read it when you start a task and whenever told you have mail.
- `git orchestrate inbox --wait 110`: wait for a reply instead of polling (exit 1 after 110 s; then run it again). Keep each wait under 2 minutes, the usual shell tool timeout.

**Stay visible.** `git orchestrate heartbeat --doing "<step>" --progress <0-100>` at each step, at least every 10 minutes (any command counts). After {stale_after} of silence you are stale: your claims stop protecting you and your tasks can be taken.

**Finish.**
- Commit with a `Closes: <id>` trailer (marks it done and tells everyone), or `git orchestrate task done <id> --note "<summary>"`. `Task: <id>` records a commit without closing.
- Progress: `git orchestrate task note <id> "<text>" --progress 50`. Cannot finish: `task fail <id> --note "<why>"` or `task release <id>`.
- `git orchestrate release --all`, `send` a `handoff` to whoever continues, then claim the next task.
- Before you hand it over, `git orchestrate conflicts` shows whose work (committed or not) collides with yours; a `conflict ahead` message says the same after a commit.
- Hand your committed work over with `git orchestrate land --queue`: it lands on your target branch in turn. A conflict comes back as a `handoff` message: `git rebase <target>`, fix, commit, queue again.

Add `--json` to any command for one JSON value. Exit codes: 0 done, 1 refused (held by someone, nothing ready), 2 bad input, 3 failure (retry or report it).
"#
    )
}

/// Why an instructions file cannot be updated.
#[derive(Debug, PartialEq, Eq)]
pub struct BrokenBlock {
    /// 1-based line of the begin marker that has no end.
    pub line: usize,
}

/// `existing` with our block set to `block`: replaced where it is, or
/// appended after a blank line. Everything outside the markers is kept
/// byte for byte; the block takes the file's line ending (CRLF if its first
/// line ends so), and markers quoted inside ``` or ~~~ fences are text.
pub fn splice(existing: &str, block: &str) -> Result<String, BrokenBlock> {
    let eol = match existing.find('\n') {
        Some(i) if existing[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    };
    let mut wrapped = String::new();
    for line in [BEGIN].into_iter().chain(block.trim_end().lines()).chain([END]) {
        wrapped.push_str(line.trim_end_matches('\r'));
        wrapped.push_str(eol);
    }
    let lines: Vec<&str> = existing.split_inclusive('\n').collect();
    // Which lines are inside a fenced code block.
    let mut fence: Option<&str> = None;
    let outside: Vec<bool> = lines
        .iter()
        .map(|l| {
            let t = l.trim();
            let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
            match (fence, marker) {
                (None, Some(m)) => {
                    fence = Some(m);
                    false
                }
                (Some(f), Some(m)) if f == m && t.trim_start_matches(m).is_empty() => {
                    fence = None;
                    false
                }
                (Some(_), _) => false,
                (None, None) => true,
            }
        })
        .collect();
    let begin = (0..lines.len())
        .find(|&i| outside[i] && lines[i].trim_end().starts_with("<!-- git-orchestrate:begin"));
    let Some(begin) = begin else {
        let mut out = existing.to_string();
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(eol);
        }
        out.push_str(&wrapped);
        return Ok(out);
    };
    let end = (begin..lines.len()).find(|&i| outside[i] && lines[i].trim_end() == END);
    let Some(end) = end else { return Err(BrokenBlock { line: begin + 1 }) };
    let mut out: String = lines[..begin].concat();
    out.push_str(&wrapped);
    out.push_str(&lines[end + 1..].concat());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_appends_then_replaces_only_our_block() {
        let mine = "# Project\n\nUse tabs.\n";
        let once = splice(mine, "v1").unwrap();
        assert_eq!(once, format!("# Project\n\nUse tabs.\n\n{BEGIN}\nv1\n{END}\n"));
        assert_eq!(splice(&once, "v1").unwrap(), once, "twice is a no-op");
        let later = format!("{once}\n## More of mine\n");
        assert_eq!(
            splice(&later, "v2").unwrap(),
            format!("# Project\n\nUse tabs.\n\n{BEGIN}\nv2\n{END}\n\n## More of mine\n")
        );
        assert_eq!(splice("", "v1").unwrap(), format!("{BEGIN}\nv1\n{END}\n"));
        assert_eq!(splice("a\n<!-- git-orchestrate:begin -->\nb\n", "v"), Err(BrokenBlock { line: 2 }));
    }

    #[test]
    fn splice_keeps_crlf_and_ignores_markers_in_fences() {
        let crlf = "# Project\r\nRules.\r\n";
        let once = splice(crlf, "v1\nv2").unwrap();
        assert_eq!(once, format!("# Project\r\nRules.\r\n\r\n{BEGIN}\r\nv1\r\nv2\r\n{END}\r\n"));
        assert_eq!(splice(&once, "v1\nv2").unwrap(), once);
        let quoted = "Our block looks like:\n```md\n<!-- git-orchestrate:begin -->\n```\n";
        let added = splice(quoted, "v").unwrap();
        assert_eq!(added, format!("{quoted}\n{BEGIN}\nv\n{END}\n"));
        assert_eq!(splice(&added, "w").unwrap(), format!("{quoted}\n{BEGIN}\nw\n{END}\n"));
    }

    #[test]
    fn the_text_names_the_session_and_role_it_is_for() {
        let t = text(Some("alice"), Some("backend"), "15m");
        assert!(t.contains("You are session `alice` (role `backend`)"));
        assert!(t.contains("task claim --next --role backend"));
        let generic = text(None, None, "15m");
        assert!(generic.contains("session start <name>") && !generic.contains("--role"));
    }
}
