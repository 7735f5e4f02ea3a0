//! The `lagd` binary running in a network namespace, with client access.

use crate::daemon::{NotReached, poll_aggr};
use crate::error::{Error, Result};
use crate::launch::{Launch, NotReady, connect_when_ready, terminate};
use lagd_control::client::Client;
use lagd_control::config::{AggrSpec, Config};
use lagd_control::proto::AggrStatus;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// Where the `lagd` binary is: `$LAGD_BIN` if set, else `lagd` in the profile directory of
/// the running test executable (`target/<profile>/deps/X` → `target/<profile>/lagd`). It is
/// never built from here: a missing binary is an error telling to run `cargo build -p lagd`.
pub fn lagd_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("LAGD_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Prereq(format!(
                "LAGD_BIN={} does not exist",
                p.display()
            )))
        };
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("current_exe", e))?;
    let mut dir = exe.parent();
    if dir.is_some_and(|d| d.ends_with("deps")) {
        dir = dir.and_then(Path::parent);
    }
    let cand = dir.map(|d| d.join("lagd"));
    match cand {
        Some(p) if p.is_file() => Ok(p),
        Some(p) => Err(Error::Prereq(format!(
            "the lagd binary is not built ({} missing): run `cargo build -p lagd` with the same \
             target directory and profile first (`cargo test --workspace` builds it)",
            p.display()
        ))),
        None => Err(Error::Prereq("cannot locate the lagd binary".into())),
    }
}

/// A `lagd` process in a namespace, with its config, socket and log in a private directory.
/// SIGTERMed (then killed) on drop.
#[derive(Debug)]
pub struct LagdInstance {
    ns: String,
    dir: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    keep_dir: bool,
}

impl LagdInstance {
    /// Writes `config` to a private directory and starts `lagd` in namespace `ns`; returns once
    /// its control socket answers `Ping` (bounded: 30 s).
    pub fn start(ns: &str, tag: &str, config: &Config) -> Result<LagdInstance> {
        let text = config
            .to_toml()
            .map_err(|e| Error::Lagd(format!("config: {e}")))?;
        LagdInstance::start_text(ns, tag, &text)
    }

    /// Like [`Self::start`] with the config file's text.
    pub fn start_text(ns: &str, tag: &str, config_text: &str) -> Result<LagdInstance> {
        let bin = lagd_binary()?;
        let dir = std::env::temp_dir().join(format!(
            "lagd-sys-{}",
            lagd_dataplane::netns::unique_name(tag)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))?;
        let launch = Launch::new(&bin, ns, &dir, "lagd");
        std::fs::write(&launch.config, config_text)
            .map_err(|e| Error::io("write lagd config", e))?;
        let child = launch
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", bin.display()), e))?;
        let mut me = LagdInstance {
            ns: ns.to_string(),
            dir,
            config: launch.config,
            socket: launch.socket,
            log: launch.log,
            child: Some(child),
            keep_dir: false,
        };
        let patience = Duration::from_secs(30);
        let ready = match me.child.as_mut() {
            Some(c) => connect_when_ready(
                c,
                &me.socket,
                patience,
                Duration::from_millis(20),
                Duration::from_secs(10),
            ),
            None => Err(NotReady::NoAnswer),
        };
        match ready {
            Ok(_) => {}
            Err(NotReady::Exited(st)) => {
                return Err(Error::Lagd(format!(
                    "exited with {st} at startup; log:\n{}",
                    me.log_text()
                )));
            }
            Err(NotReady::NoAnswer) => {
                return Err(Error::Timeout {
                    what: "lagd's control socket".into(),
                    after: patience,
                    detail: format!("no answer to Ping on {}", me.socket.display()),
                });
            }
        }
        Ok(me)
    }

    /// The namespace.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The control socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The config file's path.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Keep the directory (log, config) after drop, for post-mortem.
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }

    /// A new client connection (10 s response timeout).
    pub fn client(&self) -> Result<Client> {
        let c = Client::connect(&self.socket).map_err(|e| Error::Lagd(format!("connect: {e}")))?;
        c.set_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| Error::Lagd(e.to_string()))?;
        Ok(c)
    }

    /// `ShowAggr name`.
    pub fn show(&self, name: &str) -> Result<AggrStatus> {
        self.client()?
            .show_aggr(Some(name))
            .map_err(|e| Error::Lagd(format!("ShowAggr {name}: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Lagd(format!("ShowAggr {name}: empty answer")))
    }

    /// Polls `ShowAggr name` every 20 ms until `pred` holds, for at most `timeout`; fails early
    /// if the daemon exits.
    pub fn wait_for(
        &mut self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&AggrStatus) -> bool,
    ) -> Result<AggrStatus> {
        let mut client = self.client()?;
        let what = format!("lagd {name}: {what}");
        let Some(child) = self.child.as_mut() else {
            return Err(Error::Lagd("already stopped".into()));
        };
        let every = Duration::from_millis(20);
        match poll_aggr(child, &mut client, name, timeout, every, pred) {
            Ok(s) => Ok(s),
            Err(NotReached::Exited(st)) => Err(Error::Lagd(format!(
                "exited with {st}; log:\n{}",
                self.log_tail(60)
            ))),
            Err(NotReached::Timeout(last)) => Err(Error::Timeout {
                what,
                after: timeout,
                detail: last.map_or_else(|e| e, |s| summary(&s)),
            }),
        }
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let t = self.log_text();
        let lines: Vec<&str> = t.lines().collect();
        lines
            .get(lines.len().saturating_sub(n)..)
            .unwrap_or(&[])
            .join("\n")
    }

    /// SIGTERM, then waits (bounded: 20 s, then SIGKILL) for the exit status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        let Some(mut c) = self.child.take() else {
            return Err(Error::Lagd("already stopped".into()));
        };
        match terminate(&mut c, Duration::from_secs(20)) {
            Some(st) => Ok(st),
            None => Err(Error::Lagd(format!(
                "did not exit within 20 s of SIGTERM; log:\n{}",
                self.log_tail(40)
            ))),
        }
    }
}

/// One line per member: the fields that matter when waiting.
pub fn summary(s: &AggrStatus) -> String {
    let mut out = format!("{} up={} fallback={:?}", s.name, s.up, s.fallback_reason);
    for m in &s.members {
        out.push_str(&format!(
            "; {} port {} link={} {} mux={} rx={} actor={:#04x} partner={:#04x} {}@{} c/d={}/{} why={:?}",
            m.name,
            m.port,
            m.link_up,
            m.selected,
            m.mux,
            m.receive,
            m.actor.state.bits(),
            m.partner.state.bits(),
            m.partner.system.addr,
            m.partner.key,
            m.collecting,
            m.distributing,
            m.why_not_distributing
        ));
    }
    out
}

/// Whether `n` members are Collecting and Distributing and the aggregate is up.
pub fn all_distributing(s: &AggrStatus, n: usize) -> bool {
    s.up && s
        .members
        .iter()
        .filter(|m| m.collecting && m.distributing)
        .count()
        >= n
}

/// Whether the aggregate is up with exactly `members` members, every one Collecting and
/// Distributing.
pub fn all_forwarding(s: &AggrStatus, members: usize) -> bool {
    s.up && s.members.len() == members && s.members.iter().all(|m| m.collecting && m.distributing)
}

/// A config with one aggregation `spec`.
pub fn config_of(spec: AggrSpec) -> Config {
    Config {
        aggregations: vec![spec],
        ..Config::default()
    }
}

impl Drop for LagdInstance {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
