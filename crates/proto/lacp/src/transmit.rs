//! The Transmit machine (IEEE 802.1AX-2014 §6.4.16): a LACPDU goes out when NTT is set, at most
//! three per Fast_Periodic_Time (the rest are deferred, not dropped), never when LACP is off,
//! the port is disabled, or both actor and partner are passive. Also the Slow Protocols limit
//! shared with the Marker protocol: at most ten frames per second per port.

use crate::port::{Ctx, Port};
use crate::timers::{FAST_PERIODIC_TIME, SLOW_WINDOW, Timer};
use lagd_types::{Instant, MacAddr, PortNumber};
use lagd_wire::{LacpduRepr, SlowFrame, SlowPdu};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmit {
    /// The port to send it on.
    pub port: PortNumber,
    /// The whole Ethernet frame: destination 01-80-C2-00-00-02, source the port's own MAC.
    pub frame: Vec<u8>,
}

impl Transmit {
    /// The longest frame the engine sends (a version 1 LACPDU: 14 + 110 octets), rounded up: a
    /// buffer this long always suffices for [`crate::Lacp::poll_transmit_into`].
    pub const MAX_LEN: usize = 128;
}

/// A frame in the transmit queue, encoded only when it is polled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Queued {
    /// The port to send it on.
    pub port: PortNumber,
    /// The frame.
    pub frame: SlowFrame,
}

/// Whether the Slow Protocols limit allows one more frame now.
pub(crate) fn slow_allowed(p: &mut Port, now: Instant) -> bool {
    p.slow_tx.wait(now, SLOW_WINDOW).is_none()
}

/// Builds a slow-protocols frame from the port.
pub(crate) fn frame(p: &mut Port, now: Instant, pdu: SlowPdu) -> Queued {
    p.slow_tx.record(now);
    Queued {
        port: p.number(),
        frame: SlowFrame {
            dst: MacAddr::SLOW_PROTOCOLS,
            src: p.cfg.mac,
            pdu,
        },
    }
}

/// Whether this port may send LACPDUs at all.
pub(crate) fn may_transmit(p: &Port, ctx: &Ctx<'_>) -> bool {
    p.port_enabled()
        && p.lacp_enabled(ctx.cfg)
        && (p.actor.state.activity() || p.partner.state.activity())
}

/// The Transmit machine: sends a LACPDU if NTT is set and the rate allows; otherwise keeps
/// NTT and arms the TxDefer timer for when it will.
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>, out: &mut VecDeque<Queued>) {
    if !p.ntt || !may_transmit(p, ctx) {
        p.timers.stop(Timer::TxDefer);
        return;
    }
    let now = ctx.now;
    let wait = [
        p.lacpdu_tx.wait(now, FAST_PERIODIC_TIME),
        p.slow_tx.wait(now, SLOW_WINDOW),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(at) = wait {
        p.timers.set(Timer::TxDefer, at);
        return;
    }
    p.timers.stop(Timer::TxDefer);
    let pdu = LacpduRepr {
        version: 1,
        actor: p.actor,
        partner: p.partner,
        collector_max_delay: ctx.cfg.collector_max_delay,
        port_algorithm: None,
        conversation_digest: None,
    };
    p.lacpdu_tx.record(now);
    let t = frame(p, now, SlowPdu::Lacp(pdu));
    out.push_back(t);
    p.counters.lacpdus_tx += 1;
    p.ntt = false;
}
