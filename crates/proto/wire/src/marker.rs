//! Marker PDU (slow-protocols subtype 2, IEEE 802.1AX-2014 §6.5.3).
//!
//! ```text
//!  0 subtype=2 | 1 version=1
//!  2 TLV type (1 = Marker Information, 2 = Marker Response) | 3 len=16
//!  4 Requester_Port(2) Requester_System(6) Requester_Transaction_ID(4) Pad(2)
//! 20 TLV 0x00 len 0: terminator
//! 22 reserved(90)
//! ```

use crate::WireError;
use lagd_types::{MacAddr, PortNumber};
use serde::{Deserialize, Serialize};

/// Length of a Marker PDU, subtype to the end of the reserved octets.
pub const MARKER_PDU_LEN: usize = 112;

/// Marker Information or Marker Response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MarkerKind {
    /// TLV type 1: sent by the Marker generator.
    Information,
    /// TLV type 2: the responder's echo.
    Response,
}

/// A parsed Marker PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MarkerRepr {
    /// Information or Response.
    pub kind: MarkerKind,
    /// Version_Number as received.
    pub version: u8,
    /// Requester_Port.
    pub requester_port: PortNumber,
    /// Requester_System.
    pub requester_system: MacAddr,
    /// Requester_Transaction_ID.
    pub transaction_id: u32,
}

impl MarkerRepr {
    /// Parses a Marker PDU starting at its subtype octet.
    pub fn parse(pdu: &[u8]) -> Result<Self, WireError> {
        if pdu.len() < MARKER_PDU_LEN {
            return Err(WireError::Truncated {
                need: MARKER_PDU_LEN,
                have: pdu.len(),
            });
        }
        if pdu[0] != crate::SUBTYPE_MARKER {
            return Err(WireError::UnknownSubtype(pdu[0]));
        }
        let kind = match (pdu[2], pdu[3]) {
            (1, 16) => MarkerKind::Information,
            (2, 16) => MarkerKind::Response,
            (t, l) => {
                return Err(WireError::BadTlv {
                    offset: 2,
                    tlv_type: t,
                    length: l,
                });
            }
        };
        if pdu[20] != 0 || pdu[21] != 0 {
            return Err(WireError::BadTlv {
                offset: 20,
                tlv_type: pdu[20],
                length: pdu[21],
            });
        }
        let trailing = &pdu[MARKER_PDU_LEN..];
        if trailing.iter().any(|&b| b != 0) {
            return Err(WireError::TrailingGarbage(trailing.len()));
        }
        Ok(MarkerRepr {
            kind,
            version: pdu[1],
            requester_port: u16::from_be_bytes([pdu[4], pdu[5]]),
            requester_system: MacAddr([pdu[6], pdu[7], pdu[8], pdu[9], pdu[10], pdu[11]]),
            transaction_id: u32::from_be_bytes([pdu[12], pdu[13], pdu[14], pdu[15]]),
        })
    }

    /// Length this PDU occupies when emitted.
    pub const fn buffer_len(&self) -> usize {
        MARKER_PDU_LEN
    }

    /// Writes the PDU, subtype first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if buf.len() < MARKER_PDU_LEN {
            return Err(WireError::BufferTooSmall {
                need: MARKER_PDU_LEN,
                have: buf.len(),
            });
        }
        let b = &mut buf[..MARKER_PDU_LEN];
        b.fill(0);
        b[0] = crate::SUBTYPE_MARKER;
        b[1] = self.version;
        b[2] = match self.kind {
            MarkerKind::Information => 1,
            MarkerKind::Response => 2,
        };
        b[3] = 16;
        b[4..6].copy_from_slice(&self.requester_port.to_be_bytes());
        b[6..12].copy_from_slice(&self.requester_system.0);
        b[12..16].copy_from_slice(&self.transaction_id.to_be_bytes());
        Ok(MARKER_PDU_LEN)
    }

    /// The Marker Response a responder sends for this Marker Information (§6.5.4.2: the
    /// information is echoed unchanged with the TLV type set to Response).
    pub fn response(&self) -> MarkerRepr {
        MarkerRepr {
            kind: MarkerKind::Response,
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_response() {
        let m = MarkerRepr {
            kind: MarkerKind::Information,
            version: 1,
            requester_port: 3,
            requester_system: MacAddr([2, 0, 0, 0, 0, 1]),
            transaction_id: 0xdead_beef,
        };
        let mut buf = [0u8; MARKER_PDU_LEN];
        m.emit(&mut buf).unwrap();
        assert_eq!(MarkerRepr::parse(&buf).unwrap(), m);
        let r = m.response();
        r.emit(&mut buf).unwrap();
        assert_eq!(buf[2], 2);
        assert_eq!(MarkerRepr::parse(&buf).unwrap(), r);
        buf[3] = 17;
        assert!(MarkerRepr::parse(&buf).is_err());
        assert!(MarkerRepr::parse(&buf[..20]).is_err());
    }
}
