//! The kernel fast path between two lagd hosts with default settings (`offload = auto`), each
//! test run twice: with tcx and with the clsact attach mode forced (`LAGD_BPF_ATTACH`).
//!
//! - every frame class (tags, IPv4 options and fragments, IPv6 extension headers and fragments,
//!   ESP/AH, ICMP, other IP protocols, ARP, non-IP, 802.3, jumbo frames) both ways under every
//!   hash policy and every mode (LACP, static, active-backup, round-robin, broadcast): intact,
//!   in order within each conversation (not in round-robin), and carried by the kernel (the
//!   programs' counters);
//! - 16 TCP flows (GSO super-frames) over four links, and IPv6 TCP: intact, spread, carried
//!   by the kernel; switched off, on and auto live under a UDP stream that loses nothing;
//! - never-pausing UDP streams whose buckets the rebalancer and a graceful removal (of a member
//!   with a queue of frames waiting) move, GRO on the Marker responder's members: back in the
//!   kernel while the streams still run, nothing lost, reordered or duplicated;
//! - never-pausing TCP flows whose buckets the rebalancer and a graceful removal move: back in
//!   the kernel while they still run, intact, no reordering seen by the sender;
//! - in both, A's members have a qdisc, as NICs do ([`nic_like`]).
//! - a graceful removal whose Marker waits behind 600 ms of frames in the member's queue
//!   (longer than the 100 ms Marker timeout): the move waits for the Marker to leave, nothing
//!   reordered.
//! - carrier loss: the dead member's buckets move in the kernel's table.
//! - receive steering (`rx_steering`) switched off, on, off and auto live on the receiver
//!   under never-pausing UDP streams over two members: each switch made, nothing reordered,
//!   duplicated or lost.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;
mod frames;

use common::*;
use lagd::config::{AggrMode, AggrSettings, LacpActivity, Offload, RxSteering};
use lagd::control::proto::{AggrStatus, OffloadStatus};
use std::time::{Duration, Instant};

/// Runs a test body with tcx and with clsact.
macro_rules! both_attach_modes {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn tcx() {
                    super::$name("tcx");
                }
                #[test]
                fn clsact() {
                    super::$name("clsact");
                }
            }
        )*
    };
}

both_attach_modes!(
    every_class_policy_and_mode,
    tcp_flows_and_live_switching,
    carrier_loss_moves_the_dead_members_buckets,
    hand_back_after_rebalance_and_removal,
    tcp_hand_back_after_rebalance_and_removal,
    marker_behind_a_deep_queue,
    rx_steering_switches_without_reordering,
);

fn hosts(tag: &str, attach: &str, n: usize, extra_a: &str, extra_b: &str) -> Hosts {
    let tag = format!("{tag}{}", &attach[..1]);
    let (ea, eb) = (extra_a.to_string(), extra_b.to_string());
    let mut h = Hosts::start_env(&tag, n, &[("LAGD_BPF_ATTACH", attach)], |side, l| {
        lacp_config(l, if side == 'a' { &ea } else { &eb })
    });
    h.wait_forwarding();
    h.address();
    h
}

fn offload(s: &AggrStatus) -> OffloadStatus {
    s.offload.clone().expect("offload status")
}

fn status_b(h: &mut Hosts) -> AggrStatus {
    h.cb.show_aggr(Some(AGGR))
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

/// Waits (bounded) until both sides' kernel path runs in `attach` mode with every bucket (or
/// the member list) in the kernel.
fn wait_fast(h: &mut Hosts, attach: &str) {
    for (side, d, c) in [('A', &mut h.da, &mut h.ca), ('B', &mut h.db, &mut h.cb)] {
        wait_for(
            d,
            c,
            AGGR,
            &format!("{side}: every bucket in the kernel"),
            |s| {
                s.offload.as_ref().is_some_and(|o| {
                    o.active && o.attach.as_deref() == Some(attach) && o.fast_buckets == o.buckets
                })
            },
        );
    }
}

/// Sets (on both sides, live, forced: the first side's change alone would take the aggregate down)
/// the changes, then waits for forwarding and the fast path.
fn change_both(h: &mut Hosts, attach: &str, c: AggrSettings) {
    h.ca.modify_aggr_forced(AGGR, c.clone(), true, true)
        .unwrap();
    h.cb.modify_aggr_forced(AGGR, c, true, true).unwrap();
    h.wait_forwarding();
    wait_fast(h, attach);
}

/// Waits (bounded) until the kernel counters of the sender (TX) and the receiver (RX) have
/// grown by `n` since `before` ((A TX, A RX, B TX, B RX)); returns the growth.
fn kernel_counts(h: &mut Hosts) -> (u64, u64, u64, u64) {
    let (a, b) = (offload(&h.status_a()), offload(&status_b(h)));
    (a.frames, a.rx_frames, b.frames, b.rx_frames)
}

fn wait_counts(h: &mut Hosts, before: (u64, u64, u64, u64), a_to_b: bool, n: u64) -> (u64, u64) {
    let start = Instant::now();
    loop {
        let now = kernel_counts(h);
        let (tx, rx) = if a_to_b {
            (now.0 - before.0, now.3 - before.3)
        } else {
            (now.2 - before.2, now.1 - before.1)
        };
        if (tx >= n && rx >= n) || start.elapsed() > Duration::from_secs(5) {
            return (tx, rx);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every class both ways, checked; the kernel counted every frame on both hosts.
fn bursts(h: &mut Hosts, what: &str, copies: u64, ordered: bool) {
    let (ma, mb) = (h.status_a().mac.0, status_b(h).mac.0);
    for (a_to_b, (txn, rxn, macs)) in [
        (true, (h.a.clone(), h.b.clone(), (ma, mb))),
        (false, (h.b.clone(), h.a.clone(), (mb, ma))),
    ] {
        let before = kernel_counts(h);
        let d = frames::burst(
            &txn,
            AGGR,
            &rxn,
            AGGR,
            u8::from(!a_to_b),
            8,
            8000,
            copies,
            macs,
        );
        let dir = if a_to_b { "A -> B" } else { "B -> A" };
        assert!(d.ok(ordered), "{what}, {dir}: {d:#?}");
        let n = d.sent * copies;
        let (tx, rx) = wait_counts(h, before, a_to_b, n);
        eprintln!(
            "{what}, {dir}: {} frames x{copies} intact{}; kernel sent {tx}, kernel received {rx}",
            d.sent,
            if ordered { " and in order" } else { "" }
        );
        assert!(
            tx >= n && rx >= n,
            "{what}, {dir}: the kernel carried {tx} (TX) / {rx} (RX) of {n} frames"
        );
    }
}

fn every_class_policy_and_mode(attach: &str) {
    if !root_or_skip("every_class_policy_and_mode") {
        return;
    }
    let mut h = hosts("nsoe", attach, 2, "mtu = 9000", "mtu = 9000");
    wait_fast(&mut h, attach);
    for policy in ["L3,L4", "L2", "L3", "L4", "L2,L3", "L2,L4", "L2,L3,L4"] {
        change_both(
            &mut h,
            attach,
            AggrSettings {
                policy: Some(policy.into()),
                ..Default::default()
            },
        );
        bursts(&mut h, &format!("{attach}, lacp, {policy}"), 1, true);
    }
    for (mode, copies, ordered) in [
        (AggrMode::Static, 1, true),
        (AggrMode::ActiveBackup, 1, true),
        (AggrMode::RoundRobin, 1, false),
        (AggrMode::Broadcast, 2, false),
    ] {
        change_both(
            &mut h,
            attach,
            AggrSettings {
                mode: Some(mode),
                lacp_mode: Some(LacpActivity::Off),
                ..Default::default()
            },
        );
        bursts(&mut h, &format!("{attach}, {mode:?}"), copies, ordered);
    }
}

fn tcp_flows_and_live_switching(attach: &str) {
    if !root_or_skip("tcp_flows_and_live_switching") {
        return;
    }
    // A's rebalancer off: its moves would put buckets on the user-space path for a moment
    // (hand_back_after_rebalance_and_removal covers those), and this test counts what the
    // kernel carried.
    let mut h = hosts("nsot", attach, 4, "rebalance_interval = \"off\"", "");
    wait_fast(&mut h, attach);
    let (a, b) = (h.a.clone(), h.b.clone());
    let names = h.links_a.clone();
    let l0 = h.links_of_a();
    let before = kernel_counts(&mut h);
    // The 16 flows' source ports are the 16 of a fixed range, so their conversations, and with
    // lagd's fixed-seed hash the links they take, are the same in every run: with ephemeral
    // ports, one of the four links got no flow in about 4 % of runs (4 * (3/4)^16), and the
    // spreading check below failed for no fault of lagd's. If the hash or the table ever
    // changes so that these 16 leave a link empty, choose another range.
    let range = |r: &str| {
        h.net
            .exec(
                &a,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv4.ip_local_port_range={r}"),
                ],
            )
            .expect("sysctl ip_local_port_range");
    };
    range("40000 40015");
    let (sent, got) = tcp_flows(&a, &b, [198, 18, 0, 2], 5601, 16, 3.0, None);
    range("32768 60999");
    assert!(sent.all_ok() && got.all_intact(), "{sent:?}\n{got:?}");
    let ports: std::collections::BTreeSet<u16> = sent
        .flows
        .iter()
        .filter_map(|f| f.local.map(|l| l.port()))
        .collect();
    assert_eq!(ports, (40000..=40015).collect(), "the flows' source ports");
    std::thread::sleep(Duration::from_millis(400)); // one counter harvest
    let l1 = h.links_of_a();
    let per_link = deltas(&names, &l0, &l1, |l| l.opackets);
    let after = kernel_counts(&mut h);
    let total: u64 = per_link.iter().sum();
    let (tx, rx) = (after.0 - before.0, after.3 - before.3);
    eprintln!(
        "{attach}: {} bytes in 16 TCP flows; A's members sent {per_link:?} frames; the kernel sent {tx} (A) and received {rx} (B)",
        got.total_bytes()
    );
    // (The user-space path sends LACPDUs, and the flows' first frames before their buckets are
    // trusted.)
    assert!(tx * 100 >= total * 97, "A's kernel sent {tx} of {total}");
    assert!(
        rx * 100 >= total * 99,
        "B's kernel received {rx} of {total}"
    );
    assert!(
        per_link.iter().all(|d| *d * 40 >= total),
        "16 flows over 4 links: {per_link:?}"
    );
    // IPv6 TCP (GSO super-frames) through the kernel, both ways.
    for (ns, addr) in [(&h.a, "2001:2::1/64"), (&h.b, "2001:2::2/64")] {
        h.net
            .exec(
                ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{AGGR}.disable_ipv6=0"),
                ],
            )
            .unwrap();
        h.net
            .exec(ns, &["ip", "-6", "addr", "add", addr, "dev", AGGR, "nodad"])
            .unwrap();
    }
    for (from, to, dst) in [(&a, &b, "[2001:2::2]:5611"), (&b, &a, "[2001:2::1]:5612")] {
        use lagd_trafgen::{TcpFlows, TcpFlowsConfig, TcpSink, TcpSinkConfig};
        let before = kernel_counts(&mut h);
        let addr: std::net::SocketAddr = dst.parse().unwrap();
        let mut sc = TcpSinkConfig::new(addr, 4, Duration::from_secs(40));
        sc.netns = Some(to.clone());
        let sink = TcpSink::spawn(sc).unwrap();
        let mut fc = TcpFlowsConfig::new(addr, 4, Duration::from_secs(2));
        fc.netns = Some(from.clone());
        let sent = TcpFlows::spawn(fc).unwrap().join().unwrap();
        let got = sink.join().unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let after = kernel_counts(&mut h);
        let k = (after.0 - before.0) + (after.2 - before.2);
        eprintln!(
            "{attach}, IPv6 TCP to {dst}: {} bytes; {k} frames by the kernel",
            got.total_bytes()
        );
        assert!(sent.all_ok() && got.all_intact(), "{sent:?}\n{got:?}");
        assert!(k > 1000, "IPv6 TCP went through the kernel: {k} frames");
    }
    // Switched off, on and auto live under a stream: nothing lost, nothing reordered.
    let rcvbuf0 = udp_rcvbuf_errors(&h, &b);
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5620, 2000, 16_000);
    std::thread::sleep(Duration::from_millis(500));
    for setting in [Offload::Off, Offload::On, Offload::Off, Offload::Auto] {
        let c = AggrSettings {
            offload: Some(setting),
            ..Default::default()
        };
        h.ca.modify_aggr(AGGR, c.clone(), true).unwrap();
        h.cb.modify_aggr(AGGR, c, true).unwrap();
        let o = offload(&h.status_a());
        assert_eq!(o.setting, setting.to_string());
        assert_eq!(o.active, setting != Offload::Off, "{o:?}");
        std::thread::sleep(Duration::from_millis(1500));
    }
    let (sent, got) = udp.finish();
    let starved = udp_rcvbuf_errors(&h, &b) - rcvbuf0;
    // A switch may duplicate or reorder the frames in flight at that instant (documented);
    // it loses none.
    eprintln!("{attach}, live switching off/on/off/auto: {got}; {starved} dropped by B's receiver");
    assert_eq!(sent.sent, 16_000, "{sent:?}");
    assert!(
        got.lost <= starved,
        "{got}; {starved} dropped by B's starved receiver"
    );
    h.wait_forwarding();
    wait_fast(&mut h, attach);
    let (sent, got) = tcp_flows(&a, &b, [198, 18, 0, 2], 5630, 4, 1.0, None);
    assert!(sent.all_ok() && got.all_intact(), "{sent:?}\n{got:?}");
    assert!(ping(&b, ADDR_A, &[]), "B -> A");
}

/// UDP datagrams namespace `ns`'s sockets dropped for want of buffer space (`RcvbufErrors`):
/// a receiver starved of CPU on this shared machine loses datagrams lagd delivered.
fn udp_rcvbuf_errors(h: &Hosts, ns: &str) -> u64 {
    snmp_counter(h, ns, "/proc/net/snmp", "Udp:", "RcvbufErrors")
}

/// Counter `name` of the `prefix` lines (a line of names, then one of values) of `file`
/// (`/proc/net/snmp` or `/proc/net/netstat`) in namespace `ns`.
fn snmp_counter(h: &Hosts, ns: &str, file: &str, prefix: &str, name: &str) -> u64 {
    let snmp = h.net.exec(ns, &["cat", file]).unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with(prefix));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Turns GRO on for `dev` in `ns` (`ETHTOOL_SGRO`; on a veth this also turns on its NAPI
/// receive path, as on a NIC).
fn gro_on(ns: &str, dev: &str) {
    ethtool_set(ns, dev, 0x2c, 1); // ETHTOOL_SGRO
}

/// Sets the legacy ethtool flag `cmd` (`ETHTOOL_S*`) of `dev` in `ns` to `value`.
fn ethtool_set(ns: &str, dev: &str, cmd: u32, value: u32) {
    let (ns, dev) = (ns.to_string(), dev.to_string());
    std::thread::spawn(move || {
        lagd_dataplane::netns::enter(&ns).unwrap();
        #[repr(C)]
        struct Value {
            cmd: u32,
            data: u32,
        }
        let mut v = Value { cmd, data: value };
        // SAFETY: plain data; all-zero is valid.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(dev.bytes()) {
            *d = s as libc::c_char;
        }
        req.ifr_ifru.ifru_data = (&mut v as *mut Value).cast();
        // SAFETY: a socket for the ioctl; `req` and `v` live for the call.
        let r = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            let r = libc::ioctl(fd, libc::SIOCETHTOOL, &mut req);
            libc::close(fd);
            r
        };
        assert_eq!(
            r,
            0,
            "ethtool {cmd:#x} on {dev}: {}",
            std::io::Error::last_os_error()
        );
    })
    .join()
    .unwrap();
}

/// The sequence number of A's last event (0 if none).
fn last_event(h: &mut Hosts) -> u64 {
    h.ca.events(false)
        .unwrap_or_default()
        .iter()
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
}

/// Whether A's event log shows a rebalancing move after event `seq0`.
fn rebalanced_since(h: &mut Hosts, seq0: u64) -> bool {
    h.ca.events(false)
        .unwrap_or_default()
        .iter()
        .any(|e| e.seq > seq0 && e.message.to_ascii_lowercase().contains("rebalanc"))
}

/// Waits until A's rebalancer has moved buckets (an event after `seq0`, so after the traffic
/// started) and they are handed back: more hand-backs than `before`, every bucket in the
/// kernel. A move of a bucket without traffic (the first rebalancing may measure the time
/// before the traffic) is settled without a hand-back; the wait goes on for the next move.
///
/// The flows' buckets are placed by their hash, and some placements are ones the rebalancer
/// cannot improve (e.g. flows of 40, 30, 20 and 15 on three members as {40} {30} {20, 15}: no
/// single move or swap narrows the gap), so it moves nothing that carries traffic; CI met
/// one (hand-backs 0 -> 0 after 9 s). If nothing was handed back `nudge_at` after `start`,
/// `nudge` is called once: it starts one more flow as heavy as the heaviest, which leaves every
/// such placement improvable, so the next rebalancing moves a busy bucket. Its result is
/// returned for the caller to check like the others.
///
/// Fails if no hand-back happened `limit` after `start`.
fn wait_rebalance_hand_back<T>(
    h: &mut Hosts,
    seq0: u64,
    before: u64,
    start: Instant,
    (nudge_at, limit): (Duration, Duration),
    nudge: impl FnOnce(&Hosts) -> T,
) -> (OffloadStatus, Option<T>) {
    let mut nudge = Some(nudge);
    let mut nudged = None;
    loop {
        let moved = rebalanced_since(h, seq0);
        let o = offload(&h.status_a());
        if moved && o.hand_backs > before && o.fast_buckets == o.buckets {
            return (o, nudged);
        }
        if start.elapsed() >= nudge_at
            && o.hand_backs == before
            && let Some(f) = nudge.take()
        {
            eprintln!(
                "no busy bucket moved by +{:.1} s (rebalanced {moved}): one more heavy flow",
                start.elapsed().as_secs_f64()
            );
            nudged = Some(f(h));
        }
        assert!(
            start.elapsed() < limit,
            "no rebalancing move handed back within {limit:?} (rebalanced {moved}, nudged {}, hand-backs {} -> {}, {} of {} buckets in the kernel)",
            nudged.is_some(),
            before,
            o.hand_backs,
            o.fast_buckets,
            o.buckets
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// B's members receive each flow through one CPU's backlog (RPS), as a NIC's receive queue
/// (one interrupt CPU) does: without GRO a veth hands frames to the backlog of the CPU that
/// sent them, and a qdisc on the sender's end is dequeued on either CPU. (The TCP test runs
/// B without GRO: with GRO on B's veths, a capture showed the last segment of a 64 KiB burst
/// delivered at B's member, before lagd's program, ahead of the 44 segments GRO merged before
/// it, sent in order by A; the UDP test covers the Marker responder with GRO.)
fn fifo_receive(h: &Hosts) {
    let Some(mask) = lagd_dataplane::rps::every_cpu().unwrap() else {
        return;
    };
    for l in &h.links_b {
        let path = format!("/sys/class/net/{l}/queues/rx-0/rps_cpus");
        h.net
            .exec(&h.b, &["sh", "-c", &format!("echo {mask} > {path}")])
            .unwrap();
    }
}

/// A's members made to behave like a NIC's: a qdisc (a tbf far above the traffic, as every
/// NIC has a qdisc: frames the kernel path and lagd send wait there together) and TSO off.
/// Without TSO a veth hands every frame to its peer's NAPI ring (in order, like a wire); with
/// it, to the backlog of the CPU that dequeued it, and a qdisc dequeued on two CPUs then
/// reorders frames on a plain veth pair, lagd or not (issue 12, session 6: 1 to 6 datagrams
/// per 10 s run of 5 streams over a direct veth with a tbf, none with RPS on the receiver or
/// without the qdisc).
fn nic_like(h: &Hosts) {
    shaped(h, "10gbit", "1mb", "100ms");
}

/// [`nic_like`] with a tbf of `rate`, `burst` and `latency` (how long a frame may wait).
fn shaped(h: &Hosts, rate: &str, burst: &str, latency: &str) {
    for l in &h.links_a {
        lagd_dataplane::netns::tbf(&h.a, l, rate, burst, latency).unwrap();
        ethtool_set(&h.a, l, 0x1f, 0); // ETHTOOL_STSO
    }
}

/// Prints `head` followed by the last and longest hand-back, the idle returns and when, of the
/// traffic started at `start` for `secs` s.
fn print_hand_back(head: &str, o: &OffloadStatus, start: Instant, secs: f64) {
    eprintln!(
        "{head} (last {} us, longest {} us), {} idle returns, at +{:.1} s of {secs} s",
        o.hand_back_last_us,
        o.hand_back_max_us,
        o.idle_returns,
        start.elapsed().as_secs_f64()
    );
}

/// Removes `link` from A's aggregation gracefully and waits until it is gone and every bucket
/// is back in the kernel with more hand-backs than `before`; prints them (`label` first) and
/// asserts the traffic (`what`), started at `start` for `secs` s, has not ended first.
fn remove_and_wait_hand_back(
    h: &mut Hosts,
    link: &str,
    before: u64,
    label: &str,
    start: Instant,
    secs: f64,
    what: &str,
) {
    h.ca.remove_links(AGGR, &[link], true, true).unwrap();
    let o = wait_for(
        &mut h.da,
        &mut h.ca,
        AGGR,
        "removed member's buckets back in the kernel",
        |s| {
            !s.members.iter().any(|m| m.name == link)
                && s.offload
                    .as_ref()
                    .is_some_and(|o| o.hand_backs > before && o.fast_buckets == o.buckets)
        },
    );
    let o = offload(&o);
    print_hand_back(
        &format!(
            "{label}: after removing {link}: {} buckets handed back in all",
            o.hand_backs
        ),
        &o,
        start,
        secs,
    );
    assert!(
        start.elapsed() < Duration::from_secs_f64(secs - 1.0),
        "the {what} ended first"
    );
}

fn hand_back_after_rebalance_and_removal(attach: &str) {
    if !root_or_skip("hand_back_after_rebalance_and_removal") {
        return;
    }
    let mut h = hosts("nsoh", attach, 3, "", "");
    // B answers the Markers: with GRO on its members, after the GRO hold.
    for l in h.links_b.clone() {
        gro_on(&h.b, &l);
    }
    wait_fast(&mut h, attach);
    let (a, b) = (h.a.clone(), h.b.clone());
    nic_like(&h);
    // Streams that never pause (spacing 0.1 to 0.7 ms) with loads far apart, so that the
    // rebalancer has moves to make.
    let rates = [3000u32, 2000, 1500, 1000, 700];
    // Long enough for the first rebalancing move: it waits the rebalance interval (1 s) and,
    // behind the moves of the start, the ports' Marker pacing interval (2 s).
    let secs = 20u64;
    let rcvbuf0 = udp_rcvbuf_errors(&h, &b);
    let seq0 = last_event(&mut h);
    let hb0 = offload(&h.status_a()).hand_backs;
    let streams: Vec<Udp> = rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Udp::start(
                &a,
                &b,
                [198, 18, 0, 2],
                5700 + i as u16,
                *r,
                u64::from(*r) * secs,
            )
        })
        .collect();
    let start = Instant::now();
    // Back in the kernel while the streams still run.
    // The extra stream, if needed, as heavy as the heaviest and ending with the others.
    let (nudge_at, extra_rate) = (6u64, rates[0]);
    let extra_count = u64::from(extra_rate) * (secs - nudge_at - 1);
    let (o, extra) = wait_rebalance_hand_back(
        &mut h,
        seq0,
        hb0,
        start,
        (Duration::from_secs(nudge_at), Duration::from_secs(12)),
        |h: &Hosts| Udp::start(&h.a, &h.b, [198, 18, 0, 2], 5709, extra_rate, extra_count),
    );
    print_hand_back(
        &format!(
            "{attach}: after rebalancing: {} buckets handed back",
            o.hand_backs
        ),
        &o,
        start,
        secs as f64,
    );
    assert!(
        start.elapsed() < Duration::from_secs(secs - 4),
        "the streams ended first"
    );
    // Graceful removal of the member carrying the most, streams running.
    let (i, _) = stream_link(&mut h, false, Duration::from_millis(500));
    let link = h.links_a[i].clone();
    let before = o.hand_backs;
    // A queue on that link, shaped to 97 % of its load for a moment (no drop): frames sent on
    // it before the move still wait there, tens of ms behind, when the move starts, so a frame
    // sent on the new link too early would overtake them.
    let l0 = h.links_of_a();
    std::thread::sleep(Duration::from_millis(500));
    let l1 = h.links_of_a();
    let bytes = deltas(&h.links_a, &l0, &l1, |l| l.obytes)[i];
    // (97 %: the drain's Marker waits up to the port's Marker pacing interval, 2 s, since
    // 5c8934e; at 80 % the backlog then passed the 100 ms Marker timeout and the move
    // completed by the timeout, frames still queued: reordered.)
    let rate = format!("{}kbit", (bytes * 8 * 2 / 1000 * 97 / 100).max(100));
    // Adding a root qdisc to a live interface (a graft) drops what the kernel sends it in the
    // meantime (an RCU grace period: a frame or two of these streams, counted in the member's
    // tx_dropped); those losses are the test's, not lagd's (issue 12: the "clsact hand-back
    // loss", seen on both attach modes). Counted here and allowed below.
    let graft0 = tx_dropped(&h, &a, &link);
    lagd_dataplane::netns::tbf(&a, &link, &rate, "3kb", "400ms").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let grafted = tx_dropped(&h, &a, &link) - graft0;
    remove_and_wait_hand_back(&mut h, &link, before, attach, start, secs as f64, "streams");
    let d = &h.status_a().protocol["distributor"];
    eprintln!(
        "{attach}: distributor: moves {} completed, {} marker timeouts, {} early completions",
        d["moves_completed"], d["marker_timeouts"], d["early_completions"]
    );
    let reports: Vec<_> = streams.into_iter().map(Udp::finish).collect();
    let extra = extra.map(Udp::finish);
    for side in [h.links_of_a(), h.links_of_b()] {
        for l in side {
            eprintln!(
                "{attach}: {} {}: in {} out {} ierrors {} oerrors {} drops {:?}",
                l.kind, l.name, l.ipackets, l.opackets, l.ierrors, l.oerrors, l.drops
            );
        }
    }
    // Datagrams B's sockets dropped (a starved receiver) and the kernel dropped at the qdisc
    // graft are the only losses allowed.
    let starved = udp_rcvbuf_errors(&h, &b) - rcvbuf0;
    eprintln!("{attach}: dropped at the qdisc graft: {grafted}");
    let mut lost = 0;
    for (i, (sent, got)) in reports.into_iter().enumerate() {
        eprintln!("{attach}: stream {i} ({} pps): {got}", rates[i]);
        assert_eq!(sent.sent, u64::from(rates[i]) * secs, "{sent:?}");
        assert_eq!(got.reordered, 0, "{got}");
        assert_eq!(got.duplicated, 0, "{got}");
        lost += got.lost;
    }
    if let Some((sent, got)) = extra {
        eprintln!("{attach}: extra stream ({extra_rate} pps): {got}");
        assert_eq!(sent.sent, extra_count, "{sent:?}");
        assert_eq!(got.reordered, 0, "{got}");
        assert_eq!(got.duplicated, 0, "{got}");
        lost += got.lost;
    }
    assert!(
        lost <= starved + grafted,
        "{lost} datagrams lost, {starved} of them dropped by B's starved receivers, {grafted} at the qdisc graft"
    );
}

/// Frames the kernel dropped on `dev` in `ns` on their way out (`tx_dropped`).
fn tx_dropped(h: &Hosts, ns: &str, dev: &str) -> u64 {
    let path = format!("/sys/class/net/{dev}/statistics/tx_dropped");
    h.net
        .exec(ns, &["cat", &path])
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

/// TCP counters that reordering or loss between the hosts moves: the sender's reordering
/// detections (SACK, timestamps, Reno) and retransmitted segments, the receiver's segments
/// queued out of order.
#[derive(Clone, Copy, Debug, Default)]
struct TcpOrder {
    reorder_seen: u64,
    retrans: u64,
    ofo: u64,
}

fn tcp_order(h: &Hosts, sender: &str, receiver: &str) -> TcpOrder {
    let ext = |ns: &str, n: &str| snmp_counter(h, ns, "/proc/net/netstat", "TcpExt:", n);
    TcpOrder {
        reorder_seen: ["TCPSACKReorder", "TCPTSReorder", "TCPRenoReorder"]
            .iter()
            .map(|n| ext(sender, n))
            .sum(),
        retrans: snmp_counter(h, sender, "/proc/net/snmp", "Tcp:", "RetransSegs"),
        ofo: ext(receiver, "TCPOFOQueue"),
    }
}

/// Issue 12, item 3 with TCP: flows that never pause (rate-limited writes every 1.6 to 4.4
/// ms, far below the 10 ms idle rule) whose buckets the rebalancer and then a graceful
/// removal move are back in the kernel while they run (hand-back, not an idle return), and
/// arrive intact with no reordering that the sender saw. A's members are [`nic_like`], B's
/// [`fifo_receive`].
fn tcp_hand_back_after_rebalance_and_removal(attach: &str) {
    if !root_or_skip("tcp_hand_back_after_rebalance_and_removal") {
        return;
    }
    let mut h = hosts("nsok", attach, 3, "", "");
    wait_fast(&mut h, attach);
    nic_like(&h);
    fifo_receive(&h);
    let (a, b) = (h.a.clone(), h.b.clone());
    let order0 = tcp_order(&h, &a, &b);
    let seq0 = last_event(&mut h);
    let hb0 = offload(&h.status_a()).hand_backs;
    // Four flows with loads far apart over three links, so that the rebalancer has moves to
    // make. Each writes 64 KiB at a time at its rate.
    let rates: [u64; 4] = [40_000_000, 30_000_000, 20_000_000, 15_000_000];
    let secs = 18.0;
    let mut flows: Vec<_> = rates
        .iter()
        .enumerate()
        .map(|(i, r)| start_tcp(&a, &b, [198, 18, 0, 2], 5800 + i as u16, 1, secs, Some(*r)))
        .collect();
    let start = Instant::now();
    // The extra flow, if needed, as heavy as the heaviest and ending with the others.
    let nudge_at = 5.0;
    let (o, extra) = wait_rebalance_hand_back(
        &mut h,
        seq0,
        hb0,
        start,
        (Duration::from_secs_f64(nudge_at), Duration::from_secs(11)),
        |h: &Hosts| {
            let (a, b) = (&h.a, &h.b);
            start_tcp(
                a,
                b,
                [198, 18, 0, 2],
                5809,
                1,
                secs - nudge_at - 0.5,
                Some(rates[0]),
            )
        },
    );
    let mut rates = rates.to_vec();
    if let Some(f) = extra {
        flows.push(f);
        rates.push(rates[0]);
    }
    print_hand_back(
        &format!(
            "{attach}, TCP: after rebalancing: {} buckets handed back",
            o.hand_backs - hb0
        ),
        &o,
        start,
        secs,
    );
    // Graceful removal of the member carrying the most, flows running.
    let (i, _) = stream_link(&mut h, false, Duration::from_millis(500));
    let link = h.links_a[i].clone();
    remove_and_wait_hand_back(
        &mut h,
        &link,
        o.hand_backs,
        &format!("{attach}, TCP"),
        start,
        secs,
        "flows",
    );
    for (i, (tx, rx)) in flows.into_iter().enumerate() {
        let (sent, got) = (tx.join().unwrap(), rx.join().unwrap());
        eprintln!(
            "{attach}, TCP flow {i} ({} MB/s): sent {} bytes, received {}",
            rates[i] / 1_000_000,
            sent.total_bytes(),
            got.total_bytes()
        );
        assert!(sent.all_ok(), "{sent:?}");
        assert!(got.all_intact(), "{got:?}");
        assert_eq!(sent.total_bytes(), got.total_bytes());
    }
    let order1 = tcp_order(&h, &a, &b);
    let d = TcpOrder {
        reorder_seen: order1.reorder_seen - order0.reorder_seen,
        retrans: order1.retrans - order0.retrans,
        ofo: order1.ofo - order0.ofo,
    };
    eprintln!(
        "{attach}, TCP: reordering seen by the sender {}, segments retransmitted {}, queued out of order at the receiver {}",
        d.reorder_seen, d.retrans, d.ofo
    );
    assert_eq!(d.reorder_seen, 0, "{d:?}");
}

fn carrier_loss_moves_the_dead_members_buckets(attach: &str) {
    if !root_or_skip("carrier_loss_moves_the_dead_members_buckets") {
        return;
    }
    let mut h = hosts("nsoc", attach, 4, "", "");
    wait_fast(&mut h, attach);
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5604, 2000, 8_000);
    std::thread::sleep(Duration::from_millis(500));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    assert!(seen >= 1000, "stream not found: {seen}");
    h.set_b_link(i, false);
    // (How soon lagd hears of the carrier loss is the kernel's linkwatch: up to 1 s for a
    // veth whose peer has the same ifindex. The stream across the cut only must not be
    // duplicated or reordered.)
    let link = h.links_a[i].clone();
    wait_for(&mut h.da, &mut h.ca, AGGR, "carrier loss seen", |s| {
        s.members.iter().any(|m| m.name == link && !m.distributing)
    });
    let (sent, got) = udp.finish();
    eprintln!(
        "{attach}, carrier loss: gap {:.2} ms; {got}",
        got.max_gap.as_secs_f64() * 1e3
    );
    assert_eq!(sent.sent, 8_000, "{sent:?}");
    assert_eq!(got.duplicated, 0, "{got}");
    assert_eq!(got.reordered, 0, "{got}");
    // After it: everything on the three others, through the kernel.
    let before = offload(&h.status_a()).frames;
    let rcvbuf0 = udp_rcvbuf_errors(&h, &b);
    let (sent, got) = Udp::start(&a, &b, [198, 18, 0, 2], 5604, 2000, 4_000).finish();
    std::thread::sleep(Duration::from_millis(400));
    let after = offload(&h.status_a()).frames;
    let starved = udp_rcvbuf_errors(&h, &b) - rcvbuf0;
    eprintln!(
        "{attach}, after the carrier loss: {got}; {} frames by the kernel",
        after - before
    );
    assert_eq!(sent.sent, 4_000, "{sent:?}");
    assert!(
        got.lost <= starved,
        "{got}; {starved} dropped by B's starved receiver"
    );
    assert_eq!(got.reordered + got.duplicated, 0, "{got}");
    assert!(
        after - before >= got.unique,
        "the stream left through the kernel: {} of {}",
        after - before,
        got.unique
    );
    h.set_b_link(i, true);
    h.wait_forwarding();
}

/// Sends `frames` frames of 1500 bytes (EtherType 0x88B5, to a MAC nobody has: B drops them)
/// straight into `dev`'s queue in namespace `ns`, as other traffic of the host would.
fn fill_queue(ns: &str, dev: &str, frames: usize) {
    let (ns, dev) = (ns.to_string(), dev.to_string());
    std::thread::spawn(move || {
        lagd_dataplane::netns::enter(&ns).unwrap();
        let name = std::ffi::CString::new(dev.clone()).unwrap();
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert!(ifindex > 0, "{dev}");
        let sock = common::flood_socket(ifindex, 8 << 20);
        let mut f = vec![0u8; 1500];
        f[..12].copy_from_slice(&[2, 0, 0x5e, 0, 0x12, 0x34, 2, 0, 0x5e, 0, 0x12, 0x35]);
        f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
        let mut sent = 0;
        while sent < frames {
            match sock.send(&f) {
                Ok(()) => sent += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    sock.wait_writable(100).unwrap();
                }
                Err(e) => panic!("filling {dev}: {e}"),
            }
        }
    })
    .join()
    .unwrap();
}

/// Issue 12 (session 6, (c)): a Marker waits in the old member's queue behind the frames sent
/// there before it. Here a graceful removal's Marker waits behind about 600 ms of frames (a
/// 20 Mbit/s tbf holding 1.5 MB, put there by the host as other traffic would), far longer
/// than the 100 ms Marker timeout. Counted from lagd's send, the timeout completed the move
/// while the streams' last frames still waited on the old member, and the frames released on
/// the other member overtook them (reordered). Counted from the Marker's departure (its
/// transmit timestamp), the move waits for the Marker Response: nothing reordered or lost.
fn marker_behind_a_deep_queue(attach: &str) {
    if !root_or_skip("marker_behind_a_deep_queue") {
        return;
    }
    let mut h = hosts("nsoq", attach, 2, "rebalance_interval = \"off\"", "");
    wait_fast(&mut h, attach);
    let (a, b) = (h.a.clone(), h.b.clone());
    // Room for 2 s of frames: nothing dropped.
    shaped(&h, "20mbit", "5kb", "2s");
    fifo_receive(&h);
    let rates = [400u32, 300, 200];
    let secs = 10u64;
    let rcvbuf0 = udp_rcvbuf_errors(&h, &b);
    let streams = start_streams(&a, &b, 5750, &rates, secs);
    let start = Instant::now();
    // Past the Marker pacing interval (2 s) of the start's moves: the drain's Marker goes at
    // once, behind the queue.
    std::thread::sleep(Duration::from_millis(2500));
    let (i, seen) = stream_link(&mut h, false, Duration::from_millis(500));
    assert!(seen > 0, "no stream found");
    let link = h.links_a[i].clone();
    let d0 = h.status_a().protocol["distributor"].clone();
    let before = offload(&h.status_a()).hand_backs;
    // 1000 frames of 1500 bytes: 600 ms at 20 Mbit/s.
    fill_queue(&a, &link, 1000);
    remove_and_wait_hand_back(&mut h, &link, before, attach, start, secs as f64, "streams");
    let d = &h.status_a().protocol["distributor"];
    let delta = |k: &str| d[k].as_u64().unwrap_or(0) - d0[k].as_u64().unwrap_or(0);
    eprintln!(
        "{attach}: behind a deep queue: moves {} completed, {} marker timeouts, {} early completions",
        delta("moves_completed"),
        delta("marker_timeouts"),
        delta("early_completions")
    );
    finish_streams(attach, streams, &rates, secs, || {
        udp_rcvbuf_errors(&h, &b) - rcvbuf0
    });
}

/// `rx_steering` switched live on B (the receiver) under never-pausing streams: every switch
/// is made while they run (B's status shows it in force, not waiting), and no datagram is
/// reordered, duplicated or lost. B's members receive each flow on one CPU ([`fifo_receive`],
/// the condition under which `off` is in order: what is left to reorder is the switch); the
/// senders' flow hashes (their sockets' random ones) pick those CPUs, the kernel's flow hash
/// the aggregate's, so a switch moves a flow between backlogs of different CPUs.
fn rx_steering_switches_without_reordering(attach: &str) {
    if !root_or_skip("rx_steering_switches_without_reordering") {
        return;
    }
    let mut h = hosts("nsos", attach, 2, "rebalance_interval = \"off\"", "");
    wait_fast(&mut h, attach);
    fifo_receive(&h);
    let (a, b) = (h.a.clone(), h.b.clone());
    assert_eq!(
        offload(&status_b(&mut h)).rx_steering.as_deref(),
        Some("by-flow")
    );
    // Gaps of 0.4 to 1 ms per stream: a switch needs 50 us with none (each try, every 250 ms).
    let rates = [2500u32, 1500, 1000];
    let secs = 40u64;
    let rcvbuf0 = udp_rcvbuf_errors(&h, &b);
    let streams = start_streams(&a, &b, 5800, &rates, secs);
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    for setting in [
        RxSteering::Off,
        RxSteering::On,
        RxSteering::Off,
        RxSteering::Auto,
    ] {
        let c = AggrSettings {
            rx_steering: Some(setting),
            ..Default::default()
        };
        h.cb.modify_aggr(AGGR, c, true).unwrap();
        let want = if setting.by_flow() { "by-flow" } else { "off" };
        let s = wait_for(
            &mut h.db,
            &mut h.cb,
            AGGR,
            &format!("B's receive steering {want}"),
            |s| s.offload.as_ref().and_then(|o| o.rx_steering.as_deref()) == Some(want),
        );
        eprintln!(
            "{attach}: rx_steering = {setting}: {want} at +{:.1} s ({} switches crossed by a frame)",
            start.elapsed().as_secs_f64(),
            offload(&s).rx_steering_crossed
        );
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            start.elapsed() < Duration::from_secs(secs - 1),
            "the streams ended before the last switch"
        );
    }
    finish_streams(attach, streams, &rates, secs, || {
        udp_rcvbuf_errors(&h, &b) - rcvbuf0
    });
}

/// Never-pausing UDP streams from `a` to B's address, one per rate (datagrams per second), on
/// ports from `port0`, for `secs` s.
fn start_streams(a: &str, b: &str, port0: u16, rates: &[u32], secs: u64) -> Vec<Udp> {
    rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Udp::start(
                a,
                b,
                [198, 18, 0, 2],
                port0 + i as u16,
                *r,
                u64::from(*r) * secs,
            )
        })
        .collect()
}

/// Ends [`start_streams`]' streams: each sent everything, none reordered or duplicated, and no
/// more lost than `starved()` (datagrams B's starved receivers dropped, read first).
fn finish_streams(
    attach: &str,
    streams: Vec<Udp>,
    rates: &[u32],
    secs: u64,
    starved: impl FnOnce() -> u64,
) {
    let starved = starved();
    let reports: Vec<_> = streams.into_iter().map(Udp::finish).collect();
    let mut lost = 0;
    for (i, (sent, got)) in reports.into_iter().enumerate() {
        eprintln!("{attach}: stream {i} ({} pps): {got}", rates[i]);
        assert_eq!(sent.sent, u64::from(rates[i]) * secs, "{sent:?}");
        assert_eq!(got.reordered, 0, "{got}");
        assert_eq!(got.duplicated, 0, "{got}");
        lost += got.lost;
    }
    assert!(
        lost <= starved,
        "{lost} datagrams lost, {starved} of them dropped by B's starved receivers"
    );
}
