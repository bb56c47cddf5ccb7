//! The way out of a refusal, worded for an agent calling tools (the CLI
//! words the same facts in CLI syntax).

use crate::model::task::TaskStatus;
use crate::ops::Reason;

pub fn for_refusal(reason: &Reason) -> Vec<String> {
    match reason {
        Reason::Held { holder, task, .. } => vec![
            "take another task: call task_claim with next: true".to_string(),
            format!("or ask {holder} to release {task}: call send with to: \"{holder}\""),
        ],
        Reason::Claimed { conflicts } => {
            let holder = conflicts.first().map(|c| c.holder.as_str()).unwrap_or("the holder");
            vec![
                format!("ask {holder} to release it: call send with to: \"{holder}\""),
                "or work on other paths, or wait for the claim to expire (call claims to see them)"
                    .to_string(),
            ]
        }
        Reason::Waiting { .. } => {
            vec!["work on a ready task (task_claim with next: true) until they are done".to_string()]
        }
        Reason::Blocked { .. } => {
            vec!["tell a human: the dependency must be edited away before this task can start".to_string()]
        }
        Reason::NothingReady { .. } => {
            vec!["nothing to do now: check your inbox, or add tasks with task_add".to_string()]
        }
        Reason::Ended { .. } => vec!["call session_start to start the session again".to_string()],
        Reason::AgentRunning { agent, .. } => {
            vec![format!("call stop with name: \"{agent}\" first, or spawn under another name")]
        }
        Reason::AgentStarting { .. } => vec!["it is starting: call ps to see it, then try again".to_string()],
        Reason::AgentNotRunning { agent, .. } => {
            vec![format!("call logs with name: \"{agent}\" to see how it ended")]
        }
        Reason::NoWorktree { session } => {
            vec![format!("spawn under another name, or end session {session} (session_end) first")]
        }
        Reason::TaskClosed { action, .. } if action == "spawn" => {
            vec!["give the agent an unfinished task: call task_list with ready: true".to_string()]
        }
        Reason::HeldByEndedAgent { task, holder } => vec![format!(
            "spawn it again with name: \"{holder}\" and task: \"{task}\", or ask a human to release {task}"
        )],
        Reason::DependenciesConflict { .. } => {
            vec!["call conflicts to see what each session's branch changes".to_string()]
        }
        Reason::WorktreeKept { session, .. } => {
            vec![format!(
                "land its branch (call land with sessions: [\"{session}\"]), or end it with force: true"
            )]
        }
        Reason::NothingToLand { .. } => Vec::new(),
        Reason::QueueEmpty => vec!["queue work with land_queue".to_string()],
        Reason::TargetRebasing { .. } => {
            vec!["tell a human: that rebase must be finished or aborted before anything lands".to_string()]
        }
        Reason::TargetInSeveralCheckouts { .. } => {
            vec!["tell a human: all but one of those worktrees must switch to another branch".to_string()]
        }
        Reason::CheckoutNotForwarded { .. } => {
            vec!["tell a human: the target's checkout must be put in order before anything lands".to_string()]
        }
        Reason::BranchNotLanded { session, .. } => {
            vec![format!("land them first (call land with sessions: [\"{session}\"]), or keep the branch")]
        }
        Reason::NoLandTarget { .. } => vec!["end the session and keep its branch".to_string()],
        Reason::UncommittedWork { .. } => {
            vec!["commit the work and land it first, or end the session and keep its branch".to_string()]
        }
        Reason::NoNewMessage { .. } => {
            vec!["call inbox again with wait_seconds to keep waiting, or go on with your task and look later"
                .to_string()]
        }
        Reason::HooksManaged { .. }
        | Reason::HooksPathRelative { .. }
        | Reason::HookUnwrappable { .. }
        | Reason::HookReplaced { .. } => {
            vec!["tell a human: the repository's git hooks need their hand (the message says how)".to_string()]
        }
        Reason::SessionActive { .. } => {
            vec!["call session_start with resume: true to act as it, or pick another name".to_string()]
        }
        Reason::NoUnusedName => vec!["call session_start with a name".to_string()],
        Reason::WorktreeOfAnotherBranch { .. } | Reason::FolderInTheWay { .. } => {
            vec!["start the session under another name, or tell a human: that folder is in the way"
                .to_string()]
        }
        Reason::BeingEnded { .. } => {
            vec!["it is being ended: call board once it is done to see it".to_string()]
        }
        Reason::UnsavedWork { .. } => vec![
            "commit what belongs first, or call session_end with force: true (uncommitted work is committed to \
             its branch; nothing is deleted)"
                .to_string(),
        ],
        Reason::ChangedWhileEnding { .. } => vec!["call session_end again".to_string()],
        Reason::NotClaimed { .. } => vec!["call claims to see who holds what".to_string()],
        Reason::LeadHeld { lead, stale_after, .. } => vec![format!(
            "ask {lead} to release it: call send with to: \"{lead}\"; or wait until it has been silent for \
             {stale_after}"
        )],
        Reason::NoLead => Vec::new(),
        Reason::NotTheLead { lead, .. } => {
            vec![format!("only {lead} releases it: call send with to: \"{lead}\" to ask")]
        }
        Reason::LeadOnly { lead: Some(lead), .. } => {
            vec![format!("ask {lead}: call send with to: \"{lead}\"")]
        }
        Reason::LeadOnly { lead: None, .. } => vec!["call lead with action: \"take\" first".to_string()],
        Reason::AlreadyEnded { .. } => Vec::new(),
        Reason::AgentAtWork { session, .. } => {
            vec![format!("stop it first: call stop with agent: \"{session}\", then end the session")]
        }
        Reason::SessionLive { session } => {
            vec![format!("ask it: call send with to: \"{session}\", or wait until it goes stale")]
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
    match reason {
        Reason::TaskClosed { status, .. } | Reason::TaskNotOpen { status, .. }
            if matches!(status, TaskStatus::Failed | TaskStatus::Cancelled) =>
        {
            vec!["tell a human: only they can reopen it (task retry)".to_string()]
        }
        Reason::TaskClosed { .. }
        | Reason::TaskNotRetryable { status: TaskStatus::Done, .. }
        | Reason::TaskNotOpen { status: TaskStatus::Done, .. } => {
            vec!["its work is in: add a new task for more with task_add".to_string()]
        }
        Reason::TaskNotClaimed { task, action } if action != "release" => {
            vec![format!("claim it first: call task_claim with id: \"{task}\"")]
        }
        Reason::NotTaskHolder { .. } => vec!["leave the note without progress".to_string()],
        Reason::NoFreeTaskId { .. } => vec!["call the tool again: a new id is drawn each time".to_string()],
        _ => Vec::new(),
    }
}
