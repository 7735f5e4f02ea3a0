//! Switch-independent load balancing (issue 16) on a switch that knows nothing of it: a host
//! with four members on a Linux bridge (default settings: it learns MACs, nothing else), eight
//! peers on the bridge's other ports, each in its own namespace.
//!
//! - `adaptive-lb`: UDP streams from every peer to the host and from the host to every peer;
//!   each member receives 15–35 % of the peers' traffic, and every member sends. A member cut
//!   under traffic: its peers are re-mapped (show-aggr), the gap of each stream is measured and
//!   printed, nothing is duplicated; restored, it receives its share again.
//! - `transmit-lb`: the host's streams leave on every member, the peers' arrive on one member.
//! - In both, a thread reads the bridge's FDB every 100 ms: the aggregate's MAC is never
//!   learned on two ports at once.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). No timed assertion: gaps are
//! printed.

mod common;

use common::*;
use lagd::control::proto::{AggrStatus, BalancerStatus};
use lagd_dataplane::netns;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    net: netns::TestNet,
}

impl Lan {
    fn start(tag: &str, mode: &str) -> Lan {
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
        let lan = Lan {
            c,
            d,
            _dir: dir,
            host,
            sw,
            members,
            sw_ports,
            peers,
            net,
        };
        for (i, p) in lan.peers.iter().enumerate() {
            assert!(
                ping(p, &dotted(HOST_IP), &[]),
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

    /// A counter of every member (`rx_packets`, `tx_packets`).
    fn counters(&self, what: &str) -> Vec<u64> {
        self.members
            .iter()
            .map(|m| {
                self.net
                    .exec(
                        &self.host,
                        &["cat", &format!("/sys/class/net/{m}/statistics/{what}")],
                    )
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    /// Each member's share of `what` over `window`.
    fn shares(&self, what: &str, window: Duration) -> (Vec<f64>, u64) {
        let a = self.counters(what);
        std::thread::sleep(window);
        let b = self.counters(what);
        let d: Vec<u64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
        let total: u64 = d.iter().sum();
        (
            d.iter().map(|x| *x as f64 / total.max(1) as f64).collect(),
            total,
        )
    }

    /// Streams from every peer to the host and back, `pps` each, `count` datagrams.
    fn streams(&self, pps: u32, count: u64, base: u16) -> (Vec<Udp>, Vec<Udp>) {
        let up = (0..PEERS)
            .map(|i| {
                Udp::start(
                    &self.peers[i],
                    &self.host,
                    HOST_IP,
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
                    peer_ip(i),
                    base + 100 + i as u16,
                    pps,
                    count,
                )
            })
            .collect();
        (up, down)
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

/// Reads the bridge's FDB every 100 ms until dropped; keeps the most ports it ever saw
/// holding `mac` at once.
struct FdbWatch {
    stop: Arc<AtomicBool>,
    most: Arc<AtomicUsize>,
    samples: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FdbWatch {
    fn start(sw: &str, mac: String) -> FdbWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let most = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(AtomicUsize::new(0));
        let (s2, m2, n2, sw) = (stop.clone(), most.clone(), samples.clone(), sw.to_string());
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
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        FdbWatch {
            stop,
            most,
            samples,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (
            self.most.load(Ordering::Relaxed),
            self.samples.load(Ordering::Relaxed),
        )
    }
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
    let mut lan = Lan::start("nsalb", "adaptive-lb");
    let mac = lan.status().mac.to_string();
    let fdb = FdbWatch::start(&lan.sw, mac.clone());

    let (up, down) = lan.streams(1000, 12_000, 6000);
    std::thread::sleep(Duration::from_secs(3));
    let (rx, rx_total) = lan.shares("rx_packets", Duration::from_secs(2));
    let (tx, tx_total) = lan.shares("tx_packets", Duration::from_secs(2));
    let b = lan.balancer();
    eprintln!(
        "adaptive-lb, peers -> host: {} of {rx_total} frames per member",
        percent(&rx)
    );
    eprintln!(
        "adaptive-lb, host -> peers: {} of {tx_total} frames per member",
        percent(&tx)
    );
    for (i, p) in b.peers.iter().enumerate() {
        let neigh = netns::ns_cmd(&lan.peers[i], &["ip", "neigh", "show", &dotted(HOST_IP)])
            .unwrap_or_default();
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
    for (i, s) in tx.iter().enumerate() {
        assert!(
            *s >= 0.05,
            "member {} sends {:.1}%: {}",
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
    let mut worst = Duration::ZERO;
    for (i, u) in up.into_iter().enumerate() {
        let (sent, got) = u.finish();
        let mark = if moved.contains(&dotted(peer_ip(i))) {
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
    let (up, down) = lan.streams(1000, 5000, 6200);
    std::thread::sleep(Duration::from_secs(2));
    let (rx, rx_total) = lan.shares("rx_packets", Duration::from_secs(2));
    eprintln!(
        "restored, peers -> host: {} of {rx_total} frames per member",
        percent(&rx)
    );
    for u in up.into_iter().chain(down) {
        let (_, got) = u.finish();
        assert_eq!(got.duplicated, 0, "{got}");
    }
    assert!(
        rx[cut] >= 0.10,
        "{cut_name} receives {:.1}% after its return",
        rx[cut] * 100.0
    );

    let (most, samples) = fdb.finish();
    eprintln!(
        "bridge FDB: the aggregate's MAC {mac} on at most {most} port(s) in {samples} samples"
    );
    assert!(samples > 10, "FDB not read");
    assert!(most <= 1, "the aggregate's MAC on {most} ports at once");
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
    let mut lan = Lan::start("nstlb", "transmit-lb");
    let mac = lan.status().mac.to_string();
    let fdb = FdbWatch::start(&lan.sw, mac.clone());
    let (up, down) = lan.streams(1000, 8000, 6400);
    std::thread::sleep(Duration::from_secs(3));
    let (rx, rx_total) = lan.shares("rx_packets", Duration::from_secs(2));
    let (tx, tx_total) = lan.shares("tx_packets", Duration::from_secs(2));
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
    let (most, samples) = fdb.finish();
    eprintln!(
        "bridge FDB: the aggregate's MAC {mac} on at most {most} port(s) in {samples} samples"
    );
    assert!(most <= 1, "the aggregate's MAC on {most} ports at once");
}

/// The aggregate's addresses come from the kernel (rtnetlink dump and notifications), not only
/// from the host's ARP: a host that never sent an ARP frame still has its address announced
/// (gratuitous ARP from the aggregate's MAC) when the receive member fails. The peer's entry for
/// the host, set to a wrong MAC beforehand, shows it.
#[test]
fn addresses_read_from_the_kernel_are_announced_on_failover() {
    if !root_or_skip("addresses_read_from_the_kernel_are_announced_on_failover") {
        return;
    }
    let mut net = netns::TestNet::new();
    let host = net.netns("nsalaH").unwrap();
    let sw = net.netns("nsalaS").unwrap();
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
    let peer = net.netns("nsalaP").unwrap();
    let (pe, s) = net.veth("ap", Some(&peer), Some(&sw)).unwrap();
    net.exec(&sw, &["ip", "link", "set", &s, "master", "br0", "up"])
        .unwrap();
    net.exec(&peer, &["ip", "addr", "add", "198.18.0.10/24", "dev", &pe])
        .unwrap();
    net.exec(&peer, &["ip", "link", "set", &pe, "up"]).unwrap();
    let dir = TempDir::new("nsala");
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
    net.exec(
        &host,
        &["ip", "addr", "add", &format!("{host_ip}/24"), "dev", AGGR],
    )
    .unwrap();
    // Known from the address notification (the host sent no ARP: nobody asked it anything).
    wait_for(&mut d, &mut c, AGGR, "the address known", |s| {
        s.balancer
            .as_ref()
            .is_some_and(|b| b.addresses.contains(&host_ip))
    });
    let st = c.show_aggr(Some(AGGR)).unwrap().remove(0);
    let mac = st.mac.to_string();
    let rx = st.balancer.unwrap().receive_member.unwrap();
    let cut = members.iter().position(|m| *m == rx).unwrap();
    // The peer believes the host is elsewhere (after the announcements of the new address).
    std::thread::sleep(Duration::from_secs(2));
    let wrong = "02:00:00:00:00:99";
    net.exec(
        &peer,
        &[
            "ip", "neigh", "replace", &host_ip, "lladdr", wrong, "dev", &pe, "nud", "stale",
        ],
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100)); // past the peer's ARP locktime
    net.exec(&sw, &["ip", "link", "set", &sw_ports[cut], "down"])
        .unwrap();
    // Three announcements 200 ms apart: the entry follows within seconds.
    let mut entry = String::new();
    for _ in 0..50 {
        entry = netns::ns_cmd(&peer, &["ip", "neigh", "show", &host_ip, "dev", &pe])
            .unwrap_or_default();
        if entry.contains(&mac) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "receive member {rx} cut; the peer's entry for {host_ip}: {}",
        entry.trim()
    );
    assert!(
        entry.contains(&mac),
        "the peer was not told the aggregate's MAC {mac}: {entry}; log:\n{}",
        d.log_text()
    );
    // An address removed is no longer announced.
    net.exec(
        &host,
        &["ip", "addr", "del", &format!("{host_ip}/24"), "dev", AGGR],
    )
    .unwrap();
    wait_for(&mut d, &mut c, AGGR, "the address forgotten", |s| {
        s.balancer
            .as_ref()
            .is_some_and(|b| !b.addresses.contains(&host_ip))
    });
    drop(c);
    drop(d);
    drop(dir);
    drop(net);
}
