//! The metric set, named by hand as Prometheus and node_exporter name theirs.
//!
//! Every family below is written out here, with its name, type, unit and labels; none is
//! derived from a JSON field name, so renaming a field of the control protocol renames no
//! metric (the set is fixed by `crates/lagd/tests/golden/metrics.prom`).
//!
//! Conventions (<https://prometheus.io/docs/practices/naming/>):
//! - prefix `lagd_`, then the object: `lagd_aggregate_*`, `lagd_member_*`, `lagd_dt_*`;
//! - counters end in `_total`; units are base units in the name (`_bytes`, `_seconds`);
//!   traffic is `receive`/`transmit` as in node_exporter's `node_network_*`;
//! - labels: `aggregate` names the aggregation (its interface), `device` the member interface
//!   a series is about (the label node_exporter's netdev, ethtool and carrier series use, so
//!   `lagd_member_*{device="eth1"}` joins `node_network_*{device="eth1"}`);
//! - an enumerated state is one 0/1 series per value (`state="collecting_distributing"`), the
//!   LACP state octet one 0/1 series per flag (`flag="synchronization"`), never a raw number;
//! - identities that are not numbers are `*_info` series of value 1 whose labels carry them.

use std::fmt::Write as _;

use lagd_agg::lagd_distrib::DistStats;
use lagd_agg::lagd_lacp::{MuxState, PortCounters, ReceiveState, Selected};
use lagd_dt::{PeerState, Role};
use lagd_types::PortState;

use crate::config::AnyLinks;
use crate::control::proto::DtView;
use crate::control::proto::{AggrStatus, LinkStats, MemberStatus};

/// What one scrape shows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot<'a> {
    /// Every aggregation (`ShowAggr`).
    pub aggrs: &'a [AggrStatus],
    /// Traffic counters of aggregates and members (`ShowLink`).
    pub links: &'a [LinkStats],
    /// The Distributed Trunking domain, when one is configured (`ShowDt`).
    pub dt: Option<&'a DtView>,
}

/// The Prometheus metric types used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

/// Writes one family: `# HELP`, `# TYPE`, then its samples.
struct Family<'o> {
    out: &'o mut String,
    name: &'static str,
}

impl Family<'_> {
    fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", esc(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'o>(out: &'o mut String, name: &'static str, kind: Kind, help: &str) -> Family<'o> {
    let kind = match kind {
        Kind::Gauge => "gauge",
        Kind::Counter => "counter",
    };
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    Family { out, name }
}

/// Escapes a label value (backslash, double quote, newline).
pub(super) fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A state name as a label value: `COLLECTING_DISTRIBUTING` → `collecting_distributing`,
/// `peer-link-down` → `peer_link_down`.
fn label_value(state: &str) -> String {
    state.to_ascii_lowercase().replace('-', "_")
}

/// Every Selected value (a `match` keeps the list complete when a value is added).
fn all_selected() -> [Selected; 3] {
    let all = [Selected::Selected, Selected::Unselected, Selected::Standby];
    for s in all {
        match s {
            Selected::Selected | Selected::Unselected | Selected::Standby => {}
        }
    }
    all
}

/// Every Mux machine state (§6.4.15).
fn all_mux() -> [MuxState; 6] {
    let all = [
        MuxState::Detached,
        MuxState::Waiting,
        MuxState::Attached,
        MuxState::Collecting,
        MuxState::Distributing,
        MuxState::CollectingDistributing,
    ];
    for s in all {
        match s {
            MuxState::Detached
            | MuxState::Waiting
            | MuxState::Attached
            | MuxState::Collecting
            | MuxState::Distributing
            | MuxState::CollectingDistributing => {}
        }
    }
    all
}

/// Every Receive machine state (§6.4.12).
fn all_receive() -> [ReceiveState; 6] {
    let all = [
        ReceiveState::Initialize,
        ReceiveState::PortDisabled,
        ReceiveState::Expired,
        ReceiveState::LacpDisabled,
        ReceiveState::Defaulted,
        ReceiveState::Current,
    ];
    for s in all {
        match s {
            ReceiveState::Initialize
            | ReceiveState::PortDisabled
            | ReceiveState::Expired
            | ReceiveState::LacpDisabled
            | ReceiveState::Defaulted
            | ReceiveState::Current => {}
        }
    }
    all
}

/// The eight Actor_State / Partner_State flags (§6.4.2.3), by their 802.1AX names.
const STATE_FLAGS: [(&str, u8); 8] = [
    ("lacp_activity", PortState::LACP_ACTIVITY),
    ("lacp_timeout", PortState::LACP_TIMEOUT),
    ("aggregation", PortState::AGGREGATION),
    ("synchronization", PortState::SYNCHRONIZATION),
    ("collecting", PortState::COLLECTING),
    ("distributing", PortState::DISTRIBUTING),
    ("defaulted", PortState::DEFAULTED),
    ("expired", PortState::EXPIRED),
];

/// Every DT pairing state.
fn all_peer_states() -> [PeerState; 5] {
    let all = [
        PeerState::Init,
        PeerState::Alone,
        PeerState::Up,
        PeerState::PeerLinkDown,
        PeerState::SplitBrain,
    ];
    for s in all {
        match s {
            PeerState::Init
            | PeerState::Alone
            | PeerState::Up
            | PeerState::PeerLinkDown
            | PeerState::SplitBrain => {}
        }
    }
    all
}

/// Every DT role.
fn all_roles() -> [Role; 2] {
    let all = [Role::Primary, Role::Secondary];
    for r in all {
        match r {
            Role::Primary | Role::Secondary => {}
        }
    }
    all
}

/// A member's LACP counters, typed (the control protocol carries them as a JSON object).
fn counters_of(m: &MemberStatus) -> PortCounters {
    serde_json::from_value(m.counters.clone()).unwrap_or_default()
}

/// An aggregation's distributor counters, typed.
fn dist_of(a: &AggrStatus) -> DistStats {
    a.protocol
        .get("distributor")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Reads one member series.
type MemberValue = fn(&AggrStatus, &MemberStatus) -> u64;
/// One aggregate family: name, type, help, value.
type AggrFamily = (&'static str, Kind, &'static str, fn(&AggrStatus) -> u64);
/// One distributor family: name, type, help, value.
type DistFamily = (&'static str, Kind, &'static str, fn(&DistStats) -> u64);
/// Reads one LACP counter.
type CounterValue = fn(&PortCounters) -> u64;
/// Reads one traffic counter.
type TrafficValue = fn(&LinkStats) -> u64;

/// Traffic counters, named as node_exporter's `node_network_*_total`.
const TRAFFIC: [(&str, &str, &str, TrafficValue); 6] = [
    (
        "lagd_aggregate_receive_bytes_total",
        "lagd_member_receive_bytes_total",
        "Bytes received.",
        |l| l.rbytes,
    ),
    (
        "lagd_aggregate_receive_packets_total",
        "lagd_member_receive_packets_total",
        "Packets received (a GSO super-frame counts as its wire segments).",
        |l| l.ipackets,
    ),
    (
        "lagd_aggregate_receive_errors_total",
        "lagd_member_receive_errors_total",
        "Receive errors.",
        |l| l.ierrors,
    ),
    (
        "lagd_aggregate_transmit_bytes_total",
        "lagd_member_transmit_bytes_total",
        "Bytes transmitted.",
        |l| l.obytes,
    ),
    (
        "lagd_aggregate_transmit_packets_total",
        "lagd_member_transmit_packets_total",
        "Packets transmitted (a GSO super-frame counts as its wire segments).",
        |l| l.opackets,
    ),
    (
        "lagd_aggregate_transmit_errors_total",
        "lagd_member_transmit_errors_total",
        "Transmit errors.",
        |l| l.oerrors,
    ),
];

/// Renders `s` in the Prometheus text format (version 0.0.4).
pub(crate) fn render(s: &Snapshot<'_>) -> String {
    let mut out = String::new();
    let o = &mut out;
    let b = |v: bool| u64::from(v);

    family(
        o,
        "lagd_build_info",
        Kind::Gauge,
        "The running lagd: its version and control protocol version (value 1).",
    )
    .sample(
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            (
                "protocol",
                &crate::control::proto::PROTOCOL_VERSION.to_string(),
            ),
        ],
        1,
    );

    render_aggregates(o, s);
    render_members(o, s, b);
    if let Some(dt) = s.dt {
        render_dt(o, dt, b);
    }
    out
}

fn render_aggregates(o: &mut String, s: &Snapshot<'_>) {
    let mut f = family(
        o,
        "lagd_aggregate_info",
        Kind::Gauge,
        "Settings of an aggregation in force: mode, hash policy, LACP mode and timer (value 1).",
    );
    for a in s.aggrs {
        let (mode, policy, lacp, timer) = match a.spec.resolve(&AnyLinks) {
            Ok(r) => (
                r.mode.as_str(),
                r.policy.to_string(),
                r.lacp_mode.as_str(),
                r.lacp_timer.as_str(),
            ),
            Err(_) => ("", String::new(), "", ""),
        };
        f.sample(
            &[
                ("aggregate", &a.name),
                ("mode", mode),
                ("policy", &policy),
                ("lacp_mode", lacp),
                ("lacp_timer", timer),
            ],
            1,
        );
    }
    let per_aggr: [AggrFamily; 6] = [
        (
            "lagd_aggregate_up",
            Kind::Gauge,
            "Whether the aggregate has carrier: min_links members Collecting and Distributing, or fallback.",
            |a| u64::from(a.up),
        ),
        (
            "lagd_aggregate_members",
            Kind::Gauge,
            "Configured members (as node_bonding_slaves).",
            |a| a.spec.links.len() as u64,
        ),
        (
            "lagd_aggregate_members_active",
            Kind::Gauge,
            "Members Collecting and Distributing: those carrying traffic (as node_bonding_active).",
            |a| {
                a.members
                    .iter()
                    .filter(|m| m.collecting && m.distributing)
                    .count() as u64
            },
        ),
        (
            "lagd_aggregate_min_links",
            Kind::Gauge,
            "Active members the aggregate needs to be up.",
            |a| a.spec.min_links.unwrap_or(1) as u64,
        ),
        (
            "lagd_aggregate_fallback_active",
            Kind::Gauge,
            "Whether fallback is in force (no LACP partner heard).",
            |a| u64::from(a.fallback_active),
        ),
        (
            "lagd_aggregate_failovers_total",
            Kind::Counter,
            "Members that lost carrier, each one a failover of its conversations to the others.",
            |a| a.carrier_losses,
        ),
    ];
    for (name, kind, help, get) in per_aggr {
        let mut f = family(o, name, kind, help);
        for a in s.aggrs {
            f.sample(&[("aggregate", &a.name)], get(a));
        }
    }
    let dist: [DistFamily; 5] = [
        (
            "lagd_aggregate_buckets",
            Kind::Gauge,
            "Distribution buckets (conversation hash classes) of the aggregation.",
            |d| d.bucket_bytes.len() as u64,
        ),
        (
            "lagd_aggregate_bucket_moves_total",
            Kind::Counter,
            "Buckets moved from one member to another (failover, recovery, rebalancing).",
            |d| d.buckets_moved,
        ),
        (
            "lagd_aggregate_moves_total",
            Kind::Counter,
            "Conversation moves completed (protected by the Marker protocol or the collector delay).",
            |d| d.moves_completed,
        ),
        (
            "lagd_aggregate_moves_unconfirmed_total",
            Kind::Counter,
            "Moves completed early without the partner's confirmation (held-frame limit, source member failed): frames may have been reordered.",
            |d| d.early_completions,
        ),
        (
            "lagd_aggregate_move_marker_timeouts_total",
            Kind::Counter,
            "Moves completed because no Marker Response came in time.",
            |d| d.marker_timeouts,
        ),
    ];
    let dists: Vec<DistStats> = s.aggrs.iter().map(dist_of).collect();
    for (name, kind, help, get) in dist {
        let mut f = family(o, name, kind, help);
        for (a, d) in s.aggrs.iter().zip(&dists) {
            f.sample(&[("aggregate", &a.name)], get(d));
        }
    }
    let mut f = family(
        o,
        "lagd_aggregate_offload_buckets",
        Kind::Gauge,
        "Buckets the kernel fast path sends straight to their member now (with offload on).",
    );
    for a in s.aggrs {
        if let Some(off) = &a.offload {
            f.sample(&[("aggregate", &a.name)], off.fast_buckets as u64);
        }
    }
    for (aggr_name, _, help, get) in TRAFFIC {
        let mut f = family(o, aggr_name, Kind::Counter, help);
        for l in s.links.iter().filter(|l| l.kind == "aggregate") {
            f.sample(&[("aggregate", &l.aggregate)], get(l));
        }
    }
    let mut f = family(
        o,
        "lagd_aggregate_dropped_packets_total",
        Kind::Counter,
        "Frames the aggregate's forwarder dropped, by reason.",
    );
    for l in s.links.iter().filter(|l| l.kind == "aggregate") {
        for (reason, n) in &l.drops {
            f.sample(&[("aggregate", &l.aggregate), ("reason", reason)], *n);
        }
    }
}

fn render_members(o: &mut String, s: &Snapshot<'_>, b: impl Fn(bool) -> u64) {
    let members = || {
        s.aggrs
            .iter()
            .flat_map(|a| a.members.iter().map(move |m| (a, m)))
    };
    let mut f = family(
        o,
        "lagd_member_info",
        Kind::Gauge,
        "A member of an aggregation: its LACP Port_Number and Port_Priority (value 1).",
    );
    for (a, m) in members() {
        f.sample(
            &[
                ("aggregate", &a.name),
                ("device", &m.name),
                ("port", &m.actor.port.number.to_string()),
                ("port_priority", &m.actor.port.priority.to_string()),
            ],
            1,
        );
    }
    let gauges: [(&'static str, &str, MemberValue); 5] = [
        (
            "lagd_member_carrier",
            "Whether the member has carrier (as node_network_carrier).",
            |_, m| u64::from(m.link_up),
        ),
        (
            "lagd_member_speed_bytes",
            "Member speed in bytes per second, 0 when unknown (as node_network_speed_bytes).",
            |_, m| u64::from(m.speed_mbps) * 125_000,
        ),
        (
            "lagd_member_collecting",
            "Whether frames received on the member reach the host.",
            |_, m| u64::from(m.collecting),
        ),
        (
            "lagd_member_distributing",
            "Whether frames to the partner may leave through the member.",
            |_, m| u64::from(m.distributing),
        ),
        (
            "lagd_member_draining",
            "Whether the member is being drained (conversations leaving it under Marker protection).",
            |a, m| u64::from(a.draining.contains(&m.name)),
        ),
    ];
    for (name, help, get) in gauges {
        let mut f = family(o, name, Kind::Gauge, help);
        for (a, m) in members() {
            f.sample(&[("aggregate", &a.name), ("device", &m.name)], get(a, m));
        }
    }
    let mut f = family(
        o,
        "lagd_member_buckets",
        Kind::Gauge,
        "Distribution buckets the member carries now: its share of the conversations.",
    );
    for a in s.aggrs {
        let d = dist_of(a);
        for m in &a.members {
            let n = d
                .ports
                .iter()
                .find(|p| p.port == m.port)
                .map_or(0, |p| p.buckets as u64);
            f.sample(&[("aggregate", &a.name), ("device", &m.name)], n);
        }
    }
    let mut f = family(
        o,
        "lagd_member_selection",
        Kind::Gauge,
        "The member's Selected variable (802.1AX 6.4.8): 1 for the value in force.",
    );
    for (a, m) in members() {
        for v in all_selected() {
            let v = v.to_string();
            f.sample(
                &[
                    ("aggregate", &a.name),
                    ("device", &m.name),
                    ("state", &label_value(&v)),
                ],
                b(m.selected == v),
            );
        }
    }
    let mut f = family(
        o,
        "lagd_member_mux_state",
        Kind::Gauge,
        "The member's Mux machine state (802.1AX 6.4.15): 1 for the state in force.",
    );
    for (a, m) in members() {
        for v in all_mux() {
            let v = v.to_string();
            f.sample(
                &[
                    ("aggregate", &a.name),
                    ("device", &m.name),
                    ("state", &label_value(&v)),
                ],
                b(m.mux == v),
            );
        }
    }
    let mut f = family(
        o,
        "lagd_member_receive_state",
        Kind::Gauge,
        "The member's Receive machine state (802.1AX 6.4.12): 1 for the state in force.",
    );
    for (a, m) in members() {
        for v in all_receive() {
            let v = v.to_string();
            f.sample(
                &[
                    ("aggregate", &a.name),
                    ("device", &m.name),
                    ("state", &label_value(&v)),
                ],
                b(m.receive == v),
            );
        }
    }
    for (name, help, side) in [
        (
            "lagd_member_actor_state",
            "Actor_State flags the member sends (802.1AX 6.4.2.3), one 0/1 series per flag.",
            true,
        ),
        (
            "lagd_member_partner_state",
            "Partner_State flags as last heard from the partner (802.1AX 6.4.2.3), one 0/1 series per flag.",
            false,
        ),
    ] {
        let mut f = family(o, name, Kind::Gauge, help);
        for (a, m) in members() {
            let st = if side { m.actor.state } else { m.partner.state };
            for (flag, bit) in STATE_FLAGS {
                f.sample(
                    &[("aggregate", &a.name), ("device", &m.name), ("flag", flag)],
                    b(st.get(bit)),
                );
            }
        }
    }
    let mut f = family(
        o,
        "lagd_member_partner_info",
        Kind::Gauge,
        "The LACP partner a member hears: its System, System_Priority, Key, Port_Number and Port_Priority (value 1; absent while no partner is heard).",
    );
    for (a, m) in members() {
        let p = &m.partner;
        if p.system.addr.is_zero() || m.actor.state.defaulted() {
            continue;
        }
        f.sample(
            &[
                ("aggregate", &a.name),
                ("device", &m.name),
                ("system", &p.system.addr.to_string()),
                ("system_priority", &p.system.priority.to_string()),
                ("key", &p.key.to_string()),
                ("port", &p.port.number.to_string()),
                ("port_priority", &p.port.priority.to_string()),
            ],
            1,
        );
    }
    let lacp: [(&'static str, &str, CounterValue); 12] = [
        (
            "lagd_member_lacpdus_received_total",
            "Valid LACPDUs received (dot3adAggPortStatsLACPDUsRx).",
            |c| c.lacpdus_rx,
        ),
        (
            "lagd_member_lacpdus_sent_total",
            "LACPDUs sent (dot3adAggPortStatsLACPDUsTx).",
            |c| c.lacpdus_tx,
        ),
        (
            "lagd_member_marker_pdus_received_total",
            "Marker PDUs received (dot3adAggPortStatsMarkerPDUsRx).",
            |c| c.marker_pdus_rx,
        ),
        (
            "lagd_member_marker_pdus_sent_total",
            "Marker PDUs sent by the Marker generator (dot3adAggPortStatsMarkerPDUsTx).",
            |c| c.marker_pdus_tx,
        ),
        (
            "lagd_member_marker_response_pdus_received_total",
            "Marker Response PDUs received (dot3adAggPortStatsMarkerResponsePDUsRx).",
            |c| c.marker_response_pdus_rx,
        ),
        (
            "lagd_member_marker_response_pdus_sent_total",
            "Marker Response PDUs sent (dot3adAggPortStatsMarkerResponsePDUsTx).",
            |c| c.marker_response_pdus_tx,
        ),
        (
            "lagd_member_unknown_pdus_received_total",
            "Slow Protocols frames of an unknown subtype (dot3adAggPortStatsUnknownRx).",
            |c| c.unknown_rx,
        ),
        (
            "lagd_member_illegal_pdus_received_total",
            "Malformed LACP or Marker PDUs (dot3adAggPortStatsIllegalRx).",
            |c| c.illegal_rx,
        ),
        (
            "lagd_member_looped_lacpdus_received_total",
            "LACPDUs of this very System received back (a loop); never recorded.",
            |c| c.looped_lacpdus_rx,
        ),
        (
            "lagd_member_marker_timeouts_total",
            "Markers sent that got no Marker Response in time.",
            |c| c.marker_timeouts,
        ),
        (
            "lagd_member_marker_responses_dropped_total",
            "Marker Responses not sent because of the Slow Protocols rate limit.",
            |c| c.marker_responses_dropped,
        ),
        (
            "lagd_member_marker_responses_unmatched_total",
            "Marker Responses received that matched no outstanding Marker.",
            |c| c.marker_responses_unmatched,
        ),
    ];
    let counters: Vec<PortCounters> = members().map(|(_, m)| counters_of(m)).collect();
    for (name, help, get) in lacp {
        let mut f = family(o, name, Kind::Counter, help);
        for ((a, m), c) in members().zip(&counters) {
            f.sample(&[("aggregate", &a.name), ("device", &m.name)], get(c));
        }
    }
    for (_, member_name, help, get) in TRAFFIC {
        let mut f = family(o, member_name, Kind::Counter, help);
        for l in s.links.iter().filter(|l| l.kind == "member") {
            f.sample(&[("aggregate", &l.aggregate), ("device", &l.name)], get(l));
        }
    }
    let mut f = family(
        o,
        "lagd_member_dropped_packets_total",
        Kind::Counter,
        "Frames dropped on a member, by reason (not_collecting: received while the member was not Collecting).",
    );
    for l in s.links.iter().filter(|l| l.kind == "member") {
        for (reason, n) in &l.drops {
            f.sample(
                &[
                    ("aggregate", &l.aggregate),
                    ("device", &l.name),
                    ("reason", reason),
                ],
                *n,
            );
        }
    }
    let mut f = family(
        o,
        "lagd_member_bfd_up",
        Kind::Gauge,
        "Whether the member's micro-BFD session (RFC 7130) is Up (members with BFD on only).",
    );
    for (a, m) in members() {
        if let Some(bfd) = &m.bfd {
            f.sample(
                &[("aggregate", &a.name), ("device", &m.name)],
                b(bfd.state == "Up"),
            );
        }
    }
    let mut f = family(
        o,
        "lagd_member_bfd_detection_timeouts_total",
        Kind::Counter,
        "Silent failures micro-BFD detected on the member (Detection Time expired while Up or Init).",
    );
    for (a, m) in members() {
        if let Some(bfd) = &m.bfd {
            f.sample(
                &[("aggregate", &a.name), ("device", &m.name)],
                bfd.detection_timeouts,
            );
        }
    }
}

fn render_dt(o: &mut String, dt: &DtView, b: impl Fn(bool) -> u64) {
    let st = &dt.status;
    let domain = st.domain_id.to_string();
    family(
        o,
        "lagd_dt_info",
        Kind::Gauge,
        "The Distributed Trunking domain: id, own system MAC, role priority, peer link (value 1).",
    )
    .sample(
        &[
            ("domain", &domain),
            ("system", &st.system_mac.to_string()),
            ("role_priority", &st.role_priority.to_string()),
            ("peer_link", &dt.peer_link),
        ],
        1,
    );
    let mut f = family(
        o,
        "lagd_dt_role",
        Kind::Gauge,
        "This switch's DT role: 1 for the role in force.",
    );
    for r in all_roles() {
        f.sample(
            &[("domain", &domain), ("role", &label_value(&r.to_string()))],
            b(st.role == r),
        );
    }
    let mut f = family(
        o,
        "lagd_dt_peer_state",
        Kind::Gauge,
        "The pairing with the DT peer: 1 for the state in force (up: healthy pair; split_brain: peer link down, peer alive).",
    );
    for p in all_peer_states() {
        f.sample(
            &[("domain", &domain), ("state", &label_value(&p.to_string()))],
            b(st.state == p),
        );
    }
    for (name, help, v) in [
        (
            "lagd_dt_peer_link_up",
            "Whether the peer link delivers the peer's PDUs.",
            b(st.peer_link_up),
        ),
        (
            "lagd_dt_peer_link_carrier",
            "Whether the peer link has carrier (it may have carrier and still deliver nothing: a hung peer).",
            b(dt.peer_link_carrier),
        ),
        (
            "lagd_dt_keepalive_up",
            "Whether the peer's keepalives arrive.",
            b(st.keepalive_up),
        ),
        (
            "lagd_dt_macs_synced",
            "Whether the peer acknowledged every local MAC address change.",
            b(st.macs_synced),
        ),
    ] {
        family(o, name, Kind::Gauge, help).sample(&[("domain", &domain)], v);
    }
    let mut f = family(
        o,
        "lagd_dt_mac_addresses",
        Kind::Gauge,
        "MAC addresses in the DT table: learned locally, reported by the peer, installed, installed towards the peer link.",
    );
    for (kind, n) in [
        ("local", st.macs_local),
        ("peer", st.macs_peer),
        ("installed", st.macs_installed),
        ("via_peer_link", st.macs_via_peer_link),
    ] {
        f.sample(&[("domain", &domain), ("kind", kind)], n as u64);
    }
    let n = &st.neighbours;
    let mut f = family(
        o,
        "lagd_dt_neighbours",
        Kind::Gauge,
        "Neighbour (ARP / IPv6 ND) entries in the DT sync table: resolved locally (announced to the peer), announced by the peer, installed (the peer's, where the local bridge has not resolved the address).",
    );
    for (kind, v) in [
        ("local", n.local),
        ("peer", n.peer),
        ("installed", n.installed),
    ] {
        f.sample(&[("domain", &domain), ("kind", kind)], v as u64);
    }
    for (name, help, v) in [
        (
            "lagd_dt_neighbour_overflow_total",
            "Neighbour entries announced by the peer and refused because the table was full (counted at every announcement).",
            n.overflow,
        ),
        (
            "lagd_dt_neighbours_not_announced_total",
            "Local neighbour entries not announced to the peer because the table was full.",
            n.local_dropped,
        ),
    ] {
        family(o, name, Kind::Counter, help).sample(&[("domain", &domain)], v);
    }
    let c = &st.counters;
    for (name, help, v) in [
        (
            "lagd_dt_peer_link_pdus_received_total",
            "DT PDUs received on the peer link and used.",
            c.rx_peer,
        ),
        (
            "lagd_dt_peer_link_pdus_sent_total",
            "DT PDUs sent on the peer link.",
            c.tx_peer,
        ),
        (
            "lagd_dt_keepalives_received_total",
            "Keepalives received and used.",
            c.rx_keepalive,
        ),
        (
            "lagd_dt_keepalives_sent_total",
            "Keepalives sent.",
            c.tx_keepalive,
        ),
    ] {
        family(o, name, Kind::Counter, help).sample(&[("domain", &domain)], v);
    }
    let mut f = family(
        o,
        "lagd_dt_refused_pdus_total",
        Kind::Counter,
        "DT frames refused, by reason: malformed, foreign (another domain), looped (own MAC), bad_address (wrong address or path), stranger (not the pinned peer), auth_failed, stale (replayed or out of date).",
    );
    for (reason, n) in [
        ("malformed", c.rx_errors),
        ("foreign", c.rx_foreign),
        ("looped", c.rx_looped),
        ("bad_address", c.rx_bad_address),
        ("stranger", c.rx_stranger),
        ("auth_failed", c.rx_auth_failed),
        ("stale", c.rx_stale),
    ] {
        f.sample(&[("domain", &domain), ("reason", reason)], n);
    }
    let mut f = family(
        o,
        "lagd_dt_aggregate_ports_enabled",
        Kind::Gauge,
        "Whether a DT aggregation's members may be up (0: taken down by the DT decision).",
    );
    for a in &st.aggregations {
        f.sample(
            &[("domain", &domain), ("aggregate", &a.config.name)],
            b(a.decision.ports_enabled),
        );
    }
    let mut f = family(
        o,
        "lagd_dt_aggregate_consistent",
        Kind::Gauge,
        "Whether a DT aggregation is configured alike on both switches (0: a mismatch; see lagctl diagnose).",
    );
    for a in &st.aggregations {
        f.sample(
            &[("domain", &domain), ("aggregate", &a.config.name)],
            b(a.diffs.is_empty()),
        );
    }
    let mut f = family(
        o,
        "lagd_dt_aggregate_peer_members_active",
        Kind::Gauge,
        "Members of a DT aggregation that are Collecting and Distributing on the peer switch.",
    );
    for a in &st.aggregations {
        f.sample(
            &[("domain", &domain), ("aggregate", &a.config.name)],
            a.peer_live.len() as u64,
        );
    }
    let mut f = family(
        o,
        "lagd_dt_peer_filtered_packets_total",
        Kind::Counter,
        "Frames from the peer link the egress filter kept out of a DT aggregate both switches deliver to.",
    );
    for (aggr, n) in &dt.peer_filter.filtered {
        f.sample(&[("domain", &domain), ("aggregate", aggr)], *n);
    }
    let mut f = family(
        o,
        "lagd_dt_ingress_filtered_packets_total",
        Kind::Counter,
        "DT frames (EtherType 0x8952) from hosts dropped at a bridge port's ingress (forged DT PDUs).",
    );
    for (port, n) in &dt.ingress_filter {
        f.sample(&[("domain", &domain), ("device", port)], *n);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::config::{AggrMode, AggrSpec};
    use crate::control::proto::PeerFilterView;
    use crate::control::proto::{BfdStatus, OffloadStatus};
    use lagd_types::{Instant, MacAddr, PortId, SystemId};
    use lagd_wire::LacpInfo;

    fn member(name: &str, port: u16, distributing: bool) -> MemberStatus {
        let partner = LacpInfo {
            system: SystemId::new(32768, MacAddr([2, 0, 0, 0, 0, 0xb0])),
            key: 1,
            port: PortId::new(255, port),
            state: PortState(0x3f),
        };
        MemberStatus {
            name: name.into(),
            absent: false,
            port,
            link_up: true,
            speed_mbps: 10_000,
            full_duplex: true,
            selected: "SELECTED".into(),
            mux: if distributing {
                "COLLECTING_DISTRIBUTING".into()
            } else {
                "ATTACHED".into()
            },
            receive: "CURRENT".into(),
            actor: LacpInfo {
                system: SystemId::new(32768, MacAddr([2, 0, 0, 0, 0, 0xa0])),
                key: 1,
                port: PortId::new(32768, port),
                state: PortState(if distributing { 0x3f } else { 0x0f }),
            },
            partner,
            collecting: distributing,
            distributing,
            why_not_distributing: None,
            counters: serde_json::to_value(PortCounters {
                lacpdus_rx: 10 + u64::from(port),
                lacpdus_tx: 20 + u64::from(port),
                marker_pdus_tx: 2,
                marker_response_pdus_rx: 2,
                ..PortCounters::default()
            })
            .unwrap(),
            bfd: None,
            state: if distributing { "active" } else { "attached" }.into(),
            carrier_losses: 0,
            flaps: 0,
        }
    }

    fn protocol(buckets: &[(u16, usize)]) -> serde_json::Value {
        let d = DistStats {
            ports: buckets
                .iter()
                .map(|(p, b)| lagd_agg::lagd_distrib::PortStats {
                    port: *p,
                    member: true,
                    buckets: *b,
                    ..Default::default()
                })
                .collect(),
            bucket_bytes: vec![0; 256],
            buckets_moved: 64,
            moves_completed: 3,
            early_completions: 1,
            marker_timeouts: 1,
            ..DistStats::default()
        };
        serde_json::json!({ "distributor": d })
    }

    fn aggregations() -> Vec<AggrStatus> {
        let mut spec = AggrSpec::new("aggr1", &["eth1", "eth2", "eth3"]);
        spec.min_links = Some(2);
        let a1 = AggrStatus {
            name: "aggr1".into(),
            spec,
            temporary: false,
            mac: MacAddr([2, 0, 0, 0, 0, 0xa0]),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 4,
            members: vec![member("eth1", 1, true), member("eth2", 2, false)],
            draining: vec!["eth2".into()],
            protocol: protocol(&[(1, 256), (2, 0)]),
            offload: Some(OffloadStatus {
                fast_buckets: 200,
                buckets: 256,
                frames: 1,
                bytes: 2,
                ..OffloadStatus::default()
            }),
            why: None,
            settings: Default::default(),
            active_member: None,
            balancer: None,
            persistent: None,
            disabled: vec![],
        };
        let mut spec = AggrSpec::new("aggr2", &["eth4"]);
        spec.mode = Some(AggrMode::ActiveBackup);
        let mut m = member("eth4", 1, true);
        m.receive = "LACP_DISABLED".into();
        m.partner = LacpInfo::default();
        m.actor.state = PortState(0x34);
        m.bfd = Some(BfdStatus {
            state: "Up".into(),
            detection_timeouts: 2,
            ..BfdStatus::default()
        });
        let a2 = AggrStatus {
            name: "aggr2".into(),
            spec,
            temporary: false,
            mac: MacAddr([2, 0, 0, 0, 0, 0xa4]),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 0,
            members: vec![m],
            draining: vec![],
            protocol: protocol(&[(1, 256)]),
            offload: None,
            why: None,
            settings: Default::default(),
            active_member: Some("eth4".into()),
            balancer: None,
            persistent: None,
            disabled: vec![],
        };
        vec![a1, a2]
    }

    fn links() -> Vec<LinkStats> {
        let l = |name: &str, aggr: &str, kind: &str, n: u64| LinkStats {
            name: name.into(),
            aggregate: aggr.into(),
            kind: kind.into(),
            ipackets: n,
            rbytes: n * 100,
            ierrors: 0,
            opackets: n * 2,
            obytes: n * 200,
            oerrors: 0,
            drops: BTreeMap::from([("not_collecting".to_string(), n / 10)]),
        };
        vec![
            l("aggr1", "aggr1", "aggregate", 30),
            l("eth1", "aggr1", "member", 20),
            l("eth2", "aggr1", "member", 10),
            l("aggr2", "aggr2", "aggregate", 5),
            l("eth4", "aggr2", "member", 5),
        ]
    }

    fn dt_view() -> DtView {
        let cfg = lagd_dt::DtConfig {
            domain_id: 7,
            system_mac: MacAddr([2, 0xd7, 0, 0, 0, 0xa]),
            role_priority: 100,
            ..lagd_dt::DtConfig::default()
        };
        let mut dt = lagd_dt::Dt::new(Instant::ZERO, cfg).unwrap();
        dt.add_aggregation(
            Instant::ZERO,
            lagd_dt::DtAggrConfig::new(
                1,
                "trk1",
                SystemId::new(256, MacAddr([2, 0xd7, 0, 0, 0, 1])),
            ),
        )
        .unwrap();
        let mut status = dt.status();
        status.neighbours = lagd_dt::NeighSyncStatus {
            local: 2,
            peer: 3,
            installed: 1,
            overflow: 4,
            local_dropped: 5,
        };
        DtView {
            status,
            peer_link: "pl0".into(),
            keepalive: Some("ka0".into()),
            bridge: "br0".into(),
            events: vec![],
            peer_link_carrier: true,
            ingress_filter: vec![("eth9".into(), 3)],
            peer_filter: PeerFilterView {
                mode: "egress filter".into(),
                filtered: vec![("trk1".into(), 9)],
                flooding: true,
            },
        }
    }

    fn golden_text() -> String {
        let aggrs = aggregations();
        let links = links();
        let dt = dt_view();
        render(&Snapshot {
            aggrs: &aggrs,
            links: &links,
            dt: Some(&dt),
        })
    }

    /// The whole exposition of a fixed status, byte for byte: a metric, label or help text
    /// renamed, added or removed shows here (`UPDATE_GOLDEN=1` rewrites the file after a
    /// deliberate change; say so in `docs/METRICS.md`).
    #[test]
    fn metric_set_is_golden() {
        let text = golden_text().replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics.prom");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text == want,
            "the metric set changed (UPDATE_GOLDEN=1 to accept); got:\n{text}"
        );
    }

    /// A control-protocol field that appears or is renamed changes no metric: names are
    /// written out, not derived.
    #[test]
    fn json_fields_do_not_name_metrics() {
        let mut aggrs = aggregations();
        for a in &mut aggrs {
            for m in &mut a.members {
                m.counters["some_new_counter"] = serde_json::json!(5);
            }
            a.protocol["distributor"]["some_new_stat"] = serde_json::json!(6);
        }
        let links = links();
        let text = render(&Snapshot {
            aggrs: &aggrs,
            links: &links,
            dt: None,
        });
        assert!(!text.contains("some_new"), "{text}");
        let names = |t: &str| -> BTreeSet<String> {
            t.lines()
                .filter_map(|l| l.strip_prefix("# TYPE "))
                .map(|l| l.split(' ').next().unwrap().to_string())
                .collect()
        };
        let all = names(&golden_text());
        let without_dt: BTreeSet<String> = all
            .iter()
            .filter(|n| !n.starts_with("lagd_dt_"))
            .cloned()
            .collect();
        assert_eq!(names(&text), without_dt);
    }

    /// `docs/METRICS.md` documents every family, with its type.
    #[test]
    fn every_family_is_documented() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/METRICS.md");
        let doc = std::fs::read_to_string(path).unwrap();
        for line in golden_text().lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    doc.contains(&format!("| `{name}` | {kind} |")),
                    "docs/METRICS.md does not list {name} ({kind})"
                );
            }
        }
    }

    /// The conventions of the module docs, checked on the whole set.
    #[test]
    fn names_follow_prometheus_conventions() {
        let text = golden_text();
        let mut kinds: BTreeMap<String, String> = BTreeMap::new();
        let mut label_sets: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
        let mut series = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    kinds.insert(name.into(), kind.into()).is_none(),
                    "{name} twice"
                );
                assert!(name.starts_with("lagd_"), "{name}");
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{name}"
                );
                assert_eq!(
                    kind == "counter",
                    name.ends_with("_total"),
                    "{name}: counters and only counters end in _total"
                );
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (head, value) = line.rsplit_once(' ').unwrap();
            value.parse::<u64>().unwrap();
            let (name, labels) = match head.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (head, ""),
            };
            assert!(kinds.contains_key(name), "{name}: sample before its TYPE");
            let keys: Vec<String> = labels
                .split("\",")
                .filter(|s| !s.is_empty())
                .map(|kv| kv.split('=').next().unwrap().to_string())
                .collect();
            for k in &keys {
                assert!(
                    !["interface", "member", "link", "master", "port_name"].contains(&k.as_str()),
                    "{name}: an interface is labelled `device` (or `aggregate`), not `{k}`"
                );
            }
            if name.ends_with("_info") {
                assert_eq!(value, "1", "{line}");
            }
            label_sets.entry(name.into()).or_default().insert(keys);
            assert!(series.insert(head.to_string()), "{head} twice");
        }
        for (name, sets) in &label_sets {
            assert_eq!(sets.len(), 1, "{name}: one label set per family: {sets:?}");
        }
        // Every family of the set has samples in the golden input.
        let sampled: BTreeSet<&String> = label_sets.keys().collect();
        let declared: BTreeSet<&String> = kinds.keys().collect();
        assert_eq!(sampled, declared);
        // Bonding's shape.
        assert!(text.contains("lagd_aggregate_members{aggregate=\"aggr1\"} 3\n"));
        assert!(text.contains("lagd_aggregate_members_active{aggregate=\"aggr1\"} 1\n"));
        assert!(text.contains(
            "lagd_member_actor_state{aggregate=\"aggr1\",device=\"eth2\",flag=\"synchronization\"} 1\n"
        ));
        assert!(text.contains(
            "lagd_member_mux_state{aggregate=\"aggr1\",device=\"eth1\",state=\"collecting_distributing\"} 1\n"
        ));
    }
}
