//! The Link Aggregation sublayer of IEEE 802.1AX (§6.2), as one sans-I/O object.
//!
//! An [`Aggregation`] composes the three parts the standard names:
//! - **Link Aggregation Control** ([`lagd_lacp::Lacp`]): LACP and the Marker protocol;
//! - the **Frame Distributor** ([`lagd_distrib::Distributor`]): conversations to ports, with
//!   marker-protected moves and load rebalancing;
//! - the **Frame Collector** ([`Aggregation::handle_port_frame`]): frames from a port reach the
//!   aggregate only while that port is Collecting; slow-protocols frames go to control.
//!
//! Beside them, [`alb`] is the sans-I/O core of the switch-independent modes (`transmit-lb`,
//! `adaptive-lb`): which member receives which peer, source MACs, announcements.
//!
//! It wires them together: the set of Distributing ports of the active Aggregator feeds the
//! distributor; the distributor's marker requests become Marker Information PDUs sent by the
//! Marker generator; Marker Responses complete the distributor's moves.
//!
//! # Call order
//! Feed inputs in any order (`handle_link`, `handle_port_frame`, `handle_host_frame`,
//! configuration changes, and `handle_timeout` once `now >= poll_timeout()`), then drain
//! [`Aggregation::poll_transmit`] (control frames), [`Aggregation::poll_release`] (data frames
//! held during a move), and [`Aggregation::poll_event`] until each returns `None`; then wait until
//! [`Aggregation::poll_timeout`]. The daemon and the simulator both follow this order.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activity;
mod aggregation;
pub mod alb;
mod collector;
mod config;
pub mod diagnose;
mod event;
pub mod member_state;
mod resume;

pub use aggregation::{AggError, Aggregation, AggregationStatus};
pub use collector::{CollectorCounters, RxDrop, RxVerdict};
pub use config::AggregationConfig;
pub use event::AggEvent;
pub use resume::{AggResumeOutcome, AggSnapshot};

pub use lagd_distrib;
pub use lagd_lacp;
