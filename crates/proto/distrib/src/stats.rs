//! Distributor counters.

use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

/// Counters of one port. Kept across membership changes (a port that leaves and returns keeps
/// its totals), so they survive flaps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStats {
    /// The port.
    pub port: PortNumber,
    /// Whether it is currently a member (in [`Distributor::ports`](crate::Distributor::ports)).
    pub member: bool,
    /// Whether it is being drained.
    pub draining: bool,
    /// Frames given to the caller for this port (sent or released).
    pub frames: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Buckets it owns now.
    pub buckets: usize,
    /// Bytes hashed to its buckets in the last complete rebalance interval.
    pub last_interval_bytes: u64,
}

/// Distributor counters, from [`Distributor::stats`](crate::Distributor::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistStats {
    /// Per port, in order of first appearance.
    pub ports: Vec<PortStats>,
    /// Per bucket: bytes hashed to it in the current rebalance interval.
    pub bucket_bytes: Vec<u64>,
    /// Per bucket: bytes hashed to it in the last complete rebalance interval (the load
    /// `lagctl show-hash` shows, as OVS `bond/show`).
    #[serde(default)]
    pub last_interval_bucket_bytes: Vec<u64>,
    /// Frames handed in.
    pub frames_in: u64,
    /// Protected moves started (and unprotected ones applied).
    pub moves_started: u64,
    /// Protected moves completed.
    pub moves_completed: u64,
    /// Buckets that changed port, all reasons.
    pub buckets_moved: u64,
    /// Frames held during moves.
    pub frames_held: u64,
    /// Held frames released to `poll_release`.
    pub frames_released: u64,
    /// Frames dropped (no port, or release queue not drained).
    pub frames_dropped: u64,
    /// Moves completed because the marker timeout passed.
    pub marker_timeouts: u64,
    /// Moves completed early, without confirmation, with a risk of reordering: held-frame
    /// limit reached, source port failed, or a quiesce cut short by a second remapping change.
    pub early_completions: u64,
    /// Moves cancelled (buckets stay on the source, held frames go out there: no reordering):
    /// destination failed, or a configuration change.
    pub moves_cancelled: u64,
    /// Marker responses for no pending move (late, after a timeout; or unknown).
    pub stale_marker_responses: u64,
    /// Rebalance intervals evaluated (Hash mode).
    pub rebalance_runs: u64,
    /// Frames currently held.
    pub held_now: usize,
    /// Protected moves in progress.
    pub moves_in_flight: usize,
}
