//! Helpers for lagd system tests in network namespaces.
//!
//! - [`net::Net`]: two namespaces (hosts A and B) joined by N veth pairs, removed on drop.
//! - [`daemon::Daemon`]: the `lagd` binary running in a namespace, as lagd's and lagctl's tests
//!   hold it (bounded waits that panic with its log); [`lagd_instance::LagdInstance`]: the same
//!   behind a `Result` API, with a private directory.
//! - [`launch`]: how every test (and `lagctl demo`) starts and stops lagd in a namespace.
//! - [`ovs_instance::OvsInstance`]: Open vSwitch's userspace datapath in a namespace, as a real
//!   LACP partner; [`ovs_show`] parses its `lacp/show` and `lacp/show-stats`.
//! - [`fault`]: silent link failure (frames dropped, carrier up) and carrier cuts.
//! - [`capture::Capture`]: tshark capture and decoding of slow-protocol frames.
//! - [`prereq`]: the skip policy (skip without root/OVS, unless `CI` is set).
//! - [`traffic`]: UDP gap measurements and TCP checks between the two hosts.
#![forbid(unsafe_code)]

pub mod capture;
pub mod cmd;
pub mod daemon;
pub mod error;
pub mod fault;
pub mod lagd_instance;
pub mod launch;
pub mod net;
pub mod ovs_instance;
pub mod ovs_show;
pub mod prereq;
pub mod scratch;
pub mod traffic;
pub mod wait;

pub use error::{Error, Result};
pub use net::{Net, Side};
