//! The members' links: speed and duplex (§6.4.8: LACP needs full duplex), MTU among the
//! members and the aggregate, and large frames dropped on the way to a partner whose MTU is
//! smaller.

use std::collections::BTreeMap;

use lagd_lacp::PortStatus;

use super::{Change, Ctx, FindingCode, Fix, Setting, Severity, Where};

pub(crate) fn check(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    speed(cx, up);
    duplex(cx, up);
    mtu_among_members(cx);
    mtu_towards_partner(cx, up);
}

fn speed(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let mut speeds: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in up {
        let s = cx.speed(p);
        if s > 0 {
            speeds.entry(s).or_default().push(cx.name_of(p.number));
        }
    }
    if speeds.len() < 2 {
        return;
    }
    let evidence = speeds
        .iter()
        .map(|(s, m)| format!("{}: {s} Mbit/s", m.join(", ")))
        .collect();
    cx.push(
        Severity::Warning,
        FindingCode::SpeedMismatch,
        None,
        "members run at different speeds: conversations hashed to the slower members get less \
         bandwidth, and some switches refuse to aggregate them"
            .into(),
        evidence,
        vec![Fix::text(
            "use members of one speed (check cabling, transceivers and autonegotiation with \
             ethtool)",
        )],
    );
}

fn duplex(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    for p in up {
        if cx.full_duplex(p) {
            continue;
        }
        let m = cx.name_of(p.number);
        cx.push(
            Severity::Error,
            FindingCode::DuplexMismatch,
            Some(m.clone()),
            format!(
                "member {m} runs half duplex: link aggregation needs full duplex (§6.4.8), the \
                 member cannot aggregate"
            ),
            vec![format!("{m}: half duplex, {} Mbit/s", cx.speed(p))],
            vec![
                Fix::text(format!(
                    "fix autonegotiation on both ends of {m} (full duplex, autonegotiation on)"
                )),
                Fix::remove("or take it out", vec![m.clone()]),
            ],
        );
    }
}

fn mtu_among_members(cx: &mut Ctx<'_, '_>) {
    let mut mtus: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in &cx.input.status.lacp.ports {
        if let Some(mtu) = cx.facts(p.number).mtu {
            mtus.entry(mtu).or_default().push(cx.name_of(p.number));
        }
    }
    let agg_mtu = cx.input.aggregate_mtu;
    let differs_from_aggregate = agg_mtu.is_some_and(|a| mtus.keys().any(|m| *m != a));
    if mtus.len() < 2 && !differs_from_aggregate {
        return;
    }
    let mut evidence: Vec<String> = mtus
        .iter()
        .map(|(mtu, m)| format!("{}: MTU {mtu}", m.join(", ")))
        .collect();
    if let Some(a) = agg_mtu {
        evidence.push(format!("aggregate {}: MTU {a}", cx.input.name));
    }
    // Members whose MTU was changed behind lagd's back get the aggregate's again when they are
    // taken over anew; without a known aggregate MTU, the largest is the one to set.
    let fix = match agg_mtu {
        Some(a) => mtus
            .iter()
            .filter(|(m, _)| **m != a)
            .flat_map(|(_, names)| names.iter())
            .map(|m| {
                Fix::change(
                    format!("give {m} the aggregate's MTU {a} again"),
                    Change::Readd { member: m.clone() },
                )
            })
            .collect(),
        None => vec![Fix::set(
            "give the aggregate and every member one MTU",
            Setting::Mtu,
            mtus.keys().next_back().copied().unwrap_or(1500),
        )],
    };
    cx.push(
        Severity::Warning,
        FindingCode::MtuMismatch,
        None,
        "members have different MTUs: large frames hashed to a member with a smaller MTU are \
         dropped"
            .into(),
        evidence,
        fix,
    );
}

/// Frames dropped lately on transmit (a virtual link drops frames larger than its other end's
/// MTU) or received too long: the partner's MTU differs from ours.
fn mtu_towards_partner(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    if cx.found(FindingCode::MtuMismatch) {
        return;
    }
    let mut evidence = Vec::new();
    for p in up {
        let f = cx.facts(p.number);
        let tx = f.tx_dropped_recent.unwrap_or(0);
        let rx = f.rx_errors_recent.unwrap_or(0);
        if tx == 0 && rx == 0 {
            continue;
        }
        let span = f
            .recent_secs
            .map_or_else(String::new, |s| format!(" in the last {s} s"));
        evidence.push(format!(
            "{}: {tx} frames dropped on transmit, {rx} received too long or malformed{span}",
            cx.name_of(p.number)
        ));
    }
    if evidence.is_empty() {
        return;
    }
    let ours = cx.input.aggregate_mtu;
    if let Some(m) = ours {
        evidence.push(format!("our MTU: {m} (aggregate and members)"));
    }
    let mut fix = Vec::new();
    if let Some(m) = ours {
        fix.push(Fix::set("give the partner the same MTU", Setting::Mtu, m).on(Where::Partner));
    }
    fix.push(Fix::text(
        "or lower this aggregation's MTU to the partner's",
    ));
    cx.push(
        Severity::Warning,
        FindingCode::MtuMismatch,
        None,
        "large frames are dropped on the members: the partner's MTU is probably smaller than \
         ours (a frame larger than the other end's MTU never arrives)"
            .into(),
        evidence,
        fix,
    );
}
