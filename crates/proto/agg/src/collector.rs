use serde::Serialize;

/// What the Frame Collector decided for a frame received on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// Pass the frame up to the aggregate interface.
    Deliver,
    /// A slow-protocols frame, consumed by LACP or the Marker protocol (never delivered).
    Control,
    /// Dropped, for the reason given (counted).
    Drop(RxDrop),
}

/// Why a received frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RxDrop {
    /// The port is not Collecting (not in the active Aggregator, or not yet synchronised).
    NotCollecting,
    /// The port is not part of this aggregation.
    UnknownPort,
    /// The switch-independent balancer's receive filter (a flooded copy, our own frame, a
    /// broadcast on a member that is not the receive member).
    Balancer(crate::alb::AlbRxDrop),
}

/// Frame Collector counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CollectorCounters {
    /// Frames passed up to the aggregate.
    pub delivered: u64,
    /// Slow-protocols frames consumed by control.
    pub control: u64,
    /// Frames dropped because the port was not Collecting.
    pub dropped_not_collecting: u64,
    /// Frames dropped because the port is unknown.
    pub dropped_unknown_port: u64,
    /// Frames dropped by the switch-independent balancer's receive filter.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_balancer: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CollectorCounters {
    pub(crate) fn count(&mut self, v: RxVerdict) {
        match v {
            RxVerdict::Deliver => self.delivered += 1,
            RxVerdict::Control => self.control += 1,
            RxVerdict::Drop(RxDrop::NotCollecting) => self.dropped_not_collecting += 1,
            RxVerdict::Drop(RxDrop::UnknownPort) => self.dropped_unknown_port += 1,
            RxVerdict::Drop(RxDrop::Balancer(_)) => self.dropped_balancer += 1,
        }
    }
}
