//! The views of `show-aggr` (plain, `-L`, `-x`, `-s`) and `show-link` (plain, `-s`), built from
//! lagd's `ShowAggr` / `ShowLink` answers, in the forms of Solaris `dladm`.

use lagd_control::proto::{AggrStatus, LinkStats, MemberStatus};
use lagd_types::{MacAddr, PortState};
use serde_json::{Map, Value};

use super::table::{Cell, Section, View};

/// The name of the column that says which aggregation a row belongs to (shown by `-p` and
/// `-o`; the table shows it in each section's title).
pub const AGGREGATION: &str = "aggregation";

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

/// The running LACP activity (`active`, `passive`, `off`).
pub fn lacp_mode(a: &AggrStatus) -> &str {
    &a.settings.lacp_mode
}

/// The distribution mode's name.
pub fn mode_name(a: &AggrStatus) -> &str {
    &a.settings.mode
}

/// The header line of an aggregation (dladm: `key: 1 (0x0001) policy: L4 address: ... (auto)`).
fn header(a: &AggrStatus) -> String {
    let key = a.settings.key;
    let mut h = format!(
        "{}: key: {key} (0x{key:04x}) policy: {} address: {} ({})",
        a.name,
        a.settings.policy,
        a.mac,
        if a.spec.mac.is_some() {
            "fixed"
        } else {
            "auto"
        }
    );
    if mode_name(a) != "lacp" {
        h.push_str(&format!(" mode: {}", mode_name(a)));
    }
    if a.temporary {
        h.push_str(" (temporary changes)");
    }
    h
}

/// The aggregate's state in words: `up, 2 of 2 members active`, `down: no LACPDU from the
/// partner`.
pub fn aggregate_state(a: &AggrStatus) -> String {
    let active = a
        .members
        .iter()
        .filter(|m| m.state == "active" || m.state == "backup")
        .count();
    let total = a.members.len();
    match (a.up, &a.why) {
        (true, Some(w)) => format!("up {w}"),
        (true, None) => match &a.active_member {
            Some(m) => format!("up, active member {m}, {active} of {total} members ready"),
            None => format!("up, {active} of {total} members active"),
        },
        (false, Some(w)) => format!("down: {w}"),
        (false, None) => "down".into(),
    }
}

/// What `--json` says of a whole aggregation: identity, state, every setting in force (every
/// field of lagd's `Settings`, under its own name, so a setting lagd shows needs nothing here).
fn info(a: &AggrStatus) -> Map<String, Value> {
    let mut m = match serde_json::to_value(&a.settings) {
        Ok(Value::Object(settings)) => settings,
        _ => Map::new(),
    };
    m.insert("name".into(), Value::from(a.name.clone()));
    m.insert(
        "state".into(),
        Value::from(if a.up { "up" } else { "down" }),
    );
    m.insert("why".into(), a.why.clone().map_or(Value::Null, Value::from));
    m.insert("address".into(), Value::from(a.mac.to_string()));
    m.insert(
        "address_type".into(),
        Value::from(if a.spec.mac.is_some() {
            "fixed"
        } else {
            "auto"
        }),
    );
    m.insert("mtu".into(), Value::from(a.mtu));
    m.insert("fallback_active".into(), Value::Bool(a.fallback_active));
    m.insert(
        "offload_running".into(),
        Value::Bool(a.offload.as_ref().is_some_and(|o| o.active)),
    );
    m.insert(
        "active_member".into(),
        a.active_member.clone().map_or(Value::Null, Value::from),
    );
    if let Some(b) = &a.balancer {
        // Switch-independent modes only: the receive member and each peer's member.
        m.insert(
            "balancer".into(),
            serde_json::to_value(b).unwrap_or(Value::Null),
        );
    }
    m.insert("carrier_losses".into(), Value::from(a.carrier_losses));
    m.insert("up".into(), Value::Bool(a.up));
    m.insert("temporary".into(), Value::Bool(a.temporary));
    m
}

/// The member's state in one word (`lagd_agg::member_state`), as lagd reports it.
pub fn member_state(m: &MemberStatus) -> &str {
    if !m.state.is_empty() {
        &m.state
    } else if m.collecting && m.distributing {
        // A lagd from before member states.
        "active"
    } else {
        "standby"
    }
}

/// A member's link: up, down, or absent (no such interface yet: hot-plug).
fn link_word(m: &MemberStatus) -> &'static str {
    if m.absent {
        "absent"
    } else if m.link_up {
        "up"
    } else {
        "down"
    }
}

/// A section of `a` with `title`, its rows, and the aggregation's name in each row's first
/// cell.
fn section(a: &AggrStatus, title: Vec<String>, rows: Vec<Vec<Cell>>) -> Section {
    Section {
        title,
        info: info(a),
        total: None,
        rows: rows
            .into_iter()
            .map(|r| std::iter::once(Cell::text(&a.name)).chain(r).collect())
            .collect(),
    }
}

fn columns(rest: &[&'static str]) -> Vec<&'static str> {
    std::iter::once(AGGREGATION)
        .chain(rest.iter().copied())
        .collect()
}

fn mac_cell(m: Option<MacAddr>) -> Cell {
    match m {
        Some(m) => Cell::text(m.to_string()),
        None => Cell::with("--", Value::Null),
    }
}

/// `show-aggr`: device address speed duplex link state, under the aggregate's own state.
pub fn aggr_plain(aggrs: &[AggrStatus]) -> View {
    let sections = aggrs
        .iter()
        .map(|a| {
            section(
                a,
                vec![header(a), format!("state: {}", aggregate_state(a))],
                a.members
                    .iter()
                    .map(|m| {
                        vec![
                            Cell::text(&m.name),
                            mac_cell(member_mac(a, m)),
                            // Speed and duplex mean nothing without carrier.
                            if m.link_up && m.speed_mbps > 0 {
                                Cell::with(
                                    format!("{} Mbps", m.speed_mbps),
                                    Value::from(m.speed_mbps),
                                )
                            } else {
                                Cell::with("--", Value::Null)
                            },
                            if m.link_up {
                                Cell::text(if m.full_duplex { "full" } else { "half" })
                            } else {
                                Cell::with("--", Value::Null)
                            },
                            Cell::text(link_word(m)),
                            Cell::text(member_state(m)),
                        ]
                    })
                    .collect(),
            )
        })
        .collect();
    View {
        columns: columns(&["device", "address", "speed", "duplex", "link", "state"]),
        hidden: vec![AGGREGATION],
        rows_key: "members",
        schema: crate::schema::SHOW_AGGR,
        sections,
    }
}

/// A flag of the actor's state, or `-` where it means nothing (a static trunk runs no LACP).
fn flag(lacp_on: bool, on: bool) -> Cell {
    if lacp_on {
        Cell::yes_no(on)
    } else {
        Cell::with("-", Value::Null)
    }
}

/// `show-aggr -L`: the LACP flags per member. `coll` and `dist` say what the data plane does
/// (a member of an Aggregator that is not the active one neither collects nor distributes,
/// whatever its own Mux says); on a static trunk the LACP-only flags are `-`.
pub fn aggr_lacp(aggrs: &[AggrStatus]) -> View {
    let sections = aggrs
        .iter()
        .map(|a| {
            let lacp_on = lacp_mode(a) != "off";
            let title = if lacp_on {
                format!(
                    "LACP mode: {} LACP timer: {}",
                    lacp_mode(a),
                    a.settings.lacp_timer
                )
            } else {
                "LACP mode: off (no LACPDU sent or heeded)".to_string()
            };
            section(
                a,
                vec![header(a), title],
                a.members
                    .iter()
                    .map(|m| {
                        let s = m.actor.state;
                        vec![
                            Cell::text(&m.name),
                            Cell::text(match (lacp_on, s.activity()) {
                                (false, _) => "off",
                                (true, true) => "active",
                                (true, false) => "passive",
                            }),
                            if lacp_on {
                                Cell::text(if s.short_timeout() { "short" } else { "long" })
                            } else {
                                Cell::with("-", Value::Null)
                            },
                            Cell::yes_no(s.aggregation()),
                            flag(lacp_on, s.synchronization()),
                            Cell::yes_no(m.collecting),
                            Cell::yes_no(m.distributing),
                            flag(lacp_on, s.defaulted()),
                            flag(lacp_on, s.expired()),
                        ]
                    })
                    .collect(),
            )
        })
        .collect();
    View {
        columns: columns(&[
            "device",
            "activity",
            "timeout",
            "aggregatable",
            "sync",
            "coll",
            "dist",
            "defaulted",
            "expired",
        ]),
        hidden: vec![AGGREGATION],
        rows_key: "members",
        schema: crate::schema::SHOW_AGGR_LACP,
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

/// The settings in force, for `-x`: `mtu: 1500 min-links: 1 max-active: none fallback: off ...`.
fn settings_line(a: &AggrStatus) -> String {
    let s = &a.settings;
    let fallback = match (s.fallback.as_str(), a.fallback_active) {
        ("off", _) => "off".to_string(),
        (k, true) => format!("{k} after {} (in force)", s.fallback_timeout),
        (k, false) => format!("{k} after {} (not in force)", s.fallback_timeout),
    };
    let offload = match (s.offload.as_str(), &a.offload) {
        ("off", _) => "off".to_string(),
        (x, Some(o)) if o.active => format!("{x} (in force)"),
        (x, _) => format!("{x} (not in force: see below)"),
    };
    format!(
        "mtu: {} min-links: {} max-active: {} fallback: {fallback} offload: {offload} rebalance: {} aggregate-wait: {}",
        a.mtu,
        s.min_links,
        s.max_active
            .map_or_else(|| "none".to_string(), |m| m.to_string()),
        s.rebalance_interval,
        s.aggregate_wait
    )
}

/// The kernel fast path in one line: setting, attach mode, what it carried, or why not.
fn offload_line(o: &lagd_control::proto::OffloadStatus) -> String {
    let mut line = if o.active {
        format!(
            "kernel fast path: on ({}, offload = {}), {}/{} buckets, {} frames ({} bytes) sent by it, {} members received by it, {} buckets handed back after moves",
            o.attach.as_deref().unwrap_or("?"),
            o.setting,
            o.fast_buckets,
            o.buckets,
            o.frames,
            o.bytes,
            o.rx_members,
            o.hand_backs
        )
    } else {
        format!("kernel fast path: off (offload = {})", o.setting)
    };
    if let Some(st) = &o.rx_steering {
        line.push_str(&format!(", receive steering {st}"));
    }
    if o.rx_steering_crossed > 0 {
        line.push_str(&format!(
            " ({} changes crossed by a frame)",
            o.rx_steering_crossed
        ));
    }
    if let Some(n) = o.rx_untracked_frames.filter(|n| *n > 0) {
        line.push_str(&format!(
            ", {n} frames received from addresses that are no peer (in no peer's rate)"
        ));
    }
    if let Some(r) = &o.reason {
        line.push_str(&format!("; user-space path because: {r}"));
    }
    if let Some(f) = &o.fix {
        line.push_str(&format!("; fix: {f}"));
    }
    line
}

/// The micro-BFD line of `show-aggr -x`, when BFD is on (issue 11).
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

/// A member's BFD cells: the session's "local/remote" state (the whole session in JSON), the
/// Detection Time in force and the local Diag.
fn bfd_cells(m: &MemberStatus) -> [Cell; 3] {
    match &m.bfd {
        None => [
            Cell::with("-", Value::Null),
            Cell::with("-", Value::Null),
            Cell::with("-", Value::Null),
        ],
        Some(b) => [
            Cell::with(
                format!("{}/{}", b.state, b.remote_state),
                serde_json::to_value(b).unwrap_or(Value::Null),
            ),
            Cell::text(b.detection_time.as_deref().unwrap_or("-")),
            Cell::text(&b.diag),
        ],
    }
}

/// `show-aggr -x`: every member's protocol detail, and every setting in force;
/// the micro-BFD line and columns when a member runs BFD.
pub fn aggr_extended(aggrs: &[AggrStatus]) -> View {
    let with_bfd = aggrs
        .iter()
        .any(|a| a.members.iter().any(|m| m.bfd.is_some()));
    let sections = aggrs
        .iter()
        .map(|a| {
            let mut title = vec![
                header(a),
                if lacp_mode(a) == "off" {
                    format!("LACP mode: off state: {}", aggregate_state(a))
                } else {
                    format!(
                        "LACP mode: {} LACP timer: {} state: {}",
                        lacp_mode(a),
                        a.settings.lacp_timer,
                        aggregate_state(a)
                    )
                },
                settings_line(a),
            ];
            title.extend(a.offload.as_ref().map(offload_line));
            if let Some(m) = &a.active_member {
                title.push(format!("active member: {m}"));
            }
            if let Some(b) = &a.balancer {
                title.extend(balancer_lines(b));
            }
            title.extend(bfd_title(a));
            let mut sec = section(
                a,
                title,
                a.members
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
                            Cell::text(m.actor.system.to_string()),
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
                            Cell::text(member_state(m)),
                            Cell::num(m.carrier_losses),
                            Cell::num(m.flaps),
                        ];
                        if with_bfd {
                            row.extend(bfd_cells(m));
                        }
                        row
                    })
                    .collect(),
            );
            if let Some(o) = &a.offload {
                // What the kernel fast path runs and carried (`offload`: the setting).
                sec.info.insert(
                    "fast_path".into(),
                    serde_json::to_value(o).unwrap_or_default(),
                );
            }
            sec
        })
        .collect();
    View {
        columns: columns(&[
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
            "state",
            "carrier-losses",
            "flaps",
        ])
        .into_iter()
        .chain(
            with_bfd
                .then_some(["bfd", "bfd-detect", "bfd-diag"])
                .into_iter()
                .flatten(),
        )
        .collect(),
        hidden: vec![AGGREGATION],
        rows_key: "members",
        schema: crate::schema::SHOW_AGGR_EXTENDED,
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
                    Cell::text(&a.name),
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
            let key = a.settings.key;
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
        columns: columns(&[
            "device", "ipackets", "rbytes", "opackets", "obytes", "%ipkts", "%opkts",
        ]),
        hidden: vec![AGGREGATION],
        rows_key: "members",
        schema: crate::schema::SHOW_AGGR_STATISTICS,
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
        hidden: Vec::new(),
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
        schema: crate::schema::SHOW_LINK_STATISTICS,
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
                Cell::text(link_word(m)),
                Cell::text(&a.name),
            ]);
        }
        rows.push(vec![
            Cell::text(&a.name),
            Cell::text("aggregate"),
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
        hidden: Vec::new(),
        columns: vec!["link", "class", "mtu", "state", "over"],
        rows_key: "links",
        schema: crate::schema::SHOW_LINK,
        sections: vec![Section {
            rows,
            ..Section::default()
        }],
    }
}

/// `show-aggr -x` of a switch-independent aggregation: the receive member, each member's MAC
/// and peers, and which peer is received on which member.
fn balancer_lines(b: &lagd_control::proto::BalancerStatus) -> Vec<String> {
    let mut v = vec![format!(
        "receive member: {} ({} answers for the aggregate's MAC)",
        b.receive_member.as_deref().unwrap_or("none"),
        b.mode
    )];
    for m in &b.members {
        v.push(format!(
            "member {}: MAC {}, {} peers, {} B/s received{}",
            m.name,
            m.mac,
            m.peers,
            m.rx_rate,
            if m.aggregate_mac_elsewhere > 0 {
                format!(
                    ", {} frames for the aggregate's MAC arrived here (diagnose)",
                    m.aggregate_mac_elsewhere
                )
            } else {
                String::new()
            }
        ));
    }
    for p in &b.peers {
        v.push(format!(
            "peer {} ({}) -> {}, {} B/s",
            p.ip,
            p.mac
                .map_or_else(|| "MAC not yet known".to_string(), |m| m.to_string()),
            p.member,
            p.rx_rate
        ));
    }
    v
}

/// `show-aggr -P`: each aggregation as lagd's configuration file has it (defaults applied),
/// one row each, as `dladm show-aggr -P`; flags: `t` the running configuration differs
/// (temporary changes), `-` none; an aggregation created with `-t` is `not saved`.
pub fn aggr_persistent(aggrs: &[AggrStatus]) -> View {
    let rows = aggrs
        .iter()
        .map(|a| match &a.persistent {
            Some(spec) => {
                let r = spec.resolve_settings().ok();
                let text = |f: &dyn Fn(&lagd_control::config::Resolved) -> String| {
                    r.as_ref()
                        .map_or_else(|| Cell::with("?", Value::Null), |r| Cell::text(f(r)))
                };
                vec![
                    Cell::text(&a.name),
                    text(&|r| r.mode.as_str().to_string()),
                    text(&|r| r.policy.to_string()),
                    text(&|r| r.mac.map_or("auto".into(), |m| m.to_string())),
                    text(&|r| r.lacp_mode.to_string()),
                    text(&|r| r.lacp_timer.to_string()),
                    Cell::with(spec.links.join(","), Value::from(spec.links.clone())),
                    Cell::text(if a.temporary { "t" } else { "-" }),
                ]
            }
            None => vec![
                Cell::text(&a.name),
                Cell::with("--", Value::Null),
                Cell::with("--", Value::Null),
                Cell::with("--", Value::Null),
                Cell::with("--", Value::Null),
                Cell::with("--", Value::Null),
                Cell::with("--", Value::Null),
                Cell::text("not saved"),
            ],
        })
        .collect();
    // JSON: each aggregation's configuration as the file has it, beside the rows.
    let mut info = Map::new();
    info.insert(
        "configuration".into(),
        Value::Array(
            aggrs
                .iter()
                .filter_map(|a| a.persistent.as_ref())
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                .collect(),
        ),
    );
    View {
        columns: vec![
            "link",
            "mode",
            "policy",
            "addrpolicy",
            "lacpactivity",
            "lacptimer",
            "members",
            "flags",
        ],
        hidden: Vec::new(),
        rows_key: "aggregations",
        schema: crate::schema::SHOW_AGGR_PERSISTENT,
        sections: vec![Section {
            title: Vec::new(),
            info,
            total: None,
            rows,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
