//! `task import <file>`: a plan's tasks added in one write, all or
//! nothing, with their dependencies by key (see [`crate::model::plan`]).

use super::{fresh_ids, resolve};
use crate::model::ids::{digest_from, IdPrefix, TaskId};
use crate::model::plan::Plan;
use crate::model::task::{TaskSpec, MAX_DEPENDENCIES};
use crate::ops::{Context, Error, Result};
use crate::store::Event;
use serde::Serialize;
use std::collections::BTreeMap;

/// What an import added: each key and the id its task got.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub tasks: Vec<ImportedTask>,
    /// Keys of checked (done) Markdown items, not imported.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportedTask {
    pub key: String,
    pub id: TaskId,
    pub title: String,
}

/// Where an entry's `after` points.
enum Dep {
    Key(usize),
    Existing(IdPrefix),
}

impl Context {
    /// Adds every task of `plan` in one compare-and-swap write. Any bad
    /// entry (a field, an unknown key or task id) is refused naming it, and
    /// nothing is added.
    pub fn import_tasks(&self, plan: &Plan) -> Result<Imported> {
        let index: BTreeMap<&str, usize> =
            plan.entries.iter().enumerate().map(|(i, (k, _))| (k.as_str(), i)).collect();
        let mut specs = Vec::new();
        let mut deps: Vec<Vec<Dep>> = Vec::new();
        for (i, (_, entry)) in plan.entries.iter().enumerate() {
            let spec = TaskSpec {
                title: entry.title.clone(),
                description: entry.description.clone(),
                priority: entry.priority,
                kind: entry.kind.clone(),
                role: entry.role.clone(),
                labels: entry.labels.clone(),
            }
            .normalized();
            spec.validate().map_err(|e| Error::invalid(format!("{}: {}", plan.describe(i), e.0)))?;
            let mut mine = Vec::new();
            for after in &entry.after {
                if let Some(&j) = index.get(after.as_str()) {
                    mine.push(Dep::Key(j));
                } else if !plan.done.contains(after) {
                    let prefix = IdPrefix::parse(after).map_err(|_| unknown(plan, i, after))?;
                    mine.push(Dep::Existing(prefix));
                }
            }
            if mine.len() > MAX_DEPENDENCIES {
                return Err(Error::invalid(format!(
                    "{} has {} dependencies; the limit is {MAX_DEPENDENCIES}",
                    plan.describe(i),
                    mine.len()
                )));
            }
            specs.push(spec);
            deps.push(mine);
        }
        let by = self.actor();
        let now = self.now();
        let digests: Vec<String> = specs.iter().map(|_| digest_from(fastrand::u128(..))).collect();
        self.store.tasks().update(|view| {
            let ids = fresh_ids(view, &digests)?;
            let event = Event::new("add", &by, now, format!("import {} task(s) by {by}", specs.len()));
            let mut writes = view.writes(event);
            let mut imported = Vec::new();
            for (i, spec) in specs.iter().enumerate() {
                let mut depends_on = Vec::new();
                for dep in &deps[i] {
                    let id = match dep {
                        Dep::Key(j) => ids[*j].clone(),
                        Dep::Existing(prefix) => match resolve(view, prefix) {
                            Ok(task) => task.id,
                            Err(Error::Invalid(_)) => return Err(unknown(plan, i, &prefix.to_string())),
                            Err(e) => return Err(e),
                        },
                    };
                    if !depends_on.contains(&id) {
                        depends_on.push(id);
                    }
                }
                let task = spec.clone().into_task(ids[i].clone(), depends_on, &by, now);
                writes.save(&task)?;
                imported.push(ImportedTask {
                    key: plan.entries[i].0.clone(),
                    id: task.id,
                    title: task.title,
                });
            }
            Ok(writes.write(Imported { tasks: imported, skipped: plan.done.iter().cloned().collect() })?)
        })
    }
}

fn unknown(plan: &Plan, i: usize, after: &str) -> Error {
    Error::invalid(format!(
        "{}: after '{after}' is neither a key in the plan nor an existing task id; nothing was imported",
        plan.describe(i)
    ))
}
