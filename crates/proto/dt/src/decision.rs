//! What a switch must do with one DT aggregation: the output the daemon applies.

use core::fmt;
use lagd_types::SystemId;
use serde::{Deserialize, Serialize};

/// The per-DT-aggregation decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// The LACP system id the aggregation must use: the shared one while the pair is healthy
    /// or the switch is alone; the switch's own (priority of the shared id, own MAC) on the
    /// secondary during split brain.
    pub lacp_system: SystemId,
    /// Add this to each local port number: 0 on the primary, 0x8000 on the secondary
    /// (sticky: it only changes when the peer is found again with the other base).
    pub port_number_base: u16,
    /// Whether the aggregation's member ports may be up. `false`: take them down (protodown),
    /// so the server stops using them at once.
    pub ports_enabled: bool,
    /// Frames from the peer link must not go out of this aggregation (bridge port isolation):
    /// true while the peer's half of it delivers (has live members, as last reported), whether
    /// or not this switch's half has any.
    pub isolate_peer_link: bool,
    /// Why the ports are down, when they are.
    pub reason: Option<DownReason>,
}

/// Why a decision takes the DT ports down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DownReason {
    /// Start-up: waiting for the peer or the end of the init delay.
    Init,
    /// The secondary's configuration of this aggregation differs from the primary's.
    Mismatch,
    /// Split brain: the secondary gives way.
    SplitBrain,
    /// The switch heard where the peer should be belongs to another DT domain (different
    /// domain ids): the one that would be secondary gives way.
    DomainMismatch,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DownReason::Init => "init",
            DownReason::Mismatch => "configuration mismatch",
            DownReason::SplitBrain => "split brain",
            DownReason::DomainMismatch => "DT domain id mismatch",
        })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "system {} base {:#06x} ports {}{} isolate {}",
            self.lacp_system,
            self.port_number_base,
            if self.ports_enabled { "up" } else { "down" },
            self.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            self.isolate_peer_link
        )
    }
}
