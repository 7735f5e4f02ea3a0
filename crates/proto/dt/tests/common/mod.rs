//! Shared set-up of the DT tests.
#![allow(dead_code)]

use lagd_dt::testing::Pair;
use lagd_dt::{Decision, DtAggrConfig, DtConfig, DtEventKind, LocalMembers, PeerState};
use lagd_types::{Duration, MacAddr, SystemId};

/// Switch A's own MAC (primary: lower role priority).
pub const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0xa, 1]);
/// Switch B's own MAC.
pub const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0xb, 1]);
/// The shared LACP system id of the DT aggregations.
pub const SHARED: SystemId = SystemId::new(0x100, MacAddr([2, 0xd7, 0, 0, 0, 1]));
/// The server's system id.
pub const SERVER: SystemId = SystemId::new(0x8000, MacAddr([2, 0x5e, 0, 0, 0, 1]));

pub fn cfg(mac: MacAddr, prio: u16) -> DtConfig {
    DtConfig {
        domain_id: 7,
        system_mac: mac,
        role_priority: prio,
        incarnation: u32::from(prio) << 16,
        ..DtConfig::default()
    }
}

pub fn aggr(id: u16) -> DtAggrConfig {
    DtAggrConfig::new(id, &format!("trk{id}"), SHARED)
}

/// A pair with DT aggregation 1 on both switches, A primary (priority 10), B secondary (20).
pub fn pair() -> Pair {
    let mut p = Pair::new(cfg(MAC_A, 10), cfg(MAC_B, 20));
    p.add_aggregation(0, aggr(1));
    p.add_aggregation(1, aggr(1));
    p
}

pub fn both_up(p: &Pair) -> bool {
    p.sw[0].state() == PeerState::Up && p.sw[1].state() == PeerState::Up
}

/// Forms the pair and gives each switch two live members of aggregation 1.
pub fn formed() -> Pair {
    let mut p = pair();
    let t = p.run_until_cond(Duration::from_secs(1), both_up);
    assert!(t.is_some(), "pair did not form: {:?}", p.log);
    set_live(&mut p, 0, &[1, 2]);
    set_live(&mut p, 1, &[1, 2]);
    p.run_for(Duration::from_millis(100));
    p
}

pub fn set_live(p: &mut Pair, i: usize, ports: &[u16]) {
    let now = p.now;
    p.sw[i].handle_members(
        now,
        1,
        LocalMembers {
            live: ports.to_vec(),
            partner: if ports.is_empty() {
                SystemId::NULL
            } else {
                SERVER
            },
            partner_key: 9,
        },
    );
    p.drain();
}

pub fn decision(p: &Pair, i: usize) -> Decision {
    p.sw[i].decision(1).expect("aggregation 1")
}

/// Every decision switch `i` took after `from` (index into the log).
pub fn decisions_since(p: &Pair, i: usize, from: usize) -> Vec<Decision> {
    p.log[from..]
        .iter()
        .filter(|(s, _)| *s == i)
        .filter_map(|(_, e)| match &e.kind {
            DtEventKind::DecisionChanged { decision, .. } => Some(*decision),
            _ => None,
        })
        .collect()
}
