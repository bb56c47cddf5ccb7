//! The git hook entry points and hook installation.
//!
//! post-commit turns explicit trailers into state: `Task: <id>` records the
//! commit on the task, `Closes: <id>` / `Done: <id>` also marks it done and
//! tells everyone. prepare-commit-msg adds `Task: <id>` for the session's
//! current task. pre-commit refuses staged paths under another live
//! session's exclusive claim. Only the claim refusal ever stops a commit:
//! every other failure is reported on stderr and the commit goes on.

use super::tasks::Finish;
use super::{Context, Error, Result};
use crate::hooks::{self, HookError, HookState};
use crate::model::claim::ClaimPattern;
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

/// Task ids in a trailer value: `t-3f9a`, `t-3f9a, t-12ab`.
fn ids_in(value: &str) -> Vec<String> {
    value.split([',', ' ']).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
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

fn hook_failure(e: HookError) -> Error {
    match e {
        HookError::Tracked { .. } | HookError::Conflict { .. } => Error::refused(e.to_string()),
        HookError::Io { .. } => Error::Store(StoreError::Io {
            action: "install the hooks".into(),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

impl Context {
    /// Where git looks for this repository's hooks.
    pub fn hooks_dir(&self) -> PathBuf {
        let top = self.store.repository().workdir().map(Path::to_path_buf);
        hooks::hooks_dir(
            self.store.common_dir(),
            top.as_deref(),
            self.store.config_string("core.hooksPath").as_deref(),
        )
    }

    /// Whether the hooks folder is tracked in the repository (a hook
    /// framework's folder), which we must not edit.
    fn hooks_dir_is_tracked(&self, dir: &Path) -> Result<bool> {
        let repo = self.store.repository();
        let Some(top) = repo.workdir() else { return Ok(false) };
        let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let Ok(rel) = dir.strip_prefix(&top) else { return Ok(false) };
        let rel = format!("{}/", rel.to_string_lossy());
        let index = repo.index().map_err(StoreError::git("read the index"))?;
        let tracked = index.iter().any(|e| String::from_utf8_lossy(&e.path).starts_with(&rel));
        Ok(tracked)
    }

    pub fn hooks_install(&self) -> Result<(PathBuf, Vec<HookState>)> {
        let dir = self.hooks_dir();
        if self.hooks_dir_is_tracked(&dir)? {
            return Err(hook_failure(HookError::Tracked { dir }));
        }
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
            match self.record_commit(&id, &sha) {
                Ok(task) => report.recorded.push(task.id.to_string()),
                Err(e) => {
                    report.warnings.push(format!("{id}: {e}"));
                    continue;
                }
            }
            if !closes {
                continue;
            }
            let by = self.actor();
            let note = format!("closed by commit {}: {subject}", &sha[..10]);
            match self.finish_task_as(&by, &id, Finish::Done, Some(&note), true) {
                Ok(task) => {
                    report.closed.push(task.id.to_string());
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
        // A commit is a sign of life.
        self.touch();
        Ok(report)
    }

    /// prepare-commit-msg: adds `Task: <id>` for the session's current task
    /// unless the message already names a task. Returns the id added.
    pub fn hook_prepare_commit_msg(&self, file: &Path, source: Option<&str>) -> Result<Option<String>> {
        if matches!(source, Some("merge" | "squash")) {
            return Ok(None);
        }
        let Some(me) = self.session() else { return Ok(None) };
        let Some(task) = self.show_session(Some(me)).ok().and_then(|v| v.session.task) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::Store(StoreError::Io { action: format!("read {}", file.display()), source: e })
        })?;
        let message: String =
            text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
        if !task_trailers(&message).is_empty() {
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

    /// pre-commit: the staged paths that fall under another live session's
    /// exclusive claim.
    pub fn hook_pre_commit(&self) -> Result<Vec<Conflict>> {
        let paths = self.staged_paths()?;
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let patterns: Vec<ClaimPattern> =
            paths.iter().filter_map(|p| ClaimPattern::for_file(p).ok()).collect();
        self.conflicts_with(&patterns)
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
                if let Some(p) = file.path().and_then(|p| p.to_str()) {
                    if !paths.iter().any(|q| q == p) {
                        paths.push(p.to_string());
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
