//! A deterministic test harness: several [`Lacp`] Systems whose ports are connected by links
//! that can be cut (carrier down), made silent (carrier up, frames dropped in one or both
//! directions) or re-cabled, driven in virtual time from deadline to deadline.
//!
//! It is public (behind no feature) so other crates' tests, and the simulator, can reuse it.
//! Frames take [`Harness::delay`] to cross a link. A run panics if the Systems livelock (too
//! many steps at one instant).

use crate::{Event, EventKind, Lacp, LinkStatus, PortConfig, PortStatus, SystemConfig, Transmit};
use lagd_types::virtual_time::{self, VirtualTime};
use lagd_types::{Duration, Instant, PortNumber};
use std::collections::BTreeMap;

/// One end of a link: a System (index) and one of its ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct End {
    /// Index of the System in the harness.
    pub system: usize,
    /// Port number within it.
    pub port: PortNumber,
}

/// Shorthand for an [`End`].
pub const fn end(system: usize, port: PortNumber) -> End {
    End { system, port }
}

/// A cable between two ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// One end.
    pub a: End,
    /// The other end.
    pub b: End,
    /// Carrier on both ends.
    pub carrier: bool,
    /// Frames from `a` to `b` are dropped (carrier stays up).
    pub drop_a_to_b: bool,
    /// Frames from `b` to `a` are dropped.
    pub drop_b_to_a: bool,
    /// Frames sent by `a` also come back to `a` (a hub or a misconfigured switch echoing them).
    pub echo_a: bool,
    /// Frames sent by `b` also come back to `b`.
    pub echo_b: bool,
}

/// A System of the harness, with what is needed to restart it.
#[derive(Clone, Debug)]
pub struct Node {
    /// The protocol engine.
    pub lacp: Lacp,
    config: SystemConfig,
    ports: Vec<PortConfig>,
}

/// A frame some System sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// When.
    pub at: Instant,
    /// From which System.
    pub system: usize,
    /// The frame.
    pub transmit: Transmit,
}

/// Several Systems and the links between them, in virtual time.
#[derive(Clone, Debug)]
pub struct Harness {
    /// Virtual time.
    pub now: Instant,
    /// The Systems.
    pub nodes: Vec<Node>,
    /// The links.
    pub links: Vec<Link>,
    /// One-way delay of every link.
    pub delay: Duration,
    /// Every event, with the index of the System that emitted it.
    pub log: Vec<(usize, Event)>,
    /// Every frame sent.
    pub sent: Vec<Sent>,
    /// Speed reported for links that are up.
    pub speed_mbps: u32,
    in_flight: BTreeMap<(Instant, u64), (End, Vec<u8>)>,
    seq: u64,
}

impl VirtualTime for Harness {
    fn now(&self) -> Instant {
        self.now
    }

    fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    fn drain(&mut self) {
        Harness::drain(self);
    }

    fn next_time(&self) -> Option<Instant> {
        let next_timer = self
            .nodes
            .iter()
            .filter_map(|n| n.lacp.poll_timeout())
            .min();
        let next_frame = self.in_flight.keys().next().map(|k| k.0);
        next_timer.into_iter().chain(next_frame).min()
    }

    fn step(&mut self, now: Instant) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (to, frame) = entry.remove();
            if self.carrier_at(to) {
                // Refused frames are counted by the engine; nothing to do here.
                let _ = self.nodes[to.system]
                    .lacp
                    .handle_frame(now, to.port, &frame);
            }
        }
        for n in &mut self.nodes {
            if n.lacp.poll_timeout().is_some_and(|t| t <= now) {
                n.lacp.handle_timeout(now);
            }
        }
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// An empty harness at time 0, 1 ms link delay.
    pub fn new() -> Self {
        Harness {
            now: Instant::ZERO,
            nodes: Vec::new(),
            links: Vec::new(),
            delay: Duration::from_millis(1),
            log: Vec::new(),
            sent: Vec::new(),
            speed_mbps: 1000,
            in_flight: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Adds a System; returns its index.
    pub fn add_system(&mut self, config: SystemConfig) -> usize {
        self.nodes.push(Node {
            lacp: Lacp::new(config.clone()),
            config,
            ports: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Adds a port to System `sys` (panics on a configuration error: this is a test tool).
    pub fn add_port(&mut self, sys: usize, port: PortConfig) {
        let now = self.now;
        let node = &mut self.nodes[sys];
        node.lacp
            .add_port(now, port.clone())
            .unwrap_or_else(|e| panic!("add_port: {e}"));
        node.ports.push(port);
        self.drain();
    }

    /// The engine of System `sys`.
    pub fn lacp(&self, sys: usize) -> &Lacp {
        &self.nodes[sys].lacp
    }

    /// The engine of System `sys`, to change it (call [`Harness::drain`] afterwards, or run).
    pub fn lacp_mut(&mut self, sys: usize) -> &mut Lacp {
        &mut self.nodes[sys].lacp
    }

    /// The state of a port (panics if absent).
    pub fn port(&self, e: End) -> PortStatus {
        self.lacp(e.system)
            .port(e.port)
            .unwrap_or_else(|| panic!("no port {} on system {}", e.port, e.system))
    }

    /// Events of System `sys` for which `f` holds.
    pub fn events<'a>(
        &'a self,
        sys: usize,
        f: impl Fn(&Event) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Event> + 'a {
        self.log
            .iter()
            .filter(move |(s, e)| *s == sys && f(e))
            .map(|(_, e)| e)
    }

    fn set_carrier(&mut self, e: End, up: bool) {
        let link = if up {
            LinkStatus::up(self.speed_mbps)
        } else {
            LinkStatus::DOWN
        };
        let now = self.now;
        self.nodes[e.system].lacp.handle_link(now, e.port, link);
    }

    /// Cables `a` to `b` with carrier up; returns the link's index.
    pub fn connect(&mut self, a: End, b: End) -> usize {
        self.links.push(Link {
            a,
            b,
            carrier: true,
            drop_a_to_b: false,
            drop_b_to_a: false,
            echo_a: false,
            echo_b: false,
        });
        self.set_carrier(a, true);
        self.set_carrier(b, true);
        self.drain();
        self.links.len() - 1
    }

    /// Carrier down on both ends of link `l`.
    pub fn cut(&mut self, l: usize) {
        let link = &mut self.links[l];
        link.carrier = false;
        let (a, b) = (link.a, link.b);
        self.set_carrier(a, false);
        self.set_carrier(b, false);
        self.drain();
    }

    /// Carrier back up on both ends of link `l`.
    pub fn restore(&mut self, l: usize) {
        let link = &mut self.links[l];
        link.carrier = true;
        let (a, b) = (link.a, link.b);
        self.set_carrier(a, true);
        self.set_carrier(b, true);
        self.drain();
    }

    /// Makes link `l` drop frames (carrier stays up) in the chosen directions.
    pub fn silence(&mut self, l: usize, a_to_b: bool, b_to_a: bool) {
        let link = &mut self.links[l];
        link.drop_a_to_b = a_to_b;
        link.drop_b_to_a = b_to_a;
    }

    /// Makes link `l` echo each end's frames back to it (as well as delivering them), or stop.
    pub fn echo(&mut self, l: usize, a: bool, b: bool) {
        let link = &mut self.links[l];
        link.echo_a = a;
        link.echo_b = b;
    }

    /// Link `l` delivers frames both ways again.
    pub fn heal(&mut self, l: usize) {
        self.silence(l, false, false);
    }

    /// Moves the `b` end of link `l` to `new_b`: carrier drops on all ends, then comes up on
    /// the new pair.
    pub fn recable(&mut self, l: usize, new_b: End) {
        self.cut(l);
        self.links[l].b = new_b;
        self.restore(l);
    }

    /// Restarts System `sys`: a new engine with the same configuration and ports; the links
    /// that have carrier come up again at once.
    pub fn restart(&mut self, sys: usize) {
        let now = self.now;
        let node = &mut self.nodes[sys];
        node.lacp = Lacp::new(node.config.clone());
        for p in node.ports.clone() {
            node.lacp
                .add_port(now, p)
                .unwrap_or_else(|e| panic!("add_port: {e}"));
        }
        let ends: Vec<End> = self
            .links
            .iter()
            .filter(|l| l.carrier)
            .flat_map(|l| [l.a, l.b])
            .filter(|e| e.system == sys)
            .collect();
        for e in ends {
            self.set_carrier(e, true);
        }
        self.drain();
    }

    /// Collects the Systems' frames (putting them on the wire) and events.
    pub fn drain(&mut self) {
        let now = self.now;
        for sys in 0..self.nodes.len() {
            while let Some(t) = self.nodes[sys].lacp.poll_transmit(now) {
                let from = end(sys, t.port);
                let to = self.links.iter().find_map(|l| {
                    if !l.carrier {
                        None
                    } else if l.a == from && !l.drop_a_to_b {
                        Some(l.b)
                    } else if l.b == from && !l.drop_b_to_a {
                        Some(l.a)
                    } else {
                        None
                    }
                });
                if let Some(to) = to {
                    self.seq += 1;
                    self.in_flight
                        .insert((now + self.delay, self.seq), (to, t.frame.clone()));
                }
                let echoed = self
                    .links
                    .iter()
                    .any(|l| l.carrier && ((l.a == from && l.echo_a) || (l.b == from && l.echo_b)));
                if echoed {
                    self.seq += 1;
                    self.in_flight
                        .insert((now + self.delay, self.seq), (from, t.frame.clone()));
                }
                self.sent.push(Sent {
                    at: now,
                    system: sys,
                    transmit: t,
                });
            }
            while let Some(e) = self.nodes[sys].lacp.poll_event() {
                self.log.push((sys, e));
            }
        }
    }

    fn carrier_at(&self, e: End) -> bool {
        self.links
            .iter()
            .any(|l| l.carrier && (l.a == e || l.b == e))
    }

    /// Runs until `until`: delivers frames and fires timers in time order.
    pub fn run_until(&mut self, until: Instant) {
        virtual_time::run_until(self, until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until `cond` holds, checking after every step, for at most `limit`; returns the
    /// time it first held, `None` if it never did.
    pub fn run_until_cond(
        &mut self,
        limit: Duration,
        cond: impl FnMut(&Harness) -> bool,
    ) -> Option<Instant> {
        virtual_time::run_until_cond(self, limit, cond)
    }

    /// Whether every given port is Collecting and Distributing.
    pub fn all_distributing(&self, ends: &[End]) -> bool {
        ends.iter()
            .all(|e| self.lacp(e.system).is_distributing(e.port))
    }

    /// The frames System `sys` sent on `port` whose slow-protocols subtype is `subtype`
    /// (1 = LACP, 2 = Marker), with their times.
    pub fn sent_times(&self, sys: usize, port: PortNumber, subtype: u8) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|s| {
                s.system == sys
                    && s.transmit.port == port
                    && s.transmit.frame.get(14) == Some(&subtype)
            })
            .map(|s| s.at)
            .collect()
    }

    /// Whether System `sys` emitted an event of the kind `f` accepts.
    pub fn saw(&self, sys: usize, f: impl Fn(&EventKind) -> bool) -> bool {
        self.log.iter().any(|(s, e)| *s == sys && f(&e.kind))
    }
}
