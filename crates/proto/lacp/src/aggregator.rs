//! Aggregators (IEEE 802.1AX-2014 §6.3.6, §6.4.14.1): one per Link Aggregation Group
//! Identifier (actor key, partner system, partner key; Individual ports get one each), and the
//! choice of the active Aggregator, the one whose ports the data plane uses.

use crate::AdSelect;
use crate::port::Port;
use crate::tally::{Share, Tally};
use core::cmp::Reverse;
use core::fmt;
use lagd_types::{Key, PortNumber, SystemId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// An Aggregator, with the ports that selected it and their tallies.
#[derive(Clone, Debug)]
pub(crate) struct Aggregator {
    pub lag: LagId,
    /// Every port whose `aggregator` is this one (Selected, Standby, or Unselected and not yet
    /// detached), in port order.
    pub ports: BTreeSet<PortNumber>,
    /// What those ports add up to.
    pub tally: Tally,
    /// Its ports that are WAITING and SELECTED with Ready_N: they attach once it is Ready.
    pub ready_waiting: BTreeSet<PortNumber>,
}

/// How good an Aggregator is for distribution under an [`AdSelect`] policy: a non-individual
/// one with a real (heard) partner first; then the bandwidth of its ports in sync with their
/// partner (`Stable`, `Bandwidth`) or their number (`Count`); then that number; then the most
/// Selected.
pub(crate) type Rank = (bool, u64, u32, u32);

impl Aggregator {
    /// Its [`Rank`]; `None` when no port is Selected (it cannot be the active one).
    pub fn rank(&self, policy: AdSelect) -> Option<Rank> {
        let t = &self.tally;
        let primary = match policy {
            AdSelect::Stable | AdSelect::Bandwidth => t.ready_mbps,
            AdSelect::Count => u64::from(t.ready),
        };
        (t.selected > 0).then_some((
            t.real > 0 && self.lag.individual.is_none(),
            primary,
            t.ready,
            t.selected,
        ))
    }
}

/// The System's Aggregators, with the indexes that keep the Selection Logic and the choice of
/// the active Aggregator independent of the number of ports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Aggregators {
    map: BTreeMap<AggregatorId, Aggregator>,
    /// The Aggregator of each LAG ID (there is at most one).
    by_lag: BTreeMap<LagId, AggregatorId>,
    /// The Aggregators with a Selected port, by rank; the best is last (ties: lowest id).
    ranked: BTreeSet<(Rank, Reverse<AggregatorId>)>,
    /// Aggregators whose tallies changed since the last [`Aggregators::take_touched`].
    touched: Vec<AggregatorId>,
    /// Aggregators that lost their last port (removed by [`Aggregators::remove_emptied`]).
    emptied: Vec<AggregatorId>,
    /// The policy `ranked` is ordered by.
    policy: AdSelect,
}

impl Aggregators {
    /// Aggregator `id`.
    pub fn get(&self, id: AggregatorId) -> Option<&Aggregator> {
        self.map.get(&id)
    }

    /// All Aggregators, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&AggregatorId, &Aggregator)> {
        self.map.iter()
    }

    /// The Aggregator of `lag`, created (with a free identifier, `preferred` if possible) if
    /// there is none.
    pub fn find_or_create(&mut self, lag: LagId, preferred: u16) -> AggregatorId {
        if let Some(id) = self.by_lag.get(&lag) {
            return *id;
        }
        let id = self.alloc_id(preferred);
        self.map.insert(
            id,
            Aggregator {
                lag,
                ports: BTreeSet::new(),
                tally: Tally::default(),
                ready_waiting: BTreeSet::new(),
            },
        );
        self.by_lag.insert(lag, id);
        id
    }

    /// Chooses a free identifier, `preferred` if possible.
    fn alloc_id(&self, preferred: u16) -> AggregatorId {
        if !self.map.contains_key(&AggregatorId(preferred)) {
            return AggregatorId(preferred);
        }
        let mut next = 1u16;
        for id in self.map.keys() {
            if id.0 > next {
                break;
            }
            if id.0 == next {
                match next.checked_add(1) {
                    Some(n) => next = n,
                    None => return AggregatorId(0),
                }
            }
        }
        AggregatorId(next)
    }

    /// Removes the Aggregators that have no port left (Detach_Mux_From_Aggregator released
    /// the last one).
    pub fn remove_emptied(&mut self) {
        for id in core::mem::take(&mut self.emptied) {
            if let Some(a) = self.map.get(&id)
                && a.ports.is_empty()
            {
                if let Some(r) = a.rank(self.policy) {
                    self.ranked.remove(&(r, Reverse(id)));
                }
                self.by_lag.remove(&a.lag);
                self.map.remove(&id);
            }
        }
    }

    /// Brings port `p`'s share of its Aggregator's tallies up to date.
    pub fn sync(&mut self, p: &mut Port) {
        let new = Share::of(p);
        if new == p.share {
            return;
        }
        let old = core::mem::replace(&mut p.share, new);
        let moved = old.agg != new.agg;
        if let Some(id) = old.agg {
            self.account(id, p.number(), &old, false, moved);
        }
        if let Some(id) = new.agg {
            self.account(id, p.number(), &new, true, moved);
        }
    }

    /// Takes port `p`'s share out of the tallies (it is being removed).
    pub fn forget(&mut self, p: &mut Port) {
        let old = core::mem::take(&mut p.share);
        if let Some(id) = old.agg {
            self.account(id, p.number(), &old, false, true);
        }
    }

    fn account(&mut self, id: AggregatorId, n: PortNumber, s: &Share, add: bool, moved: bool) {
        let policy = self.policy;
        let Some(a) = self.map.get_mut(&id) else {
            return;
        };
        let before = a.rank(policy);
        a.tally.apply(s, add);
        if moved {
            if add {
                a.ports.insert(n);
            } else {
                a.ports.remove(&n);
                if a.ports.is_empty() {
                    self.emptied.push(id);
                }
            }
        }
        if s.ready_waiting {
            if add {
                a.ready_waiting.insert(n);
            } else {
                a.ready_waiting.remove(&n);
            }
        }
        let after = a.rank(policy);
        if before != after {
            if let Some(r) = before {
                self.ranked.remove(&(r, Reverse(id)));
            }
            if let Some(r) = after {
                self.ranked.insert((r, Reverse(id)));
            }
        }
        self.touched.push(id);
    }

    /// Marks every Aggregator as touched (after a change of configuration).
    pub fn touch_all(&mut self) {
        self.touched.extend(self.map.keys().copied());
    }

    /// The Aggregators touched since the last [`Aggregators::take_touched`], sorted, into
    /// `out`.
    pub fn touched(&self, out: &mut Vec<AggregatorId>) {
        out.clear();
        out.extend_from_slice(&self.touched);
        out.sort_unstable();
        out.dedup();
    }

    /// Like [`Aggregators::touched`], and forgets them.
    pub fn take_touched(&mut self, out: &mut Vec<AggregatorId>) {
        self.touched(out);
        self.touched.clear();
    }

    /// Orders the Aggregators by `policy` from now on.
    pub fn set_policy(&mut self, policy: AdSelect) {
        if policy == self.policy {
            return;
        }
        self.policy = policy;
        self.ranked = self
            .map
            .iter()
            .filter_map(|(id, a)| Some((a.rank(policy)?, Reverse(*id))))
            .collect();
    }

    /// The active Aggregator: the best by [`Rank`] among those with a Selected port; the
    /// current one stays while no other is strictly better (no flapping between equals), and
    /// with [`AdSelect::Stable`] while it has a port in sync with a real partner (or neither
    /// it nor the best has a real partner), as Linux's `ad_select=stable`.
    pub fn choose_active(&self, current: Option<AggregatorId>) -> Option<AggregatorId> {
        let (best, Reverse(best_id)) = *self.ranked.last()?;
        if let Some(cur) = current
            && let Some(r) = self.get(cur).and_then(|a| a.rank(self.policy))
        {
            let (partner, _, ready, _) = r;
            let stays =
                r == best || (self.policy == AdSelect::Stable && ready > 0 && (partner || !best.0));
            if stays {
                return Some(cur);
            }
        }
        Some(best_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PortConfig, Selected, SystemConfig};
    use lagd_types::MacAddr;

    fn lag(partner: u8) -> LagId {
        LagId {
            actor_key: 1,
            partner_system: SystemId::new(1, MacAddr([2, 0, 0, 0, 0, partner])),
            partner_key: 1,
            individual: None,
        }
    }

    #[test]
    fn one_aggregator_per_lag_id_with_the_preferred_or_lowest_free_id() {
        let mut aggs = Aggregators::default();
        assert_eq!(aggs.find_or_create(lag(1), 1), AggregatorId(1));
        assert_eq!(aggs.find_or_create(lag(1), 2), AggregatorId(1));
        assert_eq!(aggs.find_or_create(lag(2), 1), AggregatorId(2));
        assert_eq!(aggs.find_or_create(lag(3), 2), AggregatorId(3));
        assert_eq!(aggs.find_or_create(lag(4), 7), AggregatorId(7));
    }

    #[test]
    fn tallies_follow_the_ports_and_rank_the_aggregators() {
        let sys = SystemConfig::default();
        let mut aggs = Aggregators::default();
        aggs.set_policy(AdSelect::Count);
        let a = aggs.find_or_create(lag(1), 1);
        let b = aggs.find_or_create(lag(2), 2);
        let mut ports: Vec<Port> = (1..=3)
            .map(|n| Port::new(PortConfig::new(n, MacAddr::ZERO), &sys))
            .collect();
        for (p, id) in ports.iter_mut().zip([a, b, b]) {
            p.aggregator = Some(id);
            p.selected = Selected::Selected;
            aggs.sync(p);
        }
        assert_eq!(aggs.choose_active(None), Some(b), "more Selected ports");
        assert_eq!(aggs.choose_active(Some(a)), Some(b));
        let Some(p) = ports.get_mut(2) else { panic!() };
        p.selected = Selected::Unselected;
        aggs.sync(p);
        assert_eq!(aggs.choose_active(None), Some(a), "equal: lowest id");
        assert_eq!(
            aggs.choose_active(Some(b)),
            Some(b),
            "equal: the current stays"
        );
        p.aggregator = None;
        aggs.sync(p);
        let Some(p) = ports.get_mut(1) else { panic!() };
        aggs.forget(p);
        aggs.remove_emptied();
        assert!(aggs.get(b).is_none());
        assert_eq!(aggs.choose_active(Some(b)), Some(a));
        let mut t = Vec::new();
        aggs.take_touched(&mut t);
        assert_eq!(t, vec![a, b]);
        aggs.touched(&mut t);
        assert!(t.is_empty());
    }
}
