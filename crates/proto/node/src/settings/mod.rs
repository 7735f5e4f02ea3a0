//! The settings of an aggregation: each concept one type, declared once, named as 802.1AX
//! names it; one all-optional [`AggrSettings`] for a definition (missing = default), a live
//! change and a scenario's patch (missing = unchanged); one [`AggrSpec::resolve`] with one set
//! of defaults.
//!
//! # One vocabulary
//! A setting has one name: the field of [`AggrSettings`] is the configuration file's key, the
//! control protocol's JSON name, and, with `_` written `-`, the command line's long flag
//! (`lacp_mode` = `--lacp-mode`). Older spellings stay readable as aliases (`lacp`, `timer`),
//! and are written back under the one name. [`Syntax`] renders a setting, or a setting with a
//! value, in the language of the interface a user typed in, so errors and suggested fixes read
//! `lacp_mode = "active"` in the file and `--lacp-mode active` on the command line.
//!
//! # Adding a setting
//! 1. a field in [`AggrSettings`] (serde name = the file key = the JSON name; changes, patches,
//!    rendering and write-back follow from serde);
//! 2. its default and check in `resolve.rs`, its value in [`Resolved`], and its place in the
//!    core's configuration in `cores.rs`;
//! 3. the CLI flag `--the-name` (lagctl's `AggrOpts`), and `docs/CONFIG.md`;
//! 4. to show it in force in `show-aggr`: a field of `lagd_control::proto::Settings` and its
//!    line in `Settings::of` (the one place that builds that view from [`Resolved`]), and the
//!    field in the `show-aggr` JSON schemas (`docs/schema/show-aggr*.json`); the JSON of
//!    `lagctl show-aggr` carries every field of that view, so lagctl needs nothing unless the
//!    text of `-x` is to show it too.
//!
//! Nothing else: the daemon, the control protocol, write-back and the simulator carry
//! [`AggrSettings`] whole.

mod cores;
mod keys;
mod resolve;
pub mod spelling;
mod text;

use std::collections::BTreeMap;

pub use lagd_agg::lagd_lacp::AdSelect;
pub use lagd_types::{AggrMode, Fallback};
use lagd_types::{Key, LacpActivity, LacpTimeout, Priority};
use serde::{Deserialize, Serialize};

pub use keys::check_unique_keys;
pub use resolve::{
    DEFAULT_FALLBACK_TIMEOUT, DEFAULT_KEY, DEFAULT_MTU, DEFAULT_PRIORITY, DEFAULT_REBALANCE,
    LinkEnv, MAX_IFNAME, Resolved, valid_ifname,
};
pub use text::{SettingsError, Syntax, names, values};

/// Whether the kernel fast path carries the data frames (`offload`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Offload {
    /// Use the kernel path where it works; fall back to the user-space path per aggregation,
    /// saying why (default).
    #[default]
    Auto,
    /// The kernel path or nothing: an aggregation that cannot have it fails to start.
    On,
    /// The user-space path only.
    Off,
}

impl Offload {
    /// The name as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Offload::Auto => "auto",
            Offload::On => "on",
            Offload::Off => "off",
        }
    }
}

impl core::fmt::Display for Offload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Offload {
    type Err = String;
    /// `auto`, `on` or `off` (and the booleans' spellings `true`/`yes`, `false`/`no`).
    fn from_str(s: &str) -> Result<Offload, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Offload::Auto),
            "on" | "true" | "yes" => Ok(Offload::On),
            "off" | "false" | "no" => Ok(Offload::Off),
            _ => Err(format!("`{s}`: expected auto, on or off")),
        }
    }
}

/// Receive steering on the aggregate (`rx_steering`): whether the frames the kernel fast path
/// delivers go through the backlog of a CPU picked by their flow (RPS by flow), so that frames
/// of one conversation handed on from two CPUs (two members, or one member whose receive path
/// moves between CPUs: a veth's, a NIC's whose interrupt moves) leave in the order they came.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RxSteering {
    /// lagd's choice (default): by flow wherever the kernel path delivers; see
    /// `docs/ARCHITECTURE.md` for why one collecting member is no exception.
    #[default]
    Auto,
    /// By flow.
    On,
    /// Each frame through the backlog of the CPU that received it: cheaper, and in order only
    /// where every member hands a conversation on from one CPU (a NIC queue whose interrupt is
    /// bound to one CPU, or a member with RPS of its own).
    Off,
}

impl RxSteering {
    /// The name as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            RxSteering::Auto => "auto",
            RxSteering::On => "on",
            RxSteering::Off => "off",
        }
    }

    /// Whether frames are steered by flow under this setting.
    pub const fn by_flow(self) -> bool {
        !matches!(self, RxSteering::Off)
    }
}

impl core::fmt::Display for RxSteering {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for RxSteering {
    type Err = String;
    /// `auto`, `on` or `off`.
    fn from_str(s: &str) -> Result<RxSteering, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(RxSteering::Auto),
            "on" => Ok(RxSteering::On),
            "off" => Ok(RxSteering::Off),
            _ => Err(format!("`{s}`: expected auto, on or off")),
        }
    }
}

/// `offload` as written: `"auto"`, `"on"`, `"off"`, or (earlier configurations) a boolean.
fn offload_compat<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Offload>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Bool(true)) => Some(Offload::On),
        Some(Raw::Bool(false)) => Some(Offload::Off),
        Some(Raw::Text(t)) => Some(t.parse().map_err(serde::de::Error::custom)?),
    })
}

/// How a conversation move between members is protected against reordering (the kind; its
/// durations are `marker_timeout` and `collector_delay`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveProtectionKind {
    /// The Marker protocol (802.1AX §6.5), with `marker_timeout` for partners that never
    /// answer (default).
    #[default]
    Marker,
    /// Stop the conversation for `collector_delay`, then move.
    CollectorDelay,
    /// Move at once.
    None,
}

/// Per-member settings (`[aggregation.port.<link>]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSettings {
    /// Port_Priority (§6.3.4); lower is better. Default 32768.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// `bfd = { interval = "50ms", multiplier = 3 }`: micro-BFD (RFC 7130) on every member. A
/// change replaces the table whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfdSettings {
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

/// The settings of an aggregation, every one optional. As a definition, a missing setting takes
/// its default ([`AggrSpec::resolve`]); as a change or a patch, a missing setting is left as it
/// is ([`AggrSettings::apply`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggrSettings {
    /// LACP or not, and the distribution (default `lacp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AggrMode>,
    /// LACP_Activity (default `active` in mode `lacp`, `off` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "lacp")]
    pub lacp_mode: Option<LacpActivity>,
    /// LACP_Timeout (default `short`, as dladm).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "timer")]
    pub lacp_timer: Option<LacpTimeout>,
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
    /// At most this many members active; the others are Standby. In a change, 0 removes the
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active: Option<usize>,
    /// How the one active Aggregator is chosen when members reach different partners or keys
    /// (Linux bonding's `ad_select`): `stable` (default; keeps it while it has a member in
    /// sync with a real partner), `bandwidth` or `count` (reconsidered on every change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_select: Option<AdSelect>,
    /// Fallback when the partner sends no LACPDU (default `off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// How long without LACPDU before fallback (default `"6s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_timeout: Option<String>,
    /// System_Priority (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_priority: Option<Priority>,
    /// Actor_Admin_Aggregator_Key of every member (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// Load rebalancing interval, or `"off"` (default `"1s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_interval: Option<String>,
    /// Take members even when they have IP addresses (they are removed and restored later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Per-member settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port: BTreeMap<String, PortSettings>,
    /// A Distributed Trunking aggregation: its members go to this switch, its partner also
    /// has members on the DT peer (see `docs/DT.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<bool>,
    /// DT aggregation id pairing the two halves (default: the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt_id: Option<u16>,
    /// Kernel fast path for data frames: auto (default), on or off.
    #[serde(
        default,
        deserialize_with = "offload_compat",
        skip_serializing_if = "Option::is_none"
    )]
    pub offload: Option<Offload>,
    /// Receive steering by flow on the aggregate (kernel fast path): auto (default), on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_steering: Option<RxSteering>,
    /// Aggregate_Wait_Time (802.1AX §6.4.4): how long the members of a new aggregation gather
    /// before it attaches (default `"2s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_wait: Option<String>,
    /// Micro-BFD on every member (RFC 7130): a member whose session is not Up neither
    /// collects nor distributes. Default off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSettings>,
    /// Coupled (default) or independent Mux control of Collecting and Distributing (§6.4.15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupled_control: Option<bool>,
    /// Number of distribution buckets (a power of two, default 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<usize>,
    /// Rebalancing hysteresis, a fraction of the mean member load (default 0.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_threshold: Option<f64>,
    /// Smallest load gap, in bytes per rebalance interval, worth a move (default 125000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rebalance_bytes: Option<u64>,
    /// How conversation moves are protected against reordering (default `marker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_protection: Option<MoveProtectionKind>,
    /// How long the Marker generator waits for a Marker Response (default `"1s"`; with
    /// `marker` move protection also the move's timeout, default `"100ms"` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_timeout: Option<String>,
    /// The pause of `collector-delay` move protection (default `"10ms"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector_delay: Option<String>,
}

impl AggrSettings {
    /// Applies `change` over these settings: every setting present in `change` replaces the
    /// current one; `max_active = 0` removes the limit; per-member settings merge.
    ///
    /// A lone `lacp_mode = "off"` on a LACP aggregation makes it a static trunk, and a lone
    /// `lacp_mode = "active"`/`"passive"` (or `mode = "lacp"`) on a static trunk turns LACP back
    /// on, as `dladm modify-aggr -L` does; likewise a lone `mode = "static"` stops LACP.
    pub fn apply(&mut self, change: &AggrSettings) {
        let (mode, lacp) = mode_and_lacp(change.mode, change.lacp_mode, self.mode, self.lacp_mode);
        let mut mine = table_of(self);
        for (key, value) in table_of(change) {
            match (key.as_str(), value, mine.get_mut(&key)) {
                ("port", toml::Value::Table(ports), Some(toml::Value::Table(current))) => {
                    for (link, p) in ports {
                        match (p, current.get_mut(&link)) {
                            (toml::Value::Table(p), Some(toml::Value::Table(cur))) => cur.extend(p),
                            (p, _) => {
                                current.insert(link, p);
                            }
                        }
                    }
                }
                (_, value, _) => {
                    mine.insert(key, value);
                }
            }
        }
        let mut out = AggrSettings::deserialize(toml::Value::Table(mine))
            .expect("settings read back what they wrote");
        if out.max_active == Some(0) {
            out.max_active = None;
        }
        out.mode = mode.or(self.mode);
        out.lacp_mode = lacp.or(self.lacp_mode);
        *self = out;
    }

    /// These settings with `change` applied.
    pub fn with(&self, change: &AggrSettings) -> AggrSettings {
        let mut s = self.clone();
        s.apply(change);
        s
    }

    /// Whether no setting is present.
    pub fn is_empty(&self) -> bool {
        *self == AggrSettings::default()
    }

    /// The settings present, each as its name and its value as written in the file (TOML).
    pub fn entries(&self) -> Vec<(String, toml::Value)> {
        table_of(self).into_iter().collect()
    }

    /// These settings in `syntax`: `--lacp-mode active --mtu 9000` for the command line,
    /// `lacp_mode = "active"`, `mtu = 9000` (one per line) for the file.
    pub fn render(&self, syntax: Syntax) -> String {
        let parts: Vec<String> = self
            .entries()
            .iter()
            .flat_map(|(k, v)| text::assignments(k, v))
            .map(|(k, v)| syntax.assignment(&k, &v))
            .collect();
        parts.join(syntax.separator())
    }
}

/// The settings present as a TOML table (the serialised form: file keys, values as written).
fn table_of(s: &AggrSettings) -> toml::Table {
    match toml::Value::try_from(s) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

/// Mode and LACP activity of a change, given what is in force: `lacp_mode = "off"` alone means
/// a static trunk; `lacp_mode = "active"|"passive"` or `mode = "lacp"` alone on a static trunk
/// turns LACP back on; `mode = "static"` alone stops LACP.
fn mode_and_lacp(
    mode: Option<AggrMode>,
    lacp: Option<LacpActivity>,
    current_mode: Option<AggrMode>,
    current_lacp: Option<LacpActivity>,
) -> (Option<AggrMode>, Option<LacpActivity>) {
    match (mode, lacp) {
        (None, Some(LacpActivity::Off)) if current_mode.unwrap_or_default() == AggrMode::Lacp => {
            (Some(AggrMode::Static), lacp)
        }
        (None, Some(LacpActivity::Active | LacpActivity::Passive))
            if current_mode == Some(AggrMode::Static) =>
        {
            (Some(AggrMode::Lacp), lacp)
        }
        (Some(AggrMode::Lacp), None) if current_lacp == Some(LacpActivity::Off) => {
            (mode, Some(LacpActivity::Active))
        }
        (Some(AggrMode::Static), None)
            if matches!(
                current_lacp,
                Some(LacpActivity::Active | LacpActivity::Passive)
            ) =>
        {
            (mode, Some(LacpActivity::Off))
        }
        other => other,
    }
}

/// One `[[aggregation]]`: its name, its members and its settings.
///
/// In TOML and JSON the settings sit beside `name` and `links` (one flat table); an unknown key
/// is refused by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AggrSpec {
    /// The aggregate's name: the interface the host uses (at most 15 characters).
    pub name: String,
    /// Member interfaces.
    pub links: Vec<String>,
    /// Its settings.
    #[serde(flatten)]
    pub settings: AggrSettings,
}

impl<'de> Deserialize<'de> for AggrSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let name = match table.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "name: expected a string, found {}",
                    other.type_str()
                )));
            }
            None => return Err(D::Error::missing_field("name")),
        };
        let links = match table.remove("links") {
            Some(v) => Vec::<String>::deserialize(v).map_err(D::Error::custom)?,
            None => Vec::new(),
        };
        let settings =
            AggrSettings::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                D::Error::custom(format!(
                    "aggregation `{name}`: {}{}",
                    e.message(),
                    foreign_value_hint(&table, e.message())
                ))
            })?;
        Ok(AggrSpec {
            name,
            links,
            settings,
        })
    }
}

/// For "unknown variant `X`": which setting holds `X`, and lagd's spelling of it.
fn foreign_value_hint(table: &toml::Table, message: &str) -> String {
    let Some(value) = message
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.split('`').next())
    else {
        return String::new();
    };
    let known_of = |key: &str| -> &'static [&'static str] {
        match key {
            "mode" => values::<AggrMode>(),
            "lacp_mode" | "lacp" => values::<LacpActivity>(),
            "lacp_timer" | "timer" => values::<LacpTimeout>(),
            "fallback" => values::<Fallback>(),
            "offload" => values::<Offload>(),
            "rx_steering" => values::<RxSteering>(),
            _ => &[],
        }
    };
    table
        .iter()
        .find(|(k, v)| v.as_str() == Some(value) && !known_of(k).is_empty())
        .map(|(k, _)| {
            let key = match k.as_str() {
                "lacp" => "lacp_mode",
                "timer" => "lacp_timer",
                other => other,
            };
            spelling::suggestion(key, value, known_of(k))
        })
        .unwrap_or_default()
}

impl core::ops::Deref for AggrSpec {
    type Target = AggrSettings;
    fn deref(&self) -> &AggrSettings {
        &self.settings
    }
}

impl core::ops::DerefMut for AggrSpec {
    fn deref_mut(&mut self) -> &mut AggrSettings {
        &mut self.settings
    }
}

impl AggrSpec {
    /// A LACP aggregation of `links` with every default.
    pub fn new(name: &str, links: &[&str]) -> Self {
        AggrSpec {
            name: name.to_string(),
            links: links.iter().map(|s| s.to_string()).collect(),
            settings: AggrSettings::default(),
        }
    }

    /// This spec with `change` applied (not validated).
    pub fn with_changes(&self, change: &AggrSettings) -> AggrSpec {
        AggrSpec {
            settings: self.settings.with(change),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests;
