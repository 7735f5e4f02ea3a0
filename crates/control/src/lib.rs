//! What lagd shares with those who administer it (`lagctl`, tests, other tools), without the
//! daemon: the configuration file ([`config`]: parsing, validation, write-back), the control
//! protocol ([`proto`]) and its client ([`client::Client`]), the words a change is answered
//! with ([`changes`]), and lagd's command line ([`cli`], from which `lagctl gen-docs` writes
//! lagd(8)). The daemon (`lagd`) re-exports these modules under the same names.
#![warn(missing_docs)]

pub mod changes;
pub mod cli;
pub mod client;
pub mod config;
mod config_edit;
pub mod proto;
