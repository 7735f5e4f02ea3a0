//! The lagd daemon: runs the aggregations of its configuration on Linux interfaces by driving
//! the sans-I/O protocol core (`lagd-agg`) through the data plane (`lagd-dataplane`).
//!
//! The library part holds what other crates use: the configuration ([`config`]), the control
//! protocol ([`control::proto`]) and its client ([`client::Client`]).
#![warn(missing_docs)]

pub mod adapter;
pub mod aggregate;
pub mod changes;
pub mod cli;
pub mod client;
pub mod config;
pub mod config_edit;
pub mod control;
pub mod dt;
pub mod engine;
pub mod events;
pub mod handover;
pub mod logging;
pub mod member_facts;
pub mod metrics;
pub mod notify;
pub mod offload;
pub mod ratelimit;
pub mod signals;
pub mod state;
pub mod supervise;
pub mod takeover;
