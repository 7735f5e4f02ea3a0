//! `Distributor::place` answers where a conversation goes exactly as the data path sends it.

use std::net::IpAddr;

use lagd_distrib::{
    Dispatch, Distributor, DistributorConfig, FlowKey, HashPolicy, Mode, flowkey::ipproto,
};
use lagd_types::{Instant, MacAddr};

const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// An Ethernet frame of one IPv4 or IPv6 TCP/UDP datagram (no checksums: the distributor
/// reads headers only).
fn frame(src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&DST_MAC);
    f.extend_from_slice(&SRC_MAC);
    let l4 = [sport.to_be_bytes(), dport.to_be_bytes(), [0; 2], [0; 2]].concat();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, proto, 0, 0];
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            f.extend_from_slice(&ip);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&0x86ddu16.to_be_bytes());
            let mut ip = vec![0x60, 0, 0, 0, 0, 20, proto, 64];
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            f.extend_from_slice(&ip);
        }
        _ => panic!("one family"),
    }
    f.extend_from_slice(&l4);
    f.extend_from_slice(&[0; 12]);
    f
}

#[test]
fn place_agrees_with_handle_frame_for_every_policy_and_family() {
    let t = Instant::from_secs(1);
    let src_mac = MacAddr::from_slice(&SRC_MAC).unwrap();
    let dst_mac = MacAddr::from_slice(&DST_MAC).unwrap();
    for policy in ["L2", "L3", "L4", "L3,L4", "L2,L3,L4"] {
        let mut d: Distributor<u32> = Distributor::new(DistributorConfig {
            mode: Mode::Hash,
            policy: policy.parse::<HashPolicy>().unwrap(),
            ..DistributorConfig::default()
        });
        d.set_ports(t, &[1, 2, 3]);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200u16 {
            let (src, dst): (IpAddr, IpAddr) = if i % 2 == 0 {
                (
                    format!("198.18.{}.{}", i % 7, i % 250 + 1).parse().unwrap(),
                    "198.19.0.1".parse().unwrap(),
                )
            } else {
                (
                    format!("2001:2::{i:x}").parse().unwrap(),
                    "2001:2::ffff".parse().unwrap(),
                )
            };
            let proto = if i % 3 == 0 {
                ipproto::UDP
            } else {
                ipproto::TCP
            };
            let (sport, dport) = (10_000 + i, 80 + i % 5);
            let f = frame(src, dst, proto, sport, dport);
            let key = FlowKey::conversation(src_mac, dst_mac, src, dst, proto, sport, dport);
            assert_eq!(key, FlowKey::from_frame(&f), "{policy} {src} {dst}");
            let p = d.place(&key);
            assert!(!p.moving && !p.per_frame);
            assert_eq!(p.bucket, d.bucket_of(p.hash));
            match d.handle_frame(t, &f, u32::from(i)) {
                Dispatch::Send(port, _) => assert_eq!(Some(port), p.port, "{policy}"),
                _ => panic!("a steady table sends at once"),
            }
            seen.insert(p.port);
        }
        if policy != "L2" {
            assert_eq!(
                seen.len(),
                3,
                "{policy}: conversations spread over every member"
            );
        }
    }
}

#[test]
fn place_in_the_other_modes() {
    let t = Instant::from_secs(1);
    let key = FlowKey::default();
    let mut ab: Distributor<u32> = Distributor::new(DistributorConfig {
        mode: Mode::ActiveBackup,
        ..DistributorConfig::default()
    });
    ab.set_ports(t, &[4, 5]);
    let p = ab.place(&key);
    assert_eq!((p.port, p.per_frame), (Some(4), false));
    let mut rr: Distributor<u32> = Distributor::new(DistributorConfig {
        mode: Mode::RoundRobin,
        ..DistributorConfig::default()
    });
    rr.set_ports(t, &[4, 5]);
    let p = rr.place(&key);
    assert_eq!((p.port, p.per_frame), (None, true));
}
