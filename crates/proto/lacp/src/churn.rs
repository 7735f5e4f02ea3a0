//! The Churn Detection machines (IEEE 802.1AX-2014 §6.4.17): actor and partner. A port whose
//! actor (or partner) stays out of Synchronization for Churn_Detection_Time (60 s) is in churn:
//! usually a Standby link, or a misconfiguration.

use crate::EventKind;
use crate::port::{Ctx, Port};
use crate::timers::{CHURN_DETECTION_TIME, Timer};
use core::fmt;
use serde::{Deserialize, Serialize};

/// States of a Churn Detection machine: NO_ACTOR_CHURN / ACTOR_CHURN_MONITOR / ACTOR_CHURN for
/// the actor, NO_PARTNER_CHURN / PARTNER_CHURN_MONITOR / PARTNER_CHURN for the partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChurnState {
    /// NO_*_CHURN: in Synchronization.
    NoChurn,
    /// *_CHURN_MONITOR: out of sync, churn timer running.
    ChurnMonitor,
    /// *_CHURN: out of sync for Churn_Detection_Time.
    Churn,
}

impl fmt::Display for ChurnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChurnState::NoChurn => "NO_CHURN",
            ChurnState::ChurnMonitor => "CHURN_MONITOR",
            ChurnState::Churn => "CHURN",
        })
    }
}

/// Which of the two machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Actor,
    Partner,
}

impl Side {
    fn timer(self) -> Timer {
        match self {
            Side::Actor => Timer::ActorChurn,
            Side::Partner => Timer::PartnerChurn,
        }
    }
    fn state(self, p: &mut Port) -> &mut ChurnState {
        match self {
            Side::Actor => &mut p.actor_churn,
            Side::Partner => &mut p.partner_churn,
        }
    }
    fn in_sync(self, p: &Port) -> bool {
        match self {
            Side::Actor => p.actor.state.synchronization(),
            Side::Partner => p.partner.state.synchronization(),
        }
    }
    fn event(self, s: ChurnState) -> EventKind {
        match self {
            Side::Actor => EventKind::ActorChurn(s),
            Side::Partner => EventKind::PartnerChurn(s),
        }
    }
}

fn enter(p: &mut Port, ctx: &mut Ctx<'_>, side: Side, to: ChurnState) {
    *side.state(p) = to;
    ctx.emit(Some(p.number()), side.event(to));
}

/// Runs one Churn Detection machine's condition-driven transitions. While the port is
/// disabled the machine rests in CHURN_MONITOR with its timer stopped (the standard restarts
/// it continuously: the same thing).
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>, side: Side) -> bool {
    let timer = side.timer();
    let state = *side.state(p);
    if !p.port_enabled() {
        p.timers.stop(timer);
        if state != ChurnState::ChurnMonitor {
            enter(p, ctx, side, ChurnState::ChurnMonitor);
            return true;
        }
        return false;
    }
    let sync = side.in_sync(p);
    match state {
        ChurnState::ChurnMonitor | ChurnState::Churn if sync => {
            p.timers.stop(timer);
            enter(p, ctx, side, ChurnState::NoChurn);
            true
        }
        ChurnState::NoChurn if !sync => {
            p.timers.start(timer, ctx.now, CHURN_DETECTION_TIME);
            enter(p, ctx, side, ChurnState::ChurnMonitor);
            true
        }
        ChurnState::ChurnMonitor if !p.timers.is_running(timer) => {
            p.timers.start(timer, ctx.now, CHURN_DETECTION_TIME);
            false
        }
        _ => false,
    }
}

/// The churn timer expired: CHURN_MONITOR → CHURN.
pub(crate) fn timer_expired(p: &mut Port, ctx: &mut Ctx<'_>, side: Side) {
    if *side.state(p) == ChurnState::ChurnMonitor && !side.in_sync(p) && p.port_enabled() {
        enter(p, ctx, side, ChurnState::Churn);
    }
}
