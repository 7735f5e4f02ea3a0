//! Who speaks LACP: a partner that sent nothing lately (a static switch, or both ends
//! passive), LACPDUs arriving on a static trunk, members that reach different partners, and
//! the partner on the other timer. Evidence is what arrived in the last seconds
//! ([`crate::activity`]), never lifetime totals.

use std::collections::{BTreeMap, BTreeSet};

use lagd_lacp::{LacpActivity, LacpTimeout, PortStatus, ReceiveState};
use lagd_types::{Duration, Fallback, Instant};

use super::{Ctx, FindingCode, Fix, Setting, Severity, View, Where};
use crate::activity::{PortActivity, RECENT};

/// How long without a LACPDU makes a member silent: the current_while time of our timer
/// (§6.4.4: 3 s short, 90 s long), the time after which the Receive machine gives up too.
pub fn silence(timer: LacpTimeout) -> Duration {
    match timer {
        LacpTimeout::Short => Duration::from_secs(3),
        LacpTimeout::Long => Duration::from_secs(90),
    }
}

/// "no LACPDU for 12.0 s (24 in all)" or "no LACPDU ever".
pub(crate) fn heard(now: Instant, a: Option<&PortActivity>, p: &PortStatus) -> String {
    match a.and_then(PortActivity::last_lacpdu) {
        Some(t) => format!(
            "last LACPDU {:.1} s ago ({} in all)",
            now.saturating_since(t).as_secs_f64(),
            p.counters.lacpdus_rx
        ),
        None => "no LACPDU ever received".into(),
    }
}

/// Runs the LACP checks; returns whether the partner is silent on every member with carrier
/// (the members' own findings then add nothing).
pub(crate) fn check(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) -> bool {
    if !cx.lacp_on() {
        lacp_on_static_trunk(cx, up);
        return false;
    }
    let now = cx.input.now;
    let window = silence(cx.input.config.lacp.timer);
    let silent = !up.is_empty()
        && up.iter().all(|p| {
            p.receive != ReceiveState::Current
                && !cx
                    .input
                    .activity(p.number)
                    .is_some_and(|a| a.heard_within(now, window))
        });
    if silent {
        silent_partner(cx, up, window);
    } else {
        partners(cx, up);
        timers(cx, up);
    }
    silent
}

/// No LACPDU lately on any member with carrier, while LACP runs here.
fn silent_partner(cx: &mut Ctx<'_, '_>, up: &[&PortStatus], window: Duration) {
    let cfg = &cx.input.config.lacp;
    let st = cx.input.status;
    let now = cx.input.now;
    let mut evidence: Vec<String> = up
        .iter()
        .map(|p| {
            format!(
                "{}: receive {}, no LACPDU in the last {:.0} s ({}), {} sent",
                cx.name_of(p.number),
                p.receive,
                window.as_secs_f64(),
                heard(now, cx.input.activity(p.number), p),
                p.counters.lacpdus_tx
            )
        })
        .collect();
    evidence.push(format!("our LACP mode: {}", cfg.mode));
    let fallback_fix = (cfg.fallback.is_none()).then(|| {
        Fix::set(
            "or keep LACP and forward as a static trunk while the partner sends no LACPDU",
            Setting::Fallback,
            Fallback::Static,
        )
    });
    if cfg.mode == LacpActivity::Passive {
        let mut fix = vec![
            Fix::set(
                "make this end active",
                Setting::LacpMode,
                LacpActivity::Active,
            ),
            Fix::set(
                "or run a static trunk",
                Setting::LacpMode,
                LacpActivity::Off,
            )
            .on(Where::BothEnds),
        ];
        fix.extend(fallback_fix);
        let (severity, problem) = if st.lacp.fallback_active {
            (
                Severity::Warning,
                "no LACPDU arrives: we are passive and the partner sends nothing (passive too, \
                 or static); the aggregate forwards only through fallback",
            )
        } else {
            (
                Severity::Error,
                "no LACPDU arrives: we are passive and the partner sends nothing (it is passive \
                 too, or runs no LACP): no member can aggregate, traffic is lost",
            )
        };
        cx.push(
            severity,
            FindingCode::BothPassive,
            None,
            problem.into(),
            evidence,
            fix,
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
             fallback",
        )
    } else {
        (
            Severity::Error,
            "the partner runs no LACP (a static switch?): no member can aggregate, traffic is \
             lost",
        )
    };
    let mut fix = vec![
        Fix::set(
            "enable LACP (active) on the partner's ports of this aggregation",
            Setting::LacpMode,
            LacpActivity::Active,
        )
        .on(Where::Partner),
        Fix::set(
            "or run a static trunk",
            Setting::LacpMode,
            LacpActivity::Off,
        ),
    ];
    fix.extend(fallback_fix);
    cx.push(
        severity,
        FindingCode::PartnerNoLacp,
        None,
        problem.into(),
        evidence,
        fix,
    );
}

/// LACPDUs arriving lately on a static trunk: the partner runs LACP and, unless its own
/// fallback forwards, does not aggregate with us.
fn lacp_on_static_trunk(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let now = cx.input.now;
    let heard: Vec<(&PortStatus, &PortActivity)> = up
        .iter()
        .filter_map(|p| {
            let a = cx.input.activity(p.number)?;
            a.heard_within(now, RECENT).then_some((*p, a))
        })
        .collect();
    if heard.is_empty() {
        return;
    }
    let mut evidence = Vec::new();
    let mut partner_forwards = true;
    for (p, a) in &heard {
        let said = a.partner_said.unwrap_or_default();
        partner_forwards &= said.state.collecting() && said.state.distributing();
        evidence.push(format!(
            "{}: LACPDUs arriving, {}; the partner says: {}, {} timer, {}",
            cx.name_of(p.number),
            arrivals(now, a),
            if said.state.activity() {
                "LACP active"
            } else {
                "LACP passive"
            },
            if said.state.short_timeout() {
                "short"
            } else {
                "long"
            },
            match (said.state.collecting(), said.state.distributing()) {
                (true, true) => "collecting and distributing",
                (true, false) => "collecting, not distributing",
                _ => "not collecting",
            }
        ));
    }
    evidence.push("our LACP mode: off (static trunk)".into());
    let (severity, problem) = if partner_forwards {
        (
            Severity::Warning,
            "LACPDUs arrive on this static trunk: the partner runs LACP (it forwards through \
             its fallback for now)",
        )
    } else {
        (
            Severity::Error,
            "LACPDUs arrive on this static trunk: the partner runs LACP and does not aggregate \
             with a static trunk: frames sent to it are dropped",
        )
    };
    cx.push(
        severity,
        FindingCode::LacpOnStaticTrunk,
        None,
        problem.into(),
        evidence,
        vec![
            Fix::set(
                "run LACP (active) here too",
                Setting::LacpMode,
                LacpActivity::Active,
            ),
            Fix::set(
                "or turn LACP off on the partner",
                Setting::LacpMode,
                LacpActivity::Off,
            )
            .on(Where::Partner),
        ],
    );
}

/// "5 in the last 4.0 s, the last 0.1 s ago": the kept arrivals within [`RECENT`].
fn arrivals(now: Instant, a: &PortActivity) -> String {
    let recent: Vec<Instant> = a
        .lacpdu_arrivals
        .iter()
        .copied()
        .filter(|t| now.saturating_since(*t) < RECENT)
        .collect();
    match (recent.first(), recent.last()) {
        (Some(first), Some(last)) => format!(
            "{} in the last {:.1} s, the last {:.1} s ago",
            recent.len(),
            now.saturating_since(*first).as_secs_f64(),
            now.saturating_since(*last).as_secs_f64()
        ),
        _ => "none lately".into(),
    }
}

/// Members that hear a partner must all hear the same System and key.
fn partners(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let mut groups: BTreeMap<(String, u16), Vec<String>> = BTreeMap::new();
    for p in up
        .iter()
        .filter(|p| p.receive == ReceiveState::Current && p.partner.state.aggregation())
    {
        groups
            .entry((p.partner.system.to_string(), p.partner.key))
            .or_default()
            .push(cx.name_of(p.number));
    }
    if groups.len() < 2 {
        return;
    }
    let evidence = groups
        .iter()
        .map(|((sys, key), members)| {
            format!("{} → partner system {sys}, key {key}", members.join(", "))
        })
        .collect();
    let systems: BTreeSet<&String> = groups.keys().map(|(s, _)| s).collect();
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
            Fix::text(
                "cable every member to the same switch, or to a distributed-trunking (DT/MLAG) \
                 pair that presents one system id, with one channel group (same key)",
            ),
            Fix::remove("or take the odd members out", odd),
        ],
    );
}

/// The partner runs the other timer: not a fault (each end chooses how fast it wants to hear
/// the other), but failures are then detected at different speeds on the two ends.
fn timers(cx: &mut Ctx<'_, '_>, up: &[&PortStatus]) {
    let ours = cx.input.config.lacp.timer;
    let other: Vec<&&PortStatus> = up
        .iter()
        .filter(|p| {
            p.receive == ReceiveState::Current
                && p.partner.state.short_timeout() != (ours == LacpTimeout::Short)
        })
        .collect();
    if other.is_empty() {
        return;
    }
    let theirs = if ours == LacpTimeout::Short {
        LacpTimeout::Long
    } else {
        LacpTimeout::Short
    };
    let (fast, slow) = if ours == LacpTimeout::Short {
        ("we", "the partner")
    } else {
        ("the partner", "we")
    };
    cx.push(
        Severity::Info,
        FindingCode::TimerMismatch,
        None,
        format!(
            "the partner runs the {} LACP timer, we the {}: {fast} detect a dead link in 3 s, \
             {slow} in 90 s",
            theirs, ours
        ),
        other
            .iter()
            .map(|p| {
                format!(
                    "{}: partner state {}, actor state {}",
                    cx.name_of(p.number),
                    p.partner.state,
                    p.actor.state
                )
            })
            .collect(),
        vec![
            Fix::set("use the partner's timer here", Setting::LacpTimer, theirs),
            Fix::set("or ours on the partner", Setting::LacpTimer, ours).on(Where::Partner),
            Fix::show("compare the two ends", View::Lacp),
        ],
    );
}
