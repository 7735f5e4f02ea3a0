//! Marker PDU (slow-protocols subtype 2, IEEE 802.1AX-2014 §6.5.3).
//!
//! ```text
//!  0 subtype=2 | 1 version=1
//!  2 TLV type (1 = Marker Information, 2 = Marker Response) | 3 len=16
//!  4 Requester_Port(2) Requester_System(6) Requester_Transaction_ID(4) Pad(2)
//! 18 TLV 0x00 len 0: terminator
//! 20 reserved(90)
//! ```
//!
//! 110 octets in all, as in Linux (`struct bond_marker`) and Wireshark: a 128-octet frame with
//! the Ethernet header and FCS. [`MarkerPacket`] is the zero-copy view, [`MarkerRepr`] the
//! parsed form, decoded through the view.

use crate::WireError;
use crate::bytes::{mac_at, put, put_u8, put_u16, put_u32, u8_at, u16_at, u32_at};
use lagd_types::{MacAddr, PortNumber};
use serde::{Deserialize, Serialize};

/// Length of a Marker PDU, subtype to the end of the reserved octets.
pub const MARKER_PDU_LEN: usize = 110;

/// TLV_type of Marker Information.
const TLV_INFORMATION: u8 = 1;
/// TLV_type of Marker Response.
const TLV_RESPONSE: u8 = 2;
/// Marker_Information_Length / Marker_Response_Information_Length.
const INFO_LEN: u8 = 16;

/// Octet offsets of the Marker PDU fields, counted from the subtype octet.
mod field {
    pub const SUBTYPE: usize = 0;
    pub const VERSION: usize = 1;
    pub const TLV_TYPE: usize = 2;
    pub const INFO_LENGTH: usize = 3;
    pub const REQUESTER_PORT: usize = 4;
    pub const REQUESTER_SYSTEM: usize = 6;
    pub const REQUESTER_TRANSACTION_ID: usize = 12;
    pub const PAD: usize = 16;
    pub const TERMINATOR_TYPE: usize = 18;
    pub const TERMINATOR_LENGTH: usize = 19;
}

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

/// A zero-copy view of a Marker PDU, starting at its subtype octet (§6.5.3.3).
///
/// [`new_checked`](Self::new_checked) only checks the length ([`MARKER_PDU_LEN`]); the field
/// values are validated by [`MarkerRepr::parse`] (the TLV type only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkerPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MarkerPacket<T> {
    /// Wraps `buffer` after checking it holds at least [`MARKER_PDU_LEN`] octets.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let have = buffer.as_ref().len();
        if have < MARKER_PDU_LEN {
            return Err(WireError::Truncated {
                need: MARKER_PDU_LEN,
                have,
            });
        }
        Ok(MarkerPacket { buffer })
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, subtype octet first.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Slow-protocols subtype (2 for the Marker protocol).
    pub fn subtype(&self) -> u8 {
        u8_at(self.b(), field::SUBTYPE)
    }
    /// Version_Number.
    pub fn version(&self) -> u8 {
        u8_at(self.b(), field::VERSION)
    }
    /// TLV_type: 1 = Marker Information, 2 = Marker Response.
    pub fn tlv_type(&self) -> u8 {
        u8_at(self.b(), field::TLV_TYPE)
    }
    /// Marker_Information_Length (16).
    pub fn info_length(&self) -> u8 {
        u8_at(self.b(), field::INFO_LENGTH)
    }
    /// Requester_Port.
    pub fn requester_port(&self) -> PortNumber {
        u16_at(self.b(), field::REQUESTER_PORT)
    }
    /// Requester_System.
    pub fn requester_system(&self) -> MacAddr {
        mac_at(self.b(), field::REQUESTER_SYSTEM)
    }
    /// Requester_Transaction_ID.
    pub fn requester_transaction_id(&self) -> u32 {
        u32_at(self.b(), field::REQUESTER_TRANSACTION_ID)
    }
    /// The two Pad octets of the Marker TLV (transmitted as zero, ignored on receipt).
    pub fn pad(&self) -> u16 {
        u16_at(self.b(), field::PAD)
    }
    /// TLV_type of the Terminator (0).
    pub fn terminator_type(&self) -> u8 {
        u8_at(self.b(), field::TERMINATOR_TYPE)
    }
    /// Terminator_Length (0).
    pub fn terminator_length(&self) -> u8 {
        u8_at(self.b(), field::TERMINATOR_LENGTH)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MarkerPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    /// Sets the slow-protocols subtype.
    pub fn set_subtype(&mut self, v: u8) {
        put_u8(self.bm(), field::SUBTYPE, v)
    }
    /// Sets Version_Number.
    pub fn set_version(&mut self, v: u8) {
        put_u8(self.bm(), field::VERSION, v)
    }
    /// Sets TLV_type.
    pub fn set_tlv_type(&mut self, v: u8) {
        put_u8(self.bm(), field::TLV_TYPE, v)
    }
    /// Sets Marker_Information_Length.
    pub fn set_info_length(&mut self, v: u8) {
        put_u8(self.bm(), field::INFO_LENGTH, v)
    }
    /// Sets Requester_Port.
    pub fn set_requester_port(&mut self, v: PortNumber) {
        put_u16(self.bm(), field::REQUESTER_PORT, v)
    }
    /// Sets Requester_System.
    pub fn set_requester_system(&mut self, v: MacAddr) {
        put(self.bm(), field::REQUESTER_SYSTEM, &v.0)
    }
    /// Sets Requester_Transaction_ID.
    pub fn set_requester_transaction_id(&mut self, v: u32) {
        put_u32(self.bm(), field::REQUESTER_TRANSACTION_ID, v)
    }
    /// Sets the two Pad octets.
    pub fn set_pad(&mut self, v: u16) {
        put_u16(self.bm(), field::PAD, v)
    }
    /// Sets the Terminator's TLV_type and length octets.
    pub fn set_terminator(&mut self, tlv_type: u8, length: u8) {
        put_u8(self.bm(), field::TERMINATOR_TYPE, tlv_type);
        put_u8(self.bm(), field::TERMINATOR_LENGTH, length);
    }
}

impl MarkerRepr {
    /// Parses a Marker PDU starting at its subtype octet, as leniently as Linux's responder
    /// reads one: the TLV type must say Information (1) or Response (2); Information_Length
    /// (old Linux wrote 0x16), the Pad, the Terminator, the 90 reserved octets and anything
    /// after the 110 octets are not checked. Refused: fewer than 110 octets, another subtype,
    /// another TLV type.
    pub fn parse(pdu: &[u8]) -> Result<Self, WireError> {
        let p = MarkerPacket::new_checked(pdu)?;
        if p.subtype() != crate::SUBTYPE_MARKER {
            return Err(WireError::UnknownSubtype(p.subtype()));
        }
        let kind = match p.tlv_type() {
            TLV_INFORMATION => MarkerKind::Information,
            TLV_RESPONSE => MarkerKind::Response,
            t => {
                return Err(WireError::BadTlv {
                    offset: field::TLV_TYPE,
                    tlv_type: t,
                    length: p.info_length(),
                });
            }
        };
        Ok(MarkerRepr {
            kind,
            version: p.version(),
            requester_port: p.requester_port(),
            requester_system: p.requester_system(),
            transaction_id: p.requester_transaction_id(),
        })
    }

    /// Length this PDU occupies when emitted.
    pub const fn buffer_len(&self) -> usize {
        MARKER_PDU_LEN
    }

    /// Writes the PDU, subtype first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let have = buf.len();
        let b = buf
            .get_mut(..MARKER_PDU_LEN)
            .ok_or(WireError::BufferTooSmall {
                need: MARKER_PDU_LEN,
                have,
            })?;
        b.fill(0);
        let mut p = MarkerPacket::new_checked(b)?;
        p.set_subtype(crate::SUBTYPE_MARKER);
        p.set_version(self.version);
        p.set_tlv_type(match self.kind {
            MarkerKind::Information => TLV_INFORMATION,
            MarkerKind::Response => TLV_RESPONSE,
        });
        p.set_info_length(INFO_LEN);
        p.set_requester_port(self.requester_port);
        p.set_requester_system(self.requester_system);
        p.set_requester_transaction_id(self.transaction_id);
        // Pad, Terminator and reserved octets are the zeros already written.
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
        buf[2] = 3;
        assert!(MarkerRepr::parse(&buf).is_err());
        assert!(MarkerRepr::parse(&buf[..20]).is_err());
    }

    #[test]
    fn view_reads_and_writes_every_field() {
        let mut buf = vec![0u8; MARKER_PDU_LEN];
        let mut p = MarkerPacket::new_checked(&mut buf[..]).unwrap();
        p.set_subtype(2);
        p.set_version(1);
        p.set_tlv_type(2);
        p.set_info_length(16);
        p.set_requester_port(0x0102);
        p.set_requester_system(MacAddr([2, 0, 0, 0, 0, 9]));
        p.set_requester_transaction_id(0x0a0b_0c0d);
        p.set_pad(0);
        p.set_terminator(0, 0);
        assert_eq!(p.subtype(), 2);
        assert_eq!(p.version(), 1);
        assert_eq!((p.tlv_type(), p.info_length()), (2, 16));
        assert_eq!(p.requester_port(), 0x0102);
        assert_eq!(p.requester_system(), MacAddr([2, 0, 0, 0, 0, 9]));
        assert_eq!(p.requester_transaction_id(), 0x0a0b_0c0d);
        assert_eq!(
            (p.pad(), p.terminator_type(), p.terminator_length()),
            (0, 0, 0)
        );
        assert_eq!(
            &buf[4..16],
            &[1, 2, 2, 0, 0, 0, 0, 9, 0x0a, 0x0b, 0x0c, 0x0d]
        );
        let r = MarkerRepr::parse(&buf).unwrap();
        assert_eq!(r.kind, MarkerKind::Response);
        let mut emitted = [0u8; MARKER_PDU_LEN];
        r.emit(&mut emitted).unwrap();
        assert_eq!(buf, emitted);
        assert!(MarkerPacket::new_checked(&buf[..109]).is_err());
    }

    /// The Pad and the Terminator, which the parser ignores, are read and written where they
    /// stand (octets 16-19), and the view gives back the whole buffer.
    #[test]
    fn view_reads_and_writes_pad_and_terminator() {
        let mut buf: Vec<u8> = (0..MARKER_PDU_LEN as u8).collect();
        let mut p = MarkerPacket::new_checked(&mut buf[..]).unwrap();
        assert_eq!(
            (p.pad(), p.terminator_type(), p.terminator_length()),
            (0x1011, 0x12, 0x13)
        );
        p.set_pad(0xa1a2);
        p.set_terminator(0xb1, 0xb2);
        assert_eq!(
            (p.pad(), p.terminator_type(), p.terminator_length()),
            (0xa1a2, 0xb1, 0xb2)
        );
        assert_eq!(p.as_bytes().len(), MARKER_PDU_LEN);
        assert_eq!(
            &p.as_bytes()[14..22],
            &[14, 15, 0xa1, 0xa2, 0xb1, 0xb2, 20, 21]
        );
        assert_eq!(p.into_inner().len(), MARKER_PDU_LEN);
    }

    /// Issue 11, defect 3: Information_Length is not checked (old Linux wrote 0x16), nor the
    /// Terminator or octets after the PDU, as Linux's responder; the TLV type must say
    /// Information or Response.
    #[test]
    fn any_information_length_terminator_and_trailer_accepted() {
        let m = MarkerRepr {
            kind: MarkerKind::Information,
            version: 1,
            requester_port: 7,
            requester_system: MacAddr([2, 0, 0, 0, 0, 1]),
            transaction_id: 42,
        };
        let mut buf = [0u8; 120];
        m.emit(&mut buf).unwrap();
        buf[3] = 0x16;
        buf[18] = 5;
        buf[19] = 1;
        buf[110..].fill(0xee);
        assert_eq!(MarkerRepr::parse(&buf).unwrap(), m);
        buf[2] = 3;
        assert!(matches!(
            MarkerRepr::parse(&buf),
            Err(WireError::BadTlv { offset: 2, .. })
        ));
    }

    #[test]
    fn linux_sized_marker_with_nonzero_pad_and_reserved_is_accepted() {
        // 110 octets as Linux sends (struct bond_marker); pad and reserved are ignored.
        let m = MarkerRepr {
            kind: MarkerKind::Information,
            version: 1,
            requester_port: 7,
            requester_system: MacAddr([2, 0, 0, 0, 0, 1]),
            transaction_id: 42,
        };
        let mut buf = [0u8; MARKER_PDU_LEN];
        m.emit(&mut buf).unwrap();
        assert_eq!((buf[18], buf[19]), (0, 0), "terminator right after the TLV");
        buf[16] = 0xff;
        buf[17] = 0xff;
        buf[20..].fill(0x5a);
        assert_eq!(MarkerRepr::parse(&buf).unwrap(), m);
        buf[19] = 1;
        assert_eq!(
            MarkerRepr::parse(&buf).unwrap(),
            m,
            "the Terminator is not checked"
        );
    }
}
