//! The Marker protocol (IEEE 802.1AX-2014 §6.5): the responder answers every Marker
//! Information PDU with a Marker Response on the same port (within the Slow Protocols rate
//! limit); the generator sends Marker Information PDUs and matches the responses, or times out.

use crate::EventKind;
use crate::port::{Ctx, PendingMarker, Port};
use crate::timers::Timer;
use crate::transmit::{Queued, frame, slow_allowed};
use lagd_types::{MacAddr, PortNumber};
use lagd_wire::{MarkerKind, MarkerRepr, SlowPdu};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use thiserror::Error;

/// A Marker's Requester_Transaction_ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MarkerId(pub u32);

/// Why `send_marker` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MarkerError {
    /// No such port.
    #[error("no port {0}")]
    UnknownPort(PortNumber),
    /// The port's link is down.
    #[error("port {0} is down")]
    PortDisabled(PortNumber),
    /// The Slow Protocols limit (10 frames per second) is reached on the port.
    #[error("port {0}: slow-protocols rate limit reached, try again later")]
    RateLimited(PortNumber),
}

fn arm(p: &mut Port) {
    match p.markers.iter().map(|m| m.deadline).min() {
        Some(d) => p.timers.set(Timer::Marker, d),
        None => p.timers.stop(Timer::Marker),
    }
}

/// Generator: sends a Marker Information PDU with transaction id `id`.
pub(crate) fn send(
    p: &mut Port,
    ctx: &mut Ctx<'_>,
    id: MarkerId,
    out: &mut VecDeque<Queued>,
) -> Result<(), MarkerError> {
    if !p.port_enabled() {
        return Err(MarkerError::PortDisabled(p.number()));
    }
    if !slow_allowed(p, ctx.now) {
        return Err(MarkerError::RateLimited(p.number()));
    }
    let m = MarkerRepr {
        kind: MarkerKind::Information,
        version: 1,
        requester_port: p.number(),
        requester_system: ctx.cfg.system.addr,
        transaction_id: id.0,
    };
    let t = frame(p, ctx.now, SlowPdu::Marker(m));
    out.push_back(t);
    p.counters.marker_pdus_tx += 1;
    p.markers.push(PendingMarker {
        id,
        deadline: ctx.now + ctx.cfg.marker_timeout,
    });
    arm(p);
    Ok(())
}

/// A Marker PDU arrived: answer it (responder) or match it (generator).
pub(crate) fn receive(
    p: &mut Port,
    ctx: &mut Ctx<'_>,
    system: MacAddr,
    m: &MarkerRepr,
    out: &mut VecDeque<Queued>,
) {
    match m.kind {
        MarkerKind::Information => {
            p.counters.marker_pdus_rx += 1;
            if !p.port_enabled() {
                return;
            }
            if slow_allowed(p, ctx.now) {
                let t = frame(p, ctx.now, SlowPdu::Marker(m.response()));
                out.push_back(t);
                p.counters.marker_response_pdus_tx += 1;
            } else {
                p.counters.marker_responses_dropped += 1;
            }
        }
        MarkerKind::Response => {
            p.counters.marker_response_pdus_rx += 1;
            let ours = m.requester_port == p.number() && m.requester_system == system;
            let at = p
                .markers
                .iter()
                .position(|x| ours && x.id.0 == m.transaction_id);
            match at {
                Some(i) => {
                    let pm = p.markers.remove(i);
                    arm(p);
                    ctx.emit(Some(p.number()), EventKind::MarkerResponse { id: pm.id });
                }
                None => p.counters.marker_responses_unmatched += 1,
            }
        }
    }
}

/// The Marker timer expired: every overdue Marker times out.
pub(crate) fn expire(p: &mut Port, ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let number = p.number();
    let counters = &mut p.counters;
    p.markers.retain(|m| {
        let late = m.deadline <= now;
        if late {
            counters.marker_timeouts += 1;
            ctx.emit(Some(number), EventKind::MarkerTimeout { id: m.id });
        }
        !late
    });
    arm(p);
}
