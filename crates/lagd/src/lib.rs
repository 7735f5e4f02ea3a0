//! The lagd daemon: runs the aggregations of its configuration on Linux interfaces by driving
//! the sans-I/O protocol core (`lagd-agg`) through the data plane (`lagd-dataplane`).
//!
//! The program is [`run`] (`main.rs` calls it). The library exports nothing else but what the
//! integration tests use: the configuration ([`config`]), the control protocol
//! ([`control::proto`]) and its client ([`client::Client`]) — re-exported from `lagd-control`,
//! where lagctl takes them — the fast path's hash plan ([`offload::plan`]) and the log rate
//! limit ([`ratelimit::BURST`]). Every other module is private to the daemon.
#![warn(missing_docs)]
// The surface says what it means: an item of a private module is `pub(crate)`.
#![warn(unreachable_pub)]

mod adapter;
mod aggregate;
mod bfd_shared;
mod bfd_thread;
pub mod control;
mod daemon;
mod dt;
mod engine;
mod events;
mod handover;
mod logging;
mod member_facts;
mod metrics;
mod notify;
pub mod offload;
pub mod ratelimit;
mod signals;
mod supervise;
mod sync;
mod takeover;

pub use daemon::run;
use lagd_control::{changes, cli};
pub use lagd_control::{client, config};
use lagd_state as state;
