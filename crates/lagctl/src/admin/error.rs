//! Errors of the administration verbs, each with the message the user sees.

use std::path::PathBuf;

use lagd_control::client::ClientError;

/// Why a command failed. Nothing was changed unless the message says so.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// lagd is not reachable.
    #[error(
        "cannot connect to lagd at {path}: {source} (is lagd running? give the socket with --socket or LAGD_SOCKET)"
    )]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The socket exists but the caller may not use it.
    #[error(
        "permission denied on lagd's control socket {0}: it is root's (mode 0600); run as root"
    )]
    Permission(PathBuf),
    /// A change was asked by a caller that is not root.
    #[error("{verb}: must be run as root (effective uid {euid}): lagd changes network interfaces")]
    NotRoot {
        /// The verb.
        verb: String,
        /// The caller's effective uid.
        euid: u32,
    },
    /// The daemon refused or failed.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// Bad arguments found after parsing.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An input file has an error.
    #[error("{0}")]
    Input(String),
    /// Output could not be written (e.g. a closed pipe) or encoded.
    #[error("output: {0}")]
    Output(String),
}

impl AdminError {
    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl From<std::io::Error> for AdminError {
    fn from(e: std::io::Error) -> Self {
        AdminError::Output(e.to_string())
    }
}
