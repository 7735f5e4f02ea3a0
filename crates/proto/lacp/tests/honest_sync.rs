//! Issue 11, defect 2: only the ports of the Aggregator that really collects (the active one)
//! report Synchronization, Collecting or Distributing to their partner, as Linux and OVS do. A
//! port attached to another Aggregator keeps its partner from distributing into frames that
//! lagd's collector would drop.

use crate::common::*;
use lagd_lacp::testing::Harness;
use lagd_lacp::{MuxState, Selected};
use lagd_types::{Duration, PortState};
use lagd_wire::{SlowFrame, SlowPdu};

const SYNC_COLL_DIST: u8 =
    PortState::SYNCHRONIZATION | PortState::COLLECTING | PortState::DISTRIBUTING;

#[test]
fn ports_of_an_aggregator_that_is_not_active_never_report_sync() {
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
    // Port 4 of A is recabled to C: it selects an Aggregator of its own, not the active one.
    let sent_before = h.sent.len();
    h.recable(3, pc[0]);
    h.run_for(Duration::from_secs(10));
    let p4 = h.port(pa[3]);
    assert_eq!(
        (p4.selected, p4.mux),
        (Selected::Selected, MuxState::Attached)
    );
    assert_eq!(
        p4.actor.state.bits() & SYNC_COLL_DIST,
        0,
        "{}",
        p4.actor.state
    );
    let lies: Vec<String> = h
        .sent
        .iter()
        .skip(sent_before)
        .filter(|s| s.system == a && s.transmit.port == 4)
        .filter_map(|s| match SlowFrame::parse(&s.transmit.frame) {
            Ok(SlowFrame {
                pdu: SlowPdu::Lacp(l),
                ..
            }) if l.actor.state.bits() & SYNC_COLL_DIST != 0 => {
                Some(format!("{}: {}", s.at, l.actor.state))
            }
            _ => None,
        })
        .collect();
    assert!(lies.is_empty(), "port 4 told C it is in sync: {lies:?}");
    // C does not distribute into port 4, whose frames A's collector drops.
    assert!(!h.lacp(c).is_distributing(1));
    assert!(!h.lacp(a).is_collecting(4));
    // The active Aggregator loses every link: port 4's becomes the active one and carries.
    for l in 0..3 {
        h.cut(l);
    }
    let all = [pa[3], pc[0]];
    h.run_until_cond(Duration::from_secs(5), |h| h.all_distributing(&all))
        .expect("port 4 takes over with C");
    assert!(h.port(pa[3]).actor.state.synchronization());
    assert!(h.lacp(a).is_up());
}

/// With two Aggregators of one port each towards two partners, only one pair distributes at
/// any time, both ends agreeing (the SONiC/Cumulus MC-LAG split-brain rule relies on this).
#[test]
fn only_the_active_aggregators_partner_distributes() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let c = h.add_system(sys(3));
    let pa = add_ports(&mut h, a, 1, 2);
    let pb = add_ports(&mut h, b, 2, 1);
    let pc = add_ports(&mut h, c, 3, 1);
    h.connect(pa[0], pb[0]);
    h.connect(pa[1], pc[0]);
    h.run_for(Duration::from_secs(10));
    let ends = [(pa[0], pb[0]), (pa[1], pc[0])];
    let carrying: Vec<bool> = ends
        .iter()
        .map(|(x, y)| {
            let ours = h.lacp(x.system).is_distributing(x.port);
            let theirs = h.lacp(y.system).is_distributing(y.port);
            assert_eq!(ours, theirs, "{x:?} and {y:?} disagree");
            ours
        })
        .collect();
    assert_eq!(carrying.iter().filter(|c| **c).count(), 1, "{carrying:?}");
}
