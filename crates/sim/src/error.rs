//! Errors of the simulator.

use std::path::PathBuf;

/// Why a scenario could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown/mistyped field.
    #[error("scenario is not valid TOML for the scenario format: {0}")]
    Toml(#[from] toml::de::Error),
    /// The scenario is well-formed TOML but inconsistent (the message names the field).
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// The protocol core refused a configuration derived from the scenario.
    #[error("{context}: {message}")]
    Config {
        /// Which node/aggregation.
        context: String,
        /// The core's message.
        message: String,
    },
    /// Writing a pcap or output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Shorthand for an [`SimError::Invalid`].
pub(crate) fn invalid(msg: impl Into<String>) -> SimError {
    SimError::Invalid(msg.into())
}
