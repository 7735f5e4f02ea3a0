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
//! Version and reserved octets are not checked (§6.4.2.4 / 43.4.12 of 802.3): a receiver ignores
//! them. Nor are the TLV types and lengths of the fixed TLVs ([`LacpduRepr::parse`]).
//!
//! Version 2 (§6.4.2.4) inserts further TLVs (Port Algorithm 0x04, Port Conversation ID Digest
//! 0x05, ...) between the Collector TLV and the Terminator. They are carried in the 50 octets of
//! the version-1 Pad, so a LACPDU whose extra TLVs fit there stays 110 octets (this is also how
//! Wireshark decodes it); only larger sets of TLVs make a longer PDU.
//!
//! [`LacpduPacket`] is the zero-copy view (field getters and setters at fixed offsets, plus
//! [`LacpduPacket::tlvs`] walking the TLVs after the Collector TLV); [`LacpduRepr`] is the parsed
//! form, decoded through the view.

use crate::WireError;
use crate::bytes::{array_at, mac_at, put, put_u8, put_u16, u8_at, u16_at, zero};
use crate::tlv::{TlvError, TlvLayout, Tlvs};
use lagd_types::{Key, MacAddr, PortId, PortNumber, PortState, Priority, SystemId};
use serde::{Deserialize, Serialize};

/// Length of a version-1 LACPDU, subtype to the end of the reserved octets.
pub const LACPDU_LEN: usize = 110;

const TLV_ACTOR: u8 = 0x01;
const TLV_PARTNER: u8 = 0x02;
const TLV_COLLECTOR: u8 = 0x03;
const TLV_PORT_ALGORITHM: u8 = 0x04;
const TLV_CONVERSATION_DIGEST: u8 = 0x05;
const INFO_LEN: u8 = 20;
const COLLECTOR_LEN: u8 = 16;
const PORT_ALGORITHM_LEN: u8 = 6;
const CONVERSATION_DIGEST_LEN: u8 = 20;

/// Octet offsets of the LACPDU fields, counted from the subtype octet.
mod field {
    pub const SUBTYPE: usize = 0;
    pub const VERSION: usize = 1;
    /// Start of the Actor TLV (type octet).
    pub const ACTOR: usize = 2;
    /// Start of the Partner TLV (type octet).
    pub const PARTNER: usize = 22;
    /// Start of the Collector TLV (type octet).
    pub const COLLECTOR: usize = 42;
    pub const COLLECTOR_MAX_DELAY: usize = 44;
    /// First octet after the Collector TLV: version-2 TLVs or the Terminator.
    pub const TLVS: usize = 58;

    // Offsets inside an Actor/Partner TLV, from its type octet.
    pub const INFO_TYPE: usize = 0;
    pub const INFO_LENGTH: usize = 1;
    pub const INFO_SYS_PRIORITY: usize = 2;
    pub const INFO_SYSTEM: usize = 4;
    pub const INFO_KEY: usize = 10;
    pub const INFO_PORT_PRIORITY: usize = 12;
    pub const INFO_PORT: usize = 14;
    pub const INFO_STATE: usize = 16;
    pub const INFO_RESERVED: usize = 17;
}

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

/// A zero-copy view of a LACPDU, starting at its subtype octet (§6.4.2.3).
///
/// [`new_checked`](Self::new_checked) only checks that the buffer holds a version-1 LACPDU's
/// 110 octets, so every getter and setter below is in range; [`LacpduRepr::parse`] checks the
/// subtype and nothing else of the fixed fields (see there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LacpduPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// One TLV after the Collector TLV of a LACPDU (a version-2 TLV or the Terminator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LacpTlv<'a> {
    /// Offset of the TLV's type octet within the PDU.
    pub offset: usize,
    /// TLV_type (0 = Terminator).
    pub tlv_type: u8,
    /// The TLV's length octet: type and length octets included, 0 for the Terminator.
    pub length: u8,
    /// The value octets (`length - 2` of them; empty for the Terminator).
    pub value: &'a [u8],
}

/// The LACPDU's TLV header: an 8-bit type, then an 8-bit length counting the two header octets
/// (so a TLV other than the Terminator has a length of at least 2).
#[derive(Clone, Copy, Debug)]
pub struct LacpTlvLayout;

impl TlvLayout for LacpTlvLayout {
    const HEADER_LEN: usize = 2;
    fn split(header: &[u8]) -> (u8, u16) {
        (u8_at(header, 0), u16::from(u8_at(header, 1)))
    }
    fn value_len(_: u8, length: u16) -> Option<usize> {
        usize::from(length).checked_sub(2)
    }
}

/// Iterator over the TLVs following the Collector TLV, ending with the Terminator.
///
/// Yields an error (and then stops) when a TLV runs past the buffer or has an impossible length.
#[derive(Clone, Debug)]
pub struct LacpTlvs<'a>(Tlvs<'a, LacpTlvLayout>);

impl<'a> Iterator for LacpTlvs<'a> {
    type Item = Result<LacpTlv<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        // The layout reads the length from one octet: it fits in a `u8`.
        let octet = |length: u16| u8::try_from(length).unwrap_or(u8::MAX);
        Some(match self.0.next()? {
            Ok(t) => Ok(LacpTlv {
                offset: t.offset,
                tlv_type: t.tlv_type,
                length: octet(t.length),
                value: t.value,
            }),
            Err(TlvError::Truncated { need, have }) => Err(WireError::Truncated { need, have }),
            Err(TlvError::BadHeader {
                offset,
                tlv_type,
                length,
            }) => Err(WireError::BadTlv {
                offset,
                tlv_type,
                length: octet(length),
            }),
        })
    }
}

impl<T: AsRef<[u8]>> LacpduPacket<T> {
    /// Wraps `buffer` after checking it holds at least [`LACPDU_LEN`] octets.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let have = buffer.as_ref().len();
        if have < LACPDU_LEN {
            return Err(WireError::Truncated {
                need: LACPDU_LEN,
                have,
            });
        }
        Ok(LacpduPacket { buffer })
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, subtype octet first.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Slow-protocols subtype (1 for LACP).
    pub fn subtype(&self) -> u8 {
        u8_at(self.b(), field::SUBTYPE)
    }
    /// Version_Number (§6.4.2.3 b).
    pub fn version(&self) -> u8 {
        u8_at(self.b(), field::VERSION)
    }

    fn info_system_priority(&self, base: usize) -> Priority {
        u16_at(self.b(), base + field::INFO_SYS_PRIORITY)
    }
    fn info_system(&self, base: usize) -> MacAddr {
        mac_at(self.b(), base + field::INFO_SYSTEM)
    }
    fn info_key(&self, base: usize) -> Key {
        u16_at(self.b(), base + field::INFO_KEY)
    }
    fn info_port_priority(&self, base: usize) -> Priority {
        u16_at(self.b(), base + field::INFO_PORT_PRIORITY)
    }
    fn info_port(&self, base: usize) -> PortNumber {
        u16_at(self.b(), base + field::INFO_PORT)
    }
    fn info_state(&self, base: usize) -> PortState {
        PortState(u8_at(self.b(), base + field::INFO_STATE))
    }
    fn info(&self, base: usize) -> LacpInfo {
        LacpInfo {
            system: SystemId::new(self.info_system_priority(base), self.info_system(base)),
            key: self.info_key(base),
            port: PortId::new(self.info_port_priority(base), self.info_port(base)),
            state: self.info_state(base),
        }
    }

    /// TLV_type of the Actor information (1).
    pub fn actor_tlv_type(&self) -> u8 {
        u8_at(self.b(), field::ACTOR + field::INFO_TYPE)
    }
    /// Actor_Information_Length (20).
    pub fn actor_info_length(&self) -> u8 {
        u8_at(self.b(), field::ACTOR + field::INFO_LENGTH)
    }
    /// Actor_System_Priority.
    pub fn actor_system_priority(&self) -> Priority {
        self.info_system_priority(field::ACTOR)
    }
    /// Actor_System.
    pub fn actor_system(&self) -> MacAddr {
        self.info_system(field::ACTOR)
    }
    /// Actor_Key.
    pub fn actor_key(&self) -> Key {
        self.info_key(field::ACTOR)
    }
    /// Actor_Port_Priority.
    pub fn actor_port_priority(&self) -> Priority {
        self.info_port_priority(field::ACTOR)
    }
    /// Actor_Port.
    pub fn actor_port(&self) -> PortNumber {
        self.info_port(field::ACTOR)
    }
    /// Actor_State.
    pub fn actor_state(&self) -> PortState {
        self.info_state(field::ACTOR)
    }
    /// The whole Actor information.
    pub fn actor_info(&self) -> LacpInfo {
        self.info(field::ACTOR)
    }

    /// TLV_type of the Partner information (2).
    pub fn partner_tlv_type(&self) -> u8 {
        u8_at(self.b(), field::PARTNER + field::INFO_TYPE)
    }
    /// Partner_Information_Length (20).
    pub fn partner_info_length(&self) -> u8 {
        u8_at(self.b(), field::PARTNER + field::INFO_LENGTH)
    }
    /// Partner_System_Priority.
    pub fn partner_system_priority(&self) -> Priority {
        self.info_system_priority(field::PARTNER)
    }
    /// Partner_System.
    pub fn partner_system(&self) -> MacAddr {
        self.info_system(field::PARTNER)
    }
    /// Partner_Key.
    pub fn partner_key(&self) -> Key {
        self.info_key(field::PARTNER)
    }
    /// Partner_Port_Priority.
    pub fn partner_port_priority(&self) -> Priority {
        self.info_port_priority(field::PARTNER)
    }
    /// Partner_Port.
    pub fn partner_port(&self) -> PortNumber {
        self.info_port(field::PARTNER)
    }
    /// Partner_State.
    pub fn partner_state(&self) -> PortState {
        self.info_state(field::PARTNER)
    }
    /// The whole Partner information.
    pub fn partner_info(&self) -> LacpInfo {
        self.info(field::PARTNER)
    }

    /// TLV_type of the Collector information (3).
    pub fn collector_tlv_type(&self) -> u8 {
        u8_at(self.b(), field::COLLECTOR + field::INFO_TYPE)
    }
    /// Collector_Information_Length (16).
    pub fn collector_info_length(&self) -> u8 {
        u8_at(self.b(), field::COLLECTOR + field::INFO_LENGTH)
    }
    /// CollectorMaxDelay, in tens of microseconds.
    pub fn collector_max_delay(&self) -> u16 {
        u16_at(self.b(), field::COLLECTOR_MAX_DELAY)
    }

    /// The TLVs after the Collector TLV (version-2 TLVs, then the Terminator).
    pub fn tlvs(&self) -> LacpTlvs<'_> {
        LacpTlvs(Tlvs::new(self.b(), field::TLVS))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LacpduPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the slow-protocols subtype.
    pub fn set_subtype(&mut self, v: u8) {
        put_u8(self.bm(), field::SUBTYPE, v)
    }
    /// Sets Version_Number.
    pub fn set_version(&mut self, v: u8) {
        put_u8(self.bm(), field::VERSION, v)
    }

    fn set_info(&mut self, base: usize, tlv_type: u8, i: &LacpInfo) {
        let b = self.bm();
        put_u8(b, base + field::INFO_TYPE, tlv_type);
        put_u8(b, base + field::INFO_LENGTH, INFO_LEN);
        put_u16(b, base + field::INFO_SYS_PRIORITY, i.system.priority);
        put(b, base + field::INFO_SYSTEM, &i.system.addr.0);
        put_u16(b, base + field::INFO_KEY, i.key);
        put_u16(b, base + field::INFO_PORT_PRIORITY, i.port.priority);
        put_u16(b, base + field::INFO_PORT, i.port.number);
        put_u8(b, base + field::INFO_STATE, i.state.0);
        zero(b, base + field::INFO_RESERVED, 3);
    }

    /// Writes the whole Actor TLV: type 1, length 20, `info`, reserved octets zeroed.
    pub fn set_actor_info(&mut self, info: &LacpInfo) {
        self.set_info(field::ACTOR, TLV_ACTOR, info)
    }
    /// Sets the Actor TLV_type octet.
    pub fn set_actor_tlv_type(&mut self, v: u8) {
        put_u8(self.bm(), field::ACTOR + field::INFO_TYPE, v)
    }
    /// Sets Actor_Information_Length.
    pub fn set_actor_info_length(&mut self, v: u8) {
        put_u8(self.bm(), field::ACTOR + field::INFO_LENGTH, v)
    }
    /// Sets Actor_System_Priority.
    pub fn set_actor_system_priority(&mut self, v: Priority) {
        put_u16(self.bm(), field::ACTOR + field::INFO_SYS_PRIORITY, v)
    }
    /// Sets Actor_System.
    pub fn set_actor_system(&mut self, v: MacAddr) {
        put(self.bm(), field::ACTOR + field::INFO_SYSTEM, &v.0)
    }
    /// Sets Actor_Key.
    pub fn set_actor_key(&mut self, v: Key) {
        put_u16(self.bm(), field::ACTOR + field::INFO_KEY, v)
    }
    /// Sets Actor_Port_Priority.
    pub fn set_actor_port_priority(&mut self, v: Priority) {
        put_u16(self.bm(), field::ACTOR + field::INFO_PORT_PRIORITY, v)
    }
    /// Sets Actor_Port.
    pub fn set_actor_port(&mut self, v: PortNumber) {
        put_u16(self.bm(), field::ACTOR + field::INFO_PORT, v)
    }
    /// Sets Actor_State.
    pub fn set_actor_state(&mut self, v: PortState) {
        put_u8(self.bm(), field::ACTOR + field::INFO_STATE, v.0)
    }

    /// Writes the whole Partner TLV: type 2, length 20, `info`, reserved octets zeroed.
    pub fn set_partner_info(&mut self, info: &LacpInfo) {
        self.set_info(field::PARTNER, TLV_PARTNER, info)
    }
    /// Sets the Partner TLV_type octet.
    pub fn set_partner_tlv_type(&mut self, v: u8) {
        put_u8(self.bm(), field::PARTNER + field::INFO_TYPE, v)
    }
    /// Sets Partner_Information_Length.
    pub fn set_partner_info_length(&mut self, v: u8) {
        put_u8(self.bm(), field::PARTNER + field::INFO_LENGTH, v)
    }
    /// Sets Partner_System_Priority.
    pub fn set_partner_system_priority(&mut self, v: Priority) {
        put_u16(self.bm(), field::PARTNER + field::INFO_SYS_PRIORITY, v)
    }
    /// Sets Partner_System.
    pub fn set_partner_system(&mut self, v: MacAddr) {
        put(self.bm(), field::PARTNER + field::INFO_SYSTEM, &v.0)
    }
    /// Sets Partner_Key.
    pub fn set_partner_key(&mut self, v: Key) {
        put_u16(self.bm(), field::PARTNER + field::INFO_KEY, v)
    }
    /// Sets Partner_Port_Priority.
    pub fn set_partner_port_priority(&mut self, v: Priority) {
        put_u16(self.bm(), field::PARTNER + field::INFO_PORT_PRIORITY, v)
    }
    /// Sets Partner_Port.
    pub fn set_partner_port(&mut self, v: PortNumber) {
        put_u16(self.bm(), field::PARTNER + field::INFO_PORT, v)
    }
    /// Sets Partner_State.
    pub fn set_partner_state(&mut self, v: PortState) {
        put_u8(self.bm(), field::PARTNER + field::INFO_STATE, v.0)
    }

    /// Writes the whole Collector TLV: type 3, length 16, `max_delay`, reserved octets zeroed.
    pub fn set_collector_info(&mut self, max_delay: u16) {
        let b = self.bm();
        put_u8(b, field::COLLECTOR + field::INFO_TYPE, TLV_COLLECTOR);
        put_u8(b, field::COLLECTOR + field::INFO_LENGTH, COLLECTOR_LEN);
        put_u16(b, field::COLLECTOR_MAX_DELAY, max_delay);
        zero(b, field::COLLECTOR_MAX_DELAY + 2, 12);
    }
    /// Sets CollectorMaxDelay.
    pub fn set_collector_max_delay(&mut self, v: u16) {
        put_u16(self.bm(), field::COLLECTOR_MAX_DELAY, v)
    }

    /// The octets from the end of the Collector TLV to the end of the buffer, where the
    /// version-2 TLVs, the Terminator and the Pad are written.
    pub fn tlvs_mut(&mut self) -> &mut [u8] {
        self.bm().get_mut(field::TLVS..).unwrap_or_default()
    }
}

impl LacpduRepr {
    /// Parses a LACPDU starting at its subtype octet, as leniently as Linux and teamd read one:
    ///
    /// - the fields are read at their version-1 offsets; the TLV_type octets of the Actor,
    ///   Partner and Collector TLVs are not checked (802.3 43.4.12, teamd), nor their length
    ///   octets (Linux checks none; some senders are off by one);
    /// - version and reserved octets are ignored (§6.4.2.4), and so is everything after the
    ///   110 octets (an Ethernet FCS kept by a capture path, vendor data such as HPE IRF's
    ///   LACP-MAD that Wireshark decodes after the PDU);
    /// - the version-2 TLVs after the Collector TLV are walked by length up to the Terminator;
    ///   a walk that goes wrong ends there and keeps the TLVs read before.
    ///
    /// Refused, as Linux refuses them (`lacpdu_illegal_rx`): fewer than 110 octets; and a
    /// subtype other than LACP.
    pub fn parse(pdu: &[u8]) -> Result<Self, WireError> {
        let p = LacpduPacket::new_checked(pdu)?;
        if p.subtype() != crate::SUBTYPE_LACP {
            return Err(WireError::UnknownSubtype(p.subtype()));
        }
        let mut repr = LacpduRepr {
            version: p.version(),
            actor: p.actor_info(),
            partner: p.partner_info(),
            collector_max_delay: p.collector_max_delay(),
            port_algorithm: None,
            conversation_digest: None,
        };
        // Version 2 inserts further TLVs before the terminator; walk them by length.
        for tlv in p.tlvs().map_while(Result::ok) {
            match (tlv.tlv_type, tlv.length) {
                (TLV_PORT_ALGORITHM, PORT_ALGORITHM_LEN) => {
                    repr.port_algorithm = Some(array_at(tlv.value, 0));
                }
                (TLV_CONVERSATION_DIGEST, CONVERSATION_DIGEST_LEN) => {
                    repr.conversation_digest = Some((u16_at(tlv.value, 0), array_at(tlv.value, 2)));
                }
                _ => {} // the Terminator, or an unknown or unused v2 TLV: skipped by its length
            }
        }
        Ok(repr)
    }

    /// Length of the version-2 TLVs this PDU carries.
    fn v2_tlvs_len(&self) -> usize {
        self.port_algorithm
            .map_or(0, |_| usize::from(PORT_ALGORITHM_LEN))
            + self
                .conversation_digest
                .map_or(0, |_| usize::from(CONVERSATION_DIGEST_LEN))
    }

    /// Length this PDU occupies when emitted: 110 octets, more only if the version-2 TLVs do
    /// not fit in the 50-octet Pad.
    pub fn buffer_len(&self) -> usize {
        (field::TLVS + self.v2_tlvs_len() + 2).max(LACPDU_LEN)
    }

    /// Writes the PDU, subtype first, into `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let have = buf.len();
        let b = buf
            .get_mut(..len)
            .ok_or(WireError::BufferTooSmall { need: len, have })?;
        b.fill(0);
        let mut p = LacpduPacket::new_checked(b)?;
        p.set_subtype(crate::SUBTYPE_LACP);
        p.set_version(self.version);
        p.set_actor_info(&self.actor);
        p.set_partner_info(&self.partner);
        p.set_collector_info(self.collector_max_delay);
        let t = p.tlvs_mut();
        let mut off = 0;
        if let Some(a) = self.port_algorithm {
            put_u8(t, off, TLV_PORT_ALGORITHM);
            put_u8(t, off + 1, PORT_ALGORITHM_LEN);
            put(t, off + 2, &a);
            off += usize::from(PORT_ALGORITHM_LEN);
        }
        if let Some((link, d)) = self.conversation_digest {
            put_u8(t, off, TLV_CONVERSATION_DIGEST);
            put_u8(t, off + 1, CONVERSATION_DIGEST_LEN);
            put_u16(t, off + 2, link);
            put(t, off + 4, &d);
        }
        // The Terminator (type 0, length 0) and the Pad are the zeros already written.
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
        bad[0] = 3;
        assert_eq!(LacpduRepr::parse(&bad), Err(WireError::UnknownSubtype(3)));
        let mut long = [0u8; 130];
        long[..LACPDU_LEN].copy_from_slice(&buf);
        assert!(LacpduRepr::parse(&long).is_ok(), "zero padding accepted");
    }

    /// Issue 11, defect 3: what Linux (`bond_3ad.c` checks nothing but the length) and teamd
    /// (802.3 43.4.12: no `tlv_type` check) accept is accepted.
    #[test]
    fn accepts_what_linux_and_teamd_accept() {
        let mut buf = [0u8; 130];
        sample().emit(&mut buf).unwrap();
        // TLV types are not checked.
        buf[2] = 0x21;
        buf[22] = 0;
        buf[42] = 7;
        // Information lengths off by one.
        buf[3] = 19;
        buf[23] = 21;
        buf[43] = 17;
        // A terminator with a length, and non-zero octets after the 110: an Ethernet FCS kept
        // by a capture path, HPE IRF LACP-MAD data.
        buf[59] = 3;
        buf[110..114].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        buf[114..130].fill(0x5a);
        let r = LacpduRepr::parse(&buf).unwrap();
        assert_eq!((r.actor, r.partner), (sample().actor, sample().partner));
        // What is still refused: too short to hold the fixed fields, or another subtype.
        assert!(matches!(
            LacpduRepr::parse(&buf[..LACPDU_LEN - 1]),
            Err(WireError::Truncated { .. })
        ));
        buf[0] = 9;
        assert_eq!(LacpduRepr::parse(&buf), Err(WireError::UnknownSubtype(9)));
    }

    #[test]
    fn view_getters_read_what_emit_wrote() {
        let r = sample();
        let mut buf = [0u8; LACPDU_LEN];
        r.emit(&mut buf).unwrap();
        let p = LacpduPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.subtype(), 1);
        assert_eq!(p.version(), 1);
        assert_eq!((p.actor_tlv_type(), p.actor_info_length()), (1, 20));
        assert_eq!(p.actor_system_priority(), 0x8000);
        assert_eq!(p.actor_system(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(p.actor_key(), 1);
        assert_eq!(p.actor_port_priority(), 0x80);
        assert_eq!(p.actor_port(), 3);
        assert_eq!(p.actor_state(), PortState(0x3d));
        assert_eq!((p.partner_tlv_type(), p.partner_info_length()), (2, 20));
        assert_eq!(p.partner_system_priority(), 65534);
        assert_eq!(p.partner_system(), MacAddr([2, 0, 0, 0, 0xb, 1]));
        assert_eq!(p.partner_key(), 7);
        assert_eq!(p.partner_port_priority(), 65535);
        assert_eq!(p.partner_port(), 9);
        assert_eq!(p.partner_state(), PortState(0x3f));
        assert_eq!(p.partner_info(), r.partner);
        assert_eq!((p.collector_tlv_type(), p.collector_info_length()), (3, 16));
        assert_eq!(p.collector_max_delay(), 0);
        let tlvs: Vec<_> = p.tlvs().collect();
        assert_eq!(tlvs.len(), 1);
        assert_eq!(tlvs[0].unwrap().offset, 58);
        assert_eq!(p.as_bytes(), &buf[..], "the whole buffer");
        assert_eq!(p.into_inner().len(), LACPDU_LEN);
    }

    /// On a buffer whose octet `i` holds `i`, each getter reads its own octets (§6.4.2.3).
    #[test]
    fn view_getters_read_their_own_octets() {
        let buf: Vec<u8> = (0..LACPDU_LEN as u8).collect();
        let p = LacpduPacket::new_checked(&buf[..]).unwrap();
        let u16_at = |o: u16| (o << 8) | (o + 1);
        let mac_at = |o: u8| MacAddr([o, o + 1, o + 2, o + 3, o + 4, o + 5]);
        assert_eq!((p.subtype(), p.version()), (0, 1));
        // Type, length, System priority, System, key, port priority, port, state of the TLV
        // whose type octet is at `base`.
        let fields = |base: u8| {
            let o = u16::from(base);
            (
                (base, base + 1),
                (u16_at(o + 2), mac_at(base + 4), u16_at(o + 10)),
                (u16_at(o + 12), u16_at(o + 14), PortState(base + 16)),
            )
        };
        let actor = (
            (p.actor_tlv_type(), p.actor_info_length()),
            (p.actor_system_priority(), p.actor_system(), p.actor_key()),
            (p.actor_port_priority(), p.actor_port(), p.actor_state()),
        );
        assert_eq!(actor, fields(2));
        let partner = (
            (p.partner_tlv_type(), p.partner_info_length()),
            (
                p.partner_system_priority(),
                p.partner_system(),
                p.partner_key(),
            ),
            (
                p.partner_port_priority(),
                p.partner_port(),
                p.partner_state(),
            ),
        );
        assert_eq!(partner, fields(22));
        assert_eq!(
            p.actor_info(),
            LacpInfo {
                system: SystemId::new(u16_at(4), mac_at(6)),
                key: u16_at(12),
                port: PortId::new(u16_at(14), u16_at(16)),
                state: PortState(18),
            }
        );
        assert_eq!(
            (p.collector_tlv_type(), p.collector_info_length()),
            (42, 43)
        );
        assert_eq!(p.collector_max_delay(), u16_at(44));
    }

    /// The whole-TLV setters write their TLV, reserved octets zeroed, and no other octet.
    #[test]
    fn tlv_setters_write_their_tlv_and_nothing_else() {
        let r = sample();
        let mut clean = [0u8; LACPDU_LEN];
        r.emit(&mut clean).unwrap();
        let mut buf = [0xeeu8; LACPDU_LEN];
        let mut p = LacpduPacket::new_checked(&mut buf[..]).unwrap();
        p.set_actor_info(&r.actor);
        assert_eq!(&buf[2..22], &clean[2..22], "Actor TLV");
        assert!(buf[..2].iter().chain(&buf[22..]).all(|o| *o == 0xee));
        let mut p = LacpduPacket::new_checked(&mut buf[..]).unwrap();
        p.set_partner_info(&r.partner);
        assert_eq!(&buf[22..42], &clean[22..42], "Partner TLV");
        let mut p = LacpduPacket::new_checked(&mut buf[..]).unwrap();
        p.set_collector_info(0x1234);
        assert_eq!(&buf[42..46], &[3, 16, 0x12, 0x34], "Collector TLV");
        assert_eq!(&buf[46..58], &[0; 12], "Collector reserved octets");
        assert!(buf[..2].iter().chain(&buf[58..]).all(|o| *o == 0xee));
        assert_eq!(&buf[2..42], &clean[2..42], "Actor and Partner TLVs kept");
        let mut p = LacpduPacket::new_checked(&mut buf[..]).unwrap();
        p.set_collector_max_delay(0xabcd);
        assert_eq!(p.collector_max_delay(), 0xabcd);
        assert_eq!(&buf[42..46], &[3, 16, 0xab, 0xcd]);
    }

    #[test]
    fn view_setters_build_a_pdu_the_parser_accepts() {
        let mut buf = vec![0u8; LACPDU_LEN];
        let mut p = LacpduPacket::new_checked(&mut buf[..]).unwrap();
        p.set_subtype(1);
        p.set_version(1);
        p.set_actor_tlv_type(1);
        p.set_actor_info_length(20);
        p.set_actor_system_priority(0x8000);
        p.set_actor_system(MacAddr([2, 0, 0, 0, 0, 1]));
        p.set_actor_key(1);
        p.set_actor_port_priority(0x80);
        p.set_actor_port(3);
        p.set_actor_state(PortState(0x3d));
        p.set_partner_tlv_type(2);
        p.set_partner_info_length(20);
        p.set_partner_system_priority(65534);
        p.set_partner_system(MacAddr([2, 0, 0, 0, 0xb, 1]));
        p.set_partner_key(7);
        p.set_partner_port_priority(65535);
        p.set_partner_port(9);
        p.set_partner_state(PortState(0x3f));
        p.set_collector_info(0);
        p.set_collector_max_delay(0);
        assert_eq!(LacpduRepr::parse(&buf).unwrap(), sample());
        let mut emitted = [0u8; LACPDU_LEN];
        sample().emit(&mut emitted).unwrap();
        assert_eq!(buf, emitted, "setters and emit produce the same octets");
    }

    #[test]
    fn new_checked_refuses_short_buffers() {
        assert_eq!(
            LacpduPacket::new_checked(&[1u8; 109][..]),
            Err(WireError::Truncated {
                need: LACPDU_LEN,
                have: 109
            })
        );
    }

    #[test]
    fn v2_tlvs_ride_in_the_pad_and_pad_is_ignored() {
        let mut r = sample();
        r.version = 2;
        r.port_algorithm = Some([0, 0x80, 0xc2, 1]);
        r.conversation_digest = Some((5, [7; 16]));
        assert_eq!(r.buffer_len(), LACPDU_LEN);
        let mut buf = [0u8; LACPDU_LEN];
        assert_eq!(r.emit(&mut buf).unwrap(), LACPDU_LEN);
        let p = LacpduPacket::new_checked(&buf[..]).unwrap();
        let tlvs: Vec<_> = p.tlvs().map(Result::unwrap).collect();
        let kinds: Vec<_> = tlvs
            .iter()
            .map(|t| (t.offset, t.tlv_type, t.length))
            .collect();
        assert_eq!(kinds, vec![(58, 4, 6), (64, 5, 20), (84, 0, 0)]);
        assert_eq!(tlvs[1].value.len(), 18);
        // the 24 Pad octets after the Terminator are reserved: ignored on receipt
        buf[86..].fill(0xee);
        assert_eq!(LacpduRepr::parse(&buf).unwrap(), r);
    }

    /// The view reports a TLV walk that goes wrong; the parser ignores the version-2 TLVs
    /// from there on and keeps the PDU.
    #[test]
    fn tlv_walk_errors() {
        let mut buf = [0u8; LACPDU_LEN];
        sample().emit(&mut buf).unwrap();
        let walk = |buf: &[u8]| -> Vec<Result<(usize, u8, u8), WireError>> {
            let p = LacpduPacket::new_checked(buf).unwrap();
            p.tlvs()
                .map(|t| t.map(|t| (t.offset, t.tlv_type, t.length)))
                .collect()
        };
        // an unknown TLV running past the end of the buffer
        buf[58] = 0x7f;
        buf[59] = 60;
        assert_eq!(
            walk(&buf),
            vec![Err(WireError::Truncated {
                need: 118,
                have: 110
            })]
        );
        assert_eq!(LacpduRepr::parse(&buf).unwrap().actor, sample().actor);
        // a Port Algorithm TLV, then no terminator at all: TLVs of length 2 up to the end
        buf[58] = TLV_PORT_ALGORITHM;
        buf[59] = PORT_ALGORITHM_LEN;
        buf[60..64].copy_from_slice(&[0, 0x80, 0xc2, 1]);
        for o in (64..110).step_by(2) {
            buf[o] = 0x7f;
            buf[o + 1] = 2;
        }
        let w = walk(&buf);
        assert_eq!(w.first(), Some(&Ok((58, 4, 6))));
        assert_eq!(
            w.last(),
            Some(&Err(WireError::Truncated {
                need: 112,
                have: 110
            }))
        );
        let r = LacpduRepr::parse(&buf).unwrap();
        assert_eq!(
            r.port_algorithm,
            Some([0, 0x80, 0xc2, 1]),
            "kept: read before"
        );
        // a terminator with a non-zero length
        buf[58] = 0;
        buf[59] = 3;
        assert_eq!(
            walk(&buf),
            vec![Err(WireError::BadTlv {
                offset: 58,
                tlv_type: 0,
                length: 3
            })]
        );
        assert_eq!(LacpduRepr::parse(&buf).unwrap().port_algorithm, None);
        // a TLV length below 2
        buf[58] = 0x33;
        buf[59] = 1;
        assert!(matches!(
            walk(&buf).as_slice(),
            [Err(WireError::BadTlv { offset: 58, .. })]
        ));
        assert!(LacpduRepr::parse(&buf).is_ok());
    }
}
