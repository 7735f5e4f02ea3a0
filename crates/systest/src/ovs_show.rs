//! Parsers of Open vSwitch's `ovs-appctl lacp/show` and `lacp/show-stats` text output.

use crate::error::{Error, Result};
use lagd_types::{MacAddr, PortState};

/// One bond of `lacp/show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LacpBond {
    /// Bond name.
    pub name: String,
    /// Status words, e.g. `["active", "negotiated"]` or `["passive"]`, `["off"]`.
    pub status: Vec<String>,
    /// System id (the bridge's MAC).
    pub sys_id: Option<MacAddr>,
    /// System priority.
    pub sys_priority: u16,
    /// Aggregation key.
    pub key: u16,
    /// `fast` or `slow`.
    pub lacp_time: String,
    /// Members, in output order.
    pub members: Vec<LacpMember>,
}

impl LacpBond {
    /// Whether the status says `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.status.iter().any(|s| s == "negotiated")
    }

    /// Member `name`.
    pub fn member(&self, name: &str) -> Option<&LacpMember> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// One member of a bond in `lacp/show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LacpMember {
    /// Interface name.
    pub name: String,
    /// Status words, e.g. `["current", "attached"]`, `["defaulted", "detached"]`.
    pub status: Vec<String>,
    /// OVS's port id (its OpenFlow port number).
    pub port_id: u16,
    /// Port priority.
    pub port_priority: u16,
    /// Whether OVS may enable the member.
    pub may_enable: bool,
    /// Actor information.
    pub actor: LacpSide,
    /// Partner information.
    pub partner: LacpSide,
}

impl LacpMember {
    /// Whether the status has word `w` (`current`, `expired`, `defaulted`, `attached`...).
    pub fn is(&self, w: &str) -> bool {
        self.status.iter().any(|s| s == w)
    }
}

/// Actor or partner information of a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LacpSide {
    /// System id.
    pub sys_id: Option<MacAddr>,
    /// System priority.
    pub sys_priority: u16,
    /// Port id.
    pub port_id: u16,
    /// Port priority.
    pub port_priority: u16,
    /// Key.
    pub key: u16,
    /// State flags.
    pub state: PortState,
}

/// Per-member counters of `lacp/show-stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LacpStats {
    /// Interface name.
    pub name: String,
    /// LACPDUs sent.
    pub tx_pdus: u64,
    /// LACPDUs received.
    pub rx_pdus: u64,
    /// Malformed PDUs received.
    pub rx_bad_pdus: u64,
    /// Marker Information PDUs received (OVS never answers them).
    pub rx_marker_request_pdus: u64,
    /// Times the member's partner information expired.
    pub link_expired: u64,
    /// Times it became defaulted.
    pub link_defaulted: u64,
    /// Carrier changes.
    pub carrier_status_changed: u64,
}

/// The state flags from OVS's words (`activity timeout aggregation synchronized collecting
/// distributing defaulted expired`).
pub fn state_from_words(words: &str) -> PortState {
    let mut s = PortState::default();
    for w in words.split_whitespace() {
        let f = match w {
            "activity" => PortState::LACP_ACTIVITY,
            "timeout" => PortState::LACP_TIMEOUT,
            "aggregation" => PortState::AGGREGATION,
            "synchronized" => PortState::SYNCHRONIZATION,
            "collecting" => PortState::COLLECTING,
            "distributing" => PortState::DISTRIBUTING,
            "defaulted" => PortState::DEFAULTED,
            "expired" => PortState::EXPIRED,
            _ => 0,
        };
        s.set(f, true);
    }
    s
}

fn num<T: std::str::FromStr>(what: &'static str, v: &str) -> Result<T> {
    v.trim().parse().map_err(|_| Error::Parse {
        what,
        detail: format!("bad number `{v}`"),
    })
}

fn mac(v: &str) -> Option<MacAddr> {
    v.trim().parse().ok()
}

/// Parses `ovs-appctl lacp/show` (one or more bonds).
pub fn parse_lacp_show(text: &str) -> Result<Vec<LacpBond>> {
    const W: &str = "lacp/show";
    let mut bonds: Vec<LacpBond> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" ----"))
        {
            bonds.push(LacpBond {
                name: name.to_string(),
                ..LacpBond::default()
            });
            continue;
        }
        let Some(bond) = bonds.last_mut() else {
            return Err(Error::Parse {
                what: W,
                detail: format!("line before any bond header: `{line}`"),
            });
        };
        if let Some(rest) = line
            .strip_prefix("member: ")
            .or_else(|| line.strip_prefix("slave: "))
        {
            let (name, status) = rest.split_once(':').unwrap_or((rest, ""));
            bond.members.push(LacpMember {
                name: name.trim().to_string(),
                status: status.split_whitespace().map(str::to_string).collect(),
                ..LacpMember::default()
            });
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match bonds.last_mut().and_then(|b| b.members.last_mut()) {
            None => {
                let Some(b) = bonds.last_mut() else { continue };
                match key {
                    "status" => b.status = value.split_whitespace().map(str::to_string).collect(),
                    "sys_id" => b.sys_id = mac(value),
                    "sys_priority" => b.sys_priority = num(W, value)?,
                    "aggregation key" => b.key = num(W, value)?,
                    "lacp_time" => b.lacp_time = value.to_string(),
                    _ => {}
                }
            }
            Some(m) => {
                let (side, field) = if let Some(f) = key.strip_prefix("actor ") {
                    (Some(&mut m.actor), f)
                } else if let Some(f) = key.strip_prefix("partner ") {
                    (Some(&mut m.partner), f)
                } else {
                    (None, key)
                };
                match side {
                    Some(s) => match field {
                        "sys_id" => s.sys_id = mac(value),
                        "sys_priority" => s.sys_priority = num(W, value)?,
                        "port_id" => s.port_id = num(W, value)?,
                        "port_priority" => s.port_priority = num(W, value)?,
                        "key" => s.key = num(W, value)?,
                        "state" => s.state = state_from_words(value),
                        _ => {}
                    },
                    None => match field {
                        "port_id" => m.port_id = num(W, value)?,
                        "port_priority" => m.port_priority = num(W, value)?,
                        "may_enable" => m.may_enable = value == "true",
                        _ => {}
                    },
                }
            }
        }
    }
    Ok(bonds)
}

/// Parses `ovs-appctl lacp/show-stats` (members of every bond, flattened).
pub fn parse_lacp_stats(text: &str) -> Result<Vec<LacpStats>> {
    const W: &str = "lacp/show-stats";
    let mut out: Vec<LacpStats> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with("----") {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("member: ")
            .or_else(|| line.strip_prefix("slave: "))
        {
            out.push(LacpStats {
                name: rest.trim_end_matches(':').trim().to_string(),
                ..LacpStats::default()
            });
            continue;
        }
        let (Some(m), Some((key, value))) = (out.last_mut(), line.split_once(':')) else {
            continue;
        };
        let v: u64 = num(W, value)?;
        match key.trim() {
            "TX PDUs" => m.tx_pdus = v,
            "RX PDUs" => m.rx_pdus = v,
            "RX Bad PDUs" => m.rx_bad_pdus = v,
            "RX Marker Request PDUs" => m.rx_marker_request_pdus = v,
            "Link Expired" => m.link_expired = v,
            "Link Defaulted" => m.link_defaulted = v,
            "Carrier Status Changed" => m.carrier_status_changed = v,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "---- bond0 ----
  status: active negotiated
  sys_id: 02:00:00:00:0b:01
  sys_priority: 65534
  aggregation key: 1
  lacp_time: fast

member: ovxa1: current attached
  port_id: 1
  port_priority: 65535
  may_enable: true

  actor sys_id: 02:00:00:00:0b:01
  actor sys_priority: 65534
  actor port_id: 1
  actor port_priority: 65535
  actor key: 1
  actor state: activity timeout aggregation synchronized collecting distributing

  partner sys_id: 02:00:00:00:0b:02
  partner sys_priority: 32768
  partner port_id: 2
  partner port_priority: 65535
  partner key: 7
  partner state: activity timeout aggregation synchronized collecting distributing

member: ovxa2: defaulted detached
  port_id: 2
  port_priority: 65535
  may_enable: false

  actor sys_id: 02:00:00:00:0b:01
  actor sys_priority: 65534
  actor port_id: 2
  actor port_priority: 65535
  actor key: 1
  actor state: activity timeout aggregation defaulted

  partner sys_id: 00:00:00:00:00:00
  partner sys_priority: 0
  partner port_id: 0
  partner port_priority: 0
  partner key: 0
  partner state:
";

    const STATS: &str = "---- bond0 statistics ----

member: ovxa1:
  TX PDUs: 4
  RX PDUs: 3
  RX Bad PDUs: 0
  RX Marker Request PDUs: 2
  Link Expired: 1
  Link Defaulted: 0
  Carrier Status Changed: 1

member: ovxa2:
  TX PDUs: 40
  RX PDUs: 0
  RX Bad PDUs: 0
  RX Marker Request PDUs: 0
  Link Expired: 0
  Link Defaulted: 1
  Carrier Status Changed: 1
";

    #[test]
    fn lacp_show_is_parsed() {
        let bonds = parse_lacp_show(SHOW).expect("parse");
        assert_eq!(bonds.len(), 1);
        let b = &bonds[0];
        assert_eq!(b.name, "bond0");
        assert!(b.negotiated());
        assert_eq!(b.sys_id, "02:00:00:00:0b:01".parse().ok());
        assert_eq!(
            (b.sys_priority, b.key, b.lacp_time.as_str()),
            (65534, 1, "fast")
        );
        assert_eq!(b.members.len(), 2);
        let m = b.member("ovxa1").expect("member");
        assert!(m.is("current") && m.is("attached") && m.may_enable);
        assert_eq!(m.partner.sys_id, "02:00:00:00:0b:02".parse().ok());
        assert_eq!(
            (m.partner.sys_priority, m.partner.port_id, m.partner.key),
            (32768, 2, 7)
        );
        assert_eq!(m.actor.state.bits(), 0x3f);
        let d = b.member("ovxa2").expect("member");
        assert!(d.is("defaulted") && !d.may_enable);
        assert_eq!(d.actor.state.bits(), 0x47);
        assert_eq!(d.partner.state.bits(), 0);
    }

    #[test]
    fn lacp_stats_are_parsed() {
        let s = parse_lacp_stats(STATS).expect("parse");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "ovxa1");
        assert_eq!(
            (
                s[0].tx_pdus,
                s[0].rx_pdus,
                s[0].rx_marker_request_pdus,
                s[0].link_expired
            ),
            (4, 3, 2, 1)
        );
        assert_eq!((s[1].tx_pdus, s[1].link_defaulted), (40, 1));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_lacp_show("member: x: current\n").is_err());
        assert!(parse_lacp_show("---- b ----\n  sys_priority: many\n").is_err());
        assert!(parse_lacp_stats("member: a:\n  TX PDUs: lots\n").is_err());
        assert_eq!(parse_lacp_show("").ok(), Some(vec![]));
    }
}
