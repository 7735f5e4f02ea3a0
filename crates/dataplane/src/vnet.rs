//! The virtio-net header (`struct virtio_net_hdr`, 10 bytes) that both a TAP with
//! `IFF_VNET_HDR` and an AF_PACKET socket with `PACKET_VNET_HDR` put in front of each frame.
//!
//! It carries the offload state of a frame: a GSO super-frame (up to 64 KiB) still to be
//! segmented, or a checksum still to be completed. lagd passes it through unchanged between the
//! TAP and the member sockets, so userspace never segments nor computes checksums. The fields are
//! in host byte order (legacy virtio, `TUNSETVNETLE`/`BE` not used).

/// Length of the header on the wire between kernel and userspace.
pub const VNET_HDR_LEN: usize = 10;

/// A decoded `struct virtio_net_hdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `VIRTIO_NET_HDR_F_*` flags.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*` type, possibly or-ed with [`VnetHdr::GSO_ECN`].
    pub gso_type: u8,
    /// Length of the headers to copy into each segment.
    pub hdr_len: u16,
    /// Payload bytes per segment (MSS).
    pub gso_size: u16,
    /// Where checksumming starts.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum is partial and must be completed.
    pub const F_NEEDS_CSUM: u8 = 1;
    /// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was already verified.
    pub const F_DATA_VALID: u8 = 2;
    /// `VIRTIO_NET_HDR_GSO_NONE`.
    pub const GSO_NONE: u8 = 0;
    /// `VIRTIO_NET_HDR_GSO_TCPV4`.
    pub const GSO_TCPV4: u8 = 1;
    /// `VIRTIO_NET_HDR_GSO_UDP` (UFO).
    pub const GSO_UDP: u8 = 3;
    /// `VIRTIO_NET_HDR_GSO_TCPV6`.
    pub const GSO_TCPV6: u8 = 4;
    /// `VIRTIO_NET_HDR_GSO_UDP_L4` (USO).
    pub const GSO_UDP_L4: u8 = 5;
    /// `VIRTIO_NET_HDR_GSO_ECN`, or-ed into `gso_type`.
    pub const GSO_ECN: u8 = 0x80;

    /// The "plain" header for a frame without offloads (all zero): what lagd puts in front of
    /// the control frames (LACPDUs, Marker PDUs) it sends.
    pub const PLAIN: VnetHdr = VnetHdr {
        flags: 0,
        gso_type: 0,
        hdr_len: 0,
        gso_size: 0,
        csum_start: 0,
        csum_offset: 0,
    };

    /// Decodes the first [`VNET_HDR_LEN`] bytes of `b`; `None` if shorter.
    pub fn parse(b: &[u8]) -> Option<VnetHdr> {
        let h: &[u8; VNET_HDR_LEN] = b.get(..VNET_HDR_LEN)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_ne_bytes([h[i], h[i + 1]]);
        Some(VnetHdr {
            flags: h[0],
            gso_type: h[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        })
    }

    /// Encodes into the 10 bytes of the header.
    pub fn to_bytes(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// Whether the frame is a GSO super-frame.
    pub const fn is_gso(&self) -> bool {
        self.gso_type & !Self::GSO_ECN != Self::GSO_NONE
    }

    /// Whether the frame's checksum is partial.
    pub const fn needs_csum(&self) -> bool {
        self.flags & Self::F_NEEDS_CSUM != 0
    }
}

/// Builds a frame buffer `plain vnet header ++ frame` for a socket or TAP that expects one.
pub fn with_plain_header(frame: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(VNET_HDR_LEN + frame.len());
    v.extend_from_slice(&VnetHdr::PLAIN.to_bytes());
    v.extend_from_slice(frame);
    v
}

impl VnetHdr {
    /// How many frames `ethernet` (the frame this header describes) is on the wire: 1, or for
    /// a GSO super-frame the number of segments it is cut into, `ceil(payload / gso_size)`.
    /// This is what a member's packet counters should count, so that per-member packet shares
    /// (`%Ipkts`, `%Opkts`) read like those of a hardware NIC. The header length comes from
    /// `csum_start` (the transport header's offset) and the TCP data offset, since `hdr_len`
    /// is only a hint (some kernels put the whole linear part there).
    pub fn wire_frames(&self, ethernet: &[u8]) -> u64 {
        if !self.is_gso() || self.gso_size == 0 {
            return 1;
        }
        let l4 = usize::from(self.csum_start);
        let headers = match self.gso_type & !Self::GSO_ECN {
            Self::GSO_TCPV4 | Self::GSO_TCPV6 => ethernet
                .get(l4 + 12)
                .map(|off| l4 + usize::from(off >> 4) * 4),
            Self::GSO_UDP | Self::GSO_UDP_L4 => Some(l4 + 8),
            _ => None,
        }
        .filter(|h| *h <= ethernet.len())
        .unwrap_or_else(|| usize::from(self.hdr_len).min(ethernet.len()));
        let payload = ethernet.len() - headers;
        payload.div_ceil(usize::from(self.gso_size)).max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_flags() {
        let h = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: VnetHdr::GSO_TCPV4 | VnetHdr::GSO_ECN,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let b = h.to_bytes();
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert!(h.is_gso() && h.needs_csum());
        let plain = VnetHdr::parse(&[0u8; 12]).unwrap_or(h);
        assert_eq!(plain, VnetHdr::PLAIN);
        assert!(!plain.is_gso() && !plain.needs_csum());
        assert!(VnetHdr::parse(&b[..9]).is_none());
        let ecn_only = VnetHdr {
            gso_type: VnetHdr::GSO_ECN,
            ..VnetHdr::PLAIN
        };
        assert!(!ecn_only.is_gso());
    }

    #[test]
    fn plain_header_prefix() {
        let v = with_plain_header(&[1, 2, 3]);
        assert_eq!(v.len(), VNET_HDR_LEN + 3);
        assert!(v[..VNET_HDR_LEN].iter().all(|&b| b == 0));
        assert_eq!(&v[VNET_HDR_LEN..], &[1, 2, 3]);
    }

    #[test]
    fn wire_frames_counts_gso_segments() {
        // Ethernet (14) + IPv4 (20) + TCP with options (32) + 10 000 bytes, MSS 1448.
        let mut f = vec![0u8; 14 + 20 + 32 + 10_000];
        f[14 + 20 + 12] = 8 << 4;
        let v = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: VnetHdr::GSO_TCPV4,
            hdr_len: 14 + 20 + 32 + 1000, // a kernel may put the linear part here
            gso_size: 1448,
            csum_start: 14 + 20,
            csum_offset: 16,
        };
        assert_eq!(v.wire_frames(&f), 7); // ceil(10000 / 1448)
        assert_eq!(VnetHdr::PLAIN.wire_frames(&f), 1);
        let ecn = VnetHdr {
            gso_type: VnetHdr::GSO_TCPV6 | VnetHdr::GSO_ECN,
            ..v
        };
        assert_eq!(ecn.wire_frames(&f), 7);
        // Truncated or odd frames never panic and count at least one.
        assert_eq!(v.wire_frames(&f[..20]), 1);
    }
}
