//! Members that receive this System's own LACPDUs (issue 11): looped back, cabled to another
//! member, or on a hub or a switch port that echoes frames. LACP never records them and keeps
//! the member out of the aggregation; this says what is cabled wrong.

use super::{Ctx, FindingCode, Fix, Severity};
use lagd_lacp::ReceiveState;

pub(crate) fn check(cx: &mut Ctx<'_, '_>) {
    for p in &cx.input.status.lacp.ports {
        let Some(from) = p.loopback else { continue };
        let m = cx.name_of(p.number);
        let o = cx.name_of(from);
        let (problem, fix) = if from != p.number {
            (
                format!(
                    "{m} is cabled to {o}, a member of this same aggregation: each receives the other's LACPDUs, and the link carries no traffic"
                ),
                vec![
                    Fix::text(format!("cable {m} and {o} each to a port of the partner")),
                    Fix::remove("or take it out", vec![m.clone()]),
                ],
            )
        } else if p.receive == ReceiveState::Current {
            (
                format!(
                    "{m} receives its own LACPDUs beside the partner's: a hub, or a switch port that echoes frames, is on the link"
                ),
                vec![Fix::text(format!(
                    "connect {m} straight to the partner's port; check that port for loopback or port mirroring"
                ))],
            )
        } else {
            (
                format!("{m} receives its own LACPDUs: the link is looped back"),
                vec![Fix::text(format!(
                    "remove the loopback plug or cable on {m}; check the partner's port for loopback or port mirroring"
                ))],
            )
        };
        cx.push(
            Severity::Error,
            FindingCode::Loopback,
            Some(m.clone()),
            problem,
            vec![format!(
                "{m}: {} of our own LACPDUs received back, sent by {o}",
                p.counters.looped_lacpdus_rx
            )],
            fix,
        );
    }
}
