use core::fmt;
use lagd_distrib::DistEvent;
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
    /// A port asked to be drained (`drain_port`) carries no conversation any more and every move
    /// off it completed: the caller may now remove it without losing a frame.
    Drained {
        /// The drained port.
        port: PortNumber,
    },
}

impl fmt::Display for AggEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AggEvent::Lacp(e) => write!(f, "{e}"),
            AggEvent::Dist(e) => write!(f, "distributor: {e:?}"),
            AggEvent::Drained { port } => write!(f, "port {port}: drained, ready for removal"),
        }
    }
}
