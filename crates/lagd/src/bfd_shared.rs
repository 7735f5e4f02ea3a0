//! What an aggregation's adapter and its micro-BFD thread (`crate::bfd_thread`) share: the
//! sessions, the members' interfaces and a wake-up. Lock order: the adapter, then the core.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use lagd_bfd::MicroBfd;
use lagd_dataplane::{EventFd, Fault, ThreadHealth};
use lagd_types::PortNumber;

use crate::sync::lock;

/// What the adapter and the BFD thread share: the sessions, the members' interfaces, a wake-up.
pub(crate) struct BfdShared {
    /// The sessions (`None`: micro-BFD is off).
    pub core: Mutex<Option<MicroBfd>>,
    /// Port number -> interface index of the members that run a session.
    pub(crate) members: Mutex<BTreeMap<PortNumber, u32>>,
    /// Wakes the thread: a deadline moved, a member came or went.
    pub(crate) wake: Option<EventFd>,
    pub(crate) stop: AtomicBool,
    /// The thread runs (set before it is spawned, cleared when it returns).
    pub(crate) running: AtomicBool,
    /// When the thread last went round its loop (monotonic ns): its liveness, which the
    /// supervisor watches (`crate::supervise`).
    pub(crate) beat: AtomicU64,
    /// Test support: a [`Fault`] injected into the thread.
    pub(crate) fault: AtomicU8,
}

impl Default for BfdShared {
    fn default() -> Self {
        let wake = EventFd::new()
            .inspect_err(|e| tracing::warn!("micro-BFD wake-up eventfd: {e}; polling every 10 ms"))
            .ok();
        BfdShared {
            core: Mutex::new(None),
            members: Mutex::new(BTreeMap::new()),
            wake,
            stop: AtomicBool::new(false),
            running: AtomicBool::new(false),
            beat: AtomicU64::new(0),
            fault: AtomicU8::new(Fault::None as u8),
        }
    }
}

impl BfdShared {
    /// Wakes the thread (call after a change of the sessions or their timers).
    pub(crate) fn wake(&self) {
        if let Some(w) = &self.wake {
            w.notify();
        }
    }

    /// Member `port` is interface `ifindex` (its micro-BFD socket is opened there).
    pub(crate) fn set_member(&self, port: PortNumber, ifindex: u32) {
        lock(&self.members).insert(port, ifindex);
        self.wake();
    }

    /// Whether the thread is alive and when it last went round its loop (it does at least
    /// every second, idle or not).
    pub(crate) fn health(&self) -> ThreadHealth {
        ThreadHealth {
            running: self.running.load(Ordering::SeqCst) || self.stop.load(Ordering::SeqCst),
            last_beat_ns: self.beat.load(Ordering::Relaxed),
        }
    }

    /// Test support: makes the thread exit, stall (until [`Fault::None`]) or panic.
    pub(crate) fn inject_fault(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
        self.wake();
    }

    /// Member `port` is gone (its socket is closed).
    pub(crate) fn remove_member(&self, port: PortNumber) {
        lock(&self.members).remove(&port);
        self.wake();
    }
}
