//! The git hook entry points and hook installation.
//!
//! post-commit turns explicit trailers into state: `Task: <id>` records the
//! commit on the task, `Closes: <id>` / `Done: <id>` also marks it done and
//! tells everyone. prepare-commit-msg adds `Task: <id>` for the session's
//! current task. pre-commit refuses staged paths under another live
//! session's exclusive claim. Only the claim refusal ever stops a commit:
//! every other failure is reported on stderr and the commit goes on.

use super::tasks::Finish;
use super::{Context, Error, Reason, Result};
use crate::hooks::{self, HookError, HookState};
use crate::model::message::MessageKind;
use crate::ops::claims::Conflict;
use crate::ops::messages::Outgoing;
use crate::store::StoreError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What post-commit did.
#[derive(Debug, Default, Serialize)]
pub struct PostCommit {
    pub commit: String,
    pub recorded: Vec<String>,
    pub closed: Vec<String>,
    /// Textual conflicts with other live sessions that this commit made
    /// (announced to both sides once).
    pub conflicts: Vec<crate::ops::conflicts::NewConflict>,
    pub warnings: Vec<String>,
}

/// The trailer keys that name tasks, as git writes them (any case).
fn trailer_action(key: &str) -> Option<bool> {
    match key.to_ascii_lowercase().as_str() {
        "task" => Some(false),
        "closes" | "done" => Some(true),
        _ => None,
    }
}

/// Task ids in a trailer value: `t-3f9a`, `t-3f9a, t-12ab`. Values that
/// are not task ids (`#12`, `JIRA-123`: other trackers' trailers) are
/// not ours and are left alone.
fn ids_in(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|v| crate::model::ids::TaskId::try_from(v.to_string()).is_ok())
        .map(str::to_string)
        .collect()
}

/// The explicit task trailers of a message: (id, closes).
pub fn task_trailers(message: &str) -> Vec<(String, bool)> {
    let Ok(trailers) = git2::message_trailers_strs(message) else { return Vec::new() };
    trailers
        .iter()
        .filter_map(|(k, v)| trailer_action(k).map(|closes| (v.to_string(), closes)))
        .flat_map(|(v, closes)| ids_in(&v).into_iter().map(move |id| (id, closes)))
        .collect()
}

/// A hook folder or hook we will not change is a refusal with its facts;
/// anything else is a failure.
fn hook_failure(e: HookError) -> Error {
    let shown = |p: &Path| p.display().to_string();
    let reason = match &e {
        HookError::Managed { dir } => Reason::HooksManaged { dir: shown(dir) },
        HookError::Relative { path } => Reason::HooksPathRelative { path: path.clone() },
        HookError::Unwrappable { hook } => Reason::HookUnwrappable { hook: shown(hook) },
        HookError::Conflict { hook, saved } => {
            Reason::HookReplaced { hook: shown(hook), saved: shown(saved) }
        }
        HookError::Io { .. } => {
            return Error::Store(StoreError::Io {
                action: "install the hooks".into(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    };
    Error::refusal(reason, e.to_string())
}

impl Context {
    /// Where git looks for this repository's hooks (`~` expanded, as git
    /// does for this path).
    pub fn hooks_dir(&self) -> PathBuf {
        let top = self.store.repository().workdir().map(Path::to_path_buf);
        let configured = self.store.config_path("core.hooksPath");
        hooks::hooks_dir(self.store.common_dir(), top.as_deref(), configured.as_deref())
    }

    /// Refuses hook folders we must not install into: a relative
    /// core.hooksPath (each worktree reads its own), or a folder inside the
    /// repository next to tracked files (a hook manager's, like husky's
    /// `.husky/_`).
    fn check_hooks_dir(&self, dir: &Path) -> Result<()> {
        let Some(configured) = self.store.config_path("core.hooksPath") else { return Ok(()) };
        let relative = !Path::new(&configured).is_absolute();
        let repo = self.store.repository();
        let Some(top) = repo.workdir() else { return Ok(()) };
        let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let Ok(rel) = dir.strip_prefix(&top) else {
            // Outside the repository (`../hooks`): still a per-worktree path.
            return match relative {
                true => Err(hook_failure(HookError::Relative { path: configured })),
                false => Ok(()),
            };
        };
        // The folder itself, or its parent when that is not the top.
        let mut scopes = vec![format!("{}/", rel.to_string_lossy())];
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            scopes.push(format!("{}/", parent.to_string_lossy()));
        }
        let index = repo.index().map_err(StoreError::git("read the index"))?;
        let managed = index.iter().any(|e| {
            let path = String::from_utf8_lossy(&e.path);
            scopes.iter().any(|s| path.starts_with(s.as_str()))
        });
        if managed {
            return Err(hook_failure(HookError::Managed { dir }));
        }
        if relative {
            return Err(hook_failure(HookError::Relative { path: configured }));
        }
        Ok(())
    }

    pub fn hooks_install(&self) -> Result<(PathBuf, Vec<HookState>)> {
        let dir = self.hooks_dir();
        self.check_hooks_dir(&dir)?;
        let states = hooks::install(&dir).map_err(hook_failure)?;
        Ok((dir, states))
    }

    pub fn hooks_uninstall(&self) -> Result<(PathBuf, Vec<HookState>)> {
        let dir = self.hooks_dir();
        let states = hooks::uninstall(&dir).map_err(hook_failure)?;
        Ok((dir, states))
    }

    pub fn hooks_status(&self) -> (PathBuf, Vec<HookState>) {
        let dir = self.hooks_dir();
        let states = hooks::status(&dir);
        (dir, states)
    }

    /// post-commit: records `Task:` commits, closes `Closes:`/`Done:` tasks
    /// and announces them. Problems become warnings, never failures.
    pub fn hook_post_commit(&self) -> Result<PostCommit> {
        let repo = self.store.repository();
        let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(StoreError::git("read HEAD"))?;
        let sha = head.id().to_string();
        let message = head.message().unwrap_or("").to_string();
        let subject = message.lines().next().unwrap_or("").to_string();
        let mut report = PostCommit { commit: sha.clone(), ..Default::default() };
        for (id, closes) in task_trailers(&message) {
            // Trailers name tasks exactly: a prefix is not enough to close.
            match self.resolve_task_id(&id) {
                Ok(found) if found.as_str() == id => {}
                _ => {
                    report.warnings.push(format!("{id}: no task has exactly this id; trailer ignored"));
                    continue;
                }
            }
            let task = match self.record_commit(&id, &sha) {
                Ok(task) => {
                    report.recorded.push(task.id.to_string());
                    task
                }
                Err(e) => {
                    report.warnings.push(format!("{id}: {e}"));
                    continue;
                }
            };
            // Amends, rebases and cherry-picks repeat the trailer: a task
            // already finished is not closed or announced again.
            if !closes || task.status.is_closed() {
                continue;
            }
            let by = self.actor();
            if task.status == crate::model::task::TaskStatus::Claimed
                && task.assignee.as_deref() != Some(by.as_str())
                && self.holder_is_live(task.assignee.as_deref())?
            {
                report.warnings.push(format!(
                    "{id} is held by {}: the commit is recorded on it, but only its holder closes it",
                    task.assignee.as_deref().unwrap_or("another session")
                ));
                continue;
            }
            let note = format!("closed by commit {}: {subject}", &sha[..10]);
            match self.finish_task_as(&by, &id, Finish::Done, Some(&note), true) {
                Ok(task) => {
                    report.closed.push(task.id.to_string());
                    if let Some(Err(why)) = self.queue_on_done(&by, task.id.as_str()) {
                        report.warnings.push(format!("{}: not queued for landing: {why}", task.id));
                    }
                    let out = Outgoing {
                        to: "all".into(),
                        subject: format!("{} done: {}", task.id, task.title),
                        body: format!("{by} closed {} in commit {sha}\n{subject}\n", task.id),
                        kind: Some(MessageKind::Completion.as_str().into()),
                        reply_to: None,
                    };
                    if let Err(e) = self.send(&out) {
                        report
                            .warnings
                            .push(format!("{}: the completion message was not sent: {e}", task.id));
                    }
                }
                Err(e) => report.warnings.push(format!("{id}: {e}")),
            }
        }
        // The conflict radar: a commit that makes a new textual conflict
        // with another live session tells both, once.
        match self.radar_after_commit() {
            Ok((conflicts, warnings)) => {
                report.conflicts = conflicts;
                report.warnings.extend(warnings);
            }
            Err(e) => report.warnings.push(format!("conflict radar: {}", e.message())),
        }
        // A commit is a sign of life.
        self.touch();
        Ok(report)
    }

    /// prepare-commit-msg: adds `Task: <id>` for the session's current task
    /// unless the message already names a task. Returns the id added.
    pub fn hook_prepare_commit_msg(&self, file: &Path, source: Option<&str>) -> Result<Option<String>> {
        // Only a message given with -m or -F: with an editor, a trailer
        // added now would keep an emptied message from aborting the commit;
        // amends, merges, squashes and picks reuse someone's message.
        if source != Some("message") || self.integrating()? {
            return Ok(None);
        }
        let Some(me) = self.session() else { return Ok(None) };
        let Some(task) = self.show_session(Some(me)).ok().and_then(|v| v.session.task) else {
            return Ok(None);
        };
        if self.names_a_task(file)? {
            return Ok(None);
        }
        let out = std::process::Command::new("git")
            .args(["interpret-trailers", "--in-place", "--trailer", &format!("Task: {task}")])
            .arg(file)
            .output()
            .map_err(|e| {
                Error::Store(StoreError::Io { action: "run git interpret-trailers".into(), source: e })
            })?;
        if !out.status.success() {
            return Err(Error::Store(StoreError::Io {
                action: "add the Task trailer".into(),
                source: std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            }));
        }
        Ok(Some(task))
    }

    /// Whether the message file already has a Task/Closes/Done trailer, as
    /// git itself reads trailers (comments, scissors line, commentChar).
    fn names_a_task(&self, file: &Path) -> Result<bool> {
        let out = std::process::Command::new("git")
            .args(["interpret-trailers", "--parse"])
            .arg(file)
            .output()
            .map_err(|e| {
                Error::Store(StoreError::Io { action: "run git interpret-trailers".into(), source: e })
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.lines().any(|l| l.split_once(':').is_some_and(|(k, _)| trailer_action(k.trim()).is_some())))
    }

    /// Whether this commit integrates existing commits (a merge, squash,
    /// cherry-pick or revert being concluded): their changes and messages
    /// are not this session's new work.
    fn integrating(&self) -> Result<bool> {
        let git_dir = self.store.git_dir();
        Ok(["MERGE_HEAD", "SQUASH_MSG", "CHERRY_PICK_HEAD", "REVERT_HEAD"]
            .iter()
            .any(|f| git_dir.join(f).exists()))
    }

    /// pre-commit: the staged paths that fall under another live session's
    /// exclusive claim. Every path is checked as git names it, whatever
    /// characters it has; a commit that concludes a merge, squash or pick
    /// brings in commits already made and is not checked.
    pub fn hook_pre_commit(&self) -> Result<Vec<Conflict>> {
        if self.integrating()? {
            return Ok(Vec::new());
        }
        let paths = self.staged_paths()?;
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        self.conflicts_for_files(&paths)
    }

    /// What the commit being made changes: the index git is committing
    /// (`GIT_INDEX_FILE` during `git commit <paths>`) against HEAD.
    fn staged_paths(&self) -> Result<Vec<String>> {
        let repo = self.store.repository();
        let read = |what: &str| StoreError::git(format!("read {what}"));
        let index = match std::env::var_os("GIT_INDEX_FILE") {
            Some(path) => git2::Index::open(Path::new(&path)).map_err(read("the index"))?,
            None => repo.index().map_err(read("the index"))?,
        };
        let head = match repo.head() {
            Ok(h) => Some(h.peel_to_tree().map_err(read("HEAD"))?),
            Err(_) => None, // the first commit: everything staged is new
        };
        let diff =
            repo.diff_tree_to_index(head.as_ref(), Some(&index), None).map_err(read("the staged changes"))?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                // Lossy for names that are not UTF-8: claims are UTF-8, so a
                // claim covering the folder still covers the file.
                if let Some(p) = file.path().map(|p| p.to_string_lossy().into_owned()) {
                    if !paths.contains(&p) {
                        paths.push(p);
                    }
                }
            }
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_explicit_trailers_name_tasks() {
        let msg = "Fix login\n\nThis closes the gap in Task handling.\n\nTask: t-1a2b\nCloses: t-3c4d, t-5e6f\nDone: t-7a8b\nReviewed-by: x\n";
        assert_eq!(
            task_trailers(msg),
            [
                ("t-1a2b".into(), false),
                ("t-3c4d".into(), true),
                ("t-5e6f".into(), true),
                ("t-7a8b".into(), true)
            ]
        );
        assert!(task_trailers("This closes t-1a2b for real.\n").is_empty(), "prose is not a trailer");
    }
}
