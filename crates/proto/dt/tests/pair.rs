//! Two DT switches in virtual time: formation, roles, failures, consistency, isolation.

mod common;

use common::*;
use lagd_dt::testing::Pair;
use lagd_dt::{DiffField, DownReason, DtEventKind, DtPath, PeerState, Role, SECONDARY_PORT_BASE};
use lagd_types::{Duration, Instant, SystemId};

#[test]
fn pair_forms_with_roles_bases_and_shared_system() {
    let mut p = pair();
    // Before the peer is found, DT ports are held down.
    assert_eq!(decision(&p, 0).reason, Some(DownReason::Init));
    let t = p.run_until_cond(Duration::from_secs(1), both_up).unwrap();
    assert!(t < Instant::from_millis(20), "formed at {t}");
    assert_eq!(p.sw[0].role(), Role::Primary);
    assert_eq!(p.sw[1].role(), Role::Secondary);
    let (a, b) = (decision(&p, 0), decision(&p, 1));
    assert_eq!(
        (a.port_number_base, b.port_number_base),
        (0, SECONDARY_PORT_BASE)
    );
    assert_eq!(a.lacp_system, SHARED);
    assert_eq!(b.lacp_system, SHARED);
    assert!(a.ports_enabled && b.ports_enabled);
    assert!(p.saw(1, |k| matches!(
        k,
        DtEventKind::RoleChanged {
            to: Role::Secondary,
            ..
        }
    )));
    assert_eq!(p.sw[1].lacp_port_number(1, 2), Some(0x8002));
    // The peer as each sees it.
    assert_eq!(p.sw[0].peer().map(|x| x.system_mac), Some(MAC_B));
    assert_eq!(p.sw[1].peer().map(|x| x.port_base), Some(0));
}

#[test]
fn role_ties_are_broken_by_the_lower_mac() {
    let mut p = Pair::new(cfg(MAC_B, 10), cfg(MAC_A, 10));
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p.run_until_cond(Duration::from_secs(1), both_up).unwrap();
    assert_eq!(p.sw[0].role(), Role::Secondary, "MAC_B > MAC_A");
    assert_eq!(p.sw[1].role(), Role::Primary);
}

#[test]
fn periodic_pdus_keep_the_pair_up() {
    let mut p = formed();
    let before = p.sent.len();
    p.run_for(Duration::from_secs(30));
    assert!(both_up(&p));
    let peer_pdus = p.sent[before..]
        .iter()
        .filter(|s| s.1 == 0 && s.2 == DtPath::PeerLink)
        .count();
    let keepalives = p.sent[before..]
        .iter()
        .filter(|s| s.1 == 0 && s.2 == DtPath::Keepalive)
        .count();
    // One per second each (no storm: a periodic PDU triggers no answer).
    assert!((29..=32).contains(&peer_pdus), "{peer_pdus}");
    assert!((29..=31).contains(&keepalives), "{keepalives}");
    assert!(p.sent.iter().all(|s| s.3 <= 1514));
}

#[test]
fn a_lone_switch_forwards_after_the_init_delay() {
    let mut p = pair();
    p.kill(1);
    p.run_for(Duration::from_millis(2900));
    assert_eq!(p.sw[0].state(), PeerState::Init);
    assert!(!decision(&p, 0).ports_enabled);
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.sw[0].state(), PeerState::Alone);
    let d = decision(&p, 0);
    assert!(d.ports_enabled && d.lacp_system == SHARED);
}

#[test]
fn switch_death_survivor_keeps_shared_id_and_never_stops() {
    for dead in [0usize, 1] {
        let mut p = formed();
        let alive = 1 - dead;
        let base = decision(&p, alive).port_number_base;
        let mark = p.log.len();
        p.kill(dead);
        let t0 = p.now;
        let t = p
            .run_until_cond(Duration::from_secs(10), |p| {
                p.sw[alive].state() == PeerState::Alone
            })
            .unwrap();
        assert!(t - t0 <= Duration::from_secs(3), "took {}", t - t0);
        assert_eq!(p.sw[alive].role(), Role::Primary);
        let d = decision(&p, alive);
        assert!(d.ports_enabled);
        assert_eq!(d.lacp_system, SHARED);
        assert_eq!(d.port_number_base, base, "port numbers never change");
        // The dead switch's half was forwarding when last heard: the survivor keeps filtering
        // what comes over the peer link towards it (a dead switch sends nothing; a hung one
        // may still forward in its kernel).
        assert!(d.isolate_peer_link);
        for d in decisions_since(&p, alive, mark) {
            assert!(d.ports_enabled, "survivor stopped: {d}");
            assert_eq!(d.lacp_system, SHARED);
        }
        assert!(p.saw(alive, |k| matches!(
            k,
            DtEventKind::StateChanged {
                to: PeerState::Alone,
                ..
            }
        )));
    }
}

#[test]
fn dead_switch_returns_without_a_second_outage() {
    let mut p = formed();
    p.kill(0);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[1].state(), PeerState::Alone);
    let mark = p.log.len();
    p.revive(0);
    let t0 = p.now;
    let t = p.run_until_cond(Duration::from_secs(5), both_up).unwrap();
    assert!(t - t0 < Duration::from_millis(50));
    set_live(&mut p, 0, &[1, 2]);
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.sw[0].role(), Role::Primary, "election by priority");
    assert_eq!(decision(&p, 1).port_number_base, SECONDARY_PORT_BASE);
    assert_eq!(decision(&p, 0).port_number_base, 0);
    for d in decisions_since(&p, 1, mark) {
        assert!(d.ports_enabled, "survivor stopped on re-formation: {d}");
        assert_eq!(d.lacp_system, SHARED);
    }
    assert!(decision(&p, 0).ports_enabled);
}

#[test]
fn split_brain_secondary_gives_way_then_heals() {
    let mut p = formed();
    let mark = p.log.len();
    p.cut_peer_link();
    let t0 = p.now;
    let t = p
        .run_until_cond(Duration::from_secs(5), |p| {
            p.sw[1].state() == PeerState::SplitBrain && p.sw[0].state() == PeerState::SplitBrain
        })
        .unwrap();
    assert!(t - t0 <= Duration::from_millis(1100), "{}", t - t0);
    let (a, b) = (decision(&p, 0), decision(&p, 1));
    assert!(a.ports_enabled && a.lacp_system == SHARED);
    assert!(!b.ports_enabled);
    assert_eq!(b.reason, Some(DownReason::SplitBrain));
    assert_eq!(b.lacp_system, SystemId::new(SHARED.priority, MAC_B));
    for d in decisions_since(&p, 0, mark) {
        assert!(d.ports_enabled, "primary stopped: {d}");
    }
    // It stays that way.
    p.run_for(Duration::from_secs(20));
    assert_eq!(p.sw[1].state(), PeerState::SplitBrain);
    // Healing.
    let mark = p.log.len();
    p.restore_peer_link();
    let t0 = p.now;
    let t = p
        .run_until_cond(Duration::from_secs(5), |p| {
            both_up(p) && decision(p, 1).ports_enabled
        })
        .unwrap();
    assert!(t - t0 < Duration::from_millis(50));
    assert_eq!(decision(&p, 1).lacp_system, SHARED);
    assert_eq!(decision(&p, 1).port_number_base, SECONDARY_PORT_BASE);
    for d in decisions_since(&p, 0, mark) {
        assert!(d.ports_enabled);
    }
}

#[test]
fn silent_peer_link_is_split_brain_too() {
    let mut p = formed();
    p.silence_peer_link(true, true);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[1].state(), PeerState::SplitBrain);
    assert!(!decision(&p, 1).ports_enabled);
    assert!(decision(&p, 0).ports_enabled);
    p.silence_peer_link(false, false);
    p.run_until_cond(Duration::from_secs(3), both_up).unwrap();
    p.run_for(Duration::from_millis(10));
    assert!(decision(&p, 1).ports_enabled);
}

#[test]
fn both_paths_down_secondary_takes_primary_for_dead_and_keeps_forwarding() {
    let mut p = formed();
    let mark = p.log.len();
    p.set_keepalive(false);
    p.cut_peer_link();
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[1].state(), PeerState::Alone);
    assert_eq!(p.sw[1].role(), Role::Primary);
    assert!(decision(&p, 1).ports_enabled);
    assert_eq!(decision(&p, 1).lacp_system, SHARED);
    for d in decisions_since(&p, 1, mark) {
        assert!(d.ports_enabled, "secondary stopped: {d}");
    }
    // Back together without a flap on either side.
    let mark = p.log.len();
    p.set_keepalive(true);
    p.restore_peer_link();
    p.run_until_cond(Duration::from_secs(3), both_up).unwrap();
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.sw[1].role(), Role::Secondary);
    for i in 0..2 {
        for d in decisions_since(&p, i, mark) {
            assert!(d.ports_enabled, "switch {i} stopped: {d}");
        }
    }
}

#[test]
fn keepalive_loss_alone_changes_nothing() {
    let mut p = formed();
    let mark = p.log.len();
    p.set_keepalive(false);
    p.run_for(Duration::from_secs(10));
    assert!(both_up(&p));
    assert!(p.saw(0, |k| *k == DtEventKind::KeepaliveChanged { up: false }));
    assert!(decisions_since(&p, 0, mark).is_empty());
    assert!(decisions_since(&p, 1, mark).is_empty());
}

#[test]
fn mismatch_is_reported_on_both_and_secondary_stays_down_until_fixed() {
    let mut p = Pair::new(cfg(MAC_A, 10), cfg(MAC_B, 20));
    p.add_aggregation(0, aggr(1));
    let mut bad = aggr(1);
    bad.key = 77;
    bad.mtu = 9000;
    p.add_aggregation(1, bad.clone());
    p.run_for(Duration::from_secs(5));
    assert!(both_up(&p));
    for i in 0..2 {
        let diffs = p.sw[i].diffs(1);
        let fields: Vec<_> = diffs.iter().map(|d| d.field).collect();
        assert_eq!(fields, vec![DiffField::Key, DiffField::Mtu], "switch {i}");
        assert!(p.saw(i, |k| matches!(k, DtEventKind::Mismatch { aggr: 1, .. })));
    }
    let d = &p.sw[1].diffs(1)[0];
    assert_eq!((d.local.as_str(), d.peer.as_str()), ("77", "1"));
    assert!(decision(&p, 0).ports_enabled, "primary keeps forwarding");
    assert!(!decision(&p, 1).ports_enabled);
    assert_eq!(decision(&p, 1).reason, Some(DownReason::Mismatch));
    // Fixed on the secondary: consistent, ports up.
    let now = p.now;
    p.sw[1].set_aggregation(now, aggr(1)).unwrap();
    p.run_for(Duration::from_millis(50));
    assert!(p.sw[0].diffs(1).is_empty() && p.sw[1].diffs(1).is_empty());
    assert!(decision(&p, 1).ports_enabled);
    assert!(p.saw(0, |k| *k == DtEventKind::Consistent { aggr: 1 }));
}

#[test]
fn aggregation_only_on_one_switch_is_a_mismatch() {
    let mut p = pair();
    p.add_aggregation(1, aggr(2));
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.sw[1].diffs(2)[0].field, DiffField::NotOnPeer);
    assert!(!p.sw[1].decision(2).unwrap().ports_enabled);
    assert!(decision(&p, 1).ports_enabled, "aggregation 1 unaffected");
}

#[test]
fn different_partners_are_a_cabling_mismatch() {
    let mut p = formed();
    let now = p.now;
    p.sw[1].handle_members(
        now,
        1,
        lagd_dt::LocalMembers {
            live: vec![1],
            partner: SystemId::new(1, lagd_types::MacAddr([2, 0, 0, 0, 0, 0x99])),
            partner_key: 9,
        },
    );
    p.run_for(Duration::from_millis(50));
    assert_eq!(p.sw[0].diffs(1)[0].field, DiffField::PartnerSystem);
    assert!(!decision(&p, 1).ports_enabled);
}

#[test]
fn peer_link_isolation_follows_live_members_on_both_sides() {
    let mut p = formed();
    assert!(decision(&p, 0).isolate_peer_link && decision(&p, 1).isolate_peer_link);
    // A loses its local members: B must let A's traffic for the server cross the peer link
    // and out of its members; A keeps its filter (B's half still delivers; see
    // a_half_that_comes_up_finds_its_isolation_on).
    set_live(&mut p, 0, &[]);
    p.run_for(Duration::from_millis(20));
    assert!(decision(&p, 0).isolate_peer_link);
    assert!(!decision(&p, 1).isolate_peer_link);
    set_live(&mut p, 0, &[2]);
    p.run_for(Duration::from_millis(20));
    assert!(decision(&p, 0).isolate_peer_link && decision(&p, 1).isolate_peer_link);
    let st = p.sw[0].status();
    assert_eq!(st.aggregations[0].peer_live, vec![0x8001, 0x8002]);
    // The peer falls silent: isolation stays as the peer's half was when last heard
    // (forwarding: on; not forwarding: off, its traffic must cross the peer link), whatever
    // happens locally meanwhile.
    p.kill(1);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[0].state(), PeerState::Alone);
    assert!(decision(&p, 0).isolate_peer_link);
    set_live(&mut p, 0, &[]);
    p.run_for(Duration::from_millis(20));
    assert!(
        decision(&p, 0).isolate_peer_link,
        "whatever happens locally"
    );
    set_live(&mut p, 0, &[1, 2]);
    p.run_for(Duration::from_millis(20));
    assert!(decision(&p, 0).isolate_peer_link);
    let mut p = formed();
    set_live(&mut p, 1, &[]);
    p.run_for(Duration::from_millis(20));
    assert!(!decision(&p, 0).isolate_peer_link);
    p.kill(1);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[0].state(), PeerState::Alone);
    assert!(
        !decision(&p, 0).isolate_peer_link,
        "the peer's half was down when it fell silent"
    );
}

/// A switch's half of an aggregation comes back while the peer's half delivers (a link
/// repaired, LACP re-converged): its data plane forwards through the new member the moment LACP
/// makes it Collecting and Distributing, before the runtime's next turn tells the core. A
/// frame the peer flooded over the peer link then (the peer has delivered it already) must
/// meet the filter on, so the filter must be on while the half is down: isolation follows the
/// peer's half alone. The same when the switch is alone and the silent peer's half was
/// delivering. (Before, isolation also required a live local member: off while the half was
/// down, on only once the core heard of the member.)
#[test]
fn a_half_that_comes_up_finds_its_isolation_on() {
    let mut p = formed();
    set_live(&mut p, 0, &[]);
    p.run_for(Duration::from_millis(50));
    assert_eq!(p.sw[0].status().aggregations[0].peer_live.len(), 2);
    assert!(
        decision(&p, 0).isolate_peer_link,
        "A's half is down, B's delivers: A's filter is on before A's member comes back"
    );
    assert!(
        !decision(&p, 1).isolate_peer_link,
        "B lets A's traffic through"
    );
    set_live(&mut p, 0, &[1, 2]);
    p.run_for(Duration::from_millis(50));
    assert!(decision(&p, 0).isolate_peer_link && decision(&p, 1).isolate_peer_link);
    // Alone: the peer's half was delivering when it fell silent.
    set_live(&mut p, 0, &[]);
    p.kill(1);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[0].state(), PeerState::Alone);
    assert!(decision(&p, 0).isolate_peer_link);
    set_live(&mut p, 0, &[2]);
    p.run_for(Duration::from_millis(20));
    assert!(decision(&p, 0).isolate_peer_link);
    // The peer's half down: no filter, whatever this half does.
    let mut p = formed();
    set_live(&mut p, 1, &[]);
    set_live(&mut p, 0, &[]);
    p.run_for(Duration::from_millis(50));
    assert!(!decision(&p, 0).isolate_peer_link && !decision(&p, 1).isolate_peer_link);
}

fn peer_link_frame(d: &mut lagd_dt::Dt) -> Vec<u8> {
    std::iter::from_fn(|| d.poll_transmit())
        .find(|t| t.path == DtPath::PeerLink)
        .expect("a peer-link frame")
        .frame
}

#[test]
fn foreign_looped_and_malformed_frames_are_ignored() {
    let mut p = formed();
    let now = p.now;
    // Our own frame looped back.
    let mut lone = lagd_dt::Dt::new(now, cfg(MAC_A, 10)).unwrap();
    lone.handle_timeout(now);
    let mut own = None;
    while let Some(t) = lone.poll_transmit() {
        if t.path == DtPath::PeerLink {
            own = Some(t.frame);
        }
    }
    let own = own.unwrap();
    assert_eq!(p.sw[0].handle_peer_frame(now, &own), Ok(()));
    assert_eq!(p.sw[0].counters().rx_looped, 1);
    // Another domain.
    let mut other = lagd_dt::Dt::new(
        now,
        lagd_dt::DtConfig {
            domain_id: 99,
            ..cfg(lagd_types::MacAddr([2, 0, 0, 0, 0xc, 1]), 1)
        },
    )
    .unwrap();
    other.handle_timeout(now);
    let f = peer_link_frame(&mut other);
    assert_eq!(p.sw[0].handle_peer_frame(now, &f), Ok(()));
    // The pair has formed: B is held, and a switch of another domain is a stranger first.
    assert_eq!(p.sw[0].counters().rx_stranger, 1);
    assert_eq!(p.sw[0].counters().rx_foreign, 0);
    // B itself, reconfigured in another domain.
    let mut b99 = lagd_dt::Dt::new(
        now,
        lagd_dt::DtConfig {
            domain_id: 99,
            ..cfg(MAC_B, 20)
        },
    )
    .unwrap();
    b99.handle_timeout(now);
    let f = peer_link_frame(&mut b99);
    assert_eq!(p.sw[0].handle_peer_frame(now, &f), Ok(()));
    assert_eq!(p.sw[0].counters().rx_foreign, 1);
    assert!(p.saw(0, |_| true));
    // Garbage.
    assert!(p.sw[0].handle_peer_frame(now, &[0u8; 7]).is_err());
    assert!(p.sw[0].handle_keepalive_frame(now, &own[..20]).is_err());
    assert_eq!(p.sw[0].counters().rx_errors, 2);
    p.run_for(Duration::from_secs(5));
    assert!(both_up(&p), "nothing disturbed the pair");
}

#[test]
fn one_way_peer_link_does_not_flap_the_healthy_side_for_long() {
    let mut p = formed();
    // B stops hearing A; A still hears B.
    p.silence_peer_link(true, false);
    p.run_for(Duration::from_secs(10));
    // B sees a split brain and gives way; A keeps forwarding.
    assert!(decision(&p, 0).ports_enabled);
    assert!(!decision(&p, 1).ports_enabled);
    p.silence_peer_link(false, false);
    p.run_until_cond(Duration::from_secs(5), both_up).unwrap();
    p.run_for(Duration::from_millis(20));
    assert!(decision(&p, 1).ports_enabled);
}

#[test]
fn many_aggregations_span_several_pdus() {
    let mut p = Pair::new(cfg(MAC_A, 10), cfg(MAC_B, 20));
    for id in 1..=lagd_dt::MAX_AGGREGATIONS as u16 {
        p.add_aggregation(0, aggr(id));
        p.add_aggregation(1, aggr(id));
    }
    p.run_until_cond(Duration::from_secs(2), both_up).unwrap();
    p.run_for(Duration::from_secs(3));
    for id in 1..=lagd_dt::MAX_AGGREGATIONS as u16 {
        assert!(p.sw[1].diffs(id).is_empty(), "aggregation {id}");
        assert!(p.sw[1].decision(id).unwrap().ports_enabled);
    }
    assert!(p.sent.iter().all(|s| s.3 <= 1514), "frames fit the MTU");
}

#[test]
fn domain_id_mismatch_is_reported_and_the_would_be_secondary_stays_down() {
    // Two switches cabled as a pair but configured with different domain ids: each hears the
    // other's PDUs as another domain's. Left alone, both would act alone with the shared system
    // id and both number their ports from 0 (the server would see duplicate partner ports).
    let mut other = cfg(MAC_B, 20);
    other.domain_id += 1;
    let mut p = Pair::new(cfg(MAC_A, 10), other);
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p.run_for(Duration::from_secs(5));
    for i in 0..2 {
        assert!(
            p.saw(i, |k| matches!(k, DtEventKind::ForeignDomain { .. })),
            "switch {i} reports the other domain"
        );
        assert_ne!(p.sw[i].status().state, PeerState::Up);
    }
    assert_eq!(
        p.sw[0].status().foreign_domain,
        Some(p.sw[1].status().domain_id)
    );
    assert_eq!(
        p.sw[1].status().foreign_domain,
        Some(p.sw[0].status().domain_id)
    );
    let (a, b) = (decision(&p, 0), decision(&p, 1));
    assert!(a.ports_enabled, "the would-be primary keeps forwarding");
    assert_eq!(a.lacp_system, SHARED);
    assert!(!b.ports_enabled);
    assert_eq!(b.reason, Some(DownReason::DomainMismatch));
    assert_ne!(
        b.lacp_system, SHARED,
        "the secondary gives up the shared identity"
    );
    // Once nothing of the other domain is heard any more (peer link and keepalive gone), the
    // switch acts alone again, as with a dead peer.
    p.cut_peer_link();
    p.set_keepalive(false);
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.sw[1].status().foreign_domain, None);
    assert!(decision(&p, 1).ports_enabled);
}

/// A switch frozen with its links up (its lagd stopped by SIGSTOP): the peer acts alone after
/// its timeouts. Resumed, the frozen switch finds its expiries long past but must not call the
/// peer dead on a silence it did not see (it would act alone: peer-link isolation off next to
/// a live peer, a loop and duplicates): it gives the peer one more timeout, reads what the
/// peer sent meanwhile, and the pair re-forms without that switch ever acting alone.
#[test]
fn frozen_switch_resumes_without_acting_alone() {
    for frozen in [0usize, 1] {
        let mut p = formed();
        let other = 1 - frozen;
        let mark = p.log.len();
        p.freeze(frozen);
        p.run_for(Duration::from_secs(8));
        assert_eq!(p.sw[other].state(), PeerState::Alone, "the peer acts alone");
        assert!(decision(&p, other).ports_enabled);
        // The frozen switch's kernel may still forward (and flood) to its half, and does when
        // it resumes before its first PDU: the other switch never stops filtering the peer link
        // towards the aggregation, frozen, resumed or re-formed.
        for d in decisions_since(&p, other, mark) {
            assert!(
                d.isolate_peer_link,
                "isolation off next to a frozen peer: {d}"
            );
        }
        let mark = p.log.len();
        p.thaw(frozen);
        let t0 = p.now;
        let t = p
            .run_until_cond(Duration::from_secs(2), both_up)
            .expect("pair re-forms");
        assert!(t - t0 < Duration::from_millis(100), "took {}", t - t0);
        assert!(!p.log[mark..].iter().any(|(s, e)| *s == frozen
            && matches!(
                e.kind,
                DtEventKind::StateChanged {
                    to: PeerState::Alone | PeerState::SplitBrain,
                    ..
                }
            )));
        for d in decisions_since(&p, frozen, mark) {
            assert!(
                d.isolate_peer_link,
                "isolation off next to a live peer: {d}"
            );
            assert!(d.ports_enabled, "{d}");
        }
        for d in decisions_since(&p, other, mark) {
            assert!(d.isolate_peer_link, "isolation off while re-forming: {d}");
        }
        assert!(decision(&p, other).isolate_peer_link);
        assert!(p.saw(frozen, |k| matches!(
            k,
            DtEventKind::Stalled {
                path: DtPath::PeerLink,
                ..
            }
        )));
        assert_eq!(p.sw[frozen].status().counters.local_stalls, 2);
        assert_eq!(p.sw[other].status().counters.local_stalls, 0);
    }
}

/// The extra timeout is granted once per silence: a peer that died (hung, no carrier event)
/// while this switch was frozen is declared dead one timeout after the switch resumes.
#[test]
fn frozen_switch_whose_peer_died_meanwhile_acts_alone_one_timeout_later() {
    let mut p = formed();
    p.freeze(0);
    p.run_for(Duration::from_secs(1));
    // B hangs silently: no carrier change anywhere.
    p.alive[1] = false;
    p.run_for(Duration::from_secs(8));
    p.thaw(0);
    let t0 = p.now;
    assert_eq!(
        p.sw[0].state(),
        PeerState::Up,
        "not on a silence it did not see"
    );
    let t = p
        .run_until_cond(Duration::from_secs(10), |p| {
            p.sw[0].state() == PeerState::Alone
        })
        .expect("acts alone");
    let timeout = lagd_dt::DtConfig::default().peer_timeout;
    assert!(t - t0 <= timeout, "took {}", t - t0);
    assert!(decision(&p, 0).ports_enabled);
}
