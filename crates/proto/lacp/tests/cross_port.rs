//! Effects of one port's input on other ports. The engine runs the machines of the ports an
//! input touched, plus the ports these effects reach; these tests pin the effects down.

use crate::common::*;
use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{EventKind, MuxState, ReceiveState};
use lagd_types::{Duration, Instant, SystemId};

/// When port `p` of System `s` went WAITING → ATTACHED.
fn attached_at(h: &Harness, s: usize, p: u16) -> Instant {
    h.events(s, |e| {
        e.port == Some(p)
            && matches!(
                e.kind,
                EventKind::Mux {
                    from: MuxState::Waiting,
                    to: MuxState::Attached,
                    ..
                }
            )
    })
    .map(|e| e.at)
    .next()
    .unwrap_or_else(|| panic!("port {p} of system {s} never attached"))
}

#[test]
fn waiting_port_attaches_when_the_last_port_of_its_aggregator_is_ready() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    let pa = add_ports(&mut h, a, 1, 2);
    let pb = add_ports(&mut h, b, 2, 2);
    h.connect(pa[0], pb[0]);
    h.run_for(Duration::from_millis(500));
    h.connect(pa[1], pb[1]);
    until_all_distributing(&mut h, &pa, &pb, Duration::from_secs(5));
    // Port 1's wait_while_timer expires half a second before port 2's: it has Ready_N but
    // its Aggregator is not Ready until port 2's expires; then both attach at once, although
    // that input (port 2's timer) did not touch port 1.
    for s in [a, b] {
        let (t1, t2) = (attached_at(&h, s, 1), attached_at(&h, s, 2));
        assert_eq!(t1, t2, "system {s}");
        assert!(t2 >= Instant::from_millis(2500), "system {s}: {t2}");
    }
}

#[test]
fn lacpdu_from_a_moved_partner_port_reinitializes_the_disabled_port() {
    let mut h = Harness::new();
    let a = h.add_system(sys(1));
    let b = h.add_system(sys(2));
    add_ports(&mut h, a, 1, 2);
    add_ports(&mut h, b, 2, 1);
    // Link 0: B's port 1 to A's port 1.
    let l = h.connect(end(b, 1), end(a, 1));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.port(end(a, 1)).partner.system, sys(2).system);
    // B's port 1 is re-cabled to A's port 2; A's port 1 stays down, remembering its partner.
    h.recable(l, end(a, 2));
    assert_eq!(h.port(end(a, 1)).receive, ReceiveState::PortDisabled);
    assert_eq!(h.port(end(a, 1)).partner.system, sys(2).system);
    let t0 = h.now;
    h.run_for(Duration::from_millis(10));
    // The first LACPDU from B's port 1 on A's port 2 sets port_moved on A's port 1 (§6.4.8).
    let moved: Vec<_> = h
        .events(a, |e| {
            e.port == Some(1)
                && e.at > t0
                && matches!(
                    e.kind,
                    EventKind::Receive {
                        to: ReceiveState::Initialize,
                        ..
                    }
                )
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let EventKind::Receive { reason, .. } = &moved[0].kind else {
        unreachable!()
    };
    assert!(reason.contains("port_moved"), "{reason}");
    let p1 = h.port(end(a, 1));
    assert_eq!(p1.receive, ReceiveState::PortDisabled);
    assert_eq!(p1.partner.system, SystemId::NULL, "partner forgotten");
    assert_eq!(h.port(end(a, 2)).partner.system, sys(2).system);
}
