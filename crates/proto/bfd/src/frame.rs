//! The encapsulation of micro-BFD (RFC 7130 §2.2 over RFC 5881): an untagged Ethernet II
//! frame, IPv4 with TTL 255, UDP to port 6784, the BFD Control packet.
//!
//! ```text
//!  0 Ethernet: destination(6) source(6) EtherType 0x0800
//! 14 IPv4: 0x45, TOS 0xc0, total length, id 0, DF, TTL 255, protocol 17, checksum, src, dst
//! 34 UDP: source port (49152-65535), destination port 6784, length, checksum
//! 42 BFD Control packet (24 octets)
//! ```
//!
//! The destination MAC is [`MICRO_BFD_MAC`] until the peer's MAC is known (RFC 7130 §2.2).
//! [`MicroBfdFrame::emit`] computes both checksums; [`MicroBfdFrame::parse`] verifies them.

use crate::bytes::{array_at, internet_checksum, put, put_u8, put_u16, u8_at, u16_at};
use crate::{BFD_CONTROL_LEN, BfdRepr, BfdWireError};
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// UDP destination port of micro-BFD (RFC 7130 §2.2, IANA "bfd-lag").
pub const UDP_PORT_MICRO_BFD: u16 = 6784;
/// The dedicated destination MAC of micro-BFD before the peer's is known (RFC 7130 §2.2).
pub const MICRO_BFD_MAC: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0x90, 0x00, 0x01]);
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// The TTL sent and required on receipt (RFC 5881 §5, the GTSM rule).
pub const BFD_TTL: u8 = 255;
/// First UDP source port allowed (RFC 5881 §4: 49152 through 65535).
pub const UDP_SOURCE_PORT_MIN: u16 = 49152;
/// Length of a whole micro-BFD frame lagd emits (no FCS).
pub const MICRO_BFD_FRAME_LEN: usize = ETH_LEN + IPV4_LEN + UDP_LEN + BFD_CONTROL_LEN;

const ETH_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const UDP_LEN: usize = 8;
const IP_PROTO_UDP: u8 = 17;
/// IP precedence 6 (Internetwork Control), as routing protocols and BFD implementations send.
const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;
/// Don't Fragment.
const IP_FLAG_DF: u16 = 0x4000;

/// Octet offsets, from the start of the Ethernet frame for the Ethernet fields and from the
/// start of the IPv4 or UDP header for theirs.
mod field {
    pub const ETH_DST: usize = 0;
    pub const ETH_SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
    pub const IP_VER_IHL: usize = 0;
    pub const IP_TOS: usize = 1;
    pub const IP_TOTAL_LEN: usize = 2;
    pub const IP_FRAG: usize = 6;
    pub const IP_TTL: usize = 8;
    pub const IP_PROTO: usize = 9;
    pub const IP_CHECKSUM: usize = 10;
    pub const IP_SRC: usize = 12;
    pub const IP_DST: usize = 16;
    pub const UDP_SRC: usize = 0;
    pub const UDP_DST: usize = 2;
    pub const UDP_LEN: usize = 4;
    pub const UDP_CHECKSUM: usize = 6;
}

/// A parsed micro-BFD frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MicroBfdFrame {
    /// Destination MAC: [`MICRO_BFD_MAC`] or the peer's.
    pub dst: MacAddr,
    /// Source MAC: the sending member's.
    pub src: MacAddr,
    /// IPv4 source address.
    pub src_ip: Ipv4Addr,
    /// IPv4 destination address.
    pub dst_ip: Ipv4Addr,
    /// IP TTL (255 when sent by lagd; checked on receipt by the session layer).
    pub ttl: u8,
    /// UDP source port (49152-65535, one per session).
    pub src_port: u16,
    /// The BFD Control packet.
    pub bfd: BfdRepr,
}

/// The one's-complement sum of the UDP pseudo-header (RFC 768), not folded.
fn pseudo_header_sum(src: [u8; 4], dst: [u8; 4], udp_len: u16) -> u32 {
    let w = |a: [u8; 4]| {
        u32::from(u16::from_be_bytes([a[0], a[1]])) + u32::from(u16::from_be_bytes([a[2], a[3]]))
    };
    w(src) + w(dst) + u32::from(IP_PROTO_UDP) + u32::from(udp_len)
}

impl MicroBfdFrame {
    /// Whether `frame` is a micro-BFD frame (untagged IPv4, UDP, destination port 6784),
    /// without checking anything else: the receive path's classifier.
    pub fn is_micro_bfd(frame: &[u8]) -> bool {
        let ip = frame.get(ETH_LEN..).unwrap_or_default();
        let ihl = usize::from(u8_at(ip, field::IP_VER_IHL) & 0x0f) * 4;
        u16_at(frame, field::ETHERTYPE) == ETHERTYPE_IPV4
            && u8_at(ip, field::IP_VER_IHL) >> 4 == 4
            && ihl >= IPV4_LEN
            && u8_at(ip, field::IP_PROTO) == IP_PROTO_UDP
            && u16_at(frame, ETH_LEN + ihl + field::UDP_DST) == UDP_PORT_MICRO_BFD
    }

    /// Parses a whole Ethernet frame (no FCS): IPv4 header (any options skipped, checksum
    /// verified, no fragment), UDP (length within the IP packet, destination port 6784,
    /// checksum verified unless zero), then the BFD Control packet ([`BfdRepr::parse`]).
    /// Ethernet padding past the IP total length is ignored. The TTL is returned, not checked.
    pub fn parse(frame: &[u8]) -> Result<Self, BfdWireError> {
        let need = ETH_LEN + IPV4_LEN;
        if frame.len() < need {
            return Err(BfdWireError::Truncated {
                need,
                have: frame.len(),
            });
        }
        let ethertype = u16_at(frame, field::ETHERTYPE);
        if ethertype != ETHERTYPE_IPV4 {
            return Err(BfdWireError::NotIpv4(ethertype));
        }
        let ip_all = frame.get(ETH_LEN..).unwrap_or_default();
        let ver_ihl = u8_at(ip_all, field::IP_VER_IHL);
        if ver_ihl >> 4 != 4 {
            return Err(BfdWireError::BadIpv4("version is not 4"));
        }
        let ihl = usize::from(ver_ihl & 0x0f) * 4;
        if ihl < IPV4_LEN {
            return Err(BfdWireError::BadIpv4("header length below 20"));
        }
        let total = usize::from(u16_at(ip_all, field::IP_TOTAL_LEN));
        if total < ihl || total > ip_all.len() {
            return Err(BfdWireError::BadIpv4("total length outside the frame"));
        }
        let ip = ip_all.get(..total).unwrap_or_default();
        if u16_at(ip, field::IP_FRAG) & 0x3fff != 0 {
            return Err(BfdWireError::BadIpv4("fragment"));
        }
        if internet_checksum(0, ip.get(..ihl).unwrap_or_default()) != 0 {
            return Err(BfdWireError::Ipv4Checksum);
        }
        let proto = u8_at(ip, field::IP_PROTO);
        if proto != IP_PROTO_UDP {
            return Err(BfdWireError::NotUdp(proto));
        }
        let udp_all = ip.get(ihl..).unwrap_or_default();
        if udp_all.len() < UDP_LEN {
            return Err(BfdWireError::BadUdp("shorter than its header"));
        }
        let udp_len = u16_at(udp_all, field::UDP_LEN);
        if usize::from(udp_len) < UDP_LEN || usize::from(udp_len) > udp_all.len() {
            return Err(BfdWireError::BadUdp("length outside the IP packet"));
        }
        let udp = udp_all.get(..usize::from(udp_len)).unwrap_or_default();
        let dst_port = u16_at(udp, field::UDP_DST);
        if dst_port != UDP_PORT_MICRO_BFD {
            return Err(BfdWireError::NotMicroBfd(dst_port));
        }
        let src_ip = array_at::<4>(ip, field::IP_SRC);
        let dst_ip = array_at::<4>(ip, field::IP_DST);
        if u16_at(udp, field::UDP_CHECKSUM) != 0
            && internet_checksum(pseudo_header_sum(src_ip, dst_ip, udp_len), udp) != 0
        {
            return Err(BfdWireError::UdpChecksum);
        }
        let bfd = BfdRepr::parse(udp.get(UDP_LEN..).unwrap_or_default())?;
        Ok(MicroBfdFrame {
            dst: MacAddr(array_at(frame, field::ETH_DST)),
            src: MacAddr(array_at(frame, field::ETH_SRC)),
            src_ip: Ipv4Addr::from(src_ip),
            dst_ip: Ipv4Addr::from(dst_ip),
            ttl: u8_at(ip, field::IP_TTL),
            src_port: u16_at(udp, field::UDP_SRC),
            bfd,
        })
    }

    /// Length of the emitted frame.
    pub const fn buffer_len(&self) -> usize {
        MICRO_BFD_FRAME_LEN
    }

    /// Writes the whole frame with both checksums; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BfdWireError> {
        let have = buf.len();
        let out = buf
            .get_mut(..MICRO_BFD_FRAME_LEN)
            .ok_or(BfdWireError::BufferTooSmall {
                need: MICRO_BFD_FRAME_LEN,
                have,
            })?;
        out.fill(0);
        put(out, field::ETH_DST, &self.dst.0);
        put(out, field::ETH_SRC, &self.src.0);
        put_u16(out, field::ETHERTYPE, ETHERTYPE_IPV4);
        let udp_len = (UDP_LEN + BFD_CONTROL_LEN) as u16;
        let (ip, udp) = out
            .get_mut(ETH_LEN..)
            .unwrap_or_default()
            .split_at_mut(IPV4_LEN);
        put_u8(ip, field::IP_VER_IHL, 0x45);
        put_u8(ip, field::IP_TOS, TOS_INTERNETWORK_CONTROL);
        put_u16(ip, field::IP_TOTAL_LEN, (IPV4_LEN as u16) + udp_len);
        put_u16(ip, field::IP_FRAG, IP_FLAG_DF);
        put_u8(ip, field::IP_TTL, self.ttl);
        put_u8(ip, field::IP_PROTO, IP_PROTO_UDP);
        put(ip, field::IP_SRC, &self.src_ip.octets());
        put(ip, field::IP_DST, &self.dst_ip.octets());
        let c = internet_checksum(0, ip);
        put_u16(ip, field::IP_CHECKSUM, c);
        put_u16(udp, field::UDP_SRC, self.src_port);
        put_u16(udp, field::UDP_DST, UDP_PORT_MICRO_BFD);
        put_u16(udp, field::UDP_LEN, udp_len);
        self.bfd.emit(udp.get_mut(UDP_LEN..).unwrap_or_default())?;
        let sum = pseudo_header_sum(self.src_ip.octets(), self.dst_ip.octets(), udp_len);
        let c = internet_checksum(sum, udp);
        // RFC 768: a computed checksum of zero is sent as all ones.
        put_u16(udp, field::UDP_CHECKSUM, if c == 0 { 0xffff } else { c });
        Ok(MICRO_BFD_FRAME_LEN)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; MICRO_BFD_FRAME_LEN];
        // Cannot fail: the buffer has exactly the needed length.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Diag, SessionState};

    fn sample() -> MicroBfdFrame {
        MicroBfdFrame {
            dst: MICRO_BFD_MAC,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            dst_ip: Ipv4Addr::new(198, 18, 0, 2),
            ttl: BFD_TTL,
            src_port: 49153,
            bfd: BfdRepr {
                diag: Diag::NoDiagnostic,
                state: SessionState::Down,
                detect_mult: 3,
                my_discriminator: 7,
                desired_min_tx_interval: 1_000_000,
                required_min_rx_interval: 50_000,
                ..BfdRepr::default()
            },
        }
    }

    #[test]
    fn roundtrip_and_checksums() {
        let f = sample();
        let v = f.to_vec();
        assert_eq!(v.len(), 66);
        assert_eq!(&v[..6], &[1, 0, 0x5e, 0x90, 0, 1]);
        assert_eq!(&v[12..14], &[8, 0]);
        assert_eq!(v[14 + 8], 255, "TTL");
        assert_eq!(&v[36..38], &[0x1a, 0x80], "port 6784");
        assert_eq!(internet_checksum(0, &v[14..34]), 0, "IP header verifies");
        let udp = &v[34..];
        assert_eq!(
            internet_checksum(pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], 32), udp),
            0,
            "UDP verifies"
        );
        assert!(MicroBfdFrame::is_micro_bfd(&v));
        assert_eq!(MicroBfdFrame::parse(&v).unwrap(), f);
        // Ethernet padding is ignored.
        let mut padded = v.clone();
        padded.extend_from_slice(&[0xaa; 10]);
        assert_eq!(MicroBfdFrame::parse(&padded).unwrap(), f);
    }

    #[test]
    fn refusals() {
        let v = sample().to_vec();
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut c = v.clone();
            f(&mut c);
            MicroBfdFrame::parse(&c)
        };
        assert_eq!(bad(&|c| c[12] = 0x86), Err(BfdWireError::NotIpv4(0x8600)));
        assert!(matches!(
            bad(&|c| c[14] = 0x65),
            Err(BfdWireError::BadIpv4(_))
        ));
        assert!(matches!(
            bad(&|c| c[14] = 0x44),
            Err(BfdWireError::BadIpv4(_))
        ));
        assert!(matches!(
            bad(&|c| c[17] = 200),
            Err(BfdWireError::BadIpv4(_))
        ));
        assert!(matches!(
            bad(&|c| c[17] = 10),
            Err(BfdWireError::BadIpv4(_))
        ));
        assert!(matches!(
            bad(&|c| c[20] = 0x20),
            Err(BfdWireError::BadIpv4("fragment"))
        ));
        assert!(matches!(
            bad(&|c| c[21] = 1),
            Err(BfdWireError::BadIpv4("fragment"))
        ));
        assert_eq!(bad(&|c| c[22] = 64), Err(BfdWireError::Ipv4Checksum));
        assert_eq!(bad(&|c| c[26] ^= 1), Err(BfdWireError::Ipv4Checksum));
        assert_eq!(bad(&|c| c[50] ^= 1), Err(BfdWireError::UdpChecksum));
        assert!(
            bad(&|c| {
                c[50] ^= 1;
                c[40..42].fill(0)
            })
            .is_ok(),
            "UDP checksum zero means none"
        );
        assert!(matches!(bad(&|c| c[39] = 7), Err(BfdWireError::BadUdp(_))));
        assert!(matches!(bad(&|c| c[39] = 33), Err(BfdWireError::BadUdp(_))));
        assert!(matches!(
            MicroBfdFrame::parse(&v[..20]),
            Err(BfdWireError::Truncated { .. })
        ));
        // A UDP packet to another port, checksums right.
        let mut other = v.clone();
        other[36..38].copy_from_slice(&3784u16.to_be_bytes());
        assert!(!MicroBfdFrame::is_micro_bfd(&other));
        other[40..42].fill(0);
        assert_eq!(
            MicroBfdFrame::parse(&other),
            Err(BfdWireError::NotMicroBfd(3784))
        );
        // Not UDP (fix the IP checksum).
        let mut tcp = v.clone();
        tcp[23] = 6;
        tcp[24..26].fill(0);
        let c = internet_checksum(0, &tcp[14..34]);
        tcp[24..26].copy_from_slice(&c.to_be_bytes());
        assert_eq!(MicroBfdFrame::parse(&tcp), Err(BfdWireError::NotUdp(6)));
        assert!(!MicroBfdFrame::is_micro_bfd(&tcp));
        let mut short = [0u8; 65];
        assert!(sample().emit(&mut short).is_err());
    }
}
