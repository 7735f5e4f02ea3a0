//! Panic-free big-endian field access for the DT PDU views: a read past the end yields zero, a
//! write past the end is dropped. The views check lengths before they read, so these only guard
//! against bugs, never against input.

use lagd_types::MacAddr;

/// `N` octets at `off`, zeros if absent.
pub(crate) fn array_at<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    b.get(off..off.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

/// The octet at `off`, 0 if absent.
pub(crate) fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// The big-endian `u16` at `off`, 0 if absent.
pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes(array_at(b, off))
}

/// The big-endian `u32` at `off`, 0 if absent.
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(array_at(b, off))
}

/// The MAC address at `off`, zero if absent.
pub(crate) fn mac_at(b: &[u8], off: usize) -> MacAddr {
    MacAddr(array_at(b, off))
}

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
    pub(crate) fn mac(&mut self, v: MacAddr) {
        self.buf.extend_from_slice(&v.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_never_panic_out_of_range() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), 0x0203);
        assert_eq!(u16_at(&b, 2), 0, "straddles the end");
        assert_eq!(u32_at(&b, usize::MAX), 0);
        assert_eq!(u8_at(&b, 3), 0);
        assert_eq!(mac_at(&b, 0), MacAddr::ZERO);
        let mut w = Writer::default();
        w.u8(1);
        w.u16(0x0203);
        w.u32(0x0405_0607);
        w.mac(MacAddr([8; 6]));
        assert_eq!(w.buf.len(), 13);
        assert_eq!(u32_at(&w.buf, 3), 0x0405_0607);
    }
}
