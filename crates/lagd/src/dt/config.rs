//! The `[dt]` table of the configuration file and the translation of the DT parts of the
//! configuration into the protocol core's ([`lagd_dt::DtConfig`], [`lagd_dt::DtAggrConfig`]).
//!
//! ```toml
//! [dt]
//! domain_id = 1
//! role_priority = 100          # lower = primary (default 32768); ties: lower system MAC
//! peer_link = "veth-pl"        # carries DT PDUs (EtherType 0x8952) and data; a bridge port
//! keepalive = "veth-ka"        # optional second path, tells a dead peer from a split brain
//! bridge = "br0"               # the bridge whose ports lagd manages (DT TAPs, peer link)
//! # system_mac = "02:..."      # default: the peer link's MAC
//! # tx_interval = "1s", peer_timeout = "3s", keepalive_interval = "1s",
//! # keepalive_timeout = "3s", init_delay = "3s"
//! # peer_mac = "02:..."        # pin the peer's system MAC (default: the first peer paired with)
//! # key_file = "/etc/lagd/dt.key"  # shared key: HMAC-SHA-256 on every DT frame (mode 0600)
//! # mac_sync_limit = 32768     # most peer addresses installed
//!
//! [[aggregation]]
//! name = "trk1"
//! links = ["eth1", "eth2"]
//! distributed = true           # a DT aggregation
//! mac = "02:d7:00:00:00:01"    # required: the shared LACP system MAC (same on both switches)
//! system_priority = 256        # shared system priority (same on both)
//! # dt_id = 1                  # pairs the halves; default: the aggregation's key
//! ```

use std::collections::BTreeMap;

use lagd_dt::{DtAggrConfig, DtConfig, DtLacpMode, DtLacpTimer};
use lagd_types::{MacAddr, SystemId};
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError, LacpActivity, LacpTimerSpec, Resolved, valid_ifname};
use crate::duration::parse_duration;

/// The `[dt]` table as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DtSpec {
    /// DT domain id (the same on both switches).
    pub domain_id: u32,
    /// Role priority: lower is primary (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_priority: Option<u16>,
    /// The peer link interface.
    pub peer_link: String,
    /// The keepalive interface (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<String>,
    /// The bridge lagd adds the DT aggregates and the peer link to.
    pub bridge: String,
    /// This switch's own system MAC (default: the peer link's MAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_mac: Option<String>,
    /// Periodic PDU interval on the peer link (default "1s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_interval: Option<String>,
    /// Peer link expiry (default "3s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_timeout: Option<String>,
    /// Keepalive interval (default "1s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_interval: Option<String>,
    /// Keepalive expiry (default "3s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_timeout: Option<String>,
    /// Start-up hold of the DT ports (default "3s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_delay: Option<String>,
    /// The peer's system MAC: any other switch is refused (default: the first switch the pair
    /// forms with is held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_mac: Option<String>,
    /// A file holding the shared key (one line, 16 octets or more, mode 0600): every DT frame
    /// is then signed and checked (HMAC-SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Most peer addresses MAC sync installs (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_sync_limit: Option<usize>,
}

/// The `[dt]` table validated (the system MAC may still be the peer link's, read at start).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedDt {
    /// The core's configuration (`system_mac` zero when it is to be the peer link's).
    pub core: DtConfig,
    /// The peer link.
    pub peer_link: String,
    /// The keepalive interface.
    pub keepalive: Option<String>,
    /// The bridge.
    pub bridge: String,
}

fn bad(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        context: format!("dt: {field}"),
        message: message.into(),
    }
}

impl DtSpec {
    /// Validates the table and applies the defaults.
    pub fn resolve(&self) -> Result<ResolvedDt, ConfigError> {
        let d = DtConfig::default();
        let dur = |field: &str, v: &Option<String>, def| -> Result<_, ConfigError> {
            match v {
                None => Ok(def),
                Some(s) => parse_duration(s).map_err(|e| bad(field, e.to_string())),
            }
        };
        for (field, name) in [
            ("peer_link", Some(&self.peer_link)),
            ("keepalive", self.keepalive.as_ref()),
            ("bridge", Some(&self.bridge)),
        ] {
            if let Some(n) = name
                && !valid_ifname(n)
            {
                return Err(bad(field, format!("`{n}` is not a valid interface name")));
            }
        }
        if self.keepalive.as_ref() == Some(&self.peer_link) {
            return Err(bad(
                "keepalive",
                "must be another interface than the peer link (it exists to survive the peer link's failure)",
            ));
        }
        let system_mac = match &self.system_mac {
            None => MacAddr::ZERO,
            Some(s) => s
                .parse::<MacAddr>()
                .map_err(|e| bad("system_mac", e.to_string()))?,
        };
        let core = DtConfig {
            domain_id: self.domain_id,
            system_mac,
            role_priority: self.role_priority.unwrap_or(0x8000),
            default_system: SystemId::NULL,
            tx_interval: dur("tx_interval", &self.tx_interval, d.tx_interval)?,
            peer_timeout: dur("peer_timeout", &self.peer_timeout, d.peer_timeout)?,
            keepalive: self.keepalive.is_some(),
            keepalive_interval: dur(
                "keepalive_interval",
                &self.keepalive_interval,
                d.keepalive_interval,
            )?,
            keepalive_timeout: dur(
                "keepalive_timeout",
                &self.keepalive_timeout,
                d.keepalive_timeout,
            )?,
            init_delay: dur("init_delay", &self.init_delay, d.init_delay)?,
            peer_mac: match &self.peer_mac {
                None => None,
                Some(m) => Some(
                    m.parse::<MacAddr>()
                        .map_err(|e| bad("peer_mac", e.to_string()))?,
                ),
            },
            key: match &self.key_file {
                None => None,
                Some(f) => Some(
                    super::key_file::load(std::path::Path::new(f))
                        .map_err(|e| bad("key_file", e))?,
                ),
            },
            mac_limit: self.mac_sync_limit.unwrap_or(d.mac_limit),
            ..d
        };
        // Check the timers with a stand-in MAC when the real one is read at start.
        let check = DtConfig {
            system_mac: if system_mac.is_zero() {
                MacAddr([2, 0, 0, 0, 0, 1])
            } else {
                system_mac
            },
            ..core.clone()
        };
        check.validate().map_err(|e| {
            let field = match e {
                lagd_dt::DtConfigError::MacLimit => "mac_sync_limit",
                lagd_dt::DtConfigError::PeerMac(_) => "peer_mac",
                _ => "timers",
            };
            bad(field, e.to_string())
        })?;
        Ok(ResolvedDt {
            core,
            peer_link: self.peer_link.clone(),
            keepalive: self.keepalive.clone(),
            bridge: self.bridge.clone(),
        })
    }
}

/// Checks the DT parts of a whole configuration whose aggregations resolved as `resolved`:
/// distributed aggregations need `[dt]` and a `mac`; DT ids are unique; the peer link and the
/// keepalive are nobody's member.
pub fn check(config: &Config, resolved: &[Resolved]) -> Result<(), ConfigError> {
    let mut ids: BTreeMap<u16, &str> = BTreeMap::new();
    for r in resolved.iter().filter(|r| r.distributed) {
        let ctx = format!("aggregation `{}`", r.name);
        if config.dt.is_none() {
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
    if let Some(dt) = &config.dt {
        dt.resolve()?;
        for r in resolved {
            for l in [Some(&dt.peer_link), dt.keepalive.as_ref()]
                .into_iter()
                .flatten()
            {
                if r.links.contains(l) {
                    return Err(bad(
                        "peer_link",
                        format!("`{l}` is a member of aggregation `{}`", r.name),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The DT core's view of a distributed aggregation; `speed_mbps` is its members' speed.
pub fn aggr_config(r: &Resolved, speed_mbps: u32) -> DtAggrConfig {
    let mac = r.mac.unwrap_or(MacAddr::ZERO);
    DtAggrConfig {
        id: r.dt_id,
        name: r.name.clone(),
        system: SystemId::new(r.system_priority, mac),
        key: r.key,
        lacp_mode: match r.lacp {
            LacpActivity::Active => DtLacpMode::Active,
            LacpActivity::Passive => DtLacpMode::Passive,
            LacpActivity::Off => DtLacpMode::Static,
        },
        lacp_timer: match r.timer {
            LacpTimerSpec::Short => DtLacpTimer::Short,
            LacpTimerSpec::Long => DtLacpTimer::Long,
        },
        mtu: r.mtu,
        speed_mbps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AnyLinks;

    const CONF: &str = r#"
[dt]
domain_id = 7
role_priority = 100
peer_link = "pl0"
keepalive = "ka0"
bridge = "br0"
peer_timeout = "2s"

[[aggregation]]
name = "trk1"
links = ["eth1", "eth2"]
distributed = true
mac = "02:d7:00:00:00:01"
system_priority = 256
key = 5
"#;

    #[test]
    fn parses_resolves_and_translates() {
        let c = Config::parse(CONF).unwrap();
        let r = c.validate(&AnyLinks).unwrap();
        let dt = c.dt.as_ref().unwrap().resolve().unwrap();
        assert_eq!(dt.core.domain_id, 7);
        assert_eq!(dt.core.role_priority, 100);
        assert!(dt.core.keepalive);
        assert_eq!(dt.core.peer_timeout, lagd_types::Duration::from_secs(2));
        assert_eq!(dt.peer_link, "pl0");
        assert!(r[0].distributed);
        assert_eq!(r[0].dt_id, 5, "defaults to the key");
        let a = aggr_config(&r[0], 1000);
        assert_eq!(
            a.system,
            SystemId::new(256, "02:d7:00:00:00:01".parse().unwrap())
        );
        assert_eq!(a.key, 5);
        assert_eq!(a.lacp_mode, DtLacpMode::Active);
        // Round trip through TOML.
        let back = Config::parse(&c.to_toml().unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn refuses_incomplete_dt_configurations() {
        let no_dt = CONF.replace("[dt]", "[dtx]");
        assert!(Config::parse(&no_dt).is_err(), "unknown table");
        let no_table = CONF.split("[[aggregation]]").nth(1).unwrap();
        let c = Config::parse(&format!("[[aggregation]]{no_table}")).unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("[dt]"), "{e}");
        let c = Config::parse(&CONF.replace("mac = \"02:d7:00:00:00:01\"\n", "")).unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("mac"), "{e}");
        let c = Config::parse(&CONF.replace("\"eth1\", \"eth2\"", "\"eth1\", \"pl0\"")).unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("pl0"), "{e}");
        let c = Config::parse(&CONF.replace("keepalive = \"ka0\"", "keepalive = \"pl0\"")).unwrap();
        assert!(c.validate(&AnyLinks).is_err());
        let c = Config::parse(&CONF.replace("key = 5", "key = 5\ndt_id = 0")).unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
        let c = Config::parse(
            &CONF.replace("bridge = \"br0\"", "bridge = \"br0\"\nmac_sync_limit = 0"),
        )
        .unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("mac_sync_limit"), "{e}");
        let c = Config::parse(&CONF.replace(
            "bridge = \"br0\"",
            "bridge = \"br0\"\nkey_file = \"/nonexistent/dt.key\"",
        ))
        .unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("key_file"), "{e}");
        let c = Config::parse(&CONF.replace(
            "bridge = \"br0\"",
            "bridge = \"br0\"\npeer_mac = \"02:00:00:00:0b:01\"\nmac_sync_limit = 100",
        ))
        .unwrap();
        let dt = c.dt.as_ref().unwrap().resolve().unwrap();
        assert_eq!(dt.core.peer_mac, Some("02:00:00:00:0b:01".parse().unwrap()));
        assert_eq!(dt.core.mac_limit, 100);
        let c =
            Config::parse(&CONF.replace("peer_timeout = \"2s\"", "peer_timeout = \"1s\"")).unwrap();
        let e = c.validate(&AnyLinks).unwrap_err().to_string();
        assert!(e.contains("peer_timeout"), "{e}");
    }
}
