//! Switch-independent load balancing (issue 16) on a switch that knows nothing of it: a host
//! with four members on a Linux bridge (default settings: it learns MACs, nothing else), eight
//! peers on the bridge's other ports, each in its own namespace.
//!
//! - `adaptive-lb`: UDP streams from every peer to the host and from the host to every peer;
//!   each member receives 15–35 % of the peers' traffic, and every member sends. A member cut
//!   under traffic: its peers are re-mapped (show-aggr), the gap of each stream is measured and
//!   printed, nothing is duplicated; restored, it receives its share again.
//! - `transmit-lb`: the host's streams leave on every member, the peers' arrive on one member.
//!   Its receive member cut under traffic: the next one receives (gaps printed, nothing
//!   duplicated).
//! - In both, a thread reads the bridge's FDB every 100 ms and `bridge monitor fdb` reports
//!   every entry it adds or moves: the aggregate's MAC is never learned on two ports at once,
//!   and never anywhere but on the receive member's port (which stays the same in these tests).
//! - `adaptive-lb` with IPv6 peers (Neighbour Discovery): the same spread, cut and return.
//! - transmit-lb's receive failover announces the aggregate's IPv4 and IPv6 addresses
//!   (gratuitous ARP, unsolicited NA), read from the kernel.
//! - All with the kernel fast path (`offload = auto`, the default): the tests assert that it
//!   runs and print how many frames it carried; lagd sees ARP, ND, broadcasts and learning
//!   frames.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). No timed assertion: gaps are
//! printed.

mod common;

use common::*;
use lagd::control::proto::{AggrStatus, BalancerStatus};
use lagd_dataplane::netns;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MEMBERS: usize = 4;
const PEERS: usize = 8;
const HOST_IP: [u8; 4] = [198, 18, 0, 1];

fn peer_ip(i: usize) -> [u8; 4] {
    [198, 18, 0, 10 + i as u8]
}

fn dotted(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

const HOST_IP6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);

fn peer_ip6(i: usize) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x10 + i as u16)
}

/// Peer `i`'s address in the family the LAN's streams use.
fn peer_addr(v6: bool, i: usize) -> std::net::IpAddr {
    if v6 {
        peer_ip6(i).into()
    } else {
        peer_ip(i).into()
    }
}

/// The host, the bridge and the peers. Drops in order: client, daemon, directory, namespaces.
struct Lan {
    c: lagd::client::Client,
    d: Daemon,
    _dir: TempDir,
    host: String,
    sw: String,
    /// The host's members, and the bridge ports they are plugged into.
    members: Vec<String>,
    sw_ports: Vec<String>,
    peers: Vec<String>,
    /// The streams and first pings are IPv6 (every host has both families' addresses).
    v6: bool,
    net: netns::TestNet,
}

impl Lan {
    fn start(tag: &str, mode: &str) -> Lan {
        Lan::start_with(tag, mode, false)
    }

    fn start_with(tag: &str, mode: &str, v6: bool) -> Lan {
        let mut net = netns::TestNet::new();
        let host = net.netns(&format!("{tag}H")).unwrap();
        let sw = net.netns(&format!("{tag}S")).unwrap();
        net.exec(&sw, &["ip", "link", "add", "br0", "type", "bridge"])
            .unwrap();
        net.exec(&sw, &["ip", "link", "set", "br0", "up"]).unwrap();
        let plug = |net: &netns::TestNet, port: &str| {
            net.exec(&sw, &["ip", "link", "set", port, "master", "br0", "up"])
                .unwrap();
        };
        let mut members = Vec::new();
        let mut sw_ports = Vec::new();
        for _ in 0..MEMBERS {
            let (m, s) = net.veth("al", Some(&host), Some(&sw)).unwrap();
            plug(&net, &s);
            members.push(m);
            sw_ports.push(s);
        }
        let mut peers = Vec::new();
        for i in 0..PEERS {
            let p = net.netns(&format!("{tag}P{i}")).unwrap();
            let (pe, s) = net.veth("ap", Some(&p), Some(&sw)).unwrap();
            plug(&net, &s);
            net.exec(
                &p,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{}/24", dotted(peer_ip(i))),
                    "dev",
                    &pe,
                ],
            )
            .unwrap();
            let a6 = format!("{}/64", peer_ip6(i));
            net.exec(&p, &["ip", "-6", "addr", "add", &a6, "dev", &pe, "nodad"])
                .unwrap();
            net.exec(&p, &["ip", "link", "set", &pe, "up"]).unwrap();
            peers.push(p);
        }
        let dir = TempDir::new(tag);
        let config = aggr_config(&members, &format!("mode = \"{mode}\"\n"));
        let mut d = Daemon::start(&host, &dir, "h", &config);
        let mut c = d.client();
        wait_for(&mut d, &mut c, AGGR, "all members forwarding", |s| {
            all_forwarding(s, MEMBERS)
        });
        net.exec(
            &host,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/24", dotted(HOST_IP)),
                "dev",
                AGGR,
            ],
        )
        .unwrap();
        let a6 = format!("{HOST_IP6}/64");
        net.exec(
            &host,
            &["ip", "-6", "addr", "add", &a6, "dev", AGGR, "nodad"],
        )
        .unwrap();
        let lan = Lan {
            c,
            d,
            _dir: dir,
            host,
            sw,
            members,
            sw_ports,
            peers,
            v6,
            net,
        };
        let (target, extra) = if v6 {
            (HOST_IP6.to_string(), vec!["-6"])
        } else {
            (dotted(HOST_IP), vec![])
        };
        for (i, p) in lan.peers.iter().enumerate() {
            assert!(
                ping(p, &target, &extra),
                "peer {i} cannot reach the host; log:\n{}",
                lan.d.log_text()
            );
        }
        lan
    }

    fn status(&mut self) -> AggrStatus {
        self.c
            .show_aggr(Some(AGGR))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    }

    fn balancer(&mut self) -> BalancerStatus {
        self.status()
            .balancer
            .expect("a switch-independent mode shows its balancer")
    }

    /// A counter of every member (`rx_packets`, `tx_packets`), read at once (one process).
    fn counters(&self, what: &str) -> Vec<u64> {
        let files: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("/sys/class/net/{m}/statistics/{what}"))
            .collect();
        let mut cmd = vec!["cat"];
        cmd.extend(files.iter().map(String::as_str));
        let v: Vec<u64> = self
            .net
            .exec(&self.host, &cmd)
            .unwrap()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(v.len(), self.members.len());
        v
    }

    /// What the kernel fast path carried so far: (frames sent, frames delivered). Asserts that
    /// it runs (`offload = auto`, the default) with a receive program on every member.
    fn kernel(&mut self) -> (u64, u64) {
        let o = self.status().offload.expect("offload status");
        assert!(
            o.active && o.rx_members == MEMBERS,
            "the kernel fast path carries this mode: {o:?}"
        );
        (o.frames, o.rx_frames)
    }

    /// Each member's share of `what` over `window`, the frames in all, and how many frames the
    /// kernel carried (`rx_packets`: delivered by the receive programs; `tx_packets`: sent by
    /// the TX program) in a window that encloses the members' (so, under load, it may count
    /// more than the members' window holds; it is read around theirs so that a slow read
    /// never makes the kernel's share look small).
    fn kernel_shares(&mut self, what: &str, window: Duration) -> (Vec<f64>, u64, u64) {
        let k0 = self.kernel();
        let a = self.counters(what);
        std::thread::sleep(window);
        let b = self.counters(what);
        let k1 = self.kernel();
        let d: Vec<u64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
        let total: u64 = d.iter().sum();
        let s = d.iter().map(|x| *x as f64 / total.max(1) as f64).collect();
        let k = if what == "rx_packets" {
            k1.1 - k0.1
        } else {
            k1.0 - k0.0
        };
        eprintln!(
            "  {what}: {total} frames on the members; the kernel carried {k} in a window around theirs"
        );
        (s, total, k)
    }

    /// Streams from every peer to the host and back, `pps` each, `count` datagrams.
    fn streams(&self, pps: u32, count: u64, base: u16) -> (Vec<Udp>, Vec<Udp>) {
        let up = (0..PEERS)
            .map(|i| {
                let host: std::net::IpAddr = if self.v6 {
                    HOST_IP6.into()
                } else {
                    HOST_IP.into()
                };
                Udp::start(
                    &self.peers[i],
                    &self.host,
                    host,
                    base + i as u16,
                    pps,
                    count,
                )
            })
            .collect();
        let down = (0..PEERS)
            .map(|i| {
                Udp::start(
                    &self.host,
                    &self.peers[i],
                    peer_addr(self.v6, i),
                    base + 100 + i as u16,
                    pps,
                    count,
                )
            })
            .collect();
        (up, down)
    }

    /// The bridge port of the receive member.
    fn rx_port(&mut self) -> String {
        let rx = self.balancer().receive_member.expect("a receive member");
        let i = self.members.iter().position(|m| *m == rx).unwrap();
        self.sw_ports[i].clone()
    }

    fn set_switch_port(&self, i: usize, up: bool) {
        self.net
            .exec(
                &self.sw,
                &[
                    "ip",
                    "link",
                    "set",
                    &self.sw_ports[i],
                    if up { "up" } else { "down" },
                ],
            )
            .unwrap();
    }
}

/// Watches the bridge's FDB for `mac` until finished: reads the table every 100 ms (the most
/// ports it saw holding `mac` at once) and follows `bridge monitor fdb`, which reports every
/// entry the bridge adds or moves, so a move and its return between two reads is seen too.
/// Keeps every port `mac` was ever on.
struct FdbWatch {
    stop: Arc<AtomicBool>,
    most: Arc<AtomicUsize>,
    samples: Arc<AtomicUsize>,
    ports: Arc<Mutex<BTreeSet<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    monitor: std::process::Child,
    reader: Option<std::thread::JoinHandle<(usize, usize)>>,
}

/// What an [`FdbWatch`] saw.
struct FdbSeen {
    /// The most ports holding the MAC in one read of the table.
    most: usize,
    /// Reads of the table.
    samples: usize,
    /// Every port the MAC was on, in the reads and in the monitor's notifications.
    ports: BTreeSet<String>,
    /// The monitor's notifications that named the MAC on a port.
    events: usize,
    /// The monitor's lines about any MAC (entries learned, moved, flushed): it was listening.
    lines: usize,
}

impl FdbWatch {
    fn start(sw: &str, mac: String) -> FdbWatch {
        use std::io::BufRead;
        let stop = Arc::new(AtomicBool::new(false));
        let most = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(AtomicUsize::new(0));
        let ports = Arc::new(Mutex::new(BTreeSet::new()));
        // Started first, so that nothing the first read shows can move unseen after it.
        let mut monitor = std::process::Command::new("ip")
            .args(["netns", "exec", sw, "bridge", "monitor", "fdb"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("bridge monitor fdb");
        let out = monitor.stdout.take().unwrap();
        let (p3, mac3) = (ports.clone(), mac.clone());
        let reader = std::thread::spawn(move || {
            let (mut events, mut lines) = (0, 0);
            // `MAC dev PORT master br0 ...`; removals start with `Deleted`.
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                lines += 1;
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.first() != Some(&mac3.as_str()) {
                    continue;
                }
                if let Some(i) = f.iter().position(|x| *x == "dev")
                    && let Some(port) = f.get(i + 1)
                {
                    p3.lock().unwrap().insert(port.to_string());
                    events += 1;
                }
            }
            (events, lines)
        });
        let (s2, m2, n2, p2, sw) = (
            stop.clone(),
            most.clone(),
            samples.clone(),
            ports.clone(),
            sw.to_string(),
        );
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                if let Ok(out) = netns::ns_cmd(&sw, &["bridge", "-j", "fdb", "show", "br", "br0"])
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(&out)
                {
                    let ports: std::collections::BTreeSet<String> = v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|e| e["mac"].as_str() == Some(mac.as_str()))
                        .filter_map(|e| e["ifname"].as_str().map(str::to_string))
                        .collect();
                    m2.fetch_max(ports.len(), Ordering::Relaxed);
                    n2.fetch_add(1, Ordering::Relaxed);
                    p2.lock().unwrap().extend(ports);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        FdbWatch {
            stop,
            most,
            samples,
            ports,
            thread: Some(thread),
            monitor,
            reader: Some(reader),
        }
    }

    fn finish(mut self) -> FdbSeen {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
        let (events, lines) = self
            .reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or((0, 0));
        FdbSeen {
            most: self.most.load(Ordering::Relaxed),
            samples: self.samples.load(Ordering::Relaxed),
            ports: self.ports.lock().unwrap().clone(),
            events,
            lines,
        }
    }
}

impl Drop for FdbWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
    }
}

/// Asserts what the issue asks of the switch: it never held the aggregate's MAC on two ports
/// at once, and, since the receive member stays the same through the test, it never moved it
/// either: the MAC was only ever on `rx_port`, the receive member's port.
fn assert_fdb_held_still(seen: &FdbSeen, mac: &str, rx_port: &str) {
    eprintln!(
        "bridge FDB: the aggregate's MAC {mac} on at most {} port(s) in {} reads; ever on {:?} \
         ({} of the monitor's {} notifications; the receive member's port is {rx_port})",
        seen.most, seen.samples, seen.ports, seen.events, seen.lines
    );
    assert!(seen.samples > 10, "FDB not read");
    assert!(
        seen.most <= 1,
        "the aggregate's MAC on {} ports at once",
        seen.most
    );
    assert!(
        seen.ports.iter().all(|p| p == rx_port),
        "the switch moved the aggregate's MAC {mac}: seen on {:?}, the receive member's port is \
         {rx_port}",
        seen.ports
    );
}

fn percent(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{:.1}%", x * 100.0))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn adaptive_lb_balances_both_directions_and_fails_over() {
    if !root_or_skip("adaptive_lb_balances_both_directions_and_fails_over") {
        return;
    }
    adaptive_lb("alb4", false);
}

/// The same with IPv6 peers: lagd answers their Neighbour Solicitations from a member's MAC
/// each (solicited advertisements rewritten), re-maps them by unsolicited advertisements with
/// Override when their member is cut, and gives the member its share back on its return.
#[test]
fn adaptive_lb_balances_ipv6_peers_by_neighbour_advertisements() {
    if !root_or_skip("adaptive_lb_balances_ipv6_peers_by_neighbour_advertisements") {
        return;
    }
    adaptive_lb("alb6", true);
}

fn adaptive_lb(tag: &str, v6: bool) {
    let family = if v6 { "IPv6" } else { "IPv4" };
    let host_addr = if v6 {
        HOST_IP6.to_string()
    } else {
        dotted(HOST_IP)
    };
    let mut lan = Lan::start_with(tag, "adaptive-lb", v6);
    let mac = lan.status().mac.to_string();
    let fdb = FdbWatch::start(&lan.sw, mac.clone());

    let (up, down) = lan.streams(1000, 12_000, 6000);
    std::thread::sleep(Duration::from_secs(3));
    let (rx, rx_total, rx_kernel) = lan.kernel_shares("rx_packets", Duration::from_secs(2));
    let (tx, tx_total, tx_kernel) = lan.kernel_shares("tx_packets", Duration::from_secs(2));
    // The UDP streams are unicast between known addresses: the kernel carries them (lagd sees
    // ARP, learning frames, broadcasts): at least half of what the members counted.
    assert!(
        rx_kernel * 2 >= rx_total && tx_kernel * 2 >= tx_total,
        "kernel: {rx_kernel} of {rx_total} received, {tx_kernel} of {tx_total} sent"
    );
    let b = lan.balancer();
    eprintln!(
        "adaptive-lb ({family}), peers -> host: {} of {rx_total} frames per member",
        percent(&rx)
    );
    eprintln!(
        "adaptive-lb ({family}), host -> peers: {} of {tx_total} frames per member",
        percent(&tx)
    );
    for i in 0..PEERS {
        let ip = peer_addr(v6, i).to_string();
        let p = b
            .peers
            .iter()
            .find(|p| p.ip == ip)
            .unwrap_or_else(|| panic!("peer {ip} not in the balancer's table: {b:?}"));
        let neigh =
            netns::ns_cmd(&lan.peers[i], &["ip", "neigh", "show", &host_addr]).unwrap_or_default();
        eprintln!(
            "  peer {} -> {} (its entry: {})",
            p.ip,
            p.member,
            neigh.trim()
        );
    }
    for m in &b.members {
        eprintln!("  member {} MAC {}", m.name, m.mac);
    }
    for (i, s) in rx.iter().enumerate() {
        assert!(
            (0.15..=0.35).contains(s),
            "member {} receives {:.1}% (want 15-35%): {}; balancer {b:?}",
            lan.members[i],
            s * 100.0,
            percent(&rx)
        );
    }
    // The host's streams too (issue 16: each member 15-35 % both ways): the bucket table's
    // rebalancer evens out the eight streams.
    for (i, s) in tx.iter().enumerate() {
        assert!(
            (0.15..=0.35).contains(s),
            "member {} sends {:.1}% (want 15-35%): {}",
            lan.members[i],
            s * 100.0,
            percent(&tx)
        );
    }

    // Cut a member that is not the receive member, under traffic.
    let cut = (0..MEMBERS)
        .find(|i| b.receive_member.as_deref() != Some(lan.members[*i].as_str()))
        .unwrap();
    let cut_name = lan.members[cut].clone();
    let moved: Vec<String> = b
        .peers
        .iter()
        .filter(|p| p.member == cut_name)
        .map(|p| p.ip.clone())
        .collect();
    assert!(!moved.is_empty(), "no peer on {cut_name}: {b:?}");
    lan.set_switch_port(cut, false);
    wait_for(&mut lan.d, &mut lan.c, AGGR, "the cut member out", |s| {
        s.balancer
            .as_ref()
            .is_some_and(|b| b.peers.iter().all(|p| p.member != cut_name))
    });
    let after = lan.balancer();
    for p in after.peers.iter().filter(|p| moved.contains(&p.ip)) {
        eprintln!("  peer {} re-mapped {cut_name} -> {}", p.ip, p.member);
    }
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..PEERS {
        if moved.contains(&peer_addr(v6, i).to_string()) {
            let neigh = netns::ns_cmd(&lan.peers[i], &["ip", "neigh", "show", &host_addr])
                .unwrap_or_default();
            eprintln!(
                "  peer {i}'s entry 1 s after the re-mapping: {}",
                neigh.trim()
            );
        }
    }
    let mut worst = Duration::ZERO;
    for (i, u) in up.into_iter().enumerate() {
        let (sent, got) = u.finish();
        let mark = if moved.contains(&peer_addr(v6, i).to_string()) {
            " (re-mapped)"
        } else {
            ""
        };
        eprintln!(
            "peer {i} -> host{mark}: gap {:.1} ms, {} of {} received, {} duplicated",
            got.max_gap.as_secs_f64() * 1e3,
            got.unique,
            sent.sent,
            got.duplicated
        );
        assert_eq!(got.duplicated, 0, "peer {i}: {got}");
        worst = worst.max(got.max_gap);
    }
    for (i, u) in down.into_iter().enumerate() {
        let (_, got) = u.finish();
        eprintln!(
            "host -> peer {i}: gap {:.1} ms, {} duplicated",
            got.max_gap.as_secs_f64() * 1e3,
            got.duplicated
        );
        assert_eq!(got.duplicated, 0, "host -> peer {i}: {got}");
    }
    eprintln!(
        "member cut under traffic: worst gap {:.1} ms",
        worst.as_secs_f64() * 1e3
    );

    // Restored: it gets its peers back and receives its share again.
    lan.set_switch_port(cut, true);
    wait_for(
        &mut lan.d,
        &mut lan.c,
        AGGR,
        "the member back with peers",
        |s| {
            all_forwarding(s, MEMBERS)
                && s.balancer
                    .as_ref()
                    .is_some_and(|b| b.peers.iter().any(|p| p.member == cut_name))
        },
    );
    let (up, down) = lan.streams(1000, 10_000, 6200);
    std::thread::sleep(Duration::from_secs(2));
    let (rx, rx_total, _) = lan.kernel_shares("rx_packets", Duration::from_secs(2));
    eprintln!(
        "restored, peers -> host: {} of {rx_total} frames per member",
        percent(&rx)
    );
    for p in &lan.balancer().peers {
        eprintln!(
            "  restored: peer {} on {}, {} B/s",
            p.ip, p.member, p.rx_rate
        );
    }
    for u in up.into_iter().chain(down) {
        let (_, got) = u.finish();
        assert_eq!(got.duplicated, 0, "{got}");
    }
    assert!(
        rx_total >= 1000,
        "the streams were over before the window ({rx_total} frames)"
    );
    // Spread again as before the cut (and as the balancer's table says: a peer whose traffic
    // went elsewhere than its entry would show as 12.5 % / 37.5 %).
    for (i, s) in rx.iter().enumerate() {
        assert!(
            (0.15..=0.35).contains(s),
            "after {cut_name}'s return member {} receives {:.1}% (want 15-35%): {}",
            lan.members[i],
            s * 100.0,
            percent(&rx)
        );
    }

    let rx_port = lan.rx_port();
    let seen = fdb.finish();
    assert_fdb_held_still(&seen, &mac, &rx_port);
    // The monitor listened: it saw the cut port's entries flushed and learned again.
    assert!(seen.lines > 0, "bridge monitor fdb reported nothing");
    let diag = lan.c.diagnose(AGGR).unwrap();
    assert!(
        diag.findings
            .iter()
            .all(|f| f.code != lagd_agg::diagnose::FindingCode::AggregateMacMoved),
        "{diag:?}"
    );
}

#[test]
fn transmit_lb_spreads_egress_receives_on_one_member() {
    if !root_or_skip("transmit_lb_spreads_egress_receives_on_one_member") {
        return;
    }
    let mut lan = Lan::start("altlb", "transmit-lb");
    let mac = lan.status().mac.to_string();
    let fdb = FdbWatch::start(&lan.sw, mac.clone());
    let (up, down) = lan.streams(1000, 8000, 6400);
    std::thread::sleep(Duration::from_secs(3));
    let (rx, rx_total, rx_kernel) = lan.kernel_shares("rx_packets", Duration::from_secs(2));
    let (tx, tx_total, tx_kernel) = lan.kernel_shares("tx_packets", Duration::from_secs(2));
    assert!(
        rx_kernel * 2 >= rx_total && tx_kernel * 2 >= tx_total,
        "kernel: {rx_kernel} of {rx_total} received, {tx_kernel} of {tx_total} sent"
    );
    eprintln!(
        "transmit-lb, peers -> host: {} of {rx_total} frames per member",
        percent(&rx)
    );
    eprintln!(
        "transmit-lb, host -> peers: {} of {tx_total} frames per member",
        percent(&tx)
    );
    let b = lan.balancer();
    let rx_member = lan
        .members
        .iter()
        .position(|m| Some(m.as_str()) == b.receive_member.as_deref())
        .unwrap();
    assert!(
        rx[rx_member] >= 0.95,
        "receive member {}: {}",
        lan.members[rx_member],
        percent(&rx)
    );
    let sending = tx.iter().filter(|s| **s >= 0.05).count();
    assert!(
        sending >= 3,
        "egress on {sending} members: {}",
        percent(&tx)
    );
    for u in up.into_iter().chain(down) {
        let (_, got) = u.finish();
        assert_eq!(got.duplicated, 0, "{got}");
    }
    let rx_port = lan.sw_ports[rx_member].clone();
    assert_fdb_held_still(&fdb.finish(), &mac, &rx_port);

    // The receive member cut under traffic: the next member takes the aggregate's MAC and
    // announces the aggregate's addresses from it (gratuitous ARP, unsolicited NA); the peers'
    // streams arrive there, each stream's gap printed, nothing duplicated.
    let (up, down) = lan.streams(1000, 12_000, 6500);
    std::thread::sleep(Duration::from_secs(2));
    let old = lan.members[rx_member].clone();
    lan.set_switch_port(rx_member, false);
    let st = wait_for(
        &mut lan.d,
        &mut lan.c,
        AGGR,
        "another receive member",
        |s| {
            s.balancer
                .as_ref()
                .and_then(|b| b.receive_member.as_deref())
                .is_some_and(|m| m != old)
        },
    );
    let new_rx = st.balancer.unwrap().receive_member.unwrap();
    let new_i = lan.members.iter().position(|m| *m == new_rx).unwrap();
    eprintln!("receive member {old} cut under traffic: {new_rx} receives now");
    std::thread::sleep(Duration::from_secs(1));
    // The members' counters (the kernel's share is not asked here: a member is down).
    let a = lan.counters("rx_packets");
    std::thread::sleep(Duration::from_secs(2));
    let b = lan.counters("rx_packets");
    let d: Vec<u64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
    let total: u64 = d.iter().sum();
    let shares: Vec<f64> = d.iter().map(|x| *x as f64 / total.max(1) as f64).collect();
    eprintln!(
        "after the cut, peers -> host: {} of {total} frames per member",
        percent(&shares)
    );
    for (i, u) in up.into_iter().enumerate() {
        let (sent, got) = u.finish();
        eprintln!(
            "peer {i} -> host: gap {:.1} ms, {} of {} received, {} duplicated",
            got.max_gap.as_secs_f64() * 1e3,
            got.unique,
            sent.sent,
            got.duplicated
        );
        assert_eq!(got.duplicated, 0, "peer {i}: {got}");
    }
    for (i, u) in down.into_iter().enumerate() {
        let (_, got) = u.finish();
        eprintln!(
            "host -> peer {i}: gap {:.1} ms, {} duplicated",
            got.max_gap.as_secs_f64() * 1e3,
            got.duplicated
        );
        assert_eq!(got.duplicated, 0, "host -> peer {i}: {got}");
    }
    assert!(
        total >= 1000,
        "the streams were over before the window ({total} frames)"
    );
    assert!(
        shares[new_i] >= 0.95,
        "the new receive member {new_rx}: {}",
        percent(&shares)
    );
}

/// adaptive-lb spreads peers "by load" with the kernel fast path too: the receive programs
/// count each peer's bytes (a map keyed by its source address that only lagd fills), lagd
/// reads them into the same per-peer rates the user-space path measures, and the rebalancing
/// that runs every 10 s moves peers by them. Two peers of one member turn heavy (10 × the
/// others): their rates show in `show-aggr --json`, and one of them is moved to another member,
/// whose traffic then follows. Before the kernel counted, every rate read 0 B/s with the fast
/// path and nothing moved.
#[test]
fn adaptive_lb_moves_a_heavy_peer_by_rates_the_kernel_measured() {
    if !root_or_skip("adaptive_lb_moves_a_heavy_peer_by_rates_the_kernel_measured") {
        return;
    }
    let mut lan = Lan::start("albr", "adaptive-lb");
    let b = lan.balancer();
    let on = |b: &BalancerStatus, ip: &str| {
        b.peers
            .iter()
            .find(|p| p.ip == ip)
            .map(|p| p.member.clone())
            .unwrap_or_default()
    };
    // Two peers that share a member (peers are spread by count while idle: two each).
    let busy = b
        .members
        .iter()
        .map(|m| m.name.clone())
        .find(|m| {
            (0..PEERS)
                .filter(|i| on(&b, &dotted(peer_ip(*i))) == *m)
                .count()
                >= 2
        })
        .unwrap_or_else(|| panic!("no member with two peers: {b:?}"));
    let heavy: Vec<usize> = (0..PEERS)
        .filter(|i| on(&b, &dotted(peer_ip(*i))) == busy)
        .take(2)
        .collect();
    let busy_i = lan.members.iter().position(|m| *m == busy).unwrap();
    eprintln!("peers {heavy:?} of {busy} turn heavy (1500 datagrams/s), the others send 150/s");
    let secs = 30;
    let streams: Vec<Udp> = (0..PEERS)
        .map(|i| {
            let pps = if heavy.contains(&i) { 1500 } else { 150 };
            Udp::start(
                &lan.peers[i],
                &lan.host,
                HOST_IP,
                6600 + i as u16,
                pps,
                u64::from(pps) * secs,
            )
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let (before, rx_total, rx_kernel) = lan.kernel_shares("rx_packets", Duration::from_secs(2));
    eprintln!(
        "before: {} of {rx_total} frames per member",
        percent(&before)
    );
    assert!(
        rx_kernel * 2 >= rx_total,
        "the kernel delivered {rx_kernel} of {rx_total}"
    );
    // Rates are sampled at each rebalancing round (every 10 s): every peer's shows within two.
    let rates = wait_for(
        &mut lan.d,
        &mut lan.c,
        AGGR,
        "every peer's rate measured",
        |s| {
            s.balancer
                .as_ref()
                .is_some_and(|b| b.peers.len() >= PEERS && b.peers.iter().all(|p| p.rx_rate > 0))
        },
    )
    .balancer
    .unwrap();
    let after = wait_for(&mut lan.d, &mut lan.c, AGGR, "a heavy peer moved", |s| {
        s.balancer.as_ref().is_some_and(|b| {
            let a = on(b, &dotted(peer_ip(heavy[0])));
            let z = on(b, &dotted(peer_ip(heavy[1])));
            !a.is_empty() && !z.is_empty() && a != z
        })
    })
    .balancer
    .unwrap();
    for p in &rates.peers {
        eprintln!("  peer {} on {}: {} B/s", p.ip, p.member, p.rx_rate);
    }
    for m in &after.members {
        eprintln!("  member {}: {} peers, {} B/s", m.name, m.peers, m.rx_rate);
    }
    let light_max = rates
        .peers
        .iter()
        .filter(|p| !heavy.iter().any(|h| dotted(peer_ip(*h)) == p.ip))
        .map(|p| p.rx_rate)
        .max()
        .unwrap_or(0);
    for h in &heavy {
        let ip = dotted(peer_ip(*h));
        let r = rates.peers.iter().find(|p| p.ip == ip).unwrap().rx_rate;
        assert!(
            r > light_max,
            "heavy peer {ip} at {r} B/s, a light one at {light_max} B/s"
        );
        eprintln!("heavy peer {ip} now on {}", on(&after, &ip));
    }
    // Its traffic follows: the busy member receives less than before.
    std::thread::sleep(Duration::from_secs(2));
    let (now, rx_total, _) = lan.kernel_shares("rx_packets", Duration::from_secs(2));
    eprintln!(
        "after the move: {} of {rx_total} frames per member",
        percent(&now)
    );
    assert!(
        now[busy_i] < before[busy_i] * 0.8,
        "{busy} received {} before, {} after",
        percent(&before),
        percent(&now)
    );
    for u in streams {
        let (_, got) = u.finish();
        assert_eq!(got.duplicated, 0, "{got}");
    }
}

/// The aggregate's addresses come from the kernel (rtnetlink dump and notifications), not only
/// from the host's ARP: a host that never sent an ARP or ND frame still has its addresses
/// announced (gratuitous ARP and unsolicited Neighbour Advertisement from the aggregate's MAC)
/// when the receive member fails. The peer's entries for the host, set to a wrong MAC
/// beforehand, show it (transmit-lb's receive failover, both families).
#[test]
fn addresses_read_from_the_kernel_are_announced_on_failover() {
    if !root_or_skip("addresses_read_from_the_kernel_are_announced_on_failover") {
        return;
    }
    let mut net = netns::TestNet::new();
    let host = net.netns("alaH").unwrap();
    let sw = net.netns("alaS").unwrap();
    net.exec(&sw, &["ip", "link", "add", "br0", "type", "bridge"])
        .unwrap();
    net.exec(&sw, &["ip", "link", "set", "br0", "up"]).unwrap();
    let mut members = Vec::new();
    let mut sw_ports = Vec::new();
    for _ in 0..2 {
        let (m, s) = net.veth("al", Some(&host), Some(&sw)).unwrap();
        net.exec(&sw, &["ip", "link", "set", &s, "master", "br0", "up"])
            .unwrap();
        members.push(m);
        sw_ports.push(s);
    }
    let peer = net.netns("alaP").unwrap();
    let (pe, s) = net.veth("ap", Some(&peer), Some(&sw)).unwrap();
    net.exec(&sw, &["ip", "link", "set", &s, "master", "br0", "up"])
        .unwrap();
    net.exec(&peer, &["ip", "addr", "add", "198.18.0.10/24", "dev", &pe])
        .unwrap();
    let p6 = format!("{}/64", peer_ip6(0));
    net.exec(
        &peer,
        &["ip", "-6", "addr", "add", &p6, "dev", &pe, "nodad"],
    )
    .unwrap();
    net.exec(&peer, &["ip", "link", "set", &pe, "up"]).unwrap();
    let dir = TempDir::new("ala");
    let mut d = Daemon::start(
        &host,
        &dir,
        "h",
        &aggr_config(&members, "mode = \"transmit-lb\"\n"),
    );
    let mut c = d.client();
    wait_for(&mut d, &mut c, AGGR, "both members forwarding", |s| {
        all_forwarding(s, 2)
    });
    let host_ip = dotted(HOST_IP);
    let host_ip6 = HOST_IP6.to_string();
    net.exec(
        &host,
        &["ip", "addr", "add", &format!("{host_ip}/24"), "dev", AGGR],
    )
    .unwrap();
    net.exec(
        &host,
        &[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{host_ip6}/64"),
            "dev",
            AGGR,
            "nodad",
        ],
    )
    .unwrap();
    // Known from the address notification (the host sent no ARP: nobody asked it anything).
    wait_for(&mut d, &mut c, AGGR, "the addresses known", |s| {
        s.balancer
            .as_ref()
            .is_some_and(|b| b.addresses.contains(&host_ip) && b.addresses.contains(&host_ip6))
    });
    let st = c.show_aggr(Some(AGGR)).unwrap().remove(0);
    let mac = st.mac.to_string();
    let rx = st.balancer.unwrap().receive_member.unwrap();
    let cut = members.iter().position(|m| *m == rx).unwrap();
    // The peer believes the host is elsewhere (after the announcements of the new address).
    std::thread::sleep(Duration::from_secs(2));
    let wrong = "02:00:00:00:00:99";
    for ip in [&host_ip, &host_ip6] {
        net.exec(
            &peer,
            &[
                "ip", "neigh", "replace", ip, "lladdr", wrong, "dev", &pe, "nud", "stale",
            ],
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(1100)); // past the peer's ARP locktime
    net.exec(&sw, &["ip", "link", "set", &sw_ports[cut], "down"])
        .unwrap();
    // Three announcements 200 ms apart: the entries follow within seconds.
    for ip in [&host_ip, &host_ip6] {
        let mut entry = String::new();
        for _ in 0..50 {
            entry =
                netns::ns_cmd(&peer, &["ip", "neigh", "show", ip, "dev", &pe]).unwrap_or_default();
            if entry.contains(&mac) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "receive member {rx} cut; the peer's entry for {ip}: {}",
            entry.trim()
        );
        assert!(
            entry.contains(&mac),
            "the peer was not told the aggregate's MAC {mac} for {ip}: {entry}; log:\n{}",
            d.log_text()
        );
    }
    // An address removed is no longer announced.
    net.exec(
        &host,
        &["ip", "addr", "del", &format!("{host_ip}/24"), "dev", AGGR],
    )
    .unwrap();
    wait_for(&mut d, &mut c, AGGR, "the IPv4 address forgotten", |s| {
        s.balancer
            .as_ref()
            .is_some_and(|b| !b.addresses.contains(&host_ip))
    });
    drop(c);
    drop(d);
    drop(dir);
    drop(net);
}
