//! Bounded polling.

use crate::error::{Error, Result};
use std::time::{Duration, Instant};

/// Calls `probe` every `every` until it returns `Ok(Some(v))`, for at most `timeout`.
/// `Ok(None)` means "not yet"; the `String` in `Err` describes the last state and ends up in the
/// [`Error::Timeout`]. A probe error (`Err(Error)`) is returned at once.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Result<std::result::Result<T, String>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let last = match probe()? {
            Ok(v) => return Ok(v),
            Err(state) => state,
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_string(),
                after: timeout,
                detail: last,
            });
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_returns_value_or_times_out_with_last_state() {
        let mut n = 0;
        let v = until(
            "n to reach 3",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                Ok(if n >= 3 {
                    Ok(n)
                } else {
                    Err(format!("n = {n}"))
                })
            },
        );
        assert_eq!(v.ok(), Some(3));
        let e = until::<()>(
            "never",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || Ok(Err("still nothing".into())),
        );
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("never") && msg.contains("still nothing"),
            "{msg}"
        );
    }
}
