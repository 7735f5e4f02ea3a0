//! The timers of the DT machines, kept in a table indexed by [`Timer`]. A timer is a
//! deadline; it expires when the caller's `now` reaches it.

use lagd_types::TableTimer;

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

impl TableTimer for Timer {
    const ALL: &'static [Timer] = &[
        Timer::PeerTx,
        Timer::KeepaliveTx,
        Timer::PeerLinkExpire,
        Timer::KeepaliveExpire,
        Timer::InitDelay,
        Timer::Hold,
    ];
}

/// Deadlines indexed by [`Timer`].
pub(crate) type TimerTable = lagd_types::TimerTable<Timer, { Timer::ALL.len() }>;

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_types::{Duration, Instant};

    #[test]
    fn earliest_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.start(Timer::PeerTx, Instant::ZERO, Duration::from_secs(1));
        t.start(Timer::Hold, Instant::ZERO, Duration::from_secs(3));
        assert_eq!(t.next_timeout(), Some(Instant::from_secs(1)));
        assert_eq!(t.expire_late(Instant::from_millis(999)).count(), 0);
        assert_eq!(
            t.expire_late(Instant::from_secs(1)).collect::<Vec<_>>(),
            vec![(Timer::PeerTx, Duration::ZERO)]
        );
        assert!(!t.is_running(Timer::PeerTx) && t.is_running(Timer::Hold));
        t.stop(Timer::Hold);
        assert_eq!(t.next_timeout(), None);
        t.start(Timer::Hold, Instant::ZERO, Duration::from_secs(3));
        assert_eq!(
            t.expire_late(Instant::from_millis(3250))
                .collect::<Vec<_>>(),
            vec![(Timer::Hold, Duration::from_millis(250))]
        );
    }
}
