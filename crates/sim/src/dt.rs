//! Distributed Trunking in the simulator: the state the simulator keeps for each switch of a
//! `[[dt]]` domain, and the pure rules of its forwarding model.
//!
//! Each DT switch runs a real [`lagd_dt::Dt`]. The simulator
//!
//! * carries its frames over the scenario's peer link and keepalive link (so they can be cut);
//! * every `reconcile` period (20 ms, as the daemon) runs the daemon's own reconciliation
//!   ([`lagd_node::dt::Reconciler`]) with the peer link's carrier and each distributed
//!   aggregation's configuration ([`aggr_config`]), numbering, System and live members, and
//!   executes its actions on the model: LACP system id (`set_config`), port numbers (the
//!   aggregation is rebuilt with the new base, its numbers becoming `base + port index + 1`),
//!   and ports down (the member links lose carrier, as the daemon's administrative down does;
//!   the server sees it at once);
//! * holds a starting switch's distributed members down until its first decision enables them
//!   (the daemon's hold at take-over).
//!
//! # Forwarding model
//!
//! A DT switch forwards data frames, learning-free: a frame delivered by one of its
//! aggregations, or received on the peer link, goes to the node the flow is addressed to (the
//! simulator knows it from the flow id in the payload: a perfectly learned, MAC-synchronised
//! FDB). See [`next_hop`]: the local aggregation whose links lead to that node if it has a
//! Distributing member; otherwise across the peer link (the MAC sync's `PeerLink` target)
//! unless the frame came from it (split horizon: nothing is sent back, so nothing loops or is
//! duplicated); otherwise the frame is dropped and counted. Unknown unicast, broadcast and
//! flooding are not modelled, so peer-link isolation (`isolate_peer_link`) has nothing to act
//! on. MAC sync's forwarding entries are the reconciliation's ([`DtAction::Fdb`](lagd_node::dt::DtAction::Fdb),
//! as the daemon installs them in its bridge) kept in [`DtSwitchRt::fdb`]; nothing learns
//! addresses in the model, so the peer announces none and the table stays empty.

use crate::scenario::{DtAggDef, DtDomain, Node, PortRef, Scenario};
use lagd_dt::{Dt, DtAggrConfig, DtConfig, DtCounters};
use lagd_node::AggrSettings;
use lagd_node::dt::{FdbTarget, Reconciler};
use lagd_types::{Instant, MacAddr, SystemId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Forwarding counters of one DT switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FwdCounters {
    /// Data frames sent out of a local aggregation.
    pub local: u64,
    /// Data frames sent across the peer link.
    pub to_peer_link: u64,
    /// Data frames received from the peer link.
    pub from_peer_link: u64,
    /// Data frames dropped (no way out).
    pub dropped: u64,
}

/// One running DT switch.
#[derive(Debug)]
pub struct DtSwitchRt {
    /// Domain index in the scenario.
    pub domain: usize,
    /// 0 or 1: which switch of the domain.
    pub side: usize,
    /// Node index.
    pub node: usize,
    /// The protocol core; `None` while the switch is down.
    pub dt: Option<Dt>,
    /// Per distributed aggregation (in the domain's order): its members held down (its
    /// decision keeps the ports down, or the switch just started).
    pub held: Vec<bool>,
    /// The reconciliation (the daemon's), keyed by the aggregation's index in the domain.
    pub reconciler: Reconciler<usize>,
    /// The timer event currently queued, if any.
    pub scheduled: Option<Instant>,
    /// Times the core was started (its MAC sync incarnation).
    pub starts: u32,
    /// Destination node -> the local aggregation whose links lead to it.
    pub route: Vec<Option<usize>>,
    /// Links held down by a DT decision.
    pub held_links: BTreeSet<usize>,
    /// Forwarding counters.
    pub fwd: FwdCounters,
    /// Livelock guard: (instant, repeats) of the last timeout.
    pub last_timeout: (Instant, u32),
    /// Texts of repeating events already printed (ignored or refused PDUs).
    pub printed: BTreeSet<String>,
    /// The static forwarding entries for the peer's addresses, (VLAN, MAC) -> where they
    /// point (an aggregation's index in the domain, or the peer link), as the reconciliation
    /// gives them ([`Reconciler::poll_fdb`]); the daemon's are in its bridge.
    pub fdb: BTreeMap<(u16, MacAddr), FdbTarget<usize>>,
}

impl DtSwitchRt {
    /// The runtime of switch `side` of domain `domain` (not started).
    pub fn new(sc: &Scenario, domain: usize, side: usize) -> DtSwitchRt {
        let dom = &sc.dt[domain];
        let node = dom.switches[side].node;
        DtSwitchRt {
            domain,
            side,
            node,
            dt: None,
            held: vec![false; dom.aggregations.len()],
            reconciler: Reconciler::new(),
            scheduled: None,
            starts: 0,
            route: routes(sc, node),
            held_links: BTreeSet::new(),
            fwd: FwdCounters::default(),
            last_timeout: (Instant::MAX, 0),
            printed: BTreeSet::new(),
            fdb: BTreeMap::new(),
        }
    }
}

/// The core's configuration for switch `side` of `dom`, started for the `starts`-th time.
pub fn dt_config(dom: &DtDomain, side: usize, node: &Node, starts: u32) -> DtConfig {
    let sw = &dom.switches[side];
    DtConfig {
        domain_id: sw.domain_id,
        system_mac: node.mac,
        role_priority: sw.role_priority,
        default_system: SystemId::NULL,
        tx_interval: dom.tx_interval,
        peer_timeout: dom.peer_timeout,
        keepalive: dom.keepalive.is_some(),
        keepalive_interval: dom.keepalive_interval,
        keepalive_timeout: dom.keepalive_timeout,
        init_delay: dom.init_delay,
        incarnation: starts,
        // A new epoch at every start, as the daemon's random one (replay protection).
        epoch: u64::from(starts) + 1,
        ..DtConfig::default()
    }
}

/// A distributed aggregation's configuration as the core compares it, from the aggregation's
/// settings in force (aggregation number `index` of `node`) and its member speed: the
/// daemon's own translation.
pub fn aggr_config(
    def: &DtAggDef,
    node: &Node,
    index: usize,
    settings: &AggrSettings,
    speed_mbps: u32,
) -> DtAggrConfig {
    match crate::node::resolve(node, index, settings) {
        Ok(r) => DtAggrConfig {
            id: def.id,
            name: def.name.clone(),
            ..r.dt_aggr_config(def.system, speed_mbps)
        },
        Err(_) => DtAggrConfig::new(def.id, &def.name, def.system),
    }
}

/// For each node of the scenario, the aggregation of `node` whose member links lead to it
/// (the first in port order), `None` if no aggregation does.
pub fn routes(sc: &Scenario, node: usize) -> Vec<Option<usize>> {
    let mut route = vec![None; sc.nodes.len()];
    let Some(n) = sc.nodes.get(node) else {
        return route;
    };
    for l in &sc.links {
        let (mine, far) = if l.a.node == node {
            (l.a, l.b)
        } else if l.b.node == node {
            (l.b, l.a)
        } else {
            continue;
        };
        if far.node == node {
            continue;
        }
        let agg = n.aggs.iter().position(|a| a.ports.contains(&mine.port));
        if let (Some(a), Some(slot)) = (agg, route.get_mut(far.node))
            && slot.is_none()
        {
            *slot = Some(a);
        }
    }
    route
}

/// Where a DT switch sends a data frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// It is addressed to the switch itself.
    Deliver,
    /// Out of this local aggregation (the caller falls back to [`Hop::PeerLink`] when it has
    /// no Distributing member, through [`fallback_hop`]).
    Local(usize),
    /// Across the peer link.
    PeerLink,
    /// Nowhere.
    Drop,
}

/// The first choice for a frame to `dest` at switch `me`: itself, the local aggregation
/// leading to `dest`, else the peer link (unless the frame came from it or the peer link is
/// down), else nothing.
pub fn next_hop(
    me: usize,
    dest: usize,
    route: Option<usize>,
    from_peer: bool,
    peer_link_up: bool,
) -> Hop {
    if dest == me {
        Hop::Deliver
    } else if let Some(a) = route {
        Hop::Local(a)
    } else {
        fallback_hop(from_peer, peer_link_up)
    }
}

/// When the local aggregation has no Distributing member: across the peer link, unless the
/// frame came from it (split horizon) or the peer link is down.
pub fn fallback_hop(from_peer: bool, peer_link_up: bool) -> Hop {
    if !from_peer && peer_link_up {
        Hop::PeerLink
    } else {
        Hop::Drop
    }
}

/// The link attached to port `p`, if any.
pub fn link_of(sc: &Scenario, p: PortRef) -> Option<usize> {
    sc.links.iter().position(|l| l.a == p || l.b == p)
}

/// What one DT switch ended the run with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DtSummary {
    /// Domain name.
    pub domain: String,
    /// Switch node.
    pub node: String,
    /// Pairing state (`down` if the switch is down).
    pub state: String,
    /// Role.
    pub role: String,
    /// Port number base in force.
    pub port_base: u16,
    /// Per distributed aggregation: `name: decision`.
    pub decisions: Vec<String>,
    /// The core's frame counters.
    pub counters: DtCounters,
    /// Forwarding counters.
    pub forwarding: FwdCounters,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIR: &str = r#"
name = "pair"
duration = "1s"
[[node]]
name = "srv"
ports = 4
[[node.aggregation]]
name = "bond"
[[node]]
name = "a"
ports = ["pl", "ka", "s1", "s2", "up"]
[[node.aggregation]]
name = "trk1"
ports = ["s1", "s2"]
key = 7
[[node.aggregation]]
name = "trk2"
ports = ["up"]
[[node]]
name = "b"
ports = ["pl", "ka", "s1", "s2", "up"]
[[node.aggregation]]
name = "trk1"
ports = ["s1", "s2"]
[[node.aggregation]]
name = "trk2"
ports = ["up"]
[[node]]
name = "up"
ports = 2
[[node.aggregation]]
name = "bond"
[[link]]
a = "srv:p1"
b = "a:s1"
[[link]]
a = "srv:p2"
b = "a:s2"
[[link]]
a = "srv:p3"
b = "b:s1"
[[link]]
a = "srv:p4"
b = "b:s2"
[[link]]
a = "up:p1"
b = "a:up"
[[link]]
a = "up:p2"
b = "b:up"
[[link]]
a = "a:pl"
b = "b:pl"
[[link]]
a = "a:ka"
b = "b:ka"
[[dt]]
domain_id = 7
peer_link = "a:pl"
keepalive = "b:ka"
aggregations = ["trk1", "trk2"]
system_priority = 256
[[dt.switch]]
node = "a"
role_priority = 100
[[dt.switch]]
node = "b"
role_priority = 200
"#;

    fn pair() -> Scenario {
        Scenario::from_toml(PAIR).unwrap()
    }

    #[test]
    fn scenario_resolves_the_domain() {
        let sc = pair();
        let d = &sc.dt[0];
        assert_eq!(d.switches[0].node, 1);
        assert_eq!(d.switches[1].node, 2);
        assert_eq!(
            (d.switches[0].peer_port, d.switches[1].keepalive_port),
            (0, Some(1))
        );
        assert_eq!(d.aggregations[1].id, 2);
        assert_eq!(d.aggregations[1].aggs, [1, 1]);
        assert_eq!(d.aggregations[0].system.priority, 256);
        assert_eq!(
            d.aggregations[0].system.addr,
            lagd_types::MacAddr([2, 0xd7, 0, 0, 7, 1])
        );
        assert_eq!(d.reconcile, lagd_types::Duration::from_millis(20));
    }

    #[test]
    fn scenario_errors_name_the_problem() {
        let err = |t: &str| Scenario::from_toml(t).unwrap_err().to_string();
        assert!(
            err(&PAIR.replace("peer_link = \"a:pl\"", "peer_link = \"a:s1\""))
                .contains("must join the two switches")
        );
        assert!(
            err(&PAIR.replace("[\"trk1\", \"trk2\"]", "[\"trk1\", \"trk9\"]"))
                .contains("has no aggregation \"trk9\"")
        );
        assert!(
            err(&PAIR.replace(
                "ports = [\"s1\", \"s2\"]\nkey = 7",
                "ports = [\"s1\", \"s2\", \"pl\"]\nkey = 7"
            ))
            .contains("must not be in aggregation")
        );
        assert!(
            err(&PAIR.replace("keepalive = \"b:ka\"", "keepalive = \"b:pl\""))
                .contains("another link")
        );
        assert!(err(&PAIR.replace("role_priority = 200", "rol = 200")).contains("unknown field"));
        assert!(
            err(&PAIR.replace("[[dt.switch]]\nnode = \"b\"\nrole_priority = 200\n", ""))
                .contains("exactly two")
        );
    }

    #[test]
    fn configs_follow_the_scenario() {
        let sc = pair();
        let d = &sc.dt[0];
        let c = dt_config(d, 1, &sc.nodes[2], 3);
        assert_eq!((c.domain_id, c.role_priority, c.incarnation), (7, 200, 3));
        assert_eq!(c.system_mac, sc.nodes[2].mac);
        assert!(c.keepalive);
        let a = &sc.nodes[1].aggs[0];
        let cfg = aggr_config(&d.aggregations[0], &sc.nodes[1], 0, &a.settings, 1000);
        assert_eq!((cfg.id, cfg.key, cfg.speed_mbps), (1, 7, 1000));
        let b = &sc.nodes[2].aggs[0];
        assert_eq!(
            aggr_config(&d.aggregations[0], &sc.nodes[2], 0, &b.settings, 0).key,
            1
        );
    }

    #[test]
    fn routes_and_hops() {
        let sc = pair();
        let r = routes(&sc, 1);
        // a reaches the server through trk1, the upstream host through trk2; b only over the
        // peer link, which is in no aggregation.
        assert_eq!(r, vec![Some(0), None, None, Some(1)]);
        assert_eq!(next_hop(1, 1, None, false, true), Hop::Deliver);
        assert_eq!(next_hop(1, 3, r[3], false, true), Hop::Local(1));
        assert_eq!(next_hop(1, 2, r[2], false, true), Hop::PeerLink);
        assert_eq!(next_hop(1, 2, r[2], true, true), Hop::Drop);
        assert_eq!(next_hop(1, 2, r[2], false, false), Hop::Drop);
        assert_eq!(fallback_hop(false, true), Hop::PeerLink);
        assert_eq!(fallback_hop(true, true), Hop::Drop);
        assert_eq!(link_of(&sc, PortRef { node: 2, port: 0 }), Some(6));
    }
}
