//! Administrative configuration of the System and its ports (IEEE 802.1AX-2014 §6.4.6, §6.4.7).

use lagd_types::{Duration, Key, MacAddr, PortId, PortNumber, PortState, Priority, SystemId};
pub use lagd_types::{LacpActivity, LacpTimeout};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How the active Aggregator is chosen among those with Selected ports (Linux bonding's
/// `ad_select`, with its names). lagd presents one aggregate, so one Aggregator at a time
/// carries traffic (crate docs, Deviations). Every policy prefers an Aggregator with a real
/// partner (heard, not DEFAULTED) and not Individual.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdSelect {
    /// The active Aggregator stays while it has a port in sync with its partner and a real
    /// partner (or neither it nor the best other has one); only then is the one of largest
    /// bandwidth chosen. Linux's default: no flap when links come and go elsewhere.
    #[default]
    Stable,
    /// The Aggregator of largest bandwidth (sum of its in-sync ports' speeds), reconsidered on
    /// every change.
    Bandwidth,
    /// The Aggregator with the most ports in sync with their partner, reconsidered on every
    /// change.
    Count,
}

impl AdSelect {
    /// The name as written (`stable`, `bandwidth`, `count`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AdSelect::Stable => "stable",
            AdSelect::Bandwidth => "bandwidth",
            AdSelect::Count => "count",
        }
    }
}

/// What fallback does when the partner runs no LACP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackKind {
    /// The best-priority port with link up forwards alone (PXE style).
    #[default]
    OneMember,
    /// All ports with link up aggregate as a static trunk.
    Static,
}

/// Fallback: forward although no LACPDU is heard (not in 802.1AX).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FallbackConfig {
    /// No LACPDU on any port for this long while ports are up enters fallback.
    pub timeout: Duration,
    /// What to forward on.
    pub kind: FallbackKind,
}

/// Configuration of the System (the actor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemConfig {
    /// Actor_System_Priority and Actor_System (§6.4.5).
    pub system: SystemId,
    /// Active, passive or off (static trunk).
    pub mode: LacpActivity,
    /// The actor's LACP_Timeout.
    pub timer: LacpTimeout,
    /// Actor_Admin_Aggregator_Key, the default for ports without their own key.
    pub key: Key,
    /// At most this many Selected ports per Aggregator; the others are Standby.
    pub max_active: Option<usize>,
    /// How the active Aggregator is chosen (`ad_select`; default `stable`).
    pub ad_select: AdSelect,
    /// The aggregate is up with at least this many ports Collecting and Distributing.
    pub min_links: usize,
    /// Fallback when the partner runs no LACP; `None` = off.
    pub fallback: Option<FallbackConfig>,
    /// Coupled Mux control (§6.4.15, default) or independent control of Collecting and
    /// Distributing.
    pub coupled_control: bool,
    /// CollectorMaxDelay sent in LACPDUs, in tens of microseconds.
    pub collector_max_delay: u16,
    /// The Marker generator gives up on a Marker Response after this long.
    pub marker_timeout: Duration,
    /// Aggregate_Wait_Time (§6.4.4): how long the wait_while_timer lets the ports of a new
    /// aggregation gather before it attaches (default 2 s).
    pub aggregate_wait: Duration,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            system: SystemId::new(0x8000, MacAddr::ZERO),
            mode: LacpActivity::Active,
            timer: LacpTimeout::Short,
            key: 1,
            max_active: None,
            ad_select: AdSelect::Stable,
            min_links: 1,
            fallback: None,
            coupled_control: true,
            collector_max_delay: 0,
            marker_timeout: Duration::from_secs(1),
            aggregate_wait: crate::timers::AGGREGATE_WAIT_TIME,
        }
    }
}

impl SystemConfig {
    /// A default configuration for the system `mac`, priority 0x8000.
    pub fn new(mac: MacAddr) -> Self {
        SystemConfig {
            system: SystemId::new(0x8000, mac),
            ..Default::default()
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.min_links == 0 {
            return Err(ConfigError::MinLinks);
        }
        if self.max_active == Some(0) {
            return Err(ConfigError::MaxActive);
        }
        if self.marker_timeout == Duration::ZERO {
            return Err(ConfigError::MarkerTimeout);
        }
        if self.fallback.is_some_and(|f| f.timeout == Duration::ZERO) {
            return Err(ConfigError::FallbackTimeout);
        }
        Ok(())
    }
}

/// Partner_Admin_* values (§6.4.7): the partner assumed while none is heard (DEFAULTED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PartnerAdmin {
    /// Partner_Admin_System_Priority and Partner_Admin_System.
    pub system: SystemId,
    /// Partner_Admin_Key.
    pub key: Key,
    /// Partner_Admin_Port_Priority and Partner_Admin_Port.
    pub port: PortId,
    /// Partner_Admin_Port_State. When the actor runs short timers, LACP_Timeout is added to
    /// it, so a port without a partner keeps transmitting fast.
    pub state: PortState,
}

impl Default for PartnerAdmin {
    fn default() -> Self {
        PartnerAdmin {
            system: SystemId::NULL,
            key: 0,
            port: PortId::new(0, 0),
            state: PortState(PortState::AGGREGATION),
        }
    }
}

/// Configuration of one port (Aggregation Port).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConfig {
    /// Actor_Port_Number (§6.4.6); not 0.
    pub number: PortNumber,
    /// Actor_Port_Priority; lower is better.
    #[serde(default = "default_port_priority")]
    pub priority: Priority,
    /// The port's own MAC: the source of every frame it sends.
    pub mac: MacAddr,
    /// Actor_Admin_Port_Key; `None` = the System's key.
    #[serde(default)]
    pub key: Option<Key>,
    /// Partner_Admin_* values.
    #[serde(default)]
    pub partner_admin: PartnerAdmin,
    /// `false` makes the port Individual (Actor Aggregation bit clear).
    #[serde(default = "default_true")]
    pub aggregatable: bool,
}

fn default_port_priority() -> Priority {
    0x8000
}
fn default_true() -> bool {
    true
}

impl PortConfig {
    /// A port with default priority 0x8000, the System's key, default partner.
    pub fn new(number: PortNumber, mac: MacAddr) -> Self {
        PortConfig {
            number,
            priority: default_port_priority(),
            mac,
            key: None,
            partner_admin: PartnerAdmin::default(),
            aggregatable: true,
        }
    }
}

/// A refused configuration change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// Port number 0 is reserved (§6.3.4).
    #[error("port number 0 is reserved")]
    PortZero,
    /// `add_port` for a number already present.
    #[error("port {0} already exists")]
    DuplicatePort(PortNumber),
    /// A port number not present.
    #[error("no port {0}")]
    UnknownPort(PortNumber),
    /// `min_links` must be at least 1.
    #[error("min-links must be at least 1")]
    MinLinks,
    /// `max_active` must be at least 1.
    #[error("max-active must be at least 1")]
    MaxActive,
    /// `marker_timeout` must be positive.
    #[error("marker timeout must be positive")]
    MarkerTimeout,
    /// The fallback timeout must be positive.
    #[error("fallback timeout must be positive")]
    FallbackTimeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_refuses_nonsense() {
        let mut c = SystemConfig::default();
        assert_eq!(c.validate(), Ok(()));
        c.min_links = 0;
        assert_eq!(c.validate(), Err(ConfigError::MinLinks));
        c.min_links = 1;
        c.max_active = Some(0);
        assert_eq!(c.validate(), Err(ConfigError::MaxActive));
        c.max_active = None;
        c.fallback = Some(FallbackConfig {
            timeout: Duration::ZERO,
            kind: FallbackKind::Static,
        });
        assert_eq!(c.validate(), Err(ConfigError::FallbackTimeout));
    }

    #[test]
    fn config_serde_roundtrip() {
        let c = SystemConfig {
            fallback: Some(FallbackConfig {
                timeout: Duration::from_secs(5),
                kind: FallbackKind::OneMember,
            }),
            ..SystemConfig::new(MacAddr([2, 0, 0, 0, 0, 1]))
        };
        let j = serde_json::to_string(&c).unwrap();
        assert!(j.contains("\"one-member\""), "{j}");
        let back: SystemConfig = serde_json::from_str(&j).unwrap();
        assert_eq!(back, c);
        let p: PortConfig =
            serde_json::from_str(r#"{"number":3,"mac":"02:00:00:00:00:03"}"#).unwrap();
        assert_eq!(p, PortConfig::new(3, MacAddr([2, 0, 0, 0, 0, 3])));
    }
}
