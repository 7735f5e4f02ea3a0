//! A `lagd` process started by the demo inside a namespace, stopped with SIGTERM (so it
//! restores its members) and killed if it does not stop.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use lagd_control::client::Client;
use systest::launch::{Launch, NotReady, connect_when_ready, terminate};

/// Why a daemon could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The `lagd` binary is not next to `lagctl`.
    #[error(
        "the lagd binary was not found at {0}: build both with `cargo build --release` and run \
         ./target/release/lagctl (it starts the lagd next to it)"
    )]
    Missing(PathBuf),
    /// Spawning or writing its files failed.
    #[error("cannot start lagd: {0}")]
    Io(#[from] std::io::Error),
    /// It exited before answering.
    #[error("lagd in {ns} exited early ({status}); its log:\n{log}")]
    Exited {
        /// Namespace.
        ns: String,
        /// Exit status.
        status: String,
        /// Log tail.
        log: String,
    },
    /// It did not answer on its control socket in time.
    #[error("lagd in {ns} did not answer on {socket}; its log:\n{log}")]
    NoAnswer {
        /// Namespace.
        ns: String,
        /// Socket path.
        socket: String,
        /// Log tail.
        log: String,
    },
}

/// The `lagd` binary next to the running executable.
pub fn lagd_binary() -> Result<PathBuf, DaemonError> {
    let exe = std::env::current_exe()?;
    let p = exe
        .parent()
        .map(|d| d.join("lagd"))
        .unwrap_or_else(|| PathBuf::from("lagd"));
    if p.is_file() {
        Ok(p)
    } else {
        Err(DaemonError::Missing(p))
    }
}

/// A running daemon.
#[derive(Debug)]
pub struct Lagd {
    child: Child,
    /// Namespace it runs in.
    pub ns: String,
    /// Its control socket.
    pub socket: PathBuf,
    /// Its log file (stderr).
    pub log: PathBuf,
}

impl Lagd {
    /// Writes `config` to `dir/<tag>.toml` and starts `bin` in namespace `ns`, in its own
    /// process group (a Ctrl-C on the terminal reaches the demo, which stops it in order), with
    /// the tests' launcher ([`systest::launch`]).
    pub fn start(
        bin: &Path,
        ns: &str,
        dir: &Path,
        tag: &str,
        config: &str,
    ) -> Result<Lagd, DaemonError> {
        let mut launch = Launch::new(bin, ns, dir, tag);
        launch.log_level = "info".into();
        launch.own_process_group = true;
        std::fs::write(&launch.config, config)?;
        let child = launch.spawn()?;
        Ok(Lagd {
            child,
            ns: ns.to_string(),
            socket: launch.socket,
            log: launch.log,
        })
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .get(lines.len().saturating_sub(30)..)
            .unwrap_or(&[])
            .join("\n")
    }

    /// Connects to its control socket, waiting up to `patience` for it to answer.
    pub fn client(&mut self, patience: Duration) -> Result<Client, DaemonError> {
        let every = Duration::from_millis(50);
        let reply = Duration::from_secs(10);
        connect_when_ready(&mut self.child, &self.socket, patience, every, reply).map_err(|e| {
            match e {
                NotReady::Exited(st) => DaemonError::Exited {
                    ns: self.ns.clone(),
                    status: st.to_string(),
                    log: self.log_tail(),
                },
                NotReady::NoAnswer => DaemonError::NoAnswer {
                    ns: self.ns.clone(),
                    socket: self.socket.display().to_string(),
                    log: self.log_tail(),
                },
            }
        })
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits up to `patience` for it to exit (it restores its members);
    /// kills it after that. Returns whether it exited by itself with success.
    pub fn stop(&mut self, patience: Duration) -> bool {
        terminate(&mut self.child, patience).is_some_and(|st| st.success())
    }
}

impl Drop for Lagd {
    fn drop(&mut self) {
        if self.running() {
            self.stop(Duration::from_secs(3));
        }
    }
}
