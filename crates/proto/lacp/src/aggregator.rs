//! Aggregators (IEEE 802.1AX-2014 §6.3.6, §6.4.14.1): one per Link Aggregation Group
//! Identifier (actor key, partner system, partner key; Individual ports get one each), and the
//! choice of the active Aggregator, the one whose ports the data plane uses.

use crate::MuxState;
use crate::port::Port;
use core::fmt;
use lagd_types::{Key, PortNumber, SystemId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifier of an Aggregator within the System (like Linux's aggregator id: the number of
/// the first port that selected it when free).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AggregatorId(pub u16);

impl fmt::Display for AggregatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Link Aggregation Group Identifier (§6.3.6) as the Selection Logic uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LagId {
    pub actor_key: Key,
    pub partner_system: SystemId,
    pub partner_key: Key,
    /// `Some(port)` for an Individual link: an Aggregator of its own.
    pub individual: Option<PortNumber>,
}

impl LagId {
    /// The LAG ID of a port from its current operational information. A port is Individual
    /// when it is configured so, when either side's Aggregation bit is clear, or when it is
    /// looped back to its own System.
    pub fn of(p: &Port) -> LagId {
        let individual = !p.cfg.aggregatable
            || !p.actor.state.aggregation()
            || !p.partner.state.aggregation()
            || p.partner.system == p.actor.system;
        LagId {
            actor_key: p.actor.key,
            partner_system: p.partner.system,
            partner_key: p.partner.key,
            individual: individual.then_some(p.cfg.number),
        }
    }
}

/// An Aggregator.
#[derive(Clone, Debug)]
pub(crate) struct Aggregator {
    pub lag: LagId,
}

/// Chooses a free identifier, `preferred` if possible.
pub(crate) fn alloc_id(aggs: &BTreeMap<AggregatorId, Aggregator>, preferred: u16) -> AggregatorId {
    if !aggs.contains_key(&AggregatorId(preferred)) {
        return AggregatorId(preferred);
    }
    (1..=u16::MAX)
        .map(AggregatorId)
        .find(|id| !aggs.contains_key(id))
        .unwrap_or(AggregatorId(0))
}

/// How good an Aggregator is for distribution: a non-individual one with a real (heard)
/// partner first, then the most ports Collecting and Distributing, then the most Selected.
pub(crate) fn rank<'a>(
    id: AggregatorId,
    agg: &Aggregator,
    ports: impl Iterator<Item = &'a Port>,
) -> (bool, usize, usize) {
    let mut real = false;
    let mut cd = 0;
    let mut selected = 0;
    for p in ports.filter(|p| p.aggregator == Some(id)) {
        if p.selected == crate::Selected::Selected {
            selected += 1;
        }
        if p.actor.state.collecting() && p.actor.state.distributing() {
            cd += 1;
        }
        if !p.actor.state.defaulted() {
            real = true;
        }
    }
    (real && agg.lag.individual.is_none(), cd, selected)
}

/// The active Aggregator: the best by [`rank`] among those with a Selected port; the current
/// one stays while no other is strictly better (no flapping between equals).
pub(crate) fn choose_active(
    current: Option<AggregatorId>,
    aggs: &BTreeMap<AggregatorId, Aggregator>,
    ports: &BTreeMap<PortNumber, Port>,
) -> Option<AggregatorId> {
    let ranked: Vec<(AggregatorId, (bool, usize, usize))> = aggs
        .iter()
        .map(|(id, a)| (*id, rank(*id, a, ports.values())))
        .filter(|(_, r)| r.2 > 0)
        .collect();
    let best = ranked.iter().map(|(_, r)| *r).max()?;
    if let Some(cur) = current
        && ranked.iter().any(|(id, r)| *id == cur && *r == best)
    {
        return Some(cur);
    }
    ranked.iter().find(|(_, r)| *r == best).map(|(id, _)| *id)
}

/// Whether a port's mux is attached and both collecting and distributing.
pub(crate) fn is_cd(p: &Port) -> bool {
    matches!(
        p.mux,
        MuxState::CollectingDistributing | MuxState::Distributing
    ) && p.actor.state.collecting()
        && p.actor.state.distributing()
}
