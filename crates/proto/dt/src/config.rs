//! Configuration of a DT switch (its domain membership) and of each DT aggregation.

use crate::DtKey;
use crate::mac_sync::DEFAULT_MAC_LIMIT;
use lagd_types::{Duration, Key, LacpActivity, LacpTimeout, MacAddr, SystemId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The port number base of the secondary switch: its DT aggregation ports are numbered
/// `0x8000 + n`, the primary's `n`, so the server never sees two ports with one number.
pub const SECONDARY_PORT_BASE: u16 = 0x8000;
/// Most DT aggregations one switch may run.
pub const MAX_AGGREGATIONS: usize = 64;
/// Largest MAC table limit accepted (`mac_limit`).
pub const MAX_MAC_LIMIT: usize = 1 << 20;

/// Configuration of one switch of a DT domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DtConfig {
    /// The DT domain id; both switches must use the same one.
    pub domain_id: u32,
    /// This switch's own system MAC (Aggregator_ID of the Portal Info TLV).
    pub system_mac: MacAddr,
    /// Role priority: the lower value becomes primary; ties are broken by the lower MAC.
    pub role_priority: u16,
    /// The domain's default shared LACP system id (Portal_Priority and Portal_Addr); used by
    /// aggregations configured without their own.
    pub default_system: SystemId,
    /// Periodic transmission interval on the peer link (Fast_Periodic_Time of DRCP: 1 s).
    pub tx_interval: Duration,
    /// The peer's information over the peer link expires after this long (DRCP short
    /// timeout: 3 s).
    pub peer_timeout: Duration,
    /// A keepalive path exists: split brain can be told from a dead peer.
    pub keepalive: bool,
    /// Keepalive transmission interval (HPE: 1 s).
    pub keepalive_interval: Duration,
    /// The keepalive expires after this long.
    pub keepalive_timeout: Duration,
    /// After start, DT ports stay down this long unless the peer is found sooner.
    pub init_delay: Duration,
    /// Seed of the MAC sync session numbers (a daemon uses its start time), so a restarted
    /// switch never reuses its previous session.
    pub incarnation: u32,
    /// Most MAC entries sent in one batch (at most 64).
    pub mac_batch: usize,
    /// The peer's system MAC, when configured: PDUs of any other switch are refused from the
    /// start. Without it the first peer the pair forms with is held for the life of the
    /// process.
    pub peer_mac: Option<MacAddr>,
    /// The shared key: with it every frame sent is signed and every frame received must be
    /// signed with it (HMAC-SHA-256). Never serialized.
    #[serde(skip)]
    pub key: Option<DtKey>,
    /// This start's epoch: random per start (the daemon draws it), never 0; the replay
    /// protection of the peer depends on it never coming back.
    pub epoch: u64,
    /// Most addresses in each MAC sync table (local, and the peer's).
    pub mac_limit: usize,
}

impl Default for DtConfig {
    fn default() -> Self {
        DtConfig {
            domain_id: 1,
            system_mac: MacAddr::ZERO,
            role_priority: 0x8000,
            default_system: SystemId::NULL,
            tx_interval: Duration::from_secs(1),
            peer_timeout: Duration::from_secs(3),
            keepalive: true,
            keepalive_interval: Duration::from_secs(1),
            keepalive_timeout: Duration::from_secs(3),
            init_delay: Duration::from_secs(3),
            incarnation: 0,
            mac_batch: 64,
            peer_mac: None,
            key: None,
            epoch: 1,
            mac_limit: DEFAULT_MAC_LIMIT,
        }
    }
}

/// Wire codes of a DT aggregation's LACP mode (Configuration TLV): off (a static trunk) 0,
/// passive 1, active 2.
const ACTIVITY_CODES: [(LacpActivity, u8); 3] = [
    (LacpActivity::Off, 0),
    (LacpActivity::Passive, 1),
    (LacpActivity::Active, 2),
];

/// Wire codes of a DT aggregation's LACP timer: long 0, short 1.
const TIMEOUT_CODES: [(LacpTimeout, u8); 2] = [(LacpTimeout::Long, 0), (LacpTimeout::Short, 1)];

/// Wire code of a DT aggregation's LACP mode.
pub(crate) fn activity_code(a: LacpActivity) -> u8 {
    ACTIVITY_CODES
        .iter()
        .find(|(v, _)| *v == a)
        .map_or(0, |c| c.1)
}

/// The LACP mode of a wire code (`None`: a code this version does not know).
pub(crate) fn activity_of_code(code: u8) -> Option<LacpActivity> {
    ACTIVITY_CODES.iter().find(|c| c.1 == code).map(|c| c.0)
}

/// Wire code of a DT aggregation's LACP timer.
pub(crate) fn timeout_code(t: LacpTimeout) -> u8 {
    TIMEOUT_CODES
        .iter()
        .find(|(v, _)| *v == t)
        .map_or(0, |c| c.1)
}

/// The LACP timer of a wire code (`None`: a code this version does not know).
pub(crate) fn timeout_of_code(code: u8) -> Option<LacpTimeout> {
    TIMEOUT_CODES.iter().find(|c| c.1 == code).map(|c| c.0)
}

/// Configuration of one DT aggregation: the parts both switches must agree on, plus a local
/// name for reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtAggrConfig {
    /// DT aggregation id, the same on both switches (it pairs the two halves).
    pub id: u16,
    /// Local name (the aggregate interface), for reports only.
    pub name: String,
    /// The shared LACP system id both switches use while the pair is healthy.
    pub system: SystemId,
    /// LACP key.
    pub key: Key,
    /// LACP mode.
    pub lacp_mode: LacpActivity,
    /// LACP timer.
    pub lacp_timer: LacpTimeout,
    /// MTU.
    pub mtu: u32,
    /// Member speed in Mb/s (0 = unknown; not compared then).
    pub speed_mbps: u32,
}

impl DtAggrConfig {
    /// An aggregation with id `id`, shared system `system`, key 1, active LACP, short timer,
    /// MTU 1500, unknown speed.
    pub fn new(id: u16, name: &str, system: SystemId) -> Self {
        DtAggrConfig {
            id,
            name: name.to_string(),
            system,
            key: 1,
            lacp_mode: LacpActivity::Active,
            lacp_timer: LacpTimeout::Short,
            mtu: 1500,
            speed_mbps: 0,
        }
    }
}

/// A refused configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtConfigError {
    /// The switch's system MAC must be a non-zero unicast address.
    #[error("the DT system MAC must be a non-zero unicast address, not {0}")]
    SystemMac(MacAddr),
    /// An interval or timeout is zero, or a timeout is not longer than its interval.
    #[error("{0}")]
    Timers(&'static str),
    /// The MAC batch size is out of range.
    #[error("mac_batch must be 1..=64")]
    MacBatch,
    /// The MAC table limit is out of range.
    #[error("the MAC sync limit must be 1..={MAX_MAC_LIMIT}")]
    MacLimit,
    /// The epoch is 0.
    #[error("the DT epoch must not be 0")]
    Epoch,
    /// The configured peer MAC is not a usable unicast address, or is this switch's own.
    #[error("the DT peer MAC must be a non-zero unicast address other than this switch's, not {0}")]
    PeerMac(MacAddr),
    /// DT aggregation id 0 is reserved (orphan-port addresses in MAC sync).
    #[error("DT aggregation id 0 is reserved")]
    AggrId,
    /// An aggregation's shared system MAC is zero or multicast.
    #[error("DT aggregation {0}: the shared system MAC must be a non-zero unicast address")]
    AggrSystem(u16),
    /// Two aggregations with one id.
    #[error("DT aggregation {0} already exists")]
    Duplicate(u16),
    /// No aggregation with this id.
    #[error("no DT aggregation {0}")]
    Unknown(u16),
    /// Too many aggregations.
    #[error("at most {MAX_AGGREGATIONS} DT aggregations")]
    TooMany,
}

impl DtConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), DtConfigError> {
        if self.system_mac.is_zero() || self.system_mac.is_multicast() {
            return Err(DtConfigError::SystemMac(self.system_mac));
        }
        if self.tx_interval == Duration::ZERO || self.keepalive_interval == Duration::ZERO {
            return Err(DtConfigError::Timers("intervals must be positive"));
        }
        if self.peer_timeout <= self.tx_interval {
            return Err(DtConfigError::Timers(
                "peer_timeout must be longer than tx_interval",
            ));
        }
        if self.keepalive_timeout <= self.keepalive_interval {
            return Err(DtConfigError::Timers(
                "keepalive_timeout must be longer than keepalive_interval",
            ));
        }
        if !(1..=64).contains(&self.mac_batch) {
            return Err(DtConfigError::MacBatch);
        }
        if !(1..=MAX_MAC_LIMIT).contains(&self.mac_limit) {
            return Err(DtConfigError::MacLimit);
        }
        if self.epoch == 0 {
            return Err(DtConfigError::Epoch);
        }
        if let Some(p) = self.peer_mac
            && (p.is_zero() || p.is_multicast() || p == self.system_mac)
        {
            return Err(DtConfigError::PeerMac(p));
        }
        Ok(())
    }
}

impl DtAggrConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), DtConfigError> {
        if self.id == crate::mac_sync::ORPHAN {
            return Err(DtConfigError::AggrId);
        }
        if self.system.addr.is_zero() || self.system.addr.is_multicast() {
            return Err(DtConfigError::AggrSystem(self.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let mut c = DtConfig {
            system_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ..DtConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.peer_timeout = c.tx_interval;
        assert!(matches!(c.validate(), Err(DtConfigError::Timers(_))));
        c.peer_timeout = Duration::from_secs(3);
        c.mac_batch = 0;
        assert_eq!(c.validate(), Err(DtConfigError::MacBatch));
        c.mac_batch = 8;
        c.mac_limit = 0;
        assert_eq!(c.validate(), Err(DtConfigError::MacLimit));
        c.mac_limit = 10;
        c.epoch = 0;
        assert_eq!(c.validate(), Err(DtConfigError::Epoch));
        c.epoch = 3;
        c.peer_mac = Some(c.system_mac);
        assert!(matches!(c.validate(), Err(DtConfigError::PeerMac(_))));
        c.peer_mac = Some(MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            DtAggrConfig::new(0, "x", SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 9]))).validate(),
            Err(DtConfigError::AggrId)
        );
        c.system_mac = MacAddr::BROADCAST;
        assert!(matches!(c.validate(), Err(DtConfigError::SystemMac(_))));
        let a = DtAggrConfig::new(1, "trk1", SystemId::NULL);
        assert_eq!(a.validate(), Err(DtConfigError::AggrSystem(1)));
        let json = serde_json::to_string(&DtAggrConfig::new(
            2,
            "trk2",
            SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 9])),
        ))
        .unwrap();
        assert!(json.contains("\"active\""), "{json}");
    }
}
