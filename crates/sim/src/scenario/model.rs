//! The validated model the simulator runs: names resolved into indices.

use super::*;
use crate::packet::FrameSpec;
use lagd_node::AggrSettings;
use lagd_types::{Duration, Instant, MacAddr};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

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
            V::S(s) => lagd_types::parse_duration(&s)
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
