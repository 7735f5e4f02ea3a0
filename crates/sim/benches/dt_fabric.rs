//! Harness-free benchmark: a Distributed Trunking fabric of 1 000 servers, each dual-homed
//! (two links to each switch of its pair) to one of 25 DT pairs; switch A of every pair loses
//! power at 10 s and comes back at 20 s. Prints the largest gap of every server's stream
//! (distribution over the servers: min / median / p99 / max), loss and duplicates, and the
//! simulator's speed (virtual seconds per wall second, events per second). Wall time is
//! printed, never asserted.
//!
//! `cargo bench -p lagd-sim --bench dt_fabric` (release profile). Arguments after `--`:
//! `pairs servers_per_pair frames_per_sec` (default 25 40 100).

use lagd_sim::fabric::{FabricSpec, fabric_scenario};
use lagd_sim::{RunOptions, Scenario, Simulator};
use std::time::Instant;

/// CPU time of this thread so far (Linux), to tell the cost from the wait on a shared machine.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let d = FabricSpec::default();
    let spec = FabricSpec {
        pairs: args.first().copied().unwrap_or(d.pairs),
        servers_per_pair: args.get(1).copied().unwrap_or(d.servers_per_pair),
        frames_per_sec: args.get(2).map_or(d.frames_per_sec, |&f| f as u32),
        ..d
    };
    let text = fabric_scenario(&spec).expect("fabric spec");
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let sc = Scenario::from_toml(&text).expect("fabric scenario");
    let (nodes, links, flows) = (sc.nodes.len(), sc.links.len(), sc.flows.len());
    let parse = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let sim = Simulator::new(
        sc,
        RunOptions {
            quiet: true,
            ..RunOptions::default()
        },
    )
    .expect("build");
    let (_, report) = sim.run().expect("run");
    let run = t1.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_secs()) {
        (Some(a), Some(b)) => format!("{:.2} s on CPU", b - a),
        _ => "CPU time unknown".into(),
    };
    let servers = spec.pairs * spec.servers_per_pair;
    println!(
        "dt_fabric: {servers} servers, {} DT pairs ({nodes} nodes, {links} links, {flows} flows at \
         {} frames/s), switch A of every pair down at {} s, back at {:?} s, {} s virtual",
        spec.pairs, spec.frames_per_sec, spec.fail_at_s, spec.recover_at_s, spec.duration_s
    );
    let mut up_gaps: Vec<f64> = Vec::new();
    let mut down_gaps: Vec<f64> = Vec::new();
    let (mut lost, mut dup, mut sent) = (0u64, 0u64, 0u64);
    for f in &report.flows {
        if f.name.ends_with("-up") {
            up_gaps.push(f.max_gap_ms);
        } else {
            down_gaps.push(f.max_gap_ms);
        }
        lost += f.lost;
        dup += f.duplicates;
        sent += f.sent;
    }
    for (what, gaps) in [
        ("server -> upstream", &mut up_gaps),
        ("upstream -> server", &mut down_gaps),
    ] {
        if gaps.is_empty() {
            continue;
        }
        gaps.sort_by(f64::total_cmp);
        println!(
            "  largest gap per server, {what}: min {:.1} ms, median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            quantile(gaps, 0.0),
            quantile(gaps, 0.5),
            quantile(gaps, 0.99),
            quantile(gaps, 1.0)
        );
    }
    println!("  frames: {sent} sent, {lost} lost, {dup} duplicated");
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    println!(
        "  checks: {} of {} passed{}",
        report.checks.len() - failed,
        report.checks.len(),
        report
            .checks
            .iter()
            .find(|c| !c.passed)
            .map(|c| format!(" (first failure: #{} {}: {})", c.index, c.label, c.value))
            .unwrap_or_default()
    );
    let virt = report.duration + 1.0; // + the drain period
    println!(
        "  speed: parse {parse:.2} s, run {run:.2} s wall ({cpu} in all): {:.1} virtual s per wall s, \
         {:.2} M events/s, {} events, {} frames on links",
        virt / run,
        report.stats.events as f64 / run / 1e6,
        report.stats.events,
        report.stats.frames
    );
}
