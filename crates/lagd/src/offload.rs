//! The kernel fast path as the daemon runs it (`offload = true`).
//!
//! **Wire → host** ([`lagd_dataplane::rx_offload`]): one program per member delivers its data
//! frames to the aggregate while the member is Collecting (its map follows the protocol's
//! Collecting state at every [`Offload::sync_collecting`]) and drops them otherwise; the
//! member's packet socket then receives Slow Protocols frames only.
//!
//! **Host → wire** ([`lagd_dataplane::tx_offload`]): which buckets the kernel program sends
//! straight to a member, and which stay on the user-space path.
//!
//! Ordering is the rule: a conversation's frames must leave in the order the host sent them.
//! * A bucket the distributor is **moving** (Marker protocol, §6.5) goes back to user space
//!   *before* the move's Marker PDU is queued: this runs inside [`crate::adapter::Adapter`]'s
//!   `drain_events`, in the same critical section as the input that started the move, and the
//!   kernel enqueues a redirected frame on the member at once, so every frame sent through the
//!   fast path is on the old link ahead of the Marker.
//! * A bucket comes (back) to the fast path only when **none of its frames waits in user
//!   space**: the TX thread has just found the TAP empty and sent everything it read, the
//!   distributor holds no frame, and the bucket's last frame in user space is at least
//!   [`IDLE`] old (a flowlet gap: it covers the few microseconds a frame spends between the
//!   program's verdict and the TAP's queue). A conversation that never pauses for [`IDLE`]
//!   stays in user space once it went there (correct, only slower).
//! * A bucket whose member failed moves to its new member at once (what was queued on the dead
//!   link is lost either way, as on the user-space path).
//!
//! Every [`HARVEST`], the kernel's per-bucket counters are folded into the member and aggregate
//! counters and into the distributor's load measurement (so rebalancing sees offloaded load).

use std::collections::BTreeMap;

use lagd_agg::lagd_distrib::{Distributor, HashPolicy, Mode};
use lagd_dataplane::rx_offload::{RxCounts, RxOffload};
use lagd_dataplane::tx_offload::{HashPlan, TxOffload};
use lagd_types::{Duration, Instant, PortNumber};

/// How long a bucket must be idle in user space before it goes (back) to the fast path.
pub const IDLE: Duration = Duration::from_millis(10);
/// Promotion passes at most this often.
pub const PROMOTE_EVERY: Duration = Duration::from_millis(2);
/// How often the kernel's counters are read.
pub const HARVEST: Duration = Duration::from_millis(250);

/// The data plane's hash plan for `policy` with `buckets` buckets.
pub fn plan(policy: &HashPolicy, buckets: usize) -> HashPlan {
    let p = policy.ip_plan();
    HashPlan {
        l2: p.l2,
        l3: p.l3,
        l4: p.l4,
        init_tcp: p.init_tcp,
        init_udp: p.init_udp,
        init6_tcp: p.init6_tcp,
        init6_udp: p.init6_udp,
        golden: p.golden,
        mul: p.fmix_mul,
        buckets: u32::try_from(buckets).unwrap_or(0),
    }
}

/// Per-port totals of what the fast path sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
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
pub struct Totals {
    sent: BTreeMap<PortNumber, Sent>,
    received: BTreeMap<PortNumber, RxCounts>,
}

impl Totals {
    /// Adds what `o` counted so far.
    pub fn absorb(&mut self, o: &Offload) {
        for (p, s) in &o.sent {
            *self.sent.entry(*p).or_default() += *s;
        }
        let ports: std::collections::BTreeSet<PortNumber> =
            o.rx.keys().chain(o.rx_gone.keys()).copied().collect();
        for p in ports {
            *self.received.entry(p).or_default() += o.received(p);
        }
    }

    /// Member `port`'s totals.
    pub fn of(&self, port: PortNumber) -> (Sent, RxCounts) {
        (
            self.sent.get(&port).copied().unwrap_or_default(),
            self.received.get(&port).copied().unwrap_or_default(),
        )
    }
}

/// The fast path of one aggregation.
#[derive(Debug)]
pub struct Offload {
    dp: TxOffload,
    ifindex: BTreeMap<PortNumber, u32>,
    last_slow: Vec<Option<Instant>>,
    seen: Vec<(u64, u64)>,
    sent: BTreeMap<PortNumber, Sent>,
    next_harvest: Option<Instant>,
    /// No promotion pass before this: the TX thread offers one at every drained batch, and a
    /// pass walks every bucket.
    next_promote: Instant,
    /// The aggregate (0 until attached).
    tap: u32,
    /// Each member's receive program (members where it could not be attached have none).
    rx: BTreeMap<PortNumber, RxOffload>,
    /// Last counts of receive programs detached since (members removed or refused).
    rx_gone: BTreeMap<PortNumber, RxCounts>,
    /// Offloaded load to add to the distributor: (bucket, bytes, segments).
    pending: Vec<(usize, u64, u64)>,
}

impl Offload {
    /// Loads the program for `policy` (every bucket on the user-space path, not attached).
    pub fn new(policy: &HashPolicy, buckets: usize) -> lagd_dataplane::Result<Self> {
        let dp = TxOffload::new(&plan(policy, buckets))?;
        Ok(Offload {
            dp,
            ifindex: BTreeMap::new(),
            last_slow: vec![None; buckets],
            seen: vec![(0, 0); buckets],
            sent: BTreeMap::new(),
            next_harvest: None,
            next_promote: Instant::ZERO,
            tap: 0,
            rx: BTreeMap::new(),
            rx_gone: BTreeMap::new(),
            pending: Vec::new(),
        })
    }

    /// Attaches the program to the aggregate `tap`.
    pub fn attach(&mut self, tap: u32) -> lagd_dataplane::Result<()> {
        self.dp.attach(tap)?;
        self.tap = tap;
        Ok(())
    }

    /// Member `port` is interface `ifindex`: its receive program is attached (data frames are
    /// dropped until it is Collecting). Returns whether it was; if so, the member's packet
    /// socket must receive Slow Protocols frames only.
    pub fn set_member(&mut self, port: PortNumber, ifindex: u32) -> bool {
        self.ifindex.insert(port, ifindex);
        self.remove_rx(port);
        match RxOffload::attach(ifindex) {
            Ok(r) => {
                self.rx.insert(port, r);
                true
            }
            Err(e) => {
                tracing::warn!(
                    port,
                    "offload: receive program not attached ({e}); this member's frames take the user-space path"
                );
                false
            }
        }
    }

    /// Member `port` is gone: its receive program is detached, and its buckets leave the fast
    /// path at the next [`Offload::sync`].
    pub fn remove_member(&mut self, port: PortNumber) {
        self.ifindex.remove(&port);
        self.remove_rx(port);
    }

    /// Detaches member `port`'s receive program (its counts are kept).
    pub fn remove_rx(&mut self, port: PortNumber) {
        if let Some(r) = self.rx.remove(&port) {
            *self.rx_gone.entry(port).or_default() += r.counts().unwrap_or_default();
        }
    }

    /// Whether member `port`'s frames arrive through the kernel fast path.
    pub fn has_rx(&self, port: PortNumber) -> bool {
        self.rx.contains_key(&port)
    }

    /// Follows the members' Collecting state (§6.4.15): data frames of a Collecting member go
    /// to the aggregate, the others' are dropped.
    pub fn sync_collecting(&mut self, collecting: impl Fn(PortNumber) -> bool) {
        let tap = self.tap;
        for (port, r) in self.rx.iter_mut() {
            let want = (collecting(*port) && tap != 0).then_some(tap);
            if let Err(e) = r.set_collecting(want) {
                tracing::warn!(port, "offload: receive state: {e}");
            }
        }
    }

    /// What member `port`'s receive programs counted.
    pub fn received(&self, port: PortNumber) -> RxCounts {
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

    /// A frame of `bucket` went through user space at `now`.
    pub fn note_slow(&mut self, now: Instant, bucket: usize) {
        if let Some(t) = self.last_slow.get_mut(bucket) {
            *t = Some(now);
        }
    }

    /// Takes buckets off the fast path or moves them, as the distributor decided: a bucket
    /// that is moving or has no member leaves the fast path; a fast bucket whose member
    /// changed (failover) follows at once. Never puts a bucket on the fast path (see
    /// [`Offload::promote`]).
    pub fn sync<F>(&mut self, dist: &Distributor<F>) {
        let hash = dist.config().mode == Mode::Hash;
        for b in 0..self.dp.buckets() {
            let current = self.dp.bucket(b);
            if current == 0 {
                continue;
            }
            let want = if !hash || dist.is_moving(b) {
                0
            } else {
                self.target(dist, b)
            };
            if want != current {
                // What the bucket sent so far is charged to the member it was on.
                self.harvest_bucket(b);
                if let Err(e) = self.dp.set_bucket(b, want) {
                    tracing::warn!("TX offload: bucket {b}: {e}");
                }
            }
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

    /// Puts on the fast path every bucket that has a member, is not moving, and whose last
    /// frame in user space is at least [`IDLE`] old. Call only when no frame waits in user
    /// space: the TX thread found the TAP empty and sent everything it read (the forwarder's
    /// `tap_drained`), and the distributor holds nothing.
    pub fn promote<F>(&mut self, now: Instant, dist: &Distributor<F>) {
        if now < self.next_promote || dist.has_pending() || dist.config().mode != Mode::Hash {
            return;
        }
        self.next_promote = now + PROMOTE_EVERY;
        for b in 0..self.dp.buckets() {
            if self.dp.bucket(b) != 0 || dist.is_moving(b) {
                continue;
            }
            let idle = |t: Instant| now.saturating_since(t) >= IDLE;
            if !self.last_slow.get(b).copied().flatten().is_none_or(idle) {
                continue;
            }
            let target = self.target(dist, b);
            if target == 0 {
                continue;
            }
            // The program's own note: a frame it passed to user space may still wait in the
            // TAP's queue, where lagd has not seen it yet.
            match self.dp.last_slow_ns(b) {
                Ok(ns) if ns == 0 || idle(Instant::from_nanos(ns)) => {}
                _ => continue,
            }
            if let Err(e) = self.dp.set_bucket(b, target) {
                tracing::warn!("TX offload: bucket {b}: {e}");
            }
        }
    }

    /// When the next counter harvest is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_harvest
    }

    /// Reads the kernel counters when due, charging each bucket's new counts to the member it
    /// is on; the load goes to [`Offload::take_pending`].
    pub fn harvest(&mut self, now: Instant) {
        if self.next_harvest.is_some_and(|t| now < t) {
            return;
        }
        self.next_harvest = Some(now + HARVEST);
        for b in 0..self.dp.buckets() {
            self.harvest_bucket(b);
        }
    }

    fn harvest_bucket(&mut self, b: usize) {
        let Ok((bytes, segs)) = self.dp.counts(b) else {
            return;
        };
        let Some(seen) = self.seen.get_mut(b) else {
            return;
        };
        let (db, ds) = (bytes.saturating_sub(seen.0), segs.saturating_sub(seen.1));
        *seen = (bytes, segs);
        if ds == 0 {
            return;
        }
        let current = self.dp.bucket(b);
        if let Some(port) = self
            .ifindex
            .iter()
            .find(|(_, i)| **i == current)
            .map(|(p, _)| *p)
        {
            *self.sent.entry(port).or_default() += Sent {
                frames: ds,
                bytes: db,
            };
        }
        self.pending.push((b, db, ds));
    }

    /// Offloaded load not yet given to the distributor: (bucket, bytes, segments).
    pub fn take_pending(&mut self) -> Vec<(usize, u64, u64)> {
        std::mem::take(&mut self.pending)
    }

    /// What the fast path sent in all.
    pub fn sent_total(&self) -> Sent {
        self.sent.values().fold(Sent::default(), |mut a, s| {
            a += *s;
            a
        })
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.dp.buckets()
    }

    /// Buckets on the fast path now.
    pub fn fast_buckets(&self) -> usize {
        (0..self.dp.buckets())
            .filter(|b| self.dp.bucket(*b) != 0)
            .count()
    }

    /// Runs the program on `frame` without sending it (tests): the verdict.
    pub fn test_run(&self, frame: &[u8]) -> lagd_dataplane::Result<i32> {
        self.dp.test_run(frame)
    }

    /// Bytes and segments the program counted for `bucket`.
    pub fn counts(&self, bucket: usize) -> lagd_dataplane::Result<(u64, u64)> {
        self.dp.counts(bucket)
    }

    /// Sets `bucket`'s entry directly (tests).
    pub fn force_bucket(&mut self, bucket: usize, ifindex: u32) -> lagd_dataplane::Result<()> {
        self.dp.set_bucket(bucket, ifindex)
    }
}
