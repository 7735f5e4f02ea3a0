//! Data frames built by the simulator: real Ethernet II / IPv4 / TCP or UDP headers (so the
//! distributor hashes real bytes), then a payload carrying the flow id and a sequence number.
//!
//! Payload layout (after the L4 header): `"LSIM"` magic (4), flow id (u32 BE), sequence (u64
//! BE), then zero padding up to the frame size.

use lagd_types::MacAddr;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// A frame as the simulator passes it around (shared, immutable).
pub type Frame = Rc<[u8]>;

/// IPv4 EtherType.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Magic at the start of every simulated payload.
pub const MAGIC: [u8; 4] = *b"LSIM";
/// Bytes of Ethernet + IPv4 + the largest L4 header (TCP) + our payload header.
pub const MIN_DATA_FRAME: usize = 14 + 20 + 20 + 16;

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (IP protocol 6), 20-octet header.
    Tcp,
    /// UDP (IP protocol 17), 8-octet header.
    Udp,
}

impl Protocol {
    /// IP protocol number.
    pub const fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }
    const fn header_len(self) -> usize {
        match self {
            Protocol::Tcp => 20,
            Protocol::Udp => 8,
        }
    }
    /// Smallest frame that carries this protocol's header and our payload header (at least
    /// the 60-octet Ethernet minimum).
    pub const fn min_frame(self) -> usize {
        let n = 14 + 20 + self.header_len() + 16;
        if n < 60 { 60 } else { n }
    }
}

/// The addresses of one flow's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// Ethernet source.
    pub src_mac: MacAddr,
    /// Ethernet destination.
    pub dst_mac: MacAddr,
    /// IPv4 source.
    pub src_ip: Ipv4Addr,
    /// IPv4 destination.
    pub dst_ip: Ipv4Addr,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// L4 source port.
    pub src_port: u16,
    /// L4 destination port.
    pub dst_port: u16,
    /// Ethernet frame length without FCS (at least [`MIN_DATA_FRAME`], at most 9018).
    pub size: usize,
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl FrameSpec {
    /// Builds the frame carrying `seq` of flow `flow`.
    pub fn build(&self, flow: u32, seq: u64) -> Vec<u8> {
        let size = self.size.clamp(self.protocol.min_frame(), 9018);
        let mut f = vec![0u8; size];
        f[0..6].copy_from_slice(&self.dst_mac.0);
        f[6..12].copy_from_slice(&self.src_mac.0);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let ip_len = (size - 14) as u16;
        {
            let ip = &mut f[14..34];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
            ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = self.protocol.number();
            ip[12..16].copy_from_slice(&self.src_ip.octets());
            ip[16..20].copy_from_slice(&self.dst_ip.octets());
            let c = ip_checksum(ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
        }
        let l4 = 34;
        f[l4..l4 + 2].copy_from_slice(&self.src_port.to_be_bytes());
        f[l4 + 2..l4 + 4].copy_from_slice(&self.dst_port.to_be_bytes());
        match self.protocol {
            Protocol::Tcp => {
                f[l4 + 4..l4 + 8].copy_from_slice(&(seq as u32).to_be_bytes());
                f[l4 + 12] = 5 << 4; // data offset
                f[l4 + 13] = 0x18; // PSH, ACK
                f[l4 + 14..l4 + 16].copy_from_slice(&65535u16.to_be_bytes());
            }
            Protocol::Udp => {
                let ulen = (size - l4) as u16;
                f[l4 + 4..l4 + 6].copy_from_slice(&ulen.to_be_bytes());
            }
        }
        let p = l4 + self.protocol.header_len();
        f[p..p + 4].copy_from_slice(&MAGIC);
        f[p + 4..p + 8].copy_from_slice(&flow.to_be_bytes());
        f[p + 8..p + 16].copy_from_slice(&seq.to_be_bytes());
        f
    }
}

/// The flow id and sequence number of a simulated data frame, `None` for anything else.
pub fn parse_data(frame: &[u8]) -> Option<(u32, u64)> {
    if frame.get(12..14)? != ETHERTYPE_IPV4.to_be_bytes() {
        return None;
    }
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let proto = *frame.get(23)?;
    let l4 = 14 + ihl;
    let hl = match proto {
        6 => usize::from(frame.get(l4 + 12)? >> 4) * 4,
        17 => 8,
        _ => return None,
    };
    let p = l4 + hl;
    if frame.get(p..p + 4)? != MAGIC {
        return None;
    }
    let flow = u32::from_be_bytes(frame.get(p + 4..p + 8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(frame.get(p + 8..p + 16)?.try_into().ok()?);
    Some((flow, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(protocol: Protocol, size: usize) -> FrameSpec {
        FrameSpec {
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            src_ip: Ipv4Addr::new(10, 0, 0, 1),
            dst_ip: Ipv4Addr::new(10, 0, 0, 2),
            protocol,
            src_port: 5001,
            dst_port: 80,
            size,
        }
    }

    #[test]
    fn build_and_parse_tcp_udp() {
        for p in [Protocol::Tcp, Protocol::Udp] {
            let f = spec(p, 1500).build(7, 123_456);
            assert_eq!(f.len(), 1500);
            assert_eq!(parse_data(&f), Some((7, 123_456)));
            assert_eq!(f[23], p.number());
            // a valid IPv4 header checksums to zero
            assert_eq!(ip_checksum(&f[14..34]), 0);
        }
        let tiny = spec(Protocol::Tcp, 10).build(1, 1);
        assert_eq!(tiny.len(), MIN_DATA_FRAME);
        let tiny = spec(Protocol::Udp, 10).build(1, 1);
        assert_eq!(tiny.len(), 60);
        assert_eq!(parse_data(&tiny), Some((1, 1)));
        assert_eq!(parse_data(&tiny), Some((1, 1)));
    }

    #[test]
    fn parse_refuses_other_frames_without_panicking() {
        let f = spec(Protocol::Udp, 200).build(1, 2);
        for n in 0..f.len() {
            let _ = parse_data(&f[..n]);
        }
        assert_eq!(parse_data(&f[..40]), None);
        let mut g = f.clone();
        g[12] = 0x88;
        g[13] = 0x09;
        assert_eq!(parse_data(&g), None);
        let mut h = f;
        h[42] = b'X';
        assert_eq!(parse_data(&h), None);
    }
}
