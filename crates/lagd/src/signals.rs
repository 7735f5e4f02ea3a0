//! SIGTERM, SIGINT and SIGHUP as an iterator, through `signal-hook` (which owns the one
//! async-signal-safe handler; no `unsafe` here).

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: reload the configuration file.
    Reload,
    /// SIGTERM or SIGINT: stop.
    Terminate,
}

/// The daemon's signal handlers.
pub struct Signals(signal_hook::iterator::Signals);

impl Signals {
    /// Installs the handlers for SIGTERM, SIGINT and SIGHUP.
    pub fn new() -> std::io::Result<Signals> {
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]).map(Signals)
    }

    /// Blocks for signals, forever.
    pub fn wait(mut self) -> impl Iterator<Item = Signal> {
        std::iter::from_fn(move || {
            self.0.forever().next().map(|s| {
                if s == SIGHUP {
                    Signal::Reload
                } else {
                    Signal::Terminate
                }
            })
        })
    }
}
