//! Path claims: leases that sessions take on files, directories and globs so
//! they stop overwriting each other's work.
//!
//! The whole live table is one document (`store.claims()`), so the overlap
//! check and the write are one compare-and-swap step: two live sessions can never end up holding
//! overlapping exclusive claims, whatever the timing. Claims of expired
//! leases, and of sessions that are stale or ended, never block; a new claim
//! that overlaps one of those supersedes it, so the invariant also holds when
//! a stale session comes back.

use super::{ClaimConflict, Context, Error, Reason, Result};
use crate::model::claim::{Claim, ClaimMode, ClaimPattern, MAX_REASON_CHARS};
use crate::model::names::validate_line;
use crate::model::time::{format_duration, parse_duration, Timestamp};
use crate::model::{Invalid, FORMAT};
use crate::store::{Event, Writes, Written};
use chrono::Duration;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// How long a claim lasts unless `--ttl` says otherwise.
pub fn default_ttl() -> Duration {
    Duration::hours(2)
}

/// What `claim` asks for.
#[derive(Debug, Clone, Default)]
pub struct ClaimRequest {
    pub paths: Vec<String>,
    pub ttl: Option<String>,
    pub shared: bool,
    pub reason: Option<String>,
    pub task: Option<String>,
}

/// A claim as listed, with whether it still binds anyone.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimView {
    #[serde(flatten)]
    pub claim: Claim,
    /// Not expired, and held by a live session.
    pub live: bool,
    pub expired: bool,
}

/// One path that `check` found held by another session.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// The file that was checked.
    pub file: String,
    #[serde(flatten)]
    pub claim: Claim,
}

/// What `check` answers: whether the paths are free, and if not, who
/// holds them.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub free: bool,
    pub conflicts: Vec<Conflict>,
}

impl Conflict {
    /// One line for people and agents: the path, its holder, the claimed
    /// pattern, the reason and the time left.
    pub fn describe(&self, now: Timestamp) -> String {
        let reason = self
            .claim
            .reason
            .as_deref()
            .map(|r| format!(" ({})", crate::model::names::escape_control(r)))
            .unwrap_or_default();
        format!(
            "{} is claimed by {} with '{}'{reason}, expires in {}",
            crate::model::names::escape_control(&self.file),
            self.claim.session,
            self.claim.path,
            format_duration(self.claim.expires_at - now)
        )
    }
}

impl Context {
    /// Whether a claim binds others now: not expired, and its session live.
    /// A claim of a name that was never registered as a session binds while
    /// it lasts.
    fn binds(claim: &Claim, now: Timestamp, live: &HashMap<String, bool>) -> bool {
        !claim.is_expired(now) && live.get(&claim.session).copied().unwrap_or(true)
    }

    /// Takes claims on every path of the request, all or none.
    pub fn claim_paths(&self, req: &ClaimRequest) -> Result<Vec<Claim>> {
        self.require_session("`claim`")?;
        if req.paths.is_empty() {
            return Err(Error::invalid("give at least one path to claim"));
        }
        let patterns = req.paths.iter().map(|p| self.pattern_for(p)).collect::<Result<Vec<_>>>()?;
        let ttl = match &req.ttl {
            Some(text) => parse_duration(text)?,
            None => default_ttl(),
        };
        if ttl <= Duration::zero() {
            return Err(Error::invalid("--ttl must be longer than zero (for example 30m or 2h)"));
        }
        if let Some(reason) = &req.reason {
            validate_line("claim reason", reason, MAX_REASON_CHARS)?;
        }
        let task = req.task.as_deref().map(|t| self.resolve_task_id(t)).transpose()?;
        let mode = if req.shared { ClaimMode::Shared } else { ClaimMode::Exclusive };
        let now = self.now();
        // A claim belongs to a session that can end (releasing it) and that
        // heartbeats (keeping it alive): a new name becomes one, an ended
        // one is refused.
        let acting = self.acting_session("`claim`")?;
        let me = acting.name.clone();
        let new: Vec<Claim> = patterns
            .into_iter()
            .map(|path| Claim {
                format: FORMAT,
                path,
                session: me.clone(),
                mode,
                reason: req.reason.clone(),
                task: task.as_ref().map(|t| t.to_string()),
                created_at: now,
                expires_at: now + ttl,
                renewed_at: None,
            })
            .collect();
        let claimed = self.take_claims(&me, new, now)?;
        self.register_on_first_use(&acting)?;
        Ok(claimed)
    }

    /// Adds `new` to the table in one compare-and-swap, all or none.
    fn take_claims(&self, me: &str, new: Vec<Claim>, now: Timestamp) -> Result<Vec<Claim>> {
        let live = self.live_sessions()?;
        self.store.claims().update(|view| {
            let mut claims = view.claims()?;
            let conflicts: Vec<(&Claim, &Claim)> = new
                .iter()
                .flat_map(|n| {
                    claims
                        .iter()
                        .filter(|c| Self::binds(c, now, &live) && n.conflicts_with(c))
                        .map(move |c| (n, c))
                })
                .collect();
            if !conflicts.is_empty() {
                return Err(refused_by(&conflicts, now));
            }
            let superseded: Vec<String> = claims
                .iter()
                .filter(|c| {
                    !Self::binds(c, now, &live)
                        && !c.is_expired(now)
                        && new.iter().any(|n| n.conflicts_with(c))
                })
                .map(|c| format!("{} of {}", c.path, c.session))
                .collect();
            claims.retain(|c| {
                // Our own claim on the same pattern is renewed by the new one.
                let renewed = c.session == me && new.iter().any(|n| n.path == c.path);
                // A claim that no longer binds (stale or ended holder) and
                // overlaps a new exclusive claim is superseded by it, so the
                // holder cannot come back to an overlap.
                let superseded = !Self::binds(c, now, &live) && new.iter().any(|n| n.conflicts_with(c));
                // Expired leases are swept whenever the table is written.
                !(renewed || superseded || c.is_expired(now))
            });
            claims.extend(new.iter().cloned());
            let what: Vec<&str> = new.iter().map(|n| n.path.as_str()).collect();
            let mut summary = format!("claim {} by {me}", what.join(" "));
            if !superseded.is_empty() {
                summary.push_str(&format!(", superseding stale {}", superseded.join(", ")));
            }
            let event = Event::new("claim", me, now, summary);
            let event = what.iter().fold(event, |e, p| e.entity(*p));
            let mut writes = Writes::new(event);
            writes.save_claims(claims);
            Ok(writes.write(new.clone()))
        })
    }

    /// Releases the acting session's claims on `paths`, or all of them.
    /// Returns the claims released.
    pub fn release_paths(&self, paths: &[String], all: bool) -> Result<Vec<Claim>> {
        let me = self.require_session("`release`")?.to_string();
        if paths.is_empty() && !all {
            return Err(Error::invalid("give the paths to release, or --all"));
        }
        let patterns = paths.iter().map(|p| self.pattern_for(p)).collect::<Result<Vec<_>>>()?;
        let now = self.now();
        self.store.claims().update(|view| {
            let claims = view.claims()?;
            let mine = |c: &Claim| c.session == me && (all || patterns.contains(&c.path));
            if let Some(missing) =
                patterns.iter().find(|p| !claims.iter().any(|c| c.session == me && &c.path == *p))
            {
                let held: Vec<String> =
                    claims.iter().filter(|c| c.session == me).map(|c| c.path.to_string()).collect();
                let message = format!(
                    "{me} holds no claim on '{missing}'{}",
                    if held.is_empty() { String::new() } else { format!("; it holds {}", held.join(", ")) }
                );
                let reason = Reason::NotClaimed { session: me.clone(), path: missing.to_string(), held };
                return Err(Error::refusal(reason, message));
            }
            let (released, kept): (Vec<Claim>, Vec<Claim>) = claims.into_iter().partition(|c| mine(c));
            if released.is_empty() {
                return Ok(Written::Unchanged(released));
            }
            let what: Vec<&str> = released.iter().map(|c| c.path.as_str()).collect();
            let event = Event::new("release", &me, now, format!("release {} by {me}", what.join(" ")));
            let event = what.iter().fold(event, |e, p| e.entity(*p));
            let mut writes = Writes::new(event);
            writes.save_claims(kept);
            Ok(writes.write(released))
        })
    }

    /// Every claim on record that has not expired, with whether it binds.
    pub fn list_claims(&self, include_expired: bool) -> Result<Vec<ClaimView>> {
        let claims = self.store.claims().read()?.claims()?;
        let now = self.now();
        let live = self.live_sessions()?;
        let mut views: Vec<ClaimView> = claims
            .into_iter()
            .filter(|c| include_expired || !c.is_expired(now))
            .map(|c| ClaimView { live: Self::binds(&c, now, &live), expired: c.is_expired(now), claim: c })
            .collect();
        views.sort_by(|a, b| (&a.claim.path, &a.claim.session).cmp(&(&b.claim.path, &b.claim.session)));
        Ok(views)
    }

    /// The exclusive claims of other live sessions that cover `paths`.
    pub fn check_paths(&self, paths: &[String]) -> Result<CheckReport> {
        if paths.is_empty() {
            return Err(Error::invalid("give at least one path to check"));
        }
        let patterns = paths.iter().map(|p| self.check_pattern(p)).collect::<Result<Vec<_>>>()?;
        let conflicts = self.conflicts_with(&patterns)?;
        Ok(CheckReport { free: conflicts.is_empty(), conflicts })
    }

    /// The exclusive claims of other live sessions that cover these files
    /// (repository-relative paths, taken literally).
    pub(crate) fn conflicts_for_files(&self, files: &[String]) -> Result<Vec<Conflict>> {
        self.conflicts_for(files, &[])
    }

    /// The exclusive claims of other live sessions that overlap `patterns`
    /// (repository-relative).
    pub(crate) fn conflicts_with(&self, patterns: &[ClaimPattern]) -> Result<Vec<Conflict>> {
        self.conflicts_for(&[], patterns)
    }

    /// The exclusive claims of other live sessions that cover `files`
    /// (taken literally) or overlap `patterns`, from one read of the table.
    pub(crate) fn conflicts_for(&self, files: &[String], patterns: &[ClaimPattern]) -> Result<Vec<Conflict>> {
        let binding = self.binding_claims_of_others()?;
        let mut conflicts = Vec::new();
        for c in &binding {
            for file in files.iter().filter(|f| c.covers(f)) {
                conflicts.push(Conflict { file: file.clone(), claim: c.clone() });
            }
        }
        for pattern in patterns {
            for c in binding.iter().filter(|c| c.path.overlaps(pattern)) {
                conflicts.push(Conflict { file: pattern.to_string(), claim: c.clone() });
            }
        }
        Ok(conflicts)
    }

    /// The claims that can refuse the acting session: exclusive, not
    /// expired, held by another session that is live.
    fn binding_claims_of_others(&self) -> Result<Vec<Claim>> {
        let claims = self.store.claims().read()?.claims()?;
        if claims.is_empty() {
            return Ok(claims);
        }
        let (now, live, me) = (self.now(), self.live_sessions()?, self.session());
        Ok(claims
            .into_iter()
            .filter(|c| {
                me != Some(c.session.as_str()) && c.mode == ClaimMode::Exclusive && Self::binds(c, now, &live)
            })
            .collect())
    }

    /// Drops every claim a session holds; returns how many.
    pub(crate) fn release_all_claims_of(&self, session: &str) -> Result<usize> {
        let now = self.now();
        self.store.claims().update(|view| {
            let claims = view.claims()?;
            let before = claims.len();
            let kept: Vec<Claim> = claims.into_iter().filter(|c| c.session != session).collect();
            let released = before - kept.len();
            if released == 0 {
                return Ok(Written::Unchanged(0));
            }
            let event = Event::new("release", session, now, format!("release all claims of {session}"));
            let mut writes = Writes::new(event);
            writes.save_claims(kept);
            Ok::<_, Error>(writes.write(released))
        })
    }

    /// Extends the acting session's leases from now (activity renews them).
    pub(crate) fn renew_claims_of(&self, session: &str) -> Result<()> {
        let now = self.now();
        self.store.claims().update(|view| {
            let mut claims = view.claims()?;
            let mut renewed = 0;
            for c in claims.iter_mut().filter(|c| c.session == session && !c.is_expired(now)) {
                c.renew(now);
                renewed += 1;
            }
            if renewed == 0 {
                return Ok(Written::Unchanged(()));
            }
            let event = Event::new("renew", session, now, format!("renew {renewed} claim(s) of {session}"));
            let mut writes = Writes::new(event);
            writes.save_claims(claims);
            Ok::<_, Error>(writes.write(()))
        })
    }

    /// What `check` tests a path as: an existing file exactly as named
    /// (never as a glob, whatever characters its name has), an existing or
    /// `/`-ended folder as everything under it, anything else as a pattern.
    pub(crate) fn check_pattern(&self, input: &str) -> Result<ClaimPattern> {
        self.check_pattern_at(&self.locate(input)?, input)
    }

    /// [`Context::check_pattern`] of a path already located.
    pub(crate) fn check_pattern_at(&self, at: &Located<'_>, input: &str) -> Result<ClaimPattern> {
        match at.on_disk() {
            Some(p) if p.is_dir() => Ok(ClaimPattern::parse(&format!("{}/", at.rel))?),
            _ => self.pattern_at(at, input),
        }
    }

    /// A claim pattern from user input, relative to the current directory.
    fn pattern_for(&self, input: &str) -> Result<ClaimPattern> {
        self.pattern_at(&self.locate(input)?, input)
    }

    /// An existing file is claimed exactly as named, whatever characters
    /// its name has (`app/[id]/page.tsx` is a file, not a glob). A folder,
    /// however it is written (`src/`, `src`, `src/.`, `.` in it), is claimed
    /// with everything under it.
    fn pattern_at(&self, at: &Located<'_>, input: &str) -> Result<ClaimPattern> {
        let on_disk = at.on_disk();
        if on_disk.as_ref().is_some_and(|p| p.is_file()) {
            return Ok(ClaimPattern::for_file(&at.rel)?);
        }
        let named_dir = input.ends_with('/') || input == "." || input.ends_with("/.");
        let existing_dir = on_disk.is_some_and(|p| p.is_dir());
        let dir = named_dir || (existing_dir && !at.rel.contains(['*', '?', '[']));
        let mut rel = at.rel.clone();
        if dir && !rel.ends_with('/') {
            rel.push('/');
        }
        Ok(ClaimPattern::parse(&rel)?)
    }

    /// Turns a path as the user typed it (absolute, or relative to the
    /// current directory) into one relative to the repository's top, without
    /// touching the file system: it may be a glob or not exist yet.
    pub(crate) fn relative_path(&self, input: &str) -> Result<String> {
        self.locate(input).map(|at| at.rel)
    }

    /// Every working tree of the repository: the main one and each linked
    /// worktree, deepest first (a worktree may sit inside the main one),
    /// with the session recorded in it.
    fn worktrees(&self) -> &[WorkTree] {
        self.worktrees.get_or_init(|| {
            let repo = self.store.repository();
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            let mut trees = vec![WorkTree::new(canonical(&self.store.main_root()), None)];
            let names: Option<Vec<String>> = repo
                .worktrees()
                .ok()
                .map(|a| a.iter().filter_map(|n| n.ok().flatten().map(String::from)).collect());
            for name in names.unwrap_or_default() {
                let Ok(wt) = repo.find_worktree(&name) else { continue };
                let top = canonical(wt.path());
                if trees.iter().any(|t| t.top == top) || !top.exists() {
                    continue;
                }
                let file = self
                    .store
                    .common_dir()
                    .join("worktrees")
                    .join(&name)
                    .join(crate::worktree::IDENTITY_FILE);
                let session = std::fs::read_to_string(file)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                trees.push(WorkTree::new(top, session));
            }
            trees.sort_by_key(|t| std::cmp::Reverse(t.parts.len()));
            trees
        })
    }

    /// `input` relative to the top of the working tree it lies in, with
    /// that tree and its session. Claims are repository-relative, so
    /// `src/a.rs` is the same path in every worktree.
    pub(crate) fn locate(&self, input: &str) -> Result<Located<'_>> {
        let Some(top) = self.store.repository().workdir() else {
            return Ok(Located { rel: input.to_string(), tree: None });
        };
        let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
        let cwd =
            std::env::current_dir().ok().and_then(|c| c.canonicalize().ok()).unwrap_or_else(|| top.clone());
        // Through symbolic links, so that an alias (`docs-link/a.md` for
        // `docs/a.md`) names the file it writes, and a link out of the
        // repository is outside it.
        let resolved = resolve_links(&cwd.join(input));
        let parts: Vec<String> = resolved
            .components()
            .filter_map(|c| match c {
                Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let tree = self
            .worktrees()
            .iter()
            .find(|t| parts.len() >= t.parts.len() && parts[..t.parts.len()] == t.parts[..])
            .ok_or_else(|| {
                // Say where `..` or a symbolic link took it, or the refusal
                // of a path that looks inside is a riddle.
                let via = match cwd.join(input) == resolved {
                    true => String::new(),
                    false => format!(" (it is {})", resolved.display()),
                };
                Error::Invalid(Invalid(format!(
                    "'{}' is outside the repository{}: give paths inside it (relative to the current folder, or \
                     absolute)",
                    crate::model::names::escape_control(input),
                    crate::model::names::escape_control(&via)
                )))
            })?;
        let rel = parts[tree.parts.len()..].join("/");
        if rel.is_empty() {
            return Err(Error::invalid(format!(
                "'{input}' is the whole repository: claim a folder or files in it (for example src/), or '**' for everything"
            )));
        }
        Ok(Located { rel, tree: Some(tree) })
    }
}

/// A working tree of the repository and the session recorded in it.
#[derive(Debug, Clone)]
pub(crate) struct WorkTree {
    top: PathBuf,
    /// The names that make up `top`, to compare paths with.
    parts: Vec<String>,
    session: Option<String>,
}

impl WorkTree {
    fn new(top: PathBuf, session: Option<String>) -> WorkTree {
        let parts = top
            .components()
            .filter_map(|c| match c {
                Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        WorkTree { top, parts, session }
    }
}

/// A path the user named, found in a working tree of the repository.
pub(crate) struct Located<'a> {
    /// Relative to the top of its working tree (and so of every one).
    pub rel: String,
    tree: Option<&'a WorkTree>,
}

impl Located<'_> {
    /// The session whose worktree the path lies in, if `session start`
    /// made it: the agent editing there is that session.
    pub fn owner(&self) -> Option<&str> {
        self.tree.and_then(|t| t.session.as_deref())
    }

    /// Where it is on disk.
    fn on_disk(&self) -> Option<PathBuf> {
        self.tree.map(|t| t.top.join(&self.rel))
    }
}

/// The path `path` (absolute) names once every symbolic link along it is
/// followed and `.` and `..` are applied, the way the system would open it;
/// unlike `canonicalize`, the path need not exist (it may be a glob or a
/// file not made yet), and a link that points nowhere is still followed.
/// So `/tmp/link/repo/x` and `/private/tmp/repo/x` are the same place, and
/// so are `docs-link/a.md` and `docs/a.md`.
fn resolve_links(path: &Path) -> PathBuf {
    /// As the kernel does, give up on a loop of links (the path is then
    /// taken as written from there).
    const MAX_LINKS: usize = 40;
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    let push_front = |pending: &mut Vec<std::ffi::OsString>, p: &Path| {
        let words: Vec<std::ffi::OsString> = p
            .components()
            .map(|c| match c {
                Component::RootDir => std::ffi::OsString::from("/"),
                other => other.as_os_str().to_os_string(),
            })
            .collect();
        pending.extend(words.into_iter().rev());
    };
    push_front(&mut pending, path);
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(word) = pending.pop() {
        match word.to_str() {
            Some("/") => resolved = PathBuf::from("/"),
            Some(".") => {}
            Some("..") => {
                resolved.pop();
            }
            _ => {
                let next = resolved.join(&word);
                match std::fs::read_link(&next) {
                    Ok(target) if links < MAX_LINKS => {
                        links += 1;
                        // A relative target is relative to the link's folder,
                        // which is where `resolved` stands.
                        push_front(&mut pending, &target);
                    }
                    _ => resolved = next,
                }
            }
        }
    }
    resolved
}

/// The refusal of a claim that overlaps `conflicts` (asked, held).
fn refused_by(conflicts: &[(&Claim, &Claim)], now: Timestamp) -> Error {
    let lines: Vec<String> = conflicts
        .iter()
        .take(5)
        .map(|(asked, held)| {
            let reason = held
                .reason
                .as_deref()
                .map(|r| format!(" ({})", crate::model::names::escape_control(r)))
                .unwrap_or_default();
            format!(
                "'{}' overlaps '{}', held by {}{reason}, expires in {}",
                asked.path,
                held.path,
                held.session,
                format_duration(held.expires_at - now)
            )
        })
        .collect();
    let conflicts = conflicts
        .iter()
        .map(|(asked, held)| ClaimConflict {
            path: asked.path.to_string(),
            pattern: held.path.to_string(),
            holder: held.session.clone(),
            why: held.reason.clone(),
            expires_at: held.expires_at,
        })
        .collect();
    Error::refusal(Reason::Claimed { conflicts }, lines.join("; "))
}
