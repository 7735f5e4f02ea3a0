//! Validation of a scenario file into the model: names resolved, inconsistencies refused
//! with a message naming the field.

use super::file::*;
use super::*;
use crate::error::{SimError, invalid};
use crate::packet::{FrameSpec, Protocol};
use crate::units::Rate;
use lagd_types::{Duration, Instant, MacAddr};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

pub(super) fn mac_add(m: MacAddr, i: u64) -> MacAddr {
    let mut v = 0u64;
    for b in m.0 {
        v = (v << 8) | u64::from(b);
    }
    v = v.wrapping_add(i) & 0xffff_ffff_ffff;
    let b = v.to_be_bytes();
    MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

#[derive(Default)]
pub(super) struct Builder {
    pub(super) nodes: Vec<Node>,
    pub(super) links: Vec<LinkDef>,
    pub(super) flows: Vec<FlowDef>,
    pub(super) dt: Vec<DtDomain>,
}

impl Builder {
    pub(super) fn node(&self, name: &str, field: &str) -> Result<usize, SimError> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| {
                invalid(format!(
                    "{field}: unknown node {name:?} (nodes: {})",
                    self.nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    pub(super) fn port(&self, s: &str, field: &str) -> Result<PortRef, SimError> {
        let (n, p) = s.split_once(':').ok_or_else(|| {
            invalid(format!(
                "{field}: {s:?} is not a port: write node:port, e.g. \"client:qfe0\""
            ))
        })?;
        let node = self.node(n, field)?;
        let port = self.nodes[node]
            .ports
            .iter()
            .position(|x| x.name == p)
            .ok_or_else(|| {
                invalid(format!(
                    "{field}: node {n:?} has no port {p:?} (ports: {})",
                    self.nodes[node]
                        .ports
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(PortRef { node, port })
    }

    pub(super) fn agg(&self, s: &str, field: &str) -> Result<AggRef, SimError> {
        let (n, a) = s.split_once('/').ok_or_else(|| {
            invalid(format!(
                "{field}: {s:?} is not an aggregation: write node/aggregation, e.g. \"client/aggr1\""
            ))
        })?;
        let node = self.node(n, field)?;
        let agg = self.nodes[node]
            .aggs
            .iter()
            .position(|x| x.name == a)
            .ok_or_else(|| invalid(format!("{field}: node {n:?} has no aggregation {a:?}")))?;
        Ok(AggRef { node, agg })
    }

    /// The aggregation port `p` is a member of in the definition.
    pub(super) fn agg_of(&self, p: PortRef, field: &str) -> Result<AggRef, SimError> {
        self.nodes[p.node]
            .aggs
            .iter()
            .position(|a| a.ports.contains(&p.port))
            .map(|agg| AggRef { node: p.node, agg })
            .ok_or_else(|| invalid(format!("{field}: port is in no aggregation")))
    }

    /// A node that is a switch of a DT domain.
    pub(super) fn dt_switch(&self, s: &str, field: &str) -> Result<usize, SimError> {
        let n = self.node(s, field)?;
        if self
            .dt
            .iter()
            .any(|d| d.switches.iter().any(|w| w.node == n))
        {
            Ok(n)
        } else {
            Err(invalid(format!(
                "{field}: node {s:?} is not a switch of a [[dt]] domain"
            )))
        }
    }

    pub(super) fn link(&self, s: &str, field: &str) -> Result<usize, SimError> {
        let p = self.port(s, field)?;
        self.links
            .iter()
            .position(|l| l.a == p || l.b == p)
            .ok_or_else(|| invalid(format!("{field}: no link is attached to {s:?}")))
    }

    pub(super) fn build(mut self, f: ScenarioFile) -> Result<Scenario, SimError> {
        if f.duration.0 == Duration::ZERO {
            return Err(invalid("duration must be greater than zero"));
        }
        self.build_nodes(f.nodes)?;
        self.build_links(f.links)?;
        self.build_dt(f.dt)?;
        let end = Instant::ZERO + f.duration.0;
        for fl in f.flows {
            self.build_flow(fl, end)?;
        }
        let mut faults = Vec::new();
        for (i, x) in f.faults.into_iter().enumerate() {
            faults.push(self.build_fault(i + 1, x)?);
        }
        faults.sort_by_key(|x: &TimedFault| x.at);
        let mut checks = Vec::new();
        for (i, c) in f.checks.into_iter().enumerate() {
            checks.push(self.build_check(i + 1, c)?);
        }
        let table = match f.report.table {
            Some(list) => list
                .iter()
                .map(|s| self.agg(s, "report.table"))
                .collect::<Result<Vec<_>, _>>()?,
            None => self
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(node, n)| (0..n.aggs.len()).map(move |agg| AggRef { node, agg }))
                .collect(),
        };
        let interval = f.report.interval.map_or(Duration::from_secs(1), |d| d.0);
        if interval == Duration::ZERO {
            return Err(invalid("report.interval must be greater than zero"));
        }
        Ok(Scenario {
            name: f.name.unwrap_or_else(|| "unnamed".into()),
            description: f.description.unwrap_or_default(),
            duration: f.duration.0,
            seed: f.seed,
            report: Report {
                table,
                interval,
                drain: f.report.drain.map_or(Duration::from_secs(1), |d| d.0),
                states: f.report.states.unwrap_or(true),
                events: f.report.events.unwrap_or(true),
            },
            nodes: self.nodes,
            links: self.links,
            flows: self.flows,
            faults,
            checks,
            dt: self.dt,
        })
    }

    pub(super) fn build_nodes(&mut self, nodes: Vec<NodeFile>) -> Result<(), SimError> {
        let mut names = BTreeSet::new();
        for (ni, n) in nodes.into_iter().enumerate() {
            if n.name.is_empty() || n.name.contains([':', '/']) {
                return Err(invalid(format!(
                    "node name {:?} must be non-empty and contain no ':' or '/'",
                    n.name
                )));
            }
            if !names.insert(n.name.clone()) {
                return Err(invalid(format!("node {:?} is defined twice", n.name)));
            }
            let mac = n.mac.unwrap_or(MacAddr([0x02, 0, 0, (ni + 1) as u8, 0, 0]));
            if !mac.is_unicast() || mac.is_zero() {
                return Err(invalid(format!(
                    "node {:?}: mac {mac} must be a non-zero unicast address",
                    n.name
                )));
            }
            let names: Vec<String> = match n.ports {
                PortsFile::Count(c) => (1..=c).map(|i| format!("p{i}")).collect(),
                PortsFile::Names(v) => v,
            };
            if names.is_empty() {
                return Err(invalid(format!(
                    "node {:?}: ports must not be empty",
                    n.name
                )));
            }
            let mut seen = BTreeSet::new();
            let mut ports = Vec::new();
            for (i, p) in names.into_iter().enumerate() {
                if !seen.insert(p.clone()) {
                    return Err(invalid(format!(
                        "node {:?}: port {p:?} listed twice",
                        n.name
                    )));
                }
                let number = u16::try_from(i + 1)
                    .map_err(|_| invalid(format!("node {:?}: too many ports", n.name)))?;
                ports.push(PortDef {
                    name: p,
                    number,
                    mac: mac_add(mac, (i + 1) as u64),
                });
            }
            if n.kind == NodeKind::Bridge && (!n.aggregations.is_empty() || n.ip.is_some()) {
                return Err(invalid(format!(
                    "node {:?}: a bridge has no aggregation and no ip",
                    n.name
                )));
            }
            if n.kind != NodeKind::Bridge && n.ageing.is_some() {
                return Err(invalid(format!(
                    "node {:?}: ageing is a bridge's setting (kind = \"bridge\")",
                    n.name
                )));
            }
            let mut aggs: Vec<AggDef> = Vec::new();
            let mut used: BTreeMap<usize, String> = BTreeMap::new();
            for a in n.aggregations {
                let AggFile { head: a, settings } = split_agg(&n.name, a)?;
                if aggs.iter().any(|x| x.name == a.name) {
                    return Err(invalid(format!(
                        "node {:?}: aggregation {:?} defined twice",
                        n.name, a.name
                    )));
                }
                let member_names = a
                    .ports
                    .unwrap_or_else(|| ports.iter().map(|p| p.name.clone()).collect());
                let mut members = Vec::new();
                for m in &member_names {
                    let idx = ports.iter().position(|p| &p.name == m).ok_or_else(|| {
                        invalid(format!(
                            "node {:?} aggregation {:?}: unknown port {m:?}",
                            n.name, a.name
                        ))
                    })?;
                    if let Some(other) = used.insert(idx, a.name.clone()) {
                        return Err(invalid(format!(
                            "node {:?}: port {m:?} is in aggregations {other:?} and {:?}",
                            n.name, a.name
                        )));
                    }
                    members.push(idx);
                }
                let mut port_priority = BTreeMap::new();
                for (p, prio) in a.port_priority {
                    let idx = ports.iter().position(|x| x.name == p).ok_or_else(|| {
                        invalid(format!(
                            "node {:?} aggregation {:?}: port_priority names unknown port {p:?}",
                            n.name, a.name
                        ))
                    })?;
                    port_priority.insert(idx, prio);
                }
                if let Some(t) = settings.rebalance_threshold
                    && !(0.0..=10.0).contains(&t)
                {
                    return Err(invalid(format!(
                        "node {:?} aggregation {:?}: rebalance_threshold {t} must be within 0..10",
                        n.name, a.name
                    )));
                }
                aggs.push(AggDef {
                    name: a.name,
                    ports: members,
                    port_priority,
                    settings,
                });
            }
            self.nodes.push(Node {
                name: n.name,
                kind: n.kind,
                mac,
                system_priority: n
                    .system_priority
                    .unwrap_or(lagd_node::settings::DEFAULT_PRIORITY),
                ports,
                aggs,
                ip: n.ip,
                ageing: n.ageing.map_or(Duration::from_secs(300), |d| d.0),
            });
        }
        Ok(())
    }

    pub(super) fn build_links(&mut self, links: Vec<LinkFile>) -> Result<(), SimError> {
        let mut used = BTreeSet::new();
        for (i, l) in links.into_iter().enumerate() {
            let field = format!("link #{}", i + 1);
            let a = self.port(&l.a, &format!("{field} a"))?;
            let b = self.port(&l.b, &format!("{field} b"))?;
            for (p, s) in [(a, &l.a), (b, &l.b)] {
                if !used.insert(p) {
                    return Err(invalid(format!(
                        "{field}: port {s:?} is already cabled to another link"
                    )));
                }
            }
            let rate_bps = match l.rate {
                None => 1e9,
                Some(Rate::Bps(b)) if b > 0.0 => b,
                Some(r) => {
                    return Err(invalid(format!(
                        "{field}: rate {r} must be a positive bit rate"
                    )));
                }
            };
            let loss = l.loss.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&loss) {
                return Err(invalid(format!("{field}: loss {loss} must be within 0..1")));
            }
            self.links.push(LinkDef {
                a,
                b,
                rate_bps,
                delay: l.delay.map_or(Duration::from_micros(5), |d| d.0),
                loss,
                queue: l.queue.unwrap_or(1000).max(1),
            });
        }
        Ok(())
    }

    pub(super) fn build_flow(&mut self, fl: FlowFile, end: Instant) -> Result<(), SimError> {
        let field = format!("flow {:?}", fl.name);
        if self.flows.iter().any(|f| f.group == fl.name) {
            return Err(invalid(format!("{field} is defined twice")));
        }
        let from = self.node(&fl.from, &format!("{field} from"))?;
        let to = self.node(&fl.to, &format!("{field} to"))?;
        for n in [from, to] {
            if self.nodes[n].kind == NodeKind::Bridge {
                return Err(invalid(format!(
                    "{field}: {:?} is a bridge, which sends and receives no flow",
                    self.nodes[n].name
                )));
            }
        }
        let via = match &fl.via {
            Some(v) => {
                let a = self.agg(v, &format!("{field} via"))?;
                if a.node != from {
                    return Err(invalid(format!(
                        "{field}: via {v:?} is not an aggregation of node {:?}",
                        fl.from
                    )));
                }
                Via::Agg(a)
            }
            // A host with no aggregation sends out of its first port.
            None if self.nodes[from].aggs.is_empty() => Via::Port(0),
            None => Via::Agg(AggRef { node: from, agg: 0 }),
        };
        if fl.count == 0 || fl.count > 65_536 {
            return Err(invalid(format!("{field}: count must be within 1..=65536")));
        }
        let rates: Vec<Rate> = match (&fl.rates, fl.rate) {
            (Some(v), _) if v.len() == fl.count => v.clone(),
            (Some(v), _) => {
                return Err(invalid(format!(
                    "{field}: rates has {} entries but count is {}",
                    v.len(),
                    fl.count
                )));
            }
            (None, Some(r)) => vec![r; fl.count],
            (None, None) => return Err(invalid(format!("{field}: rate (or rates) is required"))),
        };
        let size = fl.size.unwrap_or(1500);
        let protocol = fl.protocol.unwrap_or(Protocol::Udp);
        let min = protocol.min_frame();
        if !(min..=9018).contains(&size) {
            return Err(invalid(format!(
                "{field}: size {size} must be within {min}..=9018 bytes for {protocol:?}"
            )));
        }
        let start = Instant::ZERO + fl.start.map_or(Duration::ZERO, |d| d.0);
        let stop = fl.stop.map_or(end, |d| Instant::ZERO + d.0).min(end);
        let vary = if fl.vary.is_empty() && fl.count > 1 {
            vec![VaryField::SrcPort]
        } else {
            fl.vary.clone()
        };
        let resolve = self.nodes[from].ip.is_some() && fl.dst_mac.is_none();
        let base = FrameSpec {
            src_mac: fl.src_mac.unwrap_or(self.nodes[from].mac),
            dst_mac: fl.dst_mac.unwrap_or(self.nodes[to].mac),
            src_ip: fl.src_ip.or(self.nodes[from].ip).unwrap_or(Ipv4Addr::new(
                10,
                0,
                (from + 1) as u8,
                1,
            )),
            dst_ip: fl.dst_ip.or(self.nodes[to].ip).unwrap_or(Ipv4Addr::new(
                10,
                0,
                (to + 1) as u8,
                1,
            )),
            protocol,
            src_port: fl.src_port.unwrap_or(10_000),
            dst_port: fl.dst_port.unwrap_or(5001),
            size,
        };
        for (i, rate) in rates.into_iter().enumerate() {
            let mut fr = base;
            let k = i as u64;
            for v in &vary {
                match v {
                    VaryField::SrcPort => fr.src_port = base.src_port.wrapping_add(i as u16),
                    VaryField::DstPort => fr.dst_port = base.dst_port.wrapping_add(i as u16),
                    VaryField::SrcIp => {
                        fr.src_ip = Ipv4Addr::from(u32::from(base.src_ip).wrapping_add(k as u32))
                    }
                    VaryField::DstIp => {
                        fr.dst_ip = Ipv4Addr::from(u32::from(base.dst_ip).wrapping_add(k as u32))
                    }
                    VaryField::SrcMac => fr.src_mac = mac_add(base.src_mac, k),
                    VaryField::DstMac => fr.dst_mac = mac_add(base.dst_mac, k),
                }
            }
            let fps = rate.frames_per_sec(size);
            if !(fps > 0.0 && fps <= 10e6) {
                return Err(invalid(format!(
                    "{field}: rate {rate} gives {fps} frames/s, must be within (0, 10M]"
                )));
            }
            let interval = Duration::from_nanos((1e9 / fps).round().max(1.0) as u64);
            let name = if fl.count > 1 {
                format!("{}#{}", fl.name, i + 1)
            } else {
                fl.name.clone()
            };
            self.flows.push(FlowDef {
                name,
                group: fl.name.clone(),
                from,
                to,
                via,
                resolve,
                frame: fr,
                interval,
                start,
                stop,
            });
        }
        Ok(())
    }

    pub(super) fn build_fault(&self, i: usize, x: FaultFile) -> Result<TimedFault, SimError> {
        let field = format!("fault #{i} ({})", x.action);
        let need = |o: &Option<String>, name: &str| -> Result<String, SimError> {
            o.clone()
                .ok_or_else(|| invalid(format!("{field}: field `{name}` is required")))
        };
        let fault = match x.action.as_str() {
            "link-down" => Fault::LinkDown(self.link(&need(&x.link, "link")?, &field)?),
            "link-up" => Fault::LinkUp(self.link(&need(&x.link, "link")?, &field)?),
            "silent" => {
                let d = match x.direction.as_deref() {
                    None | Some("both") => Direction::Both,
                    Some("a-to-b") => Direction::AtoB,
                    Some("b-to-a") => Direction::BtoA,
                    Some(o) => {
                        return Err(invalid(format!(
                            "{field}: direction {o:?} must be both, a-to-b or b-to-a"
                        )));
                    }
                };
                Fault::Silent(self.link(&need(&x.link, "link")?, &field)?, d)
            }
            "heal" => Fault::Heal(self.link(&need(&x.link, "link")?, &field)?),
            "link-params" => {
                let rate = match x.rate {
                    None => None,
                    Some(Rate::Bps(b)) if b > 0.0 => Some(b),
                    Some(r) => {
                        return Err(invalid(format!("{field}: rate {r} must be a bit rate")));
                    }
                };
                if let Some(l) = x.loss
                    && !(0.0..=1.0).contains(&l)
                {
                    return Err(invalid(format!("{field}: loss {l} must be within 0..1")));
                }
                Fault::LinkParams {
                    link: self.link(&need(&x.link, "link")?, &field)?,
                    rate,
                    loss: x.loss,
                    delay: x.delay.map(|d| d.0),
                }
            }
            "restart" => Fault::Restart {
                node: self.node(&need(&x.node, "node")?, &field)?,
                down_for: x.down_for.map_or(Duration::ZERO, |d| d.0),
            },
            "drain" => Fault::Drain(self.port(&need(&x.port, "port")?, &field)?),
            "remove-port" => Fault::RemovePort(self.port(&need(&x.port, "port")?, &field)?),
            "add-port" => {
                let p = self.port(&need(&x.port, "port")?, &field)?;
                let a = match &x.aggregation {
                    Some(a) => self.agg(a, &field)?,
                    None => self.nodes[p.node]
                        .aggs
                        .iter()
                        .position(|a| a.ports.contains(&p.port))
                        .map(|agg| AggRef { node: p.node, agg })
                        .ok_or_else(|| {
                            invalid(format!(
                                "{field}: port is in no aggregation; give `aggregation`"
                            ))
                        })?,
                };
                if a.node != p.node {
                    return Err(invalid(format!(
                        "{field}: the aggregation is on another node than the port"
                    )));
                }
                Fault::AddPort(p, a)
            }
            "set" => {
                let a = self.agg(&need(&x.aggregation, "aggregation")?, &field)?;
                let c = x
                    .config
                    .clone()
                    .ok_or_else(|| invalid(format!("{field}: field `config` is required")))?;
                Fault::Set(a, Box::new(c))
            }
            "node-down" => Fault::NodeDown(self.node(&need(&x.node, "node")?, &field)?),
            "node-up" => Fault::NodeUp(self.node(&need(&x.node, "node")?, &field)?),
            other => {
                return Err(invalid(format!(
                    "fault #{i}: unknown action {other:?} (link-down, link-up, silent, heal, \
                     link-params, restart, drain, remove-port, add-port, set, node-down, node-up)"
                )));
            }
        };
        Ok(TimedFault {
            at: Instant::ZERO + x.at.0,
            fault,
        })
    }

    pub(super) fn flow_sel(&self, s: &str, field: &str) -> Result<FlowSel, SimError> {
        let flows: Vec<usize> = self
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| s == "*" || f.group == s || f.name == s)
            .map(|(i, _)| i)
            .collect();
        if flows.is_empty() {
            return Err(invalid(format!(
                "{field}: flow {s:?} matches no flow (use \"*\", a [[flow]] name, or name#i)"
            )));
        }
        Ok(FlowSel {
            label: s.to_string(),
            flows,
        })
    }

    pub(super) fn build_check(&self, i: usize, c: CheckFile) -> Result<Check, SimError> {
        let field = format!("check #{i} ({})", c.check);
        let need = |o: &Option<String>, name: &str| -> Result<String, SimError> {
            o.clone()
                .ok_or_else(|| invalid(format!("{field}: field `{name}` is required")))
        };
        let need_is = || {
            c.is.ok_or_else(|| invalid(format!("{field}: field `is` (true/false) is required")))
        };
        let bound = || -> Result<Bound, SimError> {
            if c.min.is_none() && c.max.is_none() {
                return Err(invalid(format!("{field}: give `min` and/or `max`")));
            }
            Ok(Bound {
                min: c.min,
                max: c.max,
            })
        };
        let port = || self.port(&need(&c.port, "port")?, &field);
        let agg = || self.agg(&need(&c.aggregation, "aggregation")?, &field);
        let flows = || self.flow_sel(&need(&c.flow, "flow")?, &field);
        let traffic = || match c.direction.as_deref() {
            None | Some("out") => Ok(Traffic::Out),
            Some("in") => Ok(Traffic::In),
            Some(o) => Err(invalid(format!(
                "{field}: direction {o:?} must be out (sent by the members) or in (received)"
            ))),
        };
        let bridge = || {
            let n = self.node(&need(&c.node, "node")?, &field)?;
            if self.nodes[n].kind != NodeKind::Bridge {
                return Err(invalid(format!(
                    "{field}: node {:?} is not a bridge",
                    self.nodes[n].name
                )));
            }
            Ok(n)
        };
        // A MAC: `mac`, or the aggregate MAC of `aggregation` (its node's MAC).
        let mac = || match (c.mac, &c.aggregation) {
            (Some(m), _) => Ok(m),
            (None, Some(a)) => Ok(self.nodes[self.agg(a, &field)?.node].mac),
            (None, None) => Err(invalid(format!(
                "{field}: give `mac`, or `aggregation` for its aggregate's MAC"
            ))),
        };
        let state_name = |s: String| s.to_ascii_uppercase().replace(['-', ' '], "_");
        let kind = match c.check.as_str() {
            "mux" => CheckKind::Mux(port()?, state_name(need(&c.equals, "equals")?)),
            "receive" => CheckKind::Receive(port()?, state_name(need(&c.equals, "equals")?)),
            "selected" => CheckKind::Selected(port()?, state_name(need(&c.equals, "equals")?)),
            "state-flag" => {
                let side = match c.side.as_deref().unwrap_or("actor") {
                    "actor" => Side::Actor,
                    "partner" => Side::Partner,
                    o => {
                        return Err(invalid(format!(
                            "{field}: side {o:?} must be actor or partner"
                        )));
                    }
                };
                let flag = need(&c.flag, "flag")?.to_ascii_lowercase();
                const FLAGS: [&str; 8] = [
                    "activity",
                    "timeout",
                    "aggregation",
                    "synchronization",
                    "collecting",
                    "distributing",
                    "defaulted",
                    "expired",
                ];
                if !FLAGS.contains(&flag.as_str()) {
                    return Err(invalid(format!(
                        "{field}: flag {flag:?} must be one of {}",
                        FLAGS.join(", ")
                    )));
                }
                CheckKind::StateFlag(port()?, side, flag, need_is()?)
            }
            "why" => CheckKind::Why(port()?, c.contains.clone()),
            "up" => CheckKind::Up(agg()?, need_is()?),
            "fallback" => CheckKind::Fallback(agg()?, need_is()?),
            "distributing" => CheckKind::Distributing(agg()?, bound()?),
            "flow-loss" => CheckKind::FlowLoss(flows()?, bound()?),
            "flow-loss-ratio" => CheckKind::FlowLossRatio(flows()?, bound()?),
            "flow-reorder" => CheckKind::FlowReorder(flows()?, bound()?),
            "flow-dup" => CheckKind::FlowDup(flows()?, bound()?),
            "flow-gap" => CheckKind::FlowGap(flows()?, bound()?),
            "port-share" => {
                let p = port()?;
                let a = match &c.aggregation {
                    Some(a) => self.agg(a, &field)?,
                    None => self.agg_of(p, &field)?,
                };
                CheckKind::PortShare(p, a, traffic()?, bound()?)
            }
            "balance" => CheckKind::Balance(agg()?, traffic()?, bound()?),
            "members-used" => {
                CheckKind::MembersUsed(agg()?, traffic()?, c.threshold.unwrap_or(0.05), bound()?)
            }
            "peers" => {
                let a = agg()?;
                let p = match &c.port {
                    Some(p) => Some(self.port(p, &field)?),
                    None => None,
                };
                CheckKind::Peers(a, p, bound()?)
            }
            "fdb-moves" => CheckKind::FdbMoves(bridge()?, mac()?, bound()?),
            "fdb-port" => {
                let b = bridge()?;
                let p = port()?;
                if p.node != b {
                    return Err(invalid(format!("{field}: port is not one of the bridge's")));
                }
                CheckKind::FdbPort(b, mac()?, p)
            }
            "event" => CheckKind::Event(need(&c.contains, "contains")?),
            "dt-state" => {
                let n = self.dt_switch(&need(&c.node, "node")?, &field)?;
                let want = need(&c.equals, "equals")?.to_ascii_lowercase();
                const STATES: [&str; 5] = ["init", "alone", "up", "peer-link-down", "split-brain"];
                if !STATES.contains(&want.as_str()) {
                    return Err(invalid(format!(
                        "{field}: state {want:?} must be one of {}",
                        STATES.join(", ")
                    )));
                }
                CheckKind::DtState(n, want)
            }
            "dt-role" => {
                let n = self.dt_switch(&need(&c.node, "node")?, &field)?;
                let want = need(&c.equals, "equals")?.to_ascii_lowercase();
                if want != "primary" && want != "secondary" {
                    return Err(invalid(format!(
                        "{field}: role {want:?} must be primary or secondary"
                    )));
                }
                CheckKind::DtRole(n, want)
            }
            "dt-ports" => {
                let a = agg()?;
                let known = self.dt.iter().any(|d| {
                    d.switches.iter().enumerate().any(|(k, s)| {
                        s.node == a.node && d.aggregations.iter().any(|x| x.aggs[k] == a.agg)
                    })
                });
                if !known {
                    return Err(invalid(format!(
                        "{field}: the aggregation is not a distributed aggregation of a DT switch"
                    )));
                }
                CheckKind::DtPorts(a, need_is()?)
            }
            "partners" => CheckKind::Partners(agg()?, bound()?),
            other => {
                return Err(invalid(format!(
                    "check #{i}: unknown check {other:?} (mux, receive, selected, state-flag, why, \
                     up, fallback, distributing, flow-loss, flow-loss-ratio, flow-reorder, \
                     flow-dup, flow-gap, port-share, balance, members-used, peers, event, \
                     fdb-moves, fdb-port, dt-state, dt-role, dt-ports, partners)"
                )));
            }
        };
        let label = label_of(&c);
        Ok(Check {
            index: i,
            at: c.at,
            from: c.from.map(|d| Instant::ZERO + d.0),
            to: c.to.map(|d| Instant::ZERO + d.0),
            kind,
            label,
        })
    }
}
