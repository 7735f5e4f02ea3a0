//! The Periodic Transmission machine (IEEE 802.1AX-2014 §6.4.13). The rate follows the
//! **partner's** LACP_Timeout; nothing is sent periodically when LACP is off, the port is
//! disabled, or both actor and partner are passive.

use crate::EventKind;
use crate::port::{Ctx, Port};
use crate::timers::{FAST_PERIODIC_TIME, SLOW_PERIODIC_TIME, Timer};
use core::fmt;
use serde::{Deserialize, Serialize};

/// States of the Periodic Transmission machine (§6.4.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeriodicState {
    /// NO_PERIODIC.
    NoPeriodic,
    /// FAST_PERIODIC: periodic_timer runs Fast_Periodic_Time (1 s).
    FastPeriodic,
    /// SLOW_PERIODIC: periodic_timer runs Slow_Periodic_Time (30 s).
    SlowPeriodic,
    /// PERIODIC_TX: sets NTT; transient (never observed between calls).
    PeriodicTx,
}

impl fmt::Display for PeriodicState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeriodicState::NoPeriodic => "NO_PERIODIC",
            PeriodicState::FastPeriodic => "FAST_PERIODIC",
            PeriodicState::SlowPeriodic => "SLOW_PERIODIC",
            PeriodicState::PeriodicTx => "PERIODIC_TX",
        })
    }
}

/// The state the machine must be in now, from its global condition and the partner's timeout.
fn wanted(p: &Port, ctx: &Ctx<'_>) -> PeriodicState {
    let both_passive = !p.actor.state.activity() && !p.partner.state.activity();
    if !p.port_enabled() || !p.lacp_enabled(ctx.cfg) || both_passive {
        PeriodicState::NoPeriodic
    } else if p.partner.state.short_timeout() {
        PeriodicState::FastPeriodic
    } else {
        PeriodicState::SlowPeriodic
    }
}

fn enter(p: &mut Port, ctx: &mut Ctx<'_>, to: PeriodicState) {
    p.periodic = to;
    match to {
        PeriodicState::NoPeriodic | PeriodicState::PeriodicTx => p.timers.stop(Timer::Periodic),
        PeriodicState::FastPeriodic => p.timers.start(Timer::Periodic, ctx.now, FAST_PERIODIC_TIME),
        PeriodicState::SlowPeriodic => p.timers.start(Timer::Periodic, ctx.now, SLOW_PERIODIC_TIME),
    }
    ctx.emit(Some(p.number()), EventKind::Periodic { to });
}

/// Runs the transitions due to the global condition and the partner's LACP_Timeout.
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>) -> bool {
    let want = wanted(p, ctx);
    if want == p.periodic {
        return false;
    }
    // SLOW_PERIODIC → PERIODIC_TX when the partner asks for short timeouts: send at once.
    // Leaving NO_PERIODIC (link up, LACP on, someone active) also sends at once rather than
    // a period later: the partner learns of us without delay.
    if p.periodic == PeriodicState::NoPeriodic
        || (p.periodic == PeriodicState::SlowPeriodic && want == PeriodicState::FastPeriodic)
    {
        p.ntt = true;
    }
    enter(p, ctx, want);
    true
}

/// periodic_timer expired: PERIODIC_TX (NTT), then back to FAST or SLOW_PERIODIC.
pub(crate) fn periodic_timer_expired(p: &mut Port, ctx: &mut Ctx<'_>) {
    match p.periodic {
        PeriodicState::FastPeriodic | PeriodicState::SlowPeriodic => {
            p.ntt = true;
            let period = if p.periodic == PeriodicState::FastPeriodic {
                FAST_PERIODIC_TIME
            } else {
                SLOW_PERIODIC_TIME
            };
            p.timers.start(Timer::Periodic, ctx.now, period);
        }
        PeriodicState::NoPeriodic | PeriodicState::PeriodicTx => {}
    }
}
