//! How the daemon keeps frames that crossed the peer link from being delivered twice.
//!
//! The core's decision says, per DT aggregation, whether frames from the peer link must be
//! kept out of it (`isolate_peer_link`: the peer's half has live members, so the peer has
//! already delivered whatever it sent us; on also while this switch's half is down, so that a
//! member coming up finds it on). The Linux bridge has no per-ingress-port egress rule:
//! its port flag `isolated` (`IFLA_BRPORT_ISOLATED`) is symmetric among isolated ports, so two
//! isolated DT aggregates (a server's and an upstream host's) could not reach each other; tc
//! actions (`gact`) and nftables/ebtables are missing from some kernels (the test machines
//! have neither).
//!
//! **Egress filter** (the normal case): while `isolate_peer_link` holds for an aggregation,
//! lagd attaches [`lagd_dataplane::egress_filter::EgressFilter`] to its aggregate interface: a
//! tiny eBPF program at the tcx egress hook that drops exactly the frames whose ingress port is
//! the peer link, and counts them. Flooding onto the peer link stays on, so single-homed
//! hosts on either switch get every broadcast once, and each DT aggregation gets it once, from
//! the switch it reached first. When one half of an aggregation has no live member, the other
//! switch's filter is off and the peer link carries that aggregation's traffic.
//!
//! **Flood control** (fallback, when the kernel cannot attach the filter, e.g. before Linux
//! 6.6): lagd stops the bridge from flooding broadcast, multicast and unknown unicast onto the
//! peer link while no DT aggregation needs the peer to deliver for it ([`peer_link_flood`]).
//! Known unicast still crosses when the FDB says so, and MAC sync keeps the FDB pointing at the
//! local members. While some aggregation needs the peer, flooding is on and the peer may
//! deliver a flooded frame a second time to hosts of *other* aggregations: the limitation the
//! filter removes.

use lagd_dt::DtStatus;

/// Flood control (the fallback): whether the bridge must flood onto the peer link, i.e. some DT
/// aggregation has no live local member while the peer has live members of it.
pub fn peer_link_flood(status: &DtStatus) -> bool {
    status
        .aggregations
        .iter()
        .any(|a| a.local.live.is_empty() && !a.peer_live.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_dt::testing::Pair;
    use lagd_dt::{DtAggrConfig, DtConfig, LocalMembers};
    use lagd_types::{Duration, MacAddr, SystemId};

    #[test]
    fn floods_onto_the_peer_link_only_when_the_peer_delivers_for_us() {
        let cfg = |m: u8, p: u16| DtConfig {
            system_mac: MacAddr([2, 0, 0, 0, 0, m]),
            role_priority: p,
            ..DtConfig::default()
        };
        let mut p = Pair::new(cfg(1, 1), cfg(2, 2));
        let a = DtAggrConfig::new(1, "trk1", SystemId::new(1, MacAddr([2, 9, 0, 0, 0, 1])));
        p.add_aggregation(0, a.clone());
        p.add_aggregation(1, a);
        let live = |ports: Vec<u16>| LocalMembers {
            live: ports,
            ..LocalMembers::default()
        };
        p.run_for(Duration::from_millis(100));
        let now = p.now;
        p.sw[0].handle_members(now, 1, live(vec![1]));
        p.sw[1].handle_members(now, 1, live(vec![1]));
        p.run_for(Duration::from_millis(100));
        assert!(!peer_link_flood(&p.sw[0].status()));
        let now = p.now;
        p.sw[0].handle_members(now, 1, live(vec![]));
        p.run_for(Duration::from_millis(100));
        assert!(peer_link_flood(&p.sw[0].status()), "A needs B to deliver");
        assert!(!peer_link_flood(&p.sw[1].status()));
    }
}
