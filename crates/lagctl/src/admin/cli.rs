//! The command line of the administration verbs (clap derive), modelled on Solaris `dladm`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lagd_control::client::DEFAULT_SOCKET;
use lagd_control::config::{AdSelect, AggrMode, AggrSettings, Fallback, LacpActivity, LacpTimeout};
use lagd_types::MacAddr;

/// Where lagd listens.
#[derive(Args, Clone, Debug)]
pub struct Conn {
    /// Control socket of lagd.
    #[arg(long, env = "LAGD_SOCKET", default_value = DEFAULT_SOCKET, value_name = "PATH")]
    pub socket: PathBuf,
}

/// What `show-aggr` prints, for its help and man page.
pub const SHOW_AGGR_LEGEND: &str = "\
Aggregate state: `up`, or `down` and why (no member has carrier, no LACPDU from the partner, \
min-links not met).

Member states (one meaning each):
  active         collecting and distributing: carries traffic
  backup         active-backup: ready; the active member carries the traffic
  collecting     collecting, not distributing yet
  attached       attached to its Aggregator, waiting for the partner's synchronization
  waiting        selected, waiting for the Aggregator (wait_while_timer, 2 s)
  standby        Standby: max-active members are active
  not-selected   no Aggregator selected (half duplex, an individual link)
  wrong-partner  hears another partner (system or key) than the active members
  no-lacp        LACP runs here but no LACPDU comes from the partner
  bfd-down       carrier, but its micro-BFD session is not up
  down           no carrier
  deleted        the interface no longer exists

State flags (-x): A LACP active, T short timeout, G aggregatable, S in sync, C collecting,
D distributing, F defaulted (no partner information), E expired; `-` when clear.
With -L, coll and dist say what the data plane does; on an aggregation without LACP the
LACP-only columns are `-`.";

/// The administration verbs.
#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Create an aggregation (dladm create-aggr).
    CreateAggr(CreateArgs),
    /// Add member links to an aggregation.
    AddAggr(AddArgs),
    /// Remove member links; each is drained first under marker protection (nothing lost).
    RemoveAggr(RemoveArgs),
    /// Change the settings of an aggregation, live: only the options given change.
    ModifyAggr(ModifyArgs),
    /// Delete an aggregation: members are released and restored.
    DeleteAggr(DeleteArgs),
    /// Disable members without removing them (OVS bond/disable-slave): each is drained under
    /// marker protection (nothing lost or reordered), then carries no traffic; it stays a
    /// member, still collecting. Not saved: a restart of lagd enables every member.
    DisableMember(DisableArgs),
    /// Enable disabled members: each takes back its share of conversations, marker-protected.
    EnableMember(MemberArgs),
    /// Active-backup: make LINK the active member now (OVS bond/set-active-slave); the traffic
    /// moves under marker protection and stays there until that member fails (non-revertive).
    SetActiveMember(SetActiveArgs),
    /// Show the distribution buckets with their member and load (as OVS bond/show), or with
    /// --flow which member carries a conversation and its bucket.
    ShowHash(ShowHashArgs),
    /// Print lagd's events (-f: follow new ones as they happen).
    Events(EventsArgs),
    /// Show aggregations: members (default), LACP detail (-L), extended (-x), statistics (-s).
    #[command(after_long_help = SHOW_AGGR_LEGEND)]
    ShowAggr(ShowAggrArgs),
    /// Show the links of the aggregations (-s: traffic statistics).
    ShowLink(ShowLinkArgs),
    /// Live view of an aggregation's members: rates, utilisation, failovers.
    Monitor(MonitorArgs),
    /// The daemon's state (`state dump`: everything as JSON).
    State {
        /// What to show.
        #[command(subcommand)]
        what: StateCmd,
    },
    /// Check an aggregation for misconfigurations and explain how to fix them (exit 0 healthy,
    /// 1 findings, 2 error).
    Diagnose(DiagnoseArgs),
    /// Reload lagd's configuration file and wait for the outcome: exit 1 with lagd's reason
    /// when it refused (the unit's `ExecReload=`, so `systemctl reload lagd` fails too).
    ///
    /// lagd applies what changed in the file since it last read or wrote it. A file that does
    /// not parse or validate changes nothing; nor does an empty or missing file while
    /// aggregations of the file run (--delete-all deletes them). Temporary (-t) aggregations
    /// are kept; temporary changes to the file's aggregations are undone (and named).
    /// `[daemon]` is applied; `[dt]` changes are named and wait for the next start of lagd.
    Reload(ReloadArgs),
    /// Restart lagd keeping every aggregation (for an upgrade: the binary is read again).
    ///
    /// lagd hands its aggregations to a new image of itself in the same process: members stay
    /// taken over, aggregates keep their addresses, routes and neighbours, frames arriving
    /// meanwhile are queued and forwarded (none lost), and the partner sees no change (the
    /// same LACPDUs). The same as SIGUSR2 (`systemctl kill -s USR2 lagd`). To stop lagd and
    /// give every member back instead, send SIGTERM (`systemctl stop lagd`); `systemctl
    /// restart lagd` does that, then starts afresh (the partner sees the aggregation re-form).
    RestartDaemon(RestartArgs),
    /// Give members back from lagd's records when their lagd is gone for good (crashed, not to
    /// be restarted): each is restored exactly as before lagd took it; with --all, leftover
    /// aggregate interfaces are removed too. Needs no daemon; refuses while one runs.
    RestoreLinks(RestoreArgs),
    /// Import a configuration written for another tool.
    Import {
        /// The format.
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): lagctl(8), or a verb's (`lagctl man show-aggr` is
    /// lagctl-show-aggr(8)). Read with `lagctl man show-aggr | man -l -`.
    Man {
        /// The verb whose page to print (none: lagctl(8)).
        #[arg(value_name = "VERB")]
        verb: Option<String>,
    },
    /// Write the man pages and completion scripts into DIR.
    GenDocs {
        /// Output directory.
        dir: PathBuf,
    },
}

/// `restart-daemon`.
#[derive(Args, Debug)]
pub struct RestartArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
}

/// `restore-links`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The links to restore (by name).
    pub links: Vec<String>,
    /// Every member with a record, and every leftover aggregate.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only say what would be restored.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// lagd's state directory (its --state-dir).
    #[arg(long, default_value = lagd_control::cli::DEFAULT_STATE_DIR, value_name = "DIR")]
    pub state_dir: PathBuf,
}

/// `state ...`.
#[derive(Subcommand, Debug)]
pub enum StateCmd {
    /// The whole daemon state as JSON (like `teamdctl state dump`).
    Dump(ConnOnly),
}

/// `import ...`.
#[derive(Subcommand, Debug)]
pub enum ImportCmd {
    /// Debian ifupdown bond stanzas (/etc/network/interfaces) to lagd configuration.
    Ifupdown(IfupdownArgs),
    /// systemd-networkd bonds: the bond's .netdev and the .network files of its members.
    Networkd(NetworkdArgs),
    /// netplan bonds (network: bonds:) and the ethernets they name.
    Netplan(NetplanArgs),
    /// NetworkManager bond profiles in keyfile format (.nmconnection) and their ports.
    Nmconnection(NmconnectionArgs),
}

/// What to do with an imported configuration (shared by every `import` verb).
#[derive(Args, Debug, Clone)]
pub struct ImportOut {
    /// Add the aggregations to lagd's configuration file (comments kept); `lagctl reload`
    /// applies them. Refused if an aggregation or member is already there.
    #[arg(long)]
    pub write: bool,
    /// With --write: lagd's configuration file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/lagd/lagd.toml",
        requires = "write"
    )]
    pub config: PathBuf,
    /// Create the aggregations in the running lagd (CreateAggr).
    #[arg(long)]
    pub apply: bool,
    /// With --apply: temporary (not written to lagd's configuration file).
    #[arg(short = 't', long, requires = "apply")]
    pub temporary: bool,
    /// Write the lagd configuration (TOML) to this file instead of printing it.
    #[arg(short = 'o', long, value_name = "OUT.toml")]
    pub output: Option<PathBuf>,
    /// The interfaces of the host the files are for, as `ip -j link` prints them there (default:
    /// this host's), to turn name globs and MAC matches into member names.
    #[arg(long, value_name = "FILE")]
    pub host_links: Option<PathBuf>,
    /// Connection (for --apply).
    #[command(flatten)]
    pub conn: Conn,
}

/// `import ifupdown`.
#[derive(Args, Debug)]
pub struct IfupdownArgs {
    /// The interfaces file (e.g. /etc/network/interfaces).
    pub file: PathBuf,
    /// What to do with the result.
    #[command(flatten)]
    pub out: ImportOut,
}

/// `import networkd`.
#[derive(Args, Debug)]
pub struct NetworkdArgs {
    /// The bond's .netdev, then the .network files that enslave its members (Bond=) or
    /// configure the bond (e.g. /etc/systemd/network/*).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What to do with the result.
    #[command(flatten)]
    pub out: ImportOut,
}

/// `import netplan`.
#[derive(Args, Debug)]
pub struct NetplanArgs {
    /// netplan YAML files, read in order as netplan merges them (e.g. /etc/netplan/*.yaml).
    #[arg(required = true, value_name = "FILE.yaml")]
    pub files: Vec<PathBuf>,
    /// What to do with the result.
    #[command(flatten)]
    pub out: ImportOut,
}

/// `import nmconnection`.
#[derive(Args, Debug)]
pub struct NmconnectionArgs {
    /// The bond profile and its port profiles (e.g.
    /// /etc/NetworkManager/system-connections/*.nmconnection).
    #[arg(required = true, value_name = "FILE.nmconnection")]
    pub files: Vec<PathBuf>,
    /// What to do with the result.
    #[command(flatten)]
    pub out: ImportOut,
}

/// `reload`.
#[derive(Args, Debug)]
pub struct ReloadArgs {
    /// When the file has no aggregation (empty, or missing), delete every aggregation the file
    /// had created instead of refusing (temporary ones stay).
    #[arg(long)]
    pub delete_all: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
}

/// Only the connection.
#[derive(Args, Debug)]
pub struct ConnOnly {
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
}

/// A parser for the values of settings enum `T` (setting `key`), by the names the configuration
/// file uses (one enum per concept: the settings model's, read through serde). Another tool's
/// spelling (`802.3ad`, `fast`) or a near miss is answered with lagd's.
fn setting<T>(key: &'static str) -> SettingParser<T> {
    SettingParser {
        key,
        value: std::marker::PhantomData,
    }
}

/// See [`setting`].
#[derive(Clone)]
struct SettingParser<T> {
    key: &'static str,
    value: std::marker::PhantomData<fn() -> T>,
}

impl<T> clap::builder::TypedValueParser for SettingParser<T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        raw: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        use serde::de::IntoDeserializer;
        let known = lagd_control::config::values::<T>();
        let s = raw.to_string_lossy();
        let value = s.trim();
        let refuse = |why: String| {
            let flag = arg.map_or_else(String::new, |a| format!(" for '{a}'"));
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{s}'{flag}: {why}\n"),
            )
            .with_cmd(cmd)
        };
        if !known.contains(&value) {
            return Err(refuse(format!(
                "expected one of {}{}",
                known.join(", "),
                super::suggest::suggestion(self.key, value, known)
            )));
        }
        let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            value.into_deserializer();
        T::deserialize(d).map_err(|e| refuse(e.to_string()))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            lagd_control::config::values::<T>()
                .iter()
                .map(|v| clap::builder::PossibleValue::new(*v)),
        ))
    }
}

/// Parses and canonicalises a hash policy (`L2`, `L3`, `L4`, comma separated).
fn parse_policy(s: &str) -> Result<String, String> {
    s.parse::<lagd_agg::lagd_distrib::HashPolicy>()
        .map(|p| p.to_string())
        .map_err(|e| format!("{e}{}", super::suggest::suggestion("policy", s, &[])))
}

/// Parses a unicast MAC address.
fn parse_mac(s: &str) -> Result<MacAddr, String> {
    let m: MacAddr = s
        .parse()
        .map_err(|e: lagd_types::MacParseError| e.to_string())?;
    if m.is_multicast() || m.is_zero() {
        return Err(format!(
            "{m} is not a unicast address (multicast bit set, or all zeros)"
        ));
    }
    Ok(m)
}

/// Parses a duration such as `6s`, `500ms`, `1m`.
fn parse_duration(s: &str) -> Result<String, String> {
    lagd_types::parse_duration(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// Parses a duration or `off`.
fn parse_optional_duration(s: &str) -> Result<String, String> {
    lagd_types::parse_optional_duration(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The settings shared by `create-aggr` and `modify-aggr`. Each long flag is the setting's
/// name in the configuration file and the JSON, with `_` written `-`; dladm's short flags
/// are aliases.
#[derive(Args, Debug, Default, Clone)]
pub struct AggrOpts {
    /// Hash policy: L2, L3, L4 or a comma list (default L3,L4).
    #[arg(short = 'P', long, value_parser = parse_policy, value_name = "POLICY")]
    pub policy: Option<String>,
    /// LACP mode: off (a static trunk), active or passive.
    #[arg(short = 'L', long, value_parser = setting::<LacpActivity>("lacp_mode"), value_name = "MODE")]
    pub lacp_mode: Option<LacpActivity>,
    /// LACP timer: short (the partner sends every second) or long (every 30 s).
    #[arg(short = 'T', long, value_parser = setting::<LacpTimeout>("lacp_timer"), value_name = "TIME")]
    pub lacp_timer: Option<LacpTimeout>,
    /// The aggregate's MAC address (also the LACP System id); default: the first member's.
    /// dladm's -u/--unicast.
    #[arg(short = 'u', long, visible_alias = "unicast", value_parser = parse_mac, value_name = "MAC")]
    pub mac: Option<MacAddr>,
    /// Mode: lacp, static (no LACPDU), active-backup, round-robin (reorders frames),
    /// broadcast, transmit-lb (balance-tlb: no switch configuration, receives on one member) or
    /// adaptive-lb (balance-alb: receives spread over the members too).
    #[arg(short = 'm', long, value_parser = setting::<AggrMode>("mode"), value_name = "MODE")]
    pub mode: Option<AggrMode>,
    /// Members that must be Collecting and Distributing for the aggregate to be up.
    #[arg(long, value_name = "N")]
    pub min_links: Option<usize>,
    /// At most N members active, the others Standby (modify: 0 = no limit).
    #[arg(long, value_name = "N")]
    pub max_active: Option<usize>,
    /// How the active Aggregator is chosen when members reach different partners or keys:
    /// stable (default: kept while it works), bandwidth or count (as Linux's ad_select).
    #[arg(long, value_parser = setting::<AdSelect>("ad_select"), value_name = "POLICY")]
    pub ad_select: Option<AdSelect>,
    /// What to do when the partner sends no LACPDU: off, one-member or static.
    #[arg(long, value_parser = setting::<Fallback>("fallback"), value_name = "KIND")]
    pub fallback: Option<Fallback>,
    /// How long without LACPDU before fallback (e.g. 6s).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub fallback_timeout: Option<String>,
    /// MTU of the aggregate and every member.
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// Administrative key of the members.
    #[arg(short = 'k', long, value_name = "KEY")]
    pub key: Option<u16>,
    /// LACP System priority (lower is better).
    #[arg(long, value_name = "PRIO")]
    pub system_priority: Option<u16>,
    /// How often load is measured and buckets rebalanced (e.g. 1s), or off.
    #[arg(long, value_parser = parse_optional_duration, value_name = "DUR|off")]
    pub rebalance_interval: Option<String>,
    /// Aggregate Wait Time (802.1AX): how long the members of a new aggregation gather before
    /// it attaches (default 2s).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub aggregate_wait: Option<String>,
    /// Kernel fast path for data frames (eBPF at the aggregate's and members' tc hooks, driven
    /// by lagd's distributor and Collecting state): auto (default: where the kernel allows,
    /// saying why not elsewhere), on (or fail), off.
    #[arg(long, value_name = "auto|on|off", value_parser = parse_offload)]
    pub offload: Option<lagd_control::config::Offload>,
    /// Receive steering by flow on the aggregate (RPS, for frames the kernel fast path
    /// delivers): auto (default: by flow), on, off (each frame on the CPU that received it:
    /// cheaper, in order only where every member hands a conversation on from one CPU).
    #[arg(long, value_name = "auto|on|off", value_parser = parse_rx_steering)]
    pub rx_steering: Option<lagd_control::config::RxSteering>,
    /// LACP Port_Priority of one member (lower is preferred when max-active leaves some on
    /// Standby): LINK=PRIO, repeat for each.
    #[arg(long = "port-priority", value_name = "LINK=PRIO", value_parser = parse_port_priority)]
    pub port_priority: Vec<(String, u16)>,
    /// Micro-BFD (RFC 7130) on every member: INTERVAL[,MULTIPLIER] (e.g. 50ms,3) or off. A
    /// member whose BFD session is not Up neither collects nor distributes.
    #[arg(long, value_name = "INTERVAL[,MULT]|off", value_parser = parse_bfd)]
    // This comment is clap's help text (`--help`, lagctl(8)): `[,MULTIPLIER]` is syntax.
    #[allow(rustdoc::broken_intra_doc_links)]
    pub bfd: Option<lagd_control::config::BfdSettings>,
}

fn parse_port_priority(s: &str) -> Result<(String, u16), String> {
    let (link, prio) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: give LINK=PRIO, e.g. eth1=100"))?;
    let prio = prio
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("`{prio}`: a port priority is a whole number from 0 to 65535"))?;
    if link.trim().is_empty() {
        return Err(format!("`{s}`: give LINK=PRIO, e.g. eth1=100"));
    }
    Ok((link.trim().to_string(), prio))
}

fn parse_bfd(s: &str) -> Result<lagd_control::config::BfdSettings, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(lagd_control::config::BfdSettings {
            enabled: Some(false),
            ..Default::default()
        });
    }
    let (interval, mult) = match s.split_once(',') {
        Some((i, m)) => (i, Some(m)),
        None => (s, None),
    };
    parse_duration(interval)?;
    let multiplier = mult
        .map(|m| {
            m.trim()
                .parse::<u8>()
                .ok()
                .filter(|m| *m > 0)
                .map(u32::from)
                .ok_or_else(|| format!("`{m}`: the multiplier is a whole number from 1 to 255"))
        })
        .transpose()?;
    Ok(lagd_control::config::BfdSettings {
        interval: Some(interval.trim().to_string()),
        multiplier,
        enabled: None,
    })
}

impl AggrOpts {
    /// The settings these options give (the one patch type of the settings model).
    pub fn settings(&self) -> AggrSettings {
        AggrSettings {
            mode: self.mode,
            lacp_mode: self.lacp_mode,
            lacp_timer: self.lacp_timer,
            policy: self.policy.clone(),
            mac: self.mac.map(|m| m.to_string()),
            mtu: self.mtu,
            min_links: self.min_links,
            max_active: self.max_active,
            ad_select: self.ad_select,
            fallback: self.fallback,
            fallback_timeout: self.fallback_timeout.clone(),
            system_priority: self.system_priority,
            key: self.key,
            rebalance_interval: self.rebalance_interval.clone(),
            aggregate_wait: self.aggregate_wait.clone(),
            offload: self.offload,
            rx_steering: self.rx_steering,
            bfd: self.bfd.clone(),
            port: self
                .port_priority
                .iter()
                .map(|(l, p)| {
                    (
                        l.clone(),
                        lagd_control::config::PortSettings { priority: Some(*p) },
                    )
                })
                .collect(),
            ..AggrSettings::default()
        }
    }

    /// Whether no option was given.
    pub fn is_empty(&self) -> bool {
        self.settings().is_empty()
    }
}

fn parse_offload(s: &str) -> Result<lagd_control::config::Offload, String> {
    s.parse()
}

fn parse_rx_steering(s: &str) -> Result<lagd_control::config::RxSteering, String> {
    s.parse()
}

/// `create-aggr`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Member link (repeat for each).
    #[arg(short = 'l', long = "link", value_name = "LINK")]
    pub links: Vec<String>,
    /// Settings.
    #[command(flatten)]
    pub opts: AggrOpts,
    /// Take links that have IP addresses (removed now, restored on release).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Temporary: not written to lagd's configuration file (lost on restart).
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate's name (its interface).
    pub name: String,
}

/// `add-aggr`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// Link to add (repeat for each).
    #[arg(short = 'l', long = "link", value_name = "LINK", required = true)]
    pub links: Vec<String>,
    /// Take links that have IP addresses.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Temporary: not written to the configuration file.
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `remove-aggr`.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Link to remove (repeat for each).
    #[arg(short = 'l', long = "link", value_name = "LINK", required = true)]
    pub links: Vec<String>,
    /// Remove at once, without draining (frames in flight may be lost).
    #[arg(long)]
    pub no_drain: bool,
    /// Temporary: not written to the configuration file.
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `modify-aggr`: the settings of `create-aggr`, where an option not given stays as it is (so
/// the help says nothing of defaults).
#[derive(Args, Debug)]
#[command(
    mut_arg("policy", |a| a.help("Hash policy: L2, L3, L4 or a comma list")),
    mut_arg("mac", |a| a.help(
        "The aggregate's MAC address (also the LACP System id). dladm's -u/--unicast"
    )),
    mut_arg("offload", |a| a.help(
        "Kernel fast path for data frames: auto (where the kernel allows, saying why not \
         elsewhere), on (or fail), off"
    )),
)]
pub struct ModifyArgs {
    /// Settings to change.
    #[command(flatten)]
    pub opts: AggrOpts,
    /// Temporary: not written to the configuration file.
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Apply the change even if it takes the aggregate down (LACP against the partner's
    /// mode, min-links above the members in service); refused otherwise, with the diagnosis.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `delete-aggr`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Temporary: the aggregation stays in the configuration file.
    #[arg(short = 't', long)]
    pub temporary: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `disable-member`.
#[derive(Args, Debug)]
pub struct DisableArgs {
    /// Member to disable (repeat for each).
    #[arg(short = 'l', long = "link", value_name = "LINK", required = true)]
    pub links: Vec<String>,
    /// Even the last member carrying traffic (the aggregate then carries none).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `enable-member`.
#[derive(Args, Debug)]
pub struct MemberArgs {
    /// Member (repeat for each).
    #[arg(short = 'l', long = "link", value_name = "LINK", required = true)]
    pub links: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `set-active-member`.
#[derive(Args, Debug)]
pub struct SetActiveArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate (mode active-backup).
    pub name: String,
    /// The member to carry the traffic.
    pub link: String,
}

/// `show-hash`.
#[derive(Args, Debug)]
pub struct ShowHashArgs {
    /// A conversation: SRC,DST,PROTO,SPORT,DPORT (IPv4 or IPv6 addresses; PROTO tcp, udp,
    /// sctp, udplite or a number). Prints the member that carries it and its bucket.
    #[arg(long, value_name = "SRC,DST,PROTO,SPORT,DPORT")]
    pub flow: Option<String>,
    /// With --flow: the source MAC (hashed under an L2 policy; default the aggregate's).
    #[arg(long, value_name = "MAC", requires = "flow")]
    pub src_mac: Option<lagd_types::MacAddr>,
    /// With --flow: the destination MAC, the next hop's (hashed under an L2 policy).
    #[arg(long, value_name = "MAC", requires = "flow")]
    pub dst_mac: Option<lagd_types::MacAddr>,
    /// Output options.
    #[command(flatten)]
    pub out: OutputOpts,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}

/// `events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Follow: print new events as they happen, until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// One JSON document per line.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// Only the events of this aggregation (and the daemon's own).
    pub name: Option<String>,
}

/// Output options shared by the show verbs.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputOpts {
    /// Parseable output: one line per row, fields separated by ':' (':' in values escaped as
    /// '\:'), no headers.
    #[arg(short = 'p', long)]
    pub parseable: bool,
    /// Fields to print, comma separated (see each view's column names).
    #[arg(short = 'o', long, value_delimiter = ',', value_name = "FIELD,...")]
    pub output: Vec<String>,
    /// JSON output (with -i: one document per line).
    #[arg(long)]
    pub json: bool,
    /// Repeat every SECONDS.
    #[arg(short = 'i', long, value_name = "SECONDS")]
    pub interval: Option<u64>,
    /// With -i: stop after COUNT reports.
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
}

/// `show-aggr`.
#[derive(Args, Debug)]
pub struct ShowAggrArgs {
    /// LACP detail: activity, timeout, aggregatable, sync, coll, dist, defaulted, expired.
    #[arg(short = 'L', long, group = "view")]
    pub lacp: bool,
    /// Extended: port numbers, priorities, actor and partner, machine states, churn.
    #[arg(short = 'x', long, group = "view")]
    pub extended: bool,
    /// Statistics per member and in total (with -i: per interval).
    #[arg(short = 's', long, group = "view")]
    pub statistics: bool,
    /// The persistent configuration (lagd's configuration file), as dladm show-aggr -P.
    #[arg(short = 'P', long, group = "view")]
    pub persistent: bool,
    /// Output options.
    #[command(flatten)]
    pub out: OutputOpts,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// One aggregation (default: all).
    pub name: Option<String>,
}

/// `show-link`.
#[derive(Args, Debug)]
pub struct ShowLinkArgs {
    /// Statistics: ipackets rbytes ierrors opackets obytes oerrors.
    #[arg(short = 's', long)]
    pub statistics: bool,
    /// Output options.
    #[command(flatten)]
    pub out: OutputOpts,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The links of one aggregation (default: all).
    pub name: Option<String>,
}

/// `monitor`.
#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// Stop after COUNT intervals (line mode).
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
    /// Print lines even on a terminal.
    #[arg(long)]
    pub lines: bool,
    /// One aggregation (default: the first).
    pub name: Option<String>,
    /// Refresh interval in seconds (default 1).
    pub seconds: Option<u64>,
}

/// `diagnose`.
#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: Conn,
    /// The aggregate.
    pub name: String,
}
