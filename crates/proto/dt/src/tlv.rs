//! DRCPDU-style TLVs (IEEE 802.1AX-2014 §9.4.3.2): a 2-octet header holding a 6-bit TLV_type
//! and a 10-bit length, then the value. As in the DRCPDU, the length counts the value octets
//! only; the Terminator is type 0, length 0. The walk itself is `lagd_wire`'s, shared with the
//! LACPDU; this module only says how the header reads.

use crate::DtWireError;
use lagd_wire::{TlvError, TlvLayout, Tlvs};

/// Length of a TLV header.
pub const TLV_HEADER_LEN: usize = 2;
/// Largest value a 10-bit length can describe.
pub const MAX_TLV_VALUE: usize = 0x3ff;

/// Packs a TLV header: type in the top 6 bits, length in the low 10 bits.
pub(crate) fn header(tlv_type: u8, length: usize) -> [u8; 2] {
    let len = u16::try_from(length.min(MAX_TLV_VALUE)).unwrap_or(0x3ff);
    (u16::from(tlv_type & 0x3f) << 10 | len).to_be_bytes()
}

/// The DRCPDU TLV header layout.
#[derive(Clone, Copy, Debug)]
pub struct DrcpTlvLayout;

impl TlvLayout for DrcpTlvLayout {
    const HEADER_LEN: usize = TLV_HEADER_LEN;
    fn split(h: &[u8]) -> (u8, u16) {
        let v = u16::from_be_bytes([
            h.first().copied().unwrap_or(0),
            h.get(1).copied().unwrap_or(0),
        ]);
        ((v >> 10) as u8, v & 0x3ff)
    }
    fn value_len(_: u8, length: u16) -> Option<usize> {
        Some(usize::from(length))
    }
}

/// One TLV of a DT PDU (`offset` from the subtype octet; `length` = value octets).
pub type DtTlv<'a> = lagd_wire::Tlv<'a>;

/// Iterator over the TLVs of a PDU, ending with the Terminator (included). Yields an error and
/// stops when a TLV runs past the buffer or the buffer ends without a Terminator.
#[derive(Clone, Debug)]
pub struct DtTlvs<'a>(Tlvs<'a, DrcpTlvLayout>);

impl<'a> DtTlvs<'a> {
    /// TLVs of `buf` from offset `off`.
    pub(crate) fn new(buf: &'a [u8], off: usize) -> Self {
        DtTlvs(Tlvs::new(buf, off))
    }
}

impl<'a> Iterator for DtTlvs<'a> {
    type Item = Result<DtTlv<'a>, DtWireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|r| {
            r.map_err(|e| match e {
                TlvError::Truncated { need, have } => DtWireError::Truncated { need, have },
                TlvError::BadHeader {
                    offset,
                    tlv_type,
                    length,
                } => DtWireError::BadTlv {
                    offset,
                    tlv_type,
                    length,
                },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(h: [u8; 2]) -> (u8, u16) {
        DrcpTlvLayout::split(&h)
    }

    #[test]
    fn header_packs_six_and_ten_bits() {
        assert_eq!(header(1, 16), [0x04, 0x10]);
        assert_eq!(split(header(63, 1023)), (63, 1023));
        assert_eq!(split(header(3, 1)), (3, 1));
        assert_eq!(split(header(3, 5000)), (3, 1023), "clamped");
        assert_eq!(split([0, 0]), (0, 0));
    }

    #[test]
    fn walks_and_stops_on_errors() {
        let buf = [0x04, 0x02, 0xaa, 0xbb, 0x00, 0x00, 0xff];
        let v: Vec<_> = DtTlvs::new(&buf, 0).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            Ok(DtTlv {
                offset: 0,
                tlv_type: 1,
                length: 2,
                value: &[0xaa, 0xbb]
            })
        );
        assert_eq!(v[1].map(|t| t.tlv_type), Ok(0));
        // Runs past the end.
        let bad = [0x04, 0x05, 0xaa];
        let v: Vec<_> = DtTlvs::new(&bad, 0).collect();
        assert_eq!(v, vec![Err(DtWireError::Truncated { need: 7, have: 3 })]);
        // No terminator.
        let none = [0x04, 0x00];
        let v: Vec<_> = DtTlvs::new(&none, 0).collect();
        assert!(v.last().is_some_and(|r| r.is_err()));
        // A terminator with a length.
        let t = [0x00, 0x01, 0x00];
        assert!(matches!(
            DtTlvs::new(&t, 0).next(),
            Some(Err(DtWireError::BadTlv { .. }))
        ));
    }
}
