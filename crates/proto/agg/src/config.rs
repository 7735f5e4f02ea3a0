use lagd_distrib::DistributorConfig;
use lagd_lacp::SystemConfig;
use serde::{Deserialize, Serialize};

/// Configuration of one aggregation: its LACP System and its distributor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregationConfig {
    /// LACP control: system id, mode, timers, keys, min-links, max-active, fallback.
    pub lacp: SystemConfig,
    /// Distribution: mode, hash policy, buckets, rebalancing, move protection.
    pub distributor: DistributorConfig,
    /// Switch-independent load balancing (`transmit-lb`, `adaptive-lb`), if the mode is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb: Option<crate::alb::AlbConfig>,
}
