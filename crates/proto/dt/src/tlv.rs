//! DRCPDU-style TLVs (IEEE 802.1AX-2014 §9.4.3.2): a 2-octet header holding a 6-bit TLV_type
//! and a 10-bit length, then the value. As in the DRCPDU, the length counts the value octets
//! only; the Terminator is type 0, length 0.

use crate::DtWireError;

/// Length of a TLV header.
pub const TLV_HEADER_LEN: usize = 2;
/// Largest value a 10-bit length can describe.
pub const MAX_TLV_VALUE: usize = 0x3ff;

/// Packs a TLV header: type in the top 6 bits, length in the low 10 bits.
pub(crate) fn header(tlv_type: u8, length: usize) -> [u8; 2] {
    let len = u16::try_from(length.min(MAX_TLV_VALUE)).unwrap_or(0x3ff);
    (u16::from(tlv_type & 0x3f) << 10 | len).to_be_bytes()
}

/// Splits a TLV header into (type, length).
pub(crate) fn split(h: [u8; 2]) -> (u8, u16) {
    let v = u16::from_be_bytes(h);
    ((v >> 10) as u8, v & 0x3ff)
}

/// One TLV of a DT PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtTlv<'a> {
    /// Offset of the TLV header within the PDU (from the subtype octet).
    pub offset: usize,
    /// The 6-bit TLV_type (0 = Terminator).
    pub tlv_type: u8,
    /// The value octets (empty for the Terminator).
    pub value: &'a [u8],
}

/// Iterator over the TLVs of a PDU, ending with the Terminator (included). Yields an error and
/// stops when a TLV runs past the buffer or the buffer ends without a Terminator.
#[derive(Clone, Debug)]
pub struct DtTlvs<'a> {
    buf: &'a [u8],
    off: usize,
    done: bool,
}

impl<'a> DtTlvs<'a> {
    /// TLVs of `buf` from offset `off`.
    pub(crate) fn new(buf: &'a [u8], off: usize) -> Self {
        DtTlvs {
            buf,
            off,
            done: false,
        }
    }

    fn step(&mut self) -> Result<DtTlv<'a>, DtWireError> {
        let off = self.off;
        let h: [u8; 2] = self
            .buf
            .get(off..off.saturating_add(TLV_HEADER_LEN))
            .and_then(|s| s.try_into().ok())
            .ok_or(DtWireError::Truncated {
                need: off.saturating_add(TLV_HEADER_LEN),
                have: self.buf.len(),
            })?;
        let (tlv_type, length) = split(h);
        if tlv_type == 0 {
            if length != 0 {
                return Err(DtWireError::BadTlv {
                    offset: off,
                    tlv_type,
                    length,
                });
            }
            self.done = true;
            return Ok(DtTlv {
                offset: off,
                tlv_type,
                value: &[],
            });
        }
        let start = off.saturating_add(TLV_HEADER_LEN);
        let end = start.saturating_add(usize::from(length));
        let value = self.buf.get(start..end).ok_or(DtWireError::Truncated {
            need: end,
            have: self.buf.len(),
        })?;
        self.off = end;
        Ok(DtTlv {
            offset: off,
            tlv_type,
            value,
        })
    }
}

impl<'a> Iterator for DtTlvs<'a> {
    type Item = Result<DtTlv<'a>, DtWireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.step();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_packs_six_and_ten_bits() {
        assert_eq!(header(1, 16), [0x04, 0x10]);
        assert_eq!(split(header(63, 1023)), (63, 1023));
        assert_eq!(split(header(3, 1)), (3, 1));
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
