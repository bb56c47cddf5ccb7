//! `lead take | release | show`: which session coordinates the others.
//!
//! The lease is one document under `refs/orchestrate/lead`, replaced by
//! compare-and-swap, so of two sessions taking it at once one wins. It
//! holds while its session is live — every command the lead runs renews
//! that — and is lost when the session goes stale or ends: then anyone may
//! take it. Taking a live lead's place is refused (a human may `--force`).

use super::{Context, Error, Reason, Result};
use crate::model::lead::Lead;
use crate::model::time::{format_duration, Timestamp};
use crate::model::FORMAT;
use crate::store::{Event, Writes, Written};
use serde::Serialize;

/// The lead as shown: who, since when, and whether the lease still holds.
#[derive(Debug, Clone, Serialize)]
pub struct LeadView {
    /// The session holding the lead, if any (even a stale one).
    pub lead: Option<String>,
    pub since: Option<Timestamp>,
    pub by: Option<String>,
    /// Whether the lease holds: the lead's session is live.
    pub live: bool,
}

impl LeadView {
    fn of(lead: Option<Lead>, live: bool) -> LeadView {
        LeadView {
            since: lead.as_ref().map(|l| l.since),
            by: lead.as_ref().map(|l| l.by.clone()),
            lead: lead.map(|l| l.session),
            live,
        }
    }

    /// The session whose lease holds, if any.
    pub fn holder(&self) -> Option<&str> {
        self.lead.as_deref().filter(|_| self.live)
    }
}

impl Context {
    /// The lead and whether its lease holds.
    pub fn show_lead(&self) -> Result<LeadView> {
        let lead = self.store.lead().get_one()?;
        let live = match &lead {
            Some(l) => self.holder_is_live(Some(&l.session))?,
            None => false,
        };
        Ok(LeadView::of(lead, live))
    }

    /// Makes the acting session the lead. Refused while another live
    /// session holds it, unless `force` (a human sorting things out).
    pub fn take_lead(&self, force: bool) -> Result<LeadView> {
        let acting = self.acting_session("taking the lead")?;
        let me = acting.name.clone();
        let by = self.actor();
        let now = self.now();
        let current = self.show_lead()?;
        let stale_after = self.stale_after()?;
        let lead = self.store.lead().update(|view| {
            let held = view.get_one()?;
            match &held {
                Some(l) if l.session == me => return Ok(Written::Unchanged(l.clone())),
                // The liveness read before this update is for the holder
                // read then; a different holder now is looked at afresh.
                Some(l) if !force && (current.holder() == Some(&l.session) || self.holder_is_live(Some(&l.session))?) => {
                    let stale_after = format_duration(stale_after);
                    let message = format!(
                        "{} holds the lead (since {}, a live session): it is free once it has been silent for \
                         {stale_after}",
                        l.session,
                        l.since.format("%H:%M UTC"),
                    );
                    let reason =
                        Reason::LeadHeld { lead: l.session.clone(), since: l.since, by: l.by.clone(), stale_after };
                    return Err(Error::refusal(reason, message));
                }
                _ => {}
            }
            let lead = Lead { format: FORMAT, session: me.clone(), since: now, by: by.clone() };
            let summary = match &held {
                Some(old) => format!("lead taken by {me} from {} ({by})", old.session),
                None => format!("lead taken by {me}"),
            };
            let mut writes = Writes::new(Event::new("take", &by, now, summary).entity(&me));
            writes.save(&lead);
            Ok::<_, Error>(writes.write(lead))
        })?;
        self.register_on_first_use(&acting)?;
        Ok(LeadView::of(Some(lead), true))
    }

    /// Gives the lead up. Only its holder may, unless `force`.
    pub fn release_lead(&self, force: bool) -> Result<LeadView> {
        let me = self.session().map(str::to_string);
        if me.is_none() && !force {
            self.require_session("releasing the lead (or, for a human, --force)")?;
        }
        let by = self.actor();
        let now = self.now();
        self.store.lead().update(|view| {
            let Some(held) = view.get_one()? else {
                return Err(Error::refusal(Reason::NoLead, "nobody holds the lead: nothing to release"));
            };
            if let (Some(me), false) = (&me, force) {
                if *me != held.session {
                    let message = format!("{} holds the lead, not {me}: only it releases it", held.session);
                    return Err(Error::refusal(
                        Reason::NotTheLead { lead: held.session.clone(), session: me.clone() },
                        message,
                    ));
                }
            }
            let summary = format!("lead released by {by} (was {})", held.session);
            let mut writes = Writes::new(Event::new("release", &by, now, summary).entity(&held.session));
            writes.remove_one();
            Ok(writes.write(LeadView::of(None, false)))
        })
    }

    /// Whether the acting party may coordinate (`action`, say "assign
    /// tasks"): the live lead, or a human (no session). Refused otherwise,
    /// naming the lead.
    pub(crate) fn require_lead_or_human(&self, action: &str) -> Result<()> {
        let Some(me) = self.session() else { return Ok(()) };
        let lead = self.show_lead()?;
        if lead.holder() == Some(me) {
            return Ok(());
        }
        let message = match lead.holder() {
            Some(holder) => format!("only the lead ({holder}) or a human may {action}"),
            None => format!("only the lead or a human may {action}, and nobody holds the lead now"),
        };
        let reason = Reason::LeadOnly { action: action.to_string(), lead: lead.holder().map(str::to_string) };
        Err(Error::refusal(reason, message))
    }
}
