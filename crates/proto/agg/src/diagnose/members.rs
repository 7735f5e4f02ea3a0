//! Each member that does not carry traffic, and why: its interface deleted, no carrier, churn
//! (§6.4.17), the partner's LACPDUs stopped (EXPIRED) or never came while the other members
//! hear them (DEFAULTED, §6.4.12), Standby (max-active), or a Mux machine that has not reached
//! COLLECTING_DISTRIBUTING (§6.4.15).

use lagd_lacp::{ChurnState, MuxState, PortStatus, ReceiveState, Selected};

use super::lacp::{heard, silence};
use super::{Ctx, FindingCode, Fix, Setting, Severity, View};

pub(crate) fn check(cx: &mut Ctx<'_, '_>, partner_silent: bool) {
    let lacp_on = cx.lacp_on();
    let any_current = cx
        .input
        .status
        .lacp
        .ports
        .iter()
        .any(|p| p.receive == ReceiveState::Current);
    let ports = &cx.input.status.lacp.ports;
    for p in ports {
        if p.loopback.is_some() {
            continue; // explained by `loopback`
        }
        let m = cx.name_of(p.number);
        let state_line = format!(
            "{m}: selected {}, mux {}, receive {}, actor state {}, partner state {}",
            p.selected, p.mux, p.receive, p.actor.state, p.partner.state
        );
        if cx.facts(p.number).deleted {
            cx.push(
                Severity::Warning,
                FindingCode::MemberDeleted,
                Some(m.clone()),
                format!("member {m} no longer exists (its interface was deleted): the aggregate runs without it"),
                vec![format!("{m}: no such interface")],
                vec![
                    Fix::remove("take it out of the aggregation", vec![m.clone()]),
                    Fix::text(format!("or create the interface {m} again")),
                ],
            );
            continue;
        }
        if !p.link.up {
            cx.push(
                Severity::Warning,
                FindingCode::LinkDown,
                Some(m.clone()),
                format!("member {m} has no carrier: the aggregate runs without it"),
                vec![format!("{m}: link down")],
                vec![
                    Fix::text(format!(
                        "check the cable and the partner's port of {m}, and that {m} is up"
                    )),
                    Fix::remove("or take it out", vec![m.clone()]),
                ],
            );
            continue;
        }
        churn(cx, p, &m, &state_line);
        let heard_line = format!(
            "{m}: {}",
            heard(cx.input.now, cx.input.activity(p.number), p)
        );
        if lacp_on && p.receive == ReceiveState::Expired && !partner_silent {
            cx.push(
                Severity::Warning,
                FindingCode::Expired,
                Some(m.clone()),
                format!(
                    "the partner's LACPDUs stopped on {m} (EXPIRED): the link drops frames in one direction, or the partner stopped LACP"
                ),
                vec![state_line.clone(), heard_line.clone()],
                vec![
                    Fix::text(format!("check the link {m} and the partner's LACP configuration")),
                    Fix::show("compare both ends", View::Lacp),
                ],
            );
        }
        if lacp_on && !partner_silent && p.receive == ReceiveState::Defaulted && any_current {
            cx.push(
                Severity::Warning,
                FindingCode::Defaulted,
                Some(m.clone()),
                format!(
                    "{m} hears no LACPDU while the other members do: its port on the partner is not in the channel group, or LACP is off there"
                ),
                vec![
                    state_line.clone(),
                    format!(
                        "{heard_line}; no LACPDU within {:.0} s",
                        silence(cx.input.config.lacp.timer).as_secs_f64()
                    ),
                ],
                vec![
                    Fix::text(format!(
                        "add the partner's port of {m} to the LACP channel group"
                    )),
                    Fix::remove("or take it out", vec![m.clone()]),
                ],
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
                vec![Fix::set(
                    "to use it now, lift the limit",
                    Setting::MaxActive,
                    0,
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
            not_distributing(cx, p, &m, state_line);
        }
    }
}

fn churn(cx: &mut Ctx<'_, '_>, p: &PortStatus, m: &str, state_line: &str) {
    let actor = p.actor_churn == ChurnState::Churn;
    let partner = p.partner_churn == ChurnState::Churn;
    if !actor && !partner {
        return;
    }
    let who = match (actor, partner) {
        (true, true) => "actor and partner",
        (true, false) => "actor",
        _ => "partner",
    };
    cx.push(
        Severity::Warning,
        FindingCode::Churn,
        Some(m.to_string()),
        format!("{who} churn on {m}: the {who} could not get the link in sync for 60 s (§6.4.17)"),
        vec![
            state_line.to_string(),
            format!(
                "actor churn {}, partner churn {}",
                p.actor_churn, p.partner_churn
            ),
        ],
        vec![
            Fix::text(
                "check that the partner's port is in the same channel group as the other \
                 members, with LACP on",
            ),
            Fix::remove("or take it out", vec![m.to_string()]),
        ],
    );
}

/// Up and selected, but not Collecting and Distributing: says what it waits for.
fn not_distributing(cx: &mut Ctx<'_, '_>, p: &PortStatus, m: &str, state_line: String) {
    let aggs = &cx.input.status.lacp.aggregators;
    let active = aggs.iter().find(|a| a.active);
    if let (Some(mine), Some(active)) = (
        p.aggregator
            .and_then(|id| aggs.iter().find(|a| a.id == id && !a.active)),
        active,
    ) {
        // Its own Aggregator formed (its Mux may well say COLLECTING_DISTRIBUTING), but only
        // the active Aggregator's members carry traffic.
        cx.push(
            Severity::Warning,
            FindingCode::NotDistributing,
            Some(m.to_string()),
            format!(
                "{m} carries no traffic: it reaches another partner (or key) than the active \
                 members, so it aggregates apart, in Aggregator {} that is not the active one",
                mine.id
            ),
            vec![
                format!(
                    "{m}: partner system {}, key {}; Aggregator {}",
                    p.partner.system, p.partner.key, mine.id
                ),
                format!(
                    "active Aggregator {}: partner system {}, key {}",
                    active.id, active.partner_system, active.partner_key
                ),
                state_line,
            ],
            vec![
                Fix::text(format!(
                    "cable {m} to the partner of the other members, in their channel group"
                )),
                Fix::remove("or take it out", vec![m.to_string()]),
            ],
        );
        return;
    }
    let why = p
        .why_not_distributing
        .clone()
        .unwrap_or_else(|| "collecting but not distributing".into());
    let fix = if p.mux == MuxState::Attached && !p.partner.state.synchronization() {
        vec![Fix::show(
            format!(
                "the partner has not put {m} in its aggregation: compare its channel group and key"
            ),
            View::Extended,
        )]
    } else if p.selected == Selected::Unselected {
        vec![Fix::show(
            "wait a few seconds; if it stays, compare partner system and key",
            View::Extended,
        )]
    } else {
        vec![Fix::show("look at the machine states", View::Extended)]
    };
    cx.push(
        Severity::Warning,
        FindingCode::NotDistributing,
        Some(m.to_string()),
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
