//! The configuration of a session: the intervals and multiplier of RFC 5880 §6.8.1.

use lagd_types::Duration;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The interval a session transmits at, at least, while it is not Up (RFC 5880 §6.8.3:
/// bfd.DesiredMinTxInterval MUST NOT be below one second then).
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest interval accepted in a configuration.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// The longest interval accepted in a configuration.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// The interval when none is configured.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);
/// The multiplier when none is configured.
pub const DEFAULT_DETECT_MULT: u8 = 3;

/// The configured timing of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BfdConfig {
    /// bfd.DesiredMinTxInterval once Up: how often we would like to send.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval: the shortest interval between received packets we accept.
    pub required_min_rx: Duration,
    /// bfd.DetectMult: the peer declares us down after this many intervals of silence.
    pub detect_mult: u8,
}

impl Default for BfdConfig {
    fn default() -> Self {
        BfdConfig::new(DEFAULT_INTERVAL, DEFAULT_DETECT_MULT)
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BfdConfigError {
    /// An interval outside [`MIN_INTERVAL`]..=[`MAX_INTERVAL`].
    #[error("BFD interval {0} out of range: it must be between 1ms and 60s")]
    Interval(Duration),
    /// A multiplier of zero.
    #[error("BFD multiplier must be between 1 and 255")]
    ZeroMultiplier,
}

impl BfdConfig {
    /// Sends and accepts one packet every `interval`; the peer is declared down after
    /// `multiplier` intervals of silence.
    pub const fn new(interval: Duration, multiplier: u8) -> BfdConfig {
        BfdConfig {
            desired_min_tx: interval,
            required_min_rx: interval,
            detect_mult: multiplier,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), BfdConfigError> {
        for i in [self.desired_min_tx, self.required_min_rx] {
            if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&i) {
                return Err(BfdConfigError::Interval(i));
            }
        }
        if self.detect_mult == 0 {
            return Err(BfdConfigError::ZeroMultiplier);
        }
        Ok(())
    }

    /// The time the peer takes to declare a silent link down once the session is Up with
    /// these values on both sides: multiplier × interval.
    pub fn detection_time(&self) -> Duration {
        self.desired_min_tx
            .max(self.required_min_rx)
            .saturating_mul(u64::from(self.detect_mult))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(BfdConfig::default().validate().is_ok());
        assert_eq!(
            BfdConfig::default().detection_time(),
            Duration::from_millis(150)
        );
        assert_eq!(
            BfdConfig::new(Duration::from_micros(999), 3).validate(),
            Err(BfdConfigError::Interval(Duration::from_micros(999)))
        );
        assert!(BfdConfig::new(MIN_INTERVAL, 1).validate().is_ok());
        assert!(BfdConfig::new(MAX_INTERVAL, 255).validate().is_ok());
        assert!(
            BfdConfig::new(MAX_INTERVAL + Duration::from_nanos(1), 3)
                .validate()
                .is_err()
        );
        assert_eq!(
            BfdConfig::new(DEFAULT_INTERVAL, 0).validate(),
            Err(BfdConfigError::ZeroMultiplier)
        );
        let mut c = BfdConfig {
            required_min_rx: Duration::ZERO,
            ..BfdConfig::default()
        };
        assert!(c.validate().is_err());
        c.required_min_rx = Duration::from_millis(200);
        assert_eq!(c.detection_time(), Duration::from_millis(600));
    }
}
