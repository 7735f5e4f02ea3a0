//! A zero-copy view of an Ethernet II frame header (IEEE 802.3 §3.2), as slow-protocols frames
//! use it: destination, source, EtherType, payload. No VLAN tag and no FCS.

use crate::WireError;
use crate::bytes::{mac_at, put, put_u16, u16_at};
use crate::frame::ETH_HEADER_LEN;
use lagd_types::MacAddr;

/// Octet offsets of the Ethernet header fields.
mod field {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
    pub const PAYLOAD: usize = 14;
}

/// A zero-copy view of an Ethernet II frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` after checking it holds at least the 14-octet header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let have = buffer.as_ref().len();
        if have < ETH_HEADER_LEN {
            return Err(WireError::Truncated {
                need: ETH_HEADER_LEN,
                have,
            });
        }
        Ok(EthernetFrame { buffer })
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::DST)
    }
    /// Source address.
    pub fn src(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::SRC)
    }
    /// EtherType.
    pub fn ethertype(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::ETHERTYPE)
    }
    /// Everything after the header (may be empty).
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::PAYLOAD..)
            .unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst(&mut self, v: MacAddr) {
        put(self.buffer.as_mut(), field::DST, &v.0)
    }
    /// Sets the source address.
    pub fn set_src(&mut self, v: MacAddr) {
        put(self.buffer.as_mut(), field::SRC, &v.0)
    }
    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), field::ETHERTYPE, v)
    }
    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_payload() {
        let mut buf = [0u8; 20];
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_dst(MacAddr::SLOW_PROTOCOLS);
        f.set_src(MacAddr([2, 0, 0, 0, 0, 1]));
        f.set_ethertype(0x8809);
        f.payload_mut().copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(f.dst(), MacAddr::SLOW_PROTOCOLS);
        assert_eq!(f.src(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.ethertype(), 0x8809);
        assert_eq!(f.payload(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(
            &buf[..14],
            &[1, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x09]
        );
        let hdr_only = EthernetFrame::new_checked(&buf[..14]).unwrap();
        assert!(hdr_only.payload().is_empty());
        assert_eq!(hdr_only.into_inner().len(), 14);
        assert_eq!(
            EthernetFrame::new_checked(&buf[..13]),
            Err(WireError::Truncated { need: 14, have: 13 })
        );
    }
}
