//! The slow-protocols Ethernet frame: destination 01-80-C2-00-00-02, EtherType 0x8809, then a
//! subtype octet (IEEE 802.3 Annex 57A).

use crate::{EthernetFrame, LacpduRepr, MarkerRepr, WireError};
use lagd_types::MacAddr;

/// EtherType of the slow protocols.
pub const ETHERTYPE_SLOW_PROTOCOLS: u16 = 0x8809;
/// Slow-protocols subtype of LACP.
pub const SUBTYPE_LACP: u8 = 1;
/// Slow-protocols subtype of the Marker protocol.
pub const SUBTYPE_MARKER: u8 = 2;
/// Ethernet header length (no VLAN tag: slow-protocols frames are untagged).
pub const ETH_HEADER_LEN: usize = 14;
/// Minimum Ethernet frame length without FCS.
pub const MIN_FRAME_LEN: usize = 60;

/// A PDU carried by a slow-protocols frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlowPdu {
    /// Subtype 1.
    Lacp(LacpduRepr),
    /// Subtype 2.
    Marker(MarkerRepr),
}

/// A parsed slow-protocols frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowFrame {
    /// Destination address (normally [`MacAddr::SLOW_PROTOCOLS`]).
    pub dst: MacAddr,
    /// Source address: the sending port's own MAC.
    pub src: MacAddr,
    /// The PDU.
    pub pdu: SlowPdu,
}

impl SlowFrame {
    /// Whether `frame` is a slow-protocols frame (by EtherType), without parsing it.
    pub fn is_slow_protocols(frame: &[u8]) -> bool {
        EthernetFrame::new_checked(frame).is_ok_and(|f| f.ethertype() == ETHERTYPE_SLOW_PROTOCOLS)
    }

    /// Parses an Ethernet frame (no FCS).
    pub fn parse(frame: &[u8]) -> Result<Self, WireError> {
        if frame.len() < ETH_HEADER_LEN + 1 {
            return Err(WireError::Truncated {
                need: ETH_HEADER_LEN + 1,
                have: frame.len(),
            });
        }
        let eth = EthernetFrame::new_checked(frame)?;
        if eth.ethertype() != ETHERTYPE_SLOW_PROTOCOLS {
            return Err(WireError::NotSlowProtocols(eth.ethertype()));
        }
        let body = eth.payload();
        let pdu = match body.first().copied().unwrap_or(0) {
            SUBTYPE_LACP => SlowPdu::Lacp(LacpduRepr::parse(body)?),
            SUBTYPE_MARKER => SlowPdu::Marker(MarkerRepr::parse(body)?),
            other => return Err(WireError::UnknownSubtype(other)),
        };
        Ok(SlowFrame {
            dst: eth.dst(),
            src: eth.src(),
            pdu,
        })
    }

    /// Length of the emitted frame (at least [`MIN_FRAME_LEN`]).
    pub fn buffer_len(&self) -> usize {
        let body = match &self.pdu {
            SlowPdu::Lacp(l) => l.buffer_len(),
            SlowPdu::Marker(m) => m.buffer_len(),
        };
        (ETH_HEADER_LEN + body).max(MIN_FRAME_LEN)
    }

    /// Writes the whole Ethernet frame; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let have = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(WireError::BufferTooSmall { need: len, have })?;
        let mut eth = EthernetFrame::new_checked(out)?;
        eth.set_dst(self.dst);
        eth.set_src(self.src);
        eth.set_ethertype(ETHERTYPE_SLOW_PROTOCOLS);
        let body = eth.payload_mut();
        let n = match &self.pdu {
            SlowPdu::Lacp(l) => l.emit(body)?,
            SlowPdu::Marker(m) => m.emit(body)?,
        };
        // Ethernet padding up to the minimum frame length, if any, is zero.
        body.get_mut(n..).unwrap_or_default().fill(0);
        Ok(len)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len()];
        // Cannot fail: the buffer has exactly the needed length.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LacpInfo, MarkerKind};

    #[test]
    fn lacp_frame_roundtrip() {
        let f = SlowFrame {
            dst: MacAddr::SLOW_PROTOCOLS,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: SlowPdu::Lacp(LacpduRepr {
                version: 1,
                actor: LacpInfo::default(),
                partner: LacpInfo::default(),
                ..Default::default()
            }),
        };
        let v = f.to_vec();
        assert_eq!(v.len(), 124);
        assert_eq!(
            &v[..14],
            &[1, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x09]
        );
        assert!(SlowFrame::is_slow_protocols(&v));
        assert_eq!(SlowFrame::parse(&v).unwrap(), f);
    }

    #[test]
    fn marker_frame_and_errors() {
        let f = SlowFrame {
            dst: MacAddr::SLOW_PROTOCOLS,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: SlowPdu::Marker(MarkerRepr {
                kind: MarkerKind::Information,
                version: 1,
                requester_port: 1,
                requester_system: MacAddr([2, 0, 0, 0, 0, 1]),
                transaction_id: 1,
            }),
        };
        let mut v = f.to_vec();
        assert_eq!(SlowFrame::parse(&v).unwrap(), f);
        v[14] = 10; // OAM or an unknown subtype
        assert_eq!(SlowFrame::parse(&v), Err(WireError::UnknownSubtype(10)));
        v[12] = 0x08;
        v[13] = 0x00;
        assert_eq!(
            SlowFrame::parse(&v),
            Err(WireError::NotSlowProtocols(0x0800))
        );
        assert!(SlowFrame::parse(&v[..10]).is_err());
        assert!(!SlowFrame::is_slow_protocols(&v), "IPv4");
    }

    /// A frame must hold the Ethernet header and a subtype octet: shorter ones are refused as
    /// truncated, whatever their EtherType says; the subtype octet alone is a truncated PDU.
    #[test]
    fn header_and_subtype_octet_are_required() {
        let v = SlowFrame {
            dst: MacAddr::SLOW_PROTOCOLS,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: SlowPdu::Lacp(LacpduRepr::default()),
        }
        .to_vec();
        let truncated = |need, have| Err(WireError::Truncated { need, have });
        assert_eq!(SlowFrame::parse(&v[..13]), truncated(15, 13));
        assert_eq!(SlowFrame::parse(&v[..14]), truncated(15, 14));
        assert_eq!(SlowFrame::parse(&v[..15]), truncated(110, 1));
        assert!(SlowFrame::is_slow_protocols(&v[..14]));
        assert!(!SlowFrame::is_slow_protocols(&v[..13]));
    }
}
