//! `lagd`: the link aggregation daemon.
//!
//! ```text
//! lagd --config /etc/lagd/lagd.toml --socket /run/lagd/lagd.sock --log-level info --foreground
//! ```
//! SIGTERM / SIGINT: stop, restore every member, remove the TAPs and the socket, exit 0.
//! SIGHUP: reload the configuration file (an invalid file is refused and changes nothing).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lagd::config::Config;
use lagd::control::server::Server;
use lagd::engine::Engine;
use lagd::events::DEFAULT_HISTORY;
use lagd::signals::{Signal, Signals};

/// Link aggregation (IEEE 802.1AX LACP) daemon.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "/etc/lagd/lagd.toml")]
    config: PathBuf,
    /// Control socket path.
    #[arg(long, short = 's', default_value = lagd::client::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Log filter, `RUST_LOG` syntax (e.g. `info`, `lagd=debug`).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Stay in the foreground (the only mode; accepted for service files).
    #[arg(long, short = 'f')]
    foreground: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("lagd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    // Signals first: a SIGTERM during startup must still restore what was taken.
    let signals = Signals::new().map_err(|e| format!("installing signal handlers: {e}"))?;
    let config = Config::load(&args.config).map_err(|e| e.to_string())?;
    let server = Server::bind(&args.socket).map_err(|e| e.to_string())?;
    let history = config.daemon.event_history.unwrap_or(DEFAULT_HISTORY);
    let prometheus = config.daemon.prometheus.clone();
    let engine = Engine::new(&args.config, &args.socket, history);
    if let Err(e) = engine.start(config) {
        return Err(match engine.shutdown() {
            Ok(()) => format!("startup failed, every member restored: {e}"),
            Err(f) => format!("startup failed: {e}; {}", joined(&f)),
        });
    }
    if let Err(e) = server.spawn(engine.clone()) {
        let _ = engine.shutdown();
        return Err(format!("control socket thread: {e}"));
    }
    if let Some(addr) = prometheus {
        // Validated with the configuration.
        match addr.parse() {
            Ok(a) => match lagd::metrics::serve(a, engine.clone()) {
                Ok(()) => tracing::info!("Prometheus metrics on http://{addr}/metrics"),
                Err(e) => tracing::error!("Prometheus endpoint {addr}: {e}"),
            },
            Err(e) => tracing::error!("Prometheus endpoint {addr}: {e}"),
        }
    }
    tracing::info!(
        config = %args.config.display(),
        socket = %args.socket.display(),
        pid = std::process::id(),
        "lagd running"
    );
    for sig in signals.wait() {
        match sig {
            Signal::Reload => {
                tracing::info!("SIGHUP: reloading {}", args.config.display());
                match engine.reload() {
                    Ok(()) => tracing::info!("configuration reloaded"),
                    Err(e) => tracing::error!("reload refused or incomplete: {e}"),
                }
            }
            Signal::Terminate => {
                tracing::info!("terminating: restoring members");
                engine.shutdown().map_err(|f| joined(&f))?;
                tracing::info!("lagd stopped");
                return Ok(());
            }
        }
    }
    engine.shutdown().map_err(|f| joined(&f))
}

fn joined(failed: &[lagd::aggregate::RestoreFailed]) -> String {
    let v: Vec<String> = failed.iter().map(ToString::to_string).collect();
    v.join("; ")
}
