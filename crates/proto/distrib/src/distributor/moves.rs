//! Protected moves: planning them into moves (or deferring them for Marker pacing), holding
//! their frames, completing and cancelling them.

use lagd_types::{Instant, PortNumber};

use super::Distributor;
use crate::{Completion, Dispatch, DistEvent, DropReason, Mode, MoveProtection, MoveReason};

/// What a held frame waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeldFor {
    /// The move in this slot.
    Move(u32),
    /// The quiesce of a remap.
    Quiesce,
}

/// A frame held during a move.
#[derive(Debug)]
pub(super) struct Held<F> {
    pub(super) waits: HeldFor,
    pub(super) hash: u32,
    pub(super) len: u32,
    pub(super) item: F,
}

/// A frame waiting in `poll_release`.
#[derive(Debug)]
pub(super) struct Released<F> {
    pub(super) port: PortNumber,
    /// The record of `port` (its counters).
    pub(super) record: u32,
    pub(super) len: u32,
    pub(super) item: F,
}

/// A protected move of buckets from one port to another.
#[derive(Debug)]
pub(super) struct Move {
    pub(super) id: u64,
    /// The [`MarkerRequest`](crate::MarkerRequest) that protects it: its own id, or the id of
    /// an earlier move off the same port whose Marker had not gone out yet (one Marker covers
    /// both).
    pub(super) marker: u64,
    pub(super) from: PortNumber,
    pub(super) to: PortNumber,
    pub(super) buckets: Vec<u32>,
    pub(super) deadline: Instant,
    /// How the move completes when `deadline` passes.
    pub(super) on_deadline: Completion,
}

/// A planned move waiting for its source port's Marker pacing interval
/// ([`DistributorConfig::marker_interval`](crate::DistributorConfig::marker_interval)); the
/// bucket keeps its port meanwhile.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deferred {
    pub(super) bucket: u32,
    pub(super) from: PortNumber,
    pub(super) to: PortNumber,
    pub(super) reason: MoveReason,
}

impl<F> Distributor<F> {
    /// Whether a bucket that leaves a live port waits for the frames in flight there (a Marker
    /// or the collector delay): a hashed or active-backup mode with move protection.
    pub fn protects_moves(&self) -> bool {
        matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup)
            && self.config.move_protection != MoveProtection::None
    }

    /// The protection moves get now: none in the unordered modes or while a quiesce holds
    /// every frame anyway.
    pub(super) fn protection(&self) -> MoveProtection {
        if self.quiesce.is_some() || !matches!(self.config.mode, Mode::Hash | Mode::ActiveBackup) {
            MoveProtection::None
        } else {
            self.config.move_protection
        }
    }

    pub(super) fn hold(
        &mut self,
        now: Instant,
        waits: HeldFor,
        hash: u32,
        len: u32,
        item: F,
    ) -> Dispatch<F> {
        if self.held.len() + self.release.len() < self.config.max_held_frames {
            self.held.push_back(Held {
                waits,
                hash,
                len,
                item,
            });
            self.totals.frames_held += 1;
            return Dispatch::Held;
        }
        // Full: complete what this frame waits for now (timeout semantics), then queue the frame
        // behind the frames that completion released.
        self.totals.early_completions += 1;
        match waits {
            HeldFor::Quiesce => self.complete_quiesce(Completion::Timeout),
            HeldFor::Move(slot) => self.complete_move(slot as usize, Completion::Timeout),
        }
        self.after_change(now);
        let b = hash as usize & self.mask;
        let (Some(Some(port)), Some(record)) = (self.table.get(b), self.record_of_bucket(b)) else {
            self.totals.frames_dropped += 1;
            return Dispatch::Drop(item, DropReason::NoPort);
        };
        self.release.push_back(Released {
            port: *port,
            record,
            len,
            item,
        });
        Dispatch::Held
    }

    /// The Marker Response for [`MarkerRequest`](crate::MarkerRequest) `request` came back: the
    /// move (or the quiesce) it protects may complete. Unknown or late responses are counted
    /// and ignored.
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
            self.totals.stale_marker_responses += 1;
        }
        self.after_change(now);
    }

    /// Starts moves for `(bucket, from, to)`, one per (from, to) pair; moves off one port share
    /// one Marker. A move that would need a Marker on a port still in its pacing interval
    /// waits in `deferred` (coalesced per bucket, so per port pair), unless its port is
    /// [`leaving`](Self::leave_ports).
    pub(super) fn execute_plan(
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
                let paced = !self.members.leaving.contains(&from)
                    && self.joinable_marker(from).is_none()
                    && !(self.markers.other_sender && self.sent_marker_in_flight(from).is_some())
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
            self.totals.moves_started += 1;
            let (wait, on_deadline, marker) = match protection {
                MoveProtection::None => {
                    self.totals.buckets_moved += buckets.len() as u64;
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
                if let Some(s) = self.buckets.get_mut(b as usize) {
                    s.moving = Some(slot as u32);
                }
            }
            let shared = match self.joinable_marker(from) {
                Some(q) if marker => q,
                _ => {
                    if marker {
                        self.request_marker(now, id, from);
                        let record = self.record_of(from);
                        if let Some(r) = self.records.get_mut(record as usize) {
                            r.marker_req = Some((id, r.frames));
                        }
                    }
                    id
                }
            };
            // A Marker whose departure is awaited: its timeout starts when it leaves.
            let deadline = if marker && self.markers.undeparted.contains(&shared) {
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
    pub(super) fn complete_move(&mut self, slot: usize, by: Completion) {
        self.finish_move(slot, by, false);
    }

    /// Ends move `slot`; with `cancel`, its buckets stay on the source.
    pub(super) fn finish_move(&mut self, slot: usize, by: Completion, cancel: bool) {
        let Some(m) = self.moves.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let to_alive = !cancel && self.members.ports.contains(&m.to);
        for &b in &m.buckets {
            if let Some(s) = self.buckets.get_mut(b as usize) {
                s.moving = None;
            }
            if to_alive {
                self.assign(b as usize, Some(m.to));
            }
        }
        if to_alive {
            self.totals.buckets_moved += m.buckets.len() as u64;
        }
        self.totals.moves_completed += 1;
        let released = self.release_held(HeldFor::Move(slot as u32));
        let shared = self.moves.iter().flatten().any(|x| x.marker == m.marker);
        if !shared {
            self.markers.queue.retain(|r| r.id != m.marker);
            self.markers.undeparted.retain(|id| *id != m.marker);
        }
        self.events.push_back(DistEvent::MoveCompleted {
            id: m.id,
            by,
            held_released: released,
        });
    }

    /// Cancels every move in flight: buckets stay where they are, held frames go out there
    /// (behind what was already sent on that port, so in order).
    pub(super) fn cancel_all_moves(&mut self) {
        self.deferred.clear();
        for slot in 0..self.moves.len() {
            if self.moves.get(slot).is_some_and(Option::is_some) {
                self.totals.moves_cancelled += 1;
                self.finish_move(slot, Completion::Timeout, true);
            }
        }
        if self.quiesce.is_some() {
            self.totals.early_completions += 1;
            self.complete_quiesce(Completion::Timeout);
        }
    }

    /// Moves the held frames that wait for `waits` to the release queue, in order, each to its
    /// bucket's port now. Returns how many.
    pub(super) fn release_held(&mut self, waits: HeldFor) -> usize {
        let mut released = 0;
        for _ in 0..self.held.len() {
            let Some(h) = self.held.pop_front() else {
                break;
            };
            if h.waits != waits {
                self.held.push_back(h);
                continue;
            }
            released += 1;
            let b = h.hash as usize & self.mask;
            match (self.table.get(b), self.record_of_bucket(b)) {
                (Some(Some(port)), Some(record)) => self.release.push_back(Released {
                    port: *port,
                    record,
                    len: h.len,
                    item: h.item,
                }),
                _ => self.totals.frames_dropped += 1,
            }
        }
        released
    }

    /// Drops deferred moves that no longer apply: the bucket left its source or moves already,
    /// the source left, or the destination may no longer receive buckets.
    pub(super) fn prune_deferred(&mut self) {
        let eligible = self.eligible();
        let deferred = core::mem::take(&mut self.deferred);
        self.deferred = deferred
            .into_iter()
            .filter(|d| {
                let b = d.bucket as usize;
                self.members.ports.contains(&d.from)
                    && eligible.contains(&d.to)
                    && d.to != d.from
                    && self.table.get(b).copied().flatten() == Some(d.from)
                    && self.buckets.get(b).is_some_and(|s| s.moving.is_none())
            })
            .collect();
    }

    /// Starts the deferred moves whose source's pacing interval has passed (or that is leaving,
    /// or when moves are no longer marker-protected).
    pub(super) fn start_deferred(&mut self, now: Instant) {
        self.prune_deferred();
        let marker = matches!(self.protection(), MoveProtection::Marker { .. });
        let due: Vec<Deferred> = self
            .deferred
            .iter()
            .copied()
            .filter(|d| {
                !marker
                    || self.members.leaving.contains(&d.from)
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
}
