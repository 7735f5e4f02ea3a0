//! LACPDU (slow-protocols subtype 1, IEEE 802.1AX-2014 §6.4.2).
//!
//! Layout after the Ethernet header (110 octets for version 1):
//! ```text
//!  0 subtype=1 | 1 version
//!  2 TLV 0x01 len 20: actor   sys prio(2) sys(6) key(2) port prio(2) port(2) state(1) reserved(3)
//! 22 TLV 0x02 len 20: partner (same layout)
//! 42 TLV 0x03 len 16: collector max delay(2) reserved(12)
//! 58 TLV 0x00 len 0 : terminator
//! 60 reserved(50)
//! ```
//! Version and reserved octets are not checked (§6.4.2.4 / 43.4.12 of 802.3): a receiver ignores them.

use crate::WireError;
use lagd_types::{Key, MacAddr, PortId, PortState, SystemId};
use serde::{Deserialize, Serialize};

/// Length of a version-1 LACPDU, subtype to the end of the reserved octets.
pub const LACPDU_LEN: usize = 110;

const TLV_TERMINATOR: u8 = 0x00;
const TLV_ACTOR: u8 = 0x01;
const TLV_PARTNER: u8 = 0x02;
const TLV_COLLECTOR: u8 = 0x03;
const INFO_LEN: u8 = 20;
const COLLECTOR_LEN: u8 = 16;

/// Actor or Partner information as carried in a LACPDU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LacpInfo {
    /// System_Priority and System.
    pub system: SystemId,
    /// Key.
    pub key: Key,
    /// Port_Priority and Port.
    pub port: PortId,
    /// State.
    pub state: PortState,
}

/// A parsed LACPDU.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpduRepr {
    /// Version_Number as received (1 or 2; any value is accepted on receive).
    pub version: u8,
    /// Actor_Information.
    pub actor: LacpInfo,
    /// Partner_Information.
    pub partner: LacpInfo,
    /// CollectorMaxDelay, in tens of microseconds.
    pub collector_max_delay: u16,
    /// Version 2 Port Algorithm TLV (0x04) value, when present.
    pub port_algorithm: Option<[u8; 4]>,
    /// Version 2 Port Conversation ID Digest TLV (0x05): link number and MD5 digest, when present.
    pub conversation_digest: Option<(u16, [u8; 16])>,
}

fn read_info(b: &[u8]) -> LacpInfo {
    // b is exactly the 18 value octets of an actor/partner TLV.
    LacpInfo {
        system: SystemId {
            priority: u16::from_be_bytes([b[0], b[1]]),
            addr: MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]]),
        },
        key: u16::from_be_bytes([b[8], b[9]]),
        port: PortId {
            priority: u16::from_be_bytes([b[10], b[11]]),
            number: u16::from_be_bytes([b[12], b[13]]),
        },
        state: PortState(b[14]),
    }
}

fn write_info(b: &mut [u8], i: &LacpInfo) {
    b[0..2].copy_from_slice(&i.system.priority.to_be_bytes());
    b[2..8].copy_from_slice(&i.system.addr.0);
    b[8..10].copy_from_slice(&i.key.to_be_bytes());
    b[10..12].copy_from_slice(&i.port.priority.to_be_bytes());
    b[12..14].copy_from_slice(&i.port.number.to_be_bytes());
    b[14] = i.state.0;
    b[15..18].fill(0);
}

impl LacpduRepr {
    /// Parses a LACPDU starting at its subtype octet. `pdu` may extend past the PDU (Ethernet
    /// padding); padding must be zero or the PDU is refused as trailing garbage.
    pub fn parse(pdu: &[u8]) -> Result<Self, WireError> {
        if pdu.len() < LACPDU_LEN {
            return Err(WireError::Truncated {
                need: LACPDU_LEN,
                have: pdu.len(),
            });
        }
        if pdu[0] != crate::SUBTYPE_LACP {
            return Err(WireError::UnknownSubtype(pdu[0]));
        }
        let expect = |off: usize, t: u8, l: u8| -> Result<(), WireError> {
            if pdu[off] != t || pdu[off + 1] != l {
                Err(WireError::BadTlv {
                    offset: off,
                    tlv_type: pdu[off],
                    length: pdu[off + 1],
                })
            } else {
                Ok(())
            }
        };
        expect(2, TLV_ACTOR, INFO_LEN)?;
        expect(22, TLV_PARTNER, INFO_LEN)?;
        expect(42, TLV_COLLECTOR, COLLECTOR_LEN)?;
        let mut repr = LacpduRepr {
            version: pdu[1],
            actor: read_info(&pdu[4..22]),
            partner: read_info(&pdu[24..42]),
            collector_max_delay: u16::from_be_bytes([pdu[44], pdu[45]]),
            port_algorithm: None,
            conversation_digest: None,
        };
        // Version 2 inserts further TLVs before the terminator; walk them by length.
        let mut off = 58;
        loop {
            let (t, l) = match (pdu.get(off), pdu.get(off + 1)) {
                (Some(&t), Some(&l)) => (t, l),
                _ => {
                    return Err(WireError::Truncated {
                        need: off + 2,
                        have: pdu.len(),
                    });
                }
            };
            if t == TLV_TERMINATOR {
                if l != 0 {
                    return Err(WireError::BadTlv {
                        offset: off,
                        tlv_type: t,
                        length: l,
                    });
                }
                off += 2;
                break;
            }
            let l = usize::from(l);
            if l < 2 {
                return Err(WireError::BadTlv {
                    offset: off,
                    tlv_type: t,
                    length: l as u8,
                });
            }
            let end = off + l;
            let v = pdu.get(off + 2..end).ok_or(WireError::Truncated {
                need: end,
                have: pdu.len(),
            })?;
            match (t, l) {
                (0x04, 6) => repr.port_algorithm = Some([v[0], v[1], v[2], v[3]]),
                (0x05, 20) => {
                    let mut d = [0u8; 16];
                    d.copy_from_slice(&v[2..18]);
                    repr.conversation_digest = Some((u16::from_be_bytes([v[0], v[1]]), d));
                }
                _ => {} // unknown or unused v2 TLV: skipped by its length
            }
            off = end;
        }
        // Reserved octets follow the terminator up to the PDU's length; a version-1 PDU is 110.
        let pdu_end = off.max(LACPDU_LEN);
        if pdu_end > pdu.len() {
            return Err(WireError::Truncated {
                need: pdu_end,
                have: pdu.len(),
            });
        }
        let trailing = &pdu[pdu_end..];
        if trailing.iter().any(|&b| b != 0) {
            return Err(WireError::TrailingGarbage(trailing.len()));
        }
        Ok(repr)
    }

    /// Length this PDU occupies when emitted.
    pub fn buffer_len(&self) -> usize {
        let extra =
            self.port_algorithm.map_or(0, |_| 6) + self.conversation_digest.map_or(0, |_| 20);
        LACPDU_LEN + extra
    }

    /// Writes the PDU, subtype first, into `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(WireError::BufferTooSmall {
                need: len,
                have: buf.len(),
            });
        }
        let b = &mut buf[..len];
        b.fill(0);
        b[0] = crate::SUBTYPE_LACP;
        b[1] = self.version;
        b[2] = TLV_ACTOR;
        b[3] = INFO_LEN;
        write_info(&mut b[4..22], &self.actor);
        b[22] = TLV_PARTNER;
        b[23] = INFO_LEN;
        write_info(&mut b[24..42], &self.partner);
        b[42] = TLV_COLLECTOR;
        b[43] = COLLECTOR_LEN;
        b[44..46].copy_from_slice(&self.collector_max_delay.to_be_bytes());
        let mut off = 58;
        if let Some(a) = self.port_algorithm {
            b[off] = 0x04;
            b[off + 1] = 6;
            b[off + 2..off + 6].copy_from_slice(&a);
            off += 6;
        }
        if let Some((link, d)) = self.conversation_digest {
            b[off] = 0x05;
            b[off + 1] = 20;
            b[off + 2..off + 4].copy_from_slice(&link.to_be_bytes());
            b[off + 4..off + 20].copy_from_slice(&d);
            off += 20;
        }
        b[off] = TLV_TERMINATOR;
        b[off + 1] = 0;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LacpduRepr {
        LacpduRepr {
            version: 1,
            actor: LacpInfo {
                system: SystemId::new(0x8000, MacAddr([2, 0, 0, 0, 0, 1])),
                key: 1,
                port: PortId::new(0x80, 3),
                state: PortState(0x3d),
            },
            partner: LacpInfo {
                system: SystemId::new(65534, MacAddr([2, 0, 0, 0, 0xb, 1])),
                key: 7,
                port: PortId::new(65535, 9),
                state: PortState(0x3f),
            },
            collector_max_delay: 0,
            ..Default::default()
        }
    }

    #[test]
    fn roundtrip_v1() {
        let r = sample();
        let mut buf = [0xaau8; 200];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(n, LACPDU_LEN);
        assert_eq!(LacpduRepr::parse(&buf[..n]).unwrap(), r);
    }

    #[test]
    fn ignores_version_and_reserved() {
        let r = sample();
        let mut buf = [0u8; LACPDU_LEN];
        r.emit(&mut buf).unwrap();
        buf[1] = 9;
        buf[19] = 0xff; // actor reserved
        buf[100] = 0x55; // trailing reserved
        let p = LacpduRepr::parse(&buf).unwrap();
        assert_eq!(p.version, 9);
        assert_eq!(p.actor, r.actor);
    }

    #[test]
    fn v2_tlvs_roundtrip_and_unknown_skipped() {
        let mut r = sample();
        r.version = 2;
        r.port_algorithm = Some([0, 0x80, 0xc2, 1]);
        r.conversation_digest = Some((5, [7; 16]));
        let mut buf = [0u8; 200];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(LacpduRepr::parse(&buf[..n]).unwrap(), r);
        // an unknown TLV of length 4 before the terminator is skipped
        let mut buf = [0u8; 120];
        sample().emit(&mut buf).unwrap();
        buf[58] = 0x7f;
        buf[59] = 4;
        buf[62] = 0;
        buf[63] = 0;
        assert_eq!(LacpduRepr::parse(&buf).unwrap().actor, sample().actor);
    }

    #[test]
    fn malformed() {
        let mut buf = [0u8; LACPDU_LEN];
        sample().emit(&mut buf).unwrap();
        assert!(matches!(
            LacpduRepr::parse(&buf[..50]),
            Err(WireError::Truncated { .. })
        ));
        let mut bad = buf;
        bad[3] = 19;
        assert!(matches!(
            LacpduRepr::parse(&bad),
            Err(WireError::BadTlv { offset: 2, .. })
        ));
        let mut bad = buf;
        bad[0] = 3;
        assert_eq!(LacpduRepr::parse(&bad), Err(WireError::UnknownSubtype(3)));
        let mut long = [0u8; 130];
        long[..LACPDU_LEN].copy_from_slice(&buf);
        assert!(LacpduRepr::parse(&long).is_ok(), "zero padding accepted");
        long[120] = 1;
        assert_eq!(
            LacpduRepr::parse(&long),
            Err(WireError::TrailingGarbage(20))
        );
        let mut bad = buf;
        bad[58] = 0x33;
        bad[59] = 1;
        assert!(matches!(
            LacpduRepr::parse(&bad),
            Err(WireError::BadTlv { offset: 58, .. })
        ));
    }
}
