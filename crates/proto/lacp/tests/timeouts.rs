//! current_while_timer: a silent partner expires and is defaulted; a healed link re-forms.

use crate::common::*;
use lagd_lacp::testing::Harness;
use lagd_lacp::{EventKind, LacpActivity, LacpTimeout, PeriodicState, ReceiveState, SystemConfig};
use lagd_types::{Duration, Instant};

fn receive_change_at(
    h: &Harness,
    sys: usize,
    port: u16,
    to: ReceiveState,
    after: Instant,
) -> Instant {
    h.events(sys, |e| e.port == Some(port) && e.at >= after)
        .find(|e| matches!(e.kind, EventKind::Receive { to: t, .. } if t == to))
        .map(|e| e.at)
        .unwrap_or_else(|| panic!("no transition to {to} after {after}"))
}

#[test]
fn short_timer_silent_partner_expires_after_3s_defaults_after_6s_and_reforms_within_2s() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_millis(10_500));
    let silenced = h.now;
    h.silence(0, true, true);
    h.run_for(Duration::from_secs(10));
    let last = h.port(a[0]).last_rx.unwrap();
    assert!(last <= silenced);
    assert_eq!(
        receive_change_at(&h, 0, 1, ReceiveState::Expired, silenced),
        last + Duration::from_secs(3)
    );
    assert_eq!(
        receive_change_at(&h, 0, 1, ReceiveState::Defaulted, silenced),
        last + Duration::from_secs(6)
    );
    let st = h.port(a[0]);
    assert_eq!(st.receive, ReceiveState::Defaulted);
    assert!(!h.lacp(0).is_distributing(1));
    assert!(st.why_not_distributing.unwrap().contains("no LACPDU"));
    // The other member kept forwarding all along.
    assert!(h.lacp(0).is_distributing(2) && h.lacp(0).is_up());
    // A defaulted member keeps sending fast (the default partner carries the short timeout).
    assert_eq!(st.periodic, PeriodicState::FastPeriodic);
    h.heal(0);
    let healed = h.now;
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(
        t - healed <= Duration::from_secs(2),
        "re-formed after {}",
        t - healed
    );
}

#[test]
fn whole_partner_silent_then_back_reforms() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.silence(0, true, true);
    h.silence(1, true, true);
    h.run_for(Duration::from_secs(8));
    assert!(!h.lacp(0).is_up());
    assert!(h.saw(0, |k| matches!(k, EventKind::AggregateDown { .. })));
    h.heal(0);
    h.heal(1);
    let healed = h.now;
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(
        t - healed <= Duration::from_secs(4),
        "re-formed after {}",
        t - healed
    );
}

#[test]
fn long_timer_expires_after_90s() {
    let l = |id| sys_with(id, LacpActivity::Active, LacpTimeout::Long);
    let (mut h, a, b) = pair(l(1), l(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::SlowPeriodic);
    h.run_for(Duration::from_secs(40));
    let silenced = h.now;
    h.silence(0, true, true);
    h.run_for(Duration::from_secs(100));
    let last = h.port(a[0]).last_rx.unwrap();
    let expired = receive_change_at(&h, 0, 1, ReceiveState::Expired, silenced);
    assert_eq!(expired, last + Duration::from_secs(90));
    assert!(expired - silenced > Duration::from_secs(60));
    // EXPIRED asks the partner for short timeouts and waits Short_Timeout_Time more.
    assert_eq!(
        receive_change_at(&h, 0, 1, ReceiveState::Defaulted, silenced),
        expired + Duration::from_secs(3)
    );
}

#[test]
fn one_way_silent_link_stops_carrying_when_the_partner_expires() {
    // A's frames on link 0 are lost (B hears nothing); B's still reach A. B's Receive machine
    // expires 3 s after A's last LACPDU arrived, and B says so (Expired) in its next LACPDU: A
    // must stop distributing on that link then, not three seconds later when B is DEFAULTED
    // and drops Synchronization.
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_millis(10_500));
    h.silence(0, true, false);
    let last_heard_by_b = h.port(b[0]).last_rx.unwrap();
    h.run_for(Duration::from_secs(4));
    let b_expired = receive_change_at(&h, 1, 1, ReceiveState::Expired, last_heard_by_b);
    assert_eq!(b_expired, last_heard_by_b + Duration::from_secs(3));
    let stopped = h
        .events(0, |e| e.port == Some(1) && e.at >= b_expired)
        .find(|e| {
            matches!(
                e.kind,
                EventKind::CollectingDistributing {
                    distributing: false,
                    ..
                }
            )
        })
        .map(|e| e.at)
        .expect("A stopped distributing on the one-way-dead link");
    assert!(
        stopped - b_expired <= Duration::from_millis(10),
        "A stopped {} after B expired",
        stopped - b_expired
    );
    assert!(h.lacp(0).is_distributing(2) && h.lacp(0).is_up());
    // Healing brings it back within 2 s.
    h.heal(0);
    let healed = h.now;
    let t = until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    assert!(
        t - healed <= Duration::from_secs(2),
        "re-formed after {}",
        t - healed
    );
}

#[test]
fn link_up_keeps_the_remembered_partner_through_expired() {
    // Issue 11, defect 5: PORT_DISABLED keeps Partner_Oper (§6.4.12); only INITIALIZE and
    // DEFAULTED record the default. A port whose link comes back enters EXPIRED with the
    // partner it knew (out of sync, short timeout), not with Partner_Admin.
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    let known = h.port(a[0]).partner;
    assert_eq!(known.system, h.port(b[0]).actor.system);
    h.cut(0);
    h.run_for(Duration::from_millis(100));
    assert_eq!(h.port(a[0]).receive, ReceiveState::PortDisabled);
    assert_eq!(h.port(a[0]).partner.system, known.system, "kept while down");
    let now = h.now;
    h.lacp_mut(0)
        .handle_link(now, a[0].port, lagd_lacp::LinkStatus::up(10_000));
    let p = h.port(a[0]);
    assert_eq!(p.receive, ReceiveState::Expired);
    assert_eq!(
        (p.partner.system, p.partner.key, p.partner.port),
        (known.system, known.key, known.port),
        "the remembered partner, not Partner_Admin"
    );
    assert!(!p.partner.state.synchronization());
    assert!(p.partner.state.short_timeout());
    assert!(!p.actor.state.defaulted());
}

/// A port whose link is down rests in PORT_DISABLED: one transition into it, none after,
/// however long it stays down and whatever the other ports do.
#[test]
fn a_port_with_its_link_down_rests_in_port_disabled() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    let cut = h.now;
    h.cut(1);
    h.run_for(Duration::from_secs(20));
    let receive: Vec<(ReceiveState, ReceiveState)> = h
        .events(0, |e| e.port == Some(2) && e.at >= cut)
        .filter_map(|e| match e.kind {
            EventKind::Receive { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        receive,
        [(ReceiveState::Current, ReceiveState::PortDisabled)]
    );
    assert!(h.lacp(0).is_distributing(1));
}

/// Changing the actor's timeout from short to long on a live port extends the partner
/// information it holds to Long_Timeout_Time from the last LACPDU (a deviation, see the
/// crate's Deviations): the standard keeps current_while running with the Short_Timeout_Time
/// it was started with, while the partner, told to slow down, sends its next LACPDU up to
/// Slow_Periodic_Time later; the port then expires and both sides drop out of the aggregate
/// for a moment. Long to short keeps the running timer: the partner answers at once.
#[test]
fn switching_the_timeout_live_never_expires_the_partner() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_millis(10_500));
    let changed = h.now;
    let long = sys_with(2, LacpActivity::Active, LacpTimeout::Long);
    h.lacp_mut(1).set_config(changed, long.clone()).unwrap();
    h.run_for(Duration::from_secs(100));
    assert_eq!(
        expired_since(&h, 1, changed),
        0,
        "B expired after its timeout went long"
    );
    assert_eq!(
        expired_since(&h, 0, changed),
        0,
        "A expired after B's timeout went long"
    );
    assert!(h.all_distributing(&a) && h.all_distributing(&b));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::SlowPeriodic);
    // And back to short: A answers at once, nothing expires either.
    let back = h.now;
    let short = SystemConfig {
        timer: LacpTimeout::Short,
        ..long
    };
    h.lacp_mut(1).set_config(back, short).unwrap();
    h.run_for(Duration::from_secs(100));
    assert_eq!(
        expired_since(&h, 1, back) + expired_since(&h, 0, back),
        0,
        "expired after the timeout went short"
    );
    assert!(h.all_distributing(&a) && h.all_distributing(&b));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::FastPeriodic);
}

/// How many times System `sys`'s ports entered EXPIRED at or after `from`.
fn expired_since(h: &Harness, sys: usize, from: Instant) -> usize {
    h.events(sys, |e| e.at >= from)
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Receive {
                    to: ReceiveState::Expired,
                    ..
                }
            )
        })
        .count()
}

/// A change of configuration that keeps the short timeout (here max_active) leaves
/// current_while as it runs: only a change from short to long lengthens it (deviation 9). A
/// partner silent right after such a change still expires within Short_Timeout_Time of its
/// last LACPDU.
#[test]
fn a_change_that_keeps_the_short_timeout_keeps_current_while_short() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_millis(10_500));
    let changed = h.now;
    let cfg = SystemConfig {
        max_active: Some(8),
        ..sys(1)
    };
    h.lacp_mut(0).set_config(changed, cfg).unwrap();
    h.silence(0, false, true);
    h.run_for(Duration::from_secs(10));
    let expired = receive_change_at(&h, 0, 1, ReceiveState::Expired, changed);
    let last = h.port(a[0]).last_rx.expect("a LACPDU was heard");
    assert!(
        last <= changed,
        "{last} after the silence began at {changed}"
    );
    assert_eq!(expired, last + Duration::from_secs(3));
}
