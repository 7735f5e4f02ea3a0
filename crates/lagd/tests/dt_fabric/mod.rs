//! A Distributed Trunking fabric in network namespaces: two switches (lagd + a Linux bridge),
//! joined by a peer link and a keepalive veth; a server whose 4-link LACP aggregation has 2
//! links to each switch; an upstream host with one link to each switch. Addresses from
//! 198.18.0.0/15. Everything is removed on drop.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lagd::client::Client;
use lagd::control::proto::{AggrStatus, Reply, Request};
use lagd_dataplane::netns::TestNet;
use lagd_types::MacAddr;

use crate::common::{Daemon, PATIENCE, Start, TempDir, dt_section};

pub mod wire;

/// The shared LACP system MAC of the server's DT aggregation.
pub const SHARED_SRV: &str = "02:d7:00:00:00:01";
/// The server's address.
pub const SRV_IP: &str = "198.18.0.1";
/// The upstream host's address.
pub const UP_IP: &str = "198.18.0.2";

pub struct Fabric {
    pub net: TestNet,
    pub dir: TempDir,
    pub ns_srv: String,
    pub ns_up: String,
    pub ns_sw: [String; 2],
    pub srv: Daemon,
    pub up: Daemon,
    pub sw: [Option<Daemon>; 2],
    /// Every interface of each switch namespace (members, peer link, keepalive).
    pub sw_links: [Vec<String>; 2],
    /// Each switch's two server-facing links.
    pub sw_srv: [Vec<String>; 2],
    pub peer_link: [String; 2],
    pub keepalive: [String; 2],
    /// Each switch's configuration text.
    pub sw_config: [String; 2],
}

fn switch_config(
    prio: u16,
    pl: &str,
    ka: &str,
    srv_links: &[String],
    up_link: &str,
    srv_key: u16,
    (dt_extra, aggr_extra): (&str, &str),
) -> String {
    let dt = dt_section(7, prio, pl, ka, "2s");
    format!(
        r#"{dt}{dt_extra}

[[aggregation]]
name = "trk1"
links = ["{}", "{}"]
distributed = true
mac = "{SHARED_SRV}"
system_priority = 256
key = {srv_key}
dt_id = 1
{aggr_extra}

[[aggregation]]
name = "trk2"
links = ["{up_link}"]
distributed = true
mac = "02:d7:00:00:00:02"
system_priority = 256
key = 2
dt_id = 2
{aggr_extra}
"#,
        srv_links[0], srv_links[1]
    )
}

fn host_config(links: &[String]) -> String {
    let quoted: Vec<String> = links.iter().map(|l| format!("\"{l}\"")).collect();
    format!(
        r#"[[aggregation]]
name = "bond0"
links = [{}]
mode = "lacp"
timer = "short"
"#,
        quoted.join(", ")
    )
}

impl Fabric {
    /// Builds the fabric; `b_srv_key` is switch B's key of the server aggregation (1 = same as
    /// A's; anything else is a configuration mismatch).
    pub fn new(tag: &str, b_srv_key: u16) -> Fabric {
        Fabric::with_switch_wrapper(tag, b_srv_key, &[])
    }

    /// [`Fabric::new`] with both switches' lagd run by `wrapper` (e.g. the unit's sandbox).
    pub fn with_switch_wrapper(tag: &str, b_srv_key: u16, wrapper: &[String]) -> Fabric {
        Fabric::with_dt_extra(tag, b_srv_key, wrapper, "", &[])
    }

    /// [`Fabric::with_switch_wrapper`] with `dt_extra` (lines of the `[dt]` table, e.g.
    /// `key_file` or `mac_sync_limit`) added to both switches' configuration, and `files`
    /// (name, text) written with mode 0600 into the fabric's directory first; `{dir}` in
    /// `dt_extra` stands for that directory.
    pub fn with_dt_extra(
        tag: &str,
        b_srv_key: u16,
        wrapper: &[String],
        dt_extra: &str,
        files: &[(&str, &str)],
    ) -> Fabric {
        Fabric::build(tag, b_srv_key, wrapper, dt_extra, "", files)
    }

    /// [`Fabric::new`] with `aggr_extra` (lines, e.g. `offload = "off"`) added to both DT
    /// aggregations of both switches.
    pub fn with_aggr_extra(tag: &str, aggr_extra: &str) -> Fabric {
        Fabric::build(tag, 1, &[], "", aggr_extra, &[])
    }

    fn build(
        tag: &str,
        b_srv_key: u16,
        wrapper: &[String],
        dt_extra: &str,
        aggr_extra: &str,
        files: &[(&str, &str)],
    ) -> Fabric {
        let mut net = TestNet::new();
        let ns_srv = net.netns(&format!("{tag}s")).unwrap();
        let ns_up = net.netns(&format!("{tag}u")).unwrap();
        let ns_sw = [
            net.netns(&format!("{tag}a")).unwrap(),
            net.netns(&format!("{tag}b")).unwrap(),
        ];
        // The kernel's linkwatch treats a veth whose ifindex equals its peer's (possible across
        // namespaces, which number from 1 each) like a physical NIC and may hold its carrier
        // change up to a second. Spare pairs shift the switches' numbering so no member pair
        // collides, and the failover gaps measure lagd, not that batching.
        for (i, spares) in [(0usize, 1usize), (1, 2)] {
            for _ in 0..spares {
                net.veth("dtx", Some(&ns_sw[i]), Some(&ns_sw[i])).unwrap();
            }
        }
        let mut srv_links = Vec::new();
        let mut up_links = Vec::new();
        let mut sw_links: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut sw_srv: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut sw_up: [String; 2] = Default::default();
        for i in 0..2 {
            for _ in 0..2 {
                let (s, w) = net.veth("dts", Some(&ns_srv), Some(&ns_sw[i])).unwrap();
                srv_links.push(s);
                sw_srv[i].push(w.clone());
                sw_links[i].push(w);
            }
            let (u, w) = net.veth("dtu", Some(&ns_up), Some(&ns_sw[i])).unwrap();
            up_links.push(u);
            sw_up[i] = w.clone();
            sw_links[i].push(w);
        }
        let (pa, pb) = net.veth("dtp", Some(&ns_sw[0]), Some(&ns_sw[1])).unwrap();
        let (ka, kb) = net.veth("dtk", Some(&ns_sw[0]), Some(&ns_sw[1])).unwrap();
        let peer_link = [pa, pb];
        let keepalive = [ka, kb];
        for i in 0..2 {
            sw_links[i].push(peer_link[i].clone());
            sw_links[i].push(keepalive[i].clone());
            let ns = &ns_sw[i];
            net.exec(ns, &["ip", "link", "add", "br0", "type", "bridge"])
                .unwrap();
            net.exec(ns, &["ip", "link", "set", "br0", "up"]).unwrap();
        }
        let dir = TempDir::new(&format!("lagd{tag}"));
        for (name, text) in files {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.path(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let dt_extra = dt_extra.replace("{dir}", &dir.0.to_string_lossy());
        let sw_config = [
            switch_config(
                100,
                &peer_link[0],
                &keepalive[0],
                &sw_srv[0],
                &sw_up[0],
                1,
                (&dt_extra, aggr_extra),
            ),
            switch_config(
                200,
                &peer_link[1],
                &keepalive[1],
                &sw_srv[1],
                &sw_up[1],
                b_srv_key,
                (&dt_extra, aggr_extra),
            ),
        ];
        let sw = [
            Some(Daemon::start_wrapped(
                &ns_sw[0],
                &dir,
                "swa",
                &sw_config[0],
                wrapper,
            )),
            Some(Daemon::start_wrapped(
                &ns_sw[1],
                &dir,
                "swb",
                &sw_config[1],
                wrapper,
            )),
        ];
        let srv = Daemon::start(&ns_srv, &dir, "srv", &host_config(&srv_links));
        let up = Daemon::start(&ns_up, &dir, "up", &host_config(&up_links));
        let mut f = Fabric {
            net,
            dir,
            ns_srv,
            ns_up,
            ns_sw,
            srv,
            up,
            sw,
            sw_links,
            sw_srv,
            peer_link,
            keepalive,
            sw_config,
        };
        // Wait for the host TAPs, then address them.
        let _ = f.srv.client();
        let _ = f.up.client();
        f.net
            .exec(
                &f.ns_srv,
                &["ip", "addr", "add", "198.18.0.1/24", "dev", "bond0"],
            )
            .unwrap();
        f.net
            .exec(
                &f.ns_up,
                &["ip", "addr", "add", "198.18.0.2/24", "dev", "bond0"],
            )
            .unwrap();
        f
    }

    /// The server's aggregation status.
    pub fn server(&mut self) -> AggrStatus {
        let mut c = self.srv.client();
        c.show_aggr(Some("bond0")).unwrap().remove(0)
    }

    /// The upstream host's aggregation status.
    pub fn upstream(&mut self) -> AggrStatus {
        let mut c = self.up.client();
        c.show_aggr(Some("bond0")).unwrap().remove(0)
    }

    /// Switch `i`'s DT status (`ShowDt`), as JSON.
    pub fn dt(&mut self, i: usize) -> serde_json::Value {
        let d = self.sw[i].as_mut().expect("switch running");
        let mut c: Client = d.client();
        match c.request(&Request::ShowDt).unwrap() {
            Reply::Dt { status } => status,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Whether the MAC addresses are synced: each switch installed what the other learned on
    /// its DT aggregates (at least two in all).
    pub fn macs_synced(&mut self) -> bool {
        let a = self.dt(0);
        let b = self.dt(1);
        let n = |v: &serde_json::Value, k: &str| v["status"][k].as_u64().unwrap_or(0);
        n(&a, "macs_local") + n(&b, "macs_local") >= 2
            && n(&a, "macs_local") == n(&b, "macs_installed")
            && n(&b, "macs_local") == n(&a, "macs_installed")
    }

    /// Waits (bounded) until `cond` holds; panics with `what` and the logs otherwise.
    pub fn wait(&mut self, what: &str, mut cond: impl FnMut(&mut Fabric) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            if start.elapsed() > PATIENCE {
                let logs: Vec<String> = self.sw.iter().flatten().map(|d| d.log_text()).collect();
                let srv = serde_json::to_string_pretty(&self.server()).unwrap_or_default();
                panic!(
                    "{what}: not reached.\nserver: {srv}\nswitch A log:\n{}\nswitch B log:\n{}",
                    logs.first().map(|s| tail(s)).unwrap_or_default(),
                    logs.get(1).map(|s| tail(s)).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the server and the upstream host forward on every member.
    pub fn wait_formed(&mut self) {
        self.wait("server forwarding on 4 members, upstream on 2", |f| {
            let s = f.server();
            let u = f.upstream();
            all_cd(&s, 4) && all_cd(&u, 2)
        });
    }

    /// Takes all switch `i`'s links down and kills its lagd.
    ///
    /// As a power loss would: every link down at once (one `ip -batch`), then lagd killed. It
    /// once killed lagd first and then set the five links down with one `ip` each: at load 20
    /// that took 3.3 s, during which the frames the server hashed to the dead switch's links
    /// were lost without a gap (1 698 lost, longest gap 1.15 s): the test's own slowness, not
    /// the failover's.
    pub fn kill_switch(&mut self, i: usize) {
        let batch = self.dir.path(&format!("links-down-{i}.batch"));
        let text: String = self.sw_links[i]
            .iter()
            .map(|l| format!("link set {l} down\n"))
            .collect();
        std::fs::write(&batch, text).unwrap();
        let _ = self
            .net
            .exec(&self.ns_sw[i], &["ip", "-batch", &batch.to_string_lossy()]);
        if let Some(mut d) = self.sw[i].take() {
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
    }

    /// Freezes switch `i`'s lagd (SIGSTOP): its links stay up, it sends and answers nothing.
    pub fn freeze_switch(&mut self, i: usize) {
        self.sw[i].as_ref().expect("switch running").signal("STOP");
    }

    /// Resumes a frozen switch `i` (SIGCONT).
    pub fn thaw_switch(&mut self, i: usize) {
        self.sw[i].as_ref().expect("switch running").signal("CONT");
    }

    /// Bridge ports, FDB and link counters of both switches, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for ns in self.ns_sw.iter().chain([&self.ns_srv, &self.ns_up]) {
            for args in [
                &["bridge", "-d", "link"][..],
                &["bridge", "fdb", "show", "br", "br0"][..],
                &["ip", "-s", "-br", "link"][..],
                &["ip", "neigh"][..],
            ] {
                let r = self.net.exec(ns, args).unwrap_or_else(|e| e.to_string());
                out.push_str(&format!("== {ns}: {}\n{r}\n", args.join(" ")));
            }
        }
        out
    }

    /// Brings switch `i` back: its links up, lagd started again with its configuration.
    pub fn revive_switch(&mut self, i: usize) {
        for l in &self.sw_links[i] {
            let _ = self
                .net
                .exec(&self.ns_sw[i], &["ip", "link", "set", l, "up"]);
        }
        let tag = if i == 0 { "swa2" } else { "swb2" };
        let d = Daemon::start(&self.ns_sw[i], &self.dir, tag, &self.sw_config[i]);
        self.sw[i] = Some(d);
    }

    /// Frames switch `i`'s peer-link filter dropped at DT aggregate `aggr`'s egress (0 when no
    /// filter is attached there).
    pub fn peer_filtered(&mut self, i: usize, aggr: &str) -> u64 {
        let v = self.dt(i);
        v["peer_filter"]["filtered"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e[0] == aggr)
            .filter_map(|e| e[1].as_u64())
            .sum()
    }

    /// A single-homed host behind switch `i`: a namespace whose veth's other end is a port of
    /// the switch's bridge (an orphan port: of no DT aggregation), both ends up, IPv6 off (no
    /// frames of its own until the test sends some). Removed with the fabric.
    pub fn orphan(&mut self, i: usize, tag: &str) -> Orphan {
        let ns = self.net.netns(tag).unwrap();
        let (dev, port) = self
            .net
            .veth("dto", Some(&ns), Some(&self.ns_sw[i]))
            .unwrap();
        for (n, d) in [(&ns, &dev), (&self.ns_sw[i], &port)] {
            self.net
                .exec(
                    n,
                    &[
                        "sysctl",
                        "-qw",
                        &format!("net.ipv6.conf.{d}.disable_ipv6=1"),
                    ],
                )
                .unwrap();
        }
        self.net
            .exec(
                &self.ns_sw[i],
                &["ip", "link", "set", &port, "master", "br0"],
            )
            .unwrap();
        self.net
            .exec(&self.ns_sw[i], &["ip", "link", "set", &port, "up"])
            .unwrap();
        self.net
            .exec(&ns, &["ip", "link", "set", &dev, "up"])
            .unwrap();
        let mac = self.mac_of(&ns, &dev);
        Orphan { ns, dev, port, mac }
    }

    /// The MAC address of interface `dev` of namespace `ns`.
    pub fn mac_of(&self, ns: &str, dev: &str) -> MacAddr {
        let out = self
            .net
            .exec(ns, &["ip", "-j", "link", "show", "dev", dev])
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["address"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no MAC address for {dev}: {out}"))
    }

    /// The ifindex of interface `dev` of switch `i`.
    pub fn ifindex(&self, i: usize, dev: &str) -> u32 {
        let out = self
            .net
            .exec(&self.ns_sw[i], &["ip", "-j", "link", "show", "dev", dev])
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["ifindex"].as_u64().unwrap_or(0) as u32
    }

    /// Switch `i`'s bridge FDB: (MAC, VLAN, port ifindex, installed by lagd), learned and
    /// static entries alike (the bridge's and its ports' own addresses left out).
    pub fn fdb(&self, i: usize) -> BTreeSet<(MacAddr, u16, u32, bool)> {
        lagd_trafgen::netns::run_in(Some(&self.ns_sw[i]), || {
            let mut br = lagd_dataplane::Netlink::open().expect("rtnetlink");
            Ok(br
                .fdb()
                .expect("FDB dump")
                .iter()
                .filter(|e| e.is_learned() || e.is_lagd_static())
                .map(|e| (e.mac, e.vlan, e.ifindex, e.is_lagd_static()))
                .collect())
        })
        .unwrap()
    }

    /// The static, sticky FDB entries (the peer's addresses lagd installed) of switch `i`'s
    /// bridge: (MAC, VLAN, port).
    pub fn lagd_fdb(&self, i: usize) -> BTreeSet<(MacAddr, u16, u32)> {
        self.fdb(i)
            .into_iter()
            .filter(|e| e.3)
            .map(|e| (e.0, e.1, e.2))
            .collect()
    }

    /// Counters (rx packets) of an interface.
    pub fn rx_packets(&self, ns: &str, dev: &str) -> u64 {
        let out = self
            .net
            .exec(ns, &["ip", "-j", "-s", "link", "show", "dev", dev])
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v[0]["stats64"]["rx"]["packets"].as_u64().unwrap_or(0)
    }
}

/// A single-homed host on an orphan port of one switch ([`Fabric::orphan`]).
pub struct Orphan {
    /// Its namespace.
    pub ns: String,
    /// Its interface (in `ns`).
    pub dev: String,
    /// The switch's end of its link (a port of the switch's bridge).
    pub port: String,
    /// The MAC address of `dev`.
    pub mac: MacAddr,
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Up with `n` members, all Collecting and Distributing.
pub fn all_cd(a: &AggrStatus, n: usize) -> bool {
    a.up && a.members.len() == n && a.members.iter().all(|m| m.collecting && m.distributing)
}
