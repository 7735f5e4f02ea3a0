//! Helpers for the namespace tests of `lagctl`: two hosts (network namespaces) joined by veth
//! pairs renamed `eth1`.. inside each namespace (so outputs are stable), a `lagd` per host,
//! and `lagctl` run against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lagd_dataplane::netns::{self, TestNet};
#[allow(unused_imports)] // each test binary uses a part of this module
pub use systest::daemon::{Daemon, OnDrop, Opts, PATIENCE};
#[allow(unused_imports)]
pub use systest::lagd_instance::all_forwarding;
#[allow(unused_imports)]
pub use systest::net::link_flags;
pub use systest::scratch::TempDir;

pub mod schema;

/// Whether the namespace tests can run: root is needed. Without root they are skipped, unless
/// `CI` is set, where skipping is a failure.
pub fn can_run(test: &str) -> bool {
    if netns::is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: namespace tests need root, and CI is set");
    }
    eprintln!("skipped: {test}: namespace tests need root");
    false
}

/// The `lagctl` binary under test.
pub fn lagctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lagctl"))
}

/// The `lagd` binary: `LAGD_BIN`, else beside `lagctl` in the target directory (built with
/// `cargo build -p lagd` when missing).
pub fn lagd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LAGD_BIN") {
        return PathBuf::from(p);
    }
    let dir = lagctl_bin()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let p = dir.join("lagd");
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-p", "lagd", "--bin", "lagd"])
            .status()
            .expect("run cargo build -p lagd");
        assert!(st.success(), "cargo build -p lagd failed");
    });
    assert!(p.exists(), "no lagd binary at {}", p.display());
    p
}

/// How lagctl's tests start a [`Daemon`]: [`lagd_bin`], waited for until it answers; dropped
/// as [`OnDrop::Stop`] says.
pub trait Start {
    /// Starts `lagd` in `ns` on config file `dir/<tag>.toml` (written from `config_text` when
    /// given; an existing file is kept otherwise).
    fn start(ns: &str, dir: &TempDir, tag: &str, config_text: Option<&str>) -> Daemon {
        Self::start_env(ns, dir, tag, config_text, &[])
    }

    /// As [`Start::start`], with environment variables added (e.g. `LAGD_BPF_ATTACH`).
    fn start_env(
        ns: &str,
        dir: &TempDir,
        tag: &str,
        config_text: Option<&str>,
        env: &[(&str, &str)],
    ) -> Daemon {
        let opts = Opts::with_env(env);
        let mut d = Daemon::spawn(&lagd_bin(), ns, &dir.0, tag, config_text, &opts);
        d.on_drop = OnDrop::Stop;
        d.client();
        d
    }
}

impl Start for Daemon {}

/// `lagctl` against a [`Daemon`].
pub trait Lagctl {
    /// Runs `lagctl ARGS` in the daemon's namespace against its socket.
    fn lagctl(&self, args: &[&str]) -> Out;
}

impl Lagctl for Daemon {
    fn lagctl(&self, args: &[&str]) -> Out {
        lagctl_in(&self.ns, &self.socket, args, None)
    }
}

/// What a `lagctl` run gave.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `lagctl` in `ns` with `LAGD_SOCKET=socket`, optionally as another user
/// (`setpriv --reuid`).
pub fn lagctl_in(ns: &str, socket: &Path, args: &[&str], as_uid: Option<u32>) -> Out {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]);
    if let Some(uid) = as_uid {
        cmd.args([
            "setpriv",
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
        ]);
    }
    let out = cmd
        .arg(lagctl_bin())
        .args(args)
        .env("LAGD_SOCKET", socket)
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .output()
        .expect("run lagctl");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Two hosts A and B joined by `links` veth pairs, called `eth1`..`ethN` in both namespaces,
/// with fixed MACs `02:00:00:0a:00:0N` (A) and `02:00:00:0b:00:0N` (B).
pub struct Hosts {
    pub net: TestNet,
    pub a: String,
    pub b: String,
}

impl Hosts {
    pub fn new(links: usize) -> Hosts {
        let mut net = TestNet::new();
        let a = net.netns("lcA").unwrap();
        let b = net.netns("lcB").unwrap();
        for i in 1..=links {
            let (x, y) = net.veth("lc", Some(&a), Some(&b)).unwrap();
            for (ns, dev, host) in [(&a, &x, 0x0a), (&b, &y, 0x0b)] {
                let name = format!("eth{i}");
                let mac = format!("02:00:00:{host:02x}:00:{i:02x}");
                net.exec(ns, &["ip", "link", "set", dev, "name", &name])
                    .unwrap();
                net.exec(ns, &["ip", "link", "set", &name, "address", &mac])
                    .unwrap();
            }
        }
        Hosts { net, a, b }
    }
}

/// The standard output of a `lagctl` run that must succeed (`what` names it on failure).
pub fn ok(o: &Out, what: &str) -> String {
    assert_eq!(o.code, 0, "{what} failed: {o:?}");
    o.stdout.clone()
}

/// Hosts A and B joined by `links` links, a lagd on each started on an empty configuration,
/// and `lagctl ARGS` run on each (`args[0]` on A, `args[1]` on B), which must succeed: the
/// start of the tests that create their aggregation with lagctl.
pub fn pair_with(dir: &TempDir, links: usize, args: [&[&str]; 2]) -> (Hosts, Daemon, Daemon) {
    let h = Hosts::new(links);
    let da = Daemon::start(&h.a, dir, "a", Some(""));
    let db = Daemon::start(&h.b, dir, "b", Some(""));
    for (d, a) in [(&da, args[0]), (&db, args[1])] {
        ok(&d.lagctl(a), a.first().copied().unwrap_or("lagctl"));
    }
    (h, da, db)
}

/// Waits (bounded) until every one of `members` members of `aggr1` forwards on both daemons.
pub fn wait_forwarding(da: &mut Daemon, db: &mut Daemon, members: usize) {
    da.wait_for("aggr1", "A forwarding", |a| all_forwarding(a, members));
    db.wait_for("aggr1", "B forwarding", |a| all_forwarding(a, members));
}

/// `create-aggr -l eth1 -l eth2 OPTIONS... aggr1`.
pub fn create_aggr1<'a>(options: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["create-aggr", "-l", "eth1", "-l", "eth2"];
    v.extend_from_slice(options);
    v.push("aggr1");
    v
}

/// Replaces every run of digits (with `.`) by `N`: counters differ from run to run.
pub fn mask_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() || (in_num && c == '.') {
            if !in_num {
                out.push('N');
                in_num = true;
            }
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

/// Each line's fields separated by one space (column widths follow the masked numbers).
pub fn collapse(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it. Actual:\n{actual}",
            path.display()
        )
    });
    assert_eq!(
        actual,
        want,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}
