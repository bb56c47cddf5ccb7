//! `git orchestrate board`: one screen for the human.

use super::{CmdResult, Failure, Ui};
use crate::board::Style;
use crate::ops::Context;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How often `--watch` redraws.
const REDRAW: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct BoardArgs {
    /// Redraw in place every second until interrupted (on a terminal)
    #[arg(long, conflicts_with = "markdown")]
    watch: bool,
    /// A markdown page, for a STATUS_BOARD.md anyone can read
    #[arg(long)]
    markdown: bool,
    #[command(flatten)]
    serve: super::board_serve::ServeArgs,
}

pub fn run(ctx: &Context, ui: &Ui, a: BoardArgs) -> CmdResult {
    if a.markdown && ui.json {
        return Err(Failure::Invalid("--json and --markdown are two formats: pick one".into()));
    }
    if a.watch && ui.json {
        return Err(Failure::Invalid(
            "--watch redraws a terminal; drop --json, or run board --json repeatedly".into(),
        ));
    }
    if a.serve.serve {
        if a.watch || a.markdown {
            return Err(Failure::Invalid(
                "--serve is a live page already: drop --watch and --markdown".into(),
            ));
        }
        return super::board_serve::run(ctx, ui, a.serve);
    }
    let style = Style { color: ui.color };
    if a.watch && std::io::stdout().is_terminal() {
        loop {
            let board = ctx.board()?;
            let mut out = std::io::stdout().lock();
            // Home the cursor and clear the screen, then draw.
            let frame = format!("\x1b[H\x1b[2J{}", board.render_text(style));
            if out.write_all(frame.as_bytes()).and_then(|_| out.flush()).is_err() {
                return Ok(());
            }
            drop(out);
            std::thread::sleep(REDRAW);
        }
    }
    // Not a terminal: --watch draws once, like a plain board.
    let board = ctx.board()?;
    if a.markdown {
        return ui.emit(&board, || board.render_markdown());
    }
    ui.emit(&board, || board.render_text(style))
}
