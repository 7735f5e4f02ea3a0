//! The conversation a frame belongs to, as far as distribution cares: the header fields a
//! [`HashPolicy`](crate::HashPolicy) may hash (802.1AX §8.2 leaves the Frame Distributor's
//! conversation assignment to the implementation; this is ours).
//!
//! # Fragments
//!
//! Every fragment of one IP datagram must take the same link, or the receiver reassembles late
//! and a flow is reordered. Only the first fragment carries the L4 header, so for **any**
//! fragment (IPv4: More Fragments set or a non-zero offset; IPv6: a Fragment header that is not
//! an atomic fragment) [`FlowKey::from_frame`] leaves `src_port`, `dst_port` and `spi` at zero
//! and sets `fragment`; the hash then uses the L3 fields only (see
//! [`HashPolicy::hash`](crate::HashPolicy::hash)). All fragments of one datagram therefore hash
//! alike under every policy.
//!
//! We chose this (as Linux does) over hashing every datagram of a "fragment-capable" protocol by
//! L3 only: that would give up L4 spreading for all UDP, including the tunnels (VXLAN, Geneve)
//! and QUIC whose source port carries the entropy that makes them spread at all, to protect
//! a corner case. The price, documented: under an L4 policy, the fragmented datagrams of a UDP
//! flow may take another link than its unfragmented datagrams, so datagrams (never fragments of
//! one datagram) of such a flow can be reordered. Under `L2` or `L3` alone nothing changes.

use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};

/// 802.1Q C-tag TPID.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// 802.1ad S-tag TPID.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ TPID used by some switches.
pub const ETHERTYPE_QINQ_9100: u16 = 0x9100;
/// IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// IP protocol numbers we look into.
pub mod ipproto {
    /// IPv6 Hop-by-Hop Options.
    pub const HOPOPTS: u8 = 0;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 Routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 Fragment header.
    pub const FRAGMENT: u8 = 44;
    /// IPsec Encapsulating Security Payload.
    pub const ESP: u8 = 50;
    /// IPsec Authentication Header.
    pub const AH: u8 = 51;
    /// IPv6 Destination Options.
    pub const DSTOPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// Mobility header (shaped like an extension header).
    pub const MOBILITY: u8 = 135;
    /// UDP-Lite.
    pub const UDPLITE: u8 = 136;
    /// Host Identity Protocol (shaped like an extension header).
    pub const HIP: u8 = 139;
    /// Shim6 (shaped like an extension header).
    pub const SHIM6: u8 = 140;
}

/// Most VLAN tags we skip before giving up (stacked tags beyond this are not parsed further).
const MAX_TAGS: usize = 8;
/// Most IPv6 extension headers we walk.
const MAX_EXT_HEADERS: usize = 16;

/// The header fields of one frame that a hash policy may use.
///
/// IPv4 addresses are stored **v4-mapped** (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so an IPv4
/// address occupies bytes 12..16 and bytes 10..12 are `0xff`; `ip_version` tells v4 from v6.
/// Fields that a frame does not carry (or that were truncated away) are zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlowKey {
    /// Source MAC address.
    pub src_mac: MacAddr,
    /// Destination MAC address.
    pub dst_mac: MacAddr,
    /// The inner EtherType, after any 802.1Q/802.1ad tags (or an 802.3 length, < 0x0600).
    pub ethertype: u16,
    /// Source IP address (IPv4 v4-mapped).
    pub src_ip: [u8; 16],
    /// Destination IP address (IPv4 v4-mapped).
    pub dst_ip: [u8; 16],
    /// 0 (not IP, or an IP header too short to read), 4 or 6.
    pub ip_version: u8,
    /// The L4 protocol (IPv6: after the extension headers; for a fragment, the Fragment
    /// header's Next Header).
    pub protocol: u8,
    /// TCP/UDP/SCTP/UDP-Lite source port (0 for fragments and other protocols).
    pub src_port: u16,
    /// TCP/UDP/SCTP/UDP-Lite destination port (0 for fragments and other protocols).
    pub dst_port: u16,
    /// ESP or AH Security Parameters Index (0 otherwise).
    pub spi: u32,
    /// The frame is a fragment of an IP datagram (first or later): L4 fields are not used.
    pub fragment: bool,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

impl FlowKey {
    /// Parses the headers of an Ethernet II frame (starting at the destination MAC).
    ///
    /// Skips 802.1Q/802.1ad tags (0x8100, 0x88a8, 0x9100, stacked), reads IPv4 (options via
    /// IHL) or IPv6 (walking Hop-by-Hop, Routing, Destination Options and the other
    /// extension-shaped headers; noting a Fragment header), then TCP/UDP/SCTP/UDP-Lite ports or
    /// the ESP/AH SPI. Never panics: whatever is truncated or malformed is left at zero.
    pub fn from_frame(frame: &[u8]) -> FlowKey {
        let mut k = FlowKey::default();
        if let Some(m) = frame.get(0..6).and_then(MacAddr::from_slice) {
            k.dst_mac = m;
        }
        if let Some(m) = frame.get(6..12).and_then(MacAddr::from_slice) {
            k.src_mac = m;
        }
        let mut off = 12;
        let Some(mut et) = be16(frame, off) else {
            return k;
        };
        for _ in 0..MAX_TAGS {
            if matches!(et, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_9100) {
                off += 4;
                match be16(frame, off) {
                    Some(e) => et = e,
                    None => {
                        // Tag present but the inner EtherType is cut off.
                        k.ethertype = et;
                        return k;
                    }
                }
            } else {
                break;
            }
        }
        k.ethertype = et;
        let l3 = frame.get(off + 2..).unwrap_or(&[]);
        match et {
            ETHERTYPE_IPV4 => k.parse_ipv4(l3),
            ETHERTYPE_IPV6 => k.parse_ipv6(l3),
            _ => {}
        }
        k
    }

    fn parse_ipv4(&mut self, ip: &[u8]) {
        let Some(hdr) = ip.get(..20) else { return };
        let (Some(&vihl), Some(&proto)) = (hdr.first(), hdr.get(9)) else {
            return;
        };
        if vihl >> 4 != 4 {
            return;
        }
        self.ip_version = 4;
        self.protocol = proto;
        for (dst, src_off) in [(&mut self.src_ip, 12usize), (&mut self.dst_ip, 16usize)] {
            if let Some(a) = hdr.get(src_off..src_off + 4) {
                dst[10] = 0xff;
                dst[11] = 0xff;
                dst[12..16].copy_from_slice(a);
            }
        }
        let flags_frag = be16(hdr, 6).unwrap_or(0);
        let more_fragments = flags_frag & 0x2000 != 0;
        let offset = flags_frag & 0x1fff;
        if more_fragments || offset != 0 {
            self.fragment = true;
            return;
        }
        let ihl = usize::from(vihl & 0x0f) * 4;
        if ihl < 20 {
            return;
        }
        if let Some(l4) = ip.get(ihl..) {
            self.parse_l4(proto, l4);
        }
    }

    fn parse_ipv6(&mut self, ip: &[u8]) {
        let Some(hdr) = ip.get(..40) else { return };
        if hdr.first().map(|b| b >> 4) != Some(6) {
            return;
        }
        self.ip_version = 6;
        if let (Some(s), Some(d)) = (hdr.get(8..24), hdr.get(24..40)) {
            self.src_ip.copy_from_slice(s);
            self.dst_ip.copy_from_slice(d);
        }
        let mut next = hdr.get(6).copied().unwrap_or(0);
        let mut off = 40usize;
        for _ in 0..MAX_EXT_HEADERS {
            match next {
                ipproto::HOPOPTS
                | ipproto::ROUTING
                | ipproto::DSTOPTS
                | ipproto::MOBILITY
                | ipproto::HIP
                | ipproto::SHIM6 => {
                    let (Some(&nh), Some(&len)) = (ip.get(off), ip.get(off + 1)) else {
                        self.protocol = next;
                        return;
                    };
                    next = nh;
                    off += (usize::from(len) + 1) * 8;
                }
                ipproto::FRAGMENT => {
                    let (Some(&nh), Some(frag)) = (ip.get(off), be16(ip, off + 2)) else {
                        // A Fragment header, even cut short, says "fragment".
                        self.protocol = next;
                        self.fragment = true;
                        return;
                    };
                    let offset = frag >> 3;
                    let more = frag & 1 != 0;
                    next = nh;
                    off += 8;
                    if offset != 0 || more {
                        self.protocol = next;
                        self.fragment = true;
                        return;
                    }
                    // An atomic fragment (RFC 6946): a whole datagram; keep walking.
                }
                _ => break,
            }
        }
        self.protocol = next;
        if let Some(l4) = ip.get(off..) {
            self.parse_l4(next, l4);
        }
    }

    fn parse_l4(&mut self, proto: u8, l4: &[u8]) {
        match proto {
            ipproto::TCP | ipproto::UDP | ipproto::SCTP | ipproto::UDPLITE => {
                if let (Some(s), Some(d)) = (be16(l4, 0), be16(l4, 2)) {
                    self.src_port = s;
                    self.dst_port = d;
                }
            }
            ipproto::ESP => self.spi = be32(l4, 0).unwrap_or(0),
            ipproto::AH => self.spi = be32(l4, 4).unwrap_or(0),
            _ => {}
        }
    }

    /// The key of an unfragmented IP conversation given by its addresses, protocol and ports
    /// (`lagctl show-hash --flow SRC,DST,PROTO,SPORT,DPORT`), as [`FlowKey::from_frame`] reads
    /// it from such a frame: EtherType and IP version from the addresses (both of one family),
    /// IPv4 v4-mapped; ports only for TCP, UDP, SCTP and UDP-Lite (an ESP or AH key has SPI 0);
    /// the MAC addresses as given (they count only under an L2 policy).
    pub fn conversation(
        src_mac: MacAddr,
        dst_mac: MacAddr,
        src: core::net::IpAddr,
        dst: core::net::IpAddr,
        protocol: u8,
        src_port: u16,
        dst_port: u16,
    ) -> FlowKey {
        use core::net::IpAddr;
        let mut k = FlowKey {
            src_mac,
            dst_mac,
            protocol,
            ..FlowKey::default()
        };
        let (v, et) = match (src, dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => (4, ETHERTYPE_IPV4),
            _ => (6, ETHERTYPE_IPV6),
        };
        k.ip_version = v;
        k.ethertype = et;
        let bytes = |a: IpAddr| match a {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        k.src_ip = bytes(src);
        k.dst_ip = bytes(dst);
        if matches!(
            protocol,
            ipproto::TCP | ipproto::UDP | ipproto::SCTP | ipproto::UDPLITE
        ) {
            k.src_port = src_port;
            k.dst_port = dst_port;
        }
        k
    }

    /// Whether the frame is IP (its L3 fields are meaningful).
    pub const fn is_ip(&self) -> bool {
        self.ip_version != 0
    }

    /// Whether L4 fields (ports or SPI) may be hashed: an unfragmented IP datagram of TCP, UDP,
    /// SCTP, UDP-Lite, ESP or AH.
    pub const fn has_l4(&self) -> bool {
        self.is_ip()
            && !self.fragment
            && matches!(
                self.protocol,
                ipproto::TCP
                    | ipproto::UDP
                    | ipproto::SCTP
                    | ipproto::UDPLITE
                    | ipproto::ESP
                    | ipproto::AH
            )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    pub(crate) const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

    /// Ethernet header with the given tags (TPID, TCI) then `ethertype`.
    pub(crate) fn eth(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        for (tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    /// IPv4 header with `opt_words` 32-bit words of options.
    pub(crate) fn ipv4(
        proto: u8,
        src: [u8; 4],
        dst: [u8; 4],
        opt_words: u8,
        flags_frag: u16,
    ) -> Vec<u8> {
        let mut h = vec![0x40 | (5 + opt_words), 0, 0, 0, 0x12, 0x34];
        h.extend_from_slice(&flags_frag.to_be_bytes());
        h.extend_from_slice(&[64, proto, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        for _ in 0..opt_words {
            h.extend_from_slice(&[1, 1, 1, 1]); // NOPs
        }
        h
    }

    pub(crate) fn ipv6(next: u8, src_last: u8, dst_last: u8) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
        let mut s = [0u8; 16];
        s[0] = 0x20;
        s[1] = 0x01;
        s[15] = src_last;
        let mut d = s;
        d[15] = dst_last;
        h.extend_from_slice(&s);
        h.extend_from_slice(&d);
        h
    }

    pub(crate) fn ports(s: u16, d: u16) -> Vec<u8> {
        let mut p = s.to_be_bytes().to_vec();
        p.extend_from_slice(&d.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn non_ip_ethernet() {
        let f = cat(&[&eth(&[], 0x88cc), &[0; 46]]);
        let k = FlowKey::from_frame(&f);
        assert_eq!(k.dst_mac, MacAddr(DST));
        assert_eq!(k.src_mac, MacAddr(SRC));
        assert_eq!(k.ethertype, 0x88cc);
        assert!(!k.is_ip() && !k.has_l4());
    }

    #[test]
    fn ipv4_tcp_and_vlan_and_qinq_agree() {
        let l3 = ipv4(ipproto::TCP, [10, 0, 0, 1], [10, 0, 0, 2], 0, 0x4000);
        let l4 = ports(12345, 80);
        let plain = FlowKey::from_frame(&cat(&[&eth(&[], ETHERTYPE_IPV4), &l3, &l4]));
        let vlan = FlowKey::from_frame(&cat(&[
            &eth(&[(ETHERTYPE_VLAN, 100)], ETHERTYPE_IPV4),
            &l3,
            &l4,
        ]));
        let qinq = FlowKey::from_frame(&cat(&[
            &eth(
                &[(ETHERTYPE_QINQ, 10), (ETHERTYPE_VLAN, 100)],
                ETHERTYPE_IPV4,
            ),
            &l3,
            &l4,
        ]));
        let q9100 = FlowKey::from_frame(&cat(&[
            &eth(
                &[
                    (ETHERTYPE_QINQ_9100, 1),
                    (ETHERTYPE_QINQ, 2),
                    (ETHERTYPE_VLAN, 3),
                ],
                ETHERTYPE_IPV4,
            ),
            &l3,
            &l4,
        ]));
        assert_eq!(plain.ip_version, 4);
        assert_eq!(plain.protocol, ipproto::TCP);
        assert_eq!((plain.src_port, plain.dst_port), (12345, 80));
        assert_eq!(plain.src_ip[10..], [0xff, 0xff, 10, 0, 0, 1]);
        assert_eq!(plain.dst_ip[12..], [10, 0, 0, 2]);
        assert!(!plain.fragment && plain.has_l4());
        assert_eq!(plain, vlan);
        assert_eq!(plain, qinq);
        assert_eq!(plain, q9100);
    }

    #[test]
    fn ipv4_options_are_skipped_via_ihl() {
        let l3 = ipv4(ipproto::UDP, [1, 2, 3, 4], [5, 6, 7, 8], 3, 0);
        let k = FlowKey::from_frame(&cat(&[&eth(&[], ETHERTYPE_IPV4), &l3, &ports(53, 5353)]));
        assert_eq!((k.src_port, k.dst_port), (53, 5353));
        assert_eq!(k.protocol, ipproto::UDP);
    }

    #[test]
    fn sctp_udplite_esp_ah() {
        let e = eth(&[], ETHERTYPE_IPV4);
        for proto in [ipproto::SCTP, ipproto::UDPLITE] {
            let l3 = ipv4(proto, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0);
            let k = FlowKey::from_frame(&cat(&[&e, &l3, &ports(2905, 2906)]));
            assert_eq!((k.src_port, k.dst_port, k.protocol), (2905, 2906, proto));
        }
        let esp = [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1];
        let k = FlowKey::from_frame(&cat(&[
            &e,
            &ipv4(ipproto::ESP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0),
            &esp,
        ]));
        assert_eq!(k.spi, 0xdead_beef);
        assert_eq!(k.src_port, 0);
        let ah = [ipproto::TCP, 4, 0, 0, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 1];
        let k = FlowKey::from_frame(&cat(&[
            &e,
            &ipv4(ipproto::AH, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0),
            &ah,
        ]));
        assert_eq!(k.spi, 0x0102_0304);
        assert!(k.has_l4());
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        // Hop-by-hop (8 bytes) -> routing (16 bytes) -> destination options (8) -> TCP.
        let hbh = [ipproto::ROUTING, 0, 1, 4, 0, 0, 0, 0];
        let mut rt = vec![ipproto::DSTOPTS, 1, 0, 0, 0, 0, 0, 0];
        rt.extend_from_slice(&[0; 8]);
        let dst = [ipproto::TCP, 0, 1, 4, 0, 0, 0, 0];
        let f = cat(&[
            &eth(&[(ETHERTYPE_VLAN, 5)], ETHERTYPE_IPV6),
            &ipv6(ipproto::HOPOPTS, 1, 2),
            &hbh,
            &rt,
            &dst,
            &ports(443, 55555),
        ]);
        let k = FlowKey::from_frame(&f);
        assert_eq!(k.ip_version, 6);
        assert_eq!(k.protocol, ipproto::TCP);
        assert_eq!((k.src_port, k.dst_port), (443, 55555));
        assert_eq!(k.src_ip[15], 1);
        assert_eq!(k.dst_ip[15], 2);
        assert!(!k.fragment);
    }

    #[test]
    fn ipv6_fragments_and_atomic_fragment() {
        let e = eth(&[], ETHERTYPE_IPV6);
        let first = cat(&[
            &e,
            &ipv6(ipproto::FRAGMENT, 1, 2),
            &[ipproto::UDP, 0, 0x00, 0x01, 0, 0, 0, 7], // offset 0, M=1
            &ports(1000, 2000),
        ]);
        let later = cat(&[
            &e,
            &ipv6(ipproto::FRAGMENT, 1, 2),
            &[ipproto::UDP, 0, 0x05, 0x00, 0, 0, 0, 7], // offset 160, M=0
            &[0xaa; 24],
        ]);
        let (a, b) = (FlowKey::from_frame(&first), FlowKey::from_frame(&later));
        assert!(a.fragment && b.fragment);
        assert_eq!(a, b);
        assert_eq!(a.src_port, 0);
        let atomic = cat(&[
            &e,
            &ipv6(ipproto::FRAGMENT, 1, 2),
            &[ipproto::UDP, 0, 0, 0, 0, 0, 0, 7],
            &ports(1000, 2000),
        ]);
        let k = FlowKey::from_frame(&atomic);
        assert!(!k.fragment);
        assert_eq!(k.src_port, 1000);
    }

    #[test]
    fn ipv4_fragments_are_marked_and_lose_ports() {
        let e = eth(&[], ETHERTYPE_IPV4);
        let first = cat(&[
            &e,
            &ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0x2000),
            &ports(1, 2),
        ]);
        let later = cat(&[
            &e,
            &ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0x00b9),
            &[0x55; 30],
        ]);
        let last = cat(&[
            &e,
            &ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0x0172),
            &[0x66; 30],
        ]);
        let (a, b, c) = (
            FlowKey::from_frame(&first),
            FlowKey::from_frame(&later),
            FlowKey::from_frame(&last),
        );
        assert!(a.fragment && b.fragment && c.fragment);
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert!(!a.has_l4());
    }

    #[test]
    fn truncated_headers_leave_fields_zero() {
        let full = cat(&[
            &eth(&[(ETHERTYPE_VLAN, 7)], ETHERTYPE_IPV4),
            &ipv4(ipproto::TCP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0),
            &ports(7, 8),
        ]);
        // Cut inside the ports: L3 present, ports zero.
        let k = FlowKey::from_frame(&full[..18 + 20 + 3]);
        assert_eq!(k.ip_version, 4);
        assert_eq!(k.src_port, 0);
        // Cut inside the IP header: not IP.
        let k = FlowKey::from_frame(&full[..18 + 19]);
        assert_eq!(k.ip_version, 0);
        assert_eq!(k.ethertype, ETHERTYPE_IPV4);
        // Cut inside the tag.
        let k = FlowKey::from_frame(&full[..15]);
        assert_eq!(k.ethertype, ETHERTYPE_VLAN);
        assert_eq!(FlowKey::from_frame(&[]), FlowKey::default());
        assert_eq!(FlowKey::from_frame(&full[..7]).dst_mac, MacAddr(DST));
        // IHL below 5 is malformed: no L4.
        let mut bad = full.clone();
        if let Some(b) = bad.get_mut(18) {
            *b = 0x43;
        }
        assert_eq!(FlowKey::from_frame(&bad).src_port, 0);
        // Every prefix parses.
        for n in 0..full.len() {
            let _ = FlowKey::from_frame(&full[..n]);
        }
    }

    #[test]
    fn ipv6_extension_header_chain_is_bounded() {
        // 40 hop-by-hop headers in a row: we stop walking, never loop or panic.
        let mut f = cat(&[&eth(&[], ETHERTYPE_IPV6), &ipv6(ipproto::HOPOPTS, 1, 2)]);
        for _ in 0..40 {
            f.extend_from_slice(&[ipproto::HOPOPTS, 0, 0, 0, 0, 0, 0, 0]);
        }
        let k = FlowKey::from_frame(&f);
        assert_eq!(k.ip_version, 6);
        assert!(!k.has_l4());
    }

    proptest! {
        #[test]
        fn from_frame_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = FlowKey::from_frame(&bytes);
        }

        #[test]
        fn from_frame_never_panics_on_ip_like_frames(
            et in prop_oneof![Just(ETHERTYPE_IPV4), Just(ETHERTYPE_IPV6), Just(ETHERTYPE_VLAN)],
            body in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut f = eth(&[], et);
            f.extend_from_slice(&body);
            // Make the version nibble right so the IP parsers get exercised.
            if let Some(b) = f.get_mut(14) {
                *b = match et {
                    ETHERTYPE_IPV4 => 0x40 | (*b & 0x0f),
                    ETHERTYPE_IPV6 => 0x60,
                    _ => *b,
                };
            }
            let k = FlowKey::from_frame(&f);
            prop_assert_eq!(k.dst_mac, MacAddr(DST));
        }
    }
}
