//! `git orchestrate init`: create `refs/orchestrate/meta` if missing.

use super::{CmdResult, Ui};
use crate::model::FORMAT;
use crate::ops::Context;
use crate::store::refs;

pub fn run(ctx: &Context, ui: &Ui) -> CmdResult {
    let created = ctx.store.init(ctx.now())?;
    let json = serde_json::json!({ "created": created, "format": FORMAT, "ref": refs::META });
    ui.emit(&json, || {
        if created {
            format!("initialised {} (format {FORMAT})", refs::META)
        } else {
            format!("already initialised: {} (format {FORMAT})", refs::META)
        }
    })
}
