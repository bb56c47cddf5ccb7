//! The way out of a refusal, worded for the command line: `hint:` lines
//! in CLI syntax, from the facts `ops` gives (the MCP server words the same
//! facts for tools).

use crate::model::task::TaskStatus;
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
        Reason::TaskClosed { action, .. } if action == "spawn" => {
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
        Reason::SessionActive { session, .. } => vec![format!(
            "resume it with `git orchestrate session start {session} --resume`, or pick another name"
        )],
        Reason::NoUnusedName => vec!["give one: `git orchestrate session start <name>`".to_string()],
        Reason::WorktreeOfAnotherBranch { .. } => vec![
            "end or move that worktree (`git worktree list` shows it)".to_string(),
            "or keep session worktrees elsewhere: `git config orchestrate.worktreeRoot <folder>`".to_string(),
        ],
        Reason::FolderInTheWay { .. } => vec![
            "move it away".to_string(),
            "or keep session worktrees elsewhere: `git config orchestrate.worktreeRoot <folder>`".to_string(),
        ],
        Reason::BeingEnded { session } => {
            vec![format!("see `git orchestrate session show {session}` once it is done")]
        }
        Reason::UnsavedWork { session, checked_out, .. } => vec![
            "commit what belongs".to_string(),
            format!(
                "or end it with `git orchestrate session end {session} --force`: uncommitted work is committed to {}, \
                 nested repositories are moved whole and changed {} copies backed up under .git/orchestrate/saved",
                match checked_out {
                    Some(branch) => format!("{branch} (the branch it has checked out)"),
                    None => "a new branch (its HEAD is detached)".to_string(),
                },
                crate::worktree::INCLUDE_FILE
            ),
        ],
        Reason::ChangedWhileEnding { session, .. } => {
            vec![format!("run `git orchestrate session end {session}` again")]
        }
        Reason::NotClaimed { .. } => vec!["see who holds what with `git orchestrate claims`".to_string()],
        Reason::LeadHeld { lead, .. } => vec![
            format!("ask {lead} to release it: `git orchestrate send {lead} \"may I take the lead?\"`"),
            "a human can take it over with `git orchestrate lead take --force`".to_string(),
        ],
        Reason::NoLead => Vec::new(),
        Reason::NotTheLead { lead, .. } => vec![
            format!("ask {lead} to release it: `git orchestrate send {lead} \"<subject>\"`"),
            "a human can release it with `git orchestrate lead release --force`".to_string(),
        ],
        Reason::LeadOnly { lead: Some(lead), .. } => {
            vec![format!("ask {lead}: `git orchestrate send {lead} \"<subject>\"`")]
        }
        Reason::LeadOnly { lead: None, .. } => {
            vec!["take the lead first: `git orchestrate lead take`".to_string()]
        }
        Reason::AlreadyEnded { .. } => Vec::new(),
        Reason::AgentAtWork { session, .. } => {
            vec![format!("stop it first with `git orchestrate stop {session}`, then end the session")]
        }
        Reason::SessionLive { session } => {
            vec![format!("ask {session} with `git orchestrate send {session} ...`, or wait until it goes stale")]
        }
        Reason::TaskClosed { .. }
        | Reason::TaskNotClaimed { .. }
        | Reason::NotTaskHolder { .. }
        | Reason::TaskNotOpen { .. }
        | Reason::TaskNotRetryable { .. }
        | Reason::AssigneeNotLive { .. }
        | Reason::NoFreeTaskId { .. } => for_task_refusal(reason),
    }
}

/// The task queue's refusals.
fn for_task_refusal(reason: &Reason) -> Vec<String> {
    let reopen = |task: &str| format!("reopen it first: `git orchestrate task retry {task}`");
    let add = "its work is in: add a new task for more with `git orchestrate task add`".to_string();
    match reason {
        Reason::TaskClosed { task, status, .. } | Reason::TaskNotOpen { task, status, .. }
            if matches!(status, TaskStatus::Failed | TaskStatus::Cancelled) =>
        {
            vec![reopen(task)]
        }
        Reason::TaskClosed { .. } | Reason::TaskNotRetryable { status: TaskStatus::Done, .. } => vec![add],
        Reason::TaskNotOpen { status: TaskStatus::Done, .. } => vec![add],
        Reason::TaskNotOpen { holder, .. } => vec![
            "assign an open task instead: `git orchestrate task list --ready`".to_string(),
            format!("or ask {} to release it", holder.as_deref().unwrap_or("its holder")),
        ],
        Reason::TaskNotClaimed { task, action } if action != "release" => vec![
            format!("claim it first: `git orchestrate task claim {task}`"),
            format!("or, as a human, finish it anyway: `git orchestrate task {action} {task} --force`"),
        ],
        Reason::NotTaskHolder { task, .. } => {
            vec![format!("leave the note without --progress: `git orchestrate task note {task} \"<text>\"`")]
        }
        Reason::AssigneeNotLive { .. } => {
            vec!["see the live sessions with `git orchestrate session list`".to_string()]
        }
        Reason::NoFreeTaskId { .. } => {
            vec!["run the same command again: a new id is drawn each time".to_string()]
        }
        _ => Vec::new(),
    }
}
