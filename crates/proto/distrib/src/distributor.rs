//! The Frame Distributor (802.1AX §6.2.4, §8.2): conversations → buckets → Distributing ports,
//! with marker-protected moves (§6.5, the Marker protocol) and load rebalancing.
//!
//! # Model
//!
//! A frame's conversation hash picks one of `buckets` buckets (`hash & (buckets - 1)`); the
//! bucket table maps each bucket to a member port. Membership changes and rebalancing move
//! whole buckets, never rehash (no modulo remap).
//!
//! # Moves and ordering
//!
//! To move buckets B from port A to port X without reordering, the distributor stops sending
//! B's frames (holding them, in order), asks for a Marker on A ([`poll_marker_request`]) behind
//! the last frames of B sent there, and when the Marker Response returns (or the timeout
//! passes; or, with [`MoveProtection::CollectorDelay`], after the delay) switches B to X and
//! releases the held frames ([`poll_release`]) before any new frame of B. While a bucket moves,
//! its new frames are held too. A failed port's buckets move at once; the caller drains a port
//! that only stops distributing, its link still carrying frames
//! ([`drain_ports`](Distributor::drain_ports), [`leave_ports`](Distributor::leave_ports)).
//!
//! # Marker pacing
//!
//! Moves off one port share one Marker while it has not gone out, or while no frame was sent
//! on the port since it did. A new Marker on a port waits
//! [`marker_interval`](DistributorConfig::marker_interval) (2 s) after the latest Marker sent or
//! response received there, because some responders answer one Marker per port in such an
//! interval and ignore the rest (DPDK's bonding PMD). A move that would need one sooner
//! (rebalancing, a returning port taking back its share) is deferred, coalesced per bucket and
//! so per port pair; its conversations keep flowing on their port (nothing is held), and it
//! starts when the interval has passed, unless a newer plan replaced it or it no longer
//! applies. An administrative drain ([`drain_ports`](Distributor::drain_ports)) is paced the
//! same way: the port still distributes, so its conversations keep flowing there until its
//! Marker may go. Moves off a port that left distribution for protocol reasons
//! ([`leave_ports`](Distributor::leave_ports): it must carry nothing more) and the quiesce of a
//! remap never wait; a rate-limited responder may then leave them to the Marker timeout.
//!
//! Caller contract, which the ordering guarantee relies on:
//! - act on each [`Dispatch`] in the order returned, then drain [`poll_release`] until `None`
//!   after every `handle_*` / `set_*` / `drain_port` call;
//! - send each [`MarkerRequest`] on its port after the frames already sent there.
//!   [`poll_marker_request`] returns nothing while released frames wait in [`poll_release`],
//!   so draining releases first is enough.
//!
//! # When the Marker timeout starts
//!
//! A Marker waits in its port's transmit queue (a qdisc, a NIC ring) behind the frames sent
//! there before it; a deep queue may hold it longer than the Marker timeout. Counted from the
//! request, the timeout would then complete the move while frames of its buckets still wait
//! on the old port, and the released frames would overtake them on the new one. A caller that
//! learns when a Marker left the port (lagd: a transmit timestamp of the Marker frame, taken
//! when the driver takes it from the qdisc) says so with
//! [`set_departure_reports`](Distributor::set_departure_reports) and reports each departure
//! with [`handle_marker_departed`](Distributor::handle_marker_departed): the timeout then
//! counts from the departure, and a Marker not reported within
//! [`marker_queue_limit`](DistributorConfig::marker_queue_limit) (dropped or stuck in the
//! queue) is taken as departed then. Without reports the timeout counts from the request.
//!
//! Held frames are bounded by `max_held_frames` (held + waiting for release). When a frame
//! would exceed it, the move it waits for completes early (counted as an early completion,
//! reported as [`Completion::Timeout`]): a documented reordering risk, never a loss.
//!
//! # Live configuration
//!
//! A change of mode, hash policy (in [`Mode::Hash`]) or bucket count may remap every
//! conversation. It is protected like a move of everything: moves in flight are cancelled
//! (their held frames go back to the port they were moving off, which keeps them in order), the
//! table is rebuilt, a Marker is requested on **every** port (or the collector delay is
//! waited), and all frames are held until every response is back (or the timeout passes); then
//! they are released, in order, under the new mapping. This is a quiesce of one round trip.
//! With [`MoveProtection::None`] the change applies at once.
//!
//! [`poll_marker_request`]: Distributor::poll_marker_request
//! [`poll_release`]: Distributor::poll_release

use std::collections::VecDeque;

use lagd_types::{Duration, Instant, PortNumber};

use crate::planner::{BucketLoad, plan_rebalance, take_share, water_fill};
use crate::{
    Completion, Dispatch, DistEvent, DistStats, DistributorConfig, DropReason, FlowKey,
    MarkerRequest, Mode, MoveProtection, MoveReason, PortStats,
};

/// `moving[b]` when bucket `b` is not moving.
const NOT_MOVING: u32 = u32::MAX;
/// Held-frame tag of the policy-change quiesce.
const QUIESCE: u32 = u32::MAX;
/// `table_slot[b]` when bucket `b` has no port.
const NO_SLOT: u32 = u32::MAX;

/// A frame held during a move.
#[derive(Debug)]
struct Held<F> {
    /// The move slot it waits for, or [`QUIESCE`].
    tag: u32,
    hash: u32,
    len: u32,
    item: F,
}

/// A frame waiting in `poll_release`.
#[derive(Debug)]
struct Released<F> {
    port: PortNumber,
    slot: u32,
    len: u32,
    item: F,
}

/// A protected move of buckets from one port to another.
#[derive(Debug)]
struct Move {
    id: u64,
    /// The [`MarkerRequest`] that protects it: its own id, or the id of an earlier move off the
    /// same port whose Marker had not gone out yet (one Marker covers both).
    marker: u64,
    from: PortNumber,
    to: PortNumber,
    buckets: Vec<u32>,
    deadline: Instant,
    /// How the move completes when `deadline` passes.
    on_deadline: Completion,
}

/// A planned move waiting for its source port's Marker pacing interval
/// ([`DistributorConfig::marker_interval`]); the bucket keeps its port meanwhile.
#[derive(Clone, Copy, Debug)]
struct Deferred {
    bucket: u32,
    from: PortNumber,
    to: PortNumber,
    reason: MoveReason,
}

/// The quiesce that protects a remap (mode, policy or bucket count change).
#[derive(Debug)]
struct Quiesce {
    /// Every id (one per marker, or one for a collector delay).
    ids: Vec<u64>,
    /// Markers not yet answered: (id, port).
    pending: Vec<(u64, PortNumber)>,
    /// Whether completion waits for markers (else only for the deadline).
    markers: bool,
    deadline: Instant,
    on_deadline: Completion,
    /// The latest departure reported of its Markers.
    departed: Option<Instant>,
}

/// Counters of one port (kept across membership changes).
#[derive(Clone, Debug, Default)]
struct Slot {
    port: PortNumber,
    frames: u64,
    bytes: u64,
    last_interval_bytes: u64,
    /// The latest Marker sent or Marker Response received on the port (pacing).
    marker_at: Option<Instant>,
    /// The latest Marker requested on the port for a move, and `frames` when it was: while
    /// no frame went out there since, a new move off the port may share it.
    marker_req: Option<(u64, u64)>,
}

#[derive(Clone, Debug, Default)]
struct Counters {
    frames_in: u64,
    moves_started: u64,
    moves_completed: u64,
    buckets_moved: u64,
    frames_held: u64,
    frames_released: u64,
    frames_dropped: u64,
    marker_timeouts: u64,
    early_completions: u64,
    moves_cancelled: u64,
    stale_marker_responses: u64,
    rebalance_runs: u64,
}

/// The Frame Distributor: a pure state machine (no clock, no I/O). See the module docs.
///
/// `F` is the caller's frame handle (a buffer, an index, a test record); the distributor only
/// stores and returns it.
#[derive(Debug)]
pub struct Distributor<F> {
    config: DistributorConfig,
    /// Frames of the buckets also leave by another path (lagd's kernel fast path) that is
    /// counted only later ([`Distributor::account_sent`]): a Marker already sent on a port may
    /// be ahead of frames sent there since, so no new move shares it.
    other_sender: bool,
    /// The caller reports when each Marker leaves its port
    /// ([`Distributor::handle_marker_departed`]).
    departure_reports: bool,
    /// Markers requested (with departure reports) whose departure is not reported yet.
    undeparted: Vec<u64>,
    mask: usize,
    /// Distributing members, priority order.
    ports: Vec<PortNumber>,
    /// Slot of each member (parallel to `ports`).
    port_slots: Vec<u32>,
    /// Ports being drained (members).
    draining: Vec<PortNumber>,
    /// Draining ports whose `Drained` was reported.
    drained_reported: Vec<PortNumber>,
    /// Draining ports that left distribution ([`Distributor::leave_ports`]): their moves never
    /// wait for Marker pacing.
    leaving: Vec<PortNumber>,
    /// Round-robin rotation (members not draining, else all members).
    rr_ports: Vec<(PortNumber, u32)>,
    rr_next: usize,
    table: Vec<Option<PortNumber>>,
    table_slot: Vec<u32>,
    moving: Vec<u32>,
    bucket_bytes: Vec<u64>,
    /// Per bucket: bytes hashed to it in the last complete rebalance interval.
    last_bucket_bytes: Vec<u64>,
    slots: Vec<Slot>,
    moves: Vec<Option<Move>>,
    /// Moves waiting for their source's Marker pacing interval, at most one per bucket.
    deferred: Vec<Deferred>,
    quiesce: Option<Quiesce>,
    held: VecDeque<Held<F>>,
    release: VecDeque<Released<F>>,
    markers: VecDeque<MarkerRequest>,
    events: VecDeque<DistEvent>,
    next_id: u64,
    next_rebalance: Option<Instant>,
    last_active: Option<PortNumber>,
    /// A port joined while other moves were in flight: once they complete, bucket counts are
    /// evened out again (buckets already moving could not be given to the newcomer).
    even_out_pending: bool,
    c: Counters,
}

impl<F> Distributor<F> {
    /// A distributor with no ports (every frame is dropped with [`DropReason::NoPort`] until
    /// [`set_ports`](Self::set_ports)). The configuration is [`normalized`](DistributorConfig::normalized).
    pub fn new(config: DistributorConfig) -> Self {
        let config = config.normalized();
        let n = config.buckets;
        let cap = config.max_held_frames;
        Distributor {
            other_sender: false,
            departure_reports: false,
            undeparted: Vec::new(),
            mask: n - 1,
            ports: Vec::new(),
            port_slots: Vec::new(),
            draining: Vec::new(),
            drained_reported: Vec::new(),
            leaving: Vec::new(),
            rr_ports: Vec::new(),
            rr_next: 0,
            table: vec![None; n],
            table_slot: vec![NO_SLOT; n],
            moving: vec![NOT_MOVING; n],
            bucket_bytes: vec![0; n],
            last_bucket_bytes: vec![0; n],
            slots: Vec::new(),
            moves: Vec::new(),
            deferred: Vec::new(),
            quiesce: None,
            held: VecDeque::with_capacity(cap),
            release: VecDeque::with_capacity(cap + 1),
            markers: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
            next_rebalance: None,
            last_active: None,
            even_out_pending: false,
            c: Counters::default(),
            config,
        }
    }

    /// The configuration in force (normalized).
    pub fn config(&self) -> &DistributorConfig {
        &self.config
    }

    /// Changes the configuration live.
    ///
    /// A change of mode, of hash policy (in [`Mode::Hash`]) or of bucket count remaps
    /// conversations: protected by a quiesce (see the module docs; events
    /// `BucketsMoved { from: None, reason: PolicyChange }` per port, then one `MoveCompleted`
    /// per marker). Other changes (rebalancing, protection, held limit) apply to what follows.
    /// Callers using [`handle_hashed`](Self::handle_hashed) must hash with the new policy as
    /// soon as this returns.
    pub fn set_config(&mut self, now: Instant, config: DistributorConfig) {
        let new = config.normalized();
        if new == self.config {
            return;
        }
        let old = core::mem::replace(&mut self.config, new);
        let cap = self.config.max_held_frames;
        if cap > self.held.capacity() {
            self.held.reserve(cap - self.held.len());
        }
        if cap + 1 > self.release.capacity() {
            self.release.reserve(cap + 1 - self.release.len());
        }
        let remap = old.mode != self.config.mode
            || old.buckets != self.config.buckets
            || (self.config.mode == Mode::Hash && old.policy != self.config.policy);
        let ordered = matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup);
        if remap || !ordered || self.config.move_protection == MoveProtection::None {
            self.cancel_all_moves();
        }
        if remap {
            self.deferred.clear();
            let n = self.config.buckets;
            self.mask = n - 1;
            self.table = vec![None; n];
            self.table_slot = vec![NO_SLOT; n];
            self.moving = vec![NOT_MOVING; n];
            self.bucket_bytes = vec![0; n];
            self.last_bucket_bytes = vec![0; n];
            self.rebuild_table();
            for i in 0..self.ports.len() {
                let Some(&p) = self.ports.get(i) else { break };
                let count = self.table.iter().filter(|o| **o == Some(p)).count();
                if count > 0 {
                    self.events.push_back(DistEvent::BucketsMoved {
                        from: None,
                        to: p,
                        buckets: count,
                        reason: MoveReason::PolicyChange,
                    });
                }
            }
            if ordered {
                self.start_quiesce(now);
            }
        }
        if old.rebalance_interval != self.config.rebalance_interval || old.mode != self.config.mode
        {
            self.next_rebalance = None;
            self.schedule_rebalance(now);
        }
        self.after_change(now);
    }

    /// Sets the Distributing members, in priority order (first = preferred for
    /// [`Mode::ActiveBackup`]). Duplicates are ignored.
    ///
    /// Ports that disappeared are failed: their buckets move at once (nothing can still arrive
    /// from a dead link), spread over the survivors by water-filling (each bucket to the
    /// survivor with the fewest), so survivors within one bucket of each other stay so. Moves
    /// in flight from a failed port complete at once; moves to a failed port are cancelled
    /// (their frames go back to the source). New ports take back about `buckets / n` each, from
    /// the members with the most buckets, each move marker-protected.
    pub fn set_ports(&mut self, now: Instant, ports: &[PortNumber]) {
        let mut new: Vec<PortNumber> = Vec::with_capacity(ports.len());
        for &p in ports {
            if !new.contains(&p) {
                new.push(p);
            }
        }
        let failed: Vec<PortNumber> = self
            .ports
            .iter()
            .copied()
            .filter(|p| !new.contains(p))
            .collect();
        let added: Vec<PortNumber> = new
            .iter()
            .copied()
            .filter(|p| !self.ports.contains(p))
            .collect();
        self.ports = new;
        self.port_slots = Vec::with_capacity(self.ports.len());
        for i in 0..self.ports.len() {
            let Some(&p) = self.ports.get(i) else { break };
            let s = self.slot_of(p);
            self.port_slots.push(s);
        }
        let members = self.ports.clone();
        self.draining.retain(|p| members.contains(p));
        self.drained_reported.retain(|p| members.contains(p));
        self.leaving.retain(|p| members.contains(p));
        self.update_rr();
        self.prune_deferred();

        // Moves touching a failed port end now.
        for slot in 0..self.moves.len() {
            let touches = self
                .moves
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|m| failed.contains(&m.from) || failed.contains(&m.to));
            if touches {
                let to_failed = self
                    .moves
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|m| failed.contains(&m.to));
                if to_failed {
                    self.c.moves_cancelled += 1;
                } else {
                    self.c.early_completions += 1;
                }
                self.complete_move(slot, Completion::Timeout);
            }
        }
        // Quiesce markers on failed ports will never return.
        if let Some(q) = self.quiesce.as_mut() {
            q.pending.retain(|(_, p)| !failed.contains(p));
            if q.markers && q.pending.is_empty() {
                self.c.early_completions += 1;
                self.complete_quiesce(Completion::Timeout);
            }
        }

        self.assign_orphans(!failed.is_empty());
        if self.config.mode != Mode::ActiveBackup && !added.is_empty() {
            self.take_back(now, &added);
        }
        self.schedule_rebalance(now);
        self.after_change(now);
    }

    /// Graceful administrative removal: moves every bucket off `port` with marker protection,
    /// then reports [`DistEvent::Drained`] once it owns none and every move off it completed;
    /// the caller then removes the port with [`set_ports`](Self::set_ports). A port that is not
    /// a member is reported drained at once. Until removed, a draining port receives no bucket.
    /// If no other (non-draining) member exists, the buckets stay and the drain waits for one.
    ///
    /// The port still distributes, so its moves are paced like rebalancing: one that needs a
    /// new Marker on the port within its [`marker_interval`](DistributorConfig::marker_interval)
    /// waits (its conversations flowing on the port meanwhile), so that a responder answering
    /// one Marker per port in that interval answers the drain's. A port that must carry nothing
    /// more drains with [`leave_ports`](Self::leave_ports).
    pub fn drain_port(&mut self, now: Instant, port: PortNumber) {
        self.drain_ports(now, &[port]);
    }

    /// [`drain_port`](Self::drain_port) for several ports at once: none of them receives the
    /// buckets of another.
    pub fn drain_ports(&mut self, now: Instant, ports: &[PortNumber]) {
        self.start_drains(ports);
        self.update_rr();
        self.after_change(now);
    }

    /// Drains ports that left distribution for protocol reasons while their link still carries
    /// frames (Sync lost, Standby, the Expired rule): as [`drain_ports`](Self::drain_ports), but
    /// their moves start at once, never waiting for Marker pacing (a rate-limited responder may
    /// then leave them to the Marker timeout); a paced drain of one of them stops waiting. A port
    /// already leaving is not reported [`DistEvent::Drained`] again.
    pub fn leave_ports(&mut self, now: Instant, ports: &[PortNumber]) {
        let new: Vec<PortNumber> = ports
            .iter()
            .copied()
            .filter(|p| !self.leaving.contains(p))
            .collect();
        for &p in &new {
            if self.ports.contains(&p) {
                self.leaving.push(p);
            }
        }
        self.start_drains(&new);
        self.update_rr();
        self.after_change(now);
    }

    /// Ports draining that left distribution ([`leave_ports`](Self::leave_ports)).
    pub fn leaving(&self) -> &[PortNumber] {
        &self.leaving
    }

    fn start_drains(&mut self, ports: &[PortNumber]) {
        for &port in ports {
            if !self.ports.contains(&port) {
                self.events.push_back(DistEvent::Drained { port });
            } else if !self.draining.contains(&port) {
                self.draining.push(port);
            } else if self.drained_reported.contains(&port) {
                self.events.push_back(DistEvent::Drained { port });
            }
        }
    }

    /// Ends the drain of `port` (it distributes again): it takes back its share of buckets,
    /// each move marker-protected; moves already off it complete as planned.
    pub fn undrain_port(&mut self, now: Instant, port: PortNumber) {
        if !self.draining.contains(&port) {
            return;
        }
        self.draining.retain(|p| *p != port);
        self.drained_reported.retain(|p| *p != port);
        self.leaving.retain(|p| *p != port);
        self.update_rr();
        if self.config.mode != Mode::ActiveBackup {
            self.take_back(now, &[port]);
        }
        self.after_change(now);
    }

    /// [`Mode::ActiveBackup`]: makes `port` the active member (the operator's choice, as OVS
    /// `bond/set-active-slave`). Every bucket moves from the current active port to `port`
    /// under the configured move protection (a Marker on the old port: nothing lost or
    /// reordered); [`DistEvent::ActiveChanged`] reports the switch when the move completes.
    /// Returns whether a move started (false: `port` is active already, or not an eligible
    /// member, or another mode).
    pub fn choose_active(&mut self, now: Instant, port: PortNumber) -> bool {
        if self.config.mode != Mode::ActiveBackup
            || !self.ports.contains(&port)
            || self.draining.contains(&port)
        {
            return false;
        }
        let Some(current) = self.table.first().copied().flatten() else {
            return false;
        };
        if current == port {
            return false;
        }
        let plan: Vec<(u32, PortNumber, PortNumber)> = self
            .table
            .iter()
            .enumerate()
            .filter(|(b, o)| {
                **o == Some(current) && self.moving.get(*b).is_some_and(|m| *m == NOT_MOVING)
            })
            .map(|(b, _)| (b as u32, current, port))
            .collect();
        if plan.is_empty() {
            return false;
        }
        self.execute_plan(now, plan, MoveReason::Chosen);
        self.after_change(now);
        true
    }

    /// Whether a bucket that leaves a live port waits for the frames in flight there (a Marker
    /// or the collector delay): a hashed or active-backup mode with move protection.
    pub fn protects_moves(&self) -> bool {
        matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup)
            && self.config.move_protection != MoveProtection::None
    }

    /// Hashes `frame` (its [`FlowKey`] under the configured policy) and dispatches it like
    /// [`handle_hashed`](Self::handle_hashed).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8], item: F) -> Dispatch<F> {
        let hash = match self.config.mode {
            Mode::Hash => self.config.policy.hash(&FlowKey::from_frame(frame)),
            _ => 0,
        };
        self.handle_hashed(now, hash, frame.len(), item)
    }

    /// Dispatches a frame whose conversation hash the caller computed (with
    /// `config().policy`). `len` is its length in bytes (for load measurement). Allocates
    /// nothing on a steady table.
    pub fn handle_hashed(&mut self, now: Instant, hash: u32, len: usize, item: F) -> Dispatch<F> {
        self.c.frames_in += 1;
        if self.next_rebalance.is_none() && self.config.rebalance_interval.is_some() {
            self.schedule_rebalance(now);
        }
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        match self.config.mode {
            Mode::Broadcast => {
                if self.ports.is_empty() {
                    self.c.frames_dropped += 1;
                    return Dispatch::Drop(item, DropReason::NoPort);
                }
                for i in 0..self.port_slots.len() {
                    let s = self.port_slots.get(i).copied().unwrap_or(NO_SLOT);
                    self.count(s, len32);
                }
                Dispatch::Broadcast(item)
            }
            Mode::RoundRobin => {
                let n = self.rr_ports.len();
                let Some(&(port, slot)) = self.rr_ports.get(self.rr_next % n.max(1)) else {
                    self.c.frames_dropped += 1;
                    return Dispatch::Drop(item, DropReason::NoPort);
                };
                self.rr_next = self.rr_next.wrapping_add(1);
                self.count(slot, len32);
                Dispatch::Send(port, item)
            }
            Mode::Hash | Mode::ActiveBackup => self.dispatch_bucket(now, hash, len32, item),
        }
    }

    fn dispatch_bucket(&mut self, now: Instant, hash: u32, len: u32, item: F) -> Dispatch<F> {
        let b = hash as usize & self.mask;
        if let Some(c) = self.bucket_bytes.get_mut(b) {
            *c = c.saturating_add(u64::from(len));
        }
        if self.quiesce.is_some() {
            return self.hold(now, QUIESCE, hash, len, item);
        }
        let mv = self.moving.get(b).copied().unwrap_or(NOT_MOVING);
        if mv != NOT_MOVING {
            return self.hold(now, mv, hash, len, item);
        }
        self.route(b, len, item)
    }

    /// Sends on the bucket's port, behind any frame still waiting for release.
    fn route(&mut self, b: usize, len: u32, item: F) -> Dispatch<F> {
        let (Some(Some(port)), Some(&slot)) = (self.table.get(b), self.table_slot.get(b)) else {
            self.c.frames_dropped += 1;
            return Dispatch::Drop(item, DropReason::NoPort);
        };
        let port = *port;
        if !self.release.is_empty() {
            if self.release.len() > self.config.max_held_frames {
                self.c.frames_dropped += 1;
                return Dispatch::Drop(item, DropReason::HeldQueueFull);
            }
            self.release.push_back(Released {
                port,
                slot,
                len,
                item,
            });
            return Dispatch::Held;
        }
        self.count(slot, len);
        Dispatch::Send(port, item)
    }

    fn hold(&mut self, now: Instant, tag: u32, hash: u32, len: u32, item: F) -> Dispatch<F> {
        if self.held.len() + self.release.len() < self.config.max_held_frames {
            self.held.push_back(Held {
                tag,
                hash,
                len,
                item,
            });
            self.c.frames_held += 1;
            return Dispatch::Held;
        }
        // Full: complete what this frame waits for now (timeout semantics), then queue the frame
        // behind the frames that completion released.
        self.c.early_completions += 1;
        if tag == QUIESCE {
            self.complete_quiesce(Completion::Timeout);
        } else {
            self.complete_move(tag as usize, Completion::Timeout);
        }
        self.after_change(now);
        let b = hash as usize & self.mask;
        let (Some(Some(port)), Some(&slot)) = (self.table.get(b), self.table_slot.get(b)) else {
            self.c.frames_dropped += 1;
            return Dispatch::Drop(item, DropReason::NoPort);
        };
        self.release.push_back(Released {
            port: *port,
            slot,
            len,
            item,
        });
        Dispatch::Held
    }

    /// The Marker Response for [`MarkerRequest`] `request` came back: the move (or the quiesce)
    /// it protects may complete. Unknown or late responses are counted and ignored.
    pub fn handle_marker_response(&mut self, now: Instant, request: u64) {
        let slots: Vec<usize> = (0..self.moves.len())
            .filter(|&i| {
                self.moves
                    .get(i)
                    .and_then(Option::as_ref)
                    .is_some_and(|m| m.marker == request)
            })
            .collect();
        if let Some(port) = slots
            .first()
            .and_then(|&i| self.moves.get(i)?.as_ref())
            .map(|m| m.from)
        {
            self.marker_seen(port, now);
            for slot in slots {
                self.complete_move(slot, Completion::MarkerResponse);
            }
        } else if let Some(port) = self.quiesce.as_ref().and_then(|q| {
            q.pending
                .iter()
                .find(|(id, _)| *id == request)
                .map(|(_, p)| *p)
        }) {
            self.marker_seen(port, now);
            let Some(q) = self.quiesce.as_mut() else {
                return;
            };
            q.pending.retain(|(id, _)| *id != request);
            if q.pending.is_empty() {
                self.complete_quiesce(Completion::MarkerResponse);
            }
        } else {
            self.c.stale_marker_responses += 1;
        }
        self.after_change(now);
    }

    /// The Marker of [`MarkerRequest`] `request` left its port at `now` (the driver took it from
    /// the transmit queue: every frame sent on the port before it is out too): the timeout of
    /// the moves (or the quiesce) it protects counts from now. Ignored without
    /// [`set_departure_reports`](Self::set_departure_reports), and for a Marker already
    /// reported or no longer awaited.
    pub fn handle_marker_departed(&mut self, now: Instant, request: u64) {
        let Some(i) = self.undeparted.iter().position(|id| *id == request) else {
            return;
        };
        self.undeparted.swap_remove(i);
        let MoveProtection::Marker { timeout } = self.config.move_protection else {
            return;
        };
        for m in self.moves.iter_mut().flatten() {
            if m.marker == request && m.on_deadline == Completion::Timeout {
                m.deadline = now + timeout;
            }
        }
        let undeparted = &self.undeparted;
        if let Some(q) = self.quiesce.as_mut()
            && q.on_deadline == Completion::Timeout
            && q.ids.contains(&request)
        {
            let at = q.departed.map_or(now, |t| t.max(now));
            q.departed = Some(at);
            if !q.ids.iter().any(|id| undeparted.contains(id)) {
                q.deadline = at + timeout;
            }
        }
        self.after_change(now);
    }

    /// Runs what is due at `now`: marker timeouts and collector delays, and the rebalance
    /// interval.
    pub fn handle_timeout(&mut self, now: Instant) {
        for slot in 0..self.moves.len() {
            let due = self
                .moves
                .get(slot)
                .and_then(Option::as_ref)
                .filter(|m| m.deadline <= now)
                .map(|m| m.on_deadline);
            if let Some(by) = due {
                if by == Completion::Timeout {
                    self.c.marker_timeouts += 1;
                }
                self.complete_move(slot, by);
            }
        }
        if let Some(by) = self
            .quiesce
            .as_ref()
            .filter(|q| q.deadline <= now)
            .map(|q| q.on_deadline)
        {
            if by == Completion::Timeout {
                self.c.marker_timeouts += 1;
            }
            self.complete_quiesce(by);
        }
        if let Some(at) = self.next_rebalance.filter(|at| *at <= now) {
            let iv = self
                .config
                .rebalance_interval
                .unwrap_or(Duration::from_secs(1));
            let next = at + iv;
            self.next_rebalance = Some(if next <= now { now + iv } else { next });
            self.rebalance(now);
        }
        self.after_change(now);
    }

    /// The next Marker to send. Returns `None` while released frames wait in
    /// [`poll_release`](Self::poll_release) (they must go out before the marker).
    pub fn poll_marker_request(&mut self) -> Option<MarkerRequest> {
        if !self.release.is_empty() {
            return None;
        }
        self.markers.pop_front()
    }

    /// The next frame to send that was held (or queued behind held frames), with its port, in
    /// the order the frames came in. Call after every `handle_*` until `None`.
    pub fn poll_release(&mut self) -> Option<(PortNumber, F)> {
        let r = self.release.pop_front()?;
        self.c.frames_released += 1;
        self.count(r.slot, r.len);
        Some((r.port, r.item))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DistEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let moves = self.moves.iter().flatten().map(|m| m.deadline);
        let q = self.quiesce.iter().map(|q| q.deadline);
        let rb = self
            .next_rebalance
            .filter(|_| self.config.mode == Mode::Hash);
        let paced = self
            .deferred
            .iter()
            .filter_map(|d| self.paced_until(d.from));
        moves.chain(q).chain(rb).chain(paced).min()
    }

    /// The Distributing members, in priority order.
    pub fn ports(&self) -> &[PortNumber] {
        &self.ports
    }

    /// Ports being drained.
    pub fn draining(&self) -> &[PortNumber] {
        &self.draining
    }

    /// Whether frames also leave by another path that is counted only later (lagd sets it
    /// while its kernel fast path runs): then a move never shares a Marker that has already
    /// been sent, since frames of its buckets may have gone out behind it uncounted. Such a
    /// move (one that would have shared the Marker in flight) asks a Marker of its own at
    /// once, not after the port's pacing interval: its buckets leave the other path before
    /// the new Marker is queued, so every frame of theirs is ahead of it. (A partner that
    /// answers one Marker per pacing interval may leave that move to its timeout: later,
    /// never out of order.)
    pub fn set_other_sender(&mut self, on: bool) {
        self.other_sender = on;
    }

    /// Whether the caller reports when each Marker leaves its port
    /// ([`handle_marker_departed`](Self::handle_marker_departed)); then a Marker timeout counts
    /// from the departure (see the module docs). A caller that cannot tell for some port
    /// reports the departure when it hands the Marker to that port. Turning reports on or off
    /// changes the Markers requested from then on; a Marker still awaited when they are turned
    /// off keeps its deadline (at most `marker_queue_limit` plus the timeout after its request).
    pub fn set_departure_reports(&mut self, on: bool) {
        self.departure_reports = on;
        if !on {
            self.undeparted.clear();
        }
    }

    /// Frames of `bucket` that another path (lagd's kernel fast path) sent on the bucket's
    /// port: counted as if dispatched here, for the load measurement and the per-port counters.
    pub fn account_sent(&mut self, bucket: usize, frames: u64, bytes: u64) {
        if let Some(c) = self.bucket_bytes.get_mut(bucket) {
            *c = c.saturating_add(bytes);
        }
        if let Some(s) = self
            .table_slot
            .get(bucket)
            .and_then(|slot| self.slots.get_mut(*slot as usize))
        {
            s.frames = s.frames.saturating_add(frames);
            s.bytes = s.bytes.saturating_add(bytes);
        }
        self.c.frames_in = self.c.frames_in.saturating_add(frames);
    }

    /// Whether frames wait here: held for a move, or released and not yet taken with
    /// [`Distributor::poll_release`].
    pub fn has_pending(&self) -> bool {
        !self.held.is_empty() || !self.release.is_empty()
    }

    /// Bucket → port (the port a bucket's frames are sent on now; during a move, the old port).
    pub fn bucket_table(&self) -> &[Option<PortNumber>] {
        &self.table
    }

    /// Puts back a bucket table saved by an earlier instance ([`Distributor::bucket_table`]),
    /// so that a restarted driver sends every conversation on the port it used before (no
    /// conversation moves, so none can be reordered). Applied only when it fits: the same
    /// number of buckets, every bucket on a current member, no move in flight, a hashed or
    /// active-backup mode. Returns whether it was applied; nothing changes otherwise.
    pub fn resume_table(&mut self, table: &[Option<PortNumber>]) -> bool {
        let fits = table.len() == self.table.len()
            && matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup)
            && self.quiesce.is_none()
            && self.moves.iter().all(Option::is_none)
            && self.deferred.is_empty()
            && table
                .iter()
                .all(|o| o.is_some_and(|p| self.ports.contains(&p)))
            && (self.config.mode != Mode::ActiveBackup || table.windows(2).all(|w| w[0] == w[1]));
        if !fits {
            return false;
        }
        for (b, p) in table.iter().enumerate() {
            self.assign(b, *p);
        }
        self.even_out_pending = false;
        if self.config.mode == Mode::ActiveBackup {
            self.last_active = self.table.first().copied().flatten();
        }
        true
    }

    /// The bucket of conversation hash `hash`.
    pub fn bucket_of(&self, hash: u32) -> usize {
        hash as usize & self.mask
    }

    /// Whether bucket `bucket` is moving (its frames are held).
    pub fn is_moving(&self, bucket: usize) -> bool {
        self.quiesce.is_some() || self.moving.get(bucket).is_some_and(|m| *m != NOT_MOVING)
    }

    /// [`Mode::ActiveBackup`]: the port carrying the traffic.
    pub fn active(&self) -> Option<PortNumber> {
        match self.config.mode {
            Mode::ActiveBackup => self.table.first().copied().flatten(),
            _ => None,
        }
    }

    /// Counters (allocates; not for the per-frame path).
    pub fn stats(&self) -> DistStats {
        let ports = self
            .slots
            .iter()
            .map(|s| PortStats {
                port: s.port,
                member: self.ports.contains(&s.port),
                draining: self.draining.contains(&s.port),
                frames: s.frames,
                bytes: s.bytes,
                buckets: self.table.iter().filter(|o| **o == Some(s.port)).count(),
                last_interval_bytes: s.last_interval_bytes,
            })
            .collect();
        DistStats {
            ports,
            bucket_bytes: self.bucket_bytes.clone(),
            last_interval_bucket_bytes: self.last_bucket_bytes.clone(),
            frames_in: self.c.frames_in,
            moves_started: self.c.moves_started,
            moves_completed: self.c.moves_completed,
            buckets_moved: self.c.buckets_moved,
            frames_held: self.c.frames_held,
            frames_released: self.c.frames_released,
            frames_dropped: self.c.frames_dropped,
            marker_timeouts: self.c.marker_timeouts,
            early_completions: self.c.early_completions,
            moves_cancelled: self.c.moves_cancelled,
            stale_marker_responses: self.c.stale_marker_responses,
            rebalance_runs: self.c.rebalance_runs,
            held_now: self.held.len(),
            moves_in_flight: self.moves.iter().flatten().count()
                + usize::from(self.quiesce.is_some()),
        }
    }

    // ---- internals -------------------------------------------------------------------------

    fn count(&mut self, slot: u32, len: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.frames += 1;
            s.bytes = s.bytes.saturating_add(u64::from(len));
        }
    }

    fn slot_of(&mut self, port: PortNumber) -> u32 {
        if let Some(i) = self.slots.iter().position(|s| s.port == port) {
            return i as u32;
        }
        self.slots.push(Slot {
            port,
            ..Slot::default()
        });
        (self.slots.len() - 1) as u32
    }

    fn assign(&mut self, b: usize, port: Option<PortNumber>) {
        let slot = match port {
            Some(p) => self.slot_of(p),
            None => NO_SLOT,
        };
        if let (Some(t), Some(s)) = (self.table.get_mut(b), self.table_slot.get_mut(b)) {
            *t = port;
            *s = slot;
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Members that may receive buckets: not draining (all members if every one is draining).
    fn eligible(&self) -> Vec<PortNumber> {
        let e: Vec<PortNumber> = self
            .ports
            .iter()
            .copied()
            .filter(|p| !self.draining.contains(p))
            .collect();
        if e.is_empty() { self.ports.clone() } else { e }
    }

    fn update_rr(&mut self) {
        let e = self.eligible();
        self.rr_ports = e.iter().map(|&p| (p, self.slot_of_existing(p))).collect();
    }

    fn slot_of_existing(&self, port: PortNumber) -> u32 {
        self.slots
            .iter()
            .position(|s| s.port == port)
            .map_or(NO_SLOT, |i| i as u32)
    }

    /// Bucket counts of `ports`, counting moving buckets at their destination.
    fn effective_counts(&self, ports: &[PortNumber]) -> Vec<usize> {
        let mut counts = vec![0usize; ports.len()];
        let idx = |p: PortNumber| ports.iter().position(|x| *x == p);
        for o in self.table.iter().flatten() {
            if let Some(c) = idx(*o).and_then(|i| counts.get_mut(i)) {
                *c += 1;
            }
        }
        for m in self.moves.iter().flatten() {
            if let Some(c) = idx(m.from).and_then(|i| counts.get_mut(i)) {
                *c = c.saturating_sub(m.buckets.len());
            }
            if let Some(c) = idx(m.to).and_then(|i| counts.get_mut(i)) {
                *c += m.buckets.len();
            }
        }
        for d in &self.deferred {
            if let Some(c) = idx(d.from).and_then(|i| counts.get_mut(i)) {
                *c = c.saturating_sub(1);
            }
            if let Some(c) = idx(d.to).and_then(|i| counts.get_mut(i)) {
                *c += 1;
            }
        }
        counts
    }

    /// The protection moves get now: none in the unordered modes or while a quiesce holds
    /// every frame anyway.
    fn protection(&self) -> MoveProtection {
        if self.quiesce.is_some() || !matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup) {
            MoveProtection::None
        } else {
            self.config.move_protection
        }
    }

    /// A fresh table: Active-backup puts every bucket on the active port (kept if still
    /// eligible), the other modes spread buckets evenly.
    fn rebuild_table(&mut self) {
        let e = self.eligible();
        if self.config.mode == Mode::ActiveBackup {
            let active = self
                .last_active
                .filter(|a| e.contains(a))
                .or_else(|| e.first().copied());
            for b in 0..self.table.len() {
                self.assign(b, active);
            }
        } else {
            for b in 0..self.table.len() {
                let p = e.get(b % e.len().max(1)).copied();
                self.assign(b, p);
            }
        }
    }

    /// Gives buckets with no live owner to the survivors (at once: nothing is in flight).
    fn assign_orphans(&mut self, had_failures: bool) {
        let e = self.eligible();
        let orphan = |o: &Option<PortNumber>| o.is_none_or(|p| !self.ports.contains(&p));
        if self.config.mode == Mode::ActiveBackup {
            let Some(first) = self.table.first().copied() else {
                return;
            };
            if !orphan(&first) {
                return;
            }
            let new = e.first().copied();
            for b in 0..self.table.len() {
                self.assign(b, new);
            }
            if let Some(to) = new {
                let n = self.table.len();
                self.c.buckets_moved += n as u64;
                self.events.push_back(DistEvent::BucketsMoved {
                    from: first,
                    to,
                    buckets: n,
                    reason: if first.is_some() && had_failures {
                        MoveReason::PortFailed
                    } else {
                        MoveReason::PortAdded
                    },
                });
            }
            return;
        }
        let orphans: Vec<(usize, Option<PortNumber>)> = self
            .table
            .iter()
            .enumerate()
            .filter(|(_, o)| orphan(o))
            .map(|(b, o)| (b, *o))
            .collect();
        if orphans.is_empty() {
            return;
        }
        if e.is_empty() {
            for (b, _) in orphans {
                self.assign(b, None);
            }
            return;
        }
        let mut counts = self.effective_counts(&e);
        let targets = water_fill(&mut counts, orphans.len());
        // (from, to) → buckets, for events.
        let mut groups: Vec<(Option<PortNumber>, PortNumber, usize)> = Vec::new();
        for ((b, from), t) in orphans.into_iter().zip(targets) {
            let Some(&to) = e.get(t) else { continue };
            self.assign(b, Some(to));
            self.c.buckets_moved += 1;
            match groups.iter_mut().find(|g| g.0 == from && g.1 == to) {
                Some(g) => g.2 += 1,
                None => groups.push((from, to, 1)),
            }
        }
        for (from, to, buckets) in groups {
            self.events.push_back(DistEvent::BucketsMoved {
                from,
                to,
                buckets,
                reason: if from.is_some() {
                    MoveReason::PortFailed
                } else {
                    MoveReason::PortAdded
                },
            });
        }
    }

    /// New ports take about `buckets / n` each from the members with the most buckets.
    fn take_back(&mut self, now: Instant, added: &[PortNumber]) {
        let e = self.eligible();
        if e.is_empty() {
            return;
        }
        let target = self.table.len() / e.len();
        let mut counts = self.effective_counts(&e);
        let mut candidates: Vec<Vec<u32>> = vec![Vec::new(); e.len()];
        for (b, o) in self.table.iter().enumerate() {
            let moving = self.moving.get(b).is_some_and(|m| *m != NOT_MOVING)
                || self.deferred.iter().any(|d| d.bucket == b as u32);
            if let (Some(p), false) = (o, moving)
                && let Some(v) = e
                    .iter()
                    .position(|x| x == p)
                    .and_then(|i| candidates.get_mut(i))
            {
                v.push(b as u32);
            }
        }
        self.even_out_pending = true;
        let mut plan = Vec::new();
        for &p in added {
            let Some(r) = e.iter().position(|x| *x == p) else {
                continue;
            };
            for (b, d) in take_share(&mut counts, &mut candidates, r, target) {
                if let Some(&from) = e.get(d) {
                    plan.push((b, from, p));
                }
            }
        }
        self.execute_plan(now, plan, MoveReason::PortAdded);
    }

    /// Starts moves for `(bucket, from, to)`, one per (from, to) pair; moves off one port share
    /// one Marker. A move that would need a Marker on a port still in its pacing interval
    /// waits in `deferred` (coalesced per bucket, so per port pair), unless its port is
    /// [`leaving`](Self::leave_ports).
    fn execute_plan(
        &mut self,
        now: Instant,
        mut plan: Vec<(u32, PortNumber, PortNumber)>,
        reason: MoveReason,
    ) {
        // A new plan for a bucket replaces a deferred one.
        self.deferred
            .retain(|d| !plan.iter().any(|(b, _, _)| *b == d.bucket));
        let protection = self.protection();
        if matches!(protection, MoveProtection::Marker { .. }) {
            let mut wait = Vec::new();
            plan.retain(|&(bucket, from, to)| {
                // With another sender, a Marker in flight that the move could share if this
                // distributor were the only sender cannot be shared (see `joinable_marker`);
                // the move asks one of its own at once rather than wait out the pacing
                // interval with its conversation on the old port.
                let paced = !self.leaving.contains(&from)
                    && self.joinable_marker(from).is_none()
                    && !(self.other_sender && self.sent_marker_in_flight(from).is_some())
                    && self.paced_until(from).is_some_and(|t| now < t);
                if paced {
                    wait.push(Deferred {
                        bucket,
                        from,
                        to,
                        reason,
                    });
                }
                !paced
            });
            self.deferred.extend(wait);
        }
        let mut groups: Vec<(PortNumber, PortNumber, Vec<u32>)> = Vec::new();
        for (b, from, to) in plan {
            match groups.iter_mut().find(|g| g.0 == from && g.1 == to) {
                Some(g) => g.2.push(b),
                None => groups.push((from, to, vec![b])),
            }
        }
        for (from, to, buckets) in groups {
            self.events.push_back(DistEvent::BucketsMoved {
                from: Some(from),
                to,
                buckets: buckets.len(),
                reason,
            });
            self.c.moves_started += 1;
            let (wait, on_deadline, marker) = match protection {
                MoveProtection::None => {
                    self.c.buckets_moved += buckets.len() as u64;
                    for b in buckets {
                        self.assign(b as usize, Some(to));
                    }
                    continue;
                }
                MoveProtection::Marker { timeout } => (timeout, Completion::Timeout, true),
                MoveProtection::CollectorDelay(d) => (d, Completion::CollectorDelay, false),
            };
            let id = self.next_id();
            let slot = match self.moves.iter().position(Option::is_none) {
                Some(s) => s,
                None => {
                    self.moves.push(None);
                    self.moves.len() - 1
                }
            };
            for &b in &buckets {
                if let Some(m) = self.moving.get_mut(b as usize) {
                    *m = slot as u32;
                }
            }
            let shared = match self.joinable_marker(from) {
                Some(q) if marker => q,
                _ => {
                    if marker {
                        self.request_marker(now, id, from);
                        let slot = self.slot_of(from);
                        if let Some(s) = self.slots.get_mut(slot as usize) {
                            s.marker_req = Some((id, s.frames));
                        }
                    }
                    id
                }
            };
            // A Marker whose departure is awaited: its timeout starts when it leaves.
            let deadline = if marker && self.undeparted.contains(&shared) {
                now + self.config.marker_queue_limit + wait
            } else {
                now + wait
            };
            if let Some(s) = self.moves.get_mut(slot) {
                *s = Some(Move {
                    id,
                    marker: shared,
                    from,
                    to,
                    buckets,
                    deadline,
                    on_deadline,
                });
            }
        }
    }

    /// Completes move `slot`: its buckets go to the destination if it is still a member (else
    /// they stay on the source: a cancel), and its held frames are released in order.
    fn complete_move(&mut self, slot: usize, by: Completion) {
        self.finish_move(slot, by, false);
    }

    /// Ends move `slot`; with `cancel`, its buckets stay on the source.
    fn finish_move(&mut self, slot: usize, by: Completion, cancel: bool) {
        let Some(m) = self.moves.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let to_alive = !cancel && self.ports.contains(&m.to);
        for &b in &m.buckets {
            if let Some(x) = self.moving.get_mut(b as usize) {
                *x = NOT_MOVING;
            }
            if to_alive {
                self.assign(b as usize, Some(m.to));
            }
        }
        if to_alive {
            self.c.buckets_moved += m.buckets.len() as u64;
        }
        self.c.moves_completed += 1;
        let released = self.release_tag(slot as u32);
        let shared = self.moves.iter().flatten().any(|x| x.marker == m.marker);
        if !shared {
            self.markers.retain(|r| r.id != m.marker);
            self.undeparted.retain(|id| *id != m.marker);
        }
        self.events.push_back(DistEvent::MoveCompleted {
            id: m.id,
            by,
            held_released: released,
        });
    }

    /// Cancels every move in flight: buckets stay where they are, held frames go out there
    /// (behind what was already sent on that port, so in order).
    fn cancel_all_moves(&mut self) {
        self.deferred.clear();
        for slot in 0..self.moves.len() {
            if self.moves.get(slot).is_some_and(Option::is_some) {
                self.c.moves_cancelled += 1;
                self.finish_move(slot, Completion::Timeout, true);
            }
        }
        if self.quiesce.is_some() {
            self.c.early_completions += 1;
            self.complete_quiesce(Completion::Timeout);
        }
    }

    /// Moves the held frames tagged `tag` to the release queue, in order, each to its bucket's
    /// port now. Returns how many.
    fn release_tag(&mut self, tag: u32) -> usize {
        let mut released = 0;
        for _ in 0..self.held.len() {
            let Some(h) = self.held.pop_front() else {
                break;
            };
            if h.tag != tag {
                self.held.push_back(h);
                continue;
            }
            released += 1;
            let b = h.hash as usize & self.mask;
            match (self.table.get(b), self.table_slot.get(b)) {
                (Some(Some(port)), Some(&slot)) => self.release.push_back(Released {
                    port: *port,
                    slot,
                    len: h.len,
                    item: h.item,
                }),
                _ => self.c.frames_dropped += 1,
            }
        }
        released
    }

    fn start_quiesce(&mut self, now: Instant) {
        if self.ports.is_empty() {
            return;
        }
        let (timeout, on_deadline, markers) = match self.config.move_protection {
            MoveProtection::None => return,
            MoveProtection::Marker { timeout } => (timeout, Completion::Timeout, true),
            MoveProtection::CollectorDelay(d) => (d, Completion::CollectorDelay, false),
        };
        let queue = if markers && self.departure_reports {
            self.config.marker_queue_limit
        } else {
            Duration::ZERO
        };
        let mut q = Quiesce {
            ids: Vec::new(),
            pending: Vec::new(),
            markers,
            deadline: now + queue + timeout,
            on_deadline,
            departed: None,
        };
        if markers {
            for i in 0..self.ports.len() {
                let Some(&port) = self.ports.get(i) else {
                    break;
                };
                let id = self.next_id();
                self.request_marker(now, id, port);
                q.ids.push(id);
                q.pending.push((id, port));
            }
        } else {
            let id = self.next_id();
            q.ids.push(id);
        }
        self.c.moves_started += 1;
        self.quiesce = Some(q);
    }

    fn complete_quiesce(&mut self, by: Completion) {
        let Some(q) = self.quiesce.take() else { return };
        let released = self.release_tag(QUIESCE);
        self.markers.retain(|r| !q.ids.contains(&r.id));
        self.undeparted.retain(|id| !q.ids.contains(id));
        self.c.moves_completed += 1;
        let last = q.ids.len().saturating_sub(1);
        for (i, id) in q.ids.into_iter().enumerate() {
            self.events.push_back(DistEvent::MoveCompleted {
                id,
                by,
                held_released: if i == last { released } else { 0 },
            });
        }
    }

    /// Queues Marker request `id` on `port`; with departure reports, its departure is awaited.
    fn request_marker(&mut self, now: Instant, id: u64, port: PortNumber) {
        self.markers.push_back(MarkerRequest { id, port });
        self.marker_seen(port, now);
        if self.departure_reports {
            self.undeparted.push(id);
        }
    }

    /// A Marker was sent or answered on `port` at `now`: its pacing interval starts again.
    fn marker_seen(&mut self, port: PortNumber, now: Instant) {
        let slot = self.slot_of(port);
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.marker_at = Some(s.marker_at.map_or(now, |t| t.max(now)));
        }
    }

    /// A Marker request of a move off `port` that is behind every frame sent there so far, so
    /// a new move off `port` may share it: one not sent yet, or one sent with no frame sent
    /// on the port since (its response is still awaited) and no other path sends there.
    fn joinable_marker(&self, port: PortNumber) -> Option<u64> {
        if let Some(r) = self.markers.iter().find(|r| r.port == port) {
            return Some(r.id);
        }
        if self.other_sender {
            return None;
        }
        self.sent_marker_in_flight(port)
    }

    /// A Marker sent on `port` for a move whose response is still awaited, with no frame
    /// this distributor sent there since.
    fn sent_marker_in_flight(&self, port: PortNumber) -> Option<u64> {
        let s = self.slots.get(self.slot_of_existing(port) as usize)?;
        let (id, frames) = s.marker_req?;
        let pending = self.moves.iter().flatten().any(|m| m.marker == id);
        (pending && frames == s.frames).then_some(id)
    }

    /// Until when a new Marker on `port` must wait (None: no pacing, or no Marker seen yet).
    fn paced_until(&self, port: PortNumber) -> Option<Instant> {
        if self.config.marker_interval == Duration::ZERO {
            return None;
        }
        let s = self.slots.get(self.slot_of_existing(port) as usize)?;
        Some(s.marker_at? + self.config.marker_interval)
    }

    /// Drops deferred moves that no longer apply: the bucket left its source or moves already,
    /// the source left, or the destination may no longer receive buckets.
    fn prune_deferred(&mut self) {
        let eligible = self.eligible();
        let deferred = core::mem::take(&mut self.deferred);
        self.deferred = deferred
            .into_iter()
            .filter(|d| {
                let b = d.bucket as usize;
                self.ports.contains(&d.from)
                    && eligible.contains(&d.to)
                    && d.to != d.from
                    && self.table.get(b).copied().flatten() == Some(d.from)
                    && self.moving.get(b).is_some_and(|m| *m == NOT_MOVING)
            })
            .collect();
    }

    /// Starts the deferred moves whose source's pacing interval has passed (or that is leaving,
    /// or when moves are no longer marker-protected).
    fn start_deferred(&mut self, now: Instant) {
        self.prune_deferred();
        let marker = matches!(self.protection(), MoveProtection::Marker { .. });
        let due: Vec<Deferred> = self
            .deferred
            .iter()
            .copied()
            .filter(|d| {
                !marker
                    || self.leaving.contains(&d.from)
                    || self.paced_until(d.from).is_none_or(|t| t <= now)
            })
            .collect();
        if due.is_empty() {
            return;
        }
        self.deferred
            .retain(|d| !due.iter().any(|x| x.bucket == d.bucket));
        let mut reasons: Vec<MoveReason> = Vec::new();
        for d in &due {
            if !reasons.contains(&d.reason) {
                reasons.push(d.reason);
            }
        }
        for reason in reasons {
            let plan = due
                .iter()
                .filter(|d| d.reason == reason)
                .map(|d| (d.bucket, d.from, d.to))
                .collect();
            self.execute_plan(now, plan, reason);
        }
    }

    fn schedule_rebalance(&mut self, now: Instant) {
        if self.next_rebalance.is_none()
            && self.config.mode == Mode::Hash
            && let Some(iv) = self.config.rebalance_interval
        {
            self.next_rebalance = Some(now + iv);
        }
    }

    /// One rebalance interval ended: plan moves from the measured per-bucket load, then reset
    /// the counters.
    fn rebalance(&mut self, now: Instant) {
        // Remember each port's load of the interval, for stats.
        for s in &mut self.slots {
            s.last_interval_bytes = 0;
        }
        for (b, bytes) in self.bucket_bytes.iter().enumerate() {
            if let Some(s) = self
                .table_slot
                .get(b)
                .and_then(|s| self.slots.get_mut(*s as usize))
            {
                s.last_interval_bytes += bytes;
            }
        }
        let idle = self.moves.iter().all(Option::is_none)
            && self.deferred.is_empty()
            && self.quiesce.is_none();
        if self.config.mode == Mode::Hash && idle && self.ports.len() >= 2 {
            self.c.rebalance_runs += 1;
            let e: Vec<PortNumber> = self
                .ports
                .iter()
                .copied()
                .filter(|p| !self.draining.contains(p))
                .collect();
            let mut loads = vec![0u64; e.len()];
            let mut buckets = Vec::new();
            for (b, (o, bytes)) in self.table.iter().zip(&self.bucket_bytes).enumerate() {
                let Some(i) = o.and_then(|p| e.iter().position(|x| *x == p)) else {
                    continue;
                };
                if let Some(l) = loads.get_mut(i) {
                    *l += bytes;
                }
                buckets.push(BucketLoad {
                    bucket: b as u32,
                    owner: i,
                    bytes: *bytes,
                });
            }
            let plan = plan_rebalance(
                &mut loads,
                &buckets,
                self.config.rebalance_threshold,
                self.config.min_rebalance_bytes,
            );
            let plan = plan
                .into_iter()
                .filter_map(|(b, s, r)| Some((b, *e.get(s)?, *e.get(r)?)))
                .collect();
            self.execute_plan(now, plan, MoveReason::Rebalance);
        }
        self.last_bucket_bytes.clone_from(&self.bucket_bytes);
        self.bucket_bytes.iter_mut().for_each(|b| *b = 0);
    }

    /// After any change: continue drains, report drained ports and active-backup changes.
    fn after_change(&mut self, now: Instant) {
        if !self.deferred.is_empty() {
            self.start_deferred(now);
        }
        if !self.draining.is_empty() {
            self.reconcile_drains(now);
        }
        self.even_out(now);
        if self.config.mode == Mode::ActiveBackup {
            let a = self.table.first().copied().flatten();
            if a != self.last_active {
                self.last_active = a;
                self.events.push_back(DistEvent::ActiveChanged { port: a });
            }
        } else {
            self.last_active = None;
        }
    }

    /// After ports joined, once no move is in flight: members below their share
    /// (`buckets / n`) take buckets from the richest until every member is within one bucket
    /// of every other. Only joins trigger this, never load rebalancing (which makes counts
    /// uneven on purpose), so the two never fight.
    fn even_out(&mut self, now: Instant) {
        if !self.even_out_pending
            || self.config.mode == Mode::ActiveBackup
            || self.quiesce.is_some()
            || self.moves.iter().any(Option::is_some)
            || !self.deferred.is_empty()
        {
            return;
        }
        self.even_out_pending = false;
        let e = self.eligible();
        if e.is_empty() {
            return;
        }
        let counts = self.effective_counts(&e);
        let (Some(&max), Some(&min)) = (counts.iter().max(), counts.iter().min()) else {
            return;
        };
        if max <= min + 1 {
            return;
        }
        let target = self.table.len() / e.len();
        let poor: Vec<PortNumber> = e
            .iter()
            .zip(&counts)
            .filter(|(_, c)| **c < target)
            .map(|(p, _)| *p)
            .collect();
        if !poor.is_empty() {
            self.take_back(now, &poor);
        }
    }

    fn reconcile_drains(&mut self, now: Instant) {
        let targets: Vec<PortNumber> = self
            .ports
            .iter()
            .copied()
            .filter(|p| !self.draining.contains(p))
            .collect();
        for d in self.draining.clone() {
            let owned: Vec<u32> = self
                .table
                .iter()
                .enumerate()
                .filter(|(b, o)| {
                    **o == Some(d)
                        && self.moving.get(*b).is_some_and(|m| *m == NOT_MOVING)
                        && !self.deferred.iter().any(|x| x.bucket == *b as u32)
                })
                .map(|(b, _)| b as u32)
                .collect();
            if owned.is_empty() || targets.is_empty() {
                continue;
            }
            let plan: Vec<(u32, PortNumber, PortNumber)> = if self.config.mode == Mode::ActiveBackup
            {
                let Some(&t) = targets.first() else { continue };
                owned.into_iter().map(|b| (b, d, t)).collect()
            } else {
                let mut counts = self.effective_counts(&targets);
                let to = water_fill(&mut counts, owned.len());
                owned
                    .into_iter()
                    .zip(to)
                    .filter_map(|(b, t)| Some((b, d, *targets.get(t)?)))
                    .collect()
            };
            self.execute_plan(now, plan, MoveReason::Drain);
        }
        if self.quiesce.is_some() {
            return;
        }
        for d in self.draining.clone() {
            if self.drained_reported.contains(&d) {
                continue;
            }
            let owns = self.table.contains(&Some(d));
            let moving = self
                .moves
                .iter()
                .flatten()
                .any(|m| m.from == d || m.to == d);
            if !owns && !moving {
                self.drained_reported.push(d);
                self.events.push_back(DistEvent::Drained { port: d });
            }
        }
    }
}
