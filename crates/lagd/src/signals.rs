//! SIGTERM, SIGINT, SIGHUP and SIGUSR2 as an iterator, through `signal-hook` (which owns the one
//! async-signal-safe handler; no `unsafe` here).

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGHUP: reload the configuration file.
    Reload,
    /// SIGTERM or SIGINT: stop.
    Terminate,
    /// SIGUSR2: restart, keeping every aggregation (`crate::handover`).
    Restart,
}

/// The daemon's signal handlers.
pub(crate) struct Signals(signal_hook::iterator::Signals);

impl Signals {
    /// Installs the handlers for SIGTERM, SIGINT, SIGHUP and SIGUSR2.
    pub(crate) fn new() -> std::io::Result<Signals> {
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR2]).map(Signals)
    }

    /// Blocks for signals, forever.
    pub(crate) fn wait(mut self) -> impl Iterator<Item = Signal> {
        std::iter::from_fn(move || {
            self.0.forever().next().map(|s| match s {
                SIGHUP => Signal::Reload,
                SIGUSR2 => Signal::Restart,
                _ => Signal::Terminate,
            })
        })
    }
}
