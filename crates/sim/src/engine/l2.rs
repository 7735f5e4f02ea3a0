//! Learning switches, plain host ports and the hosts' ARP in the simulator (see
//! [`crate::bridge`] and [`crate::neigh`]).

use super::{NicCounters, Simulator};
use crate::node::{Frame, TxResult};
use crate::report::{BalancerSummary, BridgeSummary};
use crate::scenario::{AggRef, CheckKind, PortRef, Via};
use lagd_types::{Instant, MacAddr};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::rc::Rc;

/// EtherType of ARP.
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];

fn macs(frame: &[u8]) -> Option<(MacAddr, MacAddr)> {
    let dst: [u8; 6] = frame.get(0..6)?.try_into().ok()?;
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    Some((MacAddr(dst), MacAddr(src)))
}

/// 01:80:C2:00:00:0x: IEEE 802.1D reserved group addresses (Slow Protocols among them), which
/// a bridge consumes and never forwards.
fn link_local(dst: MacAddr) -> bool {
    dst.0[..5] == [0x01, 0x80, 0xc2, 0, 0] && dst.0[5] < 0x10
}

impl Simulator {
    /// A frame arrived on a port of a bridge: learned and forwarded.
    pub(super) fn bridge_rx(&mut self, at: PortRef, frame: Frame) {
        let now = self.now;
        let ni = at.node;
        let Some((dst, src)) = macs(&frame) else {
            self.counters[ni][at.port].ierrs += 1;
            return;
        };
        if !self.nodes[ni].alive || link_local(dst) {
            self.counters[ni][at.port].ierrs += 1;
            return;
        }
        let up: Vec<bool> = (0..self.sc.nodes[ni].ports.len())
            .map(|p| self.link_status(ni, p).up)
            .collect();
        let Some(b) = self.nodes[ni].bridge.as_mut() else {
            return;
        };
        match b.handle_frame(now, at.port, src, dst, &|p| up[p]) {
            crate::bridge::Forward::Port(p) => self.send(ni, p, frame, false),
            crate::bridge::Forward::Flood(ports) => {
                for p in ports {
                    self.send(ni, p, Rc::clone(&frame), false);
                }
            }
            crate::bridge::Forward::Filter => {}
        }
    }

    /// A frame arrived on a port in no aggregation of a host (a plain NIC): frames for another
    /// unicast MAC are filtered as a NIC does; ARP goes to the host's table, data to its flows.
    pub(super) fn nic_rx(&mut self, at: PortRef, frame: &Frame) {
        let Some((dst, _)) = macs(frame) else {
            self.counters[at.node][at.port].ierrs += 1;
            return;
        };
        let node = &self.sc.nodes[at.node];
        if dst.is_unicast() && dst != node.mac && dst != node.ports[at.port].mac {
            return;
        }
        if !self.host_arp(at.node, frame) {
            let c: &mut NicCounters = &mut self.counters[at.node][at.port];
            c.data_ipkts += 1;
            c.data_ibytes += frame.len() as u64;
            self.receive_flow(at.node, frame);
        }
    }

    /// Whether `frame` is unicast for another MAC than node `node`'s, and the node has a host
    /// stack (an `ip`) that would drop it.
    pub(super) fn foreign_unicast(&self, node: usize, frame: &[u8]) -> bool {
        self.nodes[node].neigh.is_some()
            && macs(frame)
                .is_some_and(|(dst, _)| dst.is_unicast() && dst != self.sc.nodes[node].mac)
    }

    /// How node `node`'s own frames leave: its first aggregation, or its first port.
    fn host_via(&self, node: usize) -> Via {
        if self.sc.nodes[node].aggs.is_empty() {
            Via::Port(0)
        } else {
            Via::Agg(AggRef { node, agg: 0 })
        }
    }

    /// An ARP frame delivered to node `node`'s host stack: handled by its neighbour table (a
    /// request for its address answered). `false` if the frame is not ARP.
    pub(super) fn host_arp(&mut self, node: usize, frame: &Frame) -> bool {
        if frame.get(12..14) != Some(&ETHERTYPE_ARP[..]) {
            return false;
        }
        let now = self.now;
        let reply = self.nodes[node]
            .neigh
            .as_mut()
            .and_then(|n| n.handle_arp(now, frame));
        if let Some(r) = reply {
            let via = self.host_via(node);
            let _ = self.host_send(node, via, Rc::from(r));
        }
        true
    }

    /// Node `node` asks for every destination of its flows it has not resolved; again in a
    /// second while one is missing.
    pub(super) fn arp_probe(&mut self, node: usize) {
        let now = self.now;
        let wanted: BTreeSet<_> = self
            .sc
            .flows
            .iter()
            .filter(|f| f.from == node && f.resolve && f.stop > now)
            .map(|f| f.frame.dst_ip)
            .collect();
        let mut missing = false;
        for ip in wanted {
            let Some(n) = self.nodes[node].neigh.as_mut() else {
                return;
            };
            if n.lookup(ip).is_some() {
                continue;
            }
            missing = true;
            let frame = n.request(now, ip);
            let via = self.host_via(node);
            if self.host_send(node, via, Rc::from(frame)) != TxResult::Sent {
                // Not out yet (no member distributing): asked again next round.
            }
        }
        if missing && now < self.end {
            self.q.push(
                now + lagd_types::Duration::from_secs(1),
                super::Ev::ArpProbe { node },
            );
        }
    }

    /// The checks on learning switches and balancers: `(passed, value)`.
    pub(super) fn l2_check(&self, kind: &CheckKind, ci: usize) -> (bool, String) {
        let now = self.now;
        match kind {
            CheckKind::Peers(a, port, b) => {
                let Some(st) = self
                    .agg_rt(*a)
                    .and_then(|x| x.aggregation().alb().map(|l| l.status()))
                else {
                    return (
                        false,
                        "no switch-independent balancer (or node down)".into(),
                    );
                };
                let want = port.map(|p| self.agg_rt(*a).map(|x| x.port_number_of(p.port)));
                let n = st
                    .peers
                    .iter()
                    .filter(|x| want.is_none_or(|w| w == Some(x.member)))
                    .count();
                (
                    super::check::within(n as f64, b),
                    format!("{n} peers of {}", st.peers.len()),
                )
            }
            CheckKind::FdbMoves(n, mac, b) => {
                let Some(br) = self.nodes[*n].bridge.as_ref() else {
                    return (false, "not a bridge".into());
                };
                let base = self.windows[ci]
                    .as_ref()
                    .and_then(|w| w.fdb_moves[*n].get(mac).copied())
                    .unwrap_or(0);
                let moves = br.moves_of(*mac) - base;
                let on = br
                    .port_of(now, *mac)
                    .map_or("not learned".to_string(), |p| {
                        format!(
                            "learned on {}",
                            self.sc.port_name(PortRef { node: *n, port: p })
                        )
                    });
                (
                    super::check::within(moves as f64, b),
                    format!("{mac} moved {moves} times ({on})"),
                )
            }
            CheckKind::FdbPort(n, mac, p) => {
                let Some(br) = self.nodes[*n].bridge.as_ref() else {
                    return (false, "not a bridge".into());
                };
                match br.port_of(now, *mac) {
                    Some(x) => (
                        x == p.port,
                        format!(
                            "{mac} learned on {}",
                            self.sc.port_name(PortRef { node: *n, port: x })
                        ),
                    ),
                    None => (false, format!("{mac} not learned")),
                }
            }
            _ => (false, "not a learning-switch check".into()),
        }
    }

    pub(super) fn bridge_summaries(&self) -> Vec<BridgeSummary> {
        let now: Instant = self.now;
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(ni, n)| {
                let b = n.bridge.as_ref()?;
                let port = |p: usize| self.sc.port_name(PortRef { node: ni, port: p });
                Some(BridgeSummary {
                    node: self.sc.nodes[ni].name.clone(),
                    counters: b.counters,
                    moved: b.moves().iter().map(|(m, c)| (m.to_string(), *c)).collect(),
                    table: b
                        .table(now)
                        .into_iter()
                        .map(|(m, p)| (m.to_string(), port(p)))
                        .collect(),
                })
            })
            .collect()
    }

    pub(super) fn balancer_summaries(&self) -> Vec<BalancerSummary> {
        let mut v = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            for (ai, a) in n.aggs.iter().enumerate() {
                let Some(rt) = a.as_ref() else { continue };
                let Some(st) = rt.aggregation().alb().map(|l| l.status()) else {
                    continue;
                };
                let port = |num| {
                    self.sc.port_name(PortRef {
                        node: ni,
                        port: rt.port_index_of(num),
                    })
                };
                v.push(BalancerSummary {
                    aggregation: self.sc.agg_name(AggRef { node: ni, agg: ai }),
                    receive_member: st.receive_member.map(port),
                    peers: st
                        .peers
                        .iter()
                        .map(|p| (IpAddr::to_string(&p.ip), port(p.member)))
                        .collect(),
                    counters: st.counters,
                });
            }
        }
        v
    }
}
