//! What a configuration change will do to an aggregation that is up: the changes that take it
//! down (LACP turned on against a partner that sends no LACPDU, turned off against one that
//! runs LACP, both ends passive, min-links above what can be met), each as a finding that
//! says why, so that the change can be refused unless forced.

use lagd_lacp::LacpActivity;
use lagd_types::Fallback;

use super::lacp::silence;
use super::{DiagnoseInput, Finding, FindingCode, Fix, Setting, Severity, Where};
use crate::AggregationConfig;
use crate::activity::RECENT;

/// The findings that say `next` takes the aggregation of `input` (which is up) down; empty
/// when it stays up as far as the evidence tells.
pub fn consequences(input: &DiagnoseInput<'_>, next: &AggregationConfig) -> Vec<Finding> {
    let st = input.status;
    if !st.up {
        return Vec::new();
    }
    let name = input.name;
    let now = input.now;
    let cur = &input.config.lacp;
    let new = &next.lacp;
    let up: Vec<_> = st.lacp.ports.iter().filter(|p| p.link.up).collect();
    let activity = |p: &lagd_lacp::PortStatus| input.activity(p.number);
    let mut out = Vec::new();
    let finding = |code, problem: String, evidence: Vec<String>, fix: Vec<Fix>| Finding {
        severity: Severity::Error,
        code,
        member: None,
        problem,
        evidence,
        fix,
    };
    let heard_lately: Vec<String> = up
        .iter()
        .filter(|p| activity(p).is_some_and(|a| a.heard_within(now, RECENT)))
        .map(|p| {
            input
                .port_names
                .get(&p.number)
                .cloned()
                .unwrap_or_else(|| format!("port {}", p.number))
        })
        .collect();
    let was_off = cur.mode == LacpActivity::Off;
    let will_be_off = new.mode == LacpActivity::Off;
    if was_off && !will_be_off && heard_lately.is_empty() && new.fallback.is_none() {
        out.push(finding(
            FindingCode::PartnerNoLacp,
            format!(
                "the partner sends no LACPDU (a static trunk): with LACP {} here no member \
                 aggregates",
                new.mode
            ),
            vec![format!(
                "no LACPDU on any member in the last {:.0} s; {name} forwards as a static trunk now",
                RECENT.as_secs_f64()
            )],
            vec![
                Fix::set(
                    "turn LACP on on the partner first",
                    Setting::LacpMode,
                    new.mode,
                )
                .on(Where::Partner),
                Fix::set(
                    "or turn it on here with a fallback that forwards while the partner sends \
                     none",
                    Setting::Fallback,
                    Fallback::Static,
                ),
            ],
        ));
    }
    if !was_off && will_be_off {
        let window = silence(cur.timer);
        let lacp_partner: Vec<&&lagd_lacp::PortStatus> = up
            .iter()
            .filter(|p| activity(p).is_some_and(|a| a.heard_within(now, window)))
            .collect();
        if !lacp_partner.is_empty() {
            out.push(finding(
                FindingCode::LacpOnStaticTrunk,
                format!(
                    "the partner runs LACP: when {name} becomes a static trunk it hears no \
                     LACPDU any more and stops forwarding to us (unless its own fallback \
                     forwards)"
                ),
                vec![format!(
                    "LACPDUs from the partner in the last {:.0} s on {}",
                    window.as_secs_f64(),
                    heard_lately.join(", ")
                )],
                vec![
                    Fix::set(
                        "turn LACP off on the partner first",
                        Setting::LacpMode,
                        LacpActivity::Off,
                    )
                    .on(Where::Partner),
                ],
            ));
        }
    }
    if new.mode == LacpActivity::Passive && cur.mode != LacpActivity::Passive {
        let passive_partner = !up.is_empty()
            && up.iter().all(|p| {
                activity(p)
                    .and_then(|a| a.partner_said)
                    .is_some_and(|s| !s.state.activity())
            });
        if passive_partner {
            out.push(finding(
                FindingCode::BothPassive,
                "the partner is passive: with both ends passive nobody sends a LACPDU".into(),
                vec!["the partner's LACPDUs say: LACP passive".into()],
                vec![
                    Fix::set(
                        "make the partner active first",
                        Setting::LacpMode,
                        LacpActivity::Active,
                    )
                    .on(Where::Partner),
                ],
            ));
        }
    }
    let cd = st
        .lacp
        .ports
        .iter()
        .filter(|p| p.collecting && p.distributing)
        .count();
    if new.min_links > cur.min_links && new.min_links > cd {
        let total = st.lacp.ports.len();
        let mut fix = vec![Fix::change(
            format!("add members first ({name} has {total})"),
            super::Change::AddMember,
        )];
        if cd > cur.min_links {
            fix.push(Fix::set(
                "or ask for no more than are in service",
                Setting::MinLinks,
                cd,
            ));
        }
        out.push(finding(
            FindingCode::MinLinks,
            format!(
                "min-links {} needs {} members Collecting and Distributing; {cd} of {total} are",
                new.min_links, new.min_links
            ),
            vec![format!(
                "{cd} distributing, min-links {} now",
                cur.min_links
            )],
            fix,
        ));
    }
    out
}
