//! The Receive machine (IEEE 802.1AX-2014 §6.4.12) with recordPDU, recordDefault,
//! update_Selected, update_Default_Selected and update_NTT (§6.4.9).

use crate::port::{Ctx, Port};
use crate::timers::{LONG_TIMEOUT_TIME, SHORT_TIMEOUT_TIME, Timer};
use crate::{EventKind, LacpActivity, LacpTimeout, Selected, SystemConfig};
use core::fmt;
use lagd_types::{PortNumber, PortState};
use lagd_wire::{LacpInfo, LacpduRepr, WireError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// States of the Receive machine (§6.4.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiveState {
    /// INITIALIZE.
    Initialize,
    /// PORT_DISABLED: the link is down.
    PortDisabled,
    /// EXPIRED: the partner's information timed out once; short timeout asked.
    Expired,
    /// LACP_DISABLED: static trunk (LACP off) or half duplex.
    LacpDisabled,
    /// DEFAULTED: no partner heard; Partner_Admin values in use.
    Defaulted,
    /// CURRENT: partner information is up to date.
    Current,
}

impl fmt::Display for ReceiveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReceiveState::Initialize => "INITIALIZE",
            ReceiveState::PortDisabled => "PORT_DISABLED",
            ReceiveState::Expired => "EXPIRED",
            ReceiveState::LacpDisabled => "LACP_DISABLED",
            ReceiveState::Defaulted => "DEFAULTED",
            ReceiveState::Current => "CURRENT",
        })
    }
}

/// A received frame that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RxError {
    /// The frame arrived on a port that is not configured.
    #[error("no port {0}")]
    UnknownPort(PortNumber),
    /// The frame could not be decoded (counted in `illegal_rx` or `unknown_rx`).
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// recordDefault (§6.4.9): the partner becomes the administrative default.
fn record_default(p: &mut Port, sys: &SystemConfig) {
    p.partner = p.default_partner(sys);
    p.actor.state.set(PortState::DEFAULTED, true);
}

/// Whether two pieces of information name the same port of the same aggregation (the fields
/// update_Selected compares, §6.4.9).
fn same_identity(a: &LacpInfo, b: &LacpInfo) -> bool {
    a.port == b.port
        && a.system == b.system
        && a.key == b.key
        && a.state.aggregation() == b.state.aggregation()
}

/// update_Default_Selected (§6.4.9).
fn update_default_selected(p: &mut Port, ctx: &mut Ctx<'_>) {
    let d = p.default_partner(ctx.cfg);
    if !same_identity(&d, &p.partner) {
        p.set_selected(
            ctx,
            Selected::Unselected,
            "partner defaulted: a different partner",
        );
    }
}

/// Re-reads the default partner of a port in DEFAULTED or LACP_DISABLED after a change of
/// configuration or fallback.
pub(crate) fn refresh_default(p: &mut Port, ctx: &mut Ctx<'_>) {
    if matches!(
        p.receive,
        ReceiveState::Defaulted | ReceiveState::LacpDisabled
    ) {
        update_default_selected(p, ctx);
        let half_duplex = p.receive == ReceiveState::LacpDisabled && !p.link.full_duplex;
        record_default(p, ctx.cfg);
        if half_duplex {
            p.partner.state.set(PortState::AGGREGATION, false);
        }
    } else if matches!(
        p.receive,
        ReceiveState::PortDisabled | ReceiveState::Initialize
    ) && p.actor.state.defaulted()
    {
        // Only a default partner is re-read: PORT_DISABLED keeps the Partner_Oper it recorded
        // from a LACPDU (§6.4.12), so a link that comes back enters EXPIRED with the partner it
        // knew (issue 11, defect 5).
        p.partner = p.default_partner(ctx.cfg);
        p.partner.state.set(PortState::SYNCHRONIZATION, false);
    }
}

fn transition(p: &mut Port, ctx: &mut Ctx<'_>, to: ReceiveState, reason: &'static str) {
    let from = p.receive;
    p.receive = to;
    ctx.emit(Some(p.number()), EventKind::Receive { from, to, reason });
    match to {
        ReceiveState::Initialize => {
            p.set_selected(ctx, Selected::Unselected, "receive machine initialized");
            record_default(p, ctx.cfg);
            p.actor.state.set(PortState::EXPIRED, false);
            p.port_moved = false;
        }
        ReceiveState::PortDisabled => {
            p.partner.state.set(PortState::SYNCHRONIZATION, false);
            p.timers.stop(Timer::CurrentWhile);
        }
        ReceiveState::Expired => {
            p.partner.state.set(PortState::SYNCHRONIZATION, false);
            p.partner.state.set(PortState::LACP_TIMEOUT, true);
            p.timers
                .start(Timer::CurrentWhile, ctx.now, SHORT_TIMEOUT_TIME);
            p.actor.state.set(PortState::EXPIRED, true);
        }
        ReceiveState::LacpDisabled => {
            p.actor.state.set(PortState::EXPIRED, false);
            p.set_selected(ctx, Selected::Unselected, "LACP disabled on the port");
            record_default(p, ctx.cfg);
            if !p.link.full_duplex {
                p.partner.state.set(PortState::AGGREGATION, false);
            }
            p.timers.stop(Timer::CurrentWhile);
        }
        ReceiveState::Defaulted => {
            update_default_selected(p, ctx);
            record_default(p, ctx.cfg);
            p.actor.state.set(PortState::EXPIRED, false);
        }
        ReceiveState::Current => {}
    }
}

/// The transitions not caused by a LACPDU or a timer: BEGIN, port_enabled, port_moved and
/// LACP_Enabled. Returns whether the state changed.
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>) -> bool {
    let mut changed = false;
    for _ in 0..4 {
        let enabled = p.port_enabled();
        let lacp = p.lacp_enabled(ctx.cfg);
        let next = match p.receive {
            ReceiveState::Initialize => Some((ReceiveState::PortDisabled, "initialized")),
            ReceiveState::PortDisabled if p.port_moved => Some((
                ReceiveState::Initialize,
                "port_moved: its partner now appears on another port",
            )),
            ReceiveState::PortDisabled if enabled && lacp => {
                Some((ReceiveState::Expired, "port enabled (link up)"))
            }
            ReceiveState::PortDisabled if enabled => Some((
                ReceiveState::LacpDisabled,
                if ctx.cfg.mode == LacpActivity::Off {
                    "port enabled, LACP off: static trunk member"
                } else {
                    "port enabled but half duplex: LACP needs full duplex"
                },
            )),
            ReceiveState::PortDisabled => None,
            _ if !enabled && !p.port_moved => {
                Some((ReceiveState::PortDisabled, "port disabled (link down)"))
            }
            ReceiveState::LacpDisabled if lacp => {
                Some((ReceiveState::PortDisabled, "LACP enabled"))
            }
            ReceiveState::Expired | ReceiveState::Defaulted | ReceiveState::Current if !lacp => {
                Some((ReceiveState::PortDisabled, "LACP disabled"))
            }
            _ => None,
        };
        match next {
            Some((to, reason)) => {
                transition(p, ctx, to, reason);
                changed = true;
            }
            None => break,
        }
    }
    changed
}

/// current_while_timer expired: CURRENT → EXPIRED, EXPIRED → DEFAULTED.
pub(crate) fn current_while_expired(p: &mut Port, ctx: &mut Ctx<'_>) {
    match p.receive {
        ReceiveState::Current => transition(
            p,
            ctx,
            ReceiveState::Expired,
            "current_while_timer expired: no LACPDU from the partner in time",
        ),
        ReceiveState::Expired => transition(
            p,
            ctx,
            ReceiveState::Defaulted,
            "current_while_timer expired again: partner information defaulted",
        ),
        _ => {}
    }
}

/// A valid LACPDU arrived: the CURRENT state's actions (update_Selected, update_NTT,
/// recordPDU, restart current_while_timer). Returns whether the PDU was used (it is ignored
/// in INITIALIZE, PORT_DISABLED and LACP_DISABLED).
pub(crate) fn rx_lacpdu(p: &mut Port, ctx: &mut Ctx<'_>, pdu: &LacpduRepr) -> bool {
    if !matches!(
        p.receive,
        ReceiveState::Expired | ReceiveState::Defaulted | ReceiveState::Current
    ) {
        return false;
    }
    // update_Selected.
    if !same_identity(&pdu.actor, &p.partner) {
        // No partner yet: defaulted, or never heard (the administrative null System).
        let none = p.receive == ReceiveState::Defaulted
            || p.partner.system.addr == lagd_types::MacAddr::ZERO;
        let why = if none {
            "a partner heard (LACPDU after none)"
        } else {
            "LACPDU from a different partner (System, key or port)"
        };
        p.set_selected(ctx, Selected::Unselected, why);
    }
    // update_NTT: the partner's view of us is out of date.
    let view = &pdu.partner;
    const NTT_BITS: u8 = PortState::LACP_ACTIVITY
        | PortState::LACP_TIMEOUT
        | PortState::SYNCHRONIZATION
        | PortState::AGGREGATION;
    if view.port != p.actor.port
        || view.system != p.actor.system
        || view.key != p.actor.key
        || (view.state.0 ^ p.actor.state.0) & NTT_BITS != 0
    {
        p.ntt = true;
    }
    // recordPDU.
    let matched = same_identity(&pdu.partner, &p.actor);
    let actor = pdu.actor.state;
    let sync = actor.synchronization() && (matched || !actor.aggregation());
    p.partner = pdu.actor;
    p.partner.state.set(PortState::SYNCHRONIZATION, sync);
    p.actor.state.set(PortState::DEFAULTED, false);
    p.actor.state.set(PortState::EXPIRED, false);
    let timeout = match ctx.cfg.timer {
        LacpTimeout::Short => SHORT_TIMEOUT_TIME,
        LacpTimeout::Long => LONG_TIMEOUT_TIME,
    };
    p.timers.start(Timer::CurrentWhile, ctx.now, timeout);
    p.last_rx = Some(ctx.now);
    if p.receive != ReceiveState::Current {
        transition(p, ctx, ReceiveState::Current, "LACPDU received");
    }
    true
}

/// The actor's timeout went from short to long on a live port (Deviations): in CURRENT, the
/// partner information is kept for Long_Timeout_Time from the last LACPDU, as if that LACPDU
/// had arrived with the new timeout. The standard leaves current_while running with the
/// Short_Timeout_Time it was started with, while the partner, told to slow down, may send its
/// next LACPDU only Slow_Periodic_Time later: the port would expire and leave the aggregate
/// for a moment on a mere configuration change. (Long to short needs nothing: the partner
/// answers the actor's new state at once, and that LACPDU restarts the timer short.)
pub(crate) fn timeout_lengthened(p: &mut Port, ctx: &mut Ctx<'_>) {
    if p.receive == ReceiveState::Current {
        let from = p.last_rx.unwrap_or(ctx.now);
        p.timers.start(Timer::CurrentWhile, from, LONG_TIMEOUT_TIME);
    }
}

/// Restarts the Receive machine (BEGIN): INITIALIZE, then onwards.
pub(crate) fn reinitialize(p: &mut Port, ctx: &mut Ctx<'_>, reason: &'static str) {
    transition(p, ctx, ReceiveState::Initialize, reason);
}
