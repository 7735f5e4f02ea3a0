//! The DT PDU: lagd's dialect of the DRCPDU (IEEE 802.1AX-2014 §9.4.3.2), after the Ethernet
//! header.
//!
//! ```text
//!  0 subtype = 1 (DRCP)          1 version = 0xD1 (lagd DT, version 1)
//!  2 TLVs, each: type (6 bits) | length (10 bits, value octets) | value
//!    type  1 Portal Info (16)       Aggregator_Priority(2) = role priority,
//!                                   Aggregator_ID(6) = the sender's own system MAC,
//!                                   Portal_Priority(2), Portal_Addr(6) = domain default system
//!    type  3 DRCP State (1)         Home_Gateway .. Expired, see [`DrcpState`]
//!    type  4 Home Ports Info (14+2n) per DT aggregation: aggregation id(2), admin key(2),
//!                                   oper partner key(2), partner system prio(2) + MAC(6),
//!                                   then the live (Collecting+Distributing) local port
//!                                   numbers, 2 octets each
//!    type 32 DT Domain (14)         domain id(4), flags(1), reserved(1), port number base(2),
//!                                   neighbor MAC(6) = the peer the sender hears (0 = none)
//!    type 33 DT Aggregation Config (22) per DT aggregation: aggregation id(2), shared LACP
//!                                   system prio(2) + MAC(6), key(2), LACP mode(1),
//!                                   LACP timer(1), MTU(4), member speed Mb/s(4)
//!    type 34 MAC Sync (17+11n)      flags(1), session(4), seq(4), ack session(4), ack seq(4),
//!                                   then entries: op(1) aggregation id(2) VLAN(2) MAC(6)
//!    type 35 Sequence (32)          epoch(8), seq(8): the sender's boot epoch and frame
//!                                   number; echo epoch(8), echo seq(8): the last of the
//!                                   receiver's it heard (replay protection, `freshness.rs`)
//!    type 37 Neighbour Sync (1+22n) flags(1), then entries: IP address(16; IPv4 as
//!                                   ::ffff:a.b.c.d), link-layer address(6): a slice of the
//!                                   sender's ARP/ND table (`neigh_sync.rs`)
//!    type 36 Authentication (37)    algorithm(1) = 1 (HMAC-SHA-256), key id(4), ICV(32) over
//!                                   the frame from the destination address to the key id
//!                                   (`auth.rs`); the last TLV before the Terminator
//!    type  0 Terminator (0)
//! ```
//! Portal Info, DRCP State and DT Domain are mandatory and appear once; Home Ports Info and
//! DT Aggregation Config may repeat (one per DT aggregation); MAC Sync, Neighbour Sync,
//! Sequence and Authentication appear at most once, and nothing but the Terminator follows Authentication.
//! Unknown TLV types are skipped (a later version may add some); octets after the Terminator
//! are Ethernet padding and ignored.
//!
//! [`DtPduPacket`] is the zero-copy view (header fields and the TLV walk); [`DtPduRepr`] is the
//! parsed form, decoded through it.

use crate::DtWireError;
use crate::bytes::{Writer, array_at, mac_at, u8_at, u16_at, u32_at, u64_at};
use crate::tlv::{DtTlv, DtTlvs, MAX_TLV_VALUE, TLV_HEADER_LEN, header};
use lagd_types::{Key, MacAddr, PortNumber, SystemId};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv6Addr};

/// DRCP subtype (§9.4.3.2).
pub const DT_SUBTYPE: u8 = 1;
/// lagd's DT dialect of the DRCPDU, version 1. A standard DRCP receiver sees an unknown
/// version; lagd refuses any other version.
pub const DT_VERSION: u8 = 0xd1;

/// TLV types.
pub mod tlv_type {
    /// Terminator.
    pub const TERMINATOR: u8 = 0;
    /// Portal Info (as in the DRCPDU).
    pub const PORTAL_INFO: u8 = 1;
    /// DRCP State (as in the DRCPDU).
    pub const DRCP_STATE: u8 = 3;
    /// Home Ports Info (DRCPDU layout adapted: per DT aggregation, 2-octet port numbers).
    pub const HOME_PORTS_INFO: u8 = 4;
    /// DT Domain (lagd).
    pub const DOMAIN: u8 = 32;
    /// DT Aggregation Config (lagd; DRCP has Portal Configuration Info digests instead).
    pub const AGGR_CONFIG: u8 = 33;
    /// MAC Sync (lagd; DRNI has no MAC synchronisation).
    pub const MAC_SYNC: u8 = 34;
    /// Sequence (lagd): boot epoch, frame number and their echo.
    pub const SEQUENCE: u8 = 35;
    /// Authentication (lagd): HMAC-SHA-256 of the frame under the shared key.
    pub const AUTH: u8 = 36;
    /// Neighbour Sync (lagd): a slice of the sender's ARP and IPv6 ND table.
    pub const NEIGH_SYNC: u8 = 37;
}

const PORTAL_INFO_LEN: usize = 16;
const DRCP_STATE_LEN: usize = 1;
const DOMAIN_LEN: usize = 14;
const HOME_PORTS_FIXED: usize = 14;
const AGGR_CONFIG_LEN: usize = 22;
const MAC_SYNC_FIXED: usize = 17;
const SEQUENCE_LEN: usize = 32;
/// Octets of the Authentication TLV's value.
pub const AUTH_LEN: usize = 37;
/// Octets of the ICV (HMAC-SHA-256).
pub const ICV_LEN: usize = 32;
/// Octets of one MAC Sync entry.
pub const MAC_ENTRY_LEN: usize = 11;
/// Most MAC Sync entries one TLV can carry (10-bit length).
pub const MAX_MAC_ENTRIES: usize = (MAX_TLV_VALUE - MAC_SYNC_FIXED) / MAC_ENTRY_LEN;
/// Octets of one Neighbour Sync entry.
pub const NEIGH_ENTRY_LEN: usize = 22;
const NEIGH_SYNC_FIXED: usize = 1;
/// Most Neighbour Sync entries one TLV can carry (10-bit length).
pub const MAX_NEIGH_ENTRIES: usize = (MAX_TLV_VALUE - NEIGH_SYNC_FIXED) / NEIGH_ENTRY_LEN;
/// Most live ports one Home Ports Info TLV can carry.
pub const MAX_HOME_PORTS: usize = (MAX_TLV_VALUE - HOME_PORTS_FIXED) / 2;

/// DRCP_State (§9.4.3.2): eight flags in one octet, in the standard's bit order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DrcpState(pub u8);

impl DrcpState {
    /// Home_Gateway: this switch forwards on its DT aggregations.
    pub const HOME_GATEWAY: u8 = 0x01;
    /// Neighbor_Gateway: the peer forwards, as this switch last heard.
    pub const NEIGHBOR_GATEWAY: u8 = 0x02;
    /// Other_Gateway: unused (two-switch portals only), always 0.
    pub const OTHER_GATEWAY: u8 = 0x04;
    /// IPP_Activity: this switch hears the peer over the peer link (the IPP).
    pub const IPP_ACTIVITY: u8 = 0x08;
    /// DRCP_Timeout: short timeouts (tx interval of 1 s or less).
    pub const DRCP_TIMEOUT: u8 = 0x10;
    /// Gateway_Sync: every local MAC address change has been acknowledged by the peer.
    pub const GATEWAY_SYNC: u8 = 0x20;
    /// Port_Sync: every DT aggregation's configuration matches the peer's.
    pub const PORT_SYNC: u8 = 0x40;
    /// Expired: the peer's information over the peer link has expired.
    pub const EXPIRED: u8 = 0x80;

    /// Whether flag `f` is set.
    pub const fn get(self, f: u8) -> bool {
        self.0 & f != 0
    }
    /// Sets or clears flag `f`.
    pub fn set(&mut self, f: u8, on: bool) {
        if on { self.0 |= f } else { self.0 &= !f }
    }
}

/// Portal Info TLV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortalInfo {
    /// Aggregator_Priority: the sender's role priority (lower wins the primary role).
    pub aggregator_priority: u16,
    /// Aggregator_ID: the sender's own system MAC (tie-break of the election).
    pub aggregator_id: MacAddr,
    /// Portal_Priority of the domain's default shared system id.
    pub portal_priority: u16,
    /// Portal_Addr: the domain's default shared system MAC (0 when none).
    pub portal_addr: MacAddr,
}

/// DT Domain TLV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DomainInfo {
    /// The DT domain id; a PDU of another domain is ignored.
    pub domain_id: u32,
    /// Flags, see [`DomainInfo::KEEPALIVE`].
    pub flags: u8,
    /// The sender's port number base.
    pub port_base: u16,
    /// The MAC of the peer the sender hears on the peer link (zero if none): the two-way
    /// handshake.
    pub neighbor: MacAddr,
}

impl DomainInfo {
    /// The PDU was sent on the keepalive path.
    pub const KEEPALIVE: u8 = 0x01;
    /// More PDUs of the same burst follow (the per-aggregation TLVs did not fit one frame);
    /// the receiver judges the peer's set of aggregations at the last one.
    pub const MORE: u8 = 0x02;
}

/// Home Ports Info TLV: the live local members of one DT aggregation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HomePortsInfo {
    /// DT aggregation id.
    pub aggr: u16,
    /// Admin_Aggregator_Key.
    pub admin_key: Key,
    /// Oper partner key (the server's key), 0 if none.
    pub oper_partner_key: Key,
    /// The partner system the members see (the server), NULL if none.
    pub partner_system: SystemId,
    /// Port numbers of the Collecting and Distributing local members.
    pub active_ports: Vec<PortNumber>,
}

/// DT Aggregation Config TLV: what both switches must agree on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AggrConfigInfo {
    /// DT aggregation id.
    pub aggr: u16,
    /// The shared LACP system id.
    pub system: SystemId,
    /// The LACP key.
    pub key: Key,
    /// LACP mode code (0 static, 1 passive, 2 active).
    pub lacp_mode: u8,
    /// LACP timer code (0 long, 1 short).
    pub lacp_timer: u8,
    /// MTU.
    pub mtu: u32,
    /// Member speed in Mb/s (0 = unknown).
    pub speed_mbps: u32,
}

/// A MAC Sync operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MacOp {
    /// The address was learned on the sender's DT aggregation.
    Add,
    /// The address is gone.
    Remove,
}

impl MacOp {
    fn code(self) -> u8 {
        match self {
            MacOp::Add => 1,
            MacOp::Remove => 2,
        }
    }
}

/// One MAC Sync entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MacSyncEntry {
    /// Add or remove.
    pub op: MacOp,
    /// DT aggregation id the address was learned on.
    pub aggr: u16,
    /// VLAN id (0 = untagged).
    pub vlan: u16,
    /// The address.
    pub mac: MacAddr,
}

/// MAC Sync TLV: one batch of changes plus the acknowledgement of the peer's batches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MacSyncInfo {
    /// Flags, see [`MacSyncInfo::RESYNC`].
    pub flags: u8,
    /// The sender's sync session.
    pub session: u32,
    /// Sequence number of the carried batch (0 = no batch).
    pub seq: u32,
    /// The peer's session being acknowledged.
    pub ack_session: u32,
    /// Highest batch of `ack_session` applied.
    pub ack_seq: u32,
    /// The batch.
    pub entries: Vec<MacSyncEntry>,
}

impl MacSyncInfo {
    /// The sender missed a batch of `ack_session` (or has room again after refusing some):
    /// the peer must start a new session.
    pub const RESYNC: u8 = 0x01;
    /// The carried batch completes the session's initial dump of the sender's table: what the
    /// receiver still holds from the sender's previous session and the dump did not repeat is
    /// gone.
    pub const DUMP_END: u8 = 0x02;
}

/// One Neighbour Sync entry: a host's IP address and the link-layer address it resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NeighEntry {
    /// The host's address (IPv4: ARP, IPv6: ND).
    pub ip: IpAddr,
    /// Its link-layer address.
    pub mac: MacAddr,
}

/// Neighbour Sync TLV: a slice of the sender's neighbour table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeighSyncInfo {
    /// Flags, see [`NeighSyncInfo::PASS_END`].
    pub flags: u8,
    /// The slice.
    pub entries: Vec<NeighEntry>,
}

impl NeighSyncInfo {
    /// The slice ends a pass over the sender's table: entries the receiver did not hear in
    /// this pass nor the previous one are gone.
    pub const PASS_END: u8 = 0x01;
}

/// Sequence TLV: where a frame stands in its sender's life, and what the sender last heard of
/// the receiver's. See `docs/DT.md` ("Replay protection").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SequenceInfo {
    /// The sender's boot epoch (random per start).
    pub epoch: u64,
    /// The sender's frame number in that epoch (both paths share it; starts at 1).
    pub seq: u64,
    /// The receiver's epoch as the sender last heard it (0 = none).
    pub echo_epoch: u64,
    /// The receiver's frame number the sender last heard.
    pub echo_seq: u64,
}

/// Authentication TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuthInfo {
    /// Algorithm: [`AuthInfo::HMAC_SHA256`].
    pub algorithm: u8,
    /// Which key: the first four octets of its fingerprint (`DtKey::id`), so a receiver tells
    /// a different key from a forgery.
    pub key_id: u32,
    /// The integrity check value.
    pub icv: [u8; ICV_LEN],
}

impl AuthInfo {
    /// HMAC-SHA-256 (RFC 2104, FIPS 180-4), the only algorithm.
    pub const HMAC_SHA256: u8 = 1;
}

/// A parsed DT PDU.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtPduRepr {
    /// Portal Info.
    pub portal: PortalInfo,
    /// DRCP State.
    pub state: DrcpState,
    /// DT Domain.
    pub domain: DomainInfo,
    /// Home Ports Info, one per DT aggregation.
    pub home_ports: Vec<HomePortsInfo>,
    /// DT Aggregation Config, one per DT aggregation.
    pub aggr_configs: Vec<AggrConfigInfo>,
    /// MAC Sync.
    pub mac_sync: Option<MacSyncInfo>,
    /// Neighbour Sync.
    #[serde(default)]
    pub neigh_sync: Option<NeighSyncInfo>,
    /// Sequence (every lagd frame has one).
    pub sequence: Option<SequenceInfo>,
    /// Authentication (with a shared key).
    pub auth: Option<AuthInfo>,
}

/// A zero-copy view of a DT PDU, from its subtype octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtPduPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DtPduPacket<T> {
    /// Wraps `buffer` after checking it holds the subtype and version octets.
    pub fn new_checked(buffer: T) -> Result<Self, DtWireError> {
        let have = buffer.as_ref().len();
        if have < 2 {
            return Err(DtWireError::Truncated { need: 2, have });
        }
        Ok(DtPduPacket { buffer })
    }
    /// The subtype octet.
    pub fn subtype(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 0)
    }
    /// The version octet.
    pub fn version(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 1)
    }
    /// The TLVs, up to and including the Terminator.
    pub fn tlvs(&self) -> DtTlvs<'_> {
        DtTlvs::new(self.buffer.as_ref(), 2)
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DtPduPacket<T> {
    /// Sets the subtype octet.
    pub fn set_subtype(&mut self, v: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(0) {
            *b = v;
        }
    }
    /// Sets the version octet.
    pub fn set_version(&mut self, v: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(1) {
            *b = v;
        }
    }
}

fn bad(t: &DtTlv<'_>) -> DtWireError {
    DtWireError::BadTlv {
        offset: t.offset,
        tlv_type: t.tlv_type,
        length: u16::try_from(t.value.len()).unwrap_or(u16::MAX),
    }
}

fn fixed(t: &DtTlv<'_>, len: usize) -> Result<(), DtWireError> {
    if t.value.len() == len {
        Ok(())
    } else {
        Err(bad(t))
    }
}

fn system_at(v: &[u8], off: usize) -> SystemId {
    SystemId::new(u16_at(v, off), mac_at(v, off + 2))
}

fn parse_home_ports(t: &DtTlv<'_>) -> Result<HomePortsInfo, DtWireError> {
    let v = t.value;
    let rest = v
        .len()
        .checked_sub(HOME_PORTS_FIXED)
        .ok_or_else(|| bad(t))?;
    if rest % 2 != 0 {
        return Err(bad(t));
    }
    let active_ports = v
        .get(HOME_PORTS_FIXED..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| u16_at(c, 0))
        .collect();
    Ok(HomePortsInfo {
        aggr: u16_at(v, 0),
        admin_key: u16_at(v, 2),
        oper_partner_key: u16_at(v, 4),
        partner_system: system_at(v, 6),
        active_ports,
    })
}

fn parse_aggr_config(t: &DtTlv<'_>) -> Result<AggrConfigInfo, DtWireError> {
    fixed(t, AGGR_CONFIG_LEN)?;
    let v = t.value;
    Ok(AggrConfigInfo {
        aggr: u16_at(v, 0),
        system: system_at(v, 2),
        key: u16_at(v, 10),
        lacp_mode: u8_at(v, 12),
        lacp_timer: u8_at(v, 13),
        mtu: u32_at(v, 14),
        speed_mbps: u32_at(v, 18),
    })
}

fn parse_mac_sync(t: &DtTlv<'_>) -> Result<MacSyncInfo, DtWireError> {
    let v = t.value;
    let rest = v.len().checked_sub(MAC_SYNC_FIXED).ok_or_else(|| bad(t))?;
    if rest % MAC_ENTRY_LEN != 0 {
        return Err(bad(t));
    }
    let mut entries = Vec::with_capacity(rest / MAC_ENTRY_LEN);
    for c in v
        .get(MAC_SYNC_FIXED..)
        .unwrap_or_default()
        .chunks_exact(MAC_ENTRY_LEN)
    {
        let op = match u8_at(c, 0) {
            1 => MacOp::Add,
            2 => MacOp::Remove,
            value => {
                return Err(DtWireError::BadValue {
                    tlv_type: tlv_type::MAC_SYNC,
                    value,
                });
            }
        };
        entries.push(MacSyncEntry {
            op,
            aggr: u16_at(c, 1),
            vlan: u16_at(c, 3),
            mac: mac_at(c, 5),
        });
    }
    Ok(MacSyncInfo {
        flags: u8_at(v, 0),
        session: u32_at(v, 1),
        seq: u32_at(v, 5),
        ack_session: u32_at(v, 9),
        ack_seq: u32_at(v, 13),
        entries,
    })
}

fn parse_neigh_sync(t: &DtTlv<'_>) -> Result<NeighSyncInfo, DtWireError> {
    let v = t.value;
    let rest = v
        .len()
        .checked_sub(NEIGH_SYNC_FIXED)
        .ok_or_else(|| bad(t))?;
    if rest % NEIGH_ENTRY_LEN != 0 {
        return Err(bad(t));
    }
    let entries = v
        .get(NEIGH_SYNC_FIXED..)
        .unwrap_or_default()
        .chunks_exact(NEIGH_ENTRY_LEN)
        .map(|c| NeighEntry {
            ip: IpAddr::V6(Ipv6Addr::from(array_at::<16>(c, 0))).to_canonical(),
            mac: mac_at(c, 16),
        })
        .collect();
    Ok(NeighSyncInfo {
        flags: u8_at(v, 0),
        entries,
    })
}

fn ip_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

impl DtPduRepr {
    /// Parses a DT PDU starting at its subtype octet (the Ethernet payload).
    pub fn parse(body: &[u8]) -> Result<DtPduRepr, DtWireError> {
        let pkt = DtPduPacket::new_checked(body)?;
        if pkt.subtype() != DT_SUBTYPE {
            return Err(DtWireError::UnknownSubtype(pkt.subtype()));
        }
        if pkt.version() != DT_VERSION {
            return Err(DtWireError::UnknownVersion(pkt.version()));
        }
        let mut portal = None;
        let mut state = None;
        let mut domain = None;
        let mut out = DtPduRepr::default();
        let once = |seen: bool, ty: u8| {
            if seen {
                Err(DtWireError::DuplicateTlv(ty))
            } else {
                Ok(())
            }
        };
        for t in pkt.tlvs() {
            let t = t?;
            let v = t.value;
            if out.auth.is_some() && t.tlv_type != tlv_type::TERMINATOR {
                // Nothing may follow the Authentication TLV: the ICV covers what precedes it.
                return Err(bad(&t));
            }
            match t.tlv_type {
                tlv_type::TERMINATOR => break,
                tlv_type::PORTAL_INFO => {
                    once(portal.is_some(), t.tlv_type)?;
                    fixed(&t, PORTAL_INFO_LEN)?;
                    portal = Some(PortalInfo {
                        aggregator_priority: u16_at(v, 0),
                        aggregator_id: mac_at(v, 2),
                        portal_priority: u16_at(v, 8),
                        portal_addr: mac_at(v, 10),
                    });
                }
                tlv_type::DRCP_STATE => {
                    once(state.is_some(), t.tlv_type)?;
                    fixed(&t, DRCP_STATE_LEN)?;
                    state = Some(DrcpState(u8_at(v, 0)));
                }
                tlv_type::DOMAIN => {
                    once(domain.is_some(), t.tlv_type)?;
                    fixed(&t, DOMAIN_LEN)?;
                    domain = Some(DomainInfo {
                        domain_id: u32_at(v, 0),
                        flags: u8_at(v, 4),
                        port_base: u16_at(v, 6),
                        neighbor: mac_at(v, 8),
                    });
                }
                tlv_type::HOME_PORTS_INFO => out.home_ports.push(parse_home_ports(&t)?),
                tlv_type::AGGR_CONFIG => out.aggr_configs.push(parse_aggr_config(&t)?),
                tlv_type::MAC_SYNC => {
                    once(out.mac_sync.is_some(), t.tlv_type)?;
                    out.mac_sync = Some(parse_mac_sync(&t)?);
                }
                tlv_type::NEIGH_SYNC => {
                    once(out.neigh_sync.is_some(), t.tlv_type)?;
                    out.neigh_sync = Some(parse_neigh_sync(&t)?);
                }
                tlv_type::SEQUENCE => {
                    once(out.sequence.is_some(), t.tlv_type)?;
                    fixed(&t, SEQUENCE_LEN)?;
                    out.sequence = Some(SequenceInfo {
                        epoch: u64_at(v, 0),
                        seq: u64_at(v, 8),
                        echo_epoch: u64_at(v, 16),
                        echo_seq: u64_at(v, 24),
                    });
                }
                tlv_type::AUTH => {
                    fixed(&t, AUTH_LEN)?;
                    out.auth = Some(AuthInfo {
                        algorithm: u8_at(v, 0),
                        key_id: u32_at(v, 1),
                        icv: array_at(v, 5),
                    });
                }
                _ => {} // Unknown TLV: skipped.
            }
        }
        out.portal = portal.ok_or(DtWireError::MissingTlv(tlv_type::PORTAL_INFO))?;
        out.state = state.ok_or(DtWireError::MissingTlv(tlv_type::DRCP_STATE))?;
        out.domain = domain.ok_or(DtWireError::MissingTlv(tlv_type::DOMAIN))?;
        Ok(out)
    }

    /// Length of the emitted PDU, subtype to Terminator.
    pub fn buffer_len(&self) -> usize {
        let tlv = |v: usize| TLV_HEADER_LEN + v;
        2 + tlv(PORTAL_INFO_LEN)
            + tlv(DRCP_STATE_LEN)
            + tlv(DOMAIN_LEN)
            + self
                .home_ports
                .iter()
                .map(|h| tlv(HOME_PORTS_FIXED + 2 * h.active_ports.len()))
                .sum::<usize>()
            + self.aggr_configs.len() * tlv(AGGR_CONFIG_LEN)
            + self
                .mac_sync
                .as_ref()
                .map_or(0, |m| tlv(MAC_SYNC_FIXED + MAC_ENTRY_LEN * m.entries.len()))
            + self.neigh_sync.as_ref().map_or(0, |n| {
                tlv(NEIGH_SYNC_FIXED + NEIGH_ENTRY_LEN * n.entries.len())
            })
            + self.sequence.map_or(0, |_| tlv(SEQUENCE_LEN))
            + self.auth.map_or(0, |_| tlv(AUTH_LEN))
            + TLV_HEADER_LEN
    }

    fn check_sizes(&self) -> Result<(), DtWireError> {
        for h in &self.home_ports {
            if h.active_ports.len() > MAX_HOME_PORTS {
                return Err(DtWireError::TooLarge {
                    need: HOME_PORTS_FIXED + 2 * h.active_ports.len(),
                    limit: MAX_TLV_VALUE,
                });
            }
        }
        if let Some(m) = &self.mac_sync
            && m.entries.len() > MAX_MAC_ENTRIES
        {
            return Err(DtWireError::TooLarge {
                need: MAC_SYNC_FIXED + MAC_ENTRY_LEN * m.entries.len(),
                limit: MAX_TLV_VALUE,
            });
        }
        if let Some(n) = &self.neigh_sync
            && n.entries.len() > MAX_NEIGH_ENTRIES
        {
            return Err(DtWireError::TooLarge {
                need: NEIGH_SYNC_FIXED + NEIGH_ENTRY_LEN * n.entries.len(),
                limit: MAX_TLV_VALUE,
            });
        }
        Ok(())
    }

    /// Writes the PDU into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, DtWireError> {
        self.check_sizes()?;
        let len = self.buffer_len();
        let limit = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(DtWireError::TooLarge { need: len, limit })?;
        let mut w = Writer {
            buf: Vec::with_capacity(len),
        };
        w.u8(DT_SUBTYPE);
        w.u8(DT_VERSION);
        let th = |w: &mut Writer, ty: u8, l: usize| w.buf.extend_from_slice(&header(ty, l));
        th(&mut w, tlv_type::PORTAL_INFO, PORTAL_INFO_LEN);
        w.u16(self.portal.aggregator_priority);
        w.mac(self.portal.aggregator_id);
        w.u16(self.portal.portal_priority);
        w.mac(self.portal.portal_addr);
        th(&mut w, tlv_type::DRCP_STATE, DRCP_STATE_LEN);
        w.u8(self.state.0);
        th(&mut w, tlv_type::DOMAIN, DOMAIN_LEN);
        w.u32(self.domain.domain_id);
        w.u8(self.domain.flags);
        w.u8(0);
        w.u16(self.domain.port_base);
        w.mac(self.domain.neighbor);
        for h in &self.home_ports {
            th(
                &mut w,
                tlv_type::HOME_PORTS_INFO,
                HOME_PORTS_FIXED + 2 * h.active_ports.len(),
            );
            w.u16(h.aggr);
            w.u16(h.admin_key);
            w.u16(h.oper_partner_key);
            w.u16(h.partner_system.priority);
            w.mac(h.partner_system.addr);
            for p in &h.active_ports {
                w.u16(*p);
            }
        }
        for c in &self.aggr_configs {
            th(&mut w, tlv_type::AGGR_CONFIG, AGGR_CONFIG_LEN);
            w.u16(c.aggr);
            w.u16(c.system.priority);
            w.mac(c.system.addr);
            w.u16(c.key);
            w.u8(c.lacp_mode);
            w.u8(c.lacp_timer);
            w.u32(c.mtu);
            w.u32(c.speed_mbps);
        }
        if let Some(m) = &self.mac_sync {
            th(
                &mut w,
                tlv_type::MAC_SYNC,
                MAC_SYNC_FIXED + MAC_ENTRY_LEN * m.entries.len(),
            );
            w.u8(m.flags);
            w.u32(m.session);
            w.u32(m.seq);
            w.u32(m.ack_session);
            w.u32(m.ack_seq);
            for e in &m.entries {
                w.u8(e.op.code());
                w.u16(e.aggr);
                w.u16(e.vlan);
                w.mac(e.mac);
            }
        }
        if let Some(n) = &self.neigh_sync {
            th(
                &mut w,
                tlv_type::NEIGH_SYNC,
                NEIGH_SYNC_FIXED + NEIGH_ENTRY_LEN * n.entries.len(),
            );
            w.u8(n.flags);
            for e in &n.entries {
                w.bytes(&ip_octets(e.ip));
                w.mac(e.mac);
            }
        }
        if let Some(q) = &self.sequence {
            th(&mut w, tlv_type::SEQUENCE, SEQUENCE_LEN);
            w.u64(q.epoch);
            w.u64(q.seq);
            w.u64(q.echo_epoch);
            w.u64(q.echo_seq);
        }
        if let Some(a) = &self.auth {
            th(&mut w, tlv_type::AUTH, AUTH_LEN);
            w.u8(a.algorithm);
            w.u32(a.key_id);
            w.bytes(&a.icv);
        }
        th(&mut w, tlv_type::TERMINATOR, 0);
        if w.buf.len() != len {
            return Err(DtWireError::TooLarge {
                need: w.buf.len(),
                limit: len,
            });
        }
        out.copy_from_slice(&w.buf);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DtPduRepr {
        DtPduRepr {
            portal: PortalInfo {
                aggregator_priority: 100,
                aggregator_id: MacAddr([2, 0, 0, 0, 0, 1]),
                portal_priority: 0x8000,
                portal_addr: MacAddr([2, 0xd7, 0, 0, 0, 1]),
            },
            state: DrcpState(DrcpState::IPP_ACTIVITY | DrcpState::PORT_SYNC),
            domain: DomainInfo {
                domain_id: 7,
                flags: 0,
                port_base: 0x8000,
                neighbor: MacAddr([2, 0, 0, 0, 0, 2]),
            },
            home_ports: vec![HomePortsInfo {
                aggr: 1,
                admin_key: 10,
                oper_partner_key: 33,
                partner_system: SystemId::new(0x8000, MacAddr([2, 0x5e, 0, 0, 0, 1])),
                active_ports: vec![0x8001, 0x8002],
            }],
            aggr_configs: vec![AggrConfigInfo {
                aggr: 1,
                system: SystemId::new(0x8000, MacAddr([2, 0xd7, 0, 0, 0, 1])),
                key: 10,
                lacp_mode: 2,
                lacp_timer: 1,
                mtu: 1500,
                speed_mbps: 10000,
            }],
            mac_sync: Some(MacSyncInfo {
                flags: 0,
                session: 5,
                seq: 2,
                ack_session: 9,
                ack_seq: 4,
                entries: vec![MacSyncEntry {
                    op: MacOp::Add,
                    aggr: 1,
                    vlan: 0,
                    mac: MacAddr([2, 0x5e, 0, 0, 0, 1]),
                }],
            }),
            neigh_sync: Some(NeighSyncInfo {
                flags: NeighSyncInfo::PASS_END,
                entries: vec![
                    NeighEntry {
                        ip: "198.18.0.1".parse().unwrap(),
                        mac: MacAddr([2, 0x5e, 0, 0, 0, 1]),
                    },
                    NeighEntry {
                        ip: "2001:2::1".parse().unwrap(),
                        mac: MacAddr([2, 0x5e, 0, 0, 0, 2]),
                    },
                ],
            }),
            sequence: None,
            auth: None,
        }
    }

    fn secured() -> DtPduRepr {
        DtPduRepr {
            sequence: Some(SequenceInfo {
                epoch: 0x0102_0304_0506_0708,
                seq: 42,
                echo_epoch: 9,
                echo_seq: 41,
            }),
            auth: Some(AuthInfo {
                algorithm: AuthInfo::HMAC_SHA256,
                key_id: 0xdead_beef,
                icv: [7; ICV_LEN],
            }),
            ..sample()
        }
    }

    #[test]
    fn sequence_and_auth_roundtrip_auth_last() {
        let r = secured();
        let mut buf = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(DtPduRepr::parse(&buf).unwrap(), r);
        // The ICV is the 32 octets before the Terminator; the key id precedes it.
        assert_eq!(&buf[n - 2 - ICV_LEN..n - 2], &[7; ICV_LEN]);
        assert_eq!(u32_at(&buf, n - 2 - ICV_LEN - 4), 0xdead_beef);
        // A TLV after Authentication is refused (the ICV would not cover it).
        let mut b = buf[..n - 2].to_vec();
        b.extend_from_slice(&header(50, 1));
        b.push(0);
        b.extend_from_slice(&[0, 0]);
        assert!(matches!(
            DtPduRepr::parse(&b),
            Err(DtWireError::BadTlv { tlv_type: 50, .. })
        ));
        // Wrong lengths.
        let mut b = buf.clone();
        let at = n - 2 - AUTH_LEN - 2;
        b[at + 1] -= 1;
        assert!(DtPduRepr::parse(&b).is_err());
        // A second Sequence TLV.
        let mut d = buf[..n - 2 - AUTH_LEN - 2].to_vec();
        let seq_tlv = d[d.len() - 34..].to_vec();
        d.extend_from_slice(&seq_tlv);
        d.extend_from_slice(&[0, 0]);
        assert_eq!(
            DtPduRepr::parse(&d),
            Err(DtWireError::DuplicateTlv(tlv_type::SEQUENCE))
        );
    }

    #[test]
    fn roundtrip_and_layout() {
        let r = sample();
        let mut buf = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(&buf[..2], &[DT_SUBTYPE, DT_VERSION]);
        // Portal Info header: type 1, length 16.
        assert_eq!(&buf[2..4], &[0x04, 0x10]);
        assert_eq!(&buf[4..6], &100u16.to_be_bytes());
        assert_eq!(&buf[n - 2..], &[0, 0], "terminator");
        assert_eq!(DtPduRepr::parse(&buf).unwrap(), r);
        // Padding after the terminator is ignored.
        buf.extend_from_slice(&[0xff; 20]);
        assert_eq!(DtPduRepr::parse(&buf).unwrap(), r);
    }

    #[test]
    fn refuses_malformed() {
        // MAC Sync last, before the Terminator.
        let r = DtPduRepr {
            neigh_sync: None,
            ..sample()
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let mut b = buf.clone();
        b[1] = 1;
        assert_eq!(DtPduRepr::parse(&b), Err(DtWireError::UnknownVersion(1)));
        let mut b = buf.clone();
        b[0] = 2;
        assert_eq!(DtPduRepr::parse(&b), Err(DtWireError::UnknownSubtype(2)));
        // Portal Info with the wrong length.
        let mut b = buf.clone();
        b[3] = 15;
        assert!(matches!(
            DtPduRepr::parse(&b),
            Err(DtWireError::BadTlv { tlv_type: 1, .. })
        ));
        // Truncated anywhere: an error, never a panic.
        for cut in 0..buf.len() {
            assert!(DtPduRepr::parse(&buf[..cut]).is_err(), "cut at {cut}");
        }
        // Missing mandatory TLV.
        let bare = [DT_SUBTYPE, DT_VERSION, 0, 0];
        assert_eq!(
            DtPduRepr::parse(&bare),
            Err(DtWireError::MissingTlv(tlv_type::PORTAL_INFO))
        );
        // Bad MAC op.
        let mut b = buf.clone();
        let last_entry = buf.len() - 2 - MAC_ENTRY_LEN;
        b[last_entry] = 9;
        assert!(matches!(
            DtPduRepr::parse(&b),
            Err(DtWireError::BadValue { .. })
        ));
    }

    #[test]
    fn unknown_tlvs_are_skipped_and_duplicates_refused() {
        let r = DtPduRepr {
            mac_sync: None,
            ..sample()
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let end = buf.len() - 2;
        let mut b = buf[..end].to_vec();
        b.extend_from_slice(&header(50, 3));
        b.extend_from_slice(&[1, 2, 3]);
        b.extend_from_slice(&[0, 0]);
        assert_eq!(DtPduRepr::parse(&b).unwrap(), r);
        let mut d = buf[..end].to_vec();
        d.extend_from_slice(&header(tlv_type::DRCP_STATE, 1));
        d.push(0);
        d.extend_from_slice(&[0, 0]);
        assert_eq!(
            DtPduRepr::parse(&d),
            Err(DtWireError::DuplicateTlv(tlv_type::DRCP_STATE))
        );
    }

    #[test]
    fn emit_refuses_oversized() {
        let mut r = sample();
        if let Some(m) = r.mac_sync.as_mut() {
            m.entries = vec![m.entries[0]; MAX_MAC_ENTRIES + 1];
        }
        let mut buf = vec![0u8; r.buffer_len()];
        assert!(matches!(
            r.emit(&mut buf),
            Err(DtWireError::TooLarge { .. })
        ));
        let r = sample();
        let mut small = [0u8; 10];
        assert!(r.emit(&mut small).is_err());
    }

    #[test]
    fn neighbour_sync_layout() {
        let r = DtPduRepr {
            mac_sync: None,
            ..sample()
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut buf).unwrap();
        // The Neighbour Sync TLV is the last before the Terminator: type 37, 1 + 2 * 22 octets.
        let t = n - 2 - (2 + 45);
        assert_eq!(&buf[t..t + 2], &header(tlv_type::NEIGH_SYNC, 45));
        assert_eq!(buf[t + 2], NeighSyncInfo::PASS_END);
        // IPv4 as ::ffff:198.18.0.1, then the MAC.
        assert_eq!(
            &buf[t + 3..t + 25],
            &[
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1, 2, 0x5e, 0, 0, 0, 1
            ]
        );
        assert_eq!(DtPduRepr::parse(&buf).unwrap(), r);
        // A length that is not 1 + 22n is refused; a second Neighbour Sync TLV too.
        let mut b = buf.clone();
        b[t + 1] -= 1;
        assert!(DtPduRepr::parse(&b).is_err());
        let mut d = buf[..n - 2].to_vec();
        d.extend_from_slice(&header(tlv_type::NEIGH_SYNC, 1));
        d.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            DtPduRepr::parse(&d),
            Err(DtWireError::DuplicateTlv(tlv_type::NEIGH_SYNC))
        );
        // Too many entries for one TLV.
        let mut big = r.clone();
        if let Some(x) = big.neigh_sync.as_mut() {
            x.entries = vec![x.entries[0]; MAX_NEIGH_ENTRIES + 1];
        }
        let mut buf = vec![0u8; big.buffer_len()];
        assert!(matches!(
            big.emit(&mut buf),
            Err(DtWireError::TooLarge { .. })
        ));
    }

    #[test]
    fn view_accessors() {
        let r = sample();
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let mut p = DtPduPacket::new_checked(&mut buf[..]).unwrap();
        assert_eq!((p.subtype(), p.version()), (DT_SUBTYPE, DT_VERSION));
        assert_eq!(p.tlvs().count(), 8, "seven TLVs and the terminator");
        p.set_version(3);
        assert_eq!(p.version(), 3);
        assert!(DtPduPacket::new_checked(&[1u8][..]).is_err());
    }
}
