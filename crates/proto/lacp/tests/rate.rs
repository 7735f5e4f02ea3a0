//! The Transmit machine sends at most 3 LACPDUs per second per port, deferring (not dropping)
//! the rest; the Periodic Transmission machine (§6.4.13) sends at the rate the partner's
//! LACP_Timeout asks for, and not at all when the port is disabled, LACP is off on it, or both
//! ends are passive.

use crate::common::*;
use lagd_lacp::{LacpActivity, LacpTimeout, LinkStatus, PeriodicState, SystemConfig};
use lagd_types::{Duration, Instant, MacAddr, PortId, PortState, SystemId};
use lagd_wire::{LacpInfo, SlowFrame, SlowPdu};

#[test]
fn at_most_three_lacpdus_per_second_even_with_ntt_set_repeatedly() {
    let mut l = single(sys(1), 1);
    let partner = LacpInfo {
        system: SystemId::new(1, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(1, 1),
        state: PortState(0x07),
    };
    let mut sent = Vec::new();
    // Every 10 ms for 3 s, a LACPDU whose view of us is wrong: each one sets NTT.
    let mut now = Instant::ZERO;
    for i in 0..300u64 {
        now = Instant::from_millis(i * 10);
        drive(&mut l, now, now, &mut sent);
        let wrong_view = LacpInfo {
            key: (i % 7) as u16,
            ..LacpInfo::default()
        };
        l.handle_frame(now, 1, &lacpdu_frame(partner, wrong_view))
            .unwrap();
    }
    drive(&mut l, now, now + Duration::from_secs(2), &mut sent);
    let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
    assert!(
        times.len() >= 9,
        "deferred, not dropped: {} sent",
        times.len()
    );
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(in_window <= 3, "{in_window} LACPDUs in the second from {t}");
    }
    // The last PDU sent carries the latest state (the deferred NTT was honoured).
    let last = SlowFrame::parse(&sent.last().unwrap().1.frame).unwrap();
    let SlowPdu::Lacp(pdu) = last.pdu else {
        panic!("not a LACPDU")
    };
    assert_eq!(pdu.actor, l.port(1).unwrap().actor);
    assert_eq!(pdu.partner.system, partner.system);
    assert_eq!(l.port(1).unwrap().counters.lacpdus_tx, times.len() as u64);
}

#[test]
fn no_lacpdu_when_port_down_or_lacp_off() {
    let mut l = single(
        sys_with(
            1,
            lagd_lacp::LacpActivity::Off,
            lagd_lacp::LacpTimeout::Short,
        ),
        1,
    );
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert!(sent.is_empty());
    let mut l = single(sys(1), 1);
    l.handle_link(Instant::ZERO, 1, lagd_lacp::LinkStatus::DOWN);
    while l.poll_transmit(Instant::ZERO).is_some() {}
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    assert!(sent.is_empty());
}

/// The LACPDUs System `sys` sent on port 1 from `from` on.
fn lacpdus_from(h: &lagd_lacp::testing::Harness, sys: usize, from: Instant) -> Vec<Instant> {
    h.sent_times(sys, 1, 1)
        .into_iter()
        .filter(|t| *t >= from)
        .collect()
}

/// The partner switches between long and short timeouts (§6.4.13): SLOW_PERIODIC →
/// PERIODIC_TX sends at once when the partner asks for short timeouts, then every
/// Fast_Periodic_Time; FAST_PERIODIC → SLOW_PERIODIC sends nothing more until
/// Slow_Periodic_Time is over (the partner's view of us did not change).
#[test]
fn the_periodic_rate_follows_the_partners_timeout() {
    let long = sys_with(2, LacpActivity::Active, LacpTimeout::Long);
    let (mut h, a, b) = pair(sys(1), long.clone(), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::SlowPeriodic);
    // B asks for short timeouts: its LACPDU reaches A one link delay later; A answers at once.
    let asked = h.now;
    let short = SystemConfig {
        timer: LacpTimeout::Short,
        ..long.clone()
    };
    h.lacp_mut(1).set_config(asked, short).unwrap();
    h.run_for(Duration::from_millis(10_500));
    let heard = asked + h.delay;
    assert_eq!(h.port(a[0]).periodic, PeriodicState::FastPeriodic);
    let sent = lacpdus_from(&h, 0, asked);
    let want: Vec<Instant> = (0..=10).map(|s| heard + Duration::from_secs(s)).collect();
    assert_eq!(
        sent, want,
        "A's LACPDUs after B asked for short timeouts at {asked}"
    );
    // B asks for long timeouts again, half-way between two of A's periodic LACPDUs: A sends
    // nothing when it hears it. (B keeps A's information for Long_Timeout_Time from A's last
    // LACPDU: see timeouts.rs, switching_the_timeout_live_never_expires_the_partner.)
    let asked = h.now;
    h.lacp_mut(1).set_config(asked, long).unwrap();
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::SlowPeriodic);
    assert_eq!(
        lacpdus_from(&h, 0, asked),
        vec![],
        "A's LACPDUs after B asked for long timeouts at {asked}"
    );
}

/// A passive port runs the periodic machine when its partner is active, and only then.
#[test]
fn a_passive_port_transmits_periodically_only_to_an_active_partner() {
    let passive = |id| sys_with(id, LacpActivity::Passive, LacpTimeout::Short);
    let (mut h, a, b) = pair(passive(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    let from = h.now;
    h.run_for(Duration::from_millis(5_500));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::FastPeriodic);
    assert!(
        lacpdus_from(&h, 0, from).len() >= 5,
        "a passive port with an active partner sends every second: {:?}",
        lacpdus_from(&h, 0, from)
    );
    let (mut h, a, _) = pair(passive(1), passive(2), 1);
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::NoPeriodic);
    assert!(h.sent_times(0, 1, 1).is_empty());
}

/// NO_PERIODIC while the port is disabled or LACP is not enabled on it (a half-duplex link),
/// even on an active System with an active partner.
#[test]
fn no_periodic_on_a_disabled_port_or_a_half_duplex_link() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::FastPeriodic);
    let now = h.now;
    h.lacp_mut(0).handle_link(now, 1, LinkStatus::DOWN);
    let half = LinkStatus {
        full_duplex: false,
        ..LinkStatus::up(1000)
    };
    h.lacp_mut(0).handle_link(now, 2, half);
    h.run_for(Duration::from_secs(3));
    assert_eq!(h.port(a[0]).periodic, PeriodicState::NoPeriodic);
    assert_eq!(h.port(a[1]).periodic, PeriodicState::NoPeriodic);
}

/// update_NTT (§6.4.9): a LACPDU whose view of us is stale (our port, System, key, or the
/// Activity, Timeout, Synchronization or Aggregation bits) is answered at once; one with a
/// true view is not. The partner is Individual (its Sync then counts whatever its view of us,
/// so nothing but update_NTT reacts to the stale view) and runs long timeouts (no periodic
/// LACPDU falls in between).
#[test]
fn a_stale_view_of_us_is_answered_at_once() {
    let mut l = single(sys(1), 1);
    let partner = LacpInfo {
        system: SystemId::new(1, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(1, 1),
        state: PortState(0x39),
    };
    let mut sent = Vec::new();
    let mut now = Instant::ZERO;
    for _ in 0..30 {
        now += Duration::from_millis(100);
        drive(&mut l, now, now, &mut sent);
        let view = l.port(1).unwrap().actor;
        l.handle_frame(now, 1, &lacpdu_frame(partner, view))
            .unwrap();
    }
    assert!(l.is_distributing(1));
    type Spoil = fn(&mut LacpInfo);
    let stale: [(&str, Spoil); 8] = [
        ("nothing", |_| {}),
        ("port", |v| {
            v.port = PortId::new(v.port.priority, v.port.number + 1)
        }),
        ("system", |v| {
            v.system = SystemId::new(v.system.priority, MacAddr([2, 0, 0, 0, 7, 0]))
        }),
        ("key", |v| v.key += 1),
        ("activity", |v| {
            v.state = PortState(v.state.0 ^ PortState::LACP_ACTIVITY)
        }),
        ("timeout", |v| {
            v.state = PortState(v.state.0 ^ PortState::LACP_TIMEOUT)
        }),
        ("sync", |v| {
            v.state = PortState(v.state.0 ^ PortState::SYNCHRONIZATION)
        }),
        ("aggregation", |v| {
            v.state = PortState(v.state.0 ^ PortState::AGGREGATION)
        }),
    ];
    for (what, spoil) in stale {
        now += Duration::from_millis(500);
        drive(&mut l, now, now, &mut sent);
        let mut view = l.port(1).unwrap().actor;
        spoil(&mut view);
        l.handle_frame(now, 1, &lacpdu_frame(partner, view))
            .unwrap();
        let answers = std::iter::from_fn(|| l.poll_transmit(now)).count();
        assert_eq!(answers, usize::from(what != "nothing"), "stale {what}");
        assert!(l.is_distributing(1), "stale {what}");
    }
}
