//! Read-only views of a DT switch, for `show distributed-trunk status` and `show lacp trunk`.

use crate::{ConfigDiff, Decision, DrcpState, DtAggrConfig, PeerState, Refusal, Role};
use lagd_types::{Key, MacAddr, PortNumber, SystemId};
use serde::{Deserialize, Serialize};

/// What the local LACP reports of one DT aggregation's members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalMembers {
    /// Local port numbers (before the port number base) that are Collecting and
    /// Distributing.
    pub live: Vec<PortNumber>,
    /// The partner (server) system the members see; NULL if none.
    pub partner: SystemId,
    /// The partner's key.
    pub partner_key: Key,
}

/// The peer as last heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The peer's own system MAC.
    pub system_mac: MacAddr,
    /// The peer's role priority.
    pub role_priority: u16,
    /// The peer's port number base.
    pub port_base: u16,
    /// The peer's DRCP State.
    pub state: DrcpState,
}

/// Frame counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DtCounters {
    /// PDUs received on the peer link and used.
    pub rx_peer: u64,
    /// Keepalives received and used.
    pub rx_keepalive: u64,
    /// PDUs sent on the peer link.
    pub tx_peer: u64,
    /// Keepalives sent.
    pub tx_keepalive: u64,
    /// Malformed frames refused.
    pub rx_errors: u64,
    /// PDUs of another domain ignored.
    pub rx_foreign: u64,
    /// PDUs carrying our own MAC ignored.
    pub rx_looped: u64,
    /// Frames refused for their addresses or path (not to the DT group address, source not
    /// the sender's MAC, sent for the other path).
    #[serde(default)]
    pub rx_bad_address: u64,
    /// Frames of another switch than the pinned peer, refused.
    #[serde(default)]
    pub rx_stranger: u64,
    /// Frames that failed authentication.
    #[serde(default)]
    pub rx_auth_failed: u64,
    /// Frames replayed, out of date or without a Sequence TLV.
    #[serde(default)]
    pub rx_stale: u64,
    /// Frames of a new epoch of the peer not yet confirmed (a restarting peer's first frame or
    /// two; answered, not used).
    #[serde(default)]
    pub rx_unconfirmed: u64,
    /// Expiries of the peer link or keepalive that found this switch not running (late by
    /// more than half the timeout): the peer got one more timeout instead of being declared
    /// silent.
    #[serde(default)]
    pub local_stalls: u64,
}

impl DtCounters {
    /// Every frame refused (malformed, foreign, looped, bad address, stranger, failed
    /// authentication, stale).
    pub fn rx_refused(&self) -> u64 {
        self.rx_errors
            + self.rx_foreign
            + self.rx_looped
            + self.rx_bad_address
            + self.rx_stranger
            + self.rx_auth_failed
            + self.rx_stale
    }
}

/// The MAC sync tables and their limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MacSyncStatus {
    /// Most addresses in each table.
    pub limit: usize,
    /// The peer's table is full: addresses beyond the limit are not installed.
    pub full: bool,
    /// Peer addresses not installed because the table was full.
    pub overflow: u64,
    /// Local addresses not announced because the table was full.
    pub local_dropped: u64,
    /// Peer addresses of its previous session kept until its new dump ends.
    pub stale: usize,
}

/// The ARP and IPv6 ND sync tables (bounded by the MAC sync limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeighSyncStatus {
    /// Entries the local bridge resolved (announced to the peer).
    pub local: usize,
    /// Entries the peer announced.
    pub peer: usize,
    /// Of those, the ones installed (the local bridge has not resolved them itself).
    pub installed: usize,
    /// Peer entries refused because the table was full (counted at every announcement).
    pub overflow: u64,
    /// Local entries not announced because the table was full.
    pub local_dropped: u64,
}

/// How the peer is authenticated and pinned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerSecurity {
    /// The peer identity held (configured, or learned when the pair first formed).
    pub pinned: Option<MacAddr>,
    /// `pinned` comes from the configuration (`peer_mac`).
    pub pinned_by_config: bool,
    /// This switch's key id, when a key is configured (frames are signed and checked).
    pub key_id: Option<u32>,
    /// The peer's epoch in use (replay protection).
    pub peer_epoch: Option<u64>,
    /// The last frame refused.
    pub last_refused: Option<Refusal>,
}

/// One DT aggregation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtAggrStatus {
    /// Its configuration.
    pub config: DtAggrConfig,
    /// Local members.
    pub local: LocalMembers,
    /// The peer's live members (its port numbers, base included), empty if unknown.
    pub peer_live: Vec<PortNumber>,
    /// The partner the peer's members see.
    pub peer_partner: SystemId,
    /// Configuration differences with the peer (empty = consistent or no peer).
    pub diffs: Vec<ConfigDiff>,
    /// The decision in force.
    pub decision: Decision,
}

/// Everything about a DT switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtStatus {
    /// Domain id.
    pub domain_id: u32,
    /// Own system MAC.
    pub system_mac: MacAddr,
    /// Own role priority.
    pub role_priority: u16,
    /// Pairing state.
    pub state: PeerState,
    /// Role.
    pub role: Role,
    /// Port number base in force.
    pub port_base: u16,
    /// The peer, if ever heard.
    pub peer: Option<PeerInfo>,
    /// The peer link delivers the peer's PDUs.
    pub peer_link_up: bool,
    /// The keepalive arrives.
    pub keepalive_up: bool,
    /// A switch of this other DT domain id is heard where the peer should be (a domain id
    /// mismatch between two switches cabled as a pair).
    pub foreign_domain: Option<u32>,
    /// The DRCP State this switch sends.
    pub drcp_state: DrcpState,
    /// DT aggregations.
    pub aggregations: Vec<DtAggrStatus>,
    /// Local addresses learned on DT aggregations.
    pub macs_local: usize,
    /// Addresses the peer reported.
    pub macs_peer: usize,
    /// Peer addresses installed locally (towards the local aggregation or the peer link).
    pub macs_installed: usize,
    /// Of those, the ones pointing at the peer link.
    pub macs_via_peer_link: usize,
    /// Every local change acknowledged by the peer.
    pub macs_synced: bool,
    /// MAC sync limits and overflow.
    #[serde(default)]
    pub mac_sync: MacSyncStatus,
    /// ARP and IPv6 ND sync.
    #[serde(default)]
    pub neighbours: NeighSyncStatus,
    /// Pinning and authentication.
    #[serde(default)]
    pub security: PeerSecurity,
    /// Counters.
    pub counters: DtCounters,
}
