//! IEEE 802.1AX LACP and Marker protocol state machines, with no I/O.
//!
//! A [`Lacp`] is one LACP System (the actor) with its Aggregation Ports and Aggregators. Per
//! port it runs the machines of IEEE 802.1AX-2014 §6.4: Receive (§6.4.12), Periodic
//! Transmission (§6.4.13), Mux (§6.4.15, coupled or independent control), Transmit (§6.4.16)
//! and Churn Detection (§6.4.17); for the System the Selection Logic (§6.4.14); and the Marker
//! protocol (§6.5), responder and generator.
//!
//! It reads no clock, opens no socket and spawns no thread: time and bytes come in through the
//! `handle_*` methods; frames, events and the next deadline come out through the `poll_*`
//! methods.
//!
//! # Call order
//! 1. Feed inputs, in any order: [`Lacp::handle_link`], [`Lacp::handle_frame`],
//!    configuration changes, [`Lacp::send_marker`], and [`Lacp::handle_timeout`] when
//!    `now >= poll_timeout()` (calling it early is harmless).
//! 2. Drain [`Lacp::poll_transmit`] until `None` and send each frame on its port.
//! 3. Drain [`Lacp::poll_event`] until `None`; `CollectingDistributing` events drive the data
//!    plane.
//! 4. Sleep until [`Lacp::poll_timeout`] (or the next input).
//!
//! # Deviations from the letter of 802.1AX
//! * A port joining an Aggregator that already has attached ports does not wait for its
//!   wait_while_timer (Aggregate_Wait_Time): it attaches at once. A healed link re-forms in
//!   about a second instead of three.
//! * When the actor runs short timers, the default partner (Partner_Admin_Port_State) carries
//!   the short timeout, so a port with no partner keeps sending every second.
//! * The transient PERIODIC_TX state is not reported as an event.
//! * Fallback (no LACPDU heard on any port) is an addition, off by default.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aggregator;
mod churn;
mod config;
mod counters;
mod event;
mod fallback;
mod marker;
mod mux;
mod periodic;
mod port;
mod receive;
mod selection;
mod status;
pub mod testing;
mod timers;
mod transmit;

pub use aggregator::AggregatorId;
pub use churn::ChurnState;
pub use config::{
    ConfigError, FallbackConfig, FallbackKind, LacpMode, LacpTimer, PartnerAdmin, PortConfig,
    SystemConfig,
};
pub use counters::PortCounters;
pub use event::{Event, EventKind};
pub use marker::{MarkerError, MarkerId};
pub use mux::MuxState;
pub use periodic::PeriodicState;
pub use port::LinkStatus;
pub use receive::{ReceiveState, RxError};
pub use selection::Selected;
pub use status::{AggregatorStatus, PortStatus, SystemStatus};
pub use timers::{
    AGGREGATE_WAIT_TIME, CHURN_DETECTION_TIME, FAST_PERIODIC_TIME, LONG_TIMEOUT_TIME,
    SHORT_TIMEOUT_TIME, SLOW_PERIODIC_TIME,
};
pub use transmit::Transmit;

use aggregator::{Aggregator, choose_active, is_cd};
use churn::Side;
use fallback::FallbackState;
use lagd_types::{Instant, PortNumber};
use lagd_wire::{SlowFrame, SlowPdu, WireError};
use mux::AggView;
use port::{Ctx, Port};
use std::collections::{BTreeMap, VecDeque};
use timers::{Timer, TimerTable};

/// How many rounds of the machines one input may cause before they rest (they always rest
/// much sooner; the bound only guards against a livelock bug).
const MAX_PASSES: usize = 16;

/// One LACP System (the actor) with its ports and Aggregators.
#[derive(Clone, Debug)]
pub struct Lacp {
    config: SystemConfig,
    ports: BTreeMap<PortNumber, Port>,
    aggregators: BTreeMap<AggregatorId, Aggregator>,
    /// The Aggregator the data plane uses.
    active: Option<AggregatorId>,
    up: bool,
    fallback: FallbackState,
    /// System timers (fallback).
    timers: TimerTable,
    events: VecDeque<Event>,
    transmits: VecDeque<Transmit>,
    next_marker: u32,
}

impl Lacp {
    /// A System with no ports. An invalid `config` is used as given; use
    /// [`SystemConfig::validate`] first (or [`Lacp::set_config`], which checks).
    pub fn new(config: SystemConfig) -> Lacp {
        Lacp {
            config,
            ports: BTreeMap::new(),
            aggregators: BTreeMap::new(),
            active: None,
            up: false,
            fallback: FallbackState::default(),
            timers: TimerTable::default(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            next_marker: 1,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// Changes the configuration live (mode, timer, key, priorities, min_links, max_active,
    /// fallback, ...). Ports whose actor identity changes are reselected; switching LACP on or
    /// off restarts the ports' Receive machines.
    pub fn set_config(&mut self, now: Instant, config: SystemConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let was_off = self.config.mode == LacpMode::Off;
        self.config = config;
        let toggled = was_off != (self.config.mode == LacpMode::Off);
        let Lacp {
            config,
            ports,
            events,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        for p in ports.values_mut() {
            reconfigure_port(p, &mut ctx, toggled);
        }
        self.update(now);
        Ok(())
    }

    /// Adds a port; it stays disabled until `handle_link` reports it up.
    pub fn add_port(&mut self, now: Instant, port: PortConfig) -> Result<(), ConfigError> {
        if port.number == 0 {
            return Err(ConfigError::PortZero);
        }
        if self.ports.contains_key(&port.number) {
            return Err(ConfigError::DuplicatePort(port.number));
        }
        let p = Port::new(port, &self.config);
        self.ports.insert(p.number(), p);
        self.update(now);
        Ok(())
    }

    /// Removes a port at once (its data plane stops: an event says so if it was active).
    pub fn remove_port(&mut self, now: Instant, port: PortNumber) -> Result<(), ConfigError> {
        let p = self
            .ports
            .remove(&port)
            .ok_or(ConfigError::UnknownPort(port))?;
        if p.reported_cd != (false, false) {
            self.events.push_back(Event {
                at: now,
                port: Some(port),
                kind: EventKind::CollectingDistributing {
                    collecting: false,
                    distributing: false,
                },
            });
        }
        self.update(now);
        Ok(())
    }

    /// Changes a port's configuration (priority, MAC, key, partner admin values,
    /// aggregatable).
    pub fn set_port_config(&mut self, now: Instant, port: PortConfig) -> Result<(), ConfigError> {
        let Lacp {
            config,
            ports,
            events,
            ..
        } = self;
        let p = ports
            .get_mut(&port.number)
            .ok_or(ConfigError::UnknownPort(port.number))?;
        p.cfg = port;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        reconfigure_port(p, &mut ctx, false);
        self.update(now);
        Ok(())
    }

    /// The port's carrier, speed or duplex changed (port_enabled, LACP_Enabled). Unknown
    /// ports are ignored.
    pub fn handle_link(&mut self, now: Instant, port: PortNumber, link: LinkStatus) {
        let Lacp {
            config,
            ports,
            events,
            ..
        } = self;
        let Some(p) = ports.get_mut(&port) else {
            return;
        };
        p.link = link;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        reconfigure_port(p, &mut ctx, false);
        self.update(now);
    }

    /// A slow-protocols frame (whole Ethernet frame) arrived on `port`: a LACPDU, a Marker
    /// Information or a Marker Response. A malformed frame is counted (`illegal_rx`, or
    /// `unknown_rx` for an unknown subtype), reported as an `RxError` event and refused.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: PortNumber,
        frame: &[u8],
    ) -> Result<(), RxError> {
        let Lacp {
            config,
            ports,
            events,
            transmits,
            fallback,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let Some(p) = ports.get_mut(&port) else {
            return Err(RxError::UnknownPort(port));
        };
        let parsed = match SlowFrame::parse(frame) {
            Ok(f) => f,
            Err(e) => {
                match e {
                    WireError::UnknownSubtype(_) | WireError::NotSlowProtocols(_) => {
                        p.counters.unknown_rx += 1
                    }
                    _ => p.counters.illegal_rx += 1,
                }
                ctx.emit(Some(port), EventKind::RxError { error: e });
                return Err(e.into());
            }
        };
        match parsed.pdu {
            SlowPdu::Lacp(pdu) => {
                p.counters.lacpdus_rx += 1;
                let used = p.port_enabled()
                    && p.lacp_enabled(ctx.cfg)
                    && receive::rx_lacpdu(p, &mut ctx, &pdu);
                if used {
                    // port_moved (§6.4.8): this partner port was last seen on a disabled port.
                    let who = (pdu.actor.system, pdu.actor.port.number);
                    for q in ports.values_mut() {
                        if q.number() != port
                            && q.receive == ReceiveState::PortDisabled
                            && q.partner.system != lagd_types::SystemId::NULL
                            && (q.partner.system, q.partner.port.number) == who
                        {
                            q.port_moved = true;
                        }
                    }
                    fallback::lacpdu_heard(fallback, ports, &mut ctx);
                }
            }
            SlowPdu::Marker(m) => {
                marker::receive(p, &mut ctx, config.system.addr, &m, transmits);
            }
        }
        self.update(now);
        Ok(())
    }

    /// Runs the timers due at `now`. Call when `now >= poll_timeout()`; harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Lacp {
            config,
            ports,
            events,
            timers,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        for p in ports.values_mut() {
            for t in p.timers.expire(now) {
                match t {
                    Timer::CurrentWhile => receive::current_while_expired(p, &mut ctx),
                    Timer::Periodic => periodic::periodic_timer_expired(p, &mut ctx),
                    Timer::WaitWhile => mux::wait_while_expired(p),
                    Timer::ActorChurn => churn::timer_expired(p, &mut ctx, Side::Actor),
                    Timer::PartnerChurn => churn::timer_expired(p, &mut ctx, Side::Partner),
                    Timer::Marker => marker::expire(p, &mut ctx),
                    Timer::TxDefer | Timer::Fallback => {}
                }
            }
        }
        // The fallback timer's expiry is evaluated by `update`.
        timers.expire(now).for_each(drop);
        self.update(now);
    }

    /// Marker generator: sends a Marker Information PDU on `port` (Requester_Port = the port,
    /// Requester_System = the actor's System MAC, a fresh Requester_Transaction_ID). A
    /// `MarkerResponse` or `MarkerTimeout` event follows.
    pub fn send_marker(&mut self, now: Instant, port: PortNumber) -> Result<MarkerId, MarkerError> {
        let Lacp {
            config,
            ports,
            events,
            transmits,
            next_marker,
            ..
        } = self;
        let p = ports.get_mut(&port).ok_or(MarkerError::UnknownPort(port))?;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let id = MarkerId(*next_marker);
        marker::send(p, &mut ctx, id, transmits)?;
        *next_marker = next_marker.wrapping_add(1).max(1);
        Ok(id)
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline of any timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ports
            .values()
            .filter_map(Port::next_timeout)
            .chain(self.timers.next_timeout())
            .min()
    }

    /// The state of one port.
    pub fn port(&self, port: PortNumber) -> Option<PortStatus> {
        self.ports.get(&port).map(|p| self.port_status(p))
    }

    /// The state of every port, by port number.
    pub fn ports(&self) -> Vec<PortStatus> {
        self.ports.values().map(|p| self.port_status(p)).collect()
    }

    /// The state of every Aggregator, by id.
    pub fn aggregators(&self) -> Vec<AggregatorStatus> {
        self.aggregator_statuses()
    }

    /// Everything, serializable.
    pub fn status(&self) -> SystemStatus {
        SystemStatus {
            config: self.config.clone(),
            ports: self.ports(),
            aggregators: self.aggregators(),
            up: self.up,
            fallback_active: self.fallback.active.is_some(),
            fallback_reason: self.fallback.reason.clone(),
        }
    }

    /// Whether the data plane collects on `port` (it is Collecting in the active Aggregator).
    pub fn is_collecting(&self, port: PortNumber) -> bool {
        self.ports.get(&port).is_some_and(|p| p.reported_cd.0)
    }

    /// Whether the data plane distributes on `port`.
    pub fn is_distributing(&self, port: PortNumber) -> bool {
        self.ports.get(&port).is_some_and(|p| p.reported_cd.1)
    }

    /// The Distributing ports of the active Aggregator, best port priority first.
    pub fn distributing_ports(&self) -> Vec<PortNumber> {
        let mut v: Vec<&Port> = self.ports.values().filter(|p| p.reported_cd.1).collect();
        v.sort_by_key(|p| p.actor.port);
        v.into_iter().map(Port::number).collect()
    }

    /// The aggregate is up: at least min_links ports Collecting and Distributing in the active
    /// Aggregator (in fallback, one is enough).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Runs the machines until they rest, transmits, and reports what changed.
    fn update(&mut self, now: Instant) {
        let Lacp {
            config,
            ports,
            aggregators,
            events,
            transmits,
            fallback,
            timers,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        for _ in 0..MAX_PASSES {
            fallback::update(fallback, timers, ports, &mut ctx);
            let mut changed = false;
            for p in ports.values_mut() {
                changed |= receive::step(p, &mut ctx);
            }
            changed |= selection::run(ports, aggregators, &mut ctx);
            let views: BTreeMap<AggregatorId, AggView> = aggregators
                .keys()
                .map(|id| (*id, agg_view(*id, ports)))
                .collect();
            for p in ports.values_mut() {
                let view = p
                    .aggregator
                    .and_then(|a| views.get(&a).copied())
                    .unwrap_or_default();
                changed |= mux::step(p, &mut ctx, view);
                changed |= periodic::step(p, &mut ctx);
                changed |= churn::step(p, &mut ctx, Side::Actor);
                changed |= churn::step(p, &mut ctx, Side::Partner);
            }
            if !changed {
                break;
            }
        }
        for p in ports.values_mut() {
            transmit::step(p, &mut ctx, transmits);
        }
        self.report(now);
    }

    /// Emits the events derived from the machines' state: actor and partner changes, the
    /// active Aggregator, the data plane's collecting/distributing, aggregate up/down.
    fn report(&mut self, now: Instant) {
        let active = choose_active(self.active, &self.aggregators, &self.ports);
        let mut out = Vec::new();
        if active != self.active {
            self.active = active;
            out.push((None, EventKind::ActiveAggregator { aggregator: active }));
        }
        let mut cd = 0;
        for p in self.ports.values_mut() {
            if p.actor.state != p.reported_actor {
                out.push((
                    Some(p.number()),
                    EventKind::ActorStateChanged {
                        old: p.reported_actor,
                        new: p.actor.state,
                    },
                ));
                p.reported_actor = p.actor.state;
            }
            if p.partner != p.reported_partner {
                out.push((
                    Some(p.number()),
                    EventKind::PartnerChanged {
                        old: p.reported_partner,
                        new: p.partner,
                    },
                ));
                p.reported_partner = p.partner;
            }
            let in_active = active.is_some() && p.aggregator == active;
            let now_cd = if in_active {
                (p.actor.state.collecting(), p.actor.state.distributing())
            } else {
                (false, false)
            };
            if now_cd != p.reported_cd {
                p.reported_cd = now_cd;
                out.push((
                    Some(p.number()),
                    EventKind::CollectingDistributing {
                        collecting: now_cd.0,
                        distributing: now_cd.1,
                    },
                ));
            }
            if in_active && is_cd(p) {
                cd += 1;
            }
        }
        let min = self.config.min_links;
        let up = if self.fallback.active.is_some() {
            cd > 0
        } else {
            cd >= min
        };
        if up != self.up {
            self.up = up;
            out.push((
                None,
                if up {
                    EventKind::AggregateUp
                } else {
                    EventKind::AggregateDown {
                        reason: format!(
                            "{cd} of {} members collecting and distributing, min-links is {min}",
                            self.ports.len()
                        ),
                    }
                },
            ));
        }
        self.events
            .extend(out.into_iter().map(|(port, kind)| Event {
                at: now,
                port,
                kind,
            }));
    }
}

/// What a port's Mux needs to know of Aggregator `id`.
fn agg_view(id: AggregatorId, ports: &BTreeMap<PortNumber, Port>) -> AggView {
    let mut v = AggView {
        ready: true,
        has_attached: false,
    };
    for p in ports.values().filter(|p| p.aggregator == Some(id)) {
        if p.mux == MuxState::Waiting && p.selected == Selected::Selected && !p.ready_n {
            v.ready = false;
        }
        if p.is_attached() {
            v.has_attached = true;
        }
    }
    v
}

/// Applies a change of System or port configuration, or of link status, to one port.
fn reconfigure_port(p: &mut Port, ctx: &mut Ctx<'_>, restart_receive: bool) {
    let old_state = p.actor.state;
    if p.refresh_actor(ctx.cfg) {
        p.set_selected(
            ctx,
            Selected::Unselected,
            "actor identity changed (system, key, port or aggregation)",
        );
    }
    if p.actor.state != old_state {
        p.ntt = true;
    }
    if restart_receive && p.receive != ReceiveState::Initialize {
        receive::reinitialize(p, ctx, "LACP switched on or off");
    } else {
        receive::refresh_default(p, ctx);
    }
}
