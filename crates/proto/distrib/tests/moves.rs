//! Marker-protected moves under continuous traffic, over modelled links where the Marker
//! travels behind the data on the old port: nothing lost, nothing reordered.

mod common;

use common::Net;
use lagd_distrib::{Completion, DistEvent, DistributorConfig, Mode, MoveProtection, MoveReason};
use lagd_types::{Duration, Instant};

const FLOWS: u32 = 32;
const STEP: Duration = Duration::from_micros(100);

fn hash(flow: u32) -> u32 {
    flow.wrapping_mul(0x9e37_79b1)
}

fn config(protection: MoveProtection) -> DistributorConfig {
    DistributorConfig {
        move_protection: protection,
        rebalance_interval: None,
        max_held_frames: 8192,
        ..DistributorConfig::default()
    }
}

/// Offers one frame per flow every STEP until `until`.
fn traffic(net: &mut Net, until: Instant) {
    while net.now < until {
        let t = net.now + STEP;
        net.advance(t);
        for f in 0..FLOWS {
            net.offer_hashed(f, hash(f), 200);
        }
    }
}

/// Stops traffic and lets everything arrive.
fn settle(net: &mut Net) {
    let t = net.now + Duration::from_secs(1);
    net.advance(t);
}

/// Port 1 is slow (5 ms), port 2 fast (0.2 ms): a frame moved to port 2 too early overtakes.
fn add_port_under_traffic(protection: MoveProtection, respond: bool) -> Net {
    let mut net = Net::new(
        config(protection),
        &[
            (1, Duration::from_millis(5)),
            (2, Duration::from_micros(200)),
        ],
    );
    net.respond = respond;
    net.return_delay = Duration::from_millis(5);
    let now = net.now;
    net.set_ports(&[1]);
    traffic(&mut net, now + Duration::from_millis(20));
    let now = net.now;
    net.set_ports(&[1, 2]);
    traffic(&mut net, now + Duration::from_millis(40));
    settle(&mut net);
    net
}

#[test]
fn marker_protected_move_loses_and_reorders_nothing() {
    let net = add_port_under_traffic(
        MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        },
        true,
    );
    net.assert_all_delivered_in_order();
    assert_eq!(net.dropped, 0);
    assert!(net.held > 0, "the move held frames");
    assert_eq!(net.markers_sent, 1);
    assert_eq!(net.owned(2), 128);
    let s = net.dist.stats();
    assert_eq!(s.marker_timeouts, 0);
    assert_eq!(s.held_now, 0);
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::MoveCompleted {
            by: Completion::MarkerResponse,
            held_released,
            ..
        } if *held_released > 0
    )));
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::BucketsMoved {
            from: Some(1),
            to: 2,
            buckets: 128,
            reason: MoveReason::PortAdded
        }
    )));
    // Both links carried traffic of moved flows.
    assert!(net.sent_on.get(&2).copied().unwrap_or(0) > 0);
}

#[test]
fn unprotected_move_does_reorder_in_this_model() {
    // The negative control: the model can detect reordering.
    let net = add_port_under_traffic(MoveProtection::None, true);
    assert!(net.violations > 0);
    assert_eq!(net.delivered, net.offered());
}

#[test]
fn silent_partner_marker_timeout_loses_nothing() {
    let net = add_port_under_traffic(
        MoveProtection::Marker {
            timeout: Duration::from_millis(20),
        },
        false,
    );
    net.assert_all_delivered_in_order();
    assert_eq!(net.dist.stats().marker_timeouts, 1);
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::MoveCompleted {
            by: Completion::Timeout,
            ..
        }
    )));
    assert_eq!(net.owned(2), 128);
}

#[test]
fn collector_delay_move_loses_and_reorders_nothing() {
    let net = add_port_under_traffic(
        MoveProtection::CollectorDelay(Duration::from_millis(10)),
        false,
    );
    assert!(net.all_in_order(), "violations {}", net.violations);
    assert_eq!(net.markers_sent, 0);
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::MoveCompleted {
            by: Completion::CollectorDelay,
            ..
        }
    )));
}

#[test]
fn held_queue_overflow_completes_early_and_loses_nothing() {
    let mut net = Net::new(
        DistributorConfig {
            max_held_frames: 40,
            ..config(MoveProtection::Marker {
                timeout: Duration::from_millis(100),
            })
        },
        &[
            (1, Duration::from_millis(5)),
            (2, Duration::from_micros(200)),
        ],
    );
    net.return_delay = Duration::from_millis(5);
    let now = net.now;
    net.set_ports(&[1]);
    traffic(&mut net, now + Duration::from_millis(5));
    let now = net.now;
    net.set_ports(&[1, 2]);
    traffic(&mut net, now + Duration::from_millis(20));
    settle(&mut net);
    assert_eq!(net.dropped, 0);
    assert_eq!(net.delivered, net.offered(), "nothing lost");
    assert!(net.dist.stats().early_completions >= 1);
    assert_eq!(net.dist.stats().held_now, 0);
}

#[test]
fn drain_port_moves_everything_off_without_loss_or_reordering() {
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[
            (1, Duration::from_millis(5)),
            (2, Duration::from_micros(300)),
            (3, Duration::from_micros(700)),
        ],
    );
    net.return_delay = Duration::from_millis(3);
    let now = net.now;
    net.set_ports(&[1, 2, 3]);
    traffic(&mut net, now + Duration::from_millis(10));
    let now = net.now;
    net.dist.drain_port(now, 1);
    net.pump();
    assert_eq!(net.dist.draining(), &[1]);
    traffic(&mut net, now + Duration::from_millis(30));
    let drained_at = net
        .events
        .iter()
        .position(|e| *e == DistEvent::Drained { port: 1 })
        .expect("Drained emitted");
    assert!(net.events[..drained_at].iter().any(|e| matches!(
        e,
        DistEvent::BucketsMoved {
            from: Some(1),
            reason: MoveReason::Drain,
            ..
        }
    )));
    assert_eq!(net.owned(1), 0);
    let (a, b) = (net.owned(2), net.owned(3));
    assert_eq!(a + b, 256);
    assert!(a.abs_diff(b) <= 1, "{a} {b}");
    // The caller now removes the port; traffic goes on.
    let now = net.now;
    net.set_ports(&[2, 3]);
    traffic(&mut net, now + Duration::from_millis(10));
    settle(&mut net);
    net.assert_all_delivered_in_order();
    assert_eq!(
        net.events
            .iter()
            .filter(|e| matches!(e, DistEvent::Drained { .. }))
            .count(),
        1
    );
}

#[test]
fn failed_port_moves_at_once_without_marker() {
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[(1, Duration::from_millis(1)), (2, Duration::from_millis(1))],
    );
    let now = net.now;
    net.set_ports(&[1, 2]);
    net.dist.set_ports(now, &[2]);
    net.pump();
    assert_eq!(net.markers_sent, 0);
    assert_eq!(net.owned(2), 256);
    assert!(net.dist.poll_timeout().is_none());
    for f in 0..FLOWS {
        net.offer_hashed(f, hash(f), 100);
    }
    assert_eq!(net.held, 0);
}

#[test]
fn destination_failing_mid_move_cancels_back_to_the_source() {
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[
            (1, Duration::from_millis(5)),
            (2, Duration::from_micros(100)),
        ],
    );
    net.return_delay = Duration::from_millis(5);
    let now = net.now;
    net.set_ports(&[1]);
    traffic(&mut net, now + Duration::from_millis(5));
    let now = net.now;
    net.set_ports(&[1, 2]);
    traffic(&mut net, now + Duration::from_millis(3)); // marker still in flight
    let now = net.now;
    net.set_ports(&[1]);
    traffic(&mut net, now + Duration::from_millis(10));
    settle(&mut net);
    assert!(net.all_in_order(), "violations {}", net.violations);
    assert_eq!(net.owned(1), 256);
    // The late response is counted, not acted on.
    assert_eq!(net.dist.stats().stale_marker_responses, 1);
}

/// An Ethernet + IPv4 + UDP frame of flow `f` (source port varies, source IP by f % 8).
fn udp_frame(f: u32) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    v.extend_from_slice(&[0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    v.extend_from_slice(&[10, 0, 0, (f % 8) as u8, 10, 0, 1, 1]);
    v.extend_from_slice(&(1000 + f as u16).to_be_bytes());
    v.extend_from_slice(&53u16.to_be_bytes());
    v.extend_from_slice(&[0; 30]);
    v
}

fn policy_change_run(protection: MoveProtection) -> Net {
    let mut net = Net::new(
        config(protection),
        &[
            (1, Duration::from_millis(4)),
            (2, Duration::from_micros(100)),
            (3, Duration::from_millis(1)),
        ],
    );
    let frames: Vec<Vec<u8>> = (0..FLOWS).map(udp_frame).collect();
    net.set_ports(&[1, 2, 3]);
    for (i, policy) in ["L3", "L2,L3,L4", "L3,L4"].iter().enumerate() {
        let until = net.now + Duration::from_millis(10);
        while net.now < until {
            let t = net.now + STEP;
            net.advance(t);
            for f in 0..FLOWS {
                net.offer_frame(f, &frames[f as usize]);
            }
        }
        let mut c = net.dist.config().clone();
        c.policy = policy.parse().unwrap();
        c.buckets = 256 << i;
        let now = net.now;
        net.dist.set_config(now, c);
        net.pump();
    }
    settle(&mut net);
    net
}

#[test]
fn unprotected_policy_change_does_reorder_in_this_model() {
    // Negative control for the quiesce test below.
    let net = policy_change_run(MoveProtection::None);
    assert!(net.violations > 0);
    let net = policy_change_run(MoveProtection::Marker {
        timeout: Duration::from_millis(100),
    });
    assert!(net.all_in_order(), "violations {}", net.violations);
}

#[test]
fn live_policy_and_bucket_change_quiesces_without_reordering() {
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[
            (1, Duration::from_millis(4)),
            (2, Duration::from_micros(100)),
            (3, Duration::from_millis(1)),
        ],
    );
    net.return_delay = Duration::from_millis(1);
    let frames: Vec<Vec<u8>> = (0..FLOWS).map(udp_frame).collect();
    let now = net.now;
    net.set_ports(&[1, 2, 3]);
    let run = |net: &mut Net, until: Instant| {
        while net.now < until {
            let t = net.now + STEP;
            net.advance(t);
            for f in 0..FLOWS {
                net.offer_frame(f, &frames[f as usize]);
            }
        }
    };
    run(&mut net, now + Duration::from_millis(10));
    let before = net.markers_sent;
    let now = net.now;
    let mut c = net.dist.config().clone();
    c.policy = "L3".parse().unwrap();
    net.dist.set_config(now, c.clone());
    net.pump();
    assert_eq!(net.markers_sent - before, 3, "one marker per port");
    run(&mut net, now + Duration::from_millis(20));
    let now = net.now;
    c.buckets = 1024;
    net.dist.set_config(now, c);
    net.pump();
    assert_eq!(net.dist.bucket_table().len(), 1024);
    run(&mut net, now + Duration::from_millis(20));
    settle(&mut net);
    net.assert_all_delivered_in_order();
    assert!(net.held > 0);
    let completions = net
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                DistEvent::MoveCompleted {
                    by: Completion::MarkerResponse,
                    ..
                }
            )
        })
        .count();
    assert_eq!(completions, 6);
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::BucketsMoved {
            from: None,
            reason: MoveReason::PolicyChange,
            ..
        }
    )));
}

#[test]
fn mode_change_to_active_backup_quiesces_and_keeps_order() {
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[
            (1, Duration::from_millis(4)),
            (2, Duration::from_micros(100)),
        ],
    );
    let now = net.now;
    net.set_ports(&[2, 1]);
    traffic(&mut net, now + Duration::from_millis(5));
    let now = net.now;
    let c = DistributorConfig {
        mode: Mode::ActiveBackup,
        ..net.dist.config().clone()
    };
    net.dist.set_config(now, c);
    net.pump();
    traffic(&mut net, now + Duration::from_millis(20));
    settle(&mut net);
    assert!(net.all_in_order(), "violations {}", net.violations);
    assert_eq!(net.dist.active(), Some(2));
    assert!(
        net.events
            .contains(&DistEvent::ActiveChanged { port: Some(2) })
    );
}

#[test]
fn undrained_port_takes_back_its_share_under_marker_protection() {
    // A port that stopped distributing for a protocol reason is drained (issue 11, defect 4);
    // when it distributes again mid-drain, it stops draining and takes back its share, every
    // move behind a Marker: nothing lost, nothing reordered.
    let mut net = Net::new(
        config(MoveProtection::Marker {
            timeout: Duration::from_millis(100),
        }),
        &[
            (1, Duration::from_millis(5)),
            (2, Duration::from_micros(300)),
            (3, Duration::from_micros(700)),
        ],
    );
    net.return_delay = Duration::from_millis(3);
    assert!(net.dist.protects_moves());
    let now = net.now;
    net.set_ports(&[1, 2, 3]);
    traffic(&mut net, now + Duration::from_millis(10));
    let now = net.now;
    net.dist.drain_ports(now, &[1, 3]);
    net.pump();
    assert_eq!(net.dist.draining(), &[1, 3]);
    // Port 3's Marker is back (0.7 + 3 ms), port 1's not yet (5 + 3 ms).
    traffic(&mut net, now + Duration::from_micros(5_500));
    assert_eq!(net.owned(3), 0);
    assert!(net.owned(1) > 0);
    let drained_3 = |net: &Net| {
        net.events
            .iter()
            .filter(|e| **e == DistEvent::Drained { port: 3 })
            .count()
    };
    assert_eq!(drained_3(&net), 1);
    let now = net.now;
    net.dist.undrain_port(now, 1);
    net.pump();
    assert_eq!(net.dist.draining(), &[3]);
    traffic(&mut net, now + Duration::from_millis(40));
    settle(&mut net);
    assert_eq!(net.owned(3), 0, "port 3 still drains");
    assert_eq!(drained_3(&net), 1, "port 3's drain reported once");
    let (a, b) = (net.owned(1), net.owned(2));
    assert_eq!(a + b, 256);
    assert!(a.abs_diff(b) <= 1, "{a} {b}");
    net.assert_all_delivered_in_order();
    assert!(
        !net.events.contains(&DistEvent::Drained { port: 1 }),
        "port 1 came back before it was drained"
    );
}

fn moves(net: &Net, from: u16, to: u16) -> usize {
    net.events
        .iter()
        .filter(|e| {
            matches!(e, DistEvent::BucketsMoved { from: f, to: t, .. } if *f == Some(from) && *t == to)
        })
        .count()
}

fn marker_timeouts(net: &Net) -> u64 {
    net.dist.stats().marker_timeouts
}

#[test]
fn moves_off_one_port_share_one_marker() {
    // Issue 11, defect 6: two ports join at once and each takes its share from port 1. One
    // Marker on port 1 covers both moves: a responder that answers one Marker per port in a
    // while (DPDK: 2 s) still answers them.
    let mut net = Net::new(
        config(MoveProtection::default()),
        &[
            (1, Duration::from_millis(2)),
            (2, Duration::from_micros(300)),
            (3, Duration::from_micros(300)),
        ],
    );
    let now = net.now;
    net.set_ports(&[1]);
    traffic(&mut net, now + Duration::from_millis(10));
    let now = net.now;
    net.set_ports(&[1, 2, 3]);
    traffic(&mut net, now + Duration::from_millis(20));
    settle(&mut net);
    assert_eq!((moves(&net, 1, 2), moves(&net, 1, 3)), (1, 1));
    assert_eq!(
        net.markers_on.get(&1).map(Vec::len),
        Some(1),
        "{:?}",
        net.markers_on
    );
    assert_eq!(marker_timeouts(&net), 0);
    assert!(net.owned(2).abs_diff(85) <= 1 && net.owned(3).abs_diff(85) <= 1);
    net.assert_all_delivered_in_order();
}

/// Ports 1 and 2 carry traffic; port 3 joins at +0, port 4 at +500 ms: both take their share
/// from ports 1 and 2. Returns the model and when port 4 joined.
fn joins_in_quick_succession(marker_interval: Duration) -> (Net, Instant) {
    let mut net = Net::new(
        DistributorConfig {
            marker_interval,
            ..config(MoveProtection::default())
        },
        &[
            (1, Duration::from_millis(2)),
            (2, Duration::from_millis(2)),
            (3, Duration::from_micros(300)),
            (4, Duration::from_micros(300)),
        ],
    );
    let now = net.now;
    net.set_ports(&[1, 2]);
    traffic(&mut net, now + Duration::from_millis(10));
    let now = net.now;
    net.set_ports(&[1, 2, 3]);
    traffic(&mut net, now + Duration::from_millis(500));
    let joined = net.now;
    net.dist.set_ports(joined, &[1, 2, 3, 4]);
    net.pump();
    (net, joined)
}

#[test]
fn a_move_soon_after_another_waits_for_the_ports_marker_interval() {
    // Issue 11, defect 6: ports 1 and 2 gave buckets to port 3 half a second ago. Port 4's
    // share from them waits until 2 s after their Marker Responses (a responder that answers
    // one Marker per port every 2 s, as DPDK's, would ignore an earlier one), its conversations
    // flowing on ports 1 and 2 meanwhile; port 3, whose interval is open, gives at once.
    let (mut net, joined) = joins_in_quick_succession(Duration::from_secs(2));
    let markers_at = |net: &Net, p: u16| net.markers_on.get(&p).cloned().unwrap_or_default();
    assert_eq!(moves(&net, 3, 4), 1, "port 3 gives at once");
    assert_eq!(
        (moves(&net, 1, 4), moves(&net, 2, 4)),
        (0, 0),
        "ports 1 and 2 wait"
    );
    let held = net.held;
    traffic(&mut net, joined + Duration::from_millis(1_400));
    assert_eq!(
        (moves(&net, 1, 4), moves(&net, 2, 4)),
        (0, 0),
        "ports 1 and 2 still wait"
    );
    assert_eq!(markers_at(&net, 1).len(), 1);
    traffic(&mut net, joined + Duration::from_millis(1_600));
    assert_eq!(
        (moves(&net, 1, 4), moves(&net, 2, 4)),
        (1, 1),
        "their interval passed"
    );
    settle(&mut net);
    for p in [1, 2] {
        let at = markers_at(&net, p);
        assert_eq!(at.len(), 2, "port {p}: {at:?}");
        // The response came back 2 ms + 2 ms after the first Marker.
        assert!(
            at[1] >= at[0] + Duration::from_millis(2_004),
            "port {p}: {at:?}"
        );
    }
    assert_eq!(marker_timeouts(&net), 0);
    assert!(net.held > held);
    for p in 1..=4 {
        assert!(net.owned(p).abs_diff(64) <= 1, "port {p}: {}", net.owned(p));
    }
    net.assert_all_delivered_in_order();
}

#[test]
fn no_marker_pacing_with_a_zero_interval() {
    let (mut net, _) = joins_in_quick_succession(Duration::ZERO);
    assert_eq!(
        (moves(&net, 1, 4), moves(&net, 2, 4), moves(&net, 3, 4)),
        (1, 1, 1)
    );
    settle(&mut net);
    assert!(net.all_in_order(), "violations {}", net.violations);
}

#[test]
fn a_sent_marker_is_not_shared_when_another_path_also_sends() {
    // A move off port 1 has sent its Marker; before the response, port 1 is drained. With only
    // this distributor sending, nothing went out on port 1 since the Marker, so the drain
    // shares it. With another sender (lagd's kernel fast path, counted only later) frames may
    // have gone out behind that Marker: the drain asks for a Marker of its own, once port 1's
    // Marker interval has passed (an administrative drain is paced).
    for other in [false, true] {
        let mut net = Net::new(
            config(MoveProtection::default()),
            &[
                (1, Duration::from_millis(2)),
                (2, Duration::from_micros(300)),
                (3, Duration::from_micros(300)),
            ],
        );
        net.dist.set_other_sender(other);
        let now = net.now;
        net.set_ports(&[1, 2]);
        traffic(&mut net, now + Duration::from_millis(10));
        net.set_ports(&[1, 2, 3]);
        assert_eq!(
            net.markers_on.get(&1).map(Vec::len),
            Some(1),
            "other {other}"
        );
        let now = net.now;
        net.dist.drain_port(now, 1);
        net.pump();
        for _ in 0..3 {
            settle(&mut net);
        }
        assert_eq!(
            net.markers_on.get(&1).map(Vec::len),
            Some(if other { 2 } else { 1 }),
            "other sender {other}: {:?}",
            net.markers_on
        );
        net.assert_all_delivered_in_order();
    }
}

#[test]
fn an_administrative_drain_is_paced_a_port_that_left_moves_at_once() {
    // Issue 11, defect 6. Ports 1 and 2 gave buckets to port 3 half a second ago (a Marker on
    // each, answered). The operator then drains port 1: it still distributes, so its moves wait
    // for its Marker interval (a rate-limited responder would ignore a Marker sent now), its
    // conversations flowing on it meanwhile. Port 2 leaves distribution for a protocol reason
    // at the same time: it must carry nothing more, so its moves start at once.
    let (mut net, _) = joins_in_quick_succession(Duration::from_secs(2));
    // Undo port 4's join: only ports 1..3 distribute.
    net.set_ports(&[1, 2, 3]);
    settle(&mut net);
    let markers_at = |net: &Net, p: u16| net.markers_on.get(&p).cloned().unwrap_or_default();
    let (m1, m2) = (markers_at(&net, 1).len(), markers_at(&net, 2).len());
    let (to3_from1, to3_from2) = (moves(&net, 1, 3), moves(&net, 2, 3));
    let start = net.now;
    net.dist.drain_port(start, 1);
    net.dist.leave_ports(start, &[2]);
    net.pump();
    assert_eq!(net.dist.leaving(), &[2]);
    assert_eq!(
        moves(&net, 2, 3),
        to3_from2 + 1,
        "port 2's buckets move at once"
    );
    assert_eq!(markers_at(&net, 2).len(), m2 + 1);
    assert_eq!(moves(&net, 1, 3), to3_from1, "port 1 waits");
    assert!(net.owned(1) > 0);
    let sent_on_1 = |net: &Net| net.sent_on.get(&1).copied().unwrap_or(0);
    let sent = sent_on_1(&net);
    traffic(&mut net, start + Duration::from_millis(400));
    assert_eq!(markers_at(&net, 1).len(), m1, "no Marker on port 1 yet");
    assert!(
        sent_on_1(&net) > sent,
        "port 1 still carries its conversations"
    );
    traffic(&mut net, start + Duration::from_millis(2_000));
    settle(&mut net);
    let at = markers_at(&net, 1);
    assert_eq!(at.len(), m1 + 1, "port 1's drain: {at:?}");
    assert!(at[m1] >= at[m1 - 1] + Duration::from_secs(2), "{at:?}");
    assert_eq!(net.owned(1), 0);
    assert_eq!(net.owned(2), 0);
    assert!(
        net.events
            .iter()
            .any(|e| matches!(e, DistEvent::Drained { port: 1 }))
    );
    assert_eq!(marker_timeouts(&net), 0);
    net.assert_all_delivered_in_order();
}

#[test]
fn a_move_that_may_not_share_a_sent_marker_asks_its_own_at_once() {
    // Port 3 joined: moves off ports 1 and 2 sent their Markers. Port 4 joins before the
    // responses, nothing sent on ports 1 and 2 since. With only this distributor sending, port
    // 4's moves share those Markers. With another sender (lagd's kernel fast path) they may
    // not (frames of their buckets may have gone out behind them): they ask Markers of their
    // own at once, not 2 s later (the pacing interval), which had their take-back land in the
    // middle of the streams when lagd first set it (issue 12).
    for other in [false, true] {
        let mut net = Net::new(
            config(MoveProtection::default()),
            &[
                (1, Duration::from_millis(2)),
                (2, Duration::from_millis(2)),
                (3, Duration::from_micros(300)),
                (4, Duration::from_micros(300)),
            ],
        );
        net.dist.set_other_sender(other);
        let now = net.now;
        net.set_ports(&[1, 2]);
        traffic(&mut net, now + Duration::from_millis(10));
        let now = net.now;
        net.set_ports(&[1, 2, 3]);
        let t = now + Duration::from_micros(100);
        net.advance(t);
        net.dist.set_ports(t, &[1, 2, 3, 4]);
        net.pump();
        assert_eq!(
            (moves(&net, 1, 4), moves(&net, 2, 4)),
            (1, 1),
            "other sender {other}: port 4 takes its share at once"
        );
        let markers = |p: u16| net.markers_on.get(&p).map_or(0, Vec::len);
        let want = if other { 2 } else { 1 };
        assert_eq!(
            (markers(1), markers(2)),
            (want, want),
            "other sender {other}: {:?}",
            net.markers_on
        );
        traffic(&mut net, t + Duration::from_millis(20));
        settle(&mut net);
        net.assert_all_delivered_in_order();
    }
}

/// Port 1's frames wait 290 ms in its transmit queue (a deep qdisc) and arrive 10 ms later;
/// port 2 is fast. Port 2 joins under traffic and takes its share from port 1 behind a Marker
/// that leaves port 1 after the 100 ms Marker timeout. With `reports`, the model reports each
/// Marker's departure (lagd: its transmit timestamp).
fn deep_queue_take_back(reports: bool) -> Net {
    let mut net = Net::new(
        config(MoveProtection::default()),
        &[
            (1, Duration::from_millis(300)),
            (2, Duration::from_micros(200)),
        ],
    );
    net.set_queued(1, Duration::from_millis(290));
    net.dist.set_departure_reports(reports);
    net.report_departures = reports;
    let now = net.now;
    net.set_ports(&[1]);
    // One frame per flow every 2 ms: the held frames of 300 ms stay under the held limit.
    let paced = |net: &mut Net, until: Instant| {
        while net.now < until {
            let t = net.now + Duration::from_millis(2);
            net.advance(t);
            for f in 0..FLOWS {
                net.offer_hashed(f, hash(f), 200);
            }
        }
    };
    paced(&mut net, now + Duration::from_millis(20));
    let now = net.now;
    net.set_ports(&[1, 2]);
    paced(&mut net, now + Duration::from_millis(600));
    settle(&mut net);
    net
}

#[test]
fn a_marker_timeout_counts_from_the_markers_departure() {
    // Issue 12 (session 6, (c)): counted from the request, the timeout completed the move
    // while the moved conversations' frames still waited in the old port's queue, and the
    // released frames overtook them on the new port. Counted from the Marker's departure, the
    // move waits for the Marker Response.
    let net = deep_queue_take_back(false);
    assert_eq!(marker_timeouts(&net), 1);
    assert!(net.violations > 0, "the model shows the reordering");
    let net = deep_queue_take_back(true);
    assert_eq!(marker_timeouts(&net), 0);
    net.assert_all_delivered_in_order();
    assert_eq!(net.dist.stats().early_completions, 0);
    assert!(net.events.iter().any(|e| matches!(
        e,
        DistEvent::MoveCompleted {
            by: Completion::MarkerResponse,
            held_released,
            ..
        } if *held_released > 0
    )));
}

/// Whether a move completed (by the timeout) so far.
fn timed_out(net: &Net) -> bool {
    net.events.iter().any(|e| {
        matches!(
            e,
            DistEvent::MoveCompleted {
                by: Completion::Timeout,
                ..
            }
        )
    })
}

#[test]
fn a_marker_never_reported_departed_waits_the_queue_limit_then_its_timeout() {
    // The Marker was dropped in the queue (no departure report) and the partner is silent:
    // the move completes `marker_queue_limit` (1 s) + the timeout (100 ms) after the request.
    // Reported departed, the timeout counts from the report.
    for report_at in [None, Some(Duration::from_millis(400))] {
        let mut net = Net::new(
            config(MoveProtection::default()),
            &[(1, Duration::from_millis(2)), (2, Duration::from_millis(2))],
        );
        net.respond = false;
        net.dist.set_departure_reports(true);
        let t0 = net.now;
        net.dist.set_ports(t0, &[1]);
        net.pump();
        net.dist.set_ports(t0, &[1, 2]);
        net.pump();
        assert_eq!(net.markers_sent, 1);
        let id = net.dist.stats().moves_started;
        assert_eq!(id, 1);
        let due = match report_at {
            None => t0 + Duration::from_millis(1100),
            Some(at) => {
                net.advance(t0 + at);
                assert!(!timed_out(&net), "not before its departure");
                // The request id of the first move is 1 (MarkerRequest ids start at 1).
                net.dist.handle_marker_departed(net.now, 1);
                net.pump();
                t0 + at + Duration::from_millis(100)
            }
        };
        net.advance(due - Duration::from_millis(1));
        assert!(!timed_out(&net), "{report_at:?}: not before {due:?}");
        net.advance(due);
        assert!(timed_out(&net), "{report_at:?}: at {due:?}");
        assert_eq!(marker_timeouts(&net), 1);
        // A late or repeated report changes nothing.
        let now = net.now;
        net.dist.handle_marker_departed(now, 1);
        assert_eq!(net.dist.poll_timeout(), None);
    }
}

#[test]
fn a_policy_change_quiesce_waits_for_its_markers_departures() {
    // The quiesce of a remap sends a Marker on every port; port 1's leaves after the timeout.
    for reports in [false, true] {
        let mut net = Net::new(
            config(MoveProtection::default()),
            &[
                (1, Duration::from_millis(300)),
                (2, Duration::from_micros(200)),
            ],
        );
        net.set_queued(1, Duration::from_millis(290));
        net.dist.set_departure_reports(reports);
        net.report_departures = reports;
        let frames: Vec<Vec<u8>> = (0..FLOWS).map(udp_frame).collect();
        let now = net.now;
        net.set_ports(&[1, 2]);
        let offer = |net: &mut Net, until: Instant| {
            while net.now < until {
                let t = net.now + Duration::from_millis(2);
                net.advance(t);
                for f in 0..FLOWS {
                    net.offer_frame(f, &frames[f as usize]);
                }
            }
        };
        offer(&mut net, now + Duration::from_millis(20));
        let mut c = net.dist.config().clone();
        c.policy = "L3".parse().unwrap();
        let now = net.now;
        net.dist.set_config(now, c);
        net.pump();
        offer(&mut net, now + Duration::from_millis(600));
        settle(&mut net);
        assert_eq!(net.delivered, net.offered());
        if reports {
            assert_eq!(marker_timeouts(&net), 0);
            assert!(net.all_in_order(), "violations {}", net.violations);
        } else {
            assert_eq!(marker_timeouts(&net), 1);
            assert!(net.violations > 0, "the model shows the reordering");
        }
    }
}
