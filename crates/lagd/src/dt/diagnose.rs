//! `lagctl diagnose` for a distributed aggregation: the Distributed Trunking checks of seed
//! 000's troubleshooting list (same domain on both switches, consistent configuration —
//! system priority, keys, speed, MTU —, the peer link and keepalive up), each with its fix.

use lagd_agg::diagnose::{Finding, FindingCode, Severity};
use lagd_dt::{DownReason, PeerState};

use super::DtView;

fn finding(
    severity: Severity,
    code: FindingCode,
    problem: String,
    evidence: Vec<String>,
    fix: Vec<String>,
) -> Finding {
    Finding {
        severity,
        code,
        member: None,
        problem,
        evidence,
        fix,
    }
}

/// The DT findings for aggregation `name`, marked distributed; `view` is the DT runtime's
/// status, `None` when no DT domain runs.
pub fn dt_findings(name: &str, view: Option<&DtView>) -> Vec<Finding> {
    let Some(v) = view else {
        return vec![finding(
            Severity::Error,
            FindingCode::DtNoDomain,
            format!(
                "{name} is marked distributed, but no Distributed Trunking domain is configured"
            ),
            vec!["no [dt] table in the configuration".into()],
            vec![format!(
                "lagctl create-dt-domain --domain-id ID --peer-link IF --keepalive IF   (on both switches), or set distributed = false on {name}"
            )],
        )];
    };
    let st = &v.status;
    let mut out = Vec::new();
    let links = vec![
        format!(
            "peer link {}: {}",
            v.peer_link,
            if st.peer_link_up {
                "delivering the peer's PDUs"
            } else {
                "silent"
            }
        ),
        match &v.keepalive {
            Some(k) => format!(
                "keepalive {k}: {}",
                if st.keepalive_up {
                    "arriving"
                } else {
                    "silent"
                }
            ),
            None => "no keepalive path".into(),
        },
    ];
    if let Some(other) = st.foreign_domain {
        out.push(finding(
            Severity::Error,
            FindingCode::DtDomainMismatch,
            format!(
                "the switch on the peer link is in DT domain {other}, this one in domain {}",
                st.domain_id
            ),
            links.clone(),
            vec![format!(
                "configure the same domain id on both switches (lagctl create-dt-domain --domain-id {} ... on the other switch)",
                st.domain_id
            )],
        ));
    }
    match st.state {
        PeerState::Up => {}
        PeerState::Init => out.push(finding(
            Severity::Warning,
            FindingCode::DtPeer,
            "waiting for the DT peer: ports are held down until it is found or the init delay ends"
                .into(),
            links.clone(),
            vec![format!("check that lagd runs on the other switch with the same domain, cabled on {}", v.peer_link)],
        )),
        PeerState::Alone if st.foreign_domain.is_none() => out.push(finding(
            Severity::Warning,
            FindingCode::DtPeer,
            "no DT peer: the peer link and the keepalive are silent, this switch acts alone (the server keeps only the links to this switch)".into(),
            links.clone(),
            vec![
                format!("check the other switch and its lagd, and the cabling of {}", v.peer_link),
                "lagctl show distributed-trunk status   (on both switches)".into(),
            ],
        )),
        PeerState::Alone => {}
        PeerState::PeerLinkDown | PeerState::SplitBrain => out.push(finding(
            Severity::Error,
            FindingCode::DtSplitBrain,
            format!(
                "the peer link {} is down while the peer is alive (split brain): the secondary gives way, the server keeps only the primary's links",
                v.peer_link
            ),
            links.clone(),
            vec![format!("restore the peer link {} (carrier, cabling)", v.peer_link)],
        )),
    }
    if v.keepalive.is_none() {
        out.push(finding(
            Severity::Info,
            FindingCode::DtNoKeepalive,
            "no keepalive path: a peer-link failure looks like a dead peer, and both switches would forward".into(),
            vec![],
            vec!["add a keepalive link (lagctl create-dt-domain ... --keepalive IF)".into()],
        ));
    }
    if v.peer_filter.mode == "flood control" {
        out.push(finding(
            Severity::Warning,
            FindingCode::DtPeerFilterFallback,
            "the peer-link egress filter could not be attached: lagd falls back to flood control, and while some DT aggregation has no live member here, hosts of other aggregations may receive a flooded frame twice".into(),
            vec![format!(
                "peer filter: {}, flooding onto the peer link {}",
                v.peer_filter.mode,
                if v.peer_filter.flooding { "on" } else { "off" }
            )],
            vec!["run Linux 6.6 or later with BPF enabled (tcx egress hook); lagd's log names the failing bpf() call".into()],
        ));
    }
    for a in st.aggregations.iter().filter(|a| a.config.name == name) {
        if !a.diffs.is_empty() {
            out.push(finding(
                Severity::Error,
                FindingCode::DtMismatch,
                format!("{name}'s configuration differs from the DT peer's"),
                a.diffs
                    .iter()
                    .map(|d| format!("{}: here {}, peer {}", d.field, d.local, d.peer))
                    .collect(),
                vec!["make the aggregation identical on both switches (system priority, key, LACP mode and timer, MTU, member speed), e.g. lagctl modify-aggr ... on the secondary".into()],
            ));
        }
        if !a.decision.ports_enabled {
            let why = a
                .decision
                .reason
                .map_or("held down".to_string(), |r| r.to_string());
            let severity = if a.decision.reason == Some(DownReason::Init) {
                Severity::Warning
            } else {
                Severity::Error
            };
            out.push(finding(
                severity,
                FindingCode::DtPortsDown,
                format!("this switch's links of {name} are held down: {why}"),
                vec![format!("role {}, state {}", st.role, st.state)],
                vec!["fix the cause above; the links come up by themselves".into()],
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_dt::testing::Pair;
    use lagd_dt::{DtAggrConfig, DtConfig};
    use lagd_types::{Duration, MacAddr, SystemId};

    fn view(p: &Pair, i: usize, keepalive: bool) -> DtView {
        DtView {
            status: p.sw[i].status(),
            peer_link: "pl0".into(),
            keepalive: keepalive.then(|| "ka0".to_string()),
            bridge: "br0".into(),
            events: vec![],
            peer_filter: Default::default(),
        }
    }

    fn pair(domain_b: u32, key_b: u16) -> Pair {
        let cfg = |mac: MacAddr, prio: u16, domain: u32| DtConfig {
            domain_id: domain,
            system_mac: mac,
            role_priority: prio,
            incarnation: u32::from(prio) << 16,
            ..DtConfig::default()
        };
        let mut p = Pair::new(
            cfg(MacAddr([2, 0, 0, 0, 0xa, 1]), 10, 7),
            cfg(MacAddr([2, 0, 0, 0, 0xb, 1]), 20, domain_b),
        );
        let shared = SystemId::new(256, MacAddr([2, 0xd7, 0, 0, 0, 1]));
        p.add_aggregation(0, DtAggrConfig::new(1, "trk1", shared));
        let mut b = DtAggrConfig::new(1, "trk1", shared);
        b.key = key_b;
        p.add_aggregation(1, b);
        p.run_for(Duration::from_secs(5));
        p
    }

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|x| x.code).collect()
    }

    #[test]
    fn healthy_pair_has_no_finding_and_no_domain_is_an_error() {
        let p = pair(7, 1);
        assert!(dt_findings("trk1", Some(&view(&p, 1, true))).is_empty());
        assert_eq!(
            codes(&dt_findings("trk1", None)),
            vec![FindingCode::DtNoDomain]
        );
        assert_eq!(
            codes(&dt_findings("trk1", Some(&view(&p, 1, false)))),
            vec![FindingCode::DtNoKeepalive]
        );
        let mut v = view(&p, 1, true);
        v.peer_filter.mode = "flood control".into();
        let f = dt_findings("trk1", Some(&v));
        assert_eq!(codes(&f), vec![FindingCode::DtPeerFilterFallback]);
        assert!(f[0].fix[0].contains("6.6"), "{f:?}");
    }

    #[test]
    fn key_mismatch_and_domain_mismatch_are_explained() {
        let p = pair(7, 42);
        let f = dt_findings("trk1", Some(&view(&p, 1, true)));
        assert_eq!(
            codes(&f),
            vec![FindingCode::DtMismatch, FindingCode::DtPortsDown]
        );
        assert!(
            f[0].evidence.iter().any(|e| e.contains("here 42, peer 1")),
            "{f:?}"
        );
        let p = pair(8, 1);
        let f = dt_findings("trk1", Some(&view(&p, 1, true)));
        assert_eq!(
            codes(&f),
            vec![FindingCode::DtDomainMismatch, FindingCode::DtPortsDown]
        );
        assert!(f[0].problem.contains("domain 7"), "{f:?}");
    }

    #[test]
    fn split_brain_and_dead_peer_are_told_apart() {
        let mut p = pair(7, 1);
        p.cut_peer_link();
        p.run_for(Duration::from_secs(10));
        let f = dt_findings("trk1", Some(&view(&p, 1, true)));
        assert!(codes(&f).contains(&FindingCode::DtSplitBrain), "{f:?}");
        p.set_keepalive(false);
        p.run_for(Duration::from_secs(10));
        let f = dt_findings("trk1", Some(&view(&p, 1, true)));
        assert_eq!(codes(&f), vec![FindingCode::DtPeer], "{f:?}");
    }
}
