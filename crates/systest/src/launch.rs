//! Starting and stopping the `lagd` binary in a network namespace: the one launcher of lagd's
//! and lagctl's namespace tests, of [`crate::lagd_instance::LagdInstance`] and of `lagctl demo`.
//!
//! The command line is `ip netns exec NS [WRAPPER...] LAGD --config DIR/TAG.toml --socket
//! DIR/TAG.sock --log-level LEVEL --foreground [ARGS...]`, standard error appended to
//! `DIR/TAG.log` (a restarted daemon keeps the earlier lines). lagd talks to a service manager
//! only when the caller sets `NOTIFY_SOCKET`/`JOURNAL_STREAM` itself.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lagd_control::client::Client;

/// How to run one lagd: its files and options. [`Launch::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The `lagd` binary.
    pub bin: PathBuf,
    /// The network namespace.
    pub ns: String,
    /// `--config`.
    pub config: PathBuf,
    /// `--socket`.
    pub socket: PathBuf,
    /// Where standard error goes (appended).
    pub log: PathBuf,
    /// `--log-level` (`debug` by default).
    pub log_level: String,
    /// Command prefix between `ip netns exec NS` and lagd (e.g. `setpriv ...`, the unit's
    /// sandbox).
    pub wrapper: Vec<String>,
    /// Environment variables added.
    pub env: Vec<(String, String)>,
    /// Arguments added after the others (e.g. `--state-dir DIR`).
    pub args: Vec<String>,
    /// Make the log file the "journal stream" (`$JOURNAL_STREAM` names it).
    pub journal: bool,
    /// Run lagd in a process group of its own (a Ctrl-C on the terminal reaches only the
    /// caller, which stops lagd in order).
    pub own_process_group: bool,
}

impl Launch {
    /// lagd `bin` in `ns` with `dir/<tag>.toml`, `dir/<tag>.sock` and `dir/<tag>.log`, at
    /// log level `debug`, no wrapper, nothing added.
    pub fn new(bin: &Path, ns: &str, dir: &Path, tag: &str) -> Launch {
        Launch {
            bin: bin.to_path_buf(),
            ns: ns.to_string(),
            config: dir.join(format!("{tag}.toml")),
            socket: dir.join(format!("{tag}.sock")),
            log: dir.join(format!("{tag}.log")),
            log_level: "debug".into(),
            wrapper: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            journal: false,
            own_process_group: false,
        }
    }

    /// Starts lagd (the configuration file must exist); does not wait for it.
    pub fn spawn(&self) -> std::io::Result<Child> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .args(&self.wrapper)
            .arg(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .args(["--log-level", &self.log_level, "--foreground"])
            .args(&self.args)
            // Whatever runs the tests, lagd talks to a service manager only when asked to.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if self.journal {
            use std::os::unix::fs::MetadataExt;
            let m = log_file.metadata()?;
            cmd.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
        } else {
            cmd.env_remove("JOURNAL_STREAM");
        }
        if self.own_process_group {
            cmd.process_group(0);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
    }
}

/// Why [`connect_when_ready`] gave up.
#[derive(Debug)]
pub enum NotReady {
    /// lagd exited first, with this status.
    Exited(ExitStatus),
    /// The socket did not answer `Ping` within the patience.
    NoAnswer,
}

/// A client of the lagd `child` listening on `socket`, once it answers `Ping` (tried every
/// `every`, for at most `patience`); its replies time out after `reply_timeout`. Gives up at
/// once if lagd exits.
pub fn connect_when_ready(
    child: &mut Child,
    socket: &Path,
    patience: Duration,
    every: Duration,
    reply_timeout: Duration,
) -> Result<Client, NotReady> {
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(NotReady::Exited(st));
        }
        if let Ok(mut c) = Client::connect(socket)
            && c.set_timeout(Some(reply_timeout)).is_ok()
            && c.ping().is_ok()
        {
            return Ok(c);
        }
        if start.elapsed() >= patience {
            return Err(NotReady::NoAnswer);
        }
        std::thread::sleep(every);
    }
}

/// Stops lagd as a service manager does: SIGTERM (it restores its members and removes its
/// records), then SIGKILL if it has not exited within `patience`. Its exit status if it exited
/// by itself (also when it had already exited), `None` if it had to be killed.
pub fn terminate(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    if let Ok(Some(st)) = child.try_wait() {
        return Some(st);
    }
    let _ = lagd_dataplane::process::send(child.id(), lagd_dataplane::process::Signal::Term);
    let start = Instant::now();
    while start.elapsed() < patience {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
