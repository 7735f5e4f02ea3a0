use std::net::{Ipv4Addr, Ipv6Addr};

use lagd_wire::{ArpFrame, ArpRepr, NdFrame, NdRepr};

use super::*;

const AGG: MacAddr = MacAddr([2, 0xa6, 0, 0, 0, 1]);

fn member_mac(p: PortNumber) -> MacAddr {
    MacAddr([2, 0xbb, 0, 0, 0, p as u8])
}
fn members(ports: &[PortNumber]) -> Vec<AlbMember> {
    ports
        .iter()
        .map(|p| AlbMember {
            port: *p,
            mac: member_mac(*p),
        })
        .collect()
}
fn peer_mac(i: u8) -> MacAddr {
    MacAddr([2, 0xcc, 0, 0, 0, i])
}
fn local() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 1)
}
fn peer_ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 100 + i)
}
fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// The host's ARP reply to peer `i`.
fn host_reply(i: u8) -> Vec<u8> {
    ArpFrame::new(
        AGG,
        peer_mac(i),
        None,
        ArpRepr {
            op: ArpOp::Reply,
            sender_mac: AGG,
            sender_ip: local(),
            target_mac: peer_mac(i),
            target_ip: peer_ip(i),
        },
    )
    .to_bytes()
}

fn ipv4_from_peer(i: u8, dst: MacAddr, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&peer_mac(i).0);
    f[12..14].copy_from_slice(&[8, 0]);
    f[14] = 0x45;
    f[26..30].copy_from_slice(&peer_ip(i).octets());
    f[30..34].copy_from_slice(&local().octets());
    f
}

fn drain(a: &mut Alb) -> Vec<AlbTransmit> {
    std::iter::from_fn(|| a.poll_transmit()).collect()
}

fn adaptive(ports: &[PortNumber]) -> Alb {
    let mut a = Alb::new(AlbConfig::new(AlbMode::Adaptive, AGG));
    a.set_members(t(0), &members(ports));
    a
}

/// Runs every timer up to `until`.
fn run(a: &mut Alb, until: Instant) -> Vec<AlbTransmit> {
    let mut out = Vec::new();
    while let Some(d) = a.poll_timeout().filter(|d| *d <= until) {
        a.handle_timeout(d);
        out.extend(drain(a));
    }
    out
}

#[test]
fn transmit_lb_rewrites_source_off_the_receive_member_and_moves_on_failure() {
    let mut a = Alb::new(AlbConfig::new(AlbMode::Transmit, AGG));
    a.set_members(t(0), &members(&[1, 2, 3, 4]));
    assert_eq!(a.receive_member(), Some(1));
    assert_eq!(
        a.poll_event(),
        Some(AlbEvent::ReceiveMember {
            from: None,
            to: Some(1)
        })
    );
    let mut data = ipv4_from_peer(0, MacAddr::ZERO, 64);
    data[6..12].copy_from_slice(&AGG.0);
    let mut on3 = data.clone();
    assert_eq!(a.handle_host_frame(t(1), &mut on3, 3), 3);
    assert_eq!(&on3[6..12], &member_mac(3).0);
    let mut on1 = data.clone();
    assert_eq!(a.handle_host_frame(t(1), &mut on1, 1), 1);
    assert_eq!(on1, data, "the receive member keeps the aggregate's MAC");
    // A bridged frame (another source) is left alone.
    let mut other = ipv4_from_peer(1, AGG, 64);
    let before = other.clone();
    a.handle_host_frame(t(1), &mut other, 2);
    assert_eq!(other, before);

    // The host's ARP reply goes out on the receive member, from the aggregate's MAC: in
    // transmit-lb every peer sends to it.
    let mut reply = host_reply(7);
    assert_eq!(a.handle_host_frame(t(2), &mut reply, 3), 1);
    assert_eq!(reply, host_reply(7));
    assert!(a.status().peers.is_empty());

    // The receive member fails: member 2 takes the aggregate's MAC and announces the
    // aggregate's address (learned from the ARP) three times, 200 ms apart.
    drain(&mut a);
    a.set_members(t(1000), &members(&[2, 3, 4]));
    assert_eq!(
        a.poll_event(),
        Some(AlbEvent::ReceiveMember {
            from: Some(1),
            to: Some(2)
        })
    );
    let sent = run(&mut a, t(1500));
    let garps: Vec<_> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::Announce)
        .collect();
    assert_eq!(garps.len(), 3);
    for g in &garps {
        assert_eq!(g.port, 2);
        let f = ArpFrame::parse(&g.frame).unwrap();
        assert_eq!(f.l2.src, AGG);
        assert!(f.l2.dst.is_broadcast());
        assert_eq!(f.arp, ArpRepr::gratuitous(AGG, local()));
    }
    // Member 1 returns: non-revertive, nothing announced.
    a.set_members(t(2000), &members(&[1, 2, 3, 4]));
    assert_eq!(a.receive_member(), Some(2));
    assert!(
        run(&mut a, t(2900))
            .iter()
            .all(|s| s.kind == AlbFrameKind::Learning)
    );
}

#[test]
fn adaptive_lb_spreads_peers_and_answers_from_their_member() {
    let mut a = adaptive(&[1, 2, 3, 4]);
    let mut on = BTreeMap::new();
    for i in 0..8 {
        let mut f = host_reply(i);
        let port = a.handle_host_frame(t(10), &mut f, 1);
        let arp = ArpFrame::parse(&f).unwrap();
        let want = if port == 1 { AGG } else { member_mac(port) };
        assert_eq!((arp.l2.src, arp.arp.sender_mac), (want, want), "peer {i}");
        assert_eq!(arp.arp.target_ip, peer_ip(i));
        *on.entry(port).or_insert(0) += 1;
        assert_eq!(a.peer_member(IpAddr::V4(peer_ip(i))), Some(port));
    }
    assert_eq!(on.values().copied().collect::<Vec<_>>(), [2, 2, 2, 2]);
    // Answering the same peer again keeps its member.
    let mut f = host_reply(5);
    let m = a.peer_member(IpAddr::V4(peer_ip(5))).unwrap();
    assert_eq!(a.handle_host_frame(t(20), &mut f, 4), m);
    assert_eq!(a.status().counters.arp_rewritten, 9);
}

#[test]
fn adaptive_lb_fails_over_peers_and_gives_them_back() {
    let mut a = adaptive(&[1, 2, 3, 4]);
    for i in 0..8 {
        a.handle_host_frame(t(10), &mut host_reply(i), 1);
    }
    while a.poll_event().is_some() {}
    let on3: Vec<IpAddr> = a
        .status()
        .peers
        .iter()
        .filter(|p| p.member == 3)
        .map(|p| p.ip)
        .collect();
    assert_eq!(on3.len(), 2);
    // The start's announcements and the updates after them are over by then.
    run(&mut a, t(3999));

    // Member 3 fails: its two peers go to the others, each told three times, from the MAC of
    // its new member, on that member.
    a.set_members(t(4000), &members(&[1, 2, 4]));
    let moved: Vec<AlbEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(moved.len(), 2, "{moved:?}");
    for ev in &moved {
        let AlbEvent::PeerAssigned {
            peer,
            from,
            to,
            reason,
        } = ev
        else {
            panic!("{ev:?}")
        };
        assert!(on3.contains(peer));
        assert_eq!((*from, *reason), (Some(3), AssignReason::Failover));
        assert_ne!(*to, 3);
    }
    let updates: Vec<AlbTransmit> = run(&mut a, t(4900))
        .into_iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .collect();
    assert_eq!(updates.len(), 6);
    for u in &updates {
        let f = ArpFrame::parse(&u.frame).unwrap();
        let ip = IpAddr::V4(f.arp.target_ip);
        assert!(on3.contains(&ip));
        let m = a.peer_member(ip).unwrap();
        assert_eq!(u.port, m);
        let want = if m == 1 { AGG } else { member_mac(m) };
        assert_eq!(
            (f.l2.src, f.arp.sender_mac, f.arp.op),
            (want, want, ArpOp::Reply)
        );
        assert_eq!(f.l2.dst, f.arp.target_mac);
        assert_eq!(f.arp.sender_ip, local());
    }
    // Spread over what is left: no member has more than 3.
    let per = a.status().members;
    assert!(per.iter().all(|m| m.peers <= 3), "{per:?}");

    // Member 3 returns: it gets two peers back, each told.
    a.set_members(t(8000), &members(&[1, 2, 3, 4]));
    let back: Vec<AlbEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(back.len(), 2, "{back:?}");
    assert!(back.iter().all(|e| matches!(
        e,
        AlbEvent::PeerAssigned {
            to: 3,
            reason: AssignReason::Rebalance,
            ..
        }
    )));
    let st = a.status();
    assert!(st.members.iter().all(|m| m.peers == 2), "{:?}", st.members);
    let updates = run(&mut a, t(8900))
        .into_iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate && s.port == 3)
        .count();
    assert_eq!(updates, 6);
}

#[test]
fn receive_filter_delivers_each_frame_once() {
    let mut a = adaptive(&[1, 2, 3]);
    // Broadcast: the receive member only.
    let mut b = ipv4_from_peer(1, MacAddr::BROADCAST, 64);
    assert_eq!(
        a.handle_member_frame(t(1), 1, &mut b.clone()),
        AlbRx::Deliver
    );
    assert_eq!(
        a.handle_member_frame(t(1), 2, &mut b),
        AlbRx::Drop(AlbRxDrop::NotReceiveMember)
    );
    // For member 2's MAC on member 2: delivered, addressed to the aggregate.
    let mut u = ipv4_from_peer(1, member_mac(2), 64);
    assert_eq!(a.handle_member_frame(t(1), 2, &mut u), AlbRx::Deliver);
    assert_eq!(&u[..6], &AGG.0);
    // Its flooded copy on member 3: dropped.
    let mut c = ipv4_from_peer(1, member_mac(2), 64);
    assert_eq!(
        a.handle_member_frame(t(1), 3, &mut c),
        AlbRx::Drop(AlbRxDrop::Flooded)
    );
    // The aggregate's MAC on member 3: dropped, counted against member 3.
    let mut m = ipv4_from_peer(1, AGG, 64);
    assert_eq!(
        a.handle_member_frame(t(1), 1, &mut m.clone()),
        AlbRx::Deliver
    );
    assert_eq!(
        a.handle_member_frame(t(1), 3, &mut m),
        AlbRx::Drop(AlbRxDrop::Flooded)
    );
    let st = a.status();
    assert_eq!(st.members[2].aggregate_mac_elsewhere, 1);
    assert_eq!(st.members[0].aggregate_mac_elsewhere, 0);
    // Our own frame back: dropped; someone else's unicast: only the receive member passes it.
    let mut own = ipv4_from_peer(1, MacAddr::BROADCAST, 64);
    own[6..12].copy_from_slice(&member_mac(2).0);
    assert_eq!(
        a.handle_member_frame(t(1), 1, &mut own),
        AlbRx::Drop(AlbRxDrop::OwnFrame)
    );
    let stranger = MacAddr([2, 9, 9, 9, 9, 9]);
    assert_eq!(
        a.handle_member_frame(t(1), 2, &mut ipv4_from_peer(1, stranger, 64)),
        AlbRx::Drop(AlbRxDrop::NotOurs)
    );
    assert_eq!(
        a.handle_member_frame(t(1), 1, &mut ipv4_from_peer(1, stranger, 64)),
        AlbRx::Deliver
    );
    let c = a.status().counters;
    assert_eq!(
        (
            c.rx_not_receive_member,
            c.rx_flooded,
            c.rx_own,
            c.rx_not_ours
        ),
        (1, 2, 1, 1)
    );
    // Runts: the receive member passes them to the collector's own checks.
    assert_eq!(
        a.handle_member_frame(t(1), 1, &mut [0u8; 5]),
        AlbRx::Deliver
    );
    assert_eq!(
        a.handle_member_frame(t(1), 2, &mut [0u8; 5]),
        AlbRx::Drop(AlbRxDrop::NotOurs)
    );
}

#[test]
fn host_request_makes_a_placeholder_then_tells_the_peer_and_the_others() {
    let mut a = adaptive(&[1, 2]);
    // Peer 1 known on member 2 (the second peer goes there).
    a.handle_host_frame(t(0), &mut host_reply(0), 1);
    a.handle_host_frame(t(0), &mut host_reply(1), 1);
    assert_eq!(a.peer_member(IpAddr::V4(peer_ip(1))), Some(2));
    run(&mut a, t(1999));
    // The host asks for peer 2: broadcast from the aggregate's MAC, on the receive member.
    let req = ArpRepr {
        op: ArpOp::Request,
        sender_mac: AGG,
        sender_ip: local(),
        target_mac: MacAddr::ZERO,
        target_ip: peer_ip(2),
    };
    let bytes = ArpFrame::new(AGG, MacAddr::BROADCAST, None, req).to_bytes();
    let mut f = bytes.clone();
    assert_eq!(a.handle_host_frame(t(2000), &mut f, 2), 1);
    assert_eq!(f, bytes);
    let m2 = a.peer_member(IpAddr::V4(peer_ip(2))).unwrap();
    // Its reply teaches lagd its MAC.
    let reply = ArpFrame::new(
        peer_mac(2),
        AGG,
        None,
        ArpRepr {
            op: ArpOp::Reply,
            sender_mac: peer_mac(2),
            sender_ip: peer_ip(2),
            target_mac: AGG,
            target_ip: local(),
        },
    )
    .to_bytes();
    assert_eq!(
        a.handle_member_frame(t(2001), 1, &mut reply.clone()),
        AlbRx::Deliver
    );
    // After the settle, every peer on a member other than the receive member is told again
    // (peer 1 heard the broadcast too), and peer 2 if it is not on the receive member.
    let sent = run(&mut a, t(4900));
    let told: BTreeMap<Ipv4Addr, usize> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .fold(BTreeMap::new(), |mut m, s| {
            *m.entry(ArpFrame::parse(&s.frame).unwrap().arp.target_ip)
                .or_insert(0) += 1;
            m
        });
    assert_eq!(told.get(&peer_ip(1)), Some(&3), "{told:?}");
    assert_eq!(told.get(&peer_ip(0)), None);
    assert_eq!(told.contains_key(&peer_ip(2)), m2 != 1, "{told:?}");
}

#[test]
fn ipv6_advertisements_carry_the_member_and_failover_announces_them() {
    let mut a = adaptive(&[1, 2]);
    let local6 = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    let peer6 = |i: u16| Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 100 + i);
    let mut on = Vec::new();
    for i in 0..2u16 {
        let na = NdRepr {
            src: local6,
            dst: peer6(i),
            message: NdMessage::Advert {
                router: false,
                solicited: true,
                override_: true,
                target: local6,
                target_lladdr: Some(AGG),
            },
        };
        let mut f = NdFrame::new(AGG, peer_mac(i as u8), None, na).to_bytes();
        let port = a.handle_host_frame(t(1), &mut f, 1);
        let back = NdFrame::parse(&f).expect("checksum still right");
        let want = if port == 1 { AGG } else { member_mac(port) };
        let NdMessage::Advert { target_lladdr, .. } = back.nd.message else {
            panic!()
        };
        assert_eq!((back.l2.src, target_lladdr), (want, Some(want)));
        on.push(port);
    }
    assert_eq!(on, [1, 2]);
    assert_eq!(a.status().addresses, [IpAddr::V6(local6)]);
    // Member 1 (the receive member) fails: member 2 announces the address to all nodes, and
    // the peer that was on member 1 is told member 2 by a unicast advertisement.
    run(&mut a, t(1900));
    a.set_members(t(2000), &members(&[2]));
    let sent = run(&mut a, t(2900));
    let ann: Vec<_> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::Announce)
        .collect();
    assert_eq!(ann.len(), 3);
    let f = NdFrame::parse(&ann[0].frame).unwrap();
    assert_eq!(
        (ann[0].port, f.l2.src, f.nd.dst),
        (2, AGG, lagd_wire::ALL_NODES)
    );
    let upd: Vec<_> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .collect();
    assert_eq!(upd.len(), 3);
    let f = NdFrame::parse(&upd[0].frame).unwrap();
    assert_eq!(
        (f.nd.dst, f.l2.dst, upd[0].port),
        (peer6(0), peer_mac(0), 2)
    );
}

/// An IPv6 peer resolves the host's global and link-local addresses, and the host its two:
/// two entries, one MAC. Each update names every one of the aggregate's addresses, so entries
/// of one host on two members would re-point each other's neighbour entries (the namespace
/// test saw a restored member receive 3 peers' traffic with 2 peers mapped to it). A host's
/// entries share a member: when the second learns the MAC, on failover, and when rebalancing.
#[test]
fn a_hosts_addresses_share_one_member() {
    let mut a = adaptive(&[1, 2, 3]);
    let local6 = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    let global = |i: u16| Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 100 + i);
    let link = |i: u16| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 100 + i);
    let answer = |a: &mut Alb, peer: Ipv6Addr, i: u16| {
        let na = NdRepr {
            src: local6,
            dst: peer,
            message: NdMessage::Advert {
                router: false,
                solicited: true,
                override_: true,
                target: local6,
                target_lladdr: Some(AGG),
            },
        };
        let mut f = NdFrame::new(AGG, peer_mac(i as u8), None, na).to_bytes();
        let port = a.handle_host_frame(t(1), &mut f, 1);
        let back = NdFrame::parse(&f).unwrap();
        let NdMessage::Advert { target_lladdr, .. } = back.nd.message else {
            panic!()
        };
        (port, target_lladdr)
    };
    // Four hosts, each answered at its global address (members 1 2 3 1), then at its
    // link-local one (by count alone the first would go to member 2).
    let mut on = Vec::new();
    for i in 0..4u16 {
        on.push(answer(&mut a, global(i), i));
    }
    for i in 0..4u16 {
        let (port, lladdr) = answer(&mut a, link(i), i);
        assert_eq!(
            (port, lladdr),
            on[i as usize],
            "host {i}: one member, one MAC"
        );
    }
    let member = |a: &Alb, ip: Ipv6Addr| a.peer_member(IpAddr::V6(ip)).unwrap();
    for i in 0..4u16 {
        assert_eq!(member(&a, global(i)), member(&a, link(i)));
    }
    // Failover: the host on member 2 moves with both addresses.
    let h = (0..4u16).find(|i| member(&a, global(*i)) == 2).unwrap();
    run(&mut a, t(5000));
    a.set_members(t(5000), &members(&[1, 3]));
    assert_ne!(member(&a, global(h)), 2);
    assert_eq!(member(&a, global(h)), member(&a, link(h)));
    // Member 2 returns: one host (both addresses) gets it again.
    a.set_members(t(6000), &members(&[1, 2, 3]));
    let on2: Vec<u16> = (0..4u16).filter(|i| member(&a, global(*i)) == 2).collect();
    assert_eq!(on2.len(), 1, "{:?}", a.status());
    for i in 0..4u16 {
        assert_eq!(member(&a, global(i)), member(&a, link(i)), "host {i}");
    }
}

#[test]
fn learning_frames_every_second_from_the_mac_peers_use() {
    let mut a = adaptive(&[1, 2]);
    let sent = run(&mut a, t(2500));
    let learn: Vec<_> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::Learning)
        .collect();
    // At 0, 1 s and 2 s: the receive member for the aggregate's MAC and its own, member 2 for
    // its own.
    assert_eq!(learn.len(), 9);
    let f = &learn[0].frame;
    assert_eq!(
        (&f[..6], &f[6..12], &f[12..14]),
        (&AGG.0[..], &AGG.0[..], &[0x90, 0][..])
    );
    assert!(
        learn
            .iter()
            .any(|s| s.port == 2 && s.frame[..6] == member_mac(2).0)
    );
    assert_eq!(a.status().counters.learning, 9);
    // No members, no timers.
    a.set_members(t(3000), &[]);
    assert_eq!(a.receive_member(), None);
    assert!(run(&mut a, t(60_000)).is_empty());
}

#[test]
fn measured_rates_rebalance_peers() {
    let mut a = adaptive(&[1, 2]);
    for i in 0..4 {
        a.handle_host_frame(t(0), &mut host_reply(i), 1);
    }
    // Peers 0 and 2 are on member 1, 1 and 3 on member 2. Peers 0 and 2 send a lot.
    for _ in 0..100 {
        for i in [0u8, 2] {
            let port = a.peer_member(IpAddr::V4(peer_ip(i))).unwrap();
            let mac = if port == 1 { AGG } else { member_mac(port) };
            let mut f = ipv4_from_peer(i, mac, 1000);
            assert_eq!(a.handle_member_frame(t(5000), port, &mut f), AlbRx::Deliver);
        }
    }
    while a.poll_event().is_some() {}
    run(&mut a, t(10_000));
    let moved: Vec<AlbEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let st = a.status();
    let heavy: Vec<PortNumber> = st
        .peers
        .iter()
        .filter(|p| p.rx_rate > 0)
        .map(|p| p.member)
        .collect();
    assert_eq!(heavy.len(), 2);
    assert_ne!(heavy[0], heavy[1], "{st:?}");
    // Even now: the next round moves nothing.
    run(&mut a, t(20_000));
    assert!(
        std::iter::from_fn(|| a.poll_event()).all(|e| !matches!(e, AlbEvent::PeerAssigned { .. }))
    );
}

/// With the kernel fast path the data frames never pass `handle_member_frame`: the bytes the
/// receive programs counted per source address are given with `account_received`, and the
/// rates and the rebalancing follow them as they follow frames.
#[test]
fn bytes_counted_by_the_kernel_rebalance_peers() {
    let mut a = adaptive(&[1, 2]);
    for i in 0..4 {
        a.handle_host_frame(t(0), &mut host_reply(i), 1);
    }
    let peers: Vec<IpAddr> = a.peer_addresses().collect();
    assert_eq!(peers.len(), 4);
    // Peers 0 and 2 (both on member 1) send 100 kB each; an unknown address is ignored.
    for i in [0u8, 2] {
        assert_eq!(a.peer_member(IpAddr::V4(peer_ip(i))), Some(1));
        a.account_received(IpAddr::V4(peer_ip(i)), 100_000);
    }
    a.account_received(IpAddr::V4(Ipv4Addr::new(198, 18, 9, 9)), 1 << 40);
    while a.poll_event().is_some() {}
    run(&mut a, t(10_000));
    let moved: Vec<AlbEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let st = a.status();
    assert_eq!(st.peers.len(), 4, "the unknown address made no peer");
    // 100 kB in 10 s, halved by the average: 5000 B/s each.
    let rates: Vec<(PortNumber, u64)> = st
        .peers
        .iter()
        .filter(|p| p.rx_rate > 0)
        .map(|p| (p.member, p.rx_rate))
        .collect();
    assert_eq!(rates.len(), 2, "{st:?}");
    assert!(rates.iter().all(|(_, r)| *r == 5000), "{rates:?}");
    assert_ne!(rates[0].0, rates[1].0, "{st:?}");
}

#[test]
fn a_full_table_leaves_new_peers_on_the_receive_member() {
    let mut cfg = AlbConfig::new(AlbMode::Adaptive, AGG);
    cfg.max_peers = 2;
    let mut a = Alb::new(cfg);
    a.set_members(t(0), &members(&[1, 2]));
    for i in 0..3 {
        let mut f = host_reply(i);
        let port = a.handle_host_frame(t(1), &mut f, 2);
        if i == 2 {
            assert_eq!(port, 1);
            assert_eq!(f, host_reply(2));
        }
    }
    let st = a.status();
    assert_eq!((st.peers.len(), st.counters.peers_untracked), (2, 1));
}

#[test]
fn a_member_whose_mac_the_aggregate_took_uses_another() {
    let mut a = Alb::new(AlbConfig::new(AlbMode::Transmit, AGG));
    let ms = [
        AlbMember { port: 1, mac: AGG },
        AlbMember {
            port: 2,
            mac: member_mac(2),
        },
    ];
    a.set_members(t(0), &ms);
    // Member 2 becomes the receive member; member 1 returns and sends with a derived MAC.
    a.set_members(t(1), &ms[1..]);
    a.set_members(t(2), &ms);
    assert_eq!(a.receive_member(), Some(2));
    let mut f = ipv4_from_peer(0, MacAddr::ZERO, 64);
    f[6..12].copy_from_slice(&AGG.0);
    assert_eq!(a.handle_host_frame(t(3), &mut f, 1), 1);
    let derived = MacAddr([0x02 ^ 0x04, 0xa6, 0, 0, 0, 1]);
    assert_eq!(&f[6..12], &derived.0);
    assert_eq!(wire_mac(AGG, AGG), derived);
    assert_eq!(
        wire_mac(MacAddr([0, 1, 2, 3, 4, 5]), MacAddr([0, 1, 2, 3, 4, 5])).0[0],
        2
    );
    assert_eq!(wire_mac(member_mac(2), AGG), member_mac(2));
    // Frames for the derived MAC reach the aggregate through member 1.
    let mut r = ipv4_from_peer(0, derived, 64);
    assert_eq!(a.handle_member_frame(t(4), 1, &mut r), AlbRx::Deliver);
    assert_eq!(&r[..6], &AGG.0);
}

#[test]
fn announcements_are_followed_by_peer_updates() {
    // Gratuitous ARP from the aggregate's MAC re-points every peer there: once the
    // announcements are over, peers of other members are told theirs again.
    let mut a = adaptive(&[1, 2]);
    a.handle_host_frame(t(0), &mut host_reply(0), 1);
    a.handle_host_frame(t(0), &mut host_reply(1), 1);
    assert_eq!(a.peer_member(IpAddr::V4(peer_ip(1))), Some(2));
    let sent = run(&mut a, t(4000));
    let ann = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::Announce)
        .count();
    let upd: Vec<_> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .map(|s| ArpFrame::parse(&s.frame).unwrap().arp.target_ip)
        .collect();
    assert_eq!(ann, 3);
    assert_eq!(upd, [peer_ip(1); 3], "{upd:?}");
    assert!(!a.take_wake());
    // A host ARP request asks the caller to look at the deadline again.
    let req = ArpRepr {
        op: ArpOp::Request,
        sender_mac: AGG,
        sender_ip: local(),
        target_mac: MacAddr::ZERO,
        target_ip: peer_ip(5),
    };
    let mut f = ArpFrame::new(AGG, MacAddr::BROADCAST, None, req).to_bytes();
    a.handle_host_frame(t(5000), &mut f, 2);
    assert!(a.take_wake());
    assert!(!a.take_wake());
}

#[test]
fn a_unicast_probe_of_a_known_peer_leaves_from_its_member() {
    let mut a = adaptive(&[1, 2]);
    a.handle_host_frame(t(0), &mut host_reply(0), 1);
    a.handle_host_frame(t(0), &mut host_reply(1), 1);
    run(&mut a, t(4000));
    let probe = ArpRepr {
        op: ArpOp::Request,
        sender_mac: AGG,
        sender_ip: local(),
        target_mac: MacAddr::ZERO,
        target_ip: peer_ip(1),
    };
    let mut f = ArpFrame::new(AGG, peer_mac(1), None, probe).to_bytes();
    assert_eq!(a.handle_host_frame(t(5000), &mut f, 1), 2);
    let back = ArpFrame::parse(&f).unwrap();
    assert_eq!(
        (back.l2.src, back.arp.sender_mac),
        (member_mac(2), member_mac(2))
    );
    // No settle, no update: the other peers heard nothing.
    assert!(!a.take_wake());
    assert!(
        run(&mut a, t(9000))
            .iter()
            .all(|s| s.kind == AlbFrameKind::Learning)
    );
}

/// The daemon reads the aggregate's addresses from the kernel: a host that never sent ARP or
/// Neighbour Discovery still announces them when its receive member changes; an address
/// removed is no longer announced, one learned on a VLAN is kept.
#[test]
fn local_addresses_from_the_kernel_are_announced_on_failover() {
    let mut a = Alb::new(AlbConfig::new(AlbMode::Transmit, AGG));
    a.set_members(t(0), &members(&[1, 2]));
    let v6: Ipv6Addr = "2001:2::1".parse().unwrap();
    a.set_local_addresses(t(0), &[IpAddr::V4(local()), IpAddr::V6(v6)]);
    assert!(a.take_wake(), "new addresses are announced at once");
    let first = run(&mut a, t(1000));
    let announced = |out: &[AlbTransmit]| {
        out.iter()
            .filter(|x| x.kind == AlbFrameKind::Announce)
            .map(|x| x.port)
            .collect::<Vec<_>>()
    };
    // Both addresses, three times each, on the receive member.
    assert_eq!(announced(&first), vec![1; 6]);
    // Given again unchanged: nothing new to say.
    a.set_local_addresses(t(1000), &[IpAddr::V6(v6), IpAddr::V4(local())]);
    assert!(announced(&run(&mut a, t(2000))).is_empty());
    // The receive member fails: both announced on the next one, no host frame needed.
    a.set_members(t(5000), &members(&[2]));
    let out = run(&mut a, t(6000));
    assert_eq!(announced(&out), vec![2; 6]);
    let arp = out
        .iter()
        .find_map(|x| ArpFrame::parse(&x.frame).ok())
        .expect("a gratuitous ARP");
    assert_eq!((arp.arp.sender_ip, arp.arp.target_ip), (local(), local()));
    assert_eq!(arp.l2.src, AGG);
    // An address learned on a VLAN stays; the IPv6 address removed from the host goes.
    let tagged = ArpFrame::new(
        AGG,
        MacAddr::BROADCAST,
        Some(100),
        ArpRepr::gratuitous(AGG, Ipv4Addr::new(198, 19, 0, 1)),
    )
    .to_bytes();
    a.handle_host_frame(t(7000), &mut tagged.clone(), 2);
    a.set_local_addresses(t(7000), &[IpAddr::V4(local())]);
    let st = a.status();
    assert_eq!(
        st.addresses,
        vec![
            IpAddr::V4(local()),
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1))
        ]
    );
}

/// A peer resolved the host's link-local address last (the host's probes come from it): when
/// it is re-mapped it is told every one of the aggregate's addresses of its family, the
/// global one it sends data to included (found by the IPv6 namespace test: the updates named
/// only the link-local address and the peer kept sending to the cut member).
#[test]
fn a_remapped_peer_is_told_every_address_of_its_family() {
    let mut a = adaptive(&[1, 2]);
    let global = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    let link = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    a.set_local_addresses(
        t(0),
        &[IpAddr::V6(global), IpAddr::V6(link), IpAddr::V4(local())],
    );
    // Two peers, so the second is on member 2; it last resolved the link-local address.
    let mut port = 0;
    for (i, src) in [(0u16, global), (1, link)] {
        let na = NdRepr {
            src,
            dst: Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 100 + i),
            message: NdMessage::Advert {
                router: false,
                solicited: true,
                override_: true,
                target: src,
                target_lladdr: Some(AGG),
            },
        };
        let mut f = NdFrame::new(AGG, peer_mac(i as u8), None, na).to_bytes();
        port = a.handle_host_frame(t(1), &mut f, 1);
    }
    assert_eq!(port, 2);
    run(&mut a, t(3900));
    a.set_members(t(4000), &members(&[1]));
    let sent = run(&mut a, t(4100));
    let told: std::collections::BTreeSet<Ipv6Addr> = sent
        .iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .map(|s| NdFrame::parse(&s.frame).unwrap().nd)
        .filter(|nd| nd.dst == Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 101))
        .map(|nd| match nd.message {
            NdMessage::Advert { target, .. } => target,
            NdMessage::Solicit { .. } => panic!("a solicitation"),
        })
        .collect();
    assert_eq!(told, [link, global].into_iter().collect());
}

/// A live change from `adaptive-lb` to `transmit-lb` (`lagctl modify-aggr -m transmit-lb`):
/// every peer, told a member's MAC so far, is told the aggregate's MAC from the receive member
/// (three times), and then leaves the table: `transmit-lb` receives on one member. Before, the
/// table was kept and the updates after the change told each peer its `adaptive-lb` member's
/// MAC again, so peers kept sending to every member.
#[test]
fn a_change_to_transmit_lb_points_every_peer_at_the_receive_member() {
    let mut a = adaptive(&[1, 2, 3, 4]);
    for i in 0..8 {
        a.handle_host_frame(t(10), &mut host_reply(i), 1);
    }
    while a.poll_event().is_some() {}
    run(&mut a, t(3999));
    let away = a.status().peers.iter().filter(|p| p.member != 1).count();
    assert_eq!(away, 6);

    a.set_config(t(4000), AlbConfig::new(AlbMode::Transmit, AGG));
    let updates: Vec<AlbTransmit> = run(&mut a, t(20_000))
        .into_iter()
        .filter(|s| s.kind == AlbFrameKind::PeerUpdate)
        .collect();
    for u in &updates {
        let f = ArpFrame::parse(&u.frame).unwrap();
        assert_eq!(
            (u.port, f.l2.src, f.arp.sender_mac, f.arp.sender_ip),
            (1, AGG, AGG, local()),
            "an update that is not the receive member's: to {}",
            f.arp.target_ip
        );
    }
    for i in 0..8 {
        let told = updates
            .iter()
            .filter(|u| ArpFrame::parse(&u.frame).unwrap().arp.target_ip == peer_ip(i))
            .count();
        assert_eq!(told, 3, "peer {i} told {told} times");
    }
    let st = a.status();
    assert!(st.peers.is_empty(), "{:?}", st.peers);
    assert!(st.members.iter().all(|m| m.peers == 0), "{:?}", st.members);
}
