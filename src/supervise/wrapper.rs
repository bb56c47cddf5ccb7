//! The wrapper every agent run is started through
//! (`git-orchestrate run-agent <exit-file> -- <command>...`): a small
//! process between the supervisor and the agent whose only job is that the
//! run's outcome does not depend on the supervisor living.
//!
//! It starts the command, becomes the reaper of whatever the command leaves
//! orphaned (so a grandchild that left with `setsid` is still found, see
//! [`crate::os::process::tree`]), and when the command ends it writes its exit
//! status to the agent's folder (atomically) before anything else. Then it
//! ends what the command left running and exits the way the command did.
//! SIGTERM, SIGINT and SIGHUP sent to the run's group reach the agent but
//! do not end the wrapper before it has written the status.
//!
//! If the supervisor dies while the agent runs, the wrapper starts a new
//! one (`supervise --adopt`) at once, so heartbeats go on and claims do not
//! go stale waiting for someone to look.

use super::Exit;
use crate::os::process::{self, Proc};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long processes the agent left behind get between SIGTERM and SIGKILL.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(5);
/// The termination signals the wrapper outlives.
const OUTLIVED: [i32; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];
/// How often the wrapper looks whether its supervisor still lives.
const PARENT_POLL: Duration = Duration::from_millis(100);

/// Runs `command` to its end, records how it ended in `exit_file`, and
/// returns the code to exit with (having re-raised a fatal signal on itself
/// if the command died of one). `supervisor` is the pid of the supervisor
/// that started it (our parent), watched over while the command runs.
pub fn run(exit_file: &Path, supervisor: Option<u32>, command: &[String]) -> i32 {
    process::become_subreaper();
    let Some((program, args)) = command.split_first() else {
        eprintln!("--- run-agent: no command to run");
        return 2;
    };
    outlive_termination_signals();
    let child = match Command::new(program).args(args).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("--- cannot start {program}: {e}");
            let exit = Exit { code: Some(127), signal: None };
            let _ = super::write_exit(exit_file, &exit);
            return 127;
        }
    };
    let adoption = Arc::new(Mutex::new(Adoption::Allowed));
    if let (Some(dir), Some(supervisor)) = (exit_file.parent(), supervisor) {
        watch_supervisor(dir.to_path_buf(), supervisor, adoption.clone());
    }
    let exit = reap_until(child.id());
    if let Err(e) = super::write_exit(exit_file, &exit) {
        eprintln!("--- run-agent: cannot record the exit status in {}: {e}", exit_file.display());
    }
    // From here on a supervisor that dies is left to whoever looks next;
    // one already started is not part of the run, and is spared.
    let adopter = match adoption.lock().map(|mut a| std::mem::replace(&mut *a, Adoption::Over)) {
        Ok(Adoption::Started(pid)) => Some(pid),
        _ => None,
    };
    end_leftovers(adopter);
    match exit.signal {
        Some(sig) => die_of(sig),
        None => exit.code.unwrap_or(1),
    }
}

/// Reaps children (the agent, and orphans handed to us as subreaper) until
/// `agent` has ended; returns how it ended.
fn reap_until(agent: u32) -> Exit {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only the status we own.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == agent as i32 {
            return exit_of(status);
        }
        if pid == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // No children left to wait for: the agent's status was lost.
            return Exit { code: None, signal: None };
        }
    }
}

fn exit_of(status: i32) -> Exit {
    if libc::WIFEXITED(status) {
        Exit { code: Some(libc::WEXITSTATUS(status)), signal: None }
    } else if libc::WIFSIGNALED(status) {
        Exit { code: None, signal: Some(libc::WTERMSIG(status)) }
    } else {
        Exit { code: None, signal: None }
    }
}

/// Whether the wrapper may still start a supervisor for its agent.
enum Adoption {
    Allowed,
    Started(u32),
    Over,
}

/// Watches the supervisor (our parent) from a thread: when it dies, we are
/// reparented, and a new supervisor is started to adopt the agent. It takes
/// the agent's lock itself, so it stands down if someone else adopted first.
/// (The supervisor's pid comes from it, not from `getppid` at our start: it
/// may have died before we got that far.)
fn watch_supervisor(dir: PathBuf, supervisor: u32, adoption: Arc<Mutex<Adoption>>) {
    std::thread::spawn(move || loop {
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } == supervisor as libc::pid_t {
            std::thread::sleep(PARENT_POLL);
            continue;
        }
        let Ok(mut adoption) = adoption.lock() else { return };
        if matches!(*adoption, Adoption::Allowed) {
            eprintln!("--- run-agent: the supervisor (pid {supervisor}) is gone; starting a new one");
            match start_adopter(&dir) {
                Ok(pid) => *adoption = Adoption::Started(pid),
                Err(e) => eprintln!("--- run-agent: cannot start a new supervisor: {e}"),
            }
        }
        return;
    });
}

/// Starts `git-orchestrate supervise --adopt <dir>` in a session of its own.
fn start_adopter(dir: &Path) -> std::io::Result<u32> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("supervise").arg("--adopt").arg(dir).current_dir(dir).stdin(Stdio::null());
    process::detach(&mut cmd);
    cmd.spawn().map(|child| child.id())
}

/// Ends what the agent left running (background children, daemons it
/// started), so nothing of a run outlives it unseen; `adopter`, a
/// supervisor we started, is not the agent's.
fn end_leftovers(adopter: Option<u32>) {
    let me = Proc::me();
    let end = process::terminate_tree_sparing(me, LEFTOVER_GRACE, adopter);
    if end.killed || !end.survivors.is_empty() {
        eprintln!("--- ended what the agent left running");
    }
    if !end.survivors.is_empty() {
        eprintln!("--- could not stop pids {:?}", end.survivors);
    }
    // Reap what was ended, now that nothing is left to wait for.
    // SAFETY: waitpid with WNOHANG and a status we own.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

extern "C" fn note_signal(_: libc::c_int) {}

/// Catches the termination signals with a handler that does nothing: a
/// caught signal (unlike an ignored one) is reset to its default in the
/// command at exec, so the agent still dies of them.
fn outlive_termination_signals() {
    for sig in OUTLIVED {
        // SAFETY: installs a handler that touches nothing.
        unsafe { libc::signal(sig, note_signal as *const () as libc::sighandler_t) };
    }
}

/// Exits the way the agent did: of the same signal.
fn die_of(sig: i32) -> i32 {
    // SAFETY: restores the default action and raises the signal on ourselves.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    128 + sig
}
