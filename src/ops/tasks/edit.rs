//! Adding a task and editing one: its fields, labels and dependencies
//! (never a cycle).

use super::{fresh_ids, join_ids, parse_prefixes, resolve, resolve_all, write_task, TaskEdit};
use crate::model::ids::{digest_from, IdPrefix, TaskId};
use crate::model::names::{validate_name, validate_text};
use crate::model::task::{
    find_cycle, validate_labels, validate_priority, validate_title, Task, TaskSpec, MAX_DEPENDENCIES,
    MAX_DESCRIPTION_BYTES,
};
use crate::ops::{Context, Error, Result};
use crate::store::tasks::{TaskTable, Written};
use crate::store::Event;

impl Context {
    pub fn add_task(&self, spec: TaskSpec, after: &[String]) -> Result<Task> {
        let spec = spec.normalized();
        spec.validate()?;
        let after = parse_prefixes(after)?;
        let by = self.actor();
        let now = self.now();
        let digest = digest_from(fastrand::u128(..));
        self.store.tasks().update(|view| {
            let deps = resolve_all(view, &after)?;
            let id = fresh_ids(view, std::slice::from_ref(&digest))?.remove(0);
            let task = spec.clone().into_task(id, deps, &by, now);
            let summary = format!("add {} by {by}: {}", task.id, task.title);
            write_task(view, Event::new("add", &by, now, summary), task)
        })
    }

    /// Applies `edit`; returns the task and whether anything changed.
    pub fn edit_task(&self, id: &str, mut edit: TaskEdit) -> Result<(Task, bool)> {
        let prefix = IdPrefix::parse(id)?;
        edit.kind = edit.kind.as_deref().map(crate::model::names::folded);
        validate_edit(&edit)?;
        let add_after = parse_prefixes(&edit.add_after)?;
        let remove_after = parse_prefixes(&edit.remove_after)?;
        let by = self.actor();
        let now = self.now();
        self.store.tasks().update(|view| {
            let mut task = resolve(view, &prefix)?;
            let before = task.clone();
            apply_fields(&mut task, &edit);
            for dep in resolve_all(view, &remove_after)? {
                task.depends_on.retain(|d| d != &dep);
            }
            let added: Vec<TaskId> =
                resolve_all(view, &add_after)?.into_iter().filter(|d| !task.depends_on.contains(d)).collect();
            if !added.is_empty() {
                refuse_cycle(view, &task.id, &added)?;
                task.depends_on.extend(added);
                if task.depends_on.len() > MAX_DEPENDENCIES {
                    return Err(Error::invalid(format!(
                        "{} would have {} dependencies; the limit is {MAX_DEPENDENCIES}",
                        task.id,
                        task.depends_on.len()
                    )));
                }
            }
            if task == before {
                return Ok(Written::Unchanged((task, false)));
            }
            task.updated_at = now;
            let mut writes = view.writes(Event::new("edit", &by, now, format!("edit {} by {by}", task.id)));
            writes.save(&task)?;
            Ok(writes.write((task, true))?)
        })
    }
}

fn validate_edit(edit: &TaskEdit) -> Result<()> {
    if let Some(t) = &edit.title {
        validate_title(t)?;
    }
    if let Some(d) = &edit.description {
        validate_text("description", d, MAX_DESCRIPTION_BYTES)?;
    }
    if let Some(p) = edit.priority {
        validate_priority(p)?;
    }
    if let Some(k) = &edit.kind {
        validate_name("task type", k)?;
    }
    if let Some(r) = &edit.role {
        validate_name("role", r)?;
    }
    validate_labels(&edit.add_labels)?;
    Ok(())
}

fn apply_fields(task: &mut Task, edit: &TaskEdit) {
    if let Some(t) = &edit.title {
        task.title = t.trim().to_string();
    }
    if let Some(d) = &edit.description {
        task.description = d.clone();
    }
    if let Some(p) = edit.priority {
        task.priority = p;
    }
    if let Some(k) = &edit.kind {
        task.kind = k.clone();
    }
    if let Some(r) = &edit.role {
        task.role = Some(r.clone());
    }
    if edit.clear_role {
        task.role = None;
    }
    task.labels.retain(|l| !edit.remove_labels.contains(l));
    for label in &edit.add_labels {
        if !task.labels.contains(label) {
            task.labels.push(label.clone());
        }
    }
}

fn refuse_cycle(view: &TaskTable<'_>, id: &TaskId, added: &[TaskId]) -> Result<()> {
    let mut failure = None;
    let cycle = find_cycle(id, added, |t| match view.get(t) {
        Ok(task) => task.map(|t| t.depends_on).unwrap_or_default(),
        Err(e) => {
            failure.get_or_insert(e);
            Vec::new()
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    match cycle {
        None => Ok(()),
        Some(path) => Err(Error::invalid(format!(
            "that would make a dependency cycle: {}; drop one of these dependencies (`--no-after`)",
            join_ids(&path).replace(", ", " -> ")
        ))),
    }
}
