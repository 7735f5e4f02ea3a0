//! 48-bit IEEE MAC addresses.

use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

/// Why a MAC address string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid MAC address {0:?}: expected six hex octets separated by ':' or '-', e.g. 02:00:00:00:00:01"
)]
pub struct MacParseError(pub String);

impl MacAddr {
    /// 00:00:00:00:00:00.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// The Slow Protocols multicast address 01-80-C2-00-00-02 (IEEE 802.3 Annex 57A).
    pub const SLOW_PROTOCOLS: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);

    /// The six octets.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }
    /// Builds from the first six bytes of a slice, `None` if it is shorter.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let a: [u8; 6] = b.get(..6)?.try_into().ok()?;
        Some(MacAddr(a))
    }
    /// The group (multicast) bit.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    /// The broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// All zeros.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
    /// A locally administered unicast address, usable as an interface's address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.is_empty() || p.len() > 2 {
                return Err(err());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_solaris_short_form_and_dashes() {
        assert_eq!(
            "0:14:4f:20:dc:1".parse::<MacAddr>().unwrap(),
            MacAddr([0, 0x14, 0x4f, 0x20, 0xdc, 1])
        );
        assert_eq!(
            "01-80-C2-00-00-02".parse::<MacAddr>().unwrap(),
            MacAddr::SLOW_PROTOCOLS
        );
        assert!("01:80:c2:00:00".parse::<MacAddr>().is_err());
        assert!("01:80:c2:00:00:zz".parse::<MacAddr>().is_err());
        assert!("001:80:c2:00:00:02".parse::<MacAddr>().is_err());
        assert!(MacAddr::SLOW_PROTOCOLS.is_multicast());
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(o in any::<[u8; 6]>()) {
            let m = MacAddr(o);
            prop_assert_eq!(m.to_string().parse::<MacAddr>().unwrap(), m);
        }
    }
}
