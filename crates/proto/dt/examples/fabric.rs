//! A fabric of 1 000 servers dual-homed to DT pairs, in virtual time: each server runs LACP
//! over 4 links, 2 to each switch of its pair; each switch half of a DT aggregation is its own
//! LACP system (as in lagd); each pair runs the DT core. At t = 10 s one switch fails; the run
//! reports, per server, how long it kept sending on links to the dead switch (the loss window
//! for the flows hashed there) and how long it had no link at all, plus the simulator's speed.
//!
//! ```text
//! cargo run --release -p lagd-dt --example fabric -- [SERVERS] [SERVERS_PER_PAIR] [--silent]
//! ```
//! `--silent`: the switch dies without carrier loss (hung: links up, nothing sent), so servers
//! detect it by LACP timeout (3 s short) instead of at once.

use lagd_dt::testing::Pair;
use lagd_dt::{DtAggrConfig, DtConfig, LocalMembers};
use lagd_lacp::testing::{Harness, end};
use lagd_lacp::{PortConfig, SystemConfig};
use lagd_types::{Duration, Instant, MacAddr, SystemId};

const STEP: Duration = Duration::from_millis(10);

struct Server {
    lacp: Harness,
    /// Link indices per switch.
    links: [[usize; 2]; 2],
    /// Window with a distributing port to the dead switch, and with no distributing port.
    stale: Duration,
    outage: Duration,
}

fn mac(kind: u8, a: u32, b: u8) -> MacAddr {
    let x = a.to_be_bytes();
    MacAddr([2, kind, x[1], x[2], x[3], b])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let silent = args.iter().any(|a| a == "--silent");
    let nums: Vec<u32> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let servers = nums.first().copied().unwrap_or(1000);
    let per_pair = nums.get(1).copied().unwrap_or(40).max(1);
    let pairs = servers.div_ceil(per_pair);
    let wall = std::time::Instant::now();

    // The DT pairs.
    let mut dts: Vec<Pair> = (0..pairs)
        .map(|p| {
            let cfg = |i: u8, prio| DtConfig {
                domain_id: p + 1,
                system_mac: mac(0xa0 + i, p, 1),
                role_priority: prio,
                incarnation: p * 2 + u32::from(i),
                ..DtConfig::default()
            };
            Pair::new(cfg(0, 10), cfg(1, 20))
        })
        .collect();
    let shared = |s: u32| SystemId::new(0x100, mac(0xd7, s, 1));
    for s in 0..servers {
        let (p, id) = ((s / per_pair) as usize, (s % per_pair + 1) as u16);
        for i in 0..2 {
            dts[p].add_aggregation(i, DtAggrConfig::new(id, "trk", shared(s)));
        }
    }
    for d in &mut dts {
        d.run_for(Duration::from_millis(100));
    }
    // The servers and their switch halves.
    let mut srv: Vec<Server> = (0..servers)
        .map(|s| {
            let p = (s / per_pair) as usize;
            let id = (s % per_pair + 1) as u16;
            let mut h = Harness::new();
            h.add_system(SystemConfig {
                system: SystemId::new(0x8000, mac(0x5e, s, 0)),
                key: 9,
                ..SystemConfig::default()
            });
            let mut links = [[0; 2]; 2];
            for (i, sw_links) in links.iter_mut().enumerate() {
                let d = dts[p].sw[i].decision(id).expect("aggregation");
                let sys = h.add_system(SystemConfig {
                    system: d.lacp_system,
                    ..SystemConfig::default()
                });
                for local in 1..=2u16 {
                    let n = local + d.port_number_base;
                    h.add_port(sys, PortConfig::new(n, mac(0xb0 + i as u8, s, local as u8)));
                    let sp = 2 * i as u16 + local;
                    h.add_port(0, PortConfig::new(sp, mac(0x5e, s, sp as u8)));
                    sw_links[usize::from(local - 1)] = h.connect(end(0, sp), end(sys, n));
                }
            }
            h.now = dts[p].now;
            Server {
                lacp: h,
                links,
                stale: Duration::ZERO,
                outage: Duration::ZERO,
            }
        })
        .collect();

    let fail_at = Instant::from_secs(10);
    let end_at = Instant::from_secs(25);
    let (dead_pair, dead_sw) = (0usize, 0usize);
    let mut now = dts[0].now;
    let mut failed = false;
    let mut steps = 0u64;
    while now < end_at {
        now += STEP;
        steps += 1;
        if !failed && now >= fail_at {
            failed = true;
            if silent {
                dts[dead_pair].alive[dead_sw] = false;
            } else {
                dts[dead_pair].kill(dead_sw);
            }
            for (s, sv) in srv.iter_mut().enumerate() {
                if s / per_pair as usize == dead_pair {
                    for l in sv.links[dead_sw] {
                        if silent {
                            // Hung: carrier stays, nothing comes from the switch.
                            let a_is_server = sv.lacp.links[l].a.system == 0;
                            sv.lacp.silence(l, !a_is_server, a_is_server);
                        } else {
                            sv.lacp.cut(l);
                        }
                    }
                }
            }
        }
        for d in &mut dts {
            d.run_until(now);
        }
        for (s, sv) in srv.iter_mut().enumerate() {
            let p = s / per_pair as usize;
            let id = (s as u32 % per_pair + 1) as u16;
            sv.lacp.run_until(now);
            // Apply the decisions and report the members.
            for i in 0..2 {
                if !dts[p].alive[i] {
                    continue;
                }
                let sys = 1 + i;
                let Some(d) = dts[p].sw[i].decision(id) else {
                    continue;
                };
                if sv.lacp.lacp(sys).config().system != d.lacp_system {
                    let cfg = SystemConfig {
                        system: d.lacp_system,
                        ..sv.lacp.lacp(sys).config().clone()
                    };
                    let t = sv.lacp.now;
                    let _ = sv.lacp.lacp_mut(sys).set_config(t, cfg);
                }
                for l in sv.links[i] {
                    let c = sv.lacp.links[l].carrier;
                    if c && !d.ports_enabled {
                        sv.lacp.cut(l);
                    } else if !c && d.ports_enabled {
                        sv.lacp.restore(l);
                    }
                }
                let live: Vec<u16> = sv
                    .lacp
                    .lacp(sys)
                    .distributing_ports()
                    .into_iter()
                    .map(|n| n.wrapping_sub(d.port_number_base))
                    .collect();
                let t = dts[p].now;
                dts[p].sw[i].handle_members(
                    t,
                    id,
                    LocalMembers {
                        live,
                        partner: SystemId::new(0x8000, mac(0x5e, s as u32, 0)),
                        partner_key: 9,
                    },
                );
            }
            if failed {
                let dist = sv.lacp.lacp(0).distributing_ports();
                let on_dead = if p == dead_pair {
                    let dead_ports = [2 * dead_sw as u16 + 1, 2 * dead_sw as u16 + 2];
                    dist.iter().any(|x| dead_ports.contains(x))
                } else {
                    false
                };
                if on_dead {
                    sv.stale = sv.stale + STEP;
                }
                if dist.is_empty() {
                    sv.outage = sv.outage + STEP;
                }
            }
        }
        for d in &mut dts {
            d.drain();
        }
    }
    let elapsed = wall.elapsed();
    let affected: Vec<&Server> = srv
        .iter()
        .enumerate()
        .filter(|(s, _)| s / per_pair as usize == dead_pair)
        .map(|(_, v)| v)
        .collect();
    let mut stale: Vec<u64> = affected.iter().map(|v| v.stale.as_millis()).collect();
    stale.sort_unstable();
    let pct = |v: &[u64], q: f64| {
        v.get(((v.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    let outages = srv.iter().filter(|v| v.outage > Duration::ZERO).count();
    let all_four = srv
        .iter()
        .enumerate()
        .filter(|(s, _)| s / per_pair as usize != dead_pair)
        .all(|(_, v)| v.lacp.lacp(0).distributing_ports().len() == 4);
    let two_left = affected
        .iter()
        .all(|v| v.lacp.lacp(0).distributing_ports().len() == 2);
    println!(
        "fabric: {servers} servers, {pairs} DT pairs of {per_pair}, switch {} of pair {dead_pair} {} at {fail_at}",
        if dead_sw == 0 {
            "A (primary)"
        } else {
            "B (secondary)"
        },
        if silent {
            "hung (silent)"
        } else {
            "died (links down)"
        },
    );
    println!(
        "  affected servers: {}; per-server window on the dead links (ms): min {} p50 {} p99 {} max {}",
        affected.len(),
        stale.first().copied().unwrap_or(0),
        pct(&stale, 0.5),
        pct(&stale, 0.99),
        stale.last().copied().unwrap_or(0)
    );
    println!("  servers that lost every link at some point: {outages}");
    println!(
        "  unaffected servers still on 4 links: {all_four}; affected on the 2 survivors: {two_left}"
    );
    println!(
        "  simulated {:.1} s in {:.2} s wall ({:.1}x real time, {} steps of {STEP})",
        (end_at - Instant::ZERO).as_secs_f64(),
        elapsed.as_secs_f64(),
        (end_at - Instant::ZERO).as_secs_f64() / elapsed.as_secs_f64().max(1e-9),
        steps
    );
    if outages > 0 || !all_four || !two_left {
        std::process::exit(1);
    }
}
