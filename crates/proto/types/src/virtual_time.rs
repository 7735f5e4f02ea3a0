//! The drive loop of a test harness in virtual time, shared by the cores' harnesses
//! (`lagd_lacp::testing::Harness`, `lagd_dt::testing::Pair`): drain what the cores want to
//! send, jump to the next instant something happens (a frame arrives, a timer is due), deliver
//! and fire what is due, and again, until a time or a condition.

use crate::{Duration, Instant};

/// Steps allowed at one instant before the loop declares a livelock.
pub const MAX_STEPS_PER_INSTANT: usize = 10_000;

/// Cores and the links between them, in virtual time: what [`run_until`] drives.
pub trait VirtualTime {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Moves the clock to `now` (never backwards: the loop only moves it forward).
    fn set_now(&mut self, now: Instant);
    /// Takes every core's output: frames onto the links, events into the log.
    fn drain(&mut self);
    /// The next instant something happens (a frame arrives, a timer is due), if any.
    fn next_time(&self) -> Option<Instant>;
    /// Delivers the frames due at `now` and fires the timers due.
    fn step(&mut self, now: Instant);
}

/// Runs `h` until `until`: frames and timers in time order; panics on a livelock (more than
/// [`MAX_STEPS_PER_INSTANT`] steps at one instant).
pub fn run_until<H: VirtualTime + ?Sized>(h: &mut H, until: Instant) {
    let mut steps = 0;
    let mut last = h.now();
    loop {
        h.drain();
        let Some(next) = h.next_time() else { break };
        if next > until {
            break;
        }
        let now = h.now().max(next);
        h.set_now(now);
        if now == last {
            steps += 1;
            assert!(
                steps < MAX_STEPS_PER_INSTANT,
                "livelock: {steps} steps at {now}"
            );
        } else {
            steps = 0;
            last = now;
        }
        h.step(now);
    }
    let now = h.now().max(until);
    h.set_now(now);
    h.drain();
}

/// Runs `h` until `cond` holds, checking after every step, for at most `limit`; returns the
/// instant it first held, `None` if it never did.
pub fn run_until_cond<H: VirtualTime + ?Sized>(
    h: &mut H,
    limit: Duration,
    mut cond: impl FnMut(&H) -> bool,
) -> Option<Instant> {
    let end = h.now() + limit;
    loop {
        if cond(h) {
            return Some(h.now());
        }
        if h.now() >= end {
            return None;
        }
        let next = h.next_time().unwrap_or(end).min(end).max(h.now());
        run_until(h, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timer every 10 ms and a counter.
    struct Ticker {
        now: Instant,
        next: Instant,
        ticks: u32,
        drains: u32,
    }

    impl VirtualTime for Ticker {
        fn now(&self) -> Instant {
            self.now
        }
        fn set_now(&mut self, now: Instant) {
            self.now = now;
        }
        fn drain(&mut self) {
            self.drains += 1;
        }
        fn next_time(&self) -> Option<Instant> {
            Some(self.next)
        }
        fn step(&mut self, now: Instant) {
            if self.next <= now {
                self.ticks += 1;
                self.next = now + Duration::from_millis(10);
            }
        }
    }

    fn ticker() -> Ticker {
        Ticker {
            now: Instant::ZERO,
            next: Instant::from_millis(10),
            ticks: 0,
            drains: 0,
        }
    }

    #[test]
    fn timers_fire_in_order_until_the_end() {
        let mut t = ticker();
        run_until(&mut t, Instant::from_millis(55));
        assert_eq!((t.ticks, t.now), (5, Instant::from_millis(55)));
        let at = run_until_cond(&mut t, Duration::from_secs(1), |t| t.ticks == 8);
        assert_eq!(at, Some(Instant::from_millis(80)));
        assert_eq!(
            run_until_cond(&mut t, Duration::from_millis(5), |_| false),
            None
        );
        assert_eq!(t.now, Instant::from_millis(85));
    }

    #[test]
    #[should_panic(expected = "livelock")]
    fn a_core_that_never_moves_on_is_a_livelock() {
        struct Stuck(Instant);
        impl VirtualTime for Stuck {
            fn now(&self) -> Instant {
                self.0
            }
            fn set_now(&mut self, now: Instant) {
                self.0 = now;
            }
            fn drain(&mut self) {}
            fn next_time(&self) -> Option<Instant> {
                Some(Instant::ZERO)
            }
            fn step(&mut self, _: Instant) {}
        }
        run_until(&mut Stuck(Instant::ZERO), Instant::from_secs(1));
    }
}
