//! The administrative values every layer shares: the actor's LACP_Activity and LACP_Timeout
//! (IEEE 802.1AX-2014 §6.4.2.3), the aggregation's mode and its fallback. Declared once here,
//! below the protocol cores, so that LACP, Distributed Trunking, diagnosis (`lagd-agg`), the
//! settings model (`lagd-node`, which re-exports them), the daemon and the simulator all speak
//! of the same values, and spell them with the one `as_str()`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// LACP_Activity of the actor, or no LACP at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpActivity {
    /// Active LACP: transmits LACPDUs whatever the partner does.
    #[default]
    Active,
    /// Passive LACP: transmits only when the partner is active.
    Passive,
    /// No LACP: a static trunk. No LACPDU is sent; every port with link up aggregates.
    Off,
}

/// The actor's LACP_Timeout: how fast the partner must send to us.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpTimeout {
    /// Short_Timeout_Time, 3 s: the partner sends every second.
    #[default]
    Short,
    /// Long_Timeout_Time, 90 s: the partner sends every 30 s.
    Long,
}

/// How an aggregation runs: LACP or not, and how frames are spread over the members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggrMode {
    /// LACP (802.1AX) with hashed distribution by `policy` (default).
    #[default]
    Lacp,
    /// A static trunk: no LACPDUs, every member with carrier aggregates, hashed distribution.
    Static,
    /// All traffic on one member, the next takes over when it fails.
    ActiveBackup,
    /// Per-frame rotation over the members (reorders frames).
    RoundRobin,
    /// Every frame on every member.
    Broadcast,
    /// Switch-independent: transmit spread by load, receive on one member (Linux
    /// `balance-tlb`). No switch configuration.
    TransmitLb,
    /// Switch-independent: both directions spread, peers answered per member by ARP and
    /// neighbour advertisements (Linux `balance-alb`, QLogic SLB). No switch configuration.
    AdaptiveLb,
}

impl AggrMode {
    /// The name as written in the configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AggrMode::Lacp => "lacp",
            AggrMode::Static => "static",
            AggrMode::ActiveBackup => "active-backup",
            AggrMode::RoundRobin => "round-robin",
            AggrMode::Broadcast => "broadcast",
            AggrMode::TransmitLb => "transmit-lb",
            AggrMode::AdaptiveLb => "adaptive-lb",
        }
    }

    /// A switch-independent mode (`transmit-lb`, `adaptive-lb`): members keep their own MACs,
    /// no LACP, the switch needs no configuration.
    pub fn is_switch_independent(self) -> bool {
        matches!(self, AggrMode::TransmitLb | AggrMode::AdaptiveLb)
    }
}

/// What happens when no LACPDU arrives on any member (not in 802.1AX).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    /// No fallback: without a LACP partner nothing is distributed (default).
    #[default]
    Off,
    /// The best member forwards alone (PXE boot, unconfigured switch).
    OneMember,
    /// All members form a static trunk.
    Static,
}

impl Fallback {
    /// The name as written in the configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Off => "off",
            Fallback::OneMember => "one-member",
            Fallback::Static => "static",
        }
    }
}

impl LacpActivity {
    /// The name as written in the configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LacpActivity::Active => "active",
            LacpActivity::Passive => "passive",
            LacpActivity::Off => "off",
        }
    }

    /// Whether LACP runs (active or passive).
    pub fn runs(self) -> bool {
        self != LacpActivity::Off
    }
}

impl LacpTimeout {
    /// The name as written in the configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LacpTimeout::Short => "short",
            LacpTimeout::Long => "long",
        }
    }
}

impl fmt::Display for LacpActivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for LacpTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AggrMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownValue(pub String);

impl FromStr for LacpActivity {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(LacpActivity::Active),
            "passive" => Ok(LacpActivity::Passive),
            "off" => Ok(LacpActivity::Off),
            _ => Err(UnknownValue(s.to_string())),
        }
    }
}

impl FromStr for LacpTimeout {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "short" => Ok(LacpTimeout::Short),
            "long" => Ok(LacpTimeout::Long),
            _ => Err(UnknownValue(s.to_string())),
        }
    }
}
