//! Load rebalancing in virtual time: unequal flows even out within the threshold, then no
//! more moves; loads that cannot be evened further do not oscillate.

use lagd_distrib::{Dispatch, DistEvent, Distributor, DistributorConfig, MoveReason};
use lagd_types::{Duration, Instant, PortNumber};

const TICK: Duration = Duration::from_millis(10);
const TICKS_PER_INTERVAL: u64 = 100;

/// A flow: its bucket (used as its hash) and its rate in units.
#[derive(Clone, Copy)]
struct Flow {
    bucket: u32,
    rate: u64,
}

struct Sim {
    d: Distributor<u32>,
    now: Instant,
    flows: Vec<Flow>,
}

impl Sim {
    fn new(ports: &[PortNumber], flows: Vec<Flow>) -> Sim {
        let config = DistributorConfig {
            rebalance_interval: Some(Duration::from_secs(1)),
            rebalance_threshold: 0.10,
            min_rebalance_bytes: 0,
            ..DistributorConfig::default()
        };
        let mut d = Distributor::new(config);
        let now = Instant::from_secs(10);
        d.set_ports(now, ports);
        Sim { d, now, flows }
    }

    /// Runs one rebalance interval: every flow sends one frame of `rate × 100` bytes per tick
    /// (so `rate × 10 000` bytes per interval); markers are answered at once.
    fn interval(&mut self) {
        for _ in 0..TICKS_PER_INTERVAL {
            self.now += TICK;
            if self.d.poll_timeout().is_some_and(|t| t <= self.now) {
                self.d.handle_timeout(self.now);
            }
            for (i, f) in self.flows.clone().iter().enumerate() {
                let r = self
                    .d
                    .handle_hashed(self.now, f.bucket, (f.rate * 100) as usize, i as u32);
                assert!(!matches!(r, Dispatch::Drop(..)));
                self.pump();
            }
            self.pump();
        }
    }

    fn pump(&mut self) {
        while self.d.poll_release().is_some() {}
        while let Some(m) = self.d.poll_marker_request() {
            self.d.handle_marker_response(self.now, m.id);
            while self.d.poll_release().is_some() {}
        }
    }

    /// Units per port under the current table.
    fn loads(&self, ports: &[PortNumber]) -> Vec<u64> {
        ports
            .iter()
            .map(|p| {
                self.flows
                    .iter()
                    .filter(|f| self.d.bucket_table()[self.d.bucket_of(f.bucket)] == Some(*p))
                    .map(|f| f.rate)
                    .sum()
            })
            .collect()
    }
}

fn gap(loads: &[u64]) -> u64 {
    loads.iter().max().unwrap() - loads.iter().min().unwrap()
}

#[test]
fn sixteen_unequal_flows_even_out_then_moves_stop() {
    // Rates 1..16; initially port 1 carries 13..16, port 4 carries 1..4 (bucket b is on port
    // b % 4 + 1).
    let flows: Vec<Flow> = (1..=16u64)
        .map(|rate| {
            let port_idx = 3 - (rate - 1) / 4;
            let k = (rate - 1) % 4;
            Flow {
                bucket: (port_idx + 4 * k) as u32,
                rate,
            }
        })
        .collect();
    let ports = [1, 2, 3, 4];
    let mut sim = Sim::new(&ports, flows);
    let initial = sim.loads(&ports);
    assert_eq!(initial, vec![58, 42, 26, 10]);
    let mean = 136.0 / 4.0;
    let mut converged_after = None;
    for i in 1..=10 {
        sim.interval();
        let l = sim.loads(&ports);
        println!("interval {i}: loads {l:?}");
        if converged_after.is_none() && gap(&l) as f64 <= 0.10 * mean {
            converged_after = Some(i);
        }
    }
    let l = sim.loads(&ports);
    assert!(gap(&l) as f64 <= 0.10 * mean, "not even: {l:?}");
    println!("converged after {converged_after:?} intervals");
    let moves = sim.d.stats().moves_started;
    assert!(moves > 0);
    let table = sim.d.bucket_table().to_vec();
    let runs = sim.d.stats().rebalance_runs;
    for _ in 0..30 {
        sim.interval();
    }
    assert_eq!(
        sim.d.stats().moves_started,
        moves,
        "moved again after convergence"
    );
    assert_eq!(sim.d.bucket_table(), &table[..]);
    assert_eq!(
        sim.d.stats().rebalance_runs,
        runs + 30,
        "the rebalancer kept running"
    );
    let evs: Vec<DistEvent> = std::iter::from_fn(|| sim.d.poll_event()).collect();
    assert!(evs.iter().any(|e| matches!(
        e,
        DistEvent::BucketsMoved {
            reason: MoveReason::Rebalance,
            ..
        }
    )));
    // The per-port interval loads in the stats agree with the model.
    let s = sim.d.stats();
    for (p, units) in ports.iter().zip(sim.loads(&ports)) {
        let st = s.ports.iter().find(|x| x.port == *p).unwrap();
        assert_eq!(st.last_interval_bytes, units * 10_000, "port {p}");
    }
}

#[test]
fn an_elephant_that_cannot_be_split_causes_no_moves() {
    // Port 1: one flow of 100; ports 2 and 3: one flow of 1 each. Gap 99, but moving the
    // elephant would overshoot: nothing moves, ever.
    let flows = vec![
        Flow {
            bucket: 0,
            rate: 100,
        },
        Flow { bucket: 1, rate: 1 },
        Flow { bucket: 2, rate: 1 },
    ];
    let ports = [1, 2, 3];
    let mut sim = Sim::new(&ports, flows);
    for _ in 0..30 {
        sim.interval();
    }
    let s = sim.d.stats();
    assert_eq!(s.moves_started, 0);
    assert_eq!(s.rebalance_runs, 30, "ran every interval");
    assert_eq!(sim.loads(&ports), vec![100, 1, 1]);
}

#[test]
fn a_partial_improvement_happens_once_then_stays() {
    // Port 1: 10 + 6, port 2: 5. Moving the 6 gives 10 / 11; then nothing better exists.
    let flows = vec![
        Flow {
            bucket: 0,
            rate: 10,
        },
        Flow { bucket: 2, rate: 6 },
        Flow { bucket: 1, rate: 5 },
    ];
    let ports = [1, 2];
    let mut sim = Sim::new(&ports, flows);
    for _ in 0..30 {
        sim.interval();
    }
    assert_eq!(sim.d.stats().moves_started, 1);
    assert_eq!(sim.loads(&ports), vec![10, 11]);
}

#[test]
fn small_gaps_below_min_bytes_are_left_alone() {
    let flows = vec![
        Flow {
            bucket: 0,
            rate: 30,
        },
        Flow {
            bucket: 2,
            rate: 20,
        },
        Flow { bucket: 1, rate: 1 },
    ];
    let ports = [1, 2];
    let mut sim = Sim::new(&ports, flows);
    let mut c = sim.d.config().clone();
    c.min_rebalance_bytes = 10_000_000;
    let now = sim.now;
    sim.d.set_config(now, c);
    for _ in 0..5 {
        sim.interval();
    }
    assert_eq!(sim.d.stats().moves_started, 0);
}
