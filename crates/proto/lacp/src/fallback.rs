//! Fallback (not in 802.1AX; like SONiC's `--fallback` and OVS's `lacp-fallback-ab`): when no
//! LACPDU has been heard on any port for the configured time while ports are up, the partner
//! is taken to run no LACP. `OneMember`: the best-priority port with link up forwards alone, in
//! an Aggregator of its own; `Static`: every port with link up aggregates as a static trunk.
//! The first valid LACPDU ends fallback at once.

use crate::port::{Ctx, Port};
use crate::receive::refresh_default;
use crate::timers::{Timer, TimerTable};
use crate::{EventKind, FallbackKind, LacpMode};
use lagd_types::{Instant, PortNumber};
use std::collections::BTreeMap;

/// The System's fallback state.
#[derive(Clone, Debug, Default)]
pub(crate) struct FallbackState {
    /// The fallback in force.
    pub active: Option<FallbackKind>,
    /// Why it is in force.
    pub reason: Option<String>,
    /// Since when some port has been up (LACP enabled).
    pub up_since: Option<Instant>,
    /// The last valid LACPDU on any port.
    pub last_lacpdu: Option<Instant>,
}

fn usable(p: &Port, ctx: &Ctx<'_>) -> bool {
    p.port_enabled() && p.lacp_enabled(ctx.cfg)
}

/// Sets the ports' fallback flags for `kind` (or clears them) and re-reads their default
/// partner.
fn assign(kind: Option<FallbackKind>, ports: &mut BTreeMap<PortNumber, Port>, ctx: &mut Ctx<'_>) {
    let best = ports
        .values()
        .filter(|p| usable(p, ctx))
        .min_by_key(|p| p.actor.port)
        .map(|p| p.number());
    for p in ports.values_mut() {
        let want = match kind {
            Some(FallbackKind::OneMember) if Some(p.number()) == best => kind,
            Some(FallbackKind::Static) if usable(p, ctx) => kind,
            _ => None,
        };
        if p.fallback != want {
            p.fallback = want;
            refresh_default(p, ctx);
        }
    }
}

fn leave(st: &mut FallbackState, ports: &mut BTreeMap<PortNumber, Port>, ctx: &mut Ctx<'_>) {
    if st.active.take().is_some() {
        st.reason = None;
        assign(None, ports, ctx);
        ctx.emit(None, EventKind::FallbackLeft);
    }
}

/// A valid LACPDU was heard: fallback ends at once.
pub(crate) fn lacpdu_heard(
    st: &mut FallbackState,
    ports: &mut BTreeMap<PortNumber, Port>,
    ctx: &mut Ctx<'_>,
) {
    st.last_lacpdu = Some(ctx.now);
    leave(st, ports, ctx);
}

/// Enters, keeps or leaves fallback; arms the fallback timer.
pub(crate) fn update(
    st: &mut FallbackState,
    timers: &mut TimerTable,
    ports: &mut BTreeMap<PortNumber, Port>,
    ctx: &mut Ctx<'_>,
) {
    let any_up = ports.values().any(|p| usable(p, ctx));
    if !any_up {
        st.up_since = None;
    } else if st.up_since.is_none() {
        st.up_since = Some(ctx.now);
    }
    let cfg = match ctx.cfg.fallback {
        Some(f) if any_up && ctx.cfg.mode != LacpMode::Off => f,
        _ => {
            timers.stop(Timer::Fallback);
            leave(st, ports, ctx);
            return;
        }
    };
    if st.active.is_none() {
        let since = st.up_since.max(st.last_lacpdu).unwrap_or(ctx.now);
        let deadline = since + cfg.timeout;
        if ctx.now < deadline {
            timers.set(Timer::Fallback, deadline);
            return;
        }
        let reason = format!(
            "no LACPDU received on any member for {}s: partner runs no LACP (static switch?)",
            cfg.timeout.as_secs_f64()
        );
        st.reason = Some(reason.clone());
        ctx.emit(None, EventKind::FallbackEntered { reason });
    }
    timers.stop(Timer::Fallback);
    st.active = Some(cfg.kind);
    assign(st.active, ports, ctx);
}
