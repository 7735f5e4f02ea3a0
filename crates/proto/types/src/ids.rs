//! LACP identifiers (IEEE 802.1AX-2014 §6.3.2–6.3.4).

use crate::MacAddr;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A system or port priority; lower values are better (§6.3.2, §6.3.4).
pub type Priority = u16;
/// An operational or administrative key (§6.3.5).
pub type Key = u16;
/// A port number, unique within a system; 0 is reserved (§6.3.4).
pub type PortNumber = u16;

/// System Identifier: priority and MAC address (§6.3.2). Ordered as the standard orders it:
/// numerically lower priority first, then the lower address.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SystemId {
    /// System_Priority.
    pub priority: Priority,
    /// System MAC address.
    pub addr: MacAddr,
}

/// Port Identifier: priority and number (§6.3.4). Ordered priority first, then number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PortId {
    /// Port_Priority.
    pub priority: Priority,
    /// Port_Number.
    pub number: PortNumber,
}

impl SystemId {
    /// Builds a system id.
    pub const fn new(priority: Priority, addr: MacAddr) -> Self {
        SystemId { priority, addr }
    }
    /// The null system id (priority 0, address 0), used for a partner not yet known.
    pub const NULL: SystemId = SystemId {
        priority: 0,
        addr: MacAddr::ZERO,
    };
}

impl PortId {
    /// Builds a port id.
    pub const fn new(priority: Priority, number: PortNumber) -> Self {
        PortId { priority, number }
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x},{}", self.priority, self.addr)
    }
}
impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x},{:04x}", self.priority, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_is_priority_then_address() {
        let a = SystemId::new(1, MacAddr([0xff; 6]));
        let b = SystemId::new(2, MacAddr([0; 6]));
        assert!(a < b);
        let c = SystemId::new(1, MacAddr([0; 6]));
        assert!(c < a);
        assert!(PortId::new(1, 9) < PortId::new(2, 1));
        assert!(PortId::new(1, 1) < PortId::new(1, 2));
        assert_eq!(a.to_string(), "0001,ff:ff:ff:ff:ff:ff");
    }
}
