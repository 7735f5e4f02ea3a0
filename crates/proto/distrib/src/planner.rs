//! Pure planning functions behind the distributor's bucket moves: spreading a failed member's
//! buckets, a returning member taking back its share, and load rebalancing. They work on
//! member indices and bucket numbers only.

/// Gives each of `items` buckets to the member with the fewest buckets at that moment (ties:
/// the lowest index, i.e. the highest priority), updating `counts`. Returns each item's member.
///
/// This is water-filling: afterwards the receiving members are as even as they can be (if they
/// were within one bucket of each other before, they still are), and never is everything piled
/// onto one member.
pub(crate) fn water_fill(counts: &mut [usize], items: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(items);
    for _ in 0..items {
        let Some((i, _)) = counts.iter().enumerate().min_by_key(|(i, c)| (**c, *i)) else {
            break;
        };
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
        out.push(i);
    }
    out
}

/// Member `receiver` takes buckets until it has `target`, each from the member that has the
/// most buckets at that moment (ties: the lowest index), never taking a donor below the
/// receiver. `candidates[i]` are the buckets member `i` may give (taken from the end).
/// Returns `(bucket, donor)` pairs and updates `counts`.
pub(crate) fn take_share(
    counts: &mut [usize],
    candidates: &mut [Vec<u32>],
    receiver: usize,
    target: usize,
) -> Vec<(u32, usize)> {
    let mut out = Vec::new();
    loop {
        let have = counts.get(receiver).copied().unwrap_or(usize::MAX);
        if have >= target {
            break;
        }
        let donor = counts
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != receiver
                    && **c > have + 1
                    && candidates.get(*i).is_some_and(|v| !v.is_empty())
            })
            .max_by_key(|(i, c)| (**c, usize::MAX - *i))
            .map(|(i, _)| i);
        let Some(d) = donor else { break };
        let Some(b) = candidates.get_mut(d).and_then(Vec::pop) else {
            break;
        };
        if let Some(c) = counts.get_mut(d) {
            *c -= 1;
        }
        if let Some(c) = counts.get_mut(receiver) {
            *c += 1;
        }
        out.push((b, d));
    }
    out
}

/// One bucket a rebalance may move: its number, its member's index and its measured load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BucketLoad {
    /// Bucket number.
    pub bucket: u32,
    /// Index of the member that owns it.
    pub owner: usize,
    /// Bytes in the interval.
    pub bytes: u64,
}

/// Plans load rebalancing over members with `loads` (bytes per interval).
///
/// While the most loaded member exceeds the least loaded by more than `threshold × mean` and by
/// more than `min_bytes`, it looks (senders from most loaded down, receivers from least loaded
/// up) for the first pair whose gap still exceeds both limits and a transfer `0 < d < gap` from
/// the sender to the receiver, with `d` closest to `gap / 2` (the transfer that best reduces
/// the gap): a single bucket of load `d` if there is one, else a swap of a sender's bucket `x`
/// for a receiver's bucket `y` with `d = x - y` (single moves alone get stuck when the senders
/// hold only big buckets).
///
/// `d < gap` means the receiver never ends more loaded than the sender was: each transfer
/// strictly reduces the sum of squared loads, so with steady loads the plan ends and moving a
/// bucket back is never an improvement (no oscillation). Each bucket moves at most once per
/// plan. Returns `(bucket, from, to)`.
pub(crate) fn plan_rebalance(
    loads: &mut [u64],
    buckets: &[BucketLoad],
    threshold: f64,
    min_bytes: u64,
) -> Vec<(u32, usize, usize)> {
    let n = loads.len();
    let mut out = Vec::new();
    if n < 2 {
        return out;
    }
    let total: u64 = loads.iter().sum();
    let limit = (threshold * total as f64 / n as f64).max(0.0);
    let mut moved = vec![false; buckets.len()];
    let exceeds = |gap: u64| gap as f64 > limit && gap > min_bytes;
    for _ in 0..buckets.len() {
        let (Some(&max), Some(&min)) = (loads.iter().max(), loads.iter().min()) else {
            break;
        };
        if !exceeds(max - min) {
            break;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (loads.get(i).copied().unwrap_or(0), i));
        let mut chosen = None;
        'pairs: for &s in order.iter().rev() {
            for &r in &order {
                let (ls, lr) = (
                    loads.get(s).copied().unwrap_or(0),
                    loads.get(r).copied().unwrap_or(0),
                );
                if r == s || lr >= ls {
                    break;
                }
                let gap = ls - lr;
                if !exceeds(gap) {
                    // Receivers further on are more loaded: smaller gaps.
                    break;
                }
                if let Some(t) = best_transfer(buckets, &moved, s, r, gap) {
                    chosen = Some((t, s, r));
                    break 'pairs;
                }
            }
        }
        let Some((t, s, r)) = chosen else {
            break;
        };
        let (d, x, y) = match t {
            Transfer::Single(k) => (weight(buckets, k), k, None),
            Transfer::Swap(kx, ky) => (weight(buckets, kx) - weight(buckets, ky), kx, Some(ky)),
        };
        for k in [Some(x), y].into_iter().flatten() {
            if let Some(m) = moved.get_mut(k) {
                *m = true;
            }
        }
        if let Some(l) = loads.get_mut(s) {
            *l -= d;
        }
        if let Some(l) = loads.get_mut(r) {
            *l += d;
        }
        if let Some(b) = buckets.get(x) {
            out.push((b.bucket, s, r));
        }
        if let Some(b) = y.and_then(|k| buckets.get(k)) {
            out.push((b.bucket, r, s));
        }
    }
    out
}

/// A transfer of load between two members: indices into the bucket list.
#[derive(Clone, Copy, Debug)]
enum Transfer {
    Single(usize),
    Swap(usize, usize),
}

fn weight(buckets: &[BucketLoad], k: usize) -> u64 {
    buckets.get(k).map_or(0, |b| b.bytes)
}

/// The transfer from `s` to `r` with `0 < d < gap` and `d` closest to `gap / 2`: a single
/// bucket if one qualifies, else the best swap.
///
/// A transfer of `d` leaves the pair `|gap - 2d|` apart; the gap must shrink by at least half
/// of what moves (`gap - |gap - 2d| >= d / 2`, i.e. `d <= 0.8 gap`). Small transfers always
/// qualify; a conversation that alone makes the gap (`d` close to `gap`) never moves: moving it
/// would only swap which member is loaded, and with measured loads that wobble from one
/// interval to the next it would bounce between members.
fn best_transfer(
    buckets: &[BucketLoad],
    moved: &[bool],
    s: usize,
    r: usize,
    gap: u64,
) -> Option<Transfer> {
    let free = |k: usize, owner: usize| {
        buckets
            .get(k)
            .is_some_and(|b| b.owner == owner && b.bytes > 0)
            && !moved.get(k).copied().unwrap_or(true)
    };
    let score = |d: u64| (i128::from(gap) - 2 * i128::from(d)).unsigned_abs();
    let worth = |d: u64| 5 * u128::from(d) <= 4 * u128::from(gap);
    let single = (0..buckets.len())
        .filter(|&k| free(k, s) && weight(buckets, k) < gap && worth(weight(buckets, k)))
        .min_by_key(|&k| (score(weight(buckets, k)), k));
    if let Some(k) = single {
        return Some(Transfer::Single(k));
    }
    // Receiver's buckets sorted by load, for a nearest-value search per sender bucket.
    let mut ys: Vec<(u64, usize)> = (0..buckets.len())
        .filter(|&k| free(k, r))
        .map(|k| (weight(buckets, k), k))
        .collect();
    ys.sort_unstable();
    let mut best: Option<(u128, usize, usize)> = None;
    for kx in (0..buckets.len()).filter(|&k| free(k, s)) {
        let wx = weight(buckets, kx);
        // Ideal y: wx - gap/2; valid y: wx - gap < y < wx.
        let ideal = wx.saturating_sub(gap / 2);
        let at = ys.partition_point(|(w, _)| *w < ideal);
        for &(wy, ky) in [at.checked_sub(1), Some(at)]
            .into_iter()
            .flatten()
            .filter_map(|i| ys.get(i))
        {
            if wy < wx && wx - wy < gap && worth(wx - wy) {
                let cand = (score(wx - wy), kx, ky);
                if best.is_none_or(|b| cand < b) {
                    best = Some(cand);
                }
            }
        }
    }
    best.map(|(_, kx, ky)| Transfer::Swap(kx, ky))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn water_fill_spreads_evenly() {
        let mut c = vec![64, 64, 64];
        let t = water_fill(&mut c, 64);
        assert_eq!(c.iter().max().unwrap() - c.iter().min().unwrap(), 1);
        assert_eq!(c.iter().sum::<usize>(), 256);
        assert_eq!(t.len(), 64);
        // Uneven survivors are levelled first.
        let mut c = vec![10, 0];
        water_fill(&mut c, 12);
        assert_eq!(c, vec![11, 11]);
        assert!(water_fill(&mut [], 3).is_empty());
    }

    #[test]
    fn take_share_takes_from_the_richest() {
        let mut counts = vec![86, 85, 85, 0];
        let mut cand: Vec<Vec<u32>> = (0..4)
            .map(|i| (0..counts[i] as u32).map(|b| b + 100 * i as u32).collect())
            .collect();
        let got = take_share(&mut counts, &mut cand, 3, 64);
        assert_eq!(got.len(), 64);
        assert_eq!(counts, vec![64, 64, 64, 64]);
        // Never takes a donor below the receiver.
        let mut counts = vec![2, 1];
        let mut cand = vec![vec![1, 2], vec![3]];
        assert!(take_share(&mut counts, &mut cand, 1, 5).len() <= 1);
        assert!(counts[0] >= counts[1]);
    }

    fn bl(bucket: u32, owner: usize, bytes: u64) -> BucketLoad {
        BucketLoad {
            bucket,
            owner,
            bytes,
        }
    }

    #[test]
    fn rebalance_moves_the_bucket_closest_to_half_the_gap() {
        let mut loads = vec![30, 10];
        let b = [bl(0, 0, 4), bl(1, 0, 11), bl(2, 0, 15), bl(3, 1, 10)];
        let plan = plan_rebalance(&mut loads, &b, 0.1, 0);
        assert_eq!(plan.first(), Some(&(1, 0, 1)));
        assert_eq!(loads, vec![19, 21]);
    }

    #[test]
    fn rebalance_never_overshoots_an_elephant() {
        let mut loads = vec![10, 2];
        let b = [bl(0, 0, 10), bl(1, 1, 1), bl(2, 1, 1)];
        assert!(plan_rebalance(&mut loads, &b, 0.1, 0).is_empty());
        assert_eq!(loads, vec![10, 2]);
    }

    #[test]
    fn a_lone_elephant_never_bounces_whatever_the_noise() {
        // One conversation of 1000 units on member 0 and a little noise elsewhere: moving it
        // would only make member 1 the loaded one. Whichever member holds it, nothing moves.
        for noise in [0u64, 1, 5, 9, 30] {
            let mut loads = vec![1000 + noise, 3, 0, 2];
            let b = [bl(0, 0, 1000), bl(1, 0, noise), bl(2, 1, 3), bl(3, 3, 2)];
            let plan = plan_rebalance(&mut loads, &b, 0.10, 0);
            assert!(
                plan.iter().all(|(bucket, ..)| *bucket != 0),
                "{noise}: {plan:?}"
            );
        }
    }

    #[test]
    fn rebalance_respects_threshold_and_min_bytes() {
        let b = [bl(0, 0, 6), bl(1, 0, 5), bl(2, 1, 10)];
        let mut loads = vec![11, 10];
        assert!(plan_rebalance(&mut loads, &b, 0.10, 0).is_empty());
        let mut loads = vec![40, 10];
        let b2 = [bl(0, 0, 20), bl(1, 0, 20), bl(2, 1, 10)];
        assert!(plan_rebalance(&mut loads, &b2, 0.0, 100).is_empty());
        assert_eq!(plan_rebalance(&mut loads, &b2, 0.0, 0).len(), 1);
    }

    /// Applies plans until one is empty; returns the final loads and how many plans moved.
    fn converge(mut b: Vec<BucketLoad>, n: usize) -> (Vec<u64>, usize) {
        for round in 0..10 {
            let mut loads = vec![0u64; n];
            for x in &b {
                loads[x.owner] += x.bytes;
            }
            let plan = plan_rebalance(&mut loads, &b, 0.10, 0);
            if plan.is_empty() {
                return (loads, round);
            }
            for (bucket, from, to) in plan {
                let x = b.iter_mut().find(|x| x.bucket == bucket).unwrap();
                assert_eq!(x.owner, from);
                x.owner = to;
            }
        }
        panic!("no convergence in 10 plans");
    }

    #[test]
    fn sixteen_unequal_flows_converge_from_many_starts() {
        // 16 flows of 1..16 units over 4 members (mean 34, threshold 3.4), from: everything on
        // member 0, round robin, and pseudo-random placements.
        let mut starts: Vec<Vec<usize>> = vec![vec![0; 16], (0..16).map(|i| i % 4).collect()];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50 {
            starts.push(
                (0..16)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % 4) as usize
                    })
                    .collect(),
            );
        }
        for owners in starts {
            let b: Vec<BucketLoad> = (1..=16u64)
                .zip(&owners)
                .map(|(w, &o)| bl(w as u32, o, w))
                .collect();
            let (loads, rounds) = converge(b, 4);
            let gap = loads.iter().max().unwrap() - loads.iter().min().unwrap();
            assert!(gap as f64 <= 3.4, "{owners:?} -> {loads:?}");
            assert!(rounds <= 2, "{owners:?} took {rounds} plans");
        }
    }
}
