//! A resolved aggregation as the protocol cores take it: the one translation from settings to
//! the LACP System, the distributor, a port, and the DT core's view.

use lagd_agg::AggregationConfig;
use lagd_agg::alb::{AlbConfig, AlbMode};
use lagd_agg::lagd_distrib::{DistributorConfig, Mode};
use lagd_agg::lagd_lacp::{FallbackConfig, FallbackKind, PortConfig, SystemConfig};
use lagd_dt::DtAggrConfig;
use lagd_types::{MacAddr, PortNumber, SystemId};

use super::{AggrMode, Fallback, Resolved};

impl Resolved {
    /// The LACP System identifier of this aggregation when its System address is `mac`.
    pub fn system(&self, mac: MacAddr) -> SystemId {
        SystemId::new(self.system_priority, mac)
    }

    /// The protocol configuration of this aggregation with the LACP System `system`.
    pub fn aggregation_config(&self, system: SystemId) -> AggregationConfig {
        let core = SystemConfig::default();
        let lacp = SystemConfig {
            system,
            mode: self.lacp_mode,
            timer: self.lacp_timer,
            key: self.key,
            max_active: self.max_active,
            ad_select: self.ad_select,
            min_links: self.min_links,
            fallback: self.fallback.and_then(|(k, timeout)| {
                let kind = match k {
                    Fallback::Off => return None,
                    Fallback::OneMember => FallbackKind::OneMember,
                    Fallback::Static => FallbackKind::Static,
                };
                Some(FallbackConfig { timeout, kind })
            }),
            coupled_control: self.coupled_control,
            marker_timeout: self.marker_timeout.unwrap_or(core.marker_timeout),
            aggregate_wait: self.aggregate_wait,
            ..core
        };
        let d = DistributorConfig::default();
        let distributor = DistributorConfig {
            mode: self.distribution(),
            policy: self.policy,
            buckets: self.buckets.unwrap_or(d.buckets),
            rebalance_interval: self.rebalance_interval,
            rebalance_threshold: self.rebalance_threshold.unwrap_or(d.rebalance_threshold),
            min_rebalance_bytes: self.min_rebalance_bytes.unwrap_or(d.min_rebalance_bytes),
            move_protection: self.move_protection,
            ..d
        };
        let alb = match self.mode {
            AggrMode::TransmitLb => Some(AlbConfig::new(AlbMode::Transmit, system.addr)),
            AggrMode::AdaptiveLb => Some(AlbConfig::new(AlbMode::Adaptive, system.addr)),
            _ => None,
        };
        AggregationConfig {
            lacp,
            distributor,
            alb,
        }
    }

    /// The distributor's mode.
    pub fn distribution(&self) -> Mode {
        match self.mode {
            // The switch-independent modes spread what they send as a static trunk does (the
            // balancer then rewrites source addresses and answers ARP per member).
            AggrMode::Lacp | AggrMode::Static | AggrMode::TransmitLb | AggrMode::AdaptiveLb => {
                Mode::Hash
            }
            AggrMode::ActiveBackup => Mode::ActiveBackup,
            AggrMode::RoundRobin => Mode::RoundRobin,
            AggrMode::Broadcast => Mode::Broadcast,
        }
    }

    /// The LACP configuration of member `link` as port `number` with hardware address `mac`.
    pub fn port_config(&self, link: &str, number: PortNumber, mac: MacAddr) -> PortConfig {
        PortConfig {
            priority: self.priority_of(link),
            ..PortConfig::new(number, mac)
        }
    }

    /// The DT core's view of this distributed aggregation, whose shared LACP System is
    /// `system` and whose members run at `speed_mbps`.
    pub fn dt_aggr_config(&self, system: SystemId, speed_mbps: u32) -> DtAggrConfig {
        DtAggrConfig {
            id: self.dt_id,
            name: self.name.clone(),
            system,
            key: self.key,
            lacp_mode: self.lacp_mode,
            lacp_timer: self.lacp_timer,
            mtu: self.mtu,
            speed_mbps,
        }
    }
}
