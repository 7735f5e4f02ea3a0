//! Deterministic discrete-event simulator running lagd's protocol cores.
//!
//! The simulator runs the same [`lagd_agg::Aggregation`] the daemon drives, on virtual time that
//! jumps from event to event: links with capacity, queues, delay, loss, carrier and silent
//! failures; traffic flows of real Ethernet/IPv4/TCP-or-UDP frames carrying sequence numbers;
//! timed faults; timed checks. A run depends only on the scenario and its seed: the same inputs
//! give byte-identical output.
//!
//! Distributed Trunking pairs (`[[dt]]`, [`scenario::DtDomain`]) run the real `lagd_dt::Dt` on
//! their switches, apply its decisions as the daemon does and forward between the pair's
//! aggregations ([`dt`]); [`fabric`] generates large DT fabrics.
//!
//! Switch-independent modes (`transmit-lb`, `adaptive-lb`) run against an unconfigured
//! learning switch ([`bridge`], `kind = "bridge"`) and peers with an IPv4 address whose ARP
//! behaves as Linux's ([`neigh`]): what the balancer tells them decides which member their
//! frames arrive on.
//!
//! ```no_run
//! use lagd_sim::{RunOptions, run_file};
//! let (text, report) = run_file("scenarios/demo.toml".as_ref(), RunOptions::default()).unwrap();
//! print!("{text}");
//! assert!(report.passed);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bfd;
pub mod bridge;
pub mod dt;
pub mod engine;
pub mod error;
pub mod fabric;
pub mod flow;
pub mod link;
pub mod neigh;
pub mod node;
pub mod packet;
pub mod queue;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod units;

pub use engine::{RunOptions, Simulator, run_file, run_str};
pub use error::SimError;
pub use report::{PeakTracker, RunReport, SunRow, sun_table};
pub use scenario::Scenario;

/// The demo scenario (`scenarios/demo.toml`), embedded so `lagctl demo --sim` works anywhere.
pub const DEMO_SCENARIO: &str = include_str!("../../../scenarios/demo.toml");
