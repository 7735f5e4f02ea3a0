//! The ports an input touched: the only ones whose machines may move. Every other port is at
//! rest (running its machines would change nothing), so the engine runs the machines of these
//! ports only, and the cost of an input does not grow with the number of ports.

/// Positions (in the port table) of the touched ports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Worklist {
    items: Vec<usize>,
}

impl Worklist {
    /// Adds the port at position `i` (duplicates are removed by [`Worklist::normalize`]).
    pub fn push(&mut self, i: usize) {
        self.items.push(i);
    }

    /// Sorts the positions (port order, the order in which the machines run) and removes
    /// duplicates.
    pub fn normalize(&mut self) {
        self.items.sort_unstable();
        self.items.dedup();
    }

    /// How many positions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The `k`-th position.
    pub fn get(&self, k: usize) -> Option<usize> {
        self.items.get(k).copied()
    }

    /// Forgets every port.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// A port was inserted at position `at`: later ports moved up by one.
    pub fn on_insert(&mut self, at: usize) {
        for i in &mut self.items {
            if *i >= at {
                *i += 1;
            }
        }
    }

    /// The port at position `at` was removed: later ports moved down by one.
    pub fn on_remove(&mut self, at: usize) {
        self.items.retain(|i| *i != at);
        for i in &mut self.items {
            if *i > at {
                *i -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_sorted_deduplicated_and_follow_the_table() {
        let mut w = Worklist::default();
        for i in [4, 1, 4, 2] {
            w.push(i);
        }
        w.normalize();
        assert_eq!(w.items, vec![1, 2, 4]);
        w.on_insert(2);
        assert_eq!(w.items, vec![1, 3, 5]);
        w.on_remove(3);
        assert_eq!(w.items, vec![1, 4]);
        assert_eq!((w.len(), w.get(1), w.get(2)), (2, Some(4), None));
        w.clear();
        assert_eq!(w.len(), 0);
    }
}
