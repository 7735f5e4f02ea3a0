//! Distributed Trunking failures in namespaces, under a sequence-numbered UDP stream from the
//! server to the upstream host:
//! * the switch carrying the stream dies (lagd killed, all its links down): the gap is printed
//!   and stays under [`KILL_BOUND`] (the LACP short timeout: even with no carrier event the
//!   server's LACP would move it), no datagram is duplicated;
//! * the switch carrying the stream freezes with its links up (its lagd stopped by SIGSTOP: no
//!   carrier event anywhere): the survivor sees the peer-link PDUs and the keepalive stop and
//!   acts alone, the server's LACP expires the frozen switch's links (short timeout), the gap
//!   stays under [`FREEZE_BOUND`], no duplicate; resumed (SIGCONT), the pair re-forms with no
//!   second outage;
//! * split brain (peer link down, keepalive up): the secondary takes its links down, no
//!   duplicate, frame counters stay bounded under broadcasts (no loop), then it heals.
//!
//! Needs root. The gap is measured by the receiver's clock and printed (figures:
//! bench/dt_failover.sh, BENCHMARKS.md); the asserted bounds are the protocol's worst cases, not
//! performance goals, so a loaded machine does not make the test flaky.

mod common;
mod dt_fabric;

use common::*;
use dt_fabric::*;
use lagd_trafgen::{
    SendReport, StreamReport, UdpReceiver, UdpReceiverConfig, UdpSender, UdpSenderConfig,
};
use std::time::Duration;

const RATE: u32 = 1000;

/// The documented bound on the gap when a switch freezes with its links up (docs/DT.md): the
/// server's LACP short timeout (3 s: three fast periodic times) decides it, plus one fast
/// periodic time of phase and a second of margin for this shared machine.
const FREEZE_BOUND: Duration = Duration::from_secs(5);

/// The bound on the gap when a switch dies or comes back: the carrier event normally decides it
/// within milliseconds; the worst case is the server's LACP short timeout (3 s), plus margin for
/// this shared machine (a 1 s bound failed once at load 20 with a 1.15 s gap, mostly the test's
/// own `ip link set down` of five links).
const KILL_BOUND: Duration = Duration::from_secs(4);

fn stream(f: &Fabric, count: u64) -> (UdpReceiver, UdpSender) {
    let rx = UdpReceiver::spawn(UdpReceiverConfig {
        netns: Some(f.ns_up.clone()),
        ..UdpReceiverConfig::new(
            format!("{UP_IP}:0").parse().unwrap(),
            Duration::from_secs(60),
        )
    })
    .unwrap();
    let tx = UdpSender::spawn(UdpSenderConfig {
        netns: Some(f.ns_srv.clone()),
        ..UdpSenderConfig::new(rx.local_addr(), RATE, count)
    })
    .unwrap();
    (rx, tx)
}

/// Waits for the sender's end, then stops the receiver: (sent, received).
fn finish(rx: UdpReceiver, tx: UdpSender) -> (SendReport, StreamReport) {
    let sent = tx.join().unwrap();
    rx.stop();
    (sent, rx.join().unwrap())
}

/// Waits (bounded) until the pair is up again and the server and upstream host forward on
/// every member.
fn wait_pair_up_again(f: &mut Fabric) {
    f.wait("pair up again", |f| {
        f.dt(0)["status"]["state"] == "up" && f.dt(1)["status"]["state"] == "up"
    });
    f.wait_formed();
}

/// The switch whose server-facing links received the most in the last `d`.
fn carrying_switch(f: &Fabric, d: Duration) -> usize {
    let count = |f: &Fabric, i: usize| -> u64 {
        f.sw_links[i][..2]
            .iter()
            .map(|l| f.rx_packets(&f.ns_sw[i], l))
            .sum()
    };
    let before = [count(f, 0), count(f, 1)];
    std::thread::sleep(d);
    let delta = [count(f, 0) - before[0], count(f, 1) - before[1]];
    if delta[0] >= delta[1] { 0 } else { 1 }
}

#[test]
fn dt_switch_death_gap_under_a_second_no_duplicates() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtd", 1);
    f.wait_formed();
    assert!(ping(&f.ns_srv, UP_IP, &[]));
    let (rx, tx) = stream(&f, 8 * u64::from(RATE));
    std::thread::sleep(Duration::from_secs(1));
    let victim = carrying_switch(&f, Duration::from_millis(500));
    let t_kill = lagd_trafgen::clock::now_ns();
    f.kill_switch(victim);
    let t_down = lagd_trafgen::clock::now_ns();
    let (sent, r) = finish(rx, tx);
    println!(
        "switch {} killed: sent {}, received {}, lost {}, duplicated {}, max gap {:?} after seq {}",
        if victim == 0 {
            "A (primary)"
        } else {
            "B (secondary)"
        },
        sent.sent,
        r.received,
        r.lost,
        r.duplicated,
        r.max_gap,
        r.max_gap_after_seq
    );
    println!(
        "gap started {:.3} s after the kill; links down {:.3} s after it",
        (r.max_gap_start_ns as f64 - t_kill as f64) / 1e9,
        (t_down - t_kill) as f64 / 1e9
    );
    if r.max_gap >= KILL_BOUND {
        println!(
            "survivor log:\n{}",
            f.sw[1 - victim]
                .as_ref()
                .map(|d| d.log_text())
                .unwrap_or_default()
        );
        println!("server log:\n{}", f.srv.log_text());
        println!("upstream log:\n{}", f.up.log_text());
    }
    assert_eq!(r.duplicated, 0);
    assert!(r.max_gap < KILL_BOUND, "gap {:?}", r.max_gap);
    assert!(r.unique > sent.sent / 2, "{r:?}");
    // Everything lost is explained by the gap: no partial loss around it.
    let in_gap = r.max_gap.as_millis() as u64 * u64::from(RATE) / 1000;
    assert!(
        r.lost <= in_gap + 50,
        "lost {} with a gap of {:?}",
        r.lost,
        r.max_gap
    );
    // The server keeps forwarding on the survivor's two links, with the same partner.
    let s = f.server();
    let live: Vec<_> = s.members.iter().filter(|m| m.distributing).collect();
    assert_eq!(live.len(), 2, "{s:?}");
    assert!(
        live.iter()
            .all(|m| m.partner.system.addr.to_string() == SHARED_SRV)
    );
    let survivor = 1 - victim;
    f.wait("survivor acts alone", |f| {
        f.dt(survivor)["status"]["state"] == "alone"
    });
    assert!(ping(&f.ns_srv, UP_IP, &[]));
    // The dead switch returns under a new stream: the pair re-forms, the server gets its four
    // links back, and the stream sees no second outage.
    let (rx, tx) = stream(&f, 10 * u64::from(RATE));
    std::thread::sleep(Duration::from_millis(500));
    f.revive_switch(victim);
    wait_pair_up_again(&mut f);
    let (sent, r) = finish(rx, tx);
    println!(
        "switch back: sent {}, received {}, lost {}, duplicated {}, max gap {:?}",
        sent.sent, r.received, r.lost, r.duplicated, r.max_gap
    );
    assert_eq!(r.duplicated, 0);
    assert!(r.max_gap < KILL_BOUND, "gap {:?}", r.max_gap);
    // No second outage, not even a partial one.
    assert!(r.lost <= 50, "lost {} while the switch came back", r.lost);
}

#[test]
fn dt_switch_freeze_keepalive_failover_then_resume() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtz", 1);
    f.wait_formed();
    assert!(ping(&f.ns_srv, UP_IP, &[]));
    let (rx, tx) = stream(&f, 10 * u64::from(RATE));
    std::thread::sleep(Duration::from_secs(1));
    let victim = carrying_switch(&f, Duration::from_millis(500));
    let survivor = 1 - victim;
    let t0 = std::time::Instant::now();
    let t_freeze = lagd_trafgen::clock::now_ns();
    f.freeze_switch(victim);
    // No carrier changed: the survivor learns it from the silence of the peer link and the
    // keepalive.
    f.wait("survivor acts alone", |f| {
        f.dt(survivor)["status"]["state"] == "alone"
    });
    let alone_after = t0.elapsed();
    f.wait("server on the survivor's two links only", |f| {
        let s = f.server();
        s.members.iter().filter(|m| m.distributing).count() == 2
    });
    let server_after = t0.elapsed();
    let (sent, r) = finish(rx, tx);
    let who = if victim == 0 {
        "A (primary)"
    } else {
        "B (secondary)"
    };
    println!(
        "switch {who} frozen: sent {}, received {}, lost {}, duplicated {}, max gap {:?} after seq {}",
        sent.sent, r.received, r.lost, r.duplicated, r.max_gap, r.max_gap_after_seq
    );
    println!(
        "gap started {:.3} s after the freeze; survivor alone after {:.3} s; server on 2 links after {:.3} s",
        (r.max_gap_start_ns as f64 - t_freeze as f64) / 1e9,
        alone_after.as_secs_f64(),
        server_after.as_secs_f64()
    );
    if r.max_gap >= FREEZE_BOUND {
        println!(
            "survivor log:\n{}",
            f.sw[survivor]
                .as_ref()
                .map(|d| d.log_text())
                .unwrap_or_default()
        );
        println!("server log:\n{}", f.srv.log_text());
    }
    assert_eq!(r.duplicated, 0);
    assert!(r.max_gap < FREEZE_BOUND, "gap {:?}", r.max_gap);
    let in_gap = r.max_gap.as_millis() as u64 * u64::from(RATE) / 1000;
    assert!(
        r.lost <= in_gap + 50,
        "lost {} with a gap of {:?}",
        r.lost,
        r.max_gap
    );
    assert!(ping(&f.ns_srv, UP_IP, &[]));
    // Resumed: the frozen lagd finds its timers long expired and a peer that acted alone; the
    // pair re-forms and the server gets its four links back without a second outage.
    let (rx, tx) = stream(&f, 10 * u64::from(RATE));
    std::thread::sleep(Duration::from_millis(500));
    f.thaw_switch(victim);
    wait_pair_up_again(&mut f);
    let (sent, r) = finish(rx, tx);
    println!(
        "switch {who} resumed: sent {}, received {}, lost {}, duplicated {}, max gap {:?}",
        sent.sent, r.received, r.lost, r.duplicated, r.max_gap
    );
    if r.lost > 50 || r.duplicated > 0 {
        let dir = std::env::var("DT_FAILOVER_LOGS").unwrap_or_default();
        if !dir.is_empty() {
            for (name, d) in [
                ("victim", f.sw[victim].as_ref()),
                ("survivor", f.sw[survivor].as_ref()),
            ] {
                let _ = std::fs::write(
                    format!("{dir}/{name}.log"),
                    d.map(|d| d.log_text()).unwrap_or_default(),
                );
            }
            let _ = std::fs::write(format!("{dir}/server.log"), f.srv.log_text());
            let _ = std::fs::write(format!("{dir}/upstream.log"), f.up.log_text());
            let _ = std::fs::write(format!("{dir}/dump.txt"), f.dump());
            println!(
                "resume gap started at {} ns (unix clock), logs in {dir}",
                r.max_gap_start_ns
            );
        }
    }
    assert_eq!(r.duplicated, 0);
    assert!(r.lost <= 50, "lost {} while the switch resumed", r.lost);
}

#[test]
fn dt_split_brain_no_duplicates_no_loop_then_heals() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtb", 1);
    f.wait_formed();
    assert!(ping(&f.ns_srv, UP_IP, &[]));
    let (rx, tx) = stream(&f, 6 * u64::from(RATE));
    std::thread::sleep(Duration::from_secs(1));
    // Peer link down (both ends lose carrier), keepalive stays.
    f.net
        .exec(&f.ns_sw[0], &["ip", "link", "set", &f.peer_link[0], "down"])
        .unwrap();
    f.wait("split brain on both switches", |f| {
        f.dt(0)["status"]["state"] == "split-brain" && f.dt(1)["status"]["state"] == "split-brain"
    });
    // The secondary gave way: only the primary's links carry the server.
    f.wait("server on the primary's links only", |f| {
        let s = f.server();
        let live: Vec<_> = s.members.iter().filter(|m| m.distributing).collect();
        live.len() == 2 && live.iter().all(|m| m.partner.port.number < 0x8000)
    });
    let (sent, r) = finish(rx, tx);
    println!(
        "split brain: sent {}, received {}, lost {}, duplicated {}, max gap {:?}",
        sent.sent, r.received, r.lost, r.duplicated, r.max_gap
    );
    assert_eq!(r.duplicated, 0);
    // Broadcasts from the server: the upstream host's receive counter stays bounded.
    let up_links = f
        .upstream()
        .members
        .iter()
        .map(|m| m.name.clone())
        .collect::<Vec<_>>();
    let rx_up = |f: &Fabric| -> u64 { up_links.iter().map(|l| f.rx_packets(&f.ns_up, l)).sum() };
    let before = rx_up(&f);
    let _ = f.net.exec(
        &f.ns_srv,
        &[
            "ping",
            "-b",
            "-c",
            "20",
            "-i",
            "0.05",
            "-W",
            "1",
            "198.18.0.255",
        ],
    );
    std::thread::sleep(Duration::from_millis(500));
    let delta = rx_up(&f) - before;
    println!("20 broadcasts: the upstream host received {delta} frames");
    assert!(delta < 200, "a loop? {delta} frames for 20 broadcasts");
    // Heal: the peer link comes back, the secondary's links return.
    f.net
        .exec(&f.ns_sw[0], &["ip", "link", "set", &f.peer_link[0], "up"])
        .unwrap();
    wait_pair_up_again(&mut f);
    assert!(ping(&f.ns_srv, UP_IP, &[]));
}

/// The switch pair is the hosts' gateway (198.18.0.254 and 2001:2::fe on both bridges, one
/// shared MAC, as an anycast gateway is configured): each switch installs the neighbour
/// entries the other resolved (ARP and IPv6 ND sync), so whichever switch survives reaches the
/// server at once, and the server's gateway entry survives the loss of either switch.
///
/// Which switch resolves the server first is the machine's choice (the server's ARP and ND
/// frames reach both, its pings only the one its hash picks), and an entry a switch holds from
/// its peer stays externally learned when its own kernel confirms it later: the test finds the
/// switch that resolved the server itself, makes the other forget its entries and waits for the
/// peer's to be installed. (It once waited for switch A to resolve them itself; under load B's
/// announcement reached A between A's kernel resolving the server and A's next neighbour poll,
/// and lagd replaced A's own entries with B's: "A resolved the server: not reached" in CI. lagd
/// no longer overwrites an entry the kernel resolved.)
#[test]
fn dt_gateway_neighbour_entries_survive_the_loss_of_either_switch() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtg", 1);
    for ns in f.ns_sw.clone() {
        for args in [
            &["ip", "link", "set", "br0", "address", GW_MAC][..],
            &["ip", "addr", "add", "198.18.0.254/24", "dev", "br0"][..],
            &[
                "ip",
                "-6",
                "addr",
                "add",
                "2001:2::fe/64",
                "dev",
                "br0",
                "nodad",
            ][..],
        ] {
            f.net.exec(&ns, args).unwrap();
        }
    }
    f.wait_formed();
    f.net
        .exec(
            &f.ns_srv,
            &[
                "ip",
                "-6",
                "addr",
                "add",
                "2001:2::1/64",
                "dev",
                "bond0",
                "nodad",
            ],
        )
        .unwrap();
    let srv_mac = f
        .net
        .exec(&f.ns_srv, &["cat", "/sys/class/net/bond0/address"])
        .unwrap()
        .trim()
        .to_string();
    assert!(ping(&f.ns_srv, "198.18.0.254", &[]), "{}", f.dump());
    assert!(ping(&f.ns_srv, "2001:2::fe", &["-6"]), "{}", f.dump());
    let gw4 =
        neighbour(&f, &f.ns_srv, "bond0", "198.18.0.254").expect("the server's gateway entry");
    let gw6 =
        neighbour(&f, &f.ns_srv, "bond0", "2001:2::fe").expect("the server's IPv6 gateway entry");
    assert_eq!((gw4.0.as_str(), gw6.0.as_str()), (GW_MAC, GW_MAC));
    // A switch that resolved the server itself (both addresses, not installed from the peer):
    // the other forgets its own entries and gets that switch's (extern_learn), within a
    // neighbour poll and a PDU.
    let mut resolver = None;
    f.wait("a switch resolved the server (IPv4 and IPv6)", |f| {
        resolver = (0..2).find(|&i| {
            SRV_IPS.iter().all(|ip| {
                neighbour(f, &f.ns_sw[i], "br0", ip).is_some_and(|(mac, flags)| {
                    mac == srv_mac && !flags.iter().any(|x| x == "extern_learn")
                })
            })
        });
        resolver.is_some()
    });
    let resolver = resolver.unwrap();
    let other = 1 - resolver;
    for ip in SRV_IPS {
        let _ = f
            .net
            .exec(&f.ns_sw[other], &["ip", "neigh", "del", ip, "dev", "br0"]);
    }
    f.wait(
        "the other switch installed the resolver's entries of the server",
        |f| {
            SRV_IPS.iter().all(|ip| {
                neighbour(f, &f.ns_sw[other], "br0", ip).is_some_and(|(mac, flags)| {
                    mac == srv_mac && flags.iter().any(|x| x == "extern_learn")
                })
            })
        },
    );
    let v = f.dt(other);
    println!(
        "switch {} resolved the server; switch {}'s neighbour sync: {}",
        SWITCH[resolver], SWITCH[other], v["status"]["neighbours"]
    );
    assert!(
        v["status"]["neighbours"]["installed"].as_u64().unwrap_or(0) >= 2,
        "{v}"
    );
    // Loss of the resolver: the other switch answers at once with the entries it holds from
    // the resolver.
    gateway_survives_the_loss_of(&mut f, resolver, &srv_mac);
    // The resolver comes back: it lost its neighbour entries with its links, and the survivor
    // does not pass on the entries it holds from it (a gone host's entry would circulate
    // between the two forever). The switches resolve the server again when they talk to it;
    // with one gateway MAC, the server's answers reach only the switch its hash picks, and the
    // other gets the entry by neighbour sync. Then loss of the other switch.
    f.revive_switch(resolver);
    f.wait_formed();
    f.wait("the resolver holds the server's entries again", |f| {
        for ns in f.ns_sw.clone() {
            for ip in SRV_IPS {
                let _ = f.net.exec(&ns, &["ping", "-c", "1", "-W", "1", ip]);
            }
        }
        SRV_IPS.iter().all(|ip| {
            neighbour(f, &f.ns_sw[resolver], "br0", ip).is_some_and(|(mac, _)| mac == srv_mac)
        })
    });
    gateway_survives_the_loss_of(&mut f, other, &srv_mac);
}

/// The shared gateway MAC of [`dt_gateway_neighbour_entries_survive_the_loss_of_either_switch`].
const GW_MAC: &str = "02:d7:00:00:00:fe";
/// The server's addresses (IPv4, IPv6) in that test.
const SRV_IPS: [&str; 2] = ["198.18.0.1", "2001:2::1"];
const SWITCH: [&str; 2] = ["A", "B"];

/// Switch `victim` dies: the server moves to the survivor's two links, reaches its gateway
/// over IPv4 and IPv6 with its gateway entries unchanged (the shared MAC), and the survivor
/// still holds the server's neighbour entries (`srv_mac`).
fn gateway_survives_the_loss_of(f: &mut Fabric, victim: usize, srv_mac: &str) {
    let survivor = 1 - victim;
    f.kill_switch(victim);
    f.wait(
        &format!("the server on switch {}'s links only", SWITCH[survivor]),
        |f| {
            let s = f.server();
            s.up && s.members.iter().filter(|m| m.distributing).count() == 2
        },
    );
    assert!(ping(&f.ns_srv, "198.18.0.254", &[]), "{}", f.dump());
    assert!(ping(&f.ns_srv, "2001:2::fe", &["-6"]), "{}", f.dump());
    for gw in ["198.18.0.254", "2001:2::fe"] {
        assert_eq!(
            neighbour(f, &f.ns_srv, "bond0", gw).map(|e| e.0),
            Some(GW_MAC.to_string()),
            "the server's entry of its gateway {gw} after the loss of switch {}",
            SWITCH[victim]
        );
    }
    for ip in SRV_IPS {
        let e = neighbour(f, &f.ns_sw[survivor], "br0", ip);
        assert!(
            e.as_ref().is_some_and(|(mac, _)| *mac == srv_mac),
            "switch {}'s entry of {ip} after the loss of switch {}: {e:?}",
            SWITCH[survivor],
            SWITCH[victim]
        );
    }
}

/// The neighbour entry of `ip` on `dev` in namespace `ns`: its link-layer address and flags
/// (`extern_learn`, ...) as `ip -j neigh` gives them, if it has one.
fn neighbour(f: &Fabric, ns: &str, dev: &str, ip: &str) -> Option<(String, Vec<String>)> {
    let out = f
        .net
        .exec(ns, &["ip", "-j", "neigh", "show", ip, "dev", dev])
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    let e = v.as_array()?.first()?.clone();
    let mac = e["lladdr"].as_str()?.to_string();
    // Flags: in a "flags" array, or as keys of their own (`"extern_learn": null`).
    let mut flags: Vec<String> = e["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    if let Some(o) = e.as_object() {
        flags.extend(
            o.iter()
                .filter(|(_, v)| v.is_null())
                .map(|(k, _)| k.clone()),
        );
    }
    Some((mac, flags))
}
