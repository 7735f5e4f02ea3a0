//! Rate limiting of log lines and recorded events, so that a flood of frames (refused,
//! malformed, forged) cannot flood the log or wipe the event history. Counting is not limited:
//! the protocol counters stay exact; only the words about each frame are.
//!
//! Per key (a port and an event kind), at most [`BURST`] events per `WINDOW_NS` are logged and
//! recorded; the rest are counted, and once the window is over one summary says how many were
//! left out, with the first of them as a sample.

use std::collections::HashMap;
use std::hash::Hash;

/// Events of one key logged per window.
pub const BURST: u32 = 20;
/// The window, in nanoseconds (10 s).
pub(crate) const WINDOW_NS: u64 = 10_000_000_000;

#[derive(Debug)]
struct Window {
    start: u64,
    admitted: u32,
    suppressed: u64,
    sample: Option<String>,
}

/// What was left out of one key's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suppressed<K> {
    /// The key.
    pub key: K,
    /// How many events were left out.
    pub count: u64,
    /// The first one left out.
    pub sample: String,
}

/// The limiter; `K` identifies a stream of similar events.
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    windows: HashMap<K, Window>,
    burst: u32,
    window_ns: u64,
}

impl<K: Hash + Eq + Clone> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter::new(BURST, WINDOW_NS)
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// At most `burst` events per key per `window_ns`.
    pub(crate) fn new(burst: u32, window_ns: u64) -> Self {
        RateLimiter {
            windows: HashMap::new(),
            burst,
            window_ns,
        }
    }

    /// Whether the event (`message`, key `key`, at `now_ns`) may be logged and recorded. A
    /// refused one is counted for the summary ([`RateLimiter::flush`]).
    pub(crate) fn admit(&mut self, now_ns: u64, key: &K, message: &str) -> bool {
        let w = self.windows.entry(key.clone()).or_insert(Window {
            start: now_ns,
            admitted: 0,
            suppressed: 0,
            sample: None,
        });
        if now_ns.saturating_sub(w.start) >= self.window_ns && w.suppressed == 0 {
            // A new window (a window with suppressed events waits for its summary).
            w.start = now_ns;
            w.admitted = 0;
        }
        if w.admitted < self.burst {
            w.admitted += 1;
            true
        } else {
            w.suppressed += 1;
            if w.sample.is_none() {
                w.sample = Some(message.to_string());
            }
            false
        }
    }

    /// The summaries of the windows that are over and left events out; forgets idle keys.
    pub(crate) fn flush(&mut self, now_ns: u64) -> Vec<Suppressed<K>> {
        let mut out = Vec::new();
        let window = self.window_ns;
        self.windows.retain(|key, w| {
            let age = now_ns.saturating_sub(w.start);
            if age < window {
                return true;
            }
            if w.suppressed > 0 {
                out.push(Suppressed {
                    key: key.clone(),
                    count: w.suppressed,
                    sample: w.sample.take().unwrap_or_default(),
                });
                // The next window starts now, already counting as busy: a flood that goes on
                // is summarised once per window, never logged in bursts again.
                w.start = now_ns;
                w.admitted = 0;
                w.suppressed = 0;
                return true;
            }
            age < 2 * window
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_summarises_once_per_window() {
        let mut r: RateLimiter<u8> = RateLimiter::new(3, 100);
        let admitted = (0..10)
            .filter(|i| r.admit(*i, &1, &format!("m{i}")))
            .count();
        assert_eq!(admitted, 3);
        assert!(r.admit(5, &2, "other key"), "keys are independent");
        assert!(r.flush(50).is_empty(), "window not over");
        let s = r.flush(100);
        assert_eq!(
            s,
            vec![Suppressed {
                key: 1,
                count: 7,
                sample: "m3".into()
            }]
        );
        // The next window admits a burst again.
        assert!(r.admit(101, &1, "again"));
        // Idle keys are forgotten after two windows.
        assert!(r.flush(400).is_empty());
        assert!(r.windows.is_empty());
    }

    #[test]
    fn a_flood_gives_bounded_output() {
        let mut r: RateLimiter<u8> = RateLimiter::new(20, 10_000);
        let mut lines = 0;
        for t in 0..1_000_000u64 {
            if r.admit(t, &0, "x") {
                lines += 1;
            }
            if t % 1000 == 0 {
                lines += r.flush(t).len();
            }
        }
        // 100 windows: at most 20 admitted + 1 summary each.
        assert!(lines <= 100 * 21, "{lines}");
    }
}
