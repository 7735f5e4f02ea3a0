//! The timers of a session, kept in a table indexed by [`Timer`]. A timer is a deadline; it
//! expires when the caller's `now` reaches it. There is no periodic tick.

use lagd_types::Instant;

/// The timers of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The next periodic BFD Control packet (RFC 5880 §6.8.7).
    Transmit,
    /// The Detection Time: no packet from the remote system for this long (§6.8.4).
    Detection,
}

impl Timer {
    const COUNT: usize = 2;
    const ALL: [Timer; Self::COUNT] = [Timer::Transmit, Timer::Detection];
}

/// Deadlines indexed by [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Starts (or restarts) `timer` to expire at `deadline`.
    pub fn set(&mut self, timer: Timer, deadline: Instant) {
        self.data[timer as usize] = Some(deadline);
    }
    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }
    /// The deadline of `timer`, if running.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer as usize]
    }
    /// The earliest deadline of any running timer.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }
    /// Stops and returns the timers whose deadline is at or before `now`, in table order.
    pub fn expire(&mut self, now: Instant) -> impl Iterator<Item = Timer> + use<> {
        let mut fired = [None; Timer::COUNT];
        for (slot, (t, d)) in fired
            .iter_mut()
            .zip(Timer::ALL.into_iter().zip(self.data.iter_mut()))
        {
            if d.is_some_and(|d| d <= now) {
                *d = None;
                *slot = Some(t);
            }
        }
        fired.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
