//! Harness-free benchmark of the simulator (wall time is printed here, never asserted in tests).
//!
//! 1. Scale: 10 000 ports with short LACP timers (1 250 node pairs, each an aggregation of four
//!    links on both ends: 2 500 aggregations x 4 ports), 60 s of virtual time. Goal: <= 6 s.
//! 2. Traffic: the demo scenario (16 flows over 4 x 200 Mbit/s) — simulated frames per second.
//!
//! `cargo bench -p lagd-sim` (release profile).

use lagd_sim::{RunOptions, Scenario, Simulator};
use std::fmt::Write as _;
use std::time::Instant;

fn scale_scenario(pairs: usize, agg_extra: &str) -> String {
    let mut s =
        String::from("name = \"scale\"\nduration = \"60s\"\nseed = 1\n[report]\ntable = []\n");
    for i in 0..pairs {
        for side in ["a", "b"] {
            let _ = write!(
                s,
                "[[node]]\nname = \"{side}{i}\"\nmac = \"02:{:02x}:{:02x}:{:02x}:00:00\"\nports = 4\n\
                 [[node.aggregation]]\nname = \"bond\"\ntimer = \"short\"\n{agg_extra}\n",
                if side == "a" { 1 } else { 2 },
                i >> 8,
                i & 0xff
            );
        }
        for p in 1..=4 {
            let _ = write!(s, "[[link]]\na = \"a{i}:p{p}\"\nb = \"b{i}:p{p}\"\n");
        }
    }
    let _ = write!(
        s,
        "[[check]]\nat = \"59s\"\ncheck = \"distributing\"\naggregation = \"a{}/bond\"\nmin = 4\nmax = 4\n",
        pairs - 1
    );
    s
}

/// CPU time of this thread so far (Linux `/proc/thread-self/schedstat`), to tell the cost from the
/// wait on a shared, loaded machine. `None` elsewhere.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn fmt_cpu(start: Option<f64>) -> String {
    match (start, cpu_secs()) {
        (Some(a), Some(b)) => format!("{:.2} s on CPU", b - a),
        _ => "CPU time unknown".into(),
    }
}

fn scale(pairs: usize, label: &str, agg_extra: &str) {
    let text = scale_scenario(pairs, agg_extra);
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let sc = Scenario::from_toml(&text).expect("scale scenario");
    let sim = Simulator::new(
        sc,
        RunOptions {
            quiet: true,
            ..Default::default()
        },
    )
    .expect("build");
    let built = t0.elapsed();
    let (_, report) = sim.run().expect("run");
    let wall = t0.elapsed();
    println!(
        "scale ({label}): {} ports ({} aggregations x 4), 60 s virtual, short timers: wall \
         {:.2} s ({}; build {:.2} s), {} events, {} frames, checks {}",
        pairs * 8,
        pairs * 2,
        wall.as_secs_f64(),
        fmt_cpu(cpu0),
        built.as_secs_f64(),
        report.stats.events,
        report.stats.frames,
        if report.passed { "passed" } else { "FAILED" }
    );
}

fn main() {
    scale(1250, "defaults: rebalancer every 1 s", "");
    scale(1250, "rebalancer off", "rebalance_interval = \"off\"");

    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let (_, report) = lagd_sim::run_str(
        lagd_sim::DEMO_SCENARIO,
        RunOptions {
            quiet: true,
            ..Default::default()
        },
    )
    .expect("demo");
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "traffic: demo scenario, {} data frames generated, {} frames on links, {} events in \
         {:.2} s wall ({}): {:.0} frames/s, {:.0} events/s (wall)",
        report.stats.data_frames,
        report.stats.frames,
        report.stats.events,
        wall,
        fmt_cpu(cpu0),
        report.stats.frames as f64 / wall,
        report.stats.events as f64 / wall
    );
}
