//! lagd as a systemd service, without systemd: each test binds its own `$NOTIFY_SOCKET`.
//!
//! - `READY=1` once the configured aggregate exists; `RELOADING=1` (with `MONOTONIC_USEC=`) and
//!   `READY=1` around a reload, good or refused; a refused reload fails the unit's
//!   `ExecReload=` command with lagd's reason; `STOPPING=1` on SIGTERM.
//! - `WATCHDOG=1` follows the forwarding threads: withheld while one hangs, resumed after; and
//!   the micro-BFD thread likewise, which runs only while the aggregation has micro-BFD on.
//! - A forwarding thread that dies, or a panic, ends lagd with exit status 70, said once.
//! - Under the journal (`$JOURNAL_STREAM` naming stderr) every line carries its syslog
//!   priority; a fatal error is printed once.
//! - `lagd --check-config` validates without privileges and touches no interface.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use lagd::client::Client;
use lagd::control::proto::{Reply, Request};
use lagd_dataplane::netns;

/// A notification socket bound by the test, as systemd binds one for a `Type=notify` unit.
struct NotifySocket {
    sock: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &TempDir) -> NotifySocket {
        let path = dir.path("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        NotifySocket {
            sock,
            path,
            seen: Vec::new(),
        }
    }

    fn env(&self) -> (String, String) {
        ("NOTIFY_SOCKET".into(), self.path.display().to_string())
    }

    /// The next message, waiting at most `wait`.
    fn next(&mut self, wait: Duration) -> Option<String> {
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 4096];
        match self.sock.recv(&mut buf) {
            Ok(n) => {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(m.clone());
                Some(m)
            }
            Err(_) => None,
        }
    }

    /// Waits (bounded) for a message with line `key`; the messages before it are kept in
    /// `seen`.
    fn until(&mut self, key: &str, d: &Daemon) -> String {
        let start = Instant::now();
        loop {
            if let Some(m) = self.next(Duration::from_millis(500))
                && m.lines().any(|l| l == key)
            {
                return m;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no {key}; seen {:?}; log:\n{}",
                self.seen,
                d.log_text()
            );
        }
    }

    /// Everything queued now.
    fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(m) = self.next(Duration::from_millis(1)) {
            out.push(m);
        }
        out
    }
}

fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// One namespace with one member (its peer in a second namespace).
struct Host {
    /// Deletes the namespaces on drop.
    _net: netns::TestNet,
    ns: String,
    link: String,
}

fn host(tag: &str) -> Host {
    let mut net = netns::TestNet::new();
    let ns = net.netns(&format!("{tag}H")).unwrap();
    let p = net.netns(&format!("{tag}P")).unwrap();
    let (link, peer) = net.veth("sd", Some(&ns), Some(&p)).unwrap();
    net.exec(&p, &["ip", "link", "set", &peer, "up"]).unwrap();
    Host {
        _net: net,
        ns,
        link,
    }
}

fn config(link: &str) -> String {
    lacp_config(&[link.to_string()], "")
}

/// The unit's `ExecReload=` command line, with the installed paths replaced by the test's.
fn exec_reload(socket: &Path) -> Command {
    let line = common::unit::unit_values("ExecReload")
        .pop()
        .expect("the unit has an ExecReload=");
    let mut words = line.split_whitespace().map(|w| match w {
        "/usr/sbin/lagctl" | "/usr/bin/lagctl" => lagctl_beside_lagd().display().to_string(),
        "/run/lagd/lagd.sock" => socket.display().to_string(),
        w => w.to_string(),
    });
    let mut c = Command::new(words.next().unwrap());
    c.args(words);
    c
}

#[test]
fn ready_reload_and_stopping_are_notified() {
    if !root_or_skip("ready_reload_and_stopping_are_notified") {
        return;
    }
    let h = host("sdr");
    let dir = TempDir::new("sdr");
    let mut n = NotifySocket::bind(&dir);
    let mut d = Daemon::start_with(
        &h.ns,
        &dir,
        "d",
        &config(&h.link),
        &Opts {
            env: vec![n.env()],
            ..Opts::default()
        },
    );
    let ready = n.until("READY=1", &d);
    assert!(
        link_exists(&h.ns, AGGR),
        "READY=1 before the aggregate exists"
    );
    println!("start-up: {ready:?}");

    // A good reload: RELOADING=1 with the monotonic time, then READY=1.
    let mut c = d.client();
    let cfg = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, cfg.clone() + "rebalance_interval = \"off\"\n").unwrap();
    let out = exec_reload(&d.socket).output().unwrap();
    assert!(
        out.status.success(),
        "ExecReload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reloading = n.until("RELOADING=1", &d);
    let usec: u64 = field(&reloading, "MONOTONIC_USEC")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {reloading:?}"));
    let ours = lagd_dataplane::monotonic_now().as_nanos() / 1000;
    assert!(
        usec <= ours && usec > 0,
        "MONOTONIC_USEC {usec} is not CLOCK_MONOTONIC (ours {ours})"
    );
    let again = n.until("READY=1", &d);
    assert!(
        field(&again, "STATUS").is_some_and(|s| s.contains("reloaded")),
        "{again:?}"
    );

    // A refused reload: the running state stays, the ExecReload command fails with the reason,
    // systemd is told RELOADING=1 then READY=1 (it keeps running) with the failure as STATUS.
    std::fs::write(&d.config, "[[aggregation]\nname = broken\n").unwrap();
    let out = exec_reload(&d.socket).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken file reloaded");
    assert!(err.contains("reload"), "no reason given: {err}");
    println!("refused reload, ExecReload said: {}", err.trim());
    n.until("RELOADING=1", &d);
    let after = n.until("READY=1", &d);
    assert!(
        field(&after, "STATUS").is_some_and(|s| s.contains("reload failed")),
        "{after:?}"
    );
    let st = c.show_aggr(Some(AGGR)).unwrap();
    assert_eq!(st.len(), 1, "the running aggregate is gone");
    // The same through the client library.
    match c.request(&Request::Reload { delete_all: false }) {
        Err(lagd::client::ClientError::Daemon { message, .. }) => {
            assert!(!message.is_empty())
        }
        other => panic!("a broken file reloaded: {other:?}"),
    }

    drop(c);
    std::fs::write(&d.config, cfg).unwrap();
    d.signal("TERM");
    n.until("STOPPING=1", &d);
    let st = d.wait_exit();
    assert!(st.success(), "exit {st}; log:\n{}", d.log_text());
}

fn inject(c: &mut Client, thread: &str, fault: &str) {
    match c.request(&Request::TestFault {
        name: AGGR.into(),
        thread: thread.into(),
        fault: fault.into(),
    }) {
        Ok(Reply::Done { .. }) => {}
        // The daemon may be gone before it answers (that is the point of these faults).
        Err(lagd::client::ClientError::Closed) if fault != "stall" && fault != "none" => {}
        other => panic!("fault not injected: {other:?}"),
    }
}

fn wait_log(d: &Daemon, what: &str) {
    let start = Instant::now();
    while !d.log_text().contains(what) {
        assert!(
            start.elapsed() < PATIENCE,
            "no {what:?} in the log:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// lagd on `config` with a 1 s watchdog, ready and pinging.
fn watched(h: &Host, dir: &TempDir, config: &str) -> (NotifySocket, Daemon) {
    let mut n = NotifySocket::bind(dir);
    let d = Daemon::start_with(
        &h.ns,
        dir,
        "d",
        config,
        &Opts {
            env: vec![n.env(), ("WATCHDOG_USEC".into(), "1000000".into())],
            ..Opts::default()
        },
    );
    n.until("READY=1", &d);
    n.until("WATCHDOG=1", &d);
    n.until("WATCHDOG=1", &d);
    (n, d)
}

/// Stalls `thread` (`what` in the log): the pings stop, once the hang is seen, until it is
/// cleared; the hang is logged once.
fn hang_withholds_pings(
    n: &mut NotifySocket,
    d: &Daemon,
    c: &mut Client,
    thread: &str,
    what: &str,
) {
    inject(c, thread, "stall");
    wait_log(d, what);
    wait_log(d, "watchdog notifications withheld");
    // Pings sent before the stall was seen are queued; none may follow while it lasts.
    n.drain();
    std::thread::sleep(Duration::from_millis(2500));
    let during = n.drain();
    assert!(
        !during.iter().any(|m| m.lines().any(|l| l == "WATCHDOG=1")),
        "WATCHDOG=1 while {what} hangs: {during:?}"
    );
    inject(c, thread, "none");
    n.until("WATCHDOG=1", d);
    wait_log(d, "watchdog notifications resumed");
    let log = d.log_text();
    assert_eq!(
        log.matches("has not run for").count(),
        1,
        "the hang is logged once:\n{log}"
    );
}

#[test]
fn watchdog_follows_the_forwarding_threads() {
    if !root_or_skip("watchdog_follows_the_forwarding_threads") {
        return;
    }
    let h = host("sdw");
    let dir = TempDir::new("sdw");
    let (mut n, mut d) = watched(&h, &dir, &config(&h.link));
    let mut c = d.client();
    let what = format!("the TX forwarding thread of aggregate `{AGGR}`");
    hang_withholds_pings(&mut n, &d, &mut c, "tx", &what);
    drop(c);
    d.signal("TERM");
    assert!(d.wait_exit().success(), "log:\n{}", d.log_text());
}

/// The threads of process `pid` named `lagd-bfd`.
fn bfd_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "lagd-bfd")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Writes `text` as `d`'s configuration and reloads it.
fn reload_with(c: &mut Client, d: &Daemon, text: &str) {
    std::fs::write(&d.config, text).unwrap();
    match c.request(&Request::Reload { delete_all: false }) {
        Ok(Reply::Done { .. }) => {}
        other => panic!("reload failed: {other:?}"),
    }
}

fn wait_bfd_threads(d: &Daemon, want: usize) {
    let start = Instant::now();
    while bfd_threads(d.child.id()) != want {
        assert!(
            start.elapsed() < PATIENCE,
            "not {want} micro-BFD threads; log:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watchdog_follows_the_micro_bfd_thread() {
    if !root_or_skip("watchdog_follows_the_micro_bfd_thread") {
        return;
    }
    let h = host("sdb");
    let dir = TempDir::new("sdb");
    let plain = config(&h.link);
    let (mut n, mut d) = watched(&h, &dir, &plain);
    let mut c = d.client();
    // Micro-BFD off: no thread, nothing to inject a fault into.
    assert_eq!(
        bfd_threads(d.child.id()),
        0,
        "a micro-BFD thread while BFD is off"
    );
    match c.request(&Request::TestFault {
        name: AGGR.into(),
        thread: "bfd".into(),
        fault: "stall".into(),
    }) {
        Err(lagd::client::ClientError::Daemon { message, .. }) => {
            assert!(message.contains("micro-BFD is off"), "{message}")
        }
        other => panic!("a fault injected into a thread that does not run: {other:?}"),
    }
    // On by reload: one thread, and the watchdog follows it.
    let with_bfd = lacp_config(
        std::slice::from_ref(&h.link),
        "bfd = { interval = \"50ms\", multiplier = 3 }",
    );
    reload_with(&mut c, &d, &with_bfd);
    wait_bfd_threads(&d, 1);
    n.until("WATCHDOG=1", &d);
    let what = format!("the micro-BFD thread of aggregate `{AGGR}`");
    hang_withholds_pings(&mut n, &d, &mut c, "bfd", &what);
    // Off again: the thread ends, the pings go on.
    reload_with(&mut c, &d, &plain);
    wait_bfd_threads(&d, 0);
    n.drain();
    n.until("WATCHDOG=1", &d);
    drop(c);
    d.signal("TERM");
    assert!(d.wait_exit().success(), "log:\n{}", d.log_text());
}

fn dies_with_70(tag: &str, fault: &str, said: &str) {
    let h = host(tag);
    let dir = TempDir::new(tag);
    let mut d = Daemon::start(&h.ns, &dir, "d", &config(&h.link));
    let mut c = d.client();
    inject(&mut c, "rx", fault);
    let st = d.wait_exit();
    let log = d.log_text();
    assert_eq!(st.code(), Some(70), "exit {st}; log:\n{log}");
    assert_eq!(
        log.matches(said).count(),
        1,
        "{said:?} not said exactly once:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" ERROR ") && l.contains(said)),
        "not an error line:\n{log}"
    );
}

#[test]
fn a_forwarding_thread_that_dies_ends_lagd() {
    if !root_or_skip("a_forwarding_thread_that_dies_ends_lagd") {
        return;
    }
    dies_with_70("sdx", "exit", "has died");
}

#[test]
fn a_panic_ends_lagd() {
    if !root_or_skip("a_panic_ends_lagd") {
        return;
    }
    dies_with_70("sdp", "panic", "panicked");
}

#[test]
fn journal_lines_carry_syslog_priorities() {
    if !root_or_skip("journal_lines_carry_syslog_priorities") {
        return;
    }
    let h = host("sdj");
    let dir = TempDir::new("sdj");
    let mut d = Daemon::start_with(
        &h.ns,
        &dir,
        "d",
        &config(&h.link),
        &Opts {
            journal: true,
            ..Opts::default()
        },
    );
    let mut c = d.client();
    // A warning (a refused request) and an error (a refused reload).
    let _ = c.delete_aggr("nosuch", true);
    std::fs::write(&d.config, "not toml [").unwrap();
    let _ = c.reload();
    drop(c);
    d.signal("TERM");
    assert!(d.wait_exit().success());
    let log = d.log_text();
    let mut seen = std::collections::BTreeSet::new();
    for l in log.lines() {
        let p = l
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .map(|(p, _)| p);
        assert!(
            matches!(p, Some("3" | "4" | "5" | "6" | "7")),
            "line without priority: {l:?}\n{log}"
        );
        seen.insert(p.unwrap_or_default().to_string());
    }
    for p in ["3", "4", "6", "7"] {
        assert!(seen.contains(p), "no <{p}> line:\n{log}");
    }
    assert!(
        log.lines()
            .any(|l| l.starts_with("<3>") && l.contains("reload refused")),
        "{log}"
    );
    assert!(
        !log.contains("Z  INFO") && !log.contains("\u{1b}["),
        "timestamps or colours in journal form:\n{log}"
    );
}

#[test]
fn a_fatal_error_is_printed_once() {
    if !root_or_skip("a_fatal_error_is_printed_once") {
        return;
    }
    let h = host("sdf");
    let dir = TempDir::new("sdf");
    // An invalid value: exit 2.
    let mut d = Daemon::start(
        &h.ns,
        &dir,
        "bad",
        &lacp_config(std::slice::from_ref(&h.link), "policy = \"L9\""),
    );
    let st = d.wait_exit();
    let log = d.log_text();
    assert_eq!(st.code(), Some(2), "exit {st}; log:\n{log}");
    assert_eq!(log.lines().filter(|l| l.contains("L9")).count(), 1, "{log}");
    // A start-up failure (the aggregate's name is taken): exit 1, said once.
    let mut d = Daemon::start(
        &h.ns,
        &dir,
        "taken",
        &format!("[[aggregation]]\nname = \"lo\"\nlinks = [\"{}\"]\n", h.link),
    );
    let st = d.wait_exit();
    let log = d.log_text();
    assert_eq!(st.code(), Some(1), "exit {st}; log:\n{log}");
    assert_eq!(
        log.lines().filter(|l| l.contains("already exists")).count(),
        1,
        "{log}"
    );
}

#[test]
fn check_config_validates_without_touching_anything() {
    if !root_or_skip("check_config_validates_without_touching_anything") {
        return;
    }
    let h = host("sdc");
    let dir = TempDir::new("sdc");
    let before = snapshot(&h.ns, &h.link);
    let check = |text: &str| {
        let f = dir.path("check.toml");
        std::fs::write(&f, text).unwrap();
        // No capability at all: validation needs none.
        let out = Command::new("ip")
            .args(["netns", "exec", &h.ns])
            .args(["setpriv", "--bounding-set", "-all", "--inh-caps", "-all"])
            .arg(env!("CARGO_BIN_EXE_lagd"))
            .arg("--check-config")
            .arg(&f)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = check(&config(&h.link));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("valid: 1 aggregation (lag0)"), "{out}");
    println!("valid file: {}", out.trim());
    let (code, _, err) = check(&lacp_config(std::slice::from_ref(&h.link), "bogus = 1"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bogus"), "{err}");
    println!("invalid file: {}", err.trim());
    let (code, out, err) = check(&config("nosuch0"));
    assert_eq!(
        code,
        Some(0),
        "a link that may appear later is not an error: {err}"
    );
    assert!(err.contains("`nosuch0`") && out.contains("valid"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_lagd"))
        .arg("--check-config")
        .arg(dir.path("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !link_exists(&h.ns, AGGR),
        "--check-config created the aggregate"
    );
    assert_eq!(
        before,
        snapshot(&h.ns, &h.link),
        "--check-config changed the member"
    );
}
