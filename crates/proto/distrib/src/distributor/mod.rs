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
//! # Layout
//!
//! One type, its `impl` blocks spread over files by concern: this file holds the state, the
//! configuration, the per-frame path and the `poll_*` side; `table` the bucket table and the
//! per-port records; `members` membership, drains and the active member; `moves` protected
//! moves and held frames; `markers` Marker requests, pacing and departures; `quiesce` the
//! remap quiesce; `rebalance` load measurement, rebalancing and evening out; `round_robin` the
//! rotation. A "slot" is a place in the table of moves in flight (`Distributor::moves`); a
//! "record" is a port's counters and Marker history (`Distributor::records`).
//!
//! [`poll_marker_request`]: Distributor::poll_marker_request
//! [`poll_release`]: Distributor::poll_release

mod markers;
mod members;
mod moves;
mod quiesce;
mod rebalance;
mod round_robin;
mod table;

use std::collections::VecDeque;

use lagd_types::{Duration, Instant, PortNumber};

use crate::{
    Completion, Dispatch, DistEvent, DistStats, DistributorConfig, DropReason, FlowKey, Mode,
    MoveProtection, MoveReason, PortStats,
};

use markers::Markers;
use members::Members;
use moves::{Deferred, Held, HeldFor, Move, Released};
use quiesce::Quiesce;
use round_robin::{PortRef, RoundRobin};
use table::{BucketState, PortRecord};

/// Distributor-wide counters (exported by [`Distributor::stats`]).
#[derive(Clone, Debug, Default)]
struct Totals {
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
    /// `buckets - 1`: a hash's bucket is `hash & mask`.
    mask: usize,
    /// The members: distributing, draining, leaving.
    members: Members,
    /// Round-robin rotation.
    rr: RoundRobin,
    /// Bucket → port (the port a bucket's frames are sent on now; during a move, the old
    /// port). Its own vector because callers borrow it ([`Distributor::bucket_table`]).
    table: Vec<Option<PortNumber>>,
    /// Everything else kept per bucket (same index as `table`).
    buckets: Vec<BucketState>,
    /// Every port ever a member, in the order first seen: counters and Marker history (kept
    /// across membership changes).
    records: Vec<PortRecord>,
    /// Moves in flight, by slot (a slot is reused once its move ended).
    moves: Vec<Option<Move>>,
    /// Moves waiting for their source's Marker pacing interval, at most one per bucket.
    deferred: Vec<Deferred>,
    quiesce: Option<Quiesce>,
    /// Frames held for a move or the quiesce, in arrival order.
    held: VecDeque<Held<F>>,
    /// Frames to send ([`Distributor::poll_release`]), in order.
    release: VecDeque<Released<F>>,
    markers: Markers,
    events: VecDeque<DistEvent>,
    /// The next move or Marker request id.
    next_id: u64,
    next_rebalance: Option<Instant>,
    /// The active member last reported ([`DistEvent::ActiveChanged`]).
    last_active: Option<PortNumber>,
    /// A port joined while other moves were in flight: once they complete, bucket counts are
    /// evened out again (buckets already moving could not be given to the newcomer).
    even_out_pending: bool,
    totals: Totals,
}

impl<F> Distributor<F> {
    /// A distributor with no ports (every frame is dropped with [`DropReason::NoPort`] until
    /// [`set_ports`](Self::set_ports)). The configuration is [`normalized`](DistributorConfig::normalized).
    pub fn new(config: DistributorConfig) -> Self {
        let config = config.normalized();
        let n = config.buckets;
        let cap = config.max_held_frames;
        Distributor {
            mask: n - 1,
            members: Members::default(),
            rr: RoundRobin::default(),
            table: vec![None; n],
            buckets: vec![BucketState::default(); n],
            records: Vec::new(),
            moves: Vec::new(),
            deferred: Vec::new(),
            quiesce: None,
            held: VecDeque::with_capacity(cap),
            release: VecDeque::with_capacity(cap + 1),
            markers: Markers::default(),
            events: VecDeque::new(),
            next_id: 1,
            next_rebalance: None,
            last_active: None,
            even_out_pending: false,
            totals: Totals::default(),
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
            self.buckets = vec![BucketState::default(); n];
            self.rebuild_table();
            for i in 0..self.members.ports.len() {
                let Some(&p) = self.members.ports.get(i) else {
                    break;
                };
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
        self.totals.frames_in += 1;
        if self.next_rebalance.is_none() && self.config.rebalance_interval.is_some() {
            self.schedule_rebalance(now);
        }
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        match self.config.mode {
            Mode::Broadcast => {
                if self.members.ports.is_empty() {
                    self.totals.frames_dropped += 1;
                    return Dispatch::Drop(item, DropReason::NoPort);
                }
                for i in 0..self.members.ports.len() {
                    let Some(&p) = self.members.ports.get(i) else {
                        break;
                    };
                    let record = self.existing_record(p);
                    self.count(record, len32);
                }
                Dispatch::Broadcast(item)
            }
            Mode::RoundRobin => {
                let Some(PortRef { port, record }) = self.rr.next_port() else {
                    self.totals.frames_dropped += 1;
                    return Dispatch::Drop(item, DropReason::NoPort);
                };
                self.count(record, len32);
                Dispatch::Send(port, item)
            }
            Mode::Hash | Mode::ActiveBackup => self.dispatch_bucket(now, hash, len32, item),
        }
    }

    fn dispatch_bucket(&mut self, now: Instant, hash: u32, len: u32, item: F) -> Dispatch<F> {
        let b = hash as usize & self.mask;
        if let Some(s) = self.buckets.get_mut(b) {
            s.bytes = s.bytes.saturating_add(u64::from(len));
        }
        if self.quiesce.is_some() {
            return self.hold(now, HeldFor::Quiesce, hash, len, item);
        }
        if let Some(slot) = self.buckets.get(b).and_then(|s| s.moving) {
            return self.hold(now, HeldFor::Move(slot), hash, len, item);
        }
        self.route(b, len, item)
    }

    /// Sends on the bucket's port, behind any frame still waiting for release.
    fn route(&mut self, b: usize, len: u32, item: F) -> Dispatch<F> {
        let (Some(Some(port)), Some(record)) = (self.table.get(b), self.record_of_bucket(b)) else {
            self.totals.frames_dropped += 1;
            return Dispatch::Drop(item, DropReason::NoPort);
        };
        let port = *port;
        if !self.release.is_empty() {
            if self.release.len() > self.config.max_held_frames {
                self.totals.frames_dropped += 1;
                return Dispatch::Drop(item, DropReason::HeldQueueFull);
            }
            self.release.push_back(Released {
                port,
                record,
                len,
                item,
            });
            return Dispatch::Held;
        }
        self.count(record, len);
        Dispatch::Send(port, item)
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
                    self.totals.marker_timeouts += 1;
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
                self.totals.marker_timeouts += 1;
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

    /// The next frame to send that was held (or queued behind held frames), with its port, in
    /// the order the frames came in. Call after every `handle_*` until `None`.
    pub fn poll_release(&mut self) -> Option<(PortNumber, F)> {
        let r = self.release.pop_front()?;
        self.totals.frames_released += 1;
        self.count(r.record, r.len);
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

    /// Whether frames wait here: held for a move, or released and not yet taken with
    /// [`Distributor::poll_release`].
    pub fn has_pending(&self) -> bool {
        !self.held.is_empty() || !self.release.is_empty()
    }

    /// Counters (allocates; not for the per-frame path).
    pub fn stats(&self) -> DistStats {
        let ports = self
            .records
            .iter()
            .map(|s| PortStats {
                port: s.port,
                member: self.members.ports.contains(&s.port),
                draining: self.members.draining.contains(&s.port),
                frames: s.frames,
                bytes: s.bytes,
                buckets: self.table.iter().filter(|o| **o == Some(s.port)).count(),
                last_interval_bytes: s.last_interval_bytes,
            })
            .collect();
        DistStats {
            ports,
            bucket_bytes: self.buckets.iter().map(|s| s.bytes).collect(),
            last_interval_bucket_bytes: self
                .buckets
                .iter()
                .map(|s| s.last_interval_bytes)
                .collect(),
            frames_in: self.totals.frames_in,
            moves_started: self.totals.moves_started,
            moves_completed: self.totals.moves_completed,
            buckets_moved: self.totals.buckets_moved,
            frames_held: self.totals.frames_held,
            frames_released: self.totals.frames_released,
            frames_dropped: self.totals.frames_dropped,
            marker_timeouts: self.totals.marker_timeouts,
            early_completions: self.totals.early_completions,
            moves_cancelled: self.totals.moves_cancelled,
            stale_marker_responses: self.totals.stale_marker_responses,
            rebalance_runs: self.totals.rebalance_runs,
            held_now: self.held.len(),
            moves_in_flight: self.moves.iter().flatten().count()
                + usize::from(self.quiesce.is_some()),
        }
    }

    fn count(&mut self, record: u32, len: u32) {
        if let Some(s) = self.records.get_mut(record as usize) {
            s.frames += 1;
            s.bytes = s.bytes.saturating_add(u64::from(len));
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// After any change: continue drains, report drained ports and active-backup changes.
    fn after_change(&mut self, now: Instant) {
        if !self.deferred.is_empty() {
            self.start_deferred(now);
        }
        if !self.members.draining.is_empty() {
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
}
