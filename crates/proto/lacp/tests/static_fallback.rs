//! Mode Off (static trunk) against an active LACP System, with and without fallback.

mod common;

use common::*;
use lagd_lacp::{EventKind, FallbackConfig, FallbackKind, LacpActivity, LacpTimeout, ReceiveState};
use lagd_types::Duration;

fn static_sys(id: u8) -> lagd_lacp::SystemConfig {
    sys_with(id, LacpActivity::Off, LacpTimeout::Short)
}

fn with_fallback(kind: FallbackKind) -> lagd_lacp::SystemConfig {
    let mut c = sys(1);
    c.fallback = Some(FallbackConfig {
        timeout: Duration::from_secs(5),
        kind,
    });
    c
}

#[test]
fn static_side_aggregates_without_sending_lacpdus() {
    let (mut h, a, b) = pair(sys(1), static_sys(2), 3);
    h.run_for(Duration::from_secs(10));
    for e in &b {
        assert!(
            h.sent_times(1, e.port, 1).is_empty(),
            "static side sent a LACPDU"
        );
        let st = h.port(*e);
        assert_eq!(st.receive, ReceiveState::LacpDisabled);
        assert!(st.counters.lacpdus_rx > 0, "LACPDUs are counted");
        assert!(h.lacp(1).is_distributing(e.port));
    }
    assert!(h.lacp(1).is_up());
    assert_eq!(h.lacp(1).aggregators().len(), 1);
    // The LACP side has no partner: nothing forwards, and it says why.
    for e in &a {
        assert!(!h.lacp(0).is_distributing(e.port));
        let why = h.port(*e).why_not_distributing.unwrap();
        assert!(why.contains("no LACPDU received from the partner"), "{why}");
    }
    assert!(!h.lacp(0).is_up());
    assert!(!h.lacp(0).status().fallback_active);
}

#[test]
fn fallback_one_member_forwards_on_exactly_one_port() {
    let (mut h, a, _b) = pair(with_fallback(FallbackKind::OneMember), static_sys(2), 3);
    h.run_for(Duration::from_secs(4));
    assert!(h.lacp(0).distributing_ports().is_empty(), "too early");
    let t = h
        .run_until_cond(Duration::from_secs(10), |h| h.lacp(0).is_up())
        .expect("fallback forms");
    assert!(t <= secs(5 + 3), "fallback up at {t}");
    h.run_for(Duration::from_secs(30));
    assert_eq!(h.lacp(0).distributing_ports(), vec![1]);
    let st = h.lacp(0).status();
    assert!(st.fallback_active && st.up);
    let reason = st.fallback_reason.unwrap();
    assert_eq!(
        reason,
        "no LACPDU received on any member for 5s: partner runs no LACP (static switch?)"
    );
    assert!(st.ports[0].fallback && !st.ports[1].fallback);
    assert!(h.saw(0, |k| matches!(k, EventKind::FallbackEntered { .. })));
    // The chosen member fails: another takes its place.
    h.cut(0);
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.lacp(0).distributing_ports(), vec![2]);
    assert!(h.port(a[2]).why_not_distributing.is_some());
}

#[test]
fn fallback_static_forwards_on_all_ports_and_leaves_on_first_lacpdu() {
    let (mut h, a, b) = pair(with_fallback(FallbackKind::Static), static_sys(2), 3);
    h.run_for(Duration::from_secs(10));
    assert_eq!(h.lacp(0).distributing_ports(), vec![1, 2, 3]);
    assert!(h.lacp(0).status().fallback_active);
    // The switch is configured for LACP: fallback ends at once and LACP forms.
    let now = h.now;
    h.lacp_mut(1).set_config(now, sys(2)).unwrap();
    h.drain();
    h.run_for(Duration::from_millis(10));
    assert!(!h.lacp(0).status().fallback_active);
    assert!(h.saw(0, |k| matches!(k, EventKind::FallbackLeft)));
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(t - now <= Duration::from_secs(4), "took {}", t - now);
    assert_eq!(h.port(a[0]).receive, ReceiveState::Current);
    assert_eq!(h.port(a[0]).partner.system, sys(2).system);
    assert!(!h.lacp(0).status().fallback_active);
}

#[test]
fn fallback_not_entered_with_a_lacp_partner() {
    let (mut h, a, b) = pair(with_fallback(FallbackKind::OneMember), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(60));
    assert!(!h.saw(0, |k| matches!(k, EventKind::FallbackEntered { .. })));
    assert_eq!(h.lacp(0).distributing_ports(), vec![1, 2]);
}
