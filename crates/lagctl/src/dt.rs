//! Distributed Trunking verbs, in the spirit of HP ProCurve's:
//!
//! ```text
//! lagctl create-dt-domain --domain-id 7 --peer-link veth-pl --keepalive veth-ka --bridge br0 \
//!                         [--role-priority 100] [--temporary]
//! lagctl show distributed-trunk status [--json]
//! lagctl show lacp trunk [NAME] [--json]
//! ```

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use lagctl::admin::cli::Conn;
use lagd_control::client::Client;
use lagd_control::config::DtSpec;
use lagd_control::proto::DtView;
use lagd_control::proto::{AggrStatus, Reply, Request};

/// The DT verbs.
#[derive(Subcommand, Debug)]
pub enum DtCmd {
    /// Create the Distributed Trunking domain (the `[dt]` table) in a running lagd.
    CreateDtDomain(CreateDtArgs),
    /// Show state (`show distributed-trunk status`, `show lacp trunk [NAME]`).
    Show {
        /// What to show.
        #[command(subcommand)]
        what: ShowCmd,
    },
}

/// `create-dt-domain` arguments.
#[derive(Args, Debug)]
pub struct CreateDtArgs {
    /// DT domain id (the same on both switches).
    #[arg(long)]
    pub domain_id: u32,
    /// The peer link interface.
    #[arg(long)]
    pub peer_link: String,
    /// The keepalive interface.
    #[arg(long)]
    pub keepalive: Option<String>,
    /// The bridge lagd manages.
    #[arg(long, default_value = "br0")]
    pub bridge: String,
    /// Role priority (lower = primary).
    #[arg(long)]
    pub role_priority: Option<u16>,
    /// Do not write the change to the configuration file.
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
}

/// `show ...`.
#[derive(Subcommand, Debug)]
pub enum ShowCmd {
    /// `show distributed-trunk status`.
    DistributedTrunk {
        /// What to show.
        #[command(subcommand)]
        what: DtShowCmd,
    },
    /// `show lacp trunk [NAME]`.
    Lacp {
        /// What to show.
        #[command(subcommand)]
        what: LacpShowCmd,
    },
}

/// `show distributed-trunk ...`.
#[derive(Subcommand, Debug)]
pub enum DtShowCmd {
    /// Domain, role, peer, paths, and each DT trunk's decision.
    Status(JsonArgs),
}

/// `show lacp ...`.
#[derive(Subcommand, Debug)]
pub enum LacpShowCmd {
    /// LACP state of the members of the DT trunks (or of trunk NAME).
    Trunk {
        /// One trunk.
        name: Option<String>,
        /// Output.
        #[command(flatten)]
        args: JsonArgs,
    },
}

/// Output options.
#[derive(Args, Debug)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
}

fn client(conn: &Conn) -> Result<Client, String> {
    let c = Client::connect(&conn.socket)
        .map_err(|e| format!("cannot reach lagd at {}: {e}", conn.socket.display()))?;
    c.set_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

fn dt_view(c: &mut Client) -> Result<Option<DtView>, String> {
    match c.request(&Request::ShowDt).map_err(|e| e.to_string())? {
        Reply::Dt { status } if status.is_null() => Ok(None),
        Reply::Dt { status } => serde_json::from_value(status)
            .map(Some)
            .map_err(|e| format!("unexpected DT status: {e}")),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `show distributed-trunk status` as text.
pub fn render_status(v: &DtView) -> String {
    let s = &v.status;
    let mut o = String::new();
    let _ = writeln!(o, " Distributed Trunking: domain {}", s.domain_id);
    let _ = writeln!(
        o,
        "  Role          : {} (role priority {})",
        s.role, s.role_priority
    );
    let _ = writeln!(o, "  System MAC    : {}", s.system_mac);
    let _ = writeln!(o, "  State         : {}", s.state);
    match s.peer {
        Some(p) => {
            let _ = writeln!(
                o,
                "  Peer          : {} (role priority {}, port base {:#06x})",
                p.system_mac, p.role_priority, p.port_base
            );
        }
        None => {
            let _ = writeln!(o, "  Peer          : none heard");
        }
    }
    let _ = writeln!(
        o,
        "  Peer link     : {} {} (carrier {})",
        v.peer_link,
        if s.peer_link_up {
            "up: delivering the peer's PDUs"
        } else {
            "down"
        },
        if v.peer_link_carrier { "up" } else { "down" }
    );
    let sec = &s.security;
    let _ = writeln!(
        o,
        "  Peer identity : {}; {}",
        match (sec.pinned, sec.pinned_by_config) {
            (Some(m), true) => format!("{m} (configured peer_mac)"),
            (Some(m), false) => format!("{m} (held since the pair formed)"),
            (None, _) => "not held yet".to_string(),
        },
        match sec.key_id {
            Some(id) => format!("authenticated (HMAC-SHA-256, key id {id:08x})"),
            None => "no key (frames not authenticated)".to_string(),
        }
    );
    if let Some(r) = &sec.last_refused {
        let _ = writeln!(
            o,
            "  Last refused  : {} on the {}: {}",
            r.mac, r.path, r.reason
        );
    }
    let _ = writeln!(
        o,
        "  Keepalive     : {} {}",
        v.keepalive.as_deref().unwrap_or("(none)"),
        if s.keepalive_up { "up" } else { "down" }
    );
    let _ = writeln!(o, "  Bridge        : {}", v.bridge);
    let pf = &v.peer_filter;
    if !pf.mode.is_empty() {
        let on = if pf.filtered.is_empty() {
            "no aggregate".to_string()
        } else {
            pf.filtered
                .iter()
                .map(|(n, d)| format!("{n} ({d} dropped)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "  Peer filter   : {}: frames from the peer link kept out of {on}; flooding onto the peer link {}",
            pf.mode,
            if pf.flooding { "on" } else { "off" }
        );
    }
    let _ = writeln!(o, "  Port base     : {:#06x}", s.port_base);
    let _ = writeln!(
        o,
        "  MAC sync      : {} local, {} from peer, {} installed ({} via the peer link), synced {}, limit {}{}",
        s.macs_local,
        s.macs_peer,
        s.macs_installed,
        s.macs_via_peer_link,
        yes(s.macs_synced),
        s.mac_sync.limit,
        if s.mac_sync.full || s.mac_sync.overflow > 0 {
            format!(
                ", FULL: {} peer addresses not installed",
                s.mac_sync.overflow
            )
        } else {
            String::new()
        }
    );
    let n = &s.neighbours;
    let _ = writeln!(
        o,
        "  Neighbour sync: {} local, {} from peer, {} installed (ARP / ND entries), limit {}{}{}",
        n.local,
        n.peer,
        n.installed,
        s.mac_sync.limit,
        if n.overflow > 0 {
            format!(", FULL: {} peer entries refused", n.overflow)
        } else {
            String::new()
        },
        if n.local_dropped > 0 {
            format!(", {} local entries not announced", n.local_dropped)
        } else {
            String::new()
        }
    );
    let c = &s.counters;
    let _ = writeln!(
        o,
        "  PDUs          : peer link rx {} tx {}, keepalive rx {} tx {}, errors {}, foreign {}, looped {}",
        c.rx_peer,
        c.tx_peer,
        c.rx_keepalive,
        c.tx_keepalive,
        c.rx_errors,
        c.rx_foreign,
        c.rx_looped
    );
    let _ = writeln!(
        o,
        "  Refused       : bad address {}, stranger {}, authentication {}, stale {}, unconfirmed {}",
        c.rx_bad_address, c.rx_stranger, c.rx_auth_failed, c.rx_stale, c.rx_unconfirmed
    );
    if c.local_stalls > 0 {
        let _ = writeln!(
            o,
            "  Stalls        : {} expiries found lagd not running (stopped or starved): the peer got one more timeout",
            c.local_stalls
        );
    }
    if !v.ingress_filter.is_empty() {
        let _ = writeln!(
            o,
            "  Ingress filter: DT frames (0x8952) dropped on {}",
            v.ingress_filter
                .iter()
                .map(|(n, d)| format!("{n} ({d})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {:<12} {:>4} {:<24} {:>5} {:<14} {:<14} {:<6} {:<8} Mismatch",
        "Trunk", "Id", "LACP system", "Key", "Local live", "Peer live", "Ports", "Isolate"
    );
    for a in &s.aggregations {
        let d = &a.decision;
        let list = |v: &[u16]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        let ports = if d.ports_enabled {
            "up".to_string()
        } else {
            format!(
                "down ({})",
                d.reason.map(|r| r.to_string()).unwrap_or_default()
            )
        };
        let mismatch = if a.diffs.is_empty() {
            "-".to_string()
        } else {
            a.diffs
                .iter()
                .map(|x| format!("{} local={} peer={}", x.field, x.local, x.peer))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            o,
            "  {:<12} {:>4} {:<24} {:>5} {:<14} {:<14} {:<6} {:<8} {}",
            a.config.name,
            a.config.id,
            d.lacp_system.to_string(),
            a.config.key,
            list(&a.local.live),
            list(&a.peer_live),
            ports,
            yes(d.isolate_peer_link),
            mismatch
        );
    }
    if !v.events.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "  Recent DT events:");
        for (t, e) in v.events.iter().rev().take(10).rev() {
            let _ = writeln!(o, "   {t:>12.3}s  {e}");
        }
    }
    o
}

/// `show lacp trunk` as text: every member of the DT trunks with its LACP state.
pub fn render_lacp_trunk(aggrs: &[AggrStatus]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        " {:<12} {:<16} {:>6} {:<6} {:<24} {:>6} {:<4} {:<4} {:<22}",
        "Trunk", "Port", "Number", "Link", "Partner", "P.Port", "Coll", "Dist", "Mux"
    );
    for a in aggrs {
        for m in &a.members {
            let _ = writeln!(
                o,
                " {:<12} {:<16} {:>6} {:<6} {:<24} {:>6} {:<4} {:<4} {:<22}",
                a.name,
                m.name,
                m.port,
                if m.link_up { "up" } else { "down" },
                m.partner.system.to_string(),
                m.partner.port.number,
                yes(m.collecting),
                yes(m.distributing),
                m.mux
            );
        }
    }
    o
}

fn run_inner(cmd: DtCmd) -> Result<(), String> {
    match cmd {
        DtCmd::CreateDtDomain(a) => {
            let spec = DtSpec {
                domain_id: a.domain_id,
                role_priority: a.role_priority,
                peer_link: a.peer_link,
                keepalive: a.keepalive,
                bridge: a.bridge,
                ..DtSpec::default()
            };
            let mut c = client(&a.conn)?;
            match c
                .request(&Request::CreateDtDomain {
                    spec,
                    temporary: a.temporary,
                })
                .map_err(|e| e.to_string())?
            {
                Reply::Done { message } => {
                    println!("{message}");
                    Ok(())
                }
                other => Err(format!("unexpected reply {other:?}")),
            }
        }
        DtCmd::Show {
            what:
                ShowCmd::DistributedTrunk {
                    what: DtShowCmd::Status(a),
                },
        } => {
            let mut c = client(&a.conn)?;
            let v = dt_view(&mut c)?.ok_or("no DT domain is configured")?;
            if a.json {
                print!(
                    "{}",
                    lagctl::schema::DT_STATUS
                        .render(&v, false)
                        .map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", render_status(&v));
            }
            Ok(())
        }
        DtCmd::Show {
            what:
                ShowCmd::Lacp {
                    what: LacpShowCmd::Trunk { name, args },
                },
        } => {
            let mut c = client(&args.conn)?;
            let all = c.show_aggr(name.as_deref()).map_err(|e| e.to_string())?;
            let dt: Vec<AggrStatus> = all
                .into_iter()
                .filter(|a| name.is_some() || a.spec.distributed == Some(true))
                .collect();
            if args.json {
                print!(
                    "{}",
                    lagctl::schema::LACP_TRUNK
                        .render(&dt, false)
                        .map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", render_lacp_trunk(&dt));
            }
            Ok(())
        }
    }
}

/// Runs a DT verb; exit status 0 on success, 1 when refused or failed.
pub fn run(cmd: DtCmd) -> ExitCode {
    match run_inner(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lagctl: {e}");
            ExitCode::from(1)
        }
    }
}
