//! Selection Logic: separate Aggregators per partner and key, max_active and Standby,
//! min_links.

use crate::common::*;
use lagd_lacp::testing::End;
use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{AdSelect, EventKind, MuxState, PortConfig, Selected, SystemConfig};
use lagd_types::{Duration, Instant};

#[test]
fn member_recabled_to_another_system_gets_its_own_aggregator() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let c = h.add_system(sys(3));
    let pa = add_ports(&mut h, a, 1, 4);
    let pb = add_ports(&mut h, b, 2, 4);
    let pc = add_ports(&mut h, c, 3, 1);
    for i in 0..4 {
        h.connect(pa[i], pb[i]);
    }
    until_all_distributing(&mut h, &pa, &pb, Duration::from_secs(5));
    let first = h.lacp(a).aggregators()[0].id;
    h.recable(3, pc[0]);
    h.run_for(Duration::from_secs(5));
    let aggs = h.lacp(a).aggregators();
    assert_eq!(aggs.len(), 2, "{aggs:?}");
    let main = aggs.iter().find(|g| g.id == first).unwrap();
    assert_eq!(main.ports, vec![1, 2, 3]);
    assert!(main.active && main.up);
    assert_eq!(main.partner_system, sys(2).system);
    let other = aggs.iter().find(|g| g.id != first).unwrap();
    assert_eq!(other.ports, vec![4]);
    assert_eq!(other.partner_system, sys(3).system);
    assert!(!other.active);
    // Port 4 is aggregated with C, but only the active Aggregator carries traffic.
    assert!(!h.lacp(a).is_distributing(4));
    assert!(
        h.port(pa[3])
            .why_not_distributing
            .unwrap()
            .contains("not the active one")
    );
    assert_eq!(h.lacp(a).distributing_ports(), vec![1, 2, 3]);
    // The first Aggregator's members never stopped.
    assert!(
        !h.events(a, |e| matches!(e.port, Some(1..=3)))
            .any(|e| matches!(
                e.kind,
                EventKind::CollectingDistributing {
                    distributing: false,
                    ..
                }
            )),
    );
    // C's only port is in its active Aggregator, but A does not collect on port 4 and says so
    // (no Sync): C does not distribute into it (issue 11, defect 2; it did before).
    assert!(
        !h.lacp(c).is_distributing(1),
        "C distributes into a port whose frames A drops"
    );
}

/// update_Selected (§6.4.9) says why a port is UNSELECTED: a partner heard where there was
/// none, then, recabled, a different partner.
#[test]
fn update_selected_says_whether_a_partner_appeared_or_changed() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let c = h.add_system(sys(3));
    let pa = add_ports(&mut h, a, 1, 1);
    let pb = add_ports(&mut h, b, 2, 1);
    let pc = add_ports(&mut h, c, 3, 1);
    h.connect(pa[0], pb[0]);
    until_all_distributing(&mut h, &pa, &pb, Duration::from_secs(5));
    h.recable(0, pc[0]);
    until_all_distributing(&mut h, &pa, &pc, Duration::from_secs(10));
    let unselected: Vec<&str> = h
        .events(a, |e| e.port == Some(1))
        .filter_map(|e| match e.kind {
            EventKind::Selection {
                to: Selected::Unselected,
                reason,
                ..
            } => Some(reason),
            _ => None,
        })
        .collect();
    // (The recabling also takes the link down for a moment: "port disabled" in between.)
    assert_eq!(
        unselected.first(),
        Some(&"a partner heard (LACPDU after none)"),
        "{unselected:?}"
    );
    assert_eq!(
        unselected.last(),
        Some(&"LACPDU from a different partner (System, key or port)"),
        "{unselected:?}"
    );
}

#[test]
fn member_with_another_partner_key_gets_its_own_aggregator() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let pa = add_ports(&mut h, a, 1, 3);
    for p in 1..=3u16 {
        let mut pc = PortConfig::new(p, mac(2, p));
        if p == 3 {
            pc.key = Some(7);
        }
        h.add_port(b, pc);
    }
    for (i, x) in pa.iter().enumerate() {
        h.connect(*x, end(b, i as u16 + 1));
    }
    h.run_for(Duration::from_secs(5));
    for s in [a, b] {
        let aggs = h.lacp(s).aggregators();
        assert_eq!(aggs.len(), 2, "{aggs:?}");
        let main = aggs.iter().find(|g| g.active).unwrap();
        assert_eq!(main.ports, vec![1, 2]);
        assert!(main.up);
        let odd = aggs.iter().find(|g| !g.active).unwrap();
        assert_eq!(odd.ports, vec![3]);
    }
    assert_eq!(h.port(pa[2]).partner.key, 7);
    assert_eq!(h.lacp(a).distributing_ports(), vec![1, 2]);
}

#[test]
fn six_links_max_active_four_two_standby_take_over() {
    let mut ca = sys(1);
    ca.max_active = Some(4);
    let mut cb = sys(2);
    cb.max_active = Some(4);
    let mut h = Harness::new();
    let a = h.add_system(ca);
    let b = h.add_system(cb);
    let pa = add_ports(&mut h, a, 1, 6);
    // B's own priorities would prefer its ports 6, 5, 4, 3; A has the better System ID, so
    // A's priorities (all equal: port number order) decide for both.
    for p in 1..=6u16 {
        let mut pc = PortConfig::new(p, mac(2, p));
        pc.priority = 100 - p;
        h.add_port(b, pc);
    }
    let pb: Vec<_> = (1..=6).map(|p| end(b, p)).collect();
    for i in 0..6 {
        h.connect(pa[i], pb[i]);
    }
    until_all_distributing(&mut h, &pa[..4], &pb[..4], Duration::from_secs(5));
    h.run_for(Duration::from_secs(5));
    for s in [a, b] {
        let sel: Vec<Selected> = (1..=6)
            .map(|p| h.lacp(s).port(p).unwrap().selected)
            .collect();
        assert_eq!(
            sel,
            [[Selected::Selected; 4].as_slice(), &[Selected::Standby; 2]].concat(),
            "system {s}"
        );
        assert_eq!(h.lacp(s).distributing_ports().len(), 4);
    }
    assert!(
        h.port(pa[4])
            .why_not_distributing
            .unwrap()
            .contains("standby")
    );
    // An active member fails: a standby one takes over at once, on both sides.
    h.cut(0);
    let t0 = h.now;
    let t = until_all_distributing(&mut h, &pa[1..5], &pb[1..5], Duration::from_secs(5));
    assert!(t - t0 <= Duration::from_millis(100), "took {}", t - t0);
    assert_eq!(h.port(pa[5]).selected, Selected::Standby);
    assert_eq!(h.lacp(a).distributing_ports(), vec![2, 3, 4, 5]);
    assert!(h.lacp(a).is_up());
    // It comes back: the better port preempts, port 5 returns to Standby.
    h.restore(0);
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.lacp(a).distributing_ports(), vec![1, 2, 3, 4]);
    assert_eq!(h.port(pa[4]).selected, Selected::Standby);
}

/// max_active ranks the members by the port priorities of the System with the better System ID
/// (§6.4.14.2 c), on both sides: here A's, which prefer its ports 6, 5, 4, 3 over B's own
/// choice of 1, 2, 3, 4 (and over the port number order).
#[test]
fn max_active_ranks_by_the_port_priorities_of_the_better_system() {
    let mut h = Harness::new();
    let a = h.add_system(SystemConfig {
        max_active: Some(4),
        ..sys(1)
    });
    let b = h.add_system(SystemConfig {
        max_active: Some(4),
        ..sys(2)
    });
    for p in 1..=6u16 {
        let mut pa = PortConfig::new(p, mac(1, p));
        pa.priority = 100 - p;
        h.add_port(a, pa);
        let mut pb = PortConfig::new(p, mac(2, p));
        pb.priority = p;
        h.add_port(b, pb);
        h.connect(end(a, p), end(b, p));
    }
    let best: Vec<End> = (3..=6).map(|p| end(a, p)).collect();
    let best_b: Vec<End> = (3..=6).map(|p| end(b, p)).collect();
    until_all_distributing(&mut h, &best, &best_b, Duration::from_secs(5));
    h.run_for(Duration::from_secs(5));
    for s in [a, b] {
        let sel: Vec<Selected> = (1..=6)
            .map(|p| h.lacp(s).port(p).unwrap().selected)
            .collect();
        assert_eq!(
            sel,
            [[Selected::Standby; 2].as_slice(), &[Selected::Selected; 4]].concat(),
            "system {s}"
        );
        let mut dist = h.lacp(s).distributing_ports();
        dist.sort_unstable();
        assert_eq!(dist, vec![3, 4, 5, 6], "system {s}");
    }
}

#[test]
fn min_links_three_of_four() {
    let mut ca = sys(1);
    ca.min_links = 3;
    let (mut h, a, b) = pair(ca, sys(2), 4);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    assert!(h.lacp(0).is_up());
    h.cut(0);
    h.run_for(Duration::from_secs(1));
    assert!(h.lacp(0).is_up(), "3 of 4 is enough");
    let before = h.log.len();
    h.cut(1);
    h.run_for(Duration::from_secs(1));
    assert!(!h.lacp(0).is_up());
    let down: Vec<String> = h.log[before..]
        .iter()
        .filter_map(|(s, e)| match &e.kind {
            EventKind::AggregateDown { reason } if *s == 0 => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        down,
        vec!["2 of 4 members collecting and distributing, min-links is 3".to_string()]
    );
    assert!(!h.lacp(0).status().aggregators[0].up);
    assert!(h.lacp(1).is_up(), "B has min-links 1");
    h.restore(1);
    let t0 = h.now;
    let t = h
        .run_until_cond(Duration::from_secs(5), |h| h.lacp(0).is_up())
        .expect("back up");
    assert!(t - t0 <= Duration::from_secs(3), "took {}", t - t0);
    assert!(h.saw(0, |k| matches!(k, EventKind::AggregateUp)));
    assert_eq!(h.lacp(0).distributing_ports(), vec![2, 3, 4]);
}

/// A: two ports to B at 10 Gbit/s, then three ports to C at 1 Gbit/s; returns the harness,
/// A's index, A's ends of the B links and of the C links.
fn two_partners(cfg: lagd_lacp::SystemConfig) -> (Harness, usize, Vec<End>, Vec<End>) {
    let mut h = Harness::new();
    let a = h.add_system(cfg);
    let b = h.add_system(sys(2));
    let c = h.add_system(sys(3));
    let pa = add_ports(&mut h, a, 1, 5);
    let pb = add_ports(&mut h, b, 2, 2);
    let pc = add_ports(&mut h, c, 3, 3);
    h.speed_mbps = 10_000;
    for i in 0..2 {
        h.connect(pa[i], pb[i]);
    }
    until_all_distributing(&mut h, &pa[..2], &pb, Duration::from_secs(5));
    h.speed_mbps = 1_000;
    h.log.clear();
    for i in 0..3 {
        h.connect(pa[i + 2], pc[i]);
    }
    h.run_for(Duration::from_secs(5));
    (h, a, pa[..2].to_vec(), pa[2..].to_vec())
}

fn active_ports(h: &Harness, a: usize) -> Vec<u16> {
    h.lacp(a).distributing_ports()
}

/// Issue 11, defect 5: `ad_select` as Linux names it, `stable` by default: the active
/// Aggregator stays while it has ports in sync with a real partner, whatever comes up beside it
/// (it switched to the one with more ports before).
#[test]
fn ad_select_stable_keeps_the_active_aggregator_while_it_works() {
    let (mut h, a, to_b, to_c) = two_partners(sys(1));
    assert_eq!(h.lacp(a).config().ad_select, AdSelect::Stable);
    assert_eq!(
        active_ports(&h, a),
        vec![1, 2],
        "three ports to C did not take over"
    );
    assert_eq!(
        h.events(a, |e| matches!(e.kind, EventKind::ActiveAggregator { .. }))
            .count(),
        0,
        "the active Aggregator never changed"
    );
    // One link to B fails: the Aggregator still works, it stays.
    h.cut(0);
    h.run_for(Duration::from_secs(3));
    assert_eq!(active_ports(&h, a), vec![2]);
    // The last link to B fails: C's links take over.
    h.cut(1);
    let c: Vec<End> = to_c.clone();
    h.run_until_cond(Duration::from_secs(5), |h| h.all_distributing(&c))
        .expect("C's links take over");
    assert_eq!(active_ports(&h, a), vec![3, 4, 5]);
    // B's links come back: stable keeps C's.
    h.restore(0);
    h.restore(1);
    h.run_for(Duration::from_secs(5));
    assert_eq!(active_ports(&h, a), vec![3, 4, 5]);
    let _ = to_b;
}

#[test]
fn ad_select_count_prefers_more_ports_and_bandwidth_more_speed() {
    let cfg = lagd_lacp::SystemConfig {
        ad_select: AdSelect::Count,
        ..sys(1)
    };
    let (h, a, _, _) = two_partners(cfg);
    assert_eq!(active_ports(&h, a), vec![3, 4, 5], "three ports beat two");
    // The ports to B, whose Aggregator is no longer the active one, went back to ATTACHED and
    // tell B so: B distributes on none of them.
    for p in [1, 2] {
        let st = h.lacp(a).port(p).unwrap();
        assert_eq!(st.mux, MuxState::Attached, "port {p}");
        assert!(!st.actor.state.synchronization() && !st.actor.state.collecting());
        assert!(!h.lacp(1).is_distributing(p), "B distributes on port {p}");
    }
    let cfg = lagd_lacp::SystemConfig {
        ad_select: AdSelect::Bandwidth,
        ..sys(1)
    };
    let (mut h, a, _, _) = two_partners(cfg);
    assert_eq!(active_ports(&h, a), vec![1, 2], "20 Gbit/s beat 3 Gbit/s");
    // Switched live to count: reconsidered at once.
    let mut cfg = h.lacp(a).config().clone();
    cfg.ad_select = AdSelect::Count;
    let now = h.now;
    h.lacp_mut(a).set_config(now, cfg).unwrap();
    h.run_for(Duration::from_secs(3));
    assert_eq!(active_ports(&h, a), vec![3, 4, 5]);
}

/// §6.4.14: every change of Selected is reported. A live key change unselects all of A's ports
/// at once; they then select the Aggregators of two LAGs (to B and to C) in one run of the
/// Selection Logic, and each port's last Selection event must say what its status says (the
/// newcomers of each Aggregator are found in the sorted list of this run's selections: kills
/// the mutants of that lookup, which left the ports of one or both Aggregators SELECTED
/// without an event).
#[test]
fn ports_of_two_lags_selected_in_one_run_each_report_it() {
    let (mut h, a, to_b, to_c) = two_partners(sys(1));
    let now = h.now;
    let mut c = sys(1);
    c.key = 9;
    h.log.clear();
    h.lacp_mut(a).set_config(now, c).unwrap();
    h.run_for(Duration::from_secs(5));
    for e in to_b.iter().chain(&to_c) {
        let st = h.port(*e);
        let last = h
            .events(a, |ev| {
                ev.port == Some(e.port) && matches!(ev.kind, EventKind::Selection { .. })
            })
            .last()
            .map(|ev| ev.kind.clone());
        let Some(EventKind::Selection { to, aggregator, .. }) = last else {
            panic!("port {}: no Selection event after the key change", e.port);
        };
        assert_eq!(
            (to, aggregator),
            (st.selected, st.aggregator),
            "port {}: the last Selection event against the status",
            e.port
        );
        assert_eq!(st.selected, Selected::Selected, "port {}", e.port);
    }
}

/// §6.4.14 and Detach_Mux_From_Aggregator (§6.4.9): a port whose link goes down is UNSELECTED,
/// DETACHED and leaves its Aggregator; an Aggregator left without ports ceases to exist. A
/// recabled port of the same LAG joins the remaining one.
#[test]
fn a_port_whose_link_goes_down_leaves_its_aggregator() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let c = h.add_system(sys(3));
    let pa = add_ports(&mut h, a, 1, 3);
    let pb = add_ports(&mut h, b, 2, 2);
    let pc = add_ports(&mut h, c, 3, 1);
    h.connect(pa[0], pb[0]);
    h.connect(pa[1], pb[1]);
    let to_c = h.connect(pa[2], pc[0]);
    until_all_distributing(&mut h, &pa[..2], &pb, Duration::from_secs(5));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.lacp(a).status().aggregators.len(), 2);
    h.cut(to_c);
    h.run_for(Duration::from_secs(5));
    let st = h.port(pa[2]);
    assert_eq!(st.selected, Selected::Unselected);
    assert_eq!(st.mux, MuxState::Detached);
    assert_eq!(st.aggregator, None, "a down port keeps no Aggregator");
    let aggs = h.lacp(a).status().aggregators;
    assert_eq!(aggs.len(), 1, "the emptied Aggregator ceases to exist");
    assert_eq!(aggs[0].ports, vec![1, 2]);
    // A port of the active Aggregator: the data plane is told to stop before the port leaves.
    h.log.clear();
    h.cut(0);
    h.run_for(Duration::from_secs(5));
    let stops: Vec<_> = h
        .events(a, |e| {
            e.port == Some(1) && matches!(e.kind, EventKind::CollectingDistributing { .. })
        })
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(
        stops,
        [EventKind::CollectingDistributing {
            collecting: false,
            distributing: false
        }]
    );
    assert_eq!(h.port(pa[0]).aggregator, None);
    assert_eq!(h.lacp(a).status().aggregators[0].ports, vec![2]);
}

/// Detach_Mux_From_Aggregator is the Mux machine's (§6.4.15): the Selection Logic releases an
/// UNSELECTED port's Aggregator only once its Mux is DETACHED, so a leaving port still counts
/// as attached while its Mux runs. Here, in one input, port 1 (attached) goes DEFAULTED and
/// leaves the Aggregator of its LAG ID while port 2, whose loop just ended, selects that same
/// Aggregator: port 2 finds a port attached and joins at once, without wait_while_timer
/// (deviation 1), and the Aggregator keeps its identifier.
#[test]
fn a_port_joining_as_the_last_attached_one_leaves_finds_it_attached() {
    use lagd_types::{MacAddr, PortId, PortState, SystemId};
    use lagd_wire::LacpInfo;
    let mut l = single(sys(1), 2);
    let partner = |port: u16| LacpInfo {
        system: SystemId::new(0x8000, MacAddr([2, 0, 0, 0, 9, 0])),
        key: 5,
        port: PortId::new(0x8000, port),
        state: PortState(
            PortState::LACP_ACTIVITY
                | PortState::LACP_TIMEOUT
                | PortState::AGGREGATION
                | PortState::SYNCHRONIZATION
                | PortState::COLLECTING
                | PortState::DISTRIBUTING,
        ),
    };
    let mut sent = Vec::new();
    let ms = |m: u64| Instant::ZERO + Duration::from_millis(m);
    // 16.5 s: port 1's partner, last heard at 10.5 s, is EXPIRED at 13.5 s and DEFAULTED at
    // 16.5 s; port 2's echo of our own LACPDUs, last at 13.5 s, ends at 16.5 s (3 s hold).
    let both = ms(16_500);
    let mut agg = None;
    let mut events = Vec::new();
    for step in 1..=170u64 {
        let now = ms(step * 100);
        drive(&mut l, now, now, &mut sent);
        events.extend(std::iter::from_fn(|| l.poll_event()));
        if now == both {
            break;
        }
        if step % 5 == 0 {
            if now <= ms(10_500) {
                let view = l.port(1).unwrap().actor;
                l.handle_frame(now, 1, &lacpdu_frame(partner(1), view))
                    .unwrap();
            }
            let view = l.port(2).unwrap().actor;
            l.handle_frame(now, 2, &lacpdu_frame(partner(2), view))
                .unwrap();
            if (ms(12_000)..=ms(13_500)).contains(&now) {
                // Our own LACPDU comes back on port 2 (a hub echoes it beside the partner).
                let own = l.port(2).unwrap().actor;
                l.handle_frame(now, 2, &lacpdu_frame(own, partner(2)))
                    .unwrap();
            }
        }
        if now == ms(11_000) {
            let p1 = l.port(1).unwrap();
            assert_eq!(p1.mux, MuxState::CollectingDistributing);
            agg = p1.aggregator;
        }
    }
    assert!(agg.is_some());
    let p1 = l.port(1).unwrap();
    let p2 = l.port(2).unwrap();
    assert_eq!(
        (p1.receive, p1.selected),
        (lagd_lacp::ReceiveState::Defaulted, Selected::Selected),
        "port 1 left at {both} and selected its default partner's Aggregator"
    );
    assert_ne!(p1.aggregator, agg);
    assert_eq!(p2.loopback, None, "the loop on port 2 ended at {both}");
    assert_eq!(
        p2.aggregator, agg,
        "port 2 joined the Aggregator port 1 left"
    );
    assert_eq!(
        p2.mux,
        MuxState::CollectingDistributing,
        "port 2 joined at once: port 1 was still attached when it selected"
    );
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.at == both && e.port == Some(2))
        .map(|e| e.kind)
        .collect();
    assert!(
        events.contains(&EventKind::Selection {
            to: Selected::Selected,
            aggregator: agg,
            reason: "selected the Aggregator of its LAG ID",
        }),
        "{events:?}"
    );
}

/// Removing a port stops the data plane on it only if it collected or distributed: one
/// CollectingDistributing (false, false) event for a distributing port, none for a port that
/// never did.
#[test]
fn removing_a_port_stops_the_data_plane_only_where_it_ran() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    h.add_port(0, PortConfig::new(3, mac(1, 3)));
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(5));
    h.log.clear();
    let now = h.now;
    for port in [1, 3] {
        h.lacp_mut(0).remove_port(now, port).unwrap();
    }
    h.drain();
    let stops: Vec<_> = h
        .events(0, |e| {
            matches!(e.kind, EventKind::CollectingDistributing { .. })
        })
        .map(|e| (e.port, e.kind.clone()))
        .collect();
    assert_eq!(
        stops,
        [(
            Some(1),
            EventKind::CollectingDistributing {
                collecting: false,
                distributing: false
            }
        )]
    );
}

/// A change of the actor's own identity — key, port priority, System priority, each alone — is
/// a new Actor_Port / LAG ID for the partner: the port is UNSELECTED at once by the change,
/// saying so (not later by the Selection Logic finding its LAG ID changed), and selects again.
#[test]
fn a_change_of_the_actors_identity_reselects_the_port_and_says_why() {
    let mut l = single(sys(1), 1);
    let mut sent = Vec::new();
    drive(&mut l, Instant::ZERO, Instant::from_secs(10), &mut sent);
    let mut t = Instant::from_secs(10);
    let unselected = |l: &mut lagd_lacp::Lacp| {
        let mut v = Vec::new();
        while let Some(e) = l.poll_event() {
            if let EventKind::Selection { to, reason, .. } = e.kind {
                v.push((to, reason));
            }
        }
        assert_eq!(v.last().map(|s| s.0), Some(Selected::Selected), "{v:?}");
        v.into_iter()
            .filter(|s| s.0 == Selected::Unselected)
            .map(|s| s.1)
            .collect::<Vec<_>>()
    };
    unselected(&mut l);
    let system = "configuration changed (System ID, priority or key)";
    let port = "port configuration changed (key, priority or aggregation)";
    let mut cfg = sys(1);
    cfg.key = 7;
    l.set_config(t, cfg.clone()).unwrap();
    assert_eq!(unselected(&mut l), [system], "key");
    t += Duration::from_secs(1);
    cfg.system.priority = 100;
    l.set_config(t, cfg).unwrap();
    assert_eq!(unselected(&mut l), [system], "System priority");
    t += Duration::from_secs(1);
    let mut pc = PortConfig::new(1, mac(1, 1));
    pc.priority = 7;
    l.set_port_config(t, pc).unwrap();
    assert_eq!(unselected(&mut l), [port], "port priority");
}

/// Actor_Oper_Port_State.Aggregation: only an aggregatable port on a full-duplex link says it
/// can aggregate.
#[test]
fn only_an_aggregatable_full_duplex_port_advertises_aggregation() {
    let mut l = single(sys(1), 2);
    let now = Instant::from_secs(1);
    let half = lagd_lacp::LinkStatus {
        full_duplex: false,
        ..lagd_lacp::LinkStatus::up(1000)
    };
    l.handle_link(now, 1, half);
    let mut pc = PortConfig::new(2, mac(1, 2));
    pc.aggregatable = false;
    l.set_port_config(now, pc).unwrap();
    assert!(!l.port(1).unwrap().actor.state.aggregation(), "half duplex");
    assert!(
        !l.port(2).unwrap().actor.state.aggregation(),
        "not aggregatable"
    );
    l.handle_link(now, 1, lagd_lacp::LinkStatus::up(1000));
    assert!(l.port(1).unwrap().actor.state.aggregation());
}

/// Ready (§6.4.8) waits for the SELECTED ports in WAITING only: a STANDBY port still in its
/// wait_while_timer does not hold back the Aggregator. With max_active 1, port 2 comes up a
/// second after port 1 and waits as STANDBY; port 1 attaches when its own wait_while_timer
/// expires, not when port 2's does.
#[test]
fn a_waiting_standby_port_does_not_hold_back_ready() {
    let mut ca = sys(1);
    ca.max_active = Some(1);
    let (mut h, a, _b) = pair(ca, sys(2), 2);
    h.cut(1);
    h.run_for(Duration::from_secs(1));
    h.restore(1);
    h.run_until(Instant::from_millis(2500));
    let p2 = h.port(a[1]);
    assert_eq!(
        (p2.selected, p2.mux),
        (Selected::Standby, MuxState::Waiting),
        "port 2 waits as STANDBY"
    );
    let p1 = h.port(a[0]);
    assert_eq!(p1.selected, Selected::Selected);
    assert_ne!(p1.mux, MuxState::Waiting, "port 1 attached at its own 2 s");
}
