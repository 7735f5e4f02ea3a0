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
//! peer link while no DT aggregation needs the peer to deliver for it (the decision is the
//! reconciliation's, [`lagd_node::dt::flood_peer_link`], the simulator's too).
//! Known unicast still crosses when the FDB says so, and MAC sync keeps the FDB pointing at the
//! local members. While some aggregation needs the peer, flooding is on and the peer may
//! deliver a flooded frame a second time to hosts of *other* aggregations: the limitation the
//! filter removes.
