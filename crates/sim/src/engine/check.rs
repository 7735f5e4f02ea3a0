//! The scenario's checks judged against the running simulation, and the figures they read.

use crate::node::{AggRt, flags};
use crate::report::CheckResult;
use crate::scenario::{AggRef, At, Bound, CheckKind, FlowSel, PortRef, Side, Traffic};
use lagd_types::Instant;
use std::fmt::Write as _;

use super::{LOSS_GRACE, NicCounters, Simulator, WindowSnap, secs};

pub(super) fn within(v: f64, b: &Bound) -> bool {
    b.min.is_none_or(|m| v >= m - 1e-12) && b.max.is_none_or(|m| v <= m + 1e-12)
}

impl Simulator {
    /// Frames of flow `fi` sent strictly before `t` (sequence numbers are consecutive).
    pub(super) fn sent_before(&self, fi: usize, t: Instant) -> u64 {
        let f = &self.sc.flows[fi];
        if t <= f.start {
            return 0;
        }
        let last = t.min(f.stop);
        let span = (last - f.start).as_nanos();
        let iv = f.interval.as_nanos().max(1);
        (span.div_ceil(iv)).min(self.flows[fi].next_seq)
    }

    pub(super) fn window_snap(&self, check: usize) -> WindowSnap {
        let from = self.now;
        WindowSnap {
            counters: self.counters.clone(),
            carrier: self
                .attach
                .iter()
                .enumerate()
                .map(|(n, ports)| {
                    (0..ports.len())
                        .map(|p| self.link_status(n, p).up)
                        .collect()
                })
                .collect(),
            flows: (0..self.flows.len())
                .map(|fi| {
                    let _ = check;
                    (
                        self.sent_before(fi, from),
                        self.flows[fi].rx.reordered,
                        self.flows[fi].rx.duplicates,
                    )
                })
                .collect(),
            fdb_moves: self
                .nodes
                .iter()
                .map(|n| {
                    n.bridge
                        .as_ref()
                        .map(|b| b.moves().clone())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    /// Members that had carrier at the start of the check's window (time zero without one:
    /// every link starts up) or have it now.
    pub(super) fn members_with_carrier(&self, a: AggRef, check: usize) -> Vec<usize> {
        let base = self.windows[check].as_ref();
        self.table_ports(a)
            .into_iter()
            .filter(|&p| {
                self.link_status(a.node, p).up || base.is_none_or(|w| w.carrier[a.node][p])
            })
            .collect()
    }

    pub(super) fn loads(&self, a: AggRef, check: usize, ports: &[usize], dir: Traffic) -> Vec<u64> {
        let base = self.windows[check].as_ref();
        let bytes = |c: &NicCounters| match dir {
            Traffic::Out => c.data_obytes,
            Traffic::In => c.data_ibytes,
        };
        ports
            .iter()
            .map(|&p| {
                let now = bytes(&self.counters[a.node][p]);
                let from = base.map_or(0, |w| bytes(&w.counters[a.node][p]));
                now - from
            })
            .collect()
    }

    pub(super) fn flow_figures(
        &self,
        sel: &FlowSel,
        check: usize,
        at_end: bool,
    ) -> (u64, u64, u64, u64, f64) {
        // (expected, lost, reordered, duplicates, max gap s)
        let base = self.windows[check].as_ref();
        let (mut expected, mut lost, mut re, mut dup, mut gap) = (0, 0, 0, 0, 0.0f64);
        for &fi in &sel.flows {
            let f = &self.flows[fi];
            let (from_seq, re0, dup0) = base.map_or((0, 0, 0), |w| w.flows[fi]);
            let to_seq = if at_end {
                f.next_seq
            } else {
                self.sent_before(fi, self.now - LOSS_GRACE)
            };
            if to_seq > from_seq {
                let got = f.rx.received_between(from_seq, to_seq);
                expected += to_seq - from_seq;
                lost += (to_seq - from_seq) - got;
            }
            re += f.rx.reordered - re0;
            dup += f.rx.duplicates - dup0;
            gap = gap.max(f.rx.max_gap.as_secs_f64());
        }
        (expected, lost, re, dup, gap)
    }

    pub(super) fn agg_rt(&self, a: AggRef) -> Option<&AggRt> {
        self.nodes[a.node].aggs.get(a.agg).and_then(|x| x.as_ref())
    }

    pub(super) fn port_status(&self, p: PortRef) -> Option<lagd_agg::lagd_lacp::PortStatus> {
        let ai = self.nodes[p.node].port_agg[p.port]?;
        self.agg_rt(AggRef {
            node: p.node,
            agg: ai,
        })?
        .status(p.port)
    }

    pub(super) fn check(&mut self, ci: usize) {
        let c = self.sc.checks[ci].clone();
        let at_end = c.at == At::End;
        let (passed, value) = match &c.kind {
            CheckKind::Mux(p, want)
            | CheckKind::Receive(p, want)
            | CheckKind::Selected(p, want) => self.machine_check(&c.kind, *p, want),
            CheckKind::StateFlag(p, side, flag, want) => {
                self.state_flag_check(*p, *side, flag, *want)
            }
            CheckKind::Why(p, want) => self.why_check(*p, want),
            CheckKind::Up(a, want) => self.up_check(*a, *want),
            CheckKind::Fallback(a, want) => self.fallback_check(*a, *want),
            CheckKind::Distributing(a, b) => self.distributing_check(*a, b),
            CheckKind::Partners(a, b) => self.partners_check(*a, b),
            CheckKind::FlowLoss(sel, b)
            | CheckKind::FlowLossRatio(sel, b)
            | CheckKind::FlowReorder(sel, b)
            | CheckKind::FlowDup(sel, b)
            | CheckKind::FlowGap(sel, b) => self.flow_check(&c.kind, sel, b, ci, at_end),
            CheckKind::PortShare(p, a, dir, b) => self.port_share_check(*p, *a, *dir, b, ci),
            CheckKind::Balance(a, dir, b) => self.balance_check(*a, *dir, b, ci),
            CheckKind::MembersUsed(a, dir, thr, b) => {
                self.members_used_check(*a, *dir, *thr, b, ci)
            }
            CheckKind::DtState(n, want) => self.dt_state_check(*n, want),
            CheckKind::DtRole(n, want) => self.dt_role_check(*n, want),
            CheckKind::DtPorts(a, want) => self.dt_ports_check(*a, *want),
            CheckKind::Peers(..) | CheckKind::FdbMoves(..) | CheckKind::FdbPort(..) => {
                self.l2_check(&c.kind, ci)
            }
            CheckKind::Event(text) => self.event_check(text, c.from),
        };
        if !passed {
            self.report.passed = false;
        }
        let r = CheckResult {
            index: c.index,
            t: secs(self.now),
            label: c.label.clone(),
            passed,
            value,
        };
        if !self.opts.quiet {
            let _ = writeln!(
                self.text,
                "{:>10}  check #{} {}: {}: {}",
                self.now.to_string(),
                r.index,
                if r.passed { "PASS" } else { "FAIL" },
                r.label,
                r.value
            );
        }
        self.report.checks.push(r);
    }
}

/// Checks of one port's LACP machines and state.
impl Simulator {
    fn machine_check(&self, kind: &CheckKind, p: PortRef, want: &str) -> (bool, String) {
        match self.port_status(p) {
            Some(s) => {
                let got = match kind {
                    CheckKind::Mux(..) => s.mux.to_string(),
                    CheckKind::Receive(..) => s.receive.to_string(),
                    _ => s.selected.to_string(),
                };
                (got == want, got)
            }
            None => (false, "port is not a member (or node down)".into()),
        }
    }

    fn state_flag_check(&self, p: PortRef, side: Side, flag: &str, want: bool) -> (bool, String) {
        match self.port_status(p) {
            Some(s) => {
                let st = match side {
                    Side::Actor => s.actor.state,
                    Side::Partner => s.partner.state,
                };
                let on = st.names().any(|n| n == flag);
                (on == want, format!("{flag} is {on} (state {})", flags(st)))
            }
            None => (false, "port is not a member (or node down)".into()),
        }
    }

    fn why_check(&self, p: PortRef, want: &Option<String>) -> (bool, String) {
        match self.port_status(p) {
            Some(s) => {
                let why = s.why_not_distributing.clone();
                let ok = match (want, &why) {
                    (Some(t), Some(w)) => w.contains(t.as_str()),
                    (None, None) => true,
                    _ => false,
                };
                (ok, why.unwrap_or_else(|| "distributing".into()))
            }
            None => (false, "port is not a member (or node down)".into()),
        }
    }
}

/// Checks of an aggregation as a whole.
impl Simulator {
    /// Up, fallback active, members distributing.
    fn agg_summary(&self, a: AggRef) -> Option<(bool, bool, usize)> {
        self.agg_rt(a)
            .map(|x| (x.is_up(), x.fallback_active(), x.distributing()))
    }

    fn up_check(&self, a: AggRef, want: bool) -> (bool, String) {
        match self.agg_summary(a) {
            Some((up, _, _)) => (up == want, format!("up = {up}")),
            None => (false, "node down".into()),
        }
    }

    fn fallback_check(&self, a: AggRef, want: bool) -> (bool, String) {
        match self.agg_summary(a) {
            Some((_, f, _)) => (f == want, format!("fallback active = {f}")),
            None => (false, "node down".into()),
        }
    }

    fn distributing_check(&self, a: AggRef, b: &Bound) -> (bool, String) {
        match self.agg_summary(a) {
            Some((_, _, n)) => (within(n as f64, b), format!("{n} members distributing")),
            None => (false, "node down".into()),
        }
    }

    fn partners_check(&self, a: AggRef, b: &Bound) -> (bool, String) {
        match self.agg_rt(a) {
            Some(x) => {
                let p = x.partner_systems();
                let list: Vec<String> = p.iter().map(|s| s.to_string()).collect();
                (
                    within(p.len() as f64, b),
                    format!("{} partner systems ({})", p.len(), list.join(", ")),
                )
            }
            None => (false, "node down".into()),
        }
    }
}

/// Checks of the flows: loss, reordering, duplicates, gaps.
impl Simulator {
    fn flow_check(
        &self,
        kind: &CheckKind,
        sel: &FlowSel,
        b: &Bound,
        ci: usize,
        at_end: bool,
    ) -> (bool, String) {
        let (exp, lost, re, dup, gap) = self.flow_figures(sel, ci, at_end);
        let (v, text) = match kind {
            CheckKind::FlowLoss(..) => (lost as f64, format!("{lost} of {exp} frames lost")),
            CheckKind::FlowLossRatio(..) => {
                let r = if exp == 0 {
                    0.0
                } else {
                    lost as f64 / exp as f64
                };
                (r, format!("{:.4} lost ({lost} of {exp})", r))
            }
            CheckKind::FlowReorder(..) => (re as f64, format!("{re} reordered")),
            CheckKind::FlowDup(..) => (dup as f64, format!("{dup} duplicates")),
            _ => (gap, format!("max gap {:.1}ms", gap * 1e3)),
        };
        (within(v, b), text)
    }
}

/// Checks of how the data is spread over the members.
impl Simulator {
    fn port_share_check(
        &self,
        p: PortRef,
        a: AggRef,
        dir: Traffic,
        b: &Bound,
        ci: usize,
    ) -> (bool, String) {
        let ports = self.table_ports(a);
        let loads = self.loads(a, ci, &ports, dir);
        let total: u64 = loads.iter().sum();
        let mine = ports
            .iter()
            .position(|x| *x == p.port)
            .and_then(|i| loads.get(i).copied())
            .unwrap_or(0);
        if total == 0 {
            (false, "no data sent in the window".into())
        } else {
            let share = mine as f64 / total as f64;
            (
                within(share, b),
                format!("{:.2}% of {} data bytes", share * 100.0, total),
            )
        }
    }

    fn balance_check(&self, a: AggRef, dir: Traffic, b: &Bound, ci: usize) -> (bool, String) {
        let ports = self.members_with_carrier(a, ci);
        let loads = self.loads(a, ci, &ports, dir);
        let total: u64 = loads.iter().sum();
        if total == 0 || ports.is_empty() {
            (false, "no data sent in the window".into())
        } else {
            let mean = total as f64 / ports.len() as f64;
            let max = loads.iter().copied().max().unwrap_or(0) as f64;
            let r = max / mean;
            let shares: Vec<String> = loads
                .iter()
                .map(|l| format!("{:.1}%", *l as f64 * 100.0 / total as f64))
                .collect();
            (
                within(r, b),
                format!(
                    "max/mean {:.3} over {} members with carrier ({})",
                    r,
                    ports.len(),
                    shares.join(" ")
                ),
            )
        }
    }

    fn members_used_check(
        &self,
        a: AggRef,
        dir: Traffic,
        thr: f64,
        b: &Bound,
        ci: usize,
    ) -> (bool, String) {
        let ports = self.table_ports(a);
        let loads = self.loads(a, ci, &ports, dir);
        let total: u64 = loads.iter().sum();
        let used = if total == 0 {
            0
        } else {
            loads
                .iter()
                .filter(|&&l| l as f64 / total as f64 >= thr)
                .count()
        };
        (
            within(used as f64, b),
            format!("{used} members carry >= {:.0}% of the data", thr * 100.0),
        )
    }
}

/// Checks of a Distributed Trunking switch.
impl Simulator {
    fn dt_state_check(&self, n: usize, want: &str) -> (bool, String) {
        match self.dt_of_node(n) {
            Some(dt) => {
                let got = dt.state().to_string();
                (got == want, format!("state {got}"))
            }
            None => (false, "switch is down".into()),
        }
    }

    fn dt_role_check(&self, n: usize, want: &str) -> (bool, String) {
        match self.dt_of_node(n) {
            Some(dt) => {
                let got = dt.role().to_string();
                (got == want, format!("role {got}"))
            }
            None => (false, "switch is down".into()),
        }
    }

    fn dt_ports_check(&self, a: AggRef, want: bool) -> (bool, String) {
        match self.dt_decision(a) {
            Some(d) => (
                d.ports_enabled == want,
                format!(
                    "ports {}{}",
                    if d.ports_enabled { "up" } else { "down" },
                    d.reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            ),
            None => (false, "switch is down".into()),
        }
    }
}

/// Checks of the report's events.
impl Simulator {
    fn event_check(&self, text: &str, from: Option<Instant>) -> (bool, String) {
        let from = from.map_or(0.0, secs);
        let hit = self
            .report
            .events
            .iter()
            .map(|e| (e.t, &e.text))
            .chain(self.report.faults.iter().map(|e| (e.t, &e.text)))
            .filter(|(t, x)| *t >= from && x.contains(text))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match hit {
            Some((t, x)) => (true, format!("at {t:.3}s: {x}")),
            None => (false, format!("no event containing {text:?}")),
        }
    }
}

impl Simulator {
    // ---- the end --------------------------------------------------------------------------
}
