//! Test harness: a fresh repository per test, the real binary, and a git
//! configuration sandboxed from the developer's own.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-orchestrate");

/// One string field of every element of a JSON array: the ids of a task
/// list, the paths of `claims`, the subjects of an inbox.
pub fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {list}"))
        .iter()
        .map(|item| item[key].as_str().unwrap_or_else(|| panic!("no string {key} in {item}")).to_string())
        .collect()
}

pub struct Repo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    /// The time every command is told it is (`ORCHESTRATE_NOW`), once pinned.
    now: std::sync::Mutex<Option<String>>,
}

/// What a command did: exit code and both streams.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs a prepared command and keeps what it did.
    pub fn of(cmd: &mut Command) -> Run {
        Run::from(cmd.output().unwrap())
    }

    /// Runs a prepared command with `input` on its stdin.
    pub fn with_input(cmd: &mut Command, input: &[u8]) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl Repo {
    /// A new repository with one commit on `main`.
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            now: std::sync::Mutex::new(None),
        };
        std::fs::write(
            repo.home.path().join(".gitconfig"),
            "[user]\n\tname = Test Human\n\temail = human@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        repo.git(&["init", "-q"]);
        std::fs::write(repo.path().join("README"), "hello\n").unwrap();
        repo.git(&["add", "README"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// A command with the sandboxed environment, run in the repository.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        // Installed hooks call `git-orchestrate` by name: put ours first.
        let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
        let path = std::env::join_paths(
            std::iter::once(bin_dir)
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .unwrap();
        cmd.current_dir(self.path())
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.path().join(".gitconfig"))
            .env("NO_COLOR", "1");
        for var in ["ORCHESTRATE_SESSION", "ORCHESTRATE_NOW", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"] {
            cmd.env_remove(var);
        }
        if let Some(now) = self.now.lock().unwrap().as_deref() {
            cmd.env("ORCHESTRATE_NOW", now);
        }
        cmd
    }

    /// From now on every command (git's hooks too) runs at `time` (RFC
    /// 3339), so TTLs and staleness are tested by moving the clock, not by
    /// sleeping.
    pub fn pin_clock(&self, time: &str) {
        *self.now.lock().unwrap() = Some(time.to_string());
    }

    /// Runs `git orchestrate <args>`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(BIN).args(args).output().unwrap())
    }

    /// Runs `git orchestrate --session <who> <args>`.
    pub fn run_as(&self, who: &str, args: &[&str]) -> Run {
        let mut all = vec!["--session", who];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "git orchestrate {args:?} failed:\n{}{}", run.stdout, run.stderr);
        run.stdout
    }

    pub fn ok_as(&self, who: &str, args: &[&str]) -> String {
        let mut all = vec!["--session", who];
        all.extend_from_slice(args);
        self.ok(&all)
    }

    /// Runs with `--json`, asserts success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "git orchestrate {all:?} failed:\n{}{}", run.stdout, run.stderr);
        run.json()
    }

    pub fn json_as(&self, who: &str, args: &[&str]) -> Value {
        let mut all = vec!["--session", who];
        all.extend_from_slice(args);
        self.json(&all)
    }

    /// Adds a task and returns its id.
    pub fn add(&self, title: &str, extra: &[&str]) -> String {
        let mut args = vec!["task", "add", title];
        args.extend_from_slice(extra);
        self.json(&args)["id"].as_str().unwrap().to_string()
    }

    /// Runs git, asserts success, returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.command("git").args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Every coordination ref and where it points: compare before and after
    /// to prove a command changed nothing.
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/orchestrate/"])
    }

    /// Replaces the blob at `path` in the collection under `refname` with
    /// `content`, as a new commit, the way a buggy or hostile writer could.
    pub fn plant(&self, refname: &str, path: &str, content: &[u8]) {
        let blob_file = self.home.path().join("planted");
        std::fs::write(&blob_file, content).unwrap();
        let blob = self.git(&["hash-object", "-w", blob_file.to_str().unwrap()]);
        let index: PathBuf = self.home.path().join("plant-index");
        let git_env = |args: &[&str]| {
            let out = self.command("git").env("GIT_INDEX_FILE", &index).args(args).output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let _ = std::fs::remove_file(&index);
        let parent = self.command("git").args(["rev-parse", "--verify", "-q", refname]).output().unwrap();
        let parent = String::from_utf8_lossy(&parent.stdout).trim().to_string();
        if !parent.is_empty() {
            git_env(&["read-tree", &parent]);
        }
        git_env(&["update-index", "--add", "--cacheinfo", &format!("100644,{blob},{path}")]);
        let tree = git_env(&["write-tree"]);
        let mut args = vec!["commit-tree", tree.as_str(), "-m", "planted"];
        if !parent.is_empty() {
            args.extend(["-p", parent.as_str()]);
        }
        let commit = git_env(&args);
        self.git(&["update-ref", refname, &commit]);
    }
}

impl Drop for Repo {
    /// Stops any agent a test left running and removes the session
    /// worktrees made beside the repository.
    fn drop(&mut self) {
        if self.path().join(".git/orchestrate/agents").exists() {
            let _ = self.command(BIN).args(["stop", "--all", "--grace", "1s"]).output();
        }
        let worktrees = PathBuf::from(format!("{}.worktrees", self.path().display()));
        let _ = std::fs::remove_dir_all(worktrees);
    }
}

/// Makes sure `program` is on this machine for a test that needs it,
/// installing Debian's `packages` with apt-get when it is missing and this
/// user may (root, as on CI and the project's machines), the way
/// tests/mcp.rs installs its Python client: `cargo test` alone sets up what
/// it needs. Test binaries run at once, so the install runs under a file
/// lock. A test never passes by skipping: when the program cannot be had,
/// this panics with the way out.
pub fn ensure_program(program: &str, packages: &[&str]) {
    let found = |p: &str| {
        Command::new("sh").args(["-c", &format!("command -v {p}")]).output().is_ok_and(|o| o.status.success())
    };
    if found(program) {
        return;
    }
    let install = format!(
        "command -v {program} >/dev/null || {{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {}; }}",
        packages.join(" ")
    );
    let root =
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root && found("apt-get") {
        let lock = std::env::temp_dir().join("git-orchestrate-tests-apt.lock");
        let out = Command::new("flock").arg(&lock).args(["sh", "-c", &install]).output();
        if let Ok(out) = &out {
            if !out.status.success() {
                eprintln!("apt-get install {}: {}", packages.join(" "), String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    assert!(
        found(program),
        "this test needs {program}: install it with `apt-get install {}` (as root; Debian), then run the tests again",
        packages.join(" ")
    );
}

/// Installs the npm `package` at `version` under `target/<folder>-<version>`
/// once, for a test that drives a real agent CLI, and returns the path of
/// `entry` inside it (relative to the install's folder). Installed aside
/// and moved into place, so an interrupted install is never taken for a
/// finished one. Without npm or the registry it fails saying so (a test
/// never passes by skipping).
pub fn npm_installed(folder: &str, package: &str, version: &str, entry: &str) -> PathBuf {
    let target = Path::new(BIN).parent().and_then(Path::parent).expect("binary in target/<profile>/");
    let install = target.join(format!("{folder}-{version}"));
    if install.join(entry).is_file() {
        return install.join(entry);
    }
    let building = target.join(format!("{folder}-{version}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).unwrap();
    let spec = format!("{package}@{version}");
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save", "--prefix"])
        .arg(&building)
        .arg(&spec)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs npm (and node 20 or later) to install {spec} from the npm registry: {e}")
        });
    assert!(
        out.status.success(),
        "installing {spec} with npm for this test failed:\n{}{}It needs npm and access to the npm registry.",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::fs::rename(&building, &install).is_err() {
        // Another test run finished first; use its copy.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(install.join(entry).is_file(), "{spec} was installed but has no {entry}");
    install.join(entry)
}
