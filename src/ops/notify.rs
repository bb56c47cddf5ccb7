//! `orchestrate.notify`: a command run when the human is needed — for
//! every message to `human` and every task that fails — so a desktop
//! notification or a chat hook can tell them, and only then.
//!
//! The command runs through `sh -c` in the main working tree, detached
//! (it never delays or fails the operation that triggered it), with the
//! one-line summary as `$1` and the details in the environment:
//! `ORCHESTRATE_EVENT` (`message` or `task_failed`), `ORCHESTRATE_SUBJECT`,
//! `ORCHESTRATE_FROM`, `ORCHESTRATE_KIND`, `ORCHESTRATE_BODY`,
//! `ORCHESTRATE_TASK`.

use super::Context;
use crate::model::message::Message;
use crate::model::task::Task;
use std::process::{Command, Stdio};

/// What the human is told about.
pub enum Notice<'a> {
    Message(&'a Message),
    TaskFailed(&'a Task),
}

impl Context {
    /// Runs `orchestrate.notify` for `notice`, if set. Best effort: a
    /// command that cannot start is reported on stderr, nothing more.
    pub(crate) fn notify(&self, notice: Notice<'_>) {
        let Some(command) = self.store.config_string("orchestrate.notify").filter(|c| !c.trim().is_empty())
        else {
            return;
        };
        let mut env: Vec<(&str, String)> = Vec::new();
        let summary = match notice {
            Notice::Message(m) => {
                env.extend([
                    ("ORCHESTRATE_EVENT", "message".to_string()),
                    ("ORCHESTRATE_SUBJECT", m.subject.clone()),
                    ("ORCHESTRATE_FROM", m.from.clone()),
                    ("ORCHESTRATE_KIND", m.kind.to_string()),
                    ("ORCHESTRATE_BODY", m.body.clone()),
                ]);
                format!("{} from {}: {}", m.kind, m.from, m.subject)
            }
            Notice::TaskFailed(t) => {
                let reason = t.notes.last().map(|n| n.text.clone()).unwrap_or_default();
                env.extend([
                    ("ORCHESTRATE_EVENT", "task_failed".to_string()),
                    ("ORCHESTRATE_SUBJECT", t.title.clone()),
                    ("ORCHESTRATE_FROM", t.assignee.clone().unwrap_or_default()),
                    ("ORCHESTRATE_TASK", t.id.to_string()),
                    ("ORCHESTRATE_BODY", reason),
                ]);
                format!("task {} failed: {}", t.id, t.title)
            }
        };
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &command, "git-orchestrate-notify", &summary])
            .current_dir(self.store.main_root())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::os::process::detach(&mut cmd);
        match cmd.spawn() {
            // Reaped whenever it ends, for callers that live on (a supervisor).
            Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
            Err(e) => eprintln!("git-orchestrate: orchestrate.notify could not start: {e}"),
        }
    }
}
