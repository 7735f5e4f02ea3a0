//! Ctrl-C (SIGINT) and SIGTERM during the demo: they set a flag that every wait of the demo
//! checks, so it stops early and still removes everything it built.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag raised by SIGINT or SIGTERM.
#[derive(Clone, Debug)]
pub struct Interrupt(Arc<AtomicBool>);

/// The demo was interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

impl Interrupt {
    /// Installs the handlers (through `signal-hook`, which owns the async-signal-safe part).
    /// When they cannot be installed, the flag simply never rises.
    pub fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
        Interrupt(flag)
    }

    /// A flag that only [`Interrupt::raise`] raises (tests).
    #[cfg(test)]
    pub fn manual() -> Interrupt {
        Interrupt(Arc::new(AtomicBool::new(false)))
    }

    /// Raises the flag.
    #[cfg(test)]
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a signal arrived.
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Interrupted)` once a signal arrived.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.raised() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }

    /// Sleeps `d` in small steps; `Err` as soon as a signal arrives.
    pub fn sleep(&self, d: std::time::Duration) -> Result<(), Interrupted> {
        let end = std::time::Instant::now() + d;
        loop {
            self.check()?;
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(std::time::Duration::from_millis(20)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sleep_stops_when_raised() {
        let i = Interrupt::manual();
        assert!(i.sleep(Duration::from_millis(1)).is_ok());
        i.raise();
        assert!(i.raised());
        assert!(i.sleep(Duration::from_secs(3600)).is_err());
        assert!(i.check().is_err());
    }
}
