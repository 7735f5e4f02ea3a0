//! One Aggregation Port: its administrative configuration, link status, operational Actor and
//! Partner information and the variables shared by its machines (§6.4.7, §6.4.8), and what it
//! adds to its Aggregator's tallies.

use crate::send_times::SendTimes;
use crate::tally::Share;
use crate::timers::TimerTable;
use crate::{
    AggregatorId, ChurnState, Event, EventKind, FallbackKind, LacpActivity, LacpTimeout, MarkerId,
    MuxState, PeriodicState, PortConfig, PortCounters, ReceiveState, Selected, SystemConfig,
};
use lagd_types::{Instant, PortId, PortNumber, PortState, SystemId};
use lagd_wire::LacpInfo;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What the driver knows of a port's link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkStatus {
    /// Carrier: port_enabled (§6.4.7).
    pub up: bool,
    /// Speed in Mbit/s (informative).
    pub speed_mbps: u32,
    /// Full duplex. LACP runs on full-duplex links only (LACP_Enabled, §6.4.8).
    pub full_duplex: bool,
}

impl LinkStatus {
    /// A full-duplex link that is up at `speed_mbps`.
    pub const fn up(speed_mbps: u32) -> Self {
        LinkStatus {
            up: true,
            speed_mbps,
            full_duplex: true,
        }
    }
    /// A link that is down.
    pub const DOWN: LinkStatus = LinkStatus {
        up: false,
        speed_mbps: 0,
        full_duplex: true,
    };
}

/// What every machine step needs besides the port: time, configuration and the event sink.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub cfg: &'a SystemConfig,
    pub events: &'a mut VecDeque<Event>,
}

impl Ctx<'_> {
    pub fn emit(&mut self, port: Option<PortNumber>, kind: EventKind) {
        self.events.push_back(Event {
            at: self.now,
            port,
            kind,
        });
    }
}

/// The state of one port.
#[derive(Clone, Debug)]
pub(crate) struct Port {
    pub cfg: PortConfig,
    pub link: LinkStatus,
    /// Actor operational information (Actor_Oper_Port_Key, Actor_Port, Actor_Oper_Port_State).
    pub actor: LacpInfo,
    /// Partner operational information (Partner_Oper_*).
    pub partner: LacpInfo,
    pub receive: ReceiveState,
    pub periodic: PeriodicState,
    pub mux: MuxState,
    pub selected: Selected,
    /// The Aggregator this port has selected (and, once ATTACHED, is attached to).
    pub aggregator: Option<AggregatorId>,
    /// Ready_N (§6.4.8): the wait_while_timer has expired.
    pub ready_n: bool,
    /// NTT (§6.4.8): Need To Transmit.
    pub ntt: bool,
    /// port_moved (§6.4.8).
    pub port_moved: bool,
    /// Our own port whose LACPDUs arrive here (a loop), while they keep coming.
    pub loopback: Option<PortNumber>,
    /// Fallback treats this port's partner as static.
    pub fallback: Option<FallbackKind>,
    pub actor_churn: ChurnState,
    pub partner_churn: ChurnState,
    pub timers: TimerTable,
    /// Times of the last LACPDUs sent (transmit rate window).
    pub lacpdu_tx: SendTimes<{ crate::timers::MAX_LACPDUS_PER_FAST_PERIOD }>,
    /// Times of the last slow-protocols frames sent (Slow Protocols rate limit).
    pub slow_tx: SendTimes<{ crate::timers::MAX_SLOW_FRAMES_PER_SECOND }>,
    pub markers: Vec<PendingMarker>,
    pub counters: PortCounters,
    pub last_rx: Option<Instant>,
    /// Collecting / distributing as last reported to the data plane.
    pub reported_cd: (bool, bool),
    pub reported_actor: PortState,
    pub reported_partner: LacpInfo,
    // Bookkeeping of the System's indexes, brought up to date after every input that touched
    // the port (so that other ports need not be looked at).
    /// What the port last added to its Aggregator's tallies.
    pub share: Share,
    /// The partner under which the port is filed in the port_moved index.
    pub moved_key: Option<(SystemId, PortNumber)>,
    /// Whether the port is counted as usable (link up, LACP enabled) by fallback.
    pub usable: bool,
}

impl Port {
    pub fn new(cfg: PortConfig, sys: &SystemConfig) -> Self {
        let mut p = Port {
            link: LinkStatus::DOWN,
            actor: LacpInfo::default(),
            partner: LacpInfo::default(),
            receive: ReceiveState::Initialize,
            periodic: PeriodicState::NoPeriodic,
            mux: MuxState::Detached,
            selected: Selected::Unselected,
            aggregator: None,
            ready_n: false,
            ntt: false,
            port_moved: false,
            loopback: None,
            fallback: None,
            actor_churn: ChurnState::ChurnMonitor,
            partner_churn: ChurnState::ChurnMonitor,
            timers: TimerTable::default(),
            lacpdu_tx: SendTimes::default(),
            slow_tx: SendTimes::default(),
            markers: Vec::new(),
            counters: PortCounters::default(),
            last_rx: None,
            reported_cd: (false, false),
            reported_actor: PortState::default(),
            reported_partner: LacpInfo::default(),
            share: Share::default(),
            moved_key: None,
            usable: false,
            cfg,
        };
        p.refresh_actor(sys);
        p.partner = p.default_partner(sys);
        p.reported_actor = p.actor.state;
        p.reported_partner = p.partner;
        p
    }

    pub fn number(&self) -> PortNumber {
        self.cfg.number
    }

    /// port_enabled (§6.4.7): the link is up.
    pub fn port_enabled(&self) -> bool {
        self.link.up
    }

    /// LACP_Enabled (§6.4.8): LACP runs on this port (not a static trunk, full duplex).
    pub fn lacp_enabled(&self, sys: &SystemConfig) -> bool {
        sys.mode != LacpActivity::Off && self.link.full_duplex
    }

    /// Recomputes the administrative parts of the actor information (system, key, port,
    /// Activity, Timeout, Aggregation); returns whether the identity (system, key, port,
    /// Aggregation) changed, which makes the port Unselected.
    pub fn refresh_actor(&mut self, sys: &SystemConfig) -> bool {
        let old = self.actor;
        self.actor.system = sys.system;
        self.actor.key = self.cfg.key.unwrap_or(sys.key);
        self.actor.port = PortId::new(self.cfg.priority, self.cfg.number);
        let s = &mut self.actor.state;
        s.set(PortState::LACP_ACTIVITY, sys.mode == LacpActivity::Active);
        s.set(PortState::LACP_TIMEOUT, sys.timer == LacpTimeout::Short);
        s.set(
            PortState::AGGREGATION,
            self.cfg.aggregatable && self.link.full_duplex,
        );
        old.system != self.actor.system
            || old.key != self.actor.key
            || old.port != self.actor.port
            || old.state.aggregation() != self.actor.state.aggregation()
    }

    /// Sets Selected, with an event when it changes.
    pub fn set_selected(&mut self, ctx: &mut Ctx<'_>, to: Selected, reason: &'static str) {
        if self.selected != to {
            self.selected = to;
            ctx.emit(
                Some(self.number()),
                EventKind::Selection {
                    to,
                    aggregator: self.aggregator,
                    reason,
                },
            );
        }
    }

    /// Whether the mux has attached the port to its Aggregator.
    pub fn is_attached(&self) -> bool {
        !matches!(self.mux, MuxState::Detached | MuxState::Waiting)
    }

    /// The earliest deadline of the port.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Whether the port's mux is attached and both collecting and distributing.
    pub fn is_cd(&self) -> bool {
        matches!(
            self.mux,
            MuxState::CollectingDistributing | MuxState::Distributing
        ) && self.actor.state.collecting()
            && self.actor.state.distributing()
    }

    /// Partner_Oper_Port_State.Synchronization, a partner that reports Expired counting as out of
    /// sync (deviation, crate docs; see the Mux machine).
    pub fn partner_in_sync(&self) -> bool {
        self.partner.state.synchronization() && !self.partner.state.expired()
    }

    /// The partner assumed when none is heard: Partner_Admin_* (§6.4.7), with the short timeout
    /// when the actor runs short timers, and in a static trunk (or fallback) a partner that is in
    /// sync, collecting and distributing.
    pub fn default_partner(&self, sys: &SystemConfig) -> LacpInfo {
        let a = &self.cfg.partner_admin;
        let mut state = a.state;
        if sys.timer == LacpTimeout::Short {
            state.set(PortState::LACP_TIMEOUT, true);
        }
        let fallback = self.fallback.is_some();
        if sys.mode == LacpActivity::Off || fallback {
            state = PortState(
                state.0
                    | PortState::AGGREGATION
                    | PortState::SYNCHRONIZATION
                    | PortState::COLLECTING
                    | PortState::DISTRIBUTING,
            );
        }
        if self.fallback == Some(FallbackKind::OneMember) {
            state.set(PortState::AGGREGATION, false);
        }
        LacpInfo {
            system: a.system,
            key: a.key,
            port: a.port,
            state,
        }
    }
}

/// A Marker waiting for its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingMarker {
    pub id: MarkerId,
    pub deadline: Instant,
}

impl Share {
    /// The share of port `p` in its current state.
    pub fn of(p: &Port) -> Share {
        if p.aggregator.is_none() {
            return Share::default();
        }
        let waiting_selected = p.mux == MuxState::Waiting && p.selected == Selected::Selected;
        Share {
            agg: p.aggregator,
            member: p.selected != Selected::Unselected,
            selected: p.selected == Selected::Selected,
            standby: p.selected == Selected::Standby,
            ready: ready(p),
            ready_mbps: if ready(p) { p.link.speed_mbps } else { 0 },
            cd: p.is_cd(),
            real: !p.actor.state.defaulted(),
            attached: p.is_attached(),
            unready: waiting_selected && !p.ready_n,
            ready_waiting: waiting_selected && p.ready_n,
            key: (p.actor.port, p.partner.port),
        }
    }
}

/// SELECTED, attached, and the partner in sync (what the Mux machine needs, besides its
/// Aggregator being the active one, to collect and distribute).
fn ready(p: &Port) -> bool {
    p.selected == Selected::Selected && p.is_attached() && p.partner_in_sync()
}
