//! Randomised scenarios: two Systems cabled port to port; links are cut and restored, made
//! silent one way or both and healed, a System restarts, max_active changes. At every step the
//! engine's views must agree with one another (the event stream, the per-port status, the
//! Aggregators, the data plane's ports); once everything is healed, the aggregation must form
//! again with every up link Collecting and Distributing (or the best max_active of them).

use crate::common::*;
use lagd_lacp::testing::{End, Harness};
use lagd_lacp::{EventKind, MuxState, Selected};
use lagd_types::{Duration, PortNumber};

/// xorshift64: a deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The views of System `s` agree with one another. Its engine started at `h.log[since]`.
fn check_consistent(h: &Harness, s: usize, since: usize, n: u16, ctx: &str) {
    let l = h.lacp(s);
    // The data plane as the events told it equals the engine's answer.
    let mut cd = vec![(false, false); usize::from(n) + 1];
    let mut up = false;
    let mut active = None;
    for e in h.log.iter().skip(since).filter(|x| x.0 == s).map(|x| &x.1) {
        match (&e.kind, e.port) {
            (
                EventKind::CollectingDistributing {
                    collecting,
                    distributing,
                },
                Some(p),
            ) => {
                if let Some(slot) = cd.get_mut(usize::from(p)) {
                    *slot = (*collecting, *distributing);
                }
            }
            (EventKind::AggregateUp, _) => up = true,
            (EventKind::AggregateDown { .. }, _) => up = false,
            (EventKind::ActiveAggregator { aggregator }, _) => active = *aggregator,
            _ => {}
        }
    }
    assert_eq!(up, l.is_up(), "{ctx}: system {s} up");
    let aggs = l.aggregators();
    let flagged: Vec<_> = aggs.iter().filter(|a| a.active).map(|a| a.id).collect();
    assert_eq!(
        flagged,
        active.into_iter().collect::<Vec<_>>(),
        "{ctx}: active"
    );
    let mut distributing = Vec::new();
    for p in 1..=n {
        let st = l.port(p).unwrap_or_else(|| panic!("{ctx}: no port {p}"));
        assert_eq!(
            cd[usize::from(p)],
            (l.is_collecting(p), l.is_distributing(p)),
            "{ctx}: system {s} port {p}: events vs state"
        );
        assert_eq!((st.collecting, st.distributing), cd[usize::from(p)]);
        if st.distributing {
            distributing.push(p);
            assert_eq!(st.aggregator, active, "{ctx}: port {p} distributes outside");
            assert!(
                matches!(
                    st.mux,
                    MuxState::CollectingDistributing | MuxState::Distributing
                ),
                "{ctx}: port {p} distributes in mux {}",
                st.mux
            );
        }
        // A Selected or Standby port is listed in its Aggregator, and only there.
        let listed: Vec<_> = aggs
            .iter()
            .filter(|a| a.ports.contains(&p))
            .map(|a| a.id)
            .collect();
        let expected: Vec<_> = st
            .aggregator
            .filter(|_| st.selected != Selected::Unselected)
            .into_iter()
            .collect();
        assert_eq!(listed, expected, "{ctx}: system {s} port {p} membership");
    }
    assert_eq!(l.distributing_ports(), distributing, "{ctx}: distributing");
    let min = l.config().min_links;
    assert_eq!(
        l.is_up(),
        distributing.len() >= min,
        "{ctx}: up vs min-links"
    );
    for a in &aggs {
        assert!(a.ports.windows(2).all(|w| w[0] < w[1]), "{ctx}: port order");
    }
    if let Some(t) = l.poll_timeout() {
        assert!(t > h.now, "{ctx}: timer due at {t} not run by {}", h.now);
    }
}

fn set_max_active(h: &mut Harness, s: usize, max: Option<usize>) {
    let now = h.now;
    let mut c = h.lacp(s).config().clone();
    c.max_active = max;
    h.lacp_mut(s)
        .set_config(now, c)
        .unwrap_or_else(|e| panic!("set_config: {e}"));
    h.drain();
}

fn scenario(seed: u64) {
    let mut rng = Rng::new(seed);
    let n = 1 + rng.below(8) as u16;
    let max_active = rng.chance(30).then(|| 1 + rng.below(u64::from(n)) as usize);
    let mut ca = sys(1);
    ca.max_active = max_active;
    let mut cb = sys(2);
    cb.max_active = max_active;
    let (mut h, pa, pb) = pair(ca, cb, n);
    let links = u64::from(n);
    // Where each System's current engine starts in the log (a restart makes a new one).
    let mut since = [0usize; 2];
    for step in 0..40 {
        let what = match rng.below(10) {
            0 => {
                let l = rng.below(links) as usize;
                h.cut(l);
                format!("cut {l}")
            }
            1 => {
                let l = rng.below(links) as usize;
                h.restore(l);
                format!("restore {l}")
            }
            2 => {
                let l = rng.below(links) as usize;
                let (x, y) = (rng.chance(50), rng.chance(50));
                h.silence(l, x, y);
                format!("silence {l} {x} {y}")
            }
            3 => {
                let l = rng.below(links) as usize;
                h.heal(l);
                format!("heal {l}")
            }
            4 => {
                let s = rng.below(2) as usize;
                since[s] = h.log.len();
                h.restart(s);
                format!("restart {s}")
            }
            5 => {
                let s = rng.below(2) as usize;
                let m = rng.chance(50).then(|| 1 + rng.below(u64::from(n)) as usize);
                set_max_active(&mut h, s, m);
                format!("max_active {s} {m:?}")
            }
            _ => {
                let ms = rng.below(4000);
                h.run_for(Duration::from_millis(ms));
                format!("run {ms} ms")
            }
        };
        let ctx = format!("seed {seed} step {step} ({what}) at {}", h.now);
        check_consistent(&h, 0, since[0], n, &ctx);
        check_consistent(&h, 1, since[1], n, &ctx);
    }
    // Heal everything.
    for s in 0..2 {
        set_max_active(&mut h, s, max_active);
    }
    for l in 0..usize::from(n) {
        h.restore(l);
        h.heal(l);
    }
    let m = max_active.map_or(n, |m| (m as u16).min(n));
    let best: Vec<End> = pa
        .iter()
        .chain(&pb)
        .filter(|e| e.port <= m)
        .copied()
        .collect();
    let formed = h.run_until_cond(Duration::from_secs(10), |h| h.all_distributing(&best));
    let ctx = format!("seed {seed}, {n} ports, max_active {max_active:?}, healed");
    assert!(formed.is_some(), "{ctx}: did not form again");
    h.run_for(Duration::from_secs(2));
    for (s, start) in since.into_iter().enumerate() {
        check_consistent(&h, s, start, n, &ctx);
        let l = h.lacp(s);
        assert!(l.is_up(), "{ctx}: system {s} down");
        let expect: Vec<PortNumber> = (1..=m).collect();
        assert_eq!(l.distributing_ports(), expect, "{ctx}: system {s}");
        let aggs = l.aggregators();
        assert_eq!(aggs.len(), 1, "{ctx}: system {s}: {aggs:?}");
        assert_eq!(aggs[0].ports, (1..=n).collect::<Vec<_>>(), "{ctx}");
        for p in m + 1..=n {
            assert_eq!(l.port(p).map(|st| st.selected), Some(Selected::Standby));
        }
    }
}

#[test]
fn random_cuts_silences_and_restarts_then_healing_reforms_the_aggregation() {
    for seed in 1..=40 {
        scenario(seed);
    }
}
