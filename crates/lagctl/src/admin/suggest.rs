//! "Did you mean": the closest of the known names to a misspelt one, and lagd's spelling of a
//! value written as bonding, teamd or Open vSwitch write it (the settings model's, shared with
//! the daemon's errors).

pub use lagd_control::config::spelling::{did_you_mean, suggestion};
