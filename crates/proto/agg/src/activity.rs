//! What each member heard lately: the arrival times of its last LACPDUs, and what the
//! partner's last LACPDU said about itself. Kept for every member whatever the LACP mode (a
//! static trunk's LACP ignores LACPDUs, but that they arrive is the evidence that the partner
//! runs LACP), so that diagnosis speaks of the last seconds and not of lifetime totals.

use std::collections::VecDeque;

use lagd_types::{Duration, Instant, PortNumber};
use lagd_wire::LacpInfo;
use serde::Serialize;

/// How many arrival times are kept per member.
pub const KEPT_ARRIVALS: usize = 8;

/// The longest an LACP partner stays silent while alive: three slow periodic intervals
/// (§6.4.4: Long_Timeout_Time, 90 s). A LACPDU older than this is no evidence of anything now.
pub const RECENT: Duration = Duration::from_secs(90);

/// What one member heard lately.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PortActivity {
    /// The member's port number.
    pub port: PortNumber,
    /// When its last LACPDUs arrived, oldest first (at most [`KEPT_ARRIVALS`]).
    pub lacpdu_arrivals: VecDeque<Instant>,
    /// The Actor information of the last LACPDU received: what the partner says about itself
    /// (its activity, timeout, synchronization, collecting and distributing).
    pub partner_said: Option<LacpInfo>,
}

impl PortActivity {
    /// No LACPDU yet.
    pub fn new(port: PortNumber) -> Self {
        PortActivity {
            port,
            ..PortActivity::default()
        }
    }

    /// A LACPDU carrying `actor` arrived at `now`.
    pub fn record(&mut self, now: Instant, actor: LacpInfo) {
        if self.lacpdu_arrivals.len() == KEPT_ARRIVALS {
            self.lacpdu_arrivals.pop_front();
        }
        self.lacpdu_arrivals.push_back(now);
        self.partner_said = Some(actor);
    }

    /// When the last LACPDU arrived.
    pub fn last_lacpdu(&self) -> Option<Instant> {
        self.lacpdu_arrivals.back().copied()
    }

    /// Whether a LACPDU arrived less than `window` before `now`.
    pub fn heard_within(&self, now: Instant, window: Duration) -> bool {
        self.last_lacpdu()
            .is_some_and(|t| now.saturating_since(t) < window)
    }

    /// How many of the kept arrivals fall within `window` before `now` (at most
    /// [`KEPT_ARRIVALS`]).
    pub fn arrivals_within(&self, now: Instant, window: Duration) -> usize {
        self.lacpdu_arrivals
            .iter()
            .filter(|t| now.saturating_since(**t) <= window)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_arrivals_and_ages_them() {
        let mut a = PortActivity::new(1);
        assert!(!a.heard_within(Instant::from_secs(1), RECENT));
        for s in 0..20 {
            a.record(Instant::from_secs(s), LacpInfo::default());
        }
        assert_eq!(a.lacpdu_arrivals.len(), KEPT_ARRIVALS);
        assert_eq!(a.last_lacpdu(), Some(Instant::from_secs(19)));
        let now = Instant::from_secs(22);
        assert!(a.heard_within(now, Duration::from_secs(4)));
        assert!(!a.heard_within(now, Duration::from_secs(3)));
        assert_eq!(a.arrivals_within(now, Duration::from_secs(4)), 2);
    }
}
