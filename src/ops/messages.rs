//! Messages: send to a session, to `all` or to a role; read the inbox.
//!
//! Each message goes to one mailbox (the recipient's, `all` or
//! `role.<role>`); a session reads its own, `all` and its role's, from
//! where its read cursor on each left off (see `store::mailboxes` for how
//! they are kept: a linear chain each, so every reader sees one order).

use super::{Context, Error, Reason, Result};
use crate::model::message::{
    validate_body, validate_message_id, validate_subject, Message, MessageKind, Recipient,
};
use crate::model::session::Session;
use crate::model::FORMAT;
use crate::store::{Corrupt, Mailbox};
use git2::Oid;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How often `inbox --wait` looks at the mailbox heads: each look reads
/// three small ref files, so waiting costs no measurable CPU.
const WAIT_POLL: Duration = Duration::from_millis(50);
/// How often `inbox --wait` asks the coordination remote, if there is one.
const REMOTE_POLL: Duration = Duration::from_secs(1);

/// What `send` is asked to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub kind: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct InboxOptions {
    /// Show messages already read as well.
    pub all: bool,
    /// Do not mark anything read.
    pub peek: bool,
    /// Block until something unread arrives; `Some(None)` waits for ever.
    pub wait: Option<Option<Duration>>,
}

/// A message as read from a mailbox.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    #[serde(flatten)]
    pub message: Message,
    /// The mailbox it was found in: the reader's name, `all` or `role.<r>`.
    pub mailbox: String,
    /// Whether it had been read before this call.
    pub read: bool,
}

impl Context {
    /// Also delivers to the lead (`role:lead`) what it must hear of: help
    /// requests and completions sent elsewhere. Nothing when nobody holds
    /// the lead, or the lead gets it anyway (a broadcast, or sent to it).
    pub(crate) fn copy_to_lead(&self, message: &Message, to: &Recipient) -> Result<()> {
        if !matches!(message.kind, MessageKind::Help | MessageKind::Completion) {
            return Ok(());
        }
        self.tell_lead(message, to)
    }

    /// Delivers `message` (already sent to `to`) to the lead's box too,
    /// unless the lead already gets it.
    pub(crate) fn tell_lead(&self, message: &Message, to: &Recipient) -> Result<()> {
        let Some(lead) = self.show_lead()?.lead else { return Ok(()) };
        let gets_it = match to {
            Recipient::All => true,
            Recipient::Role(role) => role == crate::model::lead::LEAD_ROLE,
            Recipient::Session(name) => *name == lead,
        };
        if gets_it || message.from == lead {
            return Ok(());
        }
        self.post(&format!("role.{}", crate::model::lead::LEAD_ROLE), message).map(|_| ())
    }

    /// Sends a message; returns it as stored.
    pub fn send(&self, out: &Outgoing) -> Result<Message> {
        let recipient = Recipient::parse(&out.to)?;
        validate_subject(&out.subject)?;
        validate_body(&out.body)?;
        let kind = out.kind.as_deref().map(MessageKind::parse).transpose()?.unwrap_or(MessageKind::Note);
        if let Some(id) = &out.reply_to {
            validate_message_id(id)?;
        }
        self.check_recipient(&recipient)?;
        if let Some(id) = &out.reply_to {
            if !self.message_exists(id)? {
                return Err(Error::invalid(format!(
                    "no message {id} to reply to: give the id of a message from `git orchestrate inbox --all`"
                )));
            }
        }
        let from = self.actor();
        let now = self.now();
        let message = Message {
            format: FORMAT,
            id: format!("m-{:08x}", fastrand::u32(..)),
            from: from.clone(),
            to: recipient.to_string(),
            kind,
            subject: out.subject.clone(),
            body: out.body.clone(),
            reply_to: out.reply_to.clone(),
            sent_at: now,
        };
        let message = self.post(&recipient.mailbox(), &message)?;
        // The message is sent: a copy that cannot be made (an unreadable
        // lead document) is said, never reported as a failed send.
        if let Err(e) = self.copy_to_lead(&message, &recipient) {
            eprintln!(
                "warning: message {} was sent, but not copied to the lead: {}",
                message.id,
                e.message()
            );
        }
        if recipient == Recipient::Session(crate::model::message::HUMAN.to_string()) {
            self.notify(super::notify::Notice::Message(&message));
        }
        Ok(message)
    }

    /// Appends `message` to `mailbox` (`<session>`, `all`, `role.<r>`).
    pub(crate) fn post(&self, mailbox: &str, message: &Message) -> Result<Message> {
        Ok(self.store.mailboxes().mailbox(mailbox).post(message)?)
    }

    /// Whether any mailbox holds the message `id`.
    fn message_exists(&self, id: &str) -> Result<bool> {
        Ok(self.store.mailboxes().holds(id)?)
    }

    /// Unknown recipients are bad input: a session that was never started,
    /// or a role no session has.
    fn check_recipient(&self, recipient: &Recipient) -> Result<()> {
        let sessions = || -> Result<Vec<Session>> {
            let snap = self.store.sessions().read()?;
            Ok(snap.all()?.0)
        };
        match recipient {
            Recipient::All => Ok(()),
            // The lead's box and the human's are there with or without a session.
            Recipient::Role(role) if role == crate::model::lead::LEAD_ROLE => Ok(()),
            Recipient::Session(name) if name == crate::model::message::HUMAN => Ok(()),
            // A session whose document is corrupt exists: say so, not "no session".
            Recipient::Session(name) => match self.store.sessions().get(name)? {
                Some(_) => Ok(()),
                None => Err(Error::invalid(format!(
                    "no session named {name}: see `git orchestrate session list --all` (or send to all or role:<r>)"
                ))),
            },
            Recipient::Role(role) => match sessions()?.iter().any(|s| s.role.as_deref() == Some(role)) {
                true => Ok(()),
                false => Err(Error::invalid(format!(
                    "no session has role {role}: see `git orchestrate session list --all`"
                ))),
            },
        }
    }

    /// The mailboxes the acting session reads: its own, `all`, its role's.
    fn my_mailboxes(&self, me: &str) -> Result<Vec<String>> {
        let snap = self.store.sessions().read()?;
        let role = snap.get(me)?.and_then(|s| s.role);
        let mut boxes = vec![me.to_string(), "all".to_string()];
        if let Some(role) = role {
            boxes.push(format!("role.{role}"));
        }
        // The lead reads what is sent to role:lead (help, failures, completions).
        let lead_box = format!("role.{}", crate::model::lead::LEAD_ROLE);
        if !boxes.contains(&lead_box) && self.show_lead()?.lead.as_deref() == Some(me) {
            boxes.push(lead_box);
        }
        Ok(boxes)
    }

    /// Reads the inbox: unread messages (or every one with `all`) from the
    /// session's own box, `all` and its role's box, oldest first, then
    /// marks them read unless `peek`. With `wait`, blocks until something
    /// unread arrives; a timeout is a refusal (exit 1).
    pub fn inbox(&self, opts: &InboxOptions) -> Result<Vec<Received>> {
        if let Some(Some(limit)) = opts.wait {
            let seconds = limit.as_secs();
            let as_chrono = i64::try_from(seconds).ok().and_then(chrono::Duration::try_seconds);
            crate::model::time::check_duration(
                &format!("{seconds}s"),
                as_chrono
                    .unwrap_or_else(|| crate::model::time::max_duration() + chrono::Duration::seconds(1)),
            )
            .map_err(|e| Error::invalid(format!("wait: {e}")))?;
        }
        let me = self.require_session("`inbox`")?.to_string();
        let names = self.my_mailboxes(&me)?;
        let mailboxes = self.store.mailboxes();
        let boxes: Vec<Mailbox<'_>> = names.iter().map(|name| mailboxes.mailbox(name)).collect();
        if let Some(limit) = opts.wait {
            self.wait_for_unread(&me, &boxes, limit)?;
        }
        let mut per_box = Vec::new();
        let mut seen_heads = Vec::new();
        for mailbox in &boxes {
            let head = mailbox.head()?;
            let cursor = mailbox.cursor(&me)?;
            let mut from_box = Vec::new();
            collect(mailbox, head, cursor, opts.all, &me, &mut from_box)?;
            // The chain is the authoritative order within a mailbox.
            from_box.reverse();
            per_box.push(from_box);
            if head != cursor {
                seen_heads.push((mailbox, head));
            }
        }
        let received = merge_in_delivery_order(per_box);
        if !opts.peek {
            for (mailbox, head) in seen_heads {
                if let Some(head) = head {
                    mailbox.mark_read(&me, head)?;
                }
            }
        }
        Ok(received)
    }

    fn wait_for_unread(&self, me: &str, boxes: &[Mailbox<'_>], limit: Option<Duration>) -> Result<()> {
        let started = Instant::now();
        let mut remote_look = started;
        let mut said_unreachable = false;
        let names: Vec<String> = boxes.iter().map(|b| b.name().to_string()).collect();
        loop {
            // With a coordination remote, a message from another clone
            // arrives there: look at its mailbox heads once a second.
            if self.store.remote().is_some() && Instant::now() >= remote_look {
                remote_look = Instant::now() + REMOTE_POLL;
                if let Err(e) = self.store.mailboxes().fetch_moved(&names) {
                    if !std::mem::replace(&mut said_unreachable, true) {
                        eprintln!("git-orchestrate: still waiting, on this clone's mail only for now: {e}");
                    }
                }
            }
            for mailbox in boxes {
                let head = mailbox.head()?;
                let cursor = mailbox.cursor(me)?;
                if head != cursor && has_unread_from_others(mailbox, head, cursor, me)? {
                    return Ok(());
                }
            }
            if let Some(limit) = limit.filter(|l| started.elapsed() >= *l) {
                let waited_secs = limit.as_secs();
                return Err(Error::refusal(
                    Reason::NoNewMessage { session: me.to_string(), waited_secs },
                    format!("no new message within {waited_secs}s"),
                ));
            }
            std::thread::sleep(WAIT_POLL);
        }
    }
}

/// Walks a mailbox from `head` back to the reader's cursor (or to the
/// start with `all`), collecting messages not sent by the reader.
fn collect(
    mailbox: &Mailbox<'_>,
    head: Option<Oid>,
    cursor: Option<Oid>,
    all: bool,
    me: &str,
    out: &mut Vec<Received>,
) -> Result<()> {
    let mut read = false;
    let mut failure = None;
    for letter in mailbox.letters(head) {
        let letter = letter?;
        if Some(letter.commit) == cursor {
            if !all {
                break;
            }
            read = true;
        }
        match letter.message {
            Ok(Some(message)) if message.from != me => {
                out.push(Received { message, mailbox: mailbox.name().to_string(), read })
            }
            Ok(_) => {}
            // One bad message is reported, never a reason to lose the rest.
            Err(corrupt) => {
                failure.get_or_insert(corrupt);
            }
        }
    }
    if let Some(Corrupt { refname, path, reason }) = failure {
        eprintln!("warning: a message in {refname}:{path} could not be read: {reason}");
    }
    Ok(())
}

fn has_unread_from_others(
    mailbox: &Mailbox<'_>,
    head: Option<Oid>,
    cursor: Option<Oid>,
    me: &str,
) -> Result<bool> {
    let mut found = Vec::new();
    collect(mailbox, head, cursor, false, me, &mut found)?;
    Ok(!found.is_empty())
}

/// Merges mailboxes, each in its chain order (the order its messages were
/// delivered in), into one list: each mailbox keeps its own order, and
/// between mailboxes the earlier sent comes first. (Sorting everything by
/// `sent_at` would not do: a sender that stamped its message first can
/// lose the race to append it, so times within one chain can go back.)
fn merge_in_delivery_order(per_box: Vec<Vec<Received>>) -> Vec<Received> {
    let mut queues: Vec<std::collections::VecDeque<Received>> = per_box.into_iter().map(Into::into).collect();
    let mut merged = Vec::with_capacity(queues.iter().map(|q| q.len()).sum());
    loop {
        let next = queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|r| (r.message.sent_at, i)))
            .min()
            .map(|(_, i)| i);
        match next.and_then(|i| queues[i].pop_front()) {
            Some(received) => merged.push(received),
            None => return merged,
        }
    }
}
