//! The Selection Logic (IEEE 802.1AX-2014 §6.4.14): each enabled port selects the Aggregator of
//! its Link Aggregation Group; beyond `max_active` ports per Aggregator the rest are Standby,
//! chosen by the port priorities of the System with the better System ID (§6.4.14.2 c).

use crate::aggregator::{Aggregator, LagId, alloc_id};
use crate::port::{Ctx, Port};
use crate::{AggregatorId, MuxState, ReceiveState};
use core::fmt;
use lagd_types::{PortId, PortNumber};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
        && !matches!(
            p.receive,
            ReceiveState::Initialize | ReceiveState::PortDisabled
        )
}

/// Runs the Selection Logic once over all ports. Returns whether anything changed.
pub(crate) fn run(
    ports: &mut BTreeMap<PortNumber, Port>,
    aggs: &mut BTreeMap<AggregatorId, Aggregator>,
    ctx: &mut Ctx<'_>,
) -> bool {
    let mut changed = false;
    // 1. A disabled port, or one whose LAG ID no longer matches its Aggregator, is UNSELECTED.
    for p in ports.values_mut() {
        if p.selected == Selected::Unselected {
            continue;
        }
        let reason = if !can_select(p) {
            Some("port disabled")
        } else if p.aggregator.and_then(|a| aggs.get(&a)).map(|a| a.lag) != Some(LagId::of(p)) {
            Some("LAG ID changed: partner or key no longer those of the Aggregator")
        } else {
            None
        };
        if let Some(r) = reason {
            p.set_selected(ctx, Selected::Unselected, r);
            changed = true;
        }
    }
    // 2. A DETACHED, UNSELECTED port has left its Aggregator (Detach_Mux_From_Aggregator).
    for p in ports.values_mut() {
        if p.selected == Selected::Unselected
            && p.mux == MuxState::Detached
            && p.aggregator.is_some()
        {
            p.aggregator = None;
            changed = true;
        }
    }
    aggs.retain(|id, _| ports.values().any(|p| p.aggregator == Some(*id)));
    // 3. Each free enabled port selects the Aggregator of its LAG ID, creating it if needed.
    let mut newly = BTreeSet::new();
    for p in ports.values_mut() {
        if p.selected != Selected::Unselected || p.mux != MuxState::Detached || !can_select(p) {
            continue;
        }
        let lag = LagId::of(p);
        let id = match aggs.iter().find(|(_, a)| a.lag == lag) {
            Some((id, _)) => *id,
            None => {
                let id = alloc_id(aggs, p.number());
                aggs.insert(id, Aggregator { lag });
                id
            }
        };
        p.aggregator = Some(id);
        p.selected = Selected::Selected;
        newly.insert(p.number());
        changed = true;
    }
    // 4. max_active: the best ports are SELECTED, the rest STANDBY.
    for (id, agg) in aggs.iter() {
        let mut members: Vec<(PortId, PortId, PortNumber)> = ports
            .values()
            .filter(|p| p.aggregator == Some(*id) && p.selected != Selected::Unselected)
            .map(|p| {
                // §6.4.14.2: the priorities of the System with the better System ID decide.
                if ctx.cfg.system <= agg.lag.partner_system {
                    (p.actor.port, p.actor.port, p.number())
                } else {
                    (p.partner.port, p.actor.port, p.number())
                }
            })
            .collect();
        members.sort();
        let max = ctx.cfg.max_active.unwrap_or(usize::MAX);
        for (i, (_, _, n)) in members.into_iter().enumerate() {
            let Some(p) = ports.get_mut(&n) else { continue };
            let to = if i < max {
                Selected::Selected
            } else {
                Selected::Standby
            };
            let fresh = newly.contains(&n);
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
                changed = true;
            }
        }
    }
    changed
}
