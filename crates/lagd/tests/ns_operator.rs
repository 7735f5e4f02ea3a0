//! The operator verbs that change the data path, under traffic, between two lagd hosts:
//!
//! - `DisableMembers` of the member carrying a sequence-numbered UDP stream, under 4 TCP flows:
//!   nothing lost, nothing reordered; the member stays a member (`disabled`, Collecting), sends
//!   no data frame while disabled; `ShowHash` placed the stream on that member before (the
//!   data path's own hash) and elsewhere after; `EnableMembers` gives it its share back;
//! - `ChooseActive` in active-backup under a UDP stream: the traffic moves to the chosen member,
//!   nothing lost, nothing reordered.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). No timed assertion; what was
//! measured is printed (`--nocapture`).

mod common;

use common::*;
use lagd_agg::lagd_distrib::{FlowKey, flowkey::ipproto};
use std::time::Duration;

const SPORT: u16 = 41_000;
const DPORT: u16 = 5512;

/// A UDP stream from ADDR_A:SPORT to ADDR_B:`dport` (the conversation is known exactly).
fn udp_from_known_port(h: &Hosts, dport: u16, pps: u32, count: u64) -> Udp {
    use lagd_trafgen::{UdpReceiver, UdpReceiverConfig, UdpSender, UdpSenderConfig};
    let dst: std::net::SocketAddr = format!("{ADDR_B}:{dport}").parse().unwrap();
    let secs = count as f64 / f64::from(pps);
    let mut rc = UdpReceiverConfig::new(dst, Duration::from_secs_f64(secs + 60.0));
    rc.netns = Some(h.b.clone());
    rc.idle_timeout = Duration::from_secs(20);
    rc.linger = Duration::from_millis(500);
    let rx = UdpReceiver::spawn(rc).unwrap();
    let mut sc = UdpSenderConfig::new(dst, pps, count);
    sc.netns = Some(h.a.clone());
    sc.bind = Some(format!("{ADDR_A}:{SPORT}").parse().unwrap());
    sc.max_duration = Duration::from_secs_f64(secs * 2.0 + 30.0);
    let tx = UdpSender::spawn(sc).unwrap();
    Udp { rx, tx }
}

fn state_of(a: &lagd::control::proto::AggrStatus, link: &str) -> String {
    a.members
        .iter()
        .find(|m| m.name == link)
        .map(|m| m.state.clone())
        .unwrap_or_default()
}

#[test]
fn disable_under_traffic_loses_and_reorders_nothing_and_enable_returns_the_member() {
    if !root_or_skip(
        "disable_under_traffic_loses_and_reorders_nothing_and_enable_returns_the_member",
    ) {
        return;
    }
    // A does not rebalance, so that the stream stays on the link found for it.
    let mut h = Hosts::start("nsdis", 3, lacp_a_without_rebalance);
    h.wait_forwarding();
    h.address();
    let udp = udp_from_known_port(&h, DPORT, 2000, 14_000);
    std::thread::sleep(Duration::from_millis(300));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    let link = h.links_a[i].clone();
    assert!(
        seen >= 1000,
        "stream not found on one link: {seen} frames on {link}"
    );
    // show-hash: the data path's own hash places the stream on the link it was seen on.
    let key = FlowKey::conversation(
        h.status_a().mac,
        Default::default(),
        ADDR_A.parse().unwrap(),
        ADDR_B.parse().unwrap(),
        ipproto::UDP,
        SPORT,
        DPORT,
    );
    let before = h.ca.show_hash(AGGR, Some(key)).unwrap();
    let place = before.flow.clone().unwrap();
    eprintln!(
        "show-hash: hash 0x{:08x} bucket {} member {:?}; seen on {link}",
        place.hash, place.bucket, place.member
    );
    assert_eq!(place.member.as_deref(), Some(link.as_str()), "{before:?}");
    assert_eq!(before.buckets[place.bucket].member, place.member);

    let (flows, sink) = start_tcp(&h.a, &h.b, [198, 18, 0, 2], 5513, 4, 6.0, Some(250_000));
    std::thread::sleep(Duration::from_secs(2));
    let msg = h.ca.disable_members(AGGR, &[&link], false).unwrap();
    eprintln!("DisableMembers {link}: {msg}");
    assert!(msg.contains("drained"), "{msg}");
    let st = h.status_a();
    assert_eq!(state_of(&st, &link), "disabled", "{st:?}");
    assert_eq!(st.disabled, vec![link.clone()]);
    assert!(
        st.members.iter().any(|m| m.name == link && m.collecting),
        "still collecting"
    );
    let after = h.ca.show_hash(AGGR, Some(key)).unwrap();
    let moved = after.flow.clone().unwrap().member;
    assert!(
        moved.is_some() && moved.as_deref() != Some(link.as_str()),
        "{moved:?}"
    );
    assert!(
        after
            .buckets
            .iter()
            .all(|b| b.member.as_deref() != Some(link.as_str()))
    );
    // While disabled it sends no data: only LACPDUs (one a second, short timer) at most.
    let l0 = h.links_of_a();
    std::thread::sleep(Duration::from_secs(2));
    let l1 = h.links_of_a();
    let sent_disabled = deltas(std::slice::from_ref(&link), &l0, &l1, |l| l.opackets)[0];
    eprintln!("{link} sent {sent_disabled} frames in 2 s while disabled");
    assert!(
        sent_disabled <= 6,
        "{sent_disabled} frames on a disabled member"
    );
    // Enabled again: it takes its share back.
    let msg = h.ca.enable_members(AGGR, &[&link]).unwrap();
    eprintln!("EnableMembers {link}: {msg}");
    let name = link.clone();
    wait_for(&mut h.da, &mut h.ca, AGGR, "member active again", |s| {
        state_of(s, &name) == "active" && s.disabled.is_empty()
    });
    // Its take-back may wait for the Marker pacing interval (2 s) of the other ports.
    let start = std::time::Instant::now();
    let owned = loop {
        let back = h.ca.show_hash(AGGR, None).unwrap();
        let owned = back
            .buckets
            .iter()
            .filter(|b| b.member.as_deref() == Some(link.as_str()))
            .count();
        if owned > 0 || start.elapsed() > PATIENCE {
            break owned;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("{link} owns {owned} of 256 buckets again");
    assert!(owned > 0);

    let sent_tcp = flows.join().unwrap();
    let got_tcp = sink.join().unwrap();
    let (sent, got) = udp.finish();
    eprintln!(
        "disable/enable {link}: UDP {got}; TCP {} bytes",
        got_tcp.total_bytes()
    );
    assert!(
        sent_tcp.all_ok() && got_tcp.all_intact(),
        "{sent_tcp:?}\n{got_tcp:?}"
    );
    assert_eq!(sent.sent, 14_000, "{sent:?}");
    assert_eq!(got.lost, 0, "{got}");
    assert_eq!(got.reordered, 0, "{got}");
    assert_eq!(got.duplicated, 0, "{got}");
    // Refused on the last member carrying traffic, nothing changed.
    let all: Vec<&str> = h.links_a.iter().map(String::as_str).collect();
    let e = h.ca.disable_members(AGGR, &all, false).unwrap_err();
    eprintln!("disable every member: {e}");
    assert!(e.to_string().contains("only member"), "{e}");
    assert!(h.status_a().disabled.is_empty(), "all or nothing");
}

#[test]
fn choose_active_under_traffic_loses_and_reorders_nothing() {
    if !root_or_skip("choose_active_under_traffic_loses_and_reorders_nothing") {
        return;
    }
    let mut h = Hosts::start("nsact", 2, |_, l| {
        aggr_config(l, "mode = \"active-backup\"")
    });
    h.wait_forwarding();
    h.address();
    let first = h.status_a().active_member.expect("an active member");
    let other = h.links_a.iter().find(|l| **l != first).unwrap().clone();
    let udp = udp_from_known_port(&h, DPORT + 1, 2000, 10_000);
    std::thread::sleep(Duration::from_secs(1));
    let msg = h.ca.choose_active(AGGR, &other).unwrap();
    eprintln!("ChooseActive {other} (was {first}): {msg}");
    assert!(msg.contains("is the active member"), "{msg}");
    assert_eq!(h.status_a().active_member.as_deref(), Some(other.as_str()));
    let (i, seen) = stream_link(&mut h, false, Duration::from_secs(1));
    assert_eq!(h.links_a[i], other, "the stream follows the chosen member");
    assert!(seen > 500, "{seen}");
    let (sent, got) = udp.finish();
    eprintln!("set-active-member: UDP {got}");
    assert_eq!(sent.sent, 10_000, "{sent:?}");
    assert_eq!(got.lost, 0, "{got}");
    assert_eq!(got.reordered, 0, "{got}");
    let e = h.ca.choose_active(AGGR, "nonesuch").unwrap_err();
    assert!(e.to_string().contains("not a member"), "{e}");
}
