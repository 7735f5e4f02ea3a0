//! Per-port protocol counters, named as in the IEEE 802.3ad MIB (dot3adAggPortStats*).

use serde::{Deserialize, Serialize};

/// Counters of one port. They never reset while the port exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortCounters {
    /// Valid LACPDUs received (dot3adAggPortStatsLACPDUsRx).
    pub lacpdus_rx: u64,
    /// LACPDUs transmitted (dot3adAggPortStatsLACPDUsTx).
    pub lacpdus_tx: u64,
    /// Marker Information PDUs received (dot3adAggPortStatsMarkerPDUsRx).
    pub marker_pdus_rx: u64,
    /// Marker Information PDUs transmitted by the generator (dot3adAggPortStatsMarkerPDUsTx).
    pub marker_pdus_tx: u64,
    /// Marker Response PDUs received (dot3adAggPortStatsMarkerResponsePDUsRx).
    pub marker_response_pdus_rx: u64,
    /// Marker Response PDUs transmitted (dot3adAggPortStatsMarkerResponsePDUsTx).
    pub marker_response_pdus_tx: u64,
    /// Slow-protocols frames of an unknown subtype (dot3adAggPortStatsUnknownRx).
    pub unknown_rx: u64,
    /// Malformed LACP or Marker PDUs (dot3adAggPortStatsIllegalRx).
    pub illegal_rx: u64,
    /// Markers sent by the generator that got no response in time.
    pub marker_timeouts: u64,
    /// Marker Responses not sent because the Slow Protocols rate limit was reached.
    pub marker_responses_dropped: u64,
    /// Marker Responses received that matched no outstanding Marker.
    pub marker_responses_unmatched: u64,
    /// LACPDUs of this very System received back (a loop), never recorded (not in the MIB;
    /// named in its style). Also counted in `lacpdus_rx`.
    #[serde(default)]
    pub looped_lacpdus_rx: u64,
}
