//! What a DT switch reports.

use crate::{AuthError, ConfigDiff, Decision, DtWireError, PeerState, Role};
use core::fmt;
use lagd_types::{Duration, Instant, MacAddr};
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

/// Why a well-formed DT frame was refused. Each reason has its counter in
/// [`crate::DtCounters`]; a refused frame changes nothing but its counter (and, at most once a
/// second per counter, an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefuseReason {
    /// Not sent to the DT group address 01-80-C2-00-00-03 (`rx_bad_address`).
    Destination,
    /// The Ethernet source is not the sender's system MAC (`rx_bad_address`).
    Source,
    /// A keepalive on the peer link or a peer-link PDU on the keepalive path (`rx_bad_address`).
    WrongPath,
    /// Another switch than the pinned peer (`rx_stranger`).
    Stranger {
        /// The peer this switch holds.
        pinned: MacAddr,
    },
    /// Authentication failed (`rx_auth_failed`).
    Auth(AuthError),
    /// No Sequence TLV, or a replayed or out-of-date frame number (`rx_stale`).
    Stale,
}

impl fmt::Display for RefuseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefuseReason::Destination => f.write_str("not sent to the DT group address"),
            RefuseReason::Source => f.write_str("source address is not the sender's system MAC"),
            RefuseReason::WrongPath => f.write_str("sent for the other path"),
            RefuseReason::Stranger { pinned } => {
                write!(f, "not the DT peer (the peer is {pinned})")
            }
            RefuseReason::Auth(e) => write!(f, "authentication failed: {e}"),
            RefuseReason::Stale => f.write_str("replayed or out of date"),
        }
    }
}

/// The last frame refused, for `show distributed-trunk status` and `diagnose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Refusal {
    /// When.
    pub at: Instant,
    /// On which path.
    pub path: DtPath,
    /// The sender's claimed system MAC.
    pub mac: MacAddr,
    /// Why.
    pub reason: RefuseReason,
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
    /// A malformed frame was refused (at most one event a second; every one is counted).
    RxError {
        /// The path.
        path: DtPath,
        /// Why.
        error: DtWireError,
    },
    /// A well-formed frame was refused (at most one event a second per counter; every one is
    /// counted).
    Refused {
        /// The path.
        path: DtPath,
        /// The sender's claimed system MAC.
        mac: MacAddr,
        /// Why.
        reason: RefuseReason,
        /// Frames refused for this counter so far.
        count: u64,
    },
    /// The peer's identity is held from now on: another switch is refused.
    PeerPinned {
        /// The peer's system MAC.
        mac: MacAddr,
    },
    /// The expiry of a path found this switch not running (it fired `late` past its
    /// deadline: the process was stopped or starved): the peer gets one more timeout before
    /// it is declared silent there.
    Stalled {
        /// The path.
        path: DtPath,
        /// How late the expiry fired.
        late: Duration,
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
            DtEventKind::Refused {
                path,
                mac,
                reason,
                count,
            } => write!(
                f,
                "PDU from {mac} on the {path} refused: {reason} ({count} so far)"
            ),
            DtEventKind::PeerPinned { mac } => {
                write!(f, "DT peer {mac} held: other switches are refused")
            }
            DtEventKind::Stalled { path, late } => write!(
                f,
                "{path} expiry ran {} ms late: this switch was not running, the peer gets one more timeout",
                late.as_millis()
            ),
        }
    }
}
