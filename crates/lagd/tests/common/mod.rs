//! Helpers for the namespace integration tests: a running `lagd` in a network namespace, and
//! snapshots of member interfaces.
#![allow(dead_code)]

pub mod unit;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lagd::client::Client;
use lagd::control::proto::{AggrStatus, LinkStats};
use lagd_dataplane::netns;
#[allow(unused_imports)] // each test binary uses a part of this module
pub use systest::daemon::{Daemon, Opts, PATIENCE, stop_cleanly, wait_for};
#[allow(unused_imports)]
pub use systest::lagd_instance::all_forwarding;
#[allow(unused_imports)]
pub use systest::net::link_flags;
pub use systest::scratch::TempDir;

/// Whether the namespace tests can run here.
pub fn can_run() -> bool {
    if !netns::is_root() {
        eprintln!("skipping: namespace tests need root");
        return false;
    }
    true
}

/// A bpffs of the test's own, mounted at `path` in the test's mount namespace, so that it
/// outlives the lagd processes as `/sys/fs/bpf` does on a host (lagd under `ip netns exec` sees
/// a fresh sysfs, and a bpffs it mounts itself dies with that mount namespace). lagd pins its
/// kernel fast path in `<state dir>/bpffs` when it is a bpffs: mount one there before lagd
/// starts. Unmounted when dropped (drop it before the [`TempDir`] it is in).
pub struct BpfFs(pub PathBuf);

impl BpfFs {
    pub fn mount(path: PathBuf) -> BpfFs {
        lagd_dataplane::pin::mount_bpffs(&path).expect("mounting a bpffs");
        assert!(lagd_dataplane::pin::is_bpffs(&path));
        BpfFs(path)
    }

    /// Everything pinned in it (paths relative to its root, directories too; not the
    /// kernel's own `maps.debug` and `progs.debug`), sorted.
    pub fn contents(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                out.push(p.strip_prefix(root).unwrap().display().to_string());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(root, &p, out);
                }
            }
        }
        let mut v = Vec::new();
        walk(&self.0, &self.0, &mut v);
        v.retain(|p| !matches!(p.as_str(), "maps.debug" | "progs.debug"));
        v.sort();
        v
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        let c = std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string; unmounting the test's own mount.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The lagd binary the tests run: this build's, or the one named by `LAGD_TEST_BIN` (e.g. the
/// installed `/usr/sbin/lagd`, when `scripts/deb.sh --test` runs the tests against the package).
pub fn lagd_bin() -> std::path::PathBuf {
    std::env::var_os("LAGD_TEST_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_lagd").into())
}

/// How lagd's tests start a [`Daemon`]: [`lagd_bin`] on `dir/<tag>.toml` written from
/// `config_text`, not waiting for it.
pub trait Start {
    /// Starts `lagd` in namespace `ns` with `config_text` written to `dir/<tag>.toml`.
    fn start(ns: &str, dir: &TempDir, tag: &str, config_text: &str) -> Daemon {
        Self::start_with(ns, dir, tag, config_text, &Opts::default())
    }

    /// [`Start::start`] with `lagd` run by `wrapper` (e.g. `setpriv ...`: the command line
    /// is `ip netns exec NS WRAPPER... lagd ARGS...`).
    fn start_wrapped(
        ns: &str,
        dir: &TempDir,
        tag: &str,
        config_text: &str,
        wrapper: &[String],
    ) -> Daemon {
        Self::start_with(
            ns,
            dir,
            tag,
            config_text,
            &Opts {
                wrapper: wrapper.to_vec(),
                ..Opts::default()
            },
        )
    }

    /// [`Start::start`] with extra command-line arguments (e.g. `--state-dir DIR`).
    fn start_args(ns: &str, dir: &TempDir, tag: &str, config_text: &str, extra: &[&str]) -> Daemon {
        Self::start_with(
            ns,
            dir,
            tag,
            config_text,
            &Opts {
                args: extra.iter().map(|a| a.to_string()).collect(),
                ..Opts::default()
            },
        )
    }

    /// [`Start::start`] with [`Opts`].
    fn start_with(ns: &str, dir: &TempDir, tag: &str, config_text: &str, o: &Opts) -> Daemon {
        Daemon::spawn(&lagd_bin(), ns, &dir.0, tag, Some(config_text), o)
    }
}

impl Start for Daemon {}

/// Waits (bounded) until every one of `members` members of [`AGGR`] forwards on both daemons.
pub fn wait_both_forwarding(
    (da, ca): (&mut Daemon, &mut Client),
    (db, cb): (&mut Daemon, &mut Client),
    members: usize,
) -> (AggrStatus, AggrStatus) {
    let sa = wait_for(da, ca, AGGR, "A forwarding", |s| all_forwarding(s, members));
    let sb = wait_for(db, cb, AGGR, "B forwarding", |s| all_forwarding(s, members));
    (sa, sb)
}

/// What lagd changes on a member and must put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfSnapshot {
    pub flags: Vec<String>,
    pub mtu: u64,
    pub arp_ignore: String,
    pub rp_filter: String,
    pub disable_ipv6: String,
    /// `ip link set dev X alias TEXT`.
    pub alias: Option<String>,
}

/// Reads the snapshot of `dev` in `ns`.
pub fn snapshot(ns: &str, dev: &str) -> IfSnapshot {
    let out = netns::ns_cmd(ns, &["ip", "-j", "link", "show", "dev", dev]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let l = &v[0];
    let flags = link_flags(l);
    let sysctl = |p: String| {
        netns::ns_cmd(ns, &["cat", &p])
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    IfSnapshot {
        flags,
        mtu: l["mtu"].as_u64().unwrap(),
        arp_ignore: sysctl(format!("/proc/sys/net/ipv4/conf/{dev}/arp_ignore")),
        rp_filter: sysctl(format!("/proc/sys/net/ipv4/conf/{dev}/rp_filter")),
        disable_ipv6: sysctl(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6")),
        alias: l["ifalias"].as_str().map(str::to_string),
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

// ---------------------------------------------------------------------------------------------
// Shared by the `ns_*` suites: root check, two hosts with a lagd each, traffic, counters.

/// Whether a namespace test can run: root. Otherwise prints "skipped: ..." and returns false,
/// except when the environment variable `CI` is set: then the test fails.
pub fn root_or_skip(test: &str) -> bool {
    if netns::is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: namespace tests need root, and CI is set"
    );
    eprintln!("skipped: {test}: namespace tests need root");
    false
}

/// Address of host A's aggregate.
pub const ADDR_A: &str = "198.18.0.1";
/// Address of host B's aggregate.
pub const ADDR_B: &str = "198.18.0.2";
/// The aggregate's name on both hosts.
pub const AGGR: &str = "lag0";

/// An `[[aggregation]]` named [`AGGR`] of `links`, with `extra` TOML lines (mode, policy...).
pub fn aggr_config(links: &[String], extra: &str) -> String {
    let list: Vec<String> = links.iter().map(|l| format!("\"{l}\"")).collect();
    format!(
        "[[aggregation]]\nname = \"{AGGR}\"\nlinks = [{}]\n{extra}\n",
        list.join(", ")
    )
}

/// LACP, active, short timers (plus `extra`).
pub fn lacp_config(links: &[String], extra: &str) -> String {
    aggr_config(
        links,
        &format!("mode = \"lacp\"\nlacp = \"active\"\ntimer = \"short\"\n{extra}"),
    )
}

/// [`lacp_config`] where A does not rebalance (so that a stream stays on the link found for
/// it), as a `config` for [`Hosts::start`].
pub fn lacp_a_without_rebalance(side: char, links: &[String]) -> String {
    lacp_config(
        links,
        if side == 'a' {
            "rebalance_interval = \"off\""
        } else {
            ""
        },
    )
}

/// Puts [`ADDR_A`]/24 on the aggregate in `a` and [`ADDR_B`]/24 on the one in `b`.
pub fn address_aggregates(net: &netns::TestNet, a: &str, b: &str) {
    for (ns, addr) in [(a, ADDR_A), (b, ADDR_B)] {
        net.exec(
            ns,
            &["ip", "addr", "add", &format!("{addr}/24"), "dev", AGGR],
        )
        .unwrap();
    }
}

/// `GET /metrics` from `127.0.0.1:port` inside namespace `ns` (the outer error: the namespace
/// could not be entered).
pub fn scrape_metrics(ns: &str, port: u16) -> lagd_dataplane::Result<std::io::Result<String>> {
    use std::io::{Read, Write};
    netns::run_in(ns, move || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(PATIENCE))?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: lagd\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })
}

/// `lagctl`, built next to `lagd` by `cargo build --workspace`.
pub fn lagctl_beside_lagd() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_lagd")).with_file_name("lagctl");
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

/// A packet socket on `ifindex` for flooding it with raw frames (outgoing only, `sndbuf` bytes
/// of send buffer).
pub fn flood_socket(ifindex: u32, sndbuf: usize) -> lagd_dataplane::PacketSocket {
    let opts = lagd_dataplane::PacketOptions {
        vnet_hdr: false,
        promisc: false,
        slow_protocols: false,
        ignore_outgoing: true,
        rcvbuf: 0,
        sndbuf,
    };
    lagd_dataplane::PacketSocket::open(ifindex, &opts).unwrap()
}

/// The `[dt]` section of a switch of DT domain `domain_id` (role priority `prio`, peer link
/// `pl`, keepalive link `ka`, bridge `br0`, fast timers, `init_delay`), ending in a newline.
pub fn dt_section(domain_id: u16, prio: u16, pl: &str, ka: &str, init_delay: &str) -> String {
    format!(
        r#"[dt]
domain_id = {domain_id}
role_priority = {prio}
peer_link = "{pl}"
keepalive = "{ka}"
bridge = "br0"
tx_interval = "200ms"
peer_timeout = "1s"
keepalive_interval = "200ms"
keepalive_timeout = "1s"
init_delay = "{init_delay}"
"#
    )
}

/// The interface indexes of the two ends of each link of [`Hosts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ifindex {
    /// A's end has another index than B's: the kernel notifies a carrier change of either at
    /// once (linkwatch deems it urgent, `ifindex != iflink`).
    Distinct,
    /// Both ends have the same index (two fresh namespaces): like a physical NIC
    /// (`ifindex == iflink`), a carrier loss is notified by the kernel's linkwatch at most once
    /// a second, up to 1 s late.
    SameAsPeer,
}

/// Two hosts (namespaces A and B) joined by veth links, a lagd on each. Fields drop in order:
/// clients, daemons (killed if running), scratch directory, then the namespaces.
pub struct Hosts {
    pub ca: Client,
    pub cb: Client,
    pub da: Daemon,
    pub db: Daemon,
    pub dir: TempDir,
    /// A's member names (link i of A is joined to link i of B).
    pub links_a: Vec<String>,
    /// B's member names.
    pub links_b: Vec<String>,
    pub a: String,
    pub b: String,
    pub net: netns::TestNet,
}

impl Hosts {
    /// Builds `n` links and starts lagd on both sides with the configuration `config` makes of
    /// each side's member names (`side` is 'a' or 'b').
    pub fn start(tag: &str, n: usize, config: impl Fn(char, &[String]) -> String) -> Hosts {
        Hosts::start_env(tag, n, &[], config)
    }

    /// As [`Hosts::start`], both lagd with environment variables added (e.g.
    /// `LAGD_BPF_ATTACH`).
    pub fn start_env(
        tag: &str,
        n: usize,
        env: &[(&str, &str)],
        config: impl Fn(char, &[String]) -> String,
    ) -> Hosts {
        Hosts::start_links(tag, n, env, Ifindex::Distinct, config)
    }

    /// As [`Hosts::start_env`], each link's two ends with interface indexes as `ifindex` says.
    pub fn start_links(
        tag: &str,
        n: usize,
        env: &[(&str, &str)],
        ifindex: Ifindex,
        config: impl Fn(char, &[String]) -> String,
    ) -> Hosts {
        let mut net = netns::TestNet::new();
        let a = net.netns(&format!("{tag}A")).unwrap();
        let b = net.netns(&format!("{tag}B")).unwrap();
        let mut links_a = Vec::new();
        let mut links_b = Vec::new();
        for i in 0..n {
            let a_index = match ifindex {
                // B's ends get 2, 3, ... in B: A's from 1000 never equal their peer's.
                Ifindex::Distinct => Some(1000 + i as u32),
                Ifindex::SameAsPeer => None,
            };
            let (x, y) = net.veth_at("ns", Some(&a), Some(&b), a_index).unwrap();
            links_a.push(x);
            links_b.push(y);
        }
        let dir = TempDir::new(tag);
        let opts = Opts::with_env(env);
        let mut da = Daemon::start_with(&a, &dir, "a", &config('a', &links_a), &opts);
        let mut db = Daemon::start_with(&b, &dir, "b", &config('b', &links_b), &opts);
        let ca = da.client();
        let cb = db.client();
        Hosts {
            ca,
            cb,
            da,
            db,
            dir,
            links_a,
            links_b,
            a,
            b,
            net,
        }
    }

    /// Waits until every member of both sides is Collecting and Distributing.
    pub fn wait_forwarding(&mut self) -> (AggrStatus, AggrStatus) {
        let n = self.links_a.len();
        wait_both_forwarding(
            (&mut self.da, &mut self.ca),
            (&mut self.db, &mut self.cb),
            n,
        )
    }

    /// Puts [`ADDR_A`]/24 and [`ADDR_B`]/24 on the aggregates and checks a ping A → B.
    pub fn address(&self) {
        address_aggregates(&self.net, &self.a, &self.b);
        assert!(
            ping(&self.a, ADDR_B, &[]),
            "A -> B ping failed; log A:\n{}\nlog B:\n{}",
            self.da.log_text(),
            self.db.log_text()
        );
    }

    /// A's `ShowLink` counters.
    pub fn links_of_a(&mut self) -> Vec<LinkStats> {
        self.ca.show_link(Some(AGGR)).unwrap()
    }

    /// B's `ShowLink` counters.
    pub fn links_of_b(&mut self) -> Vec<LinkStats> {
        self.cb.show_link(Some(AGGR)).unwrap()
    }

    /// A's status.
    pub fn status_a(&mut self) -> AggrStatus {
        self.ca
            .show_aggr(Some(AGGR))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    }

    /// Sets link `i` down or up on B's end (both ends lose or regain carrier).
    pub fn set_b_link(&self, i: usize, up: bool) {
        self.net
            .exec(
                &self.b,
                &[
                    "ip",
                    "link",
                    "set",
                    &self.links_b[i],
                    if up { "up" } else { "down" },
                ],
            )
            .unwrap();
    }
}

/// Per-member deltas of a counter between two `ShowLink` snapshots, in `names` order.
pub fn deltas(
    names: &[String],
    before: &[LinkStats],
    after: &[LinkStats],
    f: fn(&LinkStats) -> u64,
) -> Vec<u64> {
    let get = |s: &[LinkStats], n: &str| {
        s.iter()
            .find(|l| l.kind == "member" && l.name == n)
            .map_or(0, f)
    };
    names
        .iter()
        .map(|n| get(after, n).saturating_sub(get(before, n)))
        .collect()
}

/// Index (among A's members) of the link carrying the stream started just before: the member
/// whose opackets grew the most over `window`, when nothing else runs.
pub fn stream_link(h: &mut Hosts, on_b: bool, window: Duration) -> (usize, u64) {
    let (names, l0) = if on_b {
        (h.links_b.clone(), h.links_of_b())
    } else {
        (h.links_a.clone(), h.links_of_a())
    };
    std::thread::sleep(window);
    let l1 = if on_b { h.links_of_b() } else { h.links_of_a() };
    let d = deltas(&names, &l0, &l1, |l| l.opackets);
    let i = argmax(&d);
    (i, d[i])
}

/// Index of the largest value.
pub fn argmax(v: &[u64]) -> usize {
    v.iter()
        .enumerate()
        .max_by_key(|(i, x)| (**x, usize::MAX - *i))
        .map_or(0, |(i, _)| i)
}

/// Opens `dst:port` TCP flows from `from` to a sink in `to` for `secs`, `flows` at once, each
/// limited to `rate` bytes/s; returns (sender report, sink report) after both ended.
pub fn tcp_flows(
    from: &str,
    to: &str,
    dst: [u8; 4],
    port: u16,
    flows: u32,
    secs: f64,
    rate: Option<u64>,
) -> (lagd_trafgen::TcpFlowsReport, lagd_trafgen::TcpSinkReport) {
    let (tx, rx) = start_tcp(from, to, dst, port, flows, secs, rate);
    let sent = tx.join().unwrap();
    let got = rx.join().unwrap();
    (sent, got)
}

/// Starts TCP flows as [`tcp_flows`] does, without waiting.
pub fn start_tcp(
    from: &str,
    to: &str,
    dst: [u8; 4],
    port: u16,
    flows: u32,
    secs: f64,
    rate: Option<u64>,
) -> (lagd_trafgen::TcpFlows, lagd_trafgen::TcpSink) {
    use lagd_trafgen::{TcpFlows, TcpFlowsConfig, TcpSink, TcpSinkConfig};
    let addr = std::net::SocketAddr::from((dst, port));
    let mut sc = TcpSinkConfig::new(
        addr,
        flows as usize,
        Duration::from_secs_f64(secs) + Duration::from_secs(30),
    );
    sc.netns = Some(to.to_string());
    let sink = TcpSink::spawn(sc).unwrap();
    let mut fc = TcpFlowsConfig::new(addr, flows, Duration::from_secs_f64(secs));
    fc.netns = Some(from.to_string());
    fc.rate_limit_bps = rate;
    let tx = TcpFlows::spawn(fc).unwrap();
    (tx, sink)
}

/// A sequence-numbered UDP stream from `from` to `dst:port` in `to`.
pub struct Udp {
    pub rx: lagd_trafgen::UdpReceiver,
    pub tx: lagd_trafgen::UdpSender,
}

impl Udp {
    /// Starts `count` datagrams at `pps` (to an IPv4 or IPv6 `dst`).
    pub fn start(
        from: &str,
        to: &str,
        dst: impl Into<std::net::IpAddr>,
        port: u16,
        pps: u32,
        count: u64,
    ) -> Udp {
        use lagd_trafgen::{UdpReceiver, UdpReceiverConfig, UdpSender, UdpSenderConfig};
        let addr = std::net::SocketAddr::from((dst.into(), port));
        let secs = count as f64 / f64::from(pps);
        let mut rc = UdpReceiverConfig::new(addr, Duration::from_secs_f64(secs + 60.0));
        rc.netns = Some(to.to_string());
        rc.idle_timeout = Duration::from_secs(20);
        rc.linger = Duration::from_millis(500);
        let rx = UdpReceiver::spawn(rc).unwrap();
        let mut sc = UdpSenderConfig::new(addr, pps, count);
        sc.netns = Some(from.to_string());
        sc.max_duration = Duration::from_secs_f64(secs * 2.0 + 30.0);
        let tx = UdpSender::spawn(sc).unwrap();
        Udp { rx, tx }
    }

    /// Waits for the end of the stream.
    pub fn finish(self) -> (lagd_trafgen::SendReport, lagd_trafgen::StreamReport) {
        let sent = self.tx.join().unwrap();
        let got = self.rx.join().unwrap();
        (sent, got)
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS`).
pub fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A member's LACP counter (from `ShowAggr`'s `counters`).
pub fn member_counter(a: &AggrStatus, member: &str, counter: &str) -> u64 {
    a.members
        .iter()
        .find(|m| m.name == member)
        .and_then(|m| m.counters.get(counter))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}
