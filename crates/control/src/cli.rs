//! lagd's command line (`lagd --help`), here so that `lagctl gen-docs` can write lagd(8) from
//! the same definition the daemon parses.

use std::path::PathBuf;

use clap::Parser;

/// Exit status of a run-time failure: start-up failed, or a member could not be restored.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of an invalid command line or configuration (clap's own usage errors too).
pub const EXIT_INVALID: u8 = 2;
/// Exit status of an internal failure: a panic, or a forwarding thread that died
/// (`EX_SOFTWARE`).
pub const EXIT_INTERNAL: u8 = 70;

/// Default state directory (`--state-dir`): lagd's records of what it changed on the host.
pub const DEFAULT_STATE_DIR: &str = "/run/lagd";

/// Every exit status of lagd, with its meaning (lagd(8)).
pub const EXIT_STATUSES: &[(u8, &str)] = &[
    (
        0,
        "stopped by SIGTERM or SIGINT with every member restored; or --check-config: the file is valid",
    ),
    (
        EXIT_FAILURE,
        "a run-time failure: start-up failed (what was taken is restored), or a member could not be restored",
    ),
    (
        EXIT_INVALID,
        "invalid command line or configuration (systemd does not restart lagd for it: RestartPreventExitStatus=2)",
    ),
    (
        EXIT_INTERNAL,
        "internal error: a panic, or a forwarding thread that died (logged once; members are left for the next lagd)",
    ),
];

/// lagd in one line (its package's description: this crate's is another).
const ABOUT: &str =
    "Link aggregation daemon for Linux: IEEE 802.1AX LACP, eBPF fast path, distributed trunking";

/// What `lagd --help` and lagd(8) say about the daemon.
const LONG_ABOUT: &str = "\
Link aggregation (IEEE 802.1AX LACP) daemon.

lagd bundles Ethernet links into aggregates (TAP interfaces the host uses) as its configuration \
file says (lagd.toml(5)), and is administered with lagctl(8) over its control socket (mode \
0600). One lagd per network namespace.

Signals: SIGTERM and SIGINT stop lagd and give every member back as it was found; SIGHUP \
reloads the configuration file (so does `lagctl reload`, which reports the outcome). A file \
with an error is refused and nothing changes. SIGUSR2 (or \
`lagctl restart-daemon`) restarts lagd in place keeping every aggregation, its aggregate \
interface and the partner's view (docs/OPERATIONS.md).

Under systemd (Type=notify) lagd sends READY=1 once every configured aggregate exists, \
RELOADING=1 and READY=1 around a reload, STOPPING=1, and WATCHDOG=1 while every forwarding \
thread runs; its log lines then carry syslog priorities for the journal.";

/// Link aggregation (IEEE 802.1AX LACP) daemon.
#[derive(Parser, Debug)]
#[command(name = "lagd", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "/etc/lagd/lagd.toml")]
    pub config: PathBuf,
    /// Control socket path.
    #[arg(long, short = 's', default_value = crate::client::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Log filter, `RUST_LOG` syntax (e.g. `info`, `lagd=debug`).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log line form: `journal` (syslog priority prefix `<3>`..`<7>`, no time), `text`, or
    /// `auto` (journal when stderr is systemd's journal stream).
    #[arg(long, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// State directory: the records of members' original settings and of the aggregations'
    /// protocol state, which make a crash or a restart lose nothing (kept per network
    /// namespace; a tmpfs such as /run is right: a reboot resets the interfaces anyway).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Stay in the foreground (the only mode; accepted for service files).
    #[arg(long, short = 'f')]
    pub foreground: bool,
    /// Validate FILE (syntax, values, conflicts) and exit: 0 valid, 2 invalid. Touches no
    /// interface and needs no privilege; for `ExecStartPre=`, `ExecReload=` and packagers.
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Journal form when stderr is connected to the journal, text otherwise.
    #[default]
    Auto,
    /// Syslog priority prefix (`<3>` ... `<7>`) on every line, no timestamp.
    Journal,
    /// Timestamp, level, target, message.
    Text,
}
