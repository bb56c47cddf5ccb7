//! A git remote as the shared authority (`orchestrate.remote`).
//!
//! With a remote set, the local `refs/orchestrate/*` are copies of the
//! remote's, and every write is linearised by the remote: the engine
//! computes a change on the copy it fetched, then pushes it with
//! `git push --atomic --force-with-lease=<ref>:<expected>`, a true
//! compare-and-swap on every transport git speaks (path, file://, git://,
//! ssh, smart HTTP). A push that loses the race is rejected as "stale info";
//! the engine fetches and computes again. The local copy moves only after
//! the remote accepted the write, so a write that failed changes nothing.
//!
//! The git CLI does the talking: libgit2's push to a path or file:// remote
//! overwrites without checking the lease (see DESIGN.md), and the CLI uses
//! the user's own credentials, ssh set-up and proxies.
//!
//! - Only the rejections that mean "someone else wrote first" are races
//!   (`stale info`, `failed to update ref`, `atomic push failed`, `atomic
//!   transaction failed`); a hook's refusal or a hidden ref is an error
//!   quoting what the server said.
//! - Reads use the local copies, refreshed by a fetch when they are older
//!   than `orchestrate.fetchInterval`; when the remote cannot be reached a
//!   read goes on with the copies and says how old they are.
//! - Every git call is bounded in time, never prompts for credentials, and
//!   runs no hooks of the user's (`push --no-verify`): a pre-push hook that
//!   runs a test suite must not run for a heartbeat.

use super::error::StoreError;
use super::refs;
use git2::Oid;
use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How old the local copies may get before a read fetches, by default.
pub const DEFAULT_FETCH_INTERVAL: Duration = Duration::from_secs(3);
/// How long a fetch or push for a write may take before the remote counts
/// as unreachable.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a read waits for fresh copies before it goes on with the local
/// ones: short, since a git hook (the pre-commit claim check) waits for it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(4);
/// The longest a git hook waits for any one call to the remote.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a process stops asking a remote that did not answer in time.
/// Long-running processes (`inbox --wait`, the MCP server) ask again after.
pub const GIVE_UP_FOR: Duration = Duration::from_secs(30);
/// A fetch that touches nothing but the refs it names.
const FETCH: &[&str] = &["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"];
/// The refspec that mirrors the whole coordination namespace.
const ALL: &str = "+refs/orchestrate/*:refs/orchestrate/*";

/// The remote named by `orchestrate.remote`.
#[derive(Debug, Clone)]
pub struct Remote {
    /// A remote's name (`origin`) or a URL or path, as configured.
    spec: String,
    /// The common git directory, where the git CLI runs.
    git_dir: PathBuf,
    fetch_interval: Duration,
    /// When a git call to the remote last ran out of time in this process,
    /// and the time it had: for [`GIVE_UP_FOR`] after that, calls that
    /// would wait no longer fail at once instead of each waiting out its
    /// own timeout (a post-commit hook makes several writes; a dead remote
    /// must cost it one wait, not one per write). A call allowed longer
    /// (a write after a read's short wait) still tries: a slow remote is
    /// not a dead one.
    timed_out: Cell<Option<(Instant, Duration)>>,
    /// The longest any git call may take, when lower than its own timeout
    /// (the git hooks: a commit must not wait long on the remote).
    cap: Cell<Option<Duration>>,
}

/// What the remote holds for one ref, as last fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteHead {
    /// The remote has no such ref: a write creates it.
    Absent,
    /// The remote's ref points here, and the local copy was set to it.
    At(Oid),
}

/// How a push with a lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The remote moved the ref: the write happened.
    Done,
    /// Another writer moved it first: fetch and compute again.
    Lost,
}

/// A ref whose remote value changed in a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub refname: String,
    pub old: Option<Oid>,
    pub new: Option<Oid>,
}

impl Remote {
    /// Reads `orchestrate.remote` and `orchestrate.fetchInterval`. A value
    /// that is neither a configured remote nor a URL or path is bad input.
    pub fn from_config(config: &git2::Config, git_dir: &Path) -> Result<Option<Remote>, StoreError> {
        let Ok(spec) = config.get_string("orchestrate.remote") else { return Ok(None) };
        let spec = spec.trim().to_string();
        if spec.is_empty() {
            return Ok(None);
        }
        let named = config.get_string(&format!("remote.{spec}.url")).is_ok();
        if !named && !looks_like_url(&spec) {
            return Err(StoreError::BadRemote {
                remote: spec.clone(),
                reason: format!(
                    "there is no remote named '{spec}' and it is not a URL or path; \
                     add it with `git remote add {spec} <url>` or set orchestrate.remote to a URL"
                ),
            });
        }
        let fetch_interval = match config.get_string("orchestrate.fetchInterval") {
            Err(_) => DEFAULT_FETCH_INTERVAL,
            Ok(text) => crate::model::time::parse_duration(&text)
                .ok()
                .and_then(|d| d.to_std().ok())
                .ok_or_else(|| StoreError::BadRemote {
                    remote: spec.clone(),
                    reason: format!(
                        "git config orchestrate.fetchInterval = '{text}' is not a duration like 2s or 500ms"
                    ),
                })?,
        };
        Ok(Some(Remote {
            spec,
            git_dir: git_dir.to_path_buf(),
            fetch_interval,
            timed_out: Cell::new(None),
            cap: Cell::new(None),
        }))
    }

    /// Bounds every later git call of this process to `limit`, however
    /// long it would otherwise be allowed (the git hooks).
    pub fn limit_wait(&self, limit: Duration) {
        self.cap.set(Some(limit));
    }

    /// The remote as configured (a name or a URL).
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Fetches one ref into its local copy and says what the remote holds.
    pub fn fetch_ref(&self, refname: &str) -> Result<RemoteHead, StoreError> {
        let refspec = format!("+{refname}:{refname}");
        let out = self.fetch(WRITE_TIMEOUT, &[&self.spec, &refspec])?;
        if out.ok {
            return self.local(refname).map(|oid| oid.map_or(RemoteHead::Absent, RemoteHead::At));
        }
        if out.text.contains("couldn't find remote ref") {
            return Ok(RemoteHead::Absent);
        }
        Err(self.failure("fetch", &out.text))
    }

    /// Fetches those of `refnames` whose remote value differs from the local
    /// copy (asking with one `ls-remote` first, which costs no objects), and
    /// says whether any moved. Cheap enough to ask every second.
    pub fn fetch_if_moved(&self, refnames: &[String]) -> Result<bool, StoreError> {
        let mut stale = Vec::new();
        for (name, oid) in self.ls_remote_within(READ_TIMEOUT, refnames)? {
            if self.local(&name)? != Some(oid) {
                stale.push(format!("+{name}:{name}"));
            }
        }
        if stale.is_empty() {
            return Ok(false);
        }
        let mut args: Vec<&str> = vec![&self.spec];
        args.extend(stale.iter().map(String::as_str));
        let out = self.fetch(READ_TIMEOUT, &args)?;
        if !out.ok {
            return Err(self.failure("fetch", &out.text));
        }
        Ok(true)
    }

    /// Fetches every ref under `refs/orchestrate/` and says which moved.
    pub fn fetch_all(&self, timeout: Duration) -> Result<Vec<Moved>, StoreError> {
        let before = self.local_refs()?;
        let out = self.fetch(timeout, &[&self.spec, ALL])?;
        if !out.ok {
            return Err(self.failure("fetch", &out.text));
        }
        self.mark_fetched();
        let after = self.local_refs()?;
        let mut moved = Vec::new();
        for (name, new) in &after {
            let old = before.iter().find(|(n, _)| n == name).map(|(_, o)| *o);
            if old != Some(*new) {
                moved.push(Moved { refname: name.clone(), old, new: Some(*new) });
            }
        }
        Ok(moved)
    }

    /// The remote's current value of each of `refnames` (absent ones are
    /// left out), without fetching any object: one cheap round trip.
    pub fn ls_remote(&self, refnames: &[String]) -> Result<Vec<(String, Oid)>, StoreError> {
        self.ls_remote_within(WRITE_TIMEOUT, refnames)
    }

    fn ls_remote_within(
        &self,
        timeout: Duration,
        refnames: &[String],
    ) -> Result<Vec<(String, Oid)>, StoreError> {
        let mut args: Vec<&str> = vec![&self.spec];
        args.extend(refnames.iter().map(String::as_str));
        let out = self.git_within(timeout, &["ls-remote", "--refs"], &args)?;
        if !out.ok {
            return Err(self.failure("ls-remote", &out.text));
        }
        Ok(out
            .stdout
            .lines()
            .filter_map(|line| {
                let (oid, name) = line.split_once('\t')?;
                Some((name.to_string(), Oid::from_str(oid).ok()?))
            })
            .collect())
    }

    /// Pushes `new` to `refname` if the remote still holds `expected`
    /// (`None`: the ref must not exist yet).
    pub fn push(&self, refname: &str, new: Oid, expected: Option<Oid>) -> Result<Pushed, StoreError> {
        let lease = match expected {
            Some(oid) => format!("--force-with-lease={refname}:{oid}"),
            None => format!("--force-with-lease={refname}:"),
        };
        let refspec = format!("{new}:{refname}");
        let out = self.git(
            &["push", "--quiet", "--porcelain", "--atomic", "--no-verify", &lease],
            &[&self.spec, &refspec],
        )?;
        if out.ok {
            return Ok(Pushed::Done);
        }
        const RACES: [&str; 4] =
            ["stale info", "failed to update ref", "atomic push failed", "atomic transaction failed"];
        if RACES.iter().any(|r| out.text.contains(r)) {
            return Ok(Pushed::Lost);
        }
        Err(self.failure("push", &out.text))
    }

    /// Runs a fetch. Fetches update the local copies with a compare-and-swap
    /// of their own, so two processes of this clone fetching at once (or a
    /// fetch meeting a write's update of its copy) can make one of them fail
    /// with "cannot lock ref": the objects are in by then, and fetching again
    /// settles it. That is a local race, never the remote's failure.
    fn fetch(&self, timeout: Duration, args: &[&str]) -> Result<GitOutput, StoreError> {
        let mut attempt = 0;
        loop {
            let out = self.git_within(timeout, FETCH, args)?;
            let raced =
                !out.ok && (out.text.contains("cannot lock ref") || out.text.contains("Unable to create"));
            if !raced || attempt >= 8 {
                return Ok(out);
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(5 * attempt).mul_f64(0.5 + fastrand::f64()));
        }
    }

    /// Whether the local copies are older than `orchestrate.fetchInterval`.
    pub fn view_is_old(&self) -> bool {
        self.view_age().is_none_or(|age| age >= self.fetch_interval)
    }

    /// How long ago the local copies were last fetched in full, if ever.
    pub fn view_age(&self) -> Option<Duration> {
        let modified = std::fs::metadata(self.stamp()).and_then(|m| m.modified()).ok()?;
        Some(SystemTime::now().duration_since(modified).unwrap_or_default())
    }

    fn stamp(&self) -> PathBuf {
        self.git_dir.join("orchestrate").join("remote-fetched")
    }

    fn mark_fetched(&self) {
        let stamp = self.stamp();
        if let Some(dir) = stamp.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Truncating rewrites the mtime, which is all the stamp holds.
        let _ = std::fs::write(&stamp, self.spec.as_bytes());
    }

    /// The local copy of `refname`, read through libgit2: a process spawn
    /// per ref read would cost as much as the push itself.
    fn local(&self, refname: &str) -> Result<Option<Oid>, StoreError> {
        let repo = self.open_local()?;
        match repo.refname_to_id(refname) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(StoreError::git(format!("read {refname}"))(e)),
        }
    }

    fn local_refs(&self) -> Result<Vec<(String, Oid)>, StoreError> {
        let repo = self.open_local()?;
        let list = StoreError::git(format!("list {}*", refs::ROOT));
        let mut found = Vec::new();
        for r in repo.references_glob(&format!("{}*", refs::ROOT)).map_err(list)? {
            let r = r.map_err(StoreError::git(format!("list {}*", refs::ROOT)))?;
            if let (Ok(name), Some(oid)) = (r.name(), r.target()) {
                found.push((name.to_string(), oid));
            }
        }
        Ok(found)
    }

    /// A fresh handle on the local repository, so refs the git CLI just
    /// wrote are read from disk, not from a cache.
    fn open_local(&self) -> Result<git2::Repository, StoreError> {
        git2::Repository::open_bare(&self.git_dir).map_err(StoreError::git("open the local repository"))
    }

    /// The error for a git call the remote did not accept: what git said,
    /// without its boilerplate, and the way out that fits it.
    fn failure(&self, action: &str, text: &str) -> StoreError {
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "Done" && !l.starts_with("To "))
            // `--porcelain` reports a refused ref as `!<TAB>src:dst<TAB>[why] (reason)`.
            .map(|l| match l.strip_prefix('!') {
                Some(rest) => {
                    let mut parts = rest.trim().splitn(2, '\t');
                    let refspec = parts.next().unwrap_or("");
                    let dst = refspec.rsplit_once(':').map_or(refspec, |(_, dst)| dst);
                    format!("{dst}: {}", parts.next().unwrap_or("").trim())
                }
                None => l.to_string(),
            })
            .collect();
        // git's summary adds nothing when the reason is there.
        let said: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| lines.len() == 1 || !l.starts_with("error: failed to push some refs"))
            .collect();
        let message = if said.is_empty() { "no message".to_string() } else { said.join(" / ") };
        let way_out = if message.contains("hidden ref") {
            format!(
                "the remote hides refs/orchestrate/* (transfer.hideRefs or receive.hideRefs): allow them there, \
                 or set orchestrate.remote to a coordination remote that accepts them (not {})",
                self.spec
            )
        } else if message.contains("hook declined") || message.contains("[remote rejected]") {
            "the remote refused the push: ask its owner to accept refs/orchestrate/*, \
             or set orchestrate.remote to a dedicated coordination remote"
                .to_string()
        } else {
            format!("check that the remote is reachable with `git ls-remote {}`", self.spec)
        };
        StoreError::Remote { remote: self.spec.clone(), action: action.to_string(), message, way_out }
    }

    /// Runs the git CLI in the common git directory, bounded in time, with
    /// no terminal prompt and none of the caller's repository overrides.
    fn git(&self, command: &[&str], args: &[&str]) -> Result<GitOutput, StoreError> {
        self.git_within(WRITE_TIMEOUT, command, args)
    }

    fn git_within(
        &self,
        timeout: Duration,
        command: &[&str],
        args: &[&str],
    ) -> Result<GitOutput, StoreError> {
        let timeout = self.cap.get().map_or(timeout, |cap| cap.min(timeout));
        if let Some((at, _)) =
            self.timed_out.get().filter(|(at, waited)| at.elapsed() < GIVE_UP_FOR && timeout <= *waited)
        {
            return Err(StoreError::Remote {
                remote: self.spec.clone(),
                action: command.first().copied().unwrap_or("git").to_string(),
                message: format!(
                    "not tried: the remote did not answer {}s ago in this command",
                    at.elapsed().as_secs()
                ),
                way_out: format!("check that the remote is reachable with `git ls-remote {}`", self.spec),
            });
        }
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir")
            .arg(&self.git_dir)
            .args(["-c", "gc.auto=0", "-c", "maintenance.auto=false"])
            .args(command)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true")
            .env("SSH_ASKPASS", "true");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_COMMON_DIR",
            "GIT_PREFIX",
        ] {
            cmd.env_remove(var);
        }
        let what = || format!("git {} {}", command.first().copied().unwrap_or(""), self.spec);
        let mut child =
            cmd.spawn().map_err(|source| StoreError::Io { action: format!("run {}", what()), source })?;
        // Read both pipes on threads so a chatty git cannot fill one and stall.
        let stdout = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.timed_out.set(Some((Instant::now(), timeout)));
                    return Err(StoreError::Remote {
                        remote: self.spec.clone(),
                        action: command.first().copied().unwrap_or("git").to_string(),
                        message: format!("no answer within {}s", timeout.as_secs()),
                        way_out: format!(
                            "check that the remote is reachable with `git ls-remote {}`",
                            self.spec
                        ),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(source) => return Err(StoreError::Io { action: format!("wait for {}", what()), source }),
            }
        };
        let stdout = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        let text = format!("{stderr}\n{stdout}");
        Ok(GitOutput { ok: status.success(), stdout, text })
    }
}

struct GitOutput {
    ok: bool,
    stdout: String,
    /// stderr and stdout together, where git says why.
    text: String,
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A URL (`ssh://`, `file://`, `git://`, `https://`), an scp-like
/// `host:path`, or a local path: what git accepts in place of a remote name.
fn looks_like_url(spec: &str) -> bool {
    spec.contains("://")
        || spec.starts_with('/')
        || spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('~')
        || spec.split_once(':').is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::looks_like_url;

    #[test]
    fn urls_and_paths_are_told_from_remote_names() {
        for url in [
            "file:///srv/coord.git",
            "git://127.0.0.1/c.git",
            "git@host:team/c.git",
            "/srv/c.git",
            "../c.git",
        ] {
            assert!(looks_like_url(url), "{url}");
        }
        for name in ["origin", "coord", "my-remote"] {
            assert!(!looks_like_url(name), "{name}");
        }
    }
}
