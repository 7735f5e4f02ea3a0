//! The header of a UDP stream datagram: magic, stream id, sequence number, planned total and
//! send timestamp, big-endian, followed by padding up to the configured payload size.

/// Magic number opening every stream datagram (`"LAGD"`).
pub const MAGIC: u32 = 0x4c41_4744;

/// Length of the encoded header; the smallest allowed payload.
pub const HEADER_LEN: usize = 4 + 4 + 8 + 8 + 8;

/// One stream datagram's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPacket {
    /// Which stream (several streams can share a receiver port).
    pub stream_id: u32,
    /// Sequence number, from 0.
    pub seq: u64,
    /// How many datagrams the sender plans to send in all (0: unknown).
    pub total: u64,
    /// Send time, `CLOCK_MONOTONIC` nanoseconds.
    pub sent_ns: u64,
}

impl StreamPacket {
    /// Writes the header into the start of `buf` (which must hold [`HEADER_LEN`] bytes); returns
    /// `false`, writing nothing, when it is too short.
    pub fn encode(&self, buf: &mut [u8]) -> bool {
        let Some(h) = buf.get_mut(..HEADER_LEN) else {
            return false;
        };
        let (magic, rest) = h.split_at_mut(4);
        let (id, rest) = rest.split_at_mut(4);
        let (seq, rest) = rest.split_at_mut(8);
        let (total, sent) = rest.split_at_mut(8);
        magic.copy_from_slice(&MAGIC.to_be_bytes());
        id.copy_from_slice(&self.stream_id.to_be_bytes());
        seq.copy_from_slice(&self.seq.to_be_bytes());
        total.copy_from_slice(&self.total.to_be_bytes());
        sent.copy_from_slice(&self.sent_ns.to_be_bytes());
        true
    }

    /// Parses a received datagram; `None` when it is too short or lacks the magic.
    pub fn decode(buf: &[u8]) -> Option<StreamPacket> {
        let magic = u32::from_be_bytes(buf.get(0..4)?.try_into().ok()?);
        if magic != MAGIC {
            return None;
        }
        Some(StreamPacket {
            stream_id: u32::from_be_bytes(buf.get(4..8)?.try_into().ok()?),
            seq: u64::from_be_bytes(buf.get(8..16)?.try_into().ok()?),
            total: u64::from_be_bytes(buf.get(16..24)?.try_into().ok()?),
            sent_ns: u64::from_be_bytes(buf.get(24..32)?.try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = StreamPacket {
            stream_id: 7,
            seq: 0x0102_0304_0506_0708,
            total: 1000,
            sent_ns: 123_456_789,
        };
        let mut buf = [0u8; 64];
        assert!(p.encode(&mut buf));
        assert_eq!(buf.get(..4), Some(&b"LAGD"[..]));
        assert_eq!(StreamPacket::decode(&buf), Some(p));
        assert_eq!(
            StreamPacket::decode(buf.get(..HEADER_LEN).unwrap_or(&[])),
            Some(p)
        );
    }

    #[test]
    fn short_or_foreign_datagrams_are_refused() {
        let p = StreamPacket {
            stream_id: 1,
            seq: 2,
            total: 3,
            sent_ns: 4,
        };
        let mut short = [0u8; HEADER_LEN - 1];
        assert!(!p.encode(&mut short));
        assert_eq!(StreamPacket::decode(&short), None);
        let mut buf = [0u8; HEADER_LEN];
        assert!(p.encode(&mut buf));
        buf[0] ^= 0xff;
        assert_eq!(StreamPacket::decode(&buf), None);
        assert_eq!(StreamPacket::decode(&[]), None);
    }
}
