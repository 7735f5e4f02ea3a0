//! Frame distribution: flow keys, hash policies, bucket table, marker-protected moves and load
//! rebalancing, with no I/O.
//!
//! This is the Frame Distributor of IEEE 802.1AX (§6.2.4; conversation assignment §8.2) as a
//! pure state machine: bytes and time go in through `handle_*(now, ...)`, decisions come out
//! as [`Dispatch`] values and through `poll_*`. It reads no clock, opens no socket and spawns
//! no thread, so the Linux data plane and the simulator drive the same code.
//!
//! - [`FlowKey`]: the header fields of a frame (VLAN/QinQ, IPv4/IPv6 with extension headers,
//!   ports/SPI, fragments).
//! - [`HashPolicy`]: which of L2/L3/L4 the conversation hash covers; [`Mode`]: hash,
//!   active-backup, round-robin, broadcast.
//! - [`Distributor`]: buckets → members, marker-protected moves (§6.5), load rebalancing.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod dispatch;
mod distributor;
mod event;
pub mod flowkey;
mod hash;
mod mode;
mod placement;
mod planner;
mod policy;
mod stats;

pub use config::{DistributorConfig, MAX_BUCKETS, MIN_BUCKETS, MoveProtection};
pub use dispatch::{Dispatch, DropReason};
pub use distributor::Distributor;
pub use event::{Completion, DistEvent, MarkerRequest, MoveReason};
pub use flowkey::FlowKey;
pub use mode::{Mode, ModeParseError};
pub use placement::Placement;
pub use policy::{HashPolicy, IpHashPlan, PolicyParseError};
pub use stats::{DistStats, PortStats};
