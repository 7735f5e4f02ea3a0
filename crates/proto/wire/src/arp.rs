//! ARP for IPv4 over Ethernet (RFC 826): a zero-copy view beside a parsed representation, and
//! the whole frame around it (one optional 802.1Q tag), as switch-independent load balancing
//! reads the host's ARP and writes replies and gratuitous ARP.

use core::net::Ipv4Addr;

use crate::WireError;
use crate::bytes::{array_at, mac_at, put, put_u16, u8_at, u16_at};
use crate::frame::{ETH_HEADER_LEN, MIN_FRAME_LEN};
use lagd_types::MacAddr;

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;

mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

/// The ARP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArpOp {
    /// 1: who has `target_ip`?
    Request,
    /// 2: `sender_ip` is at `sender_mac`.
    Reply,
}

/// A zero-copy view of an ARP packet (the Ethernet payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` after checking it holds the 28 octets of an Ethernet/IPv4 ARP packet.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let have = buffer.as_ref().len();
        if have < ARP_LEN {
            return Err(WireError::Truncated {
                need: ARP_LEN,
                have,
            });
        }
        Ok(ArpPacket { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// Hardware type (1 = Ethernet).
    pub fn htype(&self) -> u16 {
        u16_at(self.b(), field::HTYPE)
    }
    /// Protocol type (0x0800 = IPv4).
    pub fn ptype(&self) -> u16 {
        u16_at(self.b(), field::PTYPE)
    }
    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        u8_at(self.b(), field::HLEN)
    }
    /// Protocol address length.
    pub fn plen(&self) -> u8 {
        u8_at(self.b(), field::PLEN)
    }
    /// Operation code.
    pub fn oper(&self) -> u16 {
        u16_at(self.b(), field::OPER)
    }
    /// Sender hardware address.
    pub fn sha(&self) -> MacAddr {
        mac_at(self.b(), field::SHA)
    }
    /// Sender protocol address.
    pub fn spa(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.b(), field::SPA))
    }
    /// Target hardware address.
    pub fn tha(&self) -> MacAddr {
        mac_at(self.b(), field::THA)
    }
    /// Target protocol address.
    pub fn tpa(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.b(), field::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the sender hardware address.
    pub fn set_sha(&mut self, v: MacAddr) {
        put(self.buffer.as_mut(), field::SHA, &v.0)
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request or reply.
    pub op: ArpOp,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an ARP packet. Refused: shorter than 28 octets, not Ethernet/IPv4, an operation
    /// other than request (1) or reply (2) (all reported as [`WireError::NotArp`]).
    pub fn parse(pkt: &[u8]) -> Result<Self, WireError> {
        let p = ArpPacket::new_checked(pkt)?;
        if p.htype() != 1 || p.ptype() != 0x0800 || p.hlen() != 6 || p.plen() != 4 {
            return Err(WireError::NotArp);
        }
        let op = match p.oper() {
            1 => ArpOp::Request,
            2 => ArpOp::Reply,
            _ => return Err(WireError::NotArp),
        };
        Ok(ArpRepr {
            op,
            sender_mac: p.sha(),
            sender_ip: p.spa(),
            target_mac: p.tha(),
            target_ip: p.tpa(),
        })
    }

    /// Writes the 28 octets; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let have = buf.len();
        let b = buf.get_mut(..ARP_LEN).ok_or(WireError::BufferTooSmall {
            need: ARP_LEN,
            have,
        })?;
        put_u16(b, field::HTYPE, 1);
        put_u16(b, field::PTYPE, 0x0800);
        put(b, field::HLEN, &[6, 4]);
        put_u16(
            b,
            field::OPER,
            match self.op {
                ArpOp::Request => 1,
                ArpOp::Reply => 2,
            },
        );
        put(b, field::SHA, &self.sender_mac.0);
        put(b, field::SPA, &self.sender_ip.octets());
        put(b, field::THA, &self.target_mac.0);
        put(b, field::TPA, &self.target_ip.octets());
        Ok(ARP_LEN)
    }

    /// A gratuitous ARP (RFC 5227 §3 announcement, as Linux's `arping -U` sends it): a request
    /// whose sender and target address are both `ip`, from `mac`.
    pub fn gratuitous(mac: MacAddr, ip: Ipv4Addr) -> ArpRepr {
        ArpRepr {
            op: ArpOp::Request,
            sender_mac: mac,
            sender_ip: ip,
            target_mac: MacAddr::ZERO,
            target_ip: ip,
        }
    }
}

/// The Ethernet header around a frame's payload: addresses, the 802.1Q tag if there is one
/// (its TCI), the EtherType of what follows and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Header {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// The TCI of one 802.1Q tag (priority, DEI, VLAN id), if the frame carries one.
    pub vlan: Option<u16>,
    /// The EtherType after the tag.
    pub ethertype: u16,
    /// Offset of the payload.
    pub payload: usize,
}

impl L2Header {
    /// A header from `src` to `dst`, tagged with `vlan` if given, before `ethertype`.
    pub const fn new(src: MacAddr, dst: MacAddr, vlan: Option<u16>, ethertype: u16) -> Self {
        let payload = if vlan.is_some() {
            ETH_HEADER_LEN + 4
        } else {
            ETH_HEADER_LEN
        };
        L2Header {
            dst,
            src,
            vlan,
            ethertype,
            payload,
        }
    }

    /// Reads the header of an Ethernet II frame with at most one 802.1Q tag.
    pub fn parse(frame: &[u8]) -> Result<Self, WireError> {
        let have = frame.len();
        if have < ETH_HEADER_LEN {
            return Err(WireError::Truncated {
                need: ETH_HEADER_LEN,
                have,
            });
        }
        let (vlan, ethertype, payload) = match u16_at(frame, 12) {
            ETHERTYPE_VLAN if have >= ETH_HEADER_LEN + 4 => (
                Some(u16_at(frame, 14)),
                u16_at(frame, 16),
                ETH_HEADER_LEN + 4,
            ),
            ETHERTYPE_VLAN => {
                return Err(WireError::Truncated {
                    need: ETH_HEADER_LEN + 4,
                    have,
                });
            }
            t => (None, t, ETH_HEADER_LEN),
        };
        Ok(L2Header {
            dst: mac_at(frame, 0),
            src: mac_at(frame, 6),
            vlan,
            ethertype,
            payload,
        })
    }

    /// The header's length.
    pub const fn len(&self) -> usize {
        if self.vlan.is_some() {
            ETH_HEADER_LEN + 4
        } else {
            ETH_HEADER_LEN
        }
    }

    /// Always false: a header has at least 14 octets.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header (the payload offset is ignored); returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let need = self.len();
        if buf.len() < need {
            return Err(WireError::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        put(buf, 0, &self.dst.0);
        put(buf, 6, &self.src.0);
        match self.vlan {
            Some(tci) => {
                put_u16(buf, 12, ETHERTYPE_VLAN);
                put_u16(buf, 14, tci);
                put_u16(buf, 16, self.ethertype);
            }
            None => put_u16(buf, 12, self.ethertype),
        }
        Ok(need)
    }
}

/// An ARP frame: its Ethernet header and the ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpFrame {
    /// The Ethernet header (EtherType [`ETHERTYPE_ARP`]).
    pub l2: L2Header,
    /// The ARP packet.
    pub arp: ArpRepr,
}

impl ArpFrame {
    /// Parses a whole frame; [`WireError::NotArp`] if it does not carry ARP.
    pub fn parse(frame: &[u8]) -> Result<Self, WireError> {
        let l2 = L2Header::parse(frame)?;
        if l2.ethertype != ETHERTYPE_ARP {
            return Err(WireError::NotArp);
        }
        let arp = ArpRepr::parse(frame.get(l2.payload..).unwrap_or_default())?;
        Ok(ArpFrame { l2, arp })
    }

    /// A frame from `src` to `dst` (tagged with `vlan` if given) carrying `arp`.
    pub fn new(src: MacAddr, dst: MacAddr, vlan: Option<u16>, arp: ArpRepr) -> Self {
        ArpFrame {
            l2: L2Header::new(src, dst, vlan, ETHERTYPE_ARP),
            arp,
        }
    }

    /// The frame's bytes, padded to the 60-octet minimum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0u8; (self.l2.len() + ARP_LEN).max(MIN_FRAME_LEN)];
        // Both cannot fail: the buffer is long enough for the header and the packet.
        let n = self.l2.emit(&mut buf).unwrap_or(0);
        let _ = self.arp.emit(buf.get_mut(n..).unwrap_or_default());
        buf
    }
}

/// Rewrites a frame's Ethernet source address and, if it carries ARP, the ARP sender hardware
/// address (what balance-alb does to the host's ARP replies). Returns whether it was ARP.
pub fn rewrite_arp_sender(frame: &mut [u8], mac: MacAddr) -> bool {
    put(frame, 6, &mac.0);
    let Ok(l2) = L2Header::parse(frame) else {
        return false;
    };
    if l2.ethertype != ETHERTYPE_ARP {
        return false;
    }
    match ArpPacket::new_checked(frame.get_mut(l2.payload..).unwrap_or_default()) {
        Ok(mut p) => {
            p.set_sha(mac);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    #[test]
    fn round_trip_untagged_and_tagged() {
        let arp = ArpRepr {
            op: ArpOp::Reply,
            sender_mac: A,
            sender_ip: Ipv4Addr::new(198, 18, 0, 1),
            target_mac: B,
            target_ip: Ipv4Addr::new(198, 18, 0, 2),
        };
        for vlan in [None, Some(0x2064)] {
            let f = ArpFrame::new(A, B, vlan, arp);
            let bytes = f.to_bytes();
            assert_eq!(bytes.len(), 60);
            let back = ArpFrame::parse(&bytes).unwrap();
            assert_eq!(back.arp, arp);
            assert_eq!(back.l2.vlan, vlan);
            assert_eq!((back.l2.src, back.l2.dst), (A, B));
        }
        let bytes = ArpFrame::new(A, B, None, arp).to_bytes();
        // Ethernet/IPv4, reply, as Wireshark shows it.
        assert_eq!(&bytes[12..22], &[8, 6, 0, 1, 8, 0, 6, 4, 0, 2]);
    }

    #[test]
    fn refuses_what_is_not_ethernet_ipv4_arp() {
        let arp = ArpRepr::gratuitous(A, Ipv4Addr::new(198, 18, 0, 1));
        let mut bytes = ArpFrame::new(A, MacAddr::BROADCAST, None, arp).to_bytes();
        assert_eq!(arp.sender_ip, arp.target_ip);
        assert!(ArpFrame::parse(&bytes[..30]).is_err());
        bytes[21] = 3; // RARP request
        assert_eq!(ArpFrame::parse(&bytes), Err(WireError::NotArp));
        bytes[12] = 0x08;
        bytes[13] = 0x00;
        assert_eq!(ArpFrame::parse(&bytes), Err(WireError::NotArp));
        assert!(L2Header::parse(&[0u8; 15][..]).is_ok());
        let mut tagged = [0u8; 16];
        tagged[12] = 0x81;
        assert!(L2Header::parse(&tagged).is_err());
    }

    #[test]
    fn rewrite_sender_only_touches_arp() {
        let arp = ArpRepr {
            op: ArpOp::Reply,
            sender_mac: A,
            sender_ip: Ipv4Addr::new(198, 18, 0, 1),
            target_mac: B,
            target_ip: Ipv4Addr::new(198, 18, 0, 2),
        };
        let mut bytes = ArpFrame::new(A, B, Some(5), arp).to_bytes();
        let m = MacAddr([2, 0, 0, 0, 0, 9]);
        assert!(rewrite_arp_sender(&mut bytes, m));
        let back = ArpFrame::parse(&bytes).unwrap();
        assert_eq!((back.l2.src, back.arp.sender_mac), (m, m));
        let mut ip = [0u8; 60];
        ip[12] = 0x08;
        assert!(!rewrite_arp_sender(&mut ip, m));
        assert_eq!(&ip[6..12], &m.0);
        assert!(!rewrite_arp_sender(&mut [0u8; 3], m));
    }
}
