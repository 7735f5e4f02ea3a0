//! The lagd daemon: runs the aggregations of its configuration on Linux interfaces by driving
//! the sans-I/O protocol core (`lagd-agg`) through the data plane (`lagd-dataplane`).
//!
//! The library holds what lagctl uses: the configuration ([`config`]), the control protocol
//! ([`control::proto`]) and its client ([`client::Client`]), and for `lagctl restore-links` the
//! state directory ([`state`]), the take-over records ([`takeover`]) and the fast path's pins
//! ([`offload`]); and the daemon's parts that `main.rs` and the tests drive. The adapter, the
//! metrics endpoint, the member facts and the configuration editor are private to it.
#![warn(missing_docs)]

mod adapter;
pub mod aggregate;
pub mod control;
pub mod dt;
pub mod engine;
pub mod events;
pub mod handover;
pub mod logging;
mod member_facts;
mod metrics;
pub mod notify;
pub mod offload;
pub mod ratelimit;
pub mod signals;
pub mod supervise;
pub mod takeover;

pub use lagd_control::{changes, cli, client, config};
pub use lagd_state as state;
