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
//! # Cost
//! An input runs the machines of the ports it touched only (its own port; the ports whose
//! timers expired; the ports a change of Selection, of an Aggregator's readiness or of the
//! active Aggregator moves): every other port is at rest, and running its machines would
//! change nothing. The Aggregators keep tallies of their ports' states, the timers are kept in
//! deadline order, so a steady LACPDU costs the same with 8 ports or 10 000, and allocates
//! nothing (the frames of [`Lacp::poll_transmit`] aside; [`Lacp::poll_transmit_into`] writes
//! into the caller's buffer).
//!
//! # Deviations from the letter of 802.1AX
//! * A port joining an Aggregator that already has attached ports does not wait for its
//!   wait_while_timer (Aggregate_Wait_Time): it attaches at once. A healed link re-forms in
//!   about a second instead of three.
//! * When the actor runs short timers, the default partner (Partner_Admin_Port_State) carries
//!   the short timeout, so a port with no partner keeps sending every second.
//! * The transient PERIODIC_TX state is not reported as an event.
//! * Fallback (no LACPDU heard on any port) is an addition, off by default.
//! * A partner that reports Expired counts as out of sync in the Mux machine: it hears no
//!   LACPDU from us on that link, so what we send there is lost. A link that fails in one
//!   direction stops carrying traffic when the partner's current_while_timer expires (3 s with
//!   short timers) rather than when it is DEFAULTED (6 s).
//! * **One active Aggregator.** The standard lets every Aggregator with attached ports serve an
//!   Aggregator Client of its own; lagd presents one aggregate, so one Aggregator at a time
//!   carries traffic, chosen by [`AdSelect`] (Linux's `ad_select`: `stable` by default,
//!   `bandwidth`, `count`). Consequence, as in Linux and OVS: only the ports of the active
//!   Aggregator report Synchronization, Collecting and Distributing. The ports of another
//!   Aggregator attach (ATTACHED) but send Synchronization FALSE and go no further, so their
//!   partner does not distribute into frames our collector would drop; when their Aggregator
//!   becomes the active one they report Sync and go on at once. A partner that keeps a standby
//!   link of its own (SONiC and Cumulus MC-LAG revert the standby switch's System ID after a
//!   split brain, expecting the host to drop those links) sees them dropped.
//! * A LACPDU that carries this System's own System ID (priority included) is never recorded:
//!   the port is looped back, cabled to another of our ports, or on a hub or a switch port that
//!   echoes frames. The port stays UNSELECTED while such LACPDUs keep coming (and three
//!   periodic intervals after), they are counted (`looped_lacpdus_rx`) and reported
//!   ([`EventKind::Loopback`], [`PortStatus::loopback`]); fallback never uses the port. The
//!   standard would record the System as its own partner and make the port Individual.
//! * Changing the actor's timeout from short to long on a live port keeps the partner
//!   information of a port in CURRENT for Long_Timeout_Time from the last LACPDU. The standard
//!   leaves current_while_timer running with the Short_Timeout_Time it was started with while
//!   the partner, asked to slow down, may send its next LACPDU only Slow_Periodic_Time later:
//!   the port would expire and both sides leave the aggregate for a moment on a mere setting
//!   change (test `switching_the_timeout_live_never_expires_the_partner`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aggregator;
mod churn;
mod config;
mod counters;
mod event;
mod fallback;
mod loopback;
mod marker;
mod mux;
mod periodic;
mod port;
mod port_moved;
mod port_table;
mod receive;
mod resume;
mod schedule;
mod selection;
mod send_times;
mod status;
mod tally;
pub mod testing;
mod timers;
mod transmit;
mod update;
mod worklist;

pub use aggregator::AggregatorId;
pub use churn::ChurnState;
pub use config::{
    AdSelect, ConfigError, FallbackConfig, FallbackKind, LacpActivity, LacpTimeout, PartnerAdmin,
    PortConfig, SystemConfig,
};
pub use counters::PortCounters;
pub use event::{Event, EventKind};
pub use marker::{MarkerError, MarkerId};
pub use mux::MuxState;
pub use periodic::PeriodicState;
pub use port::LinkStatus;
pub use receive::{ReceiveState, RxError};
pub use resume::{LacpSnapshot, PortSnapshot, ResumeOutcome, ResumeRefusal};
pub use selection::Selected;
pub use status::{AggregatorStatus, PortStatus, SystemStatus};
pub use timers::{
    AGGREGATE_WAIT_TIME, CHURN_DETECTION_TIME, FAST_PERIODIC_TIME, LONG_TIMEOUT_TIME,
    SHORT_TIMEOUT_TIME, SLOW_PERIODIC_TIME,
};
pub use transmit::Transmit;

use aggregator::Aggregators;
use churn::Side;
use fallback::FallbackState;
use lagd_types::{Instant, PortNumber};
use lagd_wire::{SlowFrame, SlowPdu, WireError};
use port::{Ctx, Port};
use port_moved::MovedIndex;
use port_table::PortTable;
use schedule::Schedule;
use std::collections::VecDeque;
use timers::{Timer, TimerTable};
use transmit::Queued;
use update::Scratch;
use worklist::Worklist;

/// Queues keep at most this much room once drained (a burst, such as 10 000 ports forming at
/// once, must not hold its memory for ever).
const QUEUE_KEEP: usize = 1024;

/// One LACP System (the actor) with its ports and Aggregators.
#[derive(Clone, Debug)]
pub struct Lacp {
    config: SystemConfig,
    ports: PortTable,
    aggregators: Aggregators,
    /// The Aggregator the data plane uses.
    active: Option<AggregatorId>,
    /// The active Aggregator as last reported in an event.
    reported_active: Option<AggregatorId>,
    up: bool,
    fallback: FallbackState,
    /// System timers (fallback).
    timers: TimerTable,
    events: VecDeque<Event>,
    transmits: VecDeque<Queued>,
    next_marker: u32,
    /// The ports touched by the input being handled.
    work: Worklist,
    /// The ports' timers in deadline order.
    schedule: Schedule,
    /// The ports with a LACPDU deferred by the transmit rate limit, by TxDefer deadline.
    deferred: Schedule,
    /// The disabled ports by remembered partner (port_moved).
    moved: MovedIndex,
    scratch: Scratch,
}

impl Lacp {
    /// A System with no ports. An invalid `config` is used as given; use
    /// [`SystemConfig::validate`] first (or [`Lacp::set_config`], which checks).
    pub fn new(config: SystemConfig) -> Lacp {
        let mut aggregators = Aggregators::default();
        aggregators.set_policy(config.ad_select);
        Lacp {
            config,
            ports: PortTable::default(),
            aggregators,
            active: None,
            reported_active: None,
            up: false,
            fallback: FallbackState::default(),
            timers: TimerTable::default(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            next_marker: 1,
            work: Worklist::default(),
            schedule: Schedule::default(),
            deferred: Schedule::default(),
            moved: MovedIndex::default(),
            scratch: Scratch::default(),
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
        let was_off = self.config.mode == LacpActivity::Off;
        self.config = config;
        let toggled = was_off != (self.config.mode == LacpActivity::Off);
        let Lacp {
            config,
            ports,
            events,
            fallback,
            work,
            aggregators,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        for (i, p) in ports.as_mut_slice().iter_mut().enumerate() {
            reconfigure_port(
                p,
                &mut ctx,
                toggled,
                "configuration changed (System ID, priority or key)",
            );
            fallback::recount(fallback, p, ctx.cfg);
            work.push(i);
        }
        fallback.reassign = true;
        aggregators.set_policy(ctx.cfg.ad_select);
        aggregators.touch_all();
        self.update(now);
        Ok(())
    }

    /// Adds a port; it stays disabled until `handle_link` reports it up.
    pub fn add_port(&mut self, now: Instant, port: PortConfig) -> Result<(), ConfigError> {
        if port.number == 0 {
            return Err(ConfigError::PortZero);
        }
        if self.ports.position(port.number).is_some() {
            return Err(ConfigError::DuplicatePort(port.number));
        }
        let p = Port::new(port, &self.config);
        let i = self.ports.insert(p).map_err(ConfigError::DuplicatePort)?;
        self.work.on_insert(i);
        self.schedule.on_insert(i);
        self.deferred.on_insert(i);
        self.work.push(i);
        self.update(now);
        Ok(())
    }

    /// Removes a port at once (its data plane stops: an event says so if it was active).
    pub fn remove_port(&mut self, now: Instant, port: PortNumber) -> Result<(), ConfigError> {
        let mut p = self
            .ports
            .position(port)
            .and_then(|i| {
                self.work.on_remove(i);
                self.schedule.on_remove(i);
                self.deferred.on_remove(i);
                self.ports.remove_at(i)
            })
            .ok_or(ConfigError::UnknownPort(port))?;
        self.aggregators.forget(&mut p);
        self.moved.remove(&p);
        fallback::forget(&mut self.fallback, &p);
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
            fallback,
            work,
            ..
        } = self;
        let i = ports
            .position(port.number)
            .ok_or(ConfigError::UnknownPort(port.number))?;
        let p = ports
            .at_mut(i)
            .ok_or(ConfigError::UnknownPort(port.number))?;
        p.cfg = port;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        reconfigure_port(
            p,
            &mut ctx,
            false,
            "port configuration changed (key, priority or aggregation)",
        );
        fallback::recount(fallback, p, ctx.cfg);
        // The port's priority may have changed: fallback's choice of port with it.
        fallback.reassign = true;
        work.push(i);
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
            fallback,
            work,
            ..
        } = self;
        let Some(i) = ports.position(port) else {
            return;
        };
        let Some(p) = ports.at_mut(i) else {
            return;
        };
        p.link = link;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        if !link.up {
            loopback::end(p, &mut ctx);
        }
        let why = if link.up {
            "link up (the key follows speed and duplex)"
        } else {
            "link down"
        };
        reconfigure_port(p, &mut ctx, false, why);
        fallback::recount(fallback, p, ctx.cfg);
        work.push(i);
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
            work,
            moved,
            scratch,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let Some(i) = ports.position(port) else {
            return Err(RxError::UnknownPort(port));
        };
        let Some(p) = ports.at_mut(i) else {
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
        work.push(i);
        match parsed.pdu {
            SlowPdu::Lacp(pdu) if pdu.actor.system == ctx.cfg.system => {
                p.counters.lacpdus_rx += 1;
                if p.port_enabled() {
                    loopback::own_lacpdu(p, &mut ctx, pdu.actor.port.number);
                    fallback::recount(fallback, p, ctx.cfg);
                }
            }
            SlowPdu::Lacp(pdu) => {
                p.counters.lacpdus_rx += 1;
                let used = p.port_enabled()
                    && p.lacp_enabled(ctx.cfg)
                    && receive::rx_lacpdu(p, &mut ctx, &pdu);
                if used {
                    // port_moved (§6.4.8): this partner port was last seen on a disabled port.
                    let numbers = &mut scratch.numbers;
                    numbers.clear();
                    numbers.extend(moved.ports_of(pdu.actor.system, pdu.actor.port.number));
                    for q in numbers.iter() {
                        let Some(j) = ports.position(*q) else {
                            continue;
                        };
                        let Some(q) = ports.at_mut(j) else { continue };
                        if q.number() != port
                            && q.receive == ReceiveState::PortDisabled
                            && q.partner.system != lagd_types::SystemId::NULL
                            && (q.partner.system, q.partner.port.number)
                                == (pdu.actor.system, pdu.actor.port.number)
                        {
                            q.port_moved = true;
                            work.push(j);
                        }
                    }
                    fallback::lacpdu_heard(fallback, ports.as_mut_slice(), &mut ctx, work);
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
            work,
            schedule,
            scratch,
            fallback,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        scratch.positions.clear();
        schedule.take_due(now, &mut scratch.positions);
        for i in &scratch.positions {
            work.push(*i);
        }
        work.normalize();
        for k in 0..work.len() {
            let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) else {
                continue;
            };
            for t in p.timers.expire(now) {
                match t {
                    Timer::CurrentWhile => receive::current_while_expired(p, &mut ctx),
                    Timer::Periodic => periodic::periodic_timer_expired(p, &mut ctx),
                    Timer::WaitWhile => mux::wait_while_expired(p),
                    Timer::ActorChurn => churn::timer_expired(p, &mut ctx, Side::Actor),
                    Timer::PartnerChurn => churn::timer_expired(p, &mut ctx, Side::Partner),
                    Timer::Marker => marker::expire(p, &mut ctx),
                    Timer::Loopback => {
                        loopback::end(p, &mut ctx);
                        fallback::recount(fallback, p, ctx.cfg);
                    }
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
            schedule,
            ..
        } = self;
        let i = ports.position(port).ok_or(MarkerError::UnknownPort(port))?;
        let p = ports.at_mut(i).ok_or(MarkerError::UnknownPort(port))?;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let id = MarkerId(*next_marker);
        marker::send(p, &mut ctx, id, transmits)?;
        schedule.set(i, p.next_timeout());
        *next_marker = next_marker.wrapping_add(1).max(1);
        Ok(id)
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        let q = self.transmits.pop_front()?;
        self.trim_transmits();
        Some(Transmit {
            port: q.port,
            frame: q.frame.to_vec(),
        })
    }

    /// The next frame to send, written into `buf` (no allocation): its port and length. A
    /// buffer of [`Transmit::MAX_LEN`] octets always suffices; if `buf` is too short the frame
    /// stays queued and the error says how long it must be.
    pub fn poll_transmit_into(
        &mut self,
        _now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<(PortNumber, usize)>, WireError> {
        let Some(q) = self.transmits.front() else {
            return Ok(None);
        };
        let len = q.frame.emit(buf)?;
        let port = q.port;
        self.transmits.pop_front();
        self.trim_transmits();
        Ok(Some((port, len)))
    }

    fn trim_transmits(&mut self) {
        if self.transmits.is_empty() && self.transmits.capacity() > QUEUE_KEEP {
            self.transmits.shrink_to(QUEUE_KEEP);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        if self.events.is_empty() && self.events.capacity() > QUEUE_KEEP {
            self.events.shrink_to(QUEUE_KEEP);
        }
        Some(e)
    }

    /// The earliest deadline of any timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.schedule.first(), self.timers.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A port's link as last reported ([`Lacp::handle_link`]); `None` for an unknown port.
    pub fn port_link(&self, port: PortNumber) -> Option<LinkStatus> {
        self.ports.get(port).map(|p| p.link)
    }

    /// The state of one port.
    pub fn port(&self, port: PortNumber) -> Option<PortStatus> {
        self.ports.get(port).map(|p| self.port_status(p))
    }

    /// The state of every port, by port number.
    pub fn ports(&self) -> Vec<PortStatus> {
        self.ports.iter().map(|p| self.port_status(p)).collect()
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
        self.ports.get(port).is_some_and(|p| p.reported_cd.0)
    }

    /// Whether the data plane distributes on `port`.
    pub fn is_distributing(&self, port: PortNumber) -> bool {
        self.ports.get(port).is_some_and(|p| p.reported_cd.1)
    }

    /// The Distributing ports of the active Aggregator, best port priority first.
    pub fn distributing_ports(&self) -> Vec<PortNumber> {
        // Only ports of the active Aggregator are reported distributing.
        let members = self
            .active
            .and_then(|id| self.aggregators.get(id))
            .map(|a| &a.ports);
        let mut v: Vec<&Port> = members
            .into_iter()
            .flatten()
            .filter_map(|n| self.ports.get(*n))
            .filter(|p| p.reported_cd.1)
            .collect();
        v.sort_by_key(|p| p.actor.port);
        v.into_iter().map(Port::number).collect()
    }

    /// The aggregate is up: at least min_links ports Collecting and Distributing in the active
    /// Aggregator (in fallback, one is enough).
    pub fn is_up(&self) -> bool {
        self.up
    }
}

/// Applies a change of System or port configuration, or of link status, to one port.
/// `why` says what changed, for the Selection event when the port's identity (its key
/// follows speed and duplex) changes with it.
fn reconfigure_port(p: &mut Port, ctx: &mut Ctx<'_>, restart_receive: bool, why: &'static str) {
    let old_state = p.actor.state;
    if p.refresh_actor(ctx.cfg) {
        p.set_selected(ctx, Selected::Unselected, why);
    }
    if p.actor.state != old_state {
        p.ntt = true;
    }
    if old_state.short_timeout() && !p.actor.state.short_timeout() {
        receive::timeout_lengthened(p, ctx);
    }
    if restart_receive && p.receive != ReceiveState::Initialize {
        receive::reinitialize(p, ctx, "LACP switched on or off");
    } else {
        receive::refresh_default(p, ctx);
    }
}
