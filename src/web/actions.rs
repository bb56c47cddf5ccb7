//! The few writes a person can make from the page, each one an existing
//! operation done as `human`: send a message, retry a failed or cancelled
//! task, release a stale session's claims, stop an agent, pause or resume
//! the dispatchers.
//!
//! Refused unless the server was started with `--allow-actions` (403), and
//! then unless the request carries the token printed with the URL as
//! `Authorization: Bearer <token>` (401). A header cannot be set by a
//! form or a link on another site, and a cross-site script that tried would
//! need a CORS preflight this server never grants.

use super::{context, json, Shared};
use crate::model::message::HUMAN;
use crate::ops::supervise::HoldMode;
use crate::ops::{self, messages::Outgoing};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json as value, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long a stopped agent gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ActionBody {
    to: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    kind: Option<String>,
    reply_to: Option<String>,
    session: Option<String>,
    agent: Option<String>,
    task: Option<String>,
    note: Option<String>,
}

/// `POST /api/actions/<action>` with a JSON body.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(token) = &shared.token else {
        return error(
            StatusCode::FORBIDDEN,
            "refused",
            "this board is read-only: restart it with `board --serve --allow-actions` to act from the page",
        );
    };
    if !authorized(&headers, token) {
        return error(
            StatusCode::UNAUTHORIZED,
            "refused",
            "this action needs the token printed with the board's URL, as `Authorization: Bearer <token>`",
        );
    }
    let request: ActionBody = match serde_json::from_str(if body.trim().is_empty() { "{}" } else { &body }) {
        Ok(r) => r,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, "invalid", &format!("the request body is not valid: {e}"))
        }
    };
    let repo = shared.repo.clone();
    let outcome = tokio::task::spawn_blocking(move || perform(&repo, &action, request)).await;
    match outcome {
        Ok(Ok(done)) => json(value!({ "ok": true, "result": done }).to_string()),
        Ok(Err(e)) => {
            let status = match &e {
                ops::Error::Invalid(_) => StatusCode::BAD_REQUEST,
                ops::Error::Refused(_) => StatusCode::CONFLICT,
                ops::Error::Store(_) | ops::Error::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            error(status, e.kind(), &e.message())
        }
        Err(e) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "error", &format!("the action did not finish: {e}"))
        }
    }
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(given) = given.strip_prefix("Bearer ") else { return false };
    // Compare every byte whatever the first difference, so the time taken
    // says nothing about how much of a guess was right.
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, json(ops::error_json(kind, message).to_string())).into_response()
}

fn required(field: Option<String>, name: &str, action: &str) -> Result<String, ops::Error> {
    field
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ops::Error::invalid(format!("{action} needs \"{name}\" in the request body")))
}

fn perform(repo: &std::path::Path, action: &str, r: ActionBody) -> Result<Value, ops::Error> {
    // Every action is the human's: the events and messages say so.
    let ctx = context(repo, Some(HUMAN.to_string()))?;
    match action {
        "send" => {
            let out = Outgoing {
                to: required(r.to, "to", "send")?,
                subject: required(r.subject, "subject", "send")?,
                body: r.body.unwrap_or_default(),
                kind: r.kind,
                reply_to: r.reply_to,
            };
            to_json(&ctx.send(&out)?)
        }
        "retry" => to_json(&ctx.retry_task(&required(r.task, "task", "retry")?, r.note.as_deref())?),
        "release-claims" => {
            let session = required(r.session, "session", "release-claims")?;
            let view = ctx.show_session(Some(&session))?;
            if !view.stale && view.session.status == crate::model::session::SessionStatus::Active {
                return Err(ops::Error::refusal(
                    ops::Reason::SessionLive { session: session.clone() },
                    format!("{session} is live: only a stale or ended session's claims can be released from the board"),
                ));
            }
            let released = ctx.release_all_claims_of(&session)?;
            Ok(value!({ "session": session, "released": released }))
        }
        "stop" => to_json(&ctx.stop_agent(&required(r.agent, "agent", "stop")?, STOP_GRACE)?),
        "pause" => to_json(&ctx.hold_dispatchers(HoldMode::Pause)?),
        "resume" => to_json(&ctx.resume_dispatchers()?),
        other => Err(ops::Error::invalid(format!(
            "no action named '{other}': the board offers send, retry, release-claims, stop, pause and resume"
        ))),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ops::Error> {
    serde_json::to_value(value).map_err(|e| ops::Error::failed(format!("cannot encode the result: {e}")))
}
