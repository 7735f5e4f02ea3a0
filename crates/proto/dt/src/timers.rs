//! The timers of the DT machines, kept in a table indexed by [`Timer`]. A timer is a
//! deadline; it expires when the caller's `now` reaches it.

use lagd_types::{Duration, Instant};

/// The timers of a DT switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Next periodic PDU on the peer link (DRCP periodic_timer, §9.4.13).
    PeerTx,
    /// Next keepalive.
    KeepaliveTx,
    /// The peer's information over the peer link expires (DRCP current_while_timer,
    /// §9.4.11).
    PeerLinkExpire,
    /// The keepalive expires.
    KeepaliveExpire,
    /// The start-up hold of the DT ports ends.
    InitDelay,
    /// The wait, after the peer link failed with the peer otherwise alive, before the
    /// switch settles on split brain.
    Hold,
}

impl Timer {
    const COUNT: usize = 6;
    const ALL: [Timer; Self::COUNT] = [
        Timer::PeerTx,
        Timer::KeepaliveTx,
        Timer::PeerLinkExpire,
        Timer::KeepaliveExpire,
        Timer::InitDelay,
        Timer::Hold,
    ];
}

/// Deadlines indexed by [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Starts `timer` to expire `d` after `now`.
    pub fn start(&mut self, timer: Timer, now: Instant, d: Duration) {
        if let Some(slot) = self.data.get_mut(timer as usize) {
            *slot = Some(now + d);
        }
    }
    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.data.get_mut(timer as usize) {
            *slot = None;
        }
    }
    /// Whether `timer` is running.
    #[cfg(test)]
    pub fn is_running(&self, timer: Timer) -> bool {
        self.data.get(timer as usize).is_some_and(Option::is_some)
    }
    /// The earliest deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }
    /// Stops and returns the timers due at `now`, in table order, each with how late it
    /// fires (`now` minus its deadline).
    pub fn expire(&mut self, now: Instant) -> Vec<(Timer, Duration)> {
        let mut fired = Vec::new();
        for (t, slot) in Timer::ALL.into_iter().zip(self.data.iter_mut()) {
            if let Some(d) = *slot
                && d <= now
            {
                *slot = None;
                fired.push((t, now.saturating_since(d)));
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.start(Timer::PeerTx, Instant::ZERO, Duration::from_secs(1));
        t.start(Timer::Hold, Instant::ZERO, Duration::from_secs(3));
        assert_eq!(t.next_timeout(), Some(Instant::from_secs(1)));
        assert!(t.expire(Instant::from_millis(999)).is_empty());
        assert_eq!(
            t.expire(Instant::from_secs(1)),
            vec![(Timer::PeerTx, Duration::ZERO)]
        );
        assert!(!t.is_running(Timer::PeerTx) && t.is_running(Timer::Hold));
        t.stop(Timer::Hold);
        assert_eq!(t.next_timeout(), None);
        t.start(Timer::Hold, Instant::ZERO, Duration::from_secs(3));
        assert_eq!(
            t.expire(Instant::from_millis(3250)),
            vec![(Timer::Hold, Duration::from_millis(250))]
        );
    }
}
