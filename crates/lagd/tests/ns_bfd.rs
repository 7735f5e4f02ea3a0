//! Micro-BFD (RFC 7130) between two lagd hosts joined by two veth members, under a UDP
//! stream: a silent failure (carrier up, every frame one side sends on the member redirected
//! by tc to a veth that is down) is detected by BFD, the member leaves collection and
//! distribution, the stream continues on the other member, and the member comes back when
//! the fault is healed. One way with LACP, both ways on a static trunk. Assertions are on
//! states and frame counts only; times are printed (`--nocapture`).
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;
use lagd::control::proto::{AggrStatus, BfdStatus};
use std::time::{Duration, Instant};

fn bfd<'a>(s: &'a AggrStatus, member: &str) -> &'a BfdStatus {
    let m = s.members.iter().find(|m| m.name == member).unwrap();
    m.bfd
        .as_ref()
        .unwrap_or_else(|| panic!("{member} has no BFD session: {m:?}"))
}

fn forwarding(s: &AggrStatus, member: &str) -> bool {
    s.members
        .iter()
        .any(|m| m.name == member && m.collecting && m.distributing)
}

fn all_bfd_up(s: &AggrStatus) -> bool {
    s.members.iter().all(|m| {
        m.bfd
            .as_ref()
            .is_some_and(|b| b.state == "Up" && b.remote_state == "Up")
    })
}

/// The stream's UDP destination port.
const STREAM_PORT: u16 = 5601;

/// Drops every frame `ns` sends on `dev` (tc egress redirect to a veth that is down); the
/// stream's datagrams by a filter of their own, which counts them.
struct Silent {
    ns: String,
    dev: String,
    hole: String,
}

impl Silent {
    fn inject(h: &Hosts, ns: &str, dev: &str) -> Silent {
        let hole = lagd_dataplane::netns::unique_name("hole");
        let peer = lagd_dataplane::netns::unique_name("hole");
        let run = |args: &[&str]| h.net.exec(ns, args).unwrap();
        run(&[
            "ip", "link", "add", &hole, "type", "veth", "peer", "name", &peer,
        ]);
        run(&["tc", "qdisc", "add", "dev", dev, "clsact"]);
        let port = STREAM_PORT.to_string();
        run(&[
            "tc", "filter", "add", "dev", dev, "egress", "pref", "1", "protocol", "ip", "u32",
            "match", "ip", "protocol", "17", "0xff", "match", "ip", "dport", &port, "0xffff",
            "action", "mirred", "egress", "redirect", "dev", &hole,
        ]);
        run(&[
            "tc", "filter", "add", "dev", dev, "egress", "pref", "2", "protocol", "all", "u32",
            "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", &hole,
        ]);
        Silent {
            ns: ns.into(),
            dev: dev.into(),
            hole,
        }
    }

    /// The stream's datagrams dropped so far.
    fn stream_taken(&self, h: &Hosts) -> u64 {
        let out = h
            .net
            .exec(
                &self.ns,
                &[
                    "tc", "-s", "-j", "filter", "show", "dev", &self.dev, "egress", "pref", "1",
                ],
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["options"]["actions"].as_array())
            .flatten()
            .filter_map(|a| a["stats"]["packets"].as_u64())
            .sum()
    }

    fn heal(self, h: &Hosts) {
        h.net
            .exec(
                &self.ns,
                &["tc", "qdisc", "del", "dev", &self.dev, "clsact"],
            )
            .unwrap();
        let _ = h.net.exec(&self.ns, &["ip", "link", "del", &self.hole]);
    }
}

const BFD: &str = "bfd = { interval = \"50ms\", multiplier = 3 }";

fn start(tag: &str, lacp: bool) -> Hosts {
    let mut h = Hosts::start(tag, 2, |_, l| {
        let extra = format!("rebalance_interval = \"off\"\n{BFD}");
        if lacp {
            lacp_config(l, &extra)
        } else {
            aggr_config(l, &format!("mode = \"static\"\n{extra}"))
        }
    });
    h.wait_forwarding();
    for (d, c) in [(&mut h.da, &mut h.ca), (&mut h.db, &mut h.cb)] {
        let s = wait_for(d, c, AGGR, "BFD Up on every member", all_bfd_up);
        for m in &s.members {
            let b = m.bfd.as_ref().unwrap();
            assert_eq!(b.detection_time.as_deref(), Some("150ms"), "{b:?}");
            assert_eq!(b.tx_interval.as_deref(), Some("50ms"), "{b:?}");
            assert_ne!(
                b.dst_mac.to_string(),
                "01:00:5e:90:00:01",
                "peer MAC learned"
            );
        }
    }
    h.address();
    h
}

/// Runs a B -> A stream, cuts member `i` silently in the directions asked, and checks
/// detection, continuity and recovery.
fn silent_failure(tag: &str, lacp: bool, cut_b: bool, cut_a: bool) {
    let mut h = start(tag, lacp);
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&b, &a, [198, 18, 0, 1], STREAM_PORT, 1000, 10_000);
    std::thread::sleep(Duration::from_millis(500));
    let (i, seen) = stream_link(&mut h, true, Duration::from_secs(1));
    assert!(seen >= 500, "stream not found on one member: {seen}");
    let (la, lb) = (h.links_a[i].clone(), h.links_b[i].clone());
    let (oa, ob) = (h.links_a[1 - i].clone(), h.links_b[1 - i].clone());
    let cut_ns = lagd_trafgen::clock::now_ns();
    let t = Instant::now();
    let mut faults = Vec::new();
    if cut_b {
        faults.push(Silent::inject(&h, &b, &lb));
    }
    if cut_a {
        faults.push(Silent::inject(&h, &a, &la));
    }
    let sa = wait_for(&mut h.da, &mut h.ca, AGGR, "A takes the member out", |s| {
        !forwarding(s, &la) && bfd(s, &la).state != "Up"
    });
    eprintln!(
        "{tag}: A's status shows {la} out after {:.0} ms (polled)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let sb = wait_for(&mut h.db, &mut h.cb, AGGR, "B takes the member out", |s| {
        !forwarding(s, &lb) && bfd(s, &lb).state != "Up"
    });
    // The stream's datagrams B had put on the dead link when it took the member out.
    let taken_out = faults[0].stream_taken(&h);
    // Who detected by timeout, who was told by the peer.
    let (da, db) = (bfd(&sa, &la), bfd(&sb, &lb));
    const EXPIRED: &str = "Control Detection Time Expired";
    const TOLD: &str = "Neighbor Signaled Session Down";
    if cut_b && cut_a {
        // The two cuts go in by two commands, one after the other: the end that times out
        // first may tell the other before that one's own cut is in. One end at least timed
        // out; the other timed out or was told.
        for x in [da, db] {
            assert!(
                (x.diag == EXPIRED && x.detection_timeouts == 1)
                    || (x.diag == TOLD && x.detection_timeouts == 0),
                "{x:?}"
            );
        }
        assert!(da.diag == EXPIRED || db.diag == EXPIRED, "{da:?} {db:?}");
    } else if cut_b {
        assert_eq!(da.diag, EXPIRED, "{da:?}");
        assert_eq!(da.detection_timeouts, 1, "{da:?}");
    }
    if cut_b && !cut_a {
        assert_eq!(db.diag, TOLD, "{db:?}");
        assert_eq!(db.detection_timeouts, 0, "{db:?}");
    }
    assert!(
        sa.members.iter().find(|m| m.name == la).unwrap().link_up,
        "the carrier stays up"
    );
    // The other member never blinked.
    for (s, o) in [(&sa, &oa), (&sb, &ob)] {
        let bo = bfd(s, o);
        assert_eq!(
            (bo.state.as_str(), bo.sess_up_count, bo.detection_timeouts),
            ("Up", 1, 0)
        );
        assert!(forwarding(s, o));
    }
    // The stream goes on over the other member.
    let (sent, got) = udp.finish();
    let start_rel_ms = (got.max_gap_start_ns as f64 - cut_ns as f64) / 1e6;
    eprintln!(
        "{tag}: gap {:.1} ms starting {start_rel_ms:+.1} ms from the cut; {got}",
        got.max_gap.as_secs_f64() * 1e3
    );
    // Counted, not timed (how long the member carried the stream into the hole is the
    // benchmark's, bench/bfd_failover.sh): the datagrams lost are those B put on the dead link
    // before it took the member out (hardly any lost in the move or on the other member), and
    // once out, the member carries none of the stream (but what one TX batch had already
    // taken when the status was read).
    let taken = faults[0].stream_taken(&h);
    eprintln!(
        "{tag}: {taken} datagrams into the dead link, {taken_out} of them when B took the member out"
    );
    assert_eq!(sent.sent, 10_000, "{sent:?}");
    assert_eq!(got.duplicated, 0, "{got}");
    assert!(taken_out > 0, "the cut member did not carry the stream");
    // Every datagram B put on the dead link is lost; beyond those, at most 1 in 1 000 of the
    // stream (2 were, once in 4 runs of the one-way case, cause not yet found: notes of
    // session 9, bfd.md).
    assert!(got.lost >= taken, "{got}; {taken} into the dead link");
    assert!(
        (got.lost - taken) * 1000 <= sent.sent,
        "datagrams lost elsewhere than on the dead link: {got}; {taken} into the dead link"
    );
    assert!(
        taken <= taken_out + lagd_dataplane::MAX_BATCH as u64,
        "the dead member carried the stream after B took it out: {taken_out} then {taken}"
    );
    // Heal: the sessions come back Up, then the member forwards again.
    for f in faults {
        f.heal(&h);
    }
    let t = Instant::now();
    let sa = wait_for(
        &mut h.da,
        &mut h.ca,
        AGGR,
        "A forwards on the member again",
        |s| forwarding(s, &la) && bfd(s, &la).state == "Up",
    );
    eprintln!(
        "{tag}: {la} back in service {:.2} s after the heal (polled)",
        t.elapsed().as_secs_f64()
    );
    let sb = wait_for(
        &mut h.db,
        &mut h.cb,
        AGGR,
        "B forwards on the member again",
        |s| forwarding(s, &lb) && bfd(s, &lb).state == "Up",
    );
    assert_eq!(bfd(&sa, &la).sess_up_count, 2);
    assert_eq!(bfd(&sb, &lb).sess_up_count, 2);
    // BFD frames never reached the host: every BFD packet was counted by a session.
    for (s, l) in [(&sa, &la), (&sb, &lb)] {
        let x = bfd(s, l);
        assert_eq!(x.ctrl_pkt_drop, 0, "{x:?}");
        assert!(x.ctrl_pkt_in > 0 && x.ctrl_pkt_out > 0);
    }
}

#[test]
fn bfd_one_way_silent_failure_with_lacp() {
    if !root_or_skip("bfd_one_way_silent_failure_with_lacp") {
        return;
    }
    silent_failure("nsbf1", true, true, false);
}

#[test]
fn bfd_both_ways_silent_failure_static_trunk() {
    if !root_or_skip("bfd_both_ways_silent_failure_static_trunk") {
        return;
    }
    silent_failure("nsbf2", false, true, true);
}
