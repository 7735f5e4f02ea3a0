//! Failures of one member under traffic, between two lagd hosts joined by four veth links
//! (LACP, short timers):
//!
//! - carrier loss under a 2 000 datagrams/s sequence-numbered UDP stream: the gap is measured
//!   and printed (no timing assertion) and nothing is duplicated;
//! - administrative graceful removal (`RemoveLinks { graceful: true }`) of the member carrying
//!   a UDP stream, under 4 TCP flows: nothing lost, nothing reordered;
//! - silent failure (carrier up, every frame B sends on the member dropped by a tc filter): the
//!   member expires within the short timeout, the stream continues on the other links, and
//!   after the filter is removed the member is back Collecting and Distributing.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). Timed assertions only with wide
//! margins; measured times are printed (`--nocapture`).

mod common;

use common::*;
use std::time::{Duration, Instant};

fn member_forwarding(a: &lagd::control::proto::AggrStatus, name: &str) -> bool {
    a.members
        .iter()
        .any(|m| m.name == name && m.collecting && m.distributing)
}

#[test]
fn carrier_loss_under_udp_stream_gap_measured_no_duplicates() {
    if !root_or_skip("carrier_loss_under_udp_stream_gap_measured_no_duplicates") {
        return;
    }
    let mut h = Hosts::start("nscl", 4, |_, l| lacp_config(l, ""));
    h.wait_forwarding();
    h.address();
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5501, 2000, 12_000);
    std::thread::sleep(Duration::from_millis(500));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    let link = h.links_a[i].clone();
    assert!(
        seen >= 1000,
        "stream not found on one link: {seen} frames on {link}"
    );
    let cut_ns = lagd_trafgen::clock::now_ns();
    h.set_b_link(i, false);
    let t = Instant::now();
    wait_for(&mut h.da, &mut h.ca, AGGR, "A takes the member out", |s| {
        !member_forwarding(s, &link)
    });
    eprintln!(
        "carrier loss: A's status shows {link} out of distribution after {:.0} ms (polled)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let (sent, got) = udp.finish();
    let start_rel_ms = (got.max_gap_start_ns as f64 - cut_ns as f64) / 1e6;
    eprintln!(
        "carrier loss under 2000 pps: gap {:.2} ms starting {start_rel_ms:+.1} ms from the cut; {got}",
        got.max_gap.as_secs_f64() * 1e3
    );
    assert_eq!(got.duplicated, 0, "{got}");
    assert_eq!(sent.sent, 12_000, "{sent:?}");
    // The stream continued on the other links until its end.
    assert!(got.unique * 10 >= sent.sent * 9, "{got}");
    assert!(got.saw_last_or_complete(2000), "{got}");
    h.set_b_link(i, true);
    h.wait_forwarding();
}

/// The stream did not die at the cut: everything lost is explained by the one failover gap
/// (its length is printed, not asserted: the kernel may hold a carrier event back on a loaded
/// machine), plus 200 datagrams of slack; `rate` is the stream's datagrams per second.
trait SawEnd {
    fn saw_last_or_complete(&self, rate: u64) -> bool;
}

impl SawEnd for lagd_trafgen::StreamReport {
    fn saw_last_or_complete(&self, rate: u64) -> bool {
        let in_gap = self.max_gap.as_millis() as u64 * rate / 1000;
        self.expected > 0 && self.unique + in_gap + 200 >= self.expected
    }
}

#[test]
fn graceful_removal_under_tcp_and_udp_loses_and_reorders_nothing() {
    if !root_or_skip("graceful_removal_under_tcp_and_udp_loses_and_reorders_nothing") {
        return;
    }
    // A does not rebalance, so that the stream stays on the link found for it.
    let mut h = Hosts::start("nsgr", 4, lacp_a_without_rebalance);
    h.wait_forwarding();
    h.address();
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5502, 2000, 14_000);
    std::thread::sleep(Duration::from_millis(300));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    let link = h.links_a[i].clone();
    assert!(
        seen >= 1000,
        "stream not found on one link: {seen} frames on {link}"
    );
    // Modest TCP rates: the daemons under test are debug builds, and a TAP queue that
    // overflows in the kernel would drop datagrams before lagd sees them.
    let (flows, sink) = start_tcp(&a, &b, [198, 18, 0, 2], 5503, 4, 5.0, Some(250_000));
    std::thread::sleep(Duration::from_secs(2));
    let l0 = h.links_of_a();
    let t = Instant::now();
    let msg = h.ca.remove_links(AGGR, &[&link], true, true).unwrap();
    eprintln!(
        "RemoveLinks graceful {link}: {msg} ({:.0} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );
    wait_for(&mut h.da, &mut h.ca, AGGR, "member removed", |s| {
        !s.members.iter().any(|m| m.name == link) && !s.draining.contains(&link)
    });
    eprintln!(
        "{link} gone from A's aggregation after {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let sent_tcp = flows.join().unwrap();
    let got_tcp = sink.join().unwrap();
    let (sent, got) = udp.finish();
    let l1 = h.links_of_a();
    let names: Vec<String> = h.links_a.iter().filter(|n| **n != link).cloned().collect();
    eprintln!(
        "graceful removal of {link}: UDP {got}; TCP {} bytes, frames since on the others {:?}",
        got_tcp.total_bytes(),
        deltas(&names, &l0, &l1, |l| l.opackets)
    );
    for (side, links) in [("A", h.links_of_a()), ("B", h.links_of_b())] {
        for l in links
            .iter()
            .filter(|l| l.drops.values().any(|v| *v > 0) || l.ierrors + l.oerrors > 0)
        {
            eprintln!(
                "  {side} {} {}: ierrors {} oerrors {} drops {:?}",
                l.kind, l.name, l.ierrors, l.oerrors, l.drops
            );
        }
    }
    assert!(
        sent_tcp.all_ok() && got_tcp.all_intact(),
        "{sent_tcp:?}\n{got_tcp:?}"
    );
    assert_eq!(sent.sent, 14_000, "{sent:?}");
    assert_eq!(got.lost, 0, "{got}");
    assert_eq!(got.reordered, 0, "{got}");
    assert_eq!(got.duplicated, 0, "{got}");
}

#[test]
fn silent_failure_expires_and_recovers() {
    if !root_or_skip("silent_failure_expires_and_recovers") {
        return;
    }
    // B sends the stream and does not rebalance, so that it stays on the link found for it.
    let mut h = Hosts::start("nssf", 4, |side, l| {
        lacp_config(
            l,
            if side == 'b' {
                "rebalance_interval = \"off\""
            } else {
                ""
            },
        )
    });
    h.wait_forwarding();
    h.address();
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&b, &a, [198, 18, 0, 1], 5504, 1000, 16_000);
    std::thread::sleep(Duration::from_millis(300));
    let (i, seen) = stream_link(&mut h, true, Duration::from_secs(1));
    let (la, lb) = (h.links_a[i].clone(), h.links_b[i].clone());
    assert!(
        seen >= 500,
        "stream not found on one link: {seen} frames on {lb}"
    );
    // A down interface to redirect B's egress on the member to: the frames vanish, the
    // carrier stays up.
    let hole = lagd_dataplane::netns::unique_name("hole");
    let hole_peer = lagd_dataplane::netns::unique_name("hole");
    h.net
        .exec(
            &b,
            &[
                "ip", "link", "add", &hole, "type", "veth", "peer", "name", &hole_peer,
            ],
        )
        .unwrap();
    h.net
        .exec(&b, &["tc", "qdisc", "add", "dev", &lb, "clsact"])
        .unwrap();
    h.net
        .exec(
            &b,
            &[
                "tc", "filter", "add", "dev", &lb, "egress", "protocol", "all", "u32", "match",
                "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", &hole,
            ],
        )
        .unwrap();
    let t = Instant::now();
    let st = wait_for(
        &mut h.da,
        &mut h.ca,
        AGGR,
        "the silent member expires on A",
        |s| {
            s.members
                .iter()
                .any(|m| m.name == la && !m.collecting && !m.distributing)
        },
    );
    let expired_after = t.elapsed();
    let m = st.members.iter().find(|m| m.name == la).unwrap();
    eprintln!(
        "silent failure of {la}: out of Collecting/Distributing on A after {:.2} s (receive {}, mux {}, link up {})",
        expired_after.as_secs_f64(),
        m.receive,
        m.mux,
        m.link_up
    );
    assert!(m.link_up, "the carrier must stay up: {m:?}");
    // Short timeout: 3 s without LACPDU. Generous bound for a loaded machine.
    assert!(expired_after < Duration::from_secs(15), "{expired_after:?}");
    // B stops distributing on the member once it learns from A's LACPDUs (coupled control:
    // when A no longer reports Synchronization, i.e. after A's current_while_timer ran out a
    // second time and A's member left the aggregation), and the stream resumes on the others.
    let stalled = udp.rx.snapshot().unique;
    wait_for(
        &mut h.db,
        &mut h.cb,
        AGGR,
        "B stops distributing on the silent member",
        |s| s.members.iter().any(|m| m.name == lb && !m.distributing),
    );
    eprintln!(
        "silent failure: B stopped distributing on {lb} {:.2} s after the filter",
        t.elapsed().as_secs_f64()
    );
    let resume = Instant::now();
    while udp.rx.snapshot().unique < stalled + 500 {
        assert!(
            resume.elapsed() < Duration::from_secs(30),
            "the stream did not resume: {}",
            udp.rx.snapshot()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "silent failure: the stream flows again on the other links {:.2} s after the filter",
        t.elapsed().as_secs_f64()
    );
    // Heal.
    h.net
        .exec(&b, &["tc", "qdisc", "del", "dev", &lb, "clsact"])
        .unwrap();
    let t = Instant::now();
    wait_for(&mut h.da, &mut h.ca, AGGR, "the member comes back", |s| {
        member_forwarding(s, &la)
    });
    let back_after = t.elapsed();
    eprintln!(
        "silent failure healed: {la} Collecting and Distributing again on A after {:.2} s",
        back_after.as_secs_f64()
    );
    assert!(back_after <= Duration::from_secs(5), "{back_after:?}");
    let (sent, got) = udp.finish();
    eprintln!(
        "silent failure under 1000 pps B -> A: gap {:.0} ms; {got}",
        got.max_gap.as_secs_f64() * 1e3
    );
    assert_eq!(got.duplicated, 0, "{got}");
    assert_eq!(sent.sent, 16_000, "{sent:?}");
    // Datagrams are lost only while the member was silent (about the gap at 1000/s).
    assert!(
        (got.lost as f64) <= (got.max_gap.as_secs_f64() + 1.0) * 1000.0,
        "{got}"
    );
}
