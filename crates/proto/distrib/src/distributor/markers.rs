//! Marker requests: the queue the caller drains, pacing per port, sharing a Marker between
//! moves, and departure reports (when the Marker timeout starts).

use std::collections::VecDeque;

use lagd_types::{Duration, Instant, PortNumber};

use super::Distributor;
use crate::{Completion, MarkerRequest, MoveProtection};

/// Marker requests and what the caller tells about Markers.
#[derive(Debug, Default)]
pub(super) struct Markers {
    /// Requested, not yet taken ([`Distributor::poll_marker_request`]).
    pub(super) queue: VecDeque<MarkerRequest>,
    /// Frames of the buckets also leave by another path (lagd's kernel fast path) that is
    /// counted only later ([`Distributor::account_sent`]): a Marker already sent on a port may
    /// be ahead of frames sent there since, so no new move shares it.
    pub(super) other_sender: bool,
    /// The caller reports when each Marker leaves its port
    /// ([`Distributor::handle_marker_departed`]).
    pub(super) departure_reports: bool,
    /// Markers requested (with departure reports) whose departure is not reported yet.
    pub(super) undeparted: Vec<u64>,
}

impl<F> Distributor<F> {
    /// The next Marker to send. Returns `None` while released frames wait in
    /// [`poll_release`](Self::poll_release) (they must go out before the marker).
    pub fn poll_marker_request(&mut self) -> Option<MarkerRequest> {
        if !self.release.is_empty() {
            return None;
        }
        self.markers.queue.pop_front()
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
        self.markers.other_sender = on;
    }

    /// Whether the caller reports when each Marker leaves its port
    /// ([`handle_marker_departed`](Self::handle_marker_departed)); then a Marker timeout counts
    /// from the departure (see the module docs). A caller that cannot tell for some port
    /// reports the departure when it hands the Marker to that port. Turning reports on or off
    /// changes the Markers requested from then on; a Marker still awaited when they are turned
    /// off keeps its deadline (at most `marker_queue_limit` plus the timeout after its request).
    pub fn set_departure_reports(&mut self, on: bool) {
        self.markers.departure_reports = on;
        if !on {
            self.markers.undeparted.clear();
        }
    }

    /// The Marker of [`MarkerRequest`] `request` left its port at `now` (the driver took it from
    /// the transmit queue: every frame sent on the port before it is out too): the timeout of
    /// the moves (or the quiesce) it protects counts from now. Ignored without
    /// [`set_departure_reports`](Self::set_departure_reports), and for a Marker already
    /// reported or no longer awaited.
    pub fn handle_marker_departed(&mut self, now: Instant, request: u64) {
        let Some(i) = self.markers.undeparted.iter().position(|id| *id == request) else {
            return;
        };
        self.markers.undeparted.swap_remove(i);
        let MoveProtection::Marker { timeout } = self.config.move_protection else {
            return;
        };
        for m in self.moves.iter_mut().flatten() {
            if m.marker == request && m.on_deadline == Completion::Timeout {
                m.deadline = now + timeout;
            }
        }
        let undeparted = &self.markers.undeparted;
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

    /// Queues Marker request `id` on `port`; with departure reports, its departure is awaited.
    pub(super) fn request_marker(&mut self, now: Instant, id: u64, port: PortNumber) {
        self.markers.queue.push_back(MarkerRequest { id, port });
        self.marker_seen(port, now);
        if self.markers.departure_reports {
            self.markers.undeparted.push(id);
        }
    }

    /// A Marker was sent or answered on `port` at `now`: its pacing interval starts again.
    pub(super) fn marker_seen(&mut self, port: PortNumber, now: Instant) {
        let record = self.record_of(port);
        if let Some(r) = self.records.get_mut(record as usize) {
            r.marker_at = Some(r.marker_at.map_or(now, |t| t.max(now)));
        }
    }

    /// A Marker request of a move off `port` that is behind every frame sent there so far, so
    /// a new move off `port` may share it: one not sent yet, or one sent with no frame sent
    /// on the port since (its response is still awaited) and no other path sends there.
    pub(super) fn joinable_marker(&self, port: PortNumber) -> Option<u64> {
        if let Some(r) = self.markers.queue.iter().find(|r| r.port == port) {
            return Some(r.id);
        }
        if self.markers.other_sender {
            return None;
        }
        self.sent_marker_in_flight(port)
    }

    /// A Marker sent on `port` for a move whose response is still awaited, with no frame
    /// this distributor sent there since.
    pub(super) fn sent_marker_in_flight(&self, port: PortNumber) -> Option<u64> {
        let s = self.records.get(self.existing_record(port) as usize)?;
        let (id, frames) = s.marker_req?;
        let pending = self.moves.iter().flatten().any(|m| m.marker == id);
        (pending && frames == s.frames).then_some(id)
    }

    /// Until when a new Marker on `port` must wait (None: no pacing, or no Marker seen yet).
    pub(super) fn paced_until(&self, port: PortNumber) -> Option<Instant> {
        if self.config.marker_interval == Duration::ZERO {
            return None;
        }
        let s = self.records.get(self.existing_record(port) as usize)?;
        Some(s.marker_at? + self.config.marker_interval)
    }
}
