//! Fallback (not in 802.1AX; like SONiC's `--fallback` and OVS's `lacp-fallback-ab`): when no
//! LACPDU has been heard on any port for the configured time while ports are up, the partner
//! is taken to run no LACP. `OneMember`: the best-priority port with link up forwards alone, in
//! an Aggregator of its own; `Static`: every port with link up aggregates as a static trunk.
//! The first valid LACPDU ends fallback at once.

use crate::port::{Ctx, Port};
use crate::receive::refresh_default;
use crate::timers::{Timer, TimerTable};
use crate::worklist::Worklist;
use crate::{EventKind, FallbackKind, LacpActivity, SystemConfig};
use lagd_types::Instant;

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
    /// How many ports are usable (link up, LACP enabled): kept up to date by [`recount`].
    pub usable_ports: usize,
    /// The ports' fallback flags must be recomputed (a port's usability or priority, or the
    /// configuration, changed).
    pub reassign: bool,
}

/// Link up, LACP enabled, and not looped back to this System (fallback must never forward
/// into a loop).
fn usable(p: &Port, cfg: &SystemConfig) -> bool {
    p.port_enabled() && p.lacp_enabled(cfg) && p.loopback.is_none()
}

/// Counts port `p` as usable or not, after a change of its link or of the configuration.
pub(crate) fn recount(st: &mut FallbackState, p: &mut Port, cfg: &SystemConfig) {
    let u = usable(p, cfg);
    if u != p.usable {
        p.usable = u;
        st.usable_ports = if u {
            st.usable_ports.saturating_add(1)
        } else {
            st.usable_ports.saturating_sub(1)
        };
        st.reassign = true;
    }
}

/// Port `p` is being removed.
pub(crate) fn forget(st: &mut FallbackState, p: &Port) {
    if p.usable {
        st.usable_ports = st.usable_ports.saturating_sub(1);
    }
    st.reassign = true;
}

/// Sets the ports' fallback flags for `kind` (or clears them) and re-reads their default
/// partner; the ports that change are added to `work`.
fn assign(kind: Option<FallbackKind>, ports: &mut [Port], ctx: &mut Ctx<'_>, work: &mut Worklist) {
    let best = ports
        .iter()
        .filter(|p| usable(p, ctx.cfg))
        .min_by_key(|p| p.actor.port)
        .map(|p| p.number());
    for (i, p) in ports.iter_mut().enumerate() {
        let want = match kind {
            Some(FallbackKind::OneMember) if Some(p.number()) == best => kind,
            Some(FallbackKind::Static) if usable(p, ctx.cfg) => kind,
            _ => None,
        };
        if p.fallback != want {
            p.fallback = want;
            refresh_default(p, ctx);
            work.push(i);
        }
    }
}

fn leave(st: &mut FallbackState, ports: &mut [Port], ctx: &mut Ctx<'_>, work: &mut Worklist) {
    if st.active.take().is_some() {
        st.reason = None;
        assign(None, ports, ctx, work);
        ctx.emit(None, EventKind::FallbackLeft);
    }
}

/// A valid LACPDU was heard: fallback ends at once.
pub(crate) fn lacpdu_heard(
    st: &mut FallbackState,
    ports: &mut [Port],
    ctx: &mut Ctx<'_>,
    work: &mut Worklist,
) {
    st.last_lacpdu = Some(ctx.now);
    leave(st, ports, ctx, work);
}

/// Enters, keeps or leaves fallback; arms the fallback timer. In fallback, the ports' flags are
/// recomputed only when something they depend on changed.
pub(crate) fn update(
    st: &mut FallbackState,
    timers: &mut TimerTable,
    ports: &mut [Port],
    ctx: &mut Ctx<'_>,
    work: &mut Worklist,
) {
    let any_up = st.usable_ports > 0;
    if !any_up {
        st.up_since = None;
    } else if st.up_since.is_none() {
        st.up_since = Some(ctx.now);
    }
    let cfg = match ctx.cfg.fallback {
        Some(f) if any_up && ctx.cfg.mode != LacpActivity::Off => f,
        _ => {
            timers.stop(Timer::Fallback);
            leave(st, ports, ctx, work);
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
        st.reassign = true;
    }
    timers.stop(Timer::Fallback);
    if st.active != Some(cfg.kind) {
        st.active = Some(cfg.kind);
        st.reassign = true;
    }
    if st.reassign {
        st.reassign = false;
        assign(st.active, ports, ctx, work);
    }
}
