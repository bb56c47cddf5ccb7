//! The files a session worktree gets copied from the main worktree, as
//! listed in its `.worktreeinclude` (`.env` and the like: untracked, often
//! secret): reading the list, copying them in, remembering which paths were
//! copies, and telling a copy still identical to its original from the
//! agent's own work, so that ending a session never commits a secret and
//! never throws away what an agent changed.

use super::files::copy_recursively;
use super::git::{io, private_dir, WorktreeError};
use std::path::Path;

/// Files listed here (one path per line, `#` comments) are copied from the
/// main worktree into every new session worktree: `.env` and the like.
pub const INCLUDE_FILE: &str = ".worktreeinclude";

/// The paths listed in the main worktree's `.worktreeinclude` that exist
/// there, relative to it, and a warning for every line that was skipped.
/// Lines are literal paths (files or folders); entries outside the
/// repository and glob patterns are skipped.
pub fn include_list(main: &Path) -> (Vec<String>, Vec<String>) {
    let Ok(list) = std::fs::read_to_string(main.join(INCLUDE_FILE)) else { return (Vec::new(), Vec::new()) };
    let mut paths = Vec::new();
    let mut warnings = Vec::new();
    for line in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let rel = line.trim_start_matches("./").trim_end_matches('/');
        let problem = if rel.is_empty() || Path::new(rel).is_absolute() {
            Some("is not a path inside the repository")
        } else if rel.split('/').any(|s| s == ".." || s == ".git") {
            Some("leaves the repository or names .git")
        } else if rel.contains(['*', '?', '[']) {
            Some("is a glob; list literal files or folders")
        } else if std::fs::symlink_metadata(main.join(rel)).is_err() {
            Some("does not exist in the main worktree")
        } else {
            None
        };
        match problem {
            Some(p) => warnings.push(format!("{INCLUDE_FILE}: '{line}' {p}; skipped")),
            None => paths.push(rel.to_string()),
        }
    }
    (paths, warnings)
}

/// Copies the untracked files listed in the main worktree's
/// `.worktreeinclude` into `to`. Returns the paths copied.
pub fn copy_includes(from: &Path, to: &Path, includes: &[String]) -> Result<Vec<String>, WorktreeError> {
    let mut copied = Vec::new();
    for rel in includes.iter().cloned() {
        if !to.join(&rel).exists() {
            copy_recursively(&from.join(&rel), &to.join(&rel))?;
            copied.push(rel);
        }
    }
    Ok(copied)
}

/// Whether `rel` in the worktree is a copy made from the main worktree's
/// include list and still identical to its original: not the agent's work.
/// A folder is pristine when every file under it is.
pub fn is_pristine_include(main: &Path, worktree: &Path, includes: &[String], rel: &str) -> bool {
    if !is_include(includes, rel) {
        return false;
    }
    let mut files = Vec::new();
    list_files(&worktree.join(rel), rel, &mut files);
    files.iter().all(|f| same_content(&main.join(f), &worktree.join(f)))
}

/// The file, in a worktree's private git directory, listing the include
/// paths that were in force when the worktree was made.
const INCLUDES_FILE: &str = "orchestrate-includes";

/// Remembers which paths were copies of include files, so the copies are
/// still known for what they are at the end even if `.worktreeinclude`
/// changed (or went) meanwhile: a secret is never committed for want of
/// its line.
pub fn record_includes(worktree: &Path, includes: &[String]) -> Result<(), WorktreeError> {
    let file = private_dir(worktree)?.join(INCLUDES_FILE);
    let text: String = includes.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(&file, text).map_err(io(format!("write {}", file.display())))
}

/// The include paths recorded when the worktree was made (none for a
/// worktree made before they were recorded).
pub fn recorded_includes(worktree: &Path) -> Vec<String> {
    private_dir(worktree)
        .ok()
        .and_then(|dir| std::fs::read_to_string(dir.join(INCLUDES_FILE)).ok())
        .map(|text| text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Files under the include copies in the worktree that differ from the
/// main worktree's originals (or do not exist there), relative paths.
pub fn changed_includes(main: &Path, worktree: &Path, includes: &[String]) -> Vec<String> {
    let mut changed = Vec::new();
    for rel in includes {
        let mut files = Vec::new();
        list_files(&worktree.join(rel), rel, &mut files);
        changed.extend(files.into_iter().filter(|f| !same_content(&main.join(f), &worktree.join(f))));
    }
    changed
}

fn list_files(path: &Path, rel: &str, out: &mut Vec<String>) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    list_files(&e.path(), &format!("{rel}/{name}"), out);
                }
            }
        }
        Ok(_) => out.push(rel.to_string()),
        Err(_) => {}
    }
}

fn same_content(a: &Path, b: &Path) -> bool {
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.file_type().is_symlink() || mb.file_type().is_symlink() => {
            std::fs::read_link(a).ok() == std::fs::read_link(b).ok()
        }
        _ => matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y),
    }
}

/// Whether `rel` comes from the include list (changed or not).
pub fn is_include(includes: &[String], rel: &str) -> bool {
    includes.iter().any(|inc| rel == inc || rel.starts_with(&format!("{inc}/")))
}
