//! The times of the last frames sent on a port: the rate window behind the Transmit machine's
//! three LACPDUs per Fast_Periodic_Time (§6.4.16) and the Slow Protocols limit of ten frames per
//! second per port shared with the Marker protocol.

use lagd_types::{Duration, Instant};

/// The times of the last `N` frames sent on a port, oldest first (a rate window, kept inline:
/// no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SendTimes<const N: usize> {
    times: [Instant; N],
    len: usize,
}

impl<const N: usize> Default for SendTimes<N> {
    fn default() -> Self {
        SendTimes {
            times: [Instant::ZERO; N],
            len: 0,
        }
    }
}

impl<const N: usize> SendTimes<N> {
    /// Drops the entries older than `window` and returns when the next frame may go (at most
    /// `N` per `window`), `None` if it may go now.
    pub fn wait(&mut self, now: Instant, window: Duration) -> Option<Instant> {
        let len = self.len.min(N);
        let expired = self
            .times
            .get(..len)
            .map_or(0, |t| t.iter().take_while(|t| **t + window <= now).count());
        if expired > 0 {
            self.times.copy_within(expired..len, 0);
            self.len = len - expired;
        }
        if self.len < N {
            None
        } else {
            self.times.first().map(|t| *t + window)
        }
    }

    /// Records a frame sent at `now`, forgetting the oldest beyond `N`.
    pub fn record(&mut self, now: Instant) {
        let len = self.len.min(N);
        if len == N {
            self.times.copy_within(1.., 0);
            if let Some(last) = self.times.last_mut() {
                *last = now;
            }
        } else if let Some(slot) = self.times.get_mut(len) {
            *slot = now;
            self.len = len + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timers::{FAST_PERIODIC_TIME, SLOW_WINDOW};

    #[test]
    fn window_allows_three_per_second() {
        let mut q = SendTimes::<3>::default();
        let t0 = Instant::from_secs(10);
        for i in 0..3 {
            let now = t0 + Duration::from_millis(i * 10);
            assert_eq!(q.wait(now, FAST_PERIODIC_TIME), None);
            q.record(now);
        }
        assert_eq!(
            q.wait(t0 + Duration::from_millis(30), FAST_PERIODIC_TIME),
            Some(t0 + FAST_PERIODIC_TIME)
        );
        assert_eq!(q.wait(t0 + FAST_PERIODIC_TIME, FAST_PERIODIC_TIME), None);
        // The first one left the window; the next slot frees when the second one leaves.
        q.record(t0 + FAST_PERIODIC_TIME);
        assert_eq!(
            q.wait(t0 + FAST_PERIODIC_TIME, FAST_PERIODIC_TIME),
            Some(t0 + Duration::from_millis(10) + FAST_PERIODIC_TIME)
        );
    }

    #[test]
    fn window_forgets_everything_after_a_quiet_period() {
        let mut q = SendTimes::<10>::default();
        let t0 = Instant::from_secs(1);
        for i in 0..25 {
            q.record(t0 + Duration::from_millis(i));
        }
        assert_eq!(
            q.wait(t0 + Duration::from_millis(30), SLOW_WINDOW),
            Some(t0 + Duration::from_millis(15) + SLOW_WINDOW)
        );
        assert_eq!(q.wait(t0 + Duration::from_secs(5), SLOW_WINDOW), None);
        assert_eq!(q.len, 0);
    }
}
