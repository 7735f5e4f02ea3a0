//! lagd under exactly what its systemd unit (`dist/lagd.service`) grants: the capability set
//! read from the unit and applied with `setpriv` (PID 1 is not systemd on the test machines).
//!
//! - Two unlike members (one up with IPv6 addresses, one down with MTU 1400 and allmulticast)
//!   are taken over and, on SIGTERM, restored exactly; exit status 0.
//! - A restore that fails (here: `/proc/sys` made read-only under the running daemon, as
//!   `ProtectKernelTunables=yes` would) is an error in the log and in the exit status, never
//!   "members restored".
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use lagd_dataplane::netns;

/// The unit file shipped with lagd.
fn unit_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dist/lagd.service")
}

/// Every value of `key` in the unit's `[Service]` section, in order.
fn unit_values(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(unit_path()).expect("dist/lagd.service");
    let mut in_service = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            out.push(v.trim().to_string());
        }
    }
    out
}

/// `CAP_NET_ADMIN CAP_NET_RAW` → `-all,+net_admin,+net_raw` (setpriv's syntax).
fn setpriv_caps(values: &[String]) -> String {
    let mut s = String::from("-all");
    for v in values {
        for cap in v.split_whitespace() {
            let c = cap.trim_start_matches("CAP_").to_ascii_lowercase();
            s.push_str(&format!(",+{c}"));
        }
    }
    s
}

/// The `setpriv` command line that gives lagd the unit's capabilities: the bounding set from
/// `CapabilityBoundingSet=`, the ambient (and inheritable) set from `AmbientCapabilities=`,
/// and `--no-new-privs` for `NoNewPrivileges=yes`.
fn unit_wrapper() -> Vec<String> {
    let bounding = unit_values("CapabilityBoundingSet");
    let ambient = unit_values("AmbientCapabilities");
    assert!(
        !bounding.is_empty(),
        "the unit sets no CapabilityBoundingSet"
    );
    let mut w = vec![
        "setpriv".to_string(),
        "--bounding-set".into(),
        setpriv_caps(&bounding),
        "--inh-caps".into(),
        setpriv_caps(&ambient),
        "--ambient-caps".into(),
        setpriv_caps(&ambient),
    ];
    if unit_values("NoNewPrivileges").iter().any(|v| v == "yes") {
        w.push("--no-new-privs".into());
    }
    w
}

#[test]
fn unit_capabilities_are_parsed() {
    let w = unit_wrapper();
    let caps = &w[2];
    assert!(caps.starts_with("-all,"), "{caps}");
    assert!(
        caps.contains("+net_admin") && caps.contains("+net_raw"),
        "{caps}"
    );
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
fn restore_exact_under_unit_capabilities() {
    if !root_or_skip("restore_exact_under_unit_capabilities") {
        return;
    }
    let mut net = netns::TestNet::new();
    let h = net.netns("usH").unwrap();
    let p = net.netns("usP").unwrap();
    let (m1, m2) = unlike_members(&mut net, &h, &p);
    let devs = [m1.as_str(), m2.as_str()];
    let before: Vec<Full> = devs.iter().map(|d| full_snapshot(&h, d)).collect();
    let dir = TempDir::new("usR");
    let mut d = Daemon::start_wrapped(&h, &dir, "h", &config(&m1, &m2), &unit_wrapper());
    let mut c = d.client();
    wait_for(&mut d, &mut c, AGGR, "both members taken", |s| {
        s.members.len() == 2
    });
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
    let mut d = Daemon::start_wrapped(&h, &dir, "h", &config(&m1, &m2), &unit_wrapper());
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
