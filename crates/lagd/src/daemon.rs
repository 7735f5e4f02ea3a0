//! The `lagd` program: command line, start-up, the signal loop ([`run`]; `main.rs` calls it).

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Args, EXIT_FAILURE, EXIT_INVALID};
use crate::config::{AnyLinks, Config, LinkEnv, SysfsLinks};
use crate::control::proto::ErrorKind;
use crate::control::server::Server;
use crate::engine::Engine;
use crate::events::DEFAULT_HISTORY;
use crate::notify;
use crate::signals::{Signal, Signals};
use clap::Parser;

/// A fatal error: logged once, then the exit status.
struct Fatal {
    code: u8,
    message: String,
}

fn failure(message: impl Into<String>) -> Fatal {
    Fatal {
        code: EXIT_FAILURE,
        message: message.into(),
    }
}

fn invalid(message: impl Into<String>) -> Fatal {
    Fatal {
        code: EXIT_INVALID,
        message: message.into(),
    }
}

/// The daemon: parses the command line, runs until a signal stops it, and returns the exit
/// status.
///
/// ```text
/// lagd --config /etc/lagd/lagd.toml --socket /run/lagd/lagd.sock --log-level info --foreground
/// lagd --check-config /etc/lagd/lagd.toml      # validate, touch nothing, exit 0 or 2
/// ```
/// SIGTERM / SIGINT: stop, restore every member, remove the TAPs and the socket, exit 0.
/// SIGHUP (or `lagctl reload`): reload the configuration file (an invalid, empty or missing
/// file is refused and changes nothing; `lagctl reload --delete-all` accepts an empty one).
/// SIGUSR2 (or `lagctl restart-daemon`): restart keeping every aggregation (`handover.rs`).
///
/// Under systemd (`Type=notify`): `READY=1` once every configured aggregate exists,
/// `RELOADING=1`/`READY=1` around a reload, `STOPPING=1`, `WATCHDOG=1` while every thread runs
/// (`supervise.rs`); log lines carry syslog priorities for the journal (`logging.rs`).
///
/// Exit status: 0 stopped cleanly (members restored); 1 a run-time failure (start-up failed,
/// a member could not be restored); 2 invalid command line or configuration; 70 internal error
/// (a panic, or a forwarding thread that died). A fatal error is logged once.
pub fn run() -> ExitCode {
    // How to start again for a restart that keeps the aggregations (SIGUSR2).
    let relaunch = crate::handover::Relaunch::capture();
    let args = Args::parse();
    if let Some(file) = &args.check_config {
        return check_config(file);
    }
    crate::logging::init(&args.log_level, args.log_format);
    crate::supervise::install_panic_hook();
    match serve(&args, &relaunch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            tracing::error!("{}", f.message);
            notify::status(&format!("failed: {}", f.message));
            ExitCode::from(f.code)
        }
    }
}

/// `--check-config FILE`: parse and validate without the network (every link is taken to
/// exist); links missing from this namespace are reported, not refused (they may appear
/// later).
fn check_config(file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lagd: {}: {e}", file.display());
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let config = match Config::parse(&text).and_then(|c| c.validate(&AnyLinks).map(|_| c)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lagd: {}: {e}", file.display());
            return ExitCode::from(EXIT_INVALID);
        }
    };
    for a in &config.aggregations {
        for l in &a.links {
            if !SysfsLinks.link_exists(l) {
                eprintln!(
                    "lagd: note: link `{l}` of aggregation `{}` does not exist in this network namespace now",
                    a.name
                );
            }
        }
    }
    let names: Vec<&str> = config
        .aggregations
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    println!(
        "{}: valid: {} aggregation{}{}{}",
        file.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        },
        if config.dt.is_some() {
            ", distributed trunking"
        } else {
            ""
        }
    );
    ExitCode::SUCCESS
}

fn serve(args: &Args, relaunch: &crate::handover::Relaunch) -> Result<(), Fatal> {
    // Signals first: a SIGTERM during startup must still restore what was taken.
    let signals =
        Signals::new().map_err(|e| failure(format!("installing signal handlers: {e}")))?;
    let (config, on_disk) = Config::load_text(&args.config).map_err(|e| invalid(e.to_string()))?;
    // Before anything is touched: this lagd owns the records of this network namespace.
    let state_dir = std::sync::Arc::new(
        crate::state::StateDir::open(&args.state_dir).map_err(|e| failure(e.to_string()))?,
    );
    if let Some(n) = state_dir.claim_handover() {
        tracing::info!("restarted keeping the aggregations: {n} descriptors taken over");
    }
    let server = Server::bind(&args.socket).map_err(|e| failure(e.to_string()))?;
    let history = config.daemon.event_history.unwrap_or(DEFAULT_HISTORY);
    let daemon = config.daemon.clone();
    let engine = Engine::new(&args.config, &args.socket, history, state_dir);
    if let Err(e) = engine.start(config, on_disk) {
        let code = if e.kind == ErrorKind::InvalidConfig {
            EXIT_INVALID
        } else {
            EXIT_FAILURE
        };
        let message = match engine.shutdown() {
            Ok(()) => format!("startup failed, every member restored: {e}"),
            Err(f) => format!("startup failed: {e}; {}", joined(&f)),
        };
        return Err(Fatal { code, message });
    }
    // The Prometheus endpoint (a reload moves it); one that cannot be bound is an error, not
    // a reason to stop. Before the control socket answers: a client that reaches lagd finds
    // it started whole (the endpoint serving, its warnings logged).
    if let Err(e) = engine.apply_daemon(&daemon) {
        tracing::error!("{e}");
    }
    if let Err(e) = server.spawn(engine.clone()) {
        let _ = engine.shutdown();
        return Err(failure(format!("control socket thread: {e}")));
    }
    if let Err(e) = crate::supervise::spawn(engine.clone()) {
        let _ = engine.shutdown();
        return Err(failure(format!("supervisor thread: {e}")));
    }
    let aggregates = engine.show(None).map(|v| v.len()).unwrap_or(0);
    tracing::info!(
        config = %args.config.display(),
        socket = %args.socket.display(),
        pid = std::process::id(),
        "lagd running"
    );
    notify::ready(&format!(
        "running: {aggregates} aggregate{}",
        if aggregates == 1 { "" } else { "s" }
    ));
    for sig in signals.wait() {
        match sig {
            Signal::Reload => {
                // Logged and reported to systemd by the engine; the daemon keeps running
                // either way (`lagctl reload` returns the error to its caller).
                let _ = engine.reload_reported(false);
            }
            Signal::Restart => {
                tracing::info!(
                    exe = %relaunch.exe().display(),
                    "SIGUSR2: restarting, keeping every aggregation"
                );
                notify::reloading();
                match engine.hand_over() {
                    Ok(()) => {
                        let e = relaunch.exec();
                        return Err(failure(format!(
                            "restart: cannot execute {}: {e}; exiting with the aggregations kept: the next lagd resumes them from its records",
                            relaunch.exe().display()
                        )));
                    }
                    Err(e) => {
                        tracing::error!("restart refused, lagd keeps running: {e}");
                        notify::ready("running (restart refused)");
                    }
                }
            }
            Signal::Terminate => {
                tracing::info!("terminating: restoring members");
                notify::stopping();
                engine.shutdown().map_err(|f| failure(joined(&f)))?;
                tracing::info!("lagd stopped");
                return Ok(());
            }
        }
    }
    notify::stopping();
    engine.shutdown().map_err(|f| failure(joined(&f)))
}

fn joined(failed: &[crate::aggregate::RestoreFailed]) -> String {
    let v: Vec<String> = failed.iter().map(ToString::to_string).collect();
    v.join("; ")
}
