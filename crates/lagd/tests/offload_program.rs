//! The kernel fast path's programs, run in the kernel (`BPF_PROG_TEST_RUN`):
//!
//! - the TX program of a hash mode picks the distributor's own bucket (`lagd_distrib`'s
//!   `FlowKey::from_frame` then `HashPolicy::hash`) for random frames of every class (802.1Q,
//!   802.1ad, 0x9100 and stacked tags, beyond 8 too; IPv4 with options, fragments, any protocol,
//!   wrong version; IPv6 with every extension header, fragments and atomic fragments, chains
//!   longer than 16; ESP/AH; ARP, other EtherTypes, 802.3 lengths; every truncation) under every
//!   hash policy, proptest-driven; a bucket in user space passes its frames on and counts
//!   them; a bucket handing back goes to the kernel only when the counts match;
//! - active-backup sends every frame as bucket 0; round-robin rotates over the member list;
//!   broadcast copies to every member; Slow Protocols the host wrote and runt frames always go
//!   on to lagd;
//! - the RX program delivers data frames only while Collecting, counts what it drops, and
//!   leaves Slow Protocols frames to lagd (Marker PDUs after one pass through the backlog);
//! - transmit-lb / adaptive-lb: the TX program leaves ARP and Neighbour Discovery to lagd and
//!   writes the member's own source MAC; the RX program delivers unicast for the member's MAC
//!   (rewritten to the aggregate's) and, on the receive member, the aggregate's, and hands
//!   every other frame to lagd.
//!
//! Needs root (skips otherwise).

use lagd::offload::plan;
use lagd_agg::lagd_distrib::{FlowKey, HashPolicy};
use lagd_dataplane::tx_offload::{HAND_BACK, TxMode, TxOffload};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const BUCKETS: u32 = 256;
const REDIRECT: i32 = 7;
const NEXT: i32 = -1;

fn root() -> bool {
    if lagd_dataplane::netns::is_root() {
        true
    } else {
        eprintln!("skipped: needs root");
        false
    }
}

const POLICIES: [&str; 7] = ["L2", "L3", "L4", "L2,L3", "L2,L4", "L3,L4", "L2,L3,L4"];

/// What follows the Ethernet header (and tags).
#[derive(Clone, Debug)]
enum Payload {
    V4 {
        version: u8,
        ihl: u8,
        flags_frag: u16,
        proto: u8,
    },
    V6 {
        version: u8,
        /// (header type, length field, fragment field) of each extension header.
        exts: Vec<(u8, u8, u16)>,
        proto: u8,
    },
    /// Any other EtherType (ARP, LLDP, an 802.3 length, ...).
    Other(u16),
}

#[derive(Clone, Debug)]
struct Spec {
    macs: [u8; 12],
    tags: Vec<(u16, u16)>,
    payload: Payload,
    /// Random bytes for addresses, ports, SPI, options.
    body: Vec<u8>,
    /// Cut the frame to this many bytes (at least 14), if shorter.
    cut: Option<usize>,
}

fn proto() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(vec![6u8, 17, 132, 136, 50, 51, 1, 58, 47, 253]),
        1 => any::<u8>(),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    let v4 = (
        prop_oneof![9 => Just(4u8), 1 => any::<u8>().prop_map(|v| v >> 4)],
        prop_oneof![4 => Just(5u8), 2 => 6u8..=15, 1 => 0u8..5],
        prop_oneof![
            4 => Just(0u16),
            2 => Just(0x4000u16),
            1 => Just(0x2000u16),
            1 => 1u16..0x1fff,
            1 => any::<u16>()
        ],
        proto(),
    )
        .prop_map(|(version, ihl, flags_frag, proto)| Payload::V4 {
            version,
            ihl,
            flags_frag,
            proto,
        });
    let ext = (
        prop::sample::select(vec![0u8, 43, 60, 135, 139, 140, 44]),
        0u8..4,
        prop_oneof![
            2 => Just(0u16),
            1 => Just(1u16),
            1 => Just(0x0100u16),
            1 => any::<u16>()
        ],
    );
    let v6 = (
        prop_oneof![9 => Just(6u8), 1 => any::<u8>().prop_map(|v| v >> 4)],
        prop::collection::vec(ext, 0..19),
        proto(),
    )
        .prop_map(|(version, exts, proto)| Payload::V6 {
            version,
            exts,
            proto,
        });
    let other = prop_oneof![
        Just(0x0806u16),
        Just(0x88ccu16),
        Just(0x8809u16),
        0u16..0x0600,
        any::<u16>()
    ]
    .prop_map(Payload::Other);
    prop_oneof![4 => v4, 4 => v6, 2 => other]
}

fn spec() -> impl Strategy<Value = Spec> {
    let tag = (
        prop::sample::select(vec![0x8100u16, 0x88a8, 0x9100]),
        any::<u16>(),
    );
    (
        any::<[u8; 12]>(),
        prop_oneof![
            6 => Just(Vec::new()),
            3 => prop::collection::vec(tag.clone(), 1..3),
            1 => prop::collection::vec(tag, 3..11)
        ],
        payload(),
        prop::collection::vec(any::<u8>(), 64..200),
        prop_oneof![4 => Just(None), 1 => (14usize..140).prop_map(Some)],
    )
        .prop_map(|(macs, tags, payload, body, cut)| Spec {
            macs,
            tags,
            payload,
            body,
            cut,
        })
}

/// The frame a spec describes.
fn build(s: &Spec) -> Vec<u8> {
    let mut f = s.macs.to_vec();
    let mut body = s.body.iter().copied().cycle();
    let mut take = |n: usize| -> Vec<u8> { (&mut body).take(n).collect() };
    for (tpid, tci) in &s.tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    match &s.payload {
        Payload::V4 {
            version,
            ihl,
            flags_frag,
            proto,
        } => {
            f.extend_from_slice(&[0x08, 0x00]);
            let hlen = usize::from(*ihl).max(5) * 4;
            let mut h = vec![version << 4 | ihl, 0, 0, 0, 0x12, 0x34];
            h.extend_from_slice(&flags_frag.to_be_bytes());
            h.extend_from_slice(&[64, *proto, 0, 0]);
            h.extend(take(8)); // addresses
            h.extend(take(hlen - 20)); // options
            f.extend(h);
            f.extend(take(24)); // L4
        }
        Payload::V6 {
            version,
            exts,
            proto,
        } => {
            f.extend_from_slice(&[0x86, 0xdd]);
            let first = exts.first().map_or(*proto, |e| e.0);
            let mut h = vec![version << 4, 0, 0, 0, 0, 0, first, 64];
            h.extend(take(32));
            f.extend(h);
            for (i, (ty, len, frag)) in exts.iter().enumerate() {
                let next = exts.get(i + 1).map_or(*proto, |e| e.0);
                if *ty == 44 {
                    f.extend_from_slice(&[next, 0]);
                    f.extend_from_slice(&frag.to_be_bytes());
                    f.extend(take(4));
                } else {
                    f.extend_from_slice(&[next, *len]);
                    f.extend(take((usize::from(*len) + 1) * 8 - 2));
                }
            }
            f.extend(take(24));
        }
        Payload::Other(et) => {
            f.extend_from_slice(&et.to_be_bytes());
            f.extend(take(46));
        }
    }
    if let Some(n) = s.cut {
        f.truncate(n.max(14));
    }
    f
}

fn bucket(policy: &HashPolicy, f: &[u8]) -> usize {
    policy.hash(&FlowKey::from_frame(f)) as usize & (BUCKETS as usize - 1)
}

/// Frames lagd never dispatches: the program lets them through uncounted.
fn not_dispatched(f: &[u8]) -> bool {
    f.len() < 14 || f[12..14] == [0x88, 0x09]
}

fn programs() -> Vec<(HashPolicy, TxOffload)> {
    POLICIES
        .iter()
        .map(|p| {
            let policy: HashPolicy = p.parse().unwrap();
            let mut o = TxOffload::new(TxMode::Hash(plan(&policy)), BUCKETS)
                .unwrap_or_else(|e| panic!("{p}: load the program: {e}"));
            for b in 0..BUCKETS as usize {
                o.set_bucket(b, 1);
            }
            (policy, o)
        })
        .collect()
}

#[test]
fn the_kernel_hashes_every_frame_class_as_the_distributor_under_every_policy() {
    if !root() {
        return;
    }
    let progs = programs();
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    });
    let hit = std::cell::RefCell::new(vec![std::collections::BTreeSet::new(); progs.len()]);
    runner
        .run(&spec(), |s| {
            let f = build(&s);
            for (i, (policy, o)) in progs.iter().enumerate() {
                let b = bucket(policy, &f);
                let before = o.counts(b);
                let v = match o.test_run(&f) {
                    Ok(v) => v,
                    // BPF_PROG_TEST_RUN refuses an IP EtherType with a cut IP header (the
                    // program handles such frames: they hash as the distributor's, not IP).
                    Err(_) if s.cut.is_some() => return Ok(()),
                    Err(e) => panic!("{policy}: {f:02x?}: {e}"),
                };
                if not_dispatched(&f) {
                    prop_assert_eq!(v, NEXT, "{}: not dispatched: {:02x?}", policy, f);
                    prop_assert_eq!(o.counts(b), before);
                    continue;
                }
                prop_assert_eq!(v, REDIRECT, "{}: {:02x?}", policy, f);
                let after = o.counts(b);
                prop_assert_eq!(
                    after.0 - before.0,
                    f.len() as u64,
                    "{}: frame {:02x?} ({:?}) is in bucket {} for the distributor; the kernel counted it elsewhere",
                    policy,
                    f,
                    FlowKey::from_frame(&f),
                    b
                );
                hit.borrow_mut()[i].insert(b);
            }
            Ok(())
        })
        .unwrap();
    let hit = hit.into_inner();
    for (i, (policy, _)) in progs.iter().enumerate() {
        assert!(hit[i].len() > 100, "{policy}: {} buckets hit", hit[i].len());
    }
}

#[test]
fn buckets_in_user_space_and_handing_back() {
    if !root() {
        return;
    }
    let policy: HashPolicy = "L3,L4".parse().unwrap();
    let mut o = TxOffload::new(TxMode::Hash(plan(&policy)), BUCKETS).unwrap();
    let macs = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let mut f = macs.to_vec();
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2, 0, 80, 0, 81]);
    f.extend_from_slice(&[0; 30]);
    let b = bucket(&policy, &f);
    // In user space: passed on, counted with its time.
    assert_eq!(o.test_run(&f).unwrap(), NEXT);
    assert_eq!(o.test_run(&f).unwrap(), NEXT);
    let (n, t) = o.passed(b);
    assert_eq!(n, 2);
    assert!(t > 0);
    // Handing back while lagd has sent one of the two: still user space (and counted).
    o.set_bucket(b, 1 | HAND_BACK);
    o.set_consumed(b, 1);
    assert_eq!(o.test_run(&f).unwrap(), NEXT);
    assert_eq!(o.passed(b).0, 3);
    // Once lagd has sent all three, the kernel takes the next frame.
    o.set_consumed(b, 3);
    assert_eq!(o.test_run(&f).unwrap(), REDIRECT);
    assert_eq!(o.passed(b).0, 3);
    assert_eq!(o.counts(b), (f.len() as u64, 1));
    // Fast: no counting of passes.
    o.set_bucket(b, 1);
    assert_eq!(o.test_run(&f).unwrap(), REDIRECT);
    assert_eq!(o.passed(b).0, 3);
}

#[test]
fn active_backup_round_robin_and_broadcast() {
    if !root() {
        return;
    }
    let data = {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06];
        f.extend_from_slice(&[0; 46]);
        f
    };
    let slow = {
        let mut f = vec![1, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0x88, 0x09, 1, 1];
        f.extend_from_slice(&[0; 44]);
        f
    };
    // Active-backup: bucket 0, whatever the frame.
    let mut ab = TxOffload::new(TxMode::Single, BUCKETS).unwrap();
    assert_eq!(ab.test_run(&data).unwrap(), NEXT);
    assert_eq!(ab.passed(0).0, 1);
    ab.set_bucket(0, 5);
    assert_eq!(ab.test_run(&data).unwrap(), REDIRECT);
    assert_eq!(ab.counts(0), (data.len() as u64, 1));
    assert_eq!(
        ab.test_run(&slow).unwrap(),
        NEXT,
        "Slow Protocols go to lagd"
    );
    assert_eq!(ab.counts(0).1, 1);
    // Round-robin: no list, user space; then a rotation over three members.
    let mut rr = TxOffload::new(TxMode::RoundRobin, BUCKETS).unwrap();
    assert_eq!(rr.test_run(&data).unwrap(), NEXT);
    assert!(rr.set_members(&[11, 12, 13]));
    for _ in 0..9 {
        assert_eq!(rr.test_run(&data).unwrap(), REDIRECT);
    }
    for slot in 0..3 {
        assert_eq!(rr.member_counts(slot).1, 3, "slot {slot}");
    }
    assert_eq!(rr.test_run(&slow).unwrap(), NEXT);
    // A list too long for the program: user space.
    let long: Vec<u32> = (1..=40).collect();
    assert!(!rr.set_members(&long));
    assert_eq!(rr.test_run(&data).unwrap(), NEXT);
    // Broadcast: a copy to each member but the last, the frame itself to the last.
    let mut bc = TxOffload::new(TxMode::Broadcast, BUCKETS).unwrap();
    assert!(bc.set_members(&[21, 22, 23, 24]));
    assert_eq!(bc.test_run(&data).unwrap(), REDIRECT);
    for slot in 0..4 {
        assert_eq!(
            bc.member_counts(slot),
            (data.len() as u64, 1),
            "slot {slot}"
        );
    }
    assert_eq!(bc.member_counts(4).1, 0);
    assert!(bc.set_members(&[31]));
    assert_eq!(bc.test_run(&data).unwrap(), REDIRECT);
    assert_eq!(bc.member_counts(0).1, 2);
}

#[test]
fn the_receive_program_collects_only_while_collecting() {
    if !root() {
        return;
    }
    use lagd_dataplane::rx_offload::RxOffload;
    let mut rx = RxOffload::detached().expect("load the program");
    let macs = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let mut data = macs.to_vec();
    data.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    data.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2, 0, 80, 0, 81]);
    data.extend_from_slice(&[0; 30]);
    let slow = |subtype: u8| {
        let mut f = vec![0u8; 124];
        f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 2]);
        f[6..12].copy_from_slice(&macs[6..]);
        f[12..14].copy_from_slice(&[0x88, 0x09]);
        f[14] = subtype;
        f[15] = 1;
        f
    };
    // Not Collecting: data dropped and counted; LACPDUs to lagd.
    assert_eq!(rx.test_run(&data).unwrap(), 2, "TCX_DROP");
    assert_eq!(rx.counts().unwrap().not_collecting, 1);
    assert_eq!(rx.test_run(&slow(1)).unwrap(), NEXT, "LACPDU");
    // Collecting: data redirected to the aggregate and counted.
    rx.set_collecting(Some(1)).unwrap();
    assert!(rx.is_collecting());
    for _ in 0..3 {
        assert_eq!(rx.test_run(&data).unwrap(), REDIRECT);
    }
    let c = rx.counts().unwrap();
    assert_eq!(
        (c.frames, c.bytes, c.not_collecting),
        (3, 3 * data.len() as u64, 1)
    );
    assert_eq!(rx.test_run(&slow(1)).unwrap(), NEXT, "LACPDU");
    // A Marker PDU takes one more pass (redirected to its own device's ingress).
    assert_eq!(rx.test_run(&slow(2)).unwrap(), REDIRECT, "Marker PDU");
    assert_eq!(
        rx.counts().unwrap().frames,
        3,
        "control frames are not data"
    );
    rx.set_collecting(None).unwrap();
    assert_eq!(rx.test_run(&data).unwrap(), 2);
}

/// Frames of the switch-independent modes' tests: `dst`, `src`, then `rest` (EtherType on).
fn frame(dst: [u8; 6], src: [u8; 6], rest: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(rest);
    f.resize(f.len().max(60), 0);
    f
}

/// An IPv4 UDP datagram's EtherType and headers.
fn udp4() -> Vec<u8> {
    let mut v = vec![0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0];
    v.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2, 0, 80, 0, 81]);
    v
}

/// An IPv6 ICMPv6 message of `ty` (EtherType on).
fn icmp6(ty: u8) -> Vec<u8> {
    let mut v = vec![0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255];
    v.extend_from_slice(&[0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
    v.extend_from_slice(&[0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
    v.extend_from_slice(&[ty, 0, 0, 0]);
    v.extend_from_slice(&[0; 28]);
    v
}

const ARP: [u8; 30] = [
    0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 198,
    18, 0, 2,
];

/// transmit-lb / adaptive-lb, host → wire: ARP and Neighbour Discovery go to lagd (counted for
/// their bucket), other frames to their member, with the member's own source MAC when the
/// aggregate's was written and the member's entry is on (not the receive member).
#[test]
fn the_switch_independent_tx_program_rewrites_the_source_and_leaves_arp_and_nd_to_lagd() {
    if !root() {
        return;
    }
    let agg = [2, 0, 0, 0, 0, 1];
    let own = [2, 0, 0, 0, 0, 7];
    let peer = [2, 0, 0, 0, 0, 9];
    let policy: HashPolicy = "L3,L4".parse().unwrap();
    let mut t = TxOffload::new(TxMode::SwitchIndependent(plan(&policy)), BUCKETS)
        .expect("load the program");
    for b in 0..BUCKETS as usize {
        t.set_bucket(b, 7);
    }
    let data = frame(peer, agg, &udp4());
    // No entry for the member: sent unchanged (as the receive member's frames are).
    assert_eq!(t.test_run_out(&data).unwrap(), (REDIRECT, data.clone()));
    t.set_srcmac(7, agg, Some(own)).unwrap();
    let (v, out) = t.test_run_out(&data).unwrap();
    assert_eq!(v, REDIRECT);
    assert_eq!(out[6..12], own, "the member's own source MAC");
    assert_eq!((&out[..6], &out[12..]), (&data[..6], &data[12..]));
    // A frame the host did not write (another source): unchanged.
    let bridged = frame(peer, [2, 0, 0, 0, 0, 0x42], &udp4());
    assert_eq!(
        t.test_run_out(&bridged).unwrap(),
        (REDIRECT, bridged.clone())
    );
    // The same hash as the distributor's (the bucket counted the three frames: L3,L4 does not
    // hash the MACs).
    assert_eq!(t.counts(bucket(&policy, &data)).1, 3);
    // ICMPv6 that is not Neighbour Discovery is data.
    assert_eq!(
        t.test_run(&frame(peer, agg, &icmp6(128))).unwrap(),
        REDIRECT
    );
    // ARP (also tagged) and NS / NA: to lagd, counted as passed for their bucket.
    let mut tagged = vec![0x81, 0x00, 0, 5];
    tagged.extend_from_slice(&ARP);
    let lagd = [
        frame([0xff; 6], agg, &ARP),
        frame(peer, agg, &tagged),
        frame(peer, agg, &icmp6(135)),
        frame(peer, agg, &icmp6(136)),
    ];
    for f in &lagd {
        let before = t.passed(bucket(&policy, f)).0;
        assert_eq!(t.test_run(f).unwrap(), NEXT, "{f:02x?}");
        assert_eq!(t.passed(bucket(&policy, f)).0, before + 1);
    }
    // The receive member's entry is off: unchanged.
    t.set_srcmac(7, agg, None).unwrap();
    assert_eq!(t.test_run_out(&data).unwrap(), (REDIRECT, data.clone()));
    t.forget_srcmac(7).unwrap();
    t.forget_srcmac(7).unwrap();
}

/// transmit-lb / adaptive-lb, wire → host: the kernel delivers unicast for the member's own MAC
/// (rewritten to the aggregate's) and, on the receive member, for the aggregate's; everything
/// else takes one more pass to lagd's socket (not counted as delivered, unchanged).
#[test]
fn the_switch_independent_rx_program_delivers_what_is_plainly_for_the_host() {
    if !root() {
        return;
    }
    use lagd_dataplane::rx_offload::{RxBalancer, RxOffload};
    let agg = [2, 0, 0, 0, 0, 1];
    let own = [2, 0, 0, 0, 0, 7];
    let other = [2, 0, 0, 0, 0, 8];
    let peer = [2, 0, 0, 0, 0, 9];
    let mut rx = RxOffload::detached().expect("load the program");
    rx.set_collecting(Some(1)).unwrap();
    let mut b = RxBalancer {
        aggregate: agg,
        own: Some(own),
        receive: false,
    };
    rx.set_balancer(Some(b)).unwrap();
    let delivered = |rx: &RxOffload, f: &[u8]| -> (bool, Vec<u8>) {
        let before = rx.counts().unwrap().frames;
        let (v, out) = rx.test_run_out(f).unwrap();
        assert_eq!(v, REDIRECT, "{f:02x?}");
        (rx.counts().unwrap().frames == before + 1, out)
    };
    let to_own = frame(own, peer, &udp4());
    let (yes, out) = delivered(&rx, &to_own);
    assert!(yes);
    assert_eq!(
        out[..6],
        agg,
        "destination rewritten to the aggregate's MAC"
    );
    assert_eq!(out[6..], to_own[6..]);
    let to_agg = frame(agg, peer, &udp4());
    let mut tagged = vec![0x81, 0x00, 0, 5];
    tagged.extend_from_slice(&ARP);
    let to_lagd = [
        to_agg.clone(),
        frame([0xff; 6], peer, &udp4()),
        frame([0x33, 0x33, 0, 0, 0, 1], peer, &icmp6(128)),
        frame(own, peer, &ARP),
        frame(own, peer, &tagged),
        frame(own, peer, &icmp6(136)),
        frame(own, peer, &icmp6(135)),
        frame(own, own, &[0x90, 0x00]),
        frame(other, peer, &udp4()),
        frame(peer, agg, &udp4()),
        frame(own, agg, &udp4()),
    ];
    for f in &to_lagd {
        assert_eq!(delivered(&rx, f), (false, f.clone()), "{f:02x?}");
    }
    // The receive member delivers the aggregate's MAC; ICMPv6 echo to its own MAC is data.
    b.receive = true;
    rx.set_balancer(Some(b)).unwrap();
    assert_eq!(delivered(&rx, &to_agg), (true, to_agg.clone()));
    assert!(delivered(&rx, &frame(own, peer, &icmp6(128))).0);
    // Other modes: every data frame while Collecting.
    rx.set_balancer(None).unwrap();
    assert!(delivered(&rx, &frame(other, peer, &udp4())).0);
}

/// transmit-lb / adaptive-lb, wire → host: what the receive program delivers is counted per
/// source address, for the peers lagd entered (IPv4 and IPv6, after an 802.1Q tag too); other
/// sources count together as untracked, however many there are, and frames lagd judges count
/// nowhere. The map holds at most `PEER_ENTRIES` entries: the program never adds one.
#[test]
fn the_switch_independent_rx_program_counts_what_it_delivers_per_peer() {
    if !root() {
        return;
    }
    use lagd_dataplane::rx_offload::{PEER_ENTRIES, PeerCounts, RxBalancer, RxOffload};
    use std::net::IpAddr;
    let agg = [2, 0, 0, 0, 0, 1];
    let own = [2, 0, 0, 0, 0, 7];
    let peer = [2, 0, 0, 0, 0, 9];
    let mut rx = RxOffload::detached().expect("load the program");
    rx.set_collecting(Some(1)).unwrap();
    rx.set_balancer(Some(RxBalancer {
        aggregate: agg,
        own: Some(own),
        receive: true,
    }))
    .unwrap();
    let v4: IpAddr = "198.18.0.1".parse().unwrap();
    let v6: IpAddr = "2001:2::10".parse().unwrap();
    assert_eq!(rx.add_peer(v4).unwrap(), PeerCounts::default());
    assert_eq!(rx.add_peer(v6).unwrap(), PeerCounts::default());
    let run = |f: &[u8]| assert_eq!(rx.test_run(f).unwrap(), REDIRECT, "{f:02x?}");
    let udp = frame(own, peer, &udp4());
    let mut tagged = vec![0x81, 0x00, 0, 5];
    tagged.extend_from_slice(&udp4());
    let tagged = frame(own, peer, &tagged);
    let echo6 = frame(agg, peer, &icmp6(128));
    for f in [&udp, &udp, &tagged, &echo6] {
        run(f);
    }
    let c4 = rx.peer_counts(v4).unwrap().unwrap();
    assert_eq!(c4.frames, 3);
    assert_eq!(c4.bytes, (2 * udp.len() + tagged.len()) as u64);
    let c6 = rx.peer_counts(v6).unwrap().unwrap();
    assert_eq!((c6.frames, c6.bytes), (1, echo6.len() as u64));
    // Adding a peer again keeps its counts.
    assert_eq!(rx.add_peer(v4).unwrap(), c4);
    // Frames for lagd (broadcast, ARP) count nowhere.
    run(&frame([0xff; 6], peer, &udp4()));
    run(&frame(own, peer, &ARP));
    assert_eq!(rx.peer_counts(v4).unwrap().unwrap(), c4);
    assert_eq!(rx.untracked().unwrap(), PeerCounts::default());
    // 3000 sources nobody entered: all untracked, the peers' counts untouched.
    for i in 0..3000u16 {
        let mut f = udp.clone();
        f[26..30].copy_from_slice(&[198, 19, (i >> 8) as u8, i as u8]);
        run(&f);
    }
    assert_eq!(rx.untracked().unwrap().frames, 3000);
    assert_eq!(rx.peer_counts(v4).unwrap().unwrap(), c4);
    assert_eq!(rx.peer_counts("198.19.0.1".parse().unwrap()).unwrap(), None);
    // A removed peer's frames are untracked.
    rx.remove_peer(v4).unwrap();
    run(&udp);
    assert_eq!(rx.untracked().unwrap().frames, 3001);
    // lagd can enter PEER_ENTRIES - 1 peers (one entry is the untracked one), not more.
    let mut added = 0;
    for i in 0..PEER_ENTRIES {
        let ip = IpAddr::from([198, 19, (i >> 8) as u8, i as u8]);
        if rx.add_peer(ip).is_err() {
            break;
        }
        added += 1;
    }
    assert_eq!(added, PEER_ENTRIES - 2, "v6 and the untracked entry are in");
}
