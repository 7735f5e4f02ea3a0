//! Load: what each bucket carried, rebalancing by it, and evening out bucket counts after
//! joins.

use lagd_types::{Instant, PortNumber};

use super::Distributor;
use crate::planner::{BucketLoad, plan_rebalance, take_share};
use crate::{Mode, MoveReason};

impl<F> Distributor<F> {
    /// Frames of `bucket` that another path (lagd's kernel fast path) sent on the bucket's
    /// port: counted as if dispatched here, for the load measurement and the per-port counters.
    pub fn account_sent(&mut self, bucket: usize, frames: u64, bytes: u64) {
        let record = self.buckets.get_mut(bucket).map(|s| {
            s.bytes = s.bytes.saturating_add(bytes);
            s.record
        });
        if let Some(s) = record.and_then(|r| self.records.get_mut(r as usize)) {
            s.frames = s.frames.saturating_add(frames);
            s.bytes = s.bytes.saturating_add(bytes);
        }
        self.totals.frames_in = self.totals.frames_in.saturating_add(frames);
    }

    pub(super) fn schedule_rebalance(&mut self, now: Instant) {
        if self.next_rebalance.is_none()
            && self.config.mode == Mode::Hash
            && let Some(iv) = self.config.rebalance_interval
        {
            self.next_rebalance = Some(now + iv);
        }
    }

    /// One rebalance interval ended: plan moves from the measured per-bucket load, then reset
    /// the counters.
    pub(super) fn rebalance(&mut self, now: Instant) {
        // Remember each port's load of the interval, for stats.
        for r in &mut self.records {
            r.last_interval_bytes = 0;
        }
        for s in &self.buckets {
            if let Some(r) = self.records.get_mut(s.record as usize) {
                r.last_interval_bytes += s.bytes;
            }
        }
        let idle = self.moves.iter().all(Option::is_none)
            && self.deferred.is_empty()
            && self.quiesce.is_none();
        if self.config.mode == Mode::Hash && idle && self.members.ports.len() >= 2 {
            self.totals.rebalance_runs += 1;
            let e: Vec<PortNumber> = self
                .members
                .ports
                .iter()
                .copied()
                .filter(|p| !self.members.draining.contains(p))
                .collect();
            let mut loads = vec![0u64; e.len()];
            let mut buckets = Vec::new();
            for (b, (o, s)) in self.table.iter().zip(&self.buckets).enumerate() {
                let bytes = &s.bytes;
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
        for s in &mut self.buckets {
            s.last_interval_bytes = s.bytes;
            s.bytes = 0;
        }
    }

    /// New ports take about `buckets / n` each from the members with the most buckets.
    pub(super) fn take_back(&mut self, now: Instant, added: &[PortNumber]) {
        let e = self.eligible();
        if e.is_empty() {
            return;
        }
        let target = self.table.len() / e.len();
        let mut counts = self.effective_counts(&e);
        let mut candidates: Vec<Vec<u32>> = vec![Vec::new(); e.len()];
        for (b, o) in self.table.iter().enumerate() {
            let moving = self.buckets.get(b).is_some_and(|s| s.moving.is_some())
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

    /// After ports joined, once no move is in flight: members below their share
    /// (`buckets / n`) take buckets from the richest until every member is within one bucket
    /// of every other. Only joins trigger this, never load rebalancing (which makes counts
    /// uneven on purpose), so the two never fight.
    pub(super) fn even_out(&mut self, now: Instant) {
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
}
