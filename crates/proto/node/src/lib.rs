//! The layer above the protocol cores that the daemon (`lagd`) and the simulator (`lagd-sim`)
//! both execute, so that what one decides the other decides too. No I/O, no clock.
//!
//! - [`settings`]: the settings of an aggregation, one vocabulary for the configuration file,
//!   the command line, the control protocol's JSON and the simulator's scenarios. One
//!   all-optional type, [`AggrSettings`], is the file's `[[aggregation]]` table (inside
//!   [`AggrSpec`]), a live change and a scenario's patch; one [`AggrSpec::resolve`] applies one
//!   set of defaults into a [`Resolved`] aggregation, which builds the cores' configurations.
//! - [`driver`]: the aggregation driver's shared rules: port numbers from a base, port names
//!   in events.
//! - [`dt`]: Distributed Trunking reconciliation, one pure step from the DT core's decisions
//!   to the actions the daemon executes on the kernel and the simulator on its model.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod driver;
pub mod dt;
pub mod settings;

pub use lagd_types::{LacpActivity, LacpTimeout};
pub use settings::{
    AdSelect, AggrMode, AggrSettings, AggrSpec, BfdSettings, Fallback, LinkEnv, MoveProtectionKind,
    Offload, PortSettings, Resolved, RxSteering, SettingsError, Syntax,
};
