//! Micro-BFD's own thread (one per aggregation): it reads the members' micro-BFD sockets,
//! runs the sessions' timers and sends their packets, apart from the forwarder and the timer
//! thread, so that BFD's 50 ms rhythm neither waits behind data frames nor for the threads
//! that carry them.
//!
//! # No false detection when lagd is not scheduled
//! On a loaded host lagd may not run for longer than a Detection Time (150 ms at 50 ms x 3):
//! the peer's packets then wait in the socket. Each pass therefore samples `now`, drains every
//! micro-BFD socket (each frame with the time the kernel received it, `SO_TIMESTAMPNS`), and
//! hands both to [`MicroBfd::handle_received`], which feeds the frames at their arrival times
//! before it runs the timers: a packet that arrived before the deadline keeps its session Up
//! however late it is read. (Before, the timer thread expired sessions while the forwarder's
//! RX thread had not yet read their packets: 36 false detections in a 10-minute loaded soak.)
//!
//! # Priority
//! The thread asks for the real-time policy `SCHED_FIFO` (priority [`RT_PRIORITY`]) so that
//! its packets leave on time on a busy host (a sender that is not scheduled for a Detection
//! Time is a failure as the peer sees it). That needs `CAP_SYS_NICE` and a syscall filter
//! that allows `sched_setscheduler(2)`; the shipped unit grants neither (it keeps
//! `RestrictRealtime=yes`), so there the thread runs at the process's priority and says so
//! in the log (docs/OPERATIONS.md says how to grant it).
//!
//! # Liveness
//! The thread runs only while its aggregation has micro-BFD on ([`BfdThread::update`]). It
//! beats on every pass, at least every second; the supervisor (`crate::supervise`) withholds
//! systemd's `WATCHDOG=1` while it has not beaten for the stall limit, as for a hung timer or
//! forwarding thread, and stops lagd if it has ended.
//!
//! The core is shared with the adapter (`Adapter::bfd`): lock order adapter, then core. This
//! thread takes the core alone for its pass and the adapter only afterwards, when the core has
//! events (session changes gate the member in the LACP core).

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use lagd_bfd::{MicroBfd, Transmit};
use lagd_dataplane::{
    BfdSocket, Epoll, Events, Fault, Interest, ThreadHealth, TxWaker, beat_and_check, monotonic_now,
};
use lagd_types::{Instant, PortNumber};

use crate::adapter::Adapter;
use crate::aggregate::error::AggrError;
use crate::aggregate::error::sys;
use crate::bfd_shared::BfdShared;
use crate::sync::lock;

/// The `SCHED_FIFO` priority of the BFD threads (1-99; any real-time priority preempts
/// every normal task; 10 leaves room below for others).
pub(crate) const RT_PRIORITY: i32 = 10;
/// The longest the thread sleeps with nothing due (it re-reads its members and beats then:
/// well within `crate::supervise::MIN_STALL`).
const IDLE: StdDuration = StdDuration::from_secs(1);
/// At most this many frames are read from one socket per pass (a flood must not starve the
/// others; what is left is read on the next pass, at once).
const MAX_READ: usize = 256;
const TOKEN_WAKE: u64 = 0;

/// An aggregation's micro-BFD thread: running while micro-BFD is on (the adapter has
/// sessions), absent while it is off ([`BfdThread::update`]); dropping it stops and joins it.
pub(crate) struct BfdThread {
    name: String,
    adapter: Arc<Mutex<Adapter>>,
    tx_waker: TxWaker,
    shared: Arc<BfdShared>,
    handle: Option<JoinHandle<()>>,
}

/// Marks the thread ended however it returns.
struct Running<'a>(&'a BfdShared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
    }
}

impl BfdThread {
    /// The micro-BFD thread of aggregation `name`, not started: [`BfdThread::update`] starts
    /// it when micro-BFD is on.
    pub(crate) fn new(name: &str, adapter: Arc<Mutex<Adapter>>, tx_waker: TxWaker) -> BfdThread {
        let shared = lock(&adapter).bfd.clone();
        BfdThread {
            name: name.to_string(),
            adapter,
            tx_waker,
            shared,
            handle: None,
        }
    }

    /// Starts the thread if micro-BFD is on and it does not run, stops it if micro-BFD is off
    /// (call after every change of the adapter's micro-BFD setting, never with the adapter
    /// locked: the thread may wait for it while it is stopped).
    pub(crate) fn update(&mut self) -> Result<(), AggrError> {
        let on = lock(&self.shared.core).is_some();
        match (on, self.handle.is_some()) {
            (true, false) => {
                let s = self.shared.clone();
                let adapter = self.adapter.clone();
                let tx_waker = self.tx_waker.clone();
                let span = tracing::info_span!("bfd", aggregate = %self.name);
                s.stop.store(false, Ordering::SeqCst);
                s.fault.store(Fault::None as u8, Ordering::SeqCst);
                s.beat.store(monotonic_now().as_nanos(), Ordering::Relaxed);
                s.running.store(true, Ordering::SeqCst);
                let spawned =
                    std::thread::Builder::new()
                        .name("lagd-bfd".into())
                        .spawn(move || {
                            let _running = Running(&s);
                            span.in_scope(|| run(&s, &adapter, &tx_waker));
                        });
                match spawned {
                    Ok(h) => self.handle = Some(h),
                    Err(source) => {
                        self.shared.running.store(false, Ordering::SeqCst);
                        let what = format!("spawning the micro-BFD thread of `{}`", self.name);
                        let op = "spawn";
                        return Err(sys(what)(lagd_dataplane::Error::Sys { op, source }));
                    }
                }
            }
            (false, true) => self.stop(),
            _ => {}
        }
        Ok(())
    }

    /// Whether the thread is alive and when it last went round its loop; `None` while it does
    /// not run (micro-BFD off).
    pub(crate) fn health(&self) -> Option<ThreadHealth> {
        self.handle.as_ref().map(|_| self.shared.health())
    }

    /// Test support: injects `fault` into the thread; false when it does not run.
    pub(crate) fn inject_fault(&self, fault: Fault) -> bool {
        if self.handle.is_none() {
            return false;
        }
        self.shared.inject_fault(fault);
        true
    }

    /// Stops the thread (it sends nothing more; its sockets close). Idempotent.
    pub(crate) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // A stalled thread (test fault) resumes and sees `stop`.
        self.shared.fault.store(Fault::None as u8, Ordering::SeqCst);
        self.shared.wake();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for BfdThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raises the calling thread to `SCHED_FIFO` where this process may; says what it got.
fn raise_priority() {
    use lagd_dataplane::process;
    if !process::capability_usable(process::CAP_SYS_NICE) {
        tracing::info!(
            "micro-BFD runs at normal priority: CAP_SYS_NICE is not usable here (not granted, or a syscall filter runs); on a busy host its packets can then be late (docs/OPERATIONS.md)"
        );
        return;
    }
    match process::set_thread_realtime(RT_PRIORITY) {
        Ok(()) => tracing::info!("micro-BFD thread runs at SCHED_FIFO priority {RT_PRIORITY}"),
        Err(e) => tracing::info!("micro-BFD runs at normal priority: {e}"),
    }
}

struct Sock {
    ifindex: u32,
    sock: BfdSocket,
}

/// Opens the sockets of new members, closes those of members gone.
fn reconcile(shared: &BfdShared, socks: &mut BTreeMap<PortNumber, Sock>, epoll: &Epoll) {
    let want = lock(&shared.members).clone();
    socks.retain(|port, s| {
        let keep = want.get(port) == Some(&s.ifindex);
        if !keep {
            let _ = epoll.delete(s.sock.as_fd());
        }
        keep
    });
    for (port, ifindex) in want {
        if socks.contains_key(&port) {
            continue;
        }
        match BfdSocket::open(ifindex) {
            Ok(sock) => {
                if let Err(e) = epoll.add(sock.as_fd(), u64::from(port) + 1, Interest::Read) {
                    tracing::warn!(port, "micro-BFD socket: epoll: {e}");
                    continue;
                }
                socks.insert(port, Sock { ifindex, sock });
            }
            Err(e) => tracing::warn!(port, "micro-BFD socket: {e}"),
        }
    }
}

fn run(shared: &BfdShared, adapter: &Mutex<Adapter>, tx_waker: &TxWaker) {
    let epoll = match Epoll::new() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("micro-BFD thread: epoll: {e}; micro-BFD does not run");
            return;
        }
    };
    if let Some(w) = &shared.wake
        && let Err(e) = epoll.add(w.as_fd(), TOKEN_WAKE, Interest::Read)
    {
        tracing::warn!("micro-BFD thread: epoll: {e}");
    }
    let idle = if shared.wake.is_some() {
        IDLE
    } else {
        StdDuration::from_millis(10)
    };
    raise_priority();
    let mut events = Events::with_capacity(16);
    let mut socks: BTreeMap<PortNumber, Sock> = BTreeMap::new();
    let mut frames: Vec<(PortNumber, Instant, Vec<u8>)> = Vec::new();
    let mut out: Vec<(PortNumber, Vec<u8>)> = Vec::new();
    let mut buf = [0u8; 256];
    let mut txbuf = [0u8; Transmit::MAX_LEN];
    loop {
        if !beat_and_check(&shared.beat, &shared.fault, "micro-BFD")
            || shared.stop.load(Ordering::SeqCst)
        {
            return;
        }
        reconcile(shared, &mut socks, &epoll);
        let deadline = lock(&shared.core).as_ref().and_then(MicroBfd::poll_timeout);
        let wait = deadline.map_or(idle, |d| {
            StdDuration::from(d.saturating_since(monotonic_now())).min(idle)
        });
        if let Err(e) = epoll.wait(&mut events, Some(wait)) {
            tracing::warn!("micro-BFD thread: epoll: {e}");
            std::thread::sleep(StdDuration::from_millis(10));
        }
        if let Some(w) = &shared.wake {
            w.drain();
        }
        // Everything that arrived before `now` is read before the timers run at `now`.
        let now = monotonic_now();
        frames.clear();
        for (port, s) in &socks {
            for _ in 0..MAX_READ {
                match s.sock.recv(&mut buf) {
                    Ok((n, at)) => frames.push((*port, at, buf[..n].to_vec())),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::debug!(port, "micro-BFD receive: {e}");
                        break;
                    }
                }
            }
        }
        let events_due = {
            let mut core = lock(&shared.core);
            let Some(b) = core.as_mut() else { continue };
            b.handle_received(now, frames.iter().map(|(p, at, f)| (*p, *at, &f[..])));
            while let Ok(Some((port, n))) = b.poll_transmit_into(now, &mut txbuf) {
                out.push((port, txbuf[..n].to_vec()));
            }
            b.has_events()
        };
        for (port, f) in out.drain(..) {
            if let Some(s) = socks.get(&port)
                && let Err(e) = s.sock.send(&f)
            {
                tracing::debug!(port, "micro-BFD send: {e}");
            }
        }
        if events_due {
            // Session changes gate the members in the LACP core; its frames leave by the
            // forwarder.
            lock(adapter).drain_events();
            tx_waker.wake();
        }
    }
}
