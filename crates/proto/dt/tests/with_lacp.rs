//! Real LACP systems behind the DT pair: a server with 4 ports, 2 to each switch, must see ONE
//! partner system and aggregate all 4 ports in one Aggregator; when a switch dies the 2
//! surviving ports stay Collecting and Distributing throughout.

mod common;

use common::*;
use lagd_dt::LocalMembers;
use lagd_dt::testing::Pair;
use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{PortConfig, SystemConfig};
use lagd_types::{Duration, MacAddr, SystemId};

const SERVER_SYS: usize = 0;
/// LACP system index of DT switch `i`.
const fn sw_sys(i: usize) -> usize {
    1 + i
}

struct Fabric {
    lacp: Harness,
    dt: Pair,
    /// Link indices of each switch's two cables.
    links: [[usize; 2]; 2],
    /// Switch killed (its cables stay cut).
    dead: [bool; 2],
}

fn server_port(n: u16) -> PortConfig {
    PortConfig::new(n, MacAddr([2, 0x5e, 0, 0, 1, n as u8]))
}

impl Fabric {
    fn new() -> Fabric {
        let mut lacp = Harness::new();
        let s = lacp.add_system(SystemConfig {
            system: SERVER,
            key: 9,
            ..SystemConfig::default()
        });
        assert_eq!(s, SERVER_SYS);
        let mut dt = pair();
        // Run the DT pair until the roles are known, so the switches' LACP systems start with
        // the port numbers the decisions give.
        dt.run_until_cond(Duration::from_secs(1), both_up).unwrap();
        let mut links = [[0; 2]; 2];
        for (i, sw_links) in links.iter_mut().enumerate() {
            let d = dt.sw[i].decision(1).unwrap();
            let sys = lacp.add_system(SystemConfig {
                system: d.lacp_system,
                key: 1,
                ..SystemConfig::default()
            });
            assert_eq!(sys, sw_sys(i));
            for local in 1..=2u16 {
                let n = local + d.port_number_base;
                lacp.add_port(
                    sys,
                    PortConfig::new(n, MacAddr([2, 0xa + i as u8, 0, 0, 2, local as u8])),
                );
                let sp = (2 * i as u16) + local;
                lacp.add_port(SERVER_SYS, server_port(sp));
                sw_links[usize::from(local - 1)] = lacp.connect(end(SERVER_SYS, sp), end(sys, n));
            }
        }
        lacp.now = dt.now;
        Fabric {
            lacp,
            dt,
            links,
            dead: [false; 2],
        }
    }

    /// Applies the DT decisions to the switches' LACP and reports their members to DT.
    fn sync(&mut self) {
        for i in 0..2 {
            if self.dead[i] {
                continue;
            }
            let sys = sw_sys(i);
            let d = self.dt.sw[i].decision(1).unwrap();
            let now = self.lacp.now;
            if self.lacp.lacp(sys).config().system != d.lacp_system {
                let cfg = SystemConfig {
                    system: d.lacp_system,
                    ..self.lacp.lacp(sys).config().clone()
                };
                self.lacp.lacp_mut(sys).set_config(now, cfg).unwrap();
                self.lacp.drain();
            }
            for l in self.links[i] {
                let carrier = self.lacp.links[l].carrier;
                if carrier && !d.ports_enabled {
                    self.lacp.cut(l);
                } else if !carrier && d.ports_enabled {
                    self.lacp.restore(l);
                }
            }
            let live: Vec<u16> = self
                .lacp
                .lacp(sys)
                .distributing_ports()
                .into_iter()
                .map(|p| p.wrapping_sub(d.port_number_base))
                .collect();
            let partner = self
                .lacp
                .lacp(sys)
                .ports()
                .first()
                .filter(|_| !live.is_empty())
                .map_or(SystemId::NULL, |p| p.partner.system);
            let now = self.dt.now;
            self.dt.sw[i].handle_members(
                now,
                1,
                LocalMembers {
                    live,
                    partner,
                    partner_key: 9,
                },
            );
            self.dt.drain();
        }
    }

    /// Runs both in 10 ms steps, calling `check` after each.
    fn run(&mut self, d: Duration, mut check: impl FnMut(&Fabric)) {
        let until = self.dt.now + d;
        while self.dt.now < until {
            let t = self.dt.now + Duration::from_millis(10);
            self.lacp.run_until(t);
            self.dt.run_until(t);
            self.sync();
            check(self);
        }
    }

    fn server_distributing(&self) -> Vec<u16> {
        self.lacp.lacp(SERVER_SYS).distributing_ports()
    }

    fn kill(&mut self, i: usize) {
        self.dead[i] = true;
        self.dt.kill(i);
        for l in self.links[i] {
            self.lacp.cut(l);
        }
    }
}

#[test]
fn server_sees_one_partner_and_one_aggregator() {
    let mut f = Fabric::new();
    f.run(Duration::from_secs(5), |_| {});
    assert_eq!(f.server_distributing(), vec![1, 2, 3, 4]);
    let ports = f.lacp.lacp(SERVER_SYS).ports();
    let partners: std::collections::BTreeSet<_> = ports.iter().map(|p| p.partner.system).collect();
    assert_eq!(partners.len(), 1, "{partners:?}");
    assert_eq!(partners.into_iter().next(), Some(SHARED));
    let aggs: std::collections::BTreeSet<_> = ports.iter().map(|p| p.aggregator).collect();
    assert_eq!(aggs.len(), 1, "{aggs:?}");
    // Partner port numbers never collide.
    let numbers: std::collections::BTreeSet<_> =
        ports.iter().map(|p| p.partner.port.number).collect();
    assert_eq!(numbers.len(), 4);
    // Both switches isolate the peer link from the aggregation.
    assert!(f.dt.sw[0].decision(1).unwrap().isolate_peer_link);
    assert!(f.dt.sw[1].decision(1).unwrap().isolate_peer_link);
}

#[test]
fn switch_death_keeps_the_surviving_ports_distributing() {
    for dead in [0usize, 1] {
        let mut f = Fabric::new();
        f.run(Duration::from_secs(5), |_| {});
        assert_eq!(f.server_distributing(), vec![1, 2, 3, 4]);
        f.kill(dead);
        let survivors: Vec<u16> = if dead == 0 { vec![3, 4] } else { vec![1, 2] };
        let mut lost = 0;
        f.run(Duration::from_secs(20), |f| {
            if f.server_distributing() != survivors {
                lost += 1;
            }
        });
        assert_eq!(
            lost, 0,
            "the surviving ports stopped distributing (dead {dead})"
        );
        assert_eq!(f.dt.sw[1 - dead].state(), lagd_dt::PeerState::Alone);
        // The dead switch returns: all four again, the survivors never stop.
        f.dead[dead] = false;
        f.dt.revive(dead);
        let mut lost = 0;
        f.run(Duration::from_secs(10), |f| {
            let d = f.server_distributing();
            if !survivors.iter().all(|p| d.contains(p)) {
                lost += 1;
            }
        });
        assert_eq!(lost, 0, "re-formation caused a second outage (dead {dead})");
        assert_eq!(f.server_distributing(), vec![1, 2, 3, 4]);
    }
}

#[test]
fn split_brain_server_uses_only_the_primary_links_then_all_again() {
    let mut f = Fabric::new();
    f.run(Duration::from_secs(5), |_| {});
    f.dt.cut_peer_link();
    let mut primary_lost = 0;
    f.run(Duration::from_secs(10), |f| {
        let d = f.server_distributing();
        if !(d.contains(&1) && d.contains(&2)) {
            primary_lost += 1;
        }
    });
    assert_eq!(primary_lost, 0);
    assert_eq!(
        f.server_distributing(),
        vec![1, 2],
        "only the primary's links"
    );
    f.dt.restore_peer_link();
    f.run(Duration::from_secs(10), |_| {});
    assert_eq!(f.server_distributing(), vec![1, 2, 3, 4]);
    let ports = f.lacp.lacp(SERVER_SYS).ports();
    assert!(ports.iter().all(|p| p.partner.system == SHARED));
}

#[test]
fn mismatched_secondary_ports_stay_down() {
    let mut f = Fabric::new();
    let now = f.dt.now;
    let mut bad = aggr(1);
    bad.key = 42;
    f.dt.sw[1].set_aggregation(now, bad).unwrap();
    f.run(Duration::from_secs(5), |_| {});
    assert_eq!(f.server_distributing(), vec![1, 2]);
    assert!(!f.dt.sw[0].diffs(1).is_empty() && !f.dt.sw[1].diffs(1).is_empty());
}
