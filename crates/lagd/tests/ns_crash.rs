//! Crash safety (issue 10 item 4): lagd SIGKILLed, restarted on the same configuration and
//! then stopped gives every member back exactly as it was before the first lagd took it (MAC,
//! flags, MTU, addresses, multicast, sysctls, qdiscs), because the original settings were
//! recorded before the first change and the second lagd took them from the record, not from
//! the interfaces. The aggregate's TAP survives the crash with its address. lagd runs with its
//! default kernel fast path, pinned in a bpffs of the test's own (`<state dir>/bpffs`): the
//! pins outlive the crash, the next lagd adopts them, and its stop leaves nothing pinned.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;
use lagd_dataplane::netns;

/// Everything about an interface that lagd must give back, as text (one line per fact).
fn full_snapshot(ns: &str, dev: &str) -> Vec<String> {
    let sh = |args: &[&str]| netns::ns_cmd(ns, args).unwrap_or_else(|e| format!("ERR {e}"));
    let mut out = Vec::new();
    let link: serde_json::Value =
        serde_json::from_str(&sh(&["ip", "-d", "-j", "link", "show", "dev", dev])).unwrap();
    let l = &link[0];
    out.push(format!("flags {}", link_flags(l).join(",")));
    for k in [
        "mtu",
        "address",
        "promiscuity",
        "allmulti",
        "operstate_ignored",
        "ifalias",
    ] {
        if !l[k].is_null() {
            out.push(format!("{k} {}", l[k]));
        }
    }
    let addrs: serde_json::Value =
        serde_json::from_str(&sh(&["ip", "-j", "addr", "show", "dev", dev])).unwrap();
    let mut a: Vec<String> = addrs[0]["addr_info"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| format!("addr {}/{}", x["local"], x["prefixlen"]))
                .collect()
        })
        .unwrap_or_default();
    a.sort();
    out.extend(a);
    // The groups, not the kernel's count of their users (IPv6 joins a solicited-node group
    // once per address and per DAD run: a reference count, not a setting).
    let mut maddr: Vec<String> = sh(&["ip", "maddr", "show", "dev", dev])
        .lines()
        .skip(1)
        .map(|l| {
            let l = l.trim();
            let l = l.split(" users ").next().unwrap_or(l);
            format!("maddr {l}")
        })
        .collect();
    maddr.sort();
    out.extend(maddr);
    for (fam, var) in [
        ("ipv4", "arp_ignore"),
        ("ipv4", "rp_filter"),
        ("ipv4", "arp_announce"),
        ("ipv6", "disable_ipv6"),
    ] {
        out.push(format!(
            "{fam}.{var} {}",
            sh(&["cat", &format!("/proc/sys/net/{fam}/conf/{dev}/{var}")]).trim()
        ));
    }
    let q = sh(&["tc", "qdisc", "show", "dev", dev]);
    out.push(format!(
        "qdisc {}",
        q.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    ));
    out
}

/// A member up with IPv4 and IPv6 addresses, one down with MTU 1400, allmulticast and other
/// sysctls: every setting lagd changes, in both directions. The down one has been up once:
/// a device never brought up has no qdisc yet, and taking a member over brings it up.
fn unlike_members(net: &netns::TestNet, ns: &str, m1: &str, m2: &str) {
    for c in [
        vec!["ip", "link", "set", m2, "up"],
        vec!["ip", "link", "set", m2, "down"],
        vec!["ip", "addr", "add", "198.18.61.1/24", "dev", m1],
        vec!["ip", "addr", "add", "2001:2::61:1/64", "dev", m1, "nodad"],
        vec!["sysctl", "-qw", &format!("net.ipv4.conf.{m1}.rp_filter=2")],
        vec!["ip", "link", "set", m1, "up"],
        vec!["ip", "link", "set", m2, "mtu", "1400", "allmulticast", "on"],
        vec!["sysctl", "-qw", &format!("net.ipv4.conf.{m2}.arp_ignore=1")],
        vec![
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{m2}.disable_ipv6=1"),
        ],
    ] {
        net.exec(ns, &c).unwrap();
    }
}

fn wait_snapshot(ns: &str, devs: &[String], want: &[Vec<String>]) -> Vec<Vec<String>> {
    // IPv6 link-local addresses and their multicast groups come back with IPv6, a moment
    // after it is switched on again.
    let mut last = Vec::new();
    for _ in 0..50 {
        last = devs.iter().map(|d| full_snapshot(ns, d)).collect();
        if last == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    last
}

fn state_files(dir: &std::path::Path, sub: &str) -> Vec<String> {
    let mut v = Vec::new();
    for ns in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(ns.path().join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            v.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    v
}

/// How lagd A dies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// SIGKILL (an OOM kill, a power cut of the process).
    Kill,
    /// A panic in a forwarding thread (lagd ends with exit status 70).
    Panic,
}

#[test]
fn sigkill_restart_sigterm_gives_members_back_exactly() {
    if root_or_skip("sigkill_restart_sigterm_gives_members_back_exactly") {
        crash_restart_stop(Crash::Kill, None);
    }
}

#[test]
fn panic_restart_sigterm_gives_members_back_exactly() {
    if root_or_skip("panic_restart_sigterm_gives_members_back_exactly") {
        crash_restart_stop(Crash::Panic, None);
    }
}

/// The same with the fast path attached by clsact (kernels without tcx; forced with
/// `LAGD_BPF_ATTACH=clsact`): a clsact filter has no link object to pin, so it stays on its
/// device through the crash and the next lagd adopts it in place; SIGTERM removes it.
#[test]
fn sigkill_restart_sigterm_with_clsact_adopts_the_filters() {
    if root_or_skip("sigkill_restart_sigterm_with_clsact_adopts_the_filters") {
        crash_restart_stop(Crash::Kill, Some("clsact"));
    }
}

/// lagd's BPF filters on `devs` (clsact ingress and egress), as `tc` lists them.
fn bpf_filters(ns: &str, devs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for d in devs {
        for dir in ["ingress", "egress"] {
            let t = netns::ns_cmd(ns, &["tc", "filter", "show", "dev", d, dir]).unwrap_or_default();
            out.extend(
                t.lines()
                    .filter(|l| l.contains("bpf"))
                    .map(|l| format!("{d} {dir}: {}", l.trim())),
            );
        }
    }
    out
}

fn crash_restart_stop(crash: Crash, attach: Option<&str>) {
    let mut net = netns::TestNet::new();
    let a = net.netns("ncrA").unwrap();
    let b = net.netns("ncrB").unwrap();
    let (a1, b1) = net.veth("nc", Some(&a), Some(&b)).unwrap();
    let (a2, b2) = net.veth("nc", Some(&a), Some(&b)).unwrap();
    unlike_members(&net, &a, &a1, &a2);
    // B's ends up, so that A's carrier (and with it IPv6's link-local address) is as it will
    // be at the end.
    for l in [&b1, &b2] {
        net.exec(&b, &["ip", "link", "set", l, "up"]).unwrap();
    }
    let devs = vec![a1.clone(), a2.clone()];
    let mut before: Vec<Vec<String>> = Vec::new();
    for _ in 0..50 {
        before = devs.iter().map(|d| full_snapshot(&a, d)).collect();
        if before[0].iter().any(|l| l.contains("fe80")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let dir = TempDir::new("ncrash");
    let state = dir.path("state");
    let state_arg = state.to_string_lossy().into_owned();
    let args = ["--state-dir", state_arg.as_str()];
    let bpffs = BpfFs::mount(state.join("bpffs"));
    let cfg_a = lacp_config(&devs, "force = true\nmtu = 1500");
    let cfg_b = lacp_config(&[b1.clone(), b2.clone()], "");
    let opts = Opts {
        args: args.iter().map(|a| a.to_string()).collect(),
        env: attach
            .map(|m| vec![("LAGD_BPF_ATTACH".to_string(), m.to_string())])
            .unwrap_or_default(),
        ..Opts::default()
    };
    let mut da = Daemon::start_with(&a, &dir, "a", &cfg_a, &opts);
    let mut db = Daemon::start(&b, &dir, "b", &cfg_b);
    let mut ca = da.client();
    let mut cb = db.client();
    wait_both_forwarding((&mut da, &mut ca), (&mut db, &mut cb), 2);
    net.exec(&a, &["ip", "addr", "add", "198.18.62.1/24", "dev", AGGR])
        .unwrap();
    assert_eq!(
        state_files(&state, "members").len(),
        2,
        "one record per member"
    );
    // Crash.
    match crash {
        Crash::Kill => {
            drop(ca);
            da.signal("KILL");
        }
        Crash::Panic => {
            use lagd::control::proto::{Reply, Request};
            match ca.request(&Request::TestFault {
                name: AGGR.into(),
                thread: "rx".into(),
                fault: "panic".into(),
            }) {
                Ok(Reply::Done { .. }) | Err(lagd::client::ClientError::Closed) => {}
                other => panic!("fault not injected: {other:?}"),
            }
            drop(ca);
        }
    }
    let st = da.wait_exit();
    assert!(!st.success());
    if crash == Crash::Panic {
        assert_eq!(st.code(), Some(70), "log:\n{}", da.log_text());
    }
    let taken: Vec<Vec<String>> = devs.iter().map(|d| full_snapshot(&a, d)).collect();
    assert_ne!(
        taken, before,
        "the members are still lagd's after the crash"
    );
    let tap = netns::ns_cmd(&a, &["ip", "addr", "show", "dev", AGGR]).unwrap();
    assert!(tap.contains("198.18.62.1/24"), "TAP or address lost: {tap}");
    let pinned = bpffs.contents();
    let all_devs = [AGGR, a1.as_str(), a2.as_str()];
    let filters = bpf_filters(&a, &all_devs);
    if attach == Some("clsact") {
        // No link to pin: the filters themselves outlive the crash, and the maps are pinned.
        assert!(
            !filters.is_empty() && !pinned.is_empty(),
            "clsact fast path gone after the crash: filters {filters:?}, pinned {pinned:?}"
        );
        println!("after the crash: filters {filters:?}; pinned {pinned:?}");
    } else {
        assert!(
            pinned.iter().any(|p| p.ends_with("/tx/link")),
            "the fast path is not pinned after the crash: {pinned:?}"
        );
    }

    // Restart on the same configuration: the members are taken from their records.
    let mut da = Daemon::start_with(&a, &dir, "a", &cfg_a, &opts);
    let mut ca = da.client();
    wait_for(&mut da, &mut ca, AGGR, "A forwarding again", |s| {
        all_forwarding(s, 2)
    });
    let log = da.log_text();
    assert!(
        log.contains("member taken back from the record"),
        "members not adopted from their records:\n{log}"
    );
    assert!(
        log.contains("kernel fast path of the previous lagd adopted"),
        "the pinned fast path was not adopted:\n{log}"
    );
    let tap = netns::ns_cmd(&a, &["ip", "addr", "show", "dev", AGGR]).unwrap();
    assert!(tap.contains("198.18.62.1/24"), "TAP address lost: {tap}");
    drop(ca);

    // Stop: every member exactly as before the first lagd.
    da.signal("TERM");
    let st = da.wait_exit();
    assert!(st.success(), "A exited with {st}; log:\n{}", da.log_text());
    let after = wait_snapshot(&a, &devs, &before);
    assert_eq!(
        before,
        after,
        "members not restored exactly; log:\n{}",
        da.log_text()
    );
    assert!(!link_exists(&a, AGGR), "TAP left behind");
    assert!(
        state_files(&state, "members").is_empty() && state_files(&state, "aggregates").is_empty(),
        "records left behind"
    );
    let left = bpffs.contents();
    assert!(left.is_empty(), "left pinned after SIGTERM: {left:?}");
    let members = [a1.as_str(), a2.as_str()];
    let filters = bpf_filters(&a, &members);
    assert!(
        filters.is_empty(),
        "BPF filters left on the members: {filters:?}"
    );
    // The clsact qdisc the fast path added goes too (the record says there was none).
    for m in members {
        let q = netns::ns_cmd(&a, &["tc", "qdisc", "show", "dev", m]).unwrap_or_default();
        assert!(!q.contains("clsact"), "clsact qdisc left on {m}: {q}");
    }
    drop(cb);
    db.signal("TERM");
    db.wait_exit();
}
