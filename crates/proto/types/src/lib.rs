//! Basic types shared by every lagd protocol core.
//!
//! Nothing here performs I/O or reads a clock: time is the [`Instant`] the caller passes in.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
pub mod capability;
mod duration_text;
mod ids;
mod mac;
mod state;
mod time;
mod timer_table;
pub mod virtual_time;

pub use admin::{AggrMode, Fallback, LacpActivity, LacpTimeout, UnknownValue};
pub use duration_text::{DurationError, format_duration, parse_duration, parse_optional_duration};
pub use ids::{Key, PortId, PortNumber, Priority, SystemId};
pub use mac::{MacAddr, MacParseError};
pub use state::PortState;
pub use time::{Duration, Instant};
pub use timer_table::{TableTimer, TimerTable};
