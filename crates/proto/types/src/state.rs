//! The eight LACP port state flags carried in Actor_State / Partner_State (§6.4.2.3).

use core::fmt;
use serde::{Deserialize, Serialize};

/// Actor_State / Partner_State: eight flags in one octet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PortState(pub u8);

impl PortState {
    /// LACP_Activity: 1 = Active LACP, 0 = Passive.
    pub const LACP_ACTIVITY: u8 = 0x01;
    /// LACP_Timeout: 1 = Short Timeout, 0 = Long Timeout.
    pub const LACP_TIMEOUT: u8 = 0x02;
    /// Aggregation: 1 = Aggregatable, 0 = Individual.
    pub const AGGREGATION: u8 = 0x04;
    /// Synchronization: the link is IN_SYNC.
    pub const SYNCHRONIZATION: u8 = 0x08;
    /// Collecting enabled.
    pub const COLLECTING: u8 = 0x10;
    /// Distributing enabled.
    pub const DISTRIBUTING: u8 = 0x20;
    /// Defaulted: the partner information is the administrative default.
    pub const DEFAULTED: u8 = 0x40;
    /// Expired: the Receive machine is in EXPIRED.
    pub const EXPIRED: u8 = 0x80;

    const NAMES: [(u8, &'static str); 8] = [
        (Self::LACP_ACTIVITY, "activity"),
        (Self::LACP_TIMEOUT, "timeout"),
        (Self::AGGREGATION, "aggregation"),
        (Self::SYNCHRONIZATION, "synchronization"),
        (Self::COLLECTING, "collecting"),
        (Self::DISTRIBUTING, "distributing"),
        (Self::DEFAULTED, "defaulted"),
        (Self::EXPIRED, "expired"),
    ];

    /// The raw octet.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Whether flag `f` (one of the constants) is set.
    pub const fn get(self, f: u8) -> bool {
        self.0 & f != 0
    }
    /// Sets or clears flag `f`.
    pub fn set(&mut self, f: u8, on: bool) {
        if on { self.0 |= f } else { self.0 &= !f }
    }
    /// A copy with flag `f` set to `on`.
    pub const fn with(self, f: u8, on: bool) -> Self {
        if on {
            PortState(self.0 | f)
        } else {
            PortState(self.0 & !f)
        }
    }
    /// LACP_Activity (active).
    pub const fn activity(self) -> bool {
        self.get(Self::LACP_ACTIVITY)
    }
    /// LACP_Timeout (short).
    pub const fn short_timeout(self) -> bool {
        self.get(Self::LACP_TIMEOUT)
    }
    /// Aggregation (aggregatable).
    pub const fn aggregation(self) -> bool {
        self.get(Self::AGGREGATION)
    }
    /// Synchronization.
    pub const fn synchronization(self) -> bool {
        self.get(Self::SYNCHRONIZATION)
    }
    /// Collecting.
    pub const fn collecting(self) -> bool {
        self.get(Self::COLLECTING)
    }
    /// Distributing.
    pub const fn distributing(self) -> bool {
        self.get(Self::DISTRIBUTING)
    }
    /// Defaulted.
    pub const fn defaulted(self) -> bool {
        self.get(Self::DEFAULTED)
    }
    /// Expired.
    pub const fn expired(self) -> bool {
        self.get(Self::EXPIRED)
    }
    /// The names of the set flags, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(b, _)| self.0 & b != 0)
            .map(|(_, n)| n)
    }
}

impl fmt::Display for PortState {
    /// Eight letters in OVS/Linux order, upper case when set: `ATGSCDFE` style is hard to read, so
    /// we print the hex octet and the set names, e.g. `0x3d activity,aggregation,...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)?;
        let mut first = true;
        for n in self.names() {
            f.write_str(if first { " " } else { "," })?;
            f.write_str(n)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let mut s = PortState::default();
        s.set(PortState::LACP_ACTIVITY, true);
        s.set(PortState::SYNCHRONIZATION, true);
        assert!(s.activity() && s.synchronization() && !s.collecting());
        assert_eq!(s.bits(), 0x09);
        s.set(PortState::LACP_ACTIVITY, false);
        assert_eq!(s.bits(), 0x08);
        assert_eq!(
            PortState(0x3d).to_string(),
            "0x3d activity,aggregation,synchronization,collecting,distributing"
        );
        assert!(PortState(0xff).with(PortState::EXPIRED, false).defaulted());
    }
}
