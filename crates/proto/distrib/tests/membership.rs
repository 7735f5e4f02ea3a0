//! Bucket table under membership changes: a leaving member's buckets (only those) spread
//! evenly; a returning member takes back about its share, only to itself.

use lagd_distrib::{Completion, DistEvent, Distributor, DistributorConfig, MoveReason};
use lagd_types::{Instant, PortNumber};

fn counts(d: &Distributor<()>, ports: &[PortNumber]) -> Vec<usize> {
    ports
        .iter()
        .map(|p| d.bucket_table().iter().filter(|o| **o == Some(*p)).count())
        .collect()
}

fn spread(c: &[usize]) -> usize {
    c.iter().max().unwrap() - c.iter().min().unwrap()
}

/// Answers every marker request at once.
fn answer_markers(d: &mut Distributor<()>, now: Instant) -> usize {
    let mut n = 0;
    while d.poll_release().is_some() {}
    while let Some(m) = d.poll_marker_request() {
        d.handle_marker_response(now, m.id);
        n += 1;
    }
    n
}

fn events(d: &mut Distributor<()>) -> Vec<DistEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

#[test]
fn initial_assignment_is_even() {
    let mut d = Distributor::<()>::new(DistributorConfig::default());
    let now = Instant::from_secs(1);
    d.set_ports(now, &[1, 2, 3]);
    assert_eq!(counts(&d, &[1, 2, 3]), vec![86, 85, 85]);
    assert!(
        d.poll_marker_request().is_none(),
        "no marker for a first assignment"
    );
    let ev = events(&mut d);
    assert!(ev.contains(&DistEvent::BucketsMoved {
        from: None,
        to: 1,
        buckets: 86,
        reason: MoveReason::PortAdded
    }));
}

#[test]
fn removing_one_of_four_moves_only_its_buckets_and_readding_takes_back_a_quarter() {
    let mut d = Distributor::<()>::new(DistributorConfig::default());
    let now = Instant::from_secs(1);
    d.set_ports(now, &[1, 2, 3, 4]);
    events(&mut d);
    let before = d.bucket_table().to_vec();
    assert_eq!(counts(&d, &[1, 2, 3, 4]), vec![64; 4]);

    d.set_ports(now, &[1, 2, 4]);
    let after = d.bucket_table().to_vec();
    for (b, (x, y)) in before.iter().zip(&after).enumerate() {
        if x != y {
            assert_eq!(
                *x,
                Some(3),
                "bucket {b} moved but was not on the failed port"
            );
        }
        assert_ne!(*y, Some(3));
    }
    let c = counts(&d, &[1, 2, 4]);
    println!("after failure: {c:?}");
    assert_eq!(c.iter().sum::<usize>(), 256);
    assert!(spread(&c) <= 1, "{c:?}");
    assert!(
        d.poll_marker_request().is_none(),
        "failure moves are immediate"
    );
    let ev = events(&mut d);
    for p in [1, 2, 4] {
        assert!(ev.iter().any(|e| matches!(e,
            DistEvent::BucketsMoved { from: Some(3), to, reason: MoveReason::PortFailed, buckets }
                if *to == p && *buckets >= 21)));
    }

    let later = Instant::from_secs(2);
    d.set_ports(later, &[1, 2, 3, 4]);
    // Protected: nothing changes until the markers are answered.
    assert_eq!(d.bucket_table(), &after[..]);
    let markers = answer_markers(&mut d, later);
    assert_eq!(markers, 3, "one move (one marker) per donor");
    let back = d.bucket_table().to_vec();
    let mut moved = 0;
    for (x, y) in after.iter().zip(&back) {
        if x != y {
            assert_eq!(
                *y,
                Some(3),
                "a bucket moved to another port than the returning one"
            );
            moved += 1;
        }
    }
    println!("re-add moved {moved} buckets");
    assert!(
        (0.9 * 64.0..=1.1 * 64.0).contains(&(moved as f64)),
        "{moved}"
    );
    let c = counts(&d, &[1, 2, 3, 4]);
    assert!(spread(&c) <= 1, "{c:?}");
    let ev = events(&mut d);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(
                e,
                DistEvent::MoveCompleted {
                    by: Completion::MarkerResponse,
                    ..
                }
            ))
            .count(),
        3
    );
}

#[test]
fn never_piles_a_failed_member_onto_one_survivor() {
    let mut d = Distributor::<()>::new(DistributorConfig::default());
    let now = Instant::from_secs(1);
    let ports: Vec<PortNumber> = (1..=8).collect();
    d.set_ports(now, &ports);
    d.set_ports(now, &[1, 2, 3, 5, 6, 8]);
    let c = counts(&d, &[1, 2, 3, 5, 6, 8]);
    assert!(spread(&c) <= 1, "{c:?}");
    d.set_ports(now, &[6]);
    assert_eq!(counts(&d, &[6]), vec![256]);
    d.set_ports(now, &[]);
    assert!(d.bucket_table().iter().all(Option::is_none));
    let mut d2 = d;
    d2.set_ports(now, &[4, 5]);
    assert_eq!(
        counts(&d2, &[4, 5]),
        vec![128, 128],
        "from nothing: immediate"
    );
}

#[test]
fn replacing_a_port_in_one_call_hands_it_exactly_the_failed_buckets() {
    let mut d = Distributor::<()>::new(DistributorConfig::default());
    let now = Instant::from_secs(1);
    d.set_ports(now, &[1, 2, 3, 4]);
    let before = d.bucket_table().to_vec();
    d.set_ports(now, &[1, 2, 5, 4]);
    for (x, y) in before.iter().zip(d.bucket_table()) {
        if *x == Some(3) {
            assert_eq!(*y, Some(5));
        } else {
            assert_eq!(x, y);
        }
    }
    assert_eq!(answer_markers(&mut d, now), 0);
}
