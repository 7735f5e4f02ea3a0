//! [`Dt`]: one switch of a DT domain. It runs, with no I/O, the machines that make two
//! switches one LACP partner:
//!
//! * **peer discovery and liveness** over two independent paths: the peer link (DRCP's IPP,
//!   periodic PDUs, current_while-style expiry, §9.4.11) and the keepalive;
//! * **roles**: primary/secondary by role priority, then system MAC;
//! * **pairing state** ([`PeerState`]): healthy (`Up`), `Alone` (peer dead or never seen),
//!   `SplitBrain` (peer link down, keepalive alive), with a hold state in between;
//! * **configuration exchange and consistency check** of each DT aggregation;
//! * **member state exchange** (Home Ports Info);
//! * **MAC synchronisation** ([`crate::MacUpdate`]);
//! * and, per DT aggregation, the [`Decision`] the daemon applies.

mod admission;
mod install;

use crate::auth::sign;
use crate::consistency::compare;
use crate::freshness::{Echo, Freshness};
use crate::mac_sync::{MacKey, MacSync, ORPHAN};
use crate::neigh_sync::{NeighSync, NeighUpdate};
use crate::pdu::{
    AggrConfigInfo, AuthInfo, DomainInfo, DrcpState, DtPduRepr, HomePortsInfo, ICV_LEN,
    NEIGH_ENTRY_LEN, PortalInfo, SequenceInfo,
};
use crate::role::elect;
use crate::timers::{Timer, TimerTable};
use crate::tlv::TLV_HEADER_LEN;
use crate::{
    ConfigDiff, DT_GROUP_ADDR, Decision, DownReason, DtAggrConfig, DtAggrStatus, DtConfig,
    DtConfigError, DtCounters, DtEvent, DtEventKind, DtFrame, DtPath, DtStatus, DtWireError,
    LocalMembers, MAX_AGGREGATIONS, MacSyncStatus, MacTarget, MacUpdate, NeighSyncStatus, PeerInfo,
    PeerSecurity, PeerState, Refusal, Role, SECONDARY_PORT_BASE,
};
use admission::RefusalClass;
use install::Installed;
use lagd_types::{Duration, Instant, MacAddr, PortNumber, SystemId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

/// Largest DT PDU (Ethernet payload) lagd sends.
const MAX_PDU: usize = 1500;
/// Most neighbour entries in one PDU (a pass over 1 000 entries takes 32 PDUs).
const NEIGH_BATCH: usize = 32;

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtTransmit {
    /// Which path.
    pub path: DtPath,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

#[derive(Clone, Debug)]
struct AggrState {
    cfg: DtAggrConfig,
    local: LocalMembers,
    peer_cfg: Option<AggrConfigInfo>,
    peer_members: Option<HomePortsInfo>,
    /// Whether the peer's half forwarded (had live members) when the peer was last heard;
    /// kept while the peer is silent: a hung or frozen switch's kernel data plane may still
    /// deliver to it (see [`Dt::decide`]).
    peer_delivered: bool,
    diffs: Vec<ConfigDiff>,
    decision: Decision,
}

impl AggrState {
    fn info(&self) -> AggrConfigInfo {
        AggrConfigInfo {
            aggr: self.cfg.id,
            system: self.cfg.system,
            key: self.cfg.key,
            lacp_mode: crate::config::activity_code(self.cfg.lacp_mode),
            lacp_timer: crate::config::timeout_code(self.cfg.lacp_timer),
            mtu: self.cfg.mtu,
            speed_mbps: self.cfg.speed_mbps,
        }
    }

    fn home_ports(&self) -> HomePortsInfo {
        HomePortsInfo {
            aggr: self.cfg.id,
            admin_key: self.cfg.key,
            oper_partner_key: self.local.partner_key,
            partner_system: self.local.partner,
            active_ports: self
                .local
                .live
                .iter()
                .take(crate::pdu::MAX_HOME_PORTS)
                .map(|p| p.wrapping_add(self.decision.port_number_base))
                .collect(),
        }
    }

    fn peer_live(&self) -> usize {
        self.peer_members
            .as_ref()
            .map_or(0, |m| m.active_ports.len())
    }
}

/// One switch of a DT domain.
#[derive(Clone, Debug)]
pub struct Dt {
    cfg: DtConfig,
    aggrs: BTreeMap<u16, AggrState>,
    peer: Option<PeerInfo>,
    /// The peer as the keepalive names it (role priority, MAC).
    ka_peer: Option<(u16, MacAddr)>,
    pl_alive: bool,
    pl_two_way: bool,
    pl_carrier: bool,
    pl_down_at: Instant,
    peer_cfg_known: bool,
    burst: Option<BTreeSet<u16>>,
    ka_alive: bool,
    ka_last_rx: Option<Instant>,
    init_expired: bool,
    hold_expired: bool,
    /// The pending state was entered from `Up` (not from `Alone`).
    pending_from_up: bool,
    state: PeerState,
    role: Role,
    port_base: u16,
    timers: TimerTable,
    events: VecDeque<DtEvent>,
    transmits: VecDeque<DtTransmit>,
    mac_updates: VecDeque<MacUpdate>,
    installed: Installed,
    mac: MacSync,
    /// ARP and IPv6 ND sync.
    neigh: NeighSync,
    /// Changes to the neighbour entries installed for the peer, not yet polled.
    neigh_updates: VecDeque<NeighUpdate>,
    ntt: bool,
    counters: DtCounters,
    /// A switch of another DT domain heard on the peer link or the keepalive: the two were
    /// cabled as a pair but configured with different domain ids.
    foreign: Option<ForeignPeer>,
    /// `foreign` was heard within the peer timeout (updated on every input).
    foreign_live: bool,
    /// Frame number of the last frame sent (both paths).
    tx_seq: u64,
    /// Replay protection of the peer's frames.
    fresh: Freshness,
    /// What this switch echoes of the peer's numbers.
    echo: Echo,
    /// The peer identity held: configured, or the first the pair formed with.
    pinned: Option<MacAddr>,
    /// The last keepalive was sent after the last PDU the peer link delivered (by frame
    /// number): only such a keepalive proves the peer outlived the peer link.
    ka_after_pl: bool,
    /// When each refusal counter last produced an event, per path.
    refusal_events: [Option<Instant>; 2 * RefusalClass::COUNT],
    /// The last frame refused.
    last_refused: Option<Refusal>,
    /// When an unconfirmed frame was last answered, per path.
    reply_at: [Option<Instant>; 2],
    /// Per path (peer link, keepalive): the current silence already had its one extra
    /// timeout because this switch was not running when it should have expired (see
    /// [`Dt::handle_timeout`]). Cleared by the next frame used from that path.
    stall_grace: [bool; 2],
}

/// A switch of another DT domain heard where the peer should be.
#[derive(Clone, Copy, Debug)]
struct ForeignPeer {
    domain_id: u32,
    mac: MacAddr,
    role_priority: u16,
    until: Instant,
    /// Its epoch and last frame number (a frame must be newer to count again).
    epoch: u64,
    seq: u64,
}

impl Dt {
    /// A switch starting at `now`: DT ports held down (state `Init`) until the peer is found
    /// or `init_delay` passes. The first PDU and keepalive go out at once.
    pub fn new(now: Instant, cfg: DtConfig) -> Result<Dt, DtConfigError> {
        cfg.validate()?;
        let mut timers = TimerTable::default();
        timers.start(Timer::PeerTx, now, Duration::ZERO);
        if cfg.keepalive {
            timers.start(Timer::KeepaliveTx, now, Duration::ZERO);
        }
        timers.start(Timer::InitDelay, now, cfg.init_delay);
        Ok(Dt {
            mac: MacSync::new(cfg.incarnation, cfg.mac_limit),
            neigh: NeighSync::new(cfg.mac_limit),
            neigh_updates: VecDeque::new(),
            pinned: cfg.peer_mac,
            cfg,
            aggrs: BTreeMap::new(),
            peer: None,
            ka_peer: None,
            pl_alive: false,
            pl_two_way: false,
            pl_carrier: true,
            pl_down_at: now,
            peer_cfg_known: false,
            burst: None,
            ka_alive: false,
            ka_last_rx: None,
            init_expired: false,
            hold_expired: false,
            pending_from_up: false,
            state: PeerState::Init,
            role: Role::Primary,
            port_base: 0,
            timers,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            mac_updates: VecDeque::new(),
            installed: Installed::default(),
            ntt: false,
            counters: DtCounters::default(),
            foreign: None,
            foreign_live: false,
            tx_seq: 0,
            fresh: Freshness::default(),
            echo: Echo::default(),
            ka_after_pl: false,
            refusal_events: [None; 2 * RefusalClass::COUNT],
            last_refused: None,
            reply_at: [None; 2],
            stall_grace: [false; 2],
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DtConfig {
        &self.cfg
    }

    /// The pairing state.
    pub fn state(&self) -> PeerState {
        self.state
    }

    /// This switch's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The port number base in force.
    pub fn port_base(&self) -> u16 {
        self.port_base
    }

    /// The peer as last heard over the peer link.
    pub fn peer(&self) -> Option<PeerInfo> {
        self.peer
    }

    /// The decision for DT aggregation `id`.
    pub fn decision(&self, id: u16) -> Option<Decision> {
        self.aggrs.get(&id).map(|a| a.decision)
    }

    /// Every DT aggregation's decision, by id.
    pub fn decisions(&self) -> Vec<(u16, Decision)> {
        self.aggrs.iter().map(|(i, a)| (*i, a.decision)).collect()
    }

    /// Configuration differences of DT aggregation `id` with the peer.
    pub fn diffs(&self, id: u16) -> Vec<ConfigDiff> {
        self.aggrs
            .get(&id)
            .map(|a| a.diffs.clone())
            .unwrap_or_default()
    }

    /// The peer identity held (configured `peer_mac`, or the first pair formed): frames from
    /// any other Ethernet source are refused before they can change anything.
    pub fn pinned_peer(&self) -> Option<MacAddr> {
        self.pinned
    }

    /// Counters.
    pub fn counters(&self) -> DtCounters {
        self.counters
    }

    /// The peer's addresses installed locally towards the local aggregation (aggregation,
    /// VLAN, MAC).
    pub fn installed_macs(&self) -> Vec<(u16, u16, MacAddr)> {
        self.installed
            .entries
            .iter()
            .filter(|(_, t)| **t == MacTarget::LocalAggregation)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The peer's addresses installed locally towards the peer link.
    pub fn macs_via_peer_link(&self) -> Vec<(u16, u16, MacAddr)> {
        self.installed
            .entries
            .iter()
            .filter(|(_, t)| **t == MacTarget::PeerLink)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Adds a DT aggregation.
    pub fn add_aggregation(
        &mut self,
        now: Instant,
        cfg: DtAggrConfig,
    ) -> Result<(), DtConfigError> {
        cfg.validate()?;
        if self.aggrs.contains_key(&cfg.id) {
            return Err(DtConfigError::Duplicate(cfg.id));
        }
        if self.aggrs.len() >= MAX_AGGREGATIONS {
            return Err(DtConfigError::TooMany);
        }
        let decision = Decision {
            lacp_system: cfg.system,
            port_number_base: self.port_base,
            ports_enabled: false,
            isolate_peer_link: false,
            reason: Some(DownReason::Init),
        };
        self.aggrs.insert(
            cfg.id,
            AggrState {
                cfg,
                local: LocalMembers::default(),
                peer_cfg: None,
                peer_members: None,
                peer_delivered: false,
                diffs: Vec::new(),
                decision,
            },
        );
        self.ntt = true;
        self.update(now);
        Ok(())
    }

    /// Changes a DT aggregation's configuration.
    pub fn set_aggregation(
        &mut self,
        now: Instant,
        cfg: DtAggrConfig,
    ) -> Result<(), DtConfigError> {
        cfg.validate()?;
        let a = self
            .aggrs
            .get_mut(&cfg.id)
            .ok_or(DtConfigError::Unknown(cfg.id))?;
        a.cfg = cfg;
        self.ntt = true;
        self.update(now);
        Ok(())
    }

    /// Removes a DT aggregation (and its learned addresses).
    pub fn remove_aggregation(&mut self, now: Instant, id: u16) -> Result<(), DtConfigError> {
        self.aggrs.remove(&id).ok_or(DtConfigError::Unknown(id))?;
        let gone: Vec<MacKey> = self
            .mac
            .local
            .iter()
            .filter(|k| k.0 == id)
            .copied()
            .collect();
        for k in gone {
            self.mac.local_change(k, false);
        }
        self.ntt = true;
        self.update(now);
        Ok(())
    }

    /// The local members of DT aggregation `id` changed (which are Collecting and
    /// Distributing, which partner they see).
    pub fn handle_members(&mut self, now: Instant, id: u16, members: LocalMembers) {
        let Some(a) = self.aggrs.get_mut(&id) else {
            return;
        };
        if a.local != members {
            a.local = members;
            self.ntt = true;
            self.update(now);
        }
    }

    /// An address was learned (`present`) or aged out on the local DT aggregation `id`, or,
    /// with `id` [`crate::ORPHAN`], on an orphan port (a bridge port of no DT aggregation,
    /// the peer link excepted). Addresses this switch installed for the peer must not be
    /// reported here.
    pub fn handle_local_mac(
        &mut self,
        now: Instant,
        id: u16,
        vlan: u16,
        mac: MacAddr,
        present: bool,
    ) {
        if id != ORPHAN && !self.aggrs.contains_key(&id) {
            return;
        }
        // A change goes out at once only if no batch awaits its acknowledgement (stop and
        // wait): a burst of addresses then leaves in full batches, not a PDU per address.
        if self.mac.local_change((id, vlan, mac), present) && self.mac.active() && self.mac.idle() {
            self.ntt = true;
            self.flush(now);
        }
    }

    /// The local bridge resolved host `ip` to `mac` (ARP or IPv6 ND; `Some`), or its entry is
    /// gone (`None`). Entries this switch installed for the peer must not be reported here.
    /// The peer hears of it in the next slices of this switch's table (one per PDU).
    pub fn handle_local_neighbour(&mut self, _now: Instant, ip: IpAddr, mac: Option<MacAddr>) {
        let mut out = Vec::new();
        self.neigh.local_change(ip, mac, &mut out);
        self.neigh_updates.extend(out);
    }

    /// The next change to the neighbour entries installed for the peer (oldest first).
    pub fn poll_neigh_update(&mut self) -> Option<NeighUpdate> {
        self.neigh_updates.pop_front()
    }

    /// The peer's neighbour entries installed locally (those the local bridge has not
    /// resolved itself).
    pub fn installed_neighbours(&self) -> Vec<(IpAddr, MacAddr)> {
        self.neigh.installed().collect()
    }

    /// Forgets the peer's neighbour entries, removing those installed (DT stops): see
    /// [`Dt::poll_neigh_update`].
    pub fn clear_neighbours(&mut self) {
        let mut out = Vec::new();
        self.neigh.clear(&mut out);
        self.neigh_updates.extend(out);
    }

    /// Carrier of the peer link changed. Carrier loss ends the peer link at once, without
    /// waiting for the peer's information to expire.
    pub fn handle_peer_link_status(&mut self, now: Instant, up: bool) {
        self.pl_carrier = up;
        if !up && self.pl_alive {
            self.peer_link_lost(now);
        }
        if up {
            self.ntt = true;
        }
        self.update(now);
    }

    fn peer_link_lost(&mut self, now: Instant) {
        self.pl_alive = false;
        self.pl_two_way = false;
        self.pl_down_at = now;
        self.burst = None;
        self.peer_cfg_known = false;
        self.timers.stop(Timer::PeerLinkExpire);
        self.emit(now, DtEventKind::PeerLinkChanged { up: false });
    }

    /// A frame arrived on the peer link (EtherType 0x8952). Malformed frames are counted,
    /// reported and refused.
    pub fn handle_peer_frame(&mut self, now: Instant, frame: &[u8]) -> Result<(), DtWireError> {
        let Some(pdu) = self.admit(now, DtPath::PeerLink, frame)? else {
            // A foreign domain's PDU may change decisions (domain mismatch); an unconfirmed
            // one may need an answer. Nothing else a refused frame does reaches here.
            self.refresh_foreign(now);
            self.flush(now);
            return Ok(());
        };
        self.counters.rx_peer += 1;
        self.stall_grace[0] = false;
        let mac = pdu.portal.aggregator_id;
        if self.peer.is_some_and(|p| p.system_mac != mac) {
            // Another switch took the peer's place: forget the old one.
            self.forget_peer(now);
            self.peer_cfg_known = false;
            for a in self.aggrs.values_mut() {
                a.peer_delivered = false;
            }
        }
        self.peer = Some(PeerInfo {
            system_mac: mac,
            role_priority: pdu.portal.aggregator_priority,
            port_base: pdu.domain.port_base,
            state: pdu.state,
        });
        self.timers
            .start(Timer::PeerLinkExpire, now, self.cfg.peer_timeout);
        if !self.pl_alive && self.pl_carrier {
            self.pl_alive = true;
            self.emit(now, DtEventKind::PeerLinkChanged { up: true });
            self.ntt = true;
        }
        let two_way = pdu.domain.neighbor == self.cfg.system_mac;
        if two_way != self.pl_two_way {
            self.pl_two_way = two_way;
            self.ntt = true;
        }
        // Per-aggregation TLVs, judged at the end of a burst.
        let seen = self.burst.get_or_insert_with(BTreeSet::new);
        for c in &pdu.aggr_configs {
            seen.insert(c.aggr);
            if let Some(a) = self.aggrs.get_mut(&c.aggr) {
                a.peer_cfg = Some(*c);
            }
        }
        for h in &pdu.home_ports {
            seen.insert(h.aggr);
            if let Some(a) = self.aggrs.get_mut(&h.aggr) {
                a.peer_delivered = !h.active_ports.is_empty();
                a.peer_members = Some(h.clone());
            }
        }
        if pdu.domain.flags & DomainInfo::MORE == 0 {
            let seen = self.burst.take().unwrap_or_default();
            for (id, a) in &mut self.aggrs {
                if !seen.contains(id) {
                    a.peer_cfg = None;
                    a.peer_members = None;
                    a.peer_delivered = false;
                }
            }
            self.peer_cfg_known = true;
        }
        self.evaluate(now);
        if self.state == PeerState::Up
            && let Some(m) = &pdu.mac_sync
        {
            let (ntt, changes) = self.mac.receive(m);
            self.ntt |= ntt;
            for (k, present) in changes {
                self.installed.apply(k, present, &mut self.mac_updates);
            }
        }
        if self.state == PeerState::Up
            && let Some(n) = &pdu.neigh_sync
        {
            let mut out = Vec::new();
            self.neigh.receive(n, &mut out);
            self.neigh_updates.extend(out);
        }
        self.update(now);
        Ok(())
    }

    /// A frame arrived on the keepalive path.
    pub fn handle_keepalive_frame(
        &mut self,
        now: Instant,
        frame: &[u8],
    ) -> Result<(), DtWireError> {
        let Some(pdu) = self.admit(now, DtPath::Keepalive, frame)? else {
            self.refresh_foreign(now);
            self.flush(now);
            return Ok(());
        };
        self.counters.rx_keepalive += 1;
        self.stall_grace[1] = false;
        // Sent after the last PDU the peer link delivered (the numbers are the sender's, one
        // counter for both paths): this keepalive proves the peer is alive now.
        self.ka_after_pl = pdu
            .sequence
            .is_some_and(|q| q.seq > self.fresh.last(DtPath::PeerLink));
        self.ka_peer = Some((pdu.portal.aggregator_priority, pdu.portal.aggregator_id));
        self.ka_last_rx = Some(now);
        self.timers
            .start(Timer::KeepaliveExpire, now, self.cfg.keepalive_timeout);
        if !self.ka_alive {
            self.ka_alive = true;
            self.emit(now, DtEventKind::KeepaliveChanged { up: true });
        }
        self.update(now);
        Ok(())
    }

    /// Runs the timers due at `now`. Harmless at any time.
    ///
    /// The peer link's and the keepalive's expiry declare the peer silent only for a silence
    /// this switch saw: when such a timer fires later than half its timeout (the switch was
    /// not running: SIGSTOP, a VM paused, a starved process), the frames the peer sent in the
    /// meantime may still be waiting to be read, and a switch that called its peer dead there
    /// would act alone (peer-link isolation off, a second primary) next to a peer that is
    /// alive. Instead the timer restarts for one more timeout, once per silence (counted in
    /// `local_stalls`, with a [`DtEventKind::Stalled`] event); a peer that really died is then
    /// declared dead one timeout later.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (t, late) in self.timers.expire_late(now) {
            match t {
                Timer::PeerTx => {
                    self.ntt = true;
                    self.timers.start(Timer::PeerTx, now, self.cfg.tx_interval);
                }
                Timer::KeepaliveTx => {
                    self.send_keepalive();
                    self.timers
                        .start(Timer::KeepaliveTx, now, self.cfg.keepalive_interval);
                }
                Timer::PeerLinkExpire => {
                    if self.pl_alive && !self.stalled(now, DtPath::PeerLink, late) {
                        self.peer_link_lost(now);
                    }
                }
                Timer::KeepaliveExpire => {
                    if self.ka_alive && !self.stalled(now, DtPath::Keepalive, late) {
                        self.ka_alive = false;
                        self.emit(now, DtEventKind::KeepaliveChanged { up: false });
                    }
                }
                Timer::InitDelay => self.init_expired = true,
                Timer::Hold => self.hold_expired = true,
            }
        }
        self.update(now);
    }

    /// Whether the expiry of `path`, `late` past its deadline, found this switch not
    /// running; if so (once per silence) the expiry restarts for one more timeout.
    fn stalled(&mut self, now: Instant, path: DtPath, late: Duration) -> bool {
        let (i, timer, timeout) = match path {
            DtPath::PeerLink => (0, Timer::PeerLinkExpire, self.cfg.peer_timeout),
            DtPath::Keepalive => (1, Timer::KeepaliveExpire, self.cfg.keepalive_timeout),
        };
        if self.stall_grace[i] || late.as_nanos() <= timeout.as_nanos() / 2 {
            return false;
        }
        self.stall_grace[i] = true;
        self.counters.local_stalls += 1;
        self.timers.start(timer, now, timeout);
        self.emit(now, DtEventKind::Stalled { path, late });
        true
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<DtTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtEvent> {
        self.events.pop_front()
    }

    /// The next change to the peer addresses installed locally.
    pub fn poll_mac_update(&mut self) -> Option<MacUpdate> {
        self.mac_updates.pop_front()
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    fn emit(&mut self, at: Instant, kind: DtEventKind) {
        self.events.push_back(DtEvent { at, kind });
    }

    /// Forgets everything learned from the peer (not its identity).
    fn forget_peer(&mut self, _now: Instant) {
        let _ = self.mac.peer_down();
        self.installed.clear(&mut self.mac_updates);
        for a in self.aggrs.values_mut() {
            a.peer_cfg = None;
            a.peer_members = None;
        }
    }

    /// The pairing state the inputs call for.
    fn next_state(&self) -> PeerState {
        if self.pl_alive && self.pl_two_way && self.peer_cfg_known {
            return PeerState::Up;
        }
        if self.state == PeerState::Init && !self.init_expired {
            return PeerState::Init;
        }
        // Evidence that the peer outlived the peer link: a keepalive received after the peer
        // link failed and sent after its last PDU there (authenticated with a key; never a
        // replay, see `freshness`).
        let ka_fresh = self.ka_alive
            && self.ka_after_pl
            && self.ka_last_rx.is_some_and(|t| t > self.pl_down_at);
        let peer_alive = self.ka_alive || self.pl_alive;
        match self.state {
            // The peer link just failed: a keepalive sent after the failure proves a split
            // brain; silence on both paths means a dead peer; otherwise wait (hold).
            PeerState::Up => {
                if ka_fresh && !self.pl_alive {
                    PeerState::SplitBrain
                } else if peer_alive {
                    PeerState::PeerLinkDown
                } else {
                    PeerState::Alone
                }
            }
            PeerState::PeerLinkDown => {
                if !peer_alive {
                    PeerState::Alone
                } else if (self.pending_from_up && ka_fresh && !self.pl_alive) || self.hold_expired
                {
                    PeerState::SplitBrain
                } else {
                    PeerState::PeerLinkDown
                }
            }
            // A peer heard again while alone may be coming back with its peer link: give the
            // peer link the hold time before calling it a split brain.
            PeerState::Alone => {
                if ka_fresh || self.pl_alive {
                    PeerState::PeerLinkDown
                } else {
                    PeerState::Alone
                }
            }
            PeerState::Init | PeerState::SplitBrain => {
                if ka_fresh || self.pl_alive {
                    PeerState::SplitBrain
                } else {
                    PeerState::Alone
                }
            }
        }
    }

    /// Moves the pairing state and the role.
    fn evaluate(&mut self, now: Instant) {
        // Once the peer link is up, nothing holds it in PeerLinkDown.
        let to = self.next_state();
        let from = self.state;
        if to != from {
            self.state = to;
            self.emit(now, DtEventKind::StateChanged { from, to });
            self.ntt = true;
            match to {
                PeerState::Up => {
                    self.timers.stop(Timer::Hold);
                    self.mac.start_session();
                    if self.pinned.is_none()
                        && let Some(p) = self.peer
                    {
                        self.pinned = Some(p.system_mac);
                        self.emit(now, DtEventKind::PeerPinned { mac: p.system_mac });
                    }
                }
                PeerState::PeerLinkDown => {
                    self.pending_from_up = from == PeerState::Up;
                    self.hold_expired = false;
                    self.timers.start(Timer::Hold, now, self.cfg.peer_timeout);
                }
                PeerState::Alone | PeerState::SplitBrain | PeerState::Init => {
                    self.timers.stop(Timer::Hold);
                    self.forget_peer(now);
                }
            }
        }
        let own = (self.cfg.role_priority, self.cfg.system_mac);
        let role = match self.state {
            PeerState::Up => self.peer.map_or(Role::Primary, |p| {
                elect(own, (p.role_priority, p.system_mac))
            }),
            PeerState::SplitBrain => self
                .ka_peer
                .or(self.peer.map(|p| (p.role_priority, p.system_mac)))
                .map_or(Role::Primary, |p| elect(own, p)),
            PeerState::Alone | PeerState::Init => Role::Primary,
            PeerState::PeerLinkDown => self.role,
        };
        if role != self.role {
            let from = self.role;
            self.role = role;
            self.emit(now, DtEventKind::RoleChanged { from, to: role });
        }
        if self.state == PeerState::Up {
            // The base follows the election while paired; it is sticky otherwise.
            self.port_base = match self.role {
                Role::Primary => 0,
                Role::Secondary => SECONDARY_PORT_BASE,
            };
        }
    }

    fn decide(&self, a: &AggrState) -> Decision {
        let shared = a.cfg.system;
        let own = SystemId::new(shared.priority, self.cfg.system_mac);
        let base = self.port_base;
        let up = |isolate: bool| Decision {
            lacp_system: shared,
            port_number_base: base,
            ports_enabled: true,
            isolate_peer_link: isolate,
            reason: None,
        };
        let down = |system: SystemId, reason: DownReason| Decision {
            lacp_system: system,
            port_number_base: base,
            ports_enabled: false,
            isolate_peer_link: false,
            reason: Some(reason),
        };
        // Cabled as a pair but configured in different DT domains: neither hears the other as
        // its peer, so both would act alone with the shared system id and colliding port
        // numbers. The one that would lose the election gives way, as on a mismatch.
        if self.foreign_live
            && self.state != PeerState::Up
            && let Some(f) = self.foreign
            && elect(
                (self.cfg.role_priority, self.cfg.system_mac),
                (f.role_priority, f.mac),
            ) == Role::Secondary
        {
            return down(own, DownReason::DomainMismatch);
        }
        match self.state {
            PeerState::Init => down(shared, DownReason::Init),
            // The peer fell silent. Isolation stays where its half was forwarding when last
            // heard: a switch whose lagd hangs or is frozen (SIGSTOP, a paused VM) keeps
            // forwarding in its kernel (bridge, fast path) with its FDB, and when it resumes its
            // LACP may bring the half back (and flood a frame or two, its FDB flushed by the
            // flap) before its first PDU tells this switch: a frame it floods over the peer link
            // must not reach the host a second time from here. A peer that really died sends
            // nothing over the peer link, so the filter costs nothing; a new peer identity or
            // the peer's next report clears it.
            PeerState::Alone => up(a.peer_delivered),
            // Isolation follows the peer's half alone, whatever this switch's half does: while
            // this half has no live member the filter costs nothing (nothing leaves through
            // it), and when a member comes up this switch's data plane delivers through it at
            // once, before the core hears of it (the runtime reports members on its next
            // turn); a frame the peer flooded over the peer link in that moment, already
            // delivered by the peer's half, must meet the filter already on.
            PeerState::Up => {
                if self.role == Role::Secondary && !a.diffs.is_empty() {
                    down(shared, DownReason::Mismatch)
                } else {
                    up(a.peer_live() > 0)
                }
            }
            // Held, isolation included: the peer may still be forwarding to its own members
            // (the peer link failed, the peer's PDUs stopped while its kernel forwards, or the
            // peer is re-learning this switch after this switch was frozen), and a frame it
            // floods over the peer link must not reach the server twice. With the peer link
            // down nothing arrives over it anyway.
            PeerState::PeerLinkDown => a.decision,
            PeerState::SplitBrain => match self.role {
                Role::Primary => up(false),
                Role::Secondary => down(own, DownReason::SplitBrain),
            },
        }
    }

    /// Whether the domain-mismatch evidence is still live; re-decides if that changed.
    fn refresh_foreign(&mut self, now: Instant) {
        let live = self.foreign.is_some_and(|f| now < f.until);
        if live != self.foreign_live {
            self.update(now);
        }
    }

    /// Re-evaluates everything after an input, then sends what is due.
    fn update(&mut self, now: Instant) {
        self.evaluate(now);
        let live = self.foreign.is_some_and(|f| now < f.until);
        if !live {
            self.foreign = None;
        }
        self.foreign_live = live;
        // Consistency (only meaningful while paired).
        let paired = self.state == PeerState::Up;
        let mut evs = Vec::new();
        for (id, a) in &mut self.aggrs {
            let diffs = if paired {
                let pp = a
                    .peer_members
                    .as_ref()
                    .map_or(SystemId::NULL, |m| m.partner_system);
                compare(&a.info(), a.peer_cfg.as_ref(), (a.local.partner, pp))
            } else {
                Vec::new()
            };
            if diffs != a.diffs {
                if diffs.is_empty() {
                    if paired {
                        evs.push(DtEventKind::Consistent { aggr: *id });
                    }
                } else {
                    evs.push(DtEventKind::Mismatch {
                        aggr: *id,
                        diffs: diffs.clone(),
                    });
                }
                a.diffs = diffs;
            }
        }
        for e in evs {
            self.emit(now, e);
        }
        // Decisions.
        let mut changed = Vec::new();
        for (id, a) in &self.aggrs {
            let d = self.decide(a);
            if d != a.decision {
                changed.push((*id, d));
            }
        }
        for (id, d) in changed {
            if let Some(a) = self.aggrs.get_mut(&id) {
                a.decision = d;
            }
            self.ntt = true;
            self.emit(
                now,
                DtEventKind::DecisionChanged {
                    aggr: id,
                    decision: d,
                },
            );
        }
        self.update_installed();
        self.flush(now);
    }

    /// Points the peer's addresses at the local aggregation when it forwards locally, at the
    /// peer link while the pair is up and it does not (orphan-port addresses always), removes
    /// them otherwise. Only aggregations whose mode changed are walked.
    fn update_installed(&mut self) {
        let up = self.state == PeerState::Up;
        let modes: Vec<(u16, Option<MacTarget>)> = self
            .aggrs
            .iter()
            .map(|(id, a)| {
                let mode = if a.decision.ports_enabled && !a.local.live.is_empty() {
                    Some(MacTarget::LocalAggregation)
                } else if up {
                    Some(MacTarget::PeerLink)
                } else {
                    None
                };
                (*id, mode)
            })
            .chain([(ORPHAN, up.then_some(MacTarget::PeerLink))])
            .collect();
        for (id, mode) in modes {
            self.installed
                .set_mode(id, mode, &self.mac, &mut self.mac_updates);
        }
        let aggrs = &self.aggrs;
        self.installed.retain_modes(
            |a| a == ORPHAN || aggrs.contains_key(&a),
            &self.mac,
            &mut self.mac_updates,
        );
    }

    fn drcp_state(&self) -> DrcpState {
        let mut s = DrcpState::default();
        s.set(
            DrcpState::HOME_GATEWAY,
            self.aggrs.values().any(|a| a.decision.ports_enabled),
        );
        s.set(
            DrcpState::NEIGHBOR_GATEWAY,
            self.peer
                .is_some_and(|p| p.state.get(DrcpState::HOME_GATEWAY))
                && self.state == PeerState::Up,
        );
        s.set(DrcpState::IPP_ACTIVITY, self.pl_alive);
        s.set(
            DrcpState::DRCP_TIMEOUT,
            self.cfg.tx_interval <= Duration::from_secs(1),
        );
        s.set(DrcpState::GATEWAY_SYNC, self.mac.synced());
        s.set(
            DrcpState::PORT_SYNC,
            self.state == PeerState::Up && self.aggrs.values().all(|a| a.diffs.is_empty()),
        );
        s.set(DrcpState::EXPIRED, !self.pl_alive && self.peer.is_some());
        s
    }

    fn base_pdu(&self, flags: u8) -> DtPduRepr {
        DtPduRepr {
            portal: PortalInfo {
                aggregator_priority: self.cfg.role_priority,
                aggregator_id: self.cfg.system_mac,
                portal_priority: self.cfg.default_system.priority,
                portal_addr: self.cfg.default_system.addr,
            },
            state: self.drcp_state(),
            domain: DomainInfo {
                domain_id: self.cfg.domain_id,
                flags,
                port_base: self.port_base,
                neighbor: match self.peer {
                    Some(p) if self.pl_alive => p.system_mac,
                    _ => MacAddr::ZERO,
                },
            },
            sequence: Some(SequenceInfo {
                epoch: self.cfg.epoch,
                seq: 0, // numbered when sent
                echo_epoch: self.echo.epoch,
                echo_seq: self.echo.seq,
            }),
            auth: self.cfg.key.as_ref().map(|k| AuthInfo {
                algorithm: AuthInfo::HMAC_SHA256,
                key_id: k.id(),
                icv: [0; ICV_LEN], // computed when sent
            }),
            ..DtPduRepr::default()
        }
    }

    fn push_frame(&mut self, path: DtPath, mut pdu: DtPduRepr) {
        self.tx_seq += 1;
        if let Some(q) = pdu.sequence.as_mut() {
            q.seq = self.tx_seq;
        }
        let f = DtFrame {
            dst: DT_GROUP_ADDR,
            src: self.cfg.system_mac,
            pdu,
        };
        // Sizes are bounded by construction; a refusal would be a bug, and is dropped.
        if let Ok(mut frame) = f.to_vec() {
            if let Some(k) = &self.cfg.key {
                sign(&mut frame, k);
            }
            match path {
                DtPath::PeerLink => self.counters.tx_peer += 1,
                DtPath::Keepalive => self.counters.tx_keepalive += 1,
            }
            self.transmits.push_back(DtTransmit { path, frame });
        }
    }

    fn send_keepalive(&mut self) {
        let pdu = self.base_pdu(DomainInfo::KEEPALIVE);
        self.push_frame(DtPath::Keepalive, pdu);
    }

    /// Sends the peer-link PDU burst if NTT is set.
    fn flush(&mut self, _now: Instant) {
        if !self.ntt {
            return;
        }
        self.ntt = false;
        if !self.pl_carrier {
            return;
        }
        let mut first = self.base_pdu(0);
        first.mac_sync = self.mac.tlv(self.cfg.mac_batch);
        let mut chunks = vec![first];
        for a in self.aggrs.values() {
            let hp = a.home_ports();
            let cfg = a.info();
            let add = 2 + 14 + 2 * hp.active_ports.len() + 2 + 22;
            let fits = chunks
                .last()
                .is_some_and(|c| c.buffer_len() + add <= MAX_PDU);
            if !fits {
                chunks.push(self.base_pdu(0));
            }
            if let Some(c) = chunks.last_mut() {
                c.home_ports.push(hp);
                c.aggr_configs.push(cfg);
            }
        }
        let neigh = self.neigh.tlv(NEIGH_BATCH);
        let add = TLV_HEADER_LEN + 1 + NEIGH_ENTRY_LEN * neigh.entries.len();
        if chunks.last().is_none_or(|c| c.buffer_len() + add > MAX_PDU) {
            chunks.push(self.base_pdu(0));
        }
        if let Some(c) = chunks.last_mut() {
            c.neigh_sync = Some(neigh);
        }
        let n = chunks.len();
        for (i, mut c) in chunks.into_iter().enumerate() {
            if i + 1 < n {
                c.domain.flags |= DomainInfo::MORE;
            }
            self.push_frame(DtPath::PeerLink, c);
        }
    }

    /// Everything, serializable.
    pub fn status(&self) -> DtStatus {
        DtStatus {
            domain_id: self.cfg.domain_id,
            system_mac: self.cfg.system_mac,
            role_priority: self.cfg.role_priority,
            state: self.state,
            role: self.role,
            port_base: self.port_base,
            peer: self.peer,
            peer_link_up: self.pl_alive,
            keepalive_up: self.ka_alive,
            foreign_domain: self
                .foreign
                .filter(|_| self.foreign_live)
                .map(|f| f.domain_id),
            drcp_state: self.drcp_state(),
            aggregations: self
                .aggrs
                .values()
                .map(|a| DtAggrStatus {
                    config: a.cfg.clone(),
                    local: a.local.clone(),
                    peer_live: a
                        .peer_members
                        .as_ref()
                        .map(|m| m.active_ports.clone())
                        .unwrap_or_default(),
                    peer_partner: a
                        .peer_members
                        .as_ref()
                        .map_or(SystemId::NULL, |m| m.partner_system),
                    diffs: a.diffs.clone(),
                    decision: a.decision,
                })
                .collect(),
            macs_local: self.mac.local.len(),
            macs_peer: self.mac.peer.len(),
            macs_installed: self.installed.entries.len(),
            macs_via_peer_link: self.installed.via_peer_link(),
            macs_synced: self.mac.synced(),
            mac_sync: MacSyncStatus {
                limit: self.mac.limit(),
                full: self.mac.full,
                overflow: self.mac.overflow,
                local_dropped: self.mac.local_dropped,
                stale: self.mac.stale.len(),
            },
            neighbours: NeighSyncStatus {
                local: self.neigh.local_len(),
                peer: self.neigh.peer_len(),
                installed: self.neigh.installed().count(),
                overflow: self.neigh.overflow,
                local_dropped: self.neigh.local_dropped,
            },
            security: PeerSecurity {
                pinned: self.pinned,
                pinned_by_config: self.cfg.peer_mac.is_some(),
                key_id: self.cfg.key.as_ref().map(|k| k.id()),
                peer_epoch: self.fresh.epoch(),
                last_refused: self.last_refused,
            },
            counters: self.counters,
        }
    }

    /// The local port numbers of DT aggregation `id` as LACP must number them.
    pub fn lacp_port_number(&self, id: u16, local: PortNumber) -> Option<PortNumber> {
        self.aggrs
            .get(&id)
            .map(|a| local.wrapping_add(a.decision.port_number_base))
    }
}
