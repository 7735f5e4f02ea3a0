//! Roles of the two switches and the state of the pairing.

use core::fmt;
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};

/// The role of a switch in its DT domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Wins the election (lower role priority, then lower MAC), or acts alone. Keeps
    /// forwarding on split brain.
    Primary,
    /// Loses the election. Gives way on split brain and on a configuration mismatch.
    Secondary,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        })
    }
}

/// The election: `own` and `peer` are (role priority, system MAC); the lower pair is primary.
pub fn elect(own: (u16, MacAddr), peer: (u16, MacAddr)) -> Role {
    if own <= peer {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// The state of the pairing, as one switch sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerState {
    /// Just started: DT ports are held down until the peer is found or the init delay ends.
    Init,
    /// No peer: never found, or taken for dead (peer link and keepalive both silent). The
    /// switch acts alone with the shared system id.
    Alone,
    /// The peer is heard both ways over the peer link: the pair is healthy.
    Up,
    /// The peer link just failed while the peer may be alive: decisions are held until the
    /// keepalive tells a dead peer from a split brain.
    PeerLinkDown,
    /// The peer link is down but the peer is alive (keepalive heard after the failure).
    SplitBrain,
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerState::Init => "init",
            PeerState::Alone => "alone",
            PeerState::Up => "up",
            PeerState::PeerLinkDown => "peer-link-down",
            PeerState::SplitBrain => "split-brain",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_mac() {
        let a = MacAddr([2, 0, 0, 0, 0, 1]);
        let b = MacAddr([2, 0, 0, 0, 0, 2]);
        assert_eq!(elect((10, b), (20, a)), Role::Primary);
        assert_eq!(elect((20, a), (10, b)), Role::Secondary);
        assert_eq!(elect((10, a), (10, b)), Role::Primary);
        assert_eq!(elect((10, b), (10, a)), Role::Secondary);
        assert_eq!(Role::Secondary.to_string(), "secondary");
        assert_eq!(PeerState::SplitBrain.to_string(), "split-brain");
    }
}
