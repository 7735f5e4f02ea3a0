//! A deterministic two-switch harness: two [`Dt`] switches joined by a peer link and a
//! keepalive path, in virtual time. Paths can lose carrier, drop frames one way or both, and a
//! switch can die and come back. Public so other crates' tests and the simulator can use it.

use crate::{Dt, DtAggrConfig, DtConfig, DtEvent, DtEventKind, DtPath, MacUpdate};
use lagd_types::virtual_time::{self, VirtualTime};
use lagd_types::{Duration, Instant};
use std::collections::BTreeMap;

/// A path between the two switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    /// Carrier (for the peer link, both switches are told).
    pub carrier: bool,
    /// Frames from switch 0 to switch 1 are dropped.
    pub drop_0_to_1: bool,
    /// Frames from switch 1 to switch 0 are dropped.
    pub drop_1_to_0: bool,
}

impl Path {
    const UP: Path = Path {
        carrier: true,
        drop_0_to_1: false,
        drop_1_to_0: false,
    };
    fn passes(&self, from: usize) -> bool {
        self.carrier
            && if from == 0 {
                !self.drop_0_to_1
            } else {
                !self.drop_1_to_0
            }
    }
}

/// Two DT switches in virtual time.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Virtual time.
    pub now: Instant,
    /// The switches.
    pub sw: [Dt; 2],
    /// Whether each switch runs (a dead one neither sends nor receives).
    pub alive: [bool; 2],
    /// Whether each switch is frozen (see [`Pair::freeze`]).
    pub frozen: [bool; 2],
    /// The peer link.
    pub peer_link: Path,
    /// The keepalive path.
    pub keepalive: Path,
    /// One-way delay of both paths.
    pub delay: Duration,
    /// Every event, with the switch index.
    pub log: Vec<(usize, DtEvent)>,
    /// Every MAC install/remove, with the switch index.
    pub mac_log: Vec<(usize, MacUpdate)>,
    /// Every frame sent: time, switch, path, length.
    pub sent: Vec<(Instant, usize, DtPath, usize)>,
    /// While true, every frame sent is kept in `captured` (an eavesdropper's recording).
    pub capture: bool,
    /// Frames recorded while `capture` was on: time, switch, path, bytes.
    pub captured: Vec<(Instant, usize, DtPath, Vec<u8>)>,
    configs: [DtConfig; 2],
    aggrs: [Vec<DtAggrConfig>; 2],
    in_flight: BTreeMap<(Instant, u64), (usize, DtPath, Vec<u8>)>,
    seq: u64,
    /// Frames that reached a frozen switch, waiting to be read: switch, path, bytes.
    held: Vec<(usize, DtPath, Vec<u8>)>,
}

impl VirtualTime for Pair {
    fn now(&self) -> Instant {
        self.now
    }

    fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    fn drain(&mut self) {
        Pair::drain(self);
    }

    fn next_time(&self) -> Option<Instant> {
        Pair::next_time(self)
    }

    fn step(&mut self, now: Instant) {
        while let Some(e) = self.in_flight.first_entry() {
            if e.key().0 > now {
                break;
            }
            let (to, path, frame) = e.remove();
            if !self.alive[to] {
                continue;
            }
            if self.frozen[to] {
                self.held.push((to, path, frame));
                continue;
            }
            // Refused frames are counted by the switch.
            let _ = match path {
                DtPath::PeerLink => self.sw[to].handle_peer_frame(now, &frame),
                DtPath::Keepalive => self.sw[to].handle_keepalive_frame(now, &frame),
            };
        }
        for i in 0..2 {
            if self.alive[i]
                && !self.frozen[i]
                && self.sw[i].poll_timeout().is_some_and(|t| t <= now)
            {
                self.sw[i].handle_timeout(now);
            }
        }
    }
}

impl Pair {
    /// Two switches started at time 0 with both paths up and 1 ms of delay (panics on an
    /// invalid configuration: this is a test tool).
    pub fn new(a: DtConfig, b: DtConfig) -> Pair {
        let now = Instant::ZERO;
        let mk = |c: &DtConfig| Dt::new(now, c.clone()).unwrap_or_else(|e| panic!("{e}"));
        Pair {
            now,
            sw: [mk(&a), mk(&b)],
            alive: [true, true],
            frozen: [false, false],
            peer_link: Path::UP,
            keepalive: Path::UP,
            delay: Duration::from_millis(1),
            log: Vec::new(),
            mac_log: Vec::new(),
            sent: Vec::new(),
            capture: false,
            captured: Vec::new(),
            configs: [a, b],
            aggrs: [Vec::new(), Vec::new()],
            in_flight: BTreeMap::new(),
            seq: 0,
            held: Vec::new(),
        }
    }

    /// Adds a DT aggregation to switch `i` (panics on error).
    pub fn add_aggregation(&mut self, i: usize, cfg: DtAggrConfig) {
        let now = self.now;
        self.sw[i]
            .add_aggregation(now, cfg.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        self.aggrs[i].push(cfg);
        self.drain();
    }

    /// Collects frames (onto the paths), events and MAC updates.
    pub fn drain(&mut self) {
        let now = self.now;
        for i in 0..2 {
            while let Some(t) = self.sw[i].poll_transmit() {
                self.sent.push((now, i, t.path, t.frame.len()));
                if self.capture {
                    self.captured.push((now, i, t.path, t.frame.clone()));
                }
                if !self.alive[i] {
                    continue;
                }
                let path = match t.path {
                    DtPath::PeerLink => self.peer_link,
                    DtPath::Keepalive => self.keepalive,
                };
                if path.passes(i) {
                    self.seq += 1;
                    self.in_flight
                        .insert((now + self.delay, self.seq), (1 - i, t.path, t.frame));
                }
            }
            while let Some(e) = self.sw[i].poll_event() {
                self.log.push((i, e));
            }
            while let Some(m) = self.sw[i].poll_mac_update() {
                self.mac_log.push((i, m));
            }
        }
    }

    /// The next instant something happens.
    pub fn next_time(&self) -> Option<Instant> {
        let timers = (0..2)
            .filter(|i| self.alive[*i] && !self.frozen[*i])
            .filter_map(|i| self.sw[i].poll_timeout());
        timers
            .chain(self.in_flight.keys().next().map(|k| k.0))
            .min()
    }

    /// Runs until `until`: frames and timers in time order.
    pub fn run_until(&mut self, until: Instant) {
        virtual_time::run_until(self, until);
    }

    /// Runs for `d`.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until `cond` holds (checked after every step) for at most `limit`; returns when it
    /// first held.
    pub fn run_until_cond(
        &mut self,
        limit: Duration,
        cond: impl FnMut(&Pair) -> bool,
    ) -> Option<Instant> {
        virtual_time::run_until_cond(self, limit, cond)
    }

    fn peer_link_carrier(&mut self, up: bool) {
        self.peer_link.carrier = up;
        let now = self.now;
        for i in 0..2 {
            if self.alive[i] {
                self.sw[i].handle_peer_link_status(now, up && self.alive[1 - i]);
            }
        }
        self.drain();
    }

    /// Peer link carrier down on both ends.
    pub fn cut_peer_link(&mut self) {
        self.peer_link_carrier(false);
    }

    /// Peer link carrier back.
    pub fn restore_peer_link(&mut self) {
        self.peer_link_carrier(true);
    }

    /// The peer link drops frames (carrier stays up) in the chosen directions.
    pub fn silence_peer_link(&mut self, drop_0_to_1: bool, drop_1_to_0: bool) {
        self.peer_link.drop_0_to_1 = drop_0_to_1;
        self.peer_link.drop_1_to_0 = drop_1_to_0;
    }

    /// The keepalive path stops (or resumes) delivering.
    pub fn set_keepalive(&mut self, up: bool) {
        self.keepalive.carrier = up;
    }

    /// Switch `i` dies: it stops, and the survivor sees the peer link carrier drop.
    pub fn kill(&mut self, i: usize) {
        self.alive[i] = false;
        let now = self.now;
        self.sw[1 - i].handle_peer_link_status(now, false);
        self.drain();
    }

    /// Switch `i` freezes with its links up (its process stopped, as by SIGSTOP): it runs no
    /// timer and sends nothing; frames sent to it wait to be read; no carrier changes.
    pub fn freeze(&mut self, i: usize) {
        self.frozen[i] = true;
    }

    /// A frozen switch `i` runs again, as a daemon's loop would on waking: its timers first
    /// (all late), then the frames that waited, at the current time.
    pub fn thaw(&mut self, i: usize) {
        self.frozen[i] = false;
        let now = self.now;
        self.sw[i].handle_timeout(now);
        self.drain();
        let held: Vec<_> = self.held.drain(..).collect();
        for (to, path, frame) in held {
            let _ = match path {
                DtPath::PeerLink => self.sw[to].handle_peer_frame(now, &frame),
                DtPath::Keepalive => self.sw[to].handle_keepalive_frame(now, &frame),
            };
            self.drain();
        }
    }

    /// Switch `i` starts again from scratch with its configuration and aggregations (and, as
    /// a daemon would, a new epoch and MAC sync incarnation).
    pub fn revive(&mut self, i: usize) {
        let now = self.now;
        let c = &mut self.configs[i];
        c.epoch = c.epoch.wrapping_add(0x1_0000).max(1);
        c.incarnation = c.incarnation.wrapping_add(0x1000);
        let mut d = Dt::new(now, self.configs[i].clone()).unwrap_or_else(|e| panic!("{e}"));
        for a in &self.aggrs[i] {
            d.add_aggregation(now, a.clone())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        self.sw[i] = d;
        self.alive[i] = true;
        let up = self.peer_link.carrier;
        self.sw[i].handle_peer_link_status(now, up);
        self.sw[1 - i].handle_peer_link_status(now, up);
        self.drain();
    }

    /// Delivers `frame` to switch `i` on `path` now, as if it had come over that path (an
    /// attacker's injection); returns what the switch said.
    pub fn inject(
        &mut self,
        i: usize,
        path: DtPath,
        frame: &[u8],
    ) -> Result<(), crate::DtWireError> {
        let now = self.now;
        let r = match path {
            DtPath::PeerLink => self.sw[i].handle_peer_frame(now, frame),
            DtPath::Keepalive => self.sw[i].handle_keepalive_frame(now, frame),
        };
        self.drain();
        r
    }

    /// Whether switch `i` emitted an event `f` accepts.
    pub fn saw(&self, i: usize, f: impl Fn(&DtEventKind) -> bool) -> bool {
        self.log.iter().any(|(s, e)| *s == i && f(&e.kind))
    }
}
