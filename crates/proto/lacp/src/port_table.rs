//! The System's Aggregation Ports, in port-number order in one vector and found by binary
//! search on a compact array of their numbers: one port is reached in O(log n) without
//! touching the others, all ports are walked in port order.

use crate::port::Port;
use lagd_types::PortNumber;

/// The ports, by number. A port's position changes only when a port is added or removed.
#[derive(Clone, Debug, Default)]
pub(crate) struct PortTable {
    /// The port numbers, ascending; `numbers[i]` is the number of `ports[i]`.
    numbers: Vec<PortNumber>,
    ports: Vec<Port>,
}

impl PortTable {
    /// The position of port `n`.
    pub fn position(&self, n: PortNumber) -> Option<usize> {
        self.numbers.binary_search(&n).ok()
    }

    /// Port `n`.
    pub fn get(&self, n: PortNumber) -> Option<&Port> {
        self.position(n).and_then(|i| self.ports.get(i))
    }

    /// The port at position `i`.
    pub fn at(&self, i: usize) -> Option<&Port> {
        self.ports.get(i)
    }

    /// The port at position `i`, to change it.
    pub fn at_mut(&mut self, i: usize) -> Option<&mut Port> {
        self.ports.get_mut(i)
    }

    /// Adds a port; returns its position, or `Err` with its number if it is already there.
    pub fn insert(&mut self, p: Port) -> Result<usize, PortNumber> {
        match self.numbers.binary_search(&p.number()) {
            Ok(_) => Err(p.number()),
            Err(i) => {
                // Grow by a quarter rather than double: a port is large, and many are.
                if self.ports.len() == self.ports.capacity() {
                    let more = (self.ports.len() / 4).max(4);
                    self.ports.reserve_exact(more);
                    self.numbers.reserve_exact(more);
                }
                self.numbers.insert(i, p.number());
                self.ports.insert(i, p);
                Ok(i)
            }
        }
    }

    /// Removes the port at position `i`.
    pub fn remove_at(&mut self, i: usize) -> Option<Port> {
        if i < self.ports.len() {
            self.numbers.remove(i);
            Some(self.ports.remove(i))
        } else {
            None
        }
    }

    /// How many ports.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// All ports, in port order.
    pub fn iter(&self) -> core::slice::Iter<'_, Port> {
        self.ports.iter()
    }

    /// All ports, in port order, to change them.
    pub fn as_mut_slice(&mut self) -> &mut [Port] {
        &mut self.ports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PortConfig, SystemConfig};
    use lagd_types::MacAddr;

    fn port(n: PortNumber) -> Port {
        Port::new(PortConfig::new(n, MacAddr::ZERO), &SystemConfig::default())
    }

    #[test]
    fn ports_stay_in_number_order_and_are_found() {
        let mut t = PortTable::default();
        for n in [5, 1, 9, 3] {
            assert!(t.insert(port(n)).is_ok());
        }
        assert_eq!(t.insert(port(9)), Err(9));
        let order: Vec<PortNumber> = t.iter().map(Port::number).collect();
        assert_eq!(order, vec![1, 3, 5, 9]);
        assert_eq!(t.position(5), Some(2));
        assert_eq!(t.position(4), None);
        assert_eq!(t.get(9).map(Port::number), Some(9));
        assert_eq!(t.remove_at(1).map(|p| p.number()), Some(3));
        assert_eq!(t.position(5), Some(1));
        assert!(t.remove_at(7).is_none());
        assert!(t.remove_at(t.len()).is_none(), "one past the end");
        assert_eq!(t.len(), 3);
        assert_eq!(t.at(0).map(Port::number), Some(1));
    }

    /// The table grows only when full, and then by a quarter (at least 4 ports), not double.
    #[test]
    fn the_table_grows_by_a_quarter_when_full() {
        let mut t = PortTable::default();
        for n in 1..=100 {
            let (len, cap) = (t.ports.len(), t.ports.capacity());
            assert!(t.insert(port(n)).is_ok());
            let now = t.ports.capacity();
            if len < cap {
                assert_eq!(now, cap, "grew at {len} of {cap}");
            } else {
                let quarter = (len / 4).max(4);
                assert!(
                    (len + quarter..=len + 2 * quarter).contains(&now),
                    "full at {len}: capacity {now}, expected {len} + {quarter}"
                );
            }
            assert!(t.numbers.capacity() >= t.ports.capacity());
        }
    }
}
