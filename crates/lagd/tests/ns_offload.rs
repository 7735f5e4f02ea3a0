//! The kernel fast path (`offload = true`) between two lagd hosts joined by four veth links
//! (LACP, short timers, both sides offloading):
//!
//! - 16 TCP flows A → B arrive intact, spread over the four links; A's kernel program sent them
//!   and B's received them (status and member counters say so), and LACP still runs (the
//!   members' sockets see Slow Protocols frames only);
//! - graceful removal of the member carrying a sequence-numbered UDP stream while frames queue
//!   on it (tbf): nothing lost, reordered or duplicated (the moved conversations leave the fast
//!   path before the Marker is sent, and return only once idle);
//! - carrier loss of the member carrying the stream: it continues on the others (the dead
//!   member's buckets are moved in the kernel's table), nothing duplicated.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;
use std::time::Duration;

fn offload_hosts(tag: &str, extra_a: &str) -> Hosts {
    let extra_a = format!("offload = true\n{extra_a}");
    let mut h = Hosts::start(tag, 4, |side, l| {
        lacp_config(
            l,
            if side == 'a' {
                &extra_a
            } else {
                "offload = true"
            },
        )
    });
    h.wait_forwarding();
    h.address();
    h
}

fn offloaded_frames(h: &mut Hosts) -> (usize, u64) {
    let o = h.status_a().offload.expect("A runs the fast path");
    (o.fast_buckets, o.frames)
}

#[test]
fn offload_carries_sixteen_tcp_flows_over_four_links() {
    if !root_or_skip("offload_carries_sixteen_tcp_flows_over_four_links") {
        return;
    }
    let mut h = offload_hosts("nsoa", "");
    let (a, b) = (h.a.clone(), h.b.clone());
    let names = h.links_a.clone();
    let l0 = h.links_of_a();
    let l0b = h.links_of_b();
    let (sent, got) = tcp_flows(&a, &b, [198, 18, 0, 2], 5601, 16, 3.0, None);
    assert!(sent.all_ok() && got.all_intact(), "{sent:?}\n{got:?}");
    std::thread::sleep(Duration::from_millis(400)); // one counter harvest
    let l1 = h.links_of_a();
    let per_link = deltas(&names, &l0, &l1, |l| l.opackets);
    let b_names = h.links_b.clone();
    let b0 = l0b;
    let b1 = h.links_of_b();
    let b_rx: u64 = deltas(&b_names, &b0, &b1, |l| l.ipackets).iter().sum();
    let (fast, frames) = offloaded_frames(&mut h);
    eprintln!(
        "offload: {} bytes in 16 flows; A's members sent {per_link:?} frames; {fast} buckets fast, {frames} frames by the kernel",
        got.total_bytes()
    );
    assert!(fast > 0 && frames > 0, "the fast path carried nothing");
    let total: u64 = per_link.iter().sum();
    assert!(
        frames * 4 >= total * 3,
        "most frames went through the kernel: {frames} of {total}"
    );
    assert!(
        per_link.iter().all(|d| *d * 40 >= total),
        "16 flows over 4 links: {per_link:?}"
    );
    let b_links = h.links_of_b();
    let b_members: u64 = b_links
        .iter()
        .filter(|l| l.kind == "member")
        .map(|l| l.ipackets)
        .sum();
    eprintln!("B's members received {b_rx} frames in the run ({b_members} in all)");
    assert!(
        b_rx * 10 >= total * 9,
        "B's receive programs counted {b_rx} of the {total} frames A sent"
    );
    // LACP still runs over the filtered sockets: both sides stay Collecting and Distributing.
    h.wait_forwarding();
    // Switched off and on again live: traffic passes each way every time.
    for on in [false, true] {
        let changes = lagd::config::AggrChanges {
            offload: Some(on),
            ..Default::default()
        };
        h.ca.modify_aggr(AGGR, changes.clone(), true).unwrap();
        h.cb.modify_aggr(AGGR, changes, true).unwrap();
        assert_eq!(h.status_a().offload.is_some(), on);
        h.wait_forwarding();
        let (sent, got) = tcp_flows(&a, &b, [198, 18, 0, 2], 5605 + u16::from(on), 4, 1.0, None);
        assert!(
            sent.all_ok() && got.all_intact(),
            "offload {on}: {sent:?}\n{got:?}"
        );
        assert!(ping(&b, ADDR_A, &[]), "offload {on}: B -> A");
    }
}

#[test]
fn offload_graceful_removal_loses_and_reorders_nothing() {
    if !root_or_skip("offload_graceful_removal_loses_and_reorders_nothing") {
        return;
    }
    let mut h = offload_hosts("nsob", "rebalance_interval = \"off\"");
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5602, 2000, 14_000);
    std::thread::sleep(Duration::from_millis(300));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    let link = h.links_a[i].clone();
    assert!(seen >= 1000, "stream not found: {seen} frames on {link}");
    let (fast_before, frames_before) = offloaded_frames(&mut h);
    assert!(
        fast_before > 0 && frames_before > 0,
        "nothing on the fast path"
    );
    // A queue on the stream's link, shaped just below the stream's rate for a moment (no
    // drop): frames sent on it before the move are still waiting there, tens of ms behind,
    // when the move starts, so a frame sent on the new link too early would overtake them.
    lagd_dataplane::netns::tbf(&a, &link, "1500kbit", "3kb", "400ms").unwrap();
    std::thread::sleep(Duration::from_millis(250));
    h.ca.remove_links(AGGR, &[&link], true, true).unwrap();
    wait_for(&mut h.da, &mut h.ca, AGGR, "member removed", |s| {
        !s.members.iter().any(|m| m.name == link) && !s.draining.contains(&link)
    });
    let (sent, got) = udp.finish();
    let (fast, frames) = offloaded_frames(&mut h);
    eprintln!(
        "offload, graceful removal of {link}: UDP {got}; {fast} buckets fast, {frames} frames by the kernel"
    );
    assert_eq!(sent.sent, 14_000, "{sent:?}");
    assert_eq!(got.lost, 0, "{got}");
    assert_eq!(got.reordered, 0, "{got}");
    assert_eq!(got.duplicated, 0, "{got}");
    assert!(
        frames > frames_before,
        "the fast path went on after the move"
    );
}

#[test]
fn offload_carrier_loss_moves_the_dead_members_buckets() {
    if !root_or_skip("offload_carrier_loss_moves_the_dead_members_buckets") {
        return;
    }
    let mut h = offload_hosts("nsoc", "");
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5604, 2000, 12_000);
    std::thread::sleep(Duration::from_millis(500));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    assert!(seen >= 1000, "stream not found: {seen}");
    let (_, frames_before) = offloaded_frames(&mut h);
    assert!(frames_before > 0, "the stream is on the fast path");
    h.set_b_link(i, false);
    let (sent, got) = udp.finish();
    eprintln!(
        "offload, carrier loss: gap {:.2} ms; {got}",
        got.max_gap.as_secs_f64() * 1e3
    );
    assert_eq!(sent.sent, 12_000, "{sent:?}");
    assert_eq!(got.duplicated, 0, "{got}");
    assert!(got.unique * 10 >= sent.sent * 9, "{got}");
    assert!(got.unique + 200 >= got.expected, "the stream died: {got}");
    h.set_b_link(i, true);
    h.wait_forwarding();
}

/// IPv6 TCP takes the fast path too (the program hashes IPv6 like the distributor). Addresses
/// from 2001:2::/48, the IPv6 benchmarking range (RFC 5180).
#[test]
fn offload_carries_ipv6_tcp() {
    if !root_or_skip("offload_carries_ipv6_tcp") {
        return;
    }
    let mut h = offload_hosts("nsod", "");
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
    let (_, before) = offloaded_frames(&mut h);
    use lagd_trafgen::{TcpFlows, TcpFlowsConfig, TcpSink, TcpSinkConfig};
    let addr: std::net::SocketAddr = "[2001:2::2]:5611".parse().unwrap();
    let mut sc = TcpSinkConfig::new(addr, 4, Duration::from_secs(40));
    sc.netns = Some(h.b.clone());
    let sink = TcpSink::spawn(sc).unwrap();
    let mut fc = TcpFlowsConfig::new(addr, 4, Duration::from_secs(2));
    fc.netns = Some(h.a.clone());
    let sent = TcpFlows::spawn(fc).unwrap().join().unwrap();
    let got = sink.join().unwrap();
    std::thread::sleep(Duration::from_millis(400)); // one counter harvest
    let (_, after) = offloaded_frames(&mut h);
    eprintln!(
        "offload, IPv6: {} bytes in 4 flows; {} frames by the kernel",
        got.total_bytes(),
        after - before
    );
    assert!(sent.all_ok() && got.all_intact(), "{sent:?}\n{got:?}");
    assert!(
        after - before > 1000,
        "IPv6 TCP went through the kernel: {} frames",
        after - before
    );
}
