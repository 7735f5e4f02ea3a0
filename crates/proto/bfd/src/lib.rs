//! Bidirectional Forwarding Detection (RFC 5880) on each member of a link aggregation, as
//! RFC 7130 ("micro-BFD") specifies, with no I/O.
//!
//! LACP with short timers notices a link that silently drops frames after three seconds;
//! micro-BFD runs one Asynchronous-mode BFD session per member, so with a 50 ms interval and
//! a multiplier of 3 a silent member is taken out of service in 150 ms, with or without LACP.
//!
//! - [`Session`]: one RFC 5880 session: states [`SessionState`] Down/Init/Up/AdminDown,
//!   bfd.* variables named as in §6.8.1, Detection Time, Poll Sequence, jitter, [`Diag`]
//!   codes, counters named after the BFD MIB.
//! - [`MicroBfd`]: the sessions of one aggregation, by member port, carried in the
//!   encapsulation of RFC 7130 (UDP port 6784, TTL 255, MAC 01-00-5E-90-00-01 until the
//!   peer's is known).
//! - Wire formats in the style of smoltcp: [`BfdPacket`] (zero-copy view) beside
//!   [`BfdRepr`] (parsed), and [`MicroBfdFrame`] for the Ethernet/IPv4/UDP encapsulation.
//!
//! It reads no clock, opens no socket, spawns no thread and draws no random number: time
//! comes in as the `now` of each call, and the jitter of §6.8.7 from the seed given to
//! [`MicroBfd::new`].
//!
//! # Call order
//! 1. Feed inputs in any order: [`MicroBfd::handle_frame`] (frames that
//!    [`MicroBfdFrame::is_micro_bfd`] classifies as micro-BFD), [`MicroBfd::handle_link`],
//!    membership and configuration changes, and [`MicroBfd::handle_timeout`] when
//!    `now >= poll_timeout()` (calling it early is harmless). A driver whose frames can wait
//!    in a socket before it reads them (a process that was not scheduled) uses
//!    [`MicroBfd::handle_received`] instead: frames with their arrival times first, then the
//!    timers, so a packet that arrived before the Detection Time expired is never outrun by
//!    the timer.
//! 2. Drain [`MicroBfd::poll_transmit`] until `None` and send each frame on its member.
//! 3. Drain [`MicroBfd::poll_event`]; `SessionState` events (or [`MicroBfd::is_up`]) drive
//!    the data plane: a member whose session is not Up neither collects nor distributes.
//! 4. Sleep until [`MicroBfd::poll_timeout`] (or the next input).
//!
//! # Deviations and choices
//! * Asynchronous mode only: no Demand mode of our own (a peer's Demand mode is honoured,
//!   §6.6), no Echo function (Required Min Echo RX Interval 0), no authentication (packets
//!   with the A bit are refused, as §6.8.6 requires of a session without authentication).
//! * IPv4 only. The source address is the aggregate's; see [`MicroBfd`] for the destination.
//! * Always the Active role: every session sends from its start.
//! * A Poll Sequence announces timer changes only while the session is Init or Up: in Down
//!   no peer is listening, and the new values go out in the next packets anyway.
//! * A member's carrier loss takes its session Down at once (Diag 5, Path Down).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytes;
mod config;
mod counters;
mod error;
mod event;
mod frame;
mod jitter;
mod micro;
mod packet;
mod session;
mod state;
mod timers;

pub use config::{
    BfdConfig, BfdConfigError, DEFAULT_DETECT_MULT, DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL,
    SLOW_TX_INTERVAL,
};
pub use counters::SessionCounters;
pub use error::BfdWireError;
pub use event::{Event, EventKind, RxError};
pub use frame::{
    BFD_TTL, ETHERTYPE_IPV4, MICRO_BFD_FRAME_LEN, MICRO_BFD_MAC, MicroBfdFrame, UDP_PORT_MICRO_BFD,
    UDP_SOURCE_PORT_MIN,
};
pub use micro::{MemberError, MemberStatus, MicroBfd, Transmit, link_local_ipv4};
pub use packet::{BFD_CONTROL_LEN, BFD_VERSION, BfdPacket, BfdRepr};
pub use session::{Session, SessionStatus};
pub use state::{Diag, SessionState};
