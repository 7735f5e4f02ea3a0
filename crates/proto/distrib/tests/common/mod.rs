//! A deterministic model of an aggregation's links for the distributor tests: per-port FIFO
//! links with a fixed delay, a partner that answers Marker PDUs (or stays silent), and a
//! receiver that checks per-flow sequence numbers. Time is virtual.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};

use lagd_distrib::{Dispatch, DistEvent, Distributor, DistributorConfig};
use lagd_types::{Duration, Instant, PortNumber};

/// A frame's payload in the model: which flow, which sequence number.
pub type Item = (u32, u64);

#[derive(Debug, Clone, Copy)]
enum Pdu {
    Data(Item),
    Marker(u64),
}

#[derive(Debug)]
struct Link {
    delay: Duration,
    /// The part of `delay` a frame spends in the port's transmit queue before it departs.
    queued: Duration,
    queue: VecDeque<(Instant, Pdu)>,
}

/// The model.
pub struct Net {
    /// Virtual time.
    pub now: Instant,
    /// The distributor under test.
    pub dist: Distributor<Item>,
    links: BTreeMap<PortNumber, Link>,
    responses: VecDeque<(Instant, u64)>,
    /// Marker departures to report (time, request), in time order.
    departures: VecDeque<(Instant, u64)>,
    /// Whether Marker departures are reported to the distributor
    /// ([`Distributor::handle_marker_departed`]); turn on its reports with
    /// [`Distributor::set_departure_reports`].
    pub report_departures: bool,
    /// Whether the partner answers markers.
    pub respond: bool,
    /// Delay of a Marker Response back to us.
    pub return_delay: Duration,
    next_seq: BTreeMap<u32, u64>,
    expected: BTreeMap<u32, u64>,
    /// Frames received out of order or after a gap (any of these is a failure).
    pub violations: u64,
    /// Frames received.
    pub delivered: u64,
    /// Frames the distributor dropped.
    pub dropped: u64,
    /// Frames the distributor held.
    pub held: u64,
    /// Markers sent.
    pub markers_sent: u64,
    /// Markers sent per port, with the time of each.
    pub markers_on: BTreeMap<PortNumber, Vec<Instant>>,
    /// Every event so far.
    pub events: Vec<DistEvent>,
    /// Frames put on each port.
    pub sent_on: BTreeMap<PortNumber, u64>,
}

impl Net {
    /// A model with the given links (port, one-way delay).
    pub fn new(config: DistributorConfig, links: &[(PortNumber, Duration)]) -> Net {
        Net {
            now: Instant::from_secs(1),
            dist: Distributor::new(config),
            links: links
                .iter()
                .map(|&(p, delay)| {
                    (
                        p,
                        Link {
                            delay,
                            queued: Duration::ZERO,
                            queue: VecDeque::new(),
                        },
                    )
                })
                .collect(),
            responses: VecDeque::new(),
            departures: VecDeque::new(),
            report_departures: false,
            respond: true,
            return_delay: Duration::from_millis(2),
            next_seq: BTreeMap::new(),
            expected: BTreeMap::new(),
            violations: 0,
            delivered: 0,
            dropped: 0,
            held: 0,
            markers_sent: 0,
            markers_on: BTreeMap::new(),
            events: Vec::new(),
            sent_on: BTreeMap::new(),
        }
    }

    /// Sets how long of `port`'s delay a frame waits in its transmit queue (at most the delay).
    pub fn set_queued(&mut self, port: PortNumber, queued: Duration) {
        let link = self.links.get_mut(&port).expect("a link for every port");
        link.queued = queued.min(link.delay);
    }

    fn put(&mut self, port: PortNumber, pdu: Pdu) {
        let now = self.now;
        let link = self.links.get_mut(&port).expect("a link for every port");
        link.queue.push_back((now + link.delay, pdu));
        match pdu {
            Pdu::Data(_) => *self.sent_on.entry(port).or_default() += 1,
            Pdu::Marker(id) if self.report_departures => {
                let at = now + link.queued;
                let i = self.departures.partition_point(|(t, _)| *t <= at);
                self.departures.insert(i, (at, id));
            }
            Pdu::Marker(_) => {}
        }
    }

    /// Drains releases, then markers, then events (the caller contract).
    pub fn pump(&mut self) {
        while let Some((p, item)) = self.dist.poll_release() {
            self.put(p, Pdu::Data(item));
        }
        while let Some(m) = self.dist.poll_marker_request() {
            self.markers_sent += 1;
            self.markers_on.entry(m.port).or_default().push(self.now);
            self.put(m.port, Pdu::Marker(m.id));
        }
        while let Some(e) = self.dist.poll_event() {
            self.events.push(e);
        }
    }

    fn dispatch(&mut self, d: Dispatch<Item>) {
        match d {
            Dispatch::Send(p, item) => self.put(p, Pdu::Data(item)),
            Dispatch::Broadcast(item) => {
                for p in self.dist.ports().to_vec() {
                    self.put(p, Pdu::Data(item));
                }
            }
            Dispatch::Held => self.held += 1,
            Dispatch::Drop(_, _) => self.dropped += 1,
        }
        self.pump();
    }

    fn seq(&mut self, flow: u32) -> u64 {
        let s = self.next_seq.entry(flow).or_insert(0);
        *s += 1;
        *s
    }

    /// Offers one frame of `flow` with a caller-computed hash.
    pub fn offer_hashed(&mut self, flow: u32, hash: u32, len: usize) {
        let seq = self.seq(flow);
        let d = self.dist.handle_hashed(self.now, hash, len, (flow, seq));
        self.dispatch(d);
    }

    /// Offers one frame of `flow` as bytes.
    pub fn offer_frame(&mut self, flow: u32, frame: &[u8]) {
        let seq = self.seq(flow);
        let d = self.dist.handle_frame(self.now, frame, (flow, seq));
        self.dispatch(d);
    }

    fn receive(&mut self, (flow, seq): Item) {
        self.delivered += 1;
        let e = self.expected.entry(flow).or_insert(1);
        if seq != *e {
            self.violations += 1;
        }
        *e = seq.max(*e) + 1;
    }

    /// Runs the links, the partner and the distributor's timers up to `to`, in time order.
    pub fn advance(&mut self, to: Instant) {
        loop {
            let link_next = self
                .links
                .iter()
                .filter_map(|(p, l)| l.queue.front().map(|(t, _)| (*t, *p)))
                .min();
            let resp_next = self.responses.front().map(|(t, _)| *t);
            let dep_next = self.departures.front().map(|(t, _)| *t);
            let timer = self.dist.poll_timeout();
            let next = [link_next.map(|x| x.0), resp_next, dep_next, timer]
                .into_iter()
                .flatten()
                .min();
            let Some(t) = next.filter(|t| *t <= to) else {
                break;
            };
            self.now = self.now.max(t);
            if let Some((lt, p)) = link_next.filter(|(lt, _)| *lt == t) {
                let _ = lt;
                let (_, pdu) = self.links.get_mut(&p).unwrap().queue.pop_front().unwrap();
                match pdu {
                    Pdu::Data(item) => self.receive(item),
                    Pdu::Marker(id) => {
                        if self.respond {
                            self.responses.push_back((self.now + self.return_delay, id));
                        }
                    }
                }
            } else if dep_next == Some(t) {
                let (_, id) = self.departures.pop_front().unwrap();
                self.dist.handle_marker_departed(self.now, id);
            } else if resp_next == Some(t) {
                let (_, id) = self.responses.pop_front().unwrap();
                self.dist.handle_marker_response(self.now, id);
            } else {
                self.dist.handle_timeout(self.now);
            }
            self.pump();
        }
        self.now = self.now.max(to);
    }

    /// Makes `ports` the distributing ports now, and sends what that releases.
    pub fn set_ports(&mut self, ports: &[PortNumber]) {
        let now = self.now;
        self.dist.set_ports(now, ports);
        self.pump();
    }

    /// Asserts that every flow received every frame offered, in order, and nothing else.
    #[track_caller]
    pub fn assert_all_delivered_in_order(&self) {
        assert!(self.all_in_order(), "violations {}", self.violations);
        assert_eq!(self.delivered, self.offered());
    }

    /// Frames offered per flow, so far.
    pub fn offered(&self) -> u64 {
        self.next_seq.values().sum()
    }

    /// Every flow received every frame offered, in order.
    pub fn all_in_order(&self) -> bool {
        self.violations == 0
            && self
                .next_seq
                .iter()
                .all(|(f, n)| self.expected.get(f) == Some(&(n + 1)))
    }

    /// Count of buckets each port owns.
    pub fn owned(&self, port: PortNumber) -> usize {
        self.dist
            .bucket_table()
            .iter()
            .filter(|o| **o == Some(port))
            .count()
    }
}

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
