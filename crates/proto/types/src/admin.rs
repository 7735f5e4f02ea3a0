//! The two LACP administrative values every layer shares (IEEE 802.1AX-2014 §6.4.2.3): the
//! actor's LACP_Activity and LACP_Timeout. Declared once here, below the protocol cores, so
//! that LACP, Distributed Trunking, the settings model, the daemon and the simulator all speak
//! of the same values.

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
