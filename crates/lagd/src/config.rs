//! The configuration file (TOML), its validation, and atomic write-back.
//!
//! The format is documented in `docs/CONFIG.md`. Parsing ([`Config::parse`]) only checks the
//! syntax and the field names; [`Config::validate`] checks everything else and turns every
//! `[[aggregation]]` into a [`Resolved`] aggregation with every default applied. Errors name the
//! aggregation and the field. A configuration with an error is never applied.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use lagd_types::{Duration, Key, MacAddr, Priority};
use serde::{Deserialize, Serialize};

use crate::duration::{format_duration, parse_duration, parse_optional_duration};

/// Longest interface name Linux accepts (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;
/// Default System_Priority and Port_Priority (§6.3.2, §6.3.4; the usual 32768).
pub const DEFAULT_PRIORITY: Priority = 32768;
/// Default MTU of the aggregate and its members.
pub const DEFAULT_MTU: u32 = 1500;
/// Default administrative key.
pub const DEFAULT_KEY: Key = 1;
/// Default fallback timeout.
pub const DEFAULT_FALLBACK_TIMEOUT: &str = "6s";
/// Default rebalance interval.
pub const DEFAULT_REBALANCE: &str = "1s";

/// Why a configuration was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// TOML syntax error or unknown field (the message carries the line and the key).
    #[error("{0}")]
    Syntax(String),
    /// A field has a bad value, or aggregations conflict.
    #[error("{context}: {message}")]
    Invalid {
        /// Which aggregation and field, e.g. ``aggregation `aggr1`: mac``.
        context: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            context: context.into(),
            message: message.into(),
        }
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Daemon-wide settings (`[daemon]`).
    #[serde(default, skip_serializing_if = "DaemonConfig::is_default")]
    pub daemon: DaemonConfig,
    /// Distributed Trunking (`[dt]`, see `docs/DT.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt: Option<crate::dt::DtSpec>,
    /// One `[[aggregation]]` table per aggregate.
    #[serde(default, rename = "aggregation")]
    pub aggregations: Vec<AggrSpec>,
}

/// Daemon-wide settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Prometheus text endpoint, e.g. `"127.0.0.1:9477"` (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    /// How many recent events the daemon keeps for `Events` (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_history: Option<usize>,
}

impl DaemonConfig {
    fn is_default(&self) -> bool {
        *self == DaemonConfig::default()
    }
}

/// How frames are distributed over the members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggrMode {
    /// LACP (802.1AX) with hashed distribution by `policy` (default).
    #[default]
    Lacp,
    /// A static trunk: no LACPDUs, every member with carrier aggregates, hashed distribution.
    Static,
    /// All traffic on one member, the next takes over when it fails.
    ActiveBackup,
    /// Per-frame rotation over the members (reorders frames).
    RoundRobin,
    /// Every frame on every member.
    Broadcast,
}

/// Whether the kernel fast path carries the data frames (`offload`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffloadSetting {
    /// Use the kernel path where it works; fall back to the user-space path per aggregation,
    /// saying why (default).
    #[default]
    Auto,
    /// The kernel path or nothing: an aggregation that cannot have it fails to start.
    On,
    /// The user-space path only.
    Off,
}

impl OffloadSetting {
    /// `"auto"`, `"on"` or `"off"`.
    pub const fn name(self) -> &'static str {
        match self {
            OffloadSetting::Auto => "auto",
            OffloadSetting::On => "on",
            OffloadSetting::Off => "off",
        }
    }
}

impl std::fmt::Display for OffloadSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OffloadSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<OffloadSetting, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(OffloadSetting::Auto),
            "on" | "true" | "yes" => Ok(OffloadSetting::On),
            "off" | "false" | "no" => Ok(OffloadSetting::Off),
            _ => Err(format!("`{s}`: expected auto, on or off")),
        }
    }
}

impl<'de> Deserialize<'de> for OffloadSetting {
    /// `"auto"`, `"on"`, `"off"`, or (earlier configurations) `true` / `false`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<OffloadSetting, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(OffloadSetting::On),
            Raw::Bool(false) => Ok(OffloadSetting::Off),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// LACP_Activity (§6.4.2.3): whether we send LACPDUs unprompted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpActivity {
    /// Active LACP: send LACPDUs periodically.
    Active,
    /// Passive LACP: only answer a partner that is active.
    Passive,
    /// No LACP.
    Off,
}

/// LACP_Timeout of the actor (§6.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpTimerSpec {
    /// Short timeout: partner sends every second, expires after 3 s.
    Short,
    /// Long timeout: every 30 s, expires after 90 s.
    Long,
}

/// What happens when no LACPDU arrives on any member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackSpec {
    /// No fallback: without a LACP partner nothing is distributed.
    Off,
    /// The best member forwards alone (PXE boot, unconfigured switch).
    OneMember,
    /// All members form a static trunk.
    Static,
}

/// Per-link settings, `[aggregation.port.<link>]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// Port_Priority (§6.3.4); lower is better. Default 32768.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// `bfd = { interval = "50ms", multiplier = 3 }`: micro-BFD (RFC 7130) on every member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfdSpec {
    /// Interval between BFD Control packets, sent and expected, once the session is Up
    /// (default `"50ms"`; between 1ms and 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Detect Mult: a member is declared down after this many intervals of silence (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<u32>,
    /// `false` turns BFD off (as if the table were absent); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One `[[aggregation]]` table as written (defaults not applied; see [`Resolved`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggrSpec {
    /// The aggregate's name: the TAP interface the host uses (≤ 15 characters).
    pub name: String,
    /// Member interfaces.
    #[serde(default)]
    pub links: Vec<String>,
    /// Distribution mode (default `lacp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AggrMode>,
    /// LACP activity (default `active` in mode `lacp`, `off` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacp: Option<LacpActivity>,
    /// LACP timer (default `short`, as dladm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<LacpTimerSpec>,
    /// Hash policy, e.g. `"L3,L4"` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The aggregate's MAC (and LACP System address); default the first member's MAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// MTU of the aggregate and every member (default 1500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Members that must be Collecting and Distributing for the aggregate to be up (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_links: Option<usize>,
    /// At most this many members active; the others are Standby.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active: Option<usize>,
    /// Fallback when the partner sends no LACPDU (default `off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSpec>,
    /// How long without LACPDU before fallback (default `"6s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_timeout: Option<String>,
    /// System_Priority (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_priority: Option<Priority>,
    /// Administrative key of every member (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// Load rebalancing interval, or `"off"` (default `"1s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_interval: Option<String>,
    /// Take members even when they have IP addresses (they are removed and restored later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Per-link settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port: BTreeMap<String, PortSpec>,
    /// A Distributed Trunking aggregation: its members go to this switch, its partner also
    /// has members on the DT peer (see `docs/DT.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<bool>,
    /// DT aggregation id pairing the two halves (default: the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt_id: Option<u16>,
    /// Kernel fast path for data frames (eBPF programs at the aggregate's and members' tc
    /// hooks that apply lagd's decisions; `docs/ARCHITECTURE.md`): `auto` (default), `on`,
    /// `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<OffloadSetting>,
    /// Micro-BFD on every member (RFC 7130): a member whose session is not Up neither
    /// collects nor distributes. Default off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSpec>,
}

/// A live change to an aggregation (`ModifyAggr`): every field present replaces the current
/// value. Links are changed with `AddLinks` / `RemoveLinks`, not here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggrChanges {
    /// New mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AggrMode>,
    /// New LACP activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacp: Option<LacpActivity>,
    /// New LACP timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<LacpTimerSpec>,
    /// New hash policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// New MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// New MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// New min-links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_links: Option<usize>,
    /// New max-active (0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active: Option<usize>,
    /// New fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSpec>,
    /// New fallback timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_timeout: Option<String>,
    /// New System_Priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_priority: Option<Priority>,
    /// New key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// New rebalance interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_interval: Option<String>,
    /// Kernel fast path: auto, on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<OffloadSetting>,
    /// New micro-BFD settings (replace the old ones whole; `enabled = false` turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSpec>,
    /// New per-link priorities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_priority: BTreeMap<String, Priority>,
}

impl AggrSpec {
    /// A minimal spec: a LACP aggregation of `links` with every default.
    pub fn new(name: &str, links: &[&str]) -> Self {
        AggrSpec {
            name: name.to_string(),
            links: links.iter().map(|s| s.to_string()).collect(),
            ..AggrSpec::default()
        }
    }

    /// This spec with `changes` applied (not validated).
    pub fn with_changes(&self, c: &AggrChanges) -> AggrSpec {
        let mut s = self.clone();
        macro_rules! set {
            ($($f:ident),*) => { $( if c.$f.is_some() { s.$f = c.$f.clone(); } )* };
        }
        set!(
            mode,
            lacp,
            timer,
            policy,
            mac,
            mtu,
            min_links,
            fallback,
            fallback_timeout,
            system_priority,
            key,
            rebalance_interval,
            offload,
            bfd
        );
        if let Some(m) = c.max_active {
            s.max_active = if m == 0 { None } else { Some(m) };
        }
        for (link, prio) in &c.port_priority {
            s.port.entry(link.clone()).or_default().priority = Some(*prio);
        }
        s
    }
}

/// A validated aggregation with every default applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolved {
    /// Name of the aggregate (TAP).
    pub name: String,
    /// Members, in configuration order.
    pub links: Vec<String>,
    /// Distribution mode.
    pub mode: AggrMode,
    /// LACP activity.
    pub lacp: LacpActivity,
    /// LACP timer.
    pub timer: LacpTimerSpec,
    /// Hash policy, canonical form (e.g. `"L3,L4"`).
    pub policy: String,
    /// The configured MAC, if any.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Min-links.
    pub min_links: usize,
    /// Max-active.
    pub max_active: Option<usize>,
    /// Fallback kind and timeout (`None` = off).
    pub fallback: Option<(FallbackSpec, Duration)>,
    /// System_Priority.
    pub system_priority: Priority,
    /// Administrative key.
    pub key: Key,
    /// Rebalance interval (`None` = off).
    pub rebalance_interval: Option<Duration>,
    /// Take members that have addresses.
    pub force: bool,
    /// Port_Priority per link.
    pub port_priority: BTreeMap<String, Priority>,
    /// A Distributed Trunking aggregation.
    pub distributed: bool,
    /// Its DT aggregation id.
    pub dt_id: Key,
    /// The kernel fast path setting.
    pub offload: OffloadSetting,
    /// Micro-BFD timing, when on.
    pub bfd: Option<lagd_bfd::BfdConfig>,
    /// Added to every member's port number (Distributed Trunking: 0x8000 on the secondary);
    /// set by the DT runtime, 0 otherwise.
    pub port_base: u16,
}

impl Resolved {
    /// The Port_Priority of `link`.
    pub fn priority_of(&self, link: &str) -> Priority {
        self.port_priority
            .get(link)
            .copied()
            .unwrap_or(DEFAULT_PRIORITY)
    }
}

/// What validation needs to know about the machine.
pub trait LinkEnv {
    /// Whether a network interface of that name exists.
    fn link_exists(&self, name: &str) -> bool;
}

/// Checks interface names through `/sys/class/net` of the current network namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct SysfsLinks;

impl LinkEnv for SysfsLinks {
    fn link_exists(&self, name: &str) -> bool {
        valid_ifname(name) && Path::new("/sys/class/net").join(name).exists()
    }
}

/// Accepts any name (for tests of pure validation).
#[derive(Debug, Default, Clone, Copy)]
pub struct AnyLinks;

impl LinkEnv for AnyLinks {
    fn link_exists(&self, _name: &str) -> bool {
        true
    }
}

/// Whether `name` is a valid Linux interface name.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '/' && c != ':')
}

/// Parses a hash policy list (`"L3,L4"`: L2, L3, L4, comma separated, case-insensitive, each
/// at most once) with the distributor's own parser; returns the canonical form.
pub fn parse_policy(s: &str) -> Result<String, String> {
    s.parse::<lagd_agg::lagd_distrib::HashPolicy>()
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

impl Config {
    /// Parses TOML text (syntax and field names only).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// Reads and parses a file. A missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|e| match e {
                ConfigError::Syntax(m) => ConfigError::Syntax(format!("{}: {m}", path.display())),
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let body = toml::to_string_pretty(self).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        Ok(format!(
            "# lagd configuration (see docs/CONFIG.md).\n# Rewritten by lagd when aggregations are changed through the control socket.\n\n{body}"
        ))
    }

    /// Writes the configuration atomically: a temporary file beside `path`, flushed, renamed
    /// over `path`. Readers see either the old or the new file, never a partial one.
    ///
    /// What the file already holds is kept where the change does not touch it: comments,
    /// blank lines, key order ([`crate::config_edit::merge`]).
    pub fn write_atomic(&self, path: &Path) -> Result<(), ConfigError> {
        let fresh = self.to_toml()?;
        let text = match std::fs::read_to_string(path) {
            Ok(old) if !old.trim().is_empty() => {
                let body =
                    toml::to_string_pretty(self).map_err(|e| ConfigError::Syntax(e.to_string()))?;
                crate::config_edit::merge(&old, &body).unwrap_or(fresh)
            }
            _ => fresh,
        };
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lagd.toml".into());
        let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// The aggregation named `name`.
    pub fn get(&self, name: &str) -> Option<&AggrSpec> {
        self.aggregations.iter().find(|a| a.name == name)
    }

    /// Checks the whole configuration and resolves every aggregation.
    pub fn validate(&self, env: &dyn LinkEnv) -> Result<Vec<Resolved>, ConfigError> {
        if let Some(p) = &self.daemon.prometheus {
            p.parse::<std::net::SocketAddr>().map_err(|e| {
                ConfigError::invalid(
                    "daemon: prometheus",
                    format!("{p:?} is not an address:port ({e})"),
                )
            })?;
        }
        let mut names = BTreeSet::new();
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.aggregations.len());
        for (i, spec) in self.aggregations.iter().enumerate() {
            if !names.insert(spec.name.as_str()) {
                return Err(ConfigError::invalid(
                    format!("aggregation #{}: name", i + 1),
                    format!("duplicate aggregation name `{}`", spec.name),
                ));
            }
            for link in &spec.links {
                if let Some(other) = owner.insert(link.as_str(), spec.name.as_str()) {
                    return Err(ConfigError::invalid(
                        format!("aggregation `{}`: links", spec.name),
                        if other == spec.name {
                            format!("link `{link}` is listed twice")
                        } else {
                            format!("link `{link}` is already a member of aggregation `{other}`")
                        },
                    ));
                }
            }
            out.push(spec.resolve(env)?);
        }
        crate::dt::config::check(self, &out)?;
        for spec in &self.aggregations {
            if let Some(other) = owner.get(spec.name.as_str()) {
                return Err(ConfigError::invalid(
                    format!("aggregation `{}`: name", spec.name),
                    format!(
                        "the aggregate is named like a member link of aggregation `{other}`: choose another name"
                    ),
                ));
            }
        }
        Ok(out)
    }
}

impl AggrSpec {
    /// Validates this aggregation alone (no conflicts with others) and applies the defaults.
    pub fn resolve(&self, env: &dyn LinkEnv) -> Result<Resolved, ConfigError> {
        let ctx = |field: &str| {
            if self.name.is_empty() {
                format!("aggregation (unnamed): {field}")
            } else {
                format!("aggregation `{}`: {field}", self.name)
            }
        };
        let bad = |field: &str, msg: String| ConfigError::invalid(ctx(field), msg);
        if self.name.is_empty() {
            return Err(bad("name", "missing or empty".into()));
        }
        if !valid_ifname(&self.name) {
            return Err(bad(
                "name",
                format!(
                    "`{}` is not a valid interface name (1 to {MAX_IFNAME} printable characters, no '/', ':' or space)",
                    self.name
                ),
            ));
        }
        if self.links.is_empty() {
            return Err(bad("links", "at least one member link is needed".into()));
        }
        let mut seen = BTreeSet::new();
        for link in &self.links {
            if !seen.insert(link) {
                return Err(bad("links", format!("link `{link}` is listed twice")));
            }
            if *link == self.name {
                return Err(bad(
                    "links",
                    format!("the aggregate `{link}` cannot be its own member"),
                ));
            }
            if !valid_ifname(link) {
                return Err(bad(
                    "links",
                    format!("`{link}` is not a valid interface name"),
                ));
            }
            if !env.link_exists(link) {
                return Err(bad(
                    "links",
                    format!("unknown link `{link}`: no such interface"),
                ));
            }
        }
        for link in self.port.keys() {
            if !self.links.contains(link) {
                return Err(bad(
                    &format!("port.{link}"),
                    format!("`{link}` is not in links = {:?}", self.links),
                ));
            }
        }
        let mode = self.mode.unwrap_or_default();
        let lacp = match (mode, self.lacp) {
            (AggrMode::Lacp, None) => LacpActivity::Active,
            (AggrMode::Lacp, Some(LacpActivity::Off)) => {
                return Err(bad(
                    "lacp",
                    "mode `lacp` needs lacp = \"active\" or \"passive\"; for a trunk without LACP use mode = \"static\"".into(),
                ));
            }
            (AggrMode::Static, Some(a @ (LacpActivity::Active | LacpActivity::Passive))) => {
                return Err(bad(
                    "lacp",
                    format!(
                        "mode `static` sends no LACPDU, but lacp = {:?}; use mode = \"lacp\" or lacp = \"off\"",
                        format!("{a:?}").to_lowercase()
                    ),
                ));
            }
            (_, Some(a)) => a,
            (_, None) => LacpActivity::Off,
        };
        let policy = parse_policy(self.policy.as_deref().unwrap_or("L3,L4"))
            .map_err(|m| bad("policy", m))?;
        let mac = match &self.mac {
            None => None,
            Some(s) => {
                let m: MacAddr = s
                    .parse()
                    .map_err(|e: lagd_types::MacParseError| bad("mac", e.to_string()))?;
                if m.is_multicast() || m.is_zero() {
                    return Err(bad(
                        "mac",
                        format!("{m} is not a unicast address (multicast bit set, or all zeros)"),
                    ));
                }
                Some(m)
            }
        };
        let mtu = self.mtu.unwrap_or(DEFAULT_MTU);
        if !(68..=65535).contains(&mtu) {
            return Err(bad("mtu", format!("{mtu} is out of range 68..=65535")));
        }
        let min_links = self.min_links.unwrap_or(1);
        if min_links == 0 {
            return Err(bad("min_links", "must be at least 1".into()));
        }
        if let Some(0) = self.max_active {
            return Err(bad(
                "max_active",
                "must be at least 1 (omit it for no limit)".into(),
            ));
        }
        if let Some(max) = self.max_active
            && max < min_links
        {
            return Err(bad(
                "max_active",
                format!("{max} is below min_links = {min_links}: the aggregate could never be up"),
            ));
        }
        let fallback_timeout = parse_duration(
            self.fallback_timeout
                .as_deref()
                .unwrap_or(DEFAULT_FALLBACK_TIMEOUT),
        )
        .map_err(|e| bad("fallback_timeout", e.to_string()))?;
        let fallback = match self.fallback.unwrap_or(FallbackSpec::Off) {
            FallbackSpec::Off => None,
            k => {
                if lacp == LacpActivity::Off {
                    return Err(bad(
                        "fallback",
                        "fallback applies only when LACP runs (lacp = \"active\" or \"passive\")"
                            .into(),
                    ));
                }
                if fallback_timeout == Duration::ZERO {
                    return Err(bad("fallback_timeout", "must be longer than 0".into()));
                }
                Some((k, fallback_timeout))
            }
        };
        let rebalance_interval = parse_optional_duration(
            self.rebalance_interval
                .as_deref()
                .unwrap_or(DEFAULT_REBALANCE),
        )
        .map_err(|e| bad("rebalance_interval", e.to_string()))?;
        if rebalance_interval == Some(Duration::ZERO) {
            return Err(bad(
                "rebalance_interval",
                "must be longer than 0 (use \"off\" to disable)".into(),
            ));
        }
        let bfd = match &self.bfd {
            Some(b) if b.enabled != Some(false) => {
                let interval = match &b.interval {
                    Some(i) => parse_duration(i).map_err(|e| bad("bfd.interval", e.to_string()))?,
                    None => lagd_bfd::DEFAULT_INTERVAL,
                };
                let mult = b
                    .multiplier
                    .unwrap_or(u32::from(lagd_bfd::DEFAULT_DETECT_MULT));
                let mult = u8::try_from(mult).ok().filter(|m| *m > 0).ok_or_else(|| {
                    bad("bfd.multiplier", format!("{mult} is out of range 1..=255"))
                })?;
                let c = lagd_bfd::BfdConfig::new(interval, mult);
                c.validate()
                    .map_err(|e| bad("bfd.interval", e.to_string()))?;
                Some(c)
            }
            _ => None,
        };
        let port_priority = self
            .port
            .iter()
            .filter_map(|(l, p)| p.priority.map(|pr| (l.clone(), pr)))
            .collect();
        Ok(Resolved {
            name: self.name.clone(),
            links: self.links.clone(),
            mode,
            lacp,
            timer: self.timer.unwrap_or(LacpTimerSpec::Short),
            policy,
            mac,
            mtu,
            min_links,
            max_active: self.max_active,
            fallback,
            system_priority: self.system_priority.unwrap_or(DEFAULT_PRIORITY),
            key: self.key.unwrap_or(DEFAULT_KEY),
            rebalance_interval,
            force: self.force.unwrap_or(false),
            port_priority,
            distributed: self.distributed.unwrap_or(false),
            dt_id: self.dt_id.or(self.key).unwrap_or(DEFAULT_KEY),
            offload: self.offload.unwrap_or_default(),
            bfd,
            port_base: 0,
        })
    }
}

impl Resolved {
    /// The fallback timeout as written in the config (for display).
    pub fn fallback_text(&self) -> String {
        match self.fallback {
            None => "off".into(),
            Some((k, t)) => format!("{k:?} after {}", format_duration(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Links(&'static [&'static str]);
    impl LinkEnv for Links {
        fn link_exists(&self, name: &str) -> bool {
            self.0.contains(&name)
        }
    }
    const ENV: Links = Links(&["eth1", "eth2", "eth3", "eth4"]);

    const GOOD: &str = r#"
[daemon]
prometheus = "127.0.0.1:9477"

[[aggregation]]
name = "aggr1"
links = ["eth1", "eth2"]
mode = "lacp"
lacp = "active"
timer = "short"
policy = "l3,L4"
mac = "02:00:00:00:00:01"
mtu = 9000
min_links = 1
max_active = 2
fallback = "one-member"
fallback_timeout = "10s"
system_priority = 100
key = 7
rebalance_interval = "off"
force = true

[aggregation.port.eth2]
priority = 10

[[aggregation]]
name = "aggr2"
links = ["eth3"]
mode = "active-backup"
"#;

    #[test]
    fn parses_and_resolves_every_field() {
        let c = Config::parse(GOOD).unwrap();
        let r = c.validate(&ENV).unwrap();
        assert_eq!(r.len(), 2);
        let a = &r[0];
        assert_eq!(a.policy, "L3,L4");
        assert_eq!(a.mac, Some("02:00:00:00:00:01".parse().unwrap()));
        assert_eq!(a.mtu, 9000);
        assert_eq!(a.max_active, Some(2));
        assert_eq!(
            a.fallback,
            Some((FallbackSpec::OneMember, Duration::from_secs(10)))
        );
        assert_eq!(a.rebalance_interval, None);
        assert_eq!(a.priority_of("eth2"), 10);
        assert_eq!(a.priority_of("eth1"), DEFAULT_PRIORITY);
        assert_eq!((a.system_priority, a.key), (100, 7));
        assert!(a.force);
        let b = &r[1];
        assert_eq!(b.mode, AggrMode::ActiveBackup);
        assert_eq!(b.lacp, LacpActivity::Off);
        assert_eq!(b.timer, LacpTimerSpec::Short);
        assert_eq!(b.mtu, DEFAULT_MTU);
        assert_eq!(b.rebalance_interval, Some(Duration::from_secs(1)));
        assert_eq!(b.fallback, None);
    }

    #[test]
    fn defaults_of_a_minimal_aggregation() {
        let c = Config::parse("[[aggregation]]\nname = \"a\"\nlinks = [\"eth1\"]\n").unwrap();
        let r = c.validate(&ENV).unwrap();
        assert_eq!(r[0].mode, AggrMode::Lacp);
        assert_eq!(r[0].lacp, LacpActivity::Active);
        assert_eq!(r[0].policy, "L3,L4");
        assert_eq!(r[0].min_links, 1);
        assert_eq!(r[0].mac, None);
    }

    /// Each bad config with a fragment its error message must contain.
    #[test]
    fn bfd_settings() {
        let spec = |body: &str| -> AggrSpec {
            let c: Config = toml::from_str(&format!(
                "[[aggregation]]\nname = \"aggr1\"\nlinks = [\"eth1\"]\n{body}\n"
            ))
            .unwrap();
            c.aggregations[0].clone()
        };
        let r = spec("bfd = { interval = \"50ms\", multiplier = 3 }")
            .resolve(&AnyLinks)
            .unwrap();
        assert_eq!(
            r.bfd,
            Some(lagd_bfd::BfdConfig::new(Duration::from_millis(50), 3))
        );
        let r = spec("bfd = {}").resolve(&AnyLinks).unwrap();
        assert_eq!(r.bfd, Some(lagd_bfd::BfdConfig::default()));
        assert_eq!(spec("").resolve(&AnyLinks).unwrap().bfd, None);
        let off = spec("bfd = { enabled = false, interval = \"10ms\" }");
        assert_eq!(off.resolve(&AnyLinks).unwrap().bfd, None);
        // modify-aggr replaces the table whole.
        let s = spec("bfd = { interval = \"50ms\" }").with_changes(&AggrChanges {
            bfd: Some(BfdSpec {
                multiplier: Some(5),
                ..BfdSpec::default()
            }),
            ..AggrChanges::default()
        });
        assert_eq!(
            s.resolve(&AnyLinks).unwrap().bfd,
            Some(lagd_bfd::BfdConfig::new(lagd_bfd::DEFAULT_INTERVAL, 5))
        );
    }

    #[test]
    fn bad_configs_are_refused_with_a_message_naming_the_problem() {
        let agg = |body: &str| format!("[[aggregation]]\nname = \"aggr1\"\n{body}\n");
        let cases: Vec<(String, &str)> = vec![
            (agg("links = [\"eth9\"]"), "unknown link `eth9`"),
            (
                format!(
                    "{}{}",
                    agg("links = [\"eth1\"]"),
                    "[[aggregation]]\nname = \"aggr2\"\nlinks = [\"eth1\"]\n"
                ),
                "link `eth1` is already a member of aggregation `aggr1`",
            ),
            (
                format!(
                    "{}{}",
                    agg("links = [\"eth1\"]"),
                    "[[aggregation]]\nname = \"aggr1\"\nlinks = [\"eth2\"]\n"
                ),
                "duplicate aggregation name `aggr1`",
            ),
            (
                format!(
                    "{}{}",
                    agg("links = [\"eth1\"]"),
                    "[[aggregation]]\nname = \"eth1\"\nlinks = [\"eth2\"]\n"
                ),
                "aggregation `eth1`: name: the aggregate is named like a member link of aggregation `aggr1`",
            ),
            (agg("links = [\"aggr1\"]"), "cannot be its own member"),
            (
                agg("links = [\"eth1\"]\nmac = \"02:00:00:00:00\""),
                "aggregation `aggr1`: mac: invalid MAC address",
            ),
            (
                agg("links = [\"eth1\"]\nmac = \"01:00:5e:00:00:01\""),
                "not a unicast address",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { interval = \"500us\" }"),
                "aggregation `aggr1`: bfd.interval: invalid duration",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { interval = \"2m\" }"),
                "aggregation `aggr1`: bfd.interval: BFD interval 120.0s out of range",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { multiplier = 0 }"),
                "aggregation `aggr1`: bfd.multiplier: 0 is out of range 1..=255",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { multiplier = 300 }"),
                "bfd.multiplier: 300 is out of range",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { interval = \"50ms\", mult = 3 }"),
                "unknown field `mult`",
            ),
            (
                agg("links = [\"eth1\"]\npolicy = \"L3,L5\""),
                "aggregation `aggr1`: policy: unknown hash policy layer \"L5\"",
            ),
            (agg("links = [\"eth1\"]\npolicy = \"L3,l3\""), "given twice"),
            (
                agg("links = [\"eth1\"]\nmode = \"lacp\"\nlacp = \"off\""),
                "aggregation `aggr1`: lacp: mode `lacp` needs",
            ),
            (
                agg("links = [\"eth1\"]\nmode = \"static\"\nlacp = \"active\""),
                "mode `static` sends no LACPDU",
            ),
            (
                agg("links = [\"eth1\"]\nmode = \"bond\""),
                "unknown variant `bond`",
            ),
            (
                agg("links = [\"eth1\"]\nspeed = 5"),
                "unknown field `speed`",
            ),
            (
                agg("links = []"),
                "aggregation `aggr1`: links: at least one member",
            ),
            (agg("links = [\"eth1\", \"eth1\"]"), "listed twice"),
            (
                agg("links = [\"eth1\"]\nmtu = 20"),
                "aggregation `aggr1`: mtu: 20 is out of range",
            ),
            (
                agg("links = [\"eth1\"]\nmin_links = 0"),
                "min_links: must be at least 1",
            ),
            (
                agg("links = [\"eth1\"]\nmin_links = 3\nmax_active = 2"),
                "max_active: 2 is below min_links = 3",
            ),
            (
                agg("links = [\"eth1\"]\nfallback = \"static\"\nfallback_timeout = \"6x\""),
                "fallback_timeout: invalid duration \"6x\"",
            ),
            (
                agg("links = [\"eth1\"]\nmode = \"static\"\nfallback = \"one-member\""),
                "fallback: fallback applies only when LACP runs",
            ),
            (
                agg("links = [\"eth1\"]\nrebalance_interval = \"0s\""),
                "rebalance_interval: must be longer than 0",
            ),
            (
                agg("links = [\"eth1\"]\n[aggregation.port.eth2]\npriority = 1"),
                "aggregation `aggr1`: port.eth2: `eth2` is not in links",
            ),
            (
                "[[aggregation]]\nname = \"a-very-long-aggregate-name\"\nlinks = [\"eth1\"]\n"
                    .to_string(),
                "is not a valid interface name",
            ),
            (
                "[[aggregation]]\nlinks = [\"eth1\"]\n".to_string(),
                "missing field `name`",
            ),
            (
                "[daemon]\nprometheus = \"localhost\"\n".to_string(),
                "daemon: prometheus: \"localhost\" is not an address:port",
            ),
            ("[[aggregation]\n".to_string(), "TOML parse error"),
        ];
        for (text, want) in cases {
            let err = Config::parse(&text)
                .and_then(|c| c.validate(&ENV))
                .expect_err(&format!("accepted:\n{text}"));
            let msg = err.to_string();
            assert!(
                msg.contains(want),
                "for\n{text}\nerror {msg:?}\ndoes not contain {want:?}"
            );
        }
    }

    #[test]
    fn changes_apply_on_top_of_a_spec() {
        let spec = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        let ch = AggrChanges {
            timer: Some(LacpTimerSpec::Long),
            max_active: Some(1),
            port_priority: [("eth2".to_string(), 5)].into_iter().collect(),
            ..AggrChanges::default()
        };
        let s = spec.with_changes(&ch);
        assert_eq!(s.timer, Some(LacpTimerSpec::Long));
        assert_eq!(s.max_active, Some(1));
        assert_eq!(s.port["eth2"].priority, Some(5));
        assert_eq!(s.links, spec.links);
        let r = s.resolve(&ENV).unwrap();
        assert_eq!(r.priority_of("eth2"), 5);
        let cleared = s.with_changes(&AggrChanges {
            max_active: Some(0),
            ..AggrChanges::default()
        });
        assert_eq!(cleared.max_active, None);
    }

    #[test]
    fn write_back_is_atomic_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("lagd-config-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("lagd.toml");
        let c = Config::parse(GOOD).unwrap();
        c.write_atomic(&path).unwrap();
        let back = Config::load(&path).unwrap();
        assert_eq!(back, c);
        // Only the file itself is left: the temporary was renamed.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["lagd.toml".to_string()]);
        // Defaults are not written out: the file stays as small as what the user wrote.
        let mut small = Config::default();
        small.aggregations.push(AggrSpec::new("a", &["eth1"]));
        small.write_atomic(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("mtu"), "{text}");
        assert_eq!(Config::load(&path).unwrap(), small);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_empty_config() {
        let c = Config::load(Path::new("/nonexistent/lagd/lagd.toml")).unwrap();
        assert!(c.aggregations.is_empty());
    }
}
