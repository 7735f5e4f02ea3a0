//! The Selection Logic (IEEE 802.1AX-2014 §6.4.14): each enabled port selects the Aggregator of
//! its Link Aggregation Group; beyond `max_active` ports per Aggregator the rest are Standby,
//! chosen by the port priorities of the System with the better System ID (§6.4.14.2 c).

use crate::aggregator::{Aggregator, Aggregators, LagId};
use crate::port::{Ctx, Port};
use crate::port_table::PortTable;
use crate::worklist::Worklist;
use crate::{AggregatorId, MuxState, ReceiveState};
use core::fmt;
use lagd_types::{PortId, PortNumber};
use serde::{Deserialize, Serialize};

/// The Selected variable (§6.4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Selected {
    /// SELECTED: attached (or attaching) to the Aggregator.
    Selected,
    /// UNSELECTED.
    Unselected,
    /// STANDBY: in the Aggregator but held back (max_active).
    Standby,
}

impl fmt::Display for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Selected::Selected => "SELECTED",
            Selected::Unselected => "UNSELECTED",
            Selected::Standby => "STANDBY",
        })
    }
}

fn can_select(p: &Port) -> bool {
    p.port_enabled()
        && p.loopback.is_none()
        && !matches!(
            p.receive,
            ReceiveState::Initialize | ReceiveState::PortDisabled
        )
}

/// The order of an Aggregator's members for max_active (§6.4.14.2): the port priorities of the
/// System with the better System ID decide, then the actor's, then the port number.
type Priority = (PortId, PortId, PortNumber);

fn priority(p: &Port, agg: &Aggregator, ctx: &Ctx<'_>) -> Priority {
    if ctx.cfg.system <= agg.lag.partner_system {
        (p.actor.port, p.actor.port, p.number())
    } else {
        (p.partner.port, p.actor.port, p.number())
    }
}

/// Buffers reused from one run to the next.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    /// Ports that selected an Aggregator in this run: (Aggregator, port number, position).
    newly: Vec<(AggregatorId, PortNumber, usize)>,
    aggs: Vec<AggregatorId>,
    members: Vec<(Priority, usize)>,
}

/// Runs the Selection Logic once over the ports of `work` (every other port is at rest: the
/// logic would change nothing for it) and over the Aggregators whose membership changed.
/// Ports whose Selected changes are added to `work`. Returns whether anything changed.
pub(crate) fn run(
    ports: &mut PortTable,
    aggs: &mut Aggregators,
    work: &mut Worklist,
    ctx: &mut Ctx<'_>,
    scratch: &mut Scratch,
) -> bool {
    let mut changed = false;
    // 1. A disabled port, or one whose LAG ID no longer matches its Aggregator, is UNSELECTED.
    for k in 0..work.len() {
        let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) else {
            continue;
        };
        if p.selected == Selected::Unselected {
            continue;
        }
        let reason = if p.loopback.is_some() {
            Some("loopback: this System's own LACPDUs received")
        } else if !can_select(p) {
            Some("port disabled")
        } else if p.aggregator.and_then(|a| aggs.get(a)).map(|a| a.lag) != Some(LagId::of(p)) {
            Some("LAG ID changed: partner or key no longer those of the Aggregator")
        } else {
            None
        };
        if let Some(r) = reason {
            p.set_selected(ctx, Selected::Unselected, r);
            changed = true;
        }
    }
    // 2. A DETACHED, UNSELECTED port has left its Aggregator (Detach_Mux_From_Aggregator); an
    //    Aggregator left without ports ceases to exist.
    for k in 0..work.len() {
        let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) else {
            continue;
        };
        if p.selected == Selected::Unselected
            && p.mux == MuxState::Detached
            && p.aggregator.is_some()
        {
            p.aggregator = None;
            aggs.sync(p);
            changed = true;
        }
    }
    aggs.remove_emptied();
    // 3. Each free enabled port selects the Aggregator of its LAG ID, creating it if needed.
    scratch.newly.clear();
    for k in 0..work.len() {
        let Some(i) = work.get(k) else { continue };
        let Some(p) = ports.at_mut(i) else { continue };
        if p.selected != Selected::Unselected || p.mux != MuxState::Detached || !can_select(p) {
            continue;
        }
        let id = aggs.find_or_create(LagId::of(p), p.number());
        p.aggregator = Some(id);
        p.selected = Selected::Selected;
        scratch.newly.push((id, p.number(), i));
        changed = true;
    }
    for k in 0..work.len() {
        if let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) {
            aggs.sync(p);
        }
    }
    // 4. max_active: the best ports are SELECTED, the rest STANDBY. Only Aggregators whose
    //    tallies changed can change. Without max_active (and no Standby port left from an
    //    earlier one) every member is SELECTED: only the newcomers need a decision.
    scratch.newly.sort_unstable();
    aggs.touched(&mut scratch.aggs);
    let max = ctx.cfg.max_active;
    for j in 0..scratch.aggs.len() {
        let Some(id) = scratch.aggs.get(j).copied() else {
            continue;
        };
        let Some(agg) = aggs.get(id) else { continue };
        scratch.members.clear();
        if max.is_none() && agg.tally.standby == 0 {
            let from = scratch.newly.partition_point(|x| x.0 < id);
            for &(_, _, i) in scratch.newly.iter().skip(from).take_while(|x| x.0 == id) {
                if let Some(p) = ports.at(i) {
                    scratch.members.push((priority(p, agg, ctx), i));
                }
            }
        } else {
            for n in &agg.ports {
                let Some(i) = ports.position(*n) else {
                    continue;
                };
                if let Some(p) = ports.at(i)
                    && p.selected != Selected::Unselected
                {
                    scratch.members.push((priority(p, agg, ctx), i));
                }
            }
        }
        scratch.members.sort_unstable();
        let max = max.unwrap_or(usize::MAX);
        for (rank, &(_, i)) in scratch.members.iter().enumerate() {
            let Some(p) = ports.at_mut(i) else { continue };
            let to = if rank < max {
                Selected::Selected
            } else {
                Selected::Standby
            };
            let fresh = scratch
                .newly
                .binary_search_by(|x| (x.0, x.1).cmp(&(id, p.number())))
                .is_ok();
            if fresh || p.selected != to {
                let reason = match (fresh, to) {
                    (true, Selected::Standby) => "max-active reached: better ports are active",
                    (true, _) => "selected the Aggregator of its LAG ID",
                    (false, Selected::Standby) => "max-active: a better port took the place",
                    (false, _) => "an active port left: standby port takes over",
                };
                if fresh {
                    p.selected = Selected::Unselected;
                }
                p.set_selected(ctx, to, reason);
                work.push(i);
                changed = true;
            }
        }
    }
    changed
}
