//! The conflict radar: before anyone lands, which live sessions' changes
//! touch the same files, and which of those would conflict textually —
//! for every pair of live sessions and for every session against its target.
//!
//! A session's *own changes* are what its branch (and, when asked, its
//! worktree's uncommitted work) changes since it parted from its target
//! (their merge base), so a change that came from the target is not
//! blamed on a session. Two sessions overlap on the files both changed;
//! a session overlaps its target on the files both changed since they
//! parted. Only overlapping pairs are merged (in memory, see
//! [`crate::merging`]), so a radar over many sessions that keep to their
//! own files costs little more than reading their heads.
//!
//! After a commit in a session, [`Context::radar_after_commit`] looks for
//! textual conflicts between that session's committed work and every other
//! live session's, and tells both sessions of each new one once: which
//! conflicts were announced is remembered in `refs/orchestrate/radar`.

use super::{Context, Error, Result};
use crate::merging::{self, MergeError};
use crate::model::message::MessageKind;
use crate::model::session::Session;
use crate::ops::messages::Outgoing;
use crate::store::{Announced, Event, StoreError, Writes, Written};
use git2::Oid;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// What the other side of an overlap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// Another live session (`other` is its name).
    Session,
    /// The session's target branch (`other` is the branch).
    Target,
}

/// Files changed on both sides, and the ones of them that would conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub session: String,
    pub other: String,
    pub against: Against,
    pub files: Vec<String>,
    pub conflicts: Vec<String>,
}

/// A session as the radar saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Looked {
    pub session: String,
    pub branch: String,
    pub target: Option<String>,
    /// The commit compared: the branch head, or a snapshot of the worktree
    /// on top of its HEAD when it has uncommitted work.
    pub commit: String,
    pub uncommitted: bool,
    /// The session's own changes (see the module guide); `None` when it
    /// has no target to measure them from (pairs then use their merge base).
    pub changed: Option<Vec<String>>,
}

/// A live session the radar could not look at, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unseen {
    pub session: String,
    pub reason: String,
}

/// What the radar found.
#[derive(Debug, Clone, Serialize)]
pub struct Radar {
    /// Whether uncommitted work in session worktrees was included.
    pub uncommitted: bool,
    pub sessions: Vec<Looked>,
    /// Every overlap, sorted by session then other side.
    pub overlaps: Vec<Overlap>,
    pub unseen: Vec<Unseen>,
}

impl Radar {
    /// How many overlaps would conflict textually.
    pub fn conflicting(&self) -> usize {
        self.overlaps.iter().filter(|o| !o.conflicts.is_empty()).count()
    }
}

/// What a look covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Snapshot uncommitted work in session worktrees (else branch heads).
    pub uncommitted: bool,
    /// Compare each session with its target too.
    pub targets: bool,
    /// Only pairs that include this session.
    pub involving: Option<String>,
}

/// One side as compared.
struct Side {
    name: String,
    branch: String,
    target: Option<(String, Oid)>,
    tip: Oid,
    uncommitted: bool,
    /// Where the side parted from its target, when it has one.
    parted: Option<Oid>,
    own: BTreeSet<String>,
}

impl Context {
    /// The radar over every live session and its target; with
    /// `uncommitted`, work not yet committed in their worktrees counts too.
    pub fn conflicts(&self, uncommitted: bool) -> Result<Radar> {
        let sessions = self.radar_sessions()?;
        self.radar_of(&sessions, &Scope { uncommitted, targets: true, involving: None })
    }

    /// Live sessions that have a branch of their own, by name.
    pub(crate) fn radar_sessions(&self) -> Result<Vec<Session>> {
        let (views, _) = self.list_sessions_on(false, &HashMap::new())?;
        let mut sessions: Vec<Session> =
            views.into_iter().filter(|v| !v.stale && v.session.branch.is_some()).map(|v| v.session).collect();
        sessions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(sessions)
    }

    /// The branch a session's work lands on: the one it recorded (`into`),
    /// else, for a session started before sessions recorded it, the
    /// default target.
    pub(crate) fn target_of(&self, session: &Session) -> Option<String> {
        session.into.clone().or_else(|| self.default_target())
    }

    /// The branch work lands on when a session did not record one: the
    /// branch the main worktree has checked out, else `orchestrate.landInto`.
    pub(crate) fn default_target(&self) -> Option<String> {
        let head = std::fs::read_to_string(self.store.common_dir().join("HEAD")).ok();
        head.as_deref()
            .and_then(|h| h.trim().strip_prefix("ref: refs/heads/"))
            .map(str::to_string)
            .filter(|b| self.branch_tip(b).is_some())
            .or_else(|| self.store.config_string("orchestrate.landInto").filter(|b| !b.trim().is_empty()))
    }

    /// The commit `refs/heads/<branch>` points at, if it exists.
    pub(crate) fn branch_tip(&self, branch: &str) -> Option<Oid> {
        let repo = self.store.repository();
        repo.revparse_single(&format!("refs/heads/{branch}")).ok()?.peel_to_commit().ok().map(|c| c.id())
    }

    pub(crate) fn radar_of(&self, sessions: &[Session], scope: &Scope) -> Result<Radar> {
        let repo = self.store.repository();
        let (includes, _) = crate::worktree::include_list(&self.store.main_root());
        let skip = |p: &str| crate::worktree::is_include(&includes, p);
        let mut sides = Vec::new();
        let mut unseen = Vec::new();
        for s in sessions {
            match self.side_of(s, scope, &skip) {
                Ok(side) => sides.push(side),
                Err(reason) => unseen.push(Unseen { session: s.name.clone(), reason }),
            }
        }
        let mut overlaps = Vec::new();
        for (i, a) in sides.iter().enumerate() {
            for b in &sides[i + 1..] {
                if let Some(only) = &scope.involving {
                    if &a.name != only && &b.name != only {
                        continue;
                    }
                }
                let files = shared_changes(repo, a, b).map_err(merge_failure)?;
                if files.is_empty() {
                    continue;
                }
                let conflicts =
                    within(merging::conflicting_paths(repo, a.tip, b.tip).map_err(merge_failure)?, &files);
                overlaps.push(Overlap {
                    session: a.name.clone(),
                    other: b.name.clone(),
                    against: Against::Session,
                    files: files.into_iter().collect(),
                    conflicts,
                });
            }
            if !scope.targets {
                continue;
            }
            let Some((target, target_tip)) = &a.target else { continue };
            let theirs = merging::changed_paths(repo, a.parted, *target_tip).map_err(merge_failure)?;
            let files: BTreeSet<String> = a.own.intersection(&theirs).cloned().collect();
            if files.is_empty() {
                continue;
            }
            let conflicts =
                within(merging::conflicting_paths(repo, a.tip, *target_tip).map_err(merge_failure)?, &files);
            overlaps.push(Overlap {
                session: a.name.clone(),
                other: target.clone(),
                against: Against::Target,
                files: files.into_iter().collect(),
                conflicts,
            });
        }
        overlaps.sort_by(|x, y| {
            (&x.session, x.against == Against::Target, &x.other).cmp(&(
                &y.session,
                y.against == Against::Target,
                &y.other,
            ))
        });
        let sessions = sides
            .into_iter()
            .map(|s| Looked {
                session: s.name,
                branch: s.branch,
                target: s.target.as_ref().map(|(t, _)| t.clone()),
                commit: s.tip.to_string(),
                uncommitted: s.uncommitted,
                changed: s.target.is_some().then(|| s.own.iter().cloned().collect()),
            })
            .collect();
        Ok(Radar { uncommitted: scope.uncommitted, sessions, overlaps, unseen })
    }

    /// Reads one session's side, or says why it cannot be compared.
    fn side_of(&self, s: &Session, scope: &Scope, skip: &dyn Fn(&str) -> bool) -> Result<Side, String> {
        let repo = self.store.repository();
        let branch = s.branch.clone().unwrap_or_default();
        let worktree = s.worktree.as_deref().map(Path::new).filter(|p| p.exists());
        let (tip, uncommitted) = match (scope.uncommitted, worktree) {
            (true, Some(wt)) => {
                let state = merging::snapshot_worktree(wt, skip).map_err(|e| e.to_string())?;
                (state.tip, state.uncommitted())
            }
            _ => {
                let tip =
                    self.branch_tip(&branch).ok_or_else(|| format!("its branch {branch} does not exist"))?;
                (tip, false)
            }
        };
        let target = self.target_of(s).and_then(|t| self.branch_tip(&t).map(|tip| (t, tip)));
        let target = target.filter(|(t, _)| *t != branch);
        let parted = match &target {
            Some((_, target_tip)) => {
                merging::merge_base(repo, tip, *target_tip).map_err(|e| e.to_string())?
            }
            None => None,
        };
        let own = match (&target, parted) {
            // No target to part from: everything since the pair's merge base counts.
            (None, _) => BTreeSet::new(),
            (Some(_), parted) => merging::changed_paths(repo, parted, tip).map_err(|e| e.to_string())?,
        };
        Ok(Side { name: s.name.clone(), branch, target, tip, uncommitted, parted, own })
    }

    /// After a commit by the acting session: the textual conflicts its
    /// committed work has with other live sessions' that were not announced
    /// yet. Both sides of each get one message naming the files. Returns
    /// the new conflicts (and a warning for each message not sent).
    pub fn radar_after_commit(&self) -> Result<(Vec<NewConflict>, Vec<String>)> {
        let Some(me) = self.session().map(str::to_string) else { return Ok((Vec::new(), Vec::new())) };
        let sessions = self.radar_sessions()?;
        if !sessions.iter().any(|s| s.name == me) {
            return Ok((Vec::new(), Vec::new()));
        }
        let scope = Scope { uncommitted: false, targets: false, involving: Some(me.clone()) };
        let radar = self.radar_of(&sessions, &scope)?;
        let current: BTreeMap<String, Vec<String>> = radar
            .overlaps
            .iter()
            .filter(|o| !o.conflicts.is_empty())
            .map(|o| (if o.session == me { o.other.clone() } else { o.session.clone() }, o.conflicts.clone()))
            .collect();
        let live: BTreeSet<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
        let now = self.now();
        let (fresh, replaced) = self.store.radar().update(|view| {
            // An unreadable record is started afresh (the old one stays in
            // the ref's history): it must not silence the radar for good.
            let (mut doc, replaced) = match view.try_get_one()? {
                None => (Announced::default(), None),
                Some(Ok(doc)) => (doc, None),
                Some(Err(corrupt)) => (Announced::default(), Some(corrupt)),
            };
            let before = doc.pairs.clone();
            // Pairs of sessions that ended or went stale are forgotten: if
            // they come back and still conflict, that is news again.
            doc.pairs.retain(|key, _| key.split('+').all(|name| live.contains(name)));
            let mut fresh = Vec::new();
            for other in live.iter().filter(|n| **n != me) {
                let key = pair_key(&me, other);
                match current.get(*other) {
                    Some(files) => {
                        let known = doc.pairs.get(&key).cloned().unwrap_or_default();
                        if files.iter().any(|f| !known.contains(f)) {
                            fresh.push(NewConflict { other: other.to_string(), files: files.clone() });
                        }
                        doc.pairs.insert(key, files.clone());
                    }
                    None => {
                        doc.pairs.remove(&key);
                    }
                }
            }
            if doc.pairs == before && replaced.is_none() {
                return Ok::<_, Error>(Written::Unchanged((fresh, None)));
            }
            doc.format = crate::model::FORMAT;
            let summary = match fresh.is_empty() {
                true => format!("radar after a commit by {me}"),
                false => format!(
                    "radar: {me} conflicts with {}",
                    fresh.iter().map(|f| f.other.as_str()).collect::<Vec<_>>().join(", ")
                ),
            };
            let mut writes = Writes::new(Event::new("radar", &me, now, summary).entity(&me));
            writes.save(&doc);
            Ok(writes.write((fresh, replaced)))
        })?;
        let mut warnings = Vec::new();
        if let Some(corrupt) = replaced {
            warnings.push(format!(
                "{corrupt}; the radar started a new record (the old one is in the history of {})",
                corrupt.refname
            ));
        }
        for conflict in &fresh {
            let other = conflict.other.as_str();
            // Each side hears it from the other (a session's inbox leaves out
            // what it sent itself), so a reply reaches the right session.
            let to_other = self.send(&conflict_message(other, &me, &me, &conflict.files));
            // The lead hears of it too, once per conflict.
            if let Ok(message) = &to_other {
                let to = crate::model::message::Recipient::Session(other.to_string());
                if let Err(e) = self.tell_lead(message, &to) {
                    warnings.push(format!("the lead was not told of the conflict: {}", e.message()));
                }
            }
            let to_me =
                Context::new(crate::store::Store::open(&self.store.main_root())?, Some(other.to_string()))
                    .and_then(|as_other| as_other.send(&conflict_message(&me, other, &me, &conflict.files)));
            for (to, sent) in [(other, to_other), (me.as_str(), to_me)] {
                if let Err(e) = sent {
                    warnings.push(format!("the conflict message to {to} was not sent: {}", e.message()));
                }
            }
        }
        Ok((fresh, warnings))
    }
}

/// A textual conflict between the acting session and `other`, new since
/// the last announcement.
#[derive(Debug, Clone, Serialize)]
pub struct NewConflict {
    pub other: String,
    pub files: Vec<String>,
}

fn conflict_message(to: &str, with: &str, committer: &str, files: &[String]) -> Outgoing {
    let shown = shown(files);
    Outgoing {
        to: to.to_string(),
        subject: format!("conflict ahead with {with}: {shown}"),
        body: format!(
            "The conflict radar, after a commit by {committer}: your committed work and {with}'s both change \
             {shown}, and merging the two branches would conflict on {}. Agree with {with} who changes what \
             (a reply reaches {with}), or let one land first and rebase the other onto its target before \
             landing.\n",
            if files.len() == 1 { "it" } else { "them" }
        ),
        kind: Some(MessageKind::Note.as_str().to_string()),
        reply_to: None,
    }
}

/// Session names never contain `+`, so it separates a pair unambiguously.
fn pair_key(a: &str, b: &str) -> String {
    match a <= b {
        true => format!("{a}+{b}"),
        false => format!("{b}+{a}"),
    }
}

/// The files both sides changed: their own changes when both have a
/// target, else what each changed since the pair's merge base.
fn shared_changes(repo: &git2::Repository, a: &Side, b: &Side) -> Result<BTreeSet<String>, MergeError> {
    if a.target.is_some() && b.target.is_some() {
        return Ok(a.own.intersection(&b.own).cloned().collect());
    }
    let base = merging::merge_base(repo, a.tip, b.tip)?;
    let ours = merging::changed_paths(repo, base, a.tip)?;
    let theirs = merging::changed_paths(repo, base, b.tip)?;
    Ok(ours.intersection(&theirs).cloned().collect())
}

/// The conflicting paths that are among `files` (a conflict elsewhere
/// belongs to another pair: one side against its target).
fn within(conflicts: Vec<String>, files: &BTreeSet<String>) -> Vec<String> {
    conflicts.into_iter().filter(|c| files.contains(c)).collect()
}

fn merge_failure(e: MergeError) -> Error {
    Error::Store(StoreError::Io {
        action: "compare session branches".into(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// The first few files of a list, for a message.
fn shown(files: &[String]) -> String {
    let first: Vec<&str> = files.iter().take(10).map(String::as_str).collect();
    match files.len() {
        n if n > 10 => format!("{} and {} more", first.join(", "), n - 10),
        _ => first.join(", "),
    }
}
