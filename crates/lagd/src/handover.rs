//! A planned restart that keeps every aggregation (an upgrade): SIGUSR2 (or
//! `lagctl restart-daemon`) makes lagd hand its aggregations over to a new image of itself,
//! started with `execve` in the same process — the same pid, so systemd and any supervisor
//! see a running service throughout; the binary on disk is read again, so an upgraded lagd
//! takes over.
//!
//! 1. Every forwarder stops at a batch boundary, once no frame is held for a marker-protected
//!    move (bounded wait). The kernel fast path stays attached: it is pinned
//!    (`crate::offload::Offload::keep_pinned`), forwards through the restart, and the new
//!    image adopts it. Unpinned (no bpffs), it is detached first and its frames take the
//!    user-space path, which queues them.
//! 2. The protocol state is saved (`crate::state`); members stay taken over (their records
//!    stay); the TAPs and the member sockets are kept open across `execve` and their
//!    descriptor numbers recorded (`handover.json`).
//! 3. `execve`. Meanwhile the kernel queues what arrives: frames from the host in the TAP's
//!    queue, frames from the partner in the member sockets' buffers; nothing is dropped (at
//!    2 000 pps a 100 ms restart queues 200 frames, within both queues).
//! 4. The new image claims the descriptors, adopts the members from their records, resumes
//!    the protocol state (the partner sees the same LACPDUs), and reads what was queued.
//!
//! SIGTERM keeps its meaning: stop and give every member back.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::state::HandoverAggregate;

/// How long a restart waits for marker-protected moves to finish before it goes anyway (a
/// frame still held then is lost; moves last a round trip).
pub(crate) const QUIESCE_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// How to start this program again: its path and arguments as at start-up (after an upgrade
/// `/proc/self/exe` names the old, deleted file; the path names the new one).
#[derive(Debug, Clone)]
pub(crate) struct Relaunch {
    exe: PathBuf,
    args: Vec<OsString>,
}

impl Relaunch {
    /// The running program and its arguments (call first thing in `main`).
    pub(crate) fn capture() -> Relaunch {
        let mut args = std::env::args_os();
        let argv0 = args.next().unwrap_or_default();
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from(argv0));
        Relaunch {
            exe,
            args: args.collect(),
        }
    }

    /// The program's path.
    pub(crate) fn exe(&self) -> &std::path::Path {
        &self.exe
    }

    /// Replaces this process with a new image of the program (`execve`; only returns on
    /// failure). Descriptors without close-on-exec stay open.
    pub(crate) fn exec(&self) -> std::io::Error {
        std::process::Command::new(&self.exe)
            .args(&self.args)
            .exec()
    }
}

/// Keeps the aggregation's TAP and member sockets open across `execve` and says which they
/// are. Call with the forwarder stopped.
pub(crate) fn keep_open(
    name: &str,
    tap: &lagd_dataplane::Tap,
    sockets: &[(u32, std::sync::Arc<lagd_dataplane::PacketSocket>)],
) -> lagd_dataplane::Result<HandoverAggregate> {
    lagd_dataplane::durable::set_cloexec(tap.as_fd(), false)?;
    let mut members = Vec::new();
    for (ifindex, s) in sockets {
        lagd_dataplane::durable::set_cloexec(s.as_fd(), false)?;
        members.push((*ifindex, s.as_fd().as_raw_fd()));
    }
    Ok(HandoverAggregate {
        name: name.to_string(),
        tap_fd: tap.as_fd().as_raw_fd(),
        members,
    })
}
