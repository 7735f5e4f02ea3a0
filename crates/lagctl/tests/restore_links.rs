//! `lagctl restore-links`: when lagd is gone for good (SIGKILLed, not restarted), its members
//! are given back from the records it wrote before its first change, without any daemon, after
//! the kernel fast path lagd left pinned (it goes on forwarding without lagd) is removed; while
//! a lagd runs it refuses. Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;
use lagd_dataplane::netns::{self, TestNet};
use std::process::Command;
use std::time::{Duration, Instant};

/// A bpffs of the test's own where lagd pins its fast path (`<state dir>/bpffs`; lagd under
/// `ip netns exec` sees a fresh sysfs), unmounted when dropped.
struct BpfFs(std::path::PathBuf);

impl BpfFs {
    fn pinned(&self) -> Vec<String> {
        std::fs::read_dir(self.0.join("lagd"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|ns| std::fs::read_dir(ns.path()).into_iter().flatten().flatten())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn facts(ns: &str, dev: &str) -> Vec<String> {
    let sh = |args: &[&str]| netns::ns_cmd(ns, args).unwrap_or_else(|e| format!("ERR {e}"));
    let link: serde_json::Value =
        serde_json::from_str(&sh(&["ip", "-j", "link", "show", "dev", dev])).unwrap();
    let flags = link_flags(&link[0]);
    let addrs: serde_json::Value =
        serde_json::from_str(&sh(&["ip", "-j", "-4", "addr", "show", "dev", dev])).unwrap();
    let mut v = vec![
        format!("flags {}", flags.join(",")),
        format!("mtu {}", link[0]["mtu"]),
        format!("mac {}", link[0]["address"]),
        format!("addrs {}", addrs[0]["addr_info"]),
    ];
    for var in ["arp_ignore", "rp_filter"] {
        v.push(format!(
            "{var} {}",
            sh(&["cat", &format!("/proc/sys/net/ipv4/conf/{dev}/{var}")]).trim()
        ));
    }
    v
}

#[test]
fn restore_links_gives_members_back_when_lagd_is_gone() {
    if !can_run("restore_links_gives_members_back_when_lagd_is_gone") {
        return;
    }
    let mut net = TestNet::new();
    let a = net.netns("rlA").unwrap();
    let b = net.netns("rlB").unwrap();
    let (a1, b1) = net.veth("rl", Some(&a), Some(&b)).unwrap();
    let (a2, b2) = net.veth("rl", Some(&a), Some(&b)).unwrap();
    for (ns, c) in [
        (&b, vec!["ip", "link", "set", b1.as_str(), "up"]),
        (&b, vec!["ip", "link", "set", b2.as_str(), "up"]),
        (
            &a,
            vec!["ip", "addr", "add", "198.18.63.1/24", "dev", a1.as_str()],
        ),
        (&a, vec!["ip", "link", "set", a1.as_str(), "up"]),
        (&a, vec!["ip", "link", "set", a2.as_str(), "mtu", "1400"]),
    ] {
        net.exec(ns, &c).unwrap();
    }
    net.exec(
        &a,
        &["sysctl", "-qw", &format!("net.ipv4.conf.{a1}.rp_filter=2")],
    )
    .unwrap();
    let before = [facts(&a, &a1), facts(&a, &a2)];

    let dir = TempDir::new("rlinks");
    let state = dir.path("state");
    lagd_dataplane::pin::mount_bpffs(&state.join("bpffs")).unwrap();
    let bpffs = BpfFs(state.join("bpffs"));
    let state = state.to_str().unwrap();
    let config = format!(
        "[[aggregation]]\nname = \"rl0\"\nlinks = [\"{a1}\", \"{a2}\"]\nmode = \"static\"\nforce = true\n"
    );
    let opts = Opts {
        args: vec!["--state-dir".into(), state.into()],
        ..Opts::default()
    };
    let mut lagd = Daemon::spawn(&lagd_bin(), &a, &dir.0, "a", Some(&config), &opts);
    let socket = lagd.socket.clone();
    let start = Instant::now();
    while lagctl_in(&a, &socket, &["show-aggr", "rl0"], None).code != 0 {
        assert!(start.elapsed() < PATIENCE, "lagd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let taken = [facts(&a, &a1), facts(&a, &a2)];
    assert_ne!(taken, before);

    // Refused while lagd runs: it gives members back itself.
    let out = lagctl_in(
        &a,
        &socket,
        &["restore-links", "--all", "--state-dir", state],
        None,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is running"), "{}", out.stderr);
    assert_eq!([facts(&a, &a1), facts(&a, &a2)], taken);

    // lagd dies for good.
    lagd.child.kill().unwrap();
    lagd.child.wait().unwrap();
    assert_eq!(
        bpffs.pinned(),
        ["rl0"],
        "the fast path outlives lagd, pinned"
    );
    let out = lagctl_in(
        &a,
        &socket,
        &["restore-links", "--all", "--dry-run", "--state-dir", state],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("{a1}: would be restored"))
            && out.stdout.contains("198.18.63.1/24")
            && out.stdout.contains("rl0: aggregate TAP would be removed")
            && out
                .stdout
                .contains("rl0: pinned kernel fast path would be removed"),
        "{}",
        out.stdout
    );
    assert_eq!(
        [facts(&a, &a1), facts(&a, &a2)],
        taken,
        "dry run changed something"
    );
    let out = lagctl_in(
        &a,
        &socket,
        &["restore-links", "--all", "--state-dir", state],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("{a2}: restored")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("TAP removed"), "{}", out.stdout);
    assert!(
        out.stdout.contains("rl0: pinned kernel fast path removed"),
        "{}",
        out.stdout
    );
    assert!(
        bpffs.pinned().is_empty(),
        "left pinned: {:?}",
        bpffs.pinned()
    );
    assert_eq!(
        [facts(&a, &a1), facts(&a, &a2)],
        before,
        "not restored exactly"
    );
    assert!(
        netns::ns_cmd(&a, &["ip", "link", "show", "rl0"]).is_err(),
        "TAP left"
    );
    // Nothing left to do.
    let out = lagctl_in(
        &a,
        &socket,
        &["restore-links", &a1, "--state-dir", state],
        None,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("no record"), "{}", out.stderr);
}
