//! Which header fields the conversation hash covers (Solaris `dladm -P L2,L3,L4` style).

use crate::FlowKey;
use crate::hash::Mixer;
use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Serialize};

/// The hash policy: any non-empty combination of L2 (MAC addresses and EtherType), L3 (IP
/// addresses) and L4 (TCP/UDP/SCTP/UDP-Lite ports, ESP/AH SPI).
///
/// Parsed from a comma list, case-insensitive, without duplicates: `"L2"`, `"L3,L4"`,
/// `"l2,l3,l4"`; displayed as `"L3,L4"`. The default is `L3,L4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HashPolicy {
    /// Hash the source and destination MAC addresses and the inner EtherType.
    pub l2: bool,
    /// Hash the source and destination IP addresses.
    pub l3: bool,
    /// Hash the L4 ports (or the IPsec SPI) and the protocol.
    pub l4: bool,
}

/// Why a hash policy string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyParseError {
    /// A token that is not a layer name.
    #[error(
        "unknown hash policy layer {token:?} in {input:?}: valid layers are L2, L3, L4 (comma separated, e.g. \"L3,L4\")"
    )]
    Unknown {
        /// The bad token.
        token: String,
        /// The whole input.
        input: String,
    },
    /// A layer given twice.
    #[error(
        "hash policy layer {token:?} given twice in {input:?}: list each of L2, L3, L4 at most once"
    )]
    Duplicate {
        /// The repeated token.
        token: String,
        /// The whole input.
        input: String,
    },
    /// No layer at all.
    #[error("empty hash policy: give at least one of L2, L3, L4 (comma separated, e.g. \"L3,L4\")")]
    Empty,
}

impl Default for HashPolicy {
    fn default() -> Self {
        HashPolicy::L3_L4
    }
}

impl HashPolicy {
    /// `L2`.
    pub const L2: HashPolicy = HashPolicy {
        l2: true,
        l3: false,
        l4: false,
    };
    /// `L3`.
    pub const L3: HashPolicy = HashPolicy {
        l2: false,
        l3: true,
        l4: false,
    };
    /// `L3,L4` (the default).
    pub const L3_L4: HashPolicy = HashPolicy {
        l2: false,
        l3: true,
        l4: true,
    };
    /// `L2,L3,L4`.
    pub const L2_L3_L4: HashPolicy = HashPolicy {
        l2: true,
        l3: true,
        l4: true,
    };

    /// The conversation hash of `key` under this policy.
    ///
    /// Deterministic across runs and machines (fixed-seed `fmix64` chain, see the `hash`
    /// module). Which fields are used:
    /// - **L2** (or any policy on a non-IP frame, so that non-IP traffic still spreads): source
    ///   and destination MAC, EtherType;
    /// - **L3**: source and destination IP (and the IP version);
    /// - **L4**: ports or SPI, and the protocol, **only** for an unfragmented TCP, UDP, SCTP,
    ///   UDP-Lite, ESP or AH datagram ([`FlowKey::has_l4`]). Otherwise (fragments, ICMP, ...) an
    ///   L4 policy falls back to the L3 fields, so that all fragments of one datagram hash
    ///   alike (see the [`flowkey`](crate::flowkey) module on fragments).
    ///
    /// The `fragment` flag itself is never hashed, so under `L2` or `L3` a flow's fragments and
    /// whole datagrams hash alike.
    pub fn hash(&self, key: &FlowKey) -> u32 {
        let ip = key.is_ip();
        let use_l4 = self.l4 && key.has_l4();
        let use_l3 = ip && (self.l3 || (self.l4 && !use_l4));
        let use_l2 = self.l2 || !ip;
        let mut domain = u64::from(use_l2) | u64::from(use_l3) << 1 | u64::from(use_l4) << 2;
        if use_l3 {
            domain |= u64::from(key.ip_version) << 8;
        }
        if use_l4 {
            domain |= u64::from(key.protocol) << 16;
        }
        let mut m = Mixer::new(domain);
        if use_l2 {
            m = m
                .word(mac48(&key.dst_mac.0) << 16 | u64::from(key.ethertype))
                .word(mac48(&key.src_mac.0));
        }
        if use_l3 {
            if key.ip_version == 4 {
                m = m.word(u64::from(low32(&key.src_ip)) << 32 | u64::from(low32(&key.dst_ip)));
            } else {
                let (s0, s1) = halves(&key.src_ip);
                let (d0, d1) = halves(&key.dst_ip);
                m = m.word(s0).word(s1).word(d0).word(d1);
            }
        }
        if use_l4 {
            m = m.word(
                u64::from(key.spi) << 32 | u64::from(key.src_port) << 16 | u64::from(key.dst_port),
            );
        }
        m.finish()
    }
}

/// How [`HashPolicy::hash`] hashes an untagged, unfragmented IPv4 or IPv6 (no extension
/// header) TCP or UDP frame, spelled out so that another implementation (lagd's kernel fast
/// path) can compute the same hash: the initial state for each IP version and protocol, then,
/// in this order, the L2 words (`dst_mac << 16 | ethertype`, `src_mac`), the L3 words (IPv4:
/// `src_ip << 32 | dst_ip`; IPv6: the source's two big-endian halves, then the destination's)
/// and the L4 word (`src_port << 16 | dst_port`) of the layers that are on, each mixed in as
/// `state = fmix64(state ^ word) + GOLDEN`; the hash is `fmix64(state)` folded to 32 bits
/// (`h ^ h >> 32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpHashPlan {
    /// L2 words are mixed in.
    pub l2: bool,
    /// The L3 word is mixed in.
    pub l3: bool,
    /// The L4 word is mixed in.
    pub l4: bool,
    /// Initial state for TCP.
    pub init_tcp: u64,
    /// Initial state for UDP.
    pub init_udp: u64,
    /// Initial state for TCP over IPv6.
    pub init6_tcp: u64,
    /// Initial state for UDP over IPv6.
    pub init6_udp: u64,
    /// Added after each word.
    pub golden: u64,
    /// The multipliers of `fmix64`.
    pub fmix_mul: [u64; 2],
    /// The fixed seed: every hash starts from `fmix64(seed ^ domain)`, where the domain has
    /// bit 0 (L2 words hashed), bit 1 (L3 words), bit 2 (L4 word), the IP version in bits 8..16
    /// when L3 is hashed and the protocol in bits 16..24 when L4 is; the `init_*` fields are
    /// the four domains of an IPv4/IPv6 TCP/UDP frame.
    pub seed: u64,
}

impl HashPolicy {
    /// This policy's hash of an untagged, unfragmented IPv4 or IPv6 TCP or UDP frame, spelled
    /// out.
    pub fn ip_plan(&self) -> IpHashPlan {
        let init = |version: u64, protocol: u8| {
            let mut domain = u64::from(self.l2) | u64::from(self.l3) << 1 | u64::from(self.l4) << 2;
            if self.l3 {
                domain |= version << 8;
            }
            if self.l4 {
                domain |= u64::from(protocol) << 16;
            }
            crate::hash::Mixer::new(domain).state()
        };
        IpHashPlan {
            l2: self.l2,
            l3: self.l3,
            l4: self.l4,
            init_tcp: init(4, 6),
            init_udp: init(4, 17),
            init6_tcp: init(6, 6),
            init6_udp: init(6, 17),
            golden: crate::hash::GOLDEN,
            fmix_mul: crate::hash::FMIX_MUL,
            seed: crate::hash::SEED,
        }
    }
}

fn mac48(m: &[u8; 6]) -> u64 {
    m.iter().fold(0u64, |a, b| a << 8 | u64::from(*b))
}

fn low32(a: &[u8; 16]) -> u32 {
    u32::from_be_bytes([a[12], a[13], a[14], a[15]])
}

fn halves(a: &[u8; 16]) -> (u64, u64) {
    let mut hi = [0u8; 8];
    let mut lo = [0u8; 8];
    hi.copy_from_slice(&a[..8]);
    lo.copy_from_slice(&a[8..]);
    (u64::from_be_bytes(hi), u64::from_be_bytes(lo))
}

impl fmt::Display for HashPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (on, name) in [(self.l2, "L2"), (self.l3, "L3"), (self.l4, "L4")] {
            if on {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl FromStr for HashPolicy {
    type Err = PolicyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = HashPolicy {
            l2: false,
            l3: false,
            l4: false,
        };
        if s.trim().is_empty() {
            return Err(PolicyParseError::Empty);
        }
        for raw in s.split(',') {
            let token = raw.trim();
            let slot = match token.to_ascii_uppercase().as_str() {
                "L2" => &mut p.l2,
                "L3" => &mut p.l3,
                "L4" => &mut p.l4,
                _ => {
                    return Err(PolicyParseError::Unknown {
                        token: token.to_string(),
                        input: s.to_string(),
                    });
                }
            };
            if *slot {
                return Err(PolicyParseError::Duplicate {
                    token: token.to_string(),
                    input: s.to_string(),
                });
            }
            *slot = true;
        }
        Ok(p)
    }
}

impl TryFrom<String> for HashPolicy {
    type Error = PolicyParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HashPolicy> for String {
    fn from(p: HashPolicy) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::hash::fmix64;
    use proptest::prelude::*;

    /// The hash computed from raw frame bytes following the plan alone.
    fn by_plan(p: &IpHashPlan, f: &[u8]) -> u32 {
        let be = |r: std::ops::Range<usize>| f[r].iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
        let v6 = f[12] == 0x86;
        let (proto, l4) = if v6 { (f[20], 54) } else { (f[23], 34) };
        let mut st = match (v6, proto == 6) {
            (false, true) => p.init_tcp,
            (false, false) => p.init_udp,
            (true, true) => p.init6_tcp,
            (true, false) => p.init6_udp,
        };
        let mut mix = |w: u64| st = fmix64(st ^ w).wrapping_add(p.golden);
        if p.l2 {
            mix(be(0..6) << 16 | be(12..14));
            mix(be(6..12));
        }
        if p.l3 && v6 {
            for r in [22..30, 30..38, 38..46, 46..54] {
                mix(be(r));
            }
        } else if p.l3 {
            mix(be(26..30) << 32 | be(30..34));
        }
        if p.l4 {
            mix(be(l4..l4 + 2) << 16 | be(l4 + 2..l4 + 4));
        }
        let h = fmix64(st);
        (h ^ (h >> 32)) as u32
    }

    fn frame(macs: [u8; 12], ips: [u8; 8], ports: [u8; 4], tcp: bool) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[..12].copy_from_slice(&macs);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[22] = 64;
        f[23] = if tcp { 6 } else { 17 };
        f[26..34].copy_from_slice(&ips);
        f[34..38].copy_from_slice(&ports);
        f
    }

    proptest! {
        #[test]
        fn the_plan_gives_the_policy_hash(
            macs in any::<[u8; 12]>(), ips in any::<[u8; 8]>(), ports in any::<[u8; 4]>(),
            tcp in any::<bool>(), l2 in any::<bool>(), l3 in any::<bool>(), l4 in any::<bool>(),
        ) {
            prop_assume!(l2 || l3 || l4);
            let policy = HashPolicy { l2, l3, l4 };
            let f = frame(macs, ips, ports, tcp);
            prop_assert_eq!(by_plan(&policy.ip_plan(), &f), policy.hash(&FlowKey::from_frame(&f)));
        }

        #[test]
        fn the_plan_gives_the_policy_hash_over_ipv6(
            macs in any::<[u8; 12]>(), ips in any::<[u8; 32]>(), ports in any::<[u8; 4]>(),
            tcp in any::<bool>(), l2 in any::<bool>(), l3 in any::<bool>(), l4 in any::<bool>(),
        ) {
            prop_assume!(l2 || l3 || l4);
            let policy = HashPolicy { l2, l3, l4 };
            let mut f = vec![0u8; 74];
            f[..12].copy_from_slice(&macs);
            f[12..14].copy_from_slice(&[0x86, 0xdd]);
            f[14] = 0x60;
            f[18..20].copy_from_slice(&20u16.to_be_bytes());
            f[20] = if tcp { 6 } else { 17 };
            f[21] = 64;
            f[22..54].copy_from_slice(&ips);
            f[54..58].copy_from_slice(&ports);
            prop_assert_eq!(by_plan(&policy.ip_plan(), &f), policy.hash(&FlowKey::from_frame(&f)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowkey::tests::{eth, ipv4, ipv6, ports};
    use crate::flowkey::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, ipproto};

    const ALL: [HashPolicy; 7] = [
        HashPolicy::L2,
        HashPolicy::L3,
        HashPolicy {
            l2: false,
            l3: false,
            l4: true,
        },
        HashPolicy {
            l2: true,
            l3: true,
            l4: false,
        },
        HashPolicy {
            l2: true,
            l3: false,
            l4: true,
        },
        HashPolicy::L3_L4,
        HashPolicy::L2_L3_L4,
    ];

    #[test]
    fn parses_valid_lists() {
        assert_eq!("L2".parse::<HashPolicy>(), Ok(HashPolicy::L2));
        assert_eq!("L3,L4".parse::<HashPolicy>(), Ok(HashPolicy::L3_L4));
        assert_eq!("l2,l3,l4".parse::<HashPolicy>(), Ok(HashPolicy::L2_L3_L4));
        assert_eq!(" l4 , L3 ".parse::<HashPolicy>(), Ok(HashPolicy::L3_L4));
        assert_eq!(HashPolicy::default(), HashPolicy::L3_L4);
        for p in ALL {
            assert_eq!(p.to_string().parse::<HashPolicy>(), Ok(p));
        }
        assert_eq!(HashPolicy::L3_L4.to_string(), "L3,L4");
    }

    #[test]
    fn rejects_typos_duplicates_and_empty() {
        let e = "L3,L5".parse::<HashPolicy>().unwrap_err();
        assert!(matches!(&e, PolicyParseError::Unknown { token, .. } if token == "L5"));
        let msg = e.to_string();
        assert!(
            msg.contains("\"L5\"") && msg.contains("L2, L3, L4"),
            "{msg}"
        );
        let e = "L3,l3".parse::<HashPolicy>().unwrap_err();
        assert!(matches!(&e, PolicyParseError::Duplicate { token, .. } if token == "l3"));
        assert_eq!("".parse::<HashPolicy>(), Err(PolicyParseError::Empty));
        assert!(matches!(
            "L3,".parse::<HashPolicy>(),
            Err(PolicyParseError::Unknown { token, .. }) if token.is_empty()
        ));
        assert!("L3;L4".parse::<HashPolicy>().is_err());
    }

    #[test]
    fn serde_uses_the_string_form() {
        // Round trip through the String conversions serde uses.
        let s: String = HashPolicy::L2_L3_L4.into();
        assert_eq!(s, "L2,L3,L4");
        assert_eq!(HashPolicy::try_from(s), Ok(HashPolicy::L2_L3_L4));
        assert!(HashPolicy::try_from("L7".to_string()).is_err());
    }

    #[test]
    fn hash_is_fixed_across_runs_and_machines() {
        // Golden values: a change here changes every deployment's link choice.
        let f = [
            eth(&[], ETHERTYPE_IPV4),
            ipv4(ipproto::TCP, [10, 0, 0, 1], [10, 0, 0, 2], 0, 0),
            ports(1234, 80),
        ]
        .concat();
        let k = FlowKey::from_frame(&f);
        let got: Vec<u32> = ALL.iter().map(|p| p.hash(&k)).collect();
        let again: Vec<u32> = ALL.iter().map(|p| p.hash(&k)).collect();
        assert_eq!(got, again);
        assert_eq!(got, GOLDEN.to_vec(), "hash values changed: {got:#x?}");
    }

    const GOLDEN: [u32; 7] = [
        0x8963_237f,
        0x8ea9_42b3,
        0x219b_0ab0,
        0x284c_169b,
        0x0671_ba9f,
        0xe493_de8f,
        0xae26_435e,
    ];

    #[test]
    fn fields_outside_the_policy_do_not_matter_and_inside_do() {
        let mk = |sp: u16, last: u8| {
            FlowKey::from_frame(
                &[
                    eth(&[], ETHERTYPE_IPV4),
                    ipv4(ipproto::UDP, [10, 0, 0, last], [10, 0, 0, 2], 0, 0),
                    ports(sp, 53),
                ]
                .concat(),
            )
        };
        assert_eq!(
            HashPolicy::L3.hash(&mk(1, 1)),
            HashPolicy::L3.hash(&mk(2, 1))
        );
        assert_ne!(
            HashPolicy::L3.hash(&mk(1, 1)),
            HashPolicy::L3.hash(&mk(1, 3))
        );
        assert_ne!(
            HashPolicy::L3_L4.hash(&mk(1, 1)),
            HashPolicy::L3_L4.hash(&mk(2, 1))
        );
        // L2 ignores IPs; same MACs in these frames.
        assert_eq!(
            HashPolicy::L2.hash(&mk(1, 1)),
            HashPolicy::L2.hash(&mk(9, 7))
        );
    }

    #[test]
    fn non_ip_frames_fall_back_to_l2() {
        let a = FlowKey::from_frame(&[eth(&[], 0x88cc), vec![0; 46]].concat());
        let mut b = a;
        b.src_mac.0[5] ^= 1;
        for p in ALL {
            assert_ne!(p.hash(&a), p.hash(&b), "policy {p}");
        }
    }

    #[test]
    fn all_fragments_of_a_datagram_hash_alike_under_every_policy() {
        let e4 = eth(&[], ETHERTYPE_IPV4);
        let first4 = [
            e4.clone(),
            ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0x2000),
            ports(4789, 4789),
        ]
        .concat();
        let mid4 = [
            e4.clone(),
            ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 0, 0x20b9),
            vec![0x11; 40],
        ]
        .concat();
        let last4 = [
            e4,
            ipv4(ipproto::UDP, [1, 1, 1, 1], [2, 2, 2, 2], 1, 0x0172),
            vec![0x22; 40],
        ]
        .concat();
        let e6 = eth(&[], ETHERTYPE_IPV6);
        let first6 = [
            e6.clone(),
            ipv6(ipproto::HOPOPTS, 1, 2),
            vec![ipproto::FRAGMENT, 0, 0, 0, 0, 0, 0, 0],
            vec![ipproto::UDP, 0, 0x00, 0x01, 1, 2, 3, 4],
            ports(1000, 2000),
        ]
        .concat();
        let later6 = [
            e6,
            ipv6(ipproto::HOPOPTS, 1, 2),
            vec![ipproto::FRAGMENT, 0, 0, 0, 0, 0, 0, 0],
            vec![ipproto::UDP, 0, 0x05, 0x00, 1, 2, 3, 4],
            vec![0x33; 40],
        ]
        .concat();
        for p in ALL {
            let h = |f: &[u8]| p.hash(&FlowKey::from_frame(f));
            assert_eq!(h(&first4), h(&mid4), "policy {p}");
            assert_eq!(h(&first4), h(&last4), "policy {p}");
            assert_eq!(h(&first6), h(&later6), "policy {p}");
        }
    }
}
