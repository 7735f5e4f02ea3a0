//! The configuration file (TOML), its validation, and atomic write-back.
//!
//! The format is documented in `docs/CONFIG.md`. Parsing ([`Config::parse`]) only checks the
//! syntax and the field names; [`Config::validate`] checks everything else and turns every
//! `[[aggregation]]` into a [`Resolved`] aggregation with every default applied. Errors name the
//! aggregation and the field. A configuration with an error is never applied.

mod dt;
mod error;
pub mod file;
mod key_file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use dt::{DtSpec, ResolvedDt};
pub use error::ConfigError;
pub use lagd_node::settings::spelling;
pub use lagd_node::settings::{
    AdSelect, AggrMode, AggrSettings, AggrSpec, BfdSettings, DEFAULT_FALLBACK_TIMEOUT, DEFAULT_KEY,
    DEFAULT_MTU, DEFAULT_PRIORITY, DEFAULT_REBALANCE, Fallback, LinkEnv, MAX_IFNAME,
    MoveProtectionKind, Offload, PortSettings, Resolved, RxSteering, SettingsError, Syntax,
    valid_ifname, values,
};
pub use lagd_types::{LacpActivity, LacpTimeout};

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Daemon-wide settings (`[daemon]`).
    #[serde(default, skip_serializing_if = "DaemonConfig::is_default")]
    pub daemon: DaemonConfig,
    /// Distributed Trunking (`[dt]`, see `docs/DT.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt: Option<DtSpec>,
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
    /// How often each member's carrier is read besides the kernel's notifications (default
    /// [`DEFAULT_CARRIER_POLL`]; `"off"`: the notifications only, which the kernel may send up
    /// to 1 s late).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_poll: Option<String>,
}

/// The default `[daemon] carrier_poll`.
pub const DEFAULT_CARRIER_POLL: &str = "20ms";

impl DaemonConfig {
    fn is_default(&self) -> bool {
        *self == DaemonConfig::default()
    }

    /// `carrier_poll` as an interval (`None`: off); an invalid one (refused by
    /// [`Config::validate`]) reads as the default.
    pub fn carrier_poll(&self) -> Option<std::time::Duration> {
        let default = || parse_carrier_poll(DEFAULT_CARRIER_POLL).ok().flatten();
        match self.carrier_poll.as_deref() {
            None => default(),
            Some(t) => parse_carrier_poll(t).unwrap_or_else(|_| default()),
        }
    }
}

/// A `carrier_poll` value: a duration from 1 ms to 10 s, or `"off"`.
fn parse_carrier_poll(t: &str) -> Result<Option<std::time::Duration>, String> {
    let d = lagd_types::parse_optional_duration(t)
        .map_err(|e| e.to_string())?
        .map(std::time::Duration::from);
    match d {
        Some(d) if d < std::time::Duration::from_millis(1) => {
            Err("must be at least 1ms (\"off\" to read no carrier)".into())
        }
        Some(d) if d > std::time::Duration::from_secs(10) => {
            Err("must be at most 10s (\"off\" to read no carrier)".into())
        }
        d => Ok(d),
    }
}

/// Checks interface names through `/sys/class/net` of the current network namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct SysfsLinks;

impl LinkEnv for SysfsLinks {
    fn link_exists(&self, name: &str) -> bool {
        valid_ifname(name) && Path::new("/sys/class/net").join(name).exists()
    }
    fn link_names(&self) -> Vec<String> {
        std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
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

impl Config {
    /// Parses TOML text (syntax and field names only).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// Reads and parses a file. A missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_text(path).map(|(c, _)| c)
    }

    /// [`Config::load`], with the text read (`None`: there is no file).
    pub fn load_text(path: &Path) -> Result<(Config, Option<String>), ConfigError> {
        match file::read(path) {
            Ok(Some(text)) => Config::parse(&text)
                .map(|c| (c, Some(text)))
                .map_err(|e| match e {
                    ConfigError::Syntax(m) => {
                        ConfigError::Syntax(format!("{}: {m}", path.display()))
                    }
                    other => other,
                }),
            Ok(None) => Ok((Config::default(), None)),
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

    /// Writes the configuration back to `path` ([`file::write_back`]: through a symlink,
    /// mode and owner kept, atomic and durable) and returns the text written.
    ///
    /// What the file already holds is kept where the change does not touch it: comments,
    /// blank lines, key order (`crate::config_edit::merge`).
    pub fn write_atomic(&self, path: &Path) -> Result<String, ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let fresh = self.to_toml()?;
        let text = match file::read(path).map_err(io)? {
            Some(old) if !old.trim().is_empty() => {
                let body =
                    toml::to_string_pretty(self).map_err(|e| ConfigError::Syntax(e.to_string()))?;
                crate::config_edit::merge(&old, &body).unwrap_or(fresh)
            }
            _ => fresh,
        };
        file::write_back(path, &text).map_err(io)?;
        Ok(text)
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
        if let Some(t) = &self.daemon.carrier_poll {
            parse_carrier_poll(t).map_err(|e| ConfigError::invalid("daemon: carrier_poll", e))?;
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
        self.check_dt(&out)?;
        check_keys(&out)?;
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

/// Two LACP aggregations of this host with the same System (the configured `mac` and the
/// `system_priority`) must have different keys ([`lagd_node::settings::check_unique_keys`],
/// which the simulator applies too). Without `mac` each aggregation's System is its first
/// member's MAC, unique per member.
fn check_keys(resolved: &[Resolved]) -> Result<(), ConfigError> {
    lagd_node::settings::check_unique_keys(resolved.iter().filter_map(|r| {
        let mac = r.mac.filter(|_| r.lacp_mode != LacpActivity::Off)?;
        Some((r.name.as_str(), r.system(mac), r.key))
    }))?;
    Ok(())
}

impl Config {
    /// Checks the DT parts of a whole configuration whose aggregations resolved as `resolved`:
    /// distributed aggregations need `[dt]` and a `mac`; DT ids are unique; the peer link and the
    /// keepalive are nobody's member.
    fn check_dt(&self, resolved: &[Resolved]) -> Result<(), ConfigError> {
        let mut ids: BTreeMap<u16, &str> = BTreeMap::new();
        for r in resolved.iter().filter(|r| r.distributed) {
            let ctx = format!("aggregation `{}`", r.name);
            if self.dt.is_none() {
                return Err(ConfigError::Invalid {
                    context: format!("{ctx}: distributed"),
                    message: "a distributed aggregation needs a [dt] table".into(),
                });
            }
            if r.mac.is_none() {
                return Err(ConfigError::Invalid {
                    context: format!("{ctx}: mac"),
                    message: "a distributed aggregation needs `mac`: the LACP system MAC shared by both switches".into(),
                });
            }
            if r.dt_id == lagd_dt::ORPHAN {
                return Err(ConfigError::Invalid {
                    context: format!("{ctx}: dt_id"),
                    message: "DT id 0 is reserved (it marks orphan-port addresses in MAC sync); use 1..=65535".into(),
                });
            }
            if let Some(other) = ids.insert(r.dt_id, &r.name) {
                return Err(ConfigError::Invalid {
                    context: format!("{ctx}: dt_id"),
                    message: format!("DT id {} is also used by aggregation `{other}`", r.dt_id),
                });
            }
        }
        if let Some(dt) = &self.dt {
            dt.resolve()?;
            for r in resolved {
                for l in [Some(&dt.peer_link), dt.keepalive.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    if r.links.contains(l) {
                        return Err(ConfigError::invalid(
                            "dt: peer_link",
                            format!("`{l}` is a member of aggregation `{}`", r.name),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What an operator did to the configuration file since lagd last read or wrote it (`seen`),
/// now that it holds `now`; `None` when a write-back loses nothing: the same text, or an edit
/// of comments and layout only (the write-back's merge keeps those).
pub fn edited_on_disk(seen: Option<&str>, now: Option<&str>) -> Option<String> {
    if seen == now {
        return None;
    }
    let known = match seen.map(Config::parse) {
        None => Config::default(),
        Some(Ok(c)) => c,
        Some(Err(_)) => return Some("was changed".into()),
    };
    match now {
        None if known == Config::default() => None,
        None => Some("was removed".into()),
        Some(text) => match Config::parse(text) {
            Ok(c) if c == known => None,
            Ok(_) if seen.is_none() => Some("was created".into()),
            Ok(_) => Some("was changed".into()),
            Err(e) => Some(format!("was changed (and does not parse now: {e})")),
        },
    }
}

/// The keys of the `[dt]` table whose values differ between `a` and `b` (file key names),
/// for a reload that says which settings wait for the next start.
pub fn dt_changes(a: Option<&DtSpec>, b: Option<&DtSpec>) -> Vec<String> {
    let fields = |d: Option<&DtSpec>| match d.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(m))) => m,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (fields(a), fields(b));
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| a.get(k) != b.get(k));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_types::Duration;

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
ad_select = "count"
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
        assert_eq!(a.policy.to_string(), "L3,L4");
        assert_eq!(a.mac, Some("02:00:00:00:00:01".parse().unwrap()));
        assert_eq!(a.mtu, 9000);
        assert_eq!(a.max_active, Some(2));
        assert_eq!(a.ad_select, AdSelect::Count);
        let mac = "02:00:00:00:00:01".parse().unwrap();
        let core = a.aggregation_config(a.system(mac)).lacp;
        assert_eq!(core.ad_select, lagd_agg::lagd_lacp::AdSelect::Count);
        assert_eq!(
            a.fallback,
            Some((Fallback::OneMember, Duration::from_secs(10)))
        );
        assert_eq!(a.rebalance_interval, None);
        assert_eq!(a.priority_of("eth2"), 10);
        assert_eq!(a.priority_of("eth1"), DEFAULT_PRIORITY);
        assert_eq!((a.system_priority, a.key), (100, 7));
        assert!(a.force);
        let b = &r[1];
        assert_eq!(b.mode, AggrMode::ActiveBackup);
        assert_eq!(b.lacp_mode, LacpActivity::Off);
        assert_eq!(b.lacp_timer, LacpTimeout::Short);
        assert_eq!(b.mtu, DEFAULT_MTU);
        assert_eq!(b.rebalance_interval, Some(Duration::from_secs(1)));
        assert_eq!(b.fallback, None);
    }

    #[test]
    fn defaults_of_a_minimal_aggregation() {
        let c = Config::parse("[[aggregation]]\nname = \"a\"\nlinks = [\"eth1\"]\n").unwrap();
        let r = c.validate(&ENV).unwrap();
        assert_eq!(r[0].mode, AggrMode::Lacp);
        assert_eq!(r[0].lacp_mode, LacpActivity::Active);
        assert_eq!(r[0].policy.to_string(), "L3,L4");
        assert_eq!(r[0].min_links, 1);
        assert_eq!(r[0].mac, None);
        assert_eq!(r[0].ad_select, AdSelect::Stable);
    }

    #[test]
    fn two_lacp_aggregations_with_one_system_need_different_keys() {
        // Issue 11, defect 5: 802.1AX 6.3.3, a key is unique within a System.
        let two = |a: &str, b: &str| {
            format!(
                "[[aggregation]]\nname = \"aggr1\"\nlinks = [\"eth1\"]\n{a}\n\
                 [[aggregation]]\nname = \"aggr2\"\nlinks = [\"eth2\"]\n{b}\n"
            )
        };
        let mac = "mac = \"02:00:00:00:00:01\"";
        let err = Config::parse(&two(mac, mac))
            .and_then(|c| c.validate(&ENV))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "aggregation `aggr2`: key: aggregation `aggr1` runs LACP with the same System \
             02:00:00:00:00:01 (priority 32768) and key 1: a key is unique within a System \
             (802.1AX 6.3.3), or the partner takes both for one aggregation; give one of them \
             another `key`, or another System (`mac`, `system_priority`)"
        );
        let keyed = format!("{mac}\nkey = 2");
        let other = "mac = \"02:00:00:00:00:02\"";
        let static_trunk = format!("{mac}\nmode = \"static\"");
        let prioritized = format!("{mac}\nsystem_priority = 100");
        for (a, b) in [
            (mac, keyed.as_str()),
            (mac, prioritized.as_str()),
            (mac, other),
            (mac, static_trunk.as_str()),
            ("", ""),
        ] {
            let text = two(a, b);
            Config::parse(&text)
                .and_then(|c| c.validate(&ENV))
                .unwrap_or_else(|e| panic!("refused:\n{text}\n{e}"));
        }
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
        let s = spec("bfd = { interval = \"50ms\" }").with_changes(&AggrSettings {
            bfd: Some(BfdSettings {
                multiplier: Some(5),
                ..BfdSettings::default()
            }),
            ..AggrSettings::default()
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
                agg("links = [\"eth1\"]\nbfd = { interval = \"5h\" }"),
                "aggregation `aggr1`: bfd.interval: invalid duration",
            ),
            (
                agg("links = [\"eth1\"]\nbfd = { interval = \"500us\" }"),
                "aggregation `aggr1`: bfd.interval: BFD interval 500us out of range",
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
                "aggregation `aggr1`: lacp_mode: mode `lacp` needs",
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
                "aggregation `aggr1`: port.eth2: `eth2` is not one of the links (eth1)",
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
            (
                "[daemon]\ncarrier_poll = \"0ms\"\n".to_string(),
                "daemon: carrier_poll: must be at least 1ms",
            ),
            (
                "[daemon]\ncarrier_poll = \"often\"\n".to_string(),
                "daemon: carrier_poll: invalid duration",
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
    fn carrier_poll_default_off_and_set() {
        let poll = |text: &str| {
            let c = Config::parse(text).unwrap();
            c.validate(&ENV).unwrap();
            c.daemon.carrier_poll()
        };
        assert_eq!(poll(""), Some(std::time::Duration::from_millis(20)));
        assert_eq!(poll("[daemon]\ncarrier_poll = \"off\"\n"), None);
        assert_eq!(
            poll("[daemon]\ncarrier_poll = \"50ms\"\n"),
            Some(std::time::Duration::from_millis(50))
        );
    }

    #[test]
    fn changes_apply_on_top_of_a_spec() {
        let spec = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        let ch = AggrSettings {
            lacp_timer: Some(LacpTimeout::Long),
            max_active: Some(1),
            port: [("eth2".to_string(), PortSettings { priority: Some(5) })]
                .into_iter()
                .collect(),
            ..AggrSettings::default()
        };
        let s = spec.with_changes(&ch);
        assert_eq!(s.lacp_timer, Some(LacpTimeout::Long));
        assert_eq!(s.max_active, Some(1));
        assert_eq!(s.port["eth2"].priority, Some(5));
        assert_eq!(s.links, spec.links);
        let r = s.resolve(&ENV).unwrap();
        assert_eq!(r.priority_of("eth2"), 5);
        let cleared = s.with_changes(&AggrSettings {
            max_active: Some(0),
            ..AggrSettings::default()
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

    #[test]
    fn an_edit_on_disk_is_seen_unless_it_changes_only_comments() {
        let known = Config::parse(GOOD).unwrap();
        // Untouched, or only comments and layout: nothing a write-back would lose.
        assert_eq!(edited_on_disk(Some(GOOD), Some(GOOD)), None);
        let commented = format!("# rack 12\n{GOOD}\n\n");
        assert_eq!(edited_on_disk(Some(GOOD), Some(&commented)), None);
        // A change of meaning, a file that no longer parses, a removed file.
        let mut other = known.clone();
        other.aggregations.pop();
        let changed = other.to_toml().unwrap();
        assert_eq!(
            edited_on_disk(Some(GOOD), Some(&changed)).as_deref(),
            Some("was changed")
        );
        let broken = edited_on_disk(Some(GOOD), Some("[[aggregation]")).unwrap();
        assert!(broken.contains("does not parse"), "{broken}");
        assert_eq!(
            edited_on_disk(Some(GOOD), None).as_deref(),
            Some("was removed")
        );
        // No file when lagd read it: one created since is an edit; still none is not.
        assert_eq!(edited_on_disk(None, None), None);
        assert_eq!(
            edited_on_disk(None, Some(GOOD)).as_deref(),
            Some("was created")
        );
        assert_eq!(edited_on_disk(None, Some("# nothing yet\n")), None);
        // An empty file removed is no loss either.
        assert_eq!(edited_on_disk(Some(""), None), None);
    }

    #[test]
    fn dt_changes_name_the_keys() {
        let a: DtSpec =
            toml::from_str("domain_id = 1\npeer_link = \"p0\"\nbridge = \"br0\"\n").unwrap();
        let mut b = a.clone();
        assert!(dt_changes(Some(&a), Some(&b)).is_empty());
        b.role_priority = Some(10);
        assert_eq!(dt_changes(Some(&a), Some(&b)), vec!["role_priority"]);
        assert!(dt_changes(None, Some(&a)).contains(&"domain_id".to_string()));
        assert!(dt_changes(None, None).is_empty());
    }
}
