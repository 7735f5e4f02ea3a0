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
}
