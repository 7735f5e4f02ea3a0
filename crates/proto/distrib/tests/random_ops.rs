//! Random sequences of membership changes, drains, configuration changes and traffic over the
//! link model: no panic, and no frame vanishes inside the distributor (every frame offered is
//! delivered or reported dropped), held frames always come out.

mod common;

use common::Net;
use lagd_distrib::{DistributorConfig, HashPolicy, Mode, MoveProtection};
use lagd_types::{Duration, PortNumber};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Traffic(u8),
    SetPorts(u8),
    Drain(u8),
    Policy(u8),
    Mode(u8),
    MaxHeld(u8),
    Wait(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::Traffic),
        2 => any::<u8>().prop_map(Op::SetPorts),
        1 => any::<u8>().prop_map(Op::Drain),
        1 => any::<u8>().prop_map(Op::Policy),
        1 => any::<u8>().prop_map(Op::Mode),
        1 => any::<u8>().prop_map(Op::MaxHeld),
        2 => any::<u8>().prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_frame_vanishes(ops in proptest::collection::vec(op(), 1..40), respond in any::<bool>()) {
        let links: Vec<(PortNumber, Duration)> =
            (1..=4).map(|p| (p, Duration::from_micros(200 * u64::from(p) * u64::from(p)))).collect();
        let mut net = Net::new(
            DistributorConfig {
                rebalance_interval: Some(Duration::from_millis(5)),
                min_rebalance_bytes: 0,
                max_held_frames: 64,
                move_protection: MoveProtection::Marker { timeout: Duration::from_millis(3) },
                ..DistributorConfig::default()
            },
            &links,
        );
        net.respond = respond;
        let policies = ["L2", "L3", "L3,L4", "L2,L3,L4"];
        let modes = [Mode::Hash, Mode::ActiveBackup, Mode::RoundRobin, Mode::Broadcast];
        let mut flows = 0u32;
        for op in ops {
            let now = net.now;
            match op {
                Op::Traffic(n) => {
                    for i in 0..u32::from(n % 32) {
                        let f = (flows + i) % 24;
                        net.offer_hashed(f, f.wrapping_mul(0x9e37_79b1) ^ (f << 20), 100 + f as usize);
                    }
                    flows = flows.wrapping_add(7);
                }
                Op::SetPorts(mask) => {
                    let ports: Vec<PortNumber> =
                        (1..=4).filter(|p| mask & (1 << (p - 1)) != 0).collect();
                    net.dist.set_ports(now, &ports);
                }
                Op::Drain(p) => net.dist.drain_port(now, PortNumber::from(p % 4 + 1)),
                Op::Policy(i) => {
                    let mut c = net.dist.config().clone();
                    c.policy = policies[usize::from(i) % 4].parse::<HashPolicy>().unwrap();
                    c.buckets = 256 << (i % 2);
                    net.dist.set_config(now, c);
                }
                Op::Mode(i) => {
                    // Broadcast duplicates frames: keep to the unicast modes for counting.
                    let mut c = net.dist.config().clone();
                    c.mode = modes[usize::from(i) % 3];
                    net.dist.set_config(now, c);
                }
                Op::MaxHeld(n) => {
                    let mut c = net.dist.config().clone();
                    c.max_held_frames = usize::from(n % 80);
                    net.dist.set_config(now, c);
                }
                Op::Wait(ms) => net.advance(now + Duration::from_micros(100 * u64::from(ms))),
            }
            net.pump();
        }
        let t = net.now + Duration::from_secs(1);
        net.advance(t);
        let s = net.dist.stats();
        prop_assert_eq!(s.held_now, 0);
        prop_assert_eq!(net.delivered + s.frames_dropped, net.offered());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Without failures, early completions or unordered modes, every flow stays in order
    /// through any mix of port additions, drains (then removal), rebalancing and policy or
    /// mode changes (each given time to complete).
    #[test]
    fn order_is_kept_without_failures(ops in proptest::collection::vec(op(), 1..40)) {
        let links: Vec<(PortNumber, Duration)> =
            (1..=4).map(|p| (p, Duration::from_micros(200 * u64::from(p) * u64::from(p)))).collect();
        let mut net = Net::new(
            DistributorConfig {
                rebalance_interval: Some(Duration::from_millis(5)),
                rebalance_threshold: 0.05,
                min_rebalance_bytes: 0,
                max_held_frames: 100_000,
                move_protection: MoveProtection::Marker { timeout: Duration::from_millis(50) },
                ..DistributorConfig::default()
            },
            &links,
        );
        let policies = ["L2", "L3", "L3,L4", "L2,L3,L4"];
        let mut ports: Vec<PortNumber> = vec![1];
        let now = net.now;
        net.dist.set_ports(now, &ports);
        let mut seen_events = 0;
        let mut flows = 0u32;
        for op in ops {
            let now = net.now;
            match op {
                Op::Traffic(n) => {
                    for i in 0..u32::from(n % 32) {
                        let f = (flows + i) % 24;
                        net.offer_hashed(f, f.wrapping_mul(0x9e37_79b1) ^ (f << 20), 100 + 50 * (f as usize % 5));
                    }
                    flows = flows.wrapping_add(7);
                }
                Op::SetPorts(mask) => {
                    for p in (1..=4).filter(|p| mask & (1 << (p - 1)) != 0) {
                        if !ports.contains(&p) {
                            ports.push(p);
                        }
                    }
                    net.dist.set_ports(now, &ports);
                }
                Op::Drain(p) => net.dist.drain_port(now, PortNumber::from(p % 4 + 1)),
                Op::Policy(i) | Op::MaxHeld(i) => {
                    let mut c = net.dist.config().clone();
                    c.policy = policies[usize::from(i) % 4].parse::<HashPolicy>().unwrap();
                    c.buckets = 256 << (i % 2);
                    net.dist.set_config(now, c);
                    net.pump();
                    net.advance(now + Duration::from_millis(20));
                }
                Op::Mode(i) => {
                    let mut c = net.dist.config().clone();
                    c.mode = if i % 2 == 0 { Mode::Hash } else { Mode::ActiveBackup };
                    net.dist.set_config(now, c);
                    net.pump();
                    net.advance(now + Duration::from_millis(20));
                }
                Op::Wait(ms) => net.advance(now + Duration::from_micros(100 * u64::from(ms))),
            }
            net.pump();
            // Remove drained ports, as the caller would.
            while seen_events < net.events.len() {
                if let lagd_distrib::DistEvent::Drained { port } = net.events[seen_events] {
                    ports.retain(|p| *p != port);
                    net.set_ports(&ports);
                }
                seen_events += 1;
            }
        }
        let t = net.now + Duration::from_secs(1);
        net.advance(t);
        let s = net.dist.stats();
        prop_assert_eq!(s.early_completions, 0);
        prop_assert_eq!(s.marker_timeouts, 0);
        prop_assert_eq!(net.delivered + s.frames_dropped, net.offered());
        prop_assert!(net.all_in_order() || s.frames_dropped > 0, "violations {}", net.violations);
    }
}
