//! The switch-independent modes through the admin CLI (issue 16 item 3): a host with two
//! members on a Linux bridge (an unconfigured switch) and two peers on the bridge's other ports.
//!
//! - `lagctl create-aggr -m adaptive-lb`: the peers are spread over the members, and
//!   `lagctl show-aggr -x` shows the receive member, each member's MAC and which peer is
//!   received on which member, as the daemon's status has it.
//! - `lagctl modify-aggr -m transmit-lb`: the same aggregate changes mode; every peer is told
//!   the aggregate's MAC (its entry for the host shows it) and none is kept in the table
//!   (transmit-lb receives on one member); `show-aggr -x` says so.
//! - The switch moves the aggregate's MAC to the port of the member that is not the receive
//!   member (a sticky FDB entry, as a switch whose ports are grouped or a device that uses the
//!   MAC would): the frames a peer sends to the aggregate's MAC arrive there, and
//!   `lagctl diagnose` warns that the switch moves the aggregate's MAC between ports.
//!
//! Needs root (skipped otherwise, failed when CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;
use lagd_control::proto::{AggrStatus, BalancerStatus};
use lagd_dataplane::netns::{self, TestNet};

const HOST_IP: &str = "198.18.0.1";

fn peer_ip(i: usize) -> String {
    format!("198.18.0.{}", 10 + i)
}

fn balancer(a: &AggrStatus) -> Option<&BalancerStatus> {
    a.balancer.as_ref()
}

#[test]
fn admin_cli_runs_the_switch_independent_modes_and_diagnose_sees_a_moved_mac() {
    if !can_run("admin_cli_runs_the_switch_independent_modes_and_diagnose_sees_a_moved_mac") {
        return;
    }
    // Dropped last: the daemon and its directory go first (members restored), then the
    // namespaces.
    let mut net = TestNet::new();
    let host = net.netns("alcH").unwrap();
    let sw = net.netns("alcS").unwrap();
    net.exec(&sw, &["ip", "link", "add", "br0", "type", "bridge"])
        .unwrap();
    net.exec(&sw, &["ip", "link", "set", "br0", "up"]).unwrap();
    let mut sw_ports = Vec::new();
    for i in 1..=2 {
        let (m, s) = net.veth("alc", Some(&host), Some(&sw)).unwrap();
        let name = format!("eth{i}");
        let mac = format!("02:00:00:0a:00:{i:02x}");
        net.exec(&host, &["ip", "link", "set", &m, "name", &name])
            .unwrap();
        net.exec(&host, &["ip", "link", "set", &name, "address", &mac])
            .unwrap();
        net.exec(&sw, &["ip", "link", "set", &s, "master", "br0", "up"])
            .unwrap();
        sw_ports.push(s);
    }
    let mut peers = Vec::new();
    for i in 0..2 {
        let p = net.netns(&format!("alcP{i}")).unwrap();
        let (pe, s) = net.veth("alp", Some(&p), Some(&sw)).unwrap();
        net.exec(&sw, &["ip", "link", "set", &s, "master", "br0", "up"])
            .unwrap();
        let a = format!("{}/24", peer_ip(i));
        net.exec(&p, &["ip", "addr", "add", &a, "dev", &pe])
            .unwrap();
        net.exec(&p, &["ip", "link", "set", &pe, "up"]).unwrap();
        peers.push((p, pe));
    }
    let dir = TempDir::new("alcli");
    let mut d = Daemon::start(&host, &dir, "h", Some(""));

    // adaptive-lb from the admin CLI.
    ok(
        &d.lagctl(&[
            "create-aggr",
            "-m",
            "adaptive-lb",
            "-l",
            "eth1",
            "-l",
            "eth2",
            "aggr1",
        ]),
        "create-aggr -m adaptive-lb",
    );
    d.wait_for("aggr1", "both members forwarding", |a| {
        all_forwarding(a, 2) && balancer(a).is_some_and(|b| b.mode == "adaptive-lb")
    });
    net.exec(
        &host,
        &[
            "ip",
            "addr",
            "add",
            &format!("{HOST_IP}/24"),
            "dev",
            "aggr1",
        ],
    )
    .unwrap();
    for (i, (p, _)) in peers.iter().enumerate() {
        let out = net.exec(p, &["ping", "-c", "3", "-i", "0.2", "-W", "2", HOST_IP]);
        assert!(
            out.is_ok(),
            "peer {i} cannot reach the host: {out:?}; log:\n{}",
            d.log_text()
        );
    }
    let st = d.wait_for("aggr1", "both peers in the balancer's table", |a| {
        balancer(a).is_some_and(|b| {
            (0..2).all(|i| {
                b.peers
                    .iter()
                    .any(|p| p.ip == peer_ip(i) && p.mac.is_some())
            })
        })
    });
    let b = st.balancer.unwrap();
    // Spread by count while idle: one peer per member.
    let on: Vec<&str> = (0..2)
        .map(|i| {
            b.peers
                .iter()
                .find(|p| p.ip == peer_ip(i))
                .map(|p| p.member.as_str())
                .unwrap()
        })
        .collect();
    assert_ne!(on[0], on[1], "both peers on one member: {b:?}");
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show-aggr -x");
    eprintln!("lagctl show-aggr -x aggr1 (adaptive-lb):\n{x}");
    let rx = b.receive_member.clone().expect("a receive member");
    assert!(
        x.contains(&format!(
            "receive member: {rx} (adaptive-lb answers for the aggregate's MAC)"
        )),
        "{x}"
    );
    for m in &b.members {
        assert!(
            x.contains(&format!("member {}: MAC {}, ", m.name, m.mac)),
            "member {} not shown: {x}",
            m.name
        );
    }
    for p in &b.peers {
        let mac = p.mac.unwrap().to_string();
        assert!(
            x.contains(&format!("peer {} ({mac}) -> {}", p.ip, p.member)),
            "peer {} -> {} not shown: {x}",
            p.ip,
            p.member
        );
    }

    // transmit-lb from the admin CLI, on the same aggregate: the peers are told the aggregate's
    // MAC (the receive member's) and leave the table. Past the peers' ARP locktime (1 s) since
    // their last update, so that they take the first update.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(
        &d.lagctl(&["modify-aggr", "-m", "transmit-lb", "aggr1"]),
        "modify-aggr -m transmit-lb",
    );
    let st = d.wait_for("aggr1", "transmit-lb in force, no peer kept", |a| {
        all_forwarding(a, 2)
            && balancer(a).is_some_and(|b| b.mode == "transmit-lb" && b.peers.is_empty())
    });
    let b = st.balancer.unwrap();
    let rx = b.receive_member.clone().expect("a receive member");
    let mac = st.mac.to_string();
    for (i, (p, pe)) in peers.iter().enumerate() {
        let entry = || netns::ns_cmd(p, &["ip", "neigh", "show", HOST_IP, "dev", pe]);
        let start = std::time::Instant::now();
        while !entry().unwrap_or_default().contains(&mac) && start.elapsed() < PATIENCE {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let e = entry().unwrap_or_default();
        eprintln!("transmit-lb: peer {i}'s entry for the host: {}", e.trim());
        assert!(
            e.contains(&mac),
            "peer {i} not pointed at the aggregate's MAC {mac}: {e}"
        );
    }
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show-aggr -x");
    eprintln!("lagctl show-aggr -x aggr1 (transmit-lb):\n{x}");
    assert!(
        x.contains(&format!(
            "receive member: {rx} (transmit-lb answers for the aggregate's MAC)"
        )),
        "{x}"
    );
    let clean = d.lagctl(&["diagnose", "aggr1"]);
    assert!(
        !clean.stdout.contains("moves the aggregate's MAC"),
        "a warning before the switch moved anything: {clean:?}"
    );

    // The switch moves the aggregate's MAC to the other member's port.
    let other = ["eth1", "eth2"]
        .iter()
        .position(|m| *m != rx)
        .expect("two members");
    let other_name = format!("eth{}", other + 1);
    net.exec(
        &sw,
        &[
            "bridge",
            "fdb",
            "replace",
            &mac,
            "dev",
            &sw_ports[other],
            "master",
            "static",
            "sticky",
        ],
    )
    .unwrap();
    // The peer sends to the aggregate's MAC (what transmit-lb's peers use).
    let (p, pe) = &peers[0];
    net.exec(
        p,
        &[
            "ip",
            "neigh",
            "replace",
            HOST_IP,
            "lladdr",
            &mac,
            "dev",
            pe,
            "nud",
            "permanent",
        ],
    )
    .unwrap();
    // Lost (the switch delivers to the wrong member, which drops them): the exit status is
    // not the point.
    let _ = netns::ns_cmd(p, &["ping", "-c", "5", "-i", "0.2", "-W", "1", HOST_IP]);
    let st = d.wait_for("aggr1", "frames for the aggregate's MAC counted", |a| {
        balancer(a).is_some_and(|b| {
            b.members
                .iter()
                .any(|m| m.name == other_name && m.aggregate_mac_elsewhere > 0)
        })
    });
    let moved = st
        .balancer
        .unwrap()
        .members
        .iter()
        .find(|m| m.name == other_name)
        .map(|m| m.aggregate_mac_elsewhere)
        .unwrap();
    let diag = d.lagctl(&["diagnose", "aggr1"]);
    eprintln!(
        "the switch sent {moved} frames for {mac} to {other_name}; lagctl diagnose aggr1 (exit {}):\n{}",
        diag.code, diag.stdout
    );
    assert!(
        diag.stdout.contains(&format!(
            "the switch sends frames for the aggregate's MAC {mac} to {other_name}, not to the receive member {rx}: it moves the aggregate's MAC between ports"
        )),
        "{diag:?}"
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show-aggr -x");
    assert!(
        x.contains("frames for the aggregate's MAC arrived here (diagnose)"),
        "{x}"
    );
    drop(d);
    drop(dir);
    drop(net);
}
