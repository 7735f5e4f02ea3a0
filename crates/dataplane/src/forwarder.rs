//! The forwarding engine of one aggregation: two plain threads around epoll.
//!
//! - **TX** (host → wire): reads frames from the TAP in batches of up to [`MAX_BATCH`] into a
//!   preallocated pool of [`POOL_SLOTS`] slots, asks the [`Protocol`] where each goes
//!   ([`TxDecision`]), then sends per member with `sendmmsg`. It is the only writer to member
//!   sockets, so a Marker PDU queued after data on a port is never overtaken by that data: per
//!   port it sends the frames released from hold first, then this batch's data, then the control
//!   frames (LACPDUs, Marker PDUs and responses) the protocol side queued. It also drives the
//!   TAP carrier from [`Protocol::carrier`]. The control side wakes it with [`Forwarder::wake`].
//!   A Marker Information PDU is sent asking for a software transmit timestamp, so that
//!   [`Protocol::marker_departed`] learns when it left the member's queue (`departure`).
//! - **RX** (wire → host): epoll over the member sockets, `recvmmsg` batches. Slow-protocols
//!   frames (EtherType 0x8809) and micro-BFD frames (UDP port 6784, RFC 7130) go to
//!   [`Protocol::handle_control_frame`], never to the TAP; other
//!   frames are written to the TAP only if the member is Collecting (§6.4.15), else dropped and
//!   counted.
//!
//! The protocol object is locked once per batch, not per frame (plus once per received control
//! frame). Frames keep their virtio-net header unchanged in both directions: GSO super-frames
//! pass end to end and userspace never segments. No allocation per data frame.

use crate::epoll::{Epoll, EventFd, Events, Interest};
use crate::error::{Error, Result};
use crate::packet::{MAX_BATCH, MAX_FRAME, PacketSocket, RecvBatch};
use crate::tap::Tap;
use crate::vnet::{VNET_HDR_LEN, VnetHdr, with_plain_header};
use lagd_types::{Instant, PortNumber};
use lagd_wire::ETHERTYPE_SLOW_PROTOCOLS;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Index of a buffer in the TX pool.
pub type Slot = u32;

/// Number of TX pool slots (each [`MAX_FRAME`] bytes, touched lazily).
pub const POOL_SLOTS: usize = 256;

const ETH_HLEN: usize = 14;
/// How long the TX thread waits for room in a member's send buffer before dropping.
const WRITE_WAIT_MS: i32 = 20;
/// Safety-net wake-up of the TX thread, for control frames queued without [`Forwarder::wake`].
const TX_IDLE_WAKE: Duration = Duration::from_millis(100);
/// The longest the RX thread waits without going round its loop (its liveness beat).
pub const RX_IDLE_WAKE: Duration = Duration::from_millis(500);
/// Batches taken from one ready source before looking at the others.
const ROUNDS_PER_WAKE: usize = 16;

/// Where the protocol side sends a frame read from the TAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxDecision {
    /// Transmit on this port (it should be Distributing, §6.4.15).
    Send(PortNumber),
    /// Transmit on every port of [`Protocol::broadcast_ports`].
    Broadcast,
    /// Keep the slot: the protocol returns it later through [`Protocol::poll_release`] (e.g.
    /// while a Marker exchange moves a conversation, §6.5).
    Held,
    /// Discard the frame (e.g. no port is Distributing).
    Drop,
}

/// The protocol side as the forwarder sees it. It is shared behind a `Mutex`; the forwarder's
/// threads lock it once per batch. Do not call [`Forwarder::add_member`] or
/// [`Forwarder::remove_member`] while holding that lock.
pub trait Protocol: Send {
    /// Chooses the port for `frame` (an Ethernet frame, without vnet header) held in `slot`.
    fn dispatch(&mut self, now: Instant, frame: &[u8], slot: Slot) -> TxDecision;
    /// Previously [`TxDecision::Held`] slots now to be sent on a port, in order.
    fn poll_release(&mut self) -> Option<(PortNumber, Slot)>;
    /// The ports a [`TxDecision::Broadcast`] frame goes to (may allocate).
    fn broadcast_ports(&self) -> Vec<PortNumber>;
    /// A control frame (LACPDU, Marker PDU or response, micro-BFD) to send on a port.
    fn poll_control_frame(&mut self, now: Instant) -> Option<(PortNumber, Vec<u8>)>;
    /// A control frame received on `port`: slow protocols (EtherType 0x8809) or micro-BFD.
    fn handle_control_frame(&mut self, now: Instant, port: PortNumber, frame: &[u8]);
    /// Whether frames received on `port` go up to the host (Collecting, §6.4.15).
    fn is_collecting(&self, port: PortNumber) -> bool;
    /// Whether the aggregate is up: drives the TAP carrier.
    fn carrier(&self) -> bool;
    /// The TX thread found the TAP empty (its last read would have blocked), and every frame
    /// it read or released this round has been dispatched; they are sent right after this
    /// call, before any later frame. (For a kernel fast path that may only take over a
    /// conversation once none of its frames wait in user space.) Default: nothing.
    fn tap_drained(&mut self, _now: Instant) {}
    /// Every frame the TX thread dispatched or released this round has been handed to its
    /// member socket (`sendmmsg` returned: it is in the member's queue), or dropped. Called
    /// after each round that sent something. Default: nothing.
    fn after_send(&mut self, _now: Instant) {}
    /// A Marker Information PDU (an Ethernet frame, without vnet header) that
    /// [`Protocol::poll_control_frame`] returned left `port`: the member's driver took it from
    /// the qdisc (reported by a software transmit timestamp, read by the RX thread), so every
    /// frame queued on the port before it has left too. On a member whose driver gives no
    /// such timestamps, reported once it is handed to the socket. A Marker the kernel refused
    /// or dropped is not reported. Default: nothing.
    fn marker_departed(&mut self, _now: Instant, _port: PortNumber, _frame: &[u8]) {}
    /// A host frame (Ethernet, without vnet header) about to be queued on `port`, dispatched
    /// or released: the protocol may rewrite it in place and choose another member (the
    /// switch-independent modes rewrite source MACs and ARP). Default: `port`, unchanged.
    fn prepare_tx(&mut self, _now: Instant, port: PortNumber, _frame: &mut [u8]) -> PortNumber {
        port
    }
    /// Whether received data frames must pass [`Protocol::filter_rx`] one by one (else only
    /// the Collecting check per batch). Default: no.
    fn filters_rx(&self) -> bool {
        false
    }
    /// A data frame received on Collecting member `port`: whether it goes up to the host; it
    /// may be rewritten in place (destination MAC). Default: yes.
    fn filter_rx(&mut self, _now: Instant, _port: PortNumber, _frame: &mut [u8]) -> bool {
        true
    }
}

/// Drops by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropStats {
    /// Received on a member that is not Collecting.
    pub not_collecting: u64,
    /// Slow-protocols frames the host wrote to the TAP (the host may not speak LACP/Marker on
    /// the aggregate).
    pub control: u64,
    /// The protocol named a port that is not a member, or a broadcast had no port.
    pub no_port: u64,
    /// The protocol answered [`TxDecision::Drop`].
    pub policy: u64,
    /// Malformed, truncated, or failed to be written.
    pub errors: u64,
}

/// Counters of one interface (a member or the TAP). A GSO super-frame counts as one packet;
/// bytes are Ethernet bytes without the vnet header.
///
/// For a member, `i*` is what arrived from the wire and `o*` what was sent to it. For the TAP,
/// `i*` is what the host sent (read from the TAP) and `o*` what was delivered to the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfStats {
    /// Frames received.
    pub ipackets: u64,
    /// Bytes received.
    pub rbytes: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Frames sent.
    pub opackets: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Send errors.
    pub oerrors: u64,
    /// Slow-protocols frames received and handed to the protocol.
    pub control_in: u64,
    /// Slow-protocols frames sent.
    pub control_out: u64,
    /// Drops by reason.
    pub drops: DropStats,
}

/// A snapshot of a forwarder's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwarderStats {
    /// The TAP (host side).
    pub tap: IfStats,
    /// Each member, in the order they were added.
    pub members: Vec<(PortNumber, IfStats)>,
}

impl ForwarderStats {
    /// The counters of `port`.
    pub fn member(&self, port: PortNumber) -> Option<&IfStats> {
        self.members
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, s)| s)
    }
}

#[derive(Debug, Default)]
struct Counters {
    ipackets: AtomicU64,
    rbytes: AtomicU64,
    ierrors: AtomicU64,
    opackets: AtomicU64,
    obytes: AtomicU64,
    oerrors: AtomicU64,
    control_in: AtomicU64,
    control_out: AtomicU64,
    not_collecting: AtomicU64,
    control: AtomicU64,
    no_port: AtomicU64,
    policy: AtomicU64,
    errors: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> IfStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IfStats {
            ipackets: g(&self.ipackets),
            rbytes: g(&self.rbytes),
            ierrors: g(&self.ierrors),
            opackets: g(&self.opackets),
            obytes: g(&self.obytes),
            oerrors: g(&self.oerrors),
            control_in: g(&self.control_in),
            control_out: g(&self.control_out),
            drops: DropStats {
                not_collecting: g(&self.not_collecting),
                control: g(&self.control),
                no_port: g(&self.no_port),
                policy: g(&self.policy),
                errors: g(&self.errors),
            },
        }
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_slow_protocols(frame: &[u8]) -> bool {
    matches!(frame.get(12..14), Some(&[a, b]) if u16::from_be_bytes([a, b]) == ETHERTYPE_SLOW_PROTOCOLS)
}

enum Cmd {
    Add {
        port: PortNumber,
        sock: Arc<PacketSocket>,
        counters: Arc<Counters>,
    },
    Remove(PortNumber),
}

struct CmdMsg {
    cmd: Cmd,
    ack: mpsc::Sender<Result<()>>,
}

struct Shared {
    stop: AtomicBool,
    /// When each thread last went round its loop (monotonic ns): its liveness.
    tx_beat: AtomicU64,
    rx_beat: AtomicU64,
    /// A fault injected into each thread ([`Fault`] as a number; 0: none).
    tx_fault: std::sync::atomic::AtomicU8,
    rx_fault: std::sync::atomic::AtomicU8,
    tx_wake: EventFd,
    rx_wake: EventFd,
    tap: Arc<Counters>,
    members: Mutex<Vec<(PortNumber, Arc<Counters>)>>,
}

/// Wakes a forwarder's TX thread ([`Forwarder::tx_waker`]).
#[derive(Clone)]
pub struct TxWaker(Arc<Shared>);

impl TxWaker {
    /// Wakes the TX thread (see [`Forwarder::wake`]).
    pub fn wake(&self) {
        self.0.tx_wake.notify();
    }
}

/// A running forwarder. Dropping it stops and joins its threads.
pub struct Forwarder {
    shared: Arc<Shared>,
    tap: Arc<Tap>,
    tx_cmd: mpsc::Sender<CmdMsg>,
    rx_cmd: mpsc::Sender<CmdMsg>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Serialises add/remove so the member list and the threads agree.
    admin: Mutex<()>,
    /// The member sockets, for socket options set from outside the threads.
    sockets: Mutex<std::collections::BTreeMap<PortNumber, Arc<PacketSocket>>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("tap", &self.tap.name())
            .finish_non_exhaustive()
    }
}

fn check_vnet(sock: &PacketSocket) -> Result<()> {
    if sock.vnet_hdr() {
        Ok(())
    } else {
        Err(Error::Sys {
            op: "member socket without PACKET_VNET_HDR",
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })
    }
}

impl Forwarder {
    /// Starts the TX and RX threads for `tap` and `members` (sockets opened with vnet headers).
    /// `clock` gives the `now` passed to the protocol (e.g. [`crate::monotonic_now`]).
    pub fn start(
        tap: Tap,
        members: Vec<(PortNumber, PacketSocket)>,
        protocol: Arc<Mutex<dyn Protocol>>,
        clock: fn() -> Instant,
    ) -> Result<Forwarder> {
        let tap = Arc::new(tap);
        let born = crate::monotonic_now().as_nanos();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            tx_beat: AtomicU64::new(born),
            rx_beat: AtomicU64::new(born),
            tx_fault: std::sync::atomic::AtomicU8::new(0),
            rx_fault: std::sync::atomic::AtomicU8::new(0),
            tx_wake: EventFd::new()?,
            rx_wake: EventFd::new()?,
            tap: Arc::new(Counters::default()),
            members: Mutex::new(Vec::new()),
        });
        let mut list = Vec::new();
        for (port, sock) in members {
            check_vnet(&sock)?;
            if list.iter().any(|(p, _, _)| *p == port) {
                return Err(Error::DuplicatePort(port));
            }
            list.push((port, Arc::new(sock), Arc::new(Counters::default())));
        }
        *lock(&shared.members) = list.iter().map(|(p, _, c)| (*p, Arc::clone(c))).collect();

        let (tx_cmd, tx_rx) = mpsc::channel();
        let (rx_cmd, rx_rx) = mpsc::channel();
        let mut tx = TxThread::new(
            Arc::clone(&tap),
            Arc::clone(&protocol),
            clock,
            Arc::clone(&shared),
            tx_rx,
        )?;
        let mut rx = RxThread::new(
            Arc::clone(&tap),
            protocol,
            clock,
            Arc::clone(&shared),
            rx_rx,
        )?;
        let sockets = Mutex::new(list.iter().map(|(p, s, _)| (*p, Arc::clone(s))).collect());
        for (port, sock, counters) in list {
            tx.add(port, Arc::clone(&sock), Arc::clone(&counters));
            rx.add(port, sock, counters)?;
        }
        let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
        // Every line the threads log (the protocol's included) names the aggregation: the
        // TAP is the aggregate and has its name (the span is lagd's `logging::aggr_span`).
        let span = tracing::error_span!("aggr", aggregate = %tap.name());
        let (tx_span, rx_span) = (span.clone(), span);
        let t1 = spawn("lagd-tx")
            .spawn(move || tx_span.in_scope(|| tx.run()))
            .map_err(|source| Error::Sys {
                op: "spawn TX thread",
                source,
            })?;
        let t2 = match spawn("lagd-rx").spawn(move || rx_span.in_scope(|| rx.run())) {
            Ok(t) => t,
            Err(source) => {
                shared.stop.store(true, Ordering::SeqCst);
                shared.tx_wake.notify();
                let _ = t1.join();
                return Err(Error::Sys {
                    op: "spawn RX thread",
                    source,
                });
            }
        };
        Ok(Forwarder {
            shared,
            tap,
            tx_cmd,
            rx_cmd,
            threads: Mutex::new(vec![t1, t2]),
            admin: Mutex::new(()),
            sockets,
        })
    }

    /// The aggregate's TAP.
    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    /// Wakes the TX thread: call after queuing control frames or releasing held slots, or when
    /// the carrier should be re-read.
    pub fn wake(&self) {
        self.shared.tx_wake.notify();
    }

    /// A handle that wakes the TX thread from another thread (as [`Forwarder::wake`]).
    pub fn tx_waker(&self) -> TxWaker {
        TxWaker(Arc::clone(&self.shared))
    }

    fn command(&self, make: impl Fn() -> Cmd) -> Result<()> {
        let (ack_tx, ack_rx) = mpsc::channel();
        for (chan, wake) in [
            (&self.tx_cmd, &self.shared.tx_wake),
            (&self.rx_cmd, &self.shared.rx_wake),
        ] {
            chan.send(CmdMsg {
                cmd: make(),
                ack: ack_tx.clone(),
            })
            .map_err(|_| Error::Stopped)?;
            wake.notify();
        }
        drop(ack_tx);
        for _ in 0..2 {
            ack_rx.recv().map_err(|_| Error::Stopped)??;
        }
        Ok(())
    }

    /// Adds a member (socket opened with vnet headers). When this returns, both threads use it.
    pub fn add_member(&self, port: PortNumber, sock: PacketSocket) -> Result<()> {
        check_vnet(&sock)?;
        let _g = lock(&self.admin);
        if lock(&self.shared.members).iter().any(|(p, _)| *p == port) {
            return Err(Error::DuplicatePort(port));
        }
        let sock = Arc::new(sock);
        let counters = Arc::new(Counters::default());
        self.command(|| Cmd::Add {
            port,
            sock: Arc::clone(&sock),
            counters: Arc::clone(&counters),
        })?;
        lock(&self.shared.members).push((port, counters));
        lock(&self.sockets).insert(port, sock);
        Ok(())
    }

    /// Lets member `port`'s socket receive only Slow Protocols frames (`on`), or everything:
    /// see [`PacketSocket::set_slow_protocols_only`].
    pub fn set_member_slow_protocols_only(&self, port: PortNumber, on: bool) -> Result<()> {
        let s = lock(&self.sockets).get(&port).cloned();
        let s = s.ok_or(Error::UnknownPort(port))?;
        s.set_slow_protocols_only(on).map_err(|source| Error::Sys {
            op: "socket filter on a member socket",
            source,
        })
    }

    /// Removes a member. When this returns, neither thread uses its socket any more.
    pub fn remove_member(&self, port: PortNumber) -> Result<()> {
        let _g = lock(&self.admin);
        if !lock(&self.shared.members).iter().any(|(p, _)| *p == port) {
            return Err(Error::UnknownPort(port));
        }
        self.command(|| Cmd::Remove(port))?;
        lock(&self.shared.members).retain(|(p, _)| *p != port);
        lock(&self.sockets).remove(&port);
        Ok(())
    }

    /// The counters now.
    pub fn stats(&self) -> ForwarderStats {
        ForwarderStats {
            tap: self.shared.tap.snapshot(),
            members: lock(&self.shared.members)
                .iter()
                .map(|(p, c)| (*p, c.snapshot()))
                .collect(),
        }
    }

    /// Whether the TX and RX threads are alive, and when each last went round its loop (both
    /// do at least every [`RX_IDLE_WAKE`], idle or not). A supervisor pings systemd's watchdog
    /// only while every thread beats, and stops the daemon when one has died.
    pub fn health(&self) -> ForwarderHealth {
        let threads = lock(&self.threads);
        let stopped = self.shared.stop.load(Ordering::SeqCst);
        let running = |i: usize| stopped || threads.get(i).is_some_and(|t| !t.is_finished());
        ForwarderHealth {
            tx: ThreadHealth {
                running: running(0),
                last_beat_ns: self.shared.tx_beat.load(Ordering::Relaxed),
            },
            rx: ThreadHealth {
                running: running(1),
                last_beat_ns: self.shared.rx_beat.load(Ordering::Relaxed),
            },
        }
    }

    /// Test support: makes one forwarding thread exit, stall (until [`Fault::None`] is
    /// injected) or panic, so the tests can show what the daemon does then.
    #[doc(hidden)]
    pub fn inject_fault(&self, thread: ForwarderThread, fault: Fault) {
        let (slot, wake) = match thread {
            ForwarderThread::Tx => (&self.shared.tx_fault, &self.shared.tx_wake),
            ForwarderThread::Rx => (&self.shared.rx_fault, &self.shared.rx_wake),
        };
        slot.store(fault as u8, Ordering::SeqCst);
        wake.notify();
    }

    /// The member sockets by port (to hand them on across an `execve`, after [`Forwarder::stop`]).
    pub fn member_sockets(&self) -> Vec<(PortNumber, Arc<PacketSocket>)> {
        lock(&self.sockets)
            .iter()
            .map(|(p, s)| (*p, Arc::clone(s)))
            .collect()
    }

    /// Stops and joins the threads (idempotent). Held slots are discarded.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.tx_wake.notify();
        self.shared.rx_wake.notify();
        let threads: Vec<_> = lock(&self.threads).drain(..).collect();
        for t in threads {
            if t.join().is_err() {
                tracing::error!("forwarder thread panicked");
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Liveness of the forwarding threads ([`Forwarder::health`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwarderHealth {
    /// The TX thread (host → wire).
    pub tx: ThreadHealth,
    /// The RX thread (wire → host).
    pub rx: ThreadHealth,
}

/// Liveness of one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadHealth {
    /// The thread has not ended (or the forwarder was stopped on purpose).
    pub running: bool,
    /// When it last went round its loop, monotonic ns.
    pub last_beat_ns: u64,
}

/// One of the forwarding threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwarderThread {
    /// Host → wire.
    Tx,
    /// Wire → host.
    Rx,
}

/// A fault injected by tests ([`Forwarder::inject_fault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// No fault (ends a stall).
    None = 0,
    /// The thread returns, as after a fatal error.
    Exit = 1,
    /// The thread stops going round its loop until the fault is cleared.
    Stall = 2,
    /// The thread panics.
    Panic = 3,
}

/// Beats (stores now in `beat`) and applies the fault injected into `fault` (a [`Fault`]);
/// `false` when the thread must end. For every thread a supervisor watches (the forwarding
/// threads, lagd's micro-BFD threads); `which` names it in the log.
pub fn beat_and_check(beat: &AtomicU64, fault: &std::sync::atomic::AtomicU8, which: &str) -> bool {
    beat.store(crate::monotonic_now().as_nanos(), Ordering::Relaxed);
    match fault.load(Ordering::Relaxed) {
        0 => true,
        1 => {
            tracing::error!("{which} thread: injected fault: exiting");
            false
        }
        2 => {
            tracing::warn!("{which} thread: injected fault: stalled");
            while fault.load(Ordering::SeqCst) == Fault::Stall as u8 {
                std::thread::sleep(Duration::from_millis(10));
            }
            beat.store(crate::monotonic_now().as_nanos(), Ordering::Relaxed);
            true
        }
        _ => panic!("{which} thread: injected fault: panic"),
    }
}

// ---------------------------------------------------------------------------------------------
// TX: host → wire.

/// The TX pool: `POOL_SLOTS` buffers of `MAX_FRAME` bytes in one lazily touched allocation.
struct Pool {
    buf: Vec<u8>,
    lens: Vec<usize>,
    held: Vec<bool>,
    free: Vec<Slot>,
}

impl Pool {
    fn new(n: usize) -> Pool {
        Pool {
            buf: vec![0u8; n * MAX_FRAME],
            lens: vec![0; n],
            held: vec![false; n],
            free: (0..n)
                .rev()
                .filter_map(|s| Slot::try_from(s).ok())
                .collect(),
        }
    }
    fn slot_mut(&mut self, s: Slot) -> Option<&mut [u8]> {
        let start = usize::try_from(s).ok()?.checked_mul(MAX_FRAME)?;
        self.buf.get_mut(start..start + MAX_FRAME)
    }
    /// The bytes read into slot `s` (vnet header + frame).
    fn raw(&self, s: Slot) -> &[u8] {
        let Ok(i) = usize::try_from(s) else {
            return &[];
        };
        let len = self.lens.get(i).copied().unwrap_or(0);
        let start = i.saturating_mul(MAX_FRAME);
        self.buf.get(start..start + len).unwrap_or(&[])
    }
    /// The Ethernet frame in slot `s` (after the vnet header), writable.
    fn frame_mut(&mut self, s: Slot) -> &mut [u8] {
        let Ok(i) = usize::try_from(s) else {
            return &mut [];
        };
        let len = self.lens.get(i).copied().unwrap_or(0);
        let start = i.saturating_mul(MAX_FRAME);
        self.buf
            .get_mut(start + VNET_HDR_LEN.min(len)..start + len)
            .unwrap_or(&mut [])
    }
    fn set_len(&mut self, s: Slot, len: usize) {
        if let Some(l) = usize::try_from(s).ok().and_then(|i| self.lens.get_mut(i)) {
            *l = len;
        }
    }
    fn set_held(&mut self, s: Slot, held: bool) -> bool {
        match usize::try_from(s).ok().and_then(|i| self.held.get_mut(i)) {
            Some(h) => {
                let was = *h;
                *h = held;
                was
            }
            None => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum TxItem {
    Slot(Slot),
    Control(usize),
}

struct TxMember {
    port: PortNumber,
    sock: Arc<PacketSocket>,
    counters: Arc<Counters>,
    queue: Vec<TxItem>,
    /// The driver stamps transmitted frames in software: a Marker's departure is reported by
    /// the kernel (else when it is handed to the socket).
    reports: bool,
}

const TOKEN_WAKE: u64 = 0;
const TOKEN_TAP: u64 = 1;

struct TxThread {
    tap: Arc<Tap>,
    proto: Arc<Mutex<dyn Protocol>>,
    clock: fn() -> Instant,
    shared: Arc<Shared>,
    cmds: mpsc::Receiver<CmdMsg>,
    epoll: Epoll,
    events: Events,
    members: Vec<TxMember>,
    pool: Pool,
    batch: Vec<Slot>,
    to_free: Vec<Slot>,
    control: Vec<Vec<u8>>,
    carrier: Option<bool>,
    tap_reading: bool,
}

/// Wire frames of `raw` (vnet header + Ethernet frame): its GSO segments, or 1.
fn wire_frames(raw: &[u8]) -> u64 {
    match (VnetHdr::parse(raw), raw.get(VNET_HDR_LEN..)) {
        (Some(v), Some(eth)) => v.wire_frames(eth),
        _ => 1,
    }
}

fn item_bytes<'a>(it: &TxItem, pool: &'a Pool, control: &'a [Vec<u8>]) -> &'a [u8] {
    match *it {
        TxItem::Slot(s) => pool.raw(s),
        TxItem::Control(i) => control.get(i).map(Vec::as_slice).unwrap_or(&[]),
    }
}

/// Queues `item` on `port`; counts a no-port drop if it is not a member.
fn enqueue(members: &mut [TxMember], tap: &Counters, port: PortNumber, item: TxItem) {
    match members.iter_mut().find(|m| m.port == port) {
        Some(m) => m.queue.push(item),
        None => bump(&tap.no_port, 1),
    }
}

/// Queues the slots the protocol releases from hold on their ports.
fn release(
    now: Instant,
    p: &mut dyn Protocol,
    pool: &mut Pool,
    members: &mut [TxMember],
    tap_c: &Counters,
    to_free: &mut Vec<Slot>,
) -> usize {
    let mut n = 0;
    while let Some((port, slot)) = p.poll_release() {
        n += 1;
        if !pool.set_held(slot, false) {
            tracing::warn!(slot, "protocol released a slot it did not hold");
            bump(&tap_c.errors, 1);
            continue;
        }
        let port = p.prepare_tx(now, port, pool.frame_mut(slot));
        enqueue(members, tap_c, port, TxItem::Slot(slot));
        to_free.push(slot);
    }
    n
}

/// Whether `it` is a Marker Information PDU (sent on its own, with a departure report).
fn is_marker_item(it: &TxItem, control: &[Vec<u8>]) -> bool {
    match *it {
        TxItem::Control(i) => control
            .get(i)
            .and_then(|f| f.get(VNET_HDR_LEN..))
            .is_some_and(is_marker_information),
        TxItem::Slot(_) => false,
    }
}

/// Sends `m`'s queue in order with `sendmmsg`, waiting briefly for room when the socket is full.
/// A Marker Information PDU goes alone, asking for a departure report; on a member whose
/// driver gives none, it is pushed to `departed` (port, Ethernet frame) once sent.
fn flush(
    m: &mut TxMember,
    pool: &Pool,
    control: &[Vec<u8>],
    departed: &mut Vec<(PortNumber, Vec<u8>)>,
) {
    let mut i = 0;
    while i < m.queue.len() {
        let rest = m.queue.get(i..).unwrap_or(&[]);
        let marker = rest.first().is_some_and(|it| is_marker_item(it, control));
        let r = if marker {
            let bytes = rest
                .first()
                .map_or(&[][..], |it| item_bytes(it, pool, control));
            let r = if m.reports {
                crate::departure::send(&m.sock, bytes)
            } else {
                m.sock.send(bytes)
            };
            if r.is_ok() && !m.reports {
                departed.push((m.port, bytes.get(VNET_HDR_LEN..).unwrap_or(&[]).to_vec()));
            }
            r.map(|()| 1)
        } else {
            // Up to the next Marker.
            let end = rest
                .iter()
                .position(|it| is_marker_item(it, control))
                .unwrap_or(rest.len());
            let frames = rest
                .iter()
                .take(end)
                .map(|it| item_bytes(it, pool, control));
            m.sock.send_batch(frames)
        };
        match r {
            Ok(n) if n > 0 => {
                for it in rest.iter().take(n) {
                    let bytes = item_bytes(it, pool, control);
                    let len = bytes.len();
                    bump(&m.counters.opackets, wire_frames(bytes));
                    bump(&m.counters.obytes, len.saturating_sub(VNET_HDR_LEN) as u64);
                    if matches!(it, TxItem::Control(_)) {
                        bump(&m.counters.control_out, 1);
                    }
                }
                i += n;
            }
            Ok(_) => {
                if !matches!(m.sock.wait_writable(WRITE_WAIT_MS), Ok(true)) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !matches!(m.sock.wait_writable(WRITE_WAIT_MS), Ok(true)) {
                    break;
                }
            }
            Err(e) => {
                // This frame failed (e.g. ENOBUFS from a full qdisc, ENETDOWN): skip it.
                tracing::trace!(port = m.port, error = %e, "member send failed");
                bump(&m.counters.oerrors, 1);
                bump(&m.counters.errors, 1);
                i += 1;
            }
        }
    }
    let left = m.queue.len().saturating_sub(i) as u64;
    if left > 0 {
        bump(&m.counters.oerrors, left);
        bump(&m.counters.errors, left);
    }
    m.queue.clear();
}

impl TxThread {
    fn new(
        tap: Arc<Tap>,
        proto: Arc<Mutex<dyn Protocol>>,
        clock: fn() -> Instant,
        shared: Arc<Shared>,
        cmds: mpsc::Receiver<CmdMsg>,
    ) -> Result<TxThread> {
        let epoll = Epoll::new()?;
        epoll.add(shared.tx_wake.as_fd(), TOKEN_WAKE, Interest::Read)?;
        epoll.add(tap.as_fd(), TOKEN_TAP, Interest::Read)?;
        Ok(TxThread {
            tap,
            proto,
            clock,
            shared,
            cmds,
            epoll,
            events: Events::with_capacity(4),
            members: Vec::new(),
            pool: Pool::new(POOL_SLOTS),
            batch: Vec::with_capacity(MAX_BATCH),
            to_free: Vec::with_capacity(POOL_SLOTS),
            control: Vec::new(),
            carrier: None,
            tap_reading: true,
        })
    }

    fn add(&mut self, port: PortNumber, sock: Arc<PacketSocket>, counters: Arc<Counters>) {
        let reports = crate::departure::reports(sock.ifindex());
        tracing::debug!(
            port,
            reports,
            "member: Marker departures reported by the driver"
        );
        self.members.push(TxMember {
            port,
            sock,
            counters,
            queue: Vec::with_capacity(MAX_BATCH * 2),
            reports,
        });
    }

    fn handle_cmds(&mut self) {
        while let Ok(msg) = self.cmds.try_recv() {
            let r = match msg.cmd {
                Cmd::Add {
                    port,
                    sock,
                    counters,
                } => {
                    self.add(port, sock, counters);
                    Ok(())
                }
                Cmd::Remove(port) => {
                    self.members.retain(|m| m.port != port);
                    Ok(())
                }
            };
            let _ = msg.ack.send(r);
        }
    }

    fn run(mut self) {
        loop {
            if !beat_and_check(&self.shared.tx_beat, &self.shared.tx_fault, "TX") {
                return;
            }
            for _ in 0..ROUNDS_PER_WAKE {
                if !self.round() {
                    break;
                }
            }
            if let Err(e) = self.epoll.wait(&mut self.events, Some(TX_IDLE_WAKE)) {
                tracing::error!(error = %e, "TX epoll failed; TX thread stops");
                return;
            }
            self.shared.tx_wake.drain();
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            self.handle_cmds();
        }
    }

    /// Reads up to one batch from the TAP into free slots; returns whether the TAP was found
    /// empty.
    fn read_batch(&mut self) -> bool {
        let tap_c = &self.shared.tap;
        while self.batch.len() < MAX_BATCH {
            let Some(slot) = self.pool.free.pop() else {
                break;
            };
            let r = match self.pool.slot_mut(slot) {
                Some(buf) => self.tap.read(buf),
                None => Err(io::Error::from(io::ErrorKind::InvalidInput)),
            };
            match r {
                Ok(n) if n >= VNET_HDR_LEN + ETH_HLEN => {
                    self.pool.set_len(slot, n);
                    bump(&tap_c.ipackets, wire_frames(self.pool.raw(slot)));
                    bump(&tap_c.rbytes, (n - VNET_HDR_LEN) as u64);
                    self.batch.push(slot);
                }
                Ok(_) => {
                    bump(&tap_c.ierrors, 1);
                    bump(&tap_c.errors, 1);
                    self.pool.free.push(slot);
                }
                Err(e) => {
                    self.pool.free.push(slot);
                    if e.kind() != io::ErrorKind::WouldBlock {
                        tracing::debug!(error = %e, "TAP read failed");
                        bump(&tap_c.ierrors, 1);
                        return false;
                    }
                    return true;
                }
            }
        }
        false
    }

    /// One batch: read, decide under one lock, send per member. Returns whether the batch was
    /// full (more may wait).
    fn round(&mut self) -> bool {
        self.batch.clear();
        let drained = self.read_batch();
        let full = self.batch.len() == MAX_BATCH;

        let proto = Arc::clone(&self.proto);
        let carrier;
        let dispatched;
        {
            let mut p = lock(&proto);
            let now = (self.clock)();
            let tap_c = &self.shared.tap;
            let pool = &mut self.pool;
            let members = &mut self.members;
            let to_free = &mut self.to_free;
            let mut released = release(now, &mut *p, pool, members, tap_c, to_free);
            for &slot in &self.batch {
                let frame = pool.raw(slot).get(VNET_HDR_LEN..).unwrap_or(&[]);
                if is_slow_protocols(frame) {
                    bump(&tap_c.control, 1);
                    to_free.push(slot);
                    continue;
                }
                match p.dispatch(now, frame, slot) {
                    TxDecision::Send(port) => {
                        let port = p.prepare_tx(now, port, pool.frame_mut(slot));
                        enqueue(members, tap_c, port, TxItem::Slot(slot));
                        to_free.push(slot);
                    }
                    TxDecision::Broadcast => {
                        let ports = p.broadcast_ports();
                        if ports.is_empty() {
                            bump(&tap_c.no_port, 1);
                        }
                        for port in ports {
                            enqueue(members, tap_c, port, TxItem::Slot(slot));
                        }
                        to_free.push(slot);
                    }
                    TxDecision::Held => {
                        pool.set_held(slot, true);
                    }
                    TxDecision::Drop => {
                        bump(&tap_c.policy, 1);
                        to_free.push(slot);
                    }
                }
            }
            released += release(now, &mut *p, pool, members, tap_c, to_free);
            dispatched = !self.batch.is_empty() || released > 0;
            if drained && released == 0 {
                p.tap_drained(now);
            }
            while let Some((port, frame)) = p.poll_control_frame(now) {
                let idx = self.control.len();
                self.control.push(with_plain_header(&frame));
                enqueue(members, tap_c, port, TxItem::Control(idx));
            }
            carrier = p.carrier();
        }

        if self.carrier != Some(carrier) {
            match self.tap.set_carrier(carrier) {
                Ok(()) => {
                    tracing::info!(tap = %self.tap.name(), carrier, "aggregate carrier");
                    self.carrier = Some(carrier);
                }
                Err(e) => tracing::warn!(error = %e, "cannot set TAP carrier"),
            }
        }

        let mut sent = false;
        let mut departed = Vec::new();
        for m in &mut self.members {
            if !m.queue.is_empty() {
                flush(m, &self.pool, &self.control, &mut departed);
                sent = true;
            }
        }
        if sent || dispatched {
            let mut p = lock(&proto);
            let now = (self.clock)();
            for (port, frame) in &departed {
                p.marker_departed(now, *port, frame);
            }
            p.after_send(now);
        }
        self.pool.free.append(&mut self.to_free);
        self.control.clear();

        let want = !self.pool.free.is_empty();
        if want != self.tap_reading {
            let interest = if want { Interest::Read } else { Interest::None };
            if self
                .epoll
                .modify(self.tap.as_fd(), TOKEN_TAP, interest)
                .is_ok()
            {
                self.tap_reading = want;
            }
        }
        full
    }
}

// ---------------------------------------------------------------------------------------------
// RX: wire → host.

struct RxMember {
    port: PortNumber,
    sock: Arc<PacketSocket>,
    counters: Arc<Counters>,
}

/// A Marker PDU waiting for its turn.
struct DelayedMarker {
    due: Instant,
    port: PortNumber,
    frame: Vec<u8>,
}

/// Whether `frame` (Slow Protocols) is a Marker Information PDU.
fn is_marker_information(frame: &[u8]) -> bool {
    frame.get(14) == Some(&2) && frame.get(16) == Some(&1)
}

struct RxThread {
    tap: Arc<Tap>,
    proto: Arc<Mutex<dyn Protocol>>,
    clock: fn() -> Instant,
    shared: Arc<Shared>,
    cmds: mpsc::Receiver<CmdMsg>,
    epoll: Epoll,
    events: Events,
    members: Vec<Option<RxMember>>,
    batch: RecvBatch,
    delayed: std::collections::VecDeque<DelayedMarker>,
}

impl RxThread {
    fn new(
        tap: Arc<Tap>,
        proto: Arc<Mutex<dyn Protocol>>,
        clock: fn() -> Instant,
        shared: Arc<Shared>,
        cmds: mpsc::Receiver<CmdMsg>,
    ) -> Result<RxThread> {
        let epoll = Epoll::new()?;
        epoll.add(shared.rx_wake.as_fd(), TOKEN_WAKE, Interest::Read)?;
        Ok(RxThread {
            tap,
            proto,
            clock,
            shared,
            cmds,
            epoll,
            events: Events::with_capacity(MAX_BATCH),
            members: Vec::new(),
            batch: RecvBatch::new(MAX_BATCH),
            delayed: std::collections::VecDeque::new(),
        })
    }

    fn add(
        &mut self,
        port: PortNumber,
        sock: Arc<PacketSocket>,
        counters: Arc<Counters>,
    ) -> Result<()> {
        let idx = match self.members.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.members.push(None);
                self.members.len() - 1
            }
        };
        self.epoll
            .add(sock.as_fd(), idx as u64 + 1, Interest::Read)?;
        if let Some(s) = self.members.get_mut(idx) {
            *s = Some(RxMember {
                port,
                sock,
                counters,
            });
        }
        Ok(())
    }

    fn handle_cmds(&mut self) {
        while let Ok(msg) = self.cmds.try_recv() {
            let r = match msg.cmd {
                Cmd::Add {
                    port,
                    sock,
                    counters,
                } => self.add(port, sock, counters),
                Cmd::Remove(port) => {
                    for s in self.members.iter_mut() {
                        if s.as_ref().is_some_and(|m| m.port == port)
                            && let Some(m) = s.take()
                        {
                            let _ = self.epoll.delete(m.sock.as_fd());
                        }
                    }
                    self.delayed.retain(|d| d.port != port);
                    Ok(())
                }
            };
            let _ = msg.ack.send(r);
        }
    }

    /// Hands the Marker PDUs whose time has come to the protocol.
    fn deliver_due_markers(&mut self) -> Option<Duration> {
        let now = (self.clock)();
        let mut any = false;
        while let Some(d) = self.delayed.front() {
            if d.due > now {
                let left = d.due.saturating_since(now);
                if any {
                    self.shared.tx_wake.notify();
                }
                return Some(Duration::from_nanos(left.as_nanos()));
            }
            if let Some(d) = self.delayed.pop_front() {
                lock(&self.proto).handle_control_frame(now, d.port, &d.frame);
                any = true;
            }
        }
        if any {
            self.shared.tx_wake.notify();
        }
        None
    }

    fn run(mut self) {
        let mut ready = [(0u64, false); MAX_BATCH];
        loop {
            if !beat_and_check(&self.shared.rx_beat, &self.shared.rx_fault, "RX") {
                return;
            }
            let timeout = self
                .deliver_due_markers()
                .map_or(RX_IDLE_WAKE, |t| t.min(RX_IDLE_WAKE));
            if let Err(e) = self.epoll.wait(&mut self.events, Some(timeout)) {
                tracing::error!(error = %e, "RX epoll failed; RX thread stops");
                return;
            }
            let mut n = 0;
            for (r, e) in ready.iter_mut().zip(self.events.iter()) {
                *r = (e.token, e.error);
                n += 1;
            }
            for &(token, error) in ready.iter().take(n) {
                if token == TOKEN_WAKE {
                    self.shared.rx_wake.drain();
                    if self.shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    self.handle_cmds();
                } else if let Ok(idx) = usize::try_from(token - 1) {
                    if error {
                        self.departures(idx);
                    }
                    self.service(idx);
                }
            }
        }
    }

    /// Hands the Marker departures reported on member `idx`'s error queue to the protocol.
    fn departures(&mut self, idx: usize) {
        let Some(Some(m)) = self.members.get(idx) else {
            return;
        };
        let (port, sock) = (m.port, Arc::clone(&m.sock));
        let mut buf = [0u8; 256];
        let mut any = false;
        loop {
            match crate::departure::recv(&sock, &mut buf) {
                Ok(Some(n)) => {
                    let now = (self.clock)();
                    lock(&self.proto).marker_departed(now, port, buf.get(..n).unwrap_or(&[]));
                    any = true;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(port, error = %e, "member error queue");
                    break;
                }
            }
        }
        if any {
            // Releases are the TX thread's business.
            self.shared.tx_wake.notify();
        }
    }

    /// Receives from member `idx` until it is drained or has had its share.
    fn service(&mut self, idx: usize) {
        let Some(Some(m)) = self.members.get(idx) else {
            return;
        };
        let (port, sock, c) = (m.port, Arc::clone(&m.sock), Arc::clone(&m.counters));
        let tap_c = &self.shared.tap;
        for _ in 0..ROUNDS_PER_WAKE {
            let n = match sock.recv_batch(&mut self.batch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // E.g. a frame whose offload state cannot be expressed as a vnet header:
                    // the kernel drops it; count and go on.
                    tracing::debug!(port, error = %e, "member receive failed");
                    bump(&c.ierrors, 1);
                    bump(&c.errors, 1);
                    continue;
                }
            };
            let (mut collecting, filters) = {
                let p = lock(&self.proto);
                (p.is_collecting(port), p.filters_rx())
            };
            let mut control_seen = false;
            for i in 0..n {
                let Some(f) = self.batch.frame(i) else {
                    continue;
                };
                bump(&c.ipackets, f.vnet.wire_frames(f.ethernet));
                bump(&c.rbytes, f.ethernet.len() as u64);
                if f.truncated || f.ethernet.len() < ETH_HLEN {
                    bump(&c.ierrors, 1);
                    bump(&c.errors, 1);
                    continue;
                }
                if is_slow_protocols(f.ethernet)
                    || lagd_bfd::MicroBfdFrame::is_micro_bfd(f.ethernet)
                {
                    bump(&c.control_in, 1);
                    // A Marker is answered once the data frames GRO may still hold are
                    // delivered (the member's GRO setting read now: it can change any time).
                    let hold = if is_marker_information(f.ethernet) {
                        crate::member::gro_hold_ifindex(sock.ifindex())
                    } else {
                        Duration::ZERO
                    };
                    if !hold.is_zero() {
                        let delay = lagd_types::Duration::from_nanos(
                            u64::try_from(hold.as_nanos()).unwrap_or(u64::MAX),
                        );
                        self.delayed.push_back(DelayedMarker {
                            due: (self.clock)() + delay,
                            port,
                            frame: f.ethernet.to_vec(),
                        });
                        continue;
                    }
                    let mut p = lock(&self.proto);
                    p.handle_control_frame((self.clock)(), port, f.ethernet);
                    collecting = p.is_collecting(port);
                    control_seen = true;
                    continue;
                }
                if !collecting {
                    bump(&c.not_collecting, 1);
                    continue;
                }
                if filters {
                    // Switch-independent modes: each frame once, for us (the protocol counts
                    // what it drops).
                    let now = (self.clock)();
                    let up = self
                        .batch
                        .ethernet_mut(i)
                        .is_some_and(|eth| lock(&self.proto).filter_rx(now, port, eth));
                    if !up {
                        continue;
                    }
                }
                let Some(f) = self.batch.frame(i) else {
                    continue;
                };
                match self.tap.write(f.raw) {
                    Ok(_) => {
                        bump(&tap_c.opackets, f.vnet.wire_frames(f.ethernet));
                        bump(&tap_c.obytes, f.ethernet.len() as u64);
                    }
                    Err(e) => {
                        tracing::trace!(error = %e, "TAP write failed");
                        bump(&tap_c.oerrors, 1);
                        bump(&tap_c.errors, 1);
                    }
                }
            }
            if control_seen {
                // Responses, releases and the carrier are the TX thread's business.
                self.shared.tx_wake.notify();
            }
            if n < MAX_BATCH {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_protocols_are_recognised_by_ethertype() {
        let mut f = [0u8; 60];
        assert!(!is_slow_protocols(&f));
        f[12] = 0x88;
        f[13] = 0x09;
        assert!(is_slow_protocols(&f));
        assert!(!is_slow_protocols(&f[..13]));
    }

    #[test]
    fn pool_slots_are_bounded_and_held_flags_guard_double_release() {
        let mut p = Pool::new(4);
        assert_eq!(p.free.len(), 4);
        assert!(p.slot_mut(3).is_some());
        assert!(p.slot_mut(4).is_none());
        p.set_len(2, 100);
        assert_eq!(p.raw(2).len(), 100);
        assert!(p.raw(9).is_empty());
        assert!(!p.set_held(1, true));
        assert!(p.set_held(1, false));
        assert!(!p.set_held(1, false), "second release is refused");
        assert!(!p.set_held(77, false));
    }

    #[test]
    fn counters_snapshot() {
        let c = Counters::default();
        bump(&c.opackets, 3);
        bump(&c.not_collecting, 2);
        let s = c.snapshot();
        assert_eq!(s.opackets, 3);
        assert_eq!(s.drops.not_collecting, 2);
        let fs = ForwarderStats {
            tap: s,
            members: vec![(7, s)],
        };
        assert_eq!(fs.member(7).map(|m| m.opackets), Some(3));
        assert!(fs.member(8).is_none());
    }
}
