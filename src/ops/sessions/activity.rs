//! What a live session records on its document: heartbeats (with what it
//! is doing), the refresh every command gives it, and the landing of its
//! branch. Each renews the session's claims too, so they last while it
//! works.

use super::SessionView;
use crate::model::session::{Pulse, Session, SessionStatus};
use crate::ops::identity::{session_ended, unknown_session};
use crate::ops::{Context, Error, Result};
use crate::store::{Event, Writes, Written};

impl Context {
    /// Records a heartbeat, with what the session is doing. The session
    /// is shown as just heard from, so never stale.
    pub fn heartbeat(&self, pulse: &Pulse) -> Result<SessionView> {
        let pulse = &pulse.normalized();
        pulse.validate()?;
        let acting = self.acting_session("`heartbeat`")?;
        self.register_on_first_use(&acting)?;
        let me = acting.name;
        let now = self.now();
        let said = pulse.describe();
        let action = match said.is_empty() {
            true => "heartbeat".to_string(),
            false => format!("heartbeat: {said}"),
        };
        let session = self.update_session(&me, &action, |s| {
            pulse.apply(s);
            s.heartbeat_at = now;
            true
        })?;
        self.renew_claims_of(&me)?;
        Ok(SessionView { session, stale: false })
    }

    /// Refreshes the acting session's heartbeat if it is older than the
    /// heartbeat interval: every command a session runs keeps it live, at
    /// most one write per interval. It never fails the command, but it is
    /// never silent either: a heartbeat or claim renewal that could not be
    /// written is said on stderr, since a session that believes it is live
    /// while others see it stale loses its claims to them.
    pub fn touch(&self) {
        if let Err(e) = self.try_touch() {
            let me = self.session().unwrap_or("?");
            eprintln!(
                "warning: session {me}: the heartbeat (or claim renewal) was not recorded: {}",
                e.message()
            );
        }
    }

    /// [`Context::touch`], saying what went wrong.
    pub fn try_touch(&self) -> Result<()> {
        let Some(me) = self.session().map(str::to_string) else { return Ok(()) };
        let now = self.now();
        let interval = self.heartbeat_interval();
        let due = |s: &Session| s.status == SessionStatus::Active && now - s.heartbeat_at >= interval;
        match self.session_document(&me)? {
            Some(s) if due(&s) => {}
            _ => return Ok(()),
        }
        self.update_session(&me, "heartbeat", |s| {
            if !due(s) {
                return false;
            }
            s.heartbeat_at = now;
            true
        })?;
        // Activity renews the session's claims too.
        self.renew_claims_of(&me)
    }

    /// Records a session's landing on its document (ended sessions too: a
    /// queued branch may land after its session ended).
    pub(crate) fn record_session_landing(
        &self,
        name: &str,
        landed: &crate::model::land::Landed,
    ) -> Result<Session> {
        let by = self.actor();
        let now = self.now();
        self.store.sessions().update(|snap| {
            let mut session = snap.get(name)?.ok_or_else(|| unknown_session(name))?;
            session.landed = Some(landed.clone());
            let short = &landed.commit[..landed.commit.len().min(10)];
            let summary = format!("land {name} on {} at {short} ({}) by {by}", landed.into, landed.mode);
            let event = Event::new("land", &by, now, summary).entity(name);
            let mut change = Writes::new(event);
            change.save(&session);
            Ok::<_, Error>(change.write(session))
        })
    }

    /// Changes one session document; `edit` returns false for "no change".
    fn update_session(
        &self,
        name: &str,
        action: &str,
        mut edit: impl FnMut(&mut Session) -> bool,
    ) -> Result<Session> {
        let now = self.now();
        self.store.sessions().update(|snap| {
            let mut session = snap.get(name)?.ok_or_else(|| unknown_session(name))?;
            if session.status != SessionStatus::Active {
                return Err(session_ended(name));
            }
            if !edit(&mut session) {
                return Ok(Written::Unchanged(session));
            }
            // "heartbeat: doing tests, 40%" reads "heartbeat alice: doing tests, 40%".
            let (verb, said) = action.split_once(": ").map_or((action, None), |(v, s)| (v, Some(s)));
            let summary = match said {
                Some(said) => format!("{verb} {name}: {said}"),
                None => format!("{verb} {name}"),
            };
            let event = Event::new(verb, name, now, summary).entity(name);
            let mut change = Writes::new(event);
            change.save(&session);
            Ok(change.write(session))
        })
    }
}
