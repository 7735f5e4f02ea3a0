use core::fmt;
use lagd_distrib::{Completion, DistEvent, MoveReason};
use lagd_lacp::Event;
use lagd_types::PortNumber;
use serde::Serialize;

/// Something that happened in an aggregation, for logs, `lagctl monitor` and tests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum AggEvent {
    /// A LACP or Marker protocol event (state change, with its reason).
    Lacp(Event),
    /// A distributor event (buckets moved, move completed, active-backup change).
    Dist(DistEvent),
    /// A switch-independent balancer event (receive member, peer moved).
    Alb(crate::alb::AlbEvent),
    /// A port asked to be drained (`drain_port`) carries no conversation any more and every move
    /// off it completed: the caller may now remove it without losing a frame.
    Drained {
        /// The drained port.
        port: PortNumber,
    },
}

impl AggEvent {
    /// The port the event is about, if one.
    pub fn port(&self) -> Option<PortNumber> {
        match self {
            AggEvent::Lacp(e) => e.port,
            AggEvent::Drained { port } => Some(*port),
            AggEvent::Dist(DistEvent::BucketsMoved { to, .. }) => Some(*to),
            AggEvent::Dist(DistEvent::Drained { port }) => Some(*port),
            AggEvent::Dist(DistEvent::ActiveChanged { port }) => *port,
            AggEvent::Dist(DistEvent::MoveCompleted { .. }) => None,
            AggEvent::Alb(crate::alb::AlbEvent::ReceiveMember { to, .. }) => *to,
            AggEvent::Alb(crate::alb::AlbEvent::PeerAssigned { to, .. }) => Some(*to),
        }
    }

    /// Whether the event is routine detail (a log's DEBUG level) rather than a change of state
    /// an operator wants to read (INFO): periodic transmission, partner and actor state words
    /// refreshed, churn machines settling, marker exchanges and rebalancing moves.
    pub fn is_detail(&self) -> bool {
        use lagd_lacp::{ChurnState, EventKind};
        match self {
            AggEvent::Lacp(e) => matches!(
                e.kind,
                EventKind::Periodic { .. }
                    | EventKind::PartnerChanged { .. }
                    | EventKind::ActorStateChanged { .. }
                    | EventKind::MarkerResponse { .. }
                    | EventKind::ActorChurn(ChurnState::NoChurn | ChurnState::ChurnMonitor)
                    | EventKind::PartnerChurn(ChurnState::NoChurn | ChurnState::ChurnMonitor)
            ),
            AggEvent::Dist(DistEvent::MoveCompleted { .. }) => true,
            AggEvent::Dist(DistEvent::BucketsMoved { reason, .. }) => {
                matches!(reason, MoveReason::Rebalance)
            }
            AggEvent::Alb(crate::alb::AlbEvent::PeerAssigned { reason, .. }) => {
                matches!(
                    reason,
                    crate::alb::AssignReason::New
                        | crate::alb::AssignReason::Rebalance
                        | crate::alb::AssignReason::SameHost
                )
            }
            AggEvent::Dist(_) | AggEvent::Drained { .. } | AggEvent::Alb(_) => false,
        }
    }

    /// The event in words, ports named by `name` (a member's interface name in the daemon).
    pub fn describe(&self, name: &dyn Fn(PortNumber) -> String) -> String {
        match self {
            // The time and the port are the log line's and the event record's own fields.
            AggEvent::Lacp(e) => e.kind.to_string(),
            AggEvent::Dist(e) => describe_dist(e, name),
            AggEvent::Alb(e) => describe_alb(e, name),
            AggEvent::Drained { port } => {
                format!(
                    "{}: drained, carries no traffic: ready for removal",
                    name(*port)
                )
            }
        }
    }
}

fn describe_alb(e: &crate::alb::AlbEvent, name: &dyn Fn(PortNumber) -> String) -> String {
    use crate::alb::{AlbEvent, AssignReason};
    match e {
        AlbEvent::ReceiveMember { to: Some(p), .. } => format!(
            "{} now receives for the aggregate's MAC address (announced by gratuitous ARP and neighbour advertisement)",
            name(*p)
        ),
        AlbEvent::ReceiveMember { to: None, .. } => {
            "no member left to receive for the aggregate's MAC address".to_string()
        }
        AlbEvent::PeerAssigned {
            peer,
            from,
            to,
            reason,
        } => {
            let why = match reason {
                AssignReason::New => "new peer",
                AssignReason::Failover => "its member stopped distributing",
                AssignReason::Rebalance => "rebalancing the receive load",
                AssignReason::SameHost => "another address of the same host is received there",
            };
            match from {
                Some(f) => format!(
                    "peer {peer} moves from {} to {}: {why}",
                    name(*f),
                    name(*to)
                ),
                None => format!("peer {peer} is received on {}: {why}", name(*to)),
            }
        }
    }
}

fn describe_dist(e: &DistEvent, name: &dyn Fn(PortNumber) -> String) -> String {
    match e {
        DistEvent::BucketsMoved {
            from,
            to,
            buckets,
            reason,
        } => {
            let to = name(*to);
            let why = match reason {
                MoveReason::PortFailed => "it stopped distributing",
                MoveReason::PortAdded => "a member started distributing",
                MoveReason::Rebalance => "rebalancing the load",
                MoveReason::Drain => "it stops distributing (drained under Marker protection)",
                MoveReason::Chosen => "the operator chose the active member",
                MoveReason::PolicyChange => "the mode or hash policy changed",
            };
            match from {
                Some(f) => format!(
                    "{buckets} conversation buckets move from {} to {to}: {why}",
                    name(*f)
                ),
                None => format!("{to} now carries {buckets} conversation buckets: {why}"),
            }
        }
        DistEvent::MoveCompleted {
            id,
            by,
            held_released,
        } => {
            let by = match by {
                Completion::MarkerResponse => "the partner answered the marker",
                Completion::Timeout => "without the partner's marker response (timeout)",
                Completion::CollectorDelay => "after the collector delay",
            };
            format!("conversation move {id} done {by}; {held_released} held frames sent")
        }
        DistEvent::Drained { port } => format!("{}: carries no conversation", name(*port)),
        DistEvent::ActiveChanged { port: Some(p) } => {
            format!(
                "{} is now the active member (carries the traffic)",
                name(*p)
            )
        }
        DistEvent::ActiveChanged { port: None } => {
            "no member left to carry the traffic".to_string()
        }
    }
}

impl fmt::Display for AggEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AggEvent::Lacp(e) => write!(f, "{e}"),
            _ => f.write_str(&self.describe(&|p| format!("port {p}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributor_events_read_as_words() {
        let e = AggEvent::Dist(DistEvent::BucketsMoved {
            from: Some(2),
            to: 1,
            buckets: 22,
            reason: MoveReason::PortFailed,
        });
        let names = |p: PortNumber| format!("eth{p}");
        assert_eq!(
            e.describe(&names),
            "22 conversation buckets move from eth2 to eth1: it stopped distributing"
        );
        assert_eq!(e.port(), Some(1));
        assert!(!e.is_detail());
        let done = AggEvent::Dist(DistEvent::MoveCompleted {
            id: 3,
            by: Completion::MarkerResponse,
            held_released: 0,
        });
        assert!(done.is_detail());
        for e in [e, done] {
            let t = e.to_string();
            assert!(!t.contains('{') && !t.contains("Some("), "{t}");
        }
    }
}
