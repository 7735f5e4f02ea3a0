//! Distributed Trunking, the checks of seed 000's troubleshooting list: the same domain on both
//! switches, consistent configuration (system priority, keys, LACP mode and timer, MTU, speed),
//! the peer link and the keepalive up, the peer-link filter in place.

use lagd_dt::{AuthError, DiffField, DownReason, DtStatus, PeerState, RefuseReason};
use serde::{Deserialize, Serialize};

use super::{Change, Ctx, FindingCode, Fix, Setting, Severity, View, Where};

/// What the caller knows of its Distributed Trunking domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DtFacts {
    /// The DT core's status.
    pub status: DtStatus,
    /// The peer link's interface.
    pub peer_link: String,
    /// The keepalive's interface, if any.
    pub keepalive: Option<String>,
    /// The peer-link egress filter could not be attached: flood control is in force.
    pub flood_control: bool,
    /// The bridge floods onto the peer link.
    pub flooding: bool,
}

/// The setting a DT consistency difference is about, when it is one of ours.
fn setting_of(field: DiffField) -> Option<Setting> {
    match field {
        DiffField::SystemPriority => Some(Setting::SystemPriority),
        DiffField::Key => Some(Setting::Key),
        DiffField::LacpMode => Some(Setting::LacpMode),
        DiffField::LacpTimer => Some(Setting::LacpTimer),
        DiffField::Mtu => Some(Setting::Mtu),
        _ => None,
    }
}

pub(crate) fn check(cx: &mut Ctx<'_, '_>, facts: Option<&DtFacts>) {
    let name = cx.input.name;
    for f in findings(name, facts) {
        cx.out.push(f);
    }
}

/// The DT findings for aggregation `name`, marked distributed; `facts` is `None` when no DT
/// domain runs.
pub fn findings(name: &str, facts: Option<&DtFacts>) -> Vec<super::Finding> {
    let mut out = Findings(Vec::new());
    let Some(v) = facts else {
        no_domain(&mut out, name);
        return out.0;
    };
    let links = link_evidence(v);
    pairing(&mut out, v, &links);
    paths(&mut out, v);
    security(&mut out, v);
    mac_sync(&mut out, &v.status);
    aggregation(&mut out, name, &v.status);
    out.0
}

/// The findings so far.
struct Findings(Vec<super::Finding>);

impl Findings {
    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        problem: String,
        evidence: Vec<String>,
        fix: Vec<Fix>,
    ) {
        self.0.push(super::Finding {
            severity,
            code,
            member: None,
            problem,
            evidence,
            fix,
        })
    }
}

/// Marked distributed, with no DT domain.
fn no_domain(out: &mut Findings, name: &str) {
    out.push(
        Severity::Error,
        FindingCode::DtNoDomain,
        format!("{name} is marked distributed, but no Distributed Trunking domain is configured"),
        vec!["no [dt] table in the configuration".into()],
        vec![
            Fix::change(
                "create the DT domain, with its peer link and keepalive",
                Change::CreateDtDomain { domain_id: None },
            )
            .on(Where::BothSwitches),
            Fix::set(
                "or make the aggregation an ordinary one",
                Setting::Distributed,
                false,
            ),
        ],
    );
}

/// What the peer link and the keepalive show: the evidence of the pairing findings.
fn link_evidence(v: &DtFacts) -> Vec<String> {
    let st: &DtStatus = &v.status;
    vec![
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
    ]
}

/// The peer: the same domain, found, not split.
fn pairing(out: &mut Findings, v: &DtFacts, links: &[String]) {
    let st: &DtStatus = &v.status;
    if let Some(other) = st.foreign_domain {
        out.push(
            Severity::Error,
            FindingCode::DtDomainMismatch,
            format!(
                "the switch on the peer link is in DT domain {other}, this one in domain {}",
                st.domain_id
            ),
            links.to_vec(),
            vec![
                Fix::change(
                    "configure the same domain id on the other switch",
                    Change::CreateDtDomain {
                        domain_id: Some(st.domain_id),
                    },
                )
                .on(Where::DtPeer),
            ],
        );
    }
    match st.state {
        PeerState::Up => {}
        PeerState::Init => out.push(
            Severity::Warning,
            FindingCode::DtPeer,
            "waiting for the DT peer: ports are held down until it is found or the init delay ends"
                .into(),
            links.to_vec(),
            vec![Fix::text(format!(
                "check that lagd runs on the other switch with the same domain, cabled on {}",
                v.peer_link
            ))],
        ),
        PeerState::Alone if st.foreign_domain.is_none() => out.push(
            Severity::Warning,
            FindingCode::DtPeer,
            "no DT peer: the peer link and the keepalive are silent, this switch acts alone (the \
             server keeps only the links to this switch)"
                .into(),
            links.to_vec(),
            vec![
                Fix::text(format!(
                    "check the other switch and its lagd, and the cabling of {}",
                    v.peer_link
                )),
                Fix::show("compare both switches", View::DtStatus).on(Where::BothSwitches),
            ],
        ),
        PeerState::Alone => {}
        PeerState::PeerLinkDown | PeerState::SplitBrain => out.push(
            Severity::Error,
            FindingCode::DtSplitBrain,
            format!(
                "the peer link {} is down while the peer is alive (split brain): the secondary \
                 gives way, the server keeps only the primary's links",
                v.peer_link
            ),
            links.to_vec(),
            vec![Fix::text(format!(
                "restore the peer link {} (carrier, cabling)",
                v.peer_link
            ))],
        ),
    }
}

/// The keepalive path and the peer-link filter.
fn paths(out: &mut Findings, v: &DtFacts) {
    if v.keepalive.is_none() {
        out.push(
            Severity::Info,
            FindingCode::DtNoKeepalive,
            "no keepalive path: a peer-link failure looks like a dead peer, and both switches \
             would forward"
                .into(),
            vec![],
            vec![Fix::text(
                "add a keepalive link to the DT domain (create-dt-domain --keepalive)",
            )],
        );
    }
    if v.flood_control {
        out.push(
            Severity::Warning,
            FindingCode::DtPeerFilterFallback,
            "the peer-link egress filter could not be attached: lagd falls back to flood \
             control, and while some DT aggregation has no live member here, hosts of other \
             aggregations may receive a flooded frame twice"
                .into(),
            vec![format!(
                "peer filter: flood control, flooding onto the peer link {}",
                if v.flooding { "on" } else { "off" }
            )],
            vec![Fix::text(
                "run Linux 6.6 or later with BPF enabled (tcx egress hook); lagd's log names the \
                 failing bpf() call",
            )],
        );
    }
}

/// DT frames refused: from a stranger, or failing authentication.
fn security(out: &mut Findings, v: &DtFacts) {
    let st: &DtStatus = &v.status;
    let sec = &st.security;
    let refused = sec.last_refused.filter(|r| {
        matches!(
            r.reason,
            RefuseReason::Stranger { .. } | RefuseReason::Auth(_)
        )
    });
    if st.counters.rx_stranger > 0
        && let Some(r) = refused.filter(|r| matches!(r.reason, RefuseReason::Stranger { .. }))
    {
        let pinned = sec.pinned.map_or("none".to_string(), |m| m.to_string());
        out.push(
            Severity::Warning,
            FindingCode::DtRefusedPeer,
            format!(
                "DT frames from another switch than the peer were refused ({} so far): a stranger or a replaced peer switch",
                st.counters.rx_stranger
            ),
            vec![
                format!(
                    "peer held: {pinned}{}",
                    if sec.pinned_by_config {
                        " (peer_mac)"
                    } else {
                        " (the first peer the pair formed with)"
                    }
                ),
                format!("last refused: {} on the {}", r.mac, r.path),
            ],
            vec![
                Fix::text(format!(
                    "if {} is the peer switch's new MAC (replaced hardware), set [dt] peer_mac to it and reload, or restart lagd; otherwise find the host sending DT frames on {}",
                    r.mac, v.peer_link
                )),
                Fix::text(
                    "set a shared [dt] key_file on both switches so that only the peer is heard",
                )
                .on(Where::BothSwitches),
            ],
        );
    }
    if st.counters.rx_auth_failed > 0
        && let Some(r) = refused.filter(|r| matches!(r.reason, RefuseReason::Auth(_)))
    {
        let fix = match r.reason {
            RefuseReason::Auth(
                AuthError::KeyId { .. } | AuthError::Missing | AuthError::Unexpected,
            ) => Fix::text("give both switches the same [dt] key_file (or none on both)")
                .on(Where::BothSwitches),
            _ => Fix::text(format!(
                "frames that fail the key are forged or altered: find who sends DT frames on the {}",
                r.path
            )),
        };
        out.push(
            if st.state == PeerState::Up {
                Severity::Warning
            } else {
                Severity::Error
            },
            FindingCode::DtAuthFailed,
            format!(
                "DT frames failed authentication ({} so far)",
                st.counters.rx_auth_failed
            ),
            vec![format!(
                "last: from {} on the {}: {}",
                r.mac, r.path, r.reason
            )],
            vec![fix],
        );
    }
}

/// The peer's MAC addresses: the sync table full.
fn mac_sync(out: &mut Findings, st: &DtStatus) {
    if st.mac_sync.full || st.mac_sync.overflow > 0 {
        out.push(
            Severity::Warning,
            FindingCode::DtMacSyncFull,
            format!(
                "the peer's MAC sync table {} its limit of {}: {} of the peer's addresses were not installed (frames to them are flooded)",
                if st.mac_sync.full { "is at" } else { "reached" },
                st.mac_sync.limit,
                st.mac_sync.overflow
            ),
            vec![format!(
                "{} peer addresses held, {} installed",
                st.macs_peer, st.macs_installed
            )],
            vec![Fix::text(
                "raise [dt] mac_sync_limit (memory: about 100 bytes an address), or reduce the hosts behind the DT aggregations",
            )],
        );
    }
}

/// Aggregation `name` in the domain: configured as the peer's, its ports up.
fn aggregation(out: &mut Findings, name: &str, st: &DtStatus) {
    for a in st.aggregations.iter().filter(|a| a.config.name == name) {
        if !a.diffs.is_empty() {
            let mut fix: Vec<Fix> = a
                .diffs
                .iter()
                .filter_map(|d| {
                    let s = setting_of(d.field)?;
                    Some(Fix::set(
                        format!("match the peer's {}", d.field),
                        s,
                        &d.peer,
                    ))
                })
                .collect();
            fix.push(Fix::text(
                "make the aggregation identical on both switches (system priority, key, LACP \
                 mode and timer, MTU, member speed)",
            ));
            out.push(
                Severity::Error,
                FindingCode::DtMismatch,
                format!("{name}'s configuration differs from the DT peer's"),
                a.diffs
                    .iter()
                    .map(|d| format!("{}: here {}, peer {}", d.field, d.local, d.peer))
                    .collect(),
                fix,
            );
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
            out.push(
                severity,
                FindingCode::DtPortsDown,
                format!("this switch's links of {name} are held down: {why}"),
                vec![format!("role {}, state {}", st.role, st.state)],
                vec![Fix::text(
                    "fix the cause above; the links come up by themselves",
                )],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_dt::testing::Pair;
    use lagd_dt::{DtAggrConfig, DtConfig};
    use lagd_types::{Duration, MacAddr, SystemId};

    fn facts(p: &Pair, i: usize, keepalive: bool) -> DtFacts {
        DtFacts {
            status: p.sw[i].status(),
            peer_link: "pl0".into(),
            keepalive: keepalive.then(|| "ka0".to_string()),
            flood_control: false,
            flooding: true,
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

    fn codes(f: &[super::super::Finding]) -> Vec<FindingCode> {
        f.iter().map(|x| x.code).collect()
    }

    #[test]
    fn healthy_pair_has_no_finding_and_no_domain_is_an_error() {
        let p = pair(7, 1);
        assert!(findings("trk1", Some(&facts(&p, 1, true))).is_empty());
        let none = findings("trk1", None);
        assert_eq!(codes(&none), vec![FindingCode::DtNoDomain]);
        assert_eq!(none[0].fix[1].sets(), Some((Setting::Distributed, "false")));
        assert_eq!(
            codes(&findings("trk1", Some(&facts(&p, 1, false)))),
            vec![FindingCode::DtNoKeepalive]
        );
        let mut v = facts(&p, 1, true);
        v.flood_control = true;
        let f = findings("trk1", Some(&v));
        assert_eq!(codes(&f), vec![FindingCode::DtPeerFilterFallback]);
        assert!(f[0].fix[0].text.contains("6.6"), "{f:?}");
    }

    #[test]
    fn refused_peers_failed_authentication_and_a_full_mac_table_are_reported() {
        let mut p = pair(7, 1);
        // A stranger's PDU (a third switch) on A's peer link.
        let stranger = DtConfig {
            domain_id: 7,
            system_mac: MacAddr([2, 0, 0, 0, 5, 1]),
            ..DtConfig::default()
        };
        let mut s = lagd_dt::Dt::new(p.now, stranger).unwrap();
        s.handle_timeout(p.now);
        let f = std::iter::from_fn(|| s.poll_transmit())
            .find(|t| t.path == lagd_dt::DtPath::PeerLink)
            .unwrap()
            .frame;
        p.inject(0, lagd_dt::DtPath::PeerLink, &f).unwrap();
        let out = findings("trk1", Some(&facts(&p, 0, true)));
        assert_eq!(codes(&out), vec![FindingCode::DtRefusedPeer], "{out:?}");
        assert!(out[0].evidence[1].contains("02:00:00:00:05:01"), "{out:?}");
        // A keyed frame at an unkeyed switch: authentication fails, named.
        let keyed = DtConfig {
            key: Some(lagd_dt::DtKey::new(b"0123456789abcdef").unwrap()),
            ..DtConfig {
                domain_id: 7,
                system_mac: MacAddr([2, 0, 0, 0, 0xb, 1]),
                ..DtConfig::default()
            }
        };
        let mut k = lagd_dt::Dt::new(p.now, keyed).unwrap();
        k.handle_timeout(p.now);
        let f = std::iter::from_fn(|| k.poll_transmit())
            .find(|t| t.path == lagd_dt::DtPath::PeerLink)
            .unwrap()
            .frame;
        p.inject(0, lagd_dt::DtPath::PeerLink, &f).unwrap();
        let out = findings("trk1", Some(&facts(&p, 0, true)));
        assert!(codes(&out).contains(&FindingCode::DtAuthFailed), "{out:?}");
        // A full MAC table.
        let mut v = facts(&p, 1, true);
        v.status.mac_sync.full = true;
        v.status.mac_sync.overflow = 12;
        let out = findings("trk1", Some(&v));
        assert_eq!(codes(&out), vec![FindingCode::DtMacSyncFull]);
        assert!(out[0].fix[0].text.contains("mac_sync_limit"));
    }

    #[test]
    fn key_mismatch_and_domain_mismatch_are_explained() {
        let p = pair(7, 42);
        let f = findings("trk1", Some(&facts(&p, 1, true)));
        assert_eq!(
            codes(&f),
            vec![FindingCode::DtMismatch, FindingCode::DtPortsDown]
        );
        assert!(
            f[0].evidence.iter().any(|e| e.contains("here 42, peer 1")),
            "{f:?}"
        );
        assert_eq!(f[0].fix[0].sets(), Some((Setting::Key, "1")), "{f:?}");
        let p = pair(8, 1);
        let f = findings("trk1", Some(&facts(&p, 1, true)));
        assert_eq!(
            codes(&f),
            vec![FindingCode::DtDomainMismatch, FindingCode::DtPortsDown]
        );
        assert!(f[0].problem.contains("domain 7"), "{f:?}");
        assert_eq!(
            f[0].fix[0].change,
            Some(Change::CreateDtDomain { domain_id: Some(8) })
        );
    }

    #[test]
    fn split_brain_and_dead_peer_are_told_apart() {
        let mut p = pair(7, 1);
        p.cut_peer_link();
        p.run_for(Duration::from_secs(10));
        let f = findings("trk1", Some(&facts(&p, 1, true)));
        assert!(codes(&f).contains(&FindingCode::DtSplitBrain), "{f:?}");
        p.set_keepalive(false);
        p.run_for(Duration::from_secs(10));
        let f = findings("trk1", Some(&facts(&p, 1, true)));
        assert_eq!(codes(&f), vec![FindingCode::DtPeer], "{f:?}");
    }
}
