//! Events: one for every change the data plane or an operator cares about.

use crate::{BfdWireError, Diag, SessionState};
use core::fmt;
use lagd_types::{Instant, MacAddr, PortNumber};
use serde::{Serialize, Serializer};
use std::net::Ipv4Addr;
use thiserror::Error;

/// Something that changed, at a time, on a member (`None` for a bare [`crate::Session`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// When.
    pub at: Instant,
    /// The member concerned.
    pub port: Option<PortNumber>,
    /// What.
    pub kind: EventKind,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// bfd.SessionState changed. The data plane acts on this one: a member whose session is
    /// not Up neither collects nor distributes.
    SessionState {
        /// Previous state.
        from: SessionState,
        /// New state.
        to: SessionState,
        /// bfd.LocalDiag: why.
        diag: Diag,
    },
    /// The peer's MAC and address were learned from its packets; packets now go to them
    /// instead of the dedicated MAC (RFC 7130 §2.2).
    PeerLearned {
        /// The peer member's MAC.
        mac: MacAddr,
        /// The peer's IPv4 source address.
        ip: Ipv4Addr,
    },
    /// A received frame was refused.
    RxError {
        /// Why.
        #[serde(serialize_with = "serialize_display")]
        error: RxError,
    },
}

fn serialize_display<S: Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a received frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RxError {
    /// Malformed, or failing a check that needs only the frame.
    #[error(transparent)]
    Wire(#[from] BfdWireError),
    /// Your Discriminator non-zero and not this session's (RFC 5880 §6.8.6).
    #[error("Your Discriminator {0:#010x} is not this session's")]
    NotOurDiscriminator(u32),
    /// Your Discriminator zero in a packet whose state is Init or Up (§6.8.6).
    #[error("Your Discriminator zero in a packet in state {0}")]
    ZeroYourDiscriminator(SessionState),
    /// Sent to a MAC that is neither micro-BFD's nor the member's.
    #[error("destination MAC {0} is neither micro-BFD's nor the member's")]
    NotForUs(MacAddr),
    /// The frame arrived on a port that runs no session.
    #[error("port {0} runs no BFD session")]
    UnknownPort(PortNumber),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.port {
            write!(f, "port {p}: ")?;
        }
        match &self.kind {
            EventKind::SessionState { from, to, diag } => {
                write!(f, "BFD session {from} -> {to} ({diag})")
            }
            EventKind::PeerLearned { mac, ip } => write!(f, "BFD peer is {mac} ({ip})"),
            EventKind::RxError { error } => write!(f, "BFD packet dropped: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_text() {
        let e = Event {
            at: Instant::ZERO,
            port: Some(2),
            kind: EventKind::SessionState {
                from: SessionState::Up,
                to: SessionState::Down,
                diag: Diag::ControlDetectionTimeExpired,
            },
        };
        assert_eq!(
            e.to_string(),
            "port 2: BFD session Up -> Down (Control Detection Time Expired)"
        );
        let e = Event {
            at: Instant::ZERO,
            port: None,
            kind: EventKind::RxError {
                error: RxError::Wire(BfdWireError::Ttl(64)),
            },
        };
        assert_eq!(
            e.to_string(),
            "BFD packet dropped: IP TTL 64, micro-BFD requires 255"
        );
        let j = serde_json::to_string(&e).unwrap();
        assert!(
            j.contains("\"error\":\"IP TTL 64, micro-BFD requires 255\""),
            "{j}"
        );
        let e = Event {
            at: Instant::ZERO,
            port: Some(1),
            kind: EventKind::PeerLearned {
                mac: MacAddr([2, 0, 0, 0, 0, 9]),
                ip: Ipv4Addr::new(198, 18, 0, 2),
            },
        };
        assert_eq!(
            e.to_string(),
            "port 1: BFD peer is 02:00:00:00:00:09 (198.18.0.2)"
        );
    }
}
