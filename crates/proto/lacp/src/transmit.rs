//! The Transmit machine (IEEE 802.1AX-2014 §6.4.16): a LACPDU goes out when NTT is set, at most
//! three per Fast_Periodic_Time (the rest are deferred, not dropped), never when LACP is off,
//! the port is disabled, or both actor and partner are passive. Also the Slow Protocols limit
//! shared with the Marker protocol: at most ten frames per second per port.

use crate::port::{Ctx, Port};
use crate::timers::{
    FAST_PERIODIC_TIME, MAX_LACPDUS_PER_FAST_PERIOD, MAX_SLOW_FRAMES_PER_SECOND, Timer,
};
use lagd_types::{Duration, Instant, MacAddr, PortNumber};
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

const SLOW_WINDOW: Duration = Duration::from_secs(1);

/// Drops the entries older than `window` and returns when the next frame may go, `None` if
/// it may go now.
fn window_wait(
    times: &mut VecDeque<Instant>,
    now: Instant,
    window: Duration,
    max: usize,
) -> Option<Instant> {
    while times.front().is_some_and(|t| *t + window <= now) {
        times.pop_front();
    }
    if times.len() < max {
        None
    } else {
        times.get(times.len() - max).map(|t| *t + window)
    }
}

fn record(times: &mut VecDeque<Instant>, now: Instant, max: usize) {
    times.push_back(now);
    while times.len() > max {
        times.pop_front();
    }
}

/// Whether the Slow Protocols limit allows one more frame now.
pub(crate) fn slow_allowed(p: &mut Port, now: Instant) -> bool {
    window_wait(&mut p.slow_tx, now, SLOW_WINDOW, MAX_SLOW_FRAMES_PER_SECOND).is_none()
}

/// Builds a slow-protocols frame from the port.
pub(crate) fn frame(p: &mut Port, now: Instant, pdu: SlowPdu) -> Transmit {
    record(&mut p.slow_tx, now, MAX_SLOW_FRAMES_PER_SECOND);
    let f = SlowFrame {
        dst: MacAddr::SLOW_PROTOCOLS,
        src: p.cfg.mac,
        pdu,
    };
    Transmit {
        port: p.number(),
        frame: f.to_vec(),
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
pub(crate) fn step(p: &mut Port, ctx: &mut Ctx<'_>, out: &mut VecDeque<Transmit>) {
    if !p.ntt || !may_transmit(p, ctx) {
        p.timers.stop(Timer::TxDefer);
        return;
    }
    let now = ctx.now;
    let wait = [
        window_wait(
            &mut p.lacpdu_tx,
            now,
            FAST_PERIODIC_TIME,
            MAX_LACPDUS_PER_FAST_PERIOD,
        ),
        window_wait(&mut p.slow_tx, now, SLOW_WINDOW, MAX_SLOW_FRAMES_PER_SECOND),
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
    record(&mut p.lacpdu_tx, now, MAX_LACPDUS_PER_FAST_PERIOD);
    let t = frame(p, now, SlowPdu::Lacp(pdu));
    out.push_back(t);
    p.counters.lacpdus_tx += 1;
    p.ntt = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_allows_three_per_second() {
        let mut q = VecDeque::new();
        let t0 = Instant::from_secs(10);
        for i in 0..3 {
            let now = t0 + Duration::from_millis(i * 10);
            assert_eq!(window_wait(&mut q, now, FAST_PERIODIC_TIME, 3), None);
            record(&mut q, now, 3);
        }
        assert_eq!(
            window_wait(
                &mut q,
                t0 + Duration::from_millis(30),
                FAST_PERIODIC_TIME,
                3
            ),
            Some(t0 + FAST_PERIODIC_TIME)
        );
        assert_eq!(
            window_wait(&mut q, t0 + FAST_PERIODIC_TIME, FAST_PERIODIC_TIME, 3),
            None
        );
    }
}
