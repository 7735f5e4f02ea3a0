//! The `[dt]` table of the configuration file, resolved into the DT core's
//! [`lagd_dt::DtConfig`].
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

use lagd_dt::DtConfig;
use lagd_node::settings::valid_ifname;
use lagd_types::{MacAddr, SystemId, parse_duration};
use serde::{Deserialize, Serialize};

use super::error::ConfigError;

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
            role_priority: self.role_priority.unwrap_or(d.role_priority),
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

#[cfg(test)]
mod tests {
    use crate::config::{AnyLinks, Config};
    use lagd_types::SystemId;

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
        let a = r[0].dt_aggr_config(r[0].system(r[0].mac.unwrap()), 1000);
        assert_eq!(
            a.system,
            SystemId::new(256, "02:d7:00:00:00:01".parse().unwrap())
        );
        assert_eq!(a.key, 5);
        assert_eq!(a.lacp_mode, lagd_types::LacpActivity::Active);
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
