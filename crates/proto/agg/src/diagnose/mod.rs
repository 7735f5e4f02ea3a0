//! Diagnosis of an aggregation: every check of `lagctl diagnose` in one place, each finding
//! with its evidence and its fixes as data ([`Fix`]: the setting to change and its value, the
//! members to take out, the view to look at). `lagctl` renders fixes as commands; the JSON
//! carries them as they are.
//!
//! [`diagnose`] is a pure function of what the caller knows ([`DiagnoseInput`]): the
//! configuration, the [`AggregationStatus`] (with each member's recent LACPDU arrivals,
//! [`crate::activity`]), per-member [`LinkFacts`] (speed, duplex, MTU, recent drops, whether
//! the interface still exists), the kernel fast path ([`OffloadFacts`]) and Distributed
//! Trunking ([`DtFacts`]). The daemon calls it (`lagctl diagnose`, and the checks before a
//! change that would take an aggregation down); the simulator does not (a scenario states what
//! must hold in its own `[[check]]`s).
//!
//! The checks, one file per area:
//! - `lacp`: who speaks LACP: a partner that sends nothing lately (static switch, or both
//!   ends passive, §6.4.2.3 LACP_Activity), LACPDUs arriving on a static trunk, members that
//!   reach different partners (§6.3.6 LAG ID), the partner on the other timer;
//! - `links`: speed, duplex and MTU of the members, large frames dropped towards a partner
//!   with a smaller MTU (§6.4.8: LACP needs full duplex);
//! - `loopback`: members that receive our own LACPDUs, and what is cabled wrong;
//! - `members`: each member that does not carry traffic, and why (deleted, no carrier,
//!   churn §6.4.17, EXPIRED/DEFAULTED §6.4.12, Standby, Mux §6.4.15);
//! - `capacity`: min-links not met, fallback in force;
//! - `traffic`: a hash policy that puts most traffic on one member (the Sun Trunking
//!   article's L2 hashing towards one router), one flow saturating a member;
//! - `balancer`: switch-independent modes, the aggregate's MAC seen on another member;
//! - [`offload`]: the kernel fast path asked for but not in force;
//! - [`dt`]: Distributed Trunking (peer, peer link, domain, consistency).
//!
//! [`consequences`] looks ahead: whether a configuration change takes an aggregation that is up
//! down (the daemon refuses such a change unless forced).
//!
//! Adding a finding: a [`FindingCode`] variant, a check in the file of its area pushing a
//! [`Finding`] through `Ctx::push` with fixes built by [`Fix`]'s constructors (never
//! command syntax in words), and a test in `tests` or the area file.

mod balancer;
mod capacity;
pub mod dt;
mod finding;
mod lacp;
mod links;
mod loopback;
mod members;
pub mod offload;
mod predict;
mod traffic;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use lagd_distrib::Mode;
use lagd_lacp::{FallbackKind, LacpActivity, PortStatus};
use lagd_types::{AggrMode, Fallback, Instant, PortNumber};
use serde::{Deserialize, Serialize};

use crate::activity::PortActivity;
use crate::{AggregationConfig, AggregationStatus};

pub use dt::DtFacts;
pub use finding::{Change, Diagnosis, Finding, FindingCode, Fix, Setting, Severity, View, Where};
pub use offload::OffloadFacts;
pub use predict::consequences;

/// Share of the traffic on one member above which distribution is called unbalanced.
pub const IMBALANCE_SHARE: f64 = 0.75;
/// Share of the traffic in one hash bucket above which it is one conversation.
pub const SINGLE_FLOW_SHARE: f64 = 0.80;
/// Utilisation of a member above which it is called saturated.
pub const SATURATION: f64 = 0.90;
/// Below this many bytes sent in total, the traffic is too small to judge its spread.
pub const DEFAULT_MIN_BYTES: u64 = 1_000_000;

/// What the caller knows of a member's link beyond the protocol status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFacts {
    /// Speed in Mbit/s (overrides the status when known).
    pub speed_mbps: Option<u32>,
    /// Full duplex (overrides the status when known).
    pub full_duplex: Option<bool>,
    /// The member's MTU.
    pub mtu: Option<u32>,
    /// Bytes per second sent on the member, measured by the caller.
    pub tx_bytes_per_sec: Option<u64>,
    /// The member's interface was deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Frames the kernel dropped on transmit on this member lately (the caller's recent
    /// window): on a virtual link, frames larger than the other end's MTU.
    pub tx_dropped_recent: Option<u64>,
    /// Frames received too long or malformed lately (length, over-size and frame errors).
    pub rx_errors_recent: Option<u64>,
    /// The span the two counts above cover, in seconds.
    pub recent_secs: Option<u64>,
}

/// Everything [`diagnose`] looks at.
#[derive(Clone, Debug)]
pub struct DiagnoseInput<'a> {
    /// The aggregate's name.
    pub name: &'a str,
    /// The configuration in force.
    pub config: &'a AggregationConfig,
    /// The status.
    pub status: &'a AggregationStatus,
    /// Now, on the clock of the status (default: the status's own `at`).
    pub now: Instant,
    /// Member names by port number (ports without a name are called `port N`).
    pub port_names: BTreeMap<PortNumber, String>,
    /// Link facts by port number.
    pub links: BTreeMap<PortNumber, LinkFacts>,
    /// The aggregate's own MTU, if known.
    pub aggregate_mtu: Option<u32>,
    /// Traffic below this many bytes is not judged for balance ([`DEFAULT_MIN_BYTES`]).
    pub min_bytes: u64,
    /// The kernel fast path, when the caller runs one.
    pub offload: Option<OffloadFacts>,
    /// Distributed Trunking: `None` for an ordinary aggregation, `Some(None)` for a
    /// distributed one without a DT domain, `Some(Some(facts))` otherwise.
    pub dt: Option<Option<DtFacts>>,
}

impl<'a> DiagnoseInput<'a> {
    /// An input with no link facts and the default thresholds.
    pub fn new(
        name: &'a str,
        config: &'a AggregationConfig,
        status: &'a AggregationStatus,
    ) -> Self {
        DiagnoseInput {
            name,
            config,
            status,
            now: status.at,
            port_names: BTreeMap::new(),
            links: BTreeMap::new(),
            aggregate_mtu: None,
            min_bytes: DEFAULT_MIN_BYTES,
            offload: None,
            dt: None,
        }
    }

    /// The value of `setting` in force, spelt as a fix would spell it (`None` when the input
    /// does not tell).
    pub fn current(&self, setting: Setting) -> Option<String> {
        let lacp = &self.config.lacp;
        let dist = &self.config.distributor;
        Some(match setting {
            Setting::Mode => match (dist.mode, self.config.alb.as_ref().map(|a| a.mode)) {
                (_, Some(crate::alb::AlbMode::Transmit)) => AggrMode::TransmitLb,
                (_, Some(crate::alb::AlbMode::Adaptive)) => AggrMode::AdaptiveLb,
                (m, None) => match m {
                    Mode::Hash if lacp.mode == LacpActivity::Off => AggrMode::Static,
                    Mode::Hash => AggrMode::Lacp,
                    Mode::ActiveBackup => AggrMode::ActiveBackup,
                    Mode::RoundRobin => AggrMode::RoundRobin,
                    Mode::Broadcast => AggrMode::Broadcast,
                },
            }
            .to_string(),
            Setting::LacpMode => lacp.mode.to_string(),
            Setting::LacpTimer => lacp.timer.to_string(),
            Setting::Policy => dist.policy.to_string(),
            Setting::Mtu => self.aggregate_mtu?.to_string(),
            Setting::MinLinks => lacp.min_links.to_string(),
            Setting::MaxActive => lacp.max_active.unwrap_or(0).to_string(),
            Setting::Fallback => match lacp.fallback.map(|f| f.kind) {
                None => Fallback::Off,
                Some(FallbackKind::OneMember) => Fallback::OneMember,
                Some(FallbackKind::Static) => Fallback::Static,
            }
            .to_string(),
            Setting::FallbackTimeout => lacp.fallback.map(|f| f.timeout.to_string())?,
            Setting::SystemPriority => lacp.system.priority.to_string(),
            Setting::Key => lacp.key.to_string(),
            Setting::Offload => {
                let o = self.offload.as_ref()?;
                match (o.setting.as_str(), o.requested) {
                    ("", true) => "auto".into(),
                    ("", false) => "off".into(),
                    (s, _) => s.into(),
                }
            }
            Setting::Distributed => self.dt.is_some().to_string(),
            Setting::Mac => return None,
        })
    }

    fn activity(&self, port: PortNumber) -> Option<&PortActivity> {
        self.status.activity.iter().find(|a| a.port == port)
    }
}

/// What the checks share: the input, and the findings so far.
pub(crate) struct Ctx<'a, 'b> {
    input: &'b DiagnoseInput<'a>,
    out: Vec<Finding>,
}

impl Ctx<'_, '_> {
    fn name_of(&self, port: PortNumber) -> String {
        self.input
            .port_names
            .get(&port)
            .cloned()
            .unwrap_or_else(|| format!("port {port}"))
    }

    fn facts(&self, port: PortNumber) -> LinkFacts {
        self.input.links.get(&port).copied().unwrap_or_default()
    }

    fn speed(&self, p: &PortStatus) -> u32 {
        self.facts(p.number).speed_mbps.unwrap_or(p.link.speed_mbps)
    }

    fn full_duplex(&self, p: &PortStatus) -> bool {
        self.facts(p.number)
            .full_duplex
            .unwrap_or(p.link.full_duplex)
    }

    fn lacp_on(&self) -> bool {
        self.input.config.lacp.mode != LacpActivity::Off
    }

    /// Whether a finding with `code` was pushed already.
    fn found(&self, code: FindingCode) -> bool {
        self.out.iter().any(|f| f.code == code)
    }

    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        member: Option<String>,
        problem: String,
        evidence: Vec<String>,
        fix: Vec<Fix>,
    ) {
        self.out.push(Finding {
            severity,
            code,
            member,
            problem,
            evidence,
            fix,
        });
    }
}

/// Checks the aggregation and explains every problem found.
pub fn diagnose(input: &DiagnoseInput<'_>) -> Diagnosis {
    let mut cx = Ctx {
        input,
        out: Vec::new(),
    };
    let up: Vec<&PortStatus> = input
        .status
        .lacp
        .ports
        .iter()
        // A member that receives our own LACPDUs is explained by `loopback` alone.
        .filter(|p| p.link.up && p.loopback.is_none())
        .collect();
    let silent = lacp::check(&mut cx, &up);
    links::check(&mut cx, &up);
    loopback::check(&mut cx);
    members::check(&mut cx, silent);
    capacity::check(&mut cx);
    traffic::check(&mut cx);
    balancer::check(&mut cx);
    if let Some(o) = &input.offload {
        offload::check(&mut cx, o);
    }
    if let Some(dt) = &input.dt {
        dt::check(&mut cx, dt.as_ref());
    }
    Diagnosis::new(input.name, cx.out)
}
