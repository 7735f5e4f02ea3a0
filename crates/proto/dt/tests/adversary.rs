//! An adversary on the DT paths, in virtual time. Each attack of issue 15 is reproduced as it
//! was found (it succeeded before peer pinning, address checks, sequence numbers and keys), and
//! must now change nothing but the refusal counters:
//!
//! 1. stranger PDUs on the peer link (the pair dropped out of Up at each one, MACs flapped);
//! 2. two crafted PDUs naming A as neighbour (A paired with the stranger);
//! 3. a foreign domain's keepalive at a lone survivor (it took its ports down);
//! 4. a replayed keepalive after the primary died (the survivor went to split brain);
//! 5. a flood of 10 000 stranger PDUs a second;
//! 6. with a key: forged, stale and replayed frames.

mod common;

use common::*;
use lagd_dt::testing::Pair;
use lagd_dt::{
    AggrConfigInfo, AuthInfo, DT_GROUP_ADDR, DomainInfo, DrcpState, DtConfig, DtEventKind, DtFrame,
    DtKey, DtPath, DtPduRepr, HomePortsInfo, ICV_LEN, MacOp, MacSyncEntry, MacSyncInfo, ORPHAN,
    PeerState, PortalInfo, RefuseReason, Role, SequenceInfo,
};
use lagd_types::{Duration, MacAddr};

/// The attacker's own MAC.
const MAC_S: MacAddr = MacAddr([2, 0, 0, 0, 0x5, 1]);

fn host(n: u32) -> MacAddr {
    let b = n.to_be_bytes();
    MacAddr([2, 0x68, b[0], b[1], b[2], b[3]])
}

/// The sequence numbers switch `i` last sent (an eavesdropper reads them off the wire).
fn last_seq(p: &Pair, i: usize) -> SequenceInfo {
    p.captured
        .iter()
        .rev()
        .find(|c| c.1 == i)
        .and_then(|c| DtFrame::parse(&c.3).ok())
        .and_then(|f| f.pdu.sequence)
        .expect("a captured frame")
}

/// A PDU as a stranger would craft it to take B's place at A: A's MAC as neighbour, a winning
/// priority, aggregation 1 configured like A's, live members, MAC sync entries, and the echo of
/// A's current numbers read off the wire.
fn crafted(p: &Pair, from: MacAddr, domain_id: u32, flags: u8, seq: u64) -> Vec<u8> {
    let a = last_seq(p, 0);
    let pdu = DtPduRepr {
        portal: PortalInfo {
            aggregator_priority: 1,
            aggregator_id: from,
            ..PortalInfo::default()
        },
        state: DrcpState(DrcpState::IPP_ACTIVITY),
        domain: DomainInfo {
            domain_id,
            flags,
            port_base: 0,
            neighbor: MAC_A,
        },
        home_ports: vec![HomePortsInfo {
            aggr: 1,
            admin_key: 1,
            oper_partner_key: 9,
            partner_system: SERVER,
            active_ports: vec![1, 2],
        }],
        aggr_configs: vec![AggrConfigInfo {
            aggr: 1,
            system: SHARED,
            key: 1,
            lacp_mode: 2,
            lacp_timer: 1,
            mtu: 1500,
            speed_mbps: 0,
        }],
        mac_sync: Some(MacSyncInfo {
            flags: 0,
            session: 0xbad,
            seq: 1,
            ack_session: 0,
            ack_seq: 0,
            entries: (0..40)
                .map(|n| MacSyncEntry {
                    op: MacOp::Add,
                    aggr: 1,
                    vlan: 0,
                    mac: MacAddr([2, 0xee, 0, 0, 0, n]),
                })
                .collect(),
        }),
        neigh_sync: None,
        sequence: Some(SequenceInfo {
            epoch: 0x5eed,
            seq,
            echo_epoch: a.epoch,
            echo_seq: a.seq,
        }),
        auth: None,
    };
    DtFrame {
        dst: DT_GROUP_ADDR,
        src: from,
        pdu,
    }
    .to_vec()
    .unwrap()
}

/// A formed pair, B having learned 1 000 hosts that A installed, the wire recorded.
fn formed_with_macs() -> Pair {
    let mut p = formed();
    p.capture = true;
    let now = p.now;
    for n in 0..1000 {
        p.sw[1].handle_local_mac(now, 1, 0, host(n), true);
    }
    p.drain();
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.sw[0].installed_macs().len(), 1000);
    p
}

/// Everything an attack must leave alone at switch `i`.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: PeerState,
    role: Role,
    peer: Option<MacAddr>,
    decisions: Vec<(u16, lagd_dt::Decision)>,
    installed: Vec<(u16, u16, MacAddr)>,
}

fn snap(p: &Pair, i: usize) -> Snapshot {
    Snapshot {
        state: p.sw[i].state(),
        role: p.sw[i].role(),
        peer: p.sw[i].peer().map(|x| x.system_mac),
        decisions: p.sw[i].decisions(),
        installed: p.sw[i].installed_macs(),
    }
}

fn changes_since(p: &Pair, i: usize, log_mark: usize, mac_mark: usize) -> (usize, usize) {
    let states = p.log[log_mark..]
        .iter()
        .filter(|(s, e)| {
            *s == i
                && matches!(
                    e.kind,
                    DtEventKind::StateChanged { .. }
                        | DtEventKind::DecisionChanged { .. }
                        | DtEventKind::RoleChanged { .. }
                        | DtEventKind::PeerLinkChanged { .. }
                )
        })
        .count();
    let macs = p.mac_log[mac_mark..]
        .iter()
        .filter(|(s, _)| *s == i)
        .count();
    (states, macs)
}

#[test]
fn attack_1_stranger_pdus_change_nothing() {
    let mut p = formed_with_macs();
    let before = snap(&p, 0);
    let (lm, mm) = (p.log.len(), p.mac_log.len());
    for n in 0..20 {
        let f = crafted(&p, MAC_S, 7, 0, 100 + n);
        assert_eq!(p.inject(0, DtPath::PeerLink, &f), Ok(()));
        p.run_for(Duration::from_millis(50));
    }
    assert_eq!(
        changes_since(&p, 0, lm, mm),
        (0, 0),
        "no state change, no MAC flap"
    );
    assert_eq!(snap(&p, 0), before);
    assert_eq!(
        p.sw[0].counters().rx_stranger,
        20,
        "every stranger PDU counted"
    );
    let sec = p.sw[0].status().security;
    assert_eq!(sec.pinned, Some(MAC_B));
    assert_eq!(sec.last_refused.map(|r| r.mac), Some(MAC_S));
    assert!(p.saw(
        0,
        |k| matches!(k, DtEventKind::PeerPinned { mac } if *mac == MAC_B)
    ));
    assert!(p.saw(0, |k| matches!(k, DtEventKind::Refused { .. })));
}

#[test]
fn attack_2_two_crafted_pdus_do_not_make_a_pair_with_the_stranger() {
    let mut p = formed_with_macs();
    let before = snap(&p, 0);
    for n in 0..2 {
        let f = crafted(&p, MAC_S, 7, 0, 500 + n);
        p.inject(0, DtPath::PeerLink, &f).unwrap();
    }
    p.run_for(Duration::from_secs(2));
    assert_eq!(snap(&p, 0), before);
    assert_eq!(p.sw[0].role(), Role::Primary);
    assert!(
        !p.sw[0].installed_macs().iter().any(|k| k.2.0[1] == 0xee),
        "no address of the stranger's installed"
    );
    // Even before any pair formed (nothing pinned yet), the crafted PDUs carry the echo of a
    // frame A sent, but a keepalive of a stranger is not taken for the peer's.
    let mut q = pair();
    q.capture = true;
    q.kill(1);
    q.run_for(Duration::from_secs(5));
    assert_eq!(q.sw[0].state(), PeerState::Alone);
    let f = crafted(&q, MAC_S, 7, DomainInfo::KEEPALIVE, 9);
    q.inject(0, DtPath::Keepalive, &f).unwrap();
    q.run_for(Duration::from_secs(5));
    assert!(decision(&q, 0).ports_enabled);
}

#[test]
fn attack_2_with_a_configured_peer_mac_a_stranger_is_refused_from_the_start() {
    let mut a = cfg(MAC_A, 10);
    a.peer_mac = Some(MAC_B);
    let mut p = Pair::new(a, cfg(MAC_S, 1));
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p.run_for(Duration::from_secs(5));
    assert_ne!(p.sw[0].state(), PeerState::Up, "A never pairs with S");
    assert_eq!(p.sw[0].role(), Role::Primary);
    assert!(p.sw[0].counters().rx_stranger > 0);
    assert!(decision(&p, 0).ports_enabled, "A acts alone");
}

#[test]
fn attack_3_a_foreign_keepalive_does_not_take_the_lone_survivor_down() {
    for claimed in [MAC_S, MAC_B] {
        let mut p = formed();
        p.capture = true;
        p.kill(1);
        p.run_for(Duration::from_secs(5));
        assert_eq!(p.sw[0].state(), PeerState::Alone);
        let (lm, mm) = (p.log.len(), p.mac_log.len());
        // Another domain, a winning priority: the survivor would be its secondary.
        let f = crafted(&p, claimed, 99, DomainInfo::KEEPALIVE, 1 << 40);
        p.inject(0, DtPath::Keepalive, &f).unwrap();
        p.run_for(Duration::from_secs(5));
        assert_eq!(changes_since(&p, 0, lm, mm), (0, 0), "claimed {claimed}");
        let d = decision(&p, 0);
        assert!(d.ports_enabled && d.reason.is_none(), "{d}");
        assert_eq!(p.sw[0].status().foreign_domain, None);
    }
}

#[test]
fn attack_4_a_replayed_keepalive_after_the_primary_died_is_not_split_brain() {
    let mut p = formed();
    p.capture = true;
    p.run_for(Duration::from_secs(2));
    let recorded: Vec<Vec<u8>> = p
        .captured
        .iter()
        .filter(|c| c.1 == 0 && c.2 == DtPath::Keepalive)
        .map(|c| c.3.clone())
        .collect();
    assert!(recorded.len() >= 2);
    let mark = p.log.len();
    p.kill(0);
    // While B waits to tell a dead primary from a split brain, the attacker replays A's
    // keepalives, the last one and an older one, again and again.
    for round in 0..30 {
        let f = &recorded[recorded.len() - 1 - round % 2];
        p.inject(1, DtPath::Keepalive, f).unwrap();
        p.run_for(Duration::from_millis(100));
    }
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.sw[1].state(), PeerState::Alone);
    assert!(
        !p.saw(1, |k| matches!(
            k,
            DtEventKind::StateChanged {
                to: PeerState::SplitBrain,
                ..
            }
        )),
        "never split brain"
    );
    for d in decisions_since(&p, 1, mark) {
        assert!(d.ports_enabled, "the survivor never stopped: {d}");
    }
    assert_eq!(p.sw[1].counters().rx_stale, 30, "every replay counted");
}

#[test]
fn a_genuine_split_brain_is_still_detected() {
    // The same evidence when the primary is alive: its fresh keepalives after the peer link
    // failed make the secondary give way.
    let mut p = formed();
    p.cut_peer_link();
    p.run_until_cond(Duration::from_secs(5), |p| {
        p.sw[1].state() == PeerState::SplitBrain
    })
    .expect("split brain");
    assert!(!decision(&p, 1).ports_enabled);
}

/// Floods both switches with 10 000 crafted PDUs in one second of virtual time, on both paths,
/// with the `identities` given (signed with `key` if any).
fn flood(p: &mut Pair, identities: &[MacAddr], key: Option<&DtKey>) {
    let t0 = p.now;
    let mut n = 0u64;
    for step in 0..1000u64 {
        for _ in 0..10 {
            let len = identities.len() as u64;
            let id = identities[(n % len) as usize];
            let (target, path, flags) = match (n / len) % 3 {
                0 => (0, DtPath::PeerLink, 0),
                1 => (1, DtPath::PeerLink, 0),
                _ => (0, DtPath::Keepalive, DomainInfo::KEEPALIVE),
            };
            let mut f = crafted(p, id, 7, flags, 1_000 + n);
            if let Some(k) = key {
                f = resign(&f, k);
            }
            let _ = p.inject(target, path, &f);
            n += 1;
        }
        p.run_until(t0 + Duration::from_millis(step + 1));
    }
    assert_eq!(n, 10_000);
}

#[test]
fn attack_5_a_flood_of_ten_thousand_stranger_pdus_a_second() {
    let mut p = formed_with_macs();
    let before = [snap(&p, 0), snap(&p, 1)];
    let (lm, mm) = (p.log.len(), p.mac_log.len());
    let sent_before = p.sent.iter().filter(|s| s.1 == 0).count();
    let counted = |p: &Pair| -> u64 {
        (0..2)
            .map(|i| {
                let c = p.sw[i].counters();
                c.rx_refused() + c.rx_unconfirmed
            })
            .sum()
    };
    let counted_before = counted(&p);
    // Strangers: identities of their own (without a key, a frame claiming the peer's own
    // identity is a forgery, which only a key stops: see the keyed flood below).
    flood(
        &mut p,
        &[
            MAC_S,
            MacAddr([2, 0, 0, 0, 0x5, 2]),
            MacAddr([2, 0, 0, 0, 0x5, 3]),
        ],
        None,
    );
    p.run_for(Duration::from_secs(2));
    assert_eq!(snap(&p, 0), before[0]);
    assert_eq!(snap(&p, 1), before[1]);
    assert_eq!(changes_since(&p, 0, lm, mm), (0, 0));
    assert_eq!(changes_since(&p, 1, lm, mm), (0, 0));
    // Every one counted, as a stranger.
    assert_eq!(counted(&p) - counted_before, 10_000);
    assert_eq!(
        p.sw[0].counters().rx_stranger + p.sw[1].counters().rx_stranger,
        10_000
    );
    // No amplification: A sent about what its timers call for (3 s: ~6 PDUs and keepalives a
    // second at most here), plus a bounded number of answers.
    let sent = p.sent.iter().filter(|s| s.1 == 0).count() - sent_before;
    assert!(sent < 100, "A sent {sent} frames during the flood");
    // Events are rate limited.
    let events = p.log[lm..].iter().filter(|(s, _)| *s == 0).count();
    assert!(events < 40, "{events} events");
}

#[test]
fn with_a_key_a_flood_impersonating_both_switches_changes_nothing() {
    let mut p = keyed_pair();
    let now = p.now;
    for n in 0..200 {
        p.sw[1].handle_local_mac(now, 1, 0, host(n), true);
    }
    p.drain();
    p.run_for(Duration::from_secs(2));
    let before = [snap(&p, 0), snap(&p, 1)];
    let (lm, mm) = (p.log.len(), p.mac_log.len());
    let wrong = DtKey::new(b"the attacker's guess of the key").unwrap();
    flood(&mut p, &[MAC_A, MAC_B, MAC_S], Some(&wrong));
    p.run_for(Duration::from_secs(2));
    assert_eq!([snap(&p, 0), snap(&p, 1)], before);
    assert_eq!(changes_since(&p, 0, lm, mm), (0, 0));
    assert_eq!(changes_since(&p, 1, lm, mm), (0, 0));
    let c = [p.sw[0].counters(), p.sw[1].counters()];
    assert_eq!(
        c.iter()
            .map(|c| c.rx_auth_failed + c.rx_looped)
            .sum::<u64>(),
        10_000,
        "every one failed authentication (or carried the receiver's own MAC)"
    );
}

fn keyed(mac: MacAddr, prio: u16, key: &DtKey) -> DtConfig {
    DtConfig {
        key: Some(key.clone()),
        ..cfg(mac, prio)
    }
}

fn key() -> DtKey {
    DtKey::new(b"a shared secret of the DT pair").unwrap()
}

/// A formed pair with a key, recorded.
fn keyed_pair() -> Pair {
    let k = key();
    let mut p = Pair::new(keyed(MAC_A, 10, &k), keyed(MAC_B, 20, &k));
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p.run_until_cond(Duration::from_secs(1), both_up)
        .expect("a keyed pair forms");
    set_live(&mut p, 0, &[1, 2]);
    set_live(&mut p, 1, &[1, 2]);
    p.capture = true;
    p.run_for(Duration::from_secs(2));
    p
}

/// Re-signs `frame` with `key` (or strips nothing: an attacker without the key signs with
/// its own).
fn resign(frame: &[u8], key: &DtKey) -> Vec<u8> {
    let mut f = DtFrame::parse(frame).unwrap();
    f.pdu.auth = Some(AuthInfo {
        algorithm: AuthInfo::HMAC_SHA256,
        key_id: key.id(),
        icv: [0; ICV_LEN],
    });
    let mut v = f.to_vec().unwrap();
    lagd_dt::sign(&mut v, key);
    v
}

#[test]
fn attack_6_with_a_key_forged_stale_and_replayed_frames_change_nothing() {
    let mut p = keyed_pair();
    assert_eq!(p.sw[0].status().security.key_id, Some(key().id()));
    let before = [snap(&p, 0), snap(&p, 1)];
    let (lm, mm) = (p.log.len(), p.mac_log.len());
    let genuine: Vec<(usize, DtPath, Vec<u8>)> = p
        .captured
        .iter()
        .filter(|c| c.1 == 1)
        .map(|c| (c.1, c.2, c.3.clone()))
        .collect();
    let (_, path, last) = genuine.last().cloned().unwrap();
    // Replayed: the latest genuine frame of B, and older ones.
    for (_, path, f) in genuine.iter().rev().take(6) {
        p.inject(0, *path, f).unwrap();
    }
    assert_eq!(p.sw[0].counters().rx_stale, 6);
    // Forged: B's frame with a higher number, unsigned, signed with another key, with a
    // flipped bit, and the stranger's crafted PDU signed with the wrong key.
    let mut f = DtFrame::parse(&last).unwrap();
    if let Some(q) = f.pdu.sequence.as_mut() {
        q.seq += 1000;
    }
    let bumped = f.to_vec().unwrap(); // keeps the old ICV
    let mut unsigned = f.clone();
    unsigned.pdu.auth = None;
    let unsigned = unsigned.to_vec().unwrap();
    let wrong_key = DtKey::new(b"not the shared secret at all").unwrap();
    let other_key = resign(&bumped, &wrong_key);
    let mut flipped = last.clone();
    flipped[36] ^= 0x40; // the DRCP State octet
    let stranger = resign(&crafted(&p, MAC_S, 7, 0, 99), &wrong_key);
    for f in [&bumped, &unsigned, &other_key, &flipped] {
        p.inject(0, path, f).unwrap();
    }
    p.inject(0, DtPath::PeerLink, &stranger).unwrap();
    assert_eq!(p.sw[0].counters().rx_auth_failed, 5);
    p.run_for(Duration::from_secs(3));
    assert_eq!([snap(&p, 0), snap(&p, 1)], before);
    assert_eq!(changes_since(&p, 0, lm, mm), (0, 0));
    // And once B is dead, a forged keepalive (B's, with a higher number, the key unknown)
    // cannot make A... A is primary: try it on B with A dead instead.
    let recorded: Vec<Vec<u8>> = p
        .captured
        .iter()
        .filter(|c| c.1 == 0 && c.2 == DtPath::Keepalive)
        .map(|c| c.3.clone())
        .collect();
    p.kill(0);
    for n in 0..20u64 {
        let mut f = DtFrame::parse(recorded.last().unwrap()).unwrap();
        if let Some(q) = f.pdu.sequence.as_mut() {
            q.seq += 100 + n;
        }
        let forged = resign(&f.to_vec().unwrap(), &wrong_key);
        p.inject(1, DtPath::Keepalive, &forged).unwrap();
        p.inject(1, DtPath::Keepalive, &f.to_vec().unwrap())
            .unwrap();
        p.run_for(Duration::from_millis(100));
    }
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.sw[1].state(), PeerState::Alone);
    assert!(decision(&p, 1).ports_enabled);
    assert!(!p.saw(1, |k| matches!(
        k,
        DtEventKind::StateChanged {
            to: PeerState::SplitBrain,
            ..
        }
    )));
}

#[test]
fn a_keyed_pair_survives_a_restart_and_a_key_mismatch_is_named() {
    let mut p = keyed_pair();
    p.kill(0);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[1].state(), PeerState::Alone);
    p.revive(0);
    p.run_until_cond(Duration::from_secs(1), both_up)
        .expect("re-formed after A's restart (new epoch)");
    // A switch with another key: nothing pairs, the refusal names both key ids.
    let mut q = Pair::new(
        keyed(MAC_A, 10, &key()),
        keyed(
            MAC_B,
            20,
            &DtKey::new(b"another secret, also long").unwrap(),
        ),
    );
    q.add_aggregation(0, aggr(1));
    q.add_aggregation(1, aggr(1));
    q.run_for(Duration::from_secs(5));
    assert_ne!(q.sw[0].state(), PeerState::Up);
    let r = q.sw[0].status().security.last_refused.expect("refused");
    assert!(
        r.reason
            .to_string()
            .contains(&format!("{:08x}", key().id())),
        "{}",
        r.reason
    );
    // One side keyed, the other not: refused both ways.
    let mut q = Pair::new(keyed(MAC_A, 10, &key()), cfg(MAC_B, 20));
    q.add_aggregation(0, aggr(1));
    q.add_aggregation(1, aggr(1));
    q.run_for(Duration::from_secs(5));
    assert!(q.sw[0].counters().rx_auth_failed > 0 && q.sw[1].counters().rx_auth_failed > 0);
}

#[test]
fn frames_to_another_address_from_another_source_or_for_the_other_path_are_refused() {
    let mut p = formed();
    p.capture = true;
    p.run_for(Duration::from_secs(1));
    let (lm, mm) = (p.log.len(), p.mac_log.len());
    let pl = p
        .captured
        .iter()
        .rev()
        .find(|c| c.1 == 1 && c.2 == DtPath::PeerLink)
        .unwrap()
        .3
        .clone();
    let mut bcast = pl.clone();
    bcast[..6].copy_from_slice(&[0xff; 6]);
    let mut src = pl.clone();
    src[6..12].copy_from_slice(&MAC_S.0);
    p.inject(0, DtPath::PeerLink, &bcast).unwrap();
    p.inject(0, DtPath::PeerLink, &src).unwrap();
    p.inject(0, DtPath::Keepalive, &pl).unwrap();
    assert_eq!(p.sw[0].counters().rx_bad_address, 3);
    p.run_for(Duration::from_secs(2));
    assert_eq!(changes_since(&p, 0, lm, mm), (0, 0));
}

#[test]
fn mac_sync_is_capped_and_reports_the_overflow() {
    let mut a = cfg(MAC_A, 10);
    a.mac_limit = 5_000;
    let mut p = Pair::new(a, cfg(MAC_B, 20));
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p.run_until_cond(Duration::from_secs(1), both_up).unwrap();
    set_live(&mut p, 0, &[1, 2]);
    set_live(&mut p, 1, &[1, 2]);
    let now = p.now;
    for n in 0..25_000 {
        p.sw[1].handle_local_mac(now, 1, 0, host(n), true);
    }
    p.drain();
    p.run_until_cond(Duration::from_secs(60), |p| p.sw[1].status().macs_synced)
        .expect("B's table sent");
    let st = p.sw[0].status();
    assert_eq!(st.macs_installed, 5_000, "A installs up to its limit");
    assert_eq!(st.mac_sync.limit, 5_000);
    assert!(st.mac_sync.full);
    assert_eq!(st.mac_sync.overflow, 20_000);
    let installs = p
        .mac_log
        .iter()
        .filter(|(s, m)| *s == 0 && m.install)
        .count();
    assert_eq!(installs, 5_000, "each entry installed once");
    // B sent its table in batches, not one PDU per address.
    let b_pdus = p.sent.iter().filter(|s| s.1 == 1).count();
    assert!(b_pdus < 25_000 / 64 * 3, "{b_pdus} PDUs");
    // Withdrawn by B: removed at A, and A fills up again from a new session.
    let now = p.now;
    for n in 0..2_500 {
        p.sw[1].handle_local_mac(now, 1, 0, host(n), false);
    }
    p.drain();
    p.run_until_cond(Duration::from_secs(60), |p| {
        p.sw[1].status().macs_synced && p.sw[0].status().macs_installed == 5_000
    })
    .expect("A refilled");
    assert!(
        p.sw[0].installed_macs().iter().all(|k| k.2 >= host(2_500)),
        "withdrawn addresses gone"
    );
    // B dies: everything A installed for it goes.
    p.kill(1);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.sw[0].status().macs_installed, 0);
    assert_eq!(p.sw[0].status().mac_sync.stale, 0);
}

#[test]
fn orphan_port_addresses_point_at_the_peer_link_while_paired() {
    let mut p = formed();
    let now = p.now;
    p.sw[1].handle_local_mac(now, ORPHAN, 0, host(7), true);
    p.drain();
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.sw[0].macs_via_peer_link(), vec![(ORPHAN, 0, host(7))]);
    assert!(p.sw[0].installed_macs().is_empty());
    // The local half of aggregation 1 stops forwarding: orphans stay on the peer link.
    set_live(&mut p, 0, &[]);
    p.run_for(Duration::from_millis(100));
    assert!(p.sw[0].macs_via_peer_link().contains(&(ORPHAN, 0, host(7))));
    p.kill(1);
    p.run_for(Duration::from_secs(5));
    assert!(
        p.sw[0].macs_via_peer_link().is_empty(),
        "gone with the peer"
    );
}

/// Refusal events are rate-limited per reason and per path: refusals of two reasons on two
/// paths at one instant each get their event (and every frame its count).
#[test]
fn refusal_events_are_limited_per_reason_and_path() {
    let mut p = formed_with_macs();
    let mark = p.log.len();
    let stranger_pl = crafted(&p, MAC_S, 7, 0, 100);
    let stranger_ka = crafted(&p, MAC_S, 7, DomainInfo::KEEPALIVE, 101);
    let misaddressed = |f: &[u8]| {
        let mut f = f.to_vec();
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        f
    };
    for _ in 0..3 {
        let _ = p.inject(0, DtPath::PeerLink, &stranger_pl);
        let _ = p.inject(0, DtPath::Keepalive, &stranger_ka);
        let _ = p.inject(0, DtPath::PeerLink, &misaddressed(&stranger_pl));
        let _ = p.inject(0, DtPath::Keepalive, &misaddressed(&stranger_ka));
    }
    let refused: Vec<(DtPath, bool)> = p.log[mark..]
        .iter()
        .filter(|(s, _)| *s == 0)
        .filter_map(|(_, e)| match &e.kind {
            DtEventKind::Refused { path, reason, .. } => {
                Some((*path, matches!(reason, RefuseReason::Stranger { .. })))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (DtPath::PeerLink, true),
            (DtPath::Keepalive, true),
            (DtPath::PeerLink, false),
            (DtPath::Keepalive, false)
        ]
    );
    let c = p.sw[0].counters();
    assert_eq!((c.rx_stranger, c.rx_bad_address), (6, 6));
}
