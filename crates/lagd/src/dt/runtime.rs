//! The DT runtime: one thread that runs the protocol core ([`lagd_dt::Dt`]) on the peer link
//! and the keepalive (`AF_PACKET`, EtherType 0x8952 frames picked out of everything the link
//! carries), and reconciles the engine's distributed aggregations with the core's decisions
//! every few tens of milliseconds. The reconciliation itself is [`Reconciler`] (in
//! `lagd-node`, the simulator runs the same): it registers each distributed aggregation with
//! the core (configuration, member speed), reports its live members (Collecting and
//! Distributing ports, the partner they see) and the peer link's carrier, and returns the
//! actions this runtime executes:
//!
//! * LACP system id: the aggregation's `set_config` with the decision's `lacp_system`;
//! * port numbers: an aggregation whose ports are not numbered from the decision's base is
//!   restarted with that base (happens once, when the secondary first finds the primary);
//! * ports down: the member interfaces are set administratively down (the server sees carrier
//!   loss at once), and up again when allowed;
//! * peer-link isolation: see below; flooding onto the peer link as
//!   [`lagd_node::dt::flood_peer_link`] says.
//!
//! Besides, the runtime keeps the kernel side:
//!
//! * the bridge: the peer link (no address learning on it) and every DT aggregate are made
//!   ports of `[dt] bridge`; while
//!   both halves of a DT aggregation have live members, an egress filter on its aggregate drops
//!   the frames that came over the peer link (the peer delivered them); see
//!   [`super::isolation`];
//! * MAC sync: addresses the bridge learned on a DT aggregate go to the peer; the peer's go in
//!   as static FDB entries where the reconciliation says ([`DtAction::Fdb`]: on the local DT
//!   aggregate, or on the peer link while the local half has no live member), checked
//!   against the bridge at every FDB poll ([`Reconciler::fdb_wanted`]).
//!   A thread of its own (`lagd-dt-fdb`) dumps the FDB and sends what changed; the DT thread
//!   hands the core a bounded number of changes per turn, so a huge FDB never delays the PDUs;
//! * ARP / ND sync: the neighbour entries the bridge resolved go to the peer; the peer's go in
//!   as externally learned (`extern_learn`) entries of the bridge.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use lagd_dataplane::egress_filter::EgressFilter;
use lagd_dataplane::ingress_filter::IngressFilter;
use lagd_dataplane::{
    Epoll, Events, Interest, Neighbour, Netlink, PacketOptions, PacketSocket, RecvBatch,
    monotonic_now,
};
use lagd_dt::{Dt, DtFrame, DtPath};
use lagd_node::dt::{AggrFacts, DtAction, FdbTarget, LearnedMacs, Reconciler, flood_peer_link};
use lagd_types::{Duration, MacAddr, SystemId};

use crate::aggregate::Aggr;
use crate::config::ResolvedDt;
use crate::control::proto::{DtView, PeerFilterView};
use crate::engine::Engine;
use crate::sync::lock;

/// How often the runtime reconciles the aggregations with the decisions.
const RECONCILE: Duration = Duration::from_millis(20);
/// How often the bridge FDB is read for MAC sync (by the FDB reader thread).
const FDB_POLL: StdDuration = StdDuration::from_millis(500);
/// Most learned-address changes the DT thread hands the core per turn of its loop: a bridge
/// that learned 100 000 addresses at once must not hold up the DT PDUs and keepalives (the
/// peer would time this switch out).
const MAC_CHANGES_PER_TURN: usize = 2000;
/// How often the bridge's neighbour (ARP / ND) entries are read for neighbour sync.
const NEIGH_POLL: Duration = Duration::from_millis(1000);
/// How many recent DT events the status keeps.
const EVENT_HISTORY: usize = 64;
/// Most frames read from one DT socket in a turn: more than its receive buffer holds, so the
/// turn reads every frame queued when it starts before it looks at the timers.
const READ_PER_TURN: usize = 16_384;
/// Frames not from the pinned peer that wait to be handled (each is refused and counted), at
/// most; beyond it they are handled as they are read.
const DEFERRED_MAX: usize = 65_536;
/// Deferred frames handled per turn, after the turn's timers, decisions and transmissions.
const DEFERRED_PER_TURN: usize = 1_024;

/// The running DT runtime; stopping it brings every member it took down back up.
pub(crate) struct DtRuntime {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    view: Arc<Mutex<Option<DtView>>>,
}

impl std::fmt::Debug for DtRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtRuntime").finish_non_exhaustive()
    }
}

impl DtRuntime {
    /// Opens the peer link and keepalive sockets and starts the thread.
    pub(crate) fn start(engine: Weak<Engine>, cfg: ResolvedDt) -> Result<DtRuntime, String> {
        let io = Io::open(&cfg)?;
        let stop = Arc::new(AtomicBool::new(false));
        let view = Arc::new(Mutex::new(None));
        let (s, v) = (stop.clone(), view.clone());
        let thread = std::thread::Builder::new()
            .name("lagd-dt".into())
            .spawn(move || {
                let mut rt = match Runner::new(engine, cfg, io, v) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!("DT runtime: {e}");
                        return;
                    }
                };
                rt.run(&s);
                rt.cleanup();
            })
            .map_err(|e| format!("spawning the DT thread: {e}"))?;
        Ok(DtRuntime {
            stop,
            thread: Some(thread),
            view,
        })
    }

    /// The latest status.
    pub(crate) fn view(&self) -> Option<DtView> {
        lock(&self.view).clone()
    }

    /// Stops the thread (members it took down are brought up again).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DtRuntime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long the phases of one turn of the DT thread took; a turn longer than [`SLOW_TURN`] is
/// logged with them (the peer times this switch out when its turns take longer than the
/// timeouts).
struct Laps {
    start: std::time::Instant,
    last: std::time::Instant,
    phases: Vec<(&'static str, StdDuration)>,
}

/// A turn of the DT thread this long is logged.
const SLOW_TURN: StdDuration = StdDuration::from_millis(250);

impl Laps {
    fn new() -> Laps {
        let now = std::time::Instant::now();
        Laps {
            start: now,
            last: now,
            phases: Vec::new(),
        }
    }

    fn at(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.phases.push((phase, now - self.last));
        self.last = now;
    }

    fn report(&self) {
        let total = self.last - self.start;
        if total >= SLOW_TURN {
            let phases: Vec<String> = self
                .phases
                .iter()
                .map(|(p, d)| format!("{p} {} ms", d.as_millis()))
                .collect();
            tracing::warn!(
                "DT: one turn took {} ms ({})",
                total.as_millis(),
                phases.join(", ")
            );
        }
    }
}

/// The sockets and netlink handles.
struct Io {
    nl: Netlink,
    br: Netlink,
    peer_link: PacketSocket,
    peer_link_ifindex: u32,
    peer_link_mac: MacAddr,
    keepalive: Option<PacketSocket>,
    bridge_ifindex: u32,
}

fn sock(ifindex: u32) -> Result<PacketSocket, String> {
    PacketSocket::open(
        ifindex,
        &PacketOptions {
            vnet_hdr: false,
            promisc: true,
            slow_protocols: false,
            ignore_outgoing: true,
            rcvbuf: 4 << 20,
            sndbuf: 1 << 20,
        },
    )
    .map_err(|e| format!("packet socket on ifindex {ifindex}: {e}"))
}

impl Io {
    fn open(cfg: &ResolvedDt) -> Result<Io, String> {
        let mut nl = Netlink::open().map_err(|e| format!("rtnetlink: {e}"))?;
        let mut br = Netlink::open().map_err(|e| format!("rtnetlink: {e}"))?;
        let pl = nl
            .link_by_name(&cfg.peer_link)
            .map_err(|e| format!("peer link `{}`: {e}", cfg.peer_link))?;
        let bridge = nl
            .link_by_name(&cfg.bridge)
            .map_err(|e| format!("bridge `{}`: {e}", cfg.bridge))?;
        nl.set_up(pl.ifindex, true)
            .map_err(|e| format!("peer link `{}` up: {e}", cfg.peer_link))?;
        br.set_master(pl.ifindex, bridge.ifindex)
            .map_err(|e| format!("adding the peer link to `{}`: {e}", cfg.bridge))?;
        br.set_port_flood(pl.ifindex, false)
            .map_err(|e| format!("peer link flooding: {e}"))?;
        // No learning on the peer link: frames the peer floods over it (a dual-homed host's
        // broadcast that reached the peer first) would teach the bridge that host is behind the
        // peer link, and its unicast would then go there, where the peer's filter drops it. The
        // peer's addresses come from MAC sync instead; the rest is flooded (as MLAG peers do).
        br.set_port_learning(pl.ifindex, false)
            .map_err(|e| format!("peer link learning: {e}"))?;
        let keepalive = match &cfg.keepalive {
            None => None,
            Some(k) => {
                let l = nl
                    .link_by_name(k)
                    .map_err(|e| format!("keepalive `{k}`: {e}"))?;
                nl.set_up(l.ifindex, true)
                    .map_err(|e| format!("keepalive `{k}` up: {e}"))?;
                Some(sock(l.ifindex)?)
            }
        };
        Ok(Io {
            peer_link: sock(pl.ifindex)?,
            peer_link_ifindex: pl.ifindex,
            peer_link_mac: pl.mac.unwrap_or(MacAddr::ZERO),
            keepalive,
            nl,
            br,
            bridge_ifindex: bridge.ifindex,
        })
    }
}

/// A learned FDB entry as the reader sees it: bridge port, VLAN, address.
type PortKey = (u32, u16, MacAddr);

/// Wanted FDB entries checked per turn against the reader's dump ([`Runner::repair_fdb`]).
const REPAIR_PER_TURN: usize = 2000;

/// A check of the bridge's FDB against what MAC sync wants, under way: the static entries of
/// the reader's dump taken at `taken_at`, and the last wanted entry checked.
struct Repair {
    present: BTreeSet<(MacAddr, u16, u32)>,
    taken_at: lagd_types::Instant,
    after: Option<lagd_dt::MacKey>,
}

/// What the FDB reader found at one poll of the bridge's FDB.
struct FdbDelta {
    /// When the dump was asked for.
    taken_at: lagd_types::Instant,
    /// Learned entries that appeared (`true`) or went (`false`) since the previous poll.
    changes: Vec<(PortKey, bool)>,
    /// The static, sticky entries present (the peer's addresses lagd installed):
    /// (MAC, VLAN, port).
    statics: BTreeSet<(MacAddr, u16, u32)>,
}

/// The FDB reader: a thread of its own that dumps the bridge's FDB every [`FDB_POLL`] and sends
/// what changed, so the DT thread never waits on a dump of a large FDB (100 000 entries take
/// a noticeable time to read and compare) while the peer expects its PDUs.
fn spawn_fdb_reader(
    bridge_ifindex: u32,
    peer_link_ifindex: u32,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::Receiver<FdbDelta>, JoinHandle<()>), String> {
    let mut br = Netlink::open().map_err(|e| format!("rtnetlink: {e}"))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let h = std::thread::Builder::new()
        .name("lagd-dt-fdb".into())
        .spawn(move || {
            let mut prev: BTreeSet<PortKey> = BTreeSet::new();
            while !stop.load(Ordering::SeqCst) {
                let taken_at = monotonic_now();
                match br.fdb() {
                    Ok(fdb) => {
                        // Learned on a bridge port other than the peer link (where learning
                        // is off anyway) and the bridge itself.
                        let now_set: BTreeSet<PortKey> = fdb
                            .iter()
                            .filter(|e| e.is_learned() && e.master == bridge_ifindex)
                            .filter(|e| {
                                e.ifindex != peer_link_ifindex && e.ifindex != bridge_ifindex
                            })
                            .map(|e| (e.ifindex, e.vlan, e.mac))
                            .collect();
                        let mut changes: Vec<(PortKey, bool)> =
                            now_set.difference(&prev).map(|k| (*k, true)).collect();
                        changes.extend(prev.difference(&now_set).map(|k| (*k, false)));
                        let statics = fdb
                            .iter()
                            .filter(|e| e.is_lagd_static())
                            .map(|e| (e.mac, e.vlan, e.ifindex))
                            .collect();
                        let delta = FdbDelta {
                            taken_at,
                            changes,
                            statics,
                        };
                        // Waits while the DT thread still applies the previous delta.
                        let mut pending = Some(delta);
                        while let Some(d) = pending.take() {
                            match tx.try_send(d) {
                                Ok(()) => {}
                                Err(std::sync::mpsc::TrySendError::Full(d)) => {
                                    if stop.load(Ordering::SeqCst) {
                                        return;
                                    }
                                    std::thread::sleep(StdDuration::from_millis(20));
                                    pending = Some(d);
                                }
                                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return,
                            }
                        }
                        prev = now_set;
                    }
                    Err(e) => tracing::debug!("DT: reading the FDB: {e}"),
                }
                std::thread::sleep(FDB_POLL);
            }
        })
        .map_err(|e| format!("spawning the FDB reader: {e}"))?;
    Ok((rx, h))
}

/// What the runtime applied to one DT aggregation.
#[derive(Default)]
struct Applied {
    id: u16,
    tap: u32,
    in_bridge: bool,
    /// Members held administratively down (by the take-over of a DT member, or by this
    /// runtime).
    downed: BTreeSet<u32>,
    /// Members seen.
    seen: BTreeSet<u32>,
    /// The peer-link egress filter on the aggregate (attached once, then switched on and off
    /// by a map write: no program load while the peer waits), and whether it is on.
    filter: Option<EgressFilter>,
    filter_on: bool,
    /// The ingress filter on the aggregate: DT frames (EtherType 0x8952) from the hosts on its
    /// members dropped and counted before the bridge sees them.
    guard: Option<IngressFilter>,
}

struct Runner {
    engine: Weak<Engine>,
    cfg: ResolvedDt,
    io: Io,
    dt: Dt,
    /// The reconciliation: what it registered with the core, keyed by aggregate name.
    step: Reconciler<String>,
    view: Arc<Mutex<Option<DtView>>>,
    aggrs: BTreeMap<String, Applied>,
    /// Learned entries reported to the core, by bridge port (the reconciliation's mapping).
    learned: LearnedMacs<u32>,
    /// The FDB reader's deltas, and the changes of the last one not yet handed to the core.
    fdb_rx: std::sync::mpsc::Receiver<FdbDelta>,
    mac_changes: std::collections::VecDeque<(PortKey, bool)>,
    /// The check of the bridge's FDB under way, if any.
    repair: Option<Repair>,
    fdb_stop: Arc<AtomicBool>,
    fdb_thread: Option<JoinHandle<()>>,
    /// Neighbour entries the local bridge resolved, as last reported to the core.
    neigh_local: BTreeMap<IpAddr, MacAddr>,
    /// The bridge's neighbour entries at the last poll.
    neigh_seen: BTreeMap<IpAddr, Neighbour>,
    /// The peer's neighbour entries as the core wants them installed.
    neigh_want: BTreeMap<IpAddr, MacAddr>,
    events: Vec<(f64, String)>,
    peer_carrier: bool,
    /// Flooding onto the peer link as last set.
    flood: Option<bool>,
    /// Whether egress filters can be attached (false after a failure: flood control instead).
    filters_work: bool,
    /// Whether the ingress filters can be attached (false after a failure, logged once).
    guards_work: bool,
    /// Frames read from an Ethernet source other than the pinned peer, not yet handled: a
    /// flood of them is refused and counted after the peer's frames, the timers and this
    /// switch's own transmissions, so it never delays those (a flood at 10 000 frames a second
    /// on a starved machine once left the peer's PDUs queued behind it until the peer timed
    /// out).
    deferred: std::collections::VecDeque<(DtPath, Vec<u8>)>,
}

impl Runner {
    fn new(
        engine: Weak<Engine>,
        mut cfg: ResolvedDt,
        io: Io,
        view: Arc<Mutex<Option<DtView>>>,
    ) -> Result<Runner, String> {
        if cfg.core.system_mac.is_zero() {
            cfg.core.system_mac = io.peer_link_mac;
        }
        cfg.core.incarnation = u32::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() & 0xffff_ffff)
                .unwrap_or(0),
        )
        .unwrap_or(0);
        cfg.core.epoch = super::epoch::draw();
        let dt = Dt::new(monotonic_now(), cfg.core.clone()).map_err(|e| e.to_string())?;
        let mut io = io;
        sweep(&mut io.br, io.peer_link_ifindex, BTreeSet::new());
        // A killed lagd's neighbour entries for the peer: the next neighbour sync installs
        // again what the peer still announces.
        if let Ok(n) = io.nl.neighbours(io.bridge_ifindex) {
            let stale: Vec<IpAddr> = n
                .iter()
                .filter(|e| e.is_extern_learned())
                .map(|e| e.ip)
                .collect();
            for ip in &stale {
                let _ = io.nl.delete_neighbour(io.bridge_ifindex, *ip);
            }
            if !stale.is_empty() {
                tracing::info!(
                    "DT: {} neighbour entries left by an earlier lagd removed",
                    stale.len()
                );
            }
        }
        let fdb_stop = Arc::new(AtomicBool::new(false));
        let (fdb_rx, fdb_thread) =
            spawn_fdb_reader(io.bridge_ifindex, io.peer_link_ifindex, fdb_stop.clone())?;
        Ok(Runner {
            engine,
            cfg,
            io,
            dt,
            step: Reconciler::new(),
            view,
            aggrs: BTreeMap::new(),
            learned: LearnedMacs::new(),
            fdb_rx,
            mac_changes: std::collections::VecDeque::new(),
            repair: None,
            fdb_stop,
            fdb_thread: Some(fdb_thread),
            neigh_local: BTreeMap::new(),
            neigh_seen: BTreeMap::new(),
            neigh_want: BTreeMap::new(),
            events: Vec::new(),
            peer_carrier: true,
            flood: Some(false),
            filters_work: true,
            guards_work: true,
            deferred: std::collections::VecDeque::new(),
        })
    }

    fn run(&mut self, stop: &AtomicBool) {
        let ep = match Epoll::new() {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("DT runtime: epoll: {e}");
                return;
            }
        };
        let _ = ep.add(
            std::os::fd::AsFd::as_fd(&self.io.peer_link),
            0,
            Interest::Read,
        );
        if let Some(k) = &self.io.keepalive {
            let _ = ep.add(std::os::fd::AsFd::as_fd(k), 1, Interest::Read);
        }
        let mut events = Events::with_capacity(4);
        let mut batch = RecvBatch::with_slot_size(32, 2048);
        let mut next_reconcile = monotonic_now();
        let mut next_neigh = monotonic_now();
        while !stop.load(Ordering::SeqCst) {
            let now = monotonic_now();
            let deadline = self
                .dt
                .poll_timeout()
                .unwrap_or(now + RECONCILE)
                .min(next_reconcile);
            let wait: StdDuration = if self.deferred.is_empty() {
                deadline.saturating_since(now).into()
            } else {
                StdDuration::ZERO
            };
            let wait = wait.min(StdDuration::from_millis(50));
            let due = std::time::Instant::now() + wait;
            if let Err(e) = ep.wait(&mut events, Some(wait)) {
                tracing::warn!("DT runtime: epoll wait: {e}");
            }
            let mut lap = Laps::new();
            if let Some(late) = lap.start.checked_duration_since(due)
                && late >= SLOW_TURN
            {
                // Woken (or scheduled) this late: the thread was not given the CPU.
                tracing::warn!(
                    "DT: the thread ran {} ms after it was due (not scheduled)",
                    late.as_millis()
                );
            }
            self.receive(&mut batch);
            lap.at("receive");
            let now = monotonic_now();
            if self.dt.poll_timeout().is_some_and(|t| t <= now) {
                self.dt.handle_timeout(now);
            }
            if now >= next_reconcile {
                self.check_peer_carrier();
                self.reconcile();
                next_reconcile = now + RECONCILE;
            }
            lap.at("reconcile");
            self.sync_fdb();
            lap.at("fdb");
            if now >= next_neigh {
                self.sync_neighbours();
                self.report_socket_drops();
                next_neigh = now + NEIGH_POLL;
            }
            lap.at("neighbours");
            self.apply_isolation();
            self.drain();
            lap.at("drain");
            self.publish();
            lap.at("publish");
            self.handle_deferred();
            lap.at("deferred");
            lap.report();
        }
    }

    fn receive(&mut self, batch: &mut RecvBatch) {
        let socks: [(DtPath, Option<&PacketSocket>); 2] = [
            (DtPath::PeerLink, Some(&self.io.peer_link)),
            (DtPath::Keepalive, self.io.keepalive.as_ref()),
        ];
        let mut frames: Vec<(DtPath, Vec<u8>)> = Vec::new();
        // Once a peer is pinned, a frame from any other Ethernet source cannot change anything
        // (the core refuses it: stranger, bad address or looped); it waits in `deferred`.
        let pinned = self.dt.pinned_peer();
        for (path, s) in socks {
            let Some(s) = s else { continue };
            let mut read = 0;
            while read < READ_PER_TURN {
                match s.recv_batch(batch) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        read += n;
                        for i in 0..n {
                            let Some(f) = batch.frame(i) else { continue };
                            if !DtFrame::is_dt(f.ethernet) {
                                continue;
                            }
                            let from_peer =
                                pinned.is_none_or(|p| f.ethernet.get(6..12) == Some(&p.0[..]));
                            if from_peer || self.deferred.len() >= DEFERRED_MAX {
                                frames.push((path, f.ethernet.to_vec()));
                            } else {
                                self.deferred.push_back((path, f.ethernet.to_vec()));
                            }
                        }
                    }
                }
            }
        }
        for (path, f) in frames {
            self.handle_frame(path, &f);
        }
    }

    fn handle_frame(&mut self, path: DtPath, f: &[u8]) {
        let now = monotonic_now();
        let r = match path {
            DtPath::PeerLink => self.dt.handle_peer_frame(now, f),
            DtPath::Keepalive => self.dt.handle_keepalive_frame(now, f),
        };
        if let Err(e) = r {
            tracing::debug!("DT: bad frame on the {path}: {e}");
        }
    }

    /// Says (once a second at most: the neighbour poll's pace) how many frames the kernel
    /// dropped on the DT sockets since the last time, their receive buffers full: the DT
    /// thread did not read in time (starved of CPU, or a flood beyond what it handles).
    fn report_socket_drops(&mut self) {
        let socks: [(DtPath, Option<&PacketSocket>); 2] = [
            (DtPath::PeerLink, Some(&self.io.peer_link)),
            (DtPath::Keepalive, self.io.keepalive.as_ref()),
        ];
        for (path, s) in socks {
            if let Some(n) = s.and_then(|s| s.take_drops().ok())
                && n > 0
            {
                tracing::warn!(
                    "DT: {n} frames dropped on the {path} before lagd read them (receive buffer full)"
                );
            }
        }
    }

    /// Handles up to [`DEFERRED_PER_TURN`] of the frames from strangers read earlier.
    fn handle_deferred(&mut self) {
        for _ in 0..DEFERRED_PER_TURN {
            let Some((path, f)) = self.deferred.pop_front() else {
                break;
            };
            self.handle_frame(path, &f);
        }
    }

    fn check_peer_carrier(&mut self) {
        let up = self
            .io
            .nl
            .link_by_index(self.io.peer_link_ifindex)
            .is_ok_and(|l| l.is_up() && l.carrier);
        // The reconciliation that follows tells the core when it changed.
        self.peer_carrier = up;
    }

    /// Brings the engine's distributed aggregations in line with the decisions: the
    /// reconciliation ([`Reconciler`], the simulator's too) decides, this executes its
    /// actions on the engine's aggregations and the kernel, and keeps each aggregate in the
    /// bridge with its filters.
    fn reconcile(&mut self) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let mut renumber = Vec::new();
        engine.dt_with_aggrs(|aggrs| {
            let now = monotonic_now();
            let facts: Vec<AggrFacts<String>> = aggrs
                .iter()
                .filter(|(_, a)| a.resolved.distributed)
                .map(|(name, a)| facts_of(name, a))
                .collect();
            let actions = self
                .step
                .reconcile(&mut self.dt, now, self.peer_carrier, &facts);
            for act in actions {
                match act {
                    DtAction::Refused { aggr, error } => {
                        tracing::warn!(aggregate = %aggr, "DT: {error}");
                    }
                    DtAction::Removed { aggr } => {
                        self.aggrs.remove(&aggr);
                    }
                    DtAction::Renumber { aggr, base, .. } => renumber.push((aggr, base)),
                    DtAction::SetSystem { aggr, system } => {
                        if let Some(a) = aggrs.get(&aggr) {
                            let _span = crate::logging::aggr_span(&aggr).entered();
                            set_system(a, now, system);
                        }
                    }
                    DtAction::Ports { aggr, enabled } => {
                        if let Some(a) = aggrs.get(&aggr) {
                            let _span = crate::logging::aggr_span(&aggr).entered();
                            self.set_ports(&aggr, a, enabled);
                        }
                    }
                    // Applied by `apply_isolation`, after this turn as after every input.
                    DtAction::IsolatePeerLink { .. } => {}
                    // Given by `poll_fdb` (in `drain`), not by the turn.
                    DtAction::Fdb { .. } => {}
                }
            }
            for f in &facts {
                if let (Some(id), Some(a)) = (self.step.id(&f.aggr), aggrs.get(&f.aggr)) {
                    let _span = crate::logging::aggr_span(&f.aggr).entered();
                    self.attach(&f.aggr, id, a.forwarder.tap().ifindex());
                }
            }
        });
        self.apply_isolation();
        if !self.filters_work {
            for ap in self.aggrs.values_mut() {
                ap.filter = None;
                ap.filter_on = false;
            }
        }
        let flood = flood_peer_link(&self.dt, self.filters_work);
        if self.flood != Some(flood) {
            match self.io.br.set_port_flood(self.io.peer_link_ifindex, flood) {
                Ok(()) => {
                    self.flood = Some(flood);
                    tracing::info!(
                        "DT: flooding onto the peer link {}",
                        if flood { "on" } else { "off" }
                    );
                }
                Err(e) => tracing::warn!("DT: peer link flooding: {e}"),
            }
        }
        for (name, base) in renumber {
            tracing::debug!(aggregate = %name, "DT: renumbering the ports from {base:#06x}");
            if let Err(e) = engine.dt_renumber(&name, base) {
                tracing::error!(aggregate = %name, "DT: renumbering: {e}");
            }
            if let Some(ap) = self.aggrs.get_mut(&name) {
                ap.downed.clear();
                ap.seen.clear();
                ap.tap = 0;
            }
        }
    }

    /// Takes the members of aggregation `name` down, or brings them up (those this runtime,
    /// or the take-over of a DT member, took down), as its decision says.
    fn set_ports(&mut self, name: &str, a: &Aggr, enabled: bool) {
        let ap = self.aggrs.entry(name.to_string()).or_default();
        for m in a.members.values() {
            let ifindex = m.member.ifindex();
            if ap.seen.insert(ifindex)
                && self.io.nl.link_by_index(ifindex).is_ok_and(|l| !l.is_up())
            {
                // Held down at take-over (see `aggregate::take_over`).
                ap.downed.insert(ifindex);
            }
            let is_down = ap.downed.contains(&ifindex);
            if enabled == is_down {
                match self.io.nl.set_up(ifindex, enabled) {
                    Ok(()) => {
                        if enabled {
                            ap.downed.remove(&ifindex);
                        } else {
                            ap.downed.insert(ifindex);
                        }
                        tracing::info!(member = %m.name, up = enabled, "DT: member {}", if enabled { "enabled" } else { "taken down" });
                    }
                    Err(e) => tracing::warn!(member = %m.name, "DT: {e}"),
                }
            }
        }
    }

    /// Keeps aggregation `name` (DT id `id`, aggregate `tap`) a port of the bridge, with its
    /// ingress filter and peer-link egress filter attached; sweeps what a killed lagd left on
    /// an aggregate first seen.
    fn attach(&mut self, name: &str, id: u16, tap: u32) {
        let ap = self.aggrs.entry(name.to_string()).or_default();
        ap.id = id;
        if ap.tap != tap {
            ap.tap = tap;
            ap.in_bridge = false;
            // A killed lagd's entries on a persistent aggregate: gone unless wanted.
            let wanted = self.step.fdb_wanted_on(&name.to_string());
            sweep(&mut self.io.br, tap, wanted.into_iter().collect());
        }
        if !ap.in_bridge {
            match self.io.br.set_master(tap, self.io.bridge_ifindex) {
                Ok(()) => ap.in_bridge = true,
                Err(e) => tracing::warn!("DT: bridge: {e}"),
            }
        }
        if ap.filter.as_ref().is_some_and(|f| f.ifindex() != tap) {
            ap.filter = None;
        }
        if ap.guard.as_ref().is_some_and(|g| g.ifindex() != tap) {
            ap.guard = None;
        }
        if self.guards_work && ap.guard.is_none() {
            match IngressFilter::drop_ethertype(tap, lagd_dt::ETHERTYPE_DRCP) {
                Ok(g) => ap.guard = Some(g),
                Err(e) => {
                    self.guards_work = false;
                    tracing::warn!(
                        "DT: cannot attach the ingress filter of DT frames from hosts ({e}); the peer's admission checks still refuse them"
                    );
                }
            }
        }
        if self.filters_work && ap.filter.is_none() {
            match EgressFilter::drop_from(tap, self.io.peer_link_ifindex, false) {
                Ok(f) => {
                    ap.filter = Some(f);
                    ap.filter_on = false;
                }
                Err(e) => {
                    self.filters_work = false;
                    tracing::warn!(
                        "DT: cannot attach the peer-link egress filter ({e}); falling back to flood control on the peer link"
                    );
                }
            }
        }
    }

    /// Switches each DT aggregate's peer-link filter to what its decision says. Runs after
    /// every input the core handled and before anything is sent: the PDU that tells the peer
    /// this switch heard its half come up leaves with the filter already on.
    fn apply_isolation(&mut self) {
        for (name, on) in self.step.isolation(&self.dt) {
            let Some(ap) = self.aggrs.get_mut(&name) else {
                continue;
            };
            let Some(f) = &ap.filter else { continue };
            if on == ap.filter_on {
                continue;
            }
            match f.set_on(on) {
                Ok(()) => {
                    ap.filter_on = on;
                    if on {
                        tracing::info!(aggregate = %name, "DT: frames from the peer link dropped at the aggregate (peer-link filter on)");
                    } else {
                        tracing::info!(aggregate = %name, "DT: frames from the peer link pass (peer-link filter off)");
                    }
                }
                Err(e) => tracing::warn!(aggregate = %name, "DT: peer-link filter: {e}"),
            }
        }
    }

    /// The bridge port of `target` (`None` while its aggregate's interface is not known).
    fn fdb_port(&self, target: &FdbTarget<String>) -> Option<u32> {
        match target {
            FdbTarget::PeerLink => Some(self.io.peer_link_ifindex),
            FdbTarget::Aggregation(name) => self.aggrs.get(name).map(|a| a.tap).filter(|t| *t != 0),
        }
    }

    /// Goes on with the check under way of the bridge's FDB against what MAC sync wants, one
    /// slice of [`REPAIR_PER_TURN`] wanted entries a turn: installs again each one the bridge
    /// lacked or had on another port when the reader dumped it at `taken_at` (`present`: the
    /// static entries it found); entries wanted only since then are left to the install under
    /// way. (It checked the whole table at once, cloning every entry: with 32 768 entries that
    /// took 0.3-2.3 s of the DT thread on a loaded machine, and the peer timed it out.)
    fn repair_fdb(&mut self) {
        let Some(r) = self.repair.take() else {
            return;
        };
        let (slice, next) = self.step.fdb_wanted_slice(r.after, REPAIR_PER_TURN);
        let missing: Vec<(MacAddr, u16, u32)> = slice
            .into_iter()
            .filter(|e| e.3 < r.taken_at)
            .filter_map(|(vlan, mac, target, _)| {
                let port = match target {
                    FdbTarget::PeerLink => Some(self.io.peer_link_ifindex),
                    FdbTarget::Aggregation(name) => {
                        self.aggrs.get(name).map(|a| a.tap).filter(|t| *t != 0)
                    }
                };
                port.map(|p| (mac, vlan, p))
            })
            .filter(|k| !r.present.contains(k))
            .collect();
        for (mac, vlan, port) in missing {
            match self.io.br.fdb_add_static(port, mac, vlan) {
                Ok(()) => {
                    tracing::info!(%mac, vlan, port, "DT: FDB entry for the peer's address (re)installed")
                }
                Err(e) => tracing::debug!(%mac, "DT: FDB add: {e}"),
            }
        }
        if next.is_some() {
            self.repair = Some(Repair { after: next, ..r });
        }
    }

    /// Hands the core what the bridge learned on the DT aggregates (and orphan ports) since
    /// the FDB reader's last delta, at most [`MAC_CHANGES_PER_TURN`] changes per turn, and goes
    /// on with the check of the bridge's FDB that the delta started ([`Runner::repair_fdb`]).
    fn sync_fdb(&mut self) {
        if self.mac_changes.is_empty()
            && self.repair.is_none()
            && let Ok(d) = self.fdb_rx.try_recv()
        {
            self.repair = Some(Repair {
                present: d.statics,
                taken_at: d.taken_at,
                after: None,
            });
            self.mac_changes.extend(d.changes);
        }
        self.repair_fdb();
        if self.mac_changes.is_empty() {
            return;
        }
        let by_tap: BTreeMap<u32, u16> = self.aggrs.values().map(|a| (a.tap, a.id)).collect();
        let now = monotonic_now();
        for _ in 0..MAC_CHANGES_PER_TURN {
            let Some((pk, present)) = self.mac_changes.pop_front() else {
                break;
            };
            // Learned on a DT aggregate: that aggregation; on another port of the bridge:
            // an orphan port's host.
            let id = by_tap.get(&pk.0).copied();
            self.learned
                .tell(&mut self.dt, now, pk.0, pk.1, pk.2, id, present);
        }
    }

    /// Reads the bridge's neighbour entries: those the kernel resolved go to the core (the
    /// peer installs them); the peer's are installed again when missing.
    fn sync_neighbours(&mut self) {
        let Ok(all) = self.io.nl.neighbours(self.io.bridge_ifindex) else {
            return;
        };
        let now = monotonic_now();
        let local: BTreeMap<IpAddr, MacAddr> = all
            .iter()
            .filter(|n| n.is_resolved() && !n.is_extern_learned())
            .map(|n| (n.ip, n.mac))
            .collect();
        for (ip, mac) in &local {
            if self.neigh_local.get(ip) != Some(mac) {
                self.dt.handle_local_neighbour(now, *ip, Some(*mac));
            }
        }
        for ip in self.neigh_local.keys() {
            if !local.contains_key(ip) {
                self.dt.handle_local_neighbour(now, *ip, None);
            }
        }
        self.neigh_local = local;
        self.neigh_seen = all.into_iter().map(|n| (n.ip, n)).collect();
        let missing: Vec<(IpAddr, MacAddr)> = self
            .neigh_want
            .iter()
            .filter(|(ip, _)| !self.neigh_seen.contains_key(*ip))
            .map(|(ip, mac)| (*ip, *mac))
            .collect();
        for (ip, mac) in missing {
            if let Err(e) = self
                .io
                .nl
                .set_extern_neighbour(self.io.bridge_ifindex, ip, mac)
            {
                tracing::debug!(%ip, "DT: neighbour entry: {e}");
            }
        }
    }

    /// Applies the core's neighbour updates: the peer's entries installed as externally
    /// learned entries of the bridge; removed only while they are still ours (an entry the
    /// kernel resolved itself meanwhile stays).
    fn apply_neighbours(&mut self) {
        let mut current: Option<BTreeMap<IpAddr, Neighbour>> = None;
        while let Some(u) = self.dt.poll_neigh_update() {
            if u.install {
                self.neigh_want.insert(u.ip, u.mac);
                // An entry the kernel resolved itself since the last poll (not yet reported to
                // the core, which would have kept it) is not overwritten by the peer's: once
                // marked externally learned it would never count as resolved here again.
                let cur = current.get_or_insert_with(|| {
                    self.io
                        .nl
                        .neighbours(self.io.bridge_ifindex)
                        .map(|n| n.into_iter().map(|n| (n.ip, n)).collect())
                        .unwrap_or_default()
                });
                if cur
                    .get(&u.ip)
                    .is_some_and(|n| n.is_resolved() && !n.is_extern_learned())
                {
                    continue;
                }
                match self
                    .io
                    .nl
                    .set_extern_neighbour(self.io.bridge_ifindex, u.ip, u.mac)
                {
                    Ok(()) => {
                        tracing::debug!(ip = %u.ip, mac = %u.mac, "DT: the peer's neighbour entry installed")
                    }
                    Err(e) => tracing::debug!(ip = %u.ip, "DT: neighbour entry: {e}"),
                }
            } else {
                self.neigh_want.remove(&u.ip);
                let ours = self
                    .neigh_seen
                    .get(&u.ip)
                    .is_none_or(|n| n.is_extern_learned());
                if ours && let Err(e) = self.io.nl.delete_neighbour(self.io.bridge_ifindex, u.ip) {
                    tracing::debug!(ip = %u.ip, "DT: neighbour entry removal: {e}");
                }
            }
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.dt.poll_transmit() {
            let s = match t.path {
                DtPath::PeerLink => Some(&self.io.peer_link),
                DtPath::Keepalive => self.io.keepalive.as_ref(),
            };
            if let Some(s) = s
                && let Err(e) = s.send(&t.frame)
            {
                tracing::debug!("DT: send on the {}: {e}", t.path);
            }
        }
        let engine = self.engine.upgrade();
        while let Some(e) = self.dt.poll_event() {
            let text = e.kind.to_string();
            tracing::info!("{text}");
            if let Some(en) = &engine {
                en.dt_event(text.clone());
            }
            self.events.push((e.at.as_secs_f64(), text));
            if self.events.len() > EVENT_HISTORY {
                self.events.remove(0);
            }
        }
        self.apply_neighbours();
        for act in self.step.poll_fdb(&mut self.dt, monotonic_now()) {
            let DtAction::Fdb {
                install,
                vlan,
                mac,
                target,
            } = act
            else {
                continue;
            };
            // An aggregate not (yet) known here: the next FDB poll installs it.
            let Some(port) = self.fdb_port(&target) else {
                continue;
            };
            let r = if install {
                self.io.br.fdb_add_static(port, mac, vlan)
            } else {
                self.io.br.fdb_del(port, mac, vlan)
            };
            if let Err(e) = r {
                tracing::debug!("DT: FDB {mac} {}: {e}", if install { "add" } else { "del" });
            }
        }
    }

    fn publish(&mut self) {
        let v = DtView {
            status: self.dt.status(),
            peer_link: self.cfg.peer_link.clone(),
            keepalive: self.cfg.keepalive.clone(),
            bridge: self.cfg.bridge.clone(),
            events: self.events.clone(),
            peer_filter: PeerFilterView {
                mode: if self.filters_work {
                    "egress filter"
                } else {
                    "flood control"
                }
                .to_string(),
                filtered: self
                    .aggrs
                    .iter()
                    .filter(|(_, a)| a.filter_on)
                    .filter_map(|(n, a)| {
                        a.filter
                            .as_ref()
                            .map(|f| (n.clone(), f.dropped().unwrap_or(0)))
                    })
                    .collect(),
                flooding: self.flood.unwrap_or(false),
            },
            peer_link_carrier: self.peer_carrier,
            ingress_filter: self
                .aggrs
                .iter()
                .filter_map(|(n, a)| {
                    a.guard
                        .as_ref()
                        .map(|g| (n.clone(), g.dropped().unwrap_or(0)))
                })
                .collect(),
        };
        *lock(&self.view) = Some(v);
    }

    /// Brings up every member this runtime took down, and removes every FDB entry it installed
    /// for the peer (no sticky leftovers once DT stops; a killed lagd's are swept at the next
    /// start, see [`sweep`]).
    fn cleanup(&mut self) {
        for ap in self.aggrs.values() {
            for ifindex in &ap.downed {
                let _ = self.io.nl.set_up(*ifindex, true);
            }
        }
        self.fdb_stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.fdb_thread.take() {
            let _ = t.join();
        }
        self.dt.clear_neighbours();
        self.apply_neighbours();
        let mut removed = 0usize;
        for e in self.step.take_fdb() {
            if let Some(port) = self.fdb_port(&e.target)
                && self.io.br.fdb_del(port, e.mac, e.vlan).is_ok()
            {
                removed += 1;
            }
        }
        tracing::info!("DT stopped: {removed} FDB entries of the peer's addresses removed");
    }
}

/// What the reconciliation needs to know of distributed aggregation `name`
/// ([`AggrFacts::of`], the simulator's builder too), its shared System from its settings.
fn facts_of(name: &str, a: &Aggr) -> AggrFacts<String> {
    let ad = lock(&a.adapter);
    let r = &a.resolved;
    AggrFacts::of(name.to_string(), &ad.agg, r.port_base, |speed| {
        r.dt_aggr_config(r.system(r.mac.unwrap_or(MacAddr::ZERO)), speed)
    })
}

/// Gives aggregation `a` LACP System `system` live.
fn set_system(a: &Aggr, now: lagd_types::Instant, system: SystemId) {
    let mut ad = lock(&a.adapter);
    let mut c = ad.agg.config().clone();
    c.lacp.system = system;
    if let Err(e) = ad.agg.set_config(now, c) {
        tracing::warn!("DT: system id: {e}");
    }
    ad.drain_events();
    drop(ad);
    a.forwarder.wake();
}

/// Removes the static, sticky entries (the kind lagd installs for the DT peer) on bridge port
/// `port` other than the `wanted` (VLAN, MAC) there: what a killed lagd left behind.
fn sweep(br: &mut Netlink, port: u32, wanted: BTreeSet<(u16, MacAddr)>) {
    let Ok(fdb) = br.fdb() else {
        return;
    };
    let mut removed = 0usize;
    for e in fdb
        .iter()
        .filter(|e| e.ifindex == port && e.is_lagd_static())
        .filter(|e| !wanted.contains(&(e.vlan, e.mac)))
    {
        if br.fdb_del(port, e.mac, e.vlan).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            port,
            "DT: {removed} FDB entries left by an earlier lagd removed"
        );
    }
}
