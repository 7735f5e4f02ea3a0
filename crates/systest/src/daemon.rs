//! The lagd test fixture of lagd's and lagctl's namespace tests: a `lagd` started by
//! [`crate::launch`] in a namespace, its files, and bounded waits that panic with its log (a
//! test's failure message). [`crate::lagd_instance::LagdInstance`] is the same daemon behind a
//! `Result` API; both wait through [`poll_aggr`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use lagd_control::client::Client;
use lagd_control::proto::AggrStatus;

use crate::launch::{Launch, NotReady, connect_when_ready, terminate};

/// Generous bound for anything that waits on the daemon (a loaded 2-core machine).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// How [`Daemon::spawn`] runs lagd, beyond [`Launch::new`]'s defaults.
#[derive(Clone, Debug, Default)]
pub struct Opts {
    /// Command prefix (e.g. the unit's sandbox).
    pub wrapper: Vec<String>,
    /// Extra environment (e.g. `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `LAGD_BPF_ATTACH`).
    pub env: Vec<(String, String)>,
    /// Make stderr (the log file) the "journal stream" (`$JOURNAL_STREAM` names it).
    pub journal: bool,
    /// `--log-level` (default `debug`).
    pub log_level: Option<String>,
    /// More arguments (e.g. `--state-dir DIR`).
    pub args: Vec<String>,
}

impl Opts {
    /// Nothing but environment variables `env` added.
    pub fn with_env(env: &[(&str, &str)]) -> Opts {
        Opts {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Opts::default()
        }
    }
}

/// What dropping a [`Daemon`] still running does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDrop {
    /// SIGTERM, so that it restores its members and removes its state records, then SIGKILL if
    /// it has not exited within 10 s (a stopped or hung one: a test that wants a crash kills
    /// it itself).
    Terminate,
    /// [`Daemon::stop`]: SIGTERM, and it must exit within [`PATIENCE`].
    Stop,
}

/// A `lagd` process in a namespace.
#[derive(Debug)]
pub struct Daemon {
    /// The namespace.
    pub ns: String,
    /// The process (`ip netns exec`, which execs lagd).
    pub child: Child,
    /// `--socket`.
    pub socket: PathBuf,
    /// `--config`.
    pub config: PathBuf,
    /// Its standard error.
    pub log: PathBuf,
    /// What dropping it does when it still runs.
    pub on_drop: OnDrop,
}

impl Daemon {
    /// Starts lagd `bin` in namespace `ns` on the config file `dir/<tag>.toml` (written from
    /// `config_text` when given, an existing file kept otherwise), socket and log beside it,
    /// as `o` says; does not wait for it. Dropped as [`OnDrop::Terminate`] says.
    pub fn spawn(
        bin: &Path,
        ns: &str,
        dir: &Path,
        tag: &str,
        config_text: Option<&str>,
        o: &Opts,
    ) -> Daemon {
        let mut launch = Launch::new(bin, ns, dir, tag);
        launch.wrapper = o.wrapper.clone();
        launch.env = o.env.clone();
        launch.args = o.args.clone();
        launch.journal = o.journal;
        if let Some(l) = &o.log_level {
            launch.log_level = l.clone();
        }
        if let Some(t) = config_text {
            std::fs::write(&launch.config, t).unwrap();
        }
        let child = launch.spawn().expect("spawn lagd");
        Daemon {
            ns: ns.to_string(),
            child,
            socket: launch.socket,
            config: launch.config,
            log: launch.log,
            on_drop: OnDrop::Terminate,
        }
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects, waiting (bounded) for the socket to answer `Ping`.
    pub fn client(&mut self) -> Client {
        let every = Duration::from_millis(100);
        match connect_when_ready(&mut self.child, &self.socket, PATIENCE, every, PATIENCE) {
            Ok(c) => c,
            Err(NotReady::Exited(st)) => {
                panic!("lagd exited early with {st}; log:\n{}", self.log_text())
            }
            Err(NotReady::NoAnswer) => panic!(
                "lagd did not answer on {}; log:\n{}",
                self.socket.display(),
                self.log_text()
            ),
        }
    }

    /// Sends a signal (by name, e.g. "TERM") to the daemon.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "lagd did not exit; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the daemon with SIGTERM and waits (bounded) for it (members restored).
    pub fn stop(&mut self) {
        assert!(
            terminate(&mut self.child, PATIENCE).is_some(),
            "lagd did not stop"
        );
    }

    /// [`wait_for`] on a new client.
    pub fn wait_for(
        &mut self,
        name: &str,
        what: &str,
        check: impl Fn(&AggrStatus) -> bool,
    ) -> AggrStatus {
        let mut c = self.client();
        wait_for(self, &mut c, name, what, check)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        match self.on_drop {
            OnDrop::Terminate => {
                terminate(&mut self.child, Duration::from_secs(10));
            }
            OnDrop::Stop => {
                if let Ok(None) = self.child.try_wait() {
                    self.stop();
                }
            }
        }
    }
}

/// Why [`poll_aggr`] gave up.
#[derive(Debug)]
pub enum NotReached {
    /// lagd exited, with this status.
    Exited(ExitStatus),
    /// The patience ran out; the last status seen, or the last error.
    Timeout(Result<Box<AggrStatus>, String>),
}

/// Polls `ShowAggr name` on `client` every `every` until `check` holds, for at most `patience`;
/// gives up at once if `child` exits. An error answer (no such aggregation yet) is waited out.
pub fn poll_aggr(
    child: &mut Child,
    client: &mut Client,
    name: &str,
    patience: Duration,
    every: Duration,
    check: impl Fn(&AggrStatus) -> bool,
) -> Result<AggrStatus, NotReached> {
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(NotReached::Exited(st));
        }
        let last = match client.show_aggr(Some(name)) {
            Ok(v) => match v.into_iter().next() {
                Some(a) if check(&a) => return Ok(a),
                Some(a) => Ok(Box::new(a)),
                None => Err(format!("no aggregation {name}")),
            },
            Err(e) => Err(format!("ShowAggr {name}: {e}")),
        };
        if start.elapsed() >= patience {
            return Err(NotReached::Timeout(last));
        }
        std::thread::sleep(every);
    }
}

/// Waits (bounded: [`PATIENCE`]) until `check` holds for the status of aggregation `name`,
/// asked on `c`; panics with the last status and the log if it does not.
pub fn wait_for(
    d: &mut Daemon,
    c: &mut Client,
    name: &str,
    what: &str,
    check: impl Fn(&AggrStatus) -> bool,
) -> AggrStatus {
    let every = Duration::from_millis(200);
    match poll_aggr(&mut d.child, c, name, PATIENCE, every, check) {
        Ok(a) => a,
        Err(NotReached::Exited(st)) => panic!(
            "{what}: not reached, lagd exited with {st}; log:\n{}",
            d.log_text()
        ),
        Err(NotReached::Timeout(Ok(a))) => panic!(
            "{what}: not reached; last status:\n{}\nlog:\n{}",
            serde_json::to_string_pretty(&a).unwrap_or_default(),
            d.log_text()
        ),
        Err(NotReached::Timeout(Err(e))) => {
            panic!("{what}: not reached: {e}; log:\n{}", d.log_text())
        }
    }
}

/// Sends `sig` to every daemon, then waits for each and asserts that it exited successfully
/// (the failure names the daemon, e.g. "A", and shows its log).
pub fn stop_cleanly(sig: &str, daemons: &mut [(&str, &mut Daemon)]) {
    for (_, d) in daemons.iter() {
        d.signal(sig);
    }
    for (name, d) in daemons.iter_mut() {
        let st = d.wait_exit();
        assert!(
            st.success(),
            "{name} exited with {st}; log:\n{}",
            d.log_text()
        );
    }
}
