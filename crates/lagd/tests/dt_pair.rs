//! Distributed Trunking in namespaces: a server's 4-link aggregation to a DT pair sees one
//! partner system on all 4 members, and reaches the upstream host by ping and TCP.
//!
//! Needs root. Bounds are generous; nothing asserts on elapsed time here.

mod common;
mod dt_fabric;
/// lagctl's checker of JSON documents against docs/schema/.
#[path = "../../lagctl/tests/common/schema.rs"]
#[allow(dead_code)]
mod schema;

use common::*;
use dt_fabric::wire::{Counter, frames_to, inject};
use dt_fabric::*;
use lagd_trafgen::{UdpReceiver, UdpReceiverConfig, UdpSender, UdpSenderConfig};
use lagd_types::MacAddr;
use std::time::Duration;

#[test]
fn dt_server_sees_one_partner_and_reaches_upstream() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtp", 1);
    f.wait_formed();
    let s = f.server();
    for m in &s.members {
        assert_eq!(m.partner.system.addr.to_string(), SHARED_SRV, "{m:?}");
        assert_eq!(m.partner.system.priority, 256);
    }
    let mut numbers: Vec<u16> = s.members.iter().map(|m| m.partner.port.number).collect();
    numbers.sort();
    assert_eq!(
        numbers,
        vec![1, 2, 0x8001, 0x8002],
        "secondary numbers from 0x8000"
    );
    // Both switches paired, roles by priority.
    let a = f.dt(0);
    let b = f.dt(1);
    assert_eq!(a["status"]["state"], "up", "{a}");
    assert_eq!(a["status"]["role"], "primary");
    assert_eq!(b["status"]["role"], "secondary");
    assert!(
        ping(&f.ns_srv, UP_IP, &[]),
        "ping server -> upstream\n{}",
        f.dump()
    );
    assert!(ping(&f.ns_up, SRV_IP, &[]), "ping upstream -> server");
    // TCP, several flows (spread over the links by the L4 hash).
    let sink = lagd_trafgen::TcpSink::spawn(lagd_trafgen::TcpSinkConfig {
        netns: Some(f.ns_up.clone()),
        ..lagd_trafgen::TcpSinkConfig::new(
            format!("{UP_IP}:0").parse().unwrap(),
            4,
            Duration::from_secs(30),
        )
    })
    .unwrap();
    let flows = lagd_trafgen::TcpFlows::spawn(lagd_trafgen::TcpFlowsConfig {
        netns: Some(f.ns_srv.clone()),
        rate_limit_bps: Some(2_000_000),
        ..lagd_trafgen::TcpFlowsConfig::new(sink.local_addr(), 4, Duration::from_secs(2))
    })
    .unwrap();
    let sent = flows.join().unwrap();
    let got = sink.join().unwrap();
    assert!(sent.all_ok(), "{sent:?}");
    assert!(got.all_intact(), "{got:?}");
    assert_eq!(got.total_bytes(), sent.total_bytes());
    assert!(got.total_bytes() > 0);
    // `lagctl show distributed-trunk status` / `show lacp trunk`, when lagctl is built beside
    // lagd (it is another package: skipped otherwise).
    let lagd_bin = std::path::Path::new(env!("CARGO_BIN_EXE_lagd"));
    let lagctl = lagd_bin.with_file_name("lagctl");
    let mtime = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    // A lagctl left over from an older build (`cargo test -p lagd` does not rebuild it) may
    // lack these verbs: use it only when it is at least as new as this lagd.
    let fresh = matches!((mtime(&lagctl), mtime(lagd_bin)), (Some(c), Some(d)) if c >= d);
    if lagctl.exists() && !fresh {
        println!(
            "lagctl beside lagd is older than lagd: skipping the show checks (cargo build -p lagctl)"
        );
    }
    if lagctl.exists() && fresh {
        let sock = f.sw[0].as_ref().unwrap().socket.clone();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&lagctl)
                .args(args)
                .arg("--socket")
                .arg(&sock)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        let st = run(&["show", "distributed-trunk", "status"]);
        println!("{st}");
        assert!(
            st.contains("primary") && st.contains("trk1") && st.contains("domain 7"),
            "{st}"
        );
        assert!(st.contains("Neighbour sync: "), "{st}");
        // Peer-link state and the filters' drop counters (issue 15 item 4).
        assert!(
            st.contains(&format!(
                "Peer link     : {} up: delivering the peer's PDUs (carrier up)",
                f.peer_link[0]
            )),
            "{st}"
        );
        assert!(
            st.contains("Peer filter   : egress filter: frames from the peer link kept out of "),
            "{st}"
        );
        assert!(st.contains("Refused       : bad address "), "{st}");
        assert!(
            st.contains("Ingress filter: DT frames (0x8952) dropped on trk1 (0), trk2 (0)"),
            "{st}"
        );
        let lt = run(&["show", "lacp", "trunk"]);
        println!("{lt}");
        assert!(lt.contains("trk1") && lt.contains("trk2"), "{lt}");
        // The JSON forms match their schemas (docs/schema/).
        for args in [
            &["show", "distributed-trunk", "status", "--json"][..],
            &["show", "lacp", "trunk", "--json"],
        ] {
            schema::check_text(&run(args), &args.join(" "));
        }
    } else {
        println!("lagctl not built beside lagd: CLI check skipped");
    }
    // MAC sync: each switch installed what the other learned on its DT aggregates (the
    // hosts' MACs; which switch learned them depends on the hash).
    f.wait("MAC addresses synced", Fabric::macs_synced);
}

#[test]
fn dt_mismatch_is_reported_and_secondary_ports_stay_down() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtm", 9);
    f.wait("mismatch reported on both switches", |f| {
        let a = f.dt(0);
        let b = f.dt(1);
        let diffs = |v: &serde_json::Value| {
            v["status"]["aggregations"]
                .as_array()
                .and_then(|x| x.iter().find(|g| g["config"]["id"] == 1))
                .map(|g| g["diffs"].clone())
                .unwrap_or_default()
        };
        let (da, db) = (diffs(&a), diffs(&b));
        da.as_array()
            .is_some_and(|d| d.iter().any(|x| x["field"] == "key"))
            && db
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x["field"] == "key"))
    });
    // The server forwards only on the primary's two links; the secondary's are down.
    f.wait("server on the primary's links only", |f| {
        let s = f.server();
        s.up && s.members.iter().filter(|m| m.distributing).count() == 2
    });
    std::thread::sleep(Duration::from_secs(3));
    let s = f.server();
    let live: Vec<_> = s.members.iter().filter(|m| m.distributing).collect();
    assert_eq!(live.len(), 2, "still only two");
    assert!(
        live.iter().all(|m| m.partner.port.number < 0x8000),
        "{live:?}"
    );
    let b = f.dt(1);
    let agg = b["status"]["aggregations"]
        .as_array()
        .and_then(|x| x.iter().find(|g| g["config"]["id"] == 1))
        .cloned()
        .unwrap_or_default();
    assert_eq!(agg["decision"]["ports_enabled"], false, "{agg}");
    assert!(ping(&f.ns_srv, UP_IP, &[]), "the primary still serves");
}

/// Broadcasts from the upstream host, one stream per UDP port (so the host's L4 hash sends them
/// to both switches); `(sent, received, duplicated)` summed over the server's receivers, and
/// how many frames the upstream host's aggregate received meanwhile (its own broadcasts coming
/// back would show there).
fn broadcast_round(f: &Fabric, base_port: u16) -> (u64, u64, u64, u64) {
    const STREAMS: u16 = 8;
    const COUNT: u64 = 50;
    let rxs: Vec<UdpReceiver> = (0..STREAMS)
        .map(|i| {
            UdpReceiver::spawn(UdpReceiverConfig {
                netns: Some(f.ns_srv.clone()),
                stream_id: u32::from(i) + 1,
                idle_timeout: Duration::from_secs(3),
                ..UdpReceiverConfig::new(
                    format!("0.0.0.0:{}", base_port + i).parse().unwrap(),
                    Duration::from_secs(20),
                )
            })
            .unwrap()
        })
        .collect();
    let up_before = f.rx_packets(&f.ns_up, "bond0");
    let txs: Vec<UdpSender> = (0..STREAMS)
        .map(|i| {
            UdpSender::spawn(UdpSenderConfig {
                netns: Some(f.ns_up.clone()),
                stream_id: u32::from(i) + 1,
                ..UdpSenderConfig::new(
                    format!("198.18.0.255:{}", base_port + i).parse().unwrap(),
                    200,
                    COUNT,
                )
            })
            .unwrap()
        })
        .collect();
    let sent: u64 = txs.into_iter().map(|t| t.join().unwrap().sent).sum();
    let (mut received, mut duplicated) = (0, 0);
    for r in rxs {
        let r = r.join().unwrap();
        received += r.received;
        duplicated += r.duplicated;
    }
    let echoed = f.rx_packets(&f.ns_up, "bond0") - up_before;
    (sent, received, duplicated, echoed)
}

/// Flooded frames are delivered once to every DT aggregation, with both halves of the server's
/// aggregation live and with one half down: the peer link carries the frames the dead half can
/// no longer deliver, and the peer-link filter keeps them out of every aggregation the other
/// switch delivers to itself (the upstream host never gets its own broadcasts back).
#[test]
fn dt_broadcast_delivered_once_with_both_halves_and_with_one() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtc", 1);
    f.wait_formed();
    // The switches learn each other's live members from DT PDUs (every 200 ms here), and the
    // filters follow those decisions: wait until both aggregations are filtered on both.
    f.wait("peer-link filters on trk1 and trk2 at A and B", |f| {
        (0..2).all(|i| {
            let v = f.dt(i);
            ["trk1", "trk2"].iter().all(|n| {
                v["peer_filter"]["filtered"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e[0] == *n)
            })
        })
    });
    let (sent, received, duplicated, echoed) = broadcast_round(&f, 41000);
    println!(
        "both halves: sent {sent}, server received {received} (duplicated {duplicated}), upstream got back {echoed}"
    );
    assert_eq!(duplicated, 0);
    assert_eq!(received, sent, "every broadcast reaches the server once");
    assert!(
        echoed < sent / 10,
        "the upstream host got {echoed} frames back"
    );
    // The server's half on switch B goes down: B needs A to deliver to the server.
    for l in f.sw_srv[1].clone() {
        f.net
            .exec(&f.ns_sw[1], &["ip", "link", "set", &l, "down"])
            .unwrap();
    }
    f.wait("server on switch A's links only", |f| {
        let s = f.server();
        s.members.iter().filter(|m| m.distributing).count() == 2
            && f.dt(0)["status"]["aggregations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| {
                    a["config"]["name"] == "trk1" && a["decision"]["isolate_peer_link"] == false
                })
    });
    // The decision is published at once; the filter follows at A's next reconcile.
    f.wait("no peer-link filter on trk1 at A", |f| {
        !f.dt(0)["peer_filter"]["filtered"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e[0] == "trk1")
    });
    std::thread::sleep(Duration::from_millis(300));
    let up_filtered = f.peer_filtered(0, "trk2") + f.peer_filtered(1, "trk2");
    let (sent, received, duplicated, echoed) = broadcast_round(&f, 42000);
    let up_filtered = f.peer_filtered(0, "trk2") + f.peer_filtered(1, "trk2") - up_filtered;
    println!(
        "one half: sent {sent}, server received {received} (duplicated {duplicated}), upstream got back {echoed}, peer-link filters dropped {up_filtered} at trk2"
    );
    assert_eq!(duplicated, 0);
    assert_eq!(received, sent, "every broadcast reaches the server once");
    assert!(
        echoed < sent / 10,
        "the upstream host got {echoed} frames back"
    );
    assert!(
        up_filtered >= sent,
        "each broadcast crossed the peer link and was kept out of trk2 there: {up_filtered}"
    );
    let a = f.dt(0);
    assert!(
        !a["peer_filter"]["filtered"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e[0] == "trk1"),
        "no filter on trk1 at A while B's half is down: {a}"
    );
    for l in f.sw_srv[1].clone() {
        f.net
            .exec(&f.ns_sw[1], &["ip", "link", "set", &l, "up"])
            .unwrap();
    }
    f.wait_formed();
}

/// The frames to `dst` that each of `links` (namespace, interface) carries while `send` runs.
fn counted(links: &[(String, String)], dst: MacAddr, send: impl FnOnce()) -> Vec<u64> {
    let counters: Vec<Counter> = links
        .iter()
        .map(|(ns, dev)| Counter::start(ns, dev, dst))
        .collect();
    send();
    // Bridged frames are forwarded in the sender's softirq; a moment for the counters to read.
    std::thread::sleep(Duration::from_millis(500));
    counters.into_iter().map(Counter::stop).collect()
}

/// A single-homed host behind switch B (an orphan port: a bridge port of no DT aggregation)
/// reached from a single-homed host behind switch A. The peer link learns nothing (a host's
/// frames the peer floods over it would teach the bridge a wrong port), so without MAC sync A
/// would flood every frame to that host onto all its ports. B's lagd announces the host's
/// address (DT aggregation id 0, orphan) and A's installs it on the peer link: each frame
/// crosses the peer link once as known unicast, and no member link of A or B carries a copy
/// (counted on every link with AF_PACKET sockets). A control round to an address nobody
/// announced shows what flooding looks like on the same counters.
#[test]
fn dt_orphan_host_behind_the_peer_is_reached_without_flooding() {
    if !can_run() {
        return;
    }
    const N: u32 = 1000;
    let mut f = Fabric::new("dto", 1);
    f.wait_formed();
    f.wait("pair up, peer-link filters on both switches", |f| {
        (0..2).all(|i| {
            let v = f.dt(i);
            v["status"]["state"] == "up"
                && v["peer_filter"]["filtered"]
                    .as_array()
                    .is_some_and(|x| x.len() == 2)
        })
    });
    let oa = f.orphan(0, "dtoa");
    let ob = f.orphan(1, "dtob");
    // B's bridge learns its orphan host from one frame the host sends; B's lagd announces it.
    assert_eq!(
        inject(&ob.ns, &ob.dev, frames_to(ob.mac, oa.mac, 1), 100),
        1
    );
    let pl_a = f.ifindex(0, &f.peer_link[0].clone());
    f.wait("A holds B's orphan host's address on the peer link", |f| {
        f.lagd_fdb(0).contains(&(ob.mac, 0, pl_a))
    });
    let fdb_a: Vec<_> = f.fdb(0).into_iter().filter(|e| e.0 == ob.mac).collect();
    assert_eq!(
        fdb_a,
        [(ob.mac, 0, pl_a, true)],
        "A's one entry for the host: lagd's, on the peer link"
    );
    let v = f.dt(0);
    println!(
        "A: {} addresses installed from the peer, {ob_mac} on the peer link (ifindex {pl_a})",
        v["status"]["macs_installed"],
        ob_mac = ob.mac
    );
    // Every link of both switches but the orphan ports and the keepalive: the members (each
    // switch: two of the server's links, one of the upstream host's) and the peer link.
    let members = |f: &Fabric, i: usize| -> Vec<(String, String)> {
        f.sw_links[i]
            .iter()
            .filter(|l| **l != f.peer_link[i] && **l != f.keepalive[i])
            .map(|l| (f.ns_sw[i].clone(), l.clone()))
            .collect()
    };
    let mut links = vec![(f.ns_sw[0].clone(), f.peer_link[0].clone())];
    links.extend(members(&f, 0));
    links.extend(members(&f, 1));
    links.push((ob.ns.clone(), ob.dev.clone()));
    let summary = |c: &[u64]| {
        format!(
            "A's peer link {}, A's member links {:?}, B's member links {:?}, B's orphan host {}",
            c[0],
            &c[1..4],
            &c[4..7],
            c[7]
        )
    };

    // Control: frames to an address nobody announced are flooded by A onto its member links
    // (one member of each DT aggregate) and the peer link; B keeps them off its own DT
    // aggregates (peer-link filter) and floods them to its orphan host.
    let nobody = MacAddr([2, 0x6f, 0, 0, 0, 1]);
    let c = counted(&links, nobody, || {
        inject(&oa.ns, &oa.dev, frames_to(oa.mac, nobody, 100), 1000);
    });
    println!("control, 100 frames to an unknown address: {}", summary(&c));
    assert_eq!(c[1..4].iter().sum::<u64>(), 200, "flooding shows: {c:?}");

    // The real round: to B's orphan host.
    let c = counted(&links, ob.mac, || {
        assert_eq!(
            inject(&oa.ns, &oa.dev, frames_to(oa.mac, ob.mac, N), 1000),
            N as usize
        );
    });
    println!("{N} frames from A's orphan host to B's: {}", summary(&c));
    assert_eq!(c[0], u64::from(N), "each frame crossed the peer link once");
    assert_eq!(c[1..7], [0; 6], "no copy on any member link");
    assert_eq!(c[7], u64::from(N), "every frame reached the host");
}

/// A killed lagd removes nothing: the static entries it installed for the peer's addresses on
/// the peer link (a port lagd does not own, so the kernel keeps them, unlike those on the DT
/// aggregates, which go with their TAPs) stay behind. Its next start removes them before it hears
/// any peer. Here: B's single-homed host, held on A's peer link; A's lagd killed, B's stopped (so
/// nothing announces the host again), A's started again alone.
#[test]
fn dt_a_killed_lagds_leftover_entries_are_removed_at_its_next_start() {
    if !can_run() {
        return;
    }
    let mut f = Fabric::new("dtk", 1);
    f.wait_formed();
    let ob = f.orphan(1, "dtkb");
    let nobody = MacAddr([2, 0x6f, 0, 0, 0, 2]);
    assert_eq!(
        inject(&ob.ns, &ob.dev, frames_to(ob.mac, nobody, 1), 100),
        1
    );
    let pl_a = f.ifindex(0, &f.peer_link[0].clone());
    f.wait("A holds B's orphan host's address on the peer link", |f| {
        f.lagd_fdb(0).contains(&(ob.mac, 0, pl_a))
    });
    if let Some(mut d) = f.sw[0].take() {
        let _ = d.child.kill();
        let _ = d.child.wait();
    }
    let left = f.lagd_fdb(0);
    println!("A's lagd killed: its entries left {left:?}");
    assert!(
        left.contains(&(ob.mac, 0, pl_a)),
        "the kernel keeps what a killed lagd installed: {left:?}"
    );
    let mut b = f.sw[1].take().expect("switch B running");
    b.signal("TERM");
    let st = b.wait_exit();
    assert!(st.success(), "{st}\n{}", b.log_text());
    f.revive_switch(0);
    f.wait("A started again, alone", |f| {
        f.dt(0)["status"]["state"] == "alone"
    });
    let left = f.lagd_fdb(0);
    let log = f.sw[0].as_ref().map(|d| d.log_text()).unwrap_or_default();
    println!(
        "A started again: lagd entries {left:?}; {}",
        log.lines()
            .filter(|l| l.contains("left by an earlier lagd"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert!(left.is_empty(), "left behind: {left:?}");
}
