//! The consistency check: the fields of a DT aggregation both switches must agree on.

use crate::config::{activity_of_code, timeout_of_code};
use crate::pdu::AggrConfigInfo;
use core::fmt;
use lagd_types::SystemId;
use serde::{Deserialize, Serialize};

/// A field that differs between the switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffField {
    /// The aggregation exists on one switch only.
    NotOnPeer,
    /// Shared LACP system priority.
    SystemPriority,
    /// Shared LACP system MAC.
    SystemAddress,
    /// LACP key.
    Key,
    /// LACP mode.
    LacpMode,
    /// LACP timer.
    LacpTimer,
    /// MTU.
    Mtu,
    /// Member speed.
    Speed,
    /// The two halves see different partners (servers): a cabling error.
    PartnerSystem,
}

impl fmt::Display for DiffField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiffField::NotOnPeer => "not-on-peer",
            DiffField::SystemPriority => "system-priority",
            DiffField::SystemAddress => "system-mac",
            DiffField::Key => "key",
            DiffField::LacpMode => "lacp-mode",
            DiffField::LacpTimer => "lacp-timer",
            DiffField::Mtu => "mtu",
            DiffField::Speed => "speed",
            DiffField::PartnerSystem => "partner-system",
        })
    }
}

/// One difference, with both values as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConfigDiff {
    /// The field.
    pub field: DiffField,
    /// This switch's value.
    pub local: String,
    /// The peer's value.
    pub peer: String,
}

/// A wire code of the LACP mode spelt as the settings spell it (`off`, `passive`, `active`).
fn mode_name(c: u8) -> String {
    activity_of_code(c).map_or_else(|| format!("code {c}"), |a| a.to_string())
}

/// A wire code of the LACP timer spelt as the settings spell it (`long`, `short`).
fn timer_name(c: u8) -> String {
    timeout_of_code(c).map_or_else(|| format!("code {c}"), |t| t.to_string())
}

/// Compares the local configuration with the peer's (`None`: the peer has no such
/// aggregation); `partners` are the LACP partners each side sees (NULL = none yet, not
/// compared).
pub fn compare(
    local: &AggrConfigInfo,
    peer: Option<&AggrConfigInfo>,
    partners: (SystemId, SystemId),
) -> Vec<ConfigDiff> {
    let Some(p) = peer else {
        return vec![ConfigDiff {
            field: DiffField::NotOnPeer,
            local: format!("aggregation {}", local.aggr),
            peer: "absent".into(),
        }];
    };
    let mut out = Vec::new();
    let mut diff = |field, l: String, r: String| {
        if l != r {
            out.push(ConfigDiff {
                field,
                local: l,
                peer: r,
            });
        }
    };
    diff(
        DiffField::SystemPriority,
        local.system.priority.to_string(),
        p.system.priority.to_string(),
    );
    diff(
        DiffField::SystemAddress,
        local.system.addr.to_string(),
        p.system.addr.to_string(),
    );
    diff(DiffField::Key, local.key.to_string(), p.key.to_string());
    diff(
        DiffField::LacpMode,
        mode_name(local.lacp_mode),
        mode_name(p.lacp_mode),
    );
    diff(
        DiffField::LacpTimer,
        timer_name(local.lacp_timer),
        timer_name(p.lacp_timer),
    );
    diff(DiffField::Mtu, local.mtu.to_string(), p.mtu.to_string());
    if local.speed_mbps != 0 && p.speed_mbps != 0 {
        diff(
            DiffField::Speed,
            format!("{} Mb/s", local.speed_mbps),
            format!("{} Mb/s", p.speed_mbps),
        );
    }
    let (lp, pp) = partners;
    if lp != SystemId::NULL && pp != SystemId::NULL {
        diff(DiffField::PartnerSystem, lp.to_string(), pp.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_types::MacAddr;

    fn cfg() -> AggrConfigInfo {
        AggrConfigInfo {
            aggr: 1,
            system: SystemId::new(100, MacAddr([2, 0xd7, 0, 0, 0, 1])),
            key: 5,
            lacp_mode: 2,
            lacp_timer: 1,
            mtu: 1500,
            speed_mbps: 1000,
        }
    }

    #[test]
    fn reports_each_differing_field_with_both_values() {
        let a = cfg();
        assert!(compare(&a, Some(&a), (SystemId::NULL, SystemId::NULL)).is_empty());
        let b = AggrConfigInfo {
            key: 6,
            system: SystemId::new(200, a.system.addr),
            speed_mbps: 0,
            ..a
        };
        let d = compare(&a, Some(&b), (SystemId::NULL, SystemId::NULL));
        assert_eq!(
            d,
            vec![
                ConfigDiff {
                    field: DiffField::SystemPriority,
                    local: "100".into(),
                    peer: "200".into()
                },
                ConfigDiff {
                    field: DiffField::Key,
                    local: "5".into(),
                    peer: "6".into()
                },
            ],
            "speed 0 means unknown and is not compared"
        );
        let d = compare(&a, None, (SystemId::NULL, SystemId::NULL));
        assert_eq!(d[0].field, DiffField::NotOnPeer);
        let s1 = SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 0x51]));
        let s2 = SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 0x52]));
        let d = compare(&a, Some(&a), (s1, s2));
        assert_eq!(d[0].field, DiffField::PartnerSystem);
        assert!(compare(&a, Some(&a), (s1, SystemId::NULL)).is_empty());
        let t = AggrConfigInfo {
            lacp_timer: 0,
            lacp_mode: 1,
            ..a
        };
        let d = compare(&a, Some(&t), (SystemId::NULL, SystemId::NULL));
        assert_eq!(d[0].peer, "passive");
        assert_eq!(d[1].peer, "long");
        let off = AggrConfigInfo { lacp_mode: 0, ..a };
        let d = compare(&a, Some(&off), (SystemId::NULL, SystemId::NULL));
        assert_eq!(d[0].peer, "off", "the settings' word for no LACP");
        let unknown = AggrConfigInfo { lacp_mode: 9, ..a };
        let d = compare(&a, Some(&unknown), (SystemId::NULL, SystemId::NULL));
        assert_eq!(d[0].peer, "code 9");
    }
}
