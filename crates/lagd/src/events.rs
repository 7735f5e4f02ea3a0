//! The bounded ring of recent events, with waiting for new ones (`Events { follow }`).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::control::proto::EventRecord;

/// Default number of events kept.
pub(crate) const DEFAULT_HISTORY: usize = 1024;

struct Ring {
    events: VecDeque<EventRecord>,
    capacity: usize,
    next_seq: u64,
}

/// Recent events, shared by the engine (writer) and the control server (readers).
pub(crate) struct EventLog {
    ring: Mutex<Ring>,
    changed: Condvar,
}

impl EventLog {
    /// An empty log keeping at most `capacity` events.
    pub(crate) fn new(capacity: usize) -> Self {
        EventLog {
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
                next_seq: 1,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an event; returns its sequence number.
    pub(crate) fn push(
        &self,
        mono_ns: u64,
        aggregate: &str,
        link: Option<String>,
        message: String,
        detail: serde_json::Value,
    ) -> u64 {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut r = self.lock();
        let seq = r.next_seq;
        r.next_seq += 1;
        if r.events.len() >= r.capacity {
            r.events.pop_front();
        }
        r.events.push_back(EventRecord {
            seq,
            unix_ms,
            mono_ns,
            aggregate: aggregate.to_string(),
            link,
            message,
            detail,
        });
        drop(r);
        self.changed.notify_all();
        seq
    }

    /// How many events are kept at most.
    pub(crate) fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// Keeps at most `capacity` events from now on (`[daemon] event_history` reloaded): the
    /// oldest go when it shrinks.
    pub(crate) fn set_capacity(&self, capacity: usize) {
        let mut r = self.lock();
        r.capacity = capacity.max(1);
        while r.events.len() > r.capacity {
            r.events.pop_front();
        }
    }

    /// Every kept event, oldest first.
    pub(crate) fn recent(&self) -> Vec<EventRecord> {
        self.lock().events.iter().cloned().collect()
    }

    /// The sequence number the next event will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// Events with `seq >= from`, waiting up to `timeout` for at least one.
    pub(crate) fn wait_from(&self, from: u64, timeout: Duration) -> Vec<EventRecord> {
        let guard = self.lock();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |r| r.next_seq <= from)
            .unwrap_or_else(PoisonError::into_inner);
        guard
            .events
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ring_is_bounded_and_ordered() {
        let log = EventLog::new(3);
        for i in 0..5 {
            log.push(i, "a", None, format!("e{i}"), serde_json::Value::Null);
        }
        let r = log.recent();
        assert_eq!(
            r.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["e2", "e3", "e4"]
        );
        assert_eq!(r.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(log.next_seq(), 6);
    }

    #[test]
    fn capacity_changes_keep_the_newest() {
        let log = EventLog::new(4);
        for i in 0..4 {
            log.push(i, "a", None, format!("e{i}"), serde_json::Value::Null);
        }
        log.set_capacity(2);
        assert_eq!(log.capacity(), 2);
        let names =
            |l: &EventLog| -> Vec<String> { l.recent().into_iter().map(|e| e.message).collect() };
        assert_eq!(names(&log), ["e2", "e3"]);
        log.set_capacity(3);
        log.push(9, "a", None, "e9".into(), serde_json::Value::Null);
        assert_eq!(names(&log), ["e2", "e3", "e9"]);
        assert_eq!(log.next_seq(), 6);
    }

    #[test]
    fn waiter_sees_new_events() {
        let log = Arc::new(EventLog::new(8));
        let from = log.next_seq();
        let l2 = log.clone();
        let t = std::thread::spawn(move || l2.wait_from(from, Duration::from_secs(60)));
        log.push(
            1,
            "a",
            Some("eth1".into()),
            "up".into(),
            serde_json::Value::Null,
        );
        let got = t.join().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].link.as_deref(), Some("eth1"));
        // Nothing new: returns empty after the timeout.
        assert!(log.wait_from(from + 1, Duration::from_millis(1)).is_empty());
    }
}
