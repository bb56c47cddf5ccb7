//! Unix process plumbing for the supervisor: starting a process in a
//! session of its own, telling a live process from a recycled pid, and
//! finding and ending everything a run started.
//!
//! A run's processes are found three ways, so that none escapes: its
//! session and its process group (what `sh` and most tools stay in), and
//! every descendant by parent id (which, with the run's wrapper made a
//! child subreaper, also holds grandchildren that left with `setsid` and
//! were orphaned). Control groups would be tighter still, but they are
//! seldom delegated to an unprivileged user, so they are not relied on.

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

struct Stat {
    start: u64,
    ppid: u32,
    pgrp: u32,
    session: u32,
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
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Every process on the system with its stat (Linux), for one consistent
/// look at the process table.
fn all_processes() -> Vec<(u32, Stat)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .collect()
}

/// The live processes of the run `leader` started (the leader itself
/// included while it lives): those in its session or process group, and
/// every descendant of any of them by parent id. Zombies are left out:
/// they only wait to be reaped. Empty if the leader's pid now belongs to
/// another process (its session and group died with it then).
pub fn tree(leader: Proc) -> Vec<Proc> {
    tree_sparing(leader, None)
}

/// [`tree`], leaving out `spared` and its descendants (a supervisor the
/// run's wrapper started, which is its child but not part of the run).
fn tree_sparing(leader: Proc, spared: Option<u32>) -> Vec<Proc> {
    if !cfg!(target_os = "linux") {
        return match group_alive(leader) {
            true => vec![leader],
            false => Vec::new(),
        };
    }
    let table = all_processes();
    let recycled =
        table.iter().any(|(pid, s)| *pid == leader.pid && leader.start.is_some_and(|t| t != s.start));
    if recycled {
        return Vec::new();
    }
    let mut members: Vec<u32> = table
        .iter()
        .filter(|(pid, s)| *pid == leader.pid || s.session == leader.pid || s.pgrp == leader.pid)
        .filter(|(pid, _)| Some(*pid) != spared)
        .map(|(pid, _)| *pid)
        .collect();
    // Descendants: add children of members until nothing new turns up.
    let mut i = 0;
    while i < members.len() {
        let parent = members[i];
        for (pid, s) in &table {
            if s.ppid == parent && !members.contains(pid) && Some(*pid) != spared {
                members.push(*pid);
            }
        }
        i += 1;
    }
    let me = std::process::id();
    table
        .iter()
        .filter(|(pid, s)| members.contains(pid) && !s.zombie && *pid != me)
        .map(|(pid, s)| Proc { pid: *pid, start: Some(s.start) })
        .collect()
}

/// Whether anything of the run `leader` started still lives.
pub fn tree_alive(leader: Proc) -> bool {
    !tree(leader).is_empty()
}

/// How ending a run went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeEnd {
    /// SIGKILL was needed for something that outlived SIGTERM and the grace.
    pub killed: bool,
    /// Processes still alive after SIGKILL (uninterruptible, or not ours to
    /// signal): they could not be stopped.
    pub survivors: Vec<u32>,
}

/// SIGTERM to everything the run `leader` started (see [`tree`]), then
/// SIGKILL to whatever of it is left after `grace`. A process seen once is
/// followed by its pid and start time even after it leaves the tree (its
/// parent died and it was reparented to init), so it cannot slip away
/// between two looks.
pub fn terminate_tree(leader: Proc, grace: Duration) -> TreeEnd {
    terminate_tree_sparing(leader, grace, None)
}

/// [`terminate_tree`], leaving `spared` and its descendants alone.
pub fn terminate_tree_sparing(leader: Proc, grace: Duration, spared: Option<u32>) -> TreeEnd {
    let mut known = tree_sparing(leader, spared);
    if known.is_empty() {
        return TreeEnd::default();
    }
    let look = |known: &mut Vec<Proc>| -> Vec<Proc> {
        for p in tree_sparing(leader, spared) {
            if !known.contains(&p) {
                known.push(p);
            }
        }
        known.iter().copied().filter(Proc::is_alive).collect()
    };
    let send = |procs: &[Proc], sig: i32| {
        signal_group(leader.pid, sig);
        for p in procs {
            signal(p.pid as i32, sig);
        }
    };
    send(&known, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    loop {
        let alive = look(&mut known);
        if alive.is_empty() {
            return TreeEnd::default();
        }
        if Instant::now() >= deadline {
            break;
        }
        // Children started after the first signal get theirs too.
        send(&alive, libc::SIGTERM);
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGKILL is not delivered to a process in uninterruptible sleep until
    // it wakes: give the kernel a moment before calling anything a survivor.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let alive = look(&mut known);
        if alive.is_empty() || Instant::now() >= deadline {
            return TreeEnd { killed: true, survivors: alive.iter().map(|p| p.pid).collect() };
        }
        send(&alive, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Makes this process the reaper of its orphaned descendants (Linux), so
/// that a grandchild whose parent exits stays a descendant of ours instead
/// of becoming init's, and can be found and ended with the run.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on us.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
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
