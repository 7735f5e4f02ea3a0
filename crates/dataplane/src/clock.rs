//! The daemon's clock: `CLOCK_MONOTONIC` as a [`lagd_types::Instant`].

use lagd_types::Instant;

/// Now on `CLOCK_MONOTONIC` (nanoseconds since boot, not counting suspend), as an [`Instant`].
pub fn monotonic_now() -> Instant {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec the kernel fills; CLOCK_MONOTONIC always exists on Linux.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if r != 0 {
        return Instant::ZERO;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Instant::from_nanos(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_does_not_go_back() {
        let a = monotonic_now();
        let b = monotonic_now();
        assert!(a > Instant::ZERO);
        assert!(b >= a);
    }
}
