//! IPv6 Neighbor Discovery (RFC 4861 §4.3, §4.4): Neighbor Solicitation and Advertisement in
//! an IPv6 packet with no extension header, the link-layer address option, the ICMPv6
//! checksum. Switch-independent load balancing reads the host's advertisements and writes
//! unsolicited ones (§7.2.6) with a member's address.

use core::net::Ipv6Addr;

use crate::WireError;
use crate::arp::L2Header;
use crate::bytes::{array_at, mac_at, put, put_u16, u8_at, u16_at};
use lagd_types::MacAddr;

/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPV6_HEADER_LEN: usize = 40;
const NEXT_HEADER_ICMPV6: u8 = 58;
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
/// ICMPv6 type (1), code (1), checksum (2), flags/reserved (4), target (16).
const ND_LEN: usize = 24;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// The all-nodes multicast address ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The Ethernet address of an IPv6 multicast group (RFC 2464 §7): 33:33 and its last 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// A Neighbor Discovery message of the two kinds lagd reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NdMessage {
    /// Neighbor Solicitation: who has `target`? (with the sender's link-layer address).
    Solicit {
        /// The address asked for.
        target: Ipv6Addr,
        /// The Source Link-Layer Address option.
        source_lladdr: Option<MacAddr>,
    },
    /// Neighbor Advertisement: `target` is at `target_lladdr`.
    Advert {
        /// R: the sender is a router.
        router: bool,
        /// S: an answer to a solicitation.
        solicited: bool,
        /// O: replace a cached link-layer address.
        override_: bool,
        /// The address advertised.
        target: Ipv6Addr,
        /// The Target Link-Layer Address option.
        target_lladdr: Option<MacAddr>,
    },
}

/// A parsed Neighbor Discovery packet: the IPv6 addresses and the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NdRepr {
    /// IPv6 source address.
    pub src: Ipv6Addr,
    /// IPv6 destination address.
    pub dst: Ipv6Addr,
    /// The message.
    pub message: NdMessage,
}

/// The ICMPv6 checksum of `msg` between `src` and `dst` (RFC 8200 §8.1).
fn checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
            sum = sum.wrapping_add(u32::from(w));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl NdRepr {
    /// Parses an IPv6 packet (from its version octet) carrying a Neighbor Solicitation or
    /// Advertisement. Refused ([`WireError::NotNdisc`]): another next header (extension
    /// headers included), another ICMPv6 type, a hop limit other than 255 (RFC 4861 §7.1.1),
    /// a bad checksum; truncations as [`WireError::Truncated`].
    pub fn parse(pkt: &[u8]) -> Result<Self, WireError> {
        let have = pkt.len();
        if have < IPV6_HEADER_LEN + ND_LEN {
            return Err(WireError::Truncated {
                need: IPV6_HEADER_LEN + ND_LEN,
                have,
            });
        }
        if u8_at(pkt, 0) >> 4 != 6 || u8_at(pkt, 6) != NEXT_HEADER_ICMPV6 || u8_at(pkt, 7) != 255 {
            return Err(WireError::NotNdisc);
        }
        let plen = usize::from(u16_at(pkt, 4));
        let msg = pkt
            .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + plen)
            .ok_or(WireError::Truncated {
                need: IPV6_HEADER_LEN + plen,
                have,
            })?;
        if msg.len() < ND_LEN {
            return Err(WireError::NotNdisc);
        }
        let src = Ipv6Addr::from(array_at::<16>(pkt, 8));
        let dst = Ipv6Addr::from(array_at::<16>(pkt, 24));
        if checksum(src, dst, msg) != 0 || u8_at(msg, 1) != 0 {
            return Err(WireError::NotNdisc);
        }
        let target = Ipv6Addr::from(array_at::<16>(msg, 8));
        let option = |want: u8| {
            let mut off = ND_LEN;
            while off + 8 <= msg.len() {
                let (t, l) = (u8_at(msg, off), usize::from(u8_at(msg, off + 1)) * 8);
                if l == 0 {
                    return None;
                }
                if t == want && l == 8 {
                    return Some(mac_at(msg, off + 2));
                }
                off += l;
            }
            None
        };
        let message = match u8_at(msg, 0) {
            ICMPV6_NS => NdMessage::Solicit {
                target,
                source_lladdr: option(OPT_SOURCE_LLADDR),
            },
            ICMPV6_NA => {
                let f = u8_at(msg, 4);
                NdMessage::Advert {
                    router: f & 0x80 != 0,
                    solicited: f & 0x40 != 0,
                    override_: f & 0x20 != 0,
                    target,
                    target_lladdr: option(OPT_TARGET_LLADDR),
                }
            }
            _ => return Err(WireError::NotNdisc),
        };
        Ok(NdRepr { src, dst, message })
    }

    /// Length of the IPv6 packet when emitted.
    pub fn buffer_len(&self) -> usize {
        let lladdr = match self.message {
            NdMessage::Solicit { source_lladdr, .. } => source_lladdr.is_some(),
            NdMessage::Advert { target_lladdr, .. } => target_lladdr.is_some(),
        };
        IPV6_HEADER_LEN + ND_LEN + if lladdr { 8 } else { 0 }
    }

    /// Writes the IPv6 packet with a correct checksum; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let need = self.buffer_len();
        let have = buf.len();
        let b = buf
            .get_mut(..need)
            .ok_or(WireError::BufferTooSmall { need, have })?;
        b.fill(0);
        put(b, 0, &[0x60, 0, 0, 0]);
        put_u16(b, 4, (need - IPV6_HEADER_LEN) as u16);
        put(b, 6, &[NEXT_HEADER_ICMPV6, 255]);
        put(b, 8, &self.src.octets());
        put(b, 24, &self.dst.octets());
        let m = IPV6_HEADER_LEN;
        let (ty, flags, target, opt) = match self.message {
            NdMessage::Solicit {
                target,
                source_lladdr,
            } => (
                ICMPV6_NS,
                0,
                target,
                source_lladdr.map(|a| (OPT_SOURCE_LLADDR, a)),
            ),
            NdMessage::Advert {
                router,
                solicited,
                override_,
                target,
                target_lladdr,
            } => (
                ICMPV6_NA,
                (u8::from(router) << 7) | (u8::from(solicited) << 6) | (u8::from(override_) << 5),
                target,
                target_lladdr.map(|a| (OPT_TARGET_LLADDR, a)),
            ),
        };
        put(b, m, &[ty, 0]);
        put(b, m + 4, &[flags]);
        put(b, m + 8, &target.octets());
        if let Some((t, a)) = opt {
            put(b, m + ND_LEN, &[t, 1]);
            put(b, m + ND_LEN + 2, &a.0);
        }
        let sum = checksum(self.src, self.dst, b.get(m..).unwrap_or_default());
        put_u16(b, m + 2, sum);
        Ok(need)
    }

    /// An unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) of `addr` at `mac`, to
    /// `dst` (all-nodes, or one neighbour), with the Override flag.
    pub fn unsolicited(addr: Ipv6Addr, mac: MacAddr, dst: Ipv6Addr) -> NdRepr {
        NdRepr {
            src: addr,
            dst,
            message: NdMessage::Advert {
                router: false,
                solicited: false,
                override_: true,
                target: addr,
                target_lladdr: Some(mac),
            },
        }
    }
}

/// A Neighbor Discovery frame: its Ethernet header and the IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdFrame {
    /// The Ethernet header (EtherType [`ETHERTYPE_IPV6`]).
    pub l2: L2Header,
    /// The Neighbor Discovery packet.
    pub nd: NdRepr,
}

impl NdFrame {
    /// Parses a whole frame; [`WireError::NotNdisc`] if it is not IPv6 Neighbor Discovery.
    pub fn parse(frame: &[u8]) -> Result<Self, WireError> {
        let l2 = L2Header::parse(frame)?;
        if l2.ethertype != ETHERTYPE_IPV6 {
            return Err(WireError::NotNdisc);
        }
        let nd = NdRepr::parse(frame.get(l2.payload..).unwrap_or_default())?;
        Ok(NdFrame { l2, nd })
    }

    /// A frame from `src` to `dst` (tagged with `vlan` if given) carrying `nd`.
    pub fn new(src: MacAddr, dst: MacAddr, vlan: Option<u16>, nd: NdRepr) -> Self {
        NdFrame {
            l2: L2Header::new(src, dst, vlan, ETHERTYPE_IPV6),
            nd,
        }
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0u8; self.l2.len() + self.nd.buffer_len()];
        let n = self.l2.emit(&mut buf).unwrap_or(0);
        let _ = self.nd.emit(buf.get_mut(n..).unwrap_or_default());
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    fn ip(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, last)
    }

    #[test]
    fn unsolicited_advert_round_trip() {
        let nd = NdRepr::unsolicited(ip(1), A, ALL_NODES);
        for vlan in [None, Some(7)] {
            let f = NdFrame::new(A, multicast_mac(ALL_NODES), vlan, nd);
            let bytes = f.to_bytes();
            assert_eq!(NdFrame::parse(&bytes), Ok(f));
        }
        assert_eq!(multicast_mac(ALL_NODES), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    }

    #[test]
    fn checksum_matches_a_known_packet() {
        // An unsolicited NA for 2001:2::1 at 02:00:00:00:00:01 to ff02::1; checksum computed
        // independently (Python, RFC 1071 over the pseudo-header).
        let nd = NdRepr::unsolicited(ip(1), A, ALL_NODES);
        let mut b = [0u8; 72];
        assert_eq!(nd.emit(&mut b), Ok(72));
        assert_eq!(u16_at(&b, 42), 0x1497);
    }

    #[test]
    fn refuses_bad_checksum_hop_limit_and_other_icmp() {
        let nd = NdRepr {
            src: ip(2),
            dst: ip(1),
            message: NdMessage::Solicit {
                target: ip(1),
                source_lladdr: Some(A),
            },
        };
        let mut b = vec![0u8; nd.buffer_len()];
        nd.emit(&mut b).unwrap();
        assert_eq!(NdRepr::parse(&b), Ok(nd));
        let mut bad = b.clone();
        bad[50] ^= 1;
        assert_eq!(NdRepr::parse(&bad), Err(WireError::NotNdisc));
        let mut hop = b.clone();
        hop[7] = 64;
        assert_eq!(NdRepr::parse(&hop), Err(WireError::NotNdisc));
        assert!(NdRepr::parse(&b[..50]).is_err());
        let mut long = b.clone();
        long[5] = 200; // payload length beyond the buffer
        assert!(matches!(
            NdRepr::parse(&long),
            Err(WireError::Truncated { .. })
        ));
        let mut zero_opt = b.clone();
        zero_opt[65] = 0; // option length 0: no option read, no endless loop
        assert!(NdRepr::parse(&zero_opt).is_err());
    }
}
