//! The kernel fast path (`offload`): asked for but not in force, or not on every member.

use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

use super::{Change, Ctx, FindingCode, Fix, Setting, Severity};

/// What the caller knows of its kernel fast path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffloadFacts {
    /// The configuration asks for it (`offload = auto` or `on`).
    pub requested: bool,
    /// Its programs are loaded and attached.
    pub running: bool,
    /// Members whose received frames take the user-space path (their receive program could
    /// not be attached, or their socket not filtered).
    pub slow_rx: Vec<PortNumber>,
    /// The setting as written (`auto`, `on`, `off`).
    #[serde(default)]
    pub setting: String,
    /// Why it is not running, as the daemon found (the kernel's answer).
    #[serde(default)]
    pub reason: Option<String>,
    /// What fixes that, as the daemon knows.
    #[serde(default)]
    pub fix: Option<String>,
}

pub(crate) fn check(cx: &mut Ctx<'_, '_>, o: &OffloadFacts) {
    if !o.requested {
        return;
    }
    let name = cx.input.name;
    if !o.running {
        let why = o.reason.clone().unwrap_or_else(|| {
            "the kernel refused the programs (lagd's log has the bpf() error)".into()
        });
        let fix = o.fix.clone().unwrap_or_else(|| {
            "run Linux 6.6 or later (tcx) or a kernel with clsact and cls_bpf, with BPF enabled, as root (CAP_BPF, CAP_NET_ADMIN)".into()
        });
        cx.push(
            Severity::Warning,
            FindingCode::OffloadInactive,
            None,
            format!(
                "{name}: the kernel fast path is not running (offload = {}): frames take the user-space path (slower, about twice the CPU per byte)",
                if o.setting.is_empty() { "auto" } else { &o.setting }
            ),
            vec![why],
            vec![
                Fix::text(&fix),
                Fix::set("or use the user-space path on purpose", Setting::Offload, "off"),
            ],
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
                o.reason.clone().unwrap_or_else(|| {
                    "its receive program could not be attached, or its socket filtered (lagd's log says which)".into()
                }),
            ],
            vec![Fix::change(
                "take it out and add it back",
                Change::Readd { member: m.clone() },
            )],
        );
    }
}
