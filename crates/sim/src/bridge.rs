//! An unconfigured L2 switch (`kind = "bridge"`): what a host running `transmit-lb` or
//! `adaptive-lb` is plugged into. It knows nothing of aggregation: it learns each source MAC on
//! the port it arrived on, forwards a unicast frame to the port its destination was learned on
//! (nowhere if that is the port it came from), and floods broadcast, multicast and unknown
//! unicast to every other port with carrier. Entries age out after `ageing` (Linux's bridge:
//! 300 s) and are flushed when their port loses carrier (as Linux's bridge does when a port is
//! disabled).
//!
//! A table holds one entry per MAC, so a MAC seen on a second port while its entry on the first
//! is still live *moves*: the switch had it on two ports at once (and a real switch sends that
//! MAC's traffic to whichever port spoke last). Moves are counted per MAC; they are what
//! Linux's bridge logs as "received packet ... with own address as source address" or a switch
//! as MAC flapping, and what `lagctl diagnose` warns about for the aggregate's MAC.

use lagd_types::{Duration, Instant, MacAddr};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a frame goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forward {
    /// To one port.
    Port(usize),
    /// To every port in the list (flooding).
    Flood(Vec<usize>),
    /// Nowhere: the destination is on the port the frame came from.
    Filter,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    port: usize,
    seen: Instant,
}

/// Counters of a learning switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BridgeCounters {
    /// Frames forwarded to the one port their destination was learned on.
    pub forwarded: u64,
    /// Frames flooded (broadcast, multicast, unknown unicast).
    pub flooded: u64,
    /// Unknown unicast among the flooded.
    pub unknown_unicast: u64,
    /// Frames dropped because their destination is on the port they came from.
    pub filtered: u64,
    /// MAC moves (a MAC learned on another port while its entry was live).
    pub moves: u64,
    /// Entries flushed by a port's loss of carrier.
    pub flushed: u64,
}

/// A learning switch's forwarding table.
#[derive(Clone, Debug)]
pub struct Bridge {
    ageing: Duration,
    ports: usize,
    fdb: BTreeMap<MacAddr, Entry>,
    moves: BTreeMap<MacAddr, u64>,
    /// Counters.
    pub counters: BridgeCounters,
}

impl Bridge {
    /// A switch with `ports` ports and an empty table.
    pub fn new(ports: usize, ageing: Duration) -> Self {
        Bridge {
            ageing,
            ports,
            fdb: BTreeMap::new(),
            moves: BTreeMap::new(),
            counters: BridgeCounters::default(),
        }
    }

    fn live(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_since(e.seen) < self.ageing
    }

    /// The port `mac` is learned on, if its entry is live.
    pub fn port_of(&self, now: Instant, mac: MacAddr) -> Option<usize> {
        self.fdb
            .get(&mac)
            .filter(|e| self.live(e, now))
            .map(|e| e.port)
    }

    /// Times `mac` moved between ports.
    pub fn moves_of(&self, mac: MacAddr) -> u64 {
        self.moves.get(&mac).copied().unwrap_or(0)
    }

    /// Every MAC that moved, with its count.
    pub fn moves(&self) -> &BTreeMap<MacAddr, u64> {
        &self.moves
    }

    /// The live entries, by MAC.
    pub fn table(&self, now: Instant) -> Vec<(MacAddr, usize)> {
        self.fdb
            .iter()
            .filter(|(_, e)| self.live(e, now))
            .map(|(m, e)| (*m, e.port))
            .collect()
    }

    /// A frame from `src` to `dst` arrived on `port`: learns, then says where it goes.
    /// `up(p)` tells whether port `p` has carrier (flooding skips the others).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: usize,
        src: MacAddr,
        dst: MacAddr,
        up: &dyn Fn(usize) -> bool,
    ) -> Forward {
        if src.is_unicast() && !src.is_zero() {
            let live = self.fdb.get(&src).is_some_and(|e| self.live(e, now));
            match self.fdb.get_mut(&src) {
                Some(e) => {
                    if live && e.port != port {
                        *self.moves.entry(src).or_insert(0) += 1;
                        self.counters.moves += 1;
                    }
                    *e = Entry { port, seen: now };
                }
                None => {
                    self.fdb.insert(src, Entry { port, seen: now });
                }
            }
        }
        let to = if dst.is_unicast() {
            self.port_of(now, dst)
        } else {
            None
        };
        match to {
            Some(p) if p == port => {
                self.counters.filtered += 1;
                Forward::Filter
            }
            Some(p) => {
                self.counters.forwarded += 1;
                Forward::Port(p)
            }
            None => {
                self.counters.flooded += 1;
                if dst.is_unicast() {
                    self.counters.unknown_unicast += 1;
                }
                Forward::Flood((0..self.ports).filter(|&p| p != port && up(p)).collect())
            }
        }
    }

    /// Port `port` lost carrier: its entries go.
    pub fn flush_port(&mut self, port: usize) {
        let before = self.fdb.len();
        self.fdb.retain(|_, e| e.port != port);
        self.counters.flushed += (before - self.fdb.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xb]);

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn learns_floods_unknown_forwards_known_and_filters_same_port() {
        let mut b = Bridge::new(3, Duration::from_secs(300));
        let up = |_| true;
        assert_eq!(
            b.handle_frame(at(0), 0, A, B, &up),
            Forward::Flood(vec![1, 2])
        );
        assert_eq!(b.handle_frame(at(1), 1, B, A, &up), Forward::Port(0));
        assert_eq!(b.handle_frame(at(2), 0, A, B, &up), Forward::Port(1));
        assert_eq!(b.handle_frame(at(3), 0, A, A, &up), Forward::Filter);
        assert_eq!(
            b.handle_frame(at(4), 1, B, MacAddr::BROADCAST, &|p| p != 2),
            Forward::Flood(vec![0])
        );
        assert_eq!(b.counters.unknown_unicast, 1);
        assert_eq!(b.moves_of(A), 0);
    }

    #[test]
    fn a_move_is_counted_only_while_the_entry_is_live() {
        let mut b = Bridge::new(3, Duration::from_secs(5));
        let up = |_| true;
        b.handle_frame(at(0), 0, A, B, &up);
        b.handle_frame(at(100), 1, A, B, &up);
        assert_eq!(b.moves_of(A), 1);
        assert_eq!(b.port_of(at(100), A), Some(1));
        // Aged out: learning it elsewhere is no move.
        b.handle_frame(at(6000), 2, A, B, &up);
        assert_eq!(b.moves_of(A), 1);
        // Flushed with its port: no move either.
        b.flush_port(2);
        assert_eq!(b.port_of(at(6001), A), None);
        b.handle_frame(at(6002), 0, A, B, &up);
        assert_eq!(b.moves_of(A), 1);
        assert_eq!(b.counters.flushed, 1);
    }
}
