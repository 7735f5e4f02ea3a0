//! Wire formats of IEEE 802.1AX link aggregation, in the style of smoltcp's `wire` module: a
//! parsed representation (`*Repr`) with `parse` and `emit`, beside zero-copy views.
//!
//! Every decoder returns a typed [`WireError`] on malformed input and never panics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod frame;
mod lacpdu;
mod marker;

pub use error::WireError;
pub use frame::{
    ETH_HEADER_LEN, ETHERTYPE_SLOW_PROTOCOLS, MIN_FRAME_LEN, SUBTYPE_LACP, SUBTYPE_MARKER,
    SlowFrame, SlowPdu,
};
pub use lacpdu::{LACPDU_LEN, LacpInfo, LacpduRepr};
pub use marker::{MARKER_PDU_LEN, MarkerKind, MarkerRepr};
