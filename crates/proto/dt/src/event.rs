//! What a DT switch reports.

use crate::{ConfigDiff, Decision, DtWireError, PeerState, Role};
use core::fmt;
use lagd_types::{Instant, MacAddr};
use serde::{Deserialize, Serialize};

/// Which path a frame travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DtPath {
    /// The peer link (the Intra-Portal Link): control PDUs and data.
    PeerLink,
    /// The keepalive path.
    Keepalive,
}

impl fmt::Display for DtPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DtPath::PeerLink => "peer-link",
            DtPath::Keepalive => "keepalive",
        })
    }
}

/// An event, with the time it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtEvent {
    /// When.
    pub at: Instant,
    /// What.
    pub kind: DtEventKind,
}

/// The kinds of event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum DtEventKind {
    /// The pairing changed state: `Up` is "peer up"; `Alone` after `Up` is "peer dead";
    /// `SplitBrain` is split brain.
    StateChanged {
        /// Before.
        from: PeerState,
        /// After.
        to: PeerState,
    },
    /// This switch's role changed.
    RoleChanged {
        /// Before.
        from: Role,
        /// After.
        to: Role,
    },
    /// The peer link started or stopped delivering the peer's PDUs.
    PeerLinkChanged {
        /// Now delivering.
        up: bool,
    },
    /// The keepalive started or stopped arriving.
    KeepaliveChanged {
        /// Now arriving.
        up: bool,
    },
    /// A DT aggregation's configuration differs from the peer's.
    Mismatch {
        /// DT aggregation id.
        aggr: u16,
        /// Every differing field with both values.
        diffs: Vec<ConfigDiff>,
    },
    /// A mismatch was fixed.
    Consistent {
        /// DT aggregation id.
        aggr: u16,
    },
    /// The decision for a DT aggregation changed.
    DecisionChanged {
        /// DT aggregation id.
        aggr: u16,
        /// The new decision.
        decision: Decision,
    },
    /// A PDU of another DT domain was heard (and ignored).
    ForeignDomain {
        /// The path.
        path: DtPath,
        /// Its domain id.
        domain_id: u32,
    },
    /// A PDU carrying this switch's own system MAC was heard (a loop, or two switches with
    /// one MAC), and ignored.
    Looped {
        /// The path.
        path: DtPath,
        /// The MAC.
        mac: MacAddr,
    },
    /// A malformed frame was refused.
    RxError {
        /// The path.
        path: DtPath,
        /// Why.
        error: DtWireError,
    },
}

impl fmt::Display for DtEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtEventKind::StateChanged { from, to } => write!(f, "DT state {from} -> {to}"),
            DtEventKind::RoleChanged { from, to } => write!(f, "DT role {from} -> {to}"),
            DtEventKind::PeerLinkChanged { up } => {
                write!(f, "peer link {}", if *up { "up" } else { "down" })
            }
            DtEventKind::KeepaliveChanged { up } => {
                write!(f, "keepalive {}", if *up { "up" } else { "down" })
            }
            DtEventKind::Mismatch { aggr, diffs } => {
                write!(f, "DT aggregation {aggr}: configuration mismatch:")?;
                for d in diffs {
                    write!(f, " {} local={} peer={};", d.field, d.local, d.peer)?;
                }
                Ok(())
            }
            DtEventKind::Consistent { aggr } => {
                write!(f, "DT aggregation {aggr}: configuration consistent")
            }
            DtEventKind::DecisionChanged { aggr, decision } => {
                write!(f, "DT aggregation {aggr}: {decision}")
            }
            DtEventKind::ForeignDomain { path, domain_id } => {
                write!(f, "PDU of DT domain {domain_id} on the {path} ignored")
            }
            DtEventKind::Looped { path, mac } => {
                write!(f, "PDU with our own MAC {mac} on the {path} ignored")
            }
            DtEventKind::RxError { path, error } => write!(f, "bad PDU on the {path}: {error}"),
        }
    }
}
