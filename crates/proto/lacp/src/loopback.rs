//! Loopback: a port that receives this System's own LACPDUs (our System ID, priority
//! included) is cabled to itself, to another of our ports, or to a hub or a switch that echoes
//! frames back. Such a LACPDU is never recorded (Linux drops it as an "illegal loopback", OVS
//! never attaches the member): it is counted (`looped_lacpdus_rx`), the port is kept UNSELECTED
//! while they keep coming, and a [`EventKind::Loopback`] says which of our ports sent it. The
//! loop is over when none has come for three of our periodic intervals (as the partner's
//! information times out, §6.4.4), or when the link goes down.

use crate::port::{Ctx, Port};
use crate::timers::{LONG_TIMEOUT_TIME, SHORT_TIMEOUT_TIME, Timer};
use crate::{EventKind, Selected};
use lagd_types::PortNumber;

/// A LACPDU sent by our own port `from` arrived on `p`.
pub(crate) fn own_lacpdu(p: &mut Port, ctx: &mut Ctx<'_>, from: PortNumber) {
    p.counters.looped_lacpdus_rx += 1;
    // We send every second to a partner that asks for short timeouts, else every 30 s: the
    // echo of our own LACPDUs comes back at that rate.
    let hold = if p.partner.state.short_timeout() {
        SHORT_TIMEOUT_TIME
    } else {
        LONG_TIMEOUT_TIME
    };
    p.timers.start(Timer::Loopback, ctx.now, hold);
    if p.loopback != Some(from) {
        p.loopback = Some(from);
        ctx.emit(Some(p.number()), EventKind::Loopback { from });
        p.set_selected(
            ctx,
            Selected::Unselected,
            "loopback: this System's own LACPDUs received",
        );
    }
}

/// Ends the loop on `p` (no own LACPDU for the hold time, or the link went down).
pub(crate) fn end(p: &mut Port, ctx: &mut Ctx<'_>) {
    p.timers.stop(Timer::Loopback);
    if p.loopback.take().is_some() {
        ctx.emit(Some(p.number()), EventKind::LoopbackEnded);
    }
}
