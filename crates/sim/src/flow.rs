//! Per-flow receive accounting: loss, duplicates, reordering and the largest gap between two
//! arrivals, from the sequence numbers the sender puts in every frame.

use lagd_types::{Duration, Instant};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the receiver of one flow observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowReceiver {
    /// Next in-order sequence number expected (one past the highest seen).
    next: u64,
    /// Missing sequence numbers below `next`: start -> end (exclusive).
    missing: BTreeMap<u64, u64>,
    /// Frames received (including duplicates).
    pub received: u64,
    /// Frames whose sequence number was already received.
    pub duplicates: u64,
    /// Frames that arrived after a frame with a higher sequence number (filled a gap).
    pub reordered: u64,
    /// Arrival time of the first frame.
    pub first: Option<Instant>,
    /// Arrival time of the latest frame.
    pub last: Option<Instant>,
    /// Largest time between two consecutive arrivals.
    pub max_gap: Duration,
    /// When the largest gap ended.
    pub max_gap_at: Option<Instant>,
}

impl FlowReceiver {
    /// Records the arrival of `seq` at `now`.
    pub fn receive(&mut self, now: Instant, seq: u64) {
        self.received += 1;
        if let Some(last) = self.last {
            let gap = now - last;
            if gap > self.max_gap {
                self.max_gap = gap;
                self.max_gap_at = Some(now);
            }
        } else {
            self.first = Some(now);
        }
        self.last = Some(now);
        if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.missing.insert(self.next, seq);
            self.next = seq + 1;
        } else {
            // Below `next`: either fills a gap (late, i.e. reordered) or is a duplicate.
            let range = self
                .missing
                .range(..=seq)
                .next_back()
                .map(|(&s, &e)| (s, e));
            match range {
                Some((s, e)) if seq < e => {
                    self.reordered += 1;
                    self.missing.remove(&s);
                    if s < seq {
                        self.missing.insert(s, seq);
                    }
                    if seq + 1 < e {
                        self.missing.insert(seq + 1, e);
                    }
                }
                _ => self.duplicates += 1,
            }
        }
    }

    /// Distinct sequence numbers received.
    pub fn unique(&self) -> u64 {
        self.received - self.duplicates
    }

    /// Sequence numbers below the highest received that never arrived.
    pub fn holes(&self) -> u64 {
        self.missing.iter().map(|(s, e)| e - s).sum()
    }

    /// Distinct sequence numbers in `[a, b)` received so far.
    pub fn received_between(&self, a: u64, b: u64) -> u64 {
        let hi = b.min(self.next);
        if hi <= a {
            return 0;
        }
        let holes: u64 = self
            .missing
            .iter()
            .map(|(&s, &e)| e.min(hi).saturating_sub(s.max(a)))
            .sum();
        (hi - a) - holes
    }

    /// Frames lost out of `sent`.
    pub fn lost(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.unique())
    }
}

/// Final figures of one flow, for the summary and JSON output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowSummary {
    /// Flow name.
    pub name: String,
    /// Sending node.
    pub from: String,
    /// Receiving node.
    pub to: String,
    /// Frames sent.
    pub sent: u64,
    /// Distinct frames received.
    pub received: u64,
    /// Frames lost.
    pub lost: u64,
    /// Duplicates received.
    pub duplicates: u64,
    /// Frames received out of order.
    pub reordered: u64,
    /// Largest inter-arrival time, in milliseconds.
    pub max_gap_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn in_order_no_loss() {
        let mut r = FlowReceiver::default();
        for s in 0..10 {
            r.receive(t(s * 10), s);
        }
        assert_eq!(
            (r.unique(), r.lost(10), r.reordered, r.duplicates),
            (10, 0, 0, 0)
        );
        assert_eq!(r.max_gap, Duration::from_millis(10));
    }

    #[test]
    fn loss_reorder_duplicate_and_gap() {
        let mut r = FlowReceiver::default();
        for (i, s) in [0u64, 1, 4, 2, 2, 6, 3].into_iter().enumerate() {
            r.receive(t(i as u64), s);
        }
        r.receive(t(100), 7);
        // sent 0..=7: 5 never arrived
        assert_eq!(r.lost(8), 1);
        assert_eq!(r.holes(), 1);
        assert_eq!(r.reordered, 2); // 2 and 3 arrived after 4
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.max_gap, Duration::from_millis(94));
        assert_eq!(r.max_gap_at, Some(t(100)));
        assert_eq!(r.received_between(0, 8), 7);
        assert_eq!(r.received_between(5, 6), 0);
        assert_eq!(r.received_between(4, 100), 3);
        assert_eq!(r.received_between(9, 10), 0);
    }
}
