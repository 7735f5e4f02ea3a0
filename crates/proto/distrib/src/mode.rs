//! How frames are spread over the Distributing members.

use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Serialize};

/// The distribution mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Static or LACP hashed distribution: conversation hash (with the
    /// [`HashPolicy`](crate::HashPolicy)) → bucket → member. Keeps each conversation in order.
    #[default]
    Hash,
    /// All traffic on one member (the first of the ports that is present); on its failure the
    /// next takes over at once. Non-revertive: a recovered earlier member does not take the
    /// traffic back (that would be a second, needless interruption).
    ActiveBackup,
    /// Per-frame rotation over the members. One flow can exceed one link, but frames of a flow
    /// are **reordered** whenever the links' delays differ: use only where the receiver copes.
    RoundRobin,
    /// Every frame on every member ([`Dispatch::Broadcast`](crate::Dispatch::Broadcast)).
    Broadcast,
}

/// A mode name that is not one of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown distribution mode {0:?}: expected one of hash, active-backup, round-robin, broadcast"
)]
pub struct ModeParseError(pub String);

impl Mode {
    /// The name used in configuration and display.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Hash => "hash",
            Mode::ActiveBackup => "active-backup",
            Mode::RoundRobin => "round-robin",
            Mode::Broadcast => "broadcast",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = ModeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "hash" | "balance-xor" | "802.3ad" | "lacp" => Ok(Mode::Hash),
            "active-backup" | "activebackup" => Ok(Mode::ActiveBackup),
            "round-robin" | "roundrobin" | "balance-rr" => Ok(Mode::RoundRobin),
            "broadcast" => Ok(Mode::Broadcast),
            _ => Err(ModeParseError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for m in [
            Mode::Hash,
            Mode::ActiveBackup,
            Mode::RoundRobin,
            Mode::Broadcast,
        ] {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
        }
        assert_eq!("Active_Backup".parse::<Mode>(), Ok(Mode::ActiveBackup));
        let e = "roundrobbin".parse::<Mode>().unwrap_err().to_string();
        assert!(
            e.contains("roundrobbin") && e.contains("round-robin"),
            "{e}"
        );
    }
}
