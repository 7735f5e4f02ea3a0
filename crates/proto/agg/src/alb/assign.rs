//! Which member receives which peer: the choice for a new peer, the re-assignment of a failed
//! member's peers, and the rebalancing plan. Pure functions over loads, so every rule is a
//! unit test.

use std::collections::BTreeMap;

use lagd_types::PortNumber;

/// One member's receive load: the sum of its peers' measured rates, and how many peers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Load {
    pub rate: u64,
    pub peers: usize,
}

/// The member a new (or orphaned) peer goes to: the least loaded by measured rate, then by
/// number of peers, then the first in the members' order (so an idle start spreads peers
/// round-robin, as Linux's `rlb_next_rx_slave` does).
pub(crate) fn least_loaded(
    members: &[PortNumber],
    loads: &BTreeMap<PortNumber, Load>,
) -> Option<PortNumber> {
    members
        .iter()
        .enumerate()
        .min_by_key(|(i, p)| {
            let l = loads.get(p).copied().unwrap_or_default();
            (l.rate, l.peers, *i)
        })
        .map(|(_, p)| *p)
}

/// One move of a rebalancing plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Move<K> {
    pub peer: K,
    pub to: PortNumber,
}

/// A plan that evens receive load over `members`: repeatedly takes, from the most loaded member
/// that has one, the peer that brings it and the least loaded closest together, while that strictly lowers
/// the larger of the two (no move that merely swaps the imbalance, so a plan never oscillates).
/// Rates even first; with no measured rate (all zero) peer counts even out (a member returning
/// after a failure gets its share of peers at once). At most `max_moves` moves.
pub(crate) fn rebalance<K: Copy + Ord>(
    members: &[PortNumber],
    peers: &BTreeMap<K, (PortNumber, u64)>,
    max_moves: usize,
) -> Vec<Move<K>> {
    let mut at: BTreeMap<K, (PortNumber, u64)> = peers
        .iter()
        .filter(|(_, (m, _))| members.contains(m))
        .map(|(k, v)| (*k, *v))
        .collect();
    let mut plan = Vec::new();
    while plan.len() < max_moves {
        let mut loads: BTreeMap<PortNumber, Load> =
            members.iter().map(|m| (*m, Load::default())).collect();
        for (m, rate) in at.values() {
            if let Some(l) = loads.get_mut(m) {
                l.rate += rate;
                l.peers += 1;
            }
        }
        // Weight: the rate, or the peer count where nothing was measured.
        let by_rate = loads.values().any(|l| l.rate > 0);
        let w = |l: &Load| if by_rate { l.rate } else { l.peers as u64 };
        let Some((&lo, ll)) = loads.iter().min_by_key(|(p, l)| (w(l), **p)) else {
            break;
        };
        let lw = w(ll);
        // Sources from the most loaded down: the first with a move that helps.
        let mut sources: Vec<(PortNumber, u64)> = loads
            .iter()
            .filter(|(p, l)| **p != lo && w(l) > lw)
            .map(|(p, l)| (*p, w(l)))
            .collect();
        sources.sort_by_key(|(p, w)| (core::cmp::Reverse(*w), *p));
        // The peer of a source after whose move max(source, lo) is smallest, if below the
        // source's load (each such move lowers the sum of squared loads: no cycle).
        let best = sources.iter().find_map(|&(hi, hw)| {
            at.iter()
                .filter(|(_, (m, _))| *m == hi)
                .map(|(k, (_, rate))| {
                    let pw = if by_rate { *rate } else { 1 };
                    (*k, hw.saturating_sub(pw).max(lw + pw))
                })
                .filter(|(_, after)| *after < hw)
                .min_by_key(|(k, after)| (*after, *k))
        });
        let Some((peer, _)) = best else { break };
        if let Some(e) = at.get_mut(&peer) {
            e.0 = lo;
        }
        plan.push(Move { peer, to: lo });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u16) -> PortNumber {
        n
    }

    #[test]
    fn new_peers_go_round_robin_when_idle_then_by_rate() {
        let members = [p(1), p(2), p(3)];
        let mut loads = BTreeMap::new();
        let mut got = Vec::new();
        for _ in 0..6 {
            let m = least_loaded(&members, &loads).unwrap();
            loads.entry(m).or_insert_with(Load::default).peers += 1;
            got.push(m);
        }
        assert_eq!(got, [1, 2, 3, 1, 2, 3]);
        loads.insert(
            p(1),
            Load {
                rate: 900,
                peers: 1,
            },
        );
        loads.insert(p(2), Load { rate: 10, peers: 5 });
        loads.insert(p(3), Load { rate: 50, peers: 0 });
        assert_eq!(least_loaded(&members, &loads), Some(p(2)));
        assert_eq!(least_loaded(&[], &loads), None);
    }

    #[test]
    fn a_returning_member_gets_its_share_of_idle_peers() {
        // 8 peers on 3 members after member 4 failed; it returns.
        let peers: BTreeMap<u8, (PortNumber, u64)> = (0..8u8)
            .map(|i| (i, (p(1 + u16::from(i % 3)), 0)))
            .collect();
        let members = [p(1), p(2), p(3), p(4)];
        let plan = rebalance(&members, &peers, 64);
        assert_eq!(plan.len(), 2, "{plan:?}");
        assert!(plan.iter().all(|m| m.to == p(4)));
        let mut count = BTreeMap::new();
        for (k, (m, _)) in &peers {
            let m = plan.iter().find(|mv| mv.peer == *k).map_or(*m, |mv| mv.to);
            *count.entry(m).or_insert(0) += 1;
        }
        assert_eq!(count.values().copied().collect::<Vec<_>>(), [2, 2, 2, 2]);
        // Balanced already: no move.
        let even: BTreeMap<u8, (PortNumber, u64)> = (0..8u8)
            .map(|i| (i, (p(1 + u16::from(i % 4)), 0)))
            .collect();
        assert!(rebalance(&members, &even, 64).is_empty());
    }

    #[test]
    fn rates_even_out_without_oscillation() {
        // One heavy peer alone on member 1, three light ones on member 2.
        let peers: BTreeMap<u8, (PortNumber, u64)> = [
            (0, (p(1), 1000)),
            (1, (p(2), 300)),
            (2, (p(2), 300)),
            (3, (p(2), 300)),
        ]
        .into();
        // Moving the heavy peer would only swap the imbalance: nothing to do.
        assert!(rebalance(&[p(1), p(2)], &peers, 64).is_empty());
        // A third member: the heavy one stays, one light peer goes there.
        let plan = rebalance(&[p(1), p(2), p(3)], &peers, 64);
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert_eq!(plan[0].to, p(3));
        assert_ne!(plan[0].peer, 0);
        // The plan is bounded.
        let many: BTreeMap<u16, (PortNumber, u64)> = (0..100).map(|i| (i, (p(1), 0))).collect();
        assert_eq!(rebalance(&[p(1), p(2)], &many, 10).len(), 10);
        assert_eq!(rebalance(&[p(1), p(2)], &many, 1000).len(), 50);
    }
}
