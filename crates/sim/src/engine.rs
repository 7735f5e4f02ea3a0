//! The simulator: virtual time that jumps from event to event, nodes running real
//! aggregations, links, traffic flows, faults, checks and the report.

mod check;
mod dt;
mod fault;
mod l2;

use crate::bridge::Bridge;
use crate::dt::DtSwitchRt;
use crate::error::SimError;
use crate::flow::{FlowReceiver, FlowSummary};
use crate::link::{Dir, Link, LinkParams, TxOutcome};
use crate::neigh::Neigh;
use crate::node::{AggRt, Frame, Output, PortSnap, TxResult, flags};
use crate::packet::parse_data;
use crate::queue::EventQueue;
use crate::report::{
    EventRecord, PeakTracker, PortSummary, RunReport, RunStats, StateRecord, SunRow, TableRecord,
    sun_table,
};
use crate::rng::Rng;
use crate::scenario::{AggRef, At, NodeKind, PortRef, Scenario, Via};
use lagd_agg::RxVerdict;
use lagd_agg::lagd_lacp::LinkStatus;
use lagd_types::{Duration, Instant};
use lagd_wire::SlowFrame;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;

/// Frames sent less than this long before a mid-run check are not yet judged lost.
pub const LOSS_GRACE: Duration = Duration::from_millis(500);

/// How a run is carried out and what it records.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Replaces the scenario's seed.
    pub seed: Option<u64>,
    /// Write one pcap of slow-protocols frames (and DT frames, EtherType 0x8952) per link into
    /// this directory.
    pub pcap_dir: Option<PathBuf>,
    /// Record nothing but checks and summaries (for benchmarks): no tables, events or states.
    pub quiet: bool,
}

/// NIC-style counters of one port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NicCounters {
    /// Frames received.
    pub ipkts: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Frames received and dropped.
    pub ierrs: u64,
    /// Frames sent.
    pub opkts: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Frames that could not be sent.
    pub oerrs: u64,
    /// Frames lost on the link toward this port (random loss).
    pub crc: u64,
    /// Data frames sent.
    pub data_opkts: u64,
    /// Data bytes sent.
    pub data_obytes: u64,
    /// Data frames received (delivered to the aggregate, or accepted by a plain port).
    pub data_ipkts: u64,
    /// Data bytes received (as `data_ipkts`).
    pub data_ibytes: u64,
    /// Slow-protocols frames sent.
    pub ctrl_opkts: u64,
    /// Slow-protocols frames received.
    pub ctrl_ipkts: u64,
}

enum Ev {
    Arrive {
        link: usize,
        dir: Dir,
        epoch: u64,
        frame: Frame,
    },
    Timer {
        node: usize,
        agg: usize,
    },
    FlowTx {
        flow: usize,
    },
    Fault {
        idx: usize,
    },
    NodeUp {
        node: usize,
    },
    WindowStart {
        check: usize,
    },
    Check {
        check: usize,
    },
    Tick,
    End,
    DtTimer {
        sw: usize,
    },
    DtReconcile {
        sw: usize,
    },
    /// A node with an `ip` asks for the destinations of its flows it has not resolved.
    ArpProbe {
        node: usize,
    },
}

struct NodeRt {
    alive: bool,
    aggs: Vec<Option<AggRt>>,
    /// Port index -> aggregation index it is currently a member of.
    port_agg: Vec<Option<usize>>,
    names: Vec<String>,
    /// Livelock guard: (instant, repeats) of the last timeout per aggregation.
    last_timeout: Vec<(Instant, u32)>,
    misdelivered: u64,
    /// A bridge's forwarding table.
    bridge: Option<Bridge>,
    /// The node's IPv4 neighbour table, if it has an `ip`.
    neigh: Option<Neigh>,
}

struct FlowRt {
    next_seq: u64,
    rx: FlowReceiver,
    dropped_at_source: u64,
}

#[derive(Clone)]
struct WindowSnap {
    counters: Vec<Vec<NicCounters>>,
    carrier: Vec<Vec<bool>>,
    flows: Vec<(u64, u64, u64)>, // (seq boundary, reordered, duplicates)
    /// Per node, a bridge's MAC moves so far.
    fdb_moves: Vec<std::collections::BTreeMap<lagd_types::MacAddr, u64>>,
}

/// A deterministic simulation of one scenario.
pub struct Simulator {
    sc: Scenario,
    opts: RunOptions,
    now: Instant,
    end: Instant,
    q: EventQueue<Ev>,
    links: Vec<Link>,
    attach: Vec<Vec<Option<(usize, Dir)>>>,
    nodes: Vec<NodeRt>,
    flows: Vec<FlowRt>,
    counters: Vec<Vec<NicCounters>>,
    last_tick: Vec<Vec<NicCounters>>,
    peaks: Vec<PeakTracker>,
    windows: Vec<Option<WindowSnap>>,
    text: String,
    report: RunReport,
    pcaps: Vec<Vec<(Instant, Frame)>>,
    out: Vec<Output>,
    finished: bool,
    /// DT switches (two per `[[dt]]` domain).
    dts: Vec<DtSwitchRt>,
    /// Node -> its DT switch, if it is one.
    node_dt: Vec<Option<usize>>,
    /// Carrier as the faults set it (`link-down`/`link-up`).
    link_admin: Vec<bool>,
    /// Held down by a DT decision.
    link_hold: Vec<bool>,
    /// Node powered (`node-down` turns it off).
    powered: Vec<bool>,
}

fn secs(t: Instant) -> f64 {
    t.as_secs_f64()
}

impl Simulator {
    /// Builds the simulation (nodes, aggregations, links) at time zero.
    pub fn new(sc: Scenario, opts: RunOptions) -> Result<Simulator, SimError> {
        let sc = match opts.seed {
            Some(s) => sc.with_seed(s),
            None => sc,
        };
        let links: Vec<Link> = sc
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Link::new(
                    LinkParams {
                        rate_bps: l.rate_bps,
                        delay: l.delay,
                        loss: l.loss,
                        queue: l.queue,
                    },
                    Rng::derive(sc.seed, i as u64),
                )
            })
            .collect();
        let mut attach: Vec<Vec<Option<(usize, Dir)>>> =
            sc.nodes.iter().map(|n| vec![None; n.ports.len()]).collect();
        for (i, l) in sc.links.iter().enumerate() {
            attach[l.a.node][l.a.port] = Some((i, Dir::AtoB));
            attach[l.b.node][l.b.port] = Some((i, Dir::BtoA));
        }
        let counters: Vec<Vec<NicCounters>> = sc
            .nodes
            .iter()
            .map(|n| vec![NicCounters::default(); n.ports.len()])
            .collect();
        let report = RunReport {
            scenario: sc.name.clone(),
            seed: sc.seed,
            duration: sc.duration.as_secs_f64(),
            passed: true,
            checks: Vec::new(),
            flows: Vec::new(),
            ports: Vec::new(),
            faults: Vec::new(),
            events: Vec::new(),
            states: Vec::new(),
            tables: Vec::new(),
            stats: RunStats::default(),
            dt: Vec::new(),
            bridges: Vec::new(),
            balancers: Vec::new(),
        };
        let mut sim = Simulator {
            end: Instant::ZERO + sc.duration,
            now: Instant::ZERO,
            q: EventQueue::new(),
            links,
            attach,
            nodes: Vec::new(),
            flows: sc
                .flows
                .iter()
                .map(|_| FlowRt {
                    next_seq: 0,
                    rx: FlowReceiver::default(),
                    dropped_at_source: 0,
                })
                .collect(),
            last_tick: counters.clone(),
            counters,
            peaks: vec![PeakTracker::default(); sc.report.table.len()],
            windows: vec![None; sc.checks.len()],
            text: String::new(),
            report,
            pcaps: vec![Vec::new(); sc.links.len()],
            out: Vec::new(),
            finished: false,
            dts: Vec::new(),
            node_dt: vec![None; sc.nodes.len()],
            link_admin: vec![true; sc.links.len()],
            link_hold: vec![false; sc.links.len()],
            powered: vec![true; sc.nodes.len()],
            opts,
            sc,
        };
        if !sim.opts.quiet {
            let _ = writeln!(
                sim.text,
                "== scenario {} (seed {}): {}\n   {} nodes, {} links, {} flows, {} faults, {} checks, {} of virtual time\n",
                sim.sc.name,
                sim.sc.seed,
                sim.sc.description.trim(),
                sim.sc.nodes.len(),
                sim.sc.links.len(),
                sim.sc.flows.len(),
                sim.sc.faults.len(),
                sim.sc.checks.len(),
                sim.sc.duration
            );
        }
        sim.dt_init()?;
        for ni in 0..sim.sc.nodes.len() {
            let n = &sim.sc.nodes[ni];
            sim.nodes.push(NodeRt {
                alive: true,
                aggs: Vec::new(),
                port_agg: vec![None; n.ports.len()],
                names: n.ports.iter().map(|p| p.name.clone()).collect(),
                last_timeout: vec![(Instant::MAX, 0); n.aggs.len()],
                misdelivered: 0,
                bridge: (n.kind == NodeKind::Bridge).then(|| Bridge::new(n.ports.len(), n.ageing)),
                neigh: n.ip.map(|ip| Neigh::new(ip, n.mac)),
            });
            sim.start_node(ni)?;
        }
        for ni in 0..sim.sc.nodes.len() {
            if sim.nodes[ni].neigh.is_some() {
                sim.q.push(Instant::ZERO, Ev::ArpProbe { node: ni });
            }
        }
        sim.dt_schedule_reconcile();
        // Initial schedule: ticks, faults, check windows, checks, flows, end. At one instant,
        // earlier-scheduled events run first: a check at the time of a fault sees its effect.
        let mut t = Instant::ZERO + sim.sc.report.interval;
        while t <= sim.end {
            sim.q.push(t, Ev::Tick);
            t += sim.sc.report.interval;
        }
        for (idx, f) in sim.sc.faults.iter().enumerate() {
            if f.at <= sim.end {
                sim.q.push(f.at, Ev::Fault { idx });
            }
        }
        let hard_end = sim.end + sim.sc.report.drain;
        for (i, c) in sim.sc.checks.iter().enumerate() {
            if let Some(from) = c.from {
                sim.q.push(from, Ev::WindowStart { check: i });
            }
            let at = match c.at {
                At::Time(d) => Instant::ZERO + d,
                At::End => hard_end,
            };
            sim.q.push(at, Ev::Check { check: i });
        }
        for (i, f) in sim.sc.flows.iter().enumerate() {
            if f.start < f.stop {
                sim.q.push(f.start, Ev::FlowTx { flow: i });
            }
        }
        sim.q.push(hard_end, Ev::End);
        Ok(sim)
    }

    /// The scenario being run (with the seed in force).
    pub fn scenario(&self) -> &Scenario {
        &self.sc
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    fn link_status(&self, node: usize, port: usize) -> LinkStatus {
        match self.attach[node][port] {
            Some((l, _)) if self.links[l].is_up() => LinkStatus::up(self.links[l].speed_mbps()),
            _ => LinkStatus::DOWN,
        }
    }

    /// (Re)builds the aggregations of a node from its definition and current membership.
    fn start_node(&mut self, ni: usize) -> Result<(), SimError> {
        let now = self.now;
        let node = &self.sc.nodes[ni];
        let statuses: Vec<LinkStatus> = (0..node.ports.len())
            .map(|p| self.link_status(ni, p))
            .collect();
        let identities: Vec<(u16, Option<lagd_types::SystemId>)> = (0..node.aggs.len())
            .map(|ai| self.dt_identity(ni, ai))
            .collect();
        let rt = &mut self.nodes[ni];
        let old: Vec<Option<(Vec<usize>, lagd_node::AggrSettings)>> = rt
            .aggs
            .iter()
            .map(|a| a.as_ref().map(|a| (a.members.clone(), a.settings.clone())))
            .collect();
        let mut aggs = Vec::new();
        rt.port_agg.iter_mut().for_each(|x| *x = None);
        for (ai, def) in node.aggs.iter().enumerate() {
            let (members, settings) = match old.get(ai).cloned().flatten() {
                Some(x) => x,
                None => (def.ports.clone(), def.settings.clone()),
            };
            let (base, system) = identities.get(ai).copied().unwrap_or((0, None));
            let agg = AggRt::with_identity(
                now,
                node,
                ai,
                def,
                &settings,
                &members,
                &|p| statuses.get(p).copied().unwrap_or(LinkStatus::DOWN),
                base,
                system,
            )
            .map_err(|message| SimError::Config {
                context: format!("node {:?} aggregation {:?}", node.name, def.name),
                message,
            })?;
            for &m in &members {
                rt.port_agg[m] = Some(ai);
            }
            aggs.push(Some(agg));
        }
        // One System, one key (the daemon's rule, 802.1AX 6.3.3), on the Systems and keys the
        // cores run with.
        lagd_node::settings::check_unique_keys(aggs.iter().zip(&node.aggs).filter_map(
            |(a, def)| {
                let c = &a.as_ref()?.agg.config().lacp;
                (c.mode != lagd_types::LacpActivity::Off).then_some((
                    def.name.as_str(),
                    c.system,
                    c.key,
                ))
            },
        ))
        .map_err(|e| SimError::Config {
            context: format!("node {:?}", node.name),
            message: e.to_string(),
        })?;
        rt.aggs = aggs;
        rt.alive = true;
        for ai in 0..self.nodes[ni].aggs.len() {
            self.after(ni, ai);
        }
        Ok(())
    }

    /// Runs to the end; returns the report.
    pub fn run(mut self) -> Result<(String, RunReport), SimError> {
        while !self.finished {
            if !self.step()? {
                break;
            }
        }
        self.finish()
    }

    /// Processes one event; `false` when the run is over.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some((at, ev)) = self.q.pop() else {
            return Ok(false);
        };
        self.now = at;
        self.report.stats.events += 1;
        match ev {
            Ev::Arrive {
                link,
                dir,
                epoch,
                frame,
            } => self.arrive(link, dir, epoch, frame),
            Ev::Timer { node, agg } => self.timer(at, node, agg),
            Ev::FlowTx { flow } => self.flow_tx(flow),
            Ev::Fault { idx } => self.fault(idx)?,
            Ev::NodeUp { node } if self.powered[node] => {
                self.dt_start_node(node)?;
                self.start_node(node)?;
                self.fault_line(format!("node {} is back", self.sc.nodes[node].name));
            }
            Ev::WindowStart { check } => {
                self.windows[check] = Some(self.window_snap(check));
            }
            Ev::NodeUp { .. } => {}
            Ev::Check { check } => self.check(check),
            Ev::Tick => self.tick(),
            Ev::DtTimer { sw } => self.dt_timer(at, sw),
            Ev::DtReconcile { sw } => self.dt_reconcile(sw),
            Ev::ArpProbe { node } => self.arp_probe(node),
            Ev::End => {
                self.finished = true;
                return Ok(false);
            }
        }
        Ok(true)
    }

    // ---- frames --------------------------------------------------------------------------

    fn send(&mut self, node: usize, port: usize, frame: Frame, control: bool) {
        let len = frame.len();
        let Some((li, dir)) = self.attach[node].get(port).copied().flatten() else {
            self.counters[node][port].oerrs += 1;
            return;
        };
        let c = &mut self.counters[node][port];
        let outcome = self.links[li].transmit(self.now, dir, len);
        match outcome {
            TxOutcome::Down | TxOutcome::QueueFull => {
                c.oerrs += 1;
                return;
            }
            TxOutcome::Lost | TxOutcome::Arrives(_) => {
                c.opkts += 1;
                c.obytes += len as u64;
                if control {
                    c.ctrl_opkts += 1;
                } else {
                    c.data_opkts += 1;
                    c.data_obytes += len as u64;
                }
            }
        }
        self.report.stats.frames += 1;
        if self.opts.pcap_dir.is_some()
            && (SlowFrame::is_slow_protocols(&frame)
                || (!self.dts.is_empty() && lagd_dt::DtFrame::is_dt(&frame)))
        {
            self.pcaps[li].push((self.now, Rc::clone(&frame)));
        }
        match outcome {
            TxOutcome::Arrives(t) => {
                let epoch = self.links[li].epoch();
                self.q.push(
                    t,
                    Ev::Arrive {
                        link: li,
                        dir,
                        epoch,
                        frame,
                    },
                );
            }
            TxOutcome::Lost if !self.links[li].is_silent(dir) => {
                let far = self.far_end(li, dir);
                self.counters[far.node][far.port].crc += 1;
            }
            _ => {}
        }
    }

    fn far_end(&self, li: usize, dir: Dir) -> PortRef {
        let l = &self.sc.links[li];
        match dir {
            Dir::AtoB => l.b,
            Dir::BtoA => l.a,
        }
    }

    fn arrive(&mut self, li: usize, dir: Dir, epoch: u64, frame: Frame) {
        if self.links[li].epoch() != epoch || !self.links[li].is_up() {
            self.links[li].count_cut(dir);
            return;
        }
        self.links[li].count_delivered(dir);
        let to = self.far_end(li, dir);
        let now = self.now;
        let len = frame.len() as u64;
        {
            let c = &mut self.counters[to.node][to.port];
            c.ipkts += 1;
            c.ibytes += len;
        }
        if self.node_dt[to.node].is_some() && self.dt_port_rx(to, &frame) {
            return;
        }
        if self.nodes[to.node].bridge.is_some() {
            self.bridge_rx(to, frame);
            return;
        }
        let n = &mut self.nodes[to.node];
        let agg_idx = match (n.alive, n.port_agg[to.port]) {
            (true, Some(a)) => a,
            (true, None) if n.aggs.is_empty() => {
                self.nic_rx(to, &frame);
                return;
            }
            _ => {
                self.counters[to.node][to.port].ierrs += 1;
                return;
            }
        };
        let Some(agg) = n.aggs[agg_idx].as_mut() else {
            self.counters[to.node][to.port].ierrs += 1;
            return;
        };
        match agg.handle_rx(now, to.port, &frame) {
            (RxVerdict::Deliver, frame) => {
                let c = &mut self.counters[to.node][to.port];
                c.data_ipkts += 1;
                c.data_ibytes += len;
                self.deliver(to.node, &frame);
            }
            (RxVerdict::Control, _) => self.counters[to.node][to.port].ctrl_ipkts += 1,
            (RxVerdict::Drop(_), _) => self.counters[to.node][to.port].ierrs += 1,
        }
        self.after(to.node, agg_idx);
    }

    fn deliver(&mut self, node: usize, frame: &Frame) {
        if let Some(sw) = self.node_dt[node] {
            self.forward(sw, frame, false);
        } else if self.foreign_unicast(node, frame) {
            // A host stack (a node with an `ip`) takes only its own MAC's unicast, as the
            // kernel does with what the aggregate's interface hands it.
        } else if !self.host_arp(node, frame) {
            self.receive_flow(node, frame);
        }
    }

    /// A data frame reaches its receiver's flow accounting (or counts as misdelivered).
    fn receive_flow(&mut self, node: usize, frame: &[u8]) {
        match parse_data(frame) {
            Some((flow, seq)) => {
                let fi = flow as usize;
                match (self.sc.flows.get(fi), self.flows.get_mut(fi)) {
                    (Some(def), Some(f)) if def.to == node => f.rx.receive(self.now, seq),
                    _ => self.nodes[node].misdelivered += 1,
                }
            }
            None => self.nodes[node].misdelivered += 1,
        }
    }

    fn flow_tx(&mut self, fi: usize) {
        let def = &self.sc.flows[fi];
        if self.now >= def.stop {
            return;
        }
        let seq = self.flows[fi].next_seq;
        self.flows[fi].next_seq += 1;
        self.q
            .push(self.now + def.interval, Ev::FlowTx { flow: fi });
        self.report.stats.data_frames += 1;
        let (via, from, resolve) = (def.via, def.from, def.resolve);
        let mut bytes = def.frame.build(fi as u32, seq);
        if resolve {
            let dst = def.frame.dst_ip;
            match self.nodes[from].neigh.as_ref().and_then(|n| n.lookup(dst)) {
                Some(mac) => bytes[..6].copy_from_slice(&mac.0),
                None => {
                    // Unresolved (Linux would queue three frames): lost at the source.
                    self.flows[fi].dropped_at_source += 1;
                    return;
                }
            }
        }
        let r = self.host_send(from, via, Rc::from(bytes));
        if matches!(r, TxResult::NoPort | TxResult::HeldQueueFull) {
            self.flows[fi].dropped_at_source += 1;
        }
    }

    /// A frame the host stack of `node` sends, through an aggregation or out of a plain port.
    fn host_send(&mut self, node: usize, via: Via, frame: Frame) -> TxResult {
        let now = self.now;
        let n = &mut self.nodes[node];
        if !n.alive {
            return TxResult::NoPort;
        }
        let ai = match via {
            Via::Port(p) => {
                self.send(node, p, frame, false);
                return TxResult::Sent;
            }
            Via::Agg(a) => a.agg,
        };
        let Some(Some(agg)) = n.aggs.get_mut(ai) else {
            return TxResult::NoPort;
        };
        let mut out = std::mem::take(&mut self.out);
        let r = agg.handle_tx(now, frame, &mut out);
        self.out = out;
        self.after(node, ai);
        r
    }

    // ---- aggregation plumbing -------------------------------------------------------------

    /// After any input to aggregation `ai` of node `ni`: drain its outputs, act on them and
    /// schedule its next timeout.
    fn after(&mut self, ni: usize, ai: usize) {
        let now = self.now;
        let mut out = std::mem::take(&mut self.out);
        let n = &mut self.nodes[ni];
        let alive = n.alive;
        let Some(Some(agg)) = n.aggs.get_mut(ai).filter(|_| alive) else {
            self.out = out;
            return;
        };
        let had_events = agg.pump(now, &n.names, &mut out);
        let states = if had_events && !self.opts.quiet {
            agg.changed_states()
        } else {
            Vec::new()
        };
        let deadline = agg.poll_timeout();
        let scheduled = agg.scheduled;
        if let Some(mut d) = deadline {
            if d < now {
                d = now;
            }
            let (last, reps) = n.last_timeout[ai];
            if d == now && last == now && reps > 1000 {
                // A core asking to be woken at the same instant over and over: step on.
                d = now + Duration::from_micros(1);
            }
            if scheduled != Some(d) {
                agg.scheduled = Some(d);
                self.q.push(d, Ev::Timer { node: ni, agg: ai });
            }
        }
        for o in out.drain(..) {
            match o {
                Output::Send {
                    port,
                    frame,
                    control,
                } => self.send(ni, port, frame, control),
                Output::Event {
                    port,
                    text,
                    verbose,
                } => {
                    if !self.opts.quiet {
                        self.event_line(ni, ai, port, text, verbose);
                    }
                }
                Output::Drained { port } => self.drained(ni, ai, port),
            }
        }
        self.out = out;
        for (p, s) in states {
            self.state_line(ni, p, s);
        }
    }

    fn timer(&mut self, at: Instant, ni: usize, ai: usize) {
        let n = &mut self.nodes[ni];
        if !n.alive {
            return; // restarting: its old state is frozen until it comes back
        }
        let Some(Some(agg)) = n.aggs.get_mut(ai) else {
            return;
        };
        if agg.scheduled != Some(at) {
            return; // stale
        }
        agg.scheduled = None;
        let lt = &mut n.last_timeout[ai];
        if lt.0 == at {
            lt.1 += 1;
        } else {
            *lt = (at, 0);
        }
        agg.handle_timeout(at);
        self.after(ni, ai);
    }

    fn drained(&mut self, ni: usize, ai: usize, port: usize) {
        let now = self.now;
        if let Some(Some(agg)) = self.nodes[ni].aggs.get_mut(ai) {
            let r = agg.remove_port(now, port);
            if self.nodes[ni].port_agg[port] == Some(ai) {
                self.nodes[ni].port_agg[port] = None;
            }
            let name = self.sc.port_name(PortRef { node: ni, port });
            match r {
                Ok(()) => self.fault_line(format!("{name} drained and removed")),
                Err(e) => self.fault_line(format!("{name} drained; remove failed: {e}")),
            }
            self.after(ni, ai);
        }
    }

    // ---- faults ---------------------------------------------------------------------------

    fn link_label(&self, li: usize) -> String {
        let l = &self.sc.links[li];
        format!("{} <-> {}", self.sc.port_name(l.a), self.sc.port_name(l.b))
    }

    fn notify_link(&mut self, li: usize) {
        let now = self.now;
        let l = self.sc.links[li].clone();
        for end in [l.a, l.b] {
            let status = self.link_status(end.node, end.port);
            let n = &mut self.nodes[end.node];
            if let Some(b) = n.bridge.as_mut()
                && !status.up
            {
                b.flush_port(end.port);
            }
            if !n.alive {
                continue;
            }
            if let Some(ai) = n.port_agg[end.port] {
                if let Some(Some(agg)) = n.aggs.get_mut(ai) {
                    agg.handle_link(now, end.port, status);
                }
                self.after(end.node, ai);
            }
        }
    }

    fn event_line(
        &mut self,
        ni: usize,
        ai: usize,
        port: Option<usize>,
        text: String,
        verbose: bool,
    ) {
        let agg = self.sc.agg_name(AggRef { node: ni, agg: ai });
        let pname = port.and_then(|p| self.nodes[ni].names.get(p).cloned());
        if self.sc.report.events && !verbose {
            let _ = writeln!(
                self.text,
                "{:>10}  {agg}{}: {text}",
                self.now.to_string(),
                pname.as_ref().map_or(String::new(), |p| format!(" {p}"))
            );
        }
        self.report.events.push(EventRecord {
            t: secs(self.now),
            aggregation: agg,
            port: pname,
            text,
        });
    }

    fn state_line(&mut self, ni: usize, p: usize, s: PortSnap) {
        let port = self.sc.port_name(PortRef { node: ni, port: p });
        let rec = StateRecord {
            t: secs(self.now),
            port,
            receive: s.receive,
            mux: s.mux,
            selected: s.selected,
            actor: flags(s.actor),
            partner: flags(s.partner),
            why: s.why,
        };
        if self.sc.report.states {
            let _ = writeln!(
                self.text,
                "{:>10}  state {}: {} {} {} actor {} partner {}{}",
                self.now.to_string(),
                rec.port,
                rec.receive,
                rec.mux,
                rec.selected,
                rec.actor,
                rec.partner,
                rec.why
                    .as_ref()
                    .map_or(String::new(), |w| format!(" [{w}]"))
            );
        }
        self.report.states.push(rec);
    }

    fn table_ports(&self, a: AggRef) -> Vec<usize> {
        let mut v = self.sc.nodes[a.node].aggs[a.agg].ports.clone();
        for (p, m) in self.nodes[a.node].port_agg.iter().enumerate() {
            if *m == Some(a.agg) && !v.contains(&p) {
                v.push(p);
            }
        }
        v.sort_unstable();
        v
    }

    fn tick(&mut self) {
        if self.opts.quiet {
            return;
        }
        let interval = self.sc.report.interval.as_secs_f64();
        for (ti, a) in self.sc.report.table.clone().into_iter().enumerate() {
            let mut rows = Vec::new();
            let mut bytes = 0u64;
            for p in self.table_ports(a) {
                let c = self.counters[a.node][p];
                let l = self.last_tick[a.node][p];
                bytes += (c.ibytes - l.ibytes) + (c.obytes - l.obytes);
                rows.push(SunRow {
                    name: self.nodes[a.node].names[p].clone(),
                    ipkts: c.ipkts - l.ipkts,
                    ierrs: c.ierrs - l.ierrs,
                    opkts: c.opkts - l.opkts,
                    oerrs: c.oerrs - l.oerrs,
                    collis: 0,
                    crc: c.crc - l.crc,
                });
            }
            let mbps = bytes as f64 * 8.0 / interval / 1e6;
            let title = format!("t={}  {}", self.now, self.sc.agg_name(a));
            let table = sun_table(&title, &rows, mbps, &mut self.peaks[ti]);
            self.text.push('\n');
            self.text.push_str(&table);
            self.report.tables.push(TableRecord {
                t: secs(self.now),
                aggregation: self.sc.agg_name(a),
                rows,
                mbps,
            });
        }
        self.last_tick.clone_from(&self.counters);
    }

    // ---- checks ---------------------------------------------------------------------------

    fn finish(mut self) -> Result<(String, RunReport), SimError> {
        self.report.checks.sort_by_key(|c| c.index);
        for (fi, def) in self.sc.flows.iter().enumerate() {
            let f = &self.flows[fi];
            self.report.flows.push(FlowSummary {
                name: def.name.clone(),
                from: self.sc.nodes[def.from].name.clone(),
                to: self.sc.nodes[def.to].name.clone(),
                sent: f.next_seq,
                received: f.rx.unique(),
                lost: f.rx.lost(f.next_seq),
                duplicates: f.rx.duplicates,
                reordered: f.rx.reordered,
                max_gap_ms: (f.rx.max_gap.as_secs_f64() * 1e6).round() / 1e3,
            });
        }
        for (ni, n) in self.sc.nodes.iter().enumerate() {
            for (ai, _) in n.aggs.iter().enumerate() {
                let a = AggRef { node: ni, agg: ai };
                let ports = self.table_ports(a);
                let to: u64 = ports.iter().map(|&p| self.counters[ni][p].data_opkts).sum();
                let ti: u64 = ports.iter().map(|&p| self.counters[ni][p].data_ipkts).sum();
                for p in ports {
                    let c = self.counters[ni][p];
                    let share = |x: u64, t: u64| {
                        if t == 0 {
                            0.0
                        } else {
                            (x as f64 * 10000.0 / t as f64).round() / 100.0
                        }
                    };
                    self.report.ports.push(PortSummary {
                        port: self.sc.port_name(PortRef { node: ni, port: p }),
                        aggregation: self.sc.agg_name(a),
                        data_opkts: c.data_opkts,
                        data_ipkts: c.data_ipkts,
                        out_share: share(c.data_opkts, to),
                        in_share: share(c.data_ipkts, ti),
                        control_opkts: c.ctrl_opkts,
                        control_ipkts: c.ctrl_ipkts,
                        oerrs: c.oerrs,
                        ierrs: c.ierrs,
                    });
                }
            }
        }
        self.report.dt = self.dt_summaries();
        self.report.bridges = self.bridge_summaries();
        self.report.balancers = self.balancer_summaries();
        if let Some(dir) = self.opts.pcap_dir.clone() {
            self.write_pcaps(&dir)?;
        }
        let mut text = std::mem::take(&mut self.text);
        if !self.opts.quiet {
            text.push('\n');
            text.push_str(&self.report.summary_text());
        }
        Ok((text, self.report))
    }

    fn write_pcaps(&self, dir: &std::path::Path) -> Result<(), SimError> {
        let werr = |path: PathBuf| move |source| SimError::Write { path, source };
        std::fs::create_dir_all(dir).map_err(werr(dir.to_path_buf()))?;
        for (li, frames) in self.pcaps.iter().enumerate() {
            let l = &self.sc.links[li];
            let name = format!(
                "{}--{}.pcap",
                self.sc.port_name(l.a).replace(':', "-"),
                self.sc.port_name(l.b).replace(':', "-")
            );
            let path = dir.join(name);
            let file = std::fs::File::create(&path).map_err(werr(path.clone()))?;
            let mut w = lagd_wire::PcapWriter::new(std::io::BufWriter::new(file))
                .map_err(werr(path.clone()))?;
            for (t, f) in frames {
                w.write_frame(*t, f).map_err(werr(path.clone()))?;
            }
            w.flush().map_err(werr(path.clone()))?;
        }
        Ok(())
    }
}

/// Loads `path`, runs it, returns (text output, report).
pub fn run_file(path: &std::path::Path, opts: RunOptions) -> Result<(String, RunReport), SimError> {
    let sc = Scenario::load(path)?;
    Simulator::new(sc, opts)?.run()
}

/// Parses scenario text, runs it, returns (text output, report).
pub fn run_str(text: &str, opts: RunOptions) -> Result<(String, RunReport), SimError> {
    let sc = Scenario::from_toml(text)?;
    Simulator::new(sc, opts)?.run()
}
