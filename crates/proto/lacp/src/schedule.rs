//! The System's timer schedule: every port filed under its earliest deadline in an indexed
//! binary min-heap, so the next deadline ([`crate::Lacp::poll_timeout`]) is read in O(1), a
//! port is re-filed in O(log n), and the ports due at a time are found without walking every
//! port's timers. Once grown, it never allocates.

use lagd_types::Instant;

/// No heap slot: the port has no running timer.
const NONE: u32 = u32::MAX;

/// (deadline, port position) in heap order, and each port position's slot in the heap.
#[derive(Clone, Debug, Default)]
pub(crate) struct Schedule {
    heap: Vec<(Instant, u32)>,
    /// `slot[i]`: where the port at position `i` of the port table is in `heap`, or [`NONE`].
    slot: Vec<u32>,
    /// Reused by [`Schedule::due`].
    stack: Vec<u32>,
}

fn u32_of(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(NONE)
}

impl Schedule {
    /// Files the port at position `i` under `deadline` (its earliest running timer), or takes
    /// it out if `None`.
    pub fn set(&mut self, i: usize, deadline: Option<Instant>) {
        let Some(&s) = self.slot.get(i) else {
            return;
        };
        match (s, deadline) {
            (NONE, None) => {}
            (NONE, Some(t)) => {
                let k = self.heap.len();
                self.heap.push((t, u32_of(i)));
                self.set_slot(k);
                self.sift_up(k);
            }
            (s, None) => self.remove_slot(s as usize),
            (s, Some(t)) => {
                let k = s as usize;
                let Some(e) = self.heap.get_mut(k) else {
                    return;
                };
                let old = core::mem::replace(&mut e.0, t);
                if t < old {
                    self.sift_up(k);
                } else if t > old {
                    self.sift_down(k);
                }
            }
        }
    }

    /// A port was inserted at position `at` of the port table (later ones moved up by one).
    pub fn on_insert(&mut self, at: usize) {
        let at32 = u32_of(at);
        for e in &mut self.heap {
            if e.1 >= at32 {
                e.1 += 1;
            }
        }
        self.slot.insert(at.min(self.slot.len()), NONE);
    }

    /// The port at position `at` was removed (later ones moved down by one).
    pub fn on_remove(&mut self, at: usize) {
        self.set(at, None);
        if at < self.slot.len() {
            self.slot.remove(at);
        }
        let at32 = u32_of(at);
        for e in &mut self.heap {
            if e.1 > at32 {
                e.1 -= 1;
            }
        }
    }

    /// The earliest deadline of any port.
    pub fn first(&self) -> Option<Instant> {
        self.heap.first().map(|e| e.0)
    }

    /// Adds to `out` the positions of the ports with a deadline at or before `now`.
    pub fn due(&mut self, now: Instant, out: &mut Vec<usize>) {
        self.stack.clear();
        self.stack.push(0);
        while let Some(k) = self.stack.pop() {
            let k = k as usize;
            let Some(&(t, i)) = self.heap.get(k) else {
                continue;
            };
            if t <= now {
                out.push(i as usize);
                self.stack.push(u32_of(2 * k + 1));
                self.stack.push(u32_of(2 * k + 2));
            }
        }
    }

    /// Takes the ports with a deadline at or before `now` out of the schedule (re-file them
    /// with [`Schedule::set`]); adds their positions to `out`.
    pub fn take_due(&mut self, now: Instant, out: &mut Vec<usize>) {
        while let Some(&(t, i)) = self.heap.first() {
            if t > now {
                break;
            }
            self.remove_slot(0);
            out.push(i as usize);
        }
    }

    /// Records in `slot` where heap entry `k` is.
    fn set_slot(&mut self, k: usize) {
        if let Some(&(_, i)) = self.heap.get(k)
            && let Some(s) = self.slot.get_mut(i as usize)
        {
            *s = u32_of(k);
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a < self.heap.len() && b < self.heap.len() {
            self.heap.swap(a, b);
            self.set_slot(a);
            self.set_slot(b);
        }
    }

    fn remove_slot(&mut self, k: usize) {
        let Some(last) = self.heap.len().checked_sub(1) else {
            return;
        };
        self.swap(k, last);
        if let Some((_, i)) = self.heap.pop()
            && let Some(s) = self.slot.get_mut(i as usize)
        {
            *s = NONE;
        }
        if k < self.heap.len() {
            self.sift_down(k);
            self.sift_up(k);
        }
    }

    fn key(&self, k: usize) -> Option<Instant> {
        self.heap.get(k).map(|e| e.0)
    }

    fn sift_up(&mut self, mut k: usize) {
        while k > 0 {
            let parent = (k - 1) / 2;
            if self.key(k) < self.key(parent) {
                self.swap(k, parent);
                k = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut k: usize) {
        loop {
            let mut least = k;
            for c in [2 * k + 1, 2 * k + 2] {
                if let (Some(kc), Some(kl)) = (self.key(c), self.key(least))
                    && kc < kl
                {
                    least = c;
                }
            }
            if least == k {
                break;
            }
            self.swap(k, least);
            k = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Option<Instant> {
        Some(Instant::from_secs(s))
    }

    /// The heap property and the slot index hold.
    fn check(s: &Schedule) {
        for (k, e) in s.heap.iter().enumerate() {
            if k > 0 {
                assert!(s.heap[(k - 1) / 2].0 <= e.0, "heap order at {k}");
            }
            assert_eq!(s.slot[e.1 as usize], k as u32, "slot of {}", e.1);
        }
        let filed = s.slot.iter().filter(|x| **x != NONE).count();
        assert_eq!(filed, s.heap.len());
    }

    #[test]
    fn ports_are_filed_under_their_earliest_deadline() {
        let mut s = Schedule::default();
        for i in 0..6 {
            s.on_insert(i);
        }
        for (i, t) in [5, 3, 9, 1, 7, 3].into_iter().enumerate() {
            s.set(i, at(t));
            check(&s);
        }
        assert_eq!(s.first(), at(1));
        let mut due = Vec::new();
        s.due(Instant::from_secs(3), &mut due);
        due.sort_unstable();
        assert_eq!(due, vec![1, 3, 5]);
        s.set(3, at(10));
        s.set(2, None);
        check(&s);
        assert_eq!(s.first(), at(3));
        // A port inserted at position 1: the later ones move up.
        s.on_insert(1);
        check(&s);
        let mut due = Vec::new();
        s.take_due(Instant::from_secs(5), &mut due);
        due.sort_unstable();
        assert_eq!(due, vec![0, 2, 6]);
        check(&s);
        assert_eq!(s.first(), at(7));
        s.on_remove(0);
        check(&s);
        let mut due = Vec::new();
        s.take_due(Instant::MAX, &mut due);
        due.sort_unstable();
        assert_eq!(
            due,
            vec![3, 4],
            "ports 4 (at 10 s) and 5 (at 7 s), moved down"
        );
        assert_eq!(s.first(), None);
        // Positions past the end are no port: nothing to take out, nothing moves.
        s.set(0, at(2));
        s.on_remove(s.slot.len());
        s.on_remove(usize::MAX);
        check(&s);
        assert_eq!((s.slot.len(), s.first()), (6, at(2)));
        // A swap with a heap position past the end does nothing.
        s.set(1, at(1));
        for (a, b) in [(0, 2), (2, 0), (1, 2), (2, 2)] {
            s.swap(a, b);
            check(&s);
            assert_eq!(s.heap.len(), 2);
            assert_eq!(s.first(), at(1));
        }
    }

    /// Random inserts, removals, re-filings, `due` and `take_due` against a model (each port
    /// position's deadline in a plain vector): the same answers, and the heap and slot index
    /// hold after every step.
    #[test]
    fn the_schedule_answers_as_a_plain_list_of_deadlines() {
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut s = Schedule::default();
        let mut model: Vec<Option<Instant>> = Vec::new();
        let due_in = |model: &[Option<Instant>], now: Instant| -> Vec<usize> {
            (0..model.len())
                .filter(|i| model[*i].is_some_and(|t| t <= now))
                .collect()
        };
        for step in 0..20_000 {
            let len = model.len() as u64;
            match rnd(10) {
                0 | 1 if len < 40 => {
                    let at = rnd(len + 1) as usize;
                    s.on_insert(at);
                    model.insert(at, None);
                }
                2 if len > 0 => {
                    let at = rnd(len) as usize;
                    s.on_remove(at);
                    model.remove(at);
                }
                3..=6 if len > 0 => {
                    let i = rnd(len) as usize;
                    let t = match rnd(4) {
                        0 => None,
                        _ => Some(Instant::from_millis(rnd(30))),
                    };
                    s.set(i, t);
                    model[i] = t;
                }
                7 => {
                    let now = Instant::from_millis(rnd(30));
                    let mut due = Vec::new();
                    s.due(now, &mut due);
                    due.sort_unstable();
                    assert_eq!(due, due_in(&model, now), "due at step {step}");
                }
                8 => {
                    let now = Instant::from_millis(rnd(30));
                    let mut due = Vec::new();
                    s.take_due(now, &mut due);
                    due.sort_unstable();
                    let want = due_in(&model, now);
                    assert_eq!(due, want, "take_due at step {step}");
                    for i in want {
                        model[i] = None;
                    }
                }
                _ => {}
            }
            check(&s);
            assert_eq!(s.slot.len(), model.len());
            assert_eq!(
                s.first(),
                model.iter().flatten().min().copied(),
                "step {step}"
            );
        }
    }
}
