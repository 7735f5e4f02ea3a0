//! Two hosts (network namespaces) joined by two veth pairs, each running `lagd` with a LACP
//! aggregate of both links: the aggregates form, pass pings both ways (also jumbo frames), and
//! on SIGTERM every member is restored exactly and the TAPs disappear. Membership shows in `ip`:
//! each member's alias names its aggregate (its own alias comes back on release), the
//! aggregate's names lagd and its mode.
//!
//! Needs root. Bounds are generous and nothing asserts on elapsed time.

mod common;

use common::*;
use lagd_dataplane::netns::TestNet;

fn config(links: &[&str]) -> String {
    format!(
        r#"[daemon]
prometheus = "127.0.0.1:9477"

[[aggregation]]
name = "lag0"
links = ["{}", "{}"]
mode = "lacp"
lacp = "active"
timer = "short"
mtu = 9000
"#,
        links[0], links[1]
    )
}

#[test]
fn two_hosts_aggregate_ping_and_restore() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let ns_a = net.netns("lagA").unwrap();
    let ns_b = net.netns("lagB").unwrap();
    let (a1, b1) = net.veth("lg", Some(&ns_a), Some(&ns_b)).unwrap();
    let (a2, b2) = net.veth("lg", Some(&ns_a), Some(&ns_b)).unwrap();
    let members = [(&ns_a, &a1), (&ns_a, &a2), (&ns_b, &b1), (&ns_b, &b2)];
    // An alias of the operator's own, which lagd must give back.
    net.exec(
        &ns_a,
        &["ip", "link", "set", "dev", &a1, "alias", "uplink A"],
    )
    .unwrap();
    let before: Vec<IfSnapshot> = members.iter().map(|(ns, d)| snapshot(ns, d)).collect();

    let dir = TempDir::new("lagd2h");
    let mut da = Daemon::start(&ns_a, &dir, "a", &config(&[&a1, &a2]));
    let mut db = Daemon::start(&ns_b, &dir, "b", &config(&[&b1, &b2]));
    let mut ca = da.client();
    let mut cb = db.client();

    let sa = wait_for(
        &mut da,
        &mut ca,
        "lag0",
        "host A forwarding on both members",
        |a| all_forwarding(a, 2),
    );
    let sb = wait_for(
        &mut db,
        &mut cb,
        "lag0",
        "host B forwarding on both members",
        |a| all_forwarding(a, 2),
    );
    // Each side sees the other as its partner, on both members.
    for m in &sa.members {
        assert_eq!(m.partner.system.addr, sb.mac, "{m:?}");
        assert_eq!(m.mux, "COLLECTING_DISTRIBUTING");
        assert!(m.actor.state.short_timeout());
    }
    for m in &sb.members {
        assert_eq!(m.partner.system.addr, sa.mac, "{m:?}");
    }
    // The configuration is applied to the members while they are taken.
    let during = snapshot(&ns_a, &a1);
    assert_eq!(during.mtu, 9000);
    assert_eq!(during.arp_ignore, "8");
    assert_eq!(during.disable_ipv6, "1");
    assert!(during.flags.iter().any(|f| f == "NOARP"), "{during:?}");

    // Membership as `ip` shows it.
    let ip_link = net.exec(&ns_a, &["ip", "link", "show"]).unwrap();
    println!("ip link show (host A):\n{ip_link}");
    for m in [&a1, &a2] {
        assert_eq!(
            snapshot(&ns_a, m).alias.as_deref(),
            Some("lagd: member of lag0"),
            "{ip_link}"
        );
    }
    let aggr = net
        .exec(&ns_a, &["ip", "-d", "link", "show", "dev", "lag0"])
        .unwrap();
    println!("ip -d link show dev lag0 (host A):\n{aggr}");
    assert!(
        aggr.contains("tun type tap")
            && aggr.contains("alias lagd: aggregate, mode lacp, hash L3,L4"),
        "{aggr}"
    );
    // A TAP cannot be a master: the kernel refuses the relation bonding and teams use.
    assert!(
        net.exec(&ns_a, &["ip", "link", "set", "dev", &a1, "master", "lag0"])
            .is_err()
    );

    net.exec(
        &ns_a,
        &["ip", "addr", "add", "198.18.0.1/24", "dev", "lag0"],
    )
    .unwrap();
    net.exec(
        &ns_b,
        &["ip", "addr", "add", "198.18.0.2/24", "dev", "lag0"],
    )
    .unwrap();
    assert!(
        ping(&ns_a, "198.18.0.2", &[]),
        "A -> B ping failed; log A:\n{}",
        da.log_text()
    );
    assert!(
        ping(&ns_b, "198.18.0.1", &[]),
        "B -> A ping failed; log B:\n{}",
        db.log_text()
    );
    assert!(
        ping(&ns_a, "198.18.0.2", &["-M", "do", "-s", "8972"]),
        "jumbo ping failed"
    );

    // Counters: the aggregate saw the pings, and frames left through members.
    let links = ca.show_link(Some("lag0")).unwrap();
    let agg = links.iter().find(|l| l.kind == "aggregate").unwrap();
    assert!(agg.ipackets > 0 && agg.opackets > 0, "{agg:?}");
    let member_out: u64 = links
        .iter()
        .filter(|l| l.kind == "member")
        .map(|l| l.opackets)
        .sum();
    assert!(member_out > 0, "{links:?}");
    // Carrier loss on one link: both sides fail over to the other member, traffic continues.
    net.exec(&ns_b, &["ip", "link", "set", &b1, "down"])
        .unwrap();
    wait_for(
        &mut da,
        &mut ca,
        "lag0",
        "A fails over to one member",
        |a| {
            a.up && a.members.iter().all(|m| {
                (m.name == a1) != (m.collecting && m.distributing) && (m.name != a1 || !m.link_up)
            })
        },
    );
    assert!(ping(&ns_a, "198.18.0.2", &[]), "ping after failover");
    net.exec(&ns_b, &["ip", "link", "set", &b1, "up"]).unwrap();
    wait_for(&mut da, &mut ca, "lag0", "A back on both members", |a| {
        all_forwarding(a, 2)
    });
    wait_for(&mut db, &mut cb, "lag0", "B back on both members", |a| {
        all_forwarding(a, 2)
    });
    let carrier_events = ca.events(false).unwrap();
    assert!(
        carrier_events
            .iter()
            .any(|e| e.link.as_deref() == Some(a1.as_str())),
        "no event for {a1}: {carrier_events:?}"
    );

    // Prometheus endpoint (on the namespace's loopback).
    let metrics = lagd_dataplane::netns::run_in(&ns_a, || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect("127.0.0.1:9477").unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    })
    .unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    assert!(
        metrics.contains("lagd_aggregate_up{aggregate=\"lag0\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lagd_aggregate_failovers_total{aggregate=\"lag0\"} 1"),
        "{metrics}"
    );

    // The state dump holds everything.
    let dump = ca.state_dump().unwrap();
    assert_eq!(dump["aggregations"][0]["name"], "lag0");
    assert!(dump["events"].as_array().is_some_and(|e| !e.is_empty()));
    drop(ca);
    drop(cb);

    stop_cleanly("TERM", &mut [("A", &mut da), ("B", &mut db)]);

    assert!(!link_exists(&ns_a, "lag0"), "TAP of A still present");
    assert!(!link_exists(&ns_b, "lag0"), "TAP of B still present");
    assert!(
        !exists(&da.socket) && !exists(&db.socket),
        "sockets left behind"
    );
    let after: Vec<IfSnapshot> = members.iter().map(|(ns, d)| snapshot(ns, d)).collect();
    assert_eq!(before, after, "members not restored exactly");
}
