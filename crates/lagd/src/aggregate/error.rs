//! Why an aggregation could not be started or changed.

/// Why an aggregation could not be started or changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AggrError {
    /// The kernel refused (member has addresses, no such interface, TAP exists...).
    #[error("{what}: {source}")]
    System {
        /// What was being done.
        what: String,
        /// The data plane's error.
        source: lagd_dataplane::Error,
    },
    /// The protocol core refused the change.
    #[error("{0}")]
    Protocol(String),
    /// `offload = on`, and the kernel fast path cannot be had.
    #[error("offload = on, but the kernel fast path is unavailable: {0} (fix: {fix})", fix = .0.fix)]
    Offload(crate::offload::Unavailable),
}

/// The error of a data-plane call that did `what`.
pub(crate) fn sys(what: impl Into<String>) -> impl FnOnce(lagd_dataplane::Error) -> AggrError {
    let what = what.into();
    move |source| AggrError::System { what, source }
}
