//! The `[[dt]]` table of a scenario: a Distributed Trunking domain (two switch nodes joined by
//! a peer link and a keepalive link, acting as one LACP partner for the aggregations listed),
//! as written and as validated.
//!
//! ```toml
//! [[dt]]
//! name = "dt7"                  # for reports (default dt<N>)
//! domain_id = 7                 # default 1
//! peer_link = "swA:pl"          # a link joining the two switches, named by either end
//! keepalive = "swA:ka"          # optional: without it a split brain looks like a dead peer
//! aggregations = ["trk1", "trk2"]  # present on both switches (same name): DT ids 1, 2, ...
//! system_priority = 256         # shared LACP system priority (default 32768)
//! system_mac = "02:d7:00:00:00:01" # shared system MAC of the first aggregation, + 1 for the
//!                               # next (default 02:d7:00:DD:DD:II, DDDD domain, II id)
//! tx_interval = "1s"            # timers of lagd_dt::DtConfig (these are its defaults)
//! peer_timeout = "3s"
//! keepalive_interval = "1s"
//! keepalive_timeout = "3s"
//! init_delay = "3s"
//! reconcile = "20ms"            # how often decisions are applied (the daemon's period)
//! [[dt.switch]]                 # exactly two
//! node = "swA"
//! role_priority = 100           # lower = primary (default 32768; ties: lower node MAC)
//! domain_id = 7                 # optional override, to model a misconfiguration
//! [[dt.switch]]
//! node = "swB"
//! role_priority = 200
//! ```
//!
//! The peer link and keepalive ports must be in no aggregation (give the switches'
//! aggregations explicit `ports`). The DT configuration of an aggregation (key, LACP mode and
//! timer, member speed) comes from its settings, so `key = 42` on one switch is a mismatch and
//! a live `set` fault can fix it.
//!
//! Faults `node-down` / `node-up` (field `node`): power off (every link of the node loses
//! carrier; its aggregations and DT core stop) and on (fresh protocol state). Checks:
//! `dt-state` (`node`, `equals` init / alone / up / peer-link-down / split-brain), `dt-role`
//! (`node`, `equals` primary / secondary), `dt-ports` (`aggregation` of a DT switch, `is`: the
//! decision lets its ports be up), `partners` (`aggregation`, `min`/`max`: distinct partner
//! systems of its Distributing members). DT events are reported as `<switch>/dt` lines. The
//! forwarding model is described in [`crate::dt`].

use super::builder::{Builder, mac_add};
use super::file::DtFile;
use crate::error::{SimError, invalid};
use crate::units::Dur;
use lagd_dt::{DtConfig, MAX_AGGREGATIONS};
use lagd_types::{Duration, MacAddr, SystemId};
use std::collections::BTreeSet;

/// A DT domain: two switch nodes that act as one LACP partner for the aggregations listed
/// (docs/DT.md). Each switch runs a `lagd_dt::Dt`.
#[derive(Clone, Debug, PartialEq)]
pub struct DtDomain {
    /// Name, for reports (default `dt<N>`).
    pub name: String,
    /// The two switches.
    pub switches: [DtSwitchDef; 2],
    /// The peer link (link index): DT PDUs and data frames between the switches.
    pub peer_link: usize,
    /// The keepalive link (link index), if any.
    pub keepalive: Option<usize>,
    /// The distributed aggregations (present on both switches, same name).
    pub aggregations: Vec<DtAggDef>,
    /// Periodic PDU interval on the peer link.
    pub tx_interval: Duration,
    /// Expiry of the peer's information over the peer link.
    pub peer_timeout: Duration,
    /// Keepalive interval.
    pub keepalive_interval: Duration,
    /// Keepalive expiry.
    pub keepalive_timeout: Duration,
    /// DT ports held down after start unless the peer is found sooner.
    pub init_delay: Duration,
    /// How often the simulator applies the decisions and reports members (the daemon's
    /// reconciliation period, 20 ms).
    pub reconcile: Duration,
}

/// One switch of a DT domain.
#[derive(Clone, Debug, PartialEq)]
pub struct DtSwitchDef {
    /// Node index.
    pub node: usize,
    /// Role priority (lower = primary; ties: lower node MAC).
    pub role_priority: u16,
    /// Domain id this switch is configured with (normally the domain's).
    pub domain_id: u32,
    /// Its port on the peer link.
    pub peer_port: usize,
    /// Its port on the keepalive link.
    pub keepalive_port: Option<usize>,
}

/// One distributed aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct DtAggDef {
    /// Aggregation name (on both switches).
    pub name: String,
    /// DT aggregation id (position in `aggregations`, from 1).
    pub id: u16,
    /// The shared LACP system id both switches use while the pair is healthy.
    pub system: SystemId,
    /// The aggregation index on each switch.
    pub aggs: [usize; 2],
}

/// Default shared system MAC of aggregation `id` of domain `domain`: 02:d7:00:DD:DD:II.
fn default_shared_mac(domain: u32, id: u16) -> MacAddr {
    mac_add(
        MacAddr([0x02, 0xd7, 0, 0, 0, 0]),
        (u64::from(domain & 0xffff) << 8) + u64::from(id),
    )
}

impl Builder {
    pub(super) fn build_dt(&mut self, files: Vec<DtFile>) -> Result<(), SimError> {
        let mut used_nodes = BTreeSet::new();
        for (i, f) in files.into_iter().enumerate() {
            let name = f.name.clone().unwrap_or_else(|| format!("dt{}", i + 1));
            let field = format!("dt {name:?}");
            if f.switches.len() != 2 {
                return Err(invalid(format!(
                    "{field}: give exactly two [[dt.switch]] tables, not {}",
                    f.switches.len()
                )));
            }
            let domain_id = f.domain_id.unwrap_or(1);
            let peer_link = self.link(&f.peer_link, &format!("{field} peer_link"))?;
            let keepalive = match &f.keepalive {
                Some(k) => Some(self.link(k, &format!("{field} keepalive"))?),
                None => None,
            };
            if keepalive == Some(peer_link) {
                return Err(invalid(format!(
                    "{field}: the keepalive must be another link than the peer link"
                )));
            }
            let mut nodes = [0usize; 2];
            for (k, s) in f.switches.iter().enumerate() {
                nodes[k] = self.node(&s.node, &format!("{field} switch"))?;
                if !used_nodes.insert(nodes[k]) {
                    return Err(invalid(format!(
                        "{field}: node {:?} is already a switch of a DT domain",
                        s.node
                    )));
                }
            }
            // A link joining the two switches: the port of each.
            let ends = |li: usize, what: &str| -> Result<[usize; 2], SimError> {
                let l = &self.links[li];
                if l.a.node == nodes[0] && l.b.node == nodes[1] {
                    Ok([l.a.port, l.b.port])
                } else if l.a.node == nodes[1] && l.b.node == nodes[0] {
                    Ok([l.b.port, l.a.port])
                } else {
                    Err(invalid(format!(
                        "{field}: the {what} must join the two switches"
                    )))
                }
            };
            let pl_ports = ends(peer_link, "peer link")?;
            let ka_ports = match keepalive {
                Some(k) => Some(ends(k, "keepalive")?),
                None => None,
            };
            for k in 0..2 {
                let n = &self.nodes[nodes[k]];
                let mut special = vec![pl_ports[k]];
                special.extend(ka_ports.map(|p| p[k]));
                for p in special {
                    if let Some(a) = n.aggs.iter().find(|a| a.ports.contains(&p)) {
                        return Err(invalid(format!(
                            "{field}: port {:?} of {:?} carries the peer link or keepalive and \
                             must not be in aggregation {:?} (list the aggregation's ports)",
                            n.ports[p].name, n.name, a.name
                        )));
                    }
                }
            }
            if f.aggregations.len() > MAX_AGGREGATIONS {
                return Err(invalid(format!(
                    "{field}: at most {MAX_AGGREGATIONS} distributed aggregations"
                )));
            }
            let base_mac = f.system_mac;
            let priority = f
                .system_priority
                .unwrap_or(lagd_node::settings::DEFAULT_PRIORITY);
            let mut aggregations = Vec::new();
            let mut seen = BTreeSet::new();
            for (j, a) in f.aggregations.iter().enumerate() {
                if !seen.insert(a.clone()) {
                    return Err(invalid(format!("{field}: aggregation {a:?} listed twice")));
                }
                let id = (j + 1) as u16;
                let mut aggs = [0usize; 2];
                for k in 0..2 {
                    let n = &self.nodes[nodes[k]];
                    aggs[k] = n.aggs.iter().position(|x| &x.name == a).ok_or_else(|| {
                        invalid(format!(
                            "{field}: switch {:?} has no aggregation {a:?}",
                            n.name
                        ))
                    })?;
                }
                let mac = match base_mac {
                    Some(m) => mac_add(m, j as u64),
                    None => default_shared_mac(domain_id, id),
                };
                if mac.is_zero() || !mac.is_unicast() {
                    return Err(invalid(format!(
                        "{field}: shared system MAC {mac} must be a non-zero unicast address"
                    )));
                }
                aggregations.push(DtAggDef {
                    name: a.clone(),
                    id,
                    system: SystemId::new(priority, mac),
                    aggs,
                });
            }
            let d = DtConfig::default();
            let dur = |x: &Option<Dur>, def: Duration| x.as_ref().map_or(def, |v| v.0);
            let mut switches = Vec::new();
            for (k, s) in f.switches.iter().enumerate() {
                switches.push(DtSwitchDef {
                    node: nodes[k],
                    role_priority: s.role_priority.unwrap_or(d.role_priority),
                    domain_id: s.domain_id.unwrap_or(domain_id),
                    peer_port: pl_ports[k],
                    keepalive_port: ka_ports.map(|p| p[k]),
                });
            }
            let [s0, s1]: [DtSwitchDef; 2] = switches
                .try_into()
                .map_err(|_| invalid(format!("{field}: two switches")))?;
            let dom = DtDomain {
                name,
                switches: [s0, s1],
                peer_link,
                keepalive,
                aggregations,
                tx_interval: dur(&f.tx_interval, d.tx_interval),
                peer_timeout: dur(&f.peer_timeout, d.peer_timeout),
                keepalive_interval: dur(&f.keepalive_interval, d.keepalive_interval),
                keepalive_timeout: dur(&f.keepalive_timeout, d.keepalive_timeout),
                init_delay: dur(&f.init_delay, d.init_delay),
                reconcile: dur(&f.reconcile, Duration::from_millis(20)),
            };
            if dom.reconcile == Duration::ZERO {
                return Err(invalid(format!("{field}: reconcile must be positive")));
            }
            // The core's own checks of the timers, with a valid stand-in MAC.
            let probe = DtConfig {
                system_mac: MacAddr([2, 0, 0, 0, 0, 1]),
                tx_interval: dom.tx_interval,
                peer_timeout: dom.peer_timeout,
                keepalive_interval: dom.keepalive_interval,
                keepalive_timeout: dom.keepalive_timeout,
                init_delay: dom.init_delay,
                ..DtConfig::default()
            };
            probe
                .validate()
                .map_err(|e| invalid(format!("{field}: {e}")))?;
            self.dt.push(dom);
        }
        Ok(())
    }
}
