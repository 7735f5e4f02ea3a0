//! Transmit jitter (RFC 5880 §6.8.7) from a seed the caller passes in: the core has no source
//! of randomness, so the same seed gives the same packet times (the simulator relies on it).

use lagd_types::Duration;

/// A splitmix64 sequence: a well-mixed 64-bit value per step from a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    /// The next value of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// `interval` reduced by a random 0-25 % (10-25 % when `detect_mult` is 1, so that a
    /// single late packet cannot exceed the peer's Detection Time), as §6.8.7 requires.
    pub fn apply(&mut self, interval: Duration, detect_mult: u8) -> Duration {
        let min_cut: u64 = if detect_mult == 1 { 1000 } else { 0 };
        // Basis points of reduction, in min_cut..=2500.
        let cut = min_cut + self.next_u64() % (2500 - min_cut + 1);
        let ns = interval.as_nanos();
        Duration::from_nanos(ns - (ns / 10_000) * cut)
    }
}

/// The splitmix64 finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_rfc_window_and_spread() {
        let iv = Duration::from_millis(100);
        let mut j = Jitter::new(42);
        let (mut lo, mut hi) = (iv, Duration::ZERO);
        for _ in 0..10_000 {
            let d = j.apply(iv, 3);
            assert!(d >= Duration::from_millis(75) && d <= iv, "{d}");
            lo = lo.min(d);
            hi = hi.max(d);
        }
        assert!(lo < Duration::from_millis(76) && hi > Duration::from_millis(99));
        for _ in 0..10_000 {
            let d = j.apply(iv, 1);
            assert!(
                d >= Duration::from_millis(75) && d <= Duration::from_millis(90),
                "{d}"
            );
        }
        // Deterministic from the seed.
        let (mut a, mut b) = (Jitter::new(7), Jitter::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Jitter::new(1).next_u64(), Jitter::new(2).next_u64());
    }
}
