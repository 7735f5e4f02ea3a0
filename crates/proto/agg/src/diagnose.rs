//! Diagnosis of an aggregation: checks its status against the usual misconfigurations and
//! explains each finding with its evidence and the command that fixes it (`lagctl diagnose`).
//!
//! [`diagnose`] is a pure function of the configuration, the [`AggregationStatus`] and, when the
//! caller knows them, per-member [`LinkFacts`] (speed, duplex, MTU, measured rate). The daemon
//! calls it for `lagctl diagnose`; the simulator can call it on its own aggregations.
//!
//! Findings (each with a stable [`FindingCode`]):
//! - the partner runs no LACP (every member DEFAULTED while we are active: a static switch), or
//!   both sides are passive (§6.4.2.3 LACP_Activity: nobody sends LACPDUs);
//! - members reach different partner Systems or keys (§6.3.6 LAG ID: two switches that are not
//!   a distributed-trunking pair);
//! - speed, duplex or MTU mismatch among members (LACP needs full duplex, §6.4.8);
//! - a member that is up but not Collecting and Distributing, and why (Mux machine §6.4.15);
//! - churn (§6.4.17), EXPIRED or DEFAULTED members (Receive machine §6.4.12);
//! - min-links not met;
//! - a hash policy that puts most of the traffic on one member (figures 6–9 of the Sun
//!   Trunking article: L2 hashing towards one router MAC), naming the policy that spreads it;
//! - a single flow saturating one member (only round-robin goes beyond one link, reordering).

use std::collections::BTreeMap;

use lagd_distrib::{HashPolicy, Mode};
use lagd_lacp::{ChurnState, LacpMode, MuxState, PortStatus, ReceiveState, Selected};
use lagd_types::{Duration, PortNumber};
use serde::{Deserialize, Serialize};

use crate::{AggregationConfig, AggregationStatus};

/// Share of the traffic on one member above which distribution is called unbalanced.
pub const IMBALANCE_SHARE: f64 = 0.75;
/// Share of the traffic in one hash bucket above which it is one conversation.
pub const SINGLE_FLOW_SHARE: f64 = 0.80;
/// Utilisation of a member above which it is called saturated.
pub const SATURATION: f64 = 0.90;
/// Below this many bytes sent in total, the traffic is too small to judge its spread.
pub const DEFAULT_MIN_BYTES: u64 = 1_000_000;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault (a Standby member).
    Info,
    /// Degraded: the aggregate works with less capacity or resilience than configured.
    Warning,
    /// Broken: traffic is lost or the aggregate is down.
    Error,
}

impl core::fmt::Display for Severity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What kind of problem a finding is (stable names for scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// Every member DEFAULTED while we run active LACP: the partner runs no LACP.
    PartnerNoLacp,
    /// We are passive and hear nothing: the partner is passive too (or runs no LACP).
    BothPassive,
    /// Members reach different partner Systems or keys.
    DifferentPartners,
    /// Members run at different speeds.
    SpeedMismatch,
    /// A member runs half duplex, or members differ in duplex.
    DuplexMismatch,
    /// Members (or the aggregate) have different MTUs.
    MtuMismatch,
    /// A member's carrier is down.
    LinkDown,
    /// A member is up and selected but not Collecting and Distributing.
    NotDistributing,
    /// A member is Standby (max-active).
    Standby,
    /// Actor or partner churn detected on a member (§6.4.17).
    Churn,
    /// A member's partner information expired (§6.4.12 EXPIRED).
    Expired,
    /// Some members DEFAULTED while others hear the partner.
    Defaulted,
    /// Fewer members Collecting and Distributing than min-links: the aggregate is down.
    MinLinks,
    /// The aggregate forwards through fallback, without LACP.
    Fallback,
    /// Most of the traffic goes through one member because of the hash policy.
    HashImbalance,
    /// One conversation saturates one member.
    SingleFlowSaturation,
    /// A distributed aggregation, but no Distributed Trunking domain is configured.
    DtNoDomain,
    /// The DT peer is not (yet) heard: this switch acts alone.
    DtPeer,
    /// The DT peer link is down while the peer is alive (split brain).
    DtSplitBrain,
    /// The switch heard on the peer link belongs to another DT domain.
    DtDomainMismatch,
    /// The aggregation's configuration differs from the DT peer's.
    DtMismatch,
    /// The DT decision holds this switch's ports of the aggregation down.
    DtPortsDown,
    /// No keepalive path: a peer-link failure cannot be told from a dead peer.
    DtNoKeepalive,
    /// The kernel could not attach the peer-link egress filter: lagd falls back to flood
    /// control, and a flooded frame may reach other aggregations' hosts twice.
    DtPeerFilterFallback,
    /// `offload = true`, but the kernel fast path is not running (or not on every member).
    OffloadInactive,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What kind.
    pub code: FindingCode,
    /// The member concerned, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The problem, in one line.
    pub problem: String,
    /// The values seen that show it.
    pub evidence: Vec<String>,
    /// What to do: commands to type or changes to make, best first.
    pub fix: Vec<String>,
}

/// The result of [`diagnose`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The aggregate's name.
    pub aggregate: String,
    /// No finding of severity warning or error.
    pub healthy: bool,
    /// The findings, most serious first.
    pub findings: Vec<Finding>,
}

/// What the caller knows of a member's link beyond the protocol status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFacts {
    /// Speed in Mbit/s (overrides the status when known).
    pub speed_mbps: Option<u32>,
    /// Full duplex (overrides the status when known).
    pub full_duplex: Option<bool>,
    /// The member's MTU.
    pub mtu: Option<u32>,
    /// Bytes per second sent on the member, measured by the caller.
    pub tx_bytes_per_sec: Option<u64>,
}

/// Everything [`diagnose`] looks at.
#[derive(Clone, Debug)]
pub struct DiagnoseInput<'a> {
    /// The aggregate's name (used in the fix commands).
    pub name: &'a str,
    /// The configuration in force.
    pub config: &'a AggregationConfig,
    /// The status.
    pub status: &'a AggregationStatus,
    /// Member names by port number (ports without a name are called `port N`).
    pub port_names: BTreeMap<PortNumber, String>,
    /// Link facts by port number.
    pub links: BTreeMap<PortNumber, LinkFacts>,
    /// The aggregate's own MTU, if known.
    pub aggregate_mtu: Option<u32>,
    /// Traffic below this many bytes is not judged for balance ([`DEFAULT_MIN_BYTES`]).
    pub min_bytes: u64,
}

impl<'a> DiagnoseInput<'a> {
    /// An input with no link facts and the default thresholds.
    pub fn new(
        name: &'a str,
        config: &'a AggregationConfig,
        status: &'a AggregationStatus,
    ) -> Self {
        DiagnoseInput {
            name,
            config,
            status,
            port_names: BTreeMap::new(),
            links: BTreeMap::new(),
            aggregate_mtu: None,
            min_bytes: DEFAULT_MIN_BYTES,
        }
    }
}

struct Ctx<'a, 'b> {
    input: &'b DiagnoseInput<'a>,
    out: Vec<Finding>,
}

impl Ctx<'_, '_> {
    fn name_of(&self, port: PortNumber) -> String {
        self.input
            .port_names
            .get(&port)
            .cloned()
            .unwrap_or_else(|| format!("port {port}"))
    }

    fn speed(&self, p: &PortStatus) -> u32 {
        self.input
            .links
            .get(&p.number)
            .and_then(|l| l.speed_mbps)
            .unwrap_or(p.link.speed_mbps)
    }

    fn full_duplex(&self, p: &PortStatus) -> bool {
        self.input
            .links
            .get(&p.number)
            .and_then(|l| l.full_duplex)
            .unwrap_or(p.link.full_duplex)
    }

    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        member: Option<String>,
        problem: String,
        evidence: Vec<String>,
        fix: Vec<String>,
    ) {
        self.out.push(Finding {
            severity,
            code,
            member,
            problem,
            evidence,
            fix,
        });
    }
}

fn lacp_mode_name(m: LacpMode) -> &'static str {
    match m {
        LacpMode::Active => "active",
        LacpMode::Passive => "passive",
        LacpMode::Off => "off",
    }
}

/// Checks the aggregation and explains every problem found.
pub fn diagnose(input: &DiagnoseInput<'_>) -> Diagnosis {
    let mut cx = Ctx {
        input,
        out: Vec::new(),
    };
    let st = input.status;
    let lacp_on = input.config.lacp.mode != LacpMode::Off;
    let up: Vec<&PortStatus> = st.lacp.ports.iter().filter(|p| p.link.up).collect();

    let partner_silent = lacp_on
        && !up.is_empty()
        && up
            .iter()
            .all(|p| p.receive == ReceiveState::Defaulted && p.counters.lacpdus_rx == 0);
    if partner_silent {
        check_silent_partner(&mut cx, &up);
    } else if lacp_on {
        check_partners(&mut cx, &up);
    }
    check_links(&mut cx, &up);
    check_members(&mut cx, partner_silent);
    check_min_links(&mut cx);
    check_traffic(&mut cx);

    let mut findings = cx.out;
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Diagnosis {
        aggregate: input.name.to_string(),
        healthy: findings.iter().all(|f| f.severity == Severity::Info),
        findings,
    }
}

/// Every member with carrier is DEFAULTED and never received a LACPDU.
fn check_silent_partner(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let name = cx.input.name;
    let cfg = &cx.input.config.lacp;
    let st = cx.input.status;
    let mut evidence: Vec<String> = up
        .iter()
        .map(|p| {
            format!(
                "{}: receive {}, {} LACPDUs received, {} sent",
                cx.name_of(p.number),
                p.receive,
                p.counters.lacpdus_rx,
                p.counters.lacpdus_tx
            )
        })
        .collect();
    evidence.push(format!("our LACP mode: {}", lacp_mode_name(cfg.mode)));
    if cfg.mode == LacpMode::Passive {
        cx.push(
            Severity::Error,
            FindingCode::BothPassive,
            None,
            "no LACPDU is ever exchanged: we are passive and the partner sends nothing (it is \
             passive too, or runs no LACP)"
                .into(),
            evidence,
            vec![
                format!("lagctl modify-aggr -L active {name}"),
                "or set the switch ports to LACP active".into(),
            ],
        );
        return;
    }
    let (severity, problem) = if st.lacp.fallback_active {
        evidence.push(format!(
            "fallback in force: {}",
            st.lacp.fallback_reason.as_deref().unwrap_or("no LACPDU")
        ));
        (
            Severity::Warning,
            "the partner runs no LACP (a static switch): the aggregate forwards only through \
             fallback"
                .to_string(),
        )
    } else {
        (
            Severity::Error,
            "the partner runs no LACP (a static switch?): no member can aggregate, traffic is \
             lost"
                .to_string(),
        )
    };
    let mut fix = vec![
        "enable LACP (active) on the switch ports of this aggregation".to_string(),
        format!("or run a static trunk: lagctl modify-aggr -L off {name}"),
    ];
    if !st.lacp.fallback_active {
        fix.push(format!(
            "or forward on one member until LACP answers: lagctl modify-aggr --fallback one-member {name}"
        ));
    }
    cx.push(
        severity,
        FindingCode::PartnerNoLacp,
        None,
        problem,
        evidence,
        fix,
    );
}

/// Members that hear a partner must all hear the same System and key.
fn check_partners(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let name = cx.input.name;
    let current: Vec<&&PortStatus> = up
        .iter()
        .filter(|p| p.receive == ReceiveState::Current && p.partner.state.aggregation())
        .collect();
    let mut groups: BTreeMap<(String, u16), Vec<String>> = BTreeMap::new();
    for p in &current {
        groups
            .entry((p.partner.system.to_string(), p.partner.key))
            .or_default()
            .push(cx.name_of(p.number));
    }
    if groups.len() > 1 {
        let evidence = groups
            .iter()
            .map(|((sys, key), members)| {
                format!("{} → partner system {sys}, key {key}", members.join(", "))
            })
            .collect();
        let systems: std::collections::BTreeSet<&String> = groups.keys().map(|(s, _)| s).collect();
        let problem = if systems.len() > 1 {
            "members reach different partner systems: cabled to two switches that are not a \
             distributed-trunking pair, so only one group can aggregate"
        } else {
            "members reach the same partner system with different keys: the switch put them in \
             different channel groups"
        };
        // The smaller groups are the odd ones out.
        let odd: Vec<String> = {
            let mut g: Vec<&Vec<String>> = groups.values().collect();
            g.sort_by_key(|m| std::cmp::Reverse(m.len()));
            g.iter().skip(1).flat_map(|m| m.iter().cloned()).collect()
        };
        cx.push(
            Severity::Error,
            FindingCode::DifferentPartners,
            None,
            problem.into(),
            evidence,
            vec![
                "cable every member to the same switch, or to a distributed-trunking (DT/MLAG) \
                 pair that presents one system id, with one channel group (same key)"
                    .into(),
                format!(
                    "or take the odd members out: lagctl remove-aggr {} {name}",
                    odd.iter()
                        .map(|m| format!("-l {m}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ],
        );
    }
}

/// Speed, duplex and MTU of the members with carrier.
fn check_links(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let name = cx.input.name;
    let mut speeds: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in up {
        let s = cx.speed(p);
        if s > 0 {
            speeds.entry(s).or_default().push(cx.name_of(p.number));
        }
    }
    if speeds.len() > 1 {
        let evidence = speeds
            .iter()
            .map(|(s, m)| format!("{}: {s} Mbit/s", m.join(", ")))
            .collect();
        cx.push(
            Severity::Warning,
            FindingCode::SpeedMismatch,
            None,
            "members run at different speeds: conversations hashed to the slower members get \
             less bandwidth, and some switches refuse to aggregate them"
                .into(),
            evidence,
            vec![
                "use members of one speed (check cabling, transceivers and autonegotiation: \
                 ethtool MEMBER)"
                    .into(),
            ],
        );
    }
    for p in up {
        if !cx.full_duplex(p) {
            let m = cx.name_of(p.number);
            cx.push(
                Severity::Error,
                FindingCode::DuplexMismatch,
                Some(m.clone()),
                format!(
                    "member {m} runs half duplex: link aggregation needs full duplex (§6.4.8), the member cannot aggregate"
                ),
                vec![format!("{m}: half duplex, {} Mbit/s", cx.speed(p))],
                vec![format!(
                    "fix autonegotiation on both ends (ethtool -s {m} duplex full autoneg on), or take it out: lagctl remove-aggr -l {m} {name}"
                )],
            );
        }
    }
    let mut mtus: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in &cx.input.status.lacp.ports {
        if let Some(mtu) = cx.input.links.get(&p.number).and_then(|l| l.mtu) {
            mtus.entry(mtu).or_default().push(cx.name_of(p.number));
        }
    }
    let agg_mtu = cx.input.aggregate_mtu;
    let differs_from_aggregate = agg_mtu.is_some_and(|a| mtus.keys().any(|m| *m != a));
    if mtus.len() > 1 || differs_from_aggregate {
        let mut evidence: Vec<String> = mtus
            .iter()
            .map(|(mtu, m)| format!("{}: MTU {mtu}", m.join(", ")))
            .collect();
        if let Some(a) = agg_mtu {
            evidence.push(format!("aggregate {name}: MTU {a}"));
        }
        let target = agg_mtu
            .or_else(|| mtus.keys().next_back().copied())
            .unwrap_or(1500);
        cx.push(
            Severity::Warning,
            FindingCode::MtuMismatch,
            None,
            "members have different MTUs: large frames hashed to a member with a smaller MTU \
             are dropped"
                .into(),
            evidence,
            vec![format!("lagctl modify-aggr --mtu {target} {name}")],
        );
    }
}

/// Per member: link down, standby, churn, expired, defaulted, not distributing.
fn check_members(cx: &mut Ctx<'_, '_>, partner_silent: bool) {
    let name = cx.input.name;
    let lacp_on = cx.input.config.lacp.mode != LacpMode::Off;
    let any_current = cx
        .input
        .status
        .lacp
        .ports
        .iter()
        .any(|p| p.receive == ReceiveState::Current);
    for p in &cx.input.status.lacp.ports {
        let m = cx.name_of(p.number);
        let state_line = format!(
            "{m}: selected {}, mux {}, receive {}, actor state {}, partner state {}",
            p.selected, p.mux, p.receive, p.actor.state, p.partner.state
        );
        if !p.link.up {
            cx.push(
                Severity::Warning,
                FindingCode::LinkDown,
                Some(m.clone()),
                format!("member {m} has no carrier: the aggregate runs without it"),
                vec![format!("{m}: link down")],
                vec![format!(
                    "check the cable and the switch port of {m} (ip link show {m}); or take it out: lagctl remove-aggr -l {m} {name}"
                )],
            );
            continue;
        }
        if p.actor_churn == ChurnState::Churn || p.partner_churn == ChurnState::Churn {
            let who = match (
                p.actor_churn == ChurnState::Churn,
                p.partner_churn == ChurnState::Churn,
            ) {
                (true, true) => "actor and partner",
                (true, false) => "actor",
                _ => "partner",
            };
            cx.push(
                Severity::Warning,
                FindingCode::Churn,
                Some(m.clone()),
                format!(
                    "{who} churn on {m}: the {who} could not get the link in sync for 60 s (§6.4.17)"
                ),
                vec![
                    state_line.clone(),
                    format!(
                        "actor churn {}, partner churn {}",
                        p.actor_churn, p.partner_churn
                    ),
                ],
                vec![
                    "check that the switch port is in the same channel group as the other members, with LACP on"
                        .into(),
                    format!("or take it out: lagctl remove-aggr -l {m} {name}"),
                ],
            );
        }
        if lacp_on && p.receive == ReceiveState::Expired {
            cx.push(
                Severity::Warning,
                FindingCode::Expired,
                Some(m.clone()),
                format!(
                    "the partner's LACPDUs stopped on {m} (EXPIRED): the link drops frames in one direction, or the partner stopped LACP"
                ),
                vec![
                    state_line.clone(),
                    format!(
                        "{} LACPDUs received, {} sent",
                        p.counters.lacpdus_rx, p.counters.lacpdus_tx
                    ),
                ],
                vec![format!(
                    "check the link {m} and the partner's LACP configuration; lagctl show-aggr -L {name}"
                )],
            );
        }
        if lacp_on && !partner_silent && p.receive == ReceiveState::Defaulted && any_current {
            cx.push(
                Severity::Warning,
                FindingCode::Defaulted,
                Some(m.clone()),
                format!(
                    "{m} hears no LACPDU while the other members do: its switch port is not in the channel group, or LACP is off there"
                ),
                vec![
                    state_line.clone(),
                    format!("{} LACPDUs received", p.counters.lacpdus_rx),
                ],
                vec![format!(
                    "add the switch port of {m} to the LACP channel group; or take it out: lagctl remove-aggr -l {m} {name}"
                )],
            );
        }
        if p.selected == Selected::Standby {
            cx.push(
                Severity::Info,
                FindingCode::Standby,
                Some(m.clone()),
                format!(
                    "{m} is Standby: max-active members are active, it takes over on a failure"
                ),
                vec![state_line.clone()],
                vec![format!(
                    "to use it now: lagctl modify-aggr --max-active 0 {name}"
                )],
            );
            continue;
        }
        let explained = partner_silent
            || !cx.full_duplex(p)
            || (lacp_on
                && matches!(p.receive, ReceiveState::Expired | ReceiveState::Defaulted)
                && !p.fallback);
        if (!p.collecting || !p.distributing) && !explained {
            let why = p
                .why_not_distributing
                .clone()
                .unwrap_or_else(|| "collecting but not distributing".into());
            let fix = if p.mux == MuxState::Attached && !p.partner.state.synchronization() {
                vec![format!(
                    "the partner has not put {m} in its aggregation: check its channel group and key; lagctl show-aggr -x {name}"
                )]
            } else if p.selected == Selected::Unselected {
                vec![format!(
                    "wait a few seconds; if it stays, compare partner system and key: lagctl show-aggr -x {name}"
                )]
            } else {
                vec![format!("lagctl show-aggr -x {name}")]
            };
            cx.push(
                Severity::Warning,
                FindingCode::NotDistributing,
                Some(m.clone()),
                format!(
                    "{m} is up but not {}: {why}",
                    match (p.collecting, p.distributing) {
                        (false, false) => "collecting nor distributing",
                        (true, false) => "distributing",
                        _ => "collecting",
                    }
                ),
                vec![state_line],
                fix,
            );
        }
    }
}

fn check_min_links(cx: &mut Ctx<'_, '_>) {
    let name = cx.input.name;
    let st = cx.input.status;
    let min = cx.input.config.lacp.min_links;
    let cd = st
        .lacp
        .ports
        .iter()
        .filter(|p| p.collecting && p.distributing)
        .count();
    if st.lacp.fallback_active && !st.lacp.ports.is_empty() {
        // Reported with the silent partner when that is the cause.
        if !cx.out.iter().any(|f| f.code == FindingCode::PartnerNoLacp) {
            cx.push(
                Severity::Warning,
                FindingCode::Fallback,
                None,
                "the aggregate forwards through fallback, without LACP".into(),
                vec![format!(
                    "fallback reason: {}",
                    st.lacp.fallback_reason.as_deref().unwrap_or("-")
                )],
                vec![format!(
                    "enable LACP on the partner; lagctl show-aggr -L {name}"
                )],
            );
        }
        return;
    }
    if cd < min {
        let total = st.lacp.ports.len();
        let fix = if total >= min {
            vec![
                "bring the other members up (see the findings above)".to_string(),
                format!("or lower the threshold: lagctl modify-aggr --min-links {cd} {name}")
                    .replace("--min-links 0", "--min-links 1"),
            ]
        } else {
            vec![
                format!("add members: lagctl add-aggr -l LINK {name}"),
                format!(
                    "or lower the threshold: lagctl modify-aggr --min-links {} {name}",
                    total.max(1)
                ),
            ]
        };
        cx.push(
            Severity::Error,
            FindingCode::MinLinks,
            None,
            format!(
                "min-links not met: {cd} of {total} members Collecting and Distributing, {min} needed: the aggregate is down"
            ),
            vec![format!(
                "{cd} distributing, min-links {min}, aggregate {}",
                if st.up { "up" } else { "down" }
            )],
            fix,
        );
    }
}

fn policy_name(p: HashPolicy) -> String {
    p.to_string()
}

/// Traffic spread: hash imbalance and single-flow saturation.
fn check_traffic(cx: &mut Ctx<'_, '_>) {
    let name = cx.input.name;
    let dcfg = &cx.input.config.distributor;
    let st = cx.input.status;
    let ports: Vec<&PortStatus> = st
        .lacp
        .ports
        .iter()
        .filter(|p| p.collecting && p.distributing)
        .collect();
    let bytes_of = |n: PortNumber| {
        st.distributor
            .ports
            .iter()
            .find(|s| s.port == n)
            .map_or(0, |s| s.bytes)
    };
    let total: u64 = ports.iter().map(|p| bytes_of(p.number)).sum();
    let buckets_total: u64 = st.distributor.bucket_bytes.iter().sum();
    let top_bucket = st
        .distributor
        .bucket_bytes
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let one_flow =
        buckets_total > 0 && top_bucket as f64 >= SINGLE_FLOW_SHARE * buckets_total as f64;

    if dcfg.mode == Mode::Hash && ports.len() >= 2 && total >= cx.input.min_bytes {
        let top = ports
            .iter()
            .map(|p| (p.number, bytes_of(p.number)))
            .max_by_key(|(_, b)| *b);
        if let Some((top_port, top_bytes)) = top {
            let share = top_bytes as f64 / total as f64;
            if share >= IMBALANCE_SHARE {
                let m = cx.name_of(top_port);
                let mut evidence: Vec<String> = ports
                    .iter()
                    .map(|p| {
                        let b = bytes_of(p.number);
                        format!(
                            "{}: {b} bytes sent ({:.1}%)",
                            cx.name_of(p.number),
                            100.0 * b as f64 / total as f64
                        )
                    })
                    .collect();
                evidence.push(format!("hash policy {}", policy_name(dcfg.policy)));
                let p = dcfg.policy;
                if p.l4 {
                    evidence.push(
                        "the policy already hashes L4 ports: the traffic is one or a few conversations"
                            .into(),
                    );
                    cx.push(
                        Severity::Warning,
                        FindingCode::HashImbalance,
                        Some(m.clone()),
                        format!(
                            "{:.0}% of the traffic leaves through {m}: a few large conversations dominate, and hashing keeps each conversation on one member",
                            share * 100.0
                        ),
                        evidence,
                        vec![
                            "run several flows in parallel (one TCP connection never exceeds one link)".into(),
                            format!(
                                "or spread frames of one flow with round-robin (frames get reordered): lagctl modify-aggr -m round-robin {name}"
                            ),
                        ],
                    );
                } else {
                    let why = if p.l3 {
                        "policy L3 hashes only IP addresses: traffic between two hosts is one conversation whatever the ports"
                    } else {
                        "policy L2 hashes only MAC addresses: traffic through one router (one destination MAC) is one conversation"
                    };
                    cx.push(
                        Severity::Warning,
                        FindingCode::HashImbalance,
                        Some(m.clone()),
                        format!(
                            "{:.0}% of the traffic leaves through {m}: {why}",
                            share * 100.0
                        ),
                        evidence,
                        vec![format!("lagctl modify-aggr -P L3,L4 {name}")],
                    );
                }
            }
        }
    }

    if dcfg.mode == Mode::RoundRobin || dcfg.mode == Mode::Broadcast {
        return;
    }
    // Saturation: measured rate, or the last rebalance interval's bytes.
    let interval = dcfg.rebalance_interval.filter(|d| *d > Duration::ZERO);
    for p in &ports {
        let speed = cx.speed(p);
        if speed == 0 {
            continue;
        }
        let measured = cx
            .input
            .links
            .get(&p.number)
            .and_then(|l| l.tx_bytes_per_sec);
        let rate = measured.or_else(|| {
            let d = interval?;
            let b = st
                .distributor
                .ports
                .iter()
                .find(|s| s.port == p.number)?
                .last_interval_bytes;
            Some((b as f64 / d.as_secs_f64()) as u64)
        });
        let Some(rate) = rate else { continue };
        let bits = rate as f64 * 8.0;
        let cap = f64::from(speed) * 1e6;
        if bits >= SATURATION * cap
            && (one_flow || ports.len() == 1 || dcfg.mode == Mode::ActiveBackup)
        {
            let m = cx.name_of(p.number);
            cx.push(
                Severity::Warning,
                FindingCode::SingleFlowSaturation,
                Some(m.clone()),
                format!(
                    "one conversation saturates {m} ({:.0} of {speed} Mbit/s): hashing never spreads one flow over several links",
                    bits / 1e6
                ),
                vec![
                    format!("{m}: {:.1}% utilised", 100.0 * bits / cap),
                    format!(
                        "busiest hash bucket: {:.0}% of the bytes",
                        if buckets_total > 0 {
                            100.0 * top_bucket as f64 / buckets_total as f64
                        } else {
                            100.0
                        }
                    ),
                ],
                vec![
                    "split the transfer into several flows (parallel streams)".into(),
                    format!(
                        "or round-robin, the only mode that takes one flow beyond one link, at the cost of reordering: lagctl modify-aggr -m round-robin {name}"
                    ),
                    "or faster member links".into(),
                ],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregation;
    use lagd_distrib::DistributorConfig;
    use lagd_lacp::{FallbackConfig, FallbackKind, LinkStatus, PortConfig, SystemConfig};
    use lagd_types::{Instant, MacAddr};
    use std::collections::VecDeque;

    const PORTS: u16 = 2;
    const DELAY: Duration = Duration::from_millis(1);

    /// Two aggregations cabled port to port (port `p` of side 0 to port `p` of side 1), or
    /// port `p` of side 0 to side `peer[p]` (for the two-switch case), run in virtual time.
    struct Net {
        now: Instant,
        sides: Vec<Aggregation<Vec<u8>>>,
        /// (side, port) → (side, port).
        cable: BTreeMap<(usize, PortNumber), (usize, PortNumber)>,
        wire: VecDeque<(Instant, usize, PortNumber, Vec<u8>)>,
    }

    fn config(i: u8, mode: LacpMode) -> AggregationConfig {
        let mut lacp = SystemConfig::new(MacAddr([2, 0, 0, 0, i, 0]));
        lacp.mode = mode;
        AggregationConfig {
            lacp,
            distributor: DistributorConfig {
                rebalance_interval: None,
                ..DistributorConfig::default()
            },
        }
    }

    impl Net {
        fn new(configs: Vec<AggregationConfig>, ports: u16) -> Net {
            let sides = configs
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut agg = Aggregation::new(c);
                    for p in 1..=ports {
                        agg.add_port(
                            Instant::ZERO,
                            PortConfig::new(p, MacAddr([2, 0, 0, 0, i as u8 + 1, p as u8])),
                        )
                        .unwrap();
                        agg.handle_link(Instant::ZERO, p, LinkStatus::up(10_000));
                    }
                    agg
                })
                .collect();
            Net {
                now: Instant::ZERO,
                sides,
                cable: BTreeMap::new(),
                wire: VecDeque::new(),
            }
        }
        fn connect(&mut self, a: (usize, PortNumber), b: (usize, PortNumber)) {
            self.cable.insert(a, b);
            self.cable.insert(b, a);
        }
        fn drain(&mut self, s: usize) {
            while let Some(t) = self.sides[s].poll_transmit(self.now) {
                if let Some(&(to, port)) = self.cable.get(&(s, t.port)) {
                    self.wire.push_back((self.now + DELAY, to, port, t.frame));
                }
            }
            while self.sides[s].poll_release().is_some() {}
            while self.sides[s].poll_event().is_some() {}
        }
        fn run_for(&mut self, d: Duration) {
            let end = self.now + d;
            loop {
                for s in 0..self.sides.len() {
                    self.drain(s);
                }
                let next_frame = self.wire.front().map(|w| w.0);
                let next_timer = self.sides.iter().filter_map(|a| a.poll_timeout()).min();
                let next = [next_frame, next_timer].into_iter().flatten().min();
                match next {
                    Some(t) if t <= end => {
                        self.now = self.now.max(t);
                        while self.wire.front().is_some_and(|w| w.0 <= self.now) {
                            if let Some((_, to, port, f)) = self.wire.pop_front() {
                                self.sides[to].handle_port_frame(self.now, port, &f);
                            }
                        }
                        for a in &mut self.sides {
                            if a.poll_timeout().is_some_and(|t| t <= self.now) {
                                a.handle_timeout(self.now);
                            }
                        }
                    }
                    _ => {
                        self.now = end;
                        return;
                    }
                }
            }
        }
    }

    fn pair(a: LacpMode, b: LacpMode) -> Net {
        let mut n = Net::new(vec![config(1, a), config(2, b)], PORTS);
        for p in 1..=PORTS {
            n.connect((0, p), (1, p));
        }
        n
    }

    fn names() -> BTreeMap<PortNumber, String> {
        (1..=4).map(|p| (p, format!("eth{p}"))).collect()
    }

    fn run(cfg: &AggregationConfig, st: &AggregationStatus) -> Diagnosis {
        let mut input = DiagnoseInput::new("aggr1", cfg, st);
        input.port_names = names();
        diagnose(&input)
    }

    fn codes(d: &Diagnosis) -> Vec<FindingCode> {
        d.findings.iter().map(|f| f.code).collect()
    }

    /// A UDP frame of flow `flow` (source port), `len` bytes, to destination MAC `dst`.
    fn frame(flow: u16, dst: u8, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len.max(64)];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0x99, dst]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 1, 0]);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        let ip_len = (len.max(64) - 14) as u16;
        f[16..18].copy_from_slice(&ip_len.to_be_bytes());
        f[23] = 17;
        f[26..30].copy_from_slice(&[198, 18, 0, 1]);
        f[30..34].copy_from_slice(&[198, 18, (flow >> 8) as u8, flow as u8]);
        f[34..36].copy_from_slice(&(10_000 + flow).to_be_bytes());
        f[36..38].copy_from_slice(&9u16.to_be_bytes());
        f
    }

    #[test]
    fn healthy_aggregation_is_reported_healthy() {
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        n.run_for(Duration::from_secs(10));
        let st = n.sides[0].status();
        assert!(st.up);
        let d = run(n.sides[0].config(), &st);
        assert!(d.healthy, "{d:#?}");
        assert!(d.findings.is_empty(), "{d:#?}");
    }

    #[test]
    fn static_switch_partner_runs_no_lacp() {
        // The partner is a static trunk: it sends no LACPDU (seed 004's storage outage).
        let mut n = pair(LacpMode::Active, LacpMode::Off);
        n.run_for(Duration::from_secs(10));
        let cfg = n.sides[0].config().clone();
        let st = n.sides[0].status();
        let d = run(&cfg, &st);
        assert!(!d.healthy);
        let f = &d.findings[0];
        assert_eq!(f.code, FindingCode::PartnerNoLacp, "{d:#?}");
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.fix
                .iter()
                .any(|x| x == "or run a static trunk: lagctl modify-aggr -L off aggr1")
        );
        assert!(
            f.fix
                .iter()
                .any(|x| x.contains("--fallback one-member aggr1"))
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("eth1: receive DEFAULTED, 0 LACPDUs received"))
        );
        // The consequences are not reported as separate causes.
        assert!(!codes(&d).contains(&FindingCode::NotDistributing), "{d:#?}");
        assert!(codes(&d).contains(&FindingCode::MinLinks));

        // With fallback the aggregate forwards: a warning, not an error.
        let mut cfg = config(1, LacpMode::Active);
        cfg.lacp.fallback = Some(FallbackConfig {
            timeout: Duration::from_secs(3),
            kind: FallbackKind::OneMember,
        });
        let mut n = Net::new(vec![cfg, config(2, LacpMode::Off)], PORTS);
        for p in 1..=PORTS {
            n.connect((0, p), (1, p));
        }
        n.run_for(Duration::from_secs(10));
        let st = n.sides[0].status();
        assert!(st.lacp.fallback_active);
        let d = run(n.sides[0].config(), &st);
        assert_eq!(d.findings[0].code, FindingCode::PartnerNoLacp, "{d:#?}");
        assert_eq!(d.findings[0].severity, Severity::Warning);
        assert!(!codes(&d).contains(&FindingCode::MinLinks), "{d:#?}");
    }

    #[test]
    fn both_sides_passive() {
        let mut n = pair(LacpMode::Passive, LacpMode::Passive);
        n.run_for(Duration::from_secs(10));
        let d = run(n.sides[0].config(), &n.sides[0].status());
        assert_eq!(d.findings[0].code, FindingCode::BothPassive, "{d:#?}");
        assert!(d.findings[0].fix[0].contains("modify-aggr -L active aggr1"));
    }

    #[test]
    fn members_on_two_switches_reach_different_partners() {
        // Side 0's port 1 goes to switch A, port 2 to switch B (not a DT pair).
        let mut n = Net::new(
            vec![
                config(1, LacpMode::Active),
                config(2, LacpMode::Active),
                config(3, LacpMode::Active),
            ],
            PORTS,
        );
        n.connect((0, 1), (1, 1));
        n.connect((0, 2), (2, 1));
        n.run_for(Duration::from_secs(10));
        let d = run(n.sides[0].config(), &n.sides[0].status());
        let f = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::DifferentPartners)
            .unwrap_or_else(|| panic!("{d:#?}"));
        assert!(f.problem.contains("different partner systems"));
        assert_eq!(f.evidence.len(), 2, "{f:#?}");
        assert!(f.fix[1].contains("lagctl remove-aggr -l eth"));
    }

    #[test]
    fn speed_duplex_and_mtu_mismatch() {
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        n.run_for(Duration::from_secs(10));
        let cfg = n.sides[0].config().clone();
        let st = n.sides[0].status();
        let mut input = DiagnoseInput::new("aggr1", &cfg, &st);
        input.port_names = names();
        input.aggregate_mtu = Some(9000);
        input.links.insert(
            1,
            LinkFacts {
                speed_mbps: Some(1000),
                mtu: Some(9000),
                ..LinkFacts::default()
            },
        );
        input.links.insert(
            2,
            LinkFacts {
                speed_mbps: Some(100),
                full_duplex: Some(false),
                mtu: Some(1500),
                ..LinkFacts::default()
            },
        );
        let d = diagnose(&input);
        let c = codes(&d);
        assert!(c.contains(&FindingCode::SpeedMismatch), "{d:#?}");
        assert!(c.contains(&FindingCode::DuplexMismatch), "{d:#?}");
        assert!(c.contains(&FindingCode::MtuMismatch), "{d:#?}");
        let mtu = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::MtuMismatch)
            .unwrap();
        assert_eq!(
            mtu.fix,
            vec!["lagctl modify-aggr --mtu 9000 aggr1".to_string()]
        );
        let dup = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::DuplexMismatch)
            .unwrap();
        assert_eq!(dup.member.as_deref(), Some("eth2"));
        assert_eq!(d.findings[0].severity, Severity::Error);
    }

    #[test]
    fn member_in_another_channel_group_on_the_partner() {
        // The partner puts its port 2 in another key (another channel group).
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        let mut pc = PortConfig::new(2, MacAddr([2, 0, 0, 0, 2, 2]));
        pc.key = Some(7);
        n.sides[1].set_port_config(Instant::ZERO, pc).unwrap();
        n.run_for(Duration::from_secs(10));
        let d = run(n.sides[0].config(), &n.sides[0].status());
        assert!(!d.healthy, "{d:#?}");
        let f = &d.findings[0];
        assert_eq!(f.code, FindingCode::DifferentPartners, "{d:#?}");
        assert!(f.problem.contains("different keys"), "{f:#?}");
        assert!(
            f.fix[1].ends_with("lagctl remove-aggr -l eth2 aggr1"),
            "{f:#?}"
        );
        let nd = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::NotDistributing)
            .unwrap_or_else(|| panic!("{d:#?}"));
        assert_eq!(nd.member.as_deref(), Some("eth2"));
        assert!(nd.problem.contains("is not the active one"), "{nd:#?}");
    }

    #[test]
    fn member_attached_but_not_collecting_says_why() {
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        n.run_for(Duration::from_secs(5));
        let mut st = n.sides[0].status();
        let p = &mut st.lacp.ports[1];
        p.mux = MuxState::Attached;
        p.collecting = false;
        p.distributing = false;
        p.partner.state = p
            .partner
            .state
            .with(lagd_types::PortState::SYNCHRONIZATION, false);
        p.why_not_distributing = Some("partner not in sync".into());
        let d = run(n.sides[0].config(), &st);
        assert_eq!(codes(&d), vec![FindingCode::NotDistributing], "{d:#?}");
        let f = &d.findings[0];
        assert_eq!(
            f.problem,
            "eth2 is up but not collecting nor distributing: partner not in sync"
        );
        assert!(f.evidence[0].contains("mux ATTACHED"), "{f:#?}");
        assert!(f.fix[0].contains("the partner has not put eth2 in its aggregation"));
    }

    #[test]
    fn link_down_and_min_links() {
        let mut cfg0 = config(1, LacpMode::Active);
        cfg0.lacp.min_links = 2;
        let mut n = Net::new(vec![cfg0, config(2, LacpMode::Active)], PORTS);
        for p in 1..=PORTS {
            n.connect((0, p), (1, p));
        }
        n.run_for(Duration::from_secs(5));
        let now = n.now;
        n.sides[0].handle_link(now, 2, LinkStatus::DOWN);
        n.sides[1].handle_link(now, 2, LinkStatus::DOWN);
        n.run_for(Duration::from_secs(5));
        let d = run(n.sides[0].config(), &n.sides[0].status());
        let c = codes(&d);
        assert!(c.contains(&FindingCode::LinkDown), "{d:#?}");
        assert!(c.contains(&FindingCode::MinLinks), "{d:#?}");
        let ml = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::MinLinks)
            .unwrap();
        assert!(ml.problem.contains("1 of 2 members"), "{ml:#?}");
        assert!(ml.fix[1].contains("--min-links 1 aggr1"));
    }

    #[test]
    fn expired_member_when_partner_goes_silent_on_one_link() {
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        n.run_for(Duration::from_secs(5));
        // Frames from side 1 port 2 stop reaching side 0 (a unidirectional fault).
        n.cable.remove(&(1, 2));
        n.run_for(Duration::from_millis(3500));
        let st = n.sides[0].status();
        let d = run(n.sides[0].config(), &st);
        let c = codes(&d);
        assert_eq!(c, vec![FindingCode::Expired], "{d:#?}");
        n.run_for(Duration::from_secs(10));
        let d = run(n.sides[0].config(), &n.sides[0].status());
        assert!(codes(&d).contains(&FindingCode::Defaulted), "{d:#?}");
    }

    #[test]
    fn churn_is_reported() {
        // Constructed: churn on a member that is otherwise distributing.
        let mut n = pair(LacpMode::Active, LacpMode::Active);
        n.run_for(Duration::from_secs(5));
        let mut st = n.sides[0].status();
        st.lacp.ports[0].partner_churn = ChurnState::Churn;
        let d = run(n.sides[0].config(), &st);
        let f = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::Churn)
            .unwrap();
        assert_eq!(f.member.as_deref(), Some("eth1"));
        assert!(f.problem.starts_with("partner churn on eth1"));
    }

    fn traffic(
        policy: HashPolicy,
        flows: u16,
        dst_macs: u8,
    ) -> (AggregationConfig, AggregationStatus) {
        let mut c0 = config(1, LacpMode::Active);
        c0.distributor.policy = policy;
        let mut n = Net::new(vec![c0, config(2, LacpMode::Active)], 4);
        for p in 1..=4 {
            n.connect((0, p), (1, p));
        }
        n.run_for(Duration::from_secs(5));
        let now = n.now;
        for i in 0..4000u32 {
            let flow = (i % u32::from(flows)) as u16;
            let dst = (i % u32::from(dst_macs)) as u8;
            let f = frame(flow, dst, 1000);
            let _ = n.sides[0].handle_host_frame(now, &f.clone(), f);
        }
        (n.sides[0].config().clone(), n.sides[0].status())
    }

    #[test]
    fn l2_policy_towards_one_router_is_unbalanced_and_l3l4_is_named() {
        // Seed 002 figure 8: many clients behind one router MAC, hashed on L2 only.
        let (cfg, st) = traffic(HashPolicy::L2, 200, 1);
        let d = run(&cfg, &st);
        let f = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::HashImbalance)
            .unwrap_or_else(|| panic!("{d:#?}"));
        assert!(
            f.problem.contains("policy L2 hashes only MAC addresses"),
            "{f:#?}"
        );
        assert_eq!(f.fix, vec!["lagctl modify-aggr -P L3,L4 aggr1".to_string()]);
        // The same traffic under L3,L4 spreads: no finding.
        let (cfg, st) = traffic(HashPolicy::L3_L4, 200, 1);
        let d = run(&cfg, &st);
        assert!(d.healthy, "{d:#?}");
    }

    #[test]
    fn single_flow_saturating_one_member() {
        let (cfg, st) = traffic(HashPolicy::L3_L4, 1, 1);
        let mut input = DiagnoseInput::new("aggr1", &cfg, &st);
        input.port_names = names();
        let busy = st
            .distributor
            .ports
            .iter()
            .max_by_key(|p| p.bytes)
            .map(|p| p.port)
            .unwrap();
        input.links.insert(
            busy,
            LinkFacts {
                tx_bytes_per_sec: Some(1_240_000_000),
                ..LinkFacts::default()
            },
        );
        let d = diagnose(&input);
        let c = codes(&d);
        assert!(c.contains(&FindingCode::HashImbalance), "{d:#?}");
        let f = d
            .findings
            .iter()
            .find(|f| f.code == FindingCode::SingleFlowSaturation)
            .unwrap_or_else(|| panic!("{d:#?}"));
        assert!(f.fix.iter().any(|x| x.contains("-m round-robin aggr1")));
        assert!(f.evidence[0].contains("99.2% utilised"), "{f:#?}");
    }
}
