//! Big-endian field access for the DT PDU views: the readers are `lagd_wire`'s (panic-free: a
//! read past the end yields zero); [`Writer`] appends to a vector for `emit`.

pub(crate) use lagd_wire::bytes::{array_at, mac_at, u8_at, u16_at, u32_at};

/// The big-endian `u64` at `off`, 0 if absent.
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_be_bytes(array_at(b, off))
}
use lagd_types::MacAddr;

/// A growable big-endian writer used by `emit` (the length is computed first, so the vector
/// never reallocates in practice).
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn mac(&mut self, v: MacAddr) {
        self.buf.extend_from_slice(&v.0);
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_big_endian() {
        let mut w = Writer::default();
        w.u8(1);
        w.u16(0x0203);
        w.u32(0x0405_0607);
        w.mac(MacAddr([8; 6]));
        w.u64(9);
        w.bytes(&[10]);
        assert_eq!(w.buf.len(), 22);
        assert_eq!(u32_at(&w.buf, 3), 0x0405_0607);
        assert_eq!(u16_at(&w.buf, 1), 0x0203);
        assert_eq!(mac_at(&w.buf, 7), MacAddr([8; 6]));
        assert_eq!(u8_at(&w.buf, 21), 10);
    }
}
