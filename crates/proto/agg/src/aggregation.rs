use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lagd_distrib::{Dispatch, DistEvent, DistStats, Distributor};
use lagd_lacp::{
    Event, EventKind, Lacp, LinkStatus, MarkerError, MarkerId, PortConfig, SystemStatus, Transmit,
};
use lagd_types::{Duration, Instant, PortNumber};
use lagd_wire::{MarkerKind, SlowFrame, SlowPdu};
use serde::Serialize;

use crate::activity::PortActivity;
use crate::alb::{Alb, AlbMember, AlbRx, AlbStatus};
use crate::{AggEvent, AggregationConfig, CollectorCounters, RxDrop, RxVerdict};

/// How long a Marker refused by the Slow Protocols rate limit waits before it is tried again.
const MARKER_RETRY: Duration = Duration::from_millis(100);

/// Why a request to an aggregation was refused. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum AggError {
    /// LACP refused the configuration or port change.
    #[error(transparent)]
    Lacp(#[from] lagd_lacp::ConfigError),
    /// The port is not a member of this aggregation.
    #[error("port {0} is not a member of this aggregation")]
    NoSuchPort(PortNumber),
    /// Disabling the port would leave no member to carry the traffic.
    #[error("it is the only member carrying traffic: disabling it stops all traffic")]
    LastMember(PortNumber),
    /// Only an active-backup aggregation has an active member to choose.
    #[error("only an active-backup aggregation has an active member to choose")]
    NotActiveBackup,
    /// The chosen member cannot carry the traffic (not distributing, disabled or draining).
    #[error("it cannot carry the traffic now (it is not distributing, or disabled, or leaving)")]
    NotEligible(PortNumber),
}

/// Everything observable about one aggregation, serialisable for `lagctl --json`.
#[derive(Clone, Debug, Serialize)]
pub struct AggregationStatus {
    /// LACP: system, ports (actor/partner, machines, counters), aggregators.
    pub lacp: SystemStatus,
    /// Distributor: per-port frames/bytes/buckets, moves, held frames.
    pub distributor: DistStats,
    /// Frame Collector counters.
    pub collector: CollectorCounters,
    /// Ports being drained (graceful removal in progress).
    pub draining: Vec<PortNumber>,
    /// Whether the aggregate is up (min-links met, or fallback).
    pub up: bool,
    /// What each member heard lately (LACPDU arrivals, whatever the LACP mode).
    pub activity: Vec<PortActivity>,
    /// The latest time any input carried: "now" for the activity above.
    pub at: Instant,
    /// Active-backup: the member carrying the traffic.
    pub active_member: Option<PortNumber>,
    /// Switch-independent load balancing: receive member, peers and their members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbStatus>,
    /// Members the operator disabled ([`Aggregation::disable_port`]).
    pub disabled: Vec<PortNumber>,
}

/// One aggregation: LACP control, Frame Distributor and Frame Collector (see the crate docs).
///
/// `F` is the caller's handle for a data frame (the daemon uses a buffer slot, the simulator the
/// frame itself); the distributor keeps frames it holds during a marker-protected move and gives
/// them back through [`Aggregation::poll_release`].
pub struct Aggregation<F> {
    config: AggregationConfig,
    pub(crate) lacp: Lacp,
    pub(crate) dist: Distributor<F>,
    /// Distributor marker request id → (port, Marker transaction).
    markers: BTreeMap<u64, (PortNumber, MarkerId)>,
    /// The distributor's members as last set: the Distributing ports, then those `leaving`.
    dist_ports: Vec<PortNumber>,
    /// Ports that stopped Distributing for a protocol reason (Sync lost, Standby, Expired, a
    /// new active Aggregator) while their link is up: frames sent there may still be in flight,
    /// so the distributor drains them under Marker protection before they leave it
    /// ([`Distributor::leave_ports`]: at once, never waiting for Marker pacing). They carry no
    /// frame meanwhile (a drained port receives none; a moving bucket's frames are held).
    /// Disabled members leave the same way but paced ([`Distributor::drain_ports`]): LACP
    /// still lets them distribute, so their conversations stay until their Marker may go.
    leaving: BTreeSet<PortNumber>,
    /// Marker requests refused by the Slow Protocols rate limit, retried at `marker_retry_at`.
    marker_retry: VecDeque<lagd_distrib::MarkerRequest>,
    marker_retry_at: Option<Instant>,
    draining: BTreeSet<PortNumber>,
    /// Members the operator disabled: kept out of distribution (drained under Marker
    /// protection), still Collecting.
    disabled: BTreeSet<PortNumber>,
    /// Active-backup: the member to make active as soon as it can carry the traffic
    /// ([`Aggregation::prefer_active`]), then forgotten.
    preferred_active: Option<PortNumber>,
    /// The latest `now` any input carried (for work triggered by `poll_release`).
    last_now: Instant,
    collector: CollectorCounters,
    events: VecDeque<AggEvent>,
    /// Recent LACPDU arrivals per member.
    activity: BTreeMap<PortNumber, PortActivity>,
    /// Switch-independent load balancing, in those modes.
    alb: Option<Alb>,
    /// Each member's own MAC (from its port configuration), for the balancer.
    macs: BTreeMap<PortNumber, lagd_types::MacAddr>,
}

impl<F> Aggregation<F> {
    /// A new aggregation with no ports.
    pub fn new(config: AggregationConfig) -> Self {
        Aggregation {
            lacp: Lacp::new(config.lacp.clone()),
            dist: Distributor::new(config.distributor.clone()),
            alb: config.alb.clone().map(Alb::new),
            macs: BTreeMap::new(),
            config,
            markers: BTreeMap::new(),
            dist_ports: Vec::new(),
            leaving: BTreeSet::new(),
            marker_retry: VecDeque::new(),
            marker_retry_at: None,
            draining: BTreeSet::new(),
            disabled: BTreeSet::new(),
            preferred_active: None,
            last_now: Instant::ZERO,
            collector: CollectorCounters::default(),
            events: VecDeque::new(),
            activity: BTreeMap::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AggregationConfig {
        &self.config
    }

    /// Applies a new configuration live. On error nothing changes.
    pub fn set_config(&mut self, now: Instant, config: AggregationConfig) -> Result<(), AggError> {
        self.lacp.set_config(now, config.lacp.clone())?;
        if config.distributor != self.config.distributor {
            self.dist.set_config(now, config.distributor.clone());
        }
        match (self.alb.as_mut(), config.alb.clone()) {
            (Some(a), Some(c)) => a.set_config(now, c),
            (None, Some(c)) => self.alb = Some(Alb::new(c)),
            (_, None) => self.alb = None,
        }
        self.config = config;
        self.sync(now);
        Ok(())
    }

    /// Adds a member port (disabled until [`Aggregation::handle_link`] reports it up).
    pub fn add_port(&mut self, now: Instant, port: PortConfig) -> Result<(), AggError> {
        let number = port.number;
        let mac = port.mac;
        self.lacp.add_port(now, port)?;
        self.macs.insert(number, mac);
        self.activity.insert(number, PortActivity::new(number));
        self.sync(now);
        Ok(())
    }

    /// Changes a member port's configuration (priority, key, Partner_Admin values).
    pub fn set_port_config(&mut self, now: Instant, port: PortConfig) -> Result<(), AggError> {
        let (number, mac) = (port.number, port.mac);
        self.lacp.set_port_config(now, port)?;
        self.macs.insert(number, mac);
        self.sync(now);
        Ok(())
    }

    /// Removes a member port at once (its conversations move without marker protection).
    pub fn remove_port(&mut self, now: Instant, port: PortNumber) -> Result<(), AggError> {
        self.lacp.remove_port(now, port)?;
        self.draining.remove(&port);
        self.disabled.remove(&port);
        self.activity.remove(&port);
        self.macs.remove(&port);
        self.sync(now);
        Ok(())
    }

    /// Starts a graceful removal: every conversation leaves `port` under marker protection, so no
    /// frame is lost or reordered. [`AggEvent::Drained`] reports the end; then call
    /// [`Aggregation::remove_port`].
    pub fn drain_port(&mut self, now: Instant, port: PortNumber) -> Result<(), AggError> {
        if self.lacp.port(port).is_none() {
            return Err(AggError::NoSuchPort(port));
        }
        self.draining.insert(port);
        if self.dist_ports.contains(&port) {
            self.dist.drain_port(now, port);
        } else {
            // Carries nothing: drained already.
            self.draining.remove(&port);
            self.events.push_back(AggEvent::Drained { port });
        }
        self.sync(now);
        Ok(())
    }

    /// Disables member `port` without removing it (as OVS `bond/disable-slave`): its
    /// conversations leave it under Marker protection, exactly as for a graceful removal (no
    /// frame lost or reordered), and it carries none until [`Aggregation::enable_port`]. It
    /// stays a member: LACP runs, it keeps Collecting (what the partner still sends on it
    /// arrives), it counts for min-links. [`Aggregation::is_drained`] tells when nothing of ours
    /// is in flight on it any more. Refused when no other member distributes, unless `force`.
    pub fn disable_port(
        &mut self,
        now: Instant,
        port: PortNumber,
        force: bool,
    ) -> Result<(), AggError> {
        if self.lacp.port(port).is_none() {
            return Err(AggError::NoSuchPort(port));
        }
        let others = self
            .lacp
            .distributing_ports()
            .into_iter()
            .any(|p| p != port && !self.disabled.contains(&p) && !self.draining.contains(&p));
        let carries = self.dist_ports.contains(&port) && !self.leaving.contains(&port);
        if carries && !others && !force {
            return Err(AggError::LastMember(port));
        }
        self.disabled.insert(port);
        self.sync(now);
        Ok(())
    }

    /// Ends [`Aggregation::disable_port`]: the member distributes again as soon as LACP lets it,
    /// taking back its share of conversations, each move marker-protected.
    pub fn enable_port(&mut self, now: Instant, port: PortNumber) -> Result<(), AggError> {
        if self.lacp.port(port).is_none() {
            return Err(AggError::NoSuchPort(port));
        }
        self.disabled.remove(&port);
        self.sync(now);
        Ok(())
    }

    /// Whether member `port` is disabled.
    pub fn is_disabled(&self, port: PortNumber) -> bool {
        self.disabled.contains(&port)
    }

    /// Whether member `port` carries no frame of ours any more: out of the distributor, every
    /// move off it completed.
    pub fn is_drained(&self, port: PortNumber) -> bool {
        !self.dist_ports.contains(&port)
    }

    /// Active-backup: makes `port` the active member now (as OVS `bond/set-active-slave`). The
    /// traffic moves from the current active member under Marker protection. It stays active
    /// until it fails or another is chosen (active-backup is non-revertive).
    pub fn choose_active(&mut self, now: Instant, port: PortNumber) -> Result<(), AggError> {
        if self.lacp.port(port).is_none() {
            return Err(AggError::NoSuchPort(port));
        }
        if self.dist.config().mode != lagd_distrib::Mode::ActiveBackup {
            return Err(AggError::NotActiveBackup);
        }
        if !self.can_be_active(port) {
            return Err(AggError::NotEligible(port));
        }
        self.preferred_active = None;
        self.dist.choose_active(now, port);
        self.pump_markers(now);
        Ok(())
    }

    /// Active-backup: makes `port` the active member once it can carry the traffic (now, or
    /// when it distributes), by the same Marker-protected move as
    /// [`Aggregation::choose_active`]; then active-backup goes on as usual (non-revertive).
    /// For a driver that restarts and puts the operator's choice back before its members are
    /// up. A later [`Aggregation::choose_active`] replaces it.
    pub fn prefer_active(&mut self, now: Instant, port: PortNumber) -> Result<(), AggError> {
        if self.lacp.port(port).is_none() {
            return Err(AggError::NoSuchPort(port));
        }
        if self.dist.config().mode != lagd_distrib::Mode::ActiveBackup {
            return Err(AggError::NotActiveBackup);
        }
        self.preferred_active = Some(port);
        self.sync(now);
        Ok(())
    }

    /// Whether `port` may carry the traffic of an active-backup aggregation now.
    fn can_be_active(&self, port: PortNumber) -> bool {
        self.dist_ports.contains(&port)
            && !self.leaving.contains(&port)
            && !self.disabled.contains(&port)
            && !self.draining.contains(&port)
    }

    /// The preferred active member ([`Aggregation::prefer_active`]) takes the traffic once it
    /// can (and once no move is under way); forgotten when done, or when it left.
    fn apply_preferred_active(&mut self, now: Instant) {
        let Some(port) = self.preferred_active else {
            return;
        };
        if self.lacp.port(port).is_none() {
            self.preferred_active = None;
            return;
        }
        if !self.can_be_active(port) {
            return;
        }
        if self.dist.active() == Some(port) {
            self.preferred_active = None;
            return;
        }
        if self.dist.choose_active(now, port) {
            self.preferred_active = None;
            self.pump_markers(now);
        }
    }

    /// Where the frames of conversation `key` go now (`lagctl show-hash`): the data path's own
    /// hash, bucket and bucket table.
    pub fn place(&self, key: &lagd_distrib::FlowKey) -> lagd_distrib::Placement {
        self.dist.place(key)
    }

    /// The carrier (and speed, duplex) of a member changed.
    pub fn handle_link(&mut self, now: Instant, port: PortNumber, link: LinkStatus) {
        self.lacp.handle_link(now, port, link);
        self.sync(now);
    }

    /// The Frame Collector: a frame received on member `port`.
    pub fn handle_port_frame(&mut self, now: Instant, port: PortNumber, frame: &[u8]) -> RxVerdict {
        let verdict = if SlowFrame::is_slow_protocols(frame) {
            // Malformed PDUs are counted by LACP (illegal_rx / unknown_rx) and dropped there.
            let _ = self.lacp.handle_frame(now, port, frame);
            if let (
                Some(a),
                Ok(SlowFrame {
                    pdu: SlowPdu::Lacp(pdu),
                    ..
                }),
            ) = (self.activity.get_mut(&port), SlowFrame::parse(frame))
                && pdu.actor.system != self.lacp.config().system
            {
                a.record(now, pdu.actor);
            }
            self.sync(now);
            RxVerdict::Control
        } else if self.lacp.port(port).is_none() {
            RxVerdict::Drop(RxDrop::UnknownPort)
        } else if self.lacp.is_collecting(port) {
            RxVerdict::Deliver
        } else {
            RxVerdict::Drop(RxDrop::NotCollecting)
        };
        self.collector.count(verdict);
        verdict
    }

    /// The Frame Collector with the switch-independent balancer's receive filter: as
    /// [`Aggregation::handle_port_frame`] for a data frame, and in `transmit-lb` /
    /// `adaptive-lb` each frame reaches the aggregate once (see [`crate::alb`]); its
    /// destination may be rewritten to the aggregate's MAC. Slow Protocols frames go to
    /// [`Aggregation::handle_port_frame`].
    pub fn filter_port_frame(
        &mut self,
        now: Instant,
        port: PortNumber,
        frame: &mut [u8],
    ) -> RxVerdict {
        let verdict = if self.lacp.port(port).is_none() {
            RxVerdict::Drop(RxDrop::UnknownPort)
        } else if !self.lacp.is_collecting(port) {
            RxVerdict::Drop(RxDrop::NotCollecting)
        } else {
            match self
                .alb
                .as_mut()
                .map(|a| a.handle_member_frame(now, port, frame))
            {
                Some(AlbRx::Drop(why)) => RxVerdict::Drop(RxDrop::Balancer(why)),
                Some(AlbRx::Deliver) | None => RxVerdict::Deliver,
            }
        };
        self.collector.count(verdict);
        verdict
    }

    /// Whether received data frames must pass [`Aggregation::filter_port_frame`] (a
    /// switch-independent mode) rather than only the Collecting check.
    pub fn filters_port_frames(&self) -> bool {
        self.alb.is_some()
    }

    /// A host frame about to leave on member `port` (as the distributor decided, now or when
    /// it released the frame): in a switch-independent mode the balancer may rewrite its
    /// source MAC (or the ARP / Neighbour Advertisement it carries) and choose another member
    /// for it; returns the member to send it on. Other modes: `port`.
    pub fn prepare_host_frame(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        port: PortNumber,
    ) -> PortNumber {
        match self.alb.as_mut() {
            Some(a) => {
                let p = a.handle_host_frame(now, frame, port);
                self.drain_alb();
                p
            }
            None => port,
        }
    }

    /// The aggregate's own addresses as configured on the host (the daemon reads them from the
    /// kernel, the simulator from its scenario): in a switch-independent mode they are
    /// announced on the receive member when it changes, and new ones at once (see
    /// [`Alb::set_local_addresses`]). Other modes: nothing.
    pub fn set_local_addresses(&mut self, now: Instant, addrs: &[std::net::IpAddr]) {
        if let Some(a) = self.alb.as_mut() {
            a.set_local_addresses(now, addrs);
            self.drain_alb();
        }
    }

    /// Bytes the kernel fast path delivered from peer `ip` (switch-independent modes): added
    /// to the balancer's measure of the peer's load ([`Alb::account_received`]).
    pub fn account_peer_received(&mut self, ip: std::net::IpAddr, bytes: u64) {
        if let Some(a) = self.alb.as_mut() {
            a.account_received(ip, bytes);
        }
    }

    /// The switch-independent balancer, for observation.
    pub fn alb(&self) -> Option<&Alb> {
        self.alb.as_ref()
    }

    /// The Frame Distributor: a frame the host sends through the aggregate.
    pub fn handle_host_frame(&mut self, now: Instant, frame: &[u8], item: F) -> Dispatch<F> {
        let d = self.dist.handle_frame(now, frame, item);
        self.pump_markers(now);
        d
    }

    /// As [`Aggregation::handle_host_frame`] when the caller already computed the flow hash.
    pub fn handle_host_hashed(
        &mut self,
        now: Instant,
        hash: u32,
        len: usize,
        item: F,
    ) -> Dispatch<F> {
        let d = self.dist.handle_hashed(now, hash, len, item);
        self.pump_markers(now);
        d
    }

    /// Whether frames also leave by another path counted only later (lagd's kernel fast
    /// path): see [`Distributor::set_other_sender`].
    pub fn set_other_sender(&mut self, on: bool) {
        self.dist.set_other_sender(on);
    }

    /// Whether the caller reports when each Marker frame leaves its port
    /// ([`Aggregation::handle_marker_departed`]): see [`Distributor::set_departure_reports`].
    pub fn set_departure_reports(&mut self, on: bool) {
        self.dist.set_departure_reports(on);
    }

    /// The Marker Information PDU `frame` (a whole Ethernet frame, as sent) left `port` at
    /// `now`: the timeout of the moves it protects counts from now
    /// ([`Distributor::handle_marker_departed`]). Anything else, or a Marker no move awaits,
    /// is ignored.
    pub fn handle_marker_departed(&mut self, now: Instant, port: PortNumber, frame: &[u8]) {
        let Ok(SlowFrame {
            pdu: SlowPdu::Marker(m),
            ..
        }) = SlowFrame::parse(frame)
        else {
            return;
        };
        if m.kind != MarkerKind::Information || m.requester_port != port {
            return;
        }
        let found = self
            .markers
            .iter()
            .find(|(_, (p, id))| *p == port && id.0 == m.transaction_id)
            .map(|(k, _)| *k);
        if let Some(req) = found {
            self.dist.handle_marker_departed(now, req);
            self.pump_markers(now);
        }
    }

    /// Frames of distributor bucket `bucket` sent by another path (lagd's kernel fast path):
    /// see [`Distributor::account_sent`].
    pub fn account_sent(&mut self, bucket: usize, frames: u64, bytes: u64) {
        self.dist.account_sent(bucket, frames, bytes);
    }

    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lacp.handle_timeout(now);
        self.dist.handle_timeout(now);
        if let Some(a) = self.alb.as_mut()
            && a.poll_timeout().is_some_and(|t| now >= t)
        {
            a.handle_timeout(now);
        }
        self.sync(now);
    }

    /// The next control frame (LACPDU, Marker Information, Marker Response) to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.lacp.poll_transmit(now).or_else(|| {
            let t = self.alb.as_mut()?.poll_transmit()?;
            Some(Transmit {
                port: t.port,
                frame: t.frame,
            })
        })
    }

    /// The next data frame released after a marker-protected move, with its new port.
    ///
    /// The distributor asks for the Marker of a further move only once every released frame has
    /// been handed out (so a Marker never overtakes them); when the releases run dry, this asks
    /// for those Markers at once, and they come out of the next [`Aggregation::poll_transmit`].
    pub fn poll_release(&mut self) -> Option<(PortNumber, F)> {
        let r = self.dist.poll_release();
        if r.is_none() {
            self.pump_markers(self.last_now);
        }
        r
    }

    /// Whether a frame handler of the switch-independent balancer set an earlier deadline since
    /// the last call (a flag: cheap on per-frame paths); then [`Aggregation::poll_timeout`]
    /// must be looked at again.
    pub fn take_wake(&mut self) -> bool {
        self.alb.as_mut().is_some_and(Alb::take_wake)
    }

    /// Whether events wait in [`Aggregation::poll_event`].
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<AggEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`Aggregation::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.lacp.poll_timeout(),
            self.dist.poll_timeout(),
            self.marker_retry_at,
            self.alb.as_ref().and_then(Alb::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the aggregate is up (min-links met, or in fallback).
    pub fn is_up(&self) -> bool {
        self.lacp.is_up()
    }

    /// Whether member `port` is Collecting (frames from it reach the aggregate).
    pub fn is_collecting(&self, port: PortNumber) -> bool {
        self.lacp.is_collecting(port)
    }

    /// The ports a broadcast frame goes out of.
    pub fn broadcast_ports(&self) -> Vec<PortNumber> {
        let mut v = self.dist.ports().to_vec();
        v.retain(|p| !self.leaving.contains(p));
        v
    }

    /// LACP control, for observation.
    pub fn lacp(&self) -> &Lacp {
        &self.lacp
    }

    /// The distributor, for observation.
    pub fn distributor(&self) -> &Distributor<F> {
        &self.dist
    }

    /// Frame Collector counters.
    pub fn collector(&self) -> CollectorCounters {
        self.collector
    }

    /// Everything observable, serialisable.
    pub fn status(&self) -> AggregationStatus {
        AggregationStatus {
            lacp: self.lacp.status(),
            distributor: self.dist.stats(),
            collector: self.collector,
            draining: self.draining.iter().copied().collect(),
            up: self.lacp.is_up(),
            activity: self.activity.values().cloned().collect(),
            at: self.last_now,
            active_member: match self.dist.config().mode {
                lagd_distrib::Mode::ActiveBackup => self.dist.active(),
                _ => None,
            },
            alb: self.alb.as_ref().map(Alb::status),
            disabled: self.disabled.iter().copied().collect(),
        }
    }

    /// Brings the distributor in line with LACP, routes marker traffic between them, and
    /// collects their events. Called after every input.
    pub(crate) fn sync(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        // Several rounds: a LACP change can make the distributor request markers, whose
        // responses (already received) complete moves, and so on. Bounded.
        for _ in 0..4 {
            let mut changed = false;
            while let Some(ev) = self.lacp.poll_event() {
                changed |= self.on_lacp_event(now, &ev);
                self.events.push_back(AggEvent::Lacp(ev));
            }
            changed |= self.set_dist_ports(now);
            changed |= self.pump_markers(now);
            if !changed {
                break;
            }
        }
        self.apply_preferred_active(now);
        self.sync_alb(now);
    }

    /// Gives the balancer the distributing members (not those leaving) with their MACs, and
    /// collects its events.
    fn sync_alb(&mut self, now: Instant) {
        let Some(a) = self.alb.as_mut() else {
            return;
        };
        let members: Vec<AlbMember> = self
            .dist_ports
            .iter()
            .filter(|p| !self.leaving.contains(p))
            .filter_map(|p| {
                Some(AlbMember {
                    port: *p,
                    mac: *self.macs.get(p)?,
                })
            })
            .collect();
        a.set_members(now, &members);
        self.drain_alb();
    }

    fn drain_alb(&mut self) {
        if let Some(a) = self.alb.as_mut() {
            while let Some(ev) = a.poll_event() {
                self.events.push_back(AggEvent::Alb(ev));
            }
        }
    }

    /// Tells the distributor which ports distribute. A port that stopped Distributing while its
    /// link is up leaves under Marker protection (issue 11, defect 4): it stays a member,
    /// draining, until [`DistEvent::Drained`]. Only a dead link, or a port with nowhere for its
    /// conversations to go, or a distributor without move protection, leaves at once.
    /// Returns whether anything changed.
    fn set_dist_ports(&mut self, now: Instant) -> bool {
        let lacp_ports = self.lacp.distributing_ports();
        let mut ports = lacp_ports.clone();
        ports.retain(|p| !self.disabled.contains(p));
        let graceful = !ports.is_empty() && self.dist.protects_moves();
        let link_up = |lacp: &Lacp, p: PortNumber| lacp.port_link(p).is_some_and(|l| l.up);
        // Those back in distribution stop draining (unless an administrator drains them).
        let back: Vec<PortNumber> = self
            .leaving
            .iter()
            .copied()
            .filter(|p| ports.contains(p))
            .collect();
        for p in back {
            self.leaving.remove(&p);
            if !self.draining.contains(&p) {
                self.dist.undrain_port(now, p);
            }
        }
        let lacp = &self.lacp;
        self.leaving
            .retain(|p| graceful && link_up(lacp, *p) && !ports.contains(p));
        let newly: Vec<PortNumber> = self
            .dist_ports
            .iter()
            .copied()
            .filter(|p| {
                graceful && !ports.contains(p) && !self.leaving.contains(p) && link_up(lacp, *p)
            })
            .collect();
        if !newly.is_empty() {
            self.leaving.extend(newly.iter().copied());
            // Disabled by the operator only: paced like the distributor's own moves.
            let paced: Vec<PortNumber> = newly
                .iter()
                .copied()
                .filter(|p| lacp_ports.contains(p))
                .collect();
            self.dist.drain_ports(now, &paced);
        }
        // Those LACP no longer lets distribute carry nothing more: their moves do not wait.
        let dist = &self.dist;
        let urgent: Vec<PortNumber> = self
            .leaving
            .iter()
            .copied()
            .filter(|p| !lacp_ports.contains(p) && !dist.leaving().contains(p))
            .collect();
        if !urgent.is_empty() {
            self.dist.leave_ports(now, &urgent);
        }
        // Leaving ports last: never preferred (active-backup takes the first).
        ports.extend(self.dist_ports.iter().filter(|p| self.leaving.contains(p)));
        if ports == self.dist_ports {
            return false;
        }
        self.dist.set_ports(now, &ports);
        self.dist_ports = ports;
        true
    }

    /// Returns whether anything happened.
    fn on_lacp_event(&mut self, now: Instant, ev: &Event) -> bool {
        match &ev.kind {
            EventKind::MarkerResponse { id } => {
                let found = self
                    .markers
                    .iter()
                    .find(|(_, (p, m))| Some(*p) == ev.port && m == id)
                    .map(|(k, _)| *k);
                if let Some(req) = found {
                    self.markers.remove(&req);
                    self.dist.handle_marker_response(now, req);
                    return true;
                }
                false
            }
            EventKind::MarkerTimeout { id } => {
                // The distributor runs its own timeout; forget the transaction.
                self.markers
                    .retain(|_, (p, m)| !(Some(*p) == ev.port && m == id));
                false
            }
            _ => false,
        }
    }

    /// Turns distributor marker requests into Marker PDUs and distributor events into ours.
    fn pump_markers(&mut self, now: Instant) -> bool {
        self.last_now = self.last_now.max(now);
        let mut any = false;
        let mut retry = VecDeque::new();
        if self.marker_retry_at.is_some_and(|t| now >= t) {
            self.marker_retry_at = None;
            retry = core::mem::take(&mut self.marker_retry);
        }
        while let Some(req) = retry
            .pop_front()
            .or_else(|| self.dist.poll_marker_request())
        {
            any = true;
            match self.lacp.send_marker(now, req.port) {
                Ok(id) => {
                    self.markers.insert(req.id, (req.port, id));
                }
                // Too many slow-protocols frames on that port this second: frames may still be
                // in flight there, so the move must wait for a Marker; try again shortly.
                Err(MarkerError::RateLimited(_)) => {
                    self.marker_retry.push_back(req);
                    self.marker_retry_at = Some(now + MARKER_RETRY);
                }
                // The port cannot send (gone or down): nothing sent on it can still arrive,
                // so the move may complete at once.
                Err(_) => self.dist.handle_marker_response(now, req.id),
            }
        }
        while let Some(ev) = self.dist.poll_event() {
            any = true;
            if let DistEvent::Drained { port } = ev {
                if self.draining.remove(&port) {
                    self.events.push_back(AggEvent::Drained { port });
                }
                if self.leaving.remove(&port) {
                    // Its last move completed: nothing of ours is in flight there any more.
                    self.dist_ports.retain(|p| *p != port);
                    self.dist.set_ports(now, &self.dist_ports);
                }
            }
            self.events.push_back(AggEvent::Dist(ev));
        }
        any
    }
}
