//! Helpers for the namespace integration tests: a running `lagd` in a network namespace, and
//! snapshots of member interfaces.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lagd::client::Client;
use lagd::control::proto::AggrStatus;
use lagd_dataplane::netns;

/// Generous bound for anything that waits on the daemon (a loaded 2-core machine).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Whether the namespace tests can run here.
pub fn can_run() -> bool {
    if !netns::is_root() {
        eprintln!("skipping: namespace tests need root");
        return false;
    }
    true
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "{}-{}",
            netns::unique_name(tag),
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `lagd` process in a namespace; killed on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `lagd` in namespace `ns` with `config` text written to `dir/<tag>.toml`.
    pub fn start(ns: &str, dir: &TempDir, tag: &str, config_text: &str) -> Daemon {
        let config = dir.path(&format!("{tag}.toml"));
        std::fs::write(&config, config_text).unwrap();
        let socket = dir.path(&format!("{tag}.sock"));
        let log = dir.path(&format!("{tag}.log"));
        let child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_lagd")])
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .args(["--log-level", "debug", "--foreground"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn lagd");
        Daemon {
            child,
            socket,
            config,
            log,
        }
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects, waiting (bounded) for the socket to answer `Ping`.
    pub fn client(&mut self) -> Client {
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("lagd exited early with {st}; log:\n{}", self.log_text());
            }
            if let Ok(mut c) = Client::connect(&self.socket) {
                c.set_timeout(Some(PATIENCE)).unwrap();
                if c.ping().is_ok() {
                    return c;
                }
            }
            assert!(
                start.elapsed() < PATIENCE,
                "lagd did not answer on {}; log:\n{}",
                self.socket.display(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
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
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (bounded) until `check` holds for the status of aggregation `name`.
pub fn wait_for(
    d: &mut Daemon,
    c: &mut Client,
    name: &str,
    what: &str,
    check: impl Fn(&AggrStatus) -> bool,
) -> AggrStatus {
    let start = Instant::now();
    loop {
        let st = c.show_aggr(Some(name)).expect("ShowAggr");
        let a = st.into_iter().next().expect("one aggregation");
        if check(&a) {
            return a;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not reached; last status:\n{}\nlog:\n{}",
            serde_json::to_string_pretty(&a).unwrap(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Up with every member Collecting and Distributing.
pub fn all_forwarding(a: &AggrStatus, members: usize) -> bool {
    a.up && a.members.len() == members && a.members.iter().all(|m| m.collecting && m.distributing)
}

/// What lagd changes on a member and must put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfSnapshot {
    pub flags: Vec<String>,
    pub mtu: u64,
    pub arp_ignore: String,
    pub disable_ipv6: String,
}

/// Reads the snapshot of `dev` in `ns`.
pub fn snapshot(ns: &str, dev: &str) -> IfSnapshot {
    let out = netns::ns_cmd(ns, &["ip", "-j", "link", "show", "dev", dev]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let l = &v[0];
    let mut flags: Vec<String> = l["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        // Carrier-related flags depend on the peer, not on us.
        .filter(|f| f != "LOWER_UP" && f != "M-DOWN" && f != "NO-CARRIER")
        .collect();
    flags.sort();
    let sysctl = |p: String| {
        netns::ns_cmd(ns, &["cat", &p])
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    IfSnapshot {
        flags,
        mtu: l["mtu"].as_u64().unwrap(),
        arp_ignore: sysctl(format!("/proc/sys/net/ipv4/conf/{dev}/arp_ignore")),
        disable_ipv6: sysctl(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6")),
    }
}

/// Whether interface `dev` exists in `ns`.
pub fn link_exists(ns: &str, dev: &str) -> bool {
    netns::ns_cmd(ns, &["ip", "link", "show", "dev", dev]).is_ok()
}

/// Pings `addr` from `ns`, retrying a few times; returns whether one attempt fully succeeded.
pub fn ping(ns: &str, addr: &str, extra: &[&str]) -> bool {
    for _ in 0..5 {
        let mut args = vec!["ping", "-c", "3", "-i", "0.2", "-W", "3"];
        args.extend_from_slice(extra);
        args.push(addr);
        if netns::ns_cmd(ns, &args).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    false
}

/// Whether `path` exists.
pub fn exists(p: &Path) -> bool {
    p.exists()
}
