//! No change wipes host state by surprise (issue 17 item 2): the MTU of a running aggregate
//! changes in place (same interface, its addresses and routes kept, large frames then pass),
//! and `modify-aggr` / reload say what changed and what becomes of the aggregate.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;

fn create(d: &Daemon, extra: &[&str]) {
    let mut args = vec!["create-aggr", "-l", "eth1", "-l", "eth2"];
    args.extend(extra);
    args.push("aggr1");
    ok(&d.lagctl(&args), "create-aggr");
}

#[test]
fn mtu_change_keeps_addresses_and_routes_and_large_frames_pass() {
    if !can_run("mtu_change_keeps_addresses_and_routes_and_large_frames_pass") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("cmtu");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &[]);
    create(&db, &["--mtu", "9000"]);
    wait_forwarding(&mut da, &mut db, 2);
    let sh = |ns: &str, args: &[&str]| h.net.exec(ns, args).unwrap();
    sh(
        &h.a,
        &["ip", "addr", "add", "198.18.12.1/24", "dev", "aggr1"],
    );
    sh(
        &h.a,
        &[
            "ip",
            "-6",
            "addr",
            "add",
            "2001:2:0:12::1/64",
            "dev",
            "aggr1",
            "nodad",
        ],
    );
    sh(
        &h.a,
        &["ip", "route", "add", "198.18.13.0/24", "via", "198.18.12.2"],
    );
    sh(
        &h.b,
        &["ip", "addr", "add", "198.18.12.2/24", "dev", "aggr1"],
    );
    sh(
        &h.b,
        &["ip", "addr", "add", "198.18.13.2/24", "dev", "aggr1"],
    );
    sh(&h.a, &["ping", "-c", "2", "-W", "5", "198.18.13.2"]);
    let before = (
        sh(&h.a, &["ip", "-o", "link", "show", "aggr1"]),
        sh(&h.a, &["ip", "-o", "addr", "show", "dev", "aggr1"]),
        sh(&h.a, &["ip", "route", "show"]),
    );
    let ifindex = |l: &str| l.split(':').next().unwrap_or("").to_string();
    // `ip -o addr` lines reduced to family and address (flags like `tentative` come and go).
    let addrs = |s: &str| {
        s.lines()
            .map(|l| {
                l.split_whitespace()
                    .skip(2)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
    };

    let out = ok(
        &da.lagctl(&["modify-aggr", "--mtu", "9000", "aggr1"]),
        "modify --mtu",
    );
    assert_eq!(out, "mtu 1500 → 9000 on aggr1; aggr1 stays up\n");
    let after = (
        sh(&h.a, &["ip", "-o", "link", "show", "aggr1"]),
        sh(&h.a, &["ip", "-o", "addr", "show", "dev", "aggr1"]),
        sh(&h.a, &["ip", "route", "show"]),
    );
    // The same interface (not re-created), now with MTU 9000; addresses and routes as they were.
    assert_eq!(
        ifindex(&after.0),
        ifindex(&before.0),
        "{before:?} {after:?}"
    );
    assert!(after.0.contains("mtu 9000"), "{}", after.0);
    assert_eq!(addrs(&after.1), addrs(&before.1));
    assert_eq!(after.2, before.2);
    for m in ["eth1", "eth2"] {
        let l = sh(&h.a, &["ip", "-o", "link", "show", m]);
        assert!(l.contains("mtu 9000"), "{l}");
    }
    let a = da.wait_for("aggr1", "A still forwarding", |a| all_forwarding(a, 2));
    assert_eq!(a.mtu, 9000);
    // Large frames, not fragmented, through the route.
    sh(
        &h.a,
        &[
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "5",
            "-s",
            "8000",
            "-M",
            "do",
            "198.18.13.2",
        ],
    );

    // Back to 1500 (a temporary change): in place again.
    let out = ok(
        &da.lagctl(&["modify-aggr", "-t", "--mtu", "1500", "aggr1"]),
        "modify --mtu 1500",
    );
    assert_eq!(out, "mtu 9000 → 1500 on aggr1; aggr1 stays up\n");
    let l = sh(&h.a, &["ip", "-o", "link", "show", "aggr1"]);
    assert_eq!(ifindex(&l), ifindex(&before.0));
    assert_eq!(
        addrs(&sh(&h.a, &["ip", "-o", "addr", "show", "dev", "aggr1"])),
        addrs(&before.1)
    );
    // SIGHUP goes back to the saved 9000: in place too, and the log says what changed.
    h.net
        .exec(&h.a, &["kill", "-HUP", &da.child.id().to_string()])
        .unwrap();
    da.wait_for("aggr1", "reloaded to 9000", |a| a.mtu == 9000);
    assert_eq!(
        addrs(&sh(&h.a, &["ip", "-o", "addr", "show", "dev", "aggr1"])),
        addrs(&before.1)
    );
    assert_eq!(sh(&h.a, &["ip", "route", "show"]), before.2);
    let start = std::time::Instant::now();
    while !da
        .log_text()
        .contains("reload: mtu 1500 → 9000 on aggr1; aggr1 stays up")
    {
        assert!(start.elapsed() < PATIENCE, "{}", da.log_text());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A change that changes nothing says so.
    let out = ok(
        &da.lagctl(&["modify-aggr", "-T", "short", "aggr1"]),
        "modify -T short",
    );
    assert_eq!(
        out,
        "no setting in force changed on aggr1; aggr1 stays up\n"
    );
}
