//! Unix process plumbing for the supervisor: starting a process in a
//! session of its own, telling a live process from a recycled pid, and
//! signalling a whole process group.

use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// A process as it was when it started: its pid and, where the system
/// tells, its start time, so a recycled pid is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proc {
    pub pid: u32,
    #[serde(default)]
    pub start: Option<u64>,
}

impl Proc {
    /// The process `pid` as it is now.
    pub fn of(pid: u32) -> Proc {
        Proc { pid, start: stat(pid).map(|s| s.start) }
    }

    pub fn me() -> Proc {
        Proc::of(std::process::id())
    }

    /// Whether this very process still runs: not gone, not a zombie, and
    /// not another process that was given the same pid.
    pub fn is_alive(&self) -> bool {
        match stat(self.pid) {
            Some(now) => !now.zombie && self.start.is_none_or(|s| s == now.start),
            None if cfg!(target_os = "linux") => false,
            None => signal(self.pid as i32, 0),
        }
    }
}

/// Makes `cmd` start in a new session, hence in a process group of its own
/// with no controlling terminal: it outlives the caller's terminal, tool
/// call or shell, and the whole group can be signalled at once.
pub fn detach(cmd: &mut Command) {
    // SAFETY: setsid is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| match libc::setsid() {
            -1 => Err(std::io::Error::last_os_error()),
            _ => Ok(()),
        });
    }
}

/// Sends `sig` to every process of group `pgid`; false if there is none.
pub fn signal_group(pgid: u32, sig: i32) -> bool {
    signal(-(pgid as i32), sig)
}

fn signal(target: i32, sig: i32) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    let rc = unsafe { libc::kill(target, sig) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether the process group that `leader` started still has a live
/// member. The group outlives its leader while children it started run,
/// and its id is not given to a new process while it has members; so if
/// a process with the leader's pid exists but is not the leader, the
/// group is gone and the id is someone else's. Zombies, which only wait
/// to be reaped, do not count where the system tells them apart.
pub fn group_alive(leader: Proc) -> bool {
    if !signal_group(leader.pid, 0) {
        return false;
    }
    match stat(leader.pid) {
        Some(now) if leader.start.is_some_and(|s| s != now.start) => return false,
        Some(now) if !now.zombie => return true,
        None if !cfg!(target_os = "linux") => return true,
        _ => {}
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return true };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .any(|s| s.pgrp == leader.pid && !s.zombie)
}

/// SIGTERM to the group `leader` started, then SIGKILL if anything of it
/// is left after `grace`. Does nothing if the group is gone (or its id
/// now belongs to someone else). Returns whether SIGKILL was needed.
pub fn terminate_group(leader: Proc, grace: Duration) -> bool {
    if !group_alive(leader) {
        return false;
    }
    signal_group(leader.pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !group_alive(leader) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !group_alive(leader) {
        return false;
    }
    signal_group(leader.pid, libc::SIGKILL);
    true
}

struct Stat {
    start: u64,
    pgrp: u32,
    zombie: bool,
}

/// Reads /proc/<pid>/stat (Linux). The command name is in parentheses and
/// may itself hold spaces and parentheses, so fields are counted from the
/// last ')'.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    // fields[0] is field 3 of proc(5): state; pgrp is field 5, starttime 22.
    Some(Stat {
        zombie: matches!(*fields.first()?, "Z" | "X" | "x"),
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_pid_is_not_the_process_that_had_it() {
        let me = Proc::me();
        assert!(me.is_alive());
        if cfg!(target_os = "linux") {
            let impostor = Proc { pid: me.pid, start: me.start.map(|s| s + 1) };
            assert!(!impostor.is_alive());
            // Nor is its group: the id belongs to someone else now.
            assert!(!group_alive(impostor));
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_reaped_child_is_gone_and_a_zombie_is_not_alive() {
        let mut child = Command::new("true").spawn().unwrap();
        let proc = Proc::of(child.id());
        // Exited but not yet reaped: a zombie, which does not count.
        while stat(proc.pid).is_some_and(|s| !s.zombie) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!proc.is_alive());
        child.wait().unwrap();
        assert!(!proc.is_alive());
    }
}
