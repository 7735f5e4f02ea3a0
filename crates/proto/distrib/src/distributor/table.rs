//! The bucket table, what is kept per bucket, and the per-port records.

use lagd_types::{Instant, PortNumber};

use super::Distributor;
use crate::planner::water_fill;
use crate::{DistEvent, Mode, MoveReason};

/// `BucketState::record` of a bucket with no port.
pub(super) const NO_RECORD: u32 = u32::MAX;

/// What is kept per bucket besides its port (`Distributor::table`).
#[derive(Clone, Copy, Debug)]
pub(super) struct BucketState {
    /// The record of its port (the counters its frames are charged to), [`NO_RECORD`] without
    /// a port.
    pub(super) record: u32,
    /// The slot of the move it is part of, while it moves.
    pub(super) moving: Option<u32>,
    /// Bytes hashed to it in the current rebalance interval.
    pub(super) bytes: u64,
    /// Bytes hashed to it in the last complete rebalance interval.
    pub(super) last_interval_bytes: u64,
}

impl Default for BucketState {
    fn default() -> Self {
        BucketState {
            record: NO_RECORD,
            moving: None,
            bytes: 0,
            last_interval_bytes: 0,
        }
    }
}

/// A port's counters and Marker history (kept across membership changes).
#[derive(Clone, Debug, Default)]
pub(super) struct PortRecord {
    pub(super) port: PortNumber,
    pub(super) frames: u64,
    pub(super) bytes: u64,
    pub(super) last_interval_bytes: u64,
    /// The latest Marker sent or Marker Response received on the port (pacing).
    pub(super) marker_at: Option<Instant>,
    /// The latest Marker requested on the port for a move, and `frames` when it was: while
    /// no frame went out there since, a new move off the port may share it.
    pub(super) marker_req: Option<(u64, u64)>,
}

impl<F> Distributor<F> {
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
                .all(|o| o.is_some_and(|p| self.members.ports.contains(&p)))
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
        self.quiesce.is_some() || self.buckets.get(bucket).is_some_and(|s| s.moving.is_some())
    }

    /// [`Mode::ActiveBackup`]: the port carrying the traffic.
    pub fn active(&self) -> Option<PortNumber> {
        match self.config.mode {
            Mode::ActiveBackup => self.table.first().copied().flatten(),
            _ => None,
        }
    }

    pub(super) fn record_of(&mut self, port: PortNumber) -> u32 {
        if let Some(i) = self.records.iter().position(|s| s.port == port) {
            return i as u32;
        }
        self.records.push(PortRecord {
            port,
            ..PortRecord::default()
        });
        (self.records.len() - 1) as u32
    }

    pub(super) fn existing_record(&self, port: PortNumber) -> u32 {
        self.records
            .iter()
            .position(|s| s.port == port)
            .map_or(NO_RECORD, |i| i as u32)
    }

    /// The record of bucket `b`'s port, if it has a port.
    pub(super) fn record_of_bucket(&self, b: usize) -> Option<u32> {
        self.buckets.get(b).map(|s| s.record)
    }

    pub(super) fn assign(&mut self, b: usize, port: Option<PortNumber>) {
        let record = match port {
            Some(p) => self.record_of(p),
            None => NO_RECORD,
        };
        if let (Some(t), Some(s)) = (self.table.get_mut(b), self.buckets.get_mut(b)) {
            *t = port;
            s.record = record;
        }
    }

    /// Bucket counts of `ports`, counting moving buckets at their destination.
    pub(super) fn effective_counts(&self, ports: &[PortNumber]) -> Vec<usize> {
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

    /// A fresh table: Active-backup puts every bucket on the active port (kept if still
    /// eligible), the other modes spread buckets evenly.
    pub(super) fn rebuild_table(&mut self) {
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
    pub(super) fn assign_orphans(&mut self, had_failures: bool) {
        let e = self.eligible();
        let orphan = |o: &Option<PortNumber>| o.is_none_or(|p| !self.members.ports.contains(&p));
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
                self.totals.buckets_moved += n as u64;
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
            self.totals.buckets_moved += 1;
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
}
