//! Snapshot and resume: what the partner sees of each port, saved by a driver that may be
//! restarted (lagd after a crash or an upgrade) and resumed by the next instance, so that the
//! partner notices nothing: the same actor information, the same Synchronization, Collecting
//! and Distributing, no LACPDU that says otherwise.
//!
//! A resumed port enters the machines' states directly (Receive CURRENT, Selected, Mux
//! COLLECTING_DISTRIBUTING...) instead of walking there from INITIALIZE through EXPIRED,
//! WAITING and ATTACHED, which the partner would see as a flap. Only what can be checked is
//! resumed: the System and the port's identity (key, port priority and number, Aggregation)
//! must be those the configuration gives now, the link must be up, the port must have been
//! attached, and the saved Receive state must be one the configuration allows (CURRENT with
//! LACP, LACP_DISABLED for a static trunk). Anything else starts afresh, as after a cold start.
//!
//! The partner information is taken as current for a full current_while_timer from the
//! resume: the partner refreshes it within its periodic time (1 s with short timeouts), and a
//! partner that changed in the meantime is seen at its next LACPDU, as at any time.

use crate::aggregator::LagId;
use crate::port::Ctx;
use crate::timers::{LONG_TIMEOUT_TIME, SHORT_TIMEOUT_TIME, Timer};
use crate::{
    AggregatorId, EventKind, Lacp, LacpActivity, LacpTimeout, LinkStatus, MuxState, ReceiveState,
    Selected, fallback, receive,
};
use lagd_types::{Instant, PortNumber, PortState, SystemId};
use lagd_wire::LacpInfo;
use serde::{Deserialize, Serialize};

/// What the partner sees of one port, and where the port stands in the machines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSnapshot {
    /// Actor_Port_Number.
    pub number: PortNumber,
    /// Actor operational information as last sent.
    pub actor: LacpInfo,
    /// Partner operational information as last recorded.
    pub partner: LacpInfo,
    /// Receive machine state.
    pub receive: ReceiveState,
    /// Selected.
    pub selected: Selected,
    /// Mux machine state.
    pub mux: MuxState,
    /// The Aggregator the port had selected.
    pub aggregator: Option<AggregatorId>,
}

/// The protocol state of a System that a restarted actor resumes ([`Lacp::resume`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpSnapshot {
    /// Actor_System (priority and address) when the snapshot was taken.
    pub system: SystemId,
    /// Every port, in port order.
    pub ports: Vec<PortSnapshot>,
    /// The active Aggregator (the one the data plane used).
    pub active: Option<AggregatorId>,
}

/// Why a port of a snapshot was not resumed (it starts afresh).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum ResumeRefusal {
    /// The snapshot was taken under another System (priority or address changed).
    #[error("the System identifier changed")]
    SystemChanged,
    /// No such port here.
    #[error("no such port")]
    UnknownPort,
    /// The link is down now.
    #[error("link down")]
    LinkDown,
    /// Key, port priority, port number or Aggregation differ from the configuration now.
    #[error("the port's identity changed (key, priority or aggregation)")]
    IdentityChanged,
    /// The port was not attached (nothing the partner relies on) or was standby.
    #[error("the port was not attached to an Aggregator")]
    NotAttached,
    /// The saved Receive or Mux state does not fit the configuration now (LACP switched on or
    /// off, coupled or independent control changed, partner information not current).
    #[error("the saved state does not fit the configuration")]
    StateMismatch,
}

/// What [`Lacp::resume`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeOutcome {
    /// The ports resumed as they were.
    pub resumed: Vec<PortNumber>,
    /// The ports of the snapshot that start afresh, and why.
    pub refused: Vec<(PortNumber, ResumeRefusal)>,
}

const RESUMED: &str = "resumed from the saved state (restart)";

impl Lacp {
    /// The protocol state a restarted actor needs to resume without the partner noticing.
    pub fn snapshot(&self) -> LacpSnapshot {
        LacpSnapshot {
            system: self.config.system,
            ports: self
                .ports
                .iter()
                .map(|p| PortSnapshot {
                    number: p.number(),
                    actor: p.actor,
                    partner: p.partner,
                    receive: p.receive,
                    selected: p.selected,
                    mux: p.mux,
                    aggregator: p.aggregator,
                })
                .collect(),
            active: self.active,
        }
    }

    /// Resumes the ports of `snap` that can be (module docs), with their link status now from
    /// `link`. Call on a fresh System whose ports were added ([`Lacp::add_port`]) but have not
    /// been reported up yet, before any frame is polled: a resumed port sends its next LACPDU
    /// at once, with the saved Synchronization, Collecting and Distributing. Ports not resumed
    /// are left as they are; report their link with [`Lacp::handle_link`] as usual.
    pub fn resume(
        &mut self,
        now: Instant,
        snap: &LacpSnapshot,
        mut link: impl FnMut(PortNumber) -> LinkStatus,
    ) -> ResumeOutcome {
        let mut out = ResumeOutcome::default();
        if snap.system != self.config.system {
            out.refused = snap
                .ports
                .iter()
                .map(|s| (s.number, ResumeRefusal::SystemChanged))
                .collect();
            return out;
        }
        let Lacp {
            config,
            ports,
            aggregators,
            events,
            fallback,
            work,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let timeout = match ctx.cfg.timer {
            LacpTimeout::Short => SHORT_TIMEOUT_TIME,
            LacpTimeout::Long => LONG_TIMEOUT_TIME,
        };
        let mut any_current = false;
        for s in &snap.ports {
            let Some(i) = ports.position(s.number) else {
                out.refused.push((s.number, ResumeRefusal::UnknownPort));
                continue;
            };
            let Some(p) = ports.at_mut(i) else { continue };
            let status = link(s.number);
            let refusal = if !status.up {
                Some(ResumeRefusal::LinkDown)
            } else if s.selected != Selected::Selected
                || matches!(s.mux, MuxState::Detached | MuxState::Waiting)
            {
                Some(ResumeRefusal::NotAttached)
            } else {
                None
            };
            if let Some(r) = refusal {
                out.refused.push((s.number, r));
                continue;
            }
            // The identity the configuration gives now, with this link.
            let mut probe = p.clone();
            probe.link = status;
            probe.refresh_actor(ctx.cfg);
            let a = &probe.actor;
            if a.system != s.actor.system
                || a.key != s.actor.key
                || a.port != s.actor.port
                || a.state.aggregation() != s.actor.state.aggregation()
            {
                out.refused.push((s.number, ResumeRefusal::IdentityChanged));
                continue;
            }
            let lacp_on = probe.lacp_enabled(ctx.cfg);
            let receive_fits = match s.receive {
                ReceiveState::Current => lacp_on,
                ReceiveState::LacpDisabled => !lacp_on && ctx.cfg.mode == LacpActivity::Off,
                _ => false,
            };
            let mux_fits = if ctx.cfg.coupled_control {
                matches!(s.mux, MuxState::Attached | MuxState::CollectingDistributing)
            } else {
                matches!(
                    s.mux,
                    MuxState::Attached | MuxState::Collecting | MuxState::Distributing
                )
            };
            if !receive_fits || !mux_fits || p.receive != ReceiveState::PortDisabled {
                out.refused.push((s.number, ResumeRefusal::StateMismatch));
                continue;
            }

            // The port as it was: link, Receive, partner, Selected, Aggregator, Mux.
            p.link = status;
            p.refresh_actor(ctx.cfg);
            let from = p.receive;
            p.receive = s.receive;
            ctx.emit(
                Some(s.number),
                EventKind::Receive {
                    from,
                    to: s.receive,
                    reason: RESUMED,
                },
            );
            if s.receive == ReceiveState::Current {
                p.partner = s.partner;
                p.actor.state.set(PortState::DEFAULTED, false);
                p.timers.start(Timer::CurrentWhile, now, timeout);
                any_current = true;
            } else {
                receive::refresh_default(p, &mut ctx);
            }
            p.actor.state.set(PortState::EXPIRED, false);
            let id =
                aggregators.find_or_create(LagId::of(p), s.aggregator.map_or(s.number, |a| a.0));
            p.aggregator = Some(id);
            p.set_selected(&mut ctx, Selected::Selected, RESUMED);
            p.mux = s.mux;
            p.ready_n = true;
            p.timers.stop(Timer::WaitWhile);
            let st = &mut p.actor.state;
            st.set(PortState::SYNCHRONIZATION, true);
            st.set(
                PortState::COLLECTING,
                matches!(
                    s.mux,
                    MuxState::Collecting
                        | MuxState::Distributing
                        | MuxState::CollectingDistributing
                ),
            );
            st.set(
                PortState::DISTRIBUTING,
                matches!(
                    s.mux,
                    MuxState::Distributing | MuxState::CollectingDistributing
                ),
            );
            // The partner hears from us at once: its view of us is refreshed before anything
            // of ours could have timed out there.
            p.ntt = true;
            ctx.emit(
                Some(s.number),
                EventKind::Mux {
                    from: MuxState::Detached,
                    to: s.mux,
                    reason: RESUMED,
                },
            );
            fallback::recount(fallback, p, ctx.cfg);
            aggregators.sync(p);
            work.push(i);
            out.resumed.push(s.number);
        }
        if any_current {
            // A partner was heard recently: fallback must not start counting from zero.
            fallback.last_lacpdu = Some(now);
        }
        if !out.resumed.is_empty() {
            self.update(now);
        }
        out
    }
}
