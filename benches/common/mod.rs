//! What more than one benchmark sets up the same way.

use git_orchestrate::model::ids::{digest_from, TaskId};
use git_orchestrate::model::task::{TaskSpec, TaskStatus};
use git_orchestrate::store::{Event, Store};
use std::path::Path;

/// Writes `total` tasks in one commit through the library: the first
/// `closed` of them closed (one in ten cancelled, the rest done), and a
/// third of the open ones depending on a closed task. Returns their ids in
/// the order written.
pub fn populate(repo: &Path, total: usize, closed: usize) -> Vec<TaskId> {
    let store = Store::open(repo).expect("open the repository");
    let now = chrono::Utc::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let id = TaskId::candidates(&digest_from(fastrand::u128(..))).nth(4).expect("an id");
        let spec = TaskSpec {
            title: format!("benchmark task {i}"),
            description: "A task created by the task benchmarks, with a description of typical length."
                .repeat(2),
            priority: Some((i % 5) as u8),
            ..TaskSpec::default()
        };
        tasks.push(spec.into_task(id, Vec::new(), "bench", now));
    }
    for (i, task) in tasks.iter_mut().enumerate().take(closed) {
        task.status = if i % 10 == 0 { TaskStatus::Cancelled } else { TaskStatus::Done };
        task.closed_at = Some(now);
    }
    for i in (closed..total).step_by(3).filter(|i| i - closed + 1 < closed) {
        tasks[i].depends_on = vec![tasks[i - closed + 1].id.clone()];
    }
    store
        .tasks()
        .update(|view| {
            let mut writes =
                view.writes(Event::new("add", "bench", now, format!("add {total} benchmark tasks")));
            for task in &tasks {
                writes.save(task)?;
            }
            writes.write(())
        })
        .expect("write the tasks");
    tasks.into_iter().map(|t| t.id).collect()
}
