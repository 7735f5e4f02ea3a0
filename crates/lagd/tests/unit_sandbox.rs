//! lagd under exactly what its systemd unit (`dist/lagd.service`) grants, applied by hand
//! (PID 1 is not systemd on the test machines; `common::unit`): the unit's capability set by
//! `setpriv`, its `SystemCallFilter=` (systemd's groups, expanded), `RestrictAddressFamilies=`,
//! `RestrictNamespaces=` and `MemoryDenyWriteExecute=` by seccomp filters built as systemd
//! builds them.
//!
//! - Two unlike members (one up with IPv6 addresses, one down with MTU 1400 and allmulticast)
//!   are taken over, their speed and duplex read, and on SIGTERM they are restored exactly;
//!   exit status 0.
//! - A restore that fails (here: `/proc/sys` made read-only under the running daemon, as
//!   `ProtectKernelTunables=yes` would) is an error in the log and in the exit status, never
//!   "members restored".
//! - The kernel fast path (`offload = true`) loads, attaches and carries TCP traffic.
//! - A Distributed Trunking pair forms, with its peer-link egress filters (eBPF) attached.
//!
//! `scripts/deb.sh --test` runs these tests once more against the installed Debian package
//! (`LAGD_TEST_BIN=/usr/sbin/lagd`, `LAGD_TEST_UNIT=` the installed unit).
//!
//! Needs root (skipped otherwise, failed when `CI` is set) and python3-seccomp
//! (`scripts/test-all.sh` installs it).

mod common;
mod dt_fabric;

use std::time::{Duration, Instant};

use common::unit::*;
use common::*;
use lagd_dataplane::netns;

#[test]
fn unit_grants_are_parsed_and_each_explained() {
    let caps = unit_capabilities();
    for c in ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_BPF"] {
        assert!(caps.iter().any(|x| x == c), "{c} not granted: {caps:?}");
    }
    assert!(
        !caps.iter().any(|x| x == "CAP_SYS_ADMIN"),
        "CAP_SYS_ADMIN granted"
    );
    assert_eq!(
        unit_values("AmbientCapabilities").join(" "),
        unit_values("CapabilityBoundingSet").join(" "),
        "ambient and bounding sets differ"
    );
    // Every capability and every syscall group the unit names is explained in a comment.
    let text = std::fs::read_to_string(unit_path()).unwrap();
    let comments: String = text
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut named: Vec<String> = caps.clone();
    for v in unit_values("SystemCallFilter") {
        named.extend(
            v.trim_start_matches('~')
                .split_whitespace()
                .map(str::to_string),
        );
    }
    for n in &named {
        assert!(comments.contains(n.as_str()), "no comment explains {n}");
    }
    let allow = unit_syscall_allow_list().expect("the unit filters syscalls");
    for s in [
        "bpf",
        "socket",
        "ioctl",
        "sendmmsg",
        "recvmmsg",
        "epoll_wait",
    ] {
        assert!(allow.contains(s), "{s} not allowed");
    }
    for s in [
        "setuid",
        "reboot",
        "init_module",
        "sched_setaffinity",
        "mount",
    ] {
        assert!(!allow.contains(s), "{s} allowed");
    }
}

/// Everything lagd changes on a member, with the addresses (kernel-made and permanent).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Full {
    link: IfSnapshot,
    addresses: Vec<String>,
}

fn full_snapshot(ns: &str, dev: &str) -> Full {
    let out = netns::ns_cmd(ns, &["ip", "-j", "addr", "show", "dev", dev]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut addresses: Vec<String> = v[0]["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} {}/{} scope {}",
                        x["family"].as_str().unwrap_or(""),
                        x["local"].as_str().unwrap_or(""),
                        x["prefixlen"],
                        x["scope"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    addresses.sort();
    Full {
        link: snapshot(ns, dev),
        addresses,
    }
}

/// Waits (bounded) until the snapshots of `devs` equal `want` (a re-enabled IPv6 brings its
/// link-local address back a moment later); the last snapshots.
fn settle(ns: &str, devs: &[&str], want: &[Full]) -> Vec<Full> {
    let start = Instant::now();
    loop {
        let now: Vec<Full> = devs.iter().map(|d| full_snapshot(ns, d)).collect();
        if now == want || start.elapsed() > Duration::from_secs(10) {
            return now;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two unlike members in namespace `h` (their peers in `p`): `m1` up with IPv6 (link-local and
/// a global address), `m2` down with MTU 1400 and allmulticast. Returns their names.
fn unlike_members(net: &mut netns::TestNet, h: &str, p: &str) -> (String, String) {
    let (m1, p1) = net.veth("us", Some(h), Some(p)).unwrap();
    let (m2, _p2) = net.veth("us", Some(h), Some(p)).unwrap();
    net.exec(p, &["ip", "link", "set", &p1, "up"]).unwrap();
    net.exec(h, &["ip", "link", "set", &m1, "up"]).unwrap();
    net.exec(
        h,
        &["ip", "addr", "add", "2001:2::51/64", "dev", &m1, "nodad"],
    )
    .unwrap();
    net.exec(h, &["ip", "link", "set", &m2, "mtu", "1400"])
        .unwrap();
    net.exec(h, &["ip", "link", "set", &m2, "allmulticast", "on"])
        .unwrap();
    // Wait for the kernel's link-local address on m1, so "before" is complete.
    let start = Instant::now();
    while !full_snapshot(h, &m1)
        .addresses
        .iter()
        .any(|a| a.contains("fe80::"))
    {
        assert!(start.elapsed() < PATIENCE, "no link-local address on {m1}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (m1, m2)
}

fn config(m1: &str, m2: &str) -> String {
    aggr_config(
        &[m1.to_string(), m2.to_string()],
        "mode = \"lacp\"\nlacp = \"active\"\ntimer = \"short\"\nforce = true",
    )
}

#[test]
fn restore_exact_under_unit_sandbox() {
    if !root_or_skip("restore_exact_under_unit_sandbox") {
        return;
    }
    let mut net = netns::TestNet::new();
    let h = net.netns("usH").unwrap();
    let p = net.netns("usP").unwrap();
    let (m1, m2) = unlike_members(&mut net, &h, &p);
    let devs = [m1.as_str(), m2.as_str()];
    let before: Vec<Full> = devs.iter().map(|d| full_snapshot(&h, d)).collect();
    let dir = TempDir::new("usR");
    let mut d = Daemon::start_wrapped(&h, &dir, "h", &config(&m1, &m2), &sandbox(&dir.0));
    let mut c = d.client();
    // Speed and duplex by ethtool (a veth says 10000 Mb/s, full duplex) for the member with
    // carrier.
    let st = wait_for(
        &mut d,
        &mut c,
        AGGR,
        "both members taken, m1's speed read",
        |s| {
            s.members.len() == 2
                && s.members
                    .iter()
                    .any(|m| m.name == m1 && m.speed_mbps == 10_000 && m.full_duplex)
        },
    );
    println!(
        "under the unit: {}",
        st.members
            .iter()
            .map(|m| format!("{} {} Mb/s full={}", m.name, m.speed_mbps, m.full_duplex))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let during: Vec<Full> = devs.iter().map(|d| full_snapshot(&h, d)).collect();
    assert_ne!(before, during, "take-over changed nothing");
    assert!(during[0].link.flags.contains(&"NOARP".to_string()));
    assert_eq!(during[1].link.mtu, 1500);
    assert_eq!(during[0].link.disable_ipv6, "1");
    drop(c);
    d.signal("TERM");
    let st = d.wait_exit();
    let log = d.log_text();
    assert!(st.success(), "lagd exited with {st}; log:\n{log}");
    assert!(
        !log.contains("Operation not permitted") && !log.contains("NOT restored"),
        "log:\n{log}"
    );
    let after = settle(&h, &devs, &before);
    assert_eq!(before, after, "members not restored exactly; log:\n{log}");
}

#[test]
fn failed_restore_is_an_error_and_a_failure_exit() {
    if !root_or_skip("failed_restore_is_an_error_and_a_failure_exit") {
        return;
    }
    let mut net = netns::TestNet::new();
    let h = net.netns("usF").unwrap();
    let p = net.netns("usG").unwrap();
    let (m1, m2) = unlike_members(&mut net, &h, &p);
    let dir = TempDir::new("usF");
    let mut d = Daemon::start_wrapped(&h, &dir, "h", &config(&m1, &m2), &sandbox(&dir.0));
    let mut c = d.client();
    wait_for(&mut d, &mut c, AGGR, "both members taken", |s| {
        s.members.len() == 2
    });
    drop(c);
    // `ip netns exec` gave lagd its own mount namespace: make /proc/sys read-only there.
    let pid = d.child.id().to_string();
    lagd_dataplane::netns::cmd(
        "nsenter",
        &[
            "-t",
            &pid,
            "-m",
            "sh",
            "-c",
            "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys",
        ],
    )
    .unwrap();
    d.signal("TERM");
    let st = d.wait_exit();
    let log = d.log_text();
    assert!(
        !st.success(),
        "a failed restore exited with success; log:\n{log}"
    );
    assert!(log.contains("NOT restored"), "log:\n{log}");
    assert!(log.contains(" ERROR "), "no error-level line; log:\n{log}");
    assert!(
        !log.contains("aggregation stopped, members restored"),
        "claims the members were restored; log:\n{log}"
    );
}

#[test]
fn offload_carries_traffic_under_unit_sandbox() {
    if !root_or_skip("offload_carries_traffic_under_unit_sandbox") {
        return;
    }
    let mut net = netns::TestNet::new();
    let a = net.netns("usoA").unwrap();
    let b = net.netns("usoB").unwrap();
    let mut la = Vec::new();
    let mut lb = Vec::new();
    for _ in 0..2 {
        let (x, y) = net.veth("uo", Some(&a), Some(&b)).unwrap();
        la.push(x);
        lb.push(y);
    }
    let before: Vec<IfSnapshot> = la.iter().map(|d| snapshot(&a, d)).collect();
    let dir = TempDir::new("usO");
    let cfg = |l: &[String]| lacp_config(l, "offload = true");
    let mut da = Daemon::start_wrapped(&a, &dir, "a", &cfg(&la), &sandbox(&dir.0));
    let mut db = Daemon::start(&b, &dir, "b", &cfg(&lb));
    let mut ca = da.client();
    let mut cb = db.client();
    wait_both_forwarding((&mut da, &mut ca), (&mut db, &mut cb), 2);
    address_aggregates(&net, &a, &b);
    let (sent, got) = tcp_flows(&a, &b, [198, 18, 0, 2], 5701, 4, 2.0, None);
    assert!(
        sent.all_ok() && got.all_intact(),
        "{sent:?}\n{got:?}\nlog A:\n{}",
        da.log_text()
    );
    // The counters are harvested periodically: wait (bounded) for the kernel's share to show.
    let start = Instant::now();
    let off = loop {
        let s = ca.show_aggr(Some(AGGR)).unwrap().remove(0);
        let o = s.offload.clone();
        if o.as_ref().is_some_and(|o| o.frames > 0) || start.elapsed() > PATIENCE {
            break o;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = da.log_text();
    let off = off.unwrap_or_else(|| panic!("no kernel fast path under the unit; log:\n{log}"));
    println!(
        "under the unit: kernel fast path {}/{} buckets, {} frames, {} bytes; {} bytes of TCP delivered",
        off.fast_buckets,
        off.buckets,
        off.frames,
        off.bytes,
        got.total_bytes()
    );
    assert!(off.fast_buckets > 0 && off.frames > 0, "log:\n{log}");
    assert!(!log.contains("cannot load"), "log:\n{log}");
    drop(ca);
    drop(cb);
    da.signal("TERM");
    let st = da.wait_exit();
    assert!(st.success(), "A exited with {st}; log:\n{}", da.log_text());
    let after: Vec<IfSnapshot> = la.iter().map(|d| snapshot(&a, d)).collect();
    assert_eq!(before, after, "members not restored");
}

#[test]
fn dt_pair_forms_under_unit_sandbox() {
    if !root_or_skip("dt_pair_forms_under_unit_sandbox") {
        return;
    }
    let dir = TempDir::new("usD");
    let mut f = dt_fabric::Fabric::with_switch_wrapper("usd", 1, &sandbox(&dir.0));
    f.wait_formed();
    f.wait(
        "DT up with peer-link egress filters on trk1 and trk2 at both switches",
        |f| {
            (0..2).all(|i| {
                let v = f.dt(i);
                v["status"]["state"] == "up"
                    && v["peer_filter"]["mode"] == "egress filter"
                    && ["trk1", "trk2"].iter().all(|n| {
                        v["peer_filter"]["filtered"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|e| e[0] == *n)
                    })
            })
        },
    );
    let (a, b) = (f.dt(0), f.dt(1));
    assert_eq!(a["status"]["role"], "primary");
    assert_eq!(b["status"]["role"], "secondary");
    println!(
        "under the unit: DT {} / {}, peer filter {} / {}",
        a["status"]["role"], b["status"]["role"], a["peer_filter"], b["peer_filter"]
    );
    for i in 0..2 {
        let mut d = f.sw[i].take().unwrap();
        d.signal("TERM");
        let st = d.wait_exit();
        assert!(
            st.success(),
            "switch {i} exited with {st}; log:\n{}",
            d.log_text()
        );
    }
}
