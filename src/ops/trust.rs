//! The trust agents give a project's settings: what `integrate` says is
//! still needed, `integrate gemini --trust-worktrees`, and the note
//! `session start` gives once when an integrated agent will not trust the
//! worktree it made (see [`crate::integrate::trust`]).

use super::{Context, Error, Result};
use crate::agent_hooks::Agent;
use crate::integrate::trust::{self, Trust};
use crate::integrate::{FileReport, IntegrateError};
use std::path::{Path, PathBuf};

impl Context {
    /// What trust `agent` still needs for the checkout at `top` and for the
    /// session worktrees, and how to give it.
    pub fn agent_trust(&self, agent: Agent, top: &Path) -> Trust {
        trust::report(agent, top, &self.trusted_worktree_root())
    }

    /// Adds the worktree root to Gemini CLI's trusted folders (or with
    /// `remove`, takes that entry out again). With `write` false it only
    /// checks that it could, so a command that writes other files too can
    /// refuse before it writes any.
    pub fn trust_worktrees(&self, remove: bool, write: bool) -> Result<FileReport> {
        let file = trust::gemini_trusted_folders_file().ok_or_else(|| {
            Error::invalid(
                "cannot tell where Gemini CLI keeps its trusted folders: set HOME (or GEMINI_CLI_HOME, or \
                 GEMINI_CLI_TRUSTED_FOLDERS_PATH)",
            )
        })?;
        trust::trust_gemini_folder(&file, &self.trusted_worktree_root(), remove, write).map_err(|e| match e {
            IntegrateError::Io { .. } => Error::Store(crate::store::StoreError::Io {
                action: "write Gemini CLI's trusted folders".into(),
                source: std::io::Error::other(e.to_string()),
            }),
            other => Error::invalid(other.to_string()),
        })
    }

    /// The worktree root as the agents see it: with links resolved, since
    /// they compare real paths.
    fn trusted_worktree_root(&self) -> PathBuf {
        trust::real(&self.worktree_root())
    }

    /// Notes for a worktree just made that an integrated agent will not
    /// trust, each said once per repository (a marker under the common git
    /// directory remembers it), since every later worktree is the same case.
    pub(crate) fn untrusted_worktree_notes(&self, worktree: &Path) -> Vec<String> {
        let Ok(top) = self.settings_top() else { return Vec::new() };
        if !trust::gemini_integrated(&top.join(".gemini").join("settings.json"))
            || trust::gemini_trusts(worktree) == Some(true)
        {
            return Vec::new();
        }
        let marker = self.store.common_dir().join("orchestrate").join("told-untrusted-gemini");
        if marker.exists() {
            return Vec::new();
        }
        // Said once: a marker that cannot be written only means saying it again.
        let _ = std::fs::create_dir_all(marker.parent().unwrap_or(Path::new(".")))
            .and_then(|()| std::fs::write(&marker, format!("{}\n", worktree.display())));
        vec![format!(
            "Gemini CLI does not trust {} (it is outside the project folder), so it leaves this project's hooks and \
             MCP server off there and `gemini -p` stops; `git orchestrate integrate gemini --trust-worktrees` \
             trusts every session worktree (said once)",
            worktree.display()
        )]
    }
}
