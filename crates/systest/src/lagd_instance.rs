//! The `lagd` binary running in a network namespace, with client access.

use crate::error::{Error, Result};
use crate::wait;
use lagd_control::client::Client;
use lagd_control::config::{AggrSpec, Config};
use lagd_control::proto::AggrStatus;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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
        let config = dir.join("lagd.toml");
        let socket = dir.join("lagd.sock");
        let log = dir.join("lagd.log");
        std::fs::write(&config, config_text).map_err(|e| Error::io("write lagd config", e))?;
        let logf = std::fs::File::create(&log).map_err(|e| Error::io("create lagd log", e))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(&bin)
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .args(["--log-level", "debug", "--foreground"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", bin.display()), e))?;
        let mut me = LagdInstance {
            ns: ns.to_string(),
            dir,
            config,
            socket,
            log,
            child: Some(child),
            keep_dir: false,
        };
        let sock = me.socket.clone();
        wait::until(
            "lagd's control socket",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                if let Some(st) = me.exited() {
                    return Err(Error::Lagd(format!(
                        "exited with {st} at startup; log:\n{}",
                        me.log_text()
                    )));
                }
                Ok(match Client::connect(&sock).and_then(|mut c| c.ping()) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                })
            },
        )?;
        Ok(me)
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
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
        wait::until(&what, timeout, Duration::from_millis(20), || {
            if let Some(st) = self.exited() {
                return Err(Error::Lagd(format!(
                    "exited with {st}; log:\n{}",
                    self.log_tail(60)
                )));
            }
            let s = client
                .show_aggr(Some(name))
                .map_err(|e| Error::Lagd(format!("ShowAggr {name}: {e}")))?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Lagd(format!("ShowAggr {name}: empty answer")))?;
            Ok(if pred(&s) { Ok(s) } else { Err(summary(&s)) })
        })
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
        if matches!(c.try_wait(), Ok(None)) {
            crate::cmd::signal(c.id(), "TERM")?;
        }
        for _ in 0..1000 {
            match c.try_wait() {
                Ok(Some(st)) => return Ok(st),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(Error::io("wait lagd", e)),
            }
        }
        let _ = c.kill();
        let _ = c.wait();
        Err(Error::Lagd(format!(
            "did not exit within 20 s of SIGTERM; log:\n{}",
            self.log_tail(40)
        )))
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
