//! The byte pattern of a TCP flow and its verifier.
//!
//! A flow opens with a [`Hello`] (magic and flow id), then carries the bytes of a fixed
//! pseudo-random table of prime length [`PERIOD`], repeated, starting at a flow-specific phase.
//! Because the period is prime and far from any segment size, a lost, duplicated, reordered or
//! altered piece of the byte stream does not match, unless it is shifted by an exact multiple of
//! the period. Both sides slice the pattern out of a doubled table: no per-byte work.

/// Length of the repeated table, a prime.
pub const PERIOD: usize = 65_521;

/// Magic opening a flow (`"LGTF"`).
pub const HELLO_MAGIC: u32 = 0x4c47_5446;

/// Length of the encoded [`Hello`].
pub const HELLO_LEN: usize = 8;

/// The first bytes of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// The flow's id, which sets its pattern phase.
    pub flow_id: u32,
}

impl Hello {
    /// Encodes the hello.
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        let (m, id) = b.split_at_mut(4);
        m.copy_from_slice(&HELLO_MAGIC.to_be_bytes());
        id.copy_from_slice(&self.flow_id.to_be_bytes());
        b
    }

    /// Decodes a hello; `None` without the magic.
    pub fn decode(b: &[u8; HELLO_LEN]) -> Option<Hello> {
        let (m, id) = b.split_at(4);
        if u32::from_be_bytes(m.try_into().ok()?) != HELLO_MAGIC {
            return None;
        }
        Some(Hello {
            flow_id: u32::from_be_bytes(id.try_into().ok()?),
        })
    }
}

/// The pattern table, twice over, so that any `PERIOD` bytes from any phase are one slice.
#[derive(Debug, Clone)]
pub struct Pattern {
    doubled: Vec<u8>,
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern::new()
    }
}

impl Pattern {
    /// Builds the table (xorshift64 from a fixed seed).
    pub fn new() -> Pattern {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut doubled = Vec::with_capacity(2 * PERIOD);
        for _ in 0..PERIOD {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            doubled.push((x >> 24) as u8);
        }
        doubled.extend_from_within(..);
        Pattern { doubled }
    }

    /// Phase of flow `flow_id` at stream offset `offset` (bytes after the hello).
    fn phase(flow_id: u32, offset: u64) -> usize {
        let p = PERIOD as u64;
        let start = (u64::from(flow_id) * 7_919) % p;
        ((start + offset % p) % p) as usize
    }

    /// The pattern bytes of flow `flow_id` from `offset`, at most `max` (and at most
    /// [`PERIOD`]) of them.
    pub fn slice(&self, flow_id: u32, offset: u64, max: usize) -> &[u8] {
        let ph = Pattern::phase(flow_id, offset);
        let n = max.min(PERIOD);
        self.doubled.get(ph..ph + n).unwrap_or(&[])
    }
}

/// Checks the bytes of one flow as they arrive.
#[derive(Debug, Clone)]
pub struct Verifier {
    flow_id: u32,
    offset: u64,
    corrupt_at: Option<u64>,
}

impl Verifier {
    /// A verifier for flow `flow_id`, at offset 0.
    pub fn new(flow_id: u32) -> Verifier {
        Verifier {
            flow_id,
            offset: 0,
            corrupt_at: None,
        }
    }

    /// Checks the next bytes of the stream; after the first mismatch, only counts.
    pub fn check(&mut self, pattern: &Pattern, mut data: &[u8]) {
        while !data.is_empty() {
            let want = pattern.slice(self.flow_id, self.offset, data.len());
            if want.is_empty() {
                break;
            }
            let (now, rest) = data.split_at(want.len().min(data.len()));
            if self.corrupt_at.is_none() && now != want {
                let i = now.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
                self.corrupt_at = Some(self.offset + i as u64);
            }
            self.offset += now.len() as u64;
            data = rest;
        }
    }

    /// Bytes checked so far.
    pub fn bytes(&self) -> u64 {
        self.offset
    }

    /// Offset of the first wrong byte, if any.
    pub fn corrupt_at(&self) -> Option<u64> {
        self.corrupt_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(p: &Pattern, flow: u32, len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        while v.len() < len {
            let s = p.slice(flow, v.len() as u64, len - v.len());
            v.extend_from_slice(s);
        }
        v
    }

    #[test]
    fn hello_round_trip() {
        let h = Hello { flow_id: 77 };
        assert_eq!(Hello::decode(&h.encode()), Some(h));
        assert_eq!(Hello::decode(&[0u8; HELLO_LEN]), None);
    }

    #[test]
    fn intact_stream_verifies_in_any_chunking() {
        let p = Pattern::new();
        let data = stream(&p, 5, 3 * PERIOD + 1234);
        let mut v = Verifier::new(5);
        for chunk in data.chunks(1447) {
            v.check(&p, chunk);
        }
        assert_eq!(v.corrupt_at(), None);
        assert_eq!(v.bytes(), data.len() as u64);
    }

    #[test]
    fn altered_missing_or_swapped_bytes_are_caught() {
        let p = Pattern::new();
        let data = stream(&p, 1, 200_000);
        // One byte flipped.
        let mut bad = data.clone();
        bad[150_000] ^= 1;
        let mut v = Verifier::new(1);
        v.check(&p, &bad);
        assert_eq!(v.corrupt_at(), Some(150_000));
        // A segment lost.
        let mut v = Verifier::new(1);
        v.check(&p, &data[..10_000]);
        v.check(&p, &data[11_448..]);
        assert_eq!(v.corrupt_at(), Some(10_000));
        // Two segments swapped.
        let mut v = Verifier::new(1);
        v.check(&p, &data[..1448]);
        v.check(&p, &data[2896..4344]);
        v.check(&p, &data[1448..2896]);
        assert_eq!(v.corrupt_at(), Some(1448));
        // Another flow's bytes.
        let mut v = Verifier::new(2);
        v.check(&p, &data[..100]);
        assert!(v.corrupt_at().is_some());
    }
}
