//! The kernel fast path (`offload`): asked for but not in force, or not on every member.

use lagd_distrib::Mode;
use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

use super::{Change, Ctx, FindingCode, Fix, Setting, Severity};

/// What the caller knows of its kernel fast path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffloadFacts {
    /// The configuration asks for it (`offload = true`).
    pub requested: bool,
    /// Its programs are loaded and attached.
    pub running: bool,
    /// Members whose received frames take the user-space path (their receive program could
    /// not be attached, or their socket not filtered).
    pub slow_rx: Vec<PortNumber>,
}

pub(crate) fn check(cx: &mut Ctx<'_, '_>, o: &OffloadFacts) {
    if !o.requested {
        return;
    }
    let name = cx.input.name;
    let dist = &cx.input.config.distributor;
    if !o.running {
        let (why, fix) = if dist.mode != Mode::Hash {
            (
                format!(
                    "mode {} does not distribute by hash",
                    cx.input.current(Setting::Mode).unwrap_or_default()
                ),
                vec![
                    Fix::set("distribute by hash", Setting::Mode, "lacp"),
                    Fix::set("or turn the fast path off", Setting::Offload, "off"),
                ],
            )
        } else if !dist.policy.l4 {
            (
                format!("policy {} has no L4", dist.policy),
                vec![Fix::set("hash on L4 ports too", Setting::Policy, "L3,L4")],
            )
        } else {
            (
                "the kernel refused the programs (lagd's log has the bpf() error)".to_string(),
                vec![Fix::text(
                    "run Linux 6.6 or later with BPF enabled, as root (CAP_BPF, CAP_NET_ADMIN)",
                )],
            )
        };
        cx.push(
            Severity::Warning,
            FindingCode::OffloadInactive,
            None,
            format!(
                "{name} asks for the kernel fast path (offload = true), but it is not running: frames take the user-space path"
            ),
            vec![why],
            fix,
        );
        return;
    }
    for port in &o.slow_rx {
        let m = cx.name_of(*port);
        cx.push(
            Severity::Warning,
            FindingCode::OffloadInactive,
            Some(m.clone()),
            format!("{m}'s received frames take the user-space path"),
            vec![
                "its receive program could not be attached, or its socket filtered (lagd's log says which)"
                    .into(),
            ],
            vec![Fix::change(
                "take it out and add it back",
                Change::Readd { member: m.clone() },
            )],
        );
    }
}
