//! Tasks: the shared work queue's entries and the rules that govern them.
//!
//! A task is `open` until a session claims it, `claimed` while a session
//! works on it, and finally `done`, `failed` or `cancelled`. "Ready" is not
//! stored: it is computed as open with every dependency done.

use super::ids::TaskId;
use super::names::{validate_line, validate_name, validate_text};
use super::time::Timestamp;
use super::{Invalid, FORMAT};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::fmt;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;
pub const MAX_NOTE_BYTES: usize = 16 * 1024;
pub const MAX_LABEL_CHARS: usize = 64;
pub const MAX_LABELS: usize = 32;
pub const MAX_DEPENDENCIES: usize = 64;
/// Lowest priority; 0 is the highest.
pub const LOWEST_PRIORITY: u8 = 4;
pub const DEFAULT_PRIORITY: u8 = 2;
pub const DEFAULT_TYPE: &str = "task";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Claimed,
    Done,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] =
        [TaskStatus::Open, TaskStatus::Claimed, TaskStatus::Done, TaskStatus::Failed, TaskStatus::Cancelled];

    /// Finished tasks live under `closed/`, the others under `open/`.
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Failed | TaskStatus::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Claimed => "claimed",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<TaskStatus, Invalid> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            Invalid(format!(
                "unknown status '{}': use open, claimed, done, failed or cancelled",
                super::names::escape_control(text)
            ))
        })
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A progress note left on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at: Timestamp,
    pub by: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub format: u32,
    pub id: TaskId,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: TaskStatus,
    pub priority: u8,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<TaskId>,
    #[serde(default)]
    pub assignee: Option<String>,
    /// The session the lead gave this open task to (`task assign`): it
    /// finds it with `task list --mine` and takes it first with
    /// `claim --next`; other sessions leave it while that one is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub claimed_at: Option<Timestamp>,
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    /// Percent done, 0 to 100, as last reported.
    #[serde(default)]
    pub progress: u8,
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Commits that reported work on this task (from `Task:` trailers).
    #[serde(default)]
    pub commits: Vec<String>,
    /// Where and as what commit the task's work last landed (`land`).
    #[serde(default)]
    pub landed: Option<super::land::Landed>,
}

/// The fields a user chooses when adding a task, checked by [`TaskSpec::validate`].
#[derive(Debug, Clone, Default)]
pub struct TaskSpec {
    pub title: String,
    pub description: String,
    pub priority: Option<u8>,
    pub kind: Option<String>,
    pub role: Option<String>,
    pub labels: Vec<String>,
}

impl TaskSpec {
    /// The spec as stored: the type in lowercase (`GIT_WORKFLOW` is
    /// `git_workflow`).
    pub fn normalized(mut self) -> TaskSpec {
        self.kind = self.kind.as_deref().map(super::names::folded);
        self
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        validate_title(&self.title)?;
        validate_text("description", &self.description, MAX_DESCRIPTION_BYTES)?;
        if let Some(p) = self.priority {
            validate_priority(p)?;
        }
        if let Some(kind) = &self.kind {
            validate_name("task type", kind)?;
        }
        if let Some(role) = &self.role {
            validate_name("role", role)?;
        }
        validate_labels(&self.labels)
    }

    /// Builds the new task. The caller has validated the spec and resolved
    /// the dependencies.
    pub fn into_task(self, id: TaskId, depends_on: Vec<TaskId>, by: &str, now: Timestamp) -> Task {
        Task {
            format: FORMAT,
            id,
            title: self.title.trim().to_string(),
            description: self.description,
            status: TaskStatus::Open,
            priority: self.priority.unwrap_or(DEFAULT_PRIORITY),
            kind: self.kind.unwrap_or_else(|| DEFAULT_TYPE.to_string()),
            role: self.role,
            labels: dedup(self.labels),
            depends_on,
            assignee: None,
            assigned_to: None,
            created_by: by.to_string(),
            created_at: now,
            updated_at: now,
            claimed_at: None,
            closed_at: None,
            progress: 0,
            notes: Vec::new(),
            commits: Vec::new(),
            landed: None,
        }
    }
}

pub fn validate_title(title: &str) -> Result<(), Invalid> {
    validate_line("task title", title, MAX_TITLE_CHARS)
}

pub fn validate_priority(priority: u8) -> Result<(), Invalid> {
    if priority > LOWEST_PRIORITY {
        return Err(Invalid(format!(
            "priority {priority} is out of range: use 0 (highest) to {LOWEST_PRIORITY} (lowest)"
        )));
    }
    Ok(())
}

pub fn validate_progress(progress: u8) -> Result<(), Invalid> {
    if progress > 100 {
        return Err(Invalid(format!("progress {progress} is out of range: use 0 to 100")));
    }
    Ok(())
}

pub fn validate_note(text: &str) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(Invalid::new("the note is empty: give some text"));
    }
    validate_text("note", text, MAX_NOTE_BYTES)
}

pub fn validate_labels(labels: &[String]) -> Result<(), Invalid> {
    if labels.len() > MAX_LABELS {
        return Err(Invalid(format!("{} labels given; the limit is {MAX_LABELS}", labels.len())));
    }
    labels.iter().try_for_each(|l| validate_line("label", l, MAX_LABEL_CHARS))
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|i| seen.insert(i.clone())).collect()
}

impl Task {
    /// The order `claim --next` and listings use: priority, then age, then id.
    pub fn queue_order(&self, other: &Task) -> std::cmp::Ordering {
        queue_key(self.priority, self.created_at, &self.id).cmp(&queue_key(
            other.priority,
            other.created_at,
            &other.id,
        ))
    }

    pub fn add_note(&mut self, by: &str, text: &str, now: Timestamp) {
        self.notes.push(Note { at: now, by: by.to_string(), text: text.to_string() });
    }
}

/// What the work queue sorts by: priority, then age, then id.
pub fn queue_key(priority: u8, created_at: Timestamp, id: &TaskId) -> (u8, Timestamp, &TaskId) {
    (priority, created_at, id)
}

/// Why a task is or is not ready to be claimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Readiness {
    Ready,
    /// Open, but waiting on these dependencies (not done yet).
    Waiting {
        on: Vec<TaskId>,
    },
    /// Open, but a dependency failed or was cancelled: it will never be ready
    /// unless that dependency is edited away.
    Blocked {
        by: Vec<TaskId>,
    },
    /// Not open: claimed or finished.
    NotOpen,
}

/// Computes readiness from the statuses of the task's dependencies.
/// `status_of` returns `None` for a dependency that no longer exists, which
/// counts as blocking.
pub fn readiness(
    status: TaskStatus,
    depends_on: &[TaskId],
    status_of: impl Fn(&TaskId) -> Option<TaskStatus>,
) -> Readiness {
    if status != TaskStatus::Open {
        return Readiness::NotOpen;
    }
    let mut waiting = Vec::new();
    let mut blocked = Vec::new();
    for dep in depends_on {
        match status_of(dep) {
            Some(TaskStatus::Done) => {}
            Some(TaskStatus::Open | TaskStatus::Claimed) => waiting.push(dep.clone()),
            Some(TaskStatus::Failed | TaskStatus::Cancelled) | None => blocked.push(dep.clone()),
        }
    }
    if !blocked.is_empty() {
        Readiness::Blocked { by: blocked }
    } else if !waiting.is_empty() {
        Readiness::Waiting { on: waiting }
    } else {
        Readiness::Ready
    }
}

/// Finds a dependency cycle that making `task` depend on `new_deps` would
/// close. `deps_of` returns the current dependencies of a task. Returns the
/// cycle as a path from `task` back to itself.
pub fn find_cycle(
    task: &TaskId,
    new_deps: &[TaskId],
    mut deps_of: impl FnMut(&TaskId) -> Vec<TaskId>,
) -> Option<Vec<TaskId>> {
    // Depth-first search from each new dependency, looking for `task`.
    let mut visited = BTreeSet::new();
    let mut stack: Vec<Vec<TaskId>> = new_deps.iter().map(|d| vec![task.clone(), d.clone()]).collect();
    while let Some(path) = stack.pop() {
        let last = path.last().cloned().unwrap_or_else(|| task.clone());
        if &last == task {
            return Some(path);
        }
        if !visited.insert(last.clone()) {
            continue;
        }
        for next in deps_of(&last) {
            let mut longer = path.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use std::collections::HashMap;

    fn id(hex: &str) -> TaskId {
        TaskId::try_from(format!("t-{hex}")).unwrap()
    }

    fn task(hex: &str, priority: u8, at: &str) -> Task {
        let now = DateTime::parse_from_rfc3339(at).unwrap().to_utc();
        TaskSpec { title: format!("task {hex}"), priority: Some(priority), ..Default::default() }.into_task(
            id(hex),
            vec![],
            "tester",
            now,
        )
    }

    #[test]
    fn queue_order_is_priority_then_age_then_id() {
        let mut tasks = [
            task("cccc", 2, "2026-01-01T00:00:00Z"),
            task("bbbb", 1, "2026-01-02T00:00:00Z"),
            task("aaaa", 2, "2026-01-01T00:00:00Z"),
            task("dddd", 2, "2025-12-31T00:00:00Z"),
        ];
        tasks.sort_by(Task::queue_order);
        let order: Vec<_> = tasks.iter().map(|t| t.id.to_string()).collect();
        assert_eq!(order, ["t-bbbb", "t-dddd", "t-aaaa", "t-cccc"]);
    }

    #[test]
    fn ready_means_open_with_every_dependency_done() {
        let mut t = task("aaaa", 2, "2026-01-01T00:00:00Z");
        t.depends_on = vec![id("bbbb"), id("cccc")];
        let statuses = |done: TaskStatus| {
            move |d: &TaskId| if d == &id("bbbb") { Some(TaskStatus::Done) } else { Some(done) }
        };
        let of = |t: &Task, f: &dyn Fn(&TaskId) -> Option<TaskStatus>| readiness(t.status, &t.depends_on, f);
        assert_eq!(of(&t, &statuses(TaskStatus::Done)), Readiness::Ready);
        assert_eq!(of(&t, &statuses(TaskStatus::Claimed)), Readiness::Waiting { on: vec![id("cccc")] });
        assert_eq!(of(&t, &statuses(TaskStatus::Failed)), Readiness::Blocked { by: vec![id("cccc")] });
        assert_eq!(of(&t, &|_: &TaskId| None), Readiness::Blocked { by: vec![id("bbbb"), id("cccc")] });
        t.status = TaskStatus::Claimed;
        assert_eq!(of(&t, &statuses(TaskStatus::Done)), Readiness::NotOpen);
    }

    #[test]
    fn cycles_are_found_through_the_dependency_graph() {
        // a -> b -> c ; making c depend on a closes a cycle.
        let graph: HashMap<TaskId, Vec<TaskId>> =
            [(id("aaaa"), vec![id("bbbb")]), (id("bbbb"), vec![id("cccc")]), (id("cccc"), vec![])].into();
        let deps = |t: &TaskId| graph.get(t).cloned().unwrap_or_default();
        let cycle = find_cycle(&id("cccc"), &[id("aaaa")], deps).unwrap();
        assert_eq!(cycle, [id("cccc"), id("aaaa"), id("bbbb"), id("cccc")]);
        assert_eq!(find_cycle(&id("aaaa"), &[id("aaaa")], deps), Some(vec![id("aaaa"), id("aaaa")]));
        assert_eq!(find_cycle(&id("aaaa"), &[id("cccc")], deps), None);
    }

    #[test]
    fn specs_are_validated() {
        let ok = TaskSpec { title: "Fix login".into(), ..Default::default() };
        assert!(ok.validate().is_ok());
        let bad = [
            TaskSpec { title: "".into(), ..Default::default() },
            TaskSpec { title: "x".into(), priority: Some(5), ..Default::default() },
            TaskSpec { title: "x".into(), role: Some("../x".into()), ..Default::default() },
            TaskSpec { title: "x".into(), kind: Some("a b".into()), ..Default::default() },
            TaskSpec { title: "x".into(), labels: vec!["".into()], ..Default::default() },
            TaskSpec { title: "x\u{1b}[2J".into(), ..Default::default() },
        ];
        for spec in bad {
            assert!(spec.validate().is_err(), "{spec:?}");
        }
    }

    #[test]
    fn tasks_round_trip_through_json_with_snake_case_fields() {
        let t = task("abcd", 1, "2026-01-01T00:00:00Z");
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(json["type"], "task");
        assert_eq!(json["depends_on"], serde_json::json!([]));
        assert_eq!(json["created_at"], "2026-01-01T00:00:00Z");
        let back: Task = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
    }
}
