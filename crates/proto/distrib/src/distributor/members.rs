//! Membership: the distributing members, drains (administrative and protocol), the active
//! member of active-backup.

use lagd_types::{Instant, PortNumber};

use super::Distributor;
use crate::planner::water_fill;
use crate::{Completion, DistEvent, Mode, MoveReason};

/// The members and their drains.
#[derive(Debug, Default)]
pub(super) struct Members {
    /// Distributing members, priority order.
    pub(super) ports: Vec<PortNumber>,
    /// Ports being drained (members).
    pub(super) draining: Vec<PortNumber>,
    /// Draining ports whose `Drained` was reported.
    pub(super) drained_reported: Vec<PortNumber>,
    /// Draining ports that left distribution ([`Distributor::leave_ports`]): their moves never
    /// wait for Marker pacing.
    pub(super) leaving: Vec<PortNumber>,
}

impl<F> Distributor<F> {
    /// The Distributing members, in priority order.
    pub fn ports(&self) -> &[PortNumber] {
        &self.members.ports
    }

    /// Ports being drained.
    pub fn draining(&self) -> &[PortNumber] {
        &self.members.draining
    }

    /// Ports draining that left distribution ([`leave_ports`](Self::leave_ports)).
    pub fn leaving(&self) -> &[PortNumber] {
        &self.members.leaving
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
            .members
            .ports
            .iter()
            .copied()
            .filter(|p| !new.contains(p))
            .collect();
        let added: Vec<PortNumber> = new
            .iter()
            .copied()
            .filter(|p| !self.members.ports.contains(p))
            .collect();
        self.members.ports = new;
        // Every member has its record (counters) from now on.
        for i in 0..self.members.ports.len() {
            let Some(&p) = self.members.ports.get(i) else {
                break;
            };
            self.record_of(p);
        }
        let members = self.members.ports.clone();
        self.members.draining.retain(|p| members.contains(p));
        self.members
            .drained_reported
            .retain(|p| members.contains(p));
        self.members.leaving.retain(|p| members.contains(p));
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
                    self.totals.moves_cancelled += 1;
                } else {
                    self.totals.early_completions += 1;
                }
                self.complete_move(slot, Completion::Timeout);
            }
        }
        // Quiesce markers on failed ports will never return.
        if let Some(q) = self.quiesce.as_mut() {
            q.pending.retain(|(_, p)| !failed.contains(p));
            if q.markers && q.pending.is_empty() {
                self.totals.early_completions += 1;
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
    /// new Marker on the port within its
    /// [`marker_interval`](crate::DistributorConfig::marker_interval) waits (its conversations
    /// flowing on the port meanwhile), so that a responder answering one Marker per port in
    /// that interval answers the drain's. A port that must carry nothing
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
            .filter(|p| !self.members.leaving.contains(p))
            .collect();
        for &p in &new {
            if self.members.ports.contains(&p) {
                self.members.leaving.push(p);
            }
        }
        self.start_drains(&new);
        self.update_rr();
        self.after_change(now);
    }

    pub(super) fn start_drains(&mut self, ports: &[PortNumber]) {
        for &port in ports {
            if !self.members.ports.contains(&port) {
                self.events.push_back(DistEvent::Drained { port });
            } else if !self.members.draining.contains(&port) {
                self.members.draining.push(port);
            } else if self.members.drained_reported.contains(&port) {
                self.events.push_back(DistEvent::Drained { port });
            }
        }
    }

    /// Ends the drain of `port` (it distributes again): it takes back its share of buckets,
    /// each move marker-protected; moves already off it complete as planned.
    pub fn undrain_port(&mut self, now: Instant, port: PortNumber) {
        if !self.members.draining.contains(&port) {
            return;
        }
        self.members.draining.retain(|p| *p != port);
        self.members.drained_reported.retain(|p| *p != port);
        self.members.leaving.retain(|p| *p != port);
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
            || !self.members.ports.contains(&port)
            || self.members.draining.contains(&port)
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
                **o == Some(current) && self.buckets.get(*b).is_some_and(|s| s.moving.is_none())
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

    /// Members that may receive buckets: not draining (all members if every one is draining).
    pub(super) fn eligible(&self) -> Vec<PortNumber> {
        let e: Vec<PortNumber> = self
            .members
            .ports
            .iter()
            .copied()
            .filter(|p| !self.members.draining.contains(p))
            .collect();
        if e.is_empty() {
            self.members.ports.clone()
        } else {
            e
        }
    }

    pub(super) fn reconcile_drains(&mut self, now: Instant) {
        let targets: Vec<PortNumber> = self
            .members
            .ports
            .iter()
            .copied()
            .filter(|p| !self.members.draining.contains(p))
            .collect();
        for d in self.members.draining.clone() {
            let owned: Vec<u32> = self
                .table
                .iter()
                .enumerate()
                .filter(|(b, o)| {
                    **o == Some(d)
                        && self.buckets.get(*b).is_some_and(|s| s.moving.is_none())
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
        for d in self.members.draining.clone() {
            if self.members.drained_reported.contains(&d) {
                continue;
            }
            let owns = self.table.contains(&Some(d));
            let moving = self
                .moves
                .iter()
                .flatten()
                .any(|m| m.from == d || m.to == d);
            if !owns && !moving {
                self.members.drained_reported.push(d);
                self.events.push_back(DistEvent::Drained { port: d });
            }
        }
    }
}
