//! `orchestrate.statusFile`: the markdown board, kept in a file of the main
//! working tree (`STATUS_BOARD.md`) that anyone can `cat`, rewritten after
//! every write. It is replaced atomically (a reader never sees half a
//! board), never committed by the tool, and listed in `.git/info/exclude`
//! so nobody commits it by accident. Writers queue on a lock while they
//! render and replace it, so a later write's board is never overwritten
//! by an earlier one's.

use super::{Context, Error, Result};
use std::io::Write;
use std::path::PathBuf;

impl Context {
    /// The status file, if `orchestrate.statusFile` names one (relative
    /// paths are in the main working tree).
    pub fn status_file(&self) -> Option<PathBuf> {
        let name = self.store.config_string("orchestrate.statusFile").filter(|n| !n.trim().is_empty())?;
        let path = PathBuf::from(name.trim());
        Some(if path.is_absolute() { path } else { self.store.main_root().join(path) })
    }

    /// Rewrites the status file if this process has written anything
    /// since it last rewrote it. Returns the file, if it was rewritten.
    pub fn refresh_status_file(&self) -> Result<Option<PathBuf>> {
        let Some(path) = self.status_file() else { return Ok(None) };
        let moves = self.store.moves();
        if self.status_moves.get() == moves {
            return Ok(None);
        }
        let failed = |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", path.display()));
        let lock_file = self.store.common_dir().join("orchestrate").join("status.lock");
        let _turn = crate::os::lock(&lock_file, true).map_err(failed)?;
        let board = self.board()?.render_markdown();
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        std::fs::write(&tmp, board).and_then(|_| std::fs::rename(&tmp, &path)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            failed(e)
        })?;
        self.status_moves.set(moves);
        self.exclude_status_file(&path);
        Ok(Some(path))
    }

    /// Lists the status file in `.git/info/exclude`, once, when it is in
    /// the main working tree: `git add -A` then leaves it out.
    fn exclude_status_file(&self, path: &std::path::Path) {
        let Ok(rel) = path.strip_prefix(self.store.main_root()) else { return };
        let line = format!("/{}", rel.to_string_lossy());
        let exclude = self.store.common_dir().join("info").join("exclude");
        let present = std::fs::read_to_string(&exclude).unwrap_or_default();
        if present.lines().any(|l| l.trim() == line) {
            return;
        }
        let _ = std::fs::create_dir_all(exclude.parent().unwrap_or(self.store.common_dir()));
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&exclude) {
            let sep = if present.is_empty() || present.ends_with('\n') { "" } else { "\n" };
            let _ = writeln!(file, "{sep}# the board git-orchestrate keeps (orchestrate.statusFile)\n{line}");
        }
    }
}
