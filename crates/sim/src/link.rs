//! Point-to-point links: per direction a transmitter serialising frames at the link's capacity
//! behind a bounded FIFO (tail drop), a propagation delay, a loss probability drawn from the
//! link's own seeded generator, carrier (up/down) and "silent" failure (carrier up, frames lost).

use crate::rng::Rng;
use lagd_types::{Duration, Instant};
use serde::Serialize;
use std::collections::VecDeque;

/// Bytes on the wire besides the frame: preamble + SFD (8), FCS (4), inter-frame gap (12).
pub const WIRE_OVERHEAD: usize = 24;

/// Direction of travel on a link: from end `a` to end `b`, or back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Dir {
    /// From end a to end b.
    AtoB,
    /// From end b to end a.
    BtoA,
}

impl Dir {
    /// Index 0 or 1.
    pub const fn index(self) -> usize {
        match self {
            Dir::AtoB => 0,
            Dir::BtoA => 1,
        }
    }
}

/// Physical parameters of a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    /// Capacity in bit/s (each direction).
    pub rate_bps: f64,
    /// Propagation delay.
    pub delay: Duration,
    /// Probability that a frame is lost (0..=1).
    pub loss: f64,
    /// Transmit queue length in frames (including the one being serialised).
    pub queue: usize,
}

/// Per-direction counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirCounters {
    /// Frames put on the wire (accepted by the transmitter).
    pub sent: u64,
    /// Frames that reached the far end.
    pub delivered: u64,
    /// Frames refused because the transmit queue was full (tail drop).
    pub queue_drops: u64,
    /// Frames lost to the loss probability.
    pub lost: u64,
    /// Frames swallowed by a silent failure.
    pub silent_drops: u64,
    /// Frames not sent because the carrier was down.
    pub down_drops: u64,
    /// Frames in flight when the carrier went down.
    pub cut_in_flight: u64,
}

#[derive(Clone, Debug, Default)]
struct Transmitter {
    busy_until: Instant,
    /// Finish times of the frames queued or being serialised.
    backlog: VecDeque<Instant>,
    counters: DirCounters,
}

/// What happened to a frame handed to [`Link::transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// It will arrive at the far end at this instant (if the carrier stays up).
    Arrives(Instant),
    /// The transmit queue was full.
    QueueFull,
    /// The carrier is down.
    Down,
    /// Sent, then lost (loss probability or silent failure).
    Lost,
}

/// One link.
#[derive(Clone, Debug)]
pub struct Link {
    params: LinkParams,
    up: bool,
    silent: [bool; 2],
    /// Incremented each time the carrier goes down; frames in flight carry it.
    epoch: u64,
    tx: [Transmitter; 2],
    rng: Rng,
}

impl Link {
    /// A link, carrier up.
    pub fn new(params: LinkParams, rng: Rng) -> Self {
        Link {
            params,
            up: true,
            silent: [false; 2],
            epoch: 0,
            tx: Default::default(),
            rng,
        }
    }

    /// Its parameters.
    pub fn params(&self) -> &LinkParams {
        &self.params
    }

    /// Carrier.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Whether direction `d` silently drops frames.
    pub fn is_silent(&self, d: Dir) -> bool {
        self.silent[d.index()]
    }

    /// The current carrier epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Counters of direction `d`.
    pub fn counters(&self, d: Dir) -> DirCounters {
        self.tx[d.index()].counters
    }

    /// Capacity in Mbit/s, as a NIC reports its speed.
    pub fn speed_mbps(&self) -> u32 {
        (self.params.rate_bps / 1e6)
            .round()
            .clamp(0.0, u32::MAX as f64) as u32
    }

    /// Sets the carrier. Going down loses every frame in flight and empties the queues.
    pub fn set_up(&mut self, up: bool, now: Instant) {
        if self.up && !up {
            self.epoch += 1;
            for t in &mut self.tx {
                t.counters.cut_in_flight += t.backlog.iter().filter(|&&f| f > now).count() as u64;
                t.backlog.clear();
                t.busy_until = now;
            }
        }
        self.up = up;
    }

    /// Makes direction `d` silent (carrier stays up, every frame is dropped) or heals it.
    pub fn set_silent(&mut self, d: Dir, silent: bool) {
        self.silent[d.index()] = silent;
    }

    /// Changes the parameters (takes effect for the next frame).
    pub fn set_params(&mut self, params: LinkParams) {
        self.params = params;
    }

    /// Counts a frame that was in flight when the carrier went down (its epoch is stale).
    pub fn count_cut(&mut self, d: Dir) {
        self.tx[d.index()].counters.cut_in_flight += 1;
    }

    /// Counts a frame that reached the far end.
    pub fn count_delivered(&mut self, d: Dir) {
        self.tx[d.index()].counters.delivered += 1;
    }

    /// Serialisation time of a frame of `len` bytes.
    pub fn serialisation(&self, len: usize) -> Duration {
        if self.params.rate_bps <= 0.0 {
            return Duration::ZERO;
        }
        let bits = ((len + WIRE_OVERHEAD) * 8) as f64;
        Duration::from_nanos((bits * 1e9 / self.params.rate_bps).round() as u64)
    }

    /// Hands a frame of `len` bytes to the transmitter of direction `d` at `now`.
    pub fn transmit(&mut self, now: Instant, d: Dir, len: usize) -> TxOutcome {
        if !self.up {
            self.tx[d.index()].counters.down_drops += 1;
            return TxOutcome::Down;
        }
        let ser = self.serialisation(len);
        let queue = self.params.queue.max(1);
        let t = &mut self.tx[d.index()];
        while t.backlog.front().is_some_and(|&f| f <= now) {
            t.backlog.pop_front();
        }
        if t.backlog.len() >= queue {
            t.counters.queue_drops += 1;
            return TxOutcome::QueueFull;
        }
        let start = t.busy_until.max(now);
        let finish = start + ser;
        t.busy_until = finish;
        t.backlog.push_back(finish);
        t.counters.sent += 1;
        if self.silent[d.index()] {
            t.counters.silent_drops += 1;
            return TxOutcome::Lost;
        }
        let loss = self.params.loss;
        if self.rng.chance(loss) {
            self.tx[d.index()].counters.lost += 1;
            return TxOutcome::Lost;
        }
        TxOutcome::Arrives(finish + self.params.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(loss: f64, queue: usize) -> Link {
        Link::new(
            LinkParams {
                rate_bps: 100e6,
                delay: Duration::from_micros(5),
                loss,
                queue,
            },
            Rng::new(1),
        )
    }

    #[test]
    fn serialisation_and_fifo() {
        let mut l = link(0.0, 10);
        // 1476 + 24 bytes = 12000 bits at 100 Mbit/s = 120 us
        assert_eq!(l.serialisation(1476), Duration::from_micros(120));
        let t0 = Instant::from_secs(1);
        assert_eq!(
            l.transmit(t0, Dir::AtoB, 1476),
            TxOutcome::Arrives(t0 + Duration::from_micros(125))
        );
        assert_eq!(
            l.transmit(t0, Dir::AtoB, 1476),
            TxOutcome::Arrives(t0 + Duration::from_micros(245))
        );
        // the other direction is independent
        assert_eq!(
            l.transmit(t0, Dir::BtoA, 1476),
            TxOutcome::Arrives(t0 + Duration::from_micros(125))
        );
    }

    #[test]
    fn tail_drop_when_queue_full() {
        let mut l = link(0.0, 3);
        let t0 = Instant::ZERO;
        let outcomes: Vec<_> = (0..5).map(|_| l.transmit(t0, Dir::AtoB, 1476)).collect();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == TxOutcome::QueueFull)
                .count(),
            2
        );
        assert_eq!(l.counters(Dir::AtoB).queue_drops, 2);
        // once the first has left the wire there is room again
        let later = t0 + Duration::from_micros(121);
        assert!(matches!(
            l.transmit(later, Dir::AtoB, 1476),
            TxOutcome::Arrives(_)
        ));
    }

    #[test]
    fn down_silent_and_loss() {
        let mut l = link(0.0, 10);
        l.transmit(Instant::ZERO, Dir::AtoB, 1000);
        l.set_up(false, Instant::ZERO);
        assert_eq!(l.counters(Dir::AtoB).cut_in_flight, 1);
        assert_eq!(l.epoch(), 1);
        assert_eq!(l.transmit(Instant::ZERO, Dir::AtoB, 100), TxOutcome::Down);
        l.set_up(true, Instant::ZERO);
        l.set_silent(Dir::BtoA, true);
        assert_eq!(l.transmit(Instant::ZERO, Dir::BtoA, 100), TxOutcome::Lost);
        assert!(matches!(
            l.transmit(Instant::ZERO, Dir::AtoB, 100),
            TxOutcome::Arrives(_)
        ));
        let mut lossy = link(0.5, 100_000);
        let lost = (0..10_000)
            .filter(|i| lossy.transmit(Instant::from_secs(*i), Dir::AtoB, 64) == TxOutcome::Lost)
            .count();
        assert!((4_500..5_500).contains(&lost), "{lost}");
    }
}
