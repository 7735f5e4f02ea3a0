//! Errors of the system-test helpers.

use std::time::Duration;

/// What can go wrong in a system test's setup or checks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An external command failed.
    #[error("`{cmd}` failed: {detail}")]
    Command {
        /// The command line.
        cmd: String,
        /// Exit status and standard error.
        detail: String,
    },
    /// Something did not happen in time.
    #[error("timed out after {after:?} waiting for {what}: {detail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        after: Duration,
        /// The last state seen.
        detail: String,
    },
    /// A file or process operation failed.
    #[error("{op}: {source}")]
    Io {
        /// The operation.
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A lagd instance failed (start, control socket, exit).
    #[error("lagd: {0}")]
    Lagd(String),
    /// An Open vSwitch instance failed.
    #[error("ovs: {0}")]
    Ovs(String),
    /// Output of a tool could not be parsed.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// Which output.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A prerequisite is missing (root, a tool, the lagd binary).
    #[error("missing prerequisite: {0}")]
    Prereq(String),
    /// Traffic generation failed.
    #[error(transparent)]
    Traffic(#[from] lagd_trafgen::Error),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for operation `op`.
    pub fn io(op: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            op: op.into(),
            source,
        }
    }
}
