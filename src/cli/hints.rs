//! The way out of a refusal, worded for the command line: `hint:` lines
//! in CLI syntax, from the facts `ops` gives (the MCP server words the same
//! facts for tools).

use crate::ops::Reason;

pub fn for_refusal(reason: &Reason) -> Vec<String> {
    match reason {
        Reason::Held { task, holder, .. } => vec![
            "pick another task: `git orchestrate task claim --next`".to_string(),
            format!("or ask {holder} to release it: `git orchestrate send {holder} \"release {task}?\"`"),
            format!("a human can take it back: `git orchestrate task release {task} --force`"),
        ],
        Reason::Claimed { conflicts } => {
            let holder = conflicts.first().map(|c| c.holder.as_str()).unwrap_or("the holder");
            vec![
                format!("ask {holder} to release it: `git orchestrate send {holder} \"<subject>\"`"),
                "or claim something else, or wait for the claim to expire (`git orchestrate claims`)".to_string(),
            ]
        }
        Reason::Waiting { task, .. } => {
            vec![format!("claim it when they are done, or now with `git orchestrate task claim {task} --force`")]
        }
        Reason::Blocked { task, .. } => vec![format!(
            "drop the dependency with `git orchestrate task edit {task} --no-after <id>`, or claim it with --force"
        )],
        Reason::NothingReady { .. } => vec![
            "add work with `git orchestrate task add`".to_string(),
            "see what waits on what with `git orchestrate task list`".to_string(),
        ],
        Reason::Ended { session } => {
            vec![format!("start it again with `git orchestrate session start {session}`")]
        }
        Reason::AgentRunning { agent, .. } => {
            vec![format!("stop it with `git orchestrate stop {agent}`, or spawn under another name")]
        }
        Reason::AgentStarting { .. } => vec!["see it with `git orchestrate ps`".to_string()],
        Reason::AgentNotRunning { agent, .. } => {
            vec![format!("see how it ended with `git orchestrate logs {agent}`")]
        }
        Reason::NoWorktree { session } => {
            vec![format!("end it with `git orchestrate session end {session}`, or spawn under another name")]
        }
        Reason::TaskClosed { .. } => {
            vec!["give the agent an unfinished task (`git orchestrate task list --ready`)".to_string()]
        }
        Reason::HeldByEndedAgent { task, holder } => vec![
            format!("spawn it again as {holder}: `git orchestrate spawn {holder} --task {task} -- ...`"),
            format!("or put it back with `git orchestrate task release {task} --force`"),
        ],
        Reason::DependenciesConflict { .. } => {
            vec!["see what each session's branch changes with `git orchestrate conflicts`".to_string()]
        }
        Reason::WorktreeKept { session, branch, .. } => vec![format!(
            "land its branch (`git orchestrate land {session}`), or pass --force (its commits stay on branch {})",
            branch.as_deref().unwrap_or("orchestrate/<name>")
        )],
        Reason::NothingToLand { .. } => Vec::new(),
        Reason::QueueEmpty => vec!["queue work with `git orchestrate land --queue`".to_string()],
        Reason::TargetRebasing { .. } => {
            vec!["finish or abort that rebase (`git rebase --continue` or `--abort`), then land again".to_string()]
        }
        Reason::TargetInSeveralCheckouts { .. } => vec!["see them with `git worktree list`".to_string()],
        Reason::CheckoutNotForwarded { checkout, .. } => {
            vec![format!("see what is in the way with `git -C {checkout} status`, then land again")]
        }
        Reason::BranchNotLanded { session, .. } => vec![
            format!("land them first: `git orchestrate land {session}`"),
            "or end the session without --delete-branch to keep the branch".to_string(),
        ],
        Reason::NoLandTarget { .. } => vec!["end it without --delete-branch".to_string()],
        Reason::UncommittedWork { session, .. } => vec![
            format!("commit it and land it first (`git orchestrate land {session}`)"),
            "or end the session without --delete-branch to keep the branch".to_string(),
        ],
        Reason::NoNewMessage { .. } => vec![
            "wait longer with `git orchestrate inbox --wait <seconds>` (or `--wait` alone, for as long as it takes)"
                .to_string(),
            "see messages already read with `git orchestrate inbox --all`".to_string(),
        ],
        Reason::HooksManaged { .. } | Reason::HookUnwrappable { .. } => {
            vec!["`git orchestrate hooks status` shows which hooks are in place".to_string()]
        }
        Reason::HooksPathRelative { path } => vec![
            format!("make it absolute: `git config core.hooksPath \"$(git rev-parse --show-toplevel)/{path}\"` (or `git config --unset core.hooksPath`)"),
            "then run `git orchestrate hooks install` again".to_string(),
        ],
        Reason::HookReplaced { .. } => vec!["then run `git orchestrate hooks install` again".to_string()],
        Reason::Other => Vec::new(),
    }
}
