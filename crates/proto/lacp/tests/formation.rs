//! Forming an aggregation: active/active, active/passive, passive/passive, independent control,
//! restart of both ends.

use crate::common::*;
use lagd_lacp::{
    EventKind, LacpActivity, LacpTimeout, MuxState, ReceiveState, Selected, SystemConfig,
};
use lagd_types::{Duration, Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::LacpInfo;

/// Aggregate_Wait_Time is the System's `aggregate_wait`: the aggregation forms that much later
/// (no port of a new aggregation attaches before the wait_while_timer has run).
#[test]
fn aggregate_wait_is_the_configured_time() {
    let formed = |wait: u64| {
        let cfg = |id| SystemConfig {
            aggregate_wait: Duration::from_secs(wait),
            ..sys(id)
        };
        let (mut h, a, b) = pair(cfg(1), cfg(2), 2);
        until_all_distributing(&mut h, &a, &b, Duration::from_secs(20))
    };
    let (t0, t2, t5) = (formed(0), formed(2), formed(5));
    // Without waiting, the LACPDU exchange alone sets the pace.
    assert!(t0 < t2 && t0 <= secs(2), "formed at {t0}, {t2} with 2s");
    assert!(t2 >= secs(2), "formed at {t2}");
    assert_eq!(t5 - t2, Duration::from_secs(3), "formed at {t2} and {t5}");
}

#[test]
fn active_active_forms_within_wait_while_plus_one_second() {
    let (mut h, a, b) = pair(sys(1), sys(2), 4);
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(t <= secs(3), "formed at {t}");
    assert!(h.lacp(0).is_up() && h.lacp(1).is_up());
    for s in [0, 1] {
        let aggs = h.lacp(s).aggregators();
        assert_eq!(aggs.len(), 1, "{aggs:?}");
        assert_eq!(aggs[0].ports, vec![1, 2, 3, 4]);
        assert!(aggs[0].active && aggs[0].up && !aggs[0].individual);
        assert_eq!(h.lacp(s).distributing_ports(), vec![1, 2, 3, 4]);
    }
    let p = h.port(a[0]);
    assert_eq!(p.receive, ReceiveState::Current);
    assert_eq!(p.mux, MuxState::CollectingDistributing);
    assert_eq!(p.partner.system, sys(2).system);
    assert_eq!(p.actor.state.bits(), 0x3f, "{}", p.actor.state);
    assert!(p.why_not_distributing.is_none());
    assert!(h.saw(0, |k| matches!(k, EventKind::AggregateUp)));
    // Stable afterwards: nothing flaps for a minute.
    let n = h.log.len();
    h.run_for(Duration::from_secs(60));
    assert!(
        !h.log[n..].iter().any(|(_, e)| matches!(
            e.kind,
            EventKind::Mux { .. } | EventKind::Selection { .. } | EventKind::AggregateDown { .. }
        )),
        "flapped"
    );
}

#[test]
fn active_passive_forms_within_three_seconds() {
    let (mut h, a, b) = pair(
        sys(1),
        sys_with(2, LacpActivity::Passive, LacpTimeout::Short),
        2,
    );
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(t <= secs(3), "formed at {t}");
    // The passive side answers at the rate the active side asks for.
    assert!(h.port(b[0]).partner.state.activity());
    assert!(!h.port(b[0]).actor.state.activity());
}

#[test]
fn passive_passive_never_forms_and_says_why() {
    let p = |id| sys_with(id, LacpActivity::Passive, LacpTimeout::Short);
    let (mut h, a, _b) = pair(p(1), p(2), 2);
    h.run_for(Duration::from_secs(30));
    assert!(
        h.sent.is_empty(),
        "a passive/passive pair sent {:?}",
        h.sent[0]
    );
    let st = h.port(a[0]);
    assert!(!h.lacp(0).is_distributing(1));
    assert!(!h.lacp(0).is_up());
    assert_eq!(st.receive, ReceiveState::Defaulted);
    let why = st.why_not_distributing.unwrap();
    assert!(
        why.contains("partner is passive and we are passive"),
        "{why}"
    );
}

#[test]
fn independent_control_goes_collecting_then_distributing() {
    let mut a = sys(1);
    a.coupled_control = false;
    let mut b = sys(2);
    b.coupled_control = false;
    let (mut h, pa, pb) = pair(a, b, 2);
    until_all_distributing(&mut h, &pa, &pb, Duration::from_secs(5));
    let muxes: Vec<(MuxState, MuxState)> = h
        .events(0, |e| e.port == Some(1))
        .filter_map(|e| match e.kind {
            EventKind::Mux { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    let i_att = muxes
        .iter()
        .position(|m| m.1 == MuxState::Attached)
        .unwrap();
    let i_col = muxes
        .iter()
        .position(|m| m.1 == MuxState::Collecting)
        .unwrap();
    let i_dis = muxes
        .iter()
        .position(|m| m.1 == MuxState::Distributing)
        .unwrap();
    assert!(i_att < i_col && i_col < i_dis, "{muxes:?}");
    assert!(
        !muxes
            .iter()
            .any(|m| m.1 == MuxState::CollectingDistributing)
    );
    assert_eq!(h.port(pa[0]).mux, MuxState::Distributing);
    assert!(h.lacp(0).is_up());
}

#[test]
fn both_ends_restart_and_reform() {
    let (mut h, a, b) = pair(sys(1), sys(2), 3);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(20));
    h.restart(0);
    h.restart(1);
    let t0 = h.now;
    assert!(!h.lacp(0).is_up(), "a fresh engine is not up");
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(
        t - t0 <= Duration::from_secs(3),
        "re-formed after {}",
        t - t0
    );
    assert!(h.lacp(0).is_up() && h.lacp(1).is_up());
    // One end alone restarting also re-forms.
    h.restart(1);
    let t0 = h.now;
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(
        t - t0 <= Duration::from_secs(3),
        "re-formed after {}",
        t - t0
    );
    assert_eq!(h.port(a[0]).selected, Selected::Selected);
}

#[test]
fn live_config_changes() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    // Active → passive: the partner is active, the aggregation stays.
    let now = h.now;
    let mut c = sys(1);
    c.mode = LacpActivity::Passive;
    h.lacp_mut(0).set_config(now, c.clone()).unwrap();
    h.drain();
    h.run_for(Duration::from_secs(5));
    assert!(h.all_distributing(&[a[0], a[1], b[0], b[1]]));
    assert!(!h.port(b[0]).partner.state.activity());
    // A new key: the partner sees another LAG and both sides re-form.
    c.key = 9;
    let now = h.now;
    h.lacp_mut(0).set_config(now, c.clone()).unwrap();
    h.drain();
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(t - now <= Duration::from_secs(3), "took {}", t - now);
    assert_eq!(h.port(b[0]).partner.key, 9);
    // Invalid changes are refused and change nothing.
    c.min_links = 0;
    assert!(h.lacp_mut(0).set_config(now, c).is_err());
    assert_eq!(h.lacp(0).config().key, 9);
    assert_eq!(h.lacp(0).config().min_links, 1);
    // The whole state serializes.
    let s = serde_json::to_string(&h.lacp(0).status()).unwrap();
    assert!(s.contains("\"COLLECTING_DISTRIBUTING\""), "{s}");
}

/// Independent control (§6.4.15, Figure 6-22) driven by a partner's LACPDUs by hand: ATTACHED
/// → COLLECTING when the partner is in sync, DISTRIBUTING only once it collects, back to
/// COLLECTING when it stops collecting; back to COLLECTING then ATTACHED when it reports
/// Collecting and Distributing but not Sync.
#[test]
fn independent_control_follows_the_partners_sync_and_collecting() {
    let cfg = SystemConfig {
        coupled_control: false,
        ..sys(1)
    };
    let mut l = single(cfg, 1);
    let mut now = Instant::ZERO;
    let mut sent = Vec::new();
    let partner = |state: u8| LacpInfo {
        system: SystemId::new(0x8000, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(0x8000, 1),
        state: PortState(state),
    };
    const BASE: u8 = PortState::LACP_ACTIVITY | PortState::LACP_TIMEOUT | PortState::AGGREGATION;
    const SYNC: u8 = PortState::SYNCHRONIZATION;
    const COLL_DIST: u8 = PortState::COLLECTING | PortState::DISTRIBUTING;
    // The partner's LACPDU every 100 ms for 3 s (past Aggregate_Wait_Time), with a true view
    // of us; returns the Mux states the port went through.
    let mut feed = |l: &mut lagd_lacp::Lacp, state: u8| {
        let mut muxes = vec![l.port(1).unwrap().mux];
        for _ in 0..30 {
            now += Duration::from_millis(100);
            drive(l, now, now, &mut sent);
            let view = l.port(1).unwrap().actor;
            l.handle_frame(now, 1, &lacpdu_frame(partner(state), view))
                .unwrap();
            while let Some(e) = l.poll_event() {
                if let EventKind::Mux { to, .. } = e.kind {
                    muxes.push(to);
                }
            }
        }
        muxes
    };
    let muxes = feed(&mut l, BASE | SYNC);
    assert_eq!(l.port(1).unwrap().mux, MuxState::Collecting, "{muxes:?}");
    assert!(l.is_collecting(1) && !l.is_distributing(1));
    let why = |l: &lagd_lacp::Lacp| l.port(1).unwrap().why_not_distributing.unwrap_or_default();
    assert_eq!(why(&l), "collecting; waiting for the partner to collect");
    let muxes = feed(&mut l, BASE | SYNC | COLL_DIST);
    assert_eq!(muxes, [MuxState::Collecting, MuxState::Distributing]);
    // The partner stops collecting, in sync: back to COLLECTING.
    let muxes = feed(&mut l, BASE | SYNC);
    assert_eq!(muxes, [MuxState::Distributing, MuxState::Collecting]);
    let muxes = feed(&mut l, BASE | SYNC | COLL_DIST);
    assert_eq!(muxes, [MuxState::Collecting, MuxState::Distributing]);
    let muxes = feed(&mut l, BASE | COLL_DIST);
    assert_eq!(
        muxes,
        [
            MuxState::Distributing,
            MuxState::Collecting,
            MuxState::Attached
        ]
    );
    assert!(!l.is_collecting(1) && !l.is_distributing(1));
    assert!(why(&l).starts_with("partner not in sync"), "{}", why(&l));
}

/// A port that does not distribute says why as its machines go: WAITING for the Aggregator,
/// then (the partner silent) EXPIRED, before DEFAULTED.
#[test]
fn the_reason_a_port_does_not_distribute_follows_its_machines() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    let why =
        |h: &lagd_lacp::testing::Harness| h.port(a[0]).why_not_distributing.unwrap_or_default();
    // Partner heard (CURRENT), Aggregator selected, wait_while_timer running.
    h.run_until_cond(Duration::from_secs(5), |h| {
        let p = h.port(a[0]);
        p.mux == MuxState::Waiting && p.receive == ReceiveState::Current
    })
    .expect("WAITING");
    assert_eq!(
        why(&h),
        "waiting for the Aggregator to be ready (wait_while_timer)"
    );
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert_eq!(h.port(a[0]).why_not_distributing, None);
    h.silence(0, false, true);
    h.run_until_cond(Duration::from_secs(5), |h| {
        h.port(a[0]).receive == ReceiveState::Expired
    })
    .expect("EXPIRED");
    assert_eq!(
        why(&h),
        "partner's LACPDUs stopped (EXPIRED): waiting for them to resume"
    );
    h.run_until_cond(Duration::from_secs(5), |h| {
        h.port(a[0]).receive == ReceiveState::Defaulted
    })
    .expect("DEFAULTED");
    assert!(why(&h).starts_with("no LACPDU received"), "{}", why(&h));
}

/// Switching between coupled and independent control live: a COLLECTING_DISTRIBUTING port
/// goes through ATTACHED to DISTRIBUTING, and back to COLLECTING_DISTRIBUTING.
#[test]
fn coupled_and_independent_control_switch_live() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    assert_eq!(h.port(a[0]).mux, MuxState::CollectingDistributing);
    for (coupled, want) in [
        (false, MuxState::Distributing),
        (true, MuxState::CollectingDistributing),
    ] {
        let now = h.now;
        let cfg = SystemConfig {
            coupled_control: coupled,
            ..sys(1)
        };
        h.lacp_mut(0).set_config(now, cfg).unwrap();
        h.run_for(Duration::from_secs(3));
        let p = h.port(a[0]);
        assert_eq!(p.mux, want, "coupled_control {coupled}");
        assert!(
            h.all_distributing(&[a[0], b[0]]),
            "coupled_control {coupled}"
        );
    }
}

/// recordPDU (§6.4.9): the partner's Synchronization counts only if its view of us (the
/// LACPDU's Partner information) is the actor's, or the partner is Individual. A partner that
/// claims Sync with another key for us never makes the port collect.
#[test]
fn a_partner_in_sync_with_a_wrong_view_of_us_is_not_in_sync() {
    let mut l = single(sys(1), 1);
    let mut now = Instant::ZERO;
    let mut sent = Vec::new();
    let partner = LacpInfo {
        system: SystemId::new(0x8000, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(0x8000, 1),
        state: PortState(0x3f),
    };
    let mut feed = |l: &mut lagd_lacp::Lacp, wrong_key: bool| {
        for _ in 0..40 {
            now += Duration::from_millis(100);
            drive(l, now, now, &mut sent);
            let mut view = l.port(1).unwrap().actor;
            if wrong_key {
                view.key += 1;
            }
            l.handle_frame(now, 1, &lacpdu_frame(partner, view))
                .unwrap();
        }
    };
    feed(&mut l, true);
    let p = l.port(1).unwrap();
    assert!(!p.partner.state.synchronization(), "{}", p.partner.state);
    assert_eq!(p.mux, MuxState::Attached);
    assert!(!l.is_collecting(1) && !l.is_up());
    feed(&mut l, false);
    assert!(l.port(1).unwrap().partner.state.synchronization());
    assert!(l.is_distributing(1) && l.is_up());
}

/// LACP runs on full-duplex links only (LACP_Enabled, §6.4.8): a half-duplex member is
/// LACP_DISABLED; once its link reports full duplex it leaves LACP_DISABLED and forms.
#[test]
fn a_half_duplex_link_that_becomes_full_duplex_runs_lacp() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    let half = lagd_lacp::LinkStatus {
        full_duplex: false,
        ..lagd_lacp::LinkStatus::up(1000)
    };
    h.lacp_mut(0).handle_link(Instant::ZERO, 1, half);
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.port(a[0]).receive, ReceiveState::LacpDisabled);
    assert!(!h.lacp(0).is_distributing(1));
    let now = h.now;
    h.lacp_mut(0)
        .handle_link(now, 1, lagd_lacp::LinkStatus::up(1000));
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    assert_eq!(h.port(a[0]).receive, ReceiveState::Current);
    // Back to half duplex: LACP is disabled on the port, which stops carrying.
    let now = h.now;
    h.lacp_mut(0).handle_link(now, 1, half);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.port(a[0]).receive, ReceiveState::LacpDisabled);
    assert!(!h.lacp(0).is_distributing(1));
    let reasons: Vec<&str> = h
        .events(0, |e| e.port == Some(1))
        .filter_map(|e| match e.kind {
            EventKind::Receive {
                to: ReceiveState::LacpDisabled,
                reason,
                ..
            } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        ["port enabled but half duplex: LACP needs full duplex"; 2]
    );
}

/// `port_link` gives the link of a port as last reported (the aggregation reads it to know
/// whether a port that stops distributing can still carry a Marker), `None` for an unknown
/// port.
#[test]
fn port_link_is_the_link_as_last_reported() {
    let mut l = single(sys(1), 2);
    let slow = lagd_lacp::LinkStatus {
        full_duplex: false,
        ..lagd_lacp::LinkStatus::up(100)
    };
    l.handle_link(Instant::from_secs(1), 2, slow);
    assert_eq!(l.port_link(1), Some(lagd_lacp::LinkStatus::up(1000)));
    assert_eq!(l.port_link(2), Some(slow));
    assert_eq!(l.port_link(3), None);
    l.handle_link(Instant::from_secs(2), 1, lagd_lacp::LinkStatus::DOWN);
    assert_eq!(l.port_link(1), Some(lagd_lacp::LinkStatus::DOWN));
}

/// The actor's and the partner's state are reported when they change, and only then: each
/// ActorStateChanged / PartnerChanged event carries an old value different from its new one,
/// the first starts from the state before, and the last ends at the state now.
#[test]
fn actor_and_partner_changes_are_reported_as_they_happen() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    let before = (h.port(a[0]).actor.state, h.port(a[0]).partner);
    h.log.clear();
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(5));
    let mut actor = Vec::new();
    let mut partner = Vec::new();
    for e in h.events(0, |e| e.port == Some(1)) {
        match e.kind {
            EventKind::ActorStateChanged { old, new } => actor.push((old, new)),
            EventKind::PartnerChanged { old, new } => partner.push((old, new)),
            _ => {}
        }
    }
    let now = h.port(a[0]);
    assert!(actor.iter().all(|(o, n)| o != n), "{actor:?}");
    assert!(partner.iter().all(|(o, n)| o != n), "{partner:?}");
    assert_eq!(actor.first().map(|c| c.0), Some(before.0), "{actor:?}");
    assert_eq!(
        actor.last().map(|c| c.1),
        Some(now.actor.state),
        "{actor:?}"
    );
    assert_eq!(partner.first().map(|c| c.0), Some(before.1), "{partner:?}");
    assert_eq!(
        partner.last().map(|c| c.1),
        Some(now.partner),
        "{partner:?}"
    );
}
