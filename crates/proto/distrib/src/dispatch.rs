//! What the distributor decides for one frame.

use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

/// The fate of one frame handed to [`Distributor::handle_frame`](crate::Distributor::handle_frame)
/// or [`Distributor::handle_hashed`](crate::Distributor::handle_hashed).
#[derive(Debug, PartialEq, Eq)]
pub enum Dispatch<F> {
    /// Send it on this port now.
    Send(PortNumber, F),
    /// Send a copy on every port in [`Distributor::ports`](crate::Distributor::ports)
    /// ([`Mode::Broadcast`](crate::Mode::Broadcast)).
    Broadcast(F),
    /// Queued inside (its conversation is moving, or released frames are still waiting); it
    /// comes out of [`Distributor::poll_release`](crate::Distributor::poll_release), in order.
    Held,
    /// Not sent.
    Drop(F, DropReason),
}

/// Why a frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// No port is Distributing.
    NoPort,
    /// The released-frames queue is full: the caller has not drained
    /// [`poll_release`](crate::Distributor::poll_release) (it must, after every `handle_*`).
    /// Never happens when the caller follows that rule; held frames themselves are never
    /// dropped (a full held queue completes the move early instead).
    HeldQueueFull,
}
