//! This process and others: signals to other processes (the demo and the tests stop their
//! `lagd` with SIGTERM: one `kill(2)`, so nothing depends on a `kill` binary being installed),
//! and what this process may do (a capability in effect, no syscall filter).

use crate::error::{Error, Result};

/// A signal lagd's tools send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: stop and restore the members.
    Term,
    /// SIGINT: the same, from a terminal.
    Int,
    /// SIGHUP: reload the configuration.
    Hup,
    /// SIGKILL: a crash, as the kernel's OOM killer makes one.
    Kill,
    /// SIGUSR2: restart lagd keeping every aggregation (an upgrade).
    Usr2,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Int => libc::SIGINT,
            Signal::Hup => libc::SIGHUP,
            Signal::Kill => libc::SIGKILL,
            Signal::Usr2 => libc::SIGUSR2,
        }
    }
}

/// Sends `sig` to process `pid`.
pub fn send(pid: u32, sig: Signal) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| Error::Sys {
        op: "kill",
        source: std::io::Error::from_raw_os_error(libc::ESRCH),
    })?;
    // SAFETY: kill(2) takes no pointers; a wrong pid fails with ESRCH.
    let r = unsafe { libc::kill(pid, sig.number()) };
    if r < 0 {
        return Err(Error::last_os("kill"));
    }
    Ok(())
}

pub use lagd_types::capability::{CAP_CHOWN, CAP_SYS_ADMIN};

/// `CAP_SYS_NICE`, for [`capability_usable`].
pub const CAP_SYS_NICE: u32 = 23;

/// Runs the calling thread under the real-time policy `SCHED_FIFO` at `priority` (1-99):
/// it then preempts every normal (`SCHED_OTHER`) task. Needs `CAP_SYS_NICE` and no syscall
/// filter denying `sched_setscheduler(2)` (ask [`capability_usable`] first: under a unit's
/// `SystemCallFilter=~@resources` the call kills the process).
pub fn set_thread_realtime(priority: i32) -> Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a live sched_param the kernel only reads; pid 0 is the calling thread.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if r < 0 {
        return Err(Error::last_os("sched_setscheduler(SCHED_FIFO)"));
    }
    Ok(())
}

/// Whether this process may use the syscalls that capability `cap` guards: the capability is
/// effective (`CapEff` in `/proc/self/status`) and no seccomp filter runs
/// ([`lagd_types::capability::status_allows`]). Under a unit's `SystemCallFilter=~@privileged`
/// a `mount(2)` or `fchown(2)` kills the process with SIGSYS rather than failing, so lagd asks
/// before it tries. False when the status cannot be read.
pub fn capability_usable(cap: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| lagd_types::capability::status_allows(&s, cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        send(child.id(), Signal::Term).unwrap();
        let st = child.wait().unwrap();
        assert!(!st.success());
        assert!(send(u32::MAX, Signal::Term).is_err());
    }
}
