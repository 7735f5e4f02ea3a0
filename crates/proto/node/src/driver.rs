//! The aggregation driver's rules that the daemon (`lagd`'s adapter and aggregates) and the
//! simulator (its nodes) share: how an aggregation's ports are numbered from its port number
//! base, and how a port is named in the events the executor reports.

use std::collections::BTreeMap;

use lagd_types::PortNumber;

/// The LACP port numbers of one aggregation: `base + 1`, `base + 2`, … (base 0 normally; a DT
/// secondary's aggregation numbers its ports from `0x8001`, so that the partner, which sees
/// both switches as one System, never sees one number twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortNumbers {
    /// The port number base.
    pub base: u16,
}

impl PortNumbers {
    /// Numbers from `base`.
    pub fn from_base(base: u16) -> PortNumbers {
        PortNumbers { base }
    }

    /// The number of the port in slot `slot` (0, 1, …): `base + slot + 1`. Check
    /// [`PortNumbers::fits`] first: the sum is truncated to 16 bits.
    pub fn nth(self, slot: usize) -> PortNumber {
        (usize::from(self.base) + slot + 1) as PortNumber
    }

    /// The slot of port number `n` (0 for a number not above the base).
    pub fn slot(self, n: PortNumber) -> usize {
        usize::from(n).saturating_sub(usize::from(self.base) + 1)
    }

    /// Whether `slots` ports can be numbered from the base without passing
    /// [`PortNumber::MAX`].
    pub fn fits(self, slots: usize) -> bool {
        usize::from(self.base) + slots <= usize::from(PortNumber::MAX)
    }

    /// Whether `n` is one of these numbers (above the base).
    pub fn holds(self, n: PortNumber) -> bool {
        n > self.base
    }

    /// The lowest number above the base that `used` does not hold (`None`: none is left).
    pub fn lowest_free(self, used: impl Fn(PortNumber) -> bool) -> Option<PortNumber> {
        (self.base.checked_add(1)?..=PortNumber::MAX).find(|n| !used(*n))
    }
}

/// The names of an aggregation's ports in the events it reports (the member interfaces in the
/// daemon, the node's ports in the simulator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortNames(BTreeMap<PortNumber, String>);

impl PortNames {
    /// No port named.
    pub fn new() -> PortNames {
        PortNames::default()
    }

    /// Port `n` is called `name`.
    pub fn insert(&mut self, n: PortNumber, name: &str) {
        self.0.insert(n, name.to_string());
    }

    /// Port `n` is gone.
    pub fn remove(&mut self, n: PortNumber) {
        self.0.remove(&n);
    }

    /// The name of port `n`, if it has one.
    pub fn get(&self, n: PortNumber) -> Option<&str> {
        self.0.get(&n).map(String::as_str)
    }

    /// The number of the port called `name`.
    pub fn number_of(&self, name: &str) -> Option<PortNumber> {
        self.0
            .iter()
            .find(|(_, x)| x.as_str() == name)
            .map(|(n, _)| *n)
    }

    /// The name of port `n` in an event: its own, else `port N`.
    pub fn name(&self, n: PortNumber) -> String {
        port_name(self.get(n), n)
    }
}

/// How an event names port `n` whose name is `name`: that, else `port N`.
pub fn port_name(name: Option<&str>, n: PortNumber) -> String {
    name.map_or_else(|| format!("port {n}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_the_base() {
        let dt = PortNumbers::from_base(0x8000);
        assert_eq!((dt.nth(0), dt.slot(0x8003)), (0x8001, 2));
        assert_eq!(dt.slot(0x8000), 0);
        assert!(dt.fits(0x7fff) && !dt.fits(0x8000));
        assert!(dt.holds(0x8001) && !dt.holds(0x8000));
        assert_eq!(dt.lowest_free(|n| n < 0x8003), Some(0x8003));
        assert_eq!(
            PortNumbers::from_base(u16::MAX).lowest_free(|_| false),
            None
        );
        assert_eq!(PortNumbers::default().lowest_free(|_| true), None);
    }

    #[test]
    fn ports_without_a_name_are_called_by_number() {
        let mut names = PortNames::new();
        names.insert(1, "eth1");
        assert_eq!(
            (names.name(1), names.name(2)),
            ("eth1".into(), "port 2".into())
        );
        assert_eq!(names.number_of("eth1"), Some(1));
        names.remove(1);
        assert_eq!(names.get(1), None);
    }
}
