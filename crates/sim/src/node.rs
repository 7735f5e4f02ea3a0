//! The one place where the simulator meets lagd's protocol code: a node's aggregations, each a
//! real [`lagd_agg::Aggregation`], driven exactly as the daemon drives it (inputs, then drain
//! `poll_transmit`, `poll_release`, `poll_event`, then sleep until `poll_timeout`).

use crate::bfd::{BfdEvent, SimBfd};
use crate::scenario::{AggDef, Node};
use lagd_agg::lagd_distrib::{Completion, Dispatch, DistEvent, DropReason, MoveReason};
use lagd_agg::lagd_lacp::{LinkStatus, PortConfig, PortStatus};
use lagd_agg::{AggEvent, Aggregation, AggregationConfig, RxVerdict};
use lagd_node::driver::{EventDrain, PortNumbers, port_name};
use lagd_node::settings::{AggrSettings, AggrSpec, Resolved};
use lagd_types::{Instant, PortNumber, PortState, SystemId};
use lagd_wire::SlowFrame;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;

pub use crate::packet::Frame;

/// Something a node wants the simulator to do or record.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send `frame` on port index `port`.
    Send {
        /// Port index.
        port: usize,
        /// The frame.
        frame: Frame,
        /// A slow-protocols frame (LACPDU / Marker) rather than data.
        control: bool,
    },
    /// A protocol event, as one readable line (port index if it concerns one port).
    Event {
        /// Port index.
        port: Option<usize>,
        /// Text with the reason.
        text: String,
        /// Routine detail (periodic machine, state octets, churn monitoring, marker answers):
        /// recorded in JSON, left out of the text output.
        verbose: bool,
    },
    /// A port the caller asked to drain carries nothing any more.
    Drained {
        /// Port index.
        port: usize,
    },
}

/// What became of a data frame handed to an aggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxResult {
    /// Sent on one or more ports (as `Output::Send`).
    Sent,
    /// Held by the distributor during a marker-protected move (comes out later).
    Held,
    /// No Distributing member.
    NoPort,
    /// The held queue was full.
    HeldQueueFull,
}

/// One line of per-port LACP state, for the "state changed" report lines and checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSnap {
    /// Receive machine state name.
    pub receive: String,
    /// Mux machine state name.
    pub mux: String,
    /// SELECTED / UNSELECTED / STANDBY.
    pub selected: String,
    /// Actor_Oper_Port_State.
    pub actor: PortState,
    /// Partner_Oper_Port_State.
    pub partner: PortState,
    /// Why it is not distributing.
    pub why: Option<String>,
}

impl PortSnap {
    fn of(s: &PortStatus) -> Self {
        PortSnap {
            receive: s.receive.to_string(),
            mux: s.mux.to_string(),
            selected: s.selected.to_string(),
            actor: s.actor.state,
            partner: s.partner.state,
            why: s.why_not_distributing.clone(),
        }
    }
}

/// The eight state flags as letters (A activity, T short timeout, G aggregation, S sync,
/// C collecting, D distributing, F defaulted, E expired), `-` when clear.
pub fn flags(s: PortState) -> String {
    "ATGSCDFE"
        .chars()
        .enumerate()
        .map(|(i, c)| if s.0 & (1 << i) != 0 { c } else { '-' })
        .collect()
}

/// Aggregation `index` of `node` with `settings`, resolved by the settings model (the
/// daemon's defaults and checks); the node's `system_priority` is the default of the
/// aggregation's.
pub fn resolve(node: &Node, index: usize, settings: &AggrSettings) -> Result<Resolved, String> {
    let def = node
        .aggs
        .get(index)
        .ok_or_else(|| format!("node {} has no aggregation {index}", node.name))?;
    let mut settings = settings.clone();
    settings.system_priority = settings.system_priority.or(Some(node.system_priority));
    let spec = AggrSpec {
        name: def.name.clone(),
        links: def
            .ports
            .iter()
            .map(|&p| node.ports[p].name.clone())
            .collect(),
        settings,
    };
    spec.resolve_settings().map_err(|e| e.to_string())
}

/// The protocol configuration of aggregation `index` of `node` with `settings` (the daemon's
/// own translation, with the node's MAC as the System address).
pub fn build_config(
    node: &Node,
    index: usize,
    s: &AggrSettings,
) -> Result<AggregationConfig, String> {
    let r = resolve(node, index, s)?;
    let config = r.aggregation_config(r.system(node.mac));
    config.lacp.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// One running aggregation of a node.
pub struct AggRt {
    /// The protocol object.
    pub agg: Aggregation<Frame>,
    /// Scenario settings in force (after `set` faults).
    pub settings: AggrSettings,
    /// Member port indices, in the order they were added.
    pub members: Vec<usize>,
    /// The timer event currently queued for it, if any.
    pub scheduled: Option<Instant>,
    /// Ports being drained.
    pub draining: Vec<usize>,
    snaps: BTreeMap<usize, PortSnap>,
    /// Added to every LACP port number (a DT secondary numbers its ports from 0x8000).
    port_base: u16,
    /// LACP system id replacing the node's (a DT aggregation's shared or own id).
    system: Option<SystemId>,
    /// Micro-BFD, when the settings configure it ([`crate::bfd`]).
    bfd: Option<SimBfd>,
    /// The driver's drain of its events.
    drain: EventDrain,
}

impl AggRt {
    /// Builds aggregation `index` of `node` with its members, each told its current link.
    pub fn new(
        now: Instant,
        node: &Node,
        index: usize,
        def: &AggDef,
        settings: &AggrSettings,
        members: &[usize],
        link: &dyn Fn(usize) -> LinkStatus,
    ) -> Result<AggRt, String> {
        Self::with_identity(now, node, index, def, settings, members, link, 0, None)
    }

    /// As [`AggRt::new`], with LACP port numbers from `port_base` and, if given, `system`
    /// instead of the node's system id (a DT aggregation, numbered and identified as the
    /// DT decision says).
    #[allow(clippy::too_many_arguments)]
    pub fn with_identity(
        now: Instant,
        node: &Node,
        index: usize,
        def: &AggDef,
        settings: &AggrSettings,
        members: &[usize],
        link: &dyn Fn(usize) -> LinkStatus,
        port_base: u16,
        system: Option<SystemId>,
    ) -> Result<AggRt, String> {
        if !PortNumbers::from_base(port_base).fits(node.ports.len()) {
            return Err(format!("port number base {port_base:#06x} leaves no room"));
        }
        let mut config = build_config(node, index, settings)?;
        if let Some(s) = system {
            config.lacp.system = s;
        }
        let bfd = resolve(node, index, settings)?.bfd.map(|cfg| {
            let seed = u64::from_be_bytes([
                0,
                0,
                node.mac.0[0],
                node.mac.0[1],
                node.mac.0[2],
                node.mac.0[3],
                node.mac.0[4],
                node.mac.0[5],
            ]) ^ index as u64;
            SimBfd::new(cfg, seed, node.ip, node.mac)
        });
        let mut rt = AggRt {
            agg: Aggregation::new(config),
            settings: settings.clone(),
            members: Vec::new(),
            scheduled: None,
            draining: Vec::new(),
            snaps: BTreeMap::new(),
            port_base,
            system,
            bfd,
            drain: EventDrain::new(),
        };
        for &p in members {
            rt.add_port(now, node, def, p, link(p))?;
        }
        rt.tell_addresses(now, node);
        Ok(rt)
    }

    /// Gives the aggregation the node's address, as the daemon gives it the aggregate's
    /// addresses it reads from the kernel (used by `transmit-lb` / `adaptive-lb`).
    fn tell_addresses(&mut self, now: Instant, node: &Node) {
        if let Some(ip) = node.ip {
            self.agg.set_local_addresses(now, &[IpAddr::V4(ip)]);
        }
    }

    /// LACP port number of port index `idx` (the port's slot: numbers follow the node's
    /// port order from the base).
    fn port_number(&self, idx: usize) -> PortNumber {
        PortNumbers::from_base(self.port_base).nth(idx)
    }

    /// Port index of LACP port number `n`.
    fn port_index(&self, n: PortNumber) -> usize {
        PortNumbers::from_base(self.port_base).slot(n)
    }

    /// LACP port number of port index `idx` (as the aggregation numbers it).
    pub fn port_number_of(&self, idx: usize) -> PortNumber {
        self.port_number(idx)
    }

    /// Port index of the aggregation's port number `n`.
    pub fn port_index_of(&self, n: PortNumber) -> usize {
        self.port_index(n)
    }

    /// The port number base in force.
    pub fn port_base(&self) -> u16 {
        self.port_base
    }

    /// Replaces the LACP system id live (a DT decision), keeping every other setting.
    pub fn set_system(&mut self, now: Instant, system: SystemId) -> Result<(), String> {
        let mut cfg = self.agg.config().clone();
        cfg.lacp.system = system;
        self.agg.set_config(now, cfg).map_err(|e| e.to_string())?;
        self.system = Some(system);
        Ok(())
    }

    /// Distinct partner systems of the Distributing members.
    pub fn partner_systems(&self) -> Vec<SystemId> {
        let lacp = self.agg.lacp();
        let mut v: Vec<SystemId> = lacp
            .distributing_ports()
            .into_iter()
            .filter_map(|n| lacp.port(n).map(|p| p.partner.system))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Adds port index `p` and reports its link.
    pub fn add_port(
        &mut self,
        now: Instant,
        node: &Node,
        def: &AggDef,
        p: usize,
        link: LinkStatus,
    ) -> Result<(), String> {
        let port = node
            .ports
            .get(p)
            .ok_or_else(|| format!("no port index {p}"))?;
        let mut pc = PortConfig::new(self.port_number(p), port.mac);
        if let Some(&prio) = def.port_priority.get(&p) {
            pc.priority = prio;
        }
        self.agg
            .add_port(now, pc)
            .map_err(|e| format!("add port {}: {e}", port.name))?;
        let n = self.port_number(p);
        let link = match self.bfd.as_mut() {
            Some(b) => b.add_port(now, n, port.mac, link),
            None => link,
        };
        self.agg.handle_link(now, n, link);
        self.members.push(p);
        Ok(())
    }

    /// Removes port index `p` at once.
    pub fn remove_port(&mut self, now: Instant, p: usize) -> Result<(), String> {
        self.agg
            .remove_port(now, self.port_number(p))
            .map_err(|e| e.to_string())?;
        let n = self.port_number(p);
        if let Some(b) = self.bfd.as_mut() {
            b.remove_port(n);
        }
        self.members.retain(|&m| m != p);
        self.draining.retain(|&m| m != p);
        self.snaps.remove(&p);
        Ok(())
    }

    /// Starts a graceful removal of port index `p`.
    pub fn drain_port(&mut self, now: Instant, p: usize) -> Result<(), String> {
        self.agg
            .drain_port(now, self.port_number(p))
            .map_err(|e| e.to_string())?;
        self.draining.push(p);
        Ok(())
    }

    /// Applies new settings live.
    pub fn set(
        &mut self,
        now: Instant,
        node: &Node,
        index: usize,
        patch: &AggrSettings,
    ) -> Result<(), String> {
        let merged = self.settings.with(patch);
        let mut cfg = build_config(node, index, &merged)?;
        if let Some(s) = self.system {
            cfg.lacp.system = s;
        }
        self.agg.set_config(now, cfg).map_err(|e| e.to_string())?;
        if let (Some(b), Some(c)) = (self.bfd.as_mut(), resolve(node, index, &merged)?.bfd) {
            b.set_config(now, c)?;
        }
        self.tell_addresses(now, node);
        self.settings = merged;
        Ok(())
    }

    /// Carrier change of port index `p`.
    pub fn handle_link(&mut self, now: Instant, p: usize, link: LinkStatus) {
        let n = self.port_number(p);
        let link = match self.bfd.as_mut() {
            Some(b) => b.handle_link(now, n, link),
            None => link,
        };
        self.agg.handle_link(now, n, link);
    }

    /// Applies micro-BFD session changes to the LACP core (a member Down is a link down).
    fn apply_bfd(&mut self, now: Instant) {
        if let Some(b) = &self.bfd {
            for (n, link) in b.link_changes(&self.agg) {
                self.agg.handle_link(now, n, link);
            }
        }
    }

    /// Micro-BFD's sessions, if configured.
    pub fn bfd(&self) -> Option<&SimBfd> {
        self.bfd.as_ref()
    }

    /// A frame received on port index `p`, and the frame to deliver if the verdict says so
    /// (in `transmit-lb` / `adaptive-lb` the receive filter may have rewritten its destination),
    /// as the daemon's forwarder hands it over: Slow Protocols frames to the Frame Collector,
    /// data frames through the receive filter when the aggregation has one.
    pub fn handle_rx(&mut self, now: Instant, p: usize, frame: &Frame) -> (RxVerdict, Frame) {
        let n = self.port_number(p);
        if let Some(b) = self.bfd.as_mut()
            && SimBfd::is_bfd(frame)
        {
            b.handle_frame(now, n, frame);
            self.apply_bfd(now);
            return (RxVerdict::Control, Rc::clone(frame));
        }
        if self.agg.filters_port_frames() && !SlowFrame::is_slow_protocols(frame) {
            let mut v = frame.to_vec();
            let verdict = self.agg.filter_port_frame(now, n, &mut v);
            (verdict, Rc::from(v))
        } else {
            (self.agg.handle_port_frame(now, n, frame), Rc::clone(frame))
        }
    }

    /// A host frame leaving on port number `port` (dispatched or released): as the daemon's
    /// `prepare_tx`, the balancer of a switch-independent mode may rewrite it and choose
    /// another member. Returns the port index and the frame.
    fn prepare(&mut self, now: Instant, port: PortNumber, frame: Frame) -> (usize, Frame) {
        if !self.agg.filters_port_frames() {
            return (self.port_index(port), frame);
        }
        let mut v = frame.to_vec();
        let port = self.agg.prepare_host_frame(now, &mut v, port);
        (self.port_index(port), Rc::from(v))
    }

    /// The aggregation, for observation (checks and the report).
    pub fn aggregation(&self) -> &Aggregation<Frame> {
        &self.agg
    }

    /// A data frame from the host.
    pub fn handle_tx(&mut self, now: Instant, frame: Frame, out: &mut Vec<Output>) -> TxResult {
        let bytes = Rc::clone(&frame);
        match self.agg.handle_host_frame(now, &bytes, frame) {
            Dispatch::Send(port, f) => {
                let (port, frame) = self.prepare(now, port, f);
                out.push(Output::Send {
                    port,
                    frame,
                    control: false,
                });
                TxResult::Sent
            }
            Dispatch::Broadcast(f) => {
                for port in self.agg.broadcast_ports() {
                    out.push(Output::Send {
                        port: self.port_index(port),
                        frame: Rc::clone(&f),
                        control: false,
                    });
                }
                TxResult::Sent
            }
            Dispatch::Held => TxResult::Held,
            Dispatch::Drop(_, DropReason::NoPort) => TxResult::NoPort,
            Dispatch::Drop(_, DropReason::HeldQueueFull) => TxResult::HeldQueueFull,
        }
    }

    /// Runs due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(b) = self.bfd.as_mut() {
            b.handle_timeout(now);
            self.apply_bfd(now);
        }
        self.agg.handle_timeout(now);
    }

    /// The next instant `handle_timeout` is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let bfd = self.bfd.as_ref().and_then(SimBfd::poll_timeout);
        match (self.agg.poll_timeout(), bfd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drains transmissions, released frames and events into `out`; returns whether any
    /// event was produced (so the caller may look at port states).
    pub fn pump(&mut self, now: Instant, names: &[String], out: &mut Vec<Output>) -> bool {
        while let Some(t) = self.agg.poll_transmit(now) {
            out.push(Output::Send {
                port: self.port_index(t.port),
                frame: Rc::from(t.frame),
                control: true,
            });
        }
        let mut any = false;
        let base = self.port_base;
        if let Some(b) = self.bfd.as_mut() {
            while let Some((port, frame)) = b.poll_transmit(now) {
                out.push(Output::Send {
                    port: PortNumbers::from_base(base).slot(port),
                    frame,
                    control: true,
                });
            }
        }
        // The driver's drain: micro-BFD's events (its session changes reached the LACP core at
        // their input, see `apply_bfd`), the released frames, then the aggregation's events.
        let _ = self
            .drain
            .drain_bfd(self.bfd.as_mut().map(SimBfd::core_mut), |e| {
                any = true;
                let e = BfdEvent::of(e);
                out.push(Output::Event {
                    port: e.port.map(|n| PortNumbers::from_base(base).slot(n)),
                    text: e.text,
                    verbose: e.verbose,
                });
            });
        while let Some((port, f)) = self.agg.poll_release() {
            let (port, frame) = self.prepare(now, port, f);
            out.push(Output::Send {
                port,
                frame,
                control: false,
            });
        }
        let mut events = Vec::new();
        any |= self.drain.drain_agg(&mut self.agg, |ev| events.push(ev)) > 0;
        for ev in events {
            self.report(ev, names, out);
        }
        any
    }

    /// One event of the aggregation into `out`. LACP events are described as in the daemon's
    /// log, detail ([`AggEvent::is_detail`]) in the JSON only; the distributor's in the
    /// report's own words ([`dist_text`]), with no port, printed but for moves that released
    /// nothing; the balancer's as in the daemon's log, printed; a drained port is no event but
    /// [`Output::Drained`].
    fn report(&mut self, ev: AggEvent, names: &[String], out: &mut Vec<Output>) {
        let verbose = ev.is_detail();
        match ev {
            AggEvent::Lacp(e) => out.push(Output::Event {
                port: e.port.map(|n| self.port_index(n)),
                text: e.kind.to_string(),
                verbose,
            }),
            AggEvent::Dist(e) => out.push(Output::Event {
                port: None,
                text: dist_text_in(&e, names, self.port_base),
                verbose: matches!(
                    e,
                    DistEvent::MoveCompleted {
                        held_released: 0,
                        ..
                    }
                ),
            }),
            AggEvent::Drained { port } => {
                let p = self.port_index(port);
                self.draining.retain(|&m| m != p);
                out.push(Output::Drained { port: p });
            }
            ev @ AggEvent::Alb(_) => out.push(Output::Event {
                port: ev.port().map(|n| self.port_index(n)),
                text: ev.describe(&|n| name(names, self.port_base, n)),
                verbose: false,
            }),
        }
    }

    /// State of port index `p`.
    pub fn status(&self, p: usize) -> Option<PortStatus> {
        self.agg.lacp().port(self.port_number(p))
    }

    /// Whether the aggregate is up.
    pub fn is_up(&self) -> bool {
        self.agg.is_up()
    }

    /// Whether fallback is active.
    pub fn fallback_active(&self) -> bool {
        self.agg.lacp().status().fallback_active
    }

    /// Number of Distributing members.
    pub fn distributing(&self) -> usize {
        self.agg.lacp().distributing_ports().len()
    }

    /// Ports whose state changed since the last call, with their new state.
    pub fn changed_states(&mut self) -> Vec<(usize, PortSnap)> {
        let mut v = Vec::new();
        for s in self.agg.lacp().ports() {
            let p = self.port_index(s.number);
            let snap = PortSnap::of(&s);
            if self.snaps.get(&p) != Some(&snap) {
                self.snaps.insert(p, snap.clone());
                v.push((p, snap));
            }
        }
        v
    }
}

fn name(names: &[String], base: u16, p: PortNumber) -> String {
    let slot = PortNumbers::from_base(base).slot(p);
    port_name(names.get(slot).map(String::as_str), p)
}

/// One readable line for a distributor event, with port names.
pub fn dist_text(e: &DistEvent, names: &[String]) -> String {
    dist_text_in(e, names, 0)
}

/// [`dist_text`] for an aggregation whose port numbers start after `base`.
fn dist_text_in(e: &DistEvent, names: &[String], base: u16) -> String {
    let name = |names: &[String], p: PortNumber| name(names, base, p);
    match e {
        DistEvent::BucketsMoved {
            from,
            to,
            buckets,
            reason,
        } => {
            let reason = match reason {
                MoveReason::PortFailed => "port failed",
                MoveReason::PortAdded => "port added",
                MoveReason::Rebalance => "rebalance",
                MoveReason::Drain => "drain",
                MoveReason::Chosen => "chosen",
                MoveReason::PolicyChange => "policy change",
            };
            format!(
                "distributor: {buckets} buckets {} -> {} ({reason})",
                from.map_or("-".to_string(), |p| name(names, p)),
                name(names, *to)
            )
        }
        DistEvent::MoveCompleted {
            id,
            by,
            held_released,
        } => {
            let by = match by {
                Completion::MarkerResponse => "marker response",
                Completion::Timeout => "marker timeout",
                Completion::CollectorDelay => "collector delay",
            };
            format!(
                "distributor: move {id} completed by {by}, {held_released} held frames released"
            )
        }
        DistEvent::Drained { port } => format!("distributor: {} drained", name(names, *port)),
        DistEvent::ActiveChanged { port } => format!(
            "distributor: active port {}",
            port.map_or("none".to_string(), |p| name(names, p))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_letters() {
        assert_eq!(flags(PortState(0x3d)), "A-GSCD--");
        assert_eq!(flags(PortState(0xff)), "ATGSCDFE");
        assert_eq!(flags(PortState(0)), "--------");
    }
}
