//! A zero-copy walk over a sequence of TLVs ending with a Terminator, for every TLV layout of
//! the link aggregation family: the LACPDU's (8-bit type, 8-bit length counting the header) and
//! the DRCPDU's (6-bit type, 10-bit length counting the value only, IEEE 802.1AX-2014
//! §9.4.3.2). A [`TlvLayout`] says how a header reads; [`Tlvs`] does the rest once.

use thiserror::Error;

/// How a TLV header of one format reads.
pub trait TlvLayout {
    /// Octets of the header.
    const HEADER_LEN: usize;
    /// The TLV type and raw length field of `header` (`HEADER_LEN` octets).
    fn split(header: &[u8]) -> (u8, u16);
    /// The number of value octets a TLV whose header holds `length` carries, `None` when no TLV
    /// of that type may have that length field (e.g. a LACP length below its header).
    fn value_len(tlv_type: u8, length: u16) -> Option<usize>;
}

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TlvError {
    /// A TLV runs past the buffer, or the buffer ends before the Terminator.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes required.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A header no TLV may have (a Terminator with a length, a length below the header).
    #[error("bad TLV at offset {offset}: type {tlv_type}, length {length}")]
    BadHeader {
        /// Offset of the header in the buffer.
        offset: usize,
        /// The type.
        tlv_type: u8,
        /// The raw length field.
        length: u16,
    },
}

/// One TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Offset of the header in the buffer.
    pub offset: usize,
    /// The type (0 = Terminator).
    pub tlv_type: u8,
    /// The raw length field of the header.
    pub length: u16,
    /// The value octets (empty for the Terminator).
    pub value: &'a [u8],
}

/// The TLVs of a buffer from an offset, up to and including the Terminator (type 0, length 0).
/// Yields an error and stops when a TLV runs past the buffer, a header is impossible, or the
/// buffer ends without a Terminator.
#[derive(Clone, Debug)]
pub struct Tlvs<'a, L> {
    buf: &'a [u8],
    off: usize,
    done: bool,
    layout: core::marker::PhantomData<L>,
}

impl<'a, L: TlvLayout> Tlvs<'a, L> {
    /// The TLVs of `buf` from offset `off`.
    pub fn new(buf: &'a [u8], off: usize) -> Self {
        Tlvs {
            buf,
            off,
            done: false,
            layout: core::marker::PhantomData,
        }
    }

    fn step(&mut self) -> Result<Tlv<'a>, TlvError> {
        let off = self.off;
        let start = off.saturating_add(L::HEADER_LEN);
        let header = self.buf.get(off..start).ok_or(TlvError::Truncated {
            need: start,
            have: self.buf.len(),
        })?;
        let (tlv_type, length) = L::split(header);
        let bad = TlvError::BadHeader {
            offset: off,
            tlv_type,
            length,
        };
        if tlv_type == 0 {
            if length != 0 {
                return Err(bad);
            }
            self.done = true;
            return Ok(Tlv {
                offset: off,
                tlv_type,
                length,
                value: &[],
            });
        }
        let end = start.saturating_add(L::value_len(tlv_type, length).ok_or(bad)?);
        let value = self.buf.get(start..end).ok_or(TlvError::Truncated {
            need: end,
            have: self.buf.len(),
        })?;
        self.off = end;
        Ok(Tlv {
            offset: off,
            tlv_type,
            length,
            value,
        })
    }
}

impl<'a, L: TlvLayout> Iterator for Tlvs<'a, L> {
    type Item = Result<Tlv<'a>, TlvError>;

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
    use crate::lacpdu::LacpTlvLayout as Lacp;

    #[test]
    fn walks_stops_and_refuses() {
        let buf = [9, 4, 0xaa, 0xbb, 0, 0, 0xff];
        let v: Vec<_> = Tlvs::<Lacp>::new(&buf, 0).collect();
        assert_eq!(
            v,
            vec![
                Ok(Tlv {
                    offset: 0,
                    tlv_type: 9,
                    length: 4,
                    value: &[0xaa, 0xbb]
                }),
                Ok(Tlv {
                    offset: 4,
                    tlv_type: 0,
                    length: 0,
                    value: &[]
                })
            ]
        );
        let v: Vec<_> = Tlvs::<Lacp>::new(&[9, 5, 1], 0).collect();
        assert_eq!(v, vec![Err(TlvError::Truncated { need: 5, have: 3 })]);
        let v: Vec<_> = Tlvs::<Lacp>::new(&[9, 1, 1], 0).collect();
        assert!(matches!(
            v[..],
            [Err(TlvError::BadHeader { length: 1, .. })]
        ));
        let v: Vec<_> = Tlvs::<Lacp>::new(&[0, 1], 0).collect();
        assert!(matches!(v[..], [Err(TlvError::BadHeader { .. })]));
        let v: Vec<_> = Tlvs::<Lacp>::new(&[9, 2], 0).collect();
        assert_eq!(v.len(), 2, "a TLV then the missing terminator");
        assert!(v[1].is_err());
        assert_eq!(Tlvs::<Lacp>::new(&[], usize::MAX).count(), 1);
    }
}
