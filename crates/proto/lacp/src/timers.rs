//! The timers of the LACP machines (IEEE 802.1AX-2014 §6.4.4 constants, §6.4.8 timers), kept in
//! a table indexed by [`Timer`]. A timer is a deadline; it "expires" when the caller's `now`
//! reaches it. There is no periodic tick: `poll_timeout` is the earliest deadline.

use lagd_types::{Duration, TableTimer};

/// Fast_Periodic_Time (§6.4.4): periodic transmission interval with a short-timeout partner.
pub const FAST_PERIODIC_TIME: Duration = Duration::from_secs(1);
/// Slow_Periodic_Time (§6.4.4): periodic transmission interval with a long-timeout partner.
pub const SLOW_PERIODIC_TIME: Duration = Duration::from_secs(30);
/// Short_Timeout_Time (§6.4.4): current_while with a short actor timeout (3 × fast period).
pub const SHORT_TIMEOUT_TIME: Duration = Duration::from_secs(3);
/// Long_Timeout_Time (§6.4.4): current_while with a long actor timeout (3 × slow period).
pub const LONG_TIMEOUT_TIME: Duration = Duration::from_secs(90);
/// Churn_Detection_Time (§6.4.4).
pub const CHURN_DETECTION_TIME: Duration = Duration::from_secs(60);
/// Aggregate_Wait_Time (§6.4.4): the wait_while_timer.
pub const AGGREGATE_WAIT_TIME: Duration = Duration::from_secs(2);
/// At most this many LACPDUs per Fast_Periodic_Time on one port (§6.4.16).
pub const MAX_LACPDUS_PER_FAST_PERIOD: usize = 3;
/// Slow Protocols limit (IEEE 802.3 Annex 57A): at most this many frames per second per port.
pub const MAX_SLOW_FRAMES_PER_SECOND: usize = 10;
/// The window of that limit.
pub(crate) const SLOW_WINDOW: Duration = Duration::from_secs(1);

/// The timers of one port, plus the system's fallback timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// current_while_timer (§6.4.8): partner information times out.
    CurrentWhile,
    /// periodic_timer (§6.4.8): next periodic LACPDU.
    Periodic,
    /// wait_while_timer (§6.4.8): delay before the Aggregator is Ready.
    WaitWhile,
    /// actor_churn_timer (§6.4.8).
    ActorChurn,
    /// partner_churn_timer (§6.4.8).
    PartnerChurn,
    /// The transmit rate window: when a deferred LACPDU may go out (§6.4.16).
    TxDefer,
    /// The earliest outstanding Marker's timeout (Marker generator).
    Marker,
    /// The port's own LACPDUs stopped coming back: the loop is over.
    Loopback,
    /// System level: no LACPDU on any port for the fallback timeout.
    Fallback,
}

impl TableTimer for Timer {
    const ALL: &'static [Timer] = &[
        Timer::CurrentWhile,
        Timer::Periodic,
        Timer::WaitWhile,
        Timer::ActorChurn,
        Timer::PartnerChurn,
        Timer::TxDefer,
        Timer::Marker,
        Timer::Loopback,
        Timer::Fallback,
    ];
}

/// Deadlines indexed by [`Timer`].
pub(crate) type TimerTable = lagd_types::TimerTable<Timer, { Timer::ALL.len() }>;

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_types::Instant;

    #[test]
    fn earliest_deadline_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.start(Timer::Periodic, Instant::ZERO, FAST_PERIODIC_TIME);
        t.start(Timer::CurrentWhile, Instant::ZERO, SHORT_TIMEOUT_TIME);
        assert_eq!(t.next_timeout(), Some(Instant::from_secs(1)));
        assert_eq!(t.expire(Instant::from_millis(999)).count(), 0);
        let fired: Vec<_> = t.expire(Instant::from_secs(1)).collect();
        assert_eq!(fired, vec![Timer::Periodic]);
        assert!(!t.is_running(Timer::Periodic));
        assert_eq!(t.next_timeout(), Some(Instant::from_secs(3)));
        t.stop(Timer::CurrentWhile);
        assert_eq!(t.next_timeout(), None);
    }
}
