//! `git orchestrate task …`: the shared task queue.

use super::output::{time, Style};
use super::{CmdResult, Failure, Ui};
use crate::model::names::{escape_control, escape_lines};
use crate::model::task::{Readiness, Task, TaskSpec, TaskStatus};
use crate::ops::tasks::{Finish, ListRequest, TaskDetail, TaskEdit, TaskView};
use crate::ops::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task to the queue
    Add(AddArgs),
    /// List tasks (unfinished ones unless --all or --status says otherwise)
    List(ListArgs),
    /// Show one task with its notes and history
    Show(IdArgs),
    /// Change a task's title, description, priority, role, labels or dependencies
    Edit(EditArgs),
    /// Claim a task by id, or the best ready one with --next
    Claim(ClaimArgs),
    /// Leave a progress note on a task
    Note(NoteArgs),
    /// Mark a task you hold as done
    Done(FinishArgs),
    /// Mark a task you hold as failed
    Fail(FinishArgs),
    /// Hand a task you hold back to the queue
    Release(FinishArgs),
    /// Cancel a task
    Cancel(FinishArgs),
    /// Put a failed or cancelled task back in the queue (notes and history kept)
    #[command(visible_alias = "reopen")]
    Retry(RetryArgs),
    /// Give an open task to a live session (the lead or a human); it takes it with claim --next
    Assign(AssignArgs),
    /// Add a plan's tasks at once, all or nothing, from JSON or a Markdown checklist
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Task id or a unique prefix of one
    id: String,
    /// The live session to give it to
    #[arg(value_name = "SESSION")]
    to: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The plan: {"tasks":[{"key","title","description","priority","role","labels","after"}]}, or
    /// `- [ ] Title` items with indented `key:`, `after:`… lines; `-` reads stdin
    file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Task id or a unique prefix of one
    id: String,
    /// Why it is worth another try (recorded with the change)
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// One-line title
    title: String,
    /// Longer description
    #[arg(short = 'd', long = "description", value_name = "TEXT")]
    description: Option<String>,
    /// Priority, 0 (highest) to 4 (lowest); default 2
    #[arg(short = 'p', long = "priority", value_name = "0-4", value_parser = priority(), allow_negative_numbers = true)]
    priority: Option<u8>,
    /// Kind of work (task, bug, feature, …); default task
    #[arg(long = "type", value_name = "T")]
    kind: Option<String>,
    /// Role expected to do it (claim --next --role R picks it)
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// Only ready once this task is done (repeatable)
    #[arg(long = "after", value_name = "ID")]
    after: Vec<String>,
    /// Label (repeatable)
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tasks ready to claim (open, every dependency done)
    #[arg(long)]
    ready: bool,
    /// Only tasks with this status: open, claimed, done, failed, cancelled
    #[arg(long, value_name = "S")]
    status: Option<String>,
    /// Only tasks the acting session holds, or that the lead assigned to it
    #[arg(long)]
    mine: bool,
    /// Only tasks for this role
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// Include finished tasks
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// Task id or a unique prefix of one (t-3f9a, 3f9)
    id: String,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Task id or a unique prefix of one
    id: String,
    /// New one-line title
    #[arg(long, value_name = "T")]
    title: Option<String>,
    /// New description
    #[arg(short = 'd', long = "description", value_name = "TEXT")]
    description: Option<String>,
    /// New priority, 0 (highest) to 4 (lowest)
    #[arg(short = 'p', long = "priority", value_name = "0-4", value_parser = priority(), allow_negative_numbers = true)]
    priority: Option<u8>,
    /// New kind of work
    #[arg(long = "type", value_name = "T")]
    kind: Option<String>,
    /// New role
    #[arg(long, value_name = "R", conflicts_with = "no_role")]
    role: Option<String>,
    /// Clear the role
    #[arg(long)]
    no_role: bool,
    /// Add a dependency (repeatable)
    #[arg(long = "after", value_name = "ID")]
    after: Vec<String>,
    /// Remove a dependency (repeatable)
    #[arg(long = "no-after", value_name = "ID")]
    no_after: Vec<String>,
    /// Add a label (repeatable)
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
    /// Remove a label (repeatable)
    #[arg(long = "no-label", value_name = "L")]
    no_labels: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["id", "next"]))]
pub struct ClaimArgs {
    /// Task id or a unique prefix of one
    id: Option<String>,
    /// Claim the best ready task: highest priority, then oldest
    #[arg(long, conflicts_with = "id")]
    next: bool,
    /// With --next: only tasks for this role
    #[arg(long, value_name = "R", requires = "next")]
    role: Option<String>,
    /// Claim even if its dependencies are not done
    #[arg(long, conflicts_with = "next")]
    force: bool,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Task id or a unique prefix of one
    id: String,
    /// The note
    text: String,
    /// Percent done, 0 to 100 (only the holder reports progress)
    #[arg(long, value_name = "N", value_parser = percent, allow_negative_numbers = true)]
    progress: Option<u8>,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Task id or a unique prefix of one
    id: String,
    /// A note recorded with the change
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Act on a task another session holds (for humans sorting things out)
    #[arg(long)]
    force: bool,
}

fn priority() -> clap::builder::RangedI64ValueParser<u8> {
    clap::value_parser!(u8).range(0..=4)
}

/// A percentage, 0 to 100, with or without `%` (`25`, `25%`).
pub(super) fn percent(text: &str) -> Result<u8, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
    number.parse::<u8>().ok().filter(|p| *p <= 100).ok_or_else(|| {
        format!("'{text}' is not a percentage: give a whole number from 0 to 100, like 25 or 25%")
    })
}

pub fn run(ctx: &Context, ui: &Ui, command: TaskCommand) -> CmdResult {
    match command {
        TaskCommand::Add(a) => add(ctx, ui, a),
        TaskCommand::List(a) => list(ctx, ui, a),
        TaskCommand::Show(a) => show(ctx, ui, &a.id),
        TaskCommand::Edit(a) => edit(ctx, ui, a),
        TaskCommand::Claim(a) => claim(ctx, ui, a),
        TaskCommand::Note(a) => {
            let task = ctx.note_task(&a.id, &a.text, a.progress)?;
            emit_task(ui, &task, "noted")
        }
        TaskCommand::Done(a) => finish(ctx, ui, a, Finish::Done),
        TaskCommand::Fail(a) => finish(ctx, ui, a, Finish::Failed),
        TaskCommand::Release(a) => finish(ctx, ui, a, Finish::Released),
        TaskCommand::Cancel(a) => finish(ctx, ui, a, Finish::Cancelled),
        TaskCommand::Assign(a) => {
            let task = ctx.assign_task(&a.id, &a.to)?;
            emit_task(ui, &task, &format!("assigned to {}", a.to))
        }
        TaskCommand::Import(a) => import(ctx, ui, a),
        TaskCommand::Retry(a) => {
            let task = ctx.retry_task(&a.id, a.note.as_deref())?;
            emit_task(ui, &task, "reopened")
        }
    }
}

fn add(ctx: &Context, ui: &Ui, a: AddArgs) -> CmdResult {
    let spec = TaskSpec {
        title: a.title,
        description: a.description.unwrap_or_default(),
        priority: a.priority,
        kind: a.kind,
        role: a.role,
        labels: a.labels,
    };
    let task = ctx.add_task(spec, &a.after)?;
    ui.emit(&task, || task.id.to_string())
}

fn import(ctx: &Context, ui: &Ui, a: ImportArgs) -> CmdResult {
    use std::io::Read;
    let mut text = String::new();
    let read = match a.file.as_os_str() == "-" {
        true => std::io::stdin().read_to_string(&mut text).map(|_| ()),
        false => std::fs::read_to_string(&a.file).map(|t| text = t),
    };
    read.map_err(|e| Failure::Invalid(format!("cannot read the plan {}: {e}", a.file.display())))?;
    let plan = crate::model::plan::Plan::parse(&text)?;
    let imported = ctx.import_tasks(&plan)?;
    ui.emit(&imported, || {
        let width = imported.tasks.iter().map(|t| t.key.chars().count()).max().unwrap_or(0);
        let mut out: String = imported
            .tasks
            .iter()
            .map(|t| format!("{:<width$} → {}  {}\n", escape_control(&t.key), t.id, escape_control(&t.title)))
            .collect();
        if !imported.skipped.is_empty() {
            out.push_str(&format!("skipped (checked off): {}\n", imported.skipped.join(", ")));
        }
        out
    })
}

fn list(ctx: &Context, ui: &Ui, a: ListArgs) -> CmdResult {
    let req = ListRequest { ready: a.ready, status: a.status, mine: a.mine, role: a.role, all: a.all };
    let filter = ctx.task_filter(&req)?;
    let listing = ctx.list_tasks(&filter)?;
    for c in &listing.corrupt {
        ui.warn(&format!("skipped {c} (`git orchestrate doctor --repair` moves it aside)"));
    }
    ui.emit(&listing.tasks, || render_list(ui, &listing.tasks))
}

fn edit(ctx: &Context, ui: &Ui, a: EditArgs) -> CmdResult {
    let edit = TaskEdit {
        title: a.title,
        description: a.description,
        priority: a.priority,
        kind: a.kind,
        role: a.role,
        add_after: a.after,
        remove_after: a.no_after,
        add_labels: a.labels,
        remove_labels: a.no_labels,
        clear_role: a.no_role,
    };
    let (task, changed) = ctx.edit_task(&a.id, edit)?;
    emit_task(ui, &task, if changed { "edited" } else { "unchanged: it already says so" })
}

fn claim(ctx: &Context, ui: &Ui, a: ClaimArgs) -> CmdResult {
    let task = match (&a.id, a.next) {
        (_, true) => ctx.claim_next(a.role.as_deref())?,
        (Some(id), false) => ctx.claim_task(id, a.force)?,
        (None, false) => return Err(Failure::Invalid("give a task id, or --next".into())),
    };
    ui.emit(&task, || format!("{}  {}", task.id, escape_control(&task.title)))
}

fn finish(ctx: &Context, ui: &Ui, a: FinishArgs, how: Finish) -> CmdResult {
    let task = ctx.finish_task(&a.id, how, a.note.as_deref(), a.force)?;
    let what = match how {
        Finish::Released => "released",
        _ => task.status.as_str(),
    };
    emit_task(ui, &task, what)
}

fn emit_task(ui: &Ui, task: &Task, what: &str) -> CmdResult {
    ui.emit(task, || format!("{} {what}", task.id))
}

fn show(ctx: &Context, ui: &Ui, id: &str) -> CmdResult {
    let detail = ctx.show_task(id)?;
    ui.emit(&detail, || render_detail(&detail))
}

/// What the status column shows: open tasks say whether they are ready.
fn state_label(status: TaskStatus, readiness: &Readiness) -> &'static str {
    match readiness {
        Readiness::Ready => "ready",
        Readiness::Waiting { .. } => "waiting",
        Readiness::Blocked { .. } => "blocked",
        Readiness::NotOpen => status.as_str(),
    }
}

fn render_list(ui: &Ui, tasks: &[TaskView]) -> String {
    if tasks.is_empty() {
        return "no tasks".to_string();
    }
    let id_width = tasks.iter().map(|v| v.task.id.as_str().len()).max().unwrap_or(6);
    let mut out = String::new();
    for view in tasks {
        let t = &view.task;
        let state = state_label(view.task.status, &view.readiness);
        let styled = match state {
            "ready" => ui.paint(Style::Green, &format!("{state:<9}")),
            "claimed" => ui.paint(Style::Cyan, &format!("{state:<9}")),
            "blocked" | "failed" => ui.paint(Style::Red, &format!("{state:<9}")),
            "waiting" => ui.paint(Style::Yellow, &format!("{state:<9}")),
            _ => ui.paint(Style::Dim, &format!("{state:<9}")),
        };
        let who = t.assignee.as_deref().map(|a| format!(" @{a}")).unwrap_or_default();
        let role = t.role.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
        let after = match &view.readiness {
            Readiness::Waiting { on } | Readiness::Blocked { by: on } => {
                format!(" (after {})", on.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", "))
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<id_width$}  P{}  {styled}  {}{role}{who}{after}\n",
            t.id.as_str(),
            t.priority,
            escape_control(&t.title),
        ));
    }
    out
}

fn render_detail(detail: &TaskDetail) -> String {
    let t = &detail.task;
    let mut out = format!("{}  {}\n", t.id, escape_control(&t.title));
    let status = match (&t.status, &t.assignee) {
        (TaskStatus::Claimed, Some(a)) => format!("claimed by {a}"),
        (TaskStatus::Open, _) => state_label(t.status, &detail.readiness).to_string(),
        (s, Some(a)) => format!("{s} ({a})"),
        (s, None) => s.to_string(),
    };
    out.push_str(&format!("status:      {status}\n"));
    out.push_str(&format!("priority:    {}   type: {}", t.priority, t.kind));
    if let Some(role) = &t.role {
        out.push_str(&format!("   role: {role}"));
    }
    out.push('\n');
    if !t.labels.is_empty() {
        let labels: Vec<String> = t.labels.iter().map(|l| escape_control(l)).collect();
        out.push_str(&format!("labels:      {}\n", labels.join(", ")));
    }
    if !t.depends_on.is_empty() {
        let deps: Vec<&str> = t.depends_on.iter().map(|d| d.as_str()).collect();
        out.push_str(&format!("after:       {}\n", deps.join(", ")));
    }
    out.push_str(&format!("progress:    {}%\n", t.progress));
    out.push_str(&format!("created:     {} by {}\n", time(t.created_at), escape_control(&t.created_by)));
    for commit in &t.commits {
        out.push_str(&format!("commit:      {commit}\n"));
    }
    if let Some(l) = &t.landed {
        let how = if l.fast_forward { "fast-forward".to_string() } else { l.mode.to_string() };
        out.push_str(&format!(
            "landed:      {} as {} ({how}) {} by {}\n",
            escape_control(&l.into),
            &l.commit[..l.commit.len().min(12)],
            time(l.at),
            escape_control(&l.by)
        ));
    }
    if !t.description.is_empty() {
        out.push('\n');
        out.push_str(&escape_lines(&t.description, "    "));
    }
    if !t.notes.is_empty() {
        out.push_str("\nnotes:\n");
        for n in &t.notes {
            // The first line beside who wrote it, the others indented below.
            const INDENT: &str = "      ";
            let lines = escape_lines(&n.text, INDENT);
            let text = lines.strip_prefix(INDENT).unwrap_or(&lines);
            out.push_str(&format!("  {}  {}: {text}", time(n.at), escape_control(&n.by)));
        }
    }
    out.push_str("\nhistory:\n");
    for h in &detail.history {
        out.push_str(&format!("  {}  {}\n", time(h.at), escape_control(&h.summary)));
    }
    out
}
