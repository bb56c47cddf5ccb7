//! The way out of a refusal, worded for an agent calling tools (the CLI
//! words the same facts in CLI syntax).

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
        Reason::Other => Vec::new(),
    }
}
