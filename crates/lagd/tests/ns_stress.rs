//! Robustness of a running lagd (two hosts, two veth links, LACP with short timers):
//!
//! - 1 000 carrier flaps of one member under traffic: no crash, resident memory bounded
//!   (< +20 MiB after the flaps vs after warm-up), the member ends Collecting and Distributing;
//! - a flood of bogus slow-protocols frames (EtherType 0x8809, random subtypes and bodies,
//!   aimed at ~100 000 frames/s for 2 s) on one member: counted (`illegal_rx`/`unknown_rx`)
//!   and dropped, while the aggregate stays up and a UDP stream through it continues.
//!
//! Needs root (skipped otherwise, failed when `CI` is set). Measured values are printed.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn thousand_carrier_flaps_under_traffic() {
    if !root_or_skip("thousand_carrier_flaps_under_traffic") {
        return;
    }
    let mut h = Hosts::start("nsfl", 2, |_, l| lacp_config(l, ""));
    h.wait_forwarding();
    h.address();
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5601, 1000, 60_000);
    std::thread::sleep(Duration::from_secs(3));
    let (pid_a, pid_b) = (h.da.child.id(), h.db.child.id());
    let warm = (vm_rss_kib(pid_a), vm_rss_kib(pid_b));
    // 1000 flaps of B's end of link 0 (A's end loses and regains its carrier each time),
    // set through netlink from a thread in B's namespace, 1 ms apart.
    let link = h.links_b[0].clone();
    let t = Instant::now();
    let flapper = {
        let link = link.clone();
        lagd_dataplane::netns::spawn_in(&b, move || -> Result<(), String> {
            let mut nl = lagd_dataplane::Netlink::open().map_err(|e| e.to_string())?;
            let idx = nl.link_by_name(&link).map_err(|e| e.to_string())?.ifindex;
            for _ in 0..1000 {
                nl.set_up(idx, false).map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(1));
                nl.set_up(idx, true).map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        })
    };
    while !flapper.is_finished() {
        assert!(
            matches!(h.da.child.try_wait(), Ok(None)),
            "lagd A died; log:\n{}",
            h.da.log_text()
        );
        assert!(
            matches!(h.db.child.try_wait(), Ok(None)),
            "lagd B died; log:\n{}",
            h.db.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    flapper.join().unwrap().unwrap().unwrap();
    eprintln!("1000 flaps of {link} in {:.1} s", t.elapsed().as_secs_f64());
    let (sa, sb) = h.wait_forwarding();
    eprintln!(
        "after the flaps: carrier losses counted by A {}, by B {}; every member Collecting and Distributing {:.1} s after the first flap",
        sa.carrier_losses,
        sb.carrier_losses,
        t.elapsed().as_secs_f64()
    );
    assert!(
        sa.carrier_losses + sb.carrier_losses >= 1,
        "no carrier loss seen: {sa:?}"
    );
    let after = (vm_rss_kib(pid_a), vm_rss_kib(pid_b));
    eprintln!(
        "VmRSS after warm-up A {} KiB, B {} KiB; after the flaps A {} KiB, B {} KiB",
        warm.0, warm.1, after.0, after.1
    );
    assert!(warm.0 > 0 && after.0 > 0, "no VmRSS for lagd");
    assert!(
        after.0 < warm.0 + 20 * 1024,
        "A grew: {warm:?} -> {after:?}"
    );
    assert!(
        after.1 < warm.1 + 20 * 1024,
        "B grew: {warm:?} -> {after:?}"
    );
    assert!(ping(&a, ADDR_B, &[]), "ping after the flaps");
    udp.tx.stop();
    let (sent, got) = udp.finish();
    eprintln!(
        "UDP during the flaps: {} sent, {} received ({} lost), {} duplicated",
        sent.sent,
        got.unique,
        sent.sent.saturating_sub(got.unique),
        got.duplicated
    );
    assert!(got.unique > 0, "{got}");
}

/// xorshift64*: a small deterministic generator for the bogus frames.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A bogus slow-protocols frame: random subtype; LACP (1) and Marker (2) get a garbage body
/// with a TLV type no version defines, so that none of them can parse as a valid PDU.
fn bogus_frame(rng: &mut Rng, buf: &mut Vec<u8>) {
    let len = 60 + (rng.next() % 140) as usize;
    buf.clear();
    buf.extend_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
    buf.extend_from_slice(&[0x02, 0xba, 0xd0, 0x00, 0x00, 0x01]);
    buf.extend_from_slice(&[0x88, 0x09]);
    let subtype = (rng.next() % 8) as u8; // 0..7: LACP, Marker, OAM(3), unknown...
    buf.push(subtype);
    while buf.len() < len {
        buf.extend_from_slice(&rng.next().to_le_bytes());
    }
    buf.truncate(len);
    if matches!(subtype, 1 | 2)
        && let Some(t) = buf.get_mut(16)
    {
        *t = 0xEE;
    }
}

#[test]
fn slow_protocols_flood_is_counted_and_dropped() {
    if !root_or_skip("slow_protocols_flood_is_counted_and_dropped") {
        return;
    }
    let mut h = Hosts::start("nsfd", 2, |_, l| lacp_config(l, ""));
    h.wait_forwarding();
    h.address();
    let (a, b) = (h.a.clone(), h.b.clone());
    let udp = Udp::start(&a, &b, [198, 18, 0, 2], 5602, 1000, 8000);
    std::thread::sleep(Duration::from_secs(2));
    let target = h.links_a[0].clone();
    let s0 = h.status_a();
    let bad = |s: &lagd::control::proto::AggrStatus| {
        member_counter(s, &target, "illegal_rx") + member_counter(s, &target, "unknown_rx")
    };
    let bad0 = bad(&s0);
    let out = lagd_dataplane::netns::ns_cmd(
        &b,
        &["cat", &format!("/sys/class/net/{}/ifindex", h.links_b[0])],
    )
    .unwrap();
    let ifindex: u32 = out.trim().parse().unwrap();
    let flood = lagd_dataplane::netns::spawn_in(&b, move || {
        let sock = flood_socket(ifindex, 4 << 20);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut frames: Vec<Vec<u8>> = (0..256).map(|_| Vec::new()).collect();
        let start = Instant::now();
        let (mut sent, mut errors) = (0u64, 0u64);
        while start.elapsed() < Duration::from_secs(2) {
            let due = (start.elapsed().as_secs_f64() * 100_000.0) as u64;
            if sent >= due {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
            let n = ((due - sent) as usize).min(frames.len());
            for f in frames.iter_mut().take(n) {
                bogus_frame(&mut rng, f);
            }
            match sock.send_batch(frames.iter().take(n).map(Vec::as_slice)) {
                Ok(k) => sent += k as u64,
                Err(_) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        (sent, errors, start.elapsed())
    });
    // The aggregate must stay up during the flood.
    let mut down_seen = 0;
    while !flood.is_finished() {
        if !h.status_a().up {
            down_seen += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (sent, errors, took) = flood.join().unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let s1 = h.status_a();
    let counted = bad(&s1) - bad0;
    eprintln!(
        "flood: {sent} bogus frames in {:.2} s ({:.0}/s, {errors} send errors); A counted {counted} as illegal/unknown on {target}",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );
    assert!(sent >= 10_000, "the flood did not run: {sent}");
    assert!(counted >= 1000, "not counted: {counted} of {sent}");
    assert!(counted <= sent, "{counted} > {sent}");
    assert_eq!(down_seen, 0, "the aggregate went down during the flood");
    assert!(s1.up, "{s1:?}");
    h.wait_forwarding();
    let (sent_udp, got) = udp.finish();
    eprintln!("UDP through the flooded aggregate: {got}");
    // Small loss at most, and the stream reached its end.
    assert!(got.unique * 10 >= sent_udp.sent * 9, "{got}");
    assert_eq!(got.duplicated, 0, "{got}");
}
