//! Per-session counters, named after the BFD-STD-MIB (RFC 7331, bfdSessPerf*).

use crate::Diag;
use lagd_types::Instant;
use serde::{Deserialize, Serialize};

/// Counters of one session. They never reset while the session exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounters {
    /// BFD Control packets received and accepted (bfdSessPerfCtrlPktIn).
    pub ctrl_pkt_in: u64,
    /// BFD Control packets sent (bfdSessPerfCtrlPktOut).
    pub ctrl_pkt_out: u64,
    /// BFD Control packets received and dropped: malformed, wrong TTL or discriminator
    /// (bfdSessPerfCtrlPktDrop).
    pub ctrl_pkt_drop: u64,
    /// When the last packet was dropped (bfdSessPerfCtrlPktDropLastTime).
    pub ctrl_pkt_drop_last_time: Option<Instant>,
    /// Times the session went Up (bfdSessPerfSessUpCount).
    pub sess_up_count: u64,
    /// When the session last left Up (bfdSessPerfLastSessDownTime).
    pub last_sess_down_time: Option<Instant>,
    /// The diagnostic of the last time the session left Up (bfdSessPerfLastCommLostDiag).
    pub last_comm_lost_diag: Option<Diag>,
    /// Times the Detection Time expired while Init or Up: a silent failure detected.
    pub detection_timeouts: u64,
    /// Poll Sequences started (timer changes announced).
    pub poll_sequences: u64,
}
