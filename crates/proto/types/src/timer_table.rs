//! A table of deadlines indexed by a core's timer names (LACP's, BFD's, DT's). A timer is a
//! deadline; it expires when the caller's `now` reaches it. There is no periodic tick: the
//! earliest deadline is when the caller calls again.

use crate::{Duration, Instant};

/// The timers of one table (a fieldless enum).
pub trait TableTimer: Copy + core::fmt::Debug + Eq + 'static {
    /// Every timer, in table order.
    const ALL: &'static [Self];
    /// Its place in the table ([`usize::MAX`] for a timer missing from [`Self::ALL`]: setting
    /// it does nothing).
    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or(usize::MAX)
    }
}

/// Deadlines indexed by `T` (`N` of them: `T::ALL.len()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerTable<T, const N: usize> {
    data: [Option<Instant>; N],
    timers: core::marker::PhantomData<T>,
}

impl<T, const N: usize> Default for TimerTable<T, N> {
    fn default() -> Self {
        TimerTable {
            data: [None; N],
            timers: core::marker::PhantomData,
        }
    }
}

impl<T: TableTimer, const N: usize> TimerTable<T, N> {
    /// Starts (or restarts) `timer` to expire at `deadline`.
    pub fn set(&mut self, timer: T, deadline: Instant) {
        if let Some(slot) = self.data.get_mut(timer.index()) {
            *slot = Some(deadline);
        }
    }
    /// Starts `timer` to expire `d` after `now`.
    pub fn start(&mut self, timer: T, now: Instant, d: Duration) {
        self.set(timer, now + d);
    }
    /// Stops `timer`.
    pub fn stop(&mut self, timer: T) {
        if let Some(slot) = self.data.get_mut(timer.index()) {
            *slot = None;
        }
    }
    /// The deadline of `timer`, if running.
    pub fn get(&self, timer: T) -> Option<Instant> {
        self.data.get(timer.index()).copied().flatten()
    }
    /// Whether `timer` is running.
    pub fn is_running(&self, timer: T) -> bool {
        self.get(timer).is_some()
    }
    /// The earliest deadline of any running timer.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }
    /// Stops and returns the timers whose deadline is at or before `now`, in table order, each
    /// with how late it fires (`now` minus its deadline).
    pub fn expire_late(&mut self, now: Instant) -> impl Iterator<Item = (T, Duration)> + use<T, N> {
        let mut fired = [None; N];
        for (slot, (t, d)) in fired
            .iter_mut()
            .zip(T::ALL.iter().zip(self.data.iter_mut()))
        {
            if let Some(deadline) = *d
                && deadline <= now
            {
                *d = None;
                *slot = Some((*t, now.saturating_since(deadline)));
            }
        }
        fired.into_iter().flatten()
    }
    /// Stops and returns the timers whose deadline is at or before `now`, in table order.
    pub fn expire(&mut self, now: Instant) -> impl Iterator<Item = T> + use<T, N> {
        self.expire_late(now).map(|(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum T {
        A,
        B,
    }

    impl TableTimer for T {
        const ALL: &'static [T] = &[T::A, T::B];
    }

    #[test]
    fn earliest_deadline_expiry_in_table_order_and_lateness() {
        let mut t = TimerTable::<T, 2>::default();
        assert_eq!(t.next_timeout(), None);
        t.set(T::B, Instant::from_millis(100));
        t.start(T::A, Instant::from_millis(50), Duration::from_millis(50));
        assert_eq!(t.next_timeout(), Some(Instant::from_millis(100)));
        assert_eq!(t.expire(Instant::from_millis(99)).count(), 0);
        let fired: Vec<_> = t.expire_late(Instant::from_millis(130)).collect();
        assert_eq!(
            fired,
            vec![
                (T::A, Duration::from_millis(30)),
                (T::B, Duration::from_millis(30))
            ]
        );
        assert!(!t.is_running(T::A) && t.get(T::B).is_none());
        t.set(T::A, Instant::from_secs(1));
        t.stop(T::A);
        assert_eq!(t.next_timeout(), None);
    }
}
