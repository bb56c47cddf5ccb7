//! The files a Codex `apply_patch` patch touches.
//!
//! Codex passes the raw patch text as `tool_input.command` of its
//! `apply_patch` tool (and a model may also run it through the shell as
//! `apply_patch <<'EOF' ... EOF`). The envelope, per Codex's apply_patch
//! instructions (`codex-rs/apply-patch/apply_patch_tool_instructions.md`):
//!
//! ```text
//! *** Begin Patch
//! *** Add File: <path>          every following `+` line is the new file
//! *** Update File: <path>       hunks with @@ context and +/- lines
//! *** Move to: <new path>       optional, right after Update File
//! *** Delete File: <path>
//! *** End Patch
//! ```
//!
//! Paths are relative to the working folder (or absolute).

use std::path::{Path, PathBuf};

/// The marker that says a text holds a patch.
pub const BEGIN: &str = "*** Begin Patch";

const HEADERS: [&str; 4] = ["*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "];

/// Absolute paths of every file the patch adds, changes, deletes or moves
/// (both ends of a move).
pub fn patched_paths(patch: &str, cwd: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_end_matches('\r');
        let Some(path) = HEADERS.iter().find_map(|h| line.strip_prefix(h)) else { continue };
        let path = path.trim();
        if path.is_empty() {
            continue;
        }
        let path = Path::new(path);
        let abs = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
        if !out.contains(&abs) {
            out.push(abs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_names_a_path() {
        let patch = "*** Begin Patch\n*** Add File: docs/new.md\n+hello\n*** Update File: src/lib.rs\n\
                     *** Move to: src/core.rs\n@@ fn main\n-a\n+b\n*** Delete File: /abs/old.rs\n*** End Patch\n";
        let got: Vec<String> =
            patched_paths(patch, Path::new("/repo")).iter().map(|p| p.display().to_string()).collect();
        assert_eq!(got, ["/repo/docs/new.md", "/repo/src/lib.rs", "/repo/src/core.rs", "/abs/old.rs"]);
    }

    #[test]
    fn added_lines_that_look_like_headers_are_content() {
        let patch = "*** Begin Patch\n*** Add File: a.md\n+*** Delete File: b.md\n*** End Patch\n";
        assert_eq!(patched_paths(patch, Path::new("/r")), [PathBuf::from("/r/a.md")]);
    }
}
