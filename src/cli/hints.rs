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
        Reason::TaskFinished { .. }
        | Reason::TaskNotClaimed { .. }
        | Reason::NotTaskHolder { .. }
        | Reason::TaskNotOpen { .. }
        | Reason::TaskNotRetryable { .. }
        | Reason::AssigneeNotLive { .. }
        | Reason::NoFreeTaskId { .. } => for_task_refusal(reason),
        Reason::Other => Vec::new(),
    }
}

/// The task queue's refusals.
fn for_task_refusal(reason: &Reason) -> Vec<String> {
    let reopen = |task: &str| format!("reopen it first: `git orchestrate task retry {task}`");
    let add = "its work is in: add a new task for more with `git orchestrate task add`".to_string();
    match reason {
        Reason::TaskFinished { task, status, .. } | Reason::TaskNotOpen { task, status, .. }
            if matches!(status, TaskStatus::Failed | TaskStatus::Cancelled) =>
        {
            vec![reopen(task)]
        }
        Reason::TaskFinished { .. } | Reason::TaskNotRetryable { status: TaskStatus::Done, .. } => vec![add],
        Reason::TaskNotOpen { status: TaskStatus::Done, .. } => vec![add],
        Reason::TaskNotOpen { holder, .. } => vec![
            "assign an open task instead: `git orchestrate task list --ready`".to_string(),
            format!("or ask {} to release it", holder.as_deref().unwrap_or("its holder")),
        ],
        Reason::TaskNotClaimed { task, action } if action != "release" => vec![
            format!("claim it first: `git orchestrate task claim {task}`"),
            format!("a human can {action} it anyway: `git orchestrate task {action} {task} --force`"),
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
