//! Whether the aggregate is up: min-links not met, or fallback in force.

use super::{Ctx, FindingCode, Fix, Setting, Severity, View};

/// The findings that explain why members do not carry traffic.
const MEMBER_CAUSES: &[FindingCode] = &[
    FindingCode::PartnerNoLacp,
    FindingCode::BothPassive,
    FindingCode::LacpOnStaticTrunk,
    FindingCode::DifferentPartners,
    FindingCode::DuplexMismatch,
    FindingCode::LinkDown,
    FindingCode::MemberDeleted,
    FindingCode::NotDistributing,
    FindingCode::Standby,
    FindingCode::Churn,
    FindingCode::Expired,
    FindingCode::Defaulted,
    FindingCode::DtPortsDown,
];

pub(crate) fn check(cx: &mut Ctx<'_, '_>) {
    let st = cx.input.status;
    let name = cx.input.name;
    let min = cx.input.config.lacp.min_links;
    if st.lacp.fallback_active && !st.lacp.ports.is_empty() {
        // Reported with the silent partner when that is the cause.
        if !cx.found(FindingCode::PartnerNoLacp) && !cx.found(FindingCode::BothPassive) {
            cx.push(
                Severity::Warning,
                FindingCode::Fallback,
                None,
                "the aggregate forwards through fallback, without LACP".into(),
                vec![format!(
                    "fallback reason: {}",
                    st.lacp.fallback_reason.as_deref().unwrap_or("-")
                )],
                vec![
                    Fix::text("enable LACP on the partner"),
                    Fix::show("compare both ends", View::Lacp),
                ],
            );
        }
        return;
    }
    let cd = st
        .lacp
        .ports
        .iter()
        .filter(|p| p.collecting && p.distributing)
        .count();
    if cd >= min {
        return;
    }
    let total = st.lacp.ports.len();
    let mut fix = Vec::new();
    if total >= min {
        if cx.out.iter().any(|f| MEMBER_CAUSES.contains(&f.code)) {
            fix.push(Fix::text(
                "bring members into service (the findings above say why they are out)",
            ));
        } else {
            fix.push(Fix::show(
                "find out why the members carry no traffic",
                View::Extended,
            ));
        }
    } else {
        fix.push(Fix::change(
            format!("add members (min-links {min} needs {min}, {name} has {total})"),
            super::Change::AddMember,
        ));
    }
    // Lowering the threshold helps only if some member would then be enough, or if it asks
    // for more members than there are.
    let lower = if total < min { total.max(1) } else { cd };
    if lower >= 1 && lower < min {
        fix.push(Fix::set("or lower the threshold", Setting::MinLinks, lower));
    }
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
