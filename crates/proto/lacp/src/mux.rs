//! The Mux machine (IEEE 802.1AX-2014 §6.4.15), coupled control (DETACHED, WAITING, ATTACHED,
//! COLLECTING_DISTRIBUTING) or independent control (… ATTACHED, COLLECTING, DISTRIBUTING).
//!
//! Attach_Mux_To_Aggregator / Detach_Mux_From_Aggregator are the port's `aggregator` link (the
//! Selection Logic releases it once the port is DETACHED and UNSELECTED);
//! Enable/Disable_Collecting/Distributing set the actor's Collecting and Distributing bits,
//! from which the `CollectingDistributing` events are derived for ports of the active
//! Aggregator.

use crate::port::{Ctx, Port};
use crate::timers::Timer;
use crate::{EventKind, Selected};
use core::fmt;
use lagd_types::PortState;
use serde::{Deserialize, Serialize};

/// States of the Mux machine (§6.4.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MuxState {
    /// DETACHED.
    Detached,
    /// WAITING: wait_while_timer runs (or the port is Standby).
    Waiting,
    /// ATTACHED: in sync, not collecting.
    Attached,
    /// COLLECTING (independent control).
    Collecting,
    /// DISTRIBUTING (independent control).
    Distributing,
    /// COLLECTING_DISTRIBUTING (coupled control).
    CollectingDistributing,
}

impl fmt::Display for MuxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MuxState::Detached => "DETACHED",
            MuxState::Waiting => "WAITING",
            MuxState::Attached => "ATTACHED",
            MuxState::Collecting => "COLLECTING",
            MuxState::Distributing => "DISTRIBUTING",
            MuxState::CollectingDistributing => "COLLECTING_DISTRIBUTING",
        })
    }
}

/// What the mux needs to know of the port's Aggregator.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AggView {
    /// Ready (§6.4.8): every WAITING, SELECTED port of the Aggregator has Ready_N.
    pub ready: bool,
    /// Some port is already attached: a joining port need not wait (see `enter`).
    pub has_attached: bool,
    /// It is the active Aggregator, the one whose ports the data plane collects and
    /// distributes on. Only its ports report Synchronization and go beyond ATTACHED
    /// (deviation, crate docs).
    pub active: bool,
}

fn next(p: &Port, coupled: bool, agg: AggView) -> Option<(MuxState, &'static str)> {
    use MuxState::*;
    let sel = p.selected;
    // Deviation (crate docs): a partner that reports Expired hears no LACPDU from us on this
    // link, so nothing we send on it arrives: it counts as out of sync. A link that fails in one
    // direction only then stops carrying traffic when the partner's current_while_timer
    // expires (3 s with short timers), not when it is DEFAULTED three seconds later.
    let pexpired = p.partner.state.expired();
    let psync = p.partner_in_sync();
    let out_of_sync = if pexpired {
        "partner reports Expired (it hears no LACPDU from us on this link)"
    } else {
        "partner out of sync"
    };
    let pcoll = p.partner.state.collecting();
    let leave = match sel {
        Selected::Unselected => Some("unselected"),
        Selected::Standby => Some("standby"),
        Selected::Selected if !agg.active => Some("its Aggregator is not the active one"),
        Selected::Selected => None,
    };
    match p.mux {
        Detached => match sel {
            Selected::Selected => Some((Waiting, "selected an Aggregator")),
            Selected::Standby => Some((Waiting, "standby in an Aggregator")),
            Selected::Unselected => None,
        },
        Waiting if sel == Selected::Unselected => Some((Detached, "unselected")),
        Waiting if sel == Selected::Selected && agg.ready && p.ready_n => {
            Some((Attached, "Aggregator ready (wait_while_timer done)"))
        }
        Waiting => None,
        Attached if sel == Selected::Selected && !agg.active => None,
        Attached => match leave {
            Some(r) => Some((Detached, r)),
            None if psync && coupled => Some((CollectingDistributing, "partner in sync")),
            None if psync => Some((Collecting, "partner in sync")),
            None => None,
        },
        CollectingDistributing if !coupled => Some((Attached, "independent control configured")),
        CollectingDistributing => match leave {
            Some(r) => Some((Attached, r)),
            None if !psync => Some((Attached, out_of_sync)),
            None => None,
        },
        Collecting | Distributing if coupled => Some((Attached, "coupled control configured")),
        Collecting => match leave {
            Some(r) => Some((Attached, r)),
            None if !psync => Some((Attached, out_of_sync)),
            None if pcoll => Some((Distributing, "partner collecting")),
            None => None,
        },
        Distributing => match leave {
            Some(r) => Some((Collecting, r)),
            None if !psync => Some((Collecting, out_of_sync)),
            None if !pcoll => Some((Collecting, "partner not collecting")),
            None => None,
        },
    }
}

fn enter(p: &mut Port, ctx: &mut Ctx<'_>, to: MuxState, reason: &'static str, agg: AggView) {
    let from = p.mux;
    p.mux = to;
    ctx.emit(Some(p.number()), EventKind::Mux { from, to, reason });
    let s = &mut p.actor.state;
    match to {
        MuxState::Detached => {
            s.set(PortState::SYNCHRONIZATION, false);
            s.set(PortState::COLLECTING, false);
            s.set(PortState::DISTRIBUTING, false);
            p.timers.stop(Timer::WaitWhile);
            p.ready_n = false;
            p.ntt = true;
        }
        MuxState::Waiting => {
            // Deviation for speed, noted in the crate docs: wait_while_timer lets the links of
            // a new aggregation gather before it attaches; a port joining an Aggregator that
            // already has attached ports need not wait.
            p.ready_n = agg.has_attached;
            if p.ready_n {
                p.timers.stop(Timer::WaitWhile);
            } else {
                p.timers
                    .start(Timer::WaitWhile, ctx.now, ctx.cfg.aggregate_wait);
            }
        }
        MuxState::Attached => {
            // Deviation (crate docs): Sync only in the active Aggregator.
            s.set(PortState::SYNCHRONIZATION, agg.active);
            s.set(PortState::COLLECTING, false);
            s.set(PortState::DISTRIBUTING, false);
            p.ntt = true;
        }
        MuxState::Collecting => {
            s.set(PortState::COLLECTING, true);
            s.set(PortState::DISTRIBUTING, false);
            p.ntt = true;
        }
        MuxState::Distributing => {
            s.set(PortState::DISTRIBUTING, true);
            p.ntt = true;
        }
        MuxState::CollectingDistributing => {
            s.set(PortState::COLLECTING, true);
            s.set(PortState::DISTRIBUTING, true);
            p.ntt = true;
        }
    }
}

/// An attached port whose Aggregator became (or stopped being) the active one tells its
/// partner at once. Returns whether Sync changed.
fn honest_sync(p: &mut Port, agg: AggView) -> bool {
    if p.mux == MuxState::Attached && p.actor.state.synchronization() != agg.active {
        p.actor.state.set(PortState::SYNCHRONIZATION, agg.active);
        p.ntt = true;
        return true;
    }
    false
}

/// Runs the Mux machine until it rests. Returns whether the state changed.
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>, agg: AggView) -> bool {
    let mut changed = honest_sync(p, agg);
    for _ in 0..6 {
        match next(p, ctx.cfg.coupled_control, agg) {
            Some((to, reason)) => {
                enter(p, ctx, to, reason, agg);
                changed = true;
            }
            None => break,
        }
    }
    changed |= honest_sync(p, agg);
    changed
}

/// wait_while_timer expired: Ready_N.
pub(crate) fn wait_while_expired(p: &mut Port) {
    p.ready_n = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PortConfig, SystemConfig};
    use lagd_types::{Instant, MacAddr};
    use std::collections::VecDeque;

    /// `step` tells the System's update loop whether the Mux moved: another pass runs on it.
    #[test]
    fn step_reports_whether_the_state_changed() {
        let sys = SystemConfig::new(MacAddr([2, 0, 0, 0, 1, 0]));
        let mut p = Port::new(PortConfig::new(1, MacAddr([2, 0, 0, 0, 1, 1])), &sys);
        let mut events = VecDeque::new();
        let mut ctx = Ctx {
            now: Instant::ZERO,
            cfg: &sys,
            events: &mut events,
        };
        let agg = AggView::default();
        assert!(
            !step(&mut p, &mut ctx, agg),
            "UNSELECTED and DETACHED: at rest"
        );
        p.selected = Selected::Selected;
        assert!(step(&mut p, &mut ctx, agg), "DETACHED → WAITING");
        assert_eq!(p.mux, MuxState::Waiting);
        assert!(!step(&mut p, &mut ctx, agg), "WAITING, not ready: at rest");
    }
}
