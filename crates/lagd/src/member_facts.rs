//! What the kernel says of a member beyond its carrier: whether its interface still exists,
//! its MTU, and its drop counters lately (sampled every few seconds, so that diagnosis speaks of
//! the last minute and not of the interface's lifetime).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often the counters are sampled.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How far back "lately" reaches.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Drop counters of one interface (`/sys/class/net/NAME/statistics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DropCounters {
    /// Frames dropped on transmit (a veth drops frames larger than its peer's MTU here).
    pub tx_dropped: u64,
    /// Frames received too long or malformed: length, over-size and frame errors.
    pub rx_errors: u64,
}

impl DropCounters {
    /// Reads the counters of interface `name`; `None` when it does not exist.
    pub(crate) fn read(name: &str) -> Option<DropCounters> {
        let stat = |f: &str| -> Option<u64> {
            std::fs::read_to_string(format!("/sys/class/net/{name}/statistics/{f}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(DropCounters {
            tx_dropped: stat("tx_dropped")?,
            rx_errors: stat("rx_length_errors").unwrap_or(0)
                + stat("rx_over_errors").unwrap_or(0)
                + stat("rx_frame_errors").unwrap_or(0),
        })
    }

    fn since(&self, earlier: &DropCounters) -> DropCounters {
        DropCounters {
            tx_dropped: self.tx_dropped.saturating_sub(earlier.tx_dropped),
            rx_errors: self.rx_errors.saturating_sub(earlier.rx_errors),
        }
    }
}

/// Samples of a member's drop counters over the last [`WINDOW`].
#[derive(Debug, Default)]
pub(crate) struct DropHistory {
    samples: VecDeque<(Instant, DropCounters)>,
}

impl DropHistory {
    /// Samples member `name` if the last sample is [`SAMPLE_EVERY`] old (or there is none).
    pub(crate) fn sample(&mut self, name: &str, now: Instant) {
        if self
            .samples
            .back()
            .is_some_and(|(t, _)| now.duration_since(*t) < SAMPLE_EVERY)
        {
            return;
        }
        if let Some(c) = DropCounters::read(name) {
            self.samples.push_back((now, c));
        }
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// The drops since the oldest sample, and how many seconds that covers.
    pub(crate) fn recent(&self, name: &str, now: Instant) -> Option<(DropCounters, u64)> {
        let (t, base) = self.samples.front()?;
        let current = DropCounters::read(name)?;
        Some((current.since(base), now.duration_since(*t).as_secs()))
    }
}

/// Whether interface `name` still exists as the interface `ifindex` lagd took over (a
/// deleted one is gone; one re-created under the same name has another index).
pub(crate) fn exists(name: &str, ifindex: u32) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        == Some(ifindex)
}

/// The MTU of interface `name`.
pub(crate) fn mtu(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_read_and_a_missing_interface_is_not() {
        assert!(DropCounters::read("lo").is_some());
        assert!(DropCounters::read("no-such-if0").is_none());
        assert!(!exists("no-such-if0", 1));
        assert!(mtu("lo").is_some());
        let mut h = DropHistory::default();
        let t = Instant::now();
        h.sample("lo", t);
        h.sample("lo", t);
        assert_eq!(h.samples.len(), 1);
        let (d, _) = h.recent("lo", t).unwrap();
        assert_eq!(d.tx_dropped, 0);
    }
}
