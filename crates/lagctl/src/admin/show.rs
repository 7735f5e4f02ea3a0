//! The views of `show-aggr` (plain, `-L`, `-x`, `-s`) and `show-link` (plain, `-s`), built from
//! lagd's `ShowAggr` / `ShowLink` answers, in the forms of Solaris `dladm`.

use lagd::config::{AggrMode, LacpActivity, LacpTimerSpec};
use lagd::control::proto::{AggrStatus, LinkStats, MemberStatus};
use lagd_types::{MacAddr, PortState};
use serde_json::{Map, Value};

use super::table::{Cell, Section, View};

/// A MAC address in the Solaris short form (`0:14:4f:20:dc:1`), as dladm prints it.
pub fn short_mac(m: MacAddr) -> String {
    m.0.iter()
        .map(|o| format!("{o:x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The protocol status of member `port` (from `AggrStatus::protocol`).
fn proto_port(a: &AggrStatus, port: u16) -> Option<&Value> {
    a.protocol
        .get("lacp")?
        .get("ports")?
        .as_array()?
        .iter()
        .find(|p| p.get("number").and_then(Value::as_u64) == Some(u64::from(port)))
}

fn proto_str(a: &AggrStatus, port: u16, key: &str) -> Option<String> {
    let v = proto_port(a, port)?.get(key)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The member's own MAC address.
pub fn member_mac(a: &AggrStatus, m: &MemberStatus) -> Option<MacAddr> {
    proto_str(a, m.port, "mac").and_then(|s| s.parse().ok())
}

/// The key in force (`key` setting, default 1).
fn key_of(a: &AggrStatus) -> u16 {
    a.spec.key.unwrap_or(lagd::config::DEFAULT_KEY)
}

/// The running LACP activity.
pub fn lacp_mode(a: &AggrStatus) -> &'static str {
    let mode = a.spec.mode.unwrap_or_default();
    match (mode, a.spec.lacp) {
        (_, Some(LacpActivity::Active)) | (AggrMode::Lacp, None) => "active",
        (_, Some(LacpActivity::Passive)) => "passive",
        _ => "off",
    }
}

fn lacp_timer(a: &AggrStatus) -> &'static str {
    match a.spec.timer {
        Some(LacpTimerSpec::Long) => "long",
        _ => "short",
    }
}

/// The distribution mode's name.
pub fn mode_name(a: &AggrStatus) -> &'static str {
    match a.spec.mode.unwrap_or_default() {
        AggrMode::Lacp => "lacp",
        AggrMode::Static => "static",
        AggrMode::ActiveBackup => "active-backup",
        AggrMode::RoundRobin => "round-robin",
        AggrMode::Broadcast => "broadcast",
    }
}

fn policy(a: &AggrStatus) -> String {
    lagd::config::parse_policy(a.spec.policy.as_deref().unwrap_or("L3,L4"))
        .unwrap_or_else(|_| a.spec.policy.clone().unwrap_or_default())
}

/// The header line of an aggregation (dladm: `key: 1 (0x0001) policy: L4 address: ... (auto)`).
fn header(a: &AggrStatus) -> String {
    let key = key_of(a);
    let mut h = format!(
        "{}: key: {key} (0x{key:04x}) policy: {} address: {} ({})",
        a.name,
        policy(a),
        short_mac(a.mac),
        if a.spec.mac.is_some() {
            "fixed"
        } else {
            "auto"
        }
    );
    if a.spec.mode.unwrap_or_default() != AggrMode::Lacp {
        h.push_str(&format!(" mode: {}", mode_name(a)));
    }
    if a.temporary {
        h.push_str(" (temporary changes)");
    }
    h
}

fn info(a: &AggrStatus) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(a.name.clone()));
    m.insert("key".into(), Value::from(key_of(a)));
    m.insert("policy".into(), Value::from(policy(a)));
    m.insert("address".into(), Value::from(a.mac.to_string()));
    m.insert(
        "address_type".into(),
        Value::from(if a.spec.mac.is_some() {
            "fixed"
        } else {
            "auto"
        }),
    );
    m.insert("mode".into(), Value::from(mode_name(a)));
    m.insert("lacp_mode".into(), Value::from(lacp_mode(a)));
    m.insert("lacp_timer".into(), Value::from(lacp_timer(a)));
    m.insert("mtu".into(), Value::from(a.mtu));
    m.insert("up".into(), Value::Bool(a.up));
    m.insert("temporary".into(), Value::Bool(a.temporary));
    m
}

/// dladm's member state: `attached` when it carries traffic, `standby` otherwise.
pub fn member_state(m: &MemberStatus) -> &'static str {
    if m.collecting && m.distributing {
        "attached"
    } else {
        "standby"
    }
}

/// `show-aggr`: device address speed duplex link state.
pub fn aggr_plain(aggrs: &[AggrStatus]) -> View {
    let sections = aggrs
        .iter()
        .map(|a| Section {
            title: vec![header(a)],
            info: info(a),
            total: None,
            rows: a
                .members
                .iter()
                .map(|m| {
                    vec![
                        Cell::text(&m.name),
                        Cell::with(
                            member_mac(a, m).map_or("--".into(), short_mac),
                            member_mac(a, m).map_or(Value::Null, |x| Value::from(x.to_string())),
                        ),
                        Cell::with(format!("{} Mbps", m.speed_mbps), Value::from(m.speed_mbps)),
                        Cell::text(if m.full_duplex { "full" } else { "half" }),
                        Cell::text(if m.link_up { "up" } else { "down" }),
                        Cell::text(member_state(m)),
                    ]
                })
                .collect(),
        })
        .collect();
    View {
        columns: vec!["device", "address", "speed", "duplex", "link", "state"],
        rows_key: "members",
        sections,
    }
}

/// `show-aggr -L`: the actor's LACP flags per member.
pub fn aggr_lacp(aggrs: &[AggrStatus]) -> View {
    let sections = aggrs
        .iter()
        .map(|a| {
            let lacp_on = lacp_mode(a) != "off";
            Section {
                title: vec![
                    header(a),
                    format!("LACP mode: {} LACP timer: {}", lacp_mode(a), lacp_timer(a)),
                ],
                info: info(a),
                total: None,
                rows: a
                    .members
                    .iter()
                    .map(|m| {
                        let s = m.actor.state;
                        vec![
                            Cell::text(&m.name),
                            Cell::text(if s.activity() && lacp_on {
                                "active"
                            } else {
                                "passive"
                            }),
                            Cell::text(if s.short_timeout() { "short" } else { "long" }),
                            Cell::yes_no(s.aggregation()),
                            Cell::yes_no(s.synchronization()),
                            Cell::yes_no(s.collecting()),
                            Cell::yes_no(s.distributing()),
                            Cell::yes_no(s.defaulted()),
                            Cell::yes_no(s.expired()),
                        ]
                    })
                    .collect(),
            }
        })
        .collect();
    View {
        columns: vec![
            "device",
            "activity",
            "timeout",
            "aggregatable",
            "sync",
            "coll",
            "dist",
            "defaulted",
            "expired",
        ],
        rows_key: "members",
        sections,
    }
}

/// The eight state flags as letters, `-` when clear: A(ctivity) T(short timeout)
/// G(aggregation) S(ynchronization) C(ollecting) D(istributing) F (defaulted) E(xpired).
pub fn state_letters(s: PortState) -> String {
    [
        (s.activity(), 'A'),
        (s.short_timeout(), 'T'),
        (s.aggregation(), 'G'),
        (s.synchronization(), 'S'),
        (s.collecting(), 'C'),
        (s.distributing(), 'D'),
        (s.defaulted(), 'F'),
        (s.expired(), 'E'),
    ]
    .iter()
    .map(|(on, c)| if *on { *c } else { '-' })
    .collect()
}

fn state_cell(s: PortState) -> Cell {
    Cell::with(
        state_letters(s),
        Value::Array(s.names().map(Value::from).collect()),
    )
}

/// The micro-BFD line of `show-aggr -x`, when BFD is on.
fn bfd_title(a: &AggrStatus) -> Option<String> {
    let b = a.spec.bfd.as_ref().filter(|b| b.enabled != Some(false))?;
    let up = a
        .members
        .iter()
        .filter(|m| m.bfd.as_ref().is_some_and(|b| b.state == "Up"))
        .count();
    Some(format!(
        "BFD (RFC 7130 micro-BFD): interval {} multiplier {}; {up}/{} sessions Up",
        b.interval.as_deref().unwrap_or("50ms"),
        b.multiplier.unwrap_or(3),
        a.members.len()
    ))
}

/// A member's BFD session: "local/remote" state in text, the whole session in JSON.
fn bfd_cell(m: &MemberStatus) -> Cell {
    match &m.bfd {
        None => Cell::with("-", Value::Null),
        Some(b) => Cell::with(
            format!("{}/{}", b.state, b.remote_state),
            serde_json::to_value(b).unwrap_or(Value::Null),
        ),
    }
}

/// `show-aggr -x`: every member's protocol detail (BFD columns when a member runs BFD).
pub fn aggr_extended(aggrs: &[AggrStatus]) -> View {
    let with_bfd = aggrs
        .iter()
        .any(|a| a.members.iter().any(|m| m.bfd.is_some()));
    let sections = aggrs
        .iter()
        .map(|a| Section {
            title: [
                header(a),
                format!(
                    "LACP mode: {} LACP timer: {} state: {}{}",
                    lacp_mode(a),
                    lacp_timer(a),
                    if a.up { "up" } else { "down" },
                    match (&a.fallback_active, &a.fallback_reason) {
                        (true, Some(r)) => format!(" (fallback: {r})"),
                        (true, None) => " (fallback)".into(),
                        _ => String::new(),
                    }
                ),
            ]
            .into_iter()
            .chain(a.offload.as_ref().map(|o| {
                format!(
                    "kernel fast path: {}/{} buckets, {} frames ({} bytes) sent by it",
                    o.fast_buckets, o.buckets, o.frames, o.bytes
                )
            }))
            .chain(bfd_title(a))
            .collect(),
            info: info(a),
            total: None,
            rows: a
                .members
                .iter()
                .map(|m| {
                    let agg = proto_str(a, m.port, "aggregator");
                    let churn = format!(
                        "{}/{}",
                        proto_str(a, m.port, "actor_churn").unwrap_or_else(|| "-".into()),
                        proto_str(a, m.port, "partner_churn").unwrap_or_else(|| "-".into())
                    );
                    let mut row = vec![
                        Cell::text(&m.name),
                        Cell::num(u64::from(m.port)),
                        Cell::num(u64::from(m.actor.port.priority)),
                        Cell::with(
                            m.actor.system.to_string(),
                            Value::from(m.actor.system.to_string()),
                        ),
                        Cell::num(u64::from(m.actor.key)),
                        Cell::num(u64::from(m.actor.port.number)),
                        state_cell(m.actor.state),
                        Cell::text(m.partner.system.to_string()),
                        Cell::num(u64::from(m.partner.key)),
                        Cell::num(u64::from(m.partner.port.number)),
                        state_cell(m.partner.state),
                        Cell::text(&m.mux),
                        Cell::text(&m.receive),
                        Cell::text(&m.selected),
                        Cell::with(
                            agg.clone().unwrap_or_else(|| "-".into()),
                            agg.and_then(|s| s.parse::<u64>().ok())
                                .map_or(Value::Null, Value::from),
                        ),
                        Cell::text(churn),
                    ];
                    if with_bfd {
                        row.extend([
                            bfd_cell(m),
                            Cell::text(
                                m.bfd
                                    .as_ref()
                                    .and_then(|b| b.detection_time.clone())
                                    .unwrap_or_else(|| "-".into()),
                            ),
                            Cell::text(m.bfd.as_ref().map_or("-", |b| b.diag.as_str())),
                        ]);
                    }
                    row
                })
                .collect(),
        })
        .collect();
    View {
        columns: vec![
            "device",
            "port",
            "priority",
            "actor-system",
            "actor-key",
            "actor-port",
            "actor-state",
            "partner-system",
            "partner-key",
            "partner-port",
            "partner-state",
            "mux",
            "receive",
            "selected",
            "aggregator",
            "churn",
        ]
        .into_iter()
        .chain(
            with_bfd
                .then_some(["bfd", "bfd-detect", "bfd-diag"])
                .into_iter()
                .flatten(),
        )
        .collect(),
        rows_key: "members",
        sections,
    }
}

/// Counters (absolute, or a difference between two samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received.
    pub ipackets: u64,
    /// Bytes received.
    pub rbytes: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Frames sent.
    pub opackets: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Send errors.
    pub oerrors: u64,
}

impl Counters {
    /// The counters of a link.
    pub fn of(l: &LinkStats) -> Counters {
        Counters {
            ipackets: l.ipackets,
            rbytes: l.rbytes,
            ierrors: l.ierrors,
            opackets: l.opackets,
            obytes: l.obytes,
            oerrors: l.oerrors,
        }
    }
    /// `self - earlier`, saturating (a counter that went back, e.g. a re-added member, counts 0).
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            ipackets: self.ipackets.saturating_sub(earlier.ipackets),
            rbytes: self.rbytes.saturating_sub(earlier.rbytes),
            ierrors: self.ierrors.saturating_sub(earlier.ierrors),
            opackets: self.opackets.saturating_sub(earlier.opackets),
            obytes: self.obytes.saturating_sub(earlier.obytes),
            oerrors: self.oerrors.saturating_sub(earlier.oerrors),
        }
    }
    fn add(&mut self, o: &Counters) {
        self.ipackets += o.ipackets;
        self.rbytes += o.rbytes;
        self.ierrors += o.ierrors;
        self.opackets += o.opackets;
        self.obytes += o.obytes;
        self.oerrors += o.oerrors;
    }
}

/// `part` as a percentage of `whole`, one decimal (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (1000.0 * part as f64 / whole as f64).round() / 10.0
    }
}

fn pct_cell(p: f64) -> Cell {
    Cell::with(format!("{p:.1}"), Value::from(p))
}

/// The counters of each link, from `ShowLink`, minus `base` when given (for `-i`).
pub fn counters_of(links: &[LinkStats], base: Option<&[LinkStats]>) -> Vec<(LinkStats, Counters)> {
    links
        .iter()
        .map(|l| {
            let now = Counters::of(l);
            let c = match base.and_then(|b| {
                b.iter()
                    .find(|x| x.name == l.name && x.aggregate == l.aggregate)
            }) {
                Some(prev) => now.since(&Counters::of(prev)),
                None => now,
            };
            (l.clone(), c)
        })
        .collect()
}

/// `show-aggr -s`: ipackets rbytes opackets obytes %ipkts %opkts per member, and a Total row.
pub fn aggr_stats(aggrs: &[AggrStatus], counters: &[(LinkStats, Counters)]) -> View {
    let sections = aggrs
        .iter()
        .map(|a| {
            let members: Vec<(&str, Counters)> = a
                .members
                .iter()
                .map(|m| {
                    let c = counters
                        .iter()
                        .find(|(l, _)| {
                            l.kind == "member" && l.aggregate == a.name && l.name == m.name
                        })
                        .map(|(_, c)| *c)
                        .unwrap_or_default();
                    (m.name.as_str(), c)
                })
                .collect();
            let mut total = Counters::default();
            for (_, c) in &members {
                total.add(c);
            }
            let row = |name: &str, c: &Counters, pct: bool| {
                vec![
                    Cell::text(name),
                    Cell::num(c.ipackets),
                    Cell::num(c.rbytes),
                    Cell::num(c.opackets),
                    Cell::num(c.obytes),
                    if pct {
                        pct_cell(percent(c.ipackets, total.ipackets))
                    } else {
                        Cell::with("", Value::Null)
                    },
                    if pct {
                        pct_cell(percent(c.opackets, total.opackets))
                    } else {
                        Cell::with("", Value::Null)
                    },
                ]
            };
            let key = key_of(a);
            Section {
                title: vec![format!("{}: key: {key} (0x{key:04x})", a.name)],
                info: {
                    let mut m = Map::new();
                    m.insert("name".into(), Value::from(a.name.clone()));
                    m.insert("key".into(), Value::from(key));
                    m
                },
                total: Some(row("Total", &total, false)),
                rows: members.iter().map(|(n, c)| row(n, c, true)).collect(),
            }
        })
        .collect();
    View {
        columns: vec![
            "device", "ipackets", "rbytes", "opackets", "obytes", "%ipkts", "%opkts",
        ],
        rows_key: "members",
        sections,
    }
}

/// `show-link -s`: every member, then its aggregate.
pub fn link_stats(counters: &[(LinkStats, Counters)]) -> View {
    let mut ordered: Vec<&(LinkStats, Counters)> = counters
        .iter()
        .filter(|(l, _)| l.kind == "member")
        .collect();
    ordered.extend(counters.iter().filter(|(l, _)| l.kind != "member"));
    let rows = ordered
        .iter()
        .map(|(l, c)| {
            vec![
                Cell::text(&l.name),
                Cell::num(c.ipackets),
                Cell::num(c.rbytes),
                Cell::num(c.ierrors),
                Cell::num(c.opackets),
                Cell::num(c.obytes),
                Cell::num(c.oerrors),
                Cell::text(&l.kind),
                Cell::text(&l.aggregate),
            ]
        })
        .collect();
    View {
        columns: vec![
            "link",
            "ipackets",
            "rbytes",
            "ierrors",
            "opackets",
            "obytes",
            "oerrors",
            "class",
            "aggregate",
        ],
        rows_key: "links",
        sections: vec![Section {
            rows,
            ..Section::default()
        }],
    }
}

/// `show-link`: link class mtu state over.
pub fn link_plain(aggrs: &[AggrStatus]) -> View {
    let mut rows = Vec::new();
    for a in aggrs {
        for m in &a.members {
            rows.push(vec![
                Cell::text(&m.name),
                Cell::text("member"),
                Cell::num(u64::from(a.mtu)),
                Cell::text(if m.link_up { "up" } else { "down" }),
                Cell::text(&a.name),
            ]);
        }
        rows.push(vec![
            Cell::text(&a.name),
            Cell::text("aggr"),
            Cell::num(u64::from(a.mtu)),
            Cell::text(if a.up { "up" } else { "down" }),
            Cell::with(
                a.members
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                Value::Array(
                    a.members
                        .iter()
                        .map(|m| Value::from(m.name.clone()))
                        .collect(),
                ),
            ),
        ]);
    }
    View {
        columns: vec!["link", "class", "mtu", "state", "over"],
        rows_key: "links",
        sections: vec![Section {
            rows,
            ..Section::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_mac_is_solaris_form() {
        assert_eq!(
            short_mac(MacAddr([0, 0x14, 0x4f, 0x20, 0xdc, 1])),
            "0:14:4f:20:dc:1"
        );
    }

    #[test]
    fn state_letters_show_each_flag() {
        assert_eq!(state_letters(PortState(0x3d)), "A-GSCD--");
        assert_eq!(state_letters(PortState(0xff)), "ATGSCDFE");
        assert_eq!(state_letters(PortState(0)), "--------");
    }

    #[test]
    fn percent_rounds_to_one_decimal() {
        assert_eq!(percent(880_647, 2_357_125), 37.4);
        assert_eq!(percent(1, 0), 0.0);
    }

    #[test]
    fn counters_since_saturate() {
        let a = Counters {
            ipackets: 5,
            ..Counters::default()
        };
        let b = Counters {
            ipackets: 7,
            ..Counters::default()
        };
        assert_eq!(a.since(&b).ipackets, 0);
        assert_eq!(b.since(&a).ipackets, 2);
    }
}
