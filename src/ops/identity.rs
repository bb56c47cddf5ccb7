//! Who is acting and who counts as live: the one module every use case
//! asks, so none of them reads another's collection for it.
//!
//! The acting session comes from `ops::Context` (the `--session` flag,
//! `$ORCHESTRATE_SESSION`, the worktree's identity file). Here it is checked
//! against the registered sessions (an ended session may not act until it
//! is started again), registered on its first action, and liveness is
//! decided: a session is live while it is active and its heartbeat is not
//! older than `orchestrate.staleAfter`. What a session holds (a task, a
//! path claim, the lead) is taken from it only once it is no longer live.

use super::{Context, Error, Reason, Result};
use crate::model::session::{Session, SessionStatus};
use crate::store::{Event, StoreError, Writes, Written};
use std::collections::HashMap;

/// The session a command acts as, and whether it is registered already.
#[derive(Debug, Clone)]
pub struct Acting {
    pub name: String,
    known: bool,
}

impl Context {
    /// A session's stored document, if there is one (an error names a
    /// corrupt one).
    pub(crate) fn session_document(&self, name: &str) -> Result<Option<Session>> {
        Ok(self.store.sessions().get(name)?)
    }

    /// The acting session, if it may act: a name never used before, or an
    /// active session. A session that was ended is refused until it is
    /// started again. Reads only; see [`Context::register_on_first_use`].
    pub fn acting_session(&self, what: &str) -> Result<Acting> {
        let name = self.require_session(what)?.to_string();
        let known = match self.session_document(&name)? {
            Some(s) if s.status == SessionStatus::Ended => return Err(session_ended(&name)),
            found => found.is_some(),
        };
        Ok(Acting { name, known })
    }

    /// Makes a name that has just acted as a session (claimed a task or a
    /// path) a registered session, without a worktree, so it heartbeats,
    /// goes stale and can be ended like any other, and what it holds never
    /// outlives it. Called after the action succeeded, so bad input and
    /// refusals write nothing.
    pub fn register_on_first_use(&self, acting: &Acting) -> Result<()> {
        if acting.known {
            return Ok(());
        }
        let me = acting.name.as_str();
        let now = self.now();
        self.store.sessions().update(|snap| match snap.get(me)? {
            Some(_) => Ok(Written::Unchanged(())),
            None => {
                let session = Session { host: Some(self.host()), ..Session::new(me, now) };
                let event =
                    Event::new("start", me, now, format!("start session {me} (first use)")).entity(me);
                let mut writes = Writes::new(event);
                writes.save(&session);
                Ok::<_, Error>(writes.write(()))
            }
        })
    }

    /// Every registered session, with whether it is live.
    pub(crate) fn live_sessions(&self) -> Result<HashMap<String, bool>> {
        let (sessions, _) = self.store.sessions().all()?;
        let (now, stale_after) = (self.now(), self.stale_after()?);
        Ok(sessions.into_iter().map(|s| (s.name.clone(), s.is_live(now, stale_after))).collect())
    }

    /// Whether `name` is a registered session that is active and not stale.
    pub(crate) fn session_is_live(&self, name: &str) -> Result<bool> {
        Ok(match self.session_document(name)? {
            Some(s) => s.is_live(self.now(), self.stale_after()?),
            None => false,
        })
    }

    /// Whether `holder` still holds what it took (a task, the lead): it is
    /// live, or it has no readable record — a holder registers right after
    /// taking something, and a corrupt record is not a reason to take its
    /// work away. Nobody (`None`) holds nothing.
    pub(crate) fn holder_is_live(&self, holder: Option<&str>) -> Result<bool> {
        let Some(holder) = holder else { return Ok(false) };
        Ok(match self.store.sessions().get(holder) {
            Ok(Some(s)) => s.is_live(self.now(), self.stale_after()?),
            Ok(None) | Err(StoreError::Corrupt { .. }) => true,
            Err(e) => return Err(e.into()),
        })
    }
}

/// The refusal for a session that has ended.
pub(crate) fn session_ended(name: &str) -> Error {
    Error::refusal(Reason::Ended { session: name.to_string() }, format!("session {name} has ended"))
}

/// The error for a session name nobody registered.
pub(crate) fn unknown_session(name: &str) -> Error {
    Error::invalid(format!("no session named {name}: see `git orchestrate session list --all`"))
}
