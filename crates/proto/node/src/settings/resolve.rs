//! One set of defaults and checks: [`AggrSpec::resolve`] turns an aggregation as written into
//! a [`Resolved`] one, or refuses it naming the setting.

use std::collections::{BTreeMap, BTreeSet};

use lagd_agg::lagd_distrib::{HashPolicy, MoveProtection};
use lagd_types::{
    Duration, Key, LacpActivity, LacpTimeout, MacAddr, Priority, format_duration, parse_duration,
    parse_optional_duration,
};
use serde::Serialize;

use super::{AggrMode, AggrSpec, Fallback, MoveProtectionKind, Offload, RxSteering, SettingsError};

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
/// Default Marker move timeout (Marker move protection).
const DEFAULT_MOVE_MARKER_TIMEOUT: Duration = Duration::from_millis(100);
/// Default pause of collector-delay move protection.
const DEFAULT_COLLECTOR_DELAY: Duration = Duration::from_millis(10);

/// What validation needs to know about the machine.
pub trait LinkEnv {
    /// Whether a network interface of that name exists.
    fn link_exists(&self, name: &str) -> bool;
    /// The names of the interfaces there are (for "did you mean"; none when unknown).
    fn link_names(&self) -> Vec<String> {
        Vec::new()
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

/// A validated aggregation with every default applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolved {
    /// Name of the aggregate.
    pub name: String,
    /// Members, in configuration order.
    pub links: Vec<String>,
    /// Mode.
    pub mode: AggrMode,
    /// LACP_Activity.
    pub lacp_mode: LacpActivity,
    /// LACP_Timeout.
    pub lacp_timer: LacpTimeout,
    /// Hash policy.
    pub policy: HashPolicy,
    /// The configured MAC, if any.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Min-links.
    pub min_links: usize,
    /// Max-active.
    pub max_active: Option<usize>,
    /// How the active Aggregator is chosen.
    pub ad_select: super::AdSelect,
    /// Fallback kind and timeout (`None` = off).
    pub fallback: Option<(Fallback, Duration)>,
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
    /// The kernel fast path: auto (default), on or off.
    pub offload: Offload,
    /// Receive steering by flow on the aggregate: auto (default), on or off.
    pub rx_steering: RxSteering,
    /// Aggregate_Wait_Time.
    pub aggregate_wait: Duration,
    /// Micro-BFD timing, when on.
    pub bfd: Option<lagd_bfd::BfdConfig>,
    /// Coupled Mux control.
    pub coupled_control: bool,
    /// Distribution buckets as asked (the distributor rounds).
    pub buckets: Option<usize>,
    /// Rebalancing hysteresis.
    pub rebalance_threshold: Option<f64>,
    /// Smallest load gap worth a move.
    pub min_rebalance_bytes: Option<u64>,
    /// Move protection.
    pub move_protection: MoveProtection,
    /// The Marker generator's timeout (`None`: the core's default).
    pub marker_timeout: Option<Duration>,
    /// Added to every member's port number (Distributed Trunking: 0x8000 on the secondary);
    /// set by the DT reconciliation, 0 otherwise.
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

    /// The fallback as shown to people: `off`, or its kind and timeout.
    pub fn fallback_text(&self) -> String {
        match self.fallback {
            None => "off".into(),
            Some((k, t)) => format!("{} after {}", k.as_str(), format_duration(t)),
        }
    }
}

impl AggrSpec {
    /// Validates this aggregation alone (no conflicts with others) and applies the defaults:
    /// its name and members as Linux interfaces in `env`, then its settings.
    pub fn resolve(&self, env: &dyn LinkEnv) -> Result<Resolved, SettingsError> {
        self.check_interfaces(env)?;
        self.resolve_settings()
    }

    /// The aggregate and its members as Linux interfaces: valid names, members that exist,
    /// none twice, the aggregate not its own member.
    pub fn check_interfaces(&self, env: &dyn LinkEnv) -> Result<(), SettingsError> {
        let bad = |field: &str, msg: String| SettingsError::new(&self.name, field, msg);
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
        }
        // Every unknown name at once, each with the close names there are.
        let unknown: Vec<&String> = self.links.iter().filter(|l| !env.link_exists(l)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let names = env.link_names();
        let listed: Vec<String> = unknown
            .iter()
            .map(|l| {
                format!(
                    "`{l}`{}",
                    super::spelling::did_you_mean(l, names.iter().map(String::as_str))
                )
            })
            .collect();
        let (what, list) = match listed.as_slice() {
            [one] => ("unknown link", one.clone()),
            _ => ("unknown links", listed.join(", ")),
        };
        Err(bad("links", format!("{what} {list}: no such interface")))
    }

    /// Validates the settings and applies the defaults (the members are taken as they are:
    /// the simulator's ports are not interfaces).
    pub fn resolve_settings(&self) -> Result<Resolved, SettingsError> {
        let s = &self.settings;
        let bad = |field: &str, msg: String| SettingsError::new(&self.name, field, msg);
        if self.links.is_empty() {
            return Err(bad("links", "at least one member link is needed".into()));
        }
        for link in s.port.keys() {
            if !self.links.contains(link) {
                return Err(bad(
                    &format!("port.{link}"),
                    format!(
                        "`{link}` is not one of the links ({})",
                        self.links.join(", ")
                    ),
                ));
            }
        }
        let mode = s.mode.unwrap_or_default();
        let lacp_mode = match (mode, s.lacp_mode) {
            (AggrMode::Lacp, None) => LacpActivity::Active,
            (AggrMode::Lacp, Some(LacpActivity::Off)) => {
                return Err(bad(
                    "lacp_mode",
                    "mode `lacp` needs {lacp_mode=active} or {lacp_mode=passive}; for a trunk without LACP use {mode=static}".into(),
                ));
            }
            (AggrMode::Static, Some(a @ (LacpActivity::Active | LacpActivity::Passive))) => {
                return Err(bad(
                    "lacp_mode",
                    format!(
                        "mode `static` sends no LACPDU, but {{lacp_mode={a}}}; use {{mode=lacp}} or {{lacp_mode=off}}"
                    ),
                ));
            }
            (m, Some(a @ (LacpActivity::Active | LacpActivity::Passive)))
                if m.is_switch_independent() =>
            {
                return Err(bad(
                    "lacp_mode",
                    format!(
                        "mode `{}` works with a switch that knows nothing of the aggregation and sends no LACPDU, but {{lacp_mode={a}}}; use {{mode=lacp}} or {{lacp_mode=off}}",
                        m.as_str()
                    ),
                ));
            }
            (_, Some(a)) => a,
            (_, None) => LacpActivity::Off,
        };
        let policy_text = s.policy.as_deref().unwrap_or("L3,L4");
        let policy: HashPolicy =
            policy_text
                .parse()
                .map_err(|e: lagd_agg::lagd_distrib::PolicyParseError| {
                    bad(
                        "policy",
                        format!(
                            "{e}{}",
                            super::spelling::suggestion("policy", policy_text, &[])
                        ),
                    )
                })?;
        let mac = match &s.mac {
            None => None,
            Some(text) => {
                let m: MacAddr = text
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
        let mtu = s.mtu.unwrap_or(DEFAULT_MTU);
        if !(68..=65535).contains(&mtu) {
            return Err(bad("mtu", format!("{mtu} is out of range 68..=65535")));
        }
        let min_links = s.min_links.unwrap_or(1);
        if min_links == 0 {
            return Err(bad("min_links", "must be at least 1".into()));
        }
        if let Some(0) = s.max_active {
            return Err(bad(
                "max_active",
                "must be at least 1 (omit it for no limit)".into(),
            ));
        }
        if let Some(max) = s.max_active
            && max < min_links
        {
            return Err(bad(
                "max_active",
                format!(
                    "{max} is below {{min_links={min_links}}}: the aggregate could never be up"
                ),
            ));
        }
        let duration = |field: &str, text: Option<&str>, default: &str| {
            parse_duration(text.unwrap_or(default)).map_err(|e| bad(field, e.to_string()))
        };
        let fallback_timeout = duration(
            "fallback_timeout",
            s.fallback_timeout.as_deref(),
            DEFAULT_FALLBACK_TIMEOUT,
        )?;
        let fallback = match s.fallback.unwrap_or_default() {
            Fallback::Off => None,
            k => {
                if lacp_mode == LacpActivity::Off {
                    return Err(bad(
                        "fallback",
                        "fallback applies only when LACP runs ({lacp_mode=active} or {lacp_mode=passive})"
                            .into(),
                    ));
                }
                if fallback_timeout == Duration::ZERO {
                    return Err(bad("fallback_timeout", "must be longer than 0".into()));
                }
                Some((k, fallback_timeout))
            }
        };
        let rebalance_interval =
            parse_optional_duration(s.rebalance_interval.as_deref().unwrap_or(DEFAULT_REBALANCE))
                .map_err(|e| bad("rebalance_interval", e.to_string()))?;
        if rebalance_interval == Some(Duration::ZERO) {
            return Err(bad(
                "rebalance_interval",
                "must be longer than 0 (use \"off\" to disable)".into(),
            ));
        }
        let marker_timeout = s
            .marker_timeout
            .as_deref()
            .map(|t| duration("marker_timeout", Some(t), ""))
            .transpose()?;
        if marker_timeout == Some(Duration::ZERO) {
            return Err(bad("marker_timeout", "must be longer than 0".into()));
        }
        // An unconfigured switch (what `transmit-lb` / `adaptive-lb` run against) never
        // answers a Marker: every move would wait `marker_timeout`, so they pause instead.
        let protection = s
            .move_protection
            .unwrap_or(if mode.is_switch_independent() {
                MoveProtectionKind::CollectorDelay
            } else {
                MoveProtectionKind::Marker
            });
        let move_protection = match protection {
            MoveProtectionKind::Marker => MoveProtection::Marker {
                timeout: marker_timeout.unwrap_or(DEFAULT_MOVE_MARKER_TIMEOUT),
            },
            MoveProtectionKind::CollectorDelay => MoveProtection::CollectorDelay(
                s.collector_delay
                    .as_deref()
                    .map(|t| duration("collector_delay", Some(t), ""))
                    .transpose()?
                    .unwrap_or(DEFAULT_COLLECTOR_DELAY),
            ),
            MoveProtectionKind::None => MoveProtection::None,
        };
        let aggregate_wait = match s.aggregate_wait.as_deref() {
            None => lagd_agg::lagd_lacp::AGGREGATE_WAIT_TIME,
            Some(t) => duration("aggregate_wait", Some(t), "")?,
        };
        let bfd = match &s.bfd {
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
        let port_priority = s
            .port
            .iter()
            .filter_map(|(l, p)| p.priority.map(|pr| (l.clone(), pr)))
            .collect();
        Ok(Resolved {
            name: self.name.clone(),
            links: self.links.clone(),
            mode,
            lacp_mode,
            lacp_timer: s.lacp_timer.unwrap_or_default(),
            policy,
            mac,
            mtu,
            min_links,
            max_active: s.max_active,
            ad_select: s.ad_select.unwrap_or_default(),
            fallback,
            system_priority: s.system_priority.unwrap_or(DEFAULT_PRIORITY),
            key: s.key.unwrap_or(DEFAULT_KEY),
            rebalance_interval,
            force: s.force.unwrap_or(false),
            port_priority,
            distributed: s.distributed.unwrap_or(false),
            dt_id: s.dt_id.or(s.key).unwrap_or(DEFAULT_KEY),
            offload: s.offload.unwrap_or_default(),
            rx_steering: s.rx_steering.unwrap_or_default(),
            aggregate_wait,
            bfd,
            coupled_control: s.coupled_control.unwrap_or(true),
            buckets: s.buckets,
            rebalance_threshold: s.rebalance_threshold,
            min_rebalance_bytes: s.min_rebalance_bytes,
            move_protection,
            marker_timeout,
            port_base: 0,
        })
    }
}
