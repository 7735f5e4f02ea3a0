//! The kernel fast path as the daemon runs it (`offload = auto | on | off`, default `auto`).
//!
//! **Wire → host** ([`lagd_dataplane::rx_offload`]): one program per member delivers its data
//! frames to the aggregate while the member is Collecting (its map follows the protocol's
//! Collecting state at every `Offload::sync_collecting`) and drops them otherwise; the
//! member's packet socket then receives Slow Protocols frames only.
//!
//! **Host → wire** ([`lagd_dataplane::tx_offload`]): one program at the aggregate's egress,
//! built for the distribution mode. Hash modes (and active-backup, whose frames are all bucket
//! 0) use the distributor's bucket table: which buckets the kernel sends straight to a member,
//! which stay on the user-space path. Round-robin and broadcast use the member list.
//!
//! Ordering is the rule: a conversation's frames must leave in the order the host sent them.
//! * A bucket the distributor is **moving** (Marker protocol, §6.5) goes back to user space
//!   *before* the move's Marker PDU is queued: this runs inside `crate::adapter::Adapter`'s
//!   `drain_events`, in the same critical section as the input that started the move, and the
//!   kernel enqueues a redirected frame on the member at once, so every frame sent through the
//!   fast path is on the old link ahead of the Marker.
//! * A moved bucket is **handed back** as soon as the move is over and nothing of it is held:
//!   its entry gets the member with [`HAND_BACK`], and the program sends the next frame itself
//!   only if every frame it passed to user space has been sent by lagd (`passed == consumed`:
//!   the program counts what it passes, lagd what it sent, after the send; see
//!   `Offload::note_dispatch` and `Offload::after_send`). No frame overtakes another, and a
//!   conversation that never pauses is back in the kernel as soon as lagd catches up with the
//!   TAP's queue: within one TX round after the move ends (counted in `hand_backs`).
//! * The two counts are exact only for buckets both sides counted from the start. Buckets
//!   that never were in the kernel since the program was loaded (a fresh program: start,
//!   mode or policy change) come to it the first time they are idle: the TX thread has just
//!   found the TAP empty, the distributor holds nothing, and the bucket's last frame in user
//!   space is at least `IDLE` old in lagd and in the program (`idle_returns`). This is also
//!   the fallback when a count can never match (a frame the TAP dropped).
//! * A frame the program sends carries no flow hash (the sending socket's, which lagd's own
//!   frames do not have; see `lagd_dataplane::tx_offload`): whatever steers by it after the
//!   member (RPS on the receiver) then steers a conversation alike on both paths.
//! * A bucket whose member failed moves to its new member at once (what was queued on the dead
//!   link is lost either way, as on the user-space path).
//!
//! **Switch-independent modes** (`transmit-lb`, `adaptive-lb`): the TX program is the hash
//! program that also sends ARP and Neighbour Discovery through user space and writes each
//! member's own source MAC ([`TxMode::SwitchIndependent`]); each receive program delivers what
//! is plainly for the host and hands lagd the rest. `Offload::sync_balancer` keeps both in
//! step with the balancer: the members' MACs, the receive member, the aggregate's MAC. When
//! the receive member changes, the old one's source rewrite is switched on before the new
//! one's is switched off, and the old one stops delivering the aggregate's MAC before the new
//! one starts: the aggregate's MAC never leaves on two members, and a frame flooded to both is
//! never delivered twice. What the receive programs deliver is also counted per peer (a map
//! each, keyed by source address, that holds the balancer's peers and nothing else): every
//! `PEER_HARVEST` `Offload::harvest_peers` enters new peers and gives the bytes counted
//! since to the balancer, which measures peers' load by them as by the frames user space
//! delivers (`adaptive-lb` spreads peers by that load).
//!
//! Every `HARVEST`, the kernel's counters are folded into the member and aggregate counters
//! and into the distributor's load measurement (so rebalancing sees offloaded load).

mod steering;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lagd_agg::Aggregation;
use lagd_agg::alb::Alb;
use lagd_agg::lagd_distrib::{Distributor, HashPolicy, Mode};
use lagd_control::config::RxSteering;
use lagd_dataplane::attach::AttachMode;
use lagd_dataplane::rx_offload::{PeerCounts, RxBalancer, RxCounts, RxOffload};
use lagd_dataplane::tx_offload::{HAND_BACK, HashPlan, MAX_MEMBERS, TxMode, TxOffload};
use lagd_types::{Duration, Instant, PortNumber};

/// How long a bucket that was never handed back must be idle in user space before it goes to
/// the fast path.
pub(crate) const IDLE: Duration = Duration::from_millis(10);
/// Idle promotion passes at most this often.
pub(crate) const PROMOTE_EVERY: Duration = Duration::from_millis(2);
/// How often the kernel's counters are read.
pub(crate) const HARVEST: Duration = Duration::from_millis(250);
/// How often the receive programs' per-peer counters are read (the balancer samples peers'
/// rates every 10 s).
pub(crate) const PEER_HARVEST: Duration = Duration::from_secs(1);

/// The data plane's hash plan for `policy`.
pub fn plan(policy: &HashPolicy) -> HashPlan {
    let p = policy.ip_plan();
    HashPlan {
        l2: p.l2,
        l3: p.l3,
        l4: p.l4,
        seed: p.seed,
        golden: p.golden,
        mul: p.fmix_mul,
    }
}

/// The program's mode for a distributor mode and policy (`switch_independent`: transmit-lb or
/// adaptive-lb, which distribute by hash).
pub(crate) fn tx_mode(mode: Mode, policy: &HashPolicy, switch_independent: bool) -> TxMode {
    match mode {
        Mode::Hash if switch_independent => TxMode::SwitchIndependent(plan(policy)),
        Mode::Hash => TxMode::Hash(plan(policy)),
        Mode::ActiveBackup => TxMode::Single,
        Mode::RoundRobin => TxMode::RoundRobin,
        Mode::Broadcast => TxMode::Broadcast,
    }
}

/// Whether frames of `mode` go through the bucket table.
fn by_bucket(mode: Mode) -> bool {
    matches!(mode, Mode::Hash | Mode::ActiveBackup)
}

/// The member list of the round-robin and broadcast programs, in the order the program uses
/// it: the ports user space sends such frames on, so that both paths agree. Broadcast: the
/// aggregation's [`Aggregation::broadcast_ports`] (a member leaving under Marker protection
/// gets no copy); round-robin: the distributor's rotation (members not draining, else all).
/// Empty in the other modes.
pub(crate) fn list_members<F>(agg: &Aggregation<F>) -> Vec<PortNumber> {
    let dist = agg.distributor();
    match dist.config().mode {
        Mode::Broadcast => agg.broadcast_ports(),
        Mode::RoundRobin => {
            let e: Vec<PortNumber> = dist
                .ports()
                .iter()
                .copied()
                .filter(|p| !dist.draining().contains(p))
                .collect();
            if e.is_empty() {
                dist.ports().to_vec()
            } else {
                e
            }
        }
        Mode::Hash | Mode::ActiveBackup => Vec::new(),
    }
}

/// The conversation hash user space gives a host frame, as the program does: the policy's
/// hash in [`Mode::Hash`], 0 otherwise (one bucket, or none used).
pub(crate) fn host_hash(mode: Mode, policy: &HashPolicy, frame: &[u8]) -> u32 {
    match mode {
        Mode::Hash => policy.hash(&lagd_agg::lagd_distrib::FlowKey::from_frame(frame)),
        _ => 0,
    }
}

/// Per-port totals of what the fast path sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Wire frames (a GSO super-frame counts as its segments).
    pub frames: u64,
    /// Bytes.
    pub bytes: u64,
}

impl std::ops::AddAssign for Sent {
    fn add_assign(&mut self, o: Sent) {
        self.frames += o.frames;
        self.bytes += o.bytes;
    }
}

/// Counts of fast-path programs, per member: what was sent and what was received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    sent: BTreeMap<PortNumber, Sent>,
    received: BTreeMap<PortNumber, RxCounts>,
}

impl Totals {
    /// Adds what `o` counted so far.
    pub(crate) fn absorb(&mut self, o: &Offload) {
        for (p, s) in &o.sent {
            *self.sent.entry(*p).or_default() += *s;
        }
        let ports: BTreeSet<PortNumber> = o.rx.keys().chain(o.rx_gone.keys()).copied().collect();
        for p in ports {
            *self.received.entry(p).or_default() += o.received(p);
        }
    }

    /// Member `port`'s totals.
    pub(crate) fn of(&self, port: PortNumber) -> (Sent, RxCounts) {
        (
            self.sent.get(&port).copied().unwrap_or_default(),
            self.received.get(&port).copied().unwrap_or_default(),
        )
    }
}

/// Why the kernel path could not be had (the aggregation runs on the user-space path).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct Unavailable {
    /// What failed, with the kernel's answer.
    pub reason: String,
    /// What the operator can do about it.
    pub fix: String,
}

impl Unavailable {
    fn from_error(what: &str, e: &lagd_dataplane::Error) -> Unavailable {
        let text = e.to_string();
        let denied = text.contains("Operation not permitted") || text.contains("EPERM");
        let fix = if denied {
            "run lagd as root or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, and allow the bpf() system call in its syscall filter".to_string()
        } else if what.contains("attach") {
            "use Linux 6.6 or later (tcx), or a kernel with the clsact qdisc and cls_bpf (sch_ingress, cls_bpf modules)".to_string()
        } else {
            "use a kernel with BPF and its JIT enabled (CONFIG_BPF_SYSCALL, CONFIG_NET_CLS_BPF); lagd's log has the verifier's answer".to_string()
        };
        Unavailable {
            reason: format!("{what}: {text}"),
            fix,
        }
    }
}

/// The fast path of one aggregation.
#[derive(Debug)]
pub(crate) struct Offload {
    mode: Mode,
    dp: TxOffload,
    attach: AttachMode,
    ifindex: BTreeMap<PortNumber, u32>,
    /// When lagd last dispatched a frame of each bucket.
    last_slow: Vec<Option<Instant>>,
    /// Frames of each bucket lagd dispatched (published to the program after they are sent).
    consumed: Vec<u64>,
    /// Buckets whose count changed since the last publication.
    dirty: Vec<usize>,
    /// Buckets whose counts match the program's exactly (they were in the kernel since it was
    /// loaded): those are handed back without waiting for an idle gap.
    trusted: Vec<bool>,
    /// Trusted buckets not on the fast path (slow, or handing back).
    waiting: BTreeSet<usize>,
    /// The other buckets not on the fast path: they wait for an idle gap.
    untrusted: BTreeSet<usize>,
    seen: Vec<(u64, u64)>,
    member_seen: Vec<(u64, u64)>,
    sent: BTreeMap<PortNumber, Sent>,
    next_harvest: Instant,
    /// No idle pass before this: the TX thread offers one at every drained batch, and a pass
    /// walks every waiting bucket.
    next_promote: Instant,
    /// The aggregate.
    tap: u32,
    /// Each member's receive program (members where it could not be attached have none).
    rx: BTreeMap<PortNumber, RxOffload>,
    /// Why a member has no receive program.
    rx_refused: BTreeMap<PortNumber, String>,
    /// Last counts of receive programs detached since (members removed or refused).
    rx_gone: BTreeMap<PortNumber, RxCounts>,
    /// Offloaded load to add to the distributor: (bucket, bytes, segments).
    pending: Vec<(usize, u64, u64)>,
    /// Buckets handed back after a move (counts equal), and returned after an idle gap.
    hand_backs: u64,
    idle_returns: u64,
    /// When each bucket was set to hand back (monotonic ns).
    hand_back_set: Vec<u64>,
    /// From being set to hand back to being taken back: the last one and the longest (ns).
    hand_back_last: u64,
    hand_back_max: u64,
    /// Where this fast path is kept pinned (see [`Offload::keep_pinned`]).
    pins: Option<PathBuf>,
    /// Each member's interface name (its receive program's pin directory).
    names: BTreeMap<PortNumber, String>,
    /// Switch-independent modes: the program rewrites source MACs.
    switch_independent: bool,
    /// The `srcmac` entries as last written: ifindex → (aggregate's MAC, the member's own MAC
    /// or none for the receive member).
    srcmac: BTreeMap<u32, ([u8; 6], Option<[u8; 6]>)>,
    /// The aggregate's MAC as last given by the balancer.
    aggregate_mac: [u8; 6],
    /// Switch-independent modes: the peers entered in each member's receive program, with
    /// what it had counted of them at the last [`Offload::harvest_peers`].
    rx_peers: BTreeMap<PortNumber, BTreeMap<std::net::IpAddr, PeerCounts>>,
    next_peer_harvest: Instant,
    /// Receive steering on the aggregate (`rx_steering`, see [`steering`]).
    steering: steering::Steering,
}

impl Offload {
    /// Loads the program for the distributor's mode and policy and attaches it at the
    /// aggregate `tap` (every bucket on the user-space path until promoted).
    /// `switch_independent`: transmit-lb or adaptive-lb (see the module docs).
    pub(crate) fn start<F>(
        dist: &Distributor<F>,
        tap: u32,
        switch_independent: bool,
    ) -> Result<Offload, Unavailable> {
        let c = dist.config();
        let buckets = dist.bucket_table().len();
        let mut dp = TxOffload::new(
            tx_mode(c.mode, &c.policy, switch_independent),
            u32::try_from(buckets).unwrap_or(0),
        )
        .map_err(|e| Unavailable::from_error("loading the TX program", &e))?;
        let attach = dp
            .attach(tap)
            .map_err(|e| Unavailable::from_error("attaching the TX program", &e))?;
        Ok(Offload::around(dp, c.mode, attach, tap, buckets))
    }

    fn around(dp: TxOffload, mode: Mode, attach: AttachMode, tap: u32, buckets: usize) -> Offload {
        Offload {
            switch_independent: matches!(dp.mode(), TxMode::SwitchIndependent(_)),
            srcmac: BTreeMap::new(),
            aggregate_mac: [0; 6],
            rx_peers: BTreeMap::new(),
            next_peer_harvest: Instant::ZERO,
            mode,
            dp,
            attach,
            ifindex: BTreeMap::new(),
            last_slow: vec![None; buckets],
            consumed: vec![0; buckets],
            dirty: Vec::new(),
            trusted: vec![false; buckets],
            waiting: BTreeSet::new(),
            untrusted: (0..buckets).collect(),
            seen: vec![(0, 0); buckets],
            member_seen: vec![(0, 0); MAX_MEMBERS],
            sent: BTreeMap::new(),
            next_harvest: Instant::ZERO,
            next_promote: Instant::ZERO,
            tap,
            rx: BTreeMap::new(),
            rx_refused: BTreeMap::new(),
            rx_gone: BTreeMap::new(),
            pending: Vec::new(),
            hand_backs: 0,
            idle_returns: 0,
            hand_back_set: vec![0; buckets],
            hand_back_last: 0,
            hand_back_max: 0,
            pins: None,
            names: BTreeMap::new(),
            steering: steering::Steering::default(),
        }
    }

    /// A program for a new mode, policy or bucket count replaces the current one atomically
    /// (the receive programs stay). Everything the old one counted is charged first; every
    /// bucket starts on the user-space path.
    pub(crate) fn rebuild<F>(
        &mut self,
        agg: &Aggregation<F>,
        switch_independent: bool,
    ) -> Result<(), Unavailable> {
        let dist = agg.distributor();
        let c = dist.config();
        let buckets = dist.bucket_table().len();
        let mut dp = TxOffload::new(
            tx_mode(c.mode, &c.policy, switch_independent),
            u32::try_from(buckets).unwrap_or(0),
        )
        .map_err(|e| Unavailable::from_error("loading the TX program", &e))?;
        self.harvest_all();
        // The old program's pins go first: pinned, it would stay attached beside the new one.
        if let Some(d) = &self.pins {
            TxOffload::unpin(&d.join("tx"));
        }
        let attach = dp
            .attach_replacing(&mut self.dp, self.tap)
            .map_err(|e| Unavailable::from_error("replacing the TX program", &e))?;
        let mut fresh = Offload::around(dp, c.mode, attach, self.tap, buckets);
        fresh.ifindex = std::mem::take(&mut self.ifindex);
        fresh.sent = std::mem::take(&mut self.sent);
        fresh.rx = std::mem::take(&mut self.rx);
        fresh.rx_refused = std::mem::take(&mut self.rx_refused);
        fresh.rx_gone = std::mem::take(&mut self.rx_gone);
        fresh.pending = std::mem::take(&mut self.pending);
        fresh.hand_backs = self.hand_backs;
        fresh.idle_returns = self.idle_returns;
        fresh.hand_back_last = self.hand_back_last;
        fresh.hand_back_max = self.hand_back_max;
        fresh.pins = self.pins.take();
        fresh.names = std::mem::take(&mut self.names);
        fresh.aggregate_mac = self.aggregate_mac;
        fresh.steering = std::mem::take(&mut self.steering);
        *self = fresh;
        if let Some(d) = self.pins.clone()
            && let Err(e) = self.dp.pin(&d.join("tx"))
        {
            tracing::warn!(
                "offload: the new TX program is not pinned ({e}): a crash of lagd now stops the kernel fast path until lagd is back"
            );
            self.pins = None;
            Offload::unpin(&d);
        }
        self.sync(agg);
        Ok(())
    }

    /// How the programs are attached.
    pub(crate) fn attach_mode(&self) -> AttachMode {
        self.attach
    }

    /// Pins the fast path in `dir` (inside a bpffs, see [`lagd_dataplane::pin::bpffs`]): the
    /// TX program, its maps and (tcx) link in `dir/tx`, each member's receive program in
    /// `dir/rx/<member name>`. With the pins in place the kernel path keeps forwarding after
    /// this process ends (drop this value with [`Offload::leave_attached`]); a later lagd
    /// takes it over with [`Offload::adopt`]. `names` gives each port's interface name.
    pub(crate) fn pin(
        &self,
        dir: &std::path::Path,
        names: &BTreeMap<PortNumber, String>,
    ) -> lagd_dataplane::Result<()> {
        self.dp.pin(&dir.join("tx"))?;
        for (port, r) in &self.rx {
            if let Some(name) = names.get(port) {
                r.pin(&dir.join("rx").join(name))?;
            }
        }
        Ok(())
    }

    /// Pins the fast path in `dir` ([`Offload::pin`]) and keeps it pinned from now on: a new
    /// member's receive program is pinned as it is attached, a removed member's unpinned, a
    /// rebuilt TX program pinned again. The kernel path then survives a crash of this process
    /// (SIGKILL, panic), and the next lagd adopts it ([`Offload::adopt`]). `names` gives each
    /// port's interface name. On error nothing stays pinned.
    pub(crate) fn keep_pinned(
        &mut self,
        dir: PathBuf,
        names: BTreeMap<PortNumber, String>,
    ) -> lagd_dataplane::Result<()> {
        self.names = names;
        if let Err(e) = self.pin(&dir, &self.names) {
            Offload::unpin(&dir);
            return Err(e);
        }
        self.pins = Some(dir);
        Ok(())
    }

    /// Where this fast path is kept pinned, if it is.
    pub(crate) fn pinned(&self) -> Option<&Path> {
        self.pins.as_deref()
    }

    /// Removes the pins and detaches every program (a stop, or offload switched off): nothing
    /// of this fast path is left in the kernel.
    pub(crate) fn retire(mut self) {
        if let Some(d) = self.pins.take() {
            Offload::unpin(&d);
        }
        drop(self);
    }

    /// Removes the pins in `dir` (the kernel path then ends with this process).
    pub(crate) fn unpin(dir: &std::path::Path) {
        lagd_state::restore::unpin_fast_path(dir);
    }

    /// Drops this value but leaves the programs attached: pinned tcx links and clsact filters
    /// stay (an unpinned tcx link still goes with the process).
    pub(crate) fn leave_attached(self) {
        let Offload { dp, rx, .. } = self;
        dp.leave_attached();
        for (_, r) in rx {
            r.leave_attached();
        }
    }

    /// Takes over the fast path an earlier lagd pinned in `dir` for the aggregate `tap` (the
    /// same interface, kept across the restart) and `members` (port, ifindex, name): the same
    /// maps (the bucket table, counters, each member's Collecting state: the kernel went on
    /// forwarding meanwhile), new programs that replace the old ones atomically. Buckets
    /// found in the kernel stay there; the others come back as after a start. Members without
    /// a pin get a fresh receive program. Fails (changing nothing of the TX side) if the pins
    /// are of another mode, policy or bucket count: then [`Offload::start`] a fresh one.
    pub(crate) fn adopt<F>(
        dir: &std::path::Path,
        agg: &Aggregation<F>,
        tap: u32,
        members: &[(PortNumber, u32, String)],
        switch_independent: bool,
    ) -> Result<Offload, Unavailable> {
        let dist = agg.distributor();
        let c = dist.config();
        let buckets = dist.bucket_table().len();
        let dp = TxOffload::adopt(
            &dir.join("tx"),
            tx_mode(c.mode, &c.policy, switch_independent),
            u32::try_from(buckets).unwrap_or(0),
            tap,
        )
        .map_err(|e| Unavailable::from_error("adopting the pinned TX program", &e))?;
        let attach = dp.attach_mode().unwrap_or(AttachMode::Tcx);
        let mut o = Offload::around(dp, c.mode, attach, tap, buckets);
        for b in 0..buckets {
            let e = o.dp.bucket(b);
            o.consumed[b] = o.dp.consumed(b);
            o.seen[b] = o.dp.counts(b);
            if e != 0 && e & HAND_BACK == 0 {
                o.trusted[b] = true;
                o.untrusted.remove(&b);
            }
        }
        for slot in 0..MAX_MEMBERS {
            o.member_seen[slot] = o.dp.member_counts(slot);
        }
        // It stays pinned where it was: new receive programs are pinned as they come.
        o.pins = Some(dir.to_path_buf());
        for (port, ifindex, name) in members {
            o.ifindex.insert(*port, *ifindex);
            match RxOffload::adopt(&dir.join("rx").join(name), *ifindex) {
                Ok(r) => {
                    o.names.insert(*port, name.clone());
                    o.rx.insert(*port, r);
                }
                Err(e) => {
                    tracing::info!(member = %name, "offload: no receive program to adopt ({e}); attaching one");
                    o.set_member(*port, *ifindex, name);
                }
            }
        }
        // Receive programs of interfaces that are no longer members go.
        let kept: BTreeSet<&str> = members.iter().map(|(_, _, n)| n.as_str()).collect();
        if let Ok(rd) = std::fs::read_dir(dir.join("rx")) {
            for e in rd.flatten() {
                if !kept.contains(e.file_name().to_string_lossy().as_ref()) {
                    tracing::info!(member = %e.file_name().to_string_lossy(), "offload: receive program of a former member removed");
                    RxOffload::unpin(&e.path());
                }
            }
        }
        o.sync(agg);
        Ok(o)
    }

    /// Member `port` is interface `ifindex`: its receive program is attached (data frames are
    /// dropped until it is Collecting). Returns whether it was; if so, the member's packet
    /// socket must receive Slow Protocols frames only.
    pub(crate) fn set_member(&mut self, port: PortNumber, ifindex: u32, name: &str) -> bool {
        self.ifindex.insert(port, ifindex);
        self.remove_rx(port);
        self.names.insert(port, name.to_string());
        // A lagd that did not stop cleanly may have left clsact filters (tcx links die with
        // their process): they would run after ours.
        match lagd_dataplane::Netlink::open().and_then(|mut nl| nl.remove_lagd_filters(ifindex)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                port,
                "offload: removed {n} stale lagd filter(s) from the member"
            ),
            Err(e) => tracing::debug!(port, "offload: looking for stale filters: {e}"),
        }
        match RxOffload::attach(ifindex) {
            Ok(mut r) => {
                if self.switch_independent {
                    // lagd judges every frame until the balancer's state is written
                    // ([`Offload::sync_balancer`]).
                    let b = RxBalancer {
                        aggregate: self.aggregate_mac,
                        own: None,
                        receive: false,
                    };
                    if let Err(e) = r.set_balancer(Some(b)) {
                        tracing::warn!(port, "offload: receive filter: {e}");
                    }
                }
                if let Some(d) = &self.pins
                    && let Err(e) = r.pin(&d.join("rx").join(name))
                {
                    tracing::warn!(
                        port,
                        "offload: receive program not pinned ({e}): after a crash of lagd this member's frames wait for the next lagd"
                    );
                }
                self.rx.insert(port, r);
                self.rx_refused.remove(&port);
                true
            }
            Err(e) => {
                tracing::warn!(
                    port,
                    "offload: receive program not attached ({e}); this member's frames take the user-space path"
                );
                self.rx_refused.insert(port, e.to_string());
                false
            }
        }
    }

    /// Member `port` is gone: its receive program is detached, and its buckets leave the fast
    /// path at the next [`Offload::sync`].
    pub(crate) fn remove_member(&mut self, port: PortNumber) {
        if let Some(ifi) = self.ifindex.get(&port).copied()
            && self.srcmac.remove(&ifi).is_some()
            && let Err(e) = self.dp.forget_srcmac(ifi)
        {
            tracing::debug!(port, "offload: source MAC entry: {e}");
        }
        self.ifindex.remove(&port);
        self.rx_refused.remove(&port);
        self.remove_rx(port);
        self.names.remove(&port);
    }

    /// Detaches member `port`'s receive program (its counts are kept; its pins removed).
    pub(crate) fn remove_rx(&mut self, port: PortNumber) {
        if let (Some(d), Some(name)) = (&self.pins, self.names.get(&port)) {
            RxOffload::unpin(&d.join("rx").join(name));
        }
        if let Some(r) = self.rx.remove(&port) {
            *self.rx_gone.entry(port).or_default() += r.counts().unwrap_or_default();
        }
        self.rx_peers.remove(&port);
    }

    /// Member `port`'s receive program could not be kept (e.g. its socket could not be
    /// filtered): detached, with the reason.
    pub(crate) fn refuse_rx(&mut self, port: PortNumber, why: String) {
        self.remove_rx(port);
        self.rx_refused.insert(port, why);
    }

    /// Whether member `port`'s frames arrive through the kernel fast path.
    pub(crate) fn has_rx(&self, port: PortNumber) -> bool {
        self.rx.contains_key(&port)
    }

    /// Why member `port`'s frames do not arrive through the kernel fast path.
    pub(crate) fn rx_refused(&self, port: PortNumber) -> Option<&str> {
        self.rx_refused.get(&port).map(String::as_str)
    }

    /// Follows the members' Collecting state (§6.4.15): data frames of a Collecting member go
    /// to the aggregate, the others' are dropped.
    pub(crate) fn sync_collecting(&mut self, collecting: impl Fn(PortNumber) -> bool) {
        let tap = self.tap;
        for (port, r) in self.rx.iter_mut() {
            let want = (collecting(*port) && tap != 0).then_some(tap);
            if let Err(e) = r.set_collecting(want) {
                tracing::warn!(port, "offload: receive state: {e}");
            }
        }
    }

    /// Switch-independent modes: the TX program's source MAC per member and each receive
    /// program's filter follow the balancer `alb` (its members' MACs on the wire, the receive
    /// member, the aggregate's MAC); written only on change, in the order the module docs
    /// give. Call before [`Offload::sync`], so that a member has its MAC before its buckets
    /// go to the kernel. Other modes (`alb` is `None`): nothing.
    pub(crate) fn sync_balancer(&mut self, alb: Option<&Alb>) {
        let Some(alb) = alb.filter(|_| self.switch_independent) else {
            return;
        };
        let aggregate = alb.config().aggregate_mac.0;
        self.aggregate_mac = aggregate;
        let receive = alb.receive_member();
        let own = |p: PortNumber| {
            alb.wire_members()
                .iter()
                .find(|m| m.port == p)
                .map(|m| m.mac.0)
        };
        // Source rewrite on first, off (the receive member) second.
        for on in [true, false] {
            for (port, ifi) in &self.ifindex {
                let Some(mac) = own(*port) else { continue };
                let want = (aggregate, (Some(*port) != receive).then_some(mac));
                if want.1.is_some() != on || self.srcmac.get(ifi) == Some(&want) {
                    continue;
                }
                match self.dp.set_srcmac(*ifi, want.0, want.1) {
                    Ok(()) => {
                        self.srcmac.insert(*ifi, want);
                    }
                    Err(e) => tracing::warn!(port, "offload: source MAC entry: {e}"),
                }
            }
        }
        // Receive filters: the old receive member stops first.
        for first in [true, false] {
            for (port, r) in self.rx.iter_mut() {
                let is_receive = Some(*port) == receive;
                if is_receive == first {
                    continue;
                }
                let want = RxBalancer {
                    aggregate,
                    own: own(*port),
                    receive: is_receive,
                };
                if let Err(e) = r.set_balancer(Some(want)) {
                    tracing::warn!(port, "offload: receive filter: {e}");
                }
            }
        }
    }

    /// Switch-independent modes, every [`PEER_HARVEST`]: enters the balancer's new peers in
    /// every receive program and returns, per peer, the bytes the programs delivered from it
    /// since the last call (for [`Aggregation::account_peer_received`]). A program whose map
    /// is full counts further peers as untracked.
    pub(crate) fn harvest_peers(
        &mut self,
        now: Instant,
        alb: Option<&Alb>,
    ) -> Vec<(std::net::IpAddr, u64)> {
        let Some(alb) = alb.filter(|_| self.switch_independent) else {
            return Vec::new();
        };
        if now < self.next_peer_harvest {
            return Vec::new();
        }
        self.next_peer_harvest = now + PEER_HARVEST;
        let mut got: BTreeMap<std::net::IpAddr, u64> = BTreeMap::new();
        for (port, r) in &self.rx {
            let seen = self.rx_peers.entry(*port).or_default();
            for ip in alb.peer_addresses() {
                match seen.get_mut(&ip) {
                    Some(last) => match r.peer_counts(ip) {
                        Ok(Some(c)) => {
                            let d = c.bytes.saturating_sub(last.bytes);
                            *last = c;
                            if d > 0 {
                                *got.entry(ip).or_default() += d;
                            }
                        }
                        Ok(None) => {
                            seen.remove(&ip);
                        }
                        Err(e) => tracing::debug!(port, %ip, "offload: peer counter: {e}"),
                    },
                    None => match r.add_peer(ip) {
                        Ok(c) => {
                            seen.insert(ip, c);
                        }
                        Err(e) => tracing::debug!(port, %ip, "offload: peer not counted: {e}"),
                    },
                }
            }
        }
        got.into_iter().collect()
    }

    /// What the receive programs delivered from sources that are not the balancer's peers
    /// (IPv4 and IPv6; switch-independent modes): frames, bytes.
    pub(crate) fn rx_untracked(&self) -> (u64, u64) {
        self.rx.values().fold((0, 0), |(f, b), r| {
            let c = r.untracked().unwrap_or_default();
            (f + c.frames, b + c.bytes)
        })
    }

    /// What member `port`'s receive programs counted.
    pub(crate) fn received(&self, port: PortNumber) -> RxCounts {
        let mut c = self
            .rx
            .get(&port)
            .and_then(|r| r.counts().ok())
            .unwrap_or_default();
        if let Some(g) = self.rx_gone.get(&port) {
            c += *g;
        }
        c
    }

    /// lagd dispatched a frame of `bucket` (it came through user space) at `now`; counted as
    /// consumed once sent ([`Offload::after_send`]).
    pub(crate) fn note_dispatch(&mut self, now: Instant, bucket: usize) {
        if let Some(t) = self.last_slow.get_mut(bucket) {
            *t = Some(now);
        }
        if let Some(c) = self.consumed.get_mut(bucket) {
            *c += 1;
            if self.dirty.last() != Some(&bucket) {
                self.dirty.push(bucket);
            }
        }
    }

    /// Notes the buckets the program took back (handing back, counts equal) as fast.
    fn settle_hand_backs(&mut self) {
        let done: Vec<usize> = self
            .waiting
            .iter()
            .copied()
            .filter(|b| {
                let e = self.dp.bucket(*b);
                e & HAND_BACK != 0 && self.dp.passed(*b).0 == self.dp.consumed(*b)
            })
            .collect();
        for b in done {
            let e = self.dp.bucket(b);
            self.dp.set_bucket(b, e & !HAND_BACK);
            self.waiting.remove(&b);
            self.hand_backs += 1;
            // How long a bucket with traffic waited (one without is simply settled).
            let set = self.hand_back_set.get(b).copied().unwrap_or(0);
            let taken = self.dp.handed_back_ns(b);
            if taken >= set && set != 0 {
                self.hand_back_last = taken - set;
                self.hand_back_max = self.hand_back_max.max(self.hand_back_last);
            }
        }
    }

    /// The TX thread sent every frame it dispatched in this round: their counts are published
    /// to the program, then moved buckets are handed back (see the module docs).
    pub(crate) fn after_send<F>(&mut self, dist: &Distributor<F>) {
        self.dirty.sort_unstable();
        self.dirty.dedup();
        for b in std::mem::take(&mut self.dirty) {
            if let Some(c) = self.consumed.get(b) {
                self.dp.set_consumed(b, *c);
            }
        }
        if !by_bucket(self.mode) || dist.has_pending() {
            return;
        }
        self.settle_hand_backs();
        let candidates: Vec<usize> = self.waiting.iter().copied().collect();
        for b in candidates {
            let entry = self.dp.bucket(b);
            if entry & HAND_BACK != 0 || dist.is_moving(b) {
                continue;
            }
            let target = self.target(dist, b);
            if target != 0 {
                self.dp.set_bucket(b, target | HAND_BACK);
                if let Some(t) = self.hand_back_set.get_mut(b) {
                    *t = lagd_dataplane::monotonic_now().as_nanos();
                }
            }
        }
    }

    /// Takes buckets off the fast path or moves them, as the distributor decided: a bucket
    /// that is moving or has no member leaves the fast path; a fast bucket whose member
    /// changed (failover) follows at once. Round-robin and broadcast: the member list
    /// ([`list_members`]: the same ports user space sends such frames on).
    pub(crate) fn sync<F>(&mut self, agg: &Aggregation<F>) {
        let dist = agg.distributor();
        if !by_bucket(self.mode) {
            let ports = list_members(agg);
            let list: Option<Vec<u32>> =
                ports.iter().map(|p| self.ifindex.get(p).copied()).collect();
            let list = list.unwrap_or_default();
            if list.as_slice() != self.dp.members() {
                self.harvest_members();
                if !self.dp.set_members(&list) {
                    tracing::warn!(
                        members = list.len(),
                        "offload: more than {MAX_MEMBERS} members; round-robin and broadcast frames take the user-space path"
                    );
                }
            }
            return;
        }
        let (mut followed, mut to_user) = (0usize, 0usize);
        for b in 0..self.dp.buckets() {
            let entry = self.dp.bucket(b);
            if entry == 0 {
                continue;
            }
            let want = if dist.is_moving(b) {
                0
            } else {
                self.target(dist, b)
            };
            let member = entry & !HAND_BACK;
            if want == member {
                continue;
            }
            // What the bucket sent so far is charged to the member it was on.
            self.harvest_bucket(b);
            let next = if want == 0 {
                0
            } else {
                want | (entry & HAND_BACK)
            };
            self.dp.set_bucket(b, next);
            if next == 0 {
                self.wait(b);
                to_user += 1;
            } else {
                followed += 1;
            }
        }
        if followed + to_user > 0 {
            tracing::debug!(
                followed,
                to_user,
                "offload: buckets follow their new member, or go to user space for a move"
            );
        }
    }

    fn wait(&mut self, b: usize) {
        if self.trusted.get(b).copied().unwrap_or(false) {
            self.waiting.insert(b);
        } else {
            self.untrusted.insert(b);
        }
    }

    fn target<F>(&self, dist: &Distributor<F>, b: usize) -> u32 {
        dist.bucket_table()
            .get(b)
            .copied()
            .flatten()
            .and_then(|p| self.ifindex.get(&p).copied())
            .unwrap_or(0)
    }

    /// Puts on the fast path every waiting bucket that has a member, is not moving, and whose
    /// last frame in user space is at least [`IDLE`] old in lagd and in the program; its counts
    /// then match (nothing of it is in between) and stay exact. Call only when no frame waits
    /// in user space: the TX thread found the TAP empty and sent everything it read (the
    /// forwarder's `tap_drained`), and the distributor holds nothing.
    pub(crate) fn promote<F>(&mut self, now: Instant, dist: &Distributor<F>) {
        if now < self.next_promote || dist.has_pending() || !by_bucket(self.mode) {
            return;
        }
        self.next_promote = now + PROMOTE_EVERY;
        self.settle_hand_backs();
        let idle = |t: Instant| now.saturating_since(t) >= IDLE;
        let candidates: Vec<usize> = self
            .waiting
            .iter()
            .chain(&self.untrusted)
            .copied()
            .collect();
        for b in candidates {
            if dist.is_moving(b) {
                continue;
            }
            if !self.last_slow.get(b).copied().flatten().is_none_or(idle) {
                continue;
            }
            let target = self.target(dist, b);
            if target == 0 {
                continue;
            }
            // The program's own note: a frame it passed to user space may still wait in the
            // TAP's queue, where lagd has not seen it yet.
            let (passed, last_ns) = self.dp.passed(b);
            if last_ns != 0 && !idle(Instant::from_nanos(last_ns)) {
                continue;
            }
            if let Some(c) = self.consumed.get_mut(b) {
                *c = passed;
            }
            self.dp.set_consumed(b, passed);
            if let Some(t) = self.trusted.get_mut(b) {
                *t = true;
            }
            self.dp.set_bucket(b, target);
            self.waiting.remove(&b);
            self.untrusted.remove(&b);
            if passed != 0 {
                self.idle_returns += 1;
            }
        }
    }

    /// When the next counter harvest is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_harvest)
    }

    /// Reads the kernel counters when due, charging each bucket's new counts to the member it
    /// is on; the load goes to [`Offload::take_pending`].
    pub(crate) fn harvest(&mut self, now: Instant) {
        if now < self.next_harvest {
            return;
        }
        self.next_harvest = now + HARVEST;
        self.harvest_all();
        if self.steering.pending() {
            let mut s = std::mem::take(&mut self.steering);
            s.try_switch(|| self.received_total().0);
            self.steering = s;
        }
        if by_bucket(self.mode) {
            self.settle_hand_backs();
        }
    }

    /// Reads the kernel counters now (for a status or counters request).
    pub(crate) fn harvest_now(&mut self) {
        self.harvest_all();
    }

    fn harvest_all(&mut self) {
        if by_bucket(self.mode) {
            for b in 0..self.dp.buckets() {
                self.harvest_bucket(b);
            }
        } else {
            self.harvest_members();
        }
    }

    fn port_of_ifindex(&self, ifindex: u32) -> Option<PortNumber> {
        self.ifindex
            .iter()
            .find(|(_, i)| **i == ifindex)
            .map(|(p, _)| *p)
    }

    fn harvest_bucket(&mut self, b: usize) {
        let (bytes, segs) = self.dp.counts(b);
        let Some(seen) = self.seen.get_mut(b) else {
            return;
        };
        let (db, ds) = (bytes.saturating_sub(seen.0), segs.saturating_sub(seen.1));
        *seen = (bytes, segs);
        if ds == 0 {
            return;
        }
        let current = self.dp.bucket(b) & !HAND_BACK;
        if let Some(port) = self.port_of_ifindex(current) {
            *self.sent.entry(port).or_default() += Sent {
                frames: ds,
                bytes: db,
            };
        }
        self.pending.push((b, db, ds));
    }

    /// Charges each member slot's new counts to the member in that slot of the list.
    fn harvest_members(&mut self) {
        for slot in 0..MAX_MEMBERS {
            let (bytes, segs) = self.dp.member_counts(slot);
            let Some(seen) = self.member_seen.get_mut(slot) else {
                continue;
            };
            let (db, ds) = (bytes.saturating_sub(seen.0), segs.saturating_sub(seen.1));
            *seen = (bytes, segs);
            if ds == 0 {
                continue;
            }
            let ifi = self.dp.members().get(slot).copied().unwrap_or(0);
            if let Some(port) = self.port_of_ifindex(ifi) {
                *self.sent.entry(port).or_default() += Sent {
                    frames: ds,
                    bytes: db,
                };
            }
        }
    }

    /// Offloaded load not yet given to the distributor: (bucket, bytes, segments).
    pub(crate) fn take_pending(&mut self) -> Vec<(usize, u64, u64)> {
        std::mem::take(&mut self.pending)
    }

    /// What the fast path sent in all.
    pub(crate) fn sent_total(&self) -> Sent {
        self.sent.values().fold(Sent::default(), |mut a, s| {
            a += *s;
            a
        })
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.dp.buckets()
    }

    /// Buckets on the fast path now (round-robin, broadcast: all while the program has the
    /// member list).
    pub(crate) fn fast_buckets(&self) -> usize {
        if !by_bucket(self.mode) {
            return if self.dp.members().is_empty() {
                0
            } else {
                self.dp.buckets()
            };
        }
        (0..self.dp.buckets())
            .filter(|b| {
                let e = self.dp.bucket(*b);
                e != 0 && e & HAND_BACK == 0
            })
            .count()
    }

    /// Buckets handed back after a move, and returned after an idle gap, so far.
    pub(crate) fn returns(&self) -> (u64, u64) {
        (self.hand_backs, self.idle_returns)
    }

    /// From a bucket set to hand back (the move over) to the program taking it back: the
    /// last time and the longest, in ns.
    pub(crate) fn hand_back_times(&self) -> (u64, u64) {
        (self.hand_back_last, self.hand_back_max)
    }

    /// What the members' receive programs delivered to the aggregate (wire frames, bytes).
    pub(crate) fn received_total(&self) -> (u64, u64) {
        let ports: BTreeSet<PortNumber> =
            self.rx.keys().chain(self.rx_gone.keys()).copied().collect();
        ports.into_iter().fold((0, 0), |(f, b), p| {
            let c = self.received(p);
            (f + c.frames, b + c.bytes)
        })
    }

    /// Members whose received frames go through the kernel.
    pub(crate) fn rx_members(&self) -> usize {
        self.rx.len()
    }

    /// Receive steering on the aggregate `ifname` as `setting` asks: at once if `idle` (no
    /// receive program delivers yet), else at the first moment it cannot reorder anything
    /// ([`steering`]; retried at every counter harvest).
    pub(crate) fn set_rx_steering(&mut self, ifname: &str, setting: RxSteering, idle: bool) {
        let mut s = std::mem::take(&mut self.steering);
        s.set(ifname, setting, idle, || self.received_total().0);
        self.steering = s;
    }

    /// Receive steering in force (`by-flow`, `off`, or a change waiting), and the changes a
    /// frame crossed.
    pub(crate) fn rx_steering(&self) -> (Option<String>, u64) {
        self.steering.status()
    }
}
