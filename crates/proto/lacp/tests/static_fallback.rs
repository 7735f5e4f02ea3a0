//! Mode Off (static trunk) against an active LACP System, with and without fallback.

use crate::common::*;
use lagd_lacp::{
    EventKind, FallbackConfig, FallbackKind, LacpActivity, LacpTimeout, LinkStatus, PortConfig,
    ReceiveState, Selected, SystemConfig,
};
use lagd_types::{Duration, Instant, PortId};

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

/// A port that fallback assigned a partner to is DEFAULTED, but that is not why it does not
/// distribute yet: it waits for its Aggregator like any port. Under fallback one distributing
/// member makes the aggregate up whatever min_links says (here 3), in the Aggregator's status
/// as in the System's, and none does not.
#[test]
fn a_fallback_port_says_it_waits_and_one_member_makes_its_aggregator_up() {
    let mut cfg = with_fallback(FallbackKind::OneMember);
    cfg.min_links = 3;
    let (mut h, a, _b) = pair(cfg, static_sys(2), 3);
    h.run_until_cond(Duration::from_secs(10), |h| h.port(a[0]).fallback)
        .expect("fallback entered");
    let p = h.port(a[0]);
    assert_eq!(p.receive, ReceiveState::Defaulted);
    assert!(!p.distributing);
    assert_eq!(
        p.why_not_distributing.as_deref(),
        Some("waiting for the Aggregator to be ready (wait_while_timer)")
    );
    assert!(h.lacp(0).status().fallback_active);
    let aggs = h.lacp(0).aggregators();
    assert!(aggs.iter().all(|g| !g.up), "{aggs:?}");
    h.run_until_cond(Duration::from_secs(5), |h| h.lacp(0).is_up())
        .expect("fallback up");
    assert_eq!(h.lacp(0).distributing_ports(), vec![1]);
    let aggs = h.lacp(0).aggregators();
    let g = aggs.iter().find(|g| g.ports.contains(&1)).unwrap();
    assert!(g.active && g.up, "{aggs:?}");
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

/// The Selection events of port `port` of `l` not yet polled.
fn selections(l: &mut lagd_lacp::Lacp, port: u16) -> Vec<(Selected, &'static str)> {
    let mut v = Vec::new();
    while let Some(e) = l.poll_event() {
        if let EventKind::Selection { to, reason, .. } = e.kind
            && e.port == Some(port)
        {
            v.push((to, reason));
        }
    }
    v
}

/// update_Default_Selected (§6.4.9) on a live change: a DEFAULTED port stays SELECTED when a
/// change leaves its default partner as it was, and is UNSELECTED (then selects again) when the
/// Partner_Admin values it uses change, even only the partner's port.
#[test]
fn a_defaulted_port_is_reselected_only_when_its_default_partner_changes() {
    let mut l = single(sys(1), 1);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    let now = Instant::from_secs(10);
    assert_eq!(l.port(1).unwrap().receive, ReceiveState::Defaulted);
    assert_eq!(l.port(1).unwrap().selected, Selected::Selected);
    selections(&mut l, 1);
    // Another max_active: the default partner is the same, the port stays.
    let cfg = SystemConfig {
        max_active: Some(8),
        ..sys(1)
    };
    l.set_config(now, cfg).unwrap();
    assert_eq!(selections(&mut l, 1), []);
    // Another Partner_Admin_Port: UNSELECTED, then SELECTED again.
    let mut pc = PortConfig::new(1, mac(1, 1));
    pc.partner_admin.port = PortId::new(0x8000, 7);
    l.set_port_config(now, pc).unwrap();
    let sel = selections(&mut l, 1);
    assert_eq!(
        sel.first(),
        Some(&(
            Selected::Unselected,
            "partner defaulted: a different partner"
        )),
        "{sel:?}"
    );
    assert_eq!(sel.last().map(|s| s.0), Some(Selected::Selected), "{sel:?}");
}

/// A half-duplex member of a static trunk stays Individual (its default partner is not
/// aggregatable) across a configuration change that re-reads the default partner.
#[test]
fn a_half_duplex_static_member_stays_individual_across_a_change() {
    let cfg = static_sys(1);
    let mut l = single(cfg.clone(), 3);
    let now = Instant::from_secs(1);
    let half = LinkStatus {
        full_duplex: false,
        ..LinkStatus::up(1000)
    };
    l.handle_link(now, 3, half);
    let individual = |l: &lagd_lacp::Lacp| {
        let p = l.port(3).unwrap();
        assert_eq!(p.receive, ReceiveState::LacpDisabled);
        assert!(!p.partner.state.aggregation(), "{}", p.partner.state);
        assert_ne!(p.aggregator, l.port(1).unwrap().aggregator);
    };
    individual(&l);
    let changed = SystemConfig {
        max_active: Some(8),
        ..cfg
    };
    l.set_config(now, changed).unwrap();
    individual(&l);
}

/// The Receive transitions of port `port` of `l` not yet polled: (to, reason).
fn receive_steps(l: &mut lagd_lacp::Lacp, port: u16) -> Vec<(ReceiveState, &'static str)> {
    let mut v = Vec::new();
    while let Some(e) = l.poll_event() {
        if let EventKind::Receive { to, reason, .. } = e.kind
            && e.port == Some(port)
        {
            v.push((to, reason));
        }
    }
    v
}

/// LACP_Enabled is read in INITIALIZE only (§6.4.12): switching LACP off or on (mode Off, a
/// static trunk) restarts the Receive machine at BEGIN, which records the default partner
/// and unselects the port, rather than letting the running machine drift into or out of
/// LACP_DISABLED.
#[test]
fn switching_lacp_off_or_on_restarts_the_receive_machine() {
    let mut l = single(sys(1), 1);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert_eq!(l.port(1).unwrap().receive, ReceiveState::Defaulted);
    receive_steps(&mut l, 1);
    let restart = (ReceiveState::Initialize, "LACP switched on or off");
    l.set_config(Instant::from_secs(10), static_sys(1)).unwrap();
    let off = receive_steps(&mut l, 1);
    assert_eq!(off.first(), Some(&restart), "{off:?}");
    assert_eq!(l.port(1).unwrap().receive, ReceiveState::LacpDisabled);
    l.set_config(Instant::from_secs(11), sys(1)).unwrap();
    let on = receive_steps(&mut l, 1);
    assert_eq!(on.first(), Some(&restart), "{on:?}");
    assert_ne!(l.port(1).unwrap().receive, ReceiveState::LacpDisabled);
}

/// Fallback `Static` takes only the usable ports (link up, LACP enabled, not looped): a port
/// whose link is down, or that receives our own LACPDUs, is not given the fallback partner
/// (fallback must never forward into a loop) and says it does not forward.
#[test]
fn fallback_static_leaves_out_down_and_looped_ports() {
    let mut h = lagd_lacp::testing::Harness::new();
    let s = h.add_system(with_fallback(FallbackKind::Static));
    let sw = h.add_system(static_sys(2));
    let a = add_ports(&mut h, s, 1, 3);
    let b = add_ports(&mut h, sw, 2, 1);
    h.connect(a[0], b[0]);
    // Port 2 is cabled to itself; port 3 has no cable (link down).
    h.connect(a[1], a[1]);
    h.run_for(Duration::from_secs(10));
    let st = h.lacp(s).status();
    assert!(st.fallback_active && st.up);
    assert_eq!(h.lacp(s).distributing_ports(), vec![1]);
    let flags: Vec<(u16, bool)> = st.ports.iter().map(|p| (p.number, p.fallback)).collect();
    assert_eq!(flags, [(1, true), (2, false), (3, false)]);
    assert_eq!(h.port(a[1]).loopback, Some(2));
}

/// Removing the member that forwards in `OneMember` fallback hands over to the next port at
/// once, as its link going down does.
#[test]
fn fallback_one_member_hands_over_when_its_port_is_removed() {
    let mut l = single(with_fallback(FallbackKind::OneMember), 3);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert!(l.status().fallback_active);
    assert_eq!(l.distributing_ports(), vec![1]);
    l.remove_port(Instant::from_secs(10), 1).unwrap();
    drive(
        &mut l,
        Instant::from_secs(10),
        Instant::from_secs(15),
        &mut sent,
    );
    assert!(l.status().fallback_active);
    assert_eq!(l.distributing_ports(), vec![2]);
    let flags: Vec<(u16, bool)> = l.ports().iter().map(|p| (p.number, p.fallback)).collect();
    assert_eq!(flags, [(2, true), (3, false)]);
}

/// Fallback counts only while some member is usable: with every link down it is neither
/// entered nor armed (a LACPDU heard before does not start the count), and after a link
/// comes back the partner has the whole timeout to speak.
#[test]
fn fallback_waits_for_a_usable_member_then_its_whole_timeout() {
    let mut l = single(with_fallback(FallbackKind::OneMember), 1);
    let mut sent = Vec::new();
    let partner = lagd_wire::LacpInfo {
        system: lagd_types::SystemId::new(0x8000, mac(9, 0)),
        key: 5,
        port: PortId::new(0x8000, 1),
        state: lagd_types::PortState(
            lagd_types::PortState::LACP_ACTIVITY | lagd_types::PortState::AGGREGATION,
        ),
    };
    let view = l.port(1).unwrap().actor;
    l.handle_frame(Instant::from_secs(1), 1, &lacpdu_frame(partner, view))
        .unwrap();
    l.handle_link(Instant::from_secs(2), 1, LinkStatus::DOWN);
    drive(
        &mut l,
        Instant::from_secs(2),
        Instant::from_secs(20),
        &mut sent,
    );
    assert!(!l.status().fallback_active, "fallback with every link down");
    let up = Instant::from_secs(20);
    l.handle_link(up, 1, LinkStatus::up(1000));
    drive(&mut l, up, up + Duration::from_millis(4900), &mut sent);
    assert!(!l.status().fallback_active, "fallback before its timeout");
    drive(&mut l, up, up + Duration::from_secs(6), &mut sent);
    assert!(l.status().fallback_active);
    let mut entered = Vec::new();
    while let Some(e) = l.poll_event() {
        if matches!(e.kind, EventKind::FallbackEntered { .. }) {
            entered.push(e.at);
        }
    }
    assert_eq!(entered, [up + Duration::from_secs(5)]);
}

/// In fallback the aggregate is up when a member collects and distributes, not as soon as
/// fallback is entered (the member first waits for wait_while_timer).
#[test]
fn fallback_is_up_once_its_member_distributes() {
    let mut l = single(with_fallback(FallbackKind::OneMember), 1);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(15), &mut sent);
    assert!(l.is_up());
    let mut entered = None;
    let mut up = None;
    let mut distributing = None;
    while let Some(e) = l.poll_event() {
        match e.kind {
            EventKind::FallbackEntered { .. } => entered = Some(e.at),
            EventKind::AggregateUp => up = Some(e.at),
            EventKind::CollectingDistributing {
                collecting: true,
                distributing: true,
            } => distributing = Some(e.at),
            _ => {}
        }
    }
    let entered = entered.expect("fallback entered");
    assert!(
        up > Some(entered),
        "up at {up:?}, fallback entered at {entered}"
    );
    assert_eq!(up, distributing);
}

/// The partner assumed without LACPDUs (§6.4.7 Partner_Admin_*, `default_partner`): in a static
/// trunk, and in either fallback, it is Partner_Admin's System, key and port with Partner_Admin's
/// state bits kept (LACP_Activity, LACP_Timeout) plus Aggregation, Synchronization, Collecting and
/// Distributing; LACP_Timeout is added when the actor runs short timers; `OneMember` fallback
/// makes it Individual. The bits are checked one by one, whatever Partner_Admin's state holds.
#[test]
fn the_assumed_partner_is_partner_admin_in_sync_collecting_and_distributing() {
    use lagd_types::PortState as S;
    let admin_states = [
        0,
        S::AGGREGATION,
        S::LACP_ACTIVITY,
        S::LACP_TIMEOUT,
        S::LACP_ACTIVITY | S::LACP_TIMEOUT | S::AGGREGATION,
        S::COLLECTING | S::DISTRIBUTING,
    ];
    let cd = S::AGGREGATION | S::SYNCHRONIZATION | S::COLLECTING | S::DISTRIBUTING;
    for admin in admin_states {
        for timer in [LacpTimeout::Short, LacpTimeout::Long] {
            let short = if timer == LacpTimeout::Short {
                S::LACP_TIMEOUT
            } else {
                0
            };
            let cases = [
                (LacpActivity::Off, None, admin | short | cd),
                (
                    LacpActivity::Active,
                    Some(FallbackKind::Static),
                    admin | short | cd,
                ),
                (
                    LacpActivity::Active,
                    Some(FallbackKind::OneMember),
                    (admin | short | cd) & !S::AGGREGATION,
                ),
            ];
            for (mode, fallback, want) in cases {
                let cfg = SystemConfig {
                    fallback: fallback.map(|kind| FallbackConfig {
                        timeout: Duration::from_secs(5),
                        kind,
                    }),
                    ..sys_with(1, mode, timer)
                };
                let mut l = lagd_lacp::Lacp::new(cfg);
                let mut pc = PortConfig::new(1, mac(1, 1));
                pc.partner_admin.system = lagd_types::SystemId::new(0x1234, mac(7, 0));
                pc.partner_admin.key = 77;
                pc.partner_admin.port = PortId::new(0x10, 9);
                pc.partner_admin.state = S(admin);
                l.add_port(Instant::ZERO, pc.clone()).unwrap();
                l.handle_link(Instant::ZERO, 1, LinkStatus::up(1000));
                let mut sent = Vec::new();
                drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
                let ctx = format!("admin {admin:#04x}, {timer:?}, {mode:?}, {fallback:?}");
                let p = l.port(1).unwrap();
                assert_eq!(p.partner.state, S(want), "{ctx}");
                assert_eq!(p.partner.system, pc.partner_admin.system, "{ctx}");
                assert_eq!(p.partner.key, 77, "{ctx}");
                assert_eq!(p.partner.port, pc.partner_admin.port, "{ctx}");
                assert!(l.is_distributing(1), "{ctx}");
            }
        }
    }
}
