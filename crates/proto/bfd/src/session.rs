//! One BFD session in Asynchronous mode (RFC 5880 §6): the state machine of §6.2, timer
//! negotiation (§6.8.2-§6.8.4), the Poll Sequence (§6.5) and the reception (§6.8.6) and
//! transmission (§6.8.7) rules. The variables carry the RFC's names (§6.8.1), so
//! `desired_min_tx` is bfd.DesiredMinTxInterval, `remote_discr` bfd.RemoteDiscr, and so on.
//!
//! Call order: feed [`Session::handle_packet`], configuration changes and
//! [`Session::handle_timeout`] (when `now >= poll_timeout()`); then drain
//! [`Session::poll_transmit`] and [`Session::poll_event`]; sleep until
//! [`Session::poll_timeout`].

use crate::jitter::Jitter;
use crate::timers::{Timer, TimerTable};
use crate::{
    BfdConfig, BfdConfigError, BfdRepr, Diag, Event, EventKind, RxError, SLOW_TX_INTERVAL,
    SessionCounters, SessionState,
};
use lagd_types::{Duration, Instant};
use serde::Serialize;
use std::collections::VecDeque;

/// bfd.RemoteMinRxInterval before anything is heard (§6.8.1: initialised to 1 µs).
const REMOTE_MIN_RX_INITIAL: Duration = Duration::from_micros(1);

/// The Poll Sequence (§6.5) of the local system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Poll {
    /// Packets carry P until one with F arrives.
    active: bool,
    /// Another change came during the sequence: a new one starts when this one ends (a new
    /// Poll Sequence must not start while one is in progress).
    pending: bool,
}

/// One BFD session.
#[derive(Clone, Debug)]
pub struct Session {
    cfg: BfdConfig,
    /// bfd.SessionState.
    state: SessionState,
    /// bfd.RemoteSessionState.
    remote_state: SessionState,
    /// bfd.LocalDiscr.
    local_discr: u32,
    /// bfd.RemoteDiscr.
    remote_discr: u32,
    /// bfd.LocalDiag.
    local_diag: Diag,
    /// The Diag of the last packet received.
    remote_diag: Diag,
    /// bfd.DesiredMinTxInterval (as advertised; at least one second while not Up).
    desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval (as advertised).
    required_min_rx: Duration,
    /// bfd.RemoteMinRxInterval.
    remote_min_rx: Duration,
    /// The last Desired Min TX Interval received.
    remote_desired_min_tx: Duration,
    /// The last Detect Mult received (0: nothing heard).
    remote_detect_mult: u8,
    /// bfd.RemoteDemandMode.
    remote_demand_mode: bool,
    /// The bfd.DesiredMinTxInterval the transmit interval uses: an increase while Up waits
    /// for the Poll Sequence to end (§6.8.3).
    tx_basis: Duration,
    /// The bfd.RequiredMinRxInterval the Detection Time uses: a decrease while Up waits for
    /// the Poll Sequence to end (§6.8.3).
    rx_basis: Duration,
    poll: Poll,
    /// A packet with F is owed (a P was received).
    final_due: bool,
    /// The Transmit timer fired: a periodic packet is owed.
    periodic_due: bool,
    /// The link carries frames (false: nothing is sent and nothing is expected).
    enabled: bool,
    timers: TimerTable,
    jitter: Jitter,
    counters: SessionCounters,
    last_rx: Option<Instant>,
    events: VecDeque<Event>,
}

/// The state of a session, serializable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SessionStatus {
    /// bfd.SessionState.
    pub state: SessionState,
    /// bfd.RemoteSessionState.
    pub remote_state: SessionState,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr (0: no peer).
    pub remote_discr: u32,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// The peer's last Diag.
    pub remote_diag: Diag,
    /// bfd.DesiredMinTxInterval.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.RemoteMinRxInterval.
    pub remote_min_rx: Duration,
    /// The peer's Desired Min TX Interval.
    pub remote_desired_min_tx: Duration,
    /// bfd.DetectMult.
    pub detect_mult: u8,
    /// The peer's Detect Mult (0: nothing heard).
    pub remote_detect_mult: u8,
    /// The interval between our periodic packets, before jitter (`None`: not sending).
    pub tx_interval: Option<Duration>,
    /// The Detection Time in force (`None`: nothing heard from the peer).
    pub detection_time: Option<Duration>,
    /// A Poll Sequence is in progress.
    pub poll_active: bool,
    /// The link carries frames.
    pub enabled: bool,
    /// When the last packet was accepted.
    pub last_rx: Option<Instant>,
    /// Counters.
    pub counters: SessionCounters,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_nanos() / 1_000).unwrap_or(u32::MAX)
}

impl Session {
    /// A session in state Down, sending its first packet at `now`. `local_discr` must be
    /// non-zero and unique among the system's sessions (bfd.LocalDiscr); `jitter_seed` seeds
    /// the transmit jitter. An invalid `cfg` is used as given: check it with
    /// [`BfdConfig::validate`] first.
    pub fn new(now: Instant, cfg: BfdConfig, local_discr: u32, jitter_seed: u64) -> Session {
        let desired = cfg.desired_min_tx.max(SLOW_TX_INTERVAL);
        let mut timers = TimerTable::default();
        timers.set(Timer::Transmit, now);
        Session {
            cfg,
            state: SessionState::Down,
            remote_state: SessionState::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::NoDiagnostic,
            remote_diag: Diag::NoDiagnostic,
            desired_min_tx: desired,
            required_min_rx: cfg.required_min_rx,
            remote_min_rx: REMOTE_MIN_RX_INITIAL,
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_demand_mode: false,
            tx_basis: desired,
            rx_basis: cfg.required_min_rx,
            poll: Poll::default(),
            final_due: false,
            periodic_due: false,
            enabled: true,
            timers,
            jitter: Jitter::new(jitter_seed),
            counters: SessionCounters::default(),
            last_rx: None,
            events: VecDeque::new(),
        }
    }

    /// bfd.SessionState.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether the session is Up: the link may carry traffic.
    pub fn is_up(&self) -> bool {
        self.state == SessionState::Up
    }

    /// bfd.LocalDiscr.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// bfd.RemoteDiscr (0: no peer).
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    /// The configuration in force.
    pub fn config(&self) -> BfdConfig {
        self.cfg
    }

    /// Counters.
    pub fn counters(&self) -> SessionCounters {
        self.counters
    }

    /// Changes the configured intervals and multiplier. While the session is Init or Up the
    /// change is announced by a Poll Sequence; an increase of the transmit interval, or a
    /// decrease of the receive interval, takes effect only when it ends (§6.8.3).
    pub fn set_config(&mut self, now: Instant, cfg: BfdConfig) -> Result<(), BfdConfigError> {
        cfg.validate()?;
        self.cfg = cfg;
        let desired = if self.is_up() {
            cfg.desired_min_tx
        } else {
            cfg.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        self.set_timing(now, desired, cfg.required_min_rx);
        Ok(())
    }

    /// Holds the session in AdminDown (Diag 7, Administratively Down) or releases it to
    /// Down (§6.8.16).
    pub fn set_admin_down(&mut self, now: Instant, admin_down: bool) {
        match (admin_down, self.state) {
            (true, SessionState::AdminDown) | (false, SessionState::Down) => {}
            (true, _) => {
                self.set_state(now, SessionState::AdminDown, Diag::AdministrativelyDown);
                self.timers.stop(Timer::Detection);
            }
            (false, SessionState::AdminDown) => {
                self.set_state(now, SessionState::Down, Diag::NoDiagnostic)
            }
            (false, _) => {}
        }
    }

    /// The link went down (`false`) or up (`true`). Down: the session goes Down (Diag 5,
    /// Path Down), forgets the peer and sends nothing. Up: a packet is owed at once.
    pub fn set_enabled(&mut self, now: Instant, enabled: bool) {
        if enabled == self.enabled {
            return;
        }
        self.enabled = enabled;
        if enabled {
            self.periodic_due = true;
            self.schedule_next_transmit(now);
        } else {
            if matches!(self.state, SessionState::Init | SessionState::Up) {
                self.set_state(now, SessionState::Down, Diag::PathDown);
            }
            self.forget_remote();
            self.timers.stop(Timer::Transmit);
            self.timers.stop(Timer::Detection);
            self.final_due = false;
            self.periodic_due = false;
        }
    }

    /// A BFD Control packet arrived (already checked by [`BfdRepr::parse`]): the rest of the
    /// reception procedure of §6.8.6. A refused packet is counted in `ctrl_pkt_drop`.
    pub fn handle_packet(&mut self, now: Instant, pkt: &BfdRepr) -> Result<(), RxError> {
        if pkt.your_discriminator != 0 && pkt.your_discriminator != self.local_discr {
            return Err(self.drop_packet(now, RxError::NotOurDiscriminator(pkt.your_discriminator)));
        }
        if pkt.your_discriminator == 0
            && !matches!(pkt.state, SessionState::Down | SessionState::AdminDown)
        {
            return Err(self.drop_packet(now, RxError::ZeroYourDiscriminator(pkt.state)));
        }
        self.counters.ctrl_pkt_in += 1;
        self.last_rx = Some(now);
        self.remote_discr = pkt.my_discriminator;
        self.remote_state = pkt.state;
        self.remote_diag = pkt.diag;
        self.remote_demand_mode = pkt.demand;
        self.remote_min_rx = Duration::from_micros(u64::from(pkt.required_min_rx_interval));
        self.remote_desired_min_tx = Duration::from_micros(u64::from(pkt.desired_min_tx_interval));
        self.remote_detect_mult = pkt.detect_mult;
        if pkt.final_bit && self.poll.active {
            self.terminate_poll(now);
        }
        self.reschedule_transmit(now);
        if self.state == SessionState::AdminDown {
            return Ok(());
        }
        if let Some(d) = self.detection_time() {
            self.timers.set(Timer::Detection, now + d);
        }
        if pkt.state == SessionState::AdminDown {
            if self.state != SessionState::Down {
                self.set_state(now, SessionState::Down, Diag::NeighborSignaledSessionDown);
            }
        } else {
            match (self.state, pkt.state) {
                (SessionState::Down, SessionState::Down) => {
                    self.set_state(now, SessionState::Init, Diag::NoDiagnostic)
                }
                (SessionState::Down, SessionState::Init)
                | (SessionState::Init, SessionState::Init | SessionState::Up) => {
                    self.set_state(now, SessionState::Up, Diag::NoDiagnostic)
                }
                (SessionState::Up, SessionState::Down) => {
                    self.set_state(now, SessionState::Down, Diag::NeighborSignaledSessionDown)
                }
                _ => {}
            }
        }
        if pkt.poll {
            // §6.8.7: answer at once, whatever the transmit timer says.
            self.final_due = true;
        }
        Ok(())
    }

    /// Counts a refused packet (also called by the micro-BFD layer for frames refused before
    /// they reach the session).
    pub(crate) fn drop_packet(&mut self, now: Instant, e: RxError) -> RxError {
        self.counters.ctrl_pkt_drop += 1;
        self.counters.ctrl_pkt_drop_last_time = Some(now);
        self.emit(now, EventKind::RxError { error: e });
        e
    }

    /// Runs the timers due at `now`. Call when `now >= poll_timeout()`; harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in self.timers.expire(now) {
            match t {
                Timer::Transmit => {
                    self.periodic_due = true;
                    self.schedule_next_transmit(now);
                }
                Timer::Detection => self.detection_time_expired(now),
            }
        }
    }

    /// The next packet to send, if one is owed: a Final (F, answering a Poll) first, then the
    /// periodic one (P while our own Poll Sequence runs).
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<BfdRepr> {
        let (poll, final_bit) = if self.final_due {
            self.final_due = false;
            (false, true)
        } else if self.periodic_due {
            self.periodic_due = false;
            (self.poll.active, false)
        } else {
            return None;
        };
        self.counters.ctrl_pkt_out += 1;
        Some(BfdRepr {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_bit,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_interval: micros(self.desired_min_tx),
            required_min_rx_interval: micros(self.required_min_rx),
            required_min_echo_rx_interval: 0,
        })
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline of any timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Whether a packet is owed now (drain [`Session::poll_transmit`]).
    pub fn has_transmit(&self) -> bool {
        self.final_due || self.periodic_due
    }

    /// Everything, serializable.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            remote_min_rx: self.remote_min_rx,
            remote_desired_min_tx: self.remote_desired_min_tx,
            detect_mult: self.cfg.detect_mult,
            remote_detect_mult: self.remote_detect_mult,
            tx_interval: self.tx_interval(),
            detection_time: self.detection_time(),
            poll_active: self.poll.active,
            enabled: self.enabled,
            last_rx: self.last_rx,
            counters: self.counters,
        }
    }

    /// §6.8.7: the greater of bfd.DesiredMinTxInterval (in force) and bfd.RemoteMinRxInterval;
    /// none when the peer asks for no packets (RemoteMinRxInterval zero).
    fn tx_interval(&self) -> Option<Duration> {
        (self.remote_min_rx != Duration::ZERO).then(|| self.tx_basis.max(self.remote_min_rx))
    }

    /// §6.8.4: the peer's Detect Mult times the greater of bfd.RequiredMinRxInterval (in
    /// force) and the peer's Desired Min TX Interval.
    fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult != 0).then(|| {
            self.rx_basis
                .max(self.remote_desired_min_tx)
                .saturating_mul(u64::from(self.remote_detect_mult))
        })
    }

    /// Whether periodic packets go out: the link is up, the peer wants them, and the peer is
    /// not in Demand mode with both sides Up (§6.6) unless we are polling.
    fn periodic_allowed(&self) -> bool {
        let demand = self.remote_demand_mode
            && self.state == SessionState::Up
            && self.remote_state == SessionState::Up;
        self.enabled && self.tx_interval().is_some() && (!demand || self.poll.active)
    }

    fn schedule_next_transmit(&mut self, now: Instant) {
        match self.tx_interval().filter(|_| self.periodic_allowed()) {
            Some(iv) => {
                let d = self.jitter.apply(iv, self.cfg.detect_mult);
                self.timers.set(Timer::Transmit, now + d);
            }
            None => self.timers.stop(Timer::Transmit),
        }
    }

    /// The transmit interval may have changed: bring the next periodic packet forward if it
    /// is now due sooner, start or stop periodic transmission.
    fn reschedule_transmit(&mut self, now: Instant) {
        match (
            self.tx_interval().filter(|_| self.periodic_allowed()),
            self.timers.get(Timer::Transmit),
        ) {
            (None, _) => self.timers.stop(Timer::Transmit),
            (Some(iv), Some(at)) if at <= now + iv => {}
            (Some(iv), _) => {
                let d = self.jitter.apply(iv, self.cfg.detect_mult);
                self.timers.set(Timer::Transmit, now + d);
            }
        }
    }

    /// §6.8.4: nothing from the peer for a Detection Time.
    fn detection_time_expired(&mut self, now: Instant) {
        if matches!(self.state, SessionState::Init | SessionState::Up) {
            self.counters.detection_timeouts += 1;
            self.set_state(now, SessionState::Down, Diag::ControlDetectionTimeExpired);
        }
        self.forget_remote();
        self.reschedule_transmit(now);
    }

    /// §6.8.1: bfd.RemoteDiscr is zeroed when the Detection Time passes; the rest of what we
    /// know of the peer goes with it.
    fn forget_remote(&mut self) {
        self.remote_discr = 0;
        self.remote_state = SessionState::Down;
        self.remote_diag = Diag::NoDiagnostic;
        self.remote_min_rx = REMOTE_MIN_RX_INITIAL;
        self.remote_desired_min_tx = Duration::ZERO;
        self.remote_detect_mult = 0;
        self.remote_demand_mode = false;
        self.timers.stop(Timer::Detection);
    }

    fn set_state(&mut self, now: Instant, to: SessionState, diag: Diag) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diag;
        if to == SessionState::Up {
            self.counters.sess_up_count += 1;
            // §6.8.3: the one-second floor lifts; the faster rate is announced by a Poll.
            self.set_timing(now, self.cfg.desired_min_tx, self.cfg.required_min_rx);
        } else {
            if from == SessionState::Up {
                self.counters.last_sess_down_time = Some(now);
                self.counters.last_comm_lost_diag = Some(diag);
            }
            self.poll = Poll::default();
            self.desired_min_tx = self.cfg.desired_min_tx.max(SLOW_TX_INTERVAL);
            self.required_min_rx = self.cfg.required_min_rx;
            self.tx_basis = self.desired_min_tx;
            self.rx_basis = self.required_min_rx;
            self.reschedule_transmit(now);
        }
        self.emit(now, EventKind::SessionState { from, to, diag });
    }

    /// Sets bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval (§6.8.3).
    fn set_timing(&mut self, now: Instant, desired: Duration, required: Duration) {
        if desired == self.desired_min_tx && required == self.required_min_rx {
            return;
        }
        let up = self.state == SessionState::Up;
        self.desired_min_tx = desired;
        self.required_min_rx = required;
        if !(up && desired > self.tx_basis) {
            self.tx_basis = desired;
        }
        if !(up && required < self.rx_basis) {
            self.rx_basis = required;
        }
        if matches!(self.state, SessionState::Init | SessionState::Up) {
            self.start_poll();
        }
        self.reschedule_transmit(now);
    }

    fn start_poll(&mut self) {
        if self.poll.active {
            self.poll.pending = true;
        } else {
            self.poll.active = true;
            self.counters.poll_sequences += 1;
        }
    }

    /// A packet with F ended our Poll Sequence: the new values are in force.
    fn terminate_poll(&mut self, now: Instant) {
        self.poll.active = false;
        self.tx_basis = self.desired_min_tx;
        self.rx_basis = self.required_min_rx;
        if self.poll.pending {
            self.poll.pending = false;
            self.start_poll();
        }
        self.reschedule_transmit(now);
    }

    pub(crate) fn push_event(&mut self, at: Instant, kind: EventKind) {
        self.emit(at, kind)
    }

    fn emit(&mut self, at: Instant, kind: EventKind) {
        self.events.push_back(Event {
            at,
            port: None,
            kind,
        });
    }
}
