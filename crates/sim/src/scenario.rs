//! The scenario file format (TOML, documented in `scenarios/README.md`) and its validation into
//! the model the simulator runs.
//!
//! Parsing happens in two steps: serde reads the file into `*File` structs that mirror the TOML
//! (unknown fields are refused), then [`Scenario::from_toml`] resolves names (nodes, ports,
//! links, flows) into indices and refuses inconsistencies with a message naming the field.

mod dt;

pub use dt::{DtAggDef, DtDomain, DtSwitchDef};

use crate::error::{SimError, invalid};
use crate::packet::{FrameSpec, Protocol};
use crate::units::{Dur, Rate};
use lagd_agg::lagd_distrib::Mode;
use lagd_node::{AggrMode, AggrSettings, LacpActivity};
use lagd_types::{Duration, Instant, MacAddr};
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    description: Option<String>,
    duration: Dur,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    report: ReportFile,
    #[serde(default, rename = "node")]
    nodes: Vec<NodeFile>,
    #[serde(default, rename = "link")]
    links: Vec<LinkFile>,
    #[serde(default, rename = "flow")]
    flows: Vec<FlowFile>,
    #[serde(default, rename = "fault")]
    faults: Vec<FaultFile>,
    #[serde(default, rename = "check")]
    checks: Vec<CheckFile>,
    #[serde(default)]
    dt: Vec<dt::DtFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReportFile {
    table: Option<Vec<String>>,
    interval: Option<Dur>,
    drain: Option<Dur>,
    states: Option<bool>,
    events: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PortsFile {
    Count(u16),
    Names(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    name: String,
    #[serde(default)]
    kind: NodeKind,
    mac: Option<MacAddr>,
    system_priority: Option<u16>,
    ports: PortsFile,
    ip: Option<Ipv4Addr>,
    ageing: Option<Dur>,
    #[serde(default, rename = "aggregation")]
    aggregations: Vec<toml::Table>,
}

#[derive(Deserialize)]
struct AggHead {
    name: String,
    ports: Option<Vec<String>>,
    #[serde(default)]
    port_priority: BTreeMap<String, u16>,
    distribution: Option<Mode>,
}

/// An `[[node.aggregation]]` table: its head (name, ports, priorities, distribution) and its
/// settings (the settings model's, as the daemon's file writes them), read separately so that
/// unknown settings are refused by name (serde cannot refuse unknown fields through
/// `flatten`).
struct AggFile {
    head: AggHead,
    settings: AggrSettings,
}

fn split_agg(node: &str, mut t: toml::Table) -> Result<AggFile, SimError> {
    let mut head = toml::Table::new();
    for k in ["name", "ports", "port_priority", "distribution"] {
        if let Some(v) = t.remove(k) {
            head.insert(k.to_string(), v);
        }
    }
    let head: AggHead = head
        .try_into()
        .map_err(|e| invalid(format!("node {node:?} aggregation: {e}")))?;
    let written: AggrSettings = t
        .try_into()
        .map_err(|e| invalid(format!("node {node:?} aggregation {:?}: {e}", head.name)))?;
    // As `lagctl create-aggr` does: `lacp_mode = "off"` alone is a static trunk.
    let mut settings = AggrSettings::default().with(&written);
    // `distribution` is the scenario's older word for the daemon's mode; in a scenario LACP
    // runs (active) unless `lacp_mode = "off"`, whatever the distribution.
    match head.distribution {
        None | Some(Mode::Hash) => {}
        Some(d) => {
            settings.mode = Some(match d {
                Mode::ActiveBackup => AggrMode::ActiveBackup,
                Mode::RoundRobin => AggrMode::RoundRobin,
                _ => AggrMode::Broadcast,
            });
            settings.lacp_mode = settings.lacp_mode.or(Some(LacpActivity::Active));
        }
    }
    Ok(AggFile { head, settings })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    a: String,
    b: String,
    rate: Option<Rate>,
    delay: Option<Dur>,
    loss: Option<f64>,
    queue: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowFile {
    name: String,
    from: String,
    to: String,
    via: Option<String>,
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    vary: Vec<VaryField>,
    src_mac: Option<MacAddr>,
    dst_mac: Option<MacAddr>,
    src_ip: Option<Ipv4Addr>,
    dst_ip: Option<Ipv4Addr>,
    protocol: Option<Protocol>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    rate: Option<Rate>,
    rates: Option<Vec<Rate>>,
    size: Option<usize>,
    start: Option<Dur>,
    stop: Option<Dur>,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFile {
    at: Dur,
    action: String,
    link: Option<String>,
    port: Option<String>,
    node: Option<String>,
    aggregation: Option<String>,
    direction: Option<String>,
    down_for: Option<Dur>,
    config: Option<AggrSettings>,
    rate: Option<Rate>,
    loss: Option<f64>,
    delay: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    at: At,
    check: String,
    node: Option<String>,
    port: Option<String>,
    aggregation: Option<String>,
    flow: Option<String>,
    side: Option<String>,
    flag: Option<String>,
    equals: Option<String>,
    is: Option<bool>,
    contains: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    from: Option<Dur>,
    to: Option<Dur>,
    threshold: Option<f64>,
    direction: Option<String>,
    mac: Option<MacAddr>,
}

// ---------------------------------------------------------------------------------------------
// Small enums shared by the file and the model.

/// A host (end system) or a switch; both run aggregations and terminate flows. A bridge is
/// an unconfigured learning L2 switch ([`crate::bridge`]): no aggregation, no flow.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// An end system.
    #[default]
    Host,
    /// A switch (traffic it originates stands for the clients behind it).
    Switch,
    /// An unconfigured learning switch: learns MACs per port, floods the unknown.
    Bridge,
}

/// Which direction of a member's data a load check measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Sent by the member (the aggregation's transmit).
    Out,
    /// Received by the member and delivered to the aggregate.
    In,
}

/// The way a flow's frames leave their sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Through an aggregation of the sender.
    Agg(AggRef),
    /// Straight out of a port in no aggregation (a plain host's NIC).
    Port(usize),
}

/// Which field of a flow changes from one flow of a `count` group to the next.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VaryField {
    /// L4 source port + i.
    SrcPort,
    /// L4 destination port + i.
    DstPort,
    /// IPv4 source + i.
    SrcIp,
    /// IPv4 destination + i.
    DstIp,
    /// Source MAC + i.
    SrcMac,
    /// Destination MAC + i.
    DstMac,
}

/// When a check is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// At this virtual time.
    Time(Duration),
    /// At the end of the run (after the drain period).
    End,
}

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum V {
            S(String),
            N(f64),
        }
        match V::deserialize(d)? {
            V::S(s) if s == "end" => Ok(At::End),
            V::S(s) => crate::units::parse_duration(&s)
                .map(At::Time)
                .map_err(serde::de::Error::custom),
            V::N(n) if n.is_finite() && n >= 0.0 => {
                Ok(At::Time(Duration::from_nanos((n * 1e9).round() as u64)))
            }
            V::N(n) => Err(serde::de::Error::custom(format!("invalid check time {n}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validated model.

/// A (node, port) pair, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    /// Node index.
    pub node: usize,
    /// Port index within the node (port number - 1).
    pub port: usize,
}

/// A (node, aggregation) pair, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AggRef {
    /// Node index.
    pub node: usize,
    /// Aggregation index within the node.
    pub agg: usize,
}

/// What the report shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Aggregations whose per-interval traffic table is printed.
    pub table: Vec<AggRef>,
    /// Table interval.
    pub interval: Duration,
    /// Time the run continues after `duration` with no new traffic, so frames in flight land.
    pub drain: Duration,
    /// Print per-port LACP state lines on changes.
    pub states: bool,
    /// Print the events.
    pub events: bool,
}

/// A node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Host or switch.
    pub kind: NodeKind,
    /// Its MAC: the LACP System address and the aggregate interfaces' address.
    pub mac: MacAddr,
    /// System priority.
    pub system_priority: u16,
    /// Ports (number = index + 1).
    pub ports: Vec<PortDef>,
    /// Aggregations.
    pub aggs: Vec<AggDef>,
    /// Its IPv4 address: it answers ARP for it and resolves its flows' destinations by ARP
    /// ([`crate::neigh`]).
    pub ip: Option<Ipv4Addr>,
    /// A bridge's MAC ageing time.
    pub ageing: Duration,
}

/// A port of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct PortDef {
    /// Name (e.g. `qfe0`).
    pub name: String,
    /// Port number (1-based).
    pub number: u16,
    /// Its own MAC (LACPDU source address).
    pub mac: MacAddr,
}

/// An aggregation of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct AggDef {
    /// Name (e.g. `aggr1`).
    pub name: String,
    /// Member port indices.
    pub ports: Vec<usize>,
    /// Per-member Port_Priority.
    pub port_priority: BTreeMap<usize, u16>,
    /// Settings (defaults applied by the settings model when the node builds the
    /// configuration).
    pub settings: AggrSettings,
}

/// A link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkDef {
    /// End a.
    pub a: PortRef,
    /// End b.
    pub b: PortRef,
    /// Capacity, bit/s.
    pub rate_bps: f64,
    /// Propagation delay.
    pub delay: Duration,
    /// Loss probability.
    pub loss: f64,
    /// Transmit queue, frames.
    pub queue: usize,
}

/// One concrete flow.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowDef {
    /// Name (`group` or `group#i`).
    pub name: String,
    /// The `[[flow]]` entry it came from.
    pub group: String,
    /// Sender node.
    pub from: usize,
    /// Receiver node.
    pub to: usize,
    /// Aggregation (or plain port) of the sender the frames go through.
    pub via: Via,
    /// The destination MAC is resolved by the sender's ARP at send time (the sender has an
    /// `ip` and the flow names no `dst_mac`).
    pub resolve: bool,
    /// Addresses and size.
    pub frame: FrameSpec,
    /// Interval between frames.
    pub interval: Duration,
    /// First frame.
    pub start: Instant,
    /// No frame at or after this.
    pub stop: Instant,
}

/// Which direction of a link a fault affects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// a to b only.
    AtoB,
    /// b to a only.
    BtoA,
    /// Both.
    Both,
}

/// A timed fault or administrative action.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Carrier down.
    LinkDown(usize),
    /// Carrier up.
    LinkUp(usize),
    /// Carrier stays up, frames are dropped.
    Silent(usize, Direction),
    /// Undo `Silent`.
    Heal(usize),
    /// Change link parameters.
    LinkParams {
        /// Link.
        link: usize,
        /// New rate.
        rate: Option<f64>,
        /// New loss.
        loss: Option<f64>,
        /// New delay.
        delay: Option<Duration>,
    },
    /// The node's control plane restarts: its aggregations are rebuilt from scratch; with
    /// `down_for` the node is dead (sends and receives nothing) for that long first.
    Restart {
        /// Node.
        node: usize,
        /// Downtime.
        down_for: Duration,
    },
    /// Graceful removal of a member (drain, then remove).
    Drain(PortRef),
    /// Abrupt removal of a member.
    RemovePort(PortRef),
    /// (Re-)adds a port to an aggregation.
    AddPort(PortRef, AggRef),
    /// Live configuration change.
    Set(AggRef, Box<AggrSettings>),
    /// Power off: every link of the node loses carrier, its aggregations (and DT switch) stop.
    NodeDown(usize),
    /// Power on: links come back, the node starts with fresh protocol state.
    NodeUp(usize),
}

/// A timed fault.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    /// When.
    pub at: Instant,
    /// What.
    pub fault: Fault,
}

/// A set of flows selected by a check.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSel {
    /// As written (`"*"`, a group, or a flow name).
    pub label: String,
    /// Flow indices.
    pub flows: Vec<usize>,
}

/// Which side's state a state-flag check reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Actor (ours).
    Actor,
    /// Partner (as we recorded it).
    Partner,
}

/// A bound: value must be within [min, max] (either optional).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
}

/// What a check asserts.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// Mux machine state of a port, by its 802.1AX name.
    Mux(PortRef, String),
    /// Receive machine state of a port.
    Receive(PortRef, String),
    /// Selected / Unselected / Standby.
    Selected(PortRef, String),
    /// One of the eight state flags of the actor or partner.
    StateFlag(PortRef, Side, String, bool),
    /// The port's reason for not distributing contains a text (or, with `None`, there is none).
    Why(PortRef, Option<String>),
    /// Aggregate up or down.
    Up(AggRef, bool),
    /// Fallback active or not.
    Fallback(AggRef, bool),
    /// Number of Distributing members.
    Distributing(AggRef, Bound),
    /// Frames lost (absolute count) over the selected flows.
    FlowLoss(FlowSel, Bound),
    /// Fraction lost (0..1) over the selected flows.
    FlowLossRatio(FlowSel, Bound),
    /// Reordered frames.
    FlowReorder(FlowSel, Bound),
    /// Duplicates.
    FlowDup(FlowSel, Bound),
    /// Largest inter-arrival gap, in seconds.
    FlowGap(FlowSel, Bound),
    /// Share (0..1) of an aggregation's transmitted (or received) data bytes carried by one
    /// member in a window.
    PortShare(PortRef, AggRef, Traffic, Bound),
    /// max/mean of member data load in a window (mean over members with carrier).
    Balance(AggRef, Traffic, Bound),
    /// Number of members carrying at least `threshold` of the data in a window.
    MembersUsed(AggRef, Traffic, f64, Bound),
    /// Peers a `adaptive-lb` aggregation receives on one member (or on all, `None`).
    Peers(AggRef, Option<PortRef>, Bound),
    /// Times a bridge saw a MAC move to another port while its entry was live (since the
    /// window start).
    FdbMoves(usize, MacAddr, Bound),
    /// The bridge port a MAC is learned on now.
    FdbPort(usize, MacAddr, PortRef),
    /// Some event line in the window contains the text.
    Event(String),
    /// Pairing state of a DT switch (`init`, `alone`, `up`, `peer-link-down`, `split-brain`).
    DtState(usize, String),
    /// Role of a DT switch (`primary`, `secondary`).
    DtRole(usize, String),
    /// Whether the DT decision lets the aggregation's member ports be up.
    DtPorts(AggRef, bool),
    /// Number of distinct partner systems seen by the aggregation's Distributing members.
    Partners(AggRef, Bound),
}

/// A timed check.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Number in the file (1-based), for messages.
    pub index: usize,
    /// When.
    pub at: At,
    /// Window start for windowed checks.
    pub from: Option<Instant>,
    /// Window end for windowed checks (default: `at`).
    pub to: Option<Instant>,
    /// The assertion.
    pub kind: CheckKind,
    /// Short description, e.g. `mux client:qfe1 == COLLECTING_DISTRIBUTING`.
    pub label: String,
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Length of the run.
    pub duration: Duration,
    /// Seed of every random draw.
    pub seed: u64,
    /// Report settings.
    pub report: Report,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Links.
    pub links: Vec<LinkDef>,
    /// Flows (expanded).
    pub flows: Vec<FlowDef>,
    /// Faults, in time order.
    pub faults: Vec<TimedFault>,
    /// Checks.
    pub checks: Vec<Check>,
    /// Distributed Trunking domains.
    pub dt: Vec<DtDomain>,
}

fn mac_add(m: MacAddr, i: u64) -> MacAddr {
    let mut v = 0u64;
    for b in m.0 {
        v = (v << 8) | u64::from(b);
    }
    v = v.wrapping_add(i) & 0xffff_ffff_ffff;
    let b = v.to_be_bytes();
    MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml(&text)
    }

    /// Parses and validates scenario text.
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let f: ScenarioFile = toml::from_str(text)?;
        Builder::default().build(f)
    }

    /// Node index by name.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// `node:port` name of a port.
    pub fn port_name(&self, p: PortRef) -> String {
        match self.nodes.get(p.node) {
            Some(n) => format!(
                "{}:{}",
                n.name,
                n.ports.get(p.port).map_or("?", |x| x.name.as_str())
            ),
            None => "?".into(),
        }
    }

    /// `node/agg` name of an aggregation.
    pub fn agg_name(&self, a: AggRef) -> String {
        match self.nodes.get(a.node) {
            Some(n) => format!(
                "{}/{}",
                n.name,
                n.aggs.get(a.agg).map_or("?", |x| x.name.as_str())
            ),
            None => "?".into(),
        }
    }

    /// The aggregation a port belongs to in the scenario definition.
    pub fn agg_of_port(&self, p: PortRef) -> Option<AggRef> {
        let n = self.nodes.get(p.node)?;
        n.aggs
            .iter()
            .position(|a| a.ports.contains(&p.port))
            .map(|agg| AggRef { node: p.node, agg })
    }

    /// `name` with the seed replaced.
    pub fn with_seed(mut self, seed: u64) -> Scenario {
        self.seed = seed;
        self
    }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    links: Vec<LinkDef>,
    flows: Vec<FlowDef>,
    dt: Vec<DtDomain>,
}

impl Builder {
    fn node(&self, name: &str, field: &str) -> Result<usize, SimError> {
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

    fn port(&self, s: &str, field: &str) -> Result<PortRef, SimError> {
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

    fn agg(&self, s: &str, field: &str) -> Result<AggRef, SimError> {
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
    fn agg_of(&self, p: PortRef, field: &str) -> Result<AggRef, SimError> {
        self.nodes[p.node]
            .aggs
            .iter()
            .position(|a| a.ports.contains(&p.port))
            .map(|agg| AggRef { node: p.node, agg })
            .ok_or_else(|| invalid(format!("{field}: port is in no aggregation")))
    }

    /// A node that is a switch of a DT domain.
    fn dt_switch(&self, s: &str, field: &str) -> Result<usize, SimError> {
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

    fn link(&self, s: &str, field: &str) -> Result<usize, SimError> {
        let p = self.port(s, field)?;
        self.links
            .iter()
            .position(|l| l.a == p || l.b == p)
            .ok_or_else(|| invalid(format!("{field}: no link is attached to {s:?}")))
    }

    fn build(mut self, f: ScenarioFile) -> Result<Scenario, SimError> {
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

    fn build_nodes(&mut self, nodes: Vec<NodeFile>) -> Result<(), SimError> {
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
                system_priority: n.system_priority.unwrap_or(32768),
                ports,
                aggs,
                ip: n.ip,
                ageing: n.ageing.map_or(Duration::from_secs(300), |d| d.0),
            });
        }
        Ok(())
    }

    fn build_links(&mut self, links: Vec<LinkFile>) -> Result<(), SimError> {
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

    fn build_flow(&mut self, fl: FlowFile, end: Instant) -> Result<(), SimError> {
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

    fn build_fault(&self, i: usize, x: FaultFile) -> Result<TimedFault, SimError> {
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

    fn flow_sel(&self, s: &str, field: &str) -> Result<FlowSel, SimError> {
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

    fn build_check(&self, i: usize, c: CheckFile) -> Result<Check, SimError> {
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

fn label_of(c: &CheckFile) -> String {
    let mut s = c.check.clone();
    for v in [&c.node, &c.port, &c.aggregation, &c.flow, &c.side, &c.flag]
        .into_iter()
        .flatten()
    {
        s.push(' ');
        s.push_str(v);
    }
    if let Some(e) = &c.equals {
        s.push_str(&format!(" == {e}"));
    }
    if let Some(b) = c.is {
        s.push_str(&format!(" is {b}"));
    }
    if let Some(t) = &c.contains {
        s.push_str(&format!(" contains {t:?}"));
    }
    if let Some(m) = &c.mac {
        s.push_str(&format!(" mac {m}"));
    }
    match c.direction.as_deref() {
        Some("in") => s.push_str(" received"),
        Some("out") => s.push_str(" sent"),
        _ => {}
    }
    match (c.min, c.max) {
        (Some(a), Some(b)) => s.push_str(&format!(" in [{a}, {b}]")),
        (Some(a), None) => s.push_str(&format!(" >= {a}")),
        (None, Some(b)) => s.push_str(&format!(" <= {b}")),
        (None, None) => {}
    }
    if c.from.is_some() || c.to.is_some() {
        s.push_str(&format!(
            " over [{}, {}]",
            c.from.map_or("0".into(), |d| d.0.to_string()),
            c.to.map_or("at".into(), |d| d.0.to_string())
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
name = "mini"
duration = "5s"
[[node]]
name = "a"
ports = ["e0", "e1"]
[[node.aggregation]]
name = "bond0"
policy = "L3,L4"
[[node]]
name = "b"
ports = 2
[[node.aggregation]]
name = "bond0"
[[link]]
a = "a:e0"
b = "b:p1"
rate = "100Mbit"
[[link]]
a = "a:e1"
b = "b:p2"
[[flow]]
name = "f"
from = "a"
to = "b"
count = 4
rate = "1Mbit"
[[fault]]
at = "2s"
action = "link-down"
link = "a:e0"
[[check]]
at = "end"
check = "flow-loss"
flow = "*"
max = 0
"#;

    #[test]
    fn parses_and_resolves() {
        let s = Scenario::from_toml(MINI).unwrap();
        assert_eq!(s.nodes.len(), 2);
        assert_eq!(s.nodes[1].ports[1].name, "p2");
        assert_eq!(s.nodes[0].ports[0].mac, MacAddr([2, 0, 0, 1, 0, 1]));
        assert_eq!(s.links[0].rate_bps, 100e6);
        assert_eq!(s.links[1].rate_bps, 1e9);
        assert_eq!(s.flows.len(), 4);
        assert_eq!(s.flows[3].name, "f#4");
        assert_eq!(s.flows[3].frame.src_port, 10_003);
        assert_eq!(s.faults[0].fault, Fault::LinkDown(0));
        assert_eq!(s.checks[0].at, At::End);
        assert_eq!(s.report.table.len(), 2);
        assert_eq!(s.port_name(PortRef { node: 1, port: 0 }), "b:p1");
    }

    fn err(text: &str) -> String {
        Scenario::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"c:p1\"")).contains("unknown node \"c\""));
        assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"b:p9\"")).contains("has no port \"p9\""));
        assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"b:p2\"")).contains("already cabled"));
        assert!(
            err(&MINI.replace("action = \"link-down\"", "action = \"explode\""))
                .contains("unknown action")
        );
        assert!(
            err(&MINI.replace("check = \"flow-loss\"", "check = \"vibes\""))
                .contains("unknown check")
        );
        assert!(err(&MINI.replace("flow = \"*\"", "flow = \"nope\"")).contains("matches no flow"));
        assert!(
            err(&MINI.replace("rate = \"1Mbit\"", "rat = \"1Mbit\"")).contains("unknown field")
        );
        assert!(
            err(&MINI.replace("duration = \"5s\"", "duration = \"5 fortnights\""))
                .contains("invalid duration")
        );
        assert!(err(&MINI.replace("max = 0", "")).contains("min` and/or `max"));
    }

    #[test]
    fn vary_and_rates() {
        let t = MINI.replace(
            "count = 4\nrate = \"1Mbit\"",
            "count = 3\nvary = [\"src_ip\", \"dst_mac\"]\nrates = [\"1Mbit\", \"2Mbit\", \"3Mbit\"]\nsize = 1000",
        );
        let s = Scenario::from_toml(&t).unwrap();
        assert_eq!(s.flows[2].frame.src_ip, Ipv4Addr::new(10, 0, 1, 3));
        assert_eq!(s.flows[2].frame.dst_mac, MacAddr([2, 0, 0, 2, 0, 2]));
        assert_eq!(s.flows[2].frame.src_port, 10_000);
        // 3 Mbit/s of 1000-byte frames = 375 frames/s
        assert_eq!(s.flows[2].interval, Duration::from_nanos(2_666_667));
    }
}
