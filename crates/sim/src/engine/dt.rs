//! The simulator's side of Distributed Trunking: starting and stopping each switch's
//! [`lagd_dt::Dt`], carrying its frames, the periodic reconciliation that applies its
//! decisions to the switch's aggregations (as `crates/lagd/src/dt/runtime.rs` does), and the
//! switches' forwarding (model in [`crate::dt`]).

use super::{Ev, Simulator};
use crate::dt::{DtSummary, DtSwitchRt, Hop, aggr_config, dt_config, fallback_hop, next_hop};
use crate::error::SimError;
use crate::node::{AggRt, Frame, TxResult};
use crate::packet::parse_data;
use crate::report::EventRecord;
use crate::scenario::{AggRef, PortRef};
use lagd_agg::lagd_lacp::LinkStatus;
use lagd_dt::{Decision, Dt, DtEventKind, DtFrame, DtPath};
use lagd_node::dt::{AggrFacts, DtAction, Reconciler};
use lagd_types::{Duration, Instant, SystemId};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::rc::Rc;

/// Timeouts run at one instant before the switch's timer is pushed 1 us on (livelock guard).
const MAX_TIMEOUTS_PER_INSTANT: u32 = 1000;

impl Simulator {
    /// Creates the DT switches and starts their cores (before the nodes start, so that the
    /// distributed members are held down from the first instant).
    pub(super) fn dt_init(&mut self) -> Result<(), SimError> {
        for d in 0..self.sc.dt.len() {
            for side in 0..2 {
                let rt = DtSwitchRt::new(&self.sc, d, side);
                self.node_dt[rt.node] = Some(self.dts.len());
                self.dts.push(rt);
            }
        }
        for sw in 0..self.dts.len() {
            self.dt_start(sw)?;
        }
        Ok(())
    }

    /// Schedules every switch's first reconciliation (now).
    pub(super) fn dt_schedule_reconcile(&mut self) {
        for sw in 0..self.dts.len() {
            self.q.push(self.now, Ev::DtReconcile { sw });
        }
    }

    /// LACP port number base and system id aggregation `ai` of node `ni` must start with:
    /// the DT decision's for a distributed aggregation, `(0, None)` otherwise.
    pub(super) fn dt_identity(&self, ni: usize, ai: usize) -> (u16, Option<SystemId>) {
        let Some(sw) = self.node_dt.get(ni).copied().flatten() else {
            return (0, None);
        };
        let rt = &self.dts[sw];
        let dom = &self.sc.dt[rt.domain];
        let Some(def) = dom.aggregations.iter().find(|a| a.aggs[rt.side] == ai) else {
            return (0, None);
        };
        match rt.dt.as_ref().and_then(|dt| dt.decision(def.id)) {
            Some(d) => (d.port_number_base, Some(d.lacp_system)),
            None => (0, Some(def.system)),
        }
    }

    /// A fresh core for switch `sw`: state Init, every distributed member held down until the
    /// first decision that enables it.
    fn dt_start(&mut self, sw: usize) -> Result<(), SimError> {
        let now = self.now;
        let (domain, side, node) = (self.dts[sw].domain, self.dts[sw].side, self.dts[sw].node);
        let dom = &self.sc.dt[domain];
        let n = &self.sc.nodes[node];
        let rt = &mut self.dts[sw];
        rt.starts += 1;
        let err = |message: String| SimError::Config {
            context: format!("DT switch {:?}", n.name),
            message,
        };
        let mut dt =
            Dt::new(now, dt_config(dom, side, n, rt.starts)).map_err(|e| err(e.to_string()))?;
        let mut reconciler = Reconciler::new();
        for (j, def) in dom.aggregations.iter().enumerate() {
            let ai = def.aggs[side];
            let settings = match self.nodes.get(node).and_then(|x| x.aggs.get(ai)) {
                Some(Some(a)) => a.settings.clone(),
                _ => n.aggs[ai].settings.clone(),
            };
            let c = aggr_config(def, n, ai, &settings, 0);
            reconciler
                .register(&mut dt, now, &j, &c)
                .map_err(|e| err(e.to_string()))?;
            rt.held[j] = true;
        }
        rt.dt = Some(dt);
        rt.reconciler = reconciler;
        // The daemon sweeps what an earlier run installed.
        rt.fdb.clear();
        rt.scheduled = None;
        self.dt_apply_holds(sw);
        self.dt_pump(sw);
        Ok(())
    }

    /// Starts the DT core of `node` if it is a DT switch.
    pub(super) fn dt_start_node(&mut self, node: usize) -> Result<(), SimError> {
        match self.node_dt[node] {
            Some(sw) => self.dt_start(sw),
            None => Ok(()),
        }
    }

    /// Stops the DT core of `node` if it is a DT switch (its held links stay held; the
    /// entries it installed for the peer go, as the daemon's do when it stops).
    pub(super) fn dt_stop_node(&mut self, node: usize) {
        if let Some(sw) = self.node_dt[node] {
            self.dts[sw].dt = None;
            self.dts[sw].scheduled = None;
            self.dts[sw].fdb.clear();
        }
    }

    /// Whether link `li` has carrier: up as far as faults go, not held down by a DT decision,
    /// both ends powered.
    pub(super) fn link_wanted(&self, li: usize) -> bool {
        let l = &self.sc.links[li];
        self.link_admin[li]
            && !self.link_hold[li]
            && self.powered[l.a.node]
            && self.powered[l.b.node]
    }

    /// Gives link `li` the carrier it should have, telling both ends if it changes.
    fn refresh_link(&mut self, li: usize) {
        let want = self.link_wanted(li);
        if want != self.links[li].is_up() {
            self.links[li].set_up(want, self.now);
            // While the simulator is being built no node runs yet: nothing to tell.
            if self.nodes.len() == self.sc.nodes.len() {
                self.notify_link(li);
            }
        }
    }

    /// Refreshes every link of `node`.
    pub(super) fn refresh_node_links(&mut self, node: usize) {
        for li in 0..self.sc.links.len() {
            let l = &self.sc.links[li];
            if l.a.node == node || l.b.node == node {
                self.refresh_link(li);
            }
        }
    }

    /// Holds down the links of every member of a distributed aggregation whose decision
    /// keeps its ports down, and releases the others.
    fn dt_apply_holds(&mut self, sw: usize) {
        let rt = &self.dts[sw];
        if rt.dt.is_none() {
            return;
        }
        let node = rt.node;
        let mut want = BTreeSet::new();
        for (j, def) in self.sc.dt[rt.domain].aggregations.iter().enumerate() {
            if !rt.held[j] {
                continue;
            }
            let ai = def.aggs[rt.side];
            let members = match self.nodes.get(node).and_then(|x| x.aggs.get(ai)) {
                Some(Some(a)) => a.members.clone(),
                _ => self.sc.nodes[node].aggs[ai].ports.clone(),
            };
            for p in members {
                if let Some((li, _)) = self.attach[node].get(p).copied().flatten() {
                    want.insert(li);
                }
            }
        }
        let old = std::mem::take(&mut self.dts[sw].held_links);
        let changed: Vec<usize> = old.symmetric_difference(&want).copied().collect();
        for &li in &changed {
            self.link_hold[li] = want.contains(&li);
        }
        self.dts[sw].held_links = want;
        for li in changed {
            self.refresh_link(li);
        }
    }

    /// Drains the core of switch `sw`: frames onto the peer link / keepalive, events into the
    /// report, the reconciliation's forwarding entries (MAC sync) into the switch's table;
    /// schedules its next timeout.
    fn dt_pump(&mut self, sw: usize) {
        let now = self.now;
        let rt = &mut self.dts[sw];
        let Some(dt) = rt.dt.as_mut() else {
            return;
        };
        let mut tx = Vec::new();
        while let Some(t) = dt.poll_transmit() {
            tx.push(t);
        }
        let mut events = Vec::new();
        while let Some(e) = dt.poll_event() {
            // Ignored and refused PDUs repeat with every PDU: the text output shows each
            // distinct one once, the JSON every one.
            let repeats = matches!(
                e.kind,
                DtEventKind::ForeignDomain { .. }
                    | DtEventKind::Looped { .. }
                    | DtEventKind::RxError { .. }
            );
            let text = e.kind.to_string();
            let verbose = repeats && !rt.printed.insert(text.clone());
            events.push((text, verbose));
        }
        for a in rt.reconciler.poll_fdb(dt, now) {
            if let DtAction::Fdb {
                install,
                vlan,
                mac,
                target,
            } = a
            {
                if install {
                    rt.fdb.insert((vlan, mac), target);
                } else if rt.fdb.get(&(vlan, mac)) == Some(&target) {
                    rt.fdb.remove(&(vlan, mac));
                }
            }
        }
        if let Some(mut d) = dt.poll_timeout() {
            if d < now {
                d = now;
            }
            if d == now && rt.last_timeout == (now, MAX_TIMEOUTS_PER_INSTANT) {
                d = now + Duration::from_micros(1);
            }
            if rt.scheduled != Some(d) {
                rt.scheduled = Some(d);
                self.q.push(d, Ev::DtTimer { sw });
            }
        }
        let sdef = &self.sc.dt[rt.domain].switches[rt.side];
        let (node, pl, ka) = (rt.node, sdef.peer_port, sdef.keepalive_port);
        for t in tx {
            let port = match t.path {
                DtPath::PeerLink => Some(pl),
                DtPath::Keepalive => ka,
            };
            if let Some(p) = port {
                self.send(node, p, Rc::from(t.frame), true);
            }
        }
        for (text, verbose) in events {
            self.dt_event_line(sw, text, verbose);
        }
    }

    /// Records a DT event (`verbose`: in the JSON only).
    fn dt_event_line(&mut self, sw: usize, text: String, verbose: bool) {
        if self.opts.quiet {
            return;
        }
        let agg = format!("{}/dt", self.sc.nodes[self.dts[sw].node].name);
        if self.sc.report.events && !verbose {
            let _ = writeln!(self.text, "{:>10}  {agg}: {text}", self.now.to_string());
        }
        self.report.events.push(EventRecord {
            t: self.now.as_secs_f64(),
            aggregation: agg,
            port: None,
            text,
        });
    }

    /// The core's timer.
    pub(super) fn dt_timer(&mut self, at: Instant, sw: usize) {
        let alive = self.nodes[self.dts[sw].node].alive;
        let rt = &mut self.dts[sw];
        if rt.scheduled != Some(at) || !alive {
            return; // stale, or the switch is down
        }
        rt.scheduled = None;
        let Some(dt) = rt.dt.as_mut() else {
            return;
        };
        rt.last_timeout = if rt.last_timeout.0 == at {
            (at, (rt.last_timeout.1 + 1).min(MAX_TIMEOUTS_PER_INSTANT))
        } else {
            (at, 0)
        };
        dt.handle_timeout(at);
        self.dt_pump(sw);
    }

    /// The reconciliation ([`lagd_node::dt::Reconciler`], the daemon's own): peer link
    /// carrier, each distributed aggregation's configuration, numbering, System and live
    /// members in; its actions applied to the model (System id, port numbers, links held
    /// down). Peer-link isolation has nothing to act on here (no flooding is modelled).
    pub(super) fn dt_reconcile(&mut self, sw: usize) {
        let now = self.now;
        let (domain, side, node) = (self.dts[sw].domain, self.dts[sw].side, self.dts[sw].node);
        let dom = &self.sc.dt[domain];
        self.q.push(now + dom.reconcile, Ev::DtReconcile { sw });
        if !self.nodes[node].alive {
            return;
        }
        let pl_up = self.links[dom.peer_link].is_up();
        let mut facts = Vec::new();
        for (j, def) in dom.aggregations.iter().enumerate() {
            let ai = def.aggs[side];
            let Some(Some(agg)) = self.nodes[node].aggs.get(ai) else {
                continue;
            };
            facts.push(AggrFacts::of(j, &agg.agg, agg.port_base(), |speed| {
                aggr_config(def, &self.sc.nodes[node], ai, &agg.settings, speed)
            }));
        }
        let rt = &mut self.dts[sw];
        let Some(dt) = rt.dt.as_mut() else {
            return;
        };
        let actions = rt.reconciler.reconcile(dt, now, pl_up, &facts);
        let mut touched = Vec::new();
        let mut renumber = Vec::new();
        let mut refused = Vec::new();
        for a in actions {
            match a {
                DtAction::Refused { aggr, error } => {
                    refused.push(format!(
                        "aggregation {}: {error}",
                        dom.aggregations[aggr].name
                    ));
                }
                DtAction::SetSystem { aggr, system } => {
                    let ai = dom.aggregations[aggr].aggs[side];
                    if let Some(Some(agg)) = self.nodes[node].aggs.get_mut(ai) {
                        if let Err(e) = agg.set_system(now, system) {
                            refused.push(format!(
                                "aggregation {}: system id: {e}",
                                dom.aggregations[aggr].name
                            ));
                        }
                        touched.push(ai);
                    }
                }
                DtAction::Renumber { aggr, base, system } => {
                    renumber.push((dom.aggregations[aggr].aggs[side], base, system));
                }
                DtAction::Ports { aggr, enabled } => rt.held[aggr] = !enabled,
                DtAction::IsolatePeerLink { .. }
                | DtAction::Removed { .. }
                | DtAction::Fdb { .. } => {}
            }
        }
        for text in refused {
            self.dt_event_line(sw, text, false);
        }
        for (ai, base, system) in renumber {
            self.dt_renumber(sw, ai, base, system);
        }
        self.dt_apply_holds(sw);
        for ai in touched {
            self.after(node, ai);
        }
        self.dt_pump(sw);
    }

    /// Rebuilds aggregation `ai` of switch `sw` with ports numbered from `base` under
    /// `system` (the daemon restarts the aggregation with it).
    fn dt_renumber(&mut self, sw: usize, ai: usize, base: u16, system: SystemId) {
        let now = self.now;
        let node = self.dts[sw].node;
        let n = &self.sc.nodes[node];
        let Some(Some(old)) = self.nodes[node].aggs.get(ai) else {
            return;
        };
        let (members, settings, from) =
            (old.members.clone(), old.settings.clone(), old.port_base());
        let statuses: Vec<LinkStatus> = (0..n.ports.len())
            .map(|p| self.link_status(node, p))
            .collect();
        let r = AggRt::with_identity(
            now,
            n,
            ai,
            &n.aggs[ai],
            &settings,
            &members,
            &|p| statuses.get(p).copied().unwrap_or(LinkStatus::DOWN),
            base,
            Some(system),
        );
        let text = match r {
            Ok(agg) => {
                self.nodes[node].aggs[ai] = Some(agg);
                format!(
                    "aggregation {}: port number base {from:#06x} -> {base:#06x} (aggregation restarted)",
                    n.aggs[ai].name
                )
            }
            Err(e) => format!("aggregation {}: renumbering refused: {e}", n.aggs[ai].name),
        };
        self.dt_event_line(sw, text, false);
        self.after(node, ai);
    }

    /// A frame arrived at `to`, a port of a DT switch: `true` if it was the peer link or the
    /// keepalive (and the frame is dealt with here).
    pub(super) fn dt_port_rx(&mut self, to: PortRef, frame: &Frame) -> bool {
        let Some(sw) = self.node_dt[to.node] else {
            return false;
        };
        let rt = &self.dts[sw];
        let sdef = &self.sc.dt[rt.domain].switches[rt.side];
        let path = if to.port == sdef.peer_port {
            DtPath::PeerLink
        } else if Some(to.port) == sdef.keepalive_port {
            DtPath::Keepalive
        } else {
            return false;
        };
        if !self.nodes[to.node].alive || rt.dt.is_none() {
            self.counters[to.node][to.port].ierrs += 1;
            return true;
        }
        if DtFrame::is_dt(frame) {
            self.counters[to.node][to.port].ctrl_ipkts += 1;
            let now = self.now;
            if let Some(dt) = self.dts[sw].dt.as_mut() {
                // A malformed frame is counted and reported by the core.
                let _ = match path {
                    DtPath::PeerLink => dt.handle_peer_frame(now, frame),
                    DtPath::Keepalive => dt.handle_keepalive_frame(now, frame),
                };
            }
            self.dt_pump(sw);
        } else if path == DtPath::PeerLink {
            self.counters[to.node][to.port].data_ipkts += 1;
            self.dts[sw].fwd.from_peer_link += 1;
            self.forward(sw, frame, true);
        } else {
            self.counters[to.node][to.port].ierrs += 1;
        }
        true
    }

    /// A data frame at DT switch `sw` (delivered by one of its aggregations, or from the peer
    /// link): deliver, send out of the local aggregation towards its destination, or across
    /// the peer link ([`crate::dt::next_hop`]).
    pub(super) fn forward(&mut self, sw: usize, frame: &Frame, from_peer: bool) {
        let now = self.now;
        let (domain, side, node) = (self.dts[sw].domain, self.dts[sw].side, self.dts[sw].node);
        let dest = parse_data(frame)
            .and_then(|(f, _)| self.sc.flows.get(f as usize))
            .map(|f| f.to);
        let Some(dest) = dest else {
            self.nodes[node].misdelivered += 1;
            self.dts[sw].fwd.dropped += 1;
            return;
        };
        let route = self.dts[sw].route.get(dest).copied().flatten();
        let dom = &self.sc.dt[domain];
        let peer_up = self.links[dom.peer_link].is_up();
        let pl_port = dom.switches[side].peer_port;
        let mut hop = next_hop(node, dest, route, from_peer, peer_up);
        if let Hop::Local(ai) = hop {
            let alive = self.nodes[node].alive;
            hop = match self.nodes[node].aggs.get_mut(ai) {
                Some(Some(agg)) if alive => {
                    let mut out = std::mem::take(&mut self.out);
                    let r = agg.handle_tx(now, Rc::clone(frame), &mut out);
                    self.out = out;
                    self.after(node, ai);
                    match r {
                        TxResult::Sent | TxResult::Held => {
                            self.dts[sw].fwd.local += 1;
                            return;
                        }
                        TxResult::HeldQueueFull => Hop::Drop,
                        TxResult::NoPort => fallback_hop(from_peer, peer_up),
                    }
                }
                _ => fallback_hop(from_peer, peer_up),
            };
        }
        match hop {
            Hop::Deliver => self.receive_flow(node, frame),
            Hop::PeerLink => {
                self.dts[sw].fwd.to_peer_link += 1;
                self.send(node, pl_port, Rc::clone(frame), false);
            }
            Hop::Drop | Hop::Local(_) => self.dts[sw].fwd.dropped += 1,
        }
    }

    /// The running core of `node`, if it is a DT switch that runs.
    pub(super) fn dt_of_node(&self, node: usize) -> Option<&Dt> {
        let sw = self.node_dt.get(node).copied().flatten()?;
        self.dts[sw].dt.as_ref()
    }

    /// The decision in force for aggregation `a` of a DT switch.
    pub(super) fn dt_decision(&self, a: AggRef) -> Option<Decision> {
        let sw = self.node_dt.get(a.node).copied().flatten()?;
        let rt = &self.dts[sw];
        let def = self.sc.dt[rt.domain]
            .aggregations
            .iter()
            .find(|d| d.aggs[rt.side] == a.agg)?;
        rt.dt.as_ref()?.decision(def.id)
    }

    /// Every DT switch at the end of the run.
    pub(super) fn dt_summaries(&self) -> Vec<DtSummary> {
        self.dts
            .iter()
            .map(|rt| {
                let dom = &self.sc.dt[rt.domain];
                let dt = rt.dt.as_ref();
                DtSummary {
                    domain: dom.name.clone(),
                    node: self.sc.nodes[rt.node].name.clone(),
                    state: dt.map_or("down".into(), |d| d.state().to_string()),
                    role: dt.map_or("-".into(), |d| d.role().to_string()),
                    port_base: dt.map_or(0, |d| d.port_base()),
                    decisions: dom
                        .aggregations
                        .iter()
                        .map(|a| match dt.and_then(|d| d.decision(a.id)) {
                            Some(x) => format!("{}: {x}", a.name),
                            None => format!("{}: -", a.name),
                        })
                        .collect(),
                    counters: dt.map(|d| d.counters()).unwrap_or_default(),
                    forwarding: rt.fwd,
                }
            })
            .collect()
    }
}
