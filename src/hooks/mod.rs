//! Installing the git hooks shipped in `hooks/`, and taking them out again.
//!
//! Hooks go where git really looks: `core.hooksPath` when it is set,
//! otherwise the *common* git directory's `hooks/` (never a linked
//! worktree's private one), so one install covers every session worktree.
//! A hook the user already has is never lost: it is renamed to
//! `<hook>.pre-orchestrate`, our script runs it first (its exit status
//! counts), and uninstall renames it back, byte for byte.

use std::path::{Path, PathBuf};

/// The hooks we install, with their scripts (the files in `hooks/`).
pub const HOOKS: [(&str, &str); 3] = [
    ("pre-commit", include_str!("../../hooks/pre-commit")),
    ("prepare-commit-msg", include_str!("../../hooks/prepare-commit-msg")),
    ("post-commit", include_str!("../../hooks/post-commit")),
];

/// Every script of ours carries this, so we never mistake a user's hook
/// for ours (or the other way round).
const MARKER: &str = "installed by `git orchestrate hooks install`";
const SAVED_SUFFIX: &str = ".pre-orchestrate";

/// What to add by hand to hooks we must not wrap: one guarded line per hook
/// (it does nothing for someone without git-orchestrate installed).
pub const BY_HAND: &str = concat!(
    "  pre-commit:          command -v git-orchestrate >/dev/null 2>&1 && { git-orchestrate hook pre-commit \"$@\" || exit $?; }\n",
    "  prepare-commit-msg:  command -v git-orchestrate >/dev/null 2>&1 && git-orchestrate hook prepare-commit-msg \"$@\"\n",
    "  post-commit:         command -v git-orchestrate >/dev/null 2>&1 && git-orchestrate hook post-commit \"$@\"",
);

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(
        "core.hooksPath is {dir}, a folder of this repository that a hook manager (husky, lefthook, …) keeps; \
         git-orchestrate does not edit it behind your back. Add these lines to those hooks instead:\n{BY_HAND}"
    )]
    Managed { dir: PathBuf },
    #[error(
        "core.hooksPath is the relative path {path}: git reads it inside each worktree, so hooks installed \
         here would not run in session worktrees. Make it an absolute path or unset it, or add these lines to \
         the hooks in every worktree:\n{BY_HAND}"
    )]
    Relative { path: String },
    #[error(
        "{} depends on its own name or is not a shell script, so it cannot be wrapped without breaking it; \
         nothing was changed. Add this line to it instead:\n{BY_HAND}",
        hook.display()
    )]
    Unwrappable { hook: PathBuf },
    #[error(
        "{hook} has a saved earlier hook beside it ({saved}) but is not ours: move one of them away, then \
         install the hooks again"
    )]
    Conflict { hook: PathBuf, saved: PathBuf },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> HookError {
    let path = path.to_path_buf();
    move |source| HookError::Io { action, path, source }
}

/// What is in place for one hook.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookState {
    pub hook: String,
    pub path: PathBuf,
    /// Our script is installed.
    pub installed: bool,
    /// The user's earlier hook, kept beside ours, if any.
    pub saved: Option<PathBuf>,
    /// Whether that saved hook really runs: ours is installed to run it
    /// and it is executable (git, and our script, skip one that is not).
    pub saved_runs: bool,
    /// A hook that is not ours sits there (and ours is not installed).
    pub foreign: bool,
}

/// Where git looks for hooks: `core.hooksPath` (relative to the worktree
/// top, as git reads it) or the common git directory's `hooks/`; and
/// whether that folder is tracked in the repository.
pub fn hooks_dir(common_dir: &Path, worktree_top: Option<&Path>, hooks_path: Option<&str>) -> PathBuf {
    match hooks_path {
        Some(p) => {
            let p = PathBuf::from(p);
            match (p.is_absolute(), worktree_top) {
                (false, Some(top)) => top.join(p),
                _ => p,
            }
        }
        None => common_dir.join("hooks"),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A hook we can move aside and run from our script: a text script that
/// does not look at its own name or location (`$0`). Husky-style
/// dispatchers find their work through `$0`, so renaming them would
/// silently turn them off.
fn wrappable(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text.starts_with("#!") && !text.contains("$0") && !text.contains("${0"),
            Err(_) => false,
        },
        // A dangling link has nothing to run; moving it aside loses nothing.
        Err(_) => true,
    }
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(MARKER))
}

/// The state of every hook in `dir`.
pub fn status(dir: &Path) -> Vec<HookState> {
    HOOKS
        .iter()
        .map(|(name, _)| {
            let path = dir.join(name);
            let saved = dir.join(format!("{name}{SAVED_SUFFIX}"));
            let installed = is_ours(&path);
            let saved_exists = std::fs::symlink_metadata(&saved).is_ok();
            HookState {
                hook: name.to_string(),
                foreign: std::fs::symlink_metadata(&path).is_ok() && !installed,
                saved_runs: installed && saved_exists && is_executable(&saved),
                installed,
                saved: saved_exists.then_some(saved),
                path,
            }
        })
        .collect()
}

/// Installs our hooks into `dir`, keeping any hook the user had. Running
/// it again refreshes our scripts and changes nothing else.
pub fn install(dir: &Path) -> Result<Vec<HookState>, HookError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    // Check every hook before changing any, so a refusal changes nothing.
    // symlink_metadata, not exists(): a dangling link is still a hook.
    for (name, _) in HOOKS {
        let (path, saved) = (dir.join(name), dir.join(format!("{name}{SAVED_SUFFIX}")));
        let present = std::fs::symlink_metadata(&path).is_ok();
        if !present || is_ours(&path) {
            continue;
        }
        if std::fs::symlink_metadata(&saved).is_ok() {
            return Err(HookError::Conflict { hook: path, saved });
        }
        if !wrappable(&path) {
            return Err(HookError::Unwrappable { hook: path });
        }
    }
    for (name, script) in HOOKS {
        let (path, saved) = (dir.join(name), dir.join(format!("{name}{SAVED_SUFFIX}")));
        if std::fs::symlink_metadata(&path).is_ok() && !is_ours(&path) {
            std::fs::rename(&path, &saved).map_err(io("keep", &path))?;
        }
        write_executable(&path, script)?;
    }
    Ok(status(dir))
}

/// Takes our hooks out of `dir` and puts back what the user had.
pub fn uninstall(dir: &Path) -> Result<Vec<HookState>, HookError> {
    for (name, _) in HOOKS {
        let (path, saved) = (dir.join(name), dir.join(format!("{name}{SAVED_SUFFIX}")));
        if !is_ours(&path) {
            continue; // Not ours: leave it (and whatever is saved) alone.
        }
        std::fs::remove_file(&path).map_err(io("remove", &path))?;
        if std::fs::symlink_metadata(&saved).is_ok() {
            std::fs::rename(&saved, &path).map_err(io("restore", &saved))?;
        }
    }
    Ok(status(dir))
}

fn write_executable(path: &Path, script: &str) -> Result<(), HookError> {
    use std::os::unix::fs::PermissionsExt;
    // Write beside and rename, so a hook is never seen half-written.
    let tmp = path.with_extension("orchestrate-tmp");
    std::fs::write(&tmp, script).map_err(io("write", &tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).map_err(io("chmod", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("install", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_script_is_marked_as_ours_and_calls_its_entry_point() {
        for (name, script) in HOOKS {
            assert!(script.starts_with("#!/bin/sh\n"), "{name}");
            assert!(script.contains(MARKER), "{name}");
            assert!(script.contains(&format!("git-orchestrate hook {name} \"$@\"")), "{name}");
            assert!(script.contains(&format!("{name}{SAVED_SUFFIX}")), "{name}");
        }
    }

    #[test]
    fn install_keeps_a_users_hook_and_uninstall_restores_it_exactly() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("pre-commit");
        std::fs::write(&user, "#!/bin/sh\necho mine\n").unwrap();
        std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o750)).unwrap();
        let states = install(dir.path()).unwrap();
        assert!(states.iter().all(|s| s.installed));
        assert!(states[0].saved_runs);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("pre-commit.pre-orchestrate")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        install(dir.path()).unwrap(); // again: nothing lost
        uninstall(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&user).unwrap(), "#!/bin/sh\necho mine\n");
        assert_eq!(std::fs::metadata(&user).unwrap().permissions().mode() & 0o777, 0o750);
        assert!(!dir.path().join("post-commit").exists());
    }
}
