//! A two-endpoint harness in virtual time: two `MicroBfd` (A and B), member `n` of A cabled to
//! member `n` of B by a wire with a fixed latency; each direction of each wire can be cut
//! silently (carrier stays up, frames vanish), as `tc ... mirred redirect` does on a host.
//! `run_until` is bounded: it stops at the deadline or after a step budget.
#![allow(dead_code)]

use lagd_bfd::{BfdConfig, BfdRepr, Event, EventKind, MicroBfd, MicroBfdFrame, SessionState};
use lagd_types::{Duration, Instant, MacAddr, PortNumber};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    A,
    B,
}

/// A frame on the wire: sent by `from` on `port`, arriving at `at`.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub at: Instant,
    pub from: Side,
    pub port: PortNumber,
    pub frame: Vec<u8>,
}

/// A frame as sent, decoded.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Instant,
    pub from: Side,
    pub port: PortNumber,
    pub frame: MicroBfdFrame,
    pub delivered: bool,
}

pub struct Pair {
    pub now: Instant,
    pub a: MicroBfd,
    pub b: MicroBfd,
    pub latency: Duration,
    /// Cut directions: (sender, port).
    pub cut: BTreeSet<(Side, PortNumber)>,
    pub wire: Vec<InFlight>,
    pub sent: Vec<Sent>,
    pub events: Vec<(Side, Event)>,
    pub steps: u64,
    /// Sides that do not run (a stalled process): frames for them wait in `held` (a socket's
    /// queue), their timers do not run, they send nothing.
    pub stalled: BTreeSet<Side>,
    pub held: Vec<InFlight>,
}

pub fn mac(side: Side, port: PortNumber) -> MacAddr {
    MacAddr([2, 0, 0, side as u8 + 0xa, 0, port as u8])
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Pair {
    /// Both sides with `cfg`, members `ports`, started at time 0.
    pub fn new(cfg: BfdConfig, ports: &[PortNumber]) -> Pair {
        Pair::with(cfg, cfg, ports)
    }

    pub fn with(cfg_a: BfdConfig, cfg_b: BfdConfig, ports: &[PortNumber]) -> Pair {
        let mut a = MicroBfd::new(cfg_a, 1);
        let mut b = MicroBfd::new(cfg_b, 2);
        a.set_local_ip(Ipv4Addr::new(198, 18, 0, 1));
        b.set_local_ip(Ipv4Addr::new(198, 18, 0, 2));
        for &p in ports {
            a.add_port(Instant::ZERO, p, mac(Side::A, p)).unwrap();
            b.add_port(Instant::ZERO, p, mac(Side::B, p)).unwrap();
        }
        let mut pair = Pair {
            now: Instant::ZERO,
            a,
            b,
            latency: Duration::from_micros(100),
            cut: BTreeSet::new(),
            wire: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
            steps: 0,
            stalled: BTreeSet::new(),
            held: Vec::new(),
        };
        pair.flush();
        pair
    }

    pub fn side(&mut self, s: Side) -> &mut MicroBfd {
        match s {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    pub fn state(&self, s: Side, port: PortNumber) -> SessionState {
        match s {
            Side::A => self.a.state(port).unwrap(),
            Side::B => self.b.state(port).unwrap(),
        }
    }

    /// Drains both sides' transmits onto the wire and their events into the log.
    pub fn flush(&mut self) {
        for s in [Side::A, Side::B] {
            if self.stalled.contains(&s) {
                continue;
            }
            let now = self.now;
            while let Some(t) = self.side(s).poll_transmit(now) {
                let frame = MicroBfdFrame::parse(&t.frame).expect("we send what we parse");
                let delivered = !self.cut.contains(&(s, t.port));
                self.sent.push(Sent {
                    at: now,
                    from: s,
                    port: t.port,
                    frame,
                    delivered,
                });
                if delivered {
                    self.wire.push(InFlight {
                        at: now + self.latency,
                        from: s,
                        port: t.port,
                        frame: t.frame,
                    });
                }
            }
            while let Some(e) = self.side(s).poll_event() {
                self.events.push((s, e));
            }
        }
    }

    fn next_time(&self) -> Option<Instant> {
        let running = |s: Side, m: &MicroBfd| {
            if self.stalled.contains(&s) {
                None
            } else {
                m.poll_timeout()
            }
        };
        [
            running(Side::A, &self.a),
            running(Side::B, &self.b),
            self.wire.iter().map(|f| f.at).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs one event time; false when nothing is scheduled before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        let Some(t) = self.next_time().filter(|t| *t <= limit) else {
            return false;
        };
        self.now = self.now.max(t);
        self.steps += 1;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|f| f.at <= now);
        self.wire = rest;
        for f in due {
            let to = match f.from {
                Side::A => Side::B,
                Side::B => Side::A,
            };
            if self.stalled.contains(&to) {
                self.held.push(f);
                continue;
            }
            let _ = self.side(to).handle_frame(now, f.port, &f.frame);
            self.flush();
        }
        for s in [Side::A, Side::B] {
            if !self.stalled.contains(&s) {
                self.side(s).handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    /// Runs until `t` (bounded: at most 1 000 000 steps).
    pub fn run_until(&mut self, t: Instant) {
        let budget = self.steps + 1_000_000;
        while self.steps < budget && self.step(t) {}
        assert!(self.steps < budget, "step budget exhausted");
        self.now = self.now.max(t);
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Runs until `cond` holds, at most until `limit`; the time it first held.
    pub fn run_until_cond(
        &mut self,
        limit: Instant,
        mut cond: impl FnMut(&Pair) -> bool,
    ) -> Option<Instant> {
        let budget = self.steps + 1_000_000;
        loop {
            if cond(self) {
                return Some(self.now);
            }
            if self.steps >= budget || !self.step(limit) {
                return None;
            }
        }
    }

    /// Every session of both sides is Up.
    pub fn all_up(&self) -> bool {
        let up = |m: &MicroBfd| {
            m.status()
                .iter()
                .all(|s| s.session.state == SessionState::Up)
        };
        up(&self.a) && up(&self.b)
    }

    /// Brings both sides Up and lets the Poll Sequences finish; returns when they were Up.
    pub fn form(&mut self) -> Instant {
        let t = self
            .run_until_cond(Instant::from_secs(10), Pair::all_up)
            .expect("sessions form within 10 s");
        self.run_for(ms(500));
        t
    }

    /// The BFD packets `from` sent on `port` after `since`.
    pub fn packets(&self, from: Side, port: PortNumber, since: Instant) -> Vec<(Instant, BfdRepr)> {
        self.sent
            .iter()
            .filter(|s| s.from == from && s.port == port && s.at >= since)
            .map(|s| (s.at, s.frame.bfd))
            .collect()
    }

    /// The state changes logged for (side, port), with time and diag.
    pub fn transitions(
        &self,
        side: Side,
        port: PortNumber,
    ) -> Vec<(Instant, SessionState, lagd_bfd::Diag)> {
        self.events
            .iter()
            .filter(|(s, e)| *s == side && e.port == Some(port))
            .filter_map(|(_, e)| match e.kind {
                EventKind::SessionState { to, diag, .. } => Some((e.at, to, diag)),
                _ => None,
            })
            .collect()
    }
}
