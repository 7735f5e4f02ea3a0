//! What the distributor reports: marker requests and events.

use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

/// A request to send a Marker PDU (Marker Information, 802.1AX §6.5.3) on `port`, behind every
/// frame already sent there. Report its Marker Response with
/// [`Distributor::handle_marker_response`](crate::Distributor::handle_marker_response)`(id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MarkerRequest {
    /// Our identifier for this request (unique per distributor).
    pub id: u64,
    /// The port to send the Marker on (the port conversations are moving off).
    pub port: PortNumber,
}

/// Why buckets moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveReason {
    /// Their port stopped Distributing (moved at once, unprotected: nothing can still be in
    /// flight on a dead link).
    PortFailed,
    /// A port started Distributing and takes its share.
    PortAdded,
    /// Load rebalancing.
    Rebalance,
    /// [`Distributor::drain_port`](crate::Distributor::drain_port).
    Drain,
    /// The operator chose the active member of an active-backup aggregation
    /// ([`Distributor::choose_active`](crate::Distributor::choose_active)).
    Chosen,
    /// The mode, hash policy or bucket count changed: every conversation may be remapped
    /// (reported per port as `from: None`, with the port's bucket count after the change).
    PolicyChange,
}

/// How a protected move completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Completion {
    /// The Marker Response came back: nothing of the moved conversations is left in flight.
    MarkerResponse,
    /// Completed without confirmation: the marker timeout passed, or the move had to complete
    /// early (held-frame limit reached, its source port failed), or it was cancelled (its
    /// destination failed, or a configuration change; the buckets then stay where they were). Counted in [`DistStats`](crate::DistStats).
    Timeout,
    /// The [`MoveProtection::CollectorDelay`](crate::MoveProtection::CollectorDelay) passed.
    CollectorDelay,
}

/// Something the distributor did, for logs, monitoring and the caller's bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistEvent {
    /// `buckets` buckets were assigned from `from` (None: unassigned, or every port for
    /// [`MoveReason::PolicyChange`]) to `to`. Reported when the move is decided: unprotected
    /// moves take effect at once, protected ones at their `MoveCompleted`.
    BucketsMoved {
        /// The port they leave.
        from: Option<PortNumber>,
        /// The port they go to.
        to: PortNumber,
        /// How many buckets.
        buckets: usize,
        /// Why.
        reason: MoveReason,
    },
    /// A protected move (or the quiesce of a policy change: one event per marker) completed;
    /// `held_released` frames were queued for [`poll_release`](crate::Distributor::poll_release).
    MoveCompleted {
        /// The move's id (the id of its [`MarkerRequest`], unless it shared the Marker of an
        /// earlier move off the same port, whose id that request carries).
        id: u64,
        /// How it completed.
        by: Completion,
        /// Frames released.
        held_released: usize,
    },
    /// A port given to [`drain_port`](crate::Distributor::drain_port) owns no bucket and every
    /// move off it completed: the caller may remove it without loss or reordering.
    Drained {
        /// The drained port.
        port: PortNumber,
    },
    /// [`Mode::ActiveBackup`](crate::Mode::ActiveBackup): the port carrying the traffic changed.
    ActiveChanged {
        /// The new active port (None: no port left).
        port: Option<PortNumber>,
    },
}
