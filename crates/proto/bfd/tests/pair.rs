//! Two micro-BFD endpoints in virtual time: formation, detection of a silent failure in
//! Detect Mult × interval (one way and both ways), recovery, AdminDown, the Poll Sequence.
//! Every bound is derived from the protocol (intervals, jitter, wire latency), in virtual time.

mod common;

use common::{Pair, Side, mac, ms};
use lagd_bfd::{BfdConfig, Diag, MICRO_BFD_MAC, SLOW_TX_INTERVAL, SessionState};
use lagd_types::{Duration, Instant};

const CFG: BfdConfig = BfdConfig::new(Duration::from_millis(50), 3);

#[test]
fn sessions_form_slowly_then_poll_down_to_the_configured_rate() {
    let mut p = Pair::new(CFG, &[1, 2]);
    let up = p.form();
    // Down -> Init -> Up needs at most three packets at the slow rate (1 s, jitter only
    // shortens it) plus wire latency.
    assert!(up <= Instant::from_secs(3), "formed at {up}");
    for side in [Side::A, Side::B] {
        for port in [1, 2] {
            let t = p.transitions(side, port);
            let states: Vec<_> = t.iter().map(|x| x.1).collect();
            assert!(
                states == [SessionState::Init, SessionState::Up] || states == [SessionState::Up],
                "{side:?} port {port}: {states:?}"
            );
            let st = p.side(side).port(port).unwrap();
            assert_eq!(st.session.state, SessionState::Up);
            assert_eq!(st.session.remote_state, SessionState::Up);
            assert_ne!(st.session.remote_discr, 0);
            assert_eq!(st.session.tx_interval, Some(ms(50)));
            assert_eq!(st.session.detection_time, Some(ms(150)));
            assert!(!st.session.poll_active, "poll sequence ended");
            assert_eq!(st.session.counters.poll_sequences, 1);
            assert_eq!(st.session.counters.sess_up_count, 1);
            let peer = match side {
                Side::A => Side::B,
                Side::B => Side::A,
            };
            assert_eq!(st.peer_mac, Some(mac(peer, port)));
            assert_eq!(st.dst_mac, mac(peer, port));
        }
    }
    // §6.8.3: while not Up, Desired Min TX Interval is at least one second; packets go to the
    // dedicated MAC until the peer has been heard (RFC 7130 §2.2).
    for s in &p.sent {
        if s.frame.bfd.state != SessionState::Up {
            assert!(s.frame.bfd.desired_min_tx_interval >= 1_000_000, "{s:?}");
        }
        assert_eq!(s.frame.ttl, 255);
        assert!(!(s.frame.bfd.poll && s.frame.bfd.final_bit));
    }
    let first = p.sent.first().unwrap();
    assert_eq!(first.frame.dst, MICRO_BFD_MAC);
    assert_eq!(first.at, Instant::ZERO, "the first packet leaves at once");
    // The A->B packets of the Poll: P set until B's Final, which answers at once.
    let polls: Vec<_> = p
        .packets(Side::A, 1, Instant::ZERO)
        .into_iter()
        .filter(|(_, b)| b.poll)
        .collect();
    assert!(!polls.is_empty());
    let (t_poll, _) = polls[0];
    let fin = p
        .packets(Side::B, 1, t_poll)
        .into_iter()
        .find(|(_, b)| b.final_bit)
        .expect("B answers the poll");
    assert_eq!(
        fin.0,
        t_poll + p.latency,
        "Final sent on receipt, not on the timer"
    );
}

#[test]
fn periodic_packets_are_jittered_within_75_to_100_percent() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    let since = p.now;
    p.run_for(Duration::from_secs(5));
    let times: Vec<Instant> = p
        .packets(Side::A, 1, since)
        .into_iter()
        .filter(|(_, b)| !b.final_bit)
        .map(|(t, _)| t)
        .collect();
    assert!(times.len() >= 100, "{} packets in 5 s", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for g in &gaps {
        assert!(
            *g >= Duration::from_micros(37_500) && *g <= ms(50),
            "gap {g}"
        );
    }
    let distinct: std::collections::BTreeSet<_> = gaps.iter().collect();
    assert!(distinct.len() > 10, "jitter varies");
}

/// Cuts `dirs` at a time after formation; returns (cut time, pair).
fn cut_after_formation(dirs: &[(Side, u16)]) -> (Instant, Pair) {
    let mut p = Pair::new(CFG, &[1, 2]);
    p.form();
    p.run_for(ms(7)); // cut at an arbitrary phase of the transmit timers
    let t = p.now;
    for d in dirs {
        p.cut.insert(*d);
    }
    (t, p)
}

#[test]
fn one_way_silent_failure_detected_within_detect_mult_intervals() {
    // A -> B dies on member 1: B stops hearing A.
    let (t, mut p) = cut_after_formation(&[(Side::A, 1)]);
    let down = p
        .run_until_cond(t + Duration::from_secs(2), |p| {
            p.state(Side::B, 1) != SessionState::Up
        })
        .expect("B detects");
    // B last heard A at most one interval (50 ms) before the cut, so it detects between
    // 150 - 50 ms and 150 ms (+ latency) after the cut.
    let gap = down - t;
    assert!(
        gap >= ms(100) && gap <= ms(150) + p.latency,
        "detected after {gap}"
    );
    let tb = p.transitions(Side::B, 1);
    assert_eq!(tb.last().unwrap().2, Diag::ControlDetectionTimeExpired);
    // B tells A (the B -> A direction works): A goes Down by the neighbour's signal, at once.
    let a_down = p
        .run_until_cond(down + ms(200), |p| p.state(Side::A, 1) != SessionState::Up)
        .expect("A follows");
    assert!(
        a_down - down <= ms(50) + p.latency,
        "A followed after {}",
        a_down - down
    );
    assert_eq!(
        p.transitions(Side::A, 1).last().unwrap().2,
        Diag::NeighborSignaledSessionDown
    );
    // Member 2 never blinked.
    p.run_for(Duration::from_secs(3));
    for s in [Side::A, Side::B] {
        assert_eq!(p.state(s, 2), SessionState::Up);
        assert_eq!(p.transitions(s, 2).len(), 2, "member 2: Init, Up only");
    }
    // Member 1 stays down while the cut lasts: B hears nothing, A cannot get past Init.
    assert_ne!(p.state(Side::B, 1), SessionState::Up);
    assert_ne!(p.state(Side::A, 1), SessionState::Up);
    let st = p.b.port(1).unwrap();
    assert_eq!(st.session.counters.detection_timeouts, 1);
    assert_eq!(
        st.session.counters.last_comm_lost_diag,
        Some(Diag::ControlDetectionTimeExpired)
    );
    assert_eq!(st.dst_mac, MICRO_BFD_MAC, "B forgot the silent peer");
}

#[test]
fn two_way_silent_failure_detected_by_both_and_heals() {
    let (t, mut p) = cut_after_formation(&[(Side::A, 1), (Side::B, 1)]);
    p.run_for(ms(200));
    for s in [Side::A, Side::B] {
        let tr = p.transitions(s, 1);
        let (at, to, diag) = *tr.last().unwrap();
        assert_eq!(
            (to, diag),
            (SessionState::Down, Diag::ControlDetectionTimeExpired)
        );
        assert!(
            at - t >= ms(100) && at - t <= ms(150) + p.latency,
            "{s:?} after {}",
            at - t
        );
        assert_eq!(p.state(s, 2), SessionState::Up);
    }
    // Heal: Down -> Init -> Up at the slow rate, then poll back to 50 ms.
    let healed_at = p.now;
    p.cut.clear();
    let up = p
        .run_until_cond(healed_at + Duration::from_secs(10), Pair::all_up)
        .expect("heals");
    assert!(
        up - healed_at <= Duration::from_secs(3),
        "healed after {}",
        up - healed_at
    );
    p.run_for(ms(500));
    let st = p.a.port(1).unwrap().session;
    assert_eq!(st.tx_interval, Some(ms(50)));
    assert_eq!(st.counters.sess_up_count, 2);
    // Packets lost to the cut are the only ones not delivered.
    assert!(p.sent.iter().filter(|s| !s.delivered).all(|s| s.port == 1));
}

#[test]
fn admin_down_takes_the_peer_down_without_a_detection() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    p.a.set_admin_down(p.now, true);
    p.flush();
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.state(Side::A, 1), SessionState::AdminDown);
    assert_eq!(p.state(Side::B, 1), SessionState::Down);
    assert_eq!(
        p.transitions(Side::B, 1).last().unwrap().2,
        Diag::NeighborSignaledSessionDown
    );
    assert_eq!(
        p.transitions(Side::A, 1).last().unwrap().2,
        Diag::AdministrativelyDown
    );
    for s in [&p.a, &p.b] {
        assert_eq!(s.port(1).unwrap().session.counters.detection_timeouts, 0);
    }
    // AdminDown packets go at the slow rate, and B does not come up while A is AdminDown.
    let slow: Vec<_> = p.packets(Side::A, 1, p.now - Duration::from_secs(2));
    assert!(slow.len() <= 3, "{} packets in 2 s", slow.len());
    assert!(slow.iter().all(|(_, b)| b.state == SessionState::AdminDown
        && b.diag == Diag::AdministrativelyDown
        && b.desired_min_tx_interval == 1_000_000));
    let t = p.now;
    p.a.set_admin_down(t, false);
    p.flush();
    let up = p
        .run_until_cond(t + Duration::from_secs(10), Pair::all_up)
        .expect("comes back");
    assert!(up - t <= Duration::from_secs(3));
}

#[test]
fn poll_sequence_changes_timers_in_the_order_the_rfc_requires() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    // A slows down to 200 ms. Its packets carry P until B's F; until then A keeps
    // transmitting at 50 ms (an increase waits for the poll, §6.8.3).
    let t = p.now;
    p.a.set_config(t, BfdConfig::new(ms(200), 3)).unwrap();
    p.flush();
    assert!(p.a.port(1).unwrap().session.poll_active);
    assert_eq!(p.a.port(1).unwrap().session.tx_interval, Some(ms(50)));
    let done = p
        .run_until_cond(t + Duration::from_secs(1), |p| {
            !p.a.port(1).unwrap().session.poll_active
        })
        .expect("poll ends");
    assert!(
        done - t <= ms(50) + p.latency.saturating_mul(2),
        "poll took {}",
        done - t
    );
    let a = p.a.port(1).unwrap().session;
    assert_eq!(a.tx_interval, Some(ms(200)));
    assert_eq!(a.counters.poll_sequences, 2);
    // B now expects A every 200 ms: Detection Time 3 × 200 ms; and B sends every 200 ms
    // (A's Required Min RX), so A's Detection Time for B is 3 × 200 ms too.
    p.run_for(ms(500));
    let b = p.b.port(1).unwrap().session;
    assert_eq!(b.detection_time, Some(ms(600)));
    assert_eq!(b.tx_interval, Some(ms(200)));
    assert_eq!(p.a.port(1).unwrap().session.detection_time, Some(ms(600)));
    // Every P packet was answered by an F packet within the latency.
    let polls: Vec<_> = p
        .packets(Side::A, 1, t)
        .into_iter()
        .filter(|x| x.1.poll)
        .collect();
    let finals: Vec<_> = p
        .packets(Side::B, 1, t)
        .into_iter()
        .filter(|x| x.1.final_bit)
        .collect();
    assert_eq!(polls.len(), finals.len());
    for ((tp, _), (tf, _)) in polls.iter().zip(&finals) {
        assert_eq!(*tf, *tp + p.latency);
    }
    // Speeding up again: the faster transmit interval applies at once.
    let t = p.now;
    p.a.set_config(t, CFG).unwrap();
    p.flush();
    let a = p.a.port(1).unwrap().session;
    assert!(a.poll_active);
    assert_eq!(a.tx_interval, Some(ms(50)), "a decrease applies at once");
    p.run_for(ms(500));
    assert_eq!(p.a.port(1).unwrap().session.tx_interval, Some(ms(50)));
    assert_eq!(p.b.port(1).unwrap().session.detection_time, Some(ms(150)));
    assert!(p.all_up());
}

#[test]
fn receive_interval_reduction_waits_for_the_poll() {
    // A lowers its Required Min RX while Up: until B's Final, A's Detection Time keeps
    // the old receive interval (§6.8.3).
    let slow = BfdConfig::new(ms(100), 3);
    let mut p = Pair::new(slow, &[1]);
    p.form();
    p.cut.insert((Side::B, 1)); // B's Finals never arrive: the poll cannot end
    let t = p.now;
    let mut fast = slow;
    fast.required_min_rx = ms(20);
    p.a.set_config(t, fast).unwrap();
    p.flush();
    let a = p.a.port(1).unwrap().session;
    assert_eq!(a.required_min_rx, ms(20), "advertised at once");
    assert_eq!(a.detection_time, Some(ms(300)), "old value in force");
    assert!(a.poll_active);
}

#[test]
fn link_down_is_path_down_and_link_up_restarts() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    let t = p.now;
    p.a.handle_link(t, 1, false);
    p.flush();
    assert_eq!(p.state(Side::A, 1), SessionState::Down);
    assert_eq!(p.transitions(Side::A, 1).last().unwrap().2, Diag::PathDown);
    let n = p.sent.len();
    p.run_for(ms(300));
    assert!(
        p.sent[n..].iter().all(|s| s.from == Side::B),
        "A sends nothing while down"
    );
    assert_eq!(
        p.state(Side::B, 1),
        SessionState::Down,
        "B detected the silence"
    );
    let t = p.now;
    p.a.handle_link(t, 1, true);
    p.flush();
    assert_eq!(
        p.sent.last().unwrap().from,
        Side::A,
        "A sends at once on link up"
    );
    assert!(
        p.run_until_cond(t + Duration::from_secs(10), Pair::all_up)
            .is_some()
    );
}

#[test]
fn forged_and_foreign_packets_are_dropped_and_counted() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    let real = p.packets(Side::A, 1, Instant::ZERO).last().unwrap().1;
    let mut frame = p
        .sent
        .iter()
        .rev()
        .find(|s| s.from == Side::A)
        .unwrap()
        .frame;
    let now = p.now;
    let drops = |p: &Pair| p.b.port(1).unwrap().session.counters.ctrl_pkt_drop;
    // Wrong Your Discriminator.
    frame.bfd.your_discriminator ^= 0x5a5a;
    assert!(p.b.handle_frame(now, 1, &frame.to_vec()).is_err());
    // TTL not 255 (a packet from beyond the link).
    frame.bfd = real;
    frame.ttl = 254;
    assert!(p.b.handle_frame(now, 1, &frame.to_vec()).is_err());
    // Sent to someone else's MAC.
    frame.ttl = 255;
    frame.dst = lagd_types::MacAddr([2, 9, 9, 9, 9, 9]);
    assert!(p.b.handle_frame(now, 1, &frame.to_vec()).is_err());
    // Zero Your Discriminator in state Up.
    frame.dst = MICRO_BFD_MAC;
    frame.bfd.your_discriminator = 0;
    assert!(p.b.handle_frame(now, 1, &frame.to_vec()).is_err());
    // Garbage.
    assert!(p.b.handle_frame(now, 1, &[0u8; 70]).is_err());
    assert!(
        p.b.handle_frame(now, 7, &frame.to_vec()).is_err(),
        "unknown port"
    );
    assert_eq!(drops(&p), 5);
    p.run_for(Duration::from_secs(1));
    assert!(p.all_up(), "nothing of that disturbed the session");
}

#[test]
fn a_peer_asking_for_no_packets_gets_none_and_a_slow_floor_holds_before_up() {
    let mut p = Pair::new(CFG, &[1]);
    let before = p.a.port(1).unwrap().session;
    assert_eq!(before.desired_min_tx, SLOW_TX_INTERVAL);
    assert_eq!(before.required_min_rx, ms(50));
    p.form();
    // B asks for no packets (Required Min RX 0): forge it as B's next packet.
    let mut f = p
        .sent
        .iter()
        .rev()
        .find(|s| s.from == Side::B)
        .unwrap()
        .frame;
    f.bfd.required_min_rx_interval = 0;
    f.bfd.poll = false;
    f.bfd.final_bit = false;
    let now = p.now;
    p.a.handle_frame(now, 1, &f.to_vec()).unwrap();
    assert_eq!(p.a.port(1).unwrap().session.tx_interval, None);
    assert!(p.a.poll_timeout().is_some(), "detection timer still runs");
}

/// Runs until A has just sent on port 1 while B's last packet reached A at least 10 ms
/// earlier, then stalls A (it reads nothing, runs no timer, sends nothing) until 5 ms after
/// A's Detection Time expired. B hears A's packet from before the stall and keeps its
/// session Up throughout. Returns (the frames queued for A, A's Detection deadline).
fn stall_a_past_its_detection_time(p: &mut Pair) -> (Vec<common::InFlight>, Instant) {
    let last_arrival = |p: &Pair, from: Side| {
        p.sent
            .iter()
            .rev()
            .find(|s| s.from == from && s.delivered)
            .map(|s| s.at + p.latency)
    };
    let limit = p.now + Duration::from_secs(30);
    loop {
        assert!(p.step(limit), "no suitable moment within 30 s");
        let a_sent = p
            .sent
            .last()
            .is_some_and(|s| s.from == Side::A && s.at == p.now);
        if a_sent && last_arrival(p, Side::B).is_some_and(|t| t + ms(10) <= p.now) {
            break;
        }
    }
    let st = p.a.port(1).unwrap().session;
    let deadline = st.last_rx.unwrap() + st.detection_time.unwrap();
    assert!(deadline > p.now);
    p.stalled.insert(Side::A);
    p.run_until(deadline + ms(5));
    p.stalled.clear();
    assert_eq!(
        p.state(Side::B, 1),
        SessionState::Up,
        "A's stall is shorter than B's Detection Time"
    );
    let held = std::mem::take(&mut p.held);
    (held, deadline)
}

/// The false detections of a loaded host (issue 11, 10-minute soak): lagd was not scheduled
/// for more than the Detection Time while the peer's packets waited in its socket; when it
/// ran again its timer declared the session Down before the queued packets were read. A
/// packet that arrived before the deadline but is processed after it must not bring the
/// session down: `handle_received` feeds it at its arrival time before running the timers.
#[test]
fn a_packet_that_arrived_before_the_deadline_but_is_read_after_it_keeps_the_session_up() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    let (held, deadline) = stall_a_past_its_detection_time(&mut p);
    assert!(
        held.iter().any(|f| f.at < deadline),
        "B's packets reached A's queue before A's deadline: {:?}",
        held.iter().map(|f| f.at).collect::<Vec<_>>()
    );
    let now = p.now;
    // What the daemon did before: the timer first, then the queued frames (read "now").
    let mut old = p.a.clone();
    old.handle_timeout(now);
    for f in &held {
        let _ = old.handle_frame(now, f.port, &f.frame);
    }
    assert_eq!(
        old.state(1),
        Some(SessionState::Down),
        "the old order detects a failure"
    );
    // The fix: frames at their arrival time, then the timers.
    p.a.handle_received(now, held.iter().map(|f| (f.port, f.at, &f.frame[..])));
    p.flush();
    assert_eq!(p.state(Side::A, 1), SessionState::Up);
    assert_eq!(p.a.port(1).unwrap().session.counters.detection_timeouts, 0);
    p.run_for(Duration::from_secs(2));
    assert!(p.all_up());
    assert!(
        p.transitions(Side::A, 1)
            .iter()
            .all(|t| t.1 == SessionState::Init || t.1 == SessionState::Up)
    );
}

/// The other half of the rule: a packet that arrived only after the Detection Time expired
/// does not undo the detection, however it is read; the session goes Down at the deadline
/// (Diag 1), not later.
#[test]
fn a_packet_that_arrived_after_the_deadline_does_not_undo_the_detection() {
    let mut p = Pair::new(CFG, &[1]);
    p.form();
    let (mut held, deadline) = stall_a_past_its_detection_time(&mut p);
    // The packets that would have saved the session were lost; a late one arrives.
    held.retain(|f| f.at > deadline);
    let late = InFlightFrom::late(&p, deadline);
    held.push(late);
    let now = p.now;
    p.a.handle_received(now, held.iter().map(|f| (f.port, f.at, &f.frame[..])));
    p.flush();
    let t = p.transitions(Side::A, 1);
    let down = t
        .iter()
        .find(|x| x.1 == SessionState::Down)
        .expect("A detected the silence");
    assert_eq!(
        down.0, deadline,
        "at the deadline, not when the queue was read"
    );
    assert_eq!(down.2, Diag::ControlDetectionTimeExpired);
    assert_eq!(p.a.port(1).unwrap().session.counters.detection_timeouts, 1);
}

/// A copy of B's last packet to A, arriving just after `deadline`.
struct InFlightFrom;
impl InFlightFrom {
    fn late(p: &Pair, deadline: Instant) -> common::InFlight {
        let s = p.sent.iter().rev().find(|s| s.from == Side::B).unwrap();
        common::InFlight {
            at: deadline + ms(1),
            from: Side::B,
            port: 1,
            frame: s.frame.to_vec(),
        }
    }
}
