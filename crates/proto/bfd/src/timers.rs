//! The timers of a session, kept in a table indexed by [`Timer`]. A timer is a deadline; it
//! expires when the caller's `now` reaches it. There is no periodic tick.

use lagd_types::TableTimer;

/// The timers of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The next periodic BFD Control packet (RFC 5880 §6.8.7).
    Transmit,
    /// The Detection Time: no packet from the remote system for this long (§6.8.4).
    Detection,
}

impl TableTimer for Timer {
    const ALL: &'static [Timer] = &[Timer::Transmit, Timer::Detection];
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
        t.set(Timer::Detection, Instant::from_millis(150));
        t.set(Timer::Transmit, Instant::from_millis(50));
        assert_eq!(t.next_timeout(), Some(Instant::from_millis(50)));
        assert_eq!(t.expire(Instant::from_millis(49)).count(), 0);
        let fired: Vec<_> = t.expire(Instant::from_millis(50)).collect();
        assert_eq!(fired, vec![Timer::Transmit]);
        assert_eq!(t.get(Timer::Transmit), None);
        assert_eq!(t.next_timeout(), Some(Instant::from_millis(150)));
        let fired: Vec<_> = t.expire(Instant::from_secs(1)).collect();
        assert_eq!(fired, vec![Timer::Detection]);
        t.set(Timer::Detection, Instant::from_secs(2));
        t.stop(Timer::Detection);
        assert_eq!(t.next_timeout(), None);
    }
}
