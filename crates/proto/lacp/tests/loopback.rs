//! Issue 11, defect 1: a port that receives its own System's LACPDUs (a looped link, two ports
//! of the same System cabled together, a hub or switch echoing them beside a real partner)
//! never records them: it stays unaggregated, is counted and reported, and says why.

use crate::common::*;
use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{EventKind, FallbackConfig, FallbackKind, Selected, SystemConfig};
use lagd_types::{Duration, SystemId};

/// Runs for `d`, checking after every step that no port of System 0 distributes, that the
/// aggregate stays down, that no port records System 0 itself as its partner and that a port
/// known to be looped selects no Aggregator.
fn never_aggregates_with_itself(h: &mut Harness, d: Duration) {
    let own = h.lacp(0).config().system;
    let limit = h.now + d;
    let bad = h.run_until_cond(d, |h| {
        let l = h.lacp(0);
        l.is_up()
            || l.ports().iter().any(|p| {
                p.distributing
                    || p.partner.system == own
                    || (p.loopback.is_some() && p.selected != Selected::Unselected)
            })
    });
    if let Some(at) = bad {
        let l = h.lacp(0);
        panic!(
            "at {at}: up {} ports {:?}",
            l.is_up(),
            l.ports()
                .iter()
                .map(|p| (p.number, p.distributing, p.partner.system, p.selected))
                .collect::<Vec<_>>()
        );
    }
    h.run_until(limit);
}

#[test]
fn looped_port_is_never_aggregated() {
    // With Static fallback configured: a looped port must not forward in fallback either.
    let cfg = SystemConfig {
        fallback: Some(FallbackConfig {
            timeout: Duration::from_secs(4),
            kind: FallbackKind::Static,
        }),
        ..sys(1)
    };
    let mut h = Harness::new();
    let s = h.add_system(cfg);
    add_ports(&mut h, s, 1, 1);
    h.connect(end(s, 1), end(s, 1));
    never_aggregates_with_itself(&mut h, Duration::from_secs(20));
    let p = h.port(end(s, 1));
    assert_eq!(p.loopback, Some(1));
    assert!(p.counters.looped_lacpdus_rx >= 15, "{:?}", p.counters);
    assert!(!p.fallback && !h.lacp(s).status().fallback_active);
    let why = p.why_not_distributing.unwrap_or_default();
    assert!(why.contains("looped back"), "{why}");
    let loops: Vec<_> = h
        .events(s, |e| matches!(e.kind, EventKind::Loopback { .. }))
        .collect();
    assert_eq!(loops.len(), 1, "one event when the loop is found");
    assert_eq!(loops[0].kind, EventKind::Loopback { from: 1 });
    assert_eq!(
        loops[0].to_string(),
        "0.001s port 1: loopback: this System's own LACPDUs arrive, sent by port 1; not recorded"
    );
    // The loop is removed (cabled elsewhere, to a silent port): it ends 3 s after the last
    // own LACPDU.
    h.silence(0, true, true);
    let last = h.now;
    let ended = h
        .run_until_cond(Duration::from_secs(5), |h| {
            h.port(end(s, 1)).loopback.is_none()
        })
        .unwrap();
    // (A LACPDU sent at `last` is still in flight: 1 ms.)
    assert!(ended <= last + Duration::from_millis(3001), "{ended}");
    assert!(h.saw(s, |k| *k == EventKind::LoopbackEnded));
}

#[test]
fn two_own_ports_cabled_together_are_never_aggregated() {
    let mut h = Harness::new();
    let s = h.add_system(sys(1));
    add_ports(&mut h, s, 1, 2);
    h.connect(end(s, 1), end(s, 2));
    never_aggregates_with_itself(&mut h, Duration::from_secs(20));
    for (port, other) in [(1, 2), (2, 1)] {
        let p = h.port(end(s, port));
        assert_eq!(p.loopback, Some(other));
        let why = p.why_not_distributing.unwrap_or_default();
        assert!(
            why.contains(&format!("our own port {other}")) && why.contains("cabled to each other"),
            "{why}"
        );
    }
}

#[test]
fn own_pdus_echoed_beside_a_real_partner_are_never_recorded() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    // A hub now echoes our LACPDUs back to us, beside the partner's.
    h.echo(0, true, false);
    let own = h.lacp(0).config().system;
    // Changes of the partner's System (not of its state bits).
    let partner_changes = |h: &Harness| {
        h.events(0, |e| {
            matches!(e.kind, EventKind::PartnerChanged { old, new } if old.system != new.system)
        })
        .count()
    };
    let before = partner_changes(&h);
    let start = h.now;
    let bad = h.run_until_cond(Duration::from_secs(20), |h| {
        h.lacp(0).port(1).is_some_and(|p| {
            p.partner.system == own || (p.distributing && h.now > start + Duration::from_secs(1))
        })
    });
    assert_eq!(
        bad, None,
        "own PDUs recorded, or the echoing port distributes"
    );
    assert_eq!(partner_changes(&h) - before, 0, "the partner flipped");
    let p = h.port(a[0]);
    assert_eq!(
        p.partner.system,
        SystemId::new(0x8000, mac(2, 0)),
        "the real partner is remembered"
    );
    assert_eq!(p.loopback, Some(1));
    let why = p.why_not_distributing.unwrap_or_default();
    assert!(why.contains("echoes"), "{why}");
    // The echo stops: the port aggregates again with its real partner.
    h.echo(0, false, false);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
}

/// A looped port's own LACPDUs are counted among the LACPDUs received as well as apart, and
/// the loop ends at once when the link goes down (not after the hold time): a port recabled
/// while down starts afresh.
#[test]
fn a_loop_is_counted_and_ends_when_the_link_goes_down() {
    let mut h = Harness::new();
    let s = h.add_system(sys(1));
    add_ports(&mut h, s, 1, 1);
    let l = h.connect(end(s, 1), end(s, 1));
    h.run_for(Duration::from_secs(5));
    let p = h.port(end(s, 1));
    assert_eq!(p.loopback, Some(1));
    assert!(p.counters.looped_lacpdus_rx >= 3, "{:?}", p.counters);
    assert_eq!(
        p.counters.lacpdus_rx, p.counters.looped_lacpdus_rx,
        "own LACPDUs are LACPDUs received"
    );
    h.log.clear();
    h.cut(l);
    let p = h.port(end(s, 1));
    assert_eq!(p.loopback, None, "the loop ends with the link");
    assert!(h.saw(s, |k| *k == EventKind::LoopbackEnded));
}
