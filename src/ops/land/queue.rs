//! The landing queue: entries landed exactly once, oldest first, by however
//! many landers run at once.
//!
//! Each entry is a document of `store.land_queue()`, numbered in the order
//! it was queued, a number never reused. Every change is one
//! compare-and-swap of the queue. A lander takes the oldest entry that
//! is not set aside by marking it `landing` with its own process identity;
//! while one entry is landing nobody takes the next one, so entries land in
//! order. The entry goes away once it has landed (or was found landed
//! already); one that cannot land is set aside with its reason, out of the
//! way of the entries behind it. An entry whose lander died is taken over:
//! its landing is computed again, and a head the target already has counts
//! as landed, so nothing lands twice.

use super::{LandOptions, LandOutcome, Plan, Status};
use crate::model::land::{Lander, QueueEntry, QueueState};
use crate::model::session::Session;
use crate::model::FORMAT;
use crate::ops::{Context, Error, Reason, Result};
use crate::store::{Corrupt, Event, Writes, Written};
use git2::Oid;
use serde::Serialize;
use std::time::Duration;

/// A lander on another machine is presumed gone after this long.
const FOREIGN_LANDER_LIMIT: chrono::Duration = chrono::Duration::hours(2);

/// What `land --queue` did for one session.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    #[serde(flatten)]
    pub entry: QueueEntry,
    /// `added`, `updated` (a waiting entry now carries the new head), or
    /// `requeued` (an entry set aside was replaced by this one).
    pub action: &'static str,
}

/// What landing one queue entry did.
#[derive(Debug, Clone, Serialize)]
pub struct QueueLanding {
    pub entry: QueueEntry,
    /// What the landing did; absent if it could not even start.
    pub outcome: Option<LandOutcome>,
    /// `landed`, `set_aside`, or `requeued` (put back: the checkout blocked).
    pub result: &'static str,
    pub reason: Option<String>,
}

/// What taking the next entry found.
enum Take {
    Empty,
    /// Another live lander is landing the oldest entry.
    Busy,
    Mine(Box<QueueEntry>),
}

impl Context {
    /// Queues each session's current branch head (all are checked first).
    pub fn queue_landing(&self, names: &[String], opts: &LandOptions) -> Result<Vec<Queued>> {
        let plans: Vec<Plan> = match names.is_empty() {
            true => vec![self.plan_landing(None, opts)?],
            false => names.iter().map(|n| self.plan_landing(Some(n), opts)).collect::<Result<_>>()?,
        };
        for plan in &plans {
            self.refuse_if_landed(plan)?;
        }
        plans.iter().map(|plan| self.enqueue(plan)).collect()
    }

    fn refuse_if_landed(&self, plan: &Plan) -> Result<()> {
        let target = super::branch_tip(self.store.repository(), &plan.into)
            .ok_or_else(|| super::not_a_branch(&plan.into))?;
        if self.already_landed(plan, target)? {
            let message = format!(
                "nothing to land: {} already has every commit of {} (at {})",
                plan.into,
                plan.branch,
                super::short(plan.head)
            );
            let reason = Reason::NothingToLand {
                session: plan.session.name.clone(),
                branch: plan.branch.clone(),
                into: plan.into.clone(),
                head: plan.head.to_string(),
            };
            return Err(Error::refusal(reason, message));
        }
        Ok(())
    }

    fn enqueue(&self, plan: &Plan) -> Result<Queued> {
        let by = self.actor();
        let now = self.now();
        self.store.land_queue().update(|view| {
            let entries = readable(view.all()?)?;
            let mine = |e: &&QueueEntry| e.session == plan.session.name;
            if let Some(waiting) = entries.iter().filter(mine).find(|e| e.state == QueueState::Queued) {
                let mut entry = waiting.clone();
                if entry.head == plan.head.to_string() && entry.mode == plan.mode && entry.into == plan.into {
                    return Ok(Written::Unchanged(Queued { entry, action: "unchanged" }));
                }
                entry.head = plan.head.to_string();
                entry.mode = plan.mode;
                entry.into = plan.into.clone();
                entry.task = plan.tasks.first().cloned().or(entry.task);
                let mut writes = Writes::new(queue_event("queue", &by, now, &entry, "update"));
                writes.save(&entry);
                return Ok(writes.write(Queued { entry, action: "updated" }));
            }
            let seq = view.next_seq()?;
            let entry = QueueEntry {
                format: FORMAT,
                seq,
                session: plan.session.name.clone(),
                task: plan.tasks.first().cloned(),
                branch: plan.branch.clone(),
                head: plan.head.to_string(),
                into: plan.into.clone(),
                mode: plan.mode,
                queued_by: by.clone(),
                queued_at: now,
                state: QueueState::Queued,
                lander: None,
                reason: None,
            };
            let set_aside: Vec<&QueueEntry> =
                entries.iter().filter(mine).filter(|e| e.state == QueueState::SetAside).collect();
            let mut writes = Writes::new(queue_event("queue", &by, now, &entry, "add"));
            for old in &set_aside {
                writes.remove(&old.seq);
            }
            writes.add(&entry);
            let action = if set_aside.is_empty() { "added" } else { "requeued" };
            Ok::<_, Error>(writes.write(Queued { entry, action }))
        })
    }

    /// Every entry, oldest first.
    pub fn queue_list(&self) -> Result<Vec<QueueEntry>> {
        readable(self.store.land_queue().all()?)
    }

    /// Lands the oldest entry, waiting while another lander is on the one
    /// before it. `None` when nothing is waiting.
    pub fn land_next(&self, opts: &LandOptions) -> Result<Option<QueueLanding>> {
        let me = self.lander();
        loop {
            match self.take_next(&me)? {
                Take::Empty => return Ok(None),
                Take::Busy => std::thread::sleep(Duration::from_millis(fastrand::u64(20..80))),
                Take::Mine(entry) => return self.land_entry(*entry, &me, opts).map(Some),
            }
        }
    }

    /// Lands every waiting entry in order; entries set aside do not stop it.
    pub fn land_all(&self, opts: &LandOptions) -> Result<Vec<QueueLanding>> {
        let mut done = Vec::new();
        while let Some(landing) = self.land_next(opts)? {
            let stop = landing.result == "requeued";
            done.push(landing);
            if stop {
                break;
            }
        }
        Ok(done)
    }

    /// Marks the oldest waiting entry as being landed by `me`.
    fn take_next(&self, me: &Lander) -> Result<Take> {
        let now = self.now();
        let by = self.actor();
        self.store.land_queue().update(|view| {
            let entries = readable(view.all()?)?;
            let Some(first) = entries.into_iter().find(|e| e.state != QueueState::SetAside) else {
                return Ok(Written::Unchanged(Take::Empty));
            };
            if first.state == QueueState::Landing {
                if let Some(lander) = &first.lander {
                    if lander_alive(lander, me, now) {
                        return Ok(Written::Unchanged(Take::Busy));
                    }
                }
            }
            let mut entry = first;
            let verb = if entry.state == QueueState::Landing { "take over" } else { "take" };
            entry.state = QueueState::Landing;
            entry.lander = Some(Lander { since: now, ..me.clone() });
            let mut writes = Writes::new(queue_event("take", &by, now, &entry, verb));
            writes.save(&entry);
            Ok::<_, Error>(writes.write(Take::Mine(Box::new(entry))))
        })
    }

    fn land_entry(&self, entry: QueueEntry, me: &Lander, opts: &LandOptions) -> Result<QueueLanding> {
        let plan = match self.plan_entry(&entry, opts) {
            Ok(plan) => plan,
            Err(e @ (Error::Invalid(_) | Error::Refused(_))) => {
                let reason = e.message();
                self.settle(&entry, me, Settle::SetAside(reason.clone()))?;
                return Ok(QueueLanding { entry, outcome: None, result: "set_aside", reason: Some(reason) });
            }
            Err(e) => {
                self.settle(&entry, me, Settle::Requeue)?;
                return Err(e);
            }
        };
        let outcome = match self.land_plan(&plan) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.settle(&entry, me, Settle::Requeue)?;
                return Err(e);
            }
        };
        let (settle, result) = match outcome.status {
            Status::Landed | Status::NothingToLand => (Settle::Done, "landed"),
            Status::CheckoutBlocked => (Settle::Requeue, "requeued"),
            Status::Conflict | Status::CheckFailed => {
                (Settle::SetAside(outcome.reason.clone().unwrap_or_default()), "set_aside")
            }
        };
        self.settle(&entry, me, settle)?;
        let reason = outcome.reason.clone();
        Ok(QueueLanding { entry, outcome: Some(outcome), result, reason })
    }

    /// A plan for landing an entry: the head it recorded, onto its target.
    fn plan_entry(&self, entry: &QueueEntry, opts: &LandOptions) -> Result<Plan> {
        let repo = self.store.repository();
        let head =
            Oid::from_str(&entry.head).ok().filter(|h| repo.find_commit(*h).is_ok()).ok_or_else(|| {
                Error::invalid(format!("{}: its head {} is not in this repository", entry.id(), entry.head))
            })?;
        let session = self
            .session_document(&entry.session)?
            .unwrap_or_else(|| Session::new(&entry.session, self.now()));
        let target = super::branch_tip(repo, &entry.into).ok_or_else(|| super::not_a_branch(&entry.into))?;
        let mut tasks = self.tasks_of_landing(&session, target, head);
        if tasks.is_empty() {
            tasks.extend(entry.task.clone());
        }
        let check = opts
            .check
            .clone()
            .or_else(|| self.store.config_string("orchestrate.landCheck"))
            .filter(|c| !c.trim().is_empty());
        Ok(Plan {
            session,
            branch: entry.branch.clone(),
            head,
            into: entry.into.clone(),
            mode: entry.mode,
            check,
            tasks,
            queued: true,
        })
    }

    /// Ends a lander's hold on an entry.
    fn settle(&self, entry: &QueueEntry, me: &Lander, how: Settle) -> Result<()> {
        let now = self.now();
        let by = self.actor();
        self.store.land_queue().update(|view| {
            let Some(mut current) = view.get(&entry.seq)? else {
                return Ok(Written::Unchanged(()));
            };
            // Taken over meanwhile (this lander was thought dead): the new
            // lander owns it now.
            let still_mine = current.state == QueueState::Landing
                && current.lander.as_ref().is_some_and(|l| l.pid == me.pid && l.host == me.host);
            if !still_mine {
                return Ok(Written::Unchanged(()));
            }
            let mut writes;
            match &how {
                Settle::Done => {
                    writes = Writes::new(queue_event("landed", &by, now, &current, "landed"));
                    writes.remove(&current.seq);
                }
                Settle::SetAside(reason) => {
                    current.state = QueueState::SetAside;
                    current.lander = None;
                    current.reason = Some(reason.clone());
                    writes = Writes::new(queue_event("set-aside", &by, now, &current, "set aside"));
                    writes.save(&current);
                }
                Settle::Requeue => {
                    current.state = QueueState::Queued;
                    current.lander = None;
                    writes = Writes::new(queue_event("release", &by, now, &current, "put back"));
                    writes.save(&current);
                }
            }
            Ok::<_, Error>(writes.write(()))
        })
    }

    /// This process as a lander.
    fn lander(&self) -> Lander {
        let me = crate::os::process::Proc::me();
        Lander { name: self.actor(), pid: me.pid, start: me.start, host: host_name(), since: self.now() }
    }
}

enum Settle {
    Done,
    SetAside(String),
    Requeue,
}

/// The entries of the queue, oldest first, if every one can be read.
fn readable((mut entries, corrupt): (Vec<QueueEntry>, Vec<Corrupt>)) -> Result<Vec<QueueEntry>> {
    if let Some(c) = corrupt.first() {
        // A damaged entry must not be skipped silently: order depends on it.
        return Err(Error::failed(format!(
            "{c}; the landing queue stops until it is readable again: `git orchestrate doctor --repair` moves it \
             aside (kept in git)"
        )));
    }
    // Oldest first, whatever the order of the files in the tree.
    entries.sort_by_key(|e| e.seq);
    Ok(entries)
}

fn queue_event(
    action: &str,
    by: &str,
    now: crate::model::time::Timestamp,
    entry: &QueueEntry,
    verb: &str,
) -> Event {
    let summary = format!(
        "{verb} {} ({} at {} onto {}) by {by}",
        entry.id(),
        entry.session,
        &entry.head[..entry.head.len().min(10)],
        entry.into
    );
    Event::new(action, by, now, summary).entity(entry.id())
}

/// Whether the lander holding an entry is still at it.
fn lander_alive(lander: &Lander, me: &Lander, now: crate::model::time::Timestamp) -> bool {
    if lander.host != me.host {
        return now - lander.since < FOREIGN_LANDER_LIMIT;
    }
    if lander.pid == me.pid && lander.start == me.start {
        return false; // this very process, after an interrupted attempt
    }
    crate::os::process::Proc { pid: lander.pid, start: lander.start }.is_alive()
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into a buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match ok {
        true => String::from_utf8_lossy(&buf[..end]).into_owned(),
        false => "localhost".to_string(),
    }
}

impl Context {
    /// With `orchestrate.landOnDone=queue`, queues the branch of the session
    /// that just finished a task. Returns what happened worth saying: the
    /// queue entry, or why it was not queued. `None` when not configured or
    /// when the acting party is not a session with a branch.
    pub(crate) fn queue_on_done(
        &self,
        session: &str,
        task: &str,
    ) -> Option<std::result::Result<Queued, String>> {
        let wanted = self.store.config_string("orchestrate.landOnDone")?;
        if wanted.trim() != "queue" {
            return None;
        }
        let doc = self.session_document(session).ok()??;
        doc.branch.as_ref()?;
        let queue = || {
            let mut plan = self.plan_landing(Some(session), &LandOptions::default())?;
            if !plan.tasks.iter().any(|t| t == task) {
                plan.tasks.insert(0, task.to_string());
            }
            self.refuse_if_landed(&plan)?;
            self.enqueue(&plan)
        };
        Some(queue().map_err(|e| e.message()))
    }
}
