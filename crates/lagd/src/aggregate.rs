//! One running aggregation: its members (taken over), its TAP and forwarder, and the protocol
//! core behind the `Adapter` (crate::adapter).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lagd_agg::lagd_lacp::LinkStatus;
use lagd_dataplane::{
    Forwarder, Member, Netlink, PacketOptions, PacketSocket, Protocol, Tap, monotonic_now,
};
use lagd_node::driver::PortNumbers;
use lagd_types::{MacAddr, PortNumber};

use crate::adapter::{Adapter, Reporter};
use crate::bfd_thread::BfdThread;
use crate::config::{AggrSpec, Offload, Resolved};
use crate::control::proto::{AggrStatus, LinkStats, MemberStatus, Settings};
use crate::state::{AggregateRecord, StateDir};
use crate::sync::lock;
use crate::takeover;

pub(crate) mod error;
pub(crate) mod member;

pub(crate) use error::AggrError;
use error::sys;
pub(crate) use member::MemberRt;

/// Members that could not be given back as they were found (each with the first error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("aggregation `{aggregate}`: members NOT restored: {}", members.join("; "))]
pub(crate) struct RestoreFailed {
    /// The aggregation.
    pub aggregate: String,
    /// `member: error`, one per member not restored.
    pub members: Vec<String>,
}

/// What [`Aggr::stop_keeping_aggregate`] keeps for [`Aggr::start`] to take again: the
/// aggregate's TAP, still open, and the members, still taken over (by interface name).
#[derive(Default)]
pub(crate) struct Kept {
    /// The TAP (`None`: re-attached by name, as after a crash).
    pub tap: Option<Tap>,
    /// The members, by interface name.
    pub members: BTreeMap<String, MemberRt>,
}

/// A running aggregation.
pub(crate) struct Aggr {
    /// Instance id (events of a deleted aggregation cannot reach a new one of the same name).
    pub id: u64,
    /// The running configuration as written.
    pub spec: AggrSpec,
    /// The running configuration resolved.
    pub resolved: Resolved,
    /// The MAC in use (aggregate and LACP System).
    pub mac: MacAddr,
    /// The protocol core.
    pub adapter: Arc<Mutex<Adapter>>,
    /// The data plane.
    pub forwarder: Forwarder,
    /// Micro-BFD's sockets and timers (no thread while micro-BFD is off).
    bfd_thread: BfdThread,
    /// What replaced kernel fast-path programs had counted (kept across reconfigurations).
    offload_base: crate::offload::Totals,
    /// Why the kernel fast path is not running although the setting asks for it.
    offload_unavailable: Option<crate::offload::Unavailable>,
    /// Members by port number.
    pub members: BTreeMap<PortNumber, MemberRt>,
    /// Member carrier losses seen.
    pub carrier_losses: u64,
    /// Where the records of this aggregation and its members are kept.
    state: Arc<StateDir>,
    /// This aggregation's record (TAP, ports, protocol snapshot), as last written.
    record: AggregateRecord,
    /// Configured members whose interface does not exist (not yet created, or deleted): a
    /// port with no carrier, taken over when the interface appears (hot-plug).
    pub absent: BTreeMap<PortNumber, String>,
}

fn open_socket(m: &Member) -> Result<PacketSocket, AggrError> {
    PacketSocket::open(m.ifindex(), &PacketOptions::default())
        .map_err(sys(format!("opening a packet socket on `{}`", m.name())))
}

/// Micro-BFD's IPv4 source address: the aggregate's first IPv4 address (RFC 7130 has the
/// sessions of a LAG use the LAG's address), else a link-local address made from its MAC
/// (`lagd_bfd::link_local_ipv4`), which never leaves the link.
fn bfd_source_ip(tap: u32, mac: MacAddr) -> std::net::Ipv4Addr {
    Netlink::open()
        .and_then(|mut nl| nl.addresses(tap))
        .ok()
        .into_iter()
        .flatten()
        .find_map(|a| match a.addr() {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        })
        .unwrap_or_else(|| lagd_bfd::link_local_ipv4(mac))
}

/// The current link status of a member.
pub(crate) fn link_status(nl: Option<&mut Netlink>, m: &Member) -> LinkStatus {
    let up = nl
        .and_then(|nl| nl.link_by_index(m.ifindex()).ok())
        .is_some_and(|l| l.is_up() && l.carrier);
    let speed = if up {
        m.speed().unwrap_or_default()
    } else {
        Default::default()
    };
    LinkStatus {
        up,
        speed_mbps: speed.mbps,
        // LACP runs on full-duplex links only (§6.4.8). A driver that reports no speed
        // (unknown duplex) is taken as full duplex; only an explicit half duplex disables LACP.
        full_duplex: speed.full_duplex || speed.mbps == 0,
    }
}

impl Aggr {
    /// Starts aggregation `r`: takes the members over (adopting those a previous lagd left,
    /// from their records), creates the TAP (or re-attaches the one a previous lagd left),
    /// resumes the protocol state of the previous lagd's record if it fits, starts the
    /// forwarder. On error everything done so far is undone (members restored, TAP removed,
    /// records dropped).
    ///
    /// `kept` is what [`Aggr::stop_keeping_aggregate`] kept of this aggregation's previous
    /// instance (empty otherwise): its TAP is used as it is and its members stay taken over.
    pub(crate) fn start(
        id: u64,
        spec: AggrSpec,
        r: Resolved,
        reporter: Reporter,
        state: Arc<StateDir>,
        kept: Kept,
    ) -> Result<Aggr, AggrError> {
        let mut members = BTreeMap::new();
        let name = r.name.clone();
        match Aggr::start_with(id, spec, r, reporter, &state, &mut members, kept) {
            Ok(a) => Ok(a),
            Err(e) => {
                // Programs pinned (or adopted) for it go before the members are restored.
                if let Some(root) = state.existing_pin_root() {
                    crate::offload::Offload::unpin(&root.join(&name));
                }
                for (_, m) in std::mem::take(&mut members) {
                    if let Err(f) = takeover::release_member(&state, m) {
                        tracing::error!(aggregate = %name, "start failed and a member was NOT restored: {f}");
                    }
                }
                if let Some(rec) = state.aggregate(&name) {
                    match takeover::remove_tap(&name, &rec) {
                        Ok(_) => {
                            let _ = state.remove_aggregate(&name);
                        }
                        Err(f) => tracing::warn!(aggregate = %name, "start failed: {f}"),
                    }
                }
                Err(e)
            }
        }
    }

    fn start_with(
        id: u64,
        spec: AggrSpec,
        r: Resolved,
        reporter: Reporter,
        state: &Arc<StateDir>,
        members: &mut BTreeMap<PortNumber, MemberRt>,
        mut kept: Kept,
    ) -> Result<Aggr, AggrError> {
        let prior = state.aggregate(&r.name);
        let mut absent = BTreeMap::new();
        // Descriptors a planned restart handed over (the same process before its execve).
        let mut inherited = state.take_inherited(&r.name).unwrap_or_default();
        // Refuse a foreign interface of that name before touching any member.
        takeover::tap_is_ours(&r.name, prior.as_ref()).map_err(AggrError::Protocol)?;
        for (number, link) in takeover::port_numbers(&r, prior.as_ref())? {
            if let Some(m) = kept.members.remove(&link) {
                members.insert(number, m);
                continue;
            }
            if !takeover::link_present(&link) {
                absent.insert(number, link);
                continue;
            }
            let member = takeover::take_member(state, &r, &link, false)?;
            members.insert(
                number,
                MemberRt {
                    name: link,
                    member,
                    draining: false,
                    drops: Default::default(),
                    carrier_losses: 0,
                },
            );
        }
        // Kept members the configuration no longer names (none when only the numbering
        // changed) are given back.
        for (_, m) in std::mem::take(&mut kept.members) {
            if let Err(e) = takeover::release_member(state, m) {
                tracing::error!(aggregate = %r.name, "a member was NOT restored: {e}");
            }
        }
        let mac = match (r.mac, members.values().next()) {
            (Some(m), _) => m,
            (None, Some(first)) => first.member.mac(),
            // Every member absent: a stable address of its own until the configuration says.
            (None, None) => takeover::derived_mac(&r.name),
        };
        if !absent.is_empty() {
            let names: Vec<&str> = absent.values().map(String::as_str).collect();
            tracing::warn!(
                aggregate = %r.name,
                "starting degraded: member {} absent (no such interface): taken over when it appears",
                names.join(", ")
            );
        }
        // The record exists before the TAP does: a crash in between leaves a TAP we know.
        let mut record = takeover::new_record(&r, mac);
        record.ports = takeover::port_records(members, &absent);
        record.ifindex = prior.as_ref().map_or(0, |p| p.ifindex);
        record.snapshot = prior.as_ref().and_then(|p| p.snapshot.clone());
        state
            .write_aggregate(&record)
            .map_err(|e| AggrError::Protocol(format!("recording aggregation `{}`: {e}", r.name)))?;
        let handed = inherited
            .tap
            .take()
            .map(|fd| Tap::from_fd(fd, &r.name))
            .and_then(|t| {
                t.map_err(|e| tracing::warn!(aggregate = %r.name, "inherited TAP refused: {e}"))
                    .ok()
            });
        let (tap, reattached) = match (kept.tap, handed) {
            (Some(t), _) => {
                tracing::debug!(aggregate = %r.name, "TAP kept open: addresses, routes and neighbours kept, nothing queued lost");
                (t, true)
            }
            (None, Some(t)) => {
                tracing::info!(aggregate = %r.name, "TAP handed over by the previous image: nothing it queued is lost");
                (t, true)
            }
            (None, None) => takeover::open_tap(&r, mac, prior.as_ref())?,
        };
        record.ifindex = tap.ifindex();
        if let Err(e) = state.write_aggregate(&record) {
            tracing::warn!(aggregate = %r.name, "recording the TAP: {e}");
        }
        if reattached {
            let now_mac = Netlink::open()
                .and_then(|mut nl| nl.link_by_index(tap.ifindex()))
                .ok()
                .and_then(|l| l.mac);
            // Only if it differs: a MAC change flushes the host's neighbours.
            if now_mac != Some(mac) {
                tap.set_mac(mac)
                    .map_err(sys(format!("setting the MAC of `{}`", r.name)))?;
            }
        }
        tap.set_up(true)
            .map_err(sys(format!("bringing TAP `{}` up", r.name)))?;
        takeover::set_alias(tap.ifindex(), &r.name, &takeover::aggregate_alias(&r));
        let now = monotonic_now();
        let mut adapter = Adapter::new(id, &r.name, r.aggregation_config(r.system(mac)), reporter);
        let mut sockets = Vec::new();
        for (number, m) in members.iter() {
            adapter
                .agg
                .add_port(now, r.port_config(&m.name, *number, m.member.mac()))
                .map_err(|e| AggrError::Protocol(format!("member `{}`: {e}", m.name)))?;
            adapter.port_names.insert(*number, &m.name);
            let ifindex = m.member.ifindex();
            let sock = match inherited.members.remove(&ifindex) {
                Some(fd) => match PacketSocket::from_fd(fd, ifindex, true) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(member = %m.name, "inherited socket refused: {e}");
                        open_socket(&m.member)?
                    }
                },
                None => open_socket(&m.member)?,
            };
            sockets.push((*number, sock));
        }
        for (number, link) in &absent {
            // The aggregate's address stands in for the member's until it appears.
            adapter
                .agg
                .add_port(now, r.port_config(link, *number, mac))
                .map_err(|e| AggrError::Protocol(format!("member `{link}`: {e}")))?;
            adapter.port_names.insert(*number, link);
        }
        let mut nl = Netlink::open().ok();
        let mut links: BTreeMap<PortNumber, LinkStatus> = members
            .iter()
            .map(|(n, m)| (*n, link_status(nl.as_mut(), &m.member)))
            .collect();
        links.extend(absent.keys().map(|n| (*n, LinkStatus::DOWN)));
        if let Some(snap) = prior.as_ref().and_then(|p| p.snapshot.as_ref()) {
            let out = adapter.agg.resume(now, snap, |p| {
                links.get(&p).copied().unwrap_or(LinkStatus::DOWN)
            });
            if !out.lacp.refused.is_empty() {
                let why: Vec<String> = out
                    .lacp
                    .refused
                    .iter()
                    .map(|(p, why)| {
                        let n = adapter.port_names.get(*p).unwrap_or_default();
                        format!("{n} (port {p}): {why}")
                    })
                    .collect();
                tracing::info!(aggregate = %r.name, "not resumed, starting afresh: {}", why.join("; "));
            }
            if !out.lacp.resumed.is_empty() {
                let names: Vec<String> = out
                    .lacp
                    .resumed
                    .iter()
                    .filter_map(|p| adapter.port_names.get(*p).map(str::to_string))
                    .collect();
                tracing::info!(
                    aggregate = %r.name,
                    buckets = out.buckets,
                    "protocol state of the previous lagd resumed on {}: the partner sees no change",
                    names.join(", ")
                );
            }
        }
        restore_operator_choices(state, &r.name, &mut adapter, now);
        let offload_unavailable =
            match start_offload(&r, &mut adapter, tap.ifindex(), members, state) {
                Err(u) if r.offload == Offload::On => return Err(AggrError::Offload(u)),
                Err(u) => Some(u),
                Ok(()) => None,
            };
        // Sockets of members whose receive program delivers (an adopted one may do so now)
        // take Slow Protocols frames only from the start (again below, with errors handled).
        if let Some(o) = adapter.offload.as_ref() {
            for (port, sock) in &sockets {
                if o.has_rx(*port) {
                    let _ = sock.set_slow_protocols_only(true);
                }
            }
        }
        if r.bfd.is_some() {
            let macs: Vec<_> = members
                .iter()
                .map(|(n, m)| (*n, m.member.mac(), m.member.ifindex()))
                .collect();
            adapter.set_bfd(now, r.bfd, &macs, bfd_source_ip(tap.ifindex(), mac));
        }
        adapter.drain_events();
        let adapter = Arc::new(Mutex::new(adapter));
        let proto: Arc<Mutex<dyn Protocol>> = adapter.clone();
        let forwarder = Forwarder::start(tap, sockets, proto, monotonic_now)
            .map_err(sys(format!("starting the forwarder of `{}`", r.name)))?;
        filter_member_sockets(&mut lock(&adapter), &forwarder, members.keys());
        let mut bfd_thread = BfdThread::new(&r.name, adapter.clone(), forwarder.tx_waker());
        bfd_thread.update()?;
        let mut aggr = Aggr {
            id,
            spec,
            resolved: r,
            mac,
            adapter,
            forwarder,
            bfd_thread,
            offload_base: Default::default(),
            offload_unavailable,
            members: std::mem::take(members),
            carrier_losses: 0,
            state: state.clone(),
            record,
            absent,
        };
        // Every member's carrier (resumed ports already have theirs: no change for them; with
        // micro-BFD their sessions start again, so the partner's BFD sees the restart).
        for (number, st) in links {
            aggr.handle_link(number, st);
        }
        aggr.refresh_local_addresses();
        aggr.save_state();
        Ok(aggr)
    }

    /// Prepares this aggregation for the next image of this process (a planned restart, see
    /// `crate::handover`): waits (at most `limit`) until no frame is held for a move, leaves
    /// the kernel fast path attached (it is pinned: it forwards through the restart and the
    /// next image adopts it; unpinned, it is detached and its frames take the user-space
    /// path), stops the forwarder, saves the protocol state and keeps the TAP and the member
    /// sockets open across `execve`. The members stay taken over.
    pub(crate) fn hand_over(
        &mut self,
        limit: std::time::Duration,
    ) -> Result<crate::state::HandoverAggregate, AggrError> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let busy = {
                let a = lock(&self.adapter);
                let d = a.agg.distributor();
                d.has_pending() || d.stats().moves_in_flight > 0
            };
            if !busy || std::time::Instant::now() >= deadline {
                if busy {
                    tracing::warn!(aggregate = %self.resolved.name, "restart: a move is still in flight; its held frames are lost");
                }
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        {
            let mut a = lock(&self.adapter);
            if let Some(o) = a.offload.take() {
                self.offload_base.absorb(&o);
                if o.pinned().is_some() {
                    // The receive programs keep delivering: the sockets stay as they are.
                    o.leave_attached();
                } else {
                    filter_member_sockets(&mut a, &self.forwarder, self.members.keys());
                    drop(o);
                }
            }
        }
        self.bfd_thread.stop();
        self.forwarder.stop();
        lock(&self.adapter).state_dirty = true;
        self.save_state();
        let sockets: Vec<_> = self
            .forwarder
            .member_sockets()
            .into_iter()
            .map(|(_, s)| (s.ifindex(), s))
            .collect();
        crate::handover::keep_open(&self.resolved.name, self.forwarder.tap(), &sockets)
            .map_err(sys(format!("handing `{}` over", self.resolved.name)))
    }

    /// Writes this aggregation's record when its protocol state changed since the last write
    /// (called by the timer thread after every pass, and after changes of membership).
    pub(crate) fn save_state(&mut self) {
        let snapshot = {
            let mut a = lock(&self.adapter);
            if !std::mem::take(&mut a.state_dirty) && self.record.snapshot.is_some() {
                return;
            }
            a.agg.snapshot()
        };
        self.record.snapshot = Some(snapshot);
        self.record.ports = takeover::port_records(&self.members, &self.absent);
        self.record.mac = self.mac;
        if let Err(e) = self.state.write_aggregate(&self.record) {
            tracing::warn!(aggregate = %self.resolved.name, "saving the protocol state: {e}");
            lock(&self.adapter).state_dirty = true;
        }
    }

    /// Feeds a link change of member `port` to the protocol and wakes the forwarder.
    pub(crate) fn handle_link(&self, port: PortNumber, st: LinkStatus) {
        {
            let mut a = lock(&self.adapter);
            a.set_link(monotonic_now(), port, st);
            a.drain_events();
        }
        self.forwarder.wake();
    }

    /// The link status the protocol knows for `port` (the carrier, before micro-BFD's gate).
    pub(crate) fn known_link(&self, port: PortNumber) -> Option<LinkStatus> {
        lock(&self.adapter).link(port)
    }

    /// The micro-BFD thread's liveness; `None` while micro-BFD is off (no thread).
    pub(crate) fn bfd_health(&self) -> Option<lagd_dataplane::ThreadHealth> {
        self.bfd_thread.health()
    }

    /// Test support: injects `fault` into the micro-BFD thread; false when micro-BFD is off.
    pub(crate) fn inject_bfd_fault(&self, fault: lagd_dataplane::Fault) -> bool {
        self.bfd_thread.inject_fault(fault)
    }

    /// Re-reads the aggregate's IPv4 address for micro-BFD's source address (it may be set
    /// after the aggregation starts).
    pub(crate) fn refresh_bfd_source(&self) {
        let bfd = lock(&self.adapter).bfd.clone();
        if lock(&bfd.core).is_none() {
            return;
        }
        let ip = bfd_source_ip(self.forwarder.tap().ifindex(), self.mac);
        if let Some(b) = lock(&bfd.core).as_mut() {
            b.set_local_ip(ip);
        }
    }

    /// In `transmit-lb` / `adaptive-lb`: gives the balancer the aggregate's addresses as the
    /// kernel has them, so that a change of receive member announces them even if the host
    /// never sent an ARP or Neighbour Discovery frame (called at start and on every address
    /// notification of the aggregate's interface). Other modes: nothing.
    pub(crate) fn refresh_local_addresses(&self) {
        if lock(&self.adapter).agg.alb().is_none() {
            return;
        }
        let tap = self.forwarder.tap().ifindex();
        let addrs: Vec<std::net::IpAddr> = match Netlink::open()
            .and_then(|mut nl| nl.addresses(tap))
        {
            Ok(v) => v.iter().map(|a| a.addr()).collect(),
            Err(e) => {
                tracing::warn!(aggregate = %self.resolved.name, "cannot read the aggregate's addresses (announced as the host's ARP shows them): {e}");
                return;
            }
        };
        {
            let mut ad = lock(&self.adapter);
            ad.agg.set_local_addresses(monotonic_now(), &addrs);
            ad.drain_events();
        }
        // New addresses are announced at once: the forwarder's deadline moved.
        self.forwarder.wake();
    }

    /// The port of member `name` (present or absent).
    pub(crate) fn port_of(&self, name: &str) -> Option<PortNumber> {
        self.members
            .iter()
            .find(|(_, m)| m.name == name)
            .map(|(p, _)| *p)
            .or_else(|| {
                self.absent
                    .iter()
                    .find(|(_, n)| *n == name)
                    .map(|(p, _)| *p)
            })
    }

    /// The port of the member whose interface has index `ifindex`.
    pub(crate) fn port_of_ifindex(&self, ifindex: u32) -> Option<PortNumber> {
        self.members
            .iter()
            .find(|(_, m)| m.member.ifindex() == ifindex)
            .map(|(p, _)| *p)
    }

    /// The port of absent member `name`.
    pub(crate) fn absent_port(&self, name: &str) -> Option<PortNumber> {
        self.absent
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(p, _)| *p)
    }

    /// The interface of absent member `port` appeared: it is taken over and joins (hot-plug).
    pub(crate) fn member_appeared(&mut self, port: PortNumber) -> Result<(), AggrError> {
        let Some(link) = self.absent.get(&port).cloned() else {
            return Ok(());
        };
        self.attach(port, &link, false, false)?;
        self.absent.remove(&port);
        self.save_state_now();
        Ok(())
    }

    /// The interface of member `port` was deleted (unplugged, driver unloaded): a failed
    /// link. Nothing is left to restore; the member waits, absent, to be taken over again
    /// when an interface of that name appears.
    pub(crate) fn member_gone(&mut self, port: PortNumber) {
        let Some(m) = self.members.remove(&port) else {
            return;
        };
        {
            let mut a = lock(&self.adapter);
            a.set_link(monotonic_now(), port, LinkStatus::DOWN);
            if let Some(o) = a.offload.as_mut() {
                o.remove_member(port);
            }
            a.drain_events();
        }
        if let Err(e) = self.forwarder.remove_member(port) {
            tracing::warn!(aggregate = %self.resolved.name, port, "forwarder remove: {e}");
        }
        self.forwarder.wake();
        let ifindex = m.member.ifindex();
        m.member.keep_taken_over();
        if let Err(e) = self.state.remove_member(ifindex) {
            tracing::warn!(member = %m.name, "its record stays: {e}");
        }
        self.carrier_losses += 1;
        self.absent.insert(port, m.name);
        self.save_state_now();
    }

    /// Adds member `link` (already validated). A link without an interface joins as an
    /// absent member, taken over when the interface appears.
    pub(crate) fn add_link(&mut self, link: &str, force: bool) -> Result<PortNumber, AggrError> {
        let number = PortNumbers::from_base(self.resolved.port_base)
            .lowest_free(|n| self.members.contains_key(&n) || self.absent.contains_key(&n))
            .ok_or_else(|| AggrError::Protocol("no free port number".into()))?;
        if !takeover::link_present(link) {
            {
                let mut a = lock(&self.adapter);
                a.agg
                    .add_port(
                        monotonic_now(),
                        self.resolved.port_config(link, number, self.mac),
                    )
                    .map_err(|e| AggrError::Protocol(format!("member `{link}`: {e}")))?;
                a.port_names.insert(number, link);
                a.set_link(monotonic_now(), number, LinkStatus::DOWN);
                a.drain_events();
            }
            tracing::warn!(aggregate = %self.resolved.name, member = %link, "member absent (no such interface): taken over when it appears");
            self.absent.insert(number, link.to_string());
            self.save_state_now();
            return Ok(number);
        }
        self.attach(number, link, force, true)?;
        self.save_state_now();
        Ok(number)
    }

    /// Takes `link` over as port `number` and starts forwarding on it: a new port
    /// (`new_port`), or an absent member's port that already exists in the protocol.
    fn attach(
        &mut self,
        number: PortNumber,
        link: &str,
        force: bool,
        new_port: bool,
    ) -> Result<(), AggrError> {
        let member = takeover::take_member(&self.state, &self.resolved, link, force)?;
        let sock = match open_socket(&member) {
            Ok(s) => s,
            Err(e) => {
                release_unused(&self.state, link, member);
                return Err(e);
            }
        };
        {
            let mut a = lock(&self.adapter);
            let config = self.resolved.port_config(link, number, member.mac());
            let added = if new_port {
                a.agg.add_port(monotonic_now(), config)
            } else {
                a.agg.set_port_config(monotonic_now(), config)
            }
            .map_err(|e| AggrError::Protocol(format!("member `{link}`: {e}")));
            if let Err(e) = added {
                drop(a);
                release_unused(&self.state, link, member);
                return Err(e);
            }
            a.port_names.insert(number, link);
            a.bfd_add_port(monotonic_now(), number, member.mac(), member.ifindex());
            if let Some(o) = a.offload.as_mut() {
                o.set_member(number, member.ifindex(), link);
            }
            a.drain_events();
        }
        if let Err(e) = self.forwarder.add_member(number, sock) {
            let mut a = lock(&self.adapter);
            if new_port {
                let _ = a.agg.remove_port(monotonic_now(), number);
                a.forget_port(number);
            }
            if let Some(o) = a.offload.as_mut() {
                o.remove_member(number);
            }
            a.drain_events();
            drop(a);
            release_unused(&self.state, link, member);
            return Err(sys(format!("adding `{link}` to the forwarder"))(e));
        }
        filter_member_sockets(&mut lock(&self.adapter), &self.forwarder, [&number]);
        let st = link_status(Netlink::open().ok().as_mut(), &member);
        self.members.insert(
            number,
            MemberRt {
                name: link.to_string(),
                member,
                draining: false,
                drops: Default::default(),
                carrier_losses: 0,
            },
        );
        self.handle_link(number, st);
        Ok(())
    }

    /// Writes the record at once (after a change of membership).
    fn save_state_now(&mut self) {
        lock(&self.adapter).state_dirty = true;
        self.save_state();
    }

    /// Starts a graceful removal of `port` (finished by [`Aggr::remove_port`] on `Drained`).
    pub(crate) fn drain_port(&mut self, port: PortNumber) -> Result<(), AggrError> {
        {
            let mut a = lock(&self.adapter);
            a.agg
                .drain_port(monotonic_now(), port)
                .map_err(|e| AggrError::Protocol(e.to_string()))?;
            a.drain_events();
        }
        if let Some(m) = self.members.get_mut(&port) {
            m.draining = true;
        }
        self.forwarder.wake();
        Ok(())
    }

    /// Updates the operator's choices recorded for this aggregation
    /// ([`crate::state::OperatorRecord`]: they outlive a restart of lagd).
    pub(crate) fn record_operator(
        &self,
        change: impl FnOnce(&mut crate::state::OperatorRecord),
    ) -> Result<(), crate::state::StateError> {
        let name = &self.resolved.name;
        let mut r = self
            .state
            .operator(name)
            .unwrap_or_else(|| crate::state::OperatorRecord {
                version: crate::state::RECORD_VERSION,
                aggregate: name.clone(),
                ..Default::default()
            });
        change(&mut r);
        self.state.write_operator(&r)
    }

    /// Removes `port` at once and restores its interface.
    pub(crate) fn remove_port(&mut self, port: PortNumber) {
        // A member that leaves takes the operator's choices about it along.
        let link = self
            .members
            .get(&port)
            .map(|m| m.name.clone())
            .or_else(|| self.absent.get(&port).cloned());
        if let Some(l) = link
            && let Err(e) = self.record_operator(|r| {
                r.disabled.remove(&l);
                if r.active.as_deref() == Some(l.as_str()) {
                    r.active = None;
                }
            })
        {
            tracing::warn!(aggregate = %self.resolved.name, "operator record: {e}");
        }
        if self.absent.remove(&port).is_some() {
            let mut a = lock(&self.adapter);
            if let Err(e) = a.agg.remove_port(monotonic_now(), port) {
                tracing::warn!(aggregate = %self.resolved.name, port, "remove port: {e}");
            }
            a.forget_port(port);
            a.port_names.remove(port);
            a.drain_events();
            drop(a);
            self.save_state_now();
            return;
        }
        {
            let mut a = lock(&self.adapter);
            if let Err(e) = a.agg.remove_port(monotonic_now(), port) {
                tracing::warn!(aggregate = %self.resolved.name, port, "remove port: {e}");
            }
            a.forget_port(port);
            if let Some(o) = a.offload.as_mut() {
                o.remove_member(port);
            }
            a.drain_events();
        }
        if let Err(e) = self.forwarder.remove_member(port) {
            tracing::warn!(aggregate = %self.resolved.name, port, "forwarder remove: {e}");
        }
        self.forwarder.wake();
        if let Some(m) = self.members.remove(&port) {
            lock(&self.adapter).port_names.remove(port);
            let name = m.name.clone();
            match takeover::release_member(&self.state, m) {
                Ok(()) => {
                    tracing::info!(aggregate = %self.resolved.name, member = %name, "member released and restored")
                }
                Err(e) => {
                    tracing::error!(aggregate = %self.resolved.name, member = %name, "member released but NOT restored: {e}")
                }
            }
            self.save_state_now();
        }
    }

    /// Applies a new resolved configuration live (MAC, LACP and distributor settings, port
    /// priorities). The MTU and the member list are not changed here.
    pub(crate) fn reconfigure(&mut self, spec: AggrSpec, r: Resolved) -> Result<(), AggrError> {
        let mac = match r.mac {
            Some(m) => m,
            None => self
                .members
                .values()
                .next()
                .map(|m| m.member.mac())
                .unwrap_or(self.mac),
        };
        if mac != self.mac {
            self.forwarder
                .tap()
                .set_mac(mac)
                .map_err(sys(format!("setting the MAC of `{}`", r.name)))?;
        }
        let now = monotonic_now();
        {
            let mut a = lock(&self.adapter);
            a.agg
                .set_config(now, r.aggregation_config(r.system(mac)))
                .map_err(|e| AggrError::Protocol(e.to_string()))?;
            let remap = r.policy != self.resolved.policy || r.mode != self.resolved.mode;
            if r.offload == Offload::Off {
                // Sockets see everything again before the programs go: a frame may reach the
                // aggregate twice for an instant, never not at all.
                if let Some(o) = a.offload.take() {
                    self.offload_base.absorb(&o);
                    filter_member_sockets(&mut a, &self.forwarder, self.members.keys());
                    o.retire();
                }
                self.offload_unavailable = None;
            } else if a.offload.is_some() {
                if r.rx_steering != self.resolved.rx_steering
                    && let Some(o) = a.offload.as_mut()
                {
                    o.set_rx_steering(&r.name, r.rx_steering, false);
                }
                if remap {
                    // A new mode or hash: a new TX program replaces the old one atomically
                    // (the receive programs stay).
                    let ad: &mut Adapter = &mut a;
                    let agg = &ad.agg;
                    let si = r.mode.is_switch_independent();
                    let r2 = ad.offload.as_mut().map(|o| o.rebuild(agg, si));
                    if let Some(Err(u)) = r2 {
                        tracing::warn!(aggregate = %r.name, "offload: {u}; frames take the user-space path");
                        if let Some(o) = a.offload.take() {
                            self.offload_base.absorb(&o);
                            o.retire();
                        }
                        filter_member_sockets(&mut a, &self.forwarder, self.members.keys());
                        self.offload_unavailable = Some(u);
                    }
                }
            } else {
                let tap = self.forwarder.tap().ifindex();
                self.offload_unavailable =
                    start_offload(&r, &mut a, tap, &self.members, &self.state).err();
                if let (Offload::On, Some(u)) = (r.offload, &self.offload_unavailable) {
                    tracing::error!(aggregate = %r.name, "offload = on, but the kernel fast path is unavailable: {u} (fix: {})", u.fix);
                }
                filter_member_sockets(&mut a, &self.forwarder, self.members.keys());
            }
            if r.bfd != self.resolved.bfd {
                let macs: Vec<_> = self
                    .members
                    .iter()
                    .map(|(n, m)| (*n, m.member.mac(), m.member.ifindex()))
                    .collect();
                let ip = bfd_source_ip(self.forwarder.tap().ifindex(), mac);
                a.set_bfd(now, r.bfd, &macs, ip);
            }
            for (number, m) in &self.members {
                if r.priority_of(&m.name) != self.resolved.priority_of(&m.name) {
                    a.agg
                        .set_port_config(now, r.port_config(&m.name, *number, m.member.mac()))
                        .map_err(|e| AggrError::Protocol(e.to_string()))?;
                }
            }
            a.drain_events();
        }
        self.forwarder.wake();
        self.bfd_thread.update()?;
        let alias = takeover::aggregate_alias(&r);
        if alias != takeover::aggregate_alias(&self.resolved) {
            takeover::set_alias(self.forwarder.tap().ifindex(), &r.name, &alias);
        }
        self.mac = mac;
        self.spec = spec;
        self.resolved = r;
        Ok(())
    }

    /// Changes the MTU of the aggregate and every member in place: no re-creation, so the
    /// aggregate keeps its addresses, routes and neighbours. Raising it sets the members first,
    /// lowering it the aggregate first, so that the aggregate never takes frames its members
    /// would refuse. On error the MTUs already changed are put back.
    pub(crate) fn set_mtu(&mut self, mtu: u32) -> Result<(), AggrError> {
        let old = self.resolved.mtu;
        if mtu == old {
            return Ok(());
        }
        let name = self.resolved.name.clone();
        let tap_first = mtu < old;
        let set_tap = |t: &Tap, m: u32| {
            t.set_mtu(m)
                .map_err(sys(format!("setting the MTU of `{name}` to {m}")))
        };
        if tap_first {
            set_tap(self.forwarder.tap(), mtu)?;
        }
        let mut done = Vec::new();
        for (port, m) in self.members.iter_mut() {
            if let Err(e) = m.member.set_mtu(mtu) {
                let err = sys(format!("setting the MTU of member `{}` to {mtu}", m.name))(e);
                for p in done {
                    if let Some(m) = self.members.get_mut(&p) {
                        let _ = m.member.set_mtu(old);
                    }
                }
                if tap_first {
                    let _ = self.forwarder.tap().set_mtu(old);
                }
                return Err(err);
            }
            done.push(*port);
        }
        if !tap_first && let Err(e) = set_tap(self.forwarder.tap(), mtu) {
            for m in self.members.values_mut() {
                let _ = m.member.set_mtu(old);
            }
            return Err(e);
        }
        self.resolved.mtu = mtu;
        Ok(())
    }

    /// Stops the forwarder, releases and restores every member; the TAP goes with the forwarder.
    /// A member that could not be restored is logged as an error and returned
    /// ([`RestoreFailed`]): the caller must not claim the members were restored.
    pub(crate) fn stop(mut self) -> Result<(), RestoreFailed> {
        // The kernel programs go first, pins included: a restored member must not feed the
        // dying aggregate.
        if let Some(o) = lock(&self.adapter).offload.take() {
            o.retire();
        }
        if let Err(e) = self.forwarder.tap().set_persistent(false) {
            tracing::warn!(aggregate = %self.resolved.name, "the TAP may stay behind: {e}");
        }
        self.bfd_thread.stop();
        self.forwarder.stop();
        let mut failed = Vec::new();
        for (_, m) in std::mem::take(&mut self.members) {
            if let Err(e) = takeover::release_member(&self.state, m) {
                failed.push(e);
            }
        }
        // Dropping the forwarder drops the last reference to the TAP: the device disappears.
        if let Err(e) = self.state.remove_aggregate(&self.resolved.name) {
            tracing::warn!(aggregate = %self.resolved.name, "its record stays: {e}");
        }
        if failed.is_empty() {
            tracing::info!(aggregate = %self.resolved.name, "aggregation stopped, members restored");
            Ok(())
        } else {
            let e = RestoreFailed {
                aggregate: self.resolved.name.clone(),
                members: failed,
            };
            tracing::error!(aggregate = %self.resolved.name, "aggregation stopped: {e}");
            Err(e)
        }
    }

    /// Stops this aggregation but keeps its aggregate, for [`Aggr::start`] to start it again
    /// with other port numbers (`Engine::dt_renumber`): the kernel fast path goes (as in
    /// [`Aggr::stop`]), the forwarder stops, but the TAP stays open (the interface, its
    /// addresses, routes, neighbours and bridge port stay; what the host sends meanwhile
    /// waits in its queue) and the members stay taken over. The record stays, without
    /// protocol state or port numbers (the partner is to see new ports anyway).
    pub(crate) fn stop_keeping_aggregate(mut self) -> Kept {
        if let Some(o) = lock(&self.adapter).offload.take() {
            o.retire();
        }
        let name = self.resolved.name.clone();
        // A second descriptor of the same queue: the device never loses its reader. Failing
        // that, the persistent TAP survives the forwarder and is re-attached by name.
        let tap = std::os::fd::AsFd::as_fd(self.forwarder.tap())
            .try_clone_to_owned()
            .map_err(|e| e.to_string())
            .and_then(|fd| Tap::from_fd(fd, &name).map_err(|e| e.to_string()))
            .map_err(|e| {
                tracing::warn!(aggregate = %name, "keeping the TAP open: {e}; re-attached by name instead");
            })
            .ok();
        self.bfd_thread.stop();
        self.forwarder.stop();
        self.record.snapshot = None;
        self.record.ports.clear();
        if let Err(e) = self.state.write_aggregate(&self.record) {
            tracing::warn!(aggregate = %name, "recording the aggregate: {e}");
        }
        let members = std::mem::take(&mut self.members)
            .into_values()
            .map(|m| (m.name.clone(), m))
            .collect();
        Kept { tap, members }
    }

    /// Status for `ShowAggr`.
    pub(crate) fn status(&self, temporary: bool, persistent: Option<AggrSpec>) -> AggrStatus {
        use lagd_agg::member_state::{MemberState, aggregate_state, member_state};
        let (st, bfd, flaps) = {
            let a = lock(&self.adapter);
            (
                a.agg.status(),
                lock(&a.bfd.core).as_ref().map(lagd_bfd::MicroBfd::status),
                a.flaps().clone(),
            )
        };
        let mut states = Vec::new();
        let members = st
            .lacp
            .ports
            .iter()
            .map(|p| {
                let m = self.members.get(&p.number);
                let link_up = self.known_link(p.number).unwrap_or(p.link).up;
                let bfd: Option<crate::control::proto::BfdStatus> = bfd
                    .iter()
                    .flatten()
                    .find(|b| b.port == p.number)
                    .map(Into::into);
                let absent = self.absent.get(&p.number);
                let state = match m {
                    None if absent.is_some() => MemberState::Deleted,
                    Some(m)
                        if !crate::member_facts::exists(m.member.name(), m.member.ifindex()) =>
                    {
                        MemberState::Deleted
                    }
                    _ if link_up && !p.link.up && bfd.as_ref().is_some_and(|b| b.state != "Up") => {
                        MemberState::BfdDown
                    }
                    _ => member_state(&st, p),
                };
                states.push((p.number, state));
                MemberStatus {
                    name: m
                        .map(|m| m.name.clone())
                        .or_else(|| absent.cloned())
                        .unwrap_or_default(),
                    absent: absent.is_some(),
                    port: p.number,
                    link_up,
                    speed_mbps: p.link.speed_mbps,
                    full_duplex: p.link.full_duplex,
                    selected: p.selected.to_string(),
                    mux: p.mux.to_string(),
                    receive: p.receive.to_string(),
                    actor: p.actor,
                    partner: p.partner,
                    collecting: p.collecting,
                    distributing: p.distributing,
                    why_not_distributing: if absent.is_some() {
                        Some("no such interface: taken over when it appears".into())
                    } else if st.disabled.contains(&p.number) {
                        Some("disabled by the operator (lagctl enable-member to return)".into())
                    } else {
                        p.why_not_distributing.clone()
                    },
                    counters: serde_json::to_value(p.counters).unwrap_or_default(),
                    bfd,
                    state: state.name().to_string(),
                    carrier_losses: m.map_or(0, |m| m.carrier_losses),
                    flaps: flaps.get(&p.number).copied().unwrap_or(0),
                }
            })
            .collect();
        let agg_state = aggregate_state(&st, &states);
        AggrStatus {
            name: self.resolved.name.clone(),
            spec: self.spec.clone(),
            temporary,
            mac: self.mac,
            mtu: self.resolved.mtu,
            up: st.up,
            fallback_active: st.lacp.fallback_active,
            fallback_reason: st.lacp.fallback_reason.clone(),
            carrier_losses: self.carrier_losses,
            members,
            draining: self
                .members
                .values()
                .filter(|m| m.draining)
                .map(|m| m.name.clone())
                .collect(),
            protocol: serde_json::to_value(&st).unwrap_or_default(),
            offload: Some(self.offload_status()),
            why: agg_state.why,
            settings: Settings::of(&self.resolved),
            active_member: st
                .active_member
                .and_then(|p| self.members.get(&p))
                .map(|m| m.name.clone()),
            balancer: st.alb.as_ref().map(|b| self.balancer_status(b)),
            persistent,
            disabled: st
                .disabled
                .iter()
                .filter_map(|p| self.members.get(p))
                .map(|m| m.name.clone())
                .collect(),
        }
    }

    /// Disables member `port` ([`lagd_agg::Aggregation::disable_port`]): drained under Marker
    /// protection, it stays a member.
    pub(crate) fn disable_port(
        &mut self,
        port: PortNumber,
        force: bool,
    ) -> Result<(), lagd_agg::AggError> {
        {
            let mut a = lock(&self.adapter);
            a.agg.disable_port(monotonic_now(), port, force)?;
            a.drain_events();
        }
        self.forwarder.wake();
        Ok(())
    }

    /// Enables member `port` again.
    pub(crate) fn enable_port(&mut self, port: PortNumber) -> Result<(), AggrError> {
        {
            let mut a = lock(&self.adapter);
            a.agg
                .enable_port(monotonic_now(), port)
                .map_err(|e| AggrError::Protocol(e.to_string()))?;
            a.drain_events();
        }
        self.forwarder.wake();
        Ok(())
    }

    /// Whether member `port` carries no frame of ours any more.
    pub(crate) fn is_drained(&self, port: PortNumber) -> bool {
        lock(&self.adapter).agg.is_drained(port)
    }

    /// Active-backup: makes `port` the active member.
    pub(crate) fn choose_active(&mut self, port: PortNumber) -> Result<(), AggrError> {
        {
            let mut a = lock(&self.adapter);
            a.agg
                .choose_active(monotonic_now(), port)
                .map_err(|e| AggrError::Protocol(e.to_string()))?;
            a.drain_events();
        }
        self.forwarder.wake();
        Ok(())
    }

    /// The bucket table with each bucket's load, and where `flow` goes (`ShowHash`).
    pub(crate) fn hash_view(
        &self,
        flow: Option<&lagd_agg::lagd_distrib::FlowKey>,
    ) -> crate::control::proto::HashView {
        use crate::control::proto::{BucketView, FlowPlace, HashView};
        let a = lock(&self.adapter);
        let dist = a.agg.distributor();
        let st = dist.stats();
        let name =
            |p: Option<PortNumber>| p.and_then(|p| self.members.get(&p)).map(|m| m.name.clone());
        let buckets = dist
            .bucket_table()
            .iter()
            .enumerate()
            .map(|(b, p)| BucketView {
                bucket: b,
                member: name(*p),
                moving: dist.is_moving(b),
                last_interval_bytes: st.last_interval_bucket_bytes.get(b).copied().unwrap_or(0),
                current_bytes: st.bucket_bytes.get(b).copied().unwrap_or(0),
            })
            .collect();
        let flow = flow.map(|k| {
            let p = a.agg.place(k);
            FlowPlace {
                key: *k,
                hash: p.hash,
                bucket: p.bucket,
                member: name(p.port),
                moving: p.moving,
                per_frame: p.per_frame,
            }
        });
        let s = Settings::of(&self.resolved);
        HashView {
            aggregate: self.resolved.name.clone(),
            mode: s.mode,
            policy: s.policy,
            interval: s.rebalance_interval,
            buckets,
            flow,
        }
    }

    /// The switch-independent balancer with member names.
    fn balancer_status(
        &self,
        b: &lagd_agg::alb::AlbStatus,
    ) -> crate::control::proto::BalancerStatus {
        use crate::control::proto::{BalancerMember, BalancerPeer, BalancerStatus};
        let name = |p: PortNumber| {
            self.members
                .get(&p)
                .map_or_else(|| format!("port {p}"), |m| m.name.clone())
        };
        BalancerStatus {
            mode: self.resolved.mode.as_str().to_string(),
            receive_member: b.receive_member.map(name),
            addresses: b.addresses.iter().map(ToString::to_string).collect(),
            members: b
                .members
                .iter()
                .map(|m| BalancerMember {
                    name: name(m.port),
                    mac: m.mac,
                    peers: m.peers,
                    rx_rate: m.rx_rate,
                    aggregate_mac_elsewhere: m.aggregate_mac_elsewhere,
                })
                .collect(),
            peers: b
                .peers
                .iter()
                .map(|p| BalancerPeer {
                    ip: p.ip.to_string(),
                    mac: p.mac,
                    member: name(p.member),
                    rx_rate: p.rx_rate,
                })
                .collect(),
        }
    }

    /// The kernel fast path: setting, what runs, why not.
    fn offload_status(&self) -> crate::control::proto::OffloadStatus {
        let mut a = lock(&self.adapter);
        if let Some(o) = a.offload.as_mut() {
            o.harvest_now();
        }
        let mut st = crate::control::proto::OffloadStatus {
            setting: self.resolved.offload.to_string(),
            ..Default::default()
        };
        match (a.offload.as_ref(), &self.offload_unavailable) {
            (Some(o), _) => {
                let t = self.offload_base.clone();
                let mut sent = o.sent_total();
                for p in self.members.keys() {
                    sent += t.of(*p).0;
                }
                let (hand_backs, idle_returns) = o.returns();
                st.active = true;
                st.attach = Some(o.attach_mode().to_string());
                st.fast_buckets = o.fast_buckets();
                st.buckets = o.buckets();
                st.frames = sent.frames;
                st.bytes = sent.bytes;
                st.rx_members = o.rx_members();
                let (rx_frames, rx_bytes) = o.received_total();
                st.rx_frames = rx_frames;
                st.rx_bytes = rx_bytes;
                if a.agg.alb().is_some() {
                    st.rx_untracked_frames = Some(o.rx_untracked().0);
                }
                st.hand_backs = hand_backs;
                st.idle_returns = idle_returns;
                (st.rx_steering, st.rx_steering_crossed) = o.rx_steering();
                let (last, max) = o.hand_back_times();
                st.hand_back_last_us = last / 1000;
                st.hand_back_max_us = max / 1000;
                let refused: Vec<String> = self
                    .members
                    .iter()
                    .filter_map(|(p, m)| o.rx_refused(*p).map(|why| format!("{}: {why}", m.name)))
                    .collect();
                if !refused.is_empty() {
                    st.reason = Some(format!(
                        "received frames of some members take the user-space path ({})",
                        refused.join("; ")
                    ));
                    st.fix = Some(format!(
                        "lagctl remove-aggr -l MEMBER {0}; lagctl add-aggr -l MEMBER {0}",
                        self.resolved.name
                    ));
                }
            }
            (None, Some(u)) => {
                st.reason = Some(u.reason.clone());
                st.fix = Some(u.fix.clone());
            }
            (None, None) => {}
        }
        st
    }

    /// Runs `f` on what `lagd_agg::diagnose` looks at: the protocol status, the members' link
    /// facts (MTU, whether the interface still exists, drops lately), the aggregate's MTU and
    /// the kernel fast path. `dt`: for a distributed aggregation, what the DT runtime knows
    /// (`Some(None)`: no DT domain).
    fn with_diagnose_input<T>(
        &self,
        dt: Option<Option<lagd_agg::diagnose::DtFacts>>,
        f: impl FnOnce(&lagd_agg::diagnose::DiagnoseInput<'_>) -> T,
    ) -> T {
        use crate::member_facts;
        use lagd_agg::diagnose::{DiagnoseInput, LinkFacts, OffloadFacts};
        let st = self.offload_status();
        let (config, status, offload) = {
            let a = lock(&self.adapter);
            let offload = OffloadFacts {
                requested: self.resolved.offload != Offload::Off,
                running: a.offload.is_some(),
                slow_rx: a.offload.as_ref().map_or_else(Vec::new, |o| {
                    self.members
                        .keys()
                        .filter(|p| !o.has_rx(**p))
                        .copied()
                        .collect()
                }),
                setting: st.setting,
                reason: st.reason,
                fix: st.fix,
            };
            (a.agg.config().clone(), a.agg.status(), offload)
        };
        let mut input = DiagnoseInput::new(&self.resolved.name, &config, &status);
        input.now = monotonic_now();
        input.aggregate_mtu = Some(self.resolved.mtu);
        input.offload = Some(offload);
        input.dt = dt;
        let now = std::time::Instant::now();
        for (port, m) in &self.members {
            input.port_names.insert(*port, m.name.clone());
            let recent = m.drops.recent(&m.name, now);
            input.links.insert(
                *port,
                LinkFacts {
                    mtu: member_facts::mtu(&m.name),
                    deleted: !member_facts::exists(m.member.name(), m.member.ifindex()),
                    tx_dropped_recent: recent.map(|(d, _)| d.tx_dropped),
                    rx_errors_recent: recent.map(|(d, _)| d.rx_errors),
                    recent_secs: recent.map(|(_, s)| s),
                    ..LinkFacts::default()
                },
            );
        }
        for (port, name) in &self.absent {
            input.port_names.insert(*port, name.clone());
            input.links.insert(
                *port,
                LinkFacts {
                    deleted: true,
                    ..LinkFacts::default()
                },
            );
        }
        f(&input)
    }

    /// `Diagnose`: `lagd_agg::diagnose` on this aggregation (see `with_diagnose_input`).
    pub(crate) fn diagnose(
        &self,
        dt: Option<Option<lagd_agg::diagnose::DtFacts>>,
    ) -> lagd_agg::diagnose::Diagnosis {
        self.with_diagnose_input(dt, lagd_agg::diagnose::diagnose)
    }

    /// What changing to `next` would do: the findings that say it takes this aggregation down
    /// (empty when it stays up, as far as the evidence tells).
    pub(crate) fn consequences(&self, next: &Resolved) -> Vec<lagd_agg::diagnose::Finding> {
        let mac = next.mac.unwrap_or(self.mac);
        let next = next.aggregation_config(next.system(mac));
        self.with_diagnose_input(None, |input| lagd_agg::diagnose::consequences(input, &next))
    }

    /// Samples the members' kernel drop counters (every few seconds; see
    /// `member_facts::DropHistory`).
    pub(crate) fn sample_members(&mut self) {
        let now = std::time::Instant::now();
        for m in self.members.values_mut() {
            m.drops.sample(&m.name, now);
        }
    }

    /// Counters for `ShowLink`: the aggregate, then its members.
    pub(crate) fn link_stats(&self) -> Vec<LinkStats> {
        let mut fs = self.forwarder.stats();
        {
            // Frames the kernel fast path moved (host → member and member → host), including
            // those of programs replaced since.
            let mut a = lock(&self.adapter);
            let mut totals = self.offload_base.clone();
            if let Some(o) = a.offload.as_mut() {
                // Up to the frame (the load goes to the distributor at the next timeout).
                o.harvest_now();
                totals.absorb(o);
            }
            for (port, s) in fs.members.iter_mut() {
                let (m, r) = totals.of(*port);
                s.opackets += m.frames;
                s.obytes += m.bytes;
                s.ipackets += r.frames;
                s.rbytes += r.bytes;
                s.drops.not_collecting += r.not_collecting;
                fs.tap.ipackets += m.frames;
                fs.tap.rbytes += m.bytes;
                fs.tap.opackets += r.frames;
                fs.tap.obytes += r.bytes;
            }
        }
        let conv = |name: &str, kind: &str, s: &lagd_dataplane::IfStats| {
            let d = &s.drops;
            LinkStats {
                name: name.to_string(),
                aggregate: self.resolved.name.clone(),
                kind: kind.to_string(),
                ipackets: s.ipackets,
                rbytes: s.rbytes,
                ierrors: s.ierrors,
                opackets: s.opackets,
                obytes: s.obytes,
                oerrors: s.oerrors,
                drops: [
                    ("not_collecting", d.not_collecting),
                    ("control", d.control),
                    ("no_port", d.no_port),
                    ("policy", d.policy),
                    ("errors", d.errors),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            }
        };
        let mut out = vec![conv(&self.resolved.name, "aggregate", &fs.tap)];
        for (port, s) in &fs.members {
            let name = self
                .members
                .get(port)
                .map(|m| m.name.as_str())
                .unwrap_or("?");
            out.push(conv(name, "member", s));
        }
        out
    }
}

/// Gives back a member taken for a change that failed.
fn release_unused(state: &StateDir, link: &str, member: Member) {
    let m = MemberRt {
        name: link.to_string(),
        member,
        draining: false,
        drops: Default::default(),
        carrier_losses: 0,
    };
    if let Err(e) = takeover::release_member(state, m) {
        tracing::error!(member = %link, "NOT restored: {e}");
    }
}

/// Members whose frames the kernel fast path receives get a socket that sees Slow Protocols
/// frames only; the others see everything. A member whose socket cannot be filtered loses its
/// receive program (else its frames would reach the aggregate twice). Call with the adapter
/// locked, before the Collecting state is passed to the programs (`drain_events`).
fn filter_member_sockets<'a>(
    a: &mut Adapter,
    forwarder: &Forwarder,
    ports: impl IntoIterator<Item = &'a PortNumber>,
) {
    for port in ports {
        let on = a.offload.as_ref().is_some_and(|o| o.has_rx(*port));
        if let Err(e) = forwarder.set_member_slow_protocols_only(*port, on) {
            tracing::warn!(
                port,
                "offload: member socket filter: {e}; this member's frames take the user-space path"
            );
            if let Some(o) = a.offload.as_mut() {
                o.refuse_rx(*port, format!("socket filter: {e}"));
            }
            let _ = forwarder.set_member_slow_protocols_only(*port, false);
        }
    }
}

/// Loads and attaches the kernel fast path of `r` unless its setting is `off`; on failure
/// the aggregation runs without it, and the reason is returned (and logged). A fast path an
/// earlier lagd left pinned for this aggregation (it crashed, or handed over in a planned
/// restart) is adopted when it fits the configuration: the kernel went on forwarding while no
/// lagd ran, and goes on now without a gap. The fast path is then kept pinned
/// (`StateDir::pin_root`), so that it outlives a crash of this lagd too.
fn start_offload(
    r: &Resolved,
    adapter: &mut Adapter,
    tap: u32,
    members: &BTreeMap<PortNumber, MemberRt>,
    state: &StateDir,
) -> Result<(), crate::offload::Unavailable> {
    use crate::offload::Offload as FastPath;
    let dir = state.pin_root().map(|root| root.join(&r.name));
    let stale = |d: &std::path::Path| {
        FastPath::unpin(d);
        // clsact filters stay on their device without pins.
        if let Ok(mut nl) = Netlink::open() {
            for ifindex in std::iter::once(tap).chain(members.values().map(|m| m.member.ifindex()))
            {
                let _ = nl.remove_lagd_filters(ifindex);
            }
        }
    };
    if r.offload == Offload::Off {
        if let Some(d) = state.existing_pin_root().map(|root| root.join(&r.name))
            && d.exists()
        {
            tracing::info!(aggregate = %r.name, "offload off: the kernel fast path an earlier lagd left is removed");
            stale(&d);
        }
        return Ok(());
    }
    let dist = adapter.agg.distributor();
    let adopted = match &dir {
        Ok(d) if d.join("tx").exists() => {
            let list: Vec<(PortNumber, u32, String)> = members
                .iter()
                .map(|(p, m)| (*p, m.member.ifindex(), m.name.clone()))
                .collect();
            match FastPath::adopt(d, &adapter.agg, tap, &list, r.mode.is_switch_independent()) {
                Ok(o) => {
                    tracing::info!(
                        aggregate = %r.name,
                        fast_buckets = o.fast_buckets(),
                        "offload: kernel fast path of the previous lagd adopted (it forwarded meanwhile)"
                    );
                    Some(o)
                }
                Err(u) => {
                    tracing::info!(aggregate = %r.name, "offload: the previous lagd's fast path is not adopted ({u}); a new one replaces it");
                    stale(d);
                    None
                }
            }
        }
        Ok(d) if d.exists() => {
            stale(d);
            None
        }
        _ => None,
    };
    let fresh = adopted.is_none();
    let mut o = match adopted {
        Some(o) => o,
        None => {
            let mut o = match FastPath::start(dist, tap, r.mode.is_switch_independent()) {
                Ok(o) => o,
                Err(u) => {
                    tracing::warn!(
                        aggregate = %r.name,
                        setting = %r.offload,
                        "offload: the kernel fast path is unavailable ({u}); frames take the user-space path. Fix: {}",
                        u.fix
                    );
                    return Err(u);
                }
            };
            for (port, m) in members {
                o.set_member(*port, m.member.ifindex(), &m.name);
            }
            o
        }
    };
    o.sync_balancer(adapter.agg.alb());
    o.sync(&adapter.agg);
    // Receive steering by flow (`rx_steering`, lagd's `offload::steering`), before the
    // receive programs deliver: set at once on a fresh fast path.
    o.set_rx_steering(&r.name, r.rx_steering, fresh);
    // The receive programs deliver at once for Collecting members, before the caller filters
    // the sockets: a frame may then arrive twice for an instant, never not at all.
    let agg = &adapter.agg;
    o.sync_collecting(|p| agg.is_collecting(p));
    if o.pinned().is_none() {
        let names = members.iter().map(|(p, m)| (*p, m.name.clone())).collect();
        let pinned = dir
            .clone()
            .and_then(|d| o.keep_pinned(d, names).map_err(|e| e.to_string()));
        if let Err(why) = pinned {
            tracing::warn!(
                aggregate = %r.name,
                "offload: the kernel fast path is not pinned ({why}): if lagd crashes, forwarding stops until it is back"
            );
        }
    }
    if fresh {
        tracing::info!(
            aggregate = %r.name,
            mode = %dist.config().mode,
            policy = %dist.config().policy,
            attach = %o.attach_mode(),
            pinned = o.pinned().is_some(),
            "offload: kernel fast path attached"
        );
    }
    // Frames now also leave by the kernel, counted only at its harvest: no move shares a
    // Marker already sent (Distributor::set_other_sender).
    adapter.agg.set_other_sender(true);
    adapter.offload = Some(o);
    Ok(())
}

/// Puts back the operator's choices of a previous lagd ([`crate::state::OperatorRecord`]) on a
/// fresh (or resumed) aggregation, before its members carry traffic: disabled members stay
/// out of distribution, the chosen active member takes the traffic once it can.
fn restore_operator_choices(
    state: &StateDir,
    name: &str,
    adapter: &mut Adapter,
    now: lagd_types::Instant,
) {
    let Some(rec) = state.operator(name) else {
        return;
    };
    let port_of = |a: &Adapter, l: &str| a.port_names.number_of(l);
    let mut done = Vec::new();
    for l in &rec.disabled {
        match port_of(adapter, l).map(|p| adapter.agg.disable_port(now, p, true)) {
            Some(Ok(())) => done.push(format!("{l} disabled")),
            Some(Err(e)) => tracing::warn!(aggregate = %name, "keeping {l} disabled: {e}"),
            None => tracing::info!(aggregate = %name, "{l} was disabled but is no longer a member"),
        }
    }
    if let Some(l) = &rec.active {
        match port_of(adapter, l).map(|p| adapter.agg.prefer_active(now, p)) {
            Some(Ok(())) => done.push(format!("{l} chosen active")),
            Some(Err(e)) => tracing::info!(aggregate = %name, "{l} was chosen active: {e}"),
            None => {
                tracing::info!(aggregate = %name, "{l} was chosen active but is no longer a member")
            }
        }
    }
    if !done.is_empty() {
        tracing::info!(aggregate = %name, "operator choices kept from before the restart: {}", done.join(", "));
    }
}
