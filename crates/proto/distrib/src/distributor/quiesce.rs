//! The quiesce that protects a remap (a change of mode, hash policy or bucket count): every
//! frame held until a Marker came back from every port (or the timeout passed).

use lagd_types::{Duration, Instant, PortNumber};

use super::Distributor;
use super::moves::HeldFor;
use crate::{Completion, DistEvent, MoveProtection};

/// The quiesce in progress.
#[derive(Debug)]
pub(super) struct Quiesce {
    /// Every id (one per marker, or one for a collector delay).
    pub(super) ids: Vec<u64>,
    /// Markers not yet answered: (id, port).
    pub(super) pending: Vec<(u64, PortNumber)>,
    /// Whether completion waits for markers (else only for the deadline).
    pub(super) markers: bool,
    pub(super) deadline: Instant,
    pub(super) on_deadline: Completion,
    /// The latest departure reported of its Markers.
    pub(super) departed: Option<Instant>,
}

impl<F> Distributor<F> {
    pub(super) fn start_quiesce(&mut self, now: Instant) {
        if self.members.ports.is_empty() {
            return;
        }
        let (timeout, on_deadline, markers) = match self.config.move_protection {
            MoveProtection::None => return,
            MoveProtection::Marker { timeout } => (timeout, Completion::Timeout, true),
            MoveProtection::CollectorDelay(d) => (d, Completion::CollectorDelay, false),
        };
        let queue = if markers && self.markers.departure_reports {
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
            for i in 0..self.members.ports.len() {
                let Some(&port) = self.members.ports.get(i) else {
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
        self.totals.moves_started += 1;
        self.quiesce = Some(q);
    }

    pub(super) fn complete_quiesce(&mut self, by: Completion) {
        let Some(q) = self.quiesce.take() else { return };
        let released = self.release_held(HeldFor::Quiesce);
        self.markers.queue.retain(|r| !q.ids.contains(&r.id));
        self.markers.undeparted.retain(|id| !q.ids.contains(id));
        self.totals.moves_completed += 1;
        let last = q.ids.len().saturating_sub(1);
        for (i, id) in q.ids.into_iter().enumerate() {
            self.events.push_back(DistEvent::MoveCompleted {
                id,
                by,
                held_released: if i == last { released } else { 0 },
            });
        }
    }
}
