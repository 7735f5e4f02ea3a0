//! Churn Detection: a partner that never synchronises is in churn after 60 s.

use crate::common::*;
use lagd_lacp::testing::Harness;
use lagd_lacp::{ChurnState, EventKind};
use lagd_types::{Duration, Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::LacpInfo;

#[test]
fn standby_link_churns_after_60s_on_both_sides() {
    let mut cb = sys(2);
    cb.max_active = Some(1);
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(cb);
    let pa = add_ports(&mut h, a, 1, 2);
    let pb = add_ports(&mut h, b, 2, 2);
    h.connect(pa[0], pb[0]);
    h.connect(pa[1], pb[1]);
    h.run_for(Duration::from_secs(59));
    assert_eq!(h.port(pa[1]).partner_churn, ChurnState::ChurnMonitor);
    h.run_for(Duration::from_secs(5));
    let churn_at = h
        .events(a, |e| e.port == Some(2))
        .find(|e| e.kind == EventKind::PartnerChurn(ChurnState::Churn))
        .map(|e| e.at)
        .expect("partner churn on A's port 2");
    assert_eq!(churn_at, Instant::from_secs(60));
    assert_eq!(h.port(pa[1]).partner_churn, ChurnState::Churn);
    assert_eq!(
        h.port(pb[1]).actor_churn,
        ChurnState::Churn,
        "B's standby port"
    );
    // The working link has no churn.
    assert_eq!(h.port(pa[0]).partner_churn, ChurnState::NoChurn);
    assert_eq!(h.port(pa[0]).actor_churn, ChurnState::NoChurn);
    assert!(!h.saw(a, |k| *k == EventKind::ActorChurn(ChurnState::Churn)));
}

#[test]
fn partner_always_out_of_sync_churns_and_recovers() {
    let mut l = single(sys(1), 1);
    let partner = |sync: bool| LacpInfo {
        system: SystemId::new(1, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(1, 1),
        state: PortState(0x07).with(PortState::SYNCHRONIZATION, sync),
    };
    let mut sent = Vec::new();
    for s in 0..70u64 {
        let now = Instant::from_secs(s);
        drive(&mut l, now, now, &mut sent);
        let us = l.port(1).unwrap().actor;
        l.handle_frame(now, 1, &lacpdu_frame(partner(false), us))
            .unwrap();
    }
    let events: Vec<_> = std::iter::from_fn(|| l.poll_event()).collect();
    let churn = events
        .iter()
        .find(|e| e.kind == EventKind::PartnerChurn(ChurnState::Churn))
        .expect("partner churn");
    assert_eq!(churn.at, Instant::from_secs(60));
    // The actor itself attached (in sync): no actor churn.
    assert_eq!(l.port(1).unwrap().actor_churn, ChurnState::NoChurn);
    let now = Instant::from_secs(70);
    let us = l.port(1).unwrap().actor;
    l.handle_frame(now, 1, &lacpdu_frame(partner(true), us))
        .unwrap();
    assert_eq!(l.port(1).unwrap().partner_churn, ChurnState::NoChurn);
}

/// §6.4.17: a port that goes down (port_enabled FALSE) enters ACTOR_CHURN_MONITOR and
/// PARTNER_CHURN_MONITOR from NO_*_CHURN, once each.
#[test]
fn a_port_going_down_enters_churn_monitor() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.port(a[0]).actor_churn, ChurnState::NoChurn);
    assert_eq!(h.port(a[0]).partner_churn, ChurnState::NoChurn);
    h.log.clear();
    h.cut(0);
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.port(a[0]).actor_churn, ChurnState::ChurnMonitor);
    assert_eq!(h.port(a[0]).partner_churn, ChurnState::ChurnMonitor);
    let churn: Vec<_> = h
        .events(0, |e| {
            matches!(
                e.kind,
                EventKind::ActorChurn(_) | EventKind::PartnerChurn(_)
            )
        })
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(
        churn,
        [
            EventKind::ActorChurn(ChurnState::ChurnMonitor),
            EventKind::PartnerChurn(ChurnState::ChurnMonitor)
        ]
    );
}

/// §6.4.17: a port in sync whose partner then stays out of sync (B makes it Standby with
/// max_active) goes NO_PARTNER_CHURN → PARTNER_CHURN_MONITOR at once and PARTNER_CHURN
/// Churn_Detection_Time (60 s) later.
#[test]
fn a_partner_that_falls_out_of_sync_churns_after_60s() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.port(a[1]).partner_churn, ChurnState::NoChurn);
    let now = h.now;
    let mut cb = sys(2);
    cb.max_active = Some(1);
    h.lacp_mut(1).set_config(now, cb).unwrap();
    h.drain();
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.port(a[1]).partner_churn, ChurnState::ChurnMonitor);
    h.run_for(Duration::from_secs(58));
    assert_eq!(h.port(a[1]).partner_churn, ChurnState::ChurnMonitor);
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.port(a[1]).partner_churn, ChurnState::Churn);
    assert_eq!(h.port(a[0]).partner_churn, ChurnState::NoChurn);
}
