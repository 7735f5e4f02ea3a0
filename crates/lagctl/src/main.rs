//! `lagctl`: administer lagd link aggregations. The dladm-style verbs (`create-aggr`,
//! `show-aggr`, `modify-aggr`, ...: [`lagctl::admin`]) and the Distributed Trunking verbs
//! talk to lagd over its control socket; `sim` runs a scenario in the deterministic simulator;
//! `demo` runs lagd in network namespaces (the simulator without root); `gen-docs` writes the
//! man pages and shell completions. lagctl(8) lists every verb and its exit statuses.
//!
//! ```text
//! lagctl sim SCENARIO [--seed N] [--pcap-dir DIR] [--json]
//! lagctl demo [--sim] [--svg PATH]   # real namespaces as root, else the simulator
//! ```
//! Exit status of `sim`: 0 when every check of the scenario passed, 1 when a check failed (its
//! number and description are printed), 2 when the scenario could not be loaded or run.
#![forbid(unsafe_code)]

use clap::{CommandFactory, Parser, Subcommand};
use lagd_sim::{RunOptions, RunReport, SimError};
use std::path::PathBuf;
use std::process::ExitCode;

mod demo;
mod dt;

#[derive(Parser)]
#[command(name = "lagctl", version, about = "Administer lagd link aggregations")]
struct Cli {
    /// Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...`
    /// (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are
    /// given.
    #[arg(
        id = "socket",
        long = "socket",
        global = true,
        value_name = "PATH",
        env = "LAGD_SOCKET",
        default_value = lagd_control::client::DEFAULT_SOCKET
    )]
    _socket: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Administration verbs (dladm-style), over lagd's control socket.
    #[command(flatten)]
    Admin(lagctl::admin::AdminCmd),
    /// Distributed Trunking verbs (create-dt-domain, show distributed-trunk status, show lacp
    /// trunk).
    #[command(flatten)]
    Dt(dt::DtCmd),
    /// Run a scenario in the deterministic simulator.
    Sim {
        /// Scenario file (TOML, see scenarios/README.md).
        scenario: PathBuf,
        /// Seed for every random draw (overrides the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Write one pcap of the slow-protocols frames of each link into DIR.
        #[arg(long, value_name = "DIR")]
        pcap_dir: Option<PathBuf>,
        /// Print the run as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the demo: two hosts, four links, one cut at 10 s and restored at 20 s.
    Demo {
        /// Run it in the simulator (default when not root or without network namespaces).
        #[arg(long)]
        sim: bool,
        /// Where the real demo writes its plot (SVG).
        #[arg(long, value_name = "PATH", default_value = "lagd-demo.svg")]
        svg: PathBuf,
        /// Seed (simulator only; overrides the demo's).
        #[arg(long)]
        seed: Option<u64>,
        /// Write pcaps of the slow-protocols frames into DIR.
        #[arg(long, value_name = "DIR")]
        pcap_dir: Option<PathBuf>,
        /// Print the run as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn print(result: Result<(String, RunReport), SimError>, json: bool) -> ExitCode {
    match result {
        Ok((text, report)) => {
            if json {
                match lagctl::schema::SIM_REPORT.render(&report, false) {
                    Ok(j) => print!("{j}"),
                    Err(e) => {
                        eprintln!("lagctl: cannot encode the report: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{text}");
            }
            if report.passed {
                ExitCode::SUCCESS
            } else {
                for c in report.checks.iter().filter(|c| !c.passed) {
                    eprintln!(
                        "lagctl: check #{} failed at {:.3}s: {}: {}",
                        c.index, c.t, c.label, c.value
                    );
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("lagctl: {e}");
            ExitCode::from(2)
        }
    }
}

/// `lagctl show-aggr --json | head` closes our stdout early: Rust then panics in `println!`
/// ("failed printing to stdout: Broken pipe"). Like any Unix filter, end quietly instead.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Admin(a) => lagctl::admin::run(a, Cli::command()),
        Cmd::Dt(c) => dt::run(c),
        Cmd::Sim {
            scenario,
            seed,
            pcap_dir,
            json,
        } => print(
            lagd_sim::run_file(
                &scenario,
                RunOptions {
                    seed,
                    pcap_dir,
                    quiet: false,
                },
            ),
            json,
        ),
        Cmd::Demo {
            sim,
            seed,
            pcap_dir,
            json,
            svg,
        } => {
            if !sim && let Some(code) = demo::run(&demo::Options { svg }) {
                return code;
            }
            print(
                lagd_sim::run_str(
                    lagd_sim::DEMO_SCENARIO,
                    RunOptions {
                        seed,
                        pcap_dir,
                        quiet: false,
                    },
                ),
                json,
            )
        }
    }
}
