//! Accounting of one received UDP stream: received, lost, duplicated, reordered datagrams and
//! the largest gap of the receive timeline (pure: arrival times are passed in).

use std::fmt;
use std::time::Duration;

/// Highest sequence number tracked for duplicate detection (8 MiB of bitmap); datagrams beyond
/// it are counted as [`StreamReport::foreign`].
pub const MAX_TRACKED_SEQ: u64 = 1 << 26;

/// Running accounting of one stream.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    stream_id: u32,
    seen: Vec<u64>,
    max_seq: Option<u64>,
    total_hint: u64,
    received: u64,
    unique: u64,
    duplicated: u64,
    reordered: u64,
    foreign: u64,
    first_rx_ns: Option<u64>,
    last_rx_ns: Option<u64>,
    last_seq: u64,
    max_gap_ns: u64,
    max_gap_start_ns: u64,
    max_gap_after_seq: u64,
    max_gap_resumed_seq: u64,
    min_latency_ns: Option<u64>,
    max_latency_ns: u64,
}

/// The outcome of a received stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReport {
    /// The stream.
    pub stream_id: u32,
    /// Datagrams the sender meant to send (its announced total, or the highest sequence number
    /// seen + 1 when it announced none). If the sender stopped early (its time bound), compare
    /// with its [`crate::SendReport::sent`].
    pub expected: u64,
    /// Datagrams of the stream received, duplicates included.
    pub received: u64,
    /// Distinct sequence numbers received.
    pub unique: u64,
    /// `expected - unique`.
    pub lost: u64,
    /// Datagrams whose sequence number had been received before.
    pub duplicated: u64,
    /// Datagrams that arrived after one with a higher sequence number.
    pub reordered: u64,
    /// Datagrams of other streams, malformed, or beyond [`MAX_TRACKED_SEQ`].
    pub foreign: u64,
    /// Arrival of the first datagram (`CLOCK_MONOTONIC` ns), if any arrived.
    pub first_rx_ns: Option<u64>,
    /// Arrival of the last datagram.
    pub last_rx_ns: Option<u64>,
    /// Largest time between two consecutive arrivals: the failover gap.
    pub max_gap: Duration,
    /// When that gap started: arrival of the datagram before it (`CLOCK_MONOTONIC` ns).
    pub max_gap_start_ns: u64,
    /// When that gap started, from the first arrival.
    pub max_gap_start: Duration,
    /// Sequence number of the datagram that arrived just before the gap.
    pub max_gap_after_seq: u64,
    /// Sequence number of the datagram that ended the gap.
    pub max_gap_resumed_seq: u64,
    /// Smallest one-way delay seen (send timestamp to arrival).
    pub min_latency: Duration,
    /// Largest one-way delay seen.
    pub max_latency: Duration,
}

impl StreamStats {
    /// Empty accounting for stream `stream_id`.
    pub fn new(stream_id: u32) -> StreamStats {
        StreamStats {
            stream_id,
            ..StreamStats::default()
        }
    }

    /// Whether every announced datagram has arrived.
    pub fn complete(&self) -> bool {
        self.total_hint > 0 && self.unique >= self.total_hint
    }

    /// Whether the datagram with the last announced sequence number has arrived.
    pub fn saw_last(&self) -> bool {
        self.total_hint > 0 && self.max_seq.is_some_and(|m| m + 1 >= self.total_hint)
    }

    /// Counts a datagram that is not part of this stream.
    pub fn record_foreign(&mut self) {
        self.foreign += 1;
    }

    /// Accounts datagram `seq` of a stream announcing `total` datagrams, sent at `sent_ns` and
    /// received at `rx_ns` (both `CLOCK_MONOTONIC` ns).
    pub fn record(&mut self, seq: u64, total: u64, sent_ns: u64, rx_ns: u64) {
        if seq >= MAX_TRACKED_SEQ {
            self.foreign += 1;
            return;
        }
        self.received += 1;
        self.total_hint = self.total_hint.max(total.min(MAX_TRACKED_SEQ));
        if let Some(prev) = self.last_rx_ns {
            let gap = rx_ns.saturating_sub(prev);
            if gap > self.max_gap_ns {
                self.max_gap_ns = gap;
                self.max_gap_start_ns = prev;
                self.max_gap_after_seq = self.last_seq;
                self.max_gap_resumed_seq = seq;
            }
        } else {
            self.first_rx_ns = Some(rx_ns);
        }
        self.last_rx_ns = Some(rx_ns.max(self.last_rx_ns.unwrap_or(0)));
        self.last_seq = seq;
        let lat = rx_ns.saturating_sub(sent_ns);
        self.min_latency_ns = Some(self.min_latency_ns.map_or(lat, |m| m.min(lat)));
        self.max_latency_ns = self.max_latency_ns.max(lat);

        if self.mark_seen(seq) {
            self.duplicated += 1;
            return;
        }
        self.unique += 1;
        match self.max_seq {
            Some(m) if seq < m => self.reordered += 1,
            _ => self.max_seq = Some(seq),
        }
    }

    /// Sets the bit of `seq`; whether it was already set.
    fn mark_seen(&mut self, seq: u64) -> bool {
        let word = usize::try_from(seq / 64).unwrap_or(usize::MAX);
        let bit = 1u64 << (seq % 64);
        if word >= self.seen.len() {
            let want = word
                .saturating_add(1)
                .max(self.seen.len().saturating_mul(2));
            self.seen.resize(want, 0);
        }
        match self.seen.get_mut(word) {
            Some(w) => {
                let was = *w & bit != 0;
                *w |= bit;
                was
            }
            None => false,
        }
    }

    /// The report so far.
    pub fn report(&self) -> StreamReport {
        let expected = self
            .total_hint
            .max(self.max_seq.map_or(0, |m| m.saturating_add(1)));
        let first = self.first_rx_ns.unwrap_or(0);
        StreamReport {
            stream_id: self.stream_id,
            expected,
            received: self.received,
            unique: self.unique,
            lost: expected.saturating_sub(self.unique),
            duplicated: self.duplicated,
            reordered: self.reordered,
            foreign: self.foreign,
            first_rx_ns: self.first_rx_ns,
            last_rx_ns: self.last_rx_ns,
            max_gap: Duration::from_nanos(self.max_gap_ns),
            max_gap_start_ns: self.max_gap_start_ns,
            max_gap_start: Duration::from_nanos(self.max_gap_start_ns.saturating_sub(first)),
            max_gap_after_seq: self.max_gap_after_seq,
            max_gap_resumed_seq: self.max_gap_resumed_seq,
            min_latency: Duration::from_nanos(self.min_latency_ns.unwrap_or(0)),
            max_latency: Duration::from_nanos(self.max_latency_ns),
        }
    }
}

impl fmt::Display for StreamReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stream {}: expected {} received {} lost {} dup {} reordered {} foreign {}; \
             max gap {:.1} ms at +{:.3} s (after seq {}, resumed at seq {}); latency {:.3}..{:.3} ms",
            self.stream_id,
            self.expected,
            self.received,
            self.lost,
            self.duplicated,
            self.reordered,
            self.foreign,
            self.max_gap.as_secs_f64() * 1e3,
            self.max_gap_start.as_secs_f64(),
            self.max_gap_after_seq,
            self.max_gap_resumed_seq,
            self.min_latency.as_secs_f64() * 1e3,
            self.max_latency.as_secs_f64() * 1e3,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn feed(seqs: &[u64], total: u64) -> StreamReport {
        let mut s = StreamStats::new(3);
        for (i, &seq) in seqs.iter().enumerate() {
            let t = (i as u64 + 1) * MS;
            s.record(seq, total, t - MS / 2, t);
        }
        s.report()
    }

    #[test]
    fn clean_stream_has_no_loss() {
        let r = feed(&[0, 1, 2, 3, 4], 5);
        assert_eq!(
            (
                r.expected,
                r.received,
                r.unique,
                r.lost,
                r.duplicated,
                r.reordered
            ),
            (5, 5, 5, 0, 0, 0)
        );
        assert_eq!(r.max_gap, Duration::from_millis(1));
        assert_eq!(r.min_latency, Duration::from_micros(500));
    }

    #[test]
    fn loss_dup_and_reorder_are_counted() {
        // 2 lost, 1 duplicated, 4 arrives after 5.
        let r = feed(&[0, 1, 1, 3, 5, 4, 7], 8);
        assert_eq!(r.lost, 2, "{r}");
        assert_eq!(r.duplicated, 1, "{r}");
        assert_eq!(r.reordered, 1, "{r}");
        assert_eq!(r.received, 7);
        assert_eq!(r.unique, 6);
    }

    #[test]
    fn largest_gap_and_its_start_are_found() {
        let mut s = StreamStats::new(1);
        s.record(0, 4, 0, 10 * MS);
        s.record(1, 4, 0, 11 * MS);
        s.record(2, 4, 0, 111 * MS);
        s.record(3, 4, 0, 112 * MS);
        let r = s.report();
        assert_eq!(r.max_gap, Duration::from_millis(100));
        assert_eq!(r.max_gap_start_ns, 11 * MS);
        assert_eq!(r.max_gap_start, Duration::from_millis(1));
        assert_eq!((r.max_gap_after_seq, r.max_gap_resumed_seq), (1, 2));
        assert!(s.complete() && s.saw_last());
    }

    #[test]
    fn tail_loss_counts_against_announced_total() {
        let r = feed(&[0, 1, 2], 10);
        assert_eq!((r.expected, r.lost), (10, 7));
        let r = feed(&[0, 1, 2], 0);
        assert_eq!((r.expected, r.lost), (3, 0));
    }

    #[test]
    fn out_of_range_sequence_is_foreign() {
        let mut s = StreamStats::new(1);
        s.record(MAX_TRACKED_SEQ, 0, 0, 1);
        s.record_foreign();
        let r = s.report();
        assert_eq!((r.foreign, r.received, r.expected), (2, 0, 0));
    }
}
