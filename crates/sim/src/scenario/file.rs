//! The scenario file as written: serde structs that mirror the TOML (unknown fields refused).

use super::model::*;
use crate::error::{SimError, invalid};
use crate::packet::Protocol;
use crate::units::{Dur, Rate};
use lagd_agg::lagd_distrib::Mode;
use lagd_node::{AggrMode, AggrSettings, LacpActivity};
use lagd_types::MacAddr;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) duration: Dur,
    #[serde(default)]
    pub(super) seed: u64,
    #[serde(default)]
    pub(super) report: ReportFile,
    #[serde(default, rename = "node")]
    pub(super) nodes: Vec<NodeFile>,
    #[serde(default, rename = "link")]
    pub(super) links: Vec<LinkFile>,
    #[serde(default, rename = "flow")]
    pub(super) flows: Vec<FlowFile>,
    #[serde(default, rename = "fault")]
    pub(super) faults: Vec<FaultFile>,
    #[serde(default, rename = "check")]
    pub(super) checks: Vec<CheckFile>,
    #[serde(default)]
    pub(super) dt: Vec<DtFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportFile {
    pub(super) table: Option<Vec<String>>,
    pub(super) interval: Option<Dur>,
    pub(super) drain: Option<Dur>,
    pub(super) states: Option<bool>,
    pub(super) events: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum PortsFile {
    Count(u16),
    Names(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeFile {
    pub(super) name: String,
    #[serde(default)]
    pub(super) kind: NodeKind,
    pub(super) mac: Option<MacAddr>,
    pub(super) system_priority: Option<u16>,
    pub(super) ports: PortsFile,
    pub(super) ip: Option<Ipv4Addr>,
    pub(super) ageing: Option<Dur>,
    #[serde(default, rename = "aggregation")]
    pub(super) aggregations: Vec<toml::Table>,
}

#[derive(Deserialize)]
pub(super) struct AggHead {
    pub(super) name: String,
    pub(super) ports: Option<Vec<String>>,
    #[serde(default)]
    pub(super) port_priority: BTreeMap<String, u16>,
    pub(super) distribution: Option<Mode>,
}

/// An `[[node.aggregation]]` table: its head (name, ports, priorities, distribution) and its
/// settings (the settings model's, as the daemon's file writes them), read separately so that
/// unknown settings are refused by name (serde cannot refuse unknown fields through
/// `flatten`).
pub(super) struct AggFile {
    pub(super) head: AggHead,
    pub(super) settings: AggrSettings,
}

pub(super) fn split_agg(node: &str, mut t: toml::Table) -> Result<AggFile, SimError> {
    let mut head = toml::Table::new();
    for k in ["name", "ports", "port_priority", "distribution"] {
        if let Some(v) = t.remove(k) {
            head.insert(k.to_string(), v);
        }
    }
    let head: AggHead = head
        .try_into()
        .map_err(|e| invalid(format!("node {node:?} aggregation: {e}")))?;
    let written: AggrSettings = t
        .try_into()
        .map_err(|e| invalid(format!("node {node:?} aggregation {:?}: {e}", head.name)))?;
    // As `lagctl create-aggr` does: `lacp_mode = "off"` alone is a static trunk.
    let mut settings = AggrSettings::default().with(&written);
    // `distribution` is the scenario's older word for the daemon's mode; in a scenario LACP
    // runs (active) unless `lacp_mode = "off"`, whatever the distribution.
    match head.distribution {
        None | Some(Mode::Hash) => {}
        Some(d) => {
            settings.mode = Some(match d {
                Mode::ActiveBackup => AggrMode::ActiveBackup,
                Mode::RoundRobin => AggrMode::RoundRobin,
                _ => AggrMode::Broadcast,
            });
            settings.lacp_mode = settings.lacp_mode.or(Some(LacpActivity::Active));
        }
    }
    Ok(AggFile { head, settings })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkFile {
    pub(super) a: String,
    pub(super) b: String,
    pub(super) rate: Option<Rate>,
    pub(super) delay: Option<Dur>,
    pub(super) loss: Option<f64>,
    pub(super) queue: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlowFile {
    pub(super) name: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) via: Option<String>,
    #[serde(default = "one")]
    pub(super) count: usize,
    #[serde(default)]
    pub(super) vary: Vec<VaryField>,
    pub(super) src_mac: Option<MacAddr>,
    pub(super) dst_mac: Option<MacAddr>,
    pub(super) src_ip: Option<Ipv4Addr>,
    pub(super) dst_ip: Option<Ipv4Addr>,
    pub(super) protocol: Option<Protocol>,
    pub(super) src_port: Option<u16>,
    pub(super) dst_port: Option<u16>,
    pub(super) rate: Option<Rate>,
    pub(super) rates: Option<Vec<Rate>>,
    pub(super) size: Option<usize>,
    pub(super) start: Option<Dur>,
    pub(super) stop: Option<Dur>,
}

pub(super) fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultFile {
    pub(super) at: Dur,
    pub(super) action: String,
    pub(super) link: Option<String>,
    pub(super) port: Option<String>,
    pub(super) node: Option<String>,
    pub(super) aggregation: Option<String>,
    pub(super) direction: Option<String>,
    pub(super) down_for: Option<Dur>,
    pub(super) config: Option<AggrSettings>,
    pub(super) rate: Option<Rate>,
    pub(super) loss: Option<f64>,
    pub(super) delay: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckFile {
    pub(super) at: At,
    pub(super) check: String,
    pub(super) node: Option<String>,
    pub(super) port: Option<String>,
    pub(super) aggregation: Option<String>,
    pub(super) flow: Option<String>,
    pub(super) side: Option<String>,
    pub(super) flag: Option<String>,
    pub(super) equals: Option<String>,
    pub(super) is: Option<bool>,
    pub(super) contains: Option<String>,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) from: Option<Dur>,
    pub(super) to: Option<Dur>,
    pub(super) threshold: Option<f64>,
    pub(super) direction: Option<String>,
    pub(super) mac: Option<MacAddr>,
}

pub(super) fn label_of(c: &CheckFile) -> String {
    let mut s = c.check.clone();
    for v in [&c.node, &c.port, &c.aggregation, &c.flow, &c.side, &c.flag]
        .into_iter()
        .flatten()
    {
        s.push(' ');
        s.push_str(v);
    }
    if let Some(e) = &c.equals {
        s.push_str(&format!(" == {e}"));
    }
    if let Some(b) = c.is {
        s.push_str(&format!(" is {b}"));
    }
    if let Some(t) = &c.contains {
        s.push_str(&format!(" contains {t:?}"));
    }
    if let Some(m) = &c.mac {
        s.push_str(&format!(" mac {m}"));
    }
    match c.direction.as_deref() {
        Some("in") => s.push_str(" received"),
        Some("out") => s.push_str(" sent"),
        _ => {}
    }
    match (c.min, c.max) {
        (Some(a), Some(b)) => s.push_str(&format!(" in [{a}, {b}]")),
        (Some(a), None) => s.push_str(&format!(" >= {a}")),
        (None, Some(b)) => s.push_str(&format!(" <= {b}")),
        (None, None) => {}
    }
    if c.from.is_some() || c.to.is_some() {
        s.push_str(&format!(
            " over [{}, {}]",
            c.from.map_or("0".into(), |d| d.0.to_string()),
            c.to.map_or("at".into(), |d| d.0.to_string())
        ));
    }
    s
}

/// `[[dt]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DtFile {
    pub(super) name: Option<String>,
    pub(super) domain_id: Option<u32>,
    pub(super) peer_link: String,
    pub(super) keepalive: Option<String>,
    #[serde(default)]
    pub(super) aggregations: Vec<String>,
    pub(super) system_priority: Option<u16>,
    pub(super) system_mac: Option<MacAddr>,
    pub(super) tx_interval: Option<Dur>,
    pub(super) peer_timeout: Option<Dur>,
    pub(super) keepalive_interval: Option<Dur>,
    pub(super) keepalive_timeout: Option<Dur>,
    pub(super) init_delay: Option<Dur>,
    pub(super) reconcile: Option<Dur>,
    #[serde(default, rename = "switch")]
    pub(super) switches: Vec<DtSwitchFile>,
}

/// `[[dt.switch]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DtSwitchFile {
    pub(super) node: String,
    pub(super) role_priority: Option<u16>,
    pub(super) domain_id: Option<u32>,
}
