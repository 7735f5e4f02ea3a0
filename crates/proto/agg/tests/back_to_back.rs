//! Two aggregations back to back over in-memory FIFO links (1 ms one way unless a test makes
//! one slower), driven in virtual time through the documented call order: formation, traffic,
//! graceful drain, carrier loss, a member leaving for protocol reasons with its link up.

use std::collections::{BTreeMap, VecDeque};

use lagd_agg::lagd_distrib::{Dispatch, DistributorConfig, Mode};
use lagd_agg::lagd_lacp::{LinkStatus, PortConfig, Selected, SystemConfig};
use lagd_agg::{AggEvent, Aggregation, AggregationConfig, RxVerdict};
use lagd_types::{Duration, Instant, MacAddr, PortNumber};

const DELAY: Duration = Duration::from_millis(1);
const PORTS: u16 = 4;

/// A data frame: an Ethernet/IPv4/UDP header (so the distributor hashes real bytes) whose
/// source port names the flow, and a sequence number.
fn data_frame(flow: u16, seq: u32) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xb]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xa]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[16..18].copy_from_slice(&50u16.to_be_bytes());
    f[23] = 17;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 18, 0, 2]);
    f[34..36].copy_from_slice(&(10_000 + flow).to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f[42..46].copy_from_slice(&seq.to_be_bytes());
    f
}

fn parse(f: &[u8]) -> (u16, u32) {
    let flow = u16::from_be_bytes([f[34], f[35]]) - 10_000;
    let seq = u32::from_be_bytes([f[42], f[43], f[44], f[45]]);
    (flow, seq)
}

struct Side {
    agg: Aggregation<Vec<u8>>,
    /// Frames delivered up to this host, per flow, in order.
    received: BTreeMap<u16, Vec<u32>>,
    drained: Vec<PortNumber>,
}

struct Net {
    now: Instant,
    sides: [Side; 2],
    /// In flight: (arrival, to side, port, frame), by arrival; FIFO per (direction, port).
    wire: VecDeque<(Instant, usize, PortNumber, Vec<u8>)>,
    up: [bool; PORTS as usize + 1],
    /// One-way delay of each link.
    delay: [Duration; PORTS as usize + 1],
    /// Side 1's Marker responder answers at most one Marker Information per port in this
    /// interval and ignores the others, as DPDK's bonding PMD does (rx_marker_timer, 2 s).
    paced_responder: Option<Duration>,
    /// When side 1 last accepted a Marker Information, per port.
    marker_answered: [Option<Instant>; PORTS as usize + 1],
}

/// Whether `frame` is a Marker Information PDU (Slow Protocols subtype 2, TLV type 1).
fn is_marker_information(f: &[u8]) -> bool {
    f.len() > 16 && f[12..14] == [0x88, 0x09] && f[14] == 2 && f[16] == 1
}

impl Net {
    fn new() -> Net {
        Net::with(Mode::Hash, |_| {})
    }

    /// Both sides in `mode`; `before_up` runs on side 0 once its ports are added, before any
    /// link is up (as a driver that restarts).
    fn with(mode: Mode, before_up: impl Fn(&mut Aggregation<Vec<u8>>)) -> Net {
        let mk = |i: u8| {
            let mac = MacAddr([2, 0, 0, 0, i, 0]);
            let mut agg = Aggregation::new(AggregationConfig {
                lacp: SystemConfig::new(mac),
                distributor: DistributorConfig {
                    rebalance_interval: None,
                    mode,
                    ..DistributorConfig::default()
                },
                alb: None,
            });
            for p in 1..=PORTS {
                agg.add_port(
                    Instant::ZERO,
                    PortConfig::new(p, MacAddr([2, 0, 0, 0, i, p as u8])),
                )
                .unwrap();
            }
            if i == 1 {
                before_up(&mut agg);
            }
            for p in 1..=PORTS {
                agg.handle_link(Instant::ZERO, p, LinkStatus::up(10_000));
            }
            Side {
                agg,
                received: BTreeMap::new(),
                drained: Vec::new(),
            }
        };
        Net {
            now: Instant::ZERO,
            sides: [mk(1), mk(2)],
            wire: VecDeque::new(),
            up: [true; PORTS as usize + 1],
            delay: [DELAY; PORTS as usize + 1],
            paced_responder: None,
            marker_answered: [None; PORTS as usize + 1],
        }
    }

    /// Whether side 1's paced responder ignores this frame arriving on `port` (and, if it
    /// answers it, starts its interval).
    fn responder_ignores(&mut self, to: usize, port: PortNumber, frame: &[u8]) -> bool {
        let Some(every) = self.paced_responder else {
            return false;
        };
        if to != 1 || !is_marker_information(frame) {
            return false;
        }
        let last = &mut self.marker_answered[port as usize];
        if last.is_some_and(|t| self.now < t + every) {
            return true;
        }
        *last = Some(self.now);
        false
    }

    fn send(&mut self, from: usize, port: PortNumber, frame: Vec<u8>) {
        if self.up[port as usize] {
            let at = self.now + self.delay[port as usize];
            let i = self.wire.partition_point(|w| w.0 <= at);
            self.wire.insert(i, (at, 1 - from, port, frame));
        }
    }

    /// Drains every output of side `s`, per the documented call order.
    fn drain(&mut self, s: usize) {
        loop {
            let mut any = false;
            while let Some(t) = self.sides[s].agg.poll_transmit(self.now) {
                self.send(s, t.port, t.frame);
                any = true;
            }
            while let Some((port, f)) = self.sides[s].agg.poll_release() {
                self.send(s, port, f);
                any = true;
            }
            while let Some(ev) = self.sides[s].agg.poll_event() {
                if let AggEvent::Drained { port } = ev {
                    self.sides[s].drained.push(port);
                }
                any = true;
            }
            if !any {
                break;
            }
        }
    }

    fn host_send(&mut self, s: usize, frame: Vec<u8>) {
        let now = self.now;
        let bytes = frame.clone();
        match self.sides[s].agg.handle_host_frame(now, &bytes, frame) {
            Dispatch::Send(port, f) => self.send(s, port, f),
            Dispatch::Broadcast(f) => {
                for p in self.sides[s].agg.broadcast_ports() {
                    self.send(s, p, f.clone());
                }
            }
            Dispatch::Held => {}
            Dispatch::Drop(..) => {}
        }
        self.drain(s);
    }

    /// Advances virtual time to `until`, delivering frames and firing timers in order.
    fn run_until(&mut self, until: Instant) {
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 1_000_000, "livelock");
            let next_wire = self.wire.front().map(|w| w.0);
            let next_timer = (0..2)
                .filter_map(|s| self.sides[s].agg.poll_timeout())
                .min();
            let next = [next_wire, next_timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    if next_wire == Some(t) {
                        let (_, to, port, frame) = self.wire.pop_front().unwrap();
                        if self.responder_ignores(to, port, &frame) {
                            continue;
                        }
                        let now = self.now;
                        if self.sides[to].agg.handle_port_frame(now, port, &frame)
                            == RxVerdict::Deliver
                        {
                            let (flow, seq) = parse(&frame);
                            self.sides[to].received.entry(flow).or_default().push(seq);
                        }
                        self.drain(to);
                    } else {
                        for s in 0..2 {
                            if self.sides[s]
                                .agg
                                .poll_timeout()
                                .is_some_and(|d| d <= self.now)
                            {
                                let now = self.now;
                                self.sides[s].agg.handle_timeout(now);
                                self.drain(s);
                            }
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn all_distributing(&self, s: usize) -> usize {
        (1..=PORTS)
            .filter(|p| self.sides[s].agg.lacp().is_distributing(*p))
            .count()
    }
}

fn count(t: &[Option<PortNumber>]) -> BTreeMap<PortNumber, usize> {
    let mut counts = BTreeMap::new();
    for p in t.iter().flatten() {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    counts
}

fn check_in_order(received: &BTreeMap<u16, Vec<u32>>, flows: u16, sent: u32) {
    for flow in 0..flows {
        let got = received.get(&flow).cloned().unwrap_or_default();
        let expect: Vec<u32> = (0..sent).collect();
        assert_eq!(
            got, expect,
            "flow {flow}: lost, duplicated or reordered frames"
        );
    }
}

#[test]
fn forms_within_wait_while_plus_one_second() {
    let mut net = started(None);
    net.run_until(Instant::from_secs(3));
    assert_eq!(net.all_distributing(0), 4);
    assert_eq!(net.all_distributing(1), 4);
    assert!(net.sides[0].agg.is_up() && net.sides[1].agg.is_up());
}

#[test]
fn graceful_drain_under_traffic_loses_and_reorders_nothing() {
    let mut net = started(None);
    // Past the formation Markers' pacing interval: the drain starts at once.
    net.run_until(Instant::from_secs(6));
    const FLOWS: u16 = 16;
    const FRAMES: u32 = 400;
    let mut drained_at = None;
    for seq in 0..FRAMES {
        for flow in 0..FLOWS {
            net.host_send(0, data_frame(flow, seq));
        }
        if seq == 100 {
            net.sides[0].agg.drain_port(net.now, 2).unwrap();
            net.drain(0);
        }
        if drained_at.is_none() && net.sides[0].drained.contains(&2) {
            drained_at = Some(seq);
            let now = net.now;
            net.sides[0].agg.remove_port(now, 2).unwrap();
            net.drain(0);
        }
        let t = net.now + Duration::from_micros(250);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(1));
    assert!(drained_at.is_some(), "port 2 never reported drained");
    check_in_order(&net.sides[1].received, FLOWS, FRAMES);
    let st = net.sides[0].agg.lacp().ports();
    let responses: u64 = st.iter().map(|p| p.counters.marker_response_pdus_rx).sum();
    assert!(responses >= 1, "the drain went through the Marker protocol");
}

#[test]
fn carrier_loss_moves_only_the_failed_ports_conversations() {
    let mut net = started(None);
    net.run_until(Instant::from_secs(3));
    let before: Vec<Option<PortNumber>> = net.sides[0].agg.distributor().bucket_table().to_vec();
    net.up[3] = false;
    let now = net.now;
    let counts = count(&before);
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert!(
        max - min <= 1,
        "after formation every member within one bucket: {counts:?}"
    );
    for s in 0..2 {
        net.sides[s].agg.handle_link(now, 3, LinkStatus::DOWN);
        net.drain(s);
    }
    let after = net.sides[0].agg.distributor().bucket_table().to_vec();
    for (b, a) in before.iter().zip(&after) {
        if *b != Some(3) {
            assert_eq!(b, a, "a bucket not on the failed port moved");
        } else {
            assert_ne!(*a, Some(3));
        }
    }
    let counts = count(&after);
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert_eq!(counts.len(), 3);
    assert!(
        max - min <= 1,
        "survivors within one bucket of each other: {counts:?}"
    );
    assert!(net.sides[0].agg.is_up());
}

#[test]
fn a_restarted_side_resumes_unseen_with_its_bucket_table() {
    let mut net = started(None);
    net.run_until(Instant::from_secs(3));
    // Port 3 fails and comes back: buckets move away and some come back (marker-protected),
    // so the table is no longer what a fresh start would build.
    for up in [false, true] {
        net.up[3] = up;
        let now = net.now;
        let link = if up {
            LinkStatus::up(10_000)
        } else {
            LinkStatus::DOWN
        };
        for s in 0..2 {
            net.sides[s].agg.handle_link(now, 3, link);
            net.drain(s);
        }
        net.run_until(net.now + Duration::from_secs(3));
    }
    const FLOWS: u16 = 16;
    let mut seq = 0;
    let mut traffic = |net: &mut Net, n: u32| {
        for _ in 0..n {
            for flow in 0..FLOWS {
                net.host_send(0, data_frame(flow, seq));
            }
            seq += 1;
            let t = net.now + Duration::from_micros(500);
            net.run_until(t);
        }
    };
    traffic(&mut net, 200);
    let snap = net.sides[0].agg.snapshot();
    assert_eq!(net.all_distributing(0), 4);
    assert_eq!(snap.buckets, net.sides[0].agg.distributor().bucket_table());

    // A restarts: a new aggregation with the same configuration, resumed.
    let mac = MacAddr([2, 0, 0, 0, 1, 0]);
    let mut agg: Aggregation<Vec<u8>> = Aggregation::new(AggregationConfig {
        lacp: SystemConfig::new(mac),
        distributor: DistributorConfig {
            rebalance_interval: None,
            ..DistributorConfig::default()
        },
        alb: None,
    });
    let now = net.now;
    for p in 1..=PORTS {
        agg.add_port(now, PortConfig::new(p, MacAddr([2, 0, 0, 0, 1, p as u8])))
            .unwrap();
    }
    let fresh_table = {
        let mut probe: Aggregation<Vec<u8>> = Aggregation::new(agg.config().clone());
        for p in 1..=PORTS {
            probe
                .add_port(now, PortConfig::new(p, MacAddr([2, 0, 0, 0, 1, p as u8])))
                .unwrap();
        }
        let mut s = snap.clone();
        s.buckets.clear();
        probe.resume(now, &s, |_| LinkStatus::up(10_000));
        probe.distributor().bucket_table().to_vec()
    };
    assert_ne!(
        fresh_table, snap.buckets,
        "the test needs a table a fresh start would not rebuild"
    );
    let out = agg.resume(now, &snap, |_| LinkStatus::up(10_000));
    assert_eq!(out.lacp.resumed, vec![1, 2, 3, 4], "{out:?}");
    assert!(out.buckets);
    assert_eq!(agg.distributor().bucket_table(), &snap.buckets[..]);
    assert_eq!(agg.distributor().stats().moves_started, 0);
    assert!(agg.is_up());
    net.sides[0].agg = agg;
    net.drain(0);
    traffic(&mut net, 200);
    net.run_until(net.now + Duration::from_secs(5));
    assert_eq!(net.all_distributing(1), 4, "the partner kept every port");
    check_in_order(&net.sides[1].received, FLOWS, 400);
}

#[test]
fn a_member_leaving_with_its_link_up_moves_its_conversations_behind_a_marker() {
    // Issue 11, defect 4. Port 2 is a slow link (a long queue: 5 ms against 1 ms) and side 0's
    // least preferred port; max_active = 3 then puts it in Standby under traffic. Its link
    // still carries the frames sent before: its conversations must wait for a Marker Response
    // there before they go out on the other ports, or they overtake them.
    let mut net = Net::new();
    net.delay[2] = Duration::from_millis(5);
    let mut pc = PortConfig::new(2, MacAddr([2, 0, 0, 0, 1, 2]));
    pc.priority = 0x9000;
    net.sides[0].agg.set_port_config(Instant::ZERO, pc).unwrap();
    for s in 0..2 {
        net.drain(s);
    }
    net.run_until(Instant::from_secs(3));
    assert_eq!(net.all_distributing(0), 4);
    let owned = count(net.sides[0].agg.distributor().bucket_table());
    assert!(
        owned.get(&2).is_some_and(|n| *n > 0),
        "port 2 carries conversations"
    );
    let markers = |net: &Net| {
        let c = net.sides[0].agg.lacp().port(2).unwrap().counters;
        (c.marker_pdus_tx, c.marker_response_pdus_rx)
    };
    let before = markers(&net);
    const FLOWS: u16 = 32;
    const FRAMES: u32 = 300;
    for seq in 0..FRAMES {
        for flow in 0..FLOWS {
            net.host_send(0, data_frame(flow, seq));
        }
        if seq == 100 {
            let mut cfg = net.sides[0].agg.config().clone();
            cfg.lacp.max_active = Some(3);
            let now = net.now;
            net.sides[0].agg.set_config(now, cfg).unwrap();
            net.drain(0);
            assert_eq!(
                net.sides[0].agg.lacp().port(2).unwrap().selected,
                Selected::Standby
            );
            // It carries nothing more, though a Marker went on it at formation less than
            // 2 s ago: its moves do not wait for Marker pacing.
            let d = net.sides[0].agg.distributor();
            let unmoved = d
                .bucket_table()
                .iter()
                .enumerate()
                .filter(|(b, o)| **o == Some(2) && !d.is_moving(*b))
                .count();
            assert_eq!(unmoved, 0, "port 2's conversations all move at once");
        }
        let t = net.now + Duration::from_micros(250);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(1));
    check_in_order(&net.sides[1].received, FLOWS, FRAMES);
    assert_eq!(net.all_distributing(0), 3);
    assert!(!net.sides[0].agg.lacp().is_distributing(2));
    assert!(
        !net.sides[0]
            .agg
            .distributor()
            .bucket_table()
            .contains(&Some(2)),
        "port 2 keeps no conversation"
    );
    assert!(!net.sides[0].agg.broadcast_ports().contains(&2));
    let after = markers(&net);
    assert!(
        after.0 > before.0 && after.1 > before.1,
        "the move went through the Marker protocol on port 2: {before:?} -> {after:?}"
    );
}

/// Two sides joined, each having sent what it had to send at the start; Marker Responders
/// that answer one Marker per port per `paced_responder` (every one when `None`).
fn started(paced_responder: Option<Duration>) -> Net {
    let mut net = Net::new();
    net.paced_responder = paced_responder;
    for s in 0..2 {
        net.drain(s);
    }
    net
}

/// Moves side 0's distributor completed by the Marker timeout, so far.
fn marker_timeouts(net: &Net) -> u64 {
    net.sides[0].agg.distributor().stats().marker_timeouts
}

/// Side 0's Marker PDUs sent and responses received, per port 1..=4.
fn marker_exchanges(net: &Net) -> Vec<(u64, u64)> {
    (1..=PORTS)
        .map(|p| {
            let c = net.sides[0].agg.lacp().port(p).unwrap().counters;
            (c.marker_pdus_tx, c.marker_response_pdus_rx)
        })
        .collect()
}

/// Sends `rounds` rounds of one frame per flow, 250 µs apart, from side 0.
fn traffic(
    net: &mut Net,
    flows: u16,
    seq: &mut u32,
    rounds: u32,
    mut each: impl FnMut(&mut Net, u32),
) {
    for _ in 0..rounds {
        for flow in 0..flows {
            net.host_send(0, data_frame(flow, *seq));
        }
        each(net, *seq);
        *seq += 1;
        let t = net.now + Duration::from_micros(250);
        net.run_until(t);
    }
}

#[test]
fn a_drain_over_several_ports_is_covered_by_one_marker() {
    // Issue 11, defect 6. Draining port 2 spreads its conversations over ports 1, 3 and 4:
    // three moves off port 2, which one Marker covers. A responder that answers one Marker per
    // port every 2 s (DPDK) must still answer the drain: nothing may complete by the timeout.
    let mut net = started(Some(Duration::from_secs(2)));
    net.run_until(Instant::from_secs(6));
    assert_eq!(net.all_distributing(0), 4);
    let before = marker_exchanges(&net);
    let timeouts = marker_timeouts(&net);
    const FLOWS: u16 = 32;
    let mut seq = 0;
    traffic(&mut net, FLOWS, &mut seq, 300, |net, seq| {
        if seq == 100 {
            let now = net.now;
            net.sides[0].agg.drain_port(now, 2).unwrap();
            net.drain(0);
        }
    });
    net.run_until(net.now + Duration::from_secs(1));
    check_in_order(&net.sides[1].received, FLOWS, seq);
    assert!(net.sides[0].drained.contains(&2), "port 2 drained");
    let after = marker_exchanges(&net);
    assert_eq!(
        (after[1].0 - before[1].0, after[1].1 - before[1].1),
        (1, 1),
        "one Marker on port 2, answered: {before:?} -> {after:?}"
    );
    assert_eq!(
        marker_timeouts(&net),
        timeouts,
        "a move completed by the Marker timeout"
    );
}

#[test]
fn moves_in_quick_succession_are_paced_so_a_rate_limited_responder_answers_each() {
    // Issue 11, defect 6. Ports 3 and 4 fail; port 4 returns, then port 3 half a second
    // later: each takes back its share from the other ports, so ports 1 and 2 give buckets
    // twice within 2 s. A responder that answers one Marker per port every 2 s (DPDK) would
    // ignore the second Marker on each and the moves would fall back to the timeout; paced,
    // every Marker is answered and every move completes by its response, in order.
    let mut net = started(Some(Duration::from_secs(2)));
    net.run_until(Instant::from_secs(6));
    assert_eq!(net.all_distributing(0), 4);
    let link = |net: &mut Net, port: PortNumber, up: bool| {
        net.up[port as usize] = up;
        let now = net.now;
        let status = if up {
            LinkStatus::up(10_000)
        } else {
            LinkStatus::DOWN
        };
        for s in 0..2 {
            net.sides[s].agg.handle_link(now, port, status);
            net.drain(s);
        }
    };
    link(&mut net, 3, false);
    link(&mut net, 4, false);
    net.run_until(net.now + Duration::from_secs(3));
    let before = marker_exchanges(&net);
    let timeouts = marker_timeouts(&net);
    const FLOWS: u16 = 32;
    let mut seq = 0;
    // 4 s of traffic: port 4 returns at +0, port 3 at +0.5 s.
    traffic(&mut net, FLOWS, &mut seq, 16_000, |net, seq| match seq {
        0 => link(net, 4, true),
        2000 => link(net, 3, true),
        _ => {}
    });
    net.run_until(net.now + Duration::from_secs(5));
    check_in_order(&net.sides[1].received, FLOWS, seq);
    assert_eq!(net.all_distributing(0), 4);
    let after = marker_exchanges(&net);
    let sent: u64 = after.iter().zip(&before).map(|(a, b)| a.0 - b.0).sum();
    let answered: u64 = after.iter().zip(&before).map(|(a, b)| a.1 - b.1).sum();
    assert!(
        sent >= 2,
        "moves went through the Marker protocol: {before:?} -> {after:?}"
    );
    assert_eq!(
        answered, sent,
        "every Marker answered: {before:?} -> {after:?}"
    );
    assert_eq!(
        marker_timeouts(&net),
        timeouts,
        "a move completed by the Marker timeout"
    );
    let counts = count(net.sides[0].agg.distributor().bucket_table());
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert_eq!(counts.len(), 4);
    assert!(max - min <= 1, "members within one bucket: {counts:?}");
}

#[test]
fn a_drain_soon_after_a_marker_waits_so_a_rate_limited_responder_answers_it() {
    // Issue 11, defect 6. Port 2 sent a Marker at formation, less than 2 s before the operator
    // disables it (or drains it for removal). A responder that answers one Marker per port
    // every 2 s (DPDK) would ignore the drain's Marker if it went at once, and the drain would
    // complete by the Marker timeout. Paced, the port keeps its conversations until its
    // interval has passed, then the drain's Marker is answered: nothing by the timeout, nothing
    // lost or reordered.
    for disable in [true, false] {
        let mut net = started(Some(Duration::from_secs(2)));
        net.run_until(Instant::from_secs(3));
        assert_eq!(net.all_distributing(0), 4);
        let before = marker_exchanges(&net);
        assert!(before[1].0 > 0, "a Marker went on port 2 at formation");
        let timeouts = marker_timeouts(&net);
        const FLOWS: u16 = 32;
        let mut seq = 0;
        // 3 s of traffic; port 2 leaves at +25 ms.
        traffic(&mut net, FLOWS, &mut seq, 12_000, |net, seq| {
            if seq == 100 {
                let now = net.now;
                if disable {
                    net.sides[0].agg.disable_port(now, 2, false).unwrap();
                } else {
                    net.sides[0].agg.drain_port(now, 2).unwrap();
                }
                net.drain(0);
            }
        });
        net.run_until(net.now + Duration::from_secs(1));
        check_in_order(&net.sides[1].received, FLOWS, seq);
        if disable {
            assert!(net.sides[0].agg.is_drained(2), "disabled port 2 drained");
        } else {
            assert!(net.sides[0].drained.contains(&2), "port 2 reported drained");
        }
        let after = marker_exchanges(&net);
        assert_eq!(
            (after[1].0 - before[1].0, after[1].1 - before[1].1),
            (1, 1),
            "disable {disable}: one Marker on port 2, answered: {before:?} -> {after:?}"
        );
        assert_eq!(
            marker_timeouts(&net),
            timeouts,
            "disable {disable}: a move completed by the Marker timeout"
        );
    }
}

#[test]
fn disable_under_traffic_loses_and_reorders_nothing_and_enable_takes_a_share_back() {
    let mut net = started(None);
    // Past the formation Markers' pacing interval: the drain starts at once.
    net.run_until(Instant::from_secs(6));
    const FLOWS: u16 = 16;
    const FRAMES: u32 = 600;
    let mut drained_at = None;
    for seq in 0..FRAMES {
        for flow in 0..FLOWS {
            net.host_send(0, data_frame(flow, seq));
        }
        if seq == 100 {
            net.sides[0].agg.disable_port(net.now, 2, false).unwrap();
            net.drain(0);
            assert!(net.sides[0].agg.is_disabled(2));
        }
        if seq > 100 && drained_at.is_none() && net.sides[0].agg.is_drained(2) {
            drained_at = Some(seq);
            assert!(
                !net.sides[0]
                    .agg
                    .distributor()
                    .bucket_table()
                    .contains(&Some(2)),
                "a disabled member owns no bucket"
            );
        }
        if seq == 400 {
            net.sides[0].agg.enable_port(net.now, 2).unwrap();
            net.drain(0);
        }
        let t = net.now + Duration::from_micros(250);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(1));
    assert!(drained_at.is_some(), "port 2 never drained");
    check_in_order(&net.sides[1].received, FLOWS, FRAMES);
    // Still a member throughout: LACP kept it Collecting and Distributing.
    assert_eq!(net.all_distributing(0), 4);
    assert!(!net.sides[0].agg.is_disabled(2));
    let owned = net.sides[0]
        .agg
        .distributor()
        .bucket_table()
        .iter()
        .filter(|o| **o == Some(2))
        .count();
    assert!(owned > 0, "enabled again, it takes its share back");
    let st = net.sides[0].agg.lacp().ports();
    let responses: u64 = st.iter().map(|p| p.counters.marker_response_pdus_rx).sum();
    assert!(
        responses >= 2,
        "both moves went through the Marker protocol"
    );
}

#[test]
fn disabling_the_last_distributing_member_is_refused_unless_forced() {
    let mut net = started(None);
    net.run_until(Instant::from_secs(3));
    let now = net.now;
    for p in 1..PORTS {
        net.sides[0].agg.disable_port(now, p, false).unwrap();
    }
    net.drain(0);
    let e = net.sides[0]
        .agg
        .disable_port(now, PORTS, false)
        .unwrap_err();
    assert!(e.to_string().contains("only member"), "{e}");
    assert!(!net.sides[0].agg.is_disabled(PORTS));
    net.sides[0].agg.disable_port(now, PORTS, true).unwrap();
    assert!(net.sides[0].agg.is_disabled(PORTS));
}

/// A driver that restarts puts the operator's choices back before the links are up: the
/// disabled member never distributes, the preferred member becomes the active one of
/// active-backup once it can (then it is forgotten: active-backup stays non-revertive).
#[test]
fn choices_put_back_before_the_links_are_up_hold_once_they_are() {
    let mut net = Net::with(Mode::ActiveBackup, |agg| {
        agg.disable_port(Instant::ZERO, 4, true).unwrap();
        agg.prefer_active(Instant::ZERO, 3).unwrap();
    });
    for s in 0..2 {
        net.drain(s);
    }
    net.run_until(Instant::from_secs(5));
    let side = &net.sides[0].agg;
    assert!(side.is_disabled(4) && side.is_drained(4));
    assert_eq!(
        side.distributor().active(),
        Some(3),
        "the preferred member is active"
    );
    let table = side.distributor().bucket_table();
    assert!(table.iter().all(|o| *o == Some(3)), "{table:?}");
    // Traffic goes through it, in order.
    for seq in 0..100 {
        for flow in 0..4 {
            net.host_send(0, data_frame(flow, seq));
        }
        let t = net.now + Duration::from_micros(250);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(1));
    check_in_order(&net.sides[1].received, 4, 100);
    // Outside active-backup a preference is refused.
    let mut hash = Net::new();
    assert!(hash.sides[0].agg.prefer_active(Instant::ZERO, 2).is_err());
    hash.drain(0);
}
