//! `git orchestrate init`: create `refs/orchestrate/meta` if missing.

use super::{CmdResult, Ui};
use crate::ops::Context;

pub fn run(ctx: &Context, ui: &Ui) -> CmdResult {
    let done = ctx.init()?;
    let json = serde_json::json!({ "created": done.created, "format": done.format, "ref": done.refname });
    ui.emit(&json, || {
        if done.created {
            format!("initialised {} (format {})", done.refname, done.format)
        } else {
            format!("already initialised: {} (format {})", done.refname, done.format)
        }
    })
}
