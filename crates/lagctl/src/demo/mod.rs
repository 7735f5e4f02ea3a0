//! `lagctl demo` on real network namespaces: two hosts, four shaped veth links, a `lagd` on
//! each side, 16 TCP flows and a sequence-numbered UDP stream, one link cut at 10 s and
//! restored at 20 s, a Sun Trunking table every second, a summary and an SVG plot.
//!
//! Needs root and iproute2 (`ip`, `tc`), nothing else: traffic and reachability checks are
//! lagd's own ([`lagd_trafgen`]). [`run`] says why when it cannot run (naming a missing program
//! and its package), and the caller then runs the simulator's version of the same scenario.

pub mod daemon;
pub mod interrupt;
pub mod net;
pub mod sample;
pub mod scenario;
pub mod stream;
pub mod summary;
pub mod svg;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use interrupt::Interrupt;
use scenario::{DemoError, Outcome, Timeline};

/// Options of the real demo.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to write the SVG plot.
    pub svg: PathBuf,
}

/// Why the real demo cannot run here (the simulator runs instead).
pub fn unavailable() -> Option<String> {
    if !lagd_dataplane::netns::is_root() {
        return Some("the network-namespace demo needs root (it creates namespaces, veth links and tc qdiscs)".into());
    }
    let missing = tools::missing();
    if !missing.is_empty() {
        return Some(format!(
            "the network-namespace demo cannot run: {}",
            missing.join("; ")
        ));
    }
    if let Err(e) = net::probe() {
        return Some(format!(
            "network namespaces are not available here (`ip netns add` failed: {e})"
        ));
    }
    None
}

/// Runs the real demo; `None` when it cannot run here (the reason was printed).
pub fn run(opts: &Options) -> Option<ExitCode> {
    if let Some(why) = unavailable() {
        eprintln!("lagctl: {why}; running the simulator version instead (lagctl demo --sim)\n");
        return None;
    }
    let bin = match daemon::lagd_binary() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("lagctl: {e}");
            return Some(ExitCode::from(2));
        }
    };
    let intr = Interrupt::install();
    match scenario::run(&bin, &Timeline::default(), &intr) {
        Ok(outcome) => Some(finish(&outcome, &opts.svg)),
        Err(DemoError::Net(e)) => {
            eprintln!(
                "lagctl: cannot build the namespaces ({e}); running the simulator version instead\n"
            );
            None
        }
        Err(DemoError::Interrupted(_)) => {
            eprintln!("lagctl: interrupted; the namespaces, links and daemons were removed");
            Some(ExitCode::from(130))
        }
        Err(e) => {
            eprintln!("lagctl: demo failed: {e}");
            Some(ExitCode::from(2))
        }
    }
}

fn finish(o: &Outcome, svg_path: &Path) -> ExitCode {
    let m = &o.measured;
    let cut = m.cut_link.clone().unwrap_or_default();
    let gap = match m.failover_gap {
        Some((g, _, lost)) => format!(
            "failover gap {:.1} ms ({lost} datagrams lost)",
            g.as_secs_f64() * 1e3
        ),
        None => "failover gap not measured".into(),
    };
    let shares: Vec<String> = m
        .shares_during_cut()
        .iter()
        .map(|s| format!("{s:.0} %"))
        .collect();
    let plot = svg::Plot {
        title: format!(
            "lagd demo: {} links × 200 Mbit/s, LACP, policy L3,L4, 16 TCP flows A → B",
            m.links.len()
        ),
        subtitle: format!(
            "{cut} cut at 10 s and restored at 20 s; {gap}; load while cut: {}",
            shares.join(" / ")
        ),
        links: m.links.clone(),
        points: o
            .samples
            .iter()
            .map(|s| (s.t, s.out_mbps.clone()))
            .collect(),
        markers: vec![
            (10.0, format!("cut {cut}"), "#d62728".into()),
            (20.0, format!("restore {cut}"), "#2ca02c".into()),
        ],
        x_max: 30.0,
    };
    println!("{}", m.render());
    match std::fs::write(svg_path, svg::render(&plot)) {
        Ok(()) => println!("plot written to {}", svg_path.display()),
        Err(e) => eprintln!("lagctl: cannot write {}: {e}", svg_path.display()),
    }
    println!("everything the demo built (namespaces, links, daemons) was removed");
    if m.checks().iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
