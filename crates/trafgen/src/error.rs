//! Errors of the traffic generator.

/// What can go wrong while setting up or running traffic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket operation failed.
    #[error("{op}: {source}")]
    Io {
        /// The operation, e.g. `bind 198.18.0.1:5000`.
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Entering a network namespace failed.
    #[error("network namespace {ns}: {detail}")]
    Netns {
        /// The namespace name.
        ns: String,
        /// What failed.
        detail: String,
    },
    /// A parameter is out of range.
    #[error("invalid parameter {field}: {detail}")]
    Invalid {
        /// The field name.
        field: &'static str,
        /// Why it is refused.
        detail: String,
    },
    /// A worker thread panicked.
    #[error("worker thread panicked: {0}")]
    Panicked(String),
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

    /// An [`Error::Panicked`] from a thread's panic payload.
    pub fn from_panic(p: &(dyn std::any::Any + Send)) -> Error {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_string());
        Error::Panicked(msg)
    }
}
