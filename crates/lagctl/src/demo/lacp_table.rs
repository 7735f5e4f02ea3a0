//! `dladm show-aggr -L`-style LACP detail of one aggregation (seed 004's columns):
//!
//! ```text
//! key: 1 (0x0001) policy: L3,L4 address: 2:0:0:0:0:1 (auto)
//! LACP mode: active LACP timer: short
//! device activity timeout aggregatable sync coll dist defaulted expired
//! eth0   active   short   yes          yes  yes  yes  no        no
//! ```
//! Every flag column is the actor's state of that member (§6.4.2.3, Actor_Oper_Port_State).

use lagd::config::{AggrMode, LacpActivity, LacpTimerSpec};
use lagd::control::proto::AggrStatus;
use std::fmt::Write as _;

/// A MAC address the way Solaris prints it: hex octets without leading zeros (`0:14:4f:20:dc:1`).
pub fn solaris_mac(mac: &str) -> String {
    mac.split(':')
        .map(|o| {
            let t = o.trim_start_matches('0');
            if t.is_empty() { "0" } else { t }
        })
        .collect::<Vec<_>>()
        .join(":")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The LACP mode as dladm names it.
fn mode_name(a: &AggrStatus) -> &'static str {
    let mode = a.spec.mode.unwrap_or_default();
    match a.spec.lacp {
        Some(LacpActivity::Active) => "active",
        Some(LacpActivity::Passive) => "passive",
        Some(LacpActivity::Off) => "off",
        None if mode == AggrMode::Lacp => "active",
        None => "off",
    }
}

/// Formats the `-L` view of `a`.
pub fn show_aggr_lacp(a: &AggrStatus) -> String {
    let key = a.spec.key.unwrap_or(1);
    let policy = a.spec.policy.clone().unwrap_or_else(|| "L3,L4".into());
    let origin = if a.spec.mac.is_some() {
        "fixed"
    } else {
        "auto"
    };
    let timer = match a.spec.timer {
        Some(LacpTimerSpec::Long) => "long",
        _ => "short",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "key: {key} (0x{key:04x}) policy: {policy} address: {} ({origin})",
        solaris_mac(&a.mac.to_string())
    );
    let _ = writeln!(out, "LACP mode: {} LACP timer: {timer}", mode_name(a));
    let heads = [
        "device",
        "activity",
        "timeout",
        "aggregatable",
        "sync",
        "coll",
        "dist",
        "defaulted",
        "expired",
    ];
    let rows: Vec<[String; 9]> = a
        .members
        .iter()
        .map(|m| {
            let s = m.actor.state;
            [
                m.name.clone(),
                if s.activity() { "active" } else { "passive" }.into(),
                if s.short_timeout() { "short" } else { "long" }.into(),
                yes_no(s.aggregation()).into(),
                yes_no(s.synchronization()).into(),
                yes_no(s.collecting()).into(),
                yes_no(s.distributing()).into(),
                yes_no(s.defaulted()).into(),
                yes_no(s.expired()).into(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i).map(String::len))
            .chain(heads.get(i).map(|h| h.len()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..heads.len()).map(width).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (c, w) in cells.zip(&widths) {
            let _ = write!(l, "{c:<w$} ");
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&mut heads.iter().copied()));
    for r in &rows {
        let _ = writeln!(out, "{}", line(&mut r.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd::config::AggrSpec;
    use lagd::control::proto::MemberStatus;
    use lagd_types::PortState;
    use lagd_wire::LacpInfo;

    fn member(name: &str, state: PortState) -> MemberStatus {
        MemberStatus {
            name: name.into(),
            port: 1,
            link_up: true,
            speed_mbps: 0,
            full_duplex: true,
            selected: "SELECTED".into(),
            mux: "COLLECTING_DISTRIBUTING".into(),
            receive: "CURRENT".into(),
            actor: LacpInfo {
                state,
                ..LacpInfo::default()
            },
            partner: LacpInfo::default(),
            collecting: true,
            distributing: true,
            why_not_distributing: None,
            counters: serde_json::Value::Null,
        }
    }

    #[test]
    fn solaris_mac_drops_leading_zeros() {
        assert_eq!(solaris_mac("00:14:4f:20:dc:01"), "0:14:4f:20:dc:1");
        assert_eq!(solaris_mac("02:00:00:00:00:10"), "2:0:0:0:0:10");
    }

    #[test]
    fn lacp_view_has_seed_columns_and_flags() {
        let all = PortState::default()
            .with(PortState::LACP_ACTIVITY, true)
            .with(PortState::LACP_TIMEOUT, true)
            .with(PortState::AGGREGATION, true)
            .with(PortState::SYNCHRONIZATION, true)
            .with(PortState::COLLECTING, true)
            .with(PortState::DISTRIBUTING, true);
        let cut = PortState::default()
            .with(PortState::AGGREGATION, true)
            .with(PortState::DEFAULTED, true)
            .with(PortState::EXPIRED, true);
        let mut spec = AggrSpec::new("aggr1", &["eth0", "eth1"]);
        spec.policy = Some("L3,L4".into());
        let a = AggrStatus {
            name: "aggr1".into(),
            spec,
            temporary: false,
            mac: "02:00:00:00:00:01".parse().unwrap(),
            mtu: 1500,
            up: true,
            fallback_active: false,
            fallback_reason: None,
            carrier_losses: 0,
            members: vec![member("eth0", all), member("eth1", cut)],
            draining: vec![],
            protocol: serde_json::Value::Null,
        };
        let text = show_aggr_lacp(&a);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "key: 1 (0x0001) policy: L3,L4 address: 2:0:0:0:0:1 (auto)"
        );
        assert_eq!(lines[1], "LACP mode: active LACP timer: short");
        let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            words(lines[2]),
            [
                "device",
                "activity",
                "timeout",
                "aggregatable",
                "sync",
                "coll",
                "dist",
                "defaulted",
                "expired"
            ]
        );
        assert_eq!(
            words(lines[3]),
            [
                "eth0", "active", "short", "yes", "yes", "yes", "yes", "no", "no"
            ]
        );
        assert_eq!(
            words(lines[4]),
            [
                "eth1", "passive", "long", "yes", "no", "no", "no", "yes", "yes"
            ]
        );
        // Columns are aligned: every row starts its second column at the same offset.
        let col2 = |l: &str| {
            l.find(char::is_whitespace)
                .map(|i| i + l[i..].find(|c: char| !c.is_whitespace()).unwrap())
        };
        assert_eq!(col2(lines[2]), col2(lines[3]));
        assert_eq!(col2(lines[3]), col2(lines[4]));
    }
}
