//! The clock of stream timestamps: `CLOCK_MONOTONIC` in nanoseconds, shared by every network
//! namespace of the host, so a sender's and a receiver's timestamps are comparable.

/// Now on `CLOCK_MONOTONIC`, in nanoseconds.
pub fn now_ns() -> u64 {
    lagd_dataplane::monotonic_now().as_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_forward() {
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = now_ns();
        assert!(a > 0);
        assert!(b > a);
    }
}
