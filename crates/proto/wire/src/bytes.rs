//! Panic-free big-endian field access shared by the zero-copy views.
//!
//! The views check the buffer length once in `new_checked`, so every offset they use is in
//! range; these helpers still never index out of bounds (a read past the end yields zero, a
//! write past the end is dropped), so a view can never panic whatever its buffer does.

use lagd_types::MacAddr;

/// The octet at `off`, 0 if absent.
pub fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// The big-endian `u16` at `off`, 0 if absent.
pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes(array_at(b, off))
}

/// The big-endian `u32` at `off`, 0 if absent.
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(array_at(b, off))
}

/// The MAC address at `off`, zero if absent.
pub fn mac_at(b: &[u8], off: usize) -> MacAddr {
    MacAddr(array_at(b, off))
}

/// `N` octets at `off`, zeros if absent.
pub fn array_at<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    b.get(off..off.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

/// Writes `v` at `off` if the buffer is long enough.
pub fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off.saturating_add(v.len())) {
        d.copy_from_slice(v);
    }
}

/// Writes one octet at `off` if the buffer is long enough.
pub fn put_u8(b: &mut [u8], off: usize, v: u8) {
    put(b, off, &[v]);
}

/// Writes a big-endian `u16` at `off` if the buffer is long enough.
pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_be_bytes());
}

/// Writes a big-endian `u32` at `off` if the buffer is long enough.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_be_bytes());
}

/// Zeroes `len` octets at `off` (as far as the buffer reaches).
pub fn zero(b: &mut [u8], off: usize, len: usize) {
    let end = off.saturating_add(len).min(b.len());
    if let Some(d) = b.get_mut(off..end) {
        d.fill(0);
    }
}

/// The Internet checksum (RFC 1071) of `data`, continuing the one's-complement sum `sum`:
/// the folded, complemented 16-bit result.
pub fn internet_checksum(mut sum: u32, data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_never_panic_out_of_range() {
        let mut b = [0u8; 4];
        put_u16(&mut b, 1, 0xabcd);
        assert_eq!(b, [0, 0xab, 0xcd, 0]);
        assert_eq!(u16_at(&b, 1), 0xabcd);
        assert_eq!(u16_at(&b, 3), 0, "straddles the end");
        assert_eq!(u32_at(&b, usize::MAX), 0);
        put_u32(&mut b, 2, 0xffff_ffff); // does not fit: dropped
        assert_eq!(b, [0, 0xab, 0xcd, 0]);
        put_u8(&mut b, 3, 7);
        assert_eq!(u8_at(&b, 3), 7);
        assert_eq!(u8_at(&b, 4), 0);
        zero(&mut b, 2, 100);
        assert_eq!(b, [0, 0xab, 0, 0]);
        assert_eq!(mac_at(&b, 0), MacAddr::ZERO);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 (complement 220d).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(0, &d), !0xddf2);
        // Odd length: the last octet is the high half of a word.
        assert_eq!(internet_checksum(0, &[0x01]), !0x0100);
        // A header with its own checksum in place sums to zero.
        let mut h = [
            0x45u8, 0, 0, 0x34, 0, 0, 0x40, 0, 0xff, 0x11, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
        ];
        let c = internet_checksum(0, &h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(internet_checksum(0, &h), 0);
    }
}
