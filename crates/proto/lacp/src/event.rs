//! Events: one for every state change, with its reason.

use crate::{AggregatorId, ChurnState, MarkerId, MuxState, PeriodicState, ReceiveState, Selected};
use core::fmt;
use lagd_types::{Instant, PortNumber, PortState};
use lagd_wire::{LacpInfo, WireError};
use serde::{Serialize, Serializer};

/// Something that changed, at a time, possibly on a port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// When.
    pub at: Instant,
    /// The port concerned; `None` for System-wide events.
    pub port: Option<PortNumber>,
    /// What.
    pub kind: EventKind,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Receive machine transition (§6.4.12).
    Receive {
        /// Previous state.
        from: ReceiveState,
        /// New state.
        to: ReceiveState,
        /// Why.
        reason: &'static str,
    },
    /// Mux machine transition (§6.4.15).
    Mux {
        /// Previous state.
        from: MuxState,
        /// New state.
        to: MuxState,
        /// Why.
        reason: &'static str,
    },
    /// Selection Logic decision (§6.4.14).
    Selection {
        /// New value of Selected.
        to: Selected,
        /// The Aggregator chosen.
        aggregator: Option<AggregatorId>,
        /// Why.
        reason: &'static str,
    },
    /// Periodic Transmission machine state (§6.4.13); the transient PERIODIC_TX is not reported.
    Periodic {
        /// New state.
        to: PeriodicState,
    },
    /// Partner operational information changed.
    PartnerChanged {
        /// Before.
        old: LacpInfo,
        /// After.
        new: LacpInfo,
    },
    /// Actor_Oper_Port_State changed.
    ActorStateChanged {
        /// Before.
        old: PortState,
        /// After.
        new: PortState,
    },
    /// The port's data plane must now collect / distribute (or stop). The data plane acts on
    /// this one. Only ports of the active Aggregator collect or distribute.
    CollectingDistributing {
        /// Frames received on the port are delivered.
        collecting: bool,
        /// Frames may be sent on the port.
        distributing: bool,
    },
    /// Actor Churn Detection machine (§6.4.17).
    ActorChurn(ChurnState),
    /// Partner Churn Detection machine (§6.4.17).
    PartnerChurn(ChurnState),
    /// The aggregate has at least min_links ports Collecting and Distributing.
    AggregateUp,
    /// The aggregate went down.
    AggregateDown {
        /// Why, with the counts.
        reason: String,
    },
    /// The Aggregator used for distribution changed.
    ActiveAggregator {
        /// The new one.
        aggregator: Option<AggregatorId>,
    },
    /// Fallback entered.
    FallbackEntered {
        /// Why.
        reason: String,
    },
    /// Fallback left: a LACPDU was heard (or fallback is no longer possible).
    FallbackLeft,
    /// A Marker Response answered our Marker.
    MarkerResponse {
        /// The Marker's transaction id.
        id: MarkerId,
    },
    /// No Marker Response in time.
    MarkerTimeout {
        /// The Marker's transaction id.
        id: MarkerId,
    },
    /// The port receives this System's own LACPDUs (a loop): they are not recorded and the
    /// port stays unselected while they keep coming.
    Loopback {
        /// Our port that sent them (the port itself: a looped link or an echo).
        from: PortNumber,
    },
    /// The port's own LACPDUs stopped coming back (or its link went down).
    LoopbackEnded,
    /// A received frame was refused.
    RxError {
        /// Why.
        #[serde(serialize_with = "serialize_display")]
        error: WireError,
    },
}

fn serialize_display<S: Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Receive { from, to, reason } => {
                write!(f, "receive {from} -> {to}: {reason}")
            }
            EventKind::Mux { from, to, reason } => write!(f, "mux {from} -> {to}: {reason}"),
            EventKind::Selection {
                to,
                aggregator,
                reason,
            } => {
                write!(f, "selection {to}")?;
                if let Some(a) = aggregator {
                    write!(f, " (aggregator {a})")?;
                }
                write!(f, ": {reason}")
            }
            EventKind::Periodic { to } => write!(f, "periodic {to}"),
            EventKind::PartnerChanged { old, new } => write!(
                f,
                "partner {} key {} port {} state {} -> {} key {} port {} state {}",
                old.system, old.key, old.port, old.state, new.system, new.key, new.port, new.state
            ),
            EventKind::ActorStateChanged { old, new } => {
                write!(f, "actor state {old} -> {new}")
            }
            EventKind::CollectingDistributing {
                collecting,
                distributing,
            } => write!(
                f,
                "collecting {} distributing {}",
                on_off(*collecting),
                on_off(*distributing)
            ),
            EventKind::ActorChurn(s) => write!(f, "actor churn {s}"),
            EventKind::PartnerChurn(s) => write!(f, "partner churn {s}"),
            EventKind::AggregateUp => f.write_str("aggregate up"),
            EventKind::AggregateDown { reason } => write!(f, "aggregate down: {reason}"),
            EventKind::ActiveAggregator {
                aggregator: Some(a),
            } => {
                write!(f, "active aggregator {a}")
            }
            EventKind::ActiveAggregator { aggregator: None } => f.write_str("no active aggregator"),
            EventKind::FallbackEntered { reason } => write!(f, "fallback entered: {reason}"),
            EventKind::FallbackLeft => f.write_str("fallback left"),
            EventKind::MarkerResponse { id } => write!(f, "marker {} answered", id.0),
            EventKind::MarkerTimeout { id } => write!(f, "marker {} timed out", id.0),
            EventKind::Loopback { from } => write!(
                f,
                "loopback: this System's own LACPDUs arrive, sent by port {from}; not recorded"
            ),
            EventKind::LoopbackEnded => f.write_str("loopback ended"),
            EventKind::RxError { error } => write!(f, "frame refused: {error}"),
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.at)?;
        if let Some(p) = self.port {
            write!(f, " port {p}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_readable_line() {
        let e = Event {
            at: Instant::from_millis(3000),
            port: Some(2),
            kind: EventKind::Receive {
                from: ReceiveState::Current,
                to: ReceiveState::Expired,
                reason: "current_while_timer expired",
            },
        };
        assert_eq!(
            e.to_string(),
            "3.000s port 2: receive CURRENT -> EXPIRED: current_while_timer expired"
        );
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.contains("\"EXPIRED\""), "{j}");
    }
}
