//! Property tests: the wire format round-trips and never panics; random fault sequences never
//! panic and always heal.

mod common;

use common::*;
use lagd_dt::{
    AggrConfigInfo, AuthInfo, DT_GROUP_ADDR, DomainInfo, DrcpState, DtFrame, DtPduRepr,
    HomePortsInfo, MacOp, MacSyncEntry, MacSyncInfo, NeighEntry, NeighSyncInfo, PeerState,
    PortalInfo, SequenceInfo,
};
use lagd_types::{Duration, MacAddr, SystemId};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn sys() -> impl Strategy<Value = SystemId> {
    (any::<u16>(), mac()).prop_map(|(p, m)| SystemId::new(p, m))
}

fn repr() -> impl Strategy<Value = DtPduRepr> {
    let portal = (any::<u16>(), mac(), any::<u16>(), mac()).prop_map(|(a, b, c, d)| PortalInfo {
        aggregator_priority: a,
        aggregator_id: b,
        portal_priority: c,
        portal_addr: d,
    });
    let domain =
        (any::<u32>(), any::<u8>(), any::<u16>(), mac()).prop_map(|(d, f, b, n)| DomainInfo {
            domain_id: d,
            flags: f,
            port_base: b,
            neighbor: n,
        });
    let home = (
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        sys(),
        prop::collection::vec(any::<u16>(), 0..10),
    )
        .prop_map(|(a, k, o, s, v)| HomePortsInfo {
            aggr: a,
            admin_key: k,
            oper_partner_key: o,
            partner_system: s,
            active_ports: v,
        });
    let cfg = (
        any::<u16>(),
        sys(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(a, s, k, m, t, mtu, sp)| AggrConfigInfo {
            aggr: a,
            system: s,
            key: k,
            lacp_mode: m,
            lacp_timer: t,
            mtu,
            speed_mbps: sp,
        });
    let entry = (any::<bool>(), any::<u16>(), any::<u16>(), mac()).prop_map(|(add, a, v, m)| {
        MacSyncEntry {
            op: if add { MacOp::Add } else { MacOp::Remove },
            aggr: a,
            vlan: v,
            mac: m,
        }
    });
    let ms = (
        any::<u8>(),
        any::<[u32; 4]>(),
        prop::collection::vec(entry, 0..20),
    )
        .prop_map(|(f, s, e)| MacSyncInfo {
            flags: f,
            session: s[0],
            seq: s[1],
            ack_session: s[2],
            ack_seq: s[3],
            entries: e,
        });
    let neigh = (any::<bool>(), any::<[u8; 16]>(), mac()).prop_map(|(v4, mut o, m)| {
        let ip = if v4 {
            std::net::IpAddr::from([o[0], o[1], o[2], o[3]])
        } else {
            o[0] = 0x20; // not IPv4-mapped
            std::net::IpAddr::from(o)
        };
        NeighEntry { ip, mac: m }
    });
    let ns = (any::<u8>(), prop::collection::vec(neigh, 0..20))
        .prop_map(|(flags, entries)| NeighSyncInfo { flags, entries });
    (
        portal,
        any::<u8>(),
        domain,
        prop::collection::vec(home, 0..4),
        prop::collection::vec(cfg, 0..4),
        prop::option::of(ms),
        prop::option::of(ns),
        prop::option::of(any::<[u64; 4]>()),
        prop::option::of((any::<u8>(), any::<u32>(), any::<[u8; 32]>())),
    )
        .prop_map(
            |(portal, st, domain, home_ports, aggr_configs, mac_sync, neigh_sync, seq, auth)| {
                DtPduRepr {
                    portal,
                    state: DrcpState(st),
                    domain,
                    home_ports,
                    aggr_configs,
                    mac_sync,
                    neigh_sync,
                    sequence: seq.map(|q| SequenceInfo {
                        epoch: q[0],
                        seq: q[1],
                        echo_epoch: q[2],
                        echo_seq: q[3],
                    }),
                    auth: auth.map(|(algorithm, key_id, icv)| AuthInfo {
                        algorithm,
                        key_id,
                        icv,
                    }),
                }
            },
        )
}

proptest! {
    #[test]
    fn frames_roundtrip(r in repr(), src in mac()) {
        let f = DtFrame { dst: DT_GROUP_ADDR, src, pdu: r };
        let v = f.to_vec().unwrap();
        prop_assert_eq!(DtFrame::parse(&v).unwrap(), f);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = DtFrame::parse(&bytes);
        let _ = DtPduRepr::parse(&bytes);
    }

    #[test]
    fn mutated_frames_never_panic_the_switch(r in repr(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let f = DtFrame { dst: DT_GROUP_ADDR, src: MAC_B, pdu: r };
        let mut v = f.to_vec().unwrap();
        for (i, b) in flips {
            let n = v.len();
            if let Some(x) = v.get_mut(i % n) { *x ^= b; }
        }
        let mut p = formed();
        let now = p.now;
        let _ = p.sw[0].handle_peer_frame(now, &v);
        let _ = p.sw[0].handle_keepalive_frame(now, &v);
        p.run_for(Duration::from_secs(1));
    }

    #[test]
    fn random_faults_always_heal(ops in prop::collection::vec((0u8..8, 1u64..4000), 1..12)) {
        let mut p = formed();
        for (op, ms) in ops {
            match op {
                0 => p.cut_peer_link(),
                1 => p.restore_peer_link(),
                2 => p.set_keepalive(false),
                3 => p.set_keepalive(true),
                4 => p.silence_peer_link(true, false),
                5 => p.silence_peer_link(false, false),
                6 => { if p.alive[0] && p.alive[1] { p.kill(1) } }
                _ => { if !p.alive[1] { p.revive(1) } }
            }
            p.run_for(Duration::from_millis(ms));
            // Never both forwarding alone with different system ids, never an overlap of
            // port bases while both forward.
            let (a, b) = (decision(&p, 0), decision(&p, 1));
            if p.alive[0] && p.alive[1] && a.ports_enabled && b.ports_enabled {
                prop_assert_eq!(a.lacp_system, b.lacp_system);
            }
        }
        if !p.alive[1] { p.revive(1) }
        p.restore_peer_link();
        p.set_keepalive(true);
        p.silence_peer_link(false, false);
        let healed = p.run_until_cond(Duration::from_secs(10), both_up);
        prop_assert!(healed.is_some(), "{:?}", (p.sw[0].state(), p.sw[1].state()));
        set_live(&mut p, 1, &[1, 2]);
        p.run_for(Duration::from_secs(1));
        let (a, b) = (decision(&p, 0), decision(&p, 1));
        prop_assert!(a.ports_enabled && b.ports_enabled);
        prop_assert_eq!(a.lacp_system, SHARED);
        prop_assert_eq!(b.lacp_system, SHARED);
        prop_assert_ne!(a.port_number_base, b.port_number_base);
        prop_assert_eq!(p.sw[0].state(), PeerState::Up);
    }
}
