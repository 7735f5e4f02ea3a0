//! Distributed Trunking (multi-chassis link aggregation): two switches, joined by a peer link
//! and a keepalive path, act as **one** LACP partner towards servers whose aggregations have
//! members on both.
//!
//! The protocol is lagd's dialect of IEEE 802.1AX-2014 DRCP (§9.4): the same EtherType
//! (0x8952), TLV header (6-bit type, 10-bit length), Portal Info, DRCP State bits and Home
//! Ports Info, plus lagd TLVs for the DT domain, the per-aggregation configuration and MAC
//! synchronisation. `docs/DT.md` says where and why it differs from DRNI.
//!
//! Like the LACP core it performs no I/O: it reads no clock, opens no socket and spawns no
//! thread. Inputs come in through [`Dt::handle_peer_frame`], [`Dt::handle_keepalive_frame`],
//! [`Dt::handle_peer_link_status`], [`Dt::handle_members`], [`Dt::handle_local_mac`],
//! [`Dt::handle_local_neighbour`],
//! configuration changes and [`Dt::handle_timeout`]; outputs go out through
//! [`Dt::poll_transmit`], [`Dt::poll_event`], [`Dt::poll_mac_update`],
//! [`Dt::poll_neigh_update`], [`Dt::poll_timeout`]
//! and the per-aggregation [`Decision`] ([`Dt::decision`]).
//!
//! # Failure handling
//! | Situation | Primary | Secondary |
//! |---|---|---|
//! | healthy (`Up`) | shared system id, ports up | shared system id, base 0x8000, ports up unless its configuration differs |
//! | peer dead: peer link and keepalive silent (`Alone`) | acts alone, shared id | takes the primary for dead: acts alone, shared id, keeps forwarding |
//! | split brain: peer link down, keepalive alive (`SplitBrain`) | keeps forwarding, shared id | ports down (protodown) and reverts to its own system id |
//! | peer link just failed (`PeerLinkDown`) | decisions held until the keepalive decides | same |
//!
//! The survivor never changes its system id or port numbers, so the server sees no change.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod bytes;
mod config;
mod consistency;
mod decision;
mod error;
mod event;
mod frame;
mod freshness;
mod mac_sync;
mod neigh_sync;
mod pdu;
mod role;
mod status;
mod switch;
pub mod testing;
mod timers;
mod tlv;

pub use auth::{AuthError, DtKey, DtKeyError, MAX_KEY_LEN, MIN_KEY_LEN, sign, verify};
pub use config::{
    DtAggrConfig, DtConfig, DtConfigError, MAX_AGGREGATIONS, MAX_MAC_LIMIT, SECONDARY_PORT_BASE,
};
pub use consistency::{ConfigDiff, DiffField, compare};
pub use decision::{Decision, DownReason};
pub use error::DtWireError;
pub use event::{DtEvent, DtEventKind, DtPath, Refusal, RefuseReason};
pub use frame::{DT_GROUP_ADDR, DtFrame, ETHERTYPE_DRCP};
pub use mac_sync::{DEFAULT_MAC_LIMIT, MacKey, MacTarget, MacUpdate, ORPHAN};
pub use neigh_sync::NeighUpdate;
pub use pdu::{
    AUTH_LEN, AggrConfigInfo, AuthInfo, DT_SUBTYPE, DT_VERSION, DomainInfo, DrcpState, DtPduPacket,
    DtPduRepr, HomePortsInfo, ICV_LEN, MAC_ENTRY_LEN, MAX_HOME_PORTS, MAX_MAC_ENTRIES,
    MAX_NEIGH_ENTRIES, MacOp, MacSyncEntry, MacSyncInfo, NEIGH_ENTRY_LEN, NeighEntry,
    NeighSyncInfo, PortalInfo, SequenceInfo, tlv_type,
};
pub use role::{PeerState, Role, elect};
pub use status::{
    DtAggrStatus, DtCounters, DtStatus, LocalMembers, MacSyncStatus, NeighSyncStatus, PeerInfo,
    PeerSecurity,
};
pub use switch::{Dt, DtTransmit};
pub use tlv::{DrcpTlvLayout, DtTlv, DtTlvs, MAX_TLV_VALUE, TLV_HEADER_LEN};
