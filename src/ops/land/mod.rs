//! Landing: a session's committed work brought into its target branch.
//!
//! A landing never touches a working tree to compute its result: the merge
//! (or squash, or replay of each commit) is done by `git merge-tree
//! --write-tree`, which writes only objects. An optional check command runs
//! in a temporary worktree of the candidate result. Only then does the target
//! move, by compare-and-swap on the tip the result was computed from; a
//! landing that loses that race computes again on the new tip, so it never
//! overwrites a commit someone else put there.
//!
//! When the target is checked out (typically in the main worktree), the ref
//! is locked and verified first (a prepared `git update-ref` transaction),
//! the checkout is brought forward as `git merge --ff-only` would, and the
//! ref moves only if that succeeded: either both move or neither does, and
//! the user's uncommitted changes are never overwritten.
//!
//! [`queue`] shares the work among several landers through
//! `refs/orchestrate/queue`.

pub(crate) mod git;
pub mod queue;

use super::{Context, Error, Reason, Result};
use crate::model::land::{LandMode, Landed};
use crate::model::message::MessageKind;
use crate::model::session::Session;
use crate::ops::messages::Outgoing;
use git::{Forward, GitError, PrepareError};
use git2::{ErrorCode, Oid, Repository, Signature};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How long a landing keeps computing again after losing the race for the
/// target (another lander may hold its lock while it updates a large
/// checkout) before it gives up.
const RACE_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);
/// Lines of a failed check's output kept on the task and in the reply.
const CHECK_TAIL_LINES: usize = 40;

/// What the caller asks of a landing; `None` takes the session's or the
/// configured default.
#[derive(Debug, Clone, Default)]
pub struct LandOptions {
    pub into: Option<String>,
    pub mode: Option<LandMode>,
    pub check: Option<String>,
}

/// Everything a landing needs, validated before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    pub session: Session,
    pub branch: String,
    /// The branch head to land (for a queue entry: the head when queued).
    pub head: Oid,
    pub into: String,
    pub mode: LandMode,
    pub check: Option<String>,
    /// The tasks the landing is for: those the commits close, else the
    /// session's current task.
    pub tasks: Vec<String>,
    /// It came through the landing queue (so is handed back to it).
    pub queued: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Landed,
    /// The target already has this work.
    NothingToLand,
    Conflict,
    CheckFailed,
    /// The target's checkout has uncommitted changes the update would overwrite.
    CheckoutBlocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Landed => "landed",
            Status::NothingToLand => "nothing_to_land",
            Status::Conflict => "conflict",
            Status::CheckFailed => "check_failed",
            Status::CheckoutBlocked => "checkout_blocked",
        }
    }
}

/// A file both sides changed in ways that do not merge.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictFile {
    pub path: String,
    /// The target-side commit that last changed it, if found.
    pub commit: Option<String>,
    /// The session that brought that commit, when known.
    pub session: Option<String>,
}

/// What a check command did.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    pub command: String,
    pub passed: bool,
    pub exit_code: Option<i32>,
    /// The last lines of its output (stdout and stderr together).
    pub output: String,
}

/// What one landing did.
#[derive(Debug, Clone, Serialize)]
pub struct LandOutcome {
    pub session: String,
    pub branch: String,
    pub into: String,
    pub mode: LandMode,
    pub head: String,
    pub status: Status,
    pub landed: Option<Landed>,
    pub tasks: Vec<String>,
    pub conflicts: Vec<ConflictFile>,
    pub check: Option<CheckRun>,
    /// The checkout of the target that was brought forward, or that blocked.
    pub checkout: Option<String>,
    /// Files in that checkout the update would have overwritten.
    pub blocked_files: Vec<String>,
    /// Why it did not land, in words.
    pub reason: Option<String>,
    /// Things that went wrong after the target moved (a record not written).
    pub warnings: Vec<String>,
}

impl LandOutcome {
    fn new(plan: &Plan, status: Status) -> LandOutcome {
        LandOutcome {
            session: plan.session.name.clone(),
            branch: plan.branch.clone(),
            into: plan.into.clone(),
            mode: plan.mode,
            head: plan.head.to_string(),
            status,
            landed: None,
            tasks: plan.tasks.clone(),
            conflicts: Vec::new(),
            check: None,
            checkout: None,
            blocked_files: Vec::new(),
            reason: None,
            warnings: Vec::new(),
        }
    }

    pub fn is_landed(&self) -> bool {
        self.status == Status::Landed
    }
}

/// A candidate result computed on one target tip.
enum Candidate {
    /// The target tip is an ancestor of the head: move to the head itself.
    FastForward(Oid),
    /// A new commit on the target.
    Commit(Oid),
    /// The target already holds every change.
    AlreadyThere,
    Conflict(Vec<String>),
}

impl Context {
    /// Checks a landing request for `name` (or the acting session) and
    /// returns what would be landed where; writes nothing.
    pub fn plan_landing(&self, name: Option<&str>, opts: &LandOptions) -> Result<Plan> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.require_session("`land` without a session name")?.to_string(),
        };
        crate::model::names::validate_session_name(&name)?;
        let session = self.session_document(&name)?.ok_or_else(|| {
            Error::invalid(format!("no session named {name}: see `git orchestrate session list --all`"))
        })?;
        let branch = session.branch.clone().ok_or_else(|| {
            Error::invalid(format!(
                "session {name} has no branch (it was started with --no-worktree): there is nothing of its own to land"
            ))
        })?;
        let repo = self.store.repository();
        let head = branch_tip(repo, &branch).ok_or_else(|| {
            Error::invalid(format!(
                "session {name}'s branch {branch} does not exist: there is nothing to land"
            ))
        })?;
        let into = self.landing_into(&session, opts.into.as_deref())?;
        if into == branch {
            return Err(Error::invalid(format!(
                "{branch} is session {name}'s own branch: land it into another branch with --into"
            )));
        }
        let mode = match opts.mode {
            Some(m) => m,
            None => self.default_land_mode()?,
        };
        let check = opts
            .check
            .clone()
            .or_else(|| self.store.config_string("orchestrate.landCheck"))
            .filter(|c| !c.trim().is_empty());
        let target = branch_tip(repo, &into).ok_or_else(|| not_a_branch(&into))?;
        let tasks = self.tasks_of_landing(&session, target, head);
        Ok(Plan { session, branch, head, into, mode, check, tasks, queued: false })
    }

    /// The target: `--into`, else the session's, else `orchestrate.landInto`.
    fn landing_into(&self, session: &Session, given: Option<&str>) -> Result<String> {
        let configured = self.store.config_string("orchestrate.landInto").filter(|b| !b.trim().is_empty());
        // A session document from before targets were recorded: the branch
        // the main checkout is on.
        let main_branch = || {
            let main = Repository::open(self.store.main_root()).ok()?;
            let head = main.head().ok().filter(|h| h.is_branch())?;
            head.shorthand().map(str::to_string).ok()
        };
        let into =
            given.map(str::to_string).or_else(|| session.into.clone()).or(configured).or_else(main_branch);
        let Some(into) = into else {
            return Err(Error::invalid(format!(
                "session {} has no target branch: pass --into BRANCH (or set git config orchestrate.landInto)",
                session.name
            )));
        };
        let name = into.strip_prefix("refs/heads/").unwrap_or(&into).to_string();
        let valid = git2::Branch::name_is_valid(&name).unwrap_or(false);
        if !valid || branch_tip(self.store.repository(), &name).is_none() {
            return Err(not_a_branch(&into));
        }
        Ok(name)
    }

    /// `orchestrate.landMode`, else merge.
    pub(crate) fn default_land_mode(&self) -> Result<LandMode> {
        match self.store.config_string("orchestrate.landMode") {
            None => Ok(LandMode::Merge),
            Some(text) => LandMode::parse(text.trim())
                .map_err(|e| Error::invalid(format!("git config orchestrate.landMode: {e}"))),
        }
    }

    /// The tasks a landing is for: those its commits close, else the
    /// session's current task.
    fn tasks_of_landing(&self, session: &Session, target: Oid, head: Oid) -> Vec<String> {
        let mut closes = Vec::new();
        for commit in commits_between(self.store.repository(), target, head) {
            for (id, close) in super::hooks::task_trailers(&commit.1) {
                if close && !closes.contains(&id) {
                    closes.push(id);
                }
            }
        }
        if !closes.is_empty() {
            return closes;
        }
        let filter = super::tasks::TaskFilter {
            status: Some(crate::model::task::TaskStatus::Claimed),
            assignee: Some(session.name.clone()),
            ..Default::default()
        };
        let current = match self.list_tasks(&filter) {
            Ok(listing) => super::sessions::current_tasks_of(&listing.tasks).remove(&session.name),
            Err(_) => None,
        };
        if let Some(task) = current.or_else(|| session.task.clone()) {
            return vec![task];
        }
        // Else the tasks it finished whose work has not landed yet.
        let filter = super::tasks::TaskFilter {
            status: Some(crate::model::task::TaskStatus::Done),
            assignee: Some(session.name.clone()),
            closed: true,
            ..Default::default()
        };
        let Ok(listing) = self.list_tasks(&filter) else { return Vec::new() };
        listing
            .tasks
            .iter()
            .map(|v| v.task.id.to_string())
            .filter(|id| self.task_document(id).is_ok_and(|t| t.landed.is_none()))
            .collect()
    }

    /// Lands each session in turn (all are checked first: bad input
    /// changes nothing). One that cannot land does not stop the others.
    pub fn land(&self, names: &[String], opts: &LandOptions) -> Result<Vec<LandOutcome>> {
        let plans: Vec<Plan> = match names.is_empty() {
            true => vec![self.plan_landing(None, opts)?],
            false => names.iter().map(|n| self.plan_landing(Some(n), opts)).collect::<Result<_>>()?,
        };
        plans.iter().map(|plan| self.land_plan(plan)).collect()
    }

    /// Carries out one landing.
    pub fn land_plan(&self, plan: &Plan) -> Result<LandOutcome> {
        let repo = self.store.repository();
        let git_dir = self.store.common_dir().to_path_buf();
        let refname = format!("refs/heads/{}", plan.into);
        let started = std::time::Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let target = branch_tip(repo, &plan.into).ok_or_else(|| not_a_branch(&plan.into))?;
            if self.already_landed(plan, target)? {
                return Ok(self.nothing_to_land(plan));
            }
            let (new, fast_forward) = match self.candidate(plan, target, &git_dir)? {
                Candidate::AlreadyThere => return Ok(self.nothing_to_land(plan)),
                Candidate::Conflict(files) => return self.conflicted(plan, target, files, &git_dir),
                Candidate::FastForward(oid) => (oid, true),
                Candidate::Commit(oid) => (oid, false),
            };
            let mut check_run = None;
            if let Some(command) = &plan.check {
                let run = self.run_check(command, new, plan)?;
                if !run.passed {
                    return Ok(self.check_failed(plan, run));
                }
                check_run = Some(run);
            }
            match self.move_target(&refname, &plan.into, target, new)? {
                Moved::Yes(checkout) => {
                    let mut outcome = self.landed(plan, target, new, fast_forward);
                    outcome.check = check_run;
                    outcome.checkout = checkout.map(|p| p.to_string_lossy().into_owned());
                    return Ok(outcome);
                }
                Moved::Blocked(checkout, files) => {
                    let mut outcome = LandOutcome::new(plan, Status::CheckoutBlocked);
                    outcome.reason = Some(format!(
                        "{} has {} checked out with uncommitted changes that the update would overwrite: {}; \
                         commit or stash them, then land again",
                        checkout.display(),
                        plan.into,
                        files.join(", ")
                    ));
                    outcome.checkout = Some(checkout.to_string_lossy().into_owned());
                    outcome.blocked_files = files;
                    outcome.check = check_run;
                    return Ok(outcome);
                }
                Moved::Lost if started.elapsed() < RACE_BUDGET => {
                    // Someone moved the target (or holds it): compute again
                    // on its tip, after a pause that grows and is jittered so
                    // racing landers spread apart.
                    let cap = 2u64.saturating_mul(1 << attempt.min(6)).min(100);
                    std::thread::sleep(std::time::Duration::from_millis(fastrand::u64(1..=cap)));
                }
                Moved::Lost => {
                    return Err(Error::failed(format!(
                        "{} kept moving while landing {}: gave up after {attempt} attempts; try again",
                        plan.into, plan.session.name
                    )))
                }
            }
        }
    }

    /// Whether the target already has the head: reachable from it, or
    /// carried there by the session's last squash or rebase.
    fn already_landed(&self, plan: &Plan, target: Oid) -> Result<bool> {
        let repo = self.store.repository();
        if plan.head == target || descends(repo, target, plan.head)? {
            return Ok(true);
        }
        Ok(carried_by_record(repo, plan.session.landed.as_ref(), &plan.into, plan.head, target))
    }

    fn candidate(&self, plan: &Plan, target: Oid, git_dir: &Path) -> Result<Candidate> {
        let repo = self.store.repository();
        if descends(repo, plan.head, target)? {
            return Ok(Candidate::FastForward(plan.head));
        }
        let target_tree = tree_of(repo, target)?;
        match plan.mode {
            LandMode::Merge | LandMode::Squash => {
                let merged = git::merge_tree(git_dir, target, plan.head, None).map_err(git_failure)?;
                if !merged.conflicts.is_empty() {
                    return Ok(Candidate::Conflict(merged.conflicts));
                }
                if merged.tree == target_tree {
                    return Ok(Candidate::AlreadyThere);
                }
                let message = self.landing_message(plan, target);
                let parents: Vec<Oid> = match plan.mode {
                    LandMode::Merge => vec![target, plan.head],
                    _ => vec![target],
                };
                let commit = self.write_commit(merged.tree, &parents, &message, None)?;
                Ok(Candidate::Commit(commit))
            }
            LandMode::Rebase => self.replay(plan, target, target_tree, git_dir),
        }
    }

    /// Replays the branch's commits (merges left out, as `git rebase` does)
    /// on the target, keeping each one's author and message; commits whose
    /// change the target already has are dropped.
    fn replay(&self, plan: &Plan, target: Oid, target_tree: Oid, git_dir: &Path) -> Result<Candidate> {
        let repo = self.store.repository();
        let mut tip = target;
        let mut tip_tree = target_tree;
        for (oid, _) in commits_between(repo, target, plan.head).into_iter().rev() {
            let commit = repo.find_commit(oid).map_err(read_failure)?;
            if commit.parent_count() != 1 {
                continue;
            }
            let parent = commit.parent_id(0).map_err(read_failure)?;
            let step = git::merge_tree(git_dir, tip, oid, Some(parent)).map_err(git_failure)?;
            if !step.conflicts.is_empty() {
                return Ok(Candidate::Conflict(step.conflicts));
            }
            if step.tree == tip_tree {
                continue;
            }
            let message = commit.message().unwrap_or("").to_string();
            tip = self.write_commit(step.tree, &[tip], &message, Some(&commit.author()))?;
            tip_tree = step.tree;
        }
        Ok(if tip == target { Candidate::AlreadyThere } else { Candidate::Commit(tip) })
    }

    /// The message of a merge or squash commit: it names the session, its
    /// task and the commits; a squash carries the branch's task trailers.
    fn landing_message(&self, plan: &Plan, target: Oid) -> String {
        let repo = self.store.repository();
        let commits = commits_between(repo, target, plan.head);
        let name = &plan.session.name;
        let task = plan.tasks.first().map(|t| format!(" ({t})")).unwrap_or_default();
        let verb = match plan.mode {
            LandMode::Squash => "Squash",
            _ => "Merge",
        };
        let mut message = format!("{verb} session {name}{task} into {}\n\n", plan.into);
        message.push_str(&format!("Branch {} at {}:\n", plan.branch, plan.head));
        for (oid, text) in commits.iter().rev() {
            let subject = text.lines().next().unwrap_or("");
            message.push_str(&format!("  {} {subject}\n", &oid.to_string()[..10]));
        }
        message.push_str(&format!("\nSession: {name}\n"));
        if plan.mode == LandMode::Squash {
            let mut seen = Vec::new();
            for (_, text) in commits.iter().rev() {
                for (id, closes) in super::hooks::task_trailers(text) {
                    let line = format!("{}: {id}\n", if closes { "Closes" } else { "Task" });
                    if !seen.contains(&line) {
                        seen.push(line);
                    }
                }
            }
            seen.iter().for_each(|l| message.push_str(l));
        }
        message
    }

    /// Writes a commit object (no ref moves): committed by whoever lands,
    /// authored by `author` or by the lander.
    fn write_commit(
        &self,
        tree: Oid,
        parents: &[Oid],
        message: &str,
        author: Option<&Signature<'_>>,
    ) -> Result<Oid> {
        let repo = self.store.repository();
        let committer = repo
            .signature()
            .or_else(|_| Signature::now(&self.actor(), "git-orchestrate@localhost"))
            .map_err(read_failure)?;
        let tree = repo.find_tree(tree).map_err(read_failure)?;
        let parents: Vec<git2::Commit<'_>> =
            parents.iter().map(|p| repo.find_commit(*p)).collect::<Result<_, _>>().map_err(read_failure)?;
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(None, author.unwrap_or(&committer), &committer, message, &tree, &parents)
            .map_err(|e| Error::failed(format!("write the landing commit: {}", e.message())))
    }

    /// Runs the check command in a temporary worktree of `candidate`.
    fn run_check(&self, command: &str, candidate: Oid, plan: &Plan) -> Result<CheckRun> {
        let stamp = format!("{}-{}", std::process::id(), fastrand::u32(..));
        let path = std::env::temp_dir().join(format!("git-orchestrate-check-{}-{stamp}", plan.session.name));
        let root = self.store.main_root();
        let worktree = git::TempWorktree::add(&root, path, candidate).map_err(git_failure)?;
        // The check sees what a session worktree sees: the untracked files
        // listed in .worktreeinclude (.env and the like).
        let (includes, _) = crate::worktree::include_list(&root);
        crate::worktree::copy_includes(&root, &worktree.path, &includes).map_err(|e| {
            Error::failed(format!("copy {} into the check worktree: {e}", crate::worktree::INCLUDE_FILE))
        })?;
        let log = std::env::temp_dir().join(format!("git-orchestrate-check-{stamp}.log"));
        let file = std::fs::File::create(&log)
            .map_err(|e| Error::failed(format!("create {}: {e}", log.display())))?;
        let err = file.try_clone().map_err(|e| Error::failed(format!("open {}: {e}", log.display())))?;
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&worktree.path)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("ORCHESTRATE_LAND_SESSION", &plan.session.name)
            .env("ORCHESTRATE_LAND_INTO", &plan.into)
            .env("ORCHESTRATE_LAND_COMMIT", candidate.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(file)
            .stderr(err)
            .status();
        drop(worktree);
        let output = std::fs::read(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        let status = status.map_err(|e| Error::failed(format!("run the check `{command}`: {e}")))?;
        Ok(CheckRun {
            command: command.to_string(),
            passed: status.success(),
            exit_code: status.code(),
            output: tail_lines(&String::from_utf8_lossy(&output), CHECK_TAIL_LINES),
        })
    }

    /// Moves the target from `old` to `new`, bringing its checkout forward
    /// if it has one.
    fn move_target(&self, refname: &str, into: &str, old: Oid, new: Oid) -> Result<Moved> {
        if let Some(worktree) = self.rebasing(refname) {
            let message = format!("{into} is being rebased in {}", worktree.display());
            let reason = Reason::TargetRebasing { into: into.to_string(), worktree: display(&worktree) };
            return Err(Error::refusal(reason, message));
        }
        let checkouts = self.checkouts_of(into)?;
        let repo = self.store.repository();
        let Some(checkout) = checkouts.first() else {
            let message = format!("git-orchestrate land: {into} to {new}");
            return match repo.reference_matching(refname, new, true, old, &message) {
                Ok(_) => Ok(Moved::Yes(None)),
                Err(e)
                    if matches!(e.code(), ErrorCode::Modified | ErrorCode::Locked | ErrorCode::NotFound) =>
                {
                    Ok(Moved::Lost)
                }
                Err(e) => Err(Error::failed(format!("move {refname}: {}", e.message()))),
            };
        };
        if checkouts.len() > 1 {
            let worktrees: Vec<String> = checkouts.iter().map(|p| display(p)).collect();
            let message = format!(
                "{into} is checked out in {} worktrees ({}); landing brings one checkout forward, not several: \
                 switch all but one to another branch",
                worktrees.len(),
                worktrees.join(", ")
            );
            return Err(Error::refusal(
                Reason::TargetInSeveralCheckouts { into: into.to_string(), worktrees },
                message,
            ));
        }
        // Lock the ref at `old` first, so nothing moves it while the
        // checkout is updated; then update the checkout; only then move
        // the ref. A failure on the way aborts the transaction.
        let prepared = match git::Prepared::start(self.store.common_dir(), refname, new, old) {
            Ok(p) => p,
            Err(PrepareError::Lost) => return Ok(Moved::Lost),
            Err(PrepareError::Git(e)) => return Err(git_failure(e)),
        };
        match git::forward_checkout(checkout, old, new) {
            Ok(()) => {}
            Err(Forward::WouldOverwrite(files)) => return Ok(Moved::Blocked(checkout.clone(), files)),
            Err(Forward::Refused(why)) => {
                let message = format!(
                    "{into} is checked out in {} and git would not bring it forward: {why}",
                    checkout.display()
                );
                let reason = Reason::CheckoutNotForwarded {
                    into: into.to_string(),
                    checkout: display(checkout),
                    git: why,
                };
                return Err(Error::refusal(reason, message));
            }
        }
        if let Err(e) = prepared.commit() {
            // Put the checkout back where its branch still is.
            let _ = git::forward_checkout(checkout, new, old);
            return Err(git_failure(e));
        }
        Ok(Moved::Yes(Some(checkout.clone())))
    }

    /// The worktree in which `refname` is being rebased, if any: git shows
    /// its HEAD as detached meanwhile, and moving the branch under the
    /// rebase would make it fail at its end.
    fn rebasing(&self, refname: &str) -> Option<PathBuf> {
        let common = self.store.common_dir();
        let mut git_dirs = vec![(common.to_path_buf(), self.store.main_root())];
        if let Ok(entries) = std::fs::read_dir(common.join("worktrees")) {
            for entry in entries.flatten() {
                let top = std::fs::read_to_string(entry.path().join("gitdir"))
                    .ok()
                    .and_then(|g| PathBuf::from(g.trim()).parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| entry.path());
                git_dirs.push((entry.path(), top));
            }
        }
        git_dirs.into_iter().find_map(|(dir, top)| {
            ["rebase-merge/head-name", "rebase-apply/head-name"]
                .iter()
                .any(|f| std::fs::read_to_string(dir.join(f)).is_ok_and(|n| n.trim() == refname))
                .then_some(top)
        })
    }

    /// The worktrees that have `branch` checked out.
    fn checkouts_of(&self, branch: &str) -> Result<Vec<PathBuf>> {
        let root = self.store.main_root();
        // A bare repository without linked worktrees has no checkout at all.
        if self.store.repository().is_bare()
            && self.store.repository().worktrees().map(|w| w.is_empty()).unwrap_or(true)
        {
            return Ok(Vec::new());
        }
        let registered = crate::worktree::registered(&root)
            .map_err(|e| Error::failed(format!("list the worktrees: {e}")))?;
        Ok(registered
            .into_iter()
            .filter(|r| !r.missing && r.branch.as_deref() == Some(branch))
            .map(|r| r.path)
            .collect())
    }

    fn nothing_to_land(&self, plan: &Plan) -> LandOutcome {
        let mut outcome = LandOutcome::new(plan, Status::NothingToLand);
        outcome.reason = Some(format!(
            "nothing to land: {} already has every commit of {} (at {})",
            plan.into,
            plan.branch,
            short(plan.head)
        ));
        outcome
    }

    /// A conflict: nothing lands; the owning session is told once how to
    /// resolve it.
    fn conflicted(
        &self,
        plan: &Plan,
        target: Oid,
        files: Vec<String>,
        git_dir: &Path,
    ) -> Result<LandOutcome> {
        let repo = self.store.repository();
        let base = repo.merge_base(target, plan.head).ok();
        let sessions = self.all_sessions().unwrap_or_default();
        let conflicts: Vec<ConflictFile> = files
            .into_iter()
            .map(|path| {
                let commit = git::last_change(git_dir, target, base, &path);
                let session = commit.and_then(|c| who_brought(repo, c, &sessions, &plan.session.name));
                ConflictFile { path, commit: commit.map(|c| c.to_string()), session }
            })
            .collect();
        let mut outcome = LandOutcome::new(plan, Status::Conflict);
        let described: Vec<String> = conflicts.iter().map(describe_conflict).collect();
        outcome.reason =
            Some(format!("{} conflicts with {}: {}", plan.branch, plan.into, described.join("; ")));
        outcome.conflicts = conflicts;
        let body = format!(
            "Landing {branch} (at {head}) into {into} conflicts, so nothing landed.\n\n{list}\n\n\
             To resolve: in your worktree, rebase your branch onto {into} (`git rebase {into}`), \
             fix the conflicts, `git rebase --continue`, then {again}.\n",
            branch = plan.branch,
            head = short(plan.head),
            into = plan.into,
            list = described.iter().map(|d| format!("- {d}")).collect::<Vec<_>>().join("\n"),
            again = match plan.queued {
                true => "queue it again (`git orchestrate land --queue`)",
                false => "land again (`git orchestrate land`)",
            },
        );
        let files: Vec<&str> = outcome.conflicts.iter().map(|c| c.path.as_str()).collect();
        let message = Outgoing {
            to: plan.session.name.clone(),
            subject: one_line(&format!("land into {} conflicts: {}", plan.into, files.join(", ")), 150),
            body,
            kind: Some(MessageKind::Handoff.as_str().into()),
            reply_to: None,
        };
        if let Err(e) = self.send(&message) {
            outcome.warnings.push(format!("the handoff message to {} was not sent: {e}", plan.session.name));
        }
        Ok(outcome)
    }

    fn check_failed(&self, plan: &Plan, run: CheckRun) -> LandOutcome {
        let mut outcome = LandOutcome::new(plan, Status::CheckFailed);
        let code = run.exit_code.map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into());
        outcome.reason = Some(format!("the check `{}` failed ({code}) on the candidate result", run.command));
        let mut note = format!(
            "landing into {} refused: check `{}` failed ({code}); last lines:\n{}",
            plan.into, run.command, run.output
        );
        // Notes are bounded; keep the end of the output, where errors are.
        while note.len() > crate::model::task::MAX_NOTE_BYTES {
            let cut = note.char_indices().nth(note.chars().count() / 8).map_or(0, |(i, _)| i);
            let tail = note.split_at(cut).1.to_string();
            note = format!("…{tail}");
        }
        for task in &plan.tasks {
            if let Err(e) = self.note_task_anyway(task, &note) {
                outcome.warnings.push(format!("{task}: the check output was not recorded: {e}"));
            }
        }
        // Queued work is landed by someone else: its session hears why.
        if plan.queued {
            let message = Outgoing {
                to: plan.session.name.clone(),
                subject: one_line(&format!("queued landing into {} failed its check", plan.into), 150),
                body: format!(
                    "{} (at {}) was set aside: the check `{}` failed ({code}) on the result of landing it \
                     into {}. Last lines of its output:\n\n{}\n\nFix, commit, then queue it again \
                     (`git orchestrate land --queue`).\n",
                    plan.branch,
                    short(plan.head),
                    run.command,
                    plan.into,
                    run.output
                ),
                kind: Some(MessageKind::Handoff.as_str().into()),
                reply_to: None,
            };
            if let Err(e) = self.send(&message) {
                outcome
                    .warnings
                    .push(format!("the handoff message to {} was not sent: {e}", plan.session.name));
            }
        }
        outcome.check = Some(run);
        outcome
    }

    /// Records a landing that happened: on the session, its tasks, and in a
    /// completion message to all. The target has moved already, so a record
    /// that fails is a warning, not a failure.
    fn landed(&self, plan: &Plan, previous: Oid, new: Oid, fast_forward: bool) -> LandOutcome {
        let landed = Landed {
            into: plan.into.clone(),
            head: plan.head.to_string(),
            commit: new.to_string(),
            previous: previous.to_string(),
            mode: plan.mode,
            fast_forward,
            by: self.actor(),
            at: self.now(),
        };
        let mut outcome = LandOutcome::new(plan, Status::Landed);
        if let Err(e) = self.record_session_landing(&plan.session.name, &landed) {
            outcome
                .warnings
                .push(format!("session {}: the landing was not recorded: {e}", plan.session.name));
        }
        for task in &plan.tasks {
            if let Err(e) = self.record_landing(task, &landed) {
                outcome.warnings.push(format!("{task}: the landing was not recorded: {e}"));
            }
        }
        let how = if fast_forward { "fast-forward".to_string() } else { plan.mode.to_string() };
        let tasks = match plan.tasks.is_empty() {
            true => String::new(),
            false => format!(" ({})", plan.tasks.join(", ")),
        };
        let message = Outgoing {
            to: "all".into(),
            subject: one_line(
                &format!("landed {}{tasks} on {} at {}", plan.session.name, plan.into, short(new)),
                150,
            ),
            body: format!(
                "{} landed {} (at {}) on {} by {how}: {} is now {}.\n",
                self.actor(),
                plan.branch,
                short(plan.head),
                plan.into,
                plan.into,
                new
            ),
            kind: Some(MessageKind::Completion.as_str().into()),
            reply_to: None,
        };
        if let Err(e) = self.send(&message) {
            outcome.warnings.push(format!("the completion message was not sent: {e}"));
        }
        outcome.landed = Some(landed);
        outcome
    }

    /// Whether a session's work is all on its target: its branch head is
    /// reachable from the target, or its last landing carried that head
    /// there (a squash or rebase). `None` when it has no branch or target.
    pub fn fully_landed(&self, session: &Session) -> Result<Option<bool>> {
        let repo = self.store.repository();
        let Some(branch) = &session.branch else { return Ok(None) };
        let Some(head) = branch_tip(repo, branch) else { return Ok(None) };
        let into = session.into.clone().or_else(|| session.landed.as_ref().map(|l| l.into.clone()));
        let Some(target) = into.as_deref().and_then(|b| branch_tip(repo, b)) else { return Ok(None) };
        if head == target || descends(repo, target, head)? {
            return Ok(Some(true));
        }
        let into = into.unwrap_or_default();
        Ok(Some(carried_by_record(repo, session.landed.as_ref(), &into, head, target)))
    }
}

/// How a target move ended.
enum Moved {
    /// The ref moved (and this checkout with it).
    Yes(Option<PathBuf>),
    /// Someone else moved the target first: compute again.
    Lost,
    /// The checkout has changes the update would overwrite: nothing moved.
    Blocked(PathBuf, Vec<String>),
}

/// Whether the landing `record` carried `head` (or a later head that
/// contains it) onto `into`, whose tip is now `target`.
pub(crate) fn carried_by_record(
    repo: &Repository,
    record: Option<&Landed>,
    into: &str,
    head: Oid,
    target: Oid,
) -> bool {
    let Some(record) = record.filter(|r| r.into == into) else { return false };
    let (Ok(landed_head), Ok(commit)) = (Oid::from_str(&record.head), Oid::from_str(&record.commit)) else {
        return false;
    };
    let head_carried = landed_head == head || repo.graph_descendant_of(landed_head, head).unwrap_or(false);
    let commit_kept = commit == target || repo.graph_descendant_of(target, commit).unwrap_or(false);
    head_carried && commit_kept
}

/// The session that brought `commit`: named in a landing commit's
/// `Session:` trailer, or the other session whose branch contains it.
fn who_brought(repo: &Repository, commit: Oid, sessions: &[Session], except: &str) -> Option<String> {
    if let Ok(c) = repo.find_commit(commit) {
        let message = c.message().unwrap_or("");
        if let Ok(trailers) = git2::message_trailers_strs(message) {
            if let Some((_, v)) = trailers.iter().find(|(k, _)| k.eq_ignore_ascii_case("session")) {
                return Some(v.trim().to_string());
            }
        }
    }
    sessions
        .iter()
        .filter(|s| s.name != except)
        .find(|s| {
            let Some(tip) = s.branch.as_deref().and_then(|b| branch_tip(repo, b)) else { return false };
            tip == commit || repo.graph_descendant_of(tip, commit).unwrap_or(false)
        })
        .map(|s| s.name.clone())
}

fn describe_conflict(c: &ConflictFile) -> String {
    match (&c.commit, &c.session) {
        (Some(commit), Some(session)) => {
            format!("{} (changed on the target by {} from session {session})", c.path, &commit[..10])
        }
        (Some(commit), None) => format!("{} (changed on the target by {})", c.path, &commit[..10]),
        _ => c.path.clone(),
    }
}

/// The tip of a local branch, if it exists.
pub(crate) fn branch_tip(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.refname_to_id(&format!("refs/heads/{branch}")).ok()
}

/// Whether `commit` descends from `ancestor` (not counting equality).
fn descends(repo: &Repository, commit: Oid, ancestor: Oid) -> Result<bool> {
    repo.graph_descendant_of(commit, ancestor).map_err(read_failure)
}

fn tree_of(repo: &Repository, commit: Oid) -> Result<Oid> {
    Ok(repo.find_commit(commit).map_err(read_failure)?.tree_id())
}

/// The commits reachable from `head` but not from `target`, newest first,
/// with their messages.
pub(crate) fn commits_between(repo: &Repository, target: Oid, head: Oid) -> Vec<(Oid, String)> {
    let Ok(mut walk) = repo.revwalk() else { return Vec::new() };
    let _ = walk.set_sorting(git2::Sort::TOPOLOGICAL);
    if walk.push(head).is_err() || walk.hide(target).is_err() {
        return Vec::new();
    }
    walk.filter_map(|oid| oid.ok())
        .filter_map(|oid| repo.find_commit(oid).ok().map(|c| (oid, c.message().unwrap_or("").to_string())))
        .collect()
}

/// The last `n` lines of `text`, each cut to a sane length.
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().map(|l| one_line(l, 300)).collect::<Vec<_>>().join("\n")
}

fn one_line(text: &str, max: usize) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// A path as the facts of a refusal name it.
fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn short(oid: Oid) -> String {
    oid.to_string()[..10].to_string()
}

fn not_a_branch(name: &str) -> Error {
    Error::invalid(format!(
        "{}: not a local branch; land into an existing branch (see `git branch`)",
        crate::model::names::escape_control(name)
    ))
}

fn read_failure(e: git2::Error) -> Error {
    Error::failed(format!("read the repository: {}", e.message()))
}

fn git_failure(e: GitError) -> Error {
    Error::failed(e.to_string())
}

/// What `session end --delete-branch` did.
#[derive(Debug, Clone, Serialize)]
pub struct EndedLanded {
    #[serde(flatten)]
    pub ended: super::sessions::Ended,
    /// The branch deleted because all of its work had landed.
    pub deleted_branch: Option<String>,
}

impl Context {
    /// Ends a session and deletes its branch, which must be fully landed
    /// (checked before anything changes). If the branch moved while the
    /// session ended (`--force` saved work onto it), it is kept.
    pub fn end_session_deleting_branch(&self, name: Option<&str>, force: bool) -> Result<EndedLanded> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.require_session("`session end`")?.to_string(),
        };
        crate::model::names::validate_session_name(&name)?;
        let session = self.session_document(&name)?.ok_or_else(|| {
            Error::invalid(format!("no session named {name}: see `git orchestrate session list --all`"))
        })?;
        let repo = self.store.repository();
        let branch = session.branch.clone();
        let tip = branch.as_deref().and_then(|b| branch_tip(repo, b));
        let target = session.into.clone().or_else(|| session.landed.as_ref().map(|l| l.into.clone()));
        match (&branch, tip, self.fully_landed(&session)?) {
            (Some(_), Some(_), Some(true)) => {}
            (Some(b), Some(tip), Some(false)) => {
                let into = target.unwrap_or_default();
                let pending =
                    branch_tip(repo, &into).map(|t| commits_between(repo, t, tip).len()).unwrap_or(0);
                let message = format!("{b} has {pending} commit(s) not landed on {into}");
                let reason =
                    Reason::BranchNotLanded { session: name, branch: b.clone(), into, commits: pending };
                return Err(Error::refusal(reason, message));
            }
            (Some(b), Some(_), None) => {
                let message = format!(
                    "session {name} has no target branch to compare {b} with, so it cannot tell that all of it landed"
                );
                return Err(Error::refusal(
                    Reason::NoLandTarget { session: name, branch: b.clone() },
                    message,
                ));
            }
            _ => {
                return Err(Error::invalid(format!("session {name} has no branch to delete")));
            }
        }
        // `--force` would commit uncommitted work to the branch, which would
        // then hold work that has not landed: refuse before anything moves.
        if let Some(wt) = session.worktree.as_deref().map(Path::new).filter(|wt| wt.is_dir()) {
            let includes = super::teardown::includes_of(&self.store.main_root(), wt);
            let work: Vec<String> = crate::worktree::dirty(wt)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !crate::worktree::is_include(&includes, p))
                .collect();
            if !work.is_empty() {
                let shown = crate::model::names::escape_control(&work.join(", "));
                let message =
                    format!("session {name} has uncommitted work ({shown}) that would not have landed");
                return Err(Error::refusal(Reason::UncommittedWork { session: name, files: work }, message));
            }
        }
        let ended = self.end_session(Some(&name), force)?;
        let mut result = EndedLanded { ended, deleted_branch: None };
        let (Some(branch), Some(tip)) = (branch, tip) else { return Ok(result) };
        if branch_tip(repo, &branch) != Some(tip) {
            result.ended.notes.push(format!("{branch} moved while the session ended, so it is kept"));
            return Ok(result);
        }
        let refname = format!("refs/heads/{branch}");
        let old = tip.to_string();
        let out = git::git_in(self.store.common_dir())
            .args(["update-ref", "-d", refname.as_str(), old.as_str()])
            .output()
            .map_err(|e| Error::failed(format!("delete {branch}: {e}")))?;
        match out.status.success() {
            true => result.deleted_branch = Some(branch),
            false => result
                .ended
                .notes
                .push(format!("{branch} was kept: {}", String::from_utf8_lossy(&out.stderr).trim())),
        }
        Ok(result)
    }
}
