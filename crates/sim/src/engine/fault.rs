//! Faults of a scenario applied to the running simulation (links cut, frozen, changed; nodes
//! and settings changed), each written to the report.

use crate::error::SimError;
use crate::link::Dir;
use crate::report::FaultRecord;
use crate::scenario::{AggRef, Direction, Fault, PortRef};
use lagd_types::Duration;
use std::fmt::Write as _;

use super::{Ev, Simulator, secs};

impl Simulator {
    pub(super) fn fault(&mut self, idx: usize) -> Result<(), SimError> {
        let f = self.sc.faults[idx].fault.clone();
        match f {
            Fault::LinkDown(li) => self.link_down(li),
            Fault::LinkUp(li) => self.link_up(li),
            Fault::Silent(li, d) => self.silent(li, d),
            Fault::Heal(li) => self.heal(li),
            Fault::LinkParams {
                link,
                rate,
                loss,
                delay,
            } => self.link_params(link, rate, loss, delay),
            Fault::Restart { node, down_for } => self.restart_node(node, down_for)?,
            Fault::Drain(p) => self.drain_port(p),
            Fault::RemovePort(p) => self.remove_port(p),
            Fault::AddPort(p, a) => self.add_port(p, a),
            Fault::Set(a, patch) => self.set_settings(a, &patch),
            Fault::NodeDown(node) => self.node_down(node),
            Fault::NodeUp(node) => self.node_up(node)?,
        }
        Ok(())
    }
}

/// Faults of a link: carrier, silence, rate, loss and delay.
impl Simulator {
    fn link_down(&mut self, li: usize) {
        let now = self.now;
        self.fault_line(format!("link-down {}", self.link_label(li)));
        self.link_admin[li] = false;
        let up = self.link_wanted(li);
        self.links[li].set_up(up, now);
        self.notify_link(li);
    }

    fn link_up(&mut self, li: usize) {
        let now = self.now;
        self.fault_line(format!("link-up {}", self.link_label(li)));
        self.link_admin[li] = true;
        let up = self.link_wanted(li);
        self.links[li].set_up(up, now);
        self.notify_link(li);
    }

    fn silent(&mut self, li: usize, d: Direction) {
        let (ab, ba, what) = match d {
            Direction::Both => (true, true, "both directions"),
            Direction::AtoB => (true, false, "a to b"),
            Direction::BtoA => (false, true, "b to a"),
        };
        self.fault_line(format!(
            "silent {} ({what}): carrier stays up, frames dropped",
            self.link_label(li)
        ));
        if ab {
            self.links[li].set_silent(Dir::AtoB, true);
        }
        if ba {
            self.links[li].set_silent(Dir::BtoA, true);
        }
    }

    fn heal(&mut self, li: usize) {
        self.fault_line(format!("heal {}", self.link_label(li)));
        self.links[li].set_silent(Dir::AtoB, false);
        self.links[li].set_silent(Dir::BtoA, false);
    }

    fn link_params(
        &mut self,
        link: usize,
        rate: Option<f64>,
        loss: Option<f64>,
        delay: Option<Duration>,
    ) {
        let mut p = *self.links[link].params();
        if let Some(r) = rate {
            p.rate_bps = r;
        }
        if let Some(l) = loss {
            p.loss = l;
        }
        if let Some(d) = delay {
            p.delay = d;
        }
        self.fault_line(format!(
            "link-params {}: {} Mbit/s, loss {}, delay {}",
            self.link_label(link),
            p.rate_bps / 1e6,
            p.loss,
            p.delay
        ));
        self.links[link].set_params(p);
        self.notify_link(link);
    }
}

/// Faults of a node: restart, power off and on.
impl Simulator {
    fn restart_node(&mut self, node: usize, down_for: Duration) -> Result<(), SimError> {
        let now = self.now;
        if !self.powered[node] {
            let name = &self.sc.nodes[node].name;
            self.fault_line(format!("restart {name}: powered off, nothing to restart"));
            return Ok(());
        }
        let name = self.sc.nodes[node].name.clone();
        let n = &mut self.nodes[node];
        // Keep membership and settings; drop every protocol state.
        n.alive = false;
        self.dt_stop_node(node);
        if down_for == Duration::ZERO {
            self.fault_line(format!("restart {name}: control plane state lost"));
            self.dt_start_node(node)?;
            self.start_node(node)?;
        } else {
            self.fault_line(format!(
                "restart {name}: down for {down_for}, control plane state lost"
            ));
            self.q.push(now + down_for, Ev::NodeUp { node });
        }
        Ok(())
    }

    fn node_down(&mut self, node: usize) {
        let name = self.sc.nodes[node].name.clone();
        self.fault_line(format!("node-down {name}: powered off, every link down"));
        self.nodes[node].alive = false;
        self.powered[node] = false;
        self.dt_stop_node(node);
        self.refresh_node_links(node);
    }

    fn node_up(&mut self, node: usize) -> Result<(), SimError> {
        let name = self.sc.nodes[node].name.clone();
        if self.powered[node] {
            self.fault_line(format!("node-up {name}: already up"));
        } else {
            self.fault_line(format!("node-up {name}: powered on, fresh protocol state"));
            self.powered[node] = true;
            self.dt_start_node(node)?;
            self.refresh_node_links(node);
            self.start_node(node)?;
        }
        Ok(())
    }
}

/// Faults of an aggregation: members drained, removed and added, settings changed.
impl Simulator {
    fn drain_port(&mut self, p: PortRef) {
        let now = self.now;
        let name = self.sc.port_name(p);
        match self.nodes[p.node].port_agg[p.port] {
            Some(ai) => {
                let r = match self.nodes[p.node].aggs.get_mut(ai) {
                    Some(Some(agg)) => agg.drain_port(now, p.port),
                    _ => Err("node is down".into()),
                };
                match r {
                    Ok(()) => self.fault_line(format!("drain {name}")),
                    Err(e) => self.fault_line(format!("drain {name} refused: {e}")),
                }
                self.after(p.node, ai);
            }
            None => self.fault_line(format!("drain {name}: not a member")),
        }
    }

    fn remove_port(&mut self, p: PortRef) {
        let now = self.now;
        let name = self.sc.port_name(p);
        match self.nodes[p.node].port_agg[p.port] {
            Some(ai) => {
                let r = match self.nodes[p.node].aggs.get_mut(ai) {
                    Some(Some(agg)) => agg.remove_port(now, p.port),
                    _ => Err("node is down".into()),
                };
                match r {
                    Ok(()) => {
                        self.nodes[p.node].port_agg[p.port] = None;
                        self.fault_line(format!("remove-port {name}"));
                    }
                    Err(e) => self.fault_line(format!("remove-port {name} refused: {e}")),
                }
                self.after(p.node, ai);
            }
            None => self.fault_line(format!("remove-port {name}: not a member")),
        }
    }

    fn add_port(&mut self, p: PortRef, a: AggRef) {
        let now = self.now;
        let name = self.sc.port_name(p);
        if self.nodes[p.node].port_agg[p.port].is_some() {
            self.fault_line(format!("add-port {name}: already a member"));
        } else {
            let status = self.link_status(p.node, p.port);
            let node = &self.sc.nodes[p.node];
            let def = &node.aggs[a.agg];
            let r = match self.nodes[p.node].aggs.get_mut(a.agg) {
                Some(Some(agg)) => agg.add_port(now, node, def, p.port, status),
                _ => Err("node is down".into()),
            };
            match r {
                Ok(()) => {
                    self.nodes[p.node].port_agg[p.port] = Some(a.agg);
                    self.fault_line(format!("add-port {name} to {}", self.sc.agg_name(a)));
                }
                Err(e) => self.fault_line(format!("add-port {name} refused: {e}")),
            }
            self.after(p.node, a.agg);
        }
    }

    fn set_settings(&mut self, a: AggRef, patch: &lagd_node::AggrSettings) {
        let now = self.now;
        let name = self.sc.agg_name(a);
        let node = &self.sc.nodes[a.node];
        let r = match self.nodes[a.node].aggs.get_mut(a.agg) {
            Some(Some(agg)) => agg.set(now, node, a.agg, patch),
            _ => Err("node is down".into()),
        };
        match r {
            Ok(()) => self.fault_line(format!("set {name}: {}", patch_text(patch))),
            Err(e) => self.fault_line(format!("set {name} refused: {e}")),
        }
        self.after(a.node, a.agg);
    }
}

impl Simulator {
    // ---- records --------------------------------------------------------------------------

    pub(super) fn fault_line(&mut self, text: String) {
        if !self.opts.quiet {
            let _ = writeln!(self.text, "{:>10}  ** {text}", self.now.to_string());
        }
        self.report.faults.push(FaultRecord {
            t: secs(self.now),
            text,
        });
    }
}

/// A patch as one line of the report: `key = 1, lacp_mode = "off"`.
pub(super) fn patch_text(p: &lagd_node::AggrSettings) -> String {
    p.render(lagd_node::Syntax::File).replace('\n', ", ")
}
