//! The kernel fast path's TX program, attached for real in throwaway namespaces: the frames it
//! sends to a member carry no flow hash, in every mode and attach mode. Needs root (skips
//! otherwise).
//!
//! Why: a socket's frames carry its random hash (`sk_txhash`, which TCP also changes after a
//! timeout); frames lagd sends from user space carry none. A veth crossing keeps the hash, and
//! RPS on the receiver picks a CPU by it: with the socket's hash left on the kernel path's
//! frames, one conversation's frames went to one CPU's backlog when the kernel carried them and
//! to another when lagd did, and at every change of path (a move, a hand-back) the two
//! backlogs reordered them (`ns_offload tcp_hand_back_after_rebalance_and_removal`, issue 12).

mod common;

use common::{no_ipv6, skip_unless_root};
use lagd_dataplane::Netlink;
use lagd_dataplane::attach::{self, AttachMode, Attachment, Place};
use lagd_dataplane::bpf::{Alu, ArrayMap, Asm, Jmp, Program, Size, TCX_NEXT, TcxHook, helper, skb};
use lagd_dataplane::netns::{self, TestNet};
use lagd_dataplane::tx_offload::{HashPlan, TxMode, TxOffload};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const BUCKETS: u32 = 256;
/// Datagrams sent per mode.
const SENT: u64 = 32;

/// A program for a receiving end's ingress: counts IPv4 frames in `counts` (key 0: without a
/// flow hash, key 1: with one, as the frame arrived).
fn hash_counter(counts: &ArrayMap) -> Program {
    let mut a = Asm::new();
    let out = a.new_label();
    let none = a.new_label();
    let count = a.new_label();
    a.alu_reg(Alu::Mov, 6, 1)
        .ldx(Size::W, 2, 6, skb::PROTOCOL)
        .jmp_imm(Jmp::Ne, 2, i32::from(0x0800u16.to_be()), out)
        .ldx(Size::W, 2, 6, skb::HASH)
        .jmp_imm(Jmp::Eq, 2, 0, none)
        .st(Size::W, 10, -4, 1)
        .ja(count);
    a.label(none);
    a.st(Size::W, 10, -4, 0);
    a.label(count);
    a.ld_map(1, counts)
        .alu_reg(Alu::Mov, 2, 10)
        .alu_imm(Alu::Add, 2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Jmp::Eq, 0, 0, out)
        .alu_imm(Alu::Mov, 1, 1)
        .atomic_add64(0, 0, 1);
    a.label(out);
    a.alu_imm(Alu::Mov, 0, TCX_NEXT).exit();
    Program::load("lagd_hashcnt", &a.finish().expect("labels")).expect("load counter")
}

/// (without a hash, with one) counted so far.
fn counted(c: &ArrayMap) -> (u64, u64) {
    let get = |k| c.get_u64s::<1>(k).map(|v| v[0]).unwrap_or(0);
    (get(0), get(1))
}

fn ifindex(name: &str) -> u32 {
    Netlink::open()
        .and_then(|mut n| n.link_by_name(name))
        .expect("link")
        .ifindex
}

/// Host S sends through `ag` (the aggregate: the TX program at its egress) to host R, which
/// two members `m1`, `m2` join; R's ends count hashed and unhashed frames. For each mode and
/// attach mode, a connected UDP socket (it has a hash) sends [`SENT`] datagrams: every one
/// arrives as the mode sends it, none with a hash.
#[test]
fn frames_the_kernel_path_sends_carry_no_flow_hash() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let s = net.netns("fphs").expect("netns");
    let r = net.netns("fphr").expect("netns");
    no_ipv6(&net, &s);
    no_ipv6(&net, &r);
    let (ag, ag_peer) = net.veth("fpag", Some(&s), Some(&s)).expect("veth");
    let (m1, r1) = net.veth("fpm", Some(&s), Some(&r)).expect("veth");
    let (m2, r2) = net.veth("fpm", Some(&s), Some(&r)).expect("veth");
    for d in [&ag, &ag_peer, &m1, &m2] {
        net.exec(&s, &["ip", "link", "set", d, "up"]).expect("up");
    }
    for d in [&r1, &r2] {
        net.exec(&r, &["ip", "link", "set", d, "up"]).expect("up");
    }
    net.exec(&s, &["ip", "addr", "add", "198.18.46.1/24", "dev", &ag])
        .expect("addr");
    net.exec(&r, &["ip", "addr", "add", "198.18.46.2/24", "dev", &r1])
        .expect("addr");
    // Every frame R's ends receive is for R (no neighbour resolution: S knows R's MAC).
    let mac = net
        .exec(&r, &["cat", &format!("/sys/class/net/{r1}/address")])
        .expect("mac");
    let mac = mac.trim().to_string();
    net.exec(&r, &["ip", "link", "set", &r2, "address", &mac])
        .expect("mac");
    net.exec(
        &s,
        &[
            "ip",
            "neigh",
            "replace",
            "198.18.46.2",
            "lladdr",
            &mac,
            "dev",
            &ag,
        ],
    )
    .expect("neigh");

    let plan = HashPlan {
        l2: false,
        l3: true,
        l4: true,
        seed: 0x1234_5678,
        golden: 0x9e37_79b9_7f4a_7c15,
        mul: [0xff51_afd7_ed55_8ccd, 0xc4ce_b9fe_1a85_ec53],
    };
    let modes = [
        ("hash", TxMode::Hash(plan)),
        ("active-backup", TxMode::Single),
        ("round-robin", TxMode::RoundRobin),
        ("broadcast", TxMode::Broadcast),
    ];
    let (s2, r2n) = (s.clone(), r.clone());
    let (names_s, names_r) = (
        [ag.clone(), m1.clone(), m2.clone()],
        [r1.clone(), r2.clone()],
    );
    std::thread::spawn(move || {
        for attach_mode in [AttachMode::Tcx, AttachMode::Clsact] {
            attach::force_mode(Some(attach_mode));
            // R: a counter on each end.
            netns::enter(&r2n).expect("enter R");
            let counters: Vec<(ArrayMap, Attachment)> = names_r
                .iter()
                .map(|d| {
                    let c = ArrayMap::new(8, 2).expect("map");
                    let p = hash_counter(&c);
                    let at = Attachment::attach(
                        &p,
                        "lagd_hashcnt",
                        ifindex(d),
                        TcxHook::Ingress,
                        Place::AFTER,
                    )
                    .expect("attach counter");
                    (c, at)
                })
                .collect();
            // R listens (no ICMP error comes back to fail S's sends).
            let sink = UdpSocket::bind("198.18.46.2:9").expect("bind R");
            netns::enter(&s2).expect("enter S");
            let [ag, m1, m2] = names_s.each_ref().map(|d| ifindex(d));
            for (name, mode) in modes {
                let before: Vec<(u64, u64)> = counters.iter().map(|(c, _)| counted(c)).collect();
                let mut tx = TxOffload::new(mode, BUCKETS).expect("TX program");
                assert_eq!(tx.attach(ag).expect("attach TX"), attach_mode);
                match mode {
                    TxMode::Hash(_) | TxMode::Single => {
                        for b in 0..BUCKETS as usize {
                            tx.set_bucket(b, m1);
                        }
                    }
                    _ => assert!(tx.set_members(&[m1, m2])),
                }
                let sock = UdpSocket::bind("198.18.46.1:0").expect("bind");
                sock.connect("198.18.46.2:9").expect("connect");
                for i in 0..SENT {
                    sock.send(&i.to_be_bytes()).expect("send");
                }
                // Each copy the mode sends: one per datagram, two in broadcast.
                let want = if matches!(mode, TxMode::Broadcast) {
                    2 * SENT
                } else {
                    SENT
                };
                let got = |counters: &[(ArrayMap, Attachment)]| -> Vec<(u64, u64)> {
                    counters
                        .iter()
                        .zip(&before)
                        .map(|((c, _), b)| {
                            let n = counted(c);
                            (n.0 - b.0, n.1 - b.1)
                        })
                        .collect()
                };
                let start = Instant::now();
                let mut now = got(&counters);
                while now.iter().map(|(a, b)| a + b).sum::<u64>() < want
                    && start.elapsed() < Duration::from_secs(5)
                {
                    std::thread::sleep(Duration::from_millis(20));
                    now = got(&counters);
                }
                eprintln!("{attach_mode}, {name}: (without a hash, with one) per end {now:?}");
                let total: u64 = now.iter().map(|(a, b)| a + b).sum();
                assert_eq!(total, want, "{attach_mode}, {name}: {now:?}");
                let hashed: u64 = now.iter().map(|(_, b)| b).sum();
                assert_eq!(hashed, 0, "{attach_mode}, {name}: {now:?}");
                if matches!(mode, TxMode::Broadcast) {
                    assert!(now.iter().all(|(a, _)| *a == SENT), "{now:?}");
                }
                drop(tx);
            }
            drop((counters, sink));
        }
    })
    .join()
    .unwrap();
}
