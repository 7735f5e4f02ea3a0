//! Read-only views of a DT switch, for `show distributed-trunk status` and `show lacp trunk`.

use crate::{ConfigDiff, Decision, DrcpState, DtAggrConfig, PeerState, Role};
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
    /// Counters.
    pub counters: DtCounters,
}
