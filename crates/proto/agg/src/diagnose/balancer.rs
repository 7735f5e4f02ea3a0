//! Switch-independent load balancing (`transmit-lb`, `adaptive-lb`): the switch learned the
//! aggregate's MAC on a port that is not the receive member's.

use super::{Ctx, FindingCode, Fix, Severity, View, Where};

pub(crate) fn check(cx: &mut Ctx<'_, '_>) {
    let Some(alb) = cx.input.status.alb.as_ref() else {
        return;
    };
    let receive = alb
        .receive_member
        .map(|p| cx.name_of(p))
        .unwrap_or_else(|| "no member".into());
    for m in &alb.members {
        if m.receive || m.aggregate_mac_elsewhere == 0 {
            continue;
        }
        let name = cx.name_of(m.port);
        cx.push(
            Severity::Warning,
            FindingCode::AggregateMacMoved,
            Some(name.clone()),
            format!(
                "the switch sends frames for the aggregate's MAC {} to {name}, not to the receive member {receive}: it moves the aggregate's MAC between ports",
                alb.aggregate_mac
            ),
            vec![format!(
                "{} unicast frames for {} arrived on {name} (dropped: the receive member gets them)",
                m.aggregate_mac_elsewhere, alb.aggregate_mac
            )],
            vec![
                Fix::text(
                    "make sure no other device uses the aggregate's MAC, and that the switch does not aggregate these ports (no static trunk or LACP group on the switch: this mode needs none)",
                )
                .on(Where::Partner),
                Fix::text(
                    "a bridge or VM above the aggregate that sends with the aggregate's MAC on its own is not supported in this mode",
                ),
                Fix::show("see which member receives which peer", View::Extended),
            ],
        );
    }
}
