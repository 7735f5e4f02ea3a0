//! The DT epoch of this start: 64 random bits, never 0. The peer's replay protection rests on
//! an epoch never coming back (docs/DT.md, "Replay protection"), so it is drawn from the
//! kernel's random source; if that cannot be read, the boot time in nanoseconds, the process
//! id and the address of a stack variable are mixed instead (unique per start in practice).

use std::io::Read;

/// Draws the epoch.
pub(crate) fn draw() -> u64 {
    let mut b = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    let v = match random {
        Ok(()) => u64::from_ne_bytes(b),
        Err(e) => {
            tracing::warn!("DT: /dev/urandom: {e}; the epoch is derived from the clock");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            let local = 0u8;
            now ^ u64::from(std::process::id()).rotate_left(32)
                ^ (std::ptr::addr_of!(local) as usize as u64).rotate_left(17)
        }
    };
    v.max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn epochs_differ_and_are_never_zero() {
        let (a, b) = (super::draw(), super::draw());
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
