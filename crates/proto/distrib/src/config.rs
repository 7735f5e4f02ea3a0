//! Distributor configuration.

use crate::{HashPolicy, Mode};
use lagd_types::Duration;
use serde::{Deserialize, Serialize};

/// Smallest bucket table.
pub const MIN_BUCKETS: usize = 256;
/// Largest bucket table we accept (larger requests are clamped).
pub const MAX_BUCKETS: usize = 1 << 20;

/// How a conversation move between ports is protected against reordering (802.1AX §6.5, the
/// Marker protocol, and Annex B on its use by the Frame Distributor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveProtection {
    /// Send a Marker PDU on the old port behind the conversation's last frames and switch when
    /// its Marker Response returns, or after `timeout` (for partners that never answer: OVS,
    /// teamd).
    Marker {
        /// How long to wait for the Marker Response.
        timeout: Duration,
    },
    /// Stop the conversation for this long (at least the partner's Collector Max Delay plus the
    /// link delay, §6.4.2.3 CollectorMaxDelay), then switch.
    CollectorDelay(Duration),
    /// Switch at once (frames in flight on the old port may be overtaken).
    None,
}

impl Default for MoveProtection {
    fn default() -> Self {
        MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }
    }
}

/// Configuration of a [`Distributor`](crate::Distributor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DistributorConfig {
    /// Distribution mode.
    pub mode: Mode,
    /// The fields the conversation hash covers (mode [`Mode::Hash`]).
    pub policy: HashPolicy,
    /// Number of buckets: a power of two, at least 256 (default 256). Other values are rounded
    /// up to the next power of two, clamped to [`MIN_BUCKETS`]..=[`MAX_BUCKETS`].
    pub buckets: usize,
    /// How often load is measured and buckets rebalanced; `None` disables rebalancing
    /// (default 1 s).
    pub rebalance_interval: Option<Duration>,
    /// Hysteresis: rebalance only while the most loaded member exceeds the least loaded by more
    /// than this fraction of the mean member load (default 0.10).
    pub rebalance_threshold: f64,
    /// ... and by more than this many bytes per interval (default 125 000, 1 Mbit/s at 1 s).
    pub min_rebalance_bytes: u64,
    /// How moves are protected against reordering (default: Marker, 100 ms timeout).
    pub move_protection: MoveProtection,
    /// Most frames held at once during moves (held + waiting for `poll_release`); more forces
    /// the move to complete early (default 1024).
    pub max_held_frames: usize,
    /// Marker pacing: the least time between two Markers on one port, counted from the latest
    /// Marker sent or Marker Response received there (default 2 s; zero: no pacing). Some
    /// responders answer one Marker per port in such an interval and ignore the others
    /// (DPDK's bonding PMD: 2 s), which would leave a move that follows another quickly to the
    /// Marker timeout. A move that would need a Marker sooner (load rebalancing, a returning
    /// port taking back its share) is deferred, its conversations still flowing on the old
    /// port, and starts when the port's interval has passed; moves off one port share one
    /// Marker. An administrative drain waits the same way; moves off a port that left
    /// distribution ([`Distributor::leave_ports`](crate::Distributor::leave_ports)) do not.
    pub marker_interval: Duration,
    /// With departure reports ([`Distributor::set_departure_reports`](crate::Distributor::set_departure_reports)):
    /// the longest a Marker is taken to wait in its port's transmit queue (default 1 s). The
    /// Marker timeout of a move counts from the Marker's departure; a Marker whose departure
    /// is not reported within this limit (dropped in the queue, or stuck) is taken as departed
    /// then.
    pub marker_queue_limit: Duration,
}

impl Default for DistributorConfig {
    fn default() -> Self {
        DistributorConfig {
            mode: Mode::Hash,
            policy: HashPolicy::default(),
            buckets: MIN_BUCKETS,
            rebalance_interval: Some(Duration::from_secs(1)),
            rebalance_threshold: 0.10,
            min_rebalance_bytes: 125_000,
            move_protection: MoveProtection::default(),
            max_held_frames: 1024,
            marker_interval: Duration::from_secs(2),
            marker_queue_limit: Duration::from_secs(1),
        }
    }
}

impl DistributorConfig {
    /// The configuration as the distributor applies it: buckets rounded up to a power of two
    /// within [`MIN_BUCKETS`]..=[`MAX_BUCKETS`]; a negative or non-finite threshold becomes 0.10;
    /// a zero rebalance interval disables rebalancing.
    pub fn normalized(&self) -> DistributorConfig {
        let mut c = self.clone();
        c.buckets = c
            .buckets
            .clamp(MIN_BUCKETS, MAX_BUCKETS)
            .checked_next_power_of_two()
            .unwrap_or(MAX_BUCKETS)
            .min(MAX_BUCKETS);
        if !c.rebalance_threshold.is_finite() || c.rebalance_threshold < 0.0 {
            c.rebalance_threshold = 0.10;
        }
        if c.rebalance_interval == Some(Duration::ZERO) {
            c.rebalance_interval = None;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_buckets_and_threshold() {
        let c = DistributorConfig {
            buckets: 300,
            rebalance_threshold: f64::NAN,
            rebalance_interval: Some(Duration::ZERO),
            ..Default::default()
        }
        .normalized();
        assert_eq!(c.buckets, 512);
        assert_eq!(c.rebalance_threshold, 0.10);
        assert_eq!(c.rebalance_interval, None);
        let c = DistributorConfig {
            buckets: 3,
            ..Default::default()
        };
        assert_eq!(c.normalized().buckets, 256);
        let c = DistributorConfig {
            buckets: usize::MAX,
            ..Default::default()
        };
        assert_eq!(c.normalized().buckets, MAX_BUCKETS);
        assert_eq!(
            DistributorConfig::default().normalized(),
            DistributorConfig::default()
        );
    }
}
