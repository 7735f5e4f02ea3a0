//! Active-backup failover, round-robin rotation, broadcast.

use lagd_distrib::{Dispatch, DistEvent, Distributor, DistributorConfig, DropReason, Mode};
use lagd_types::{Duration, Instant, PortNumber};

fn dist(mode: Mode) -> Distributor<u32> {
    Distributor::new(DistributorConfig {
        mode,
        ..DistributorConfig::default()
    })
}

fn port_of(d: Dispatch<u32>) -> Option<PortNumber> {
    match d {
        Dispatch::Send(p, _) => Some(p),
        _ => None,
    }
}

fn events(d: &mut Distributor<u32>) -> Vec<DistEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

#[test]
fn active_backup_fails_over_at_once_and_does_not_revert() {
    let mut d = dist(Mode::ActiveBackup);
    let t = Instant::from_secs(1);
    d.set_ports(t, &[1, 2, 3]);
    assert!(events(&mut d).contains(&DistEvent::ActiveChanged { port: Some(1) }));
    for h in 0..50u32 {
        assert_eq!(
            port_of(d.handle_hashed(t, h.wrapping_mul(2_654_435_761), 64, h)),
            Some(1)
        );
    }
    d.set_ports(t, &[2, 3]);
    assert!(events(&mut d).contains(&DistEvent::ActiveChanged { port: Some(2) }));
    assert!(
        d.poll_marker_request().is_none(),
        "failover needs no marker"
    );
    assert_eq!(d.active(), Some(2));
    for h in 0..50u32 {
        assert_eq!(port_of(d.handle_hashed(t, h, 64, h)), Some(2));
    }
    // Port 1 recovers: non-revertive.
    d.set_ports(t, &[1, 2, 3]);
    assert!(
        !events(&mut d)
            .iter()
            .any(|e| matches!(e, DistEvent::ActiveChanged { .. }))
    );
    assert_eq!(port_of(d.handle_hashed(t, 7, 64, 0)), Some(2));
    // Everything gone.
    d.set_ports(t, &[]);
    assert!(events(&mut d).contains(&DistEvent::ActiveChanged { port: None }));
    assert!(matches!(
        d.handle_hashed(t, 7, 64, 0),
        Dispatch::Drop(0, DropReason::NoPort)
    ));
}

#[test]
fn active_backup_drain_of_the_active_port_is_marker_protected() {
    let mut d = dist(Mode::ActiveBackup);
    let t = Instant::from_secs(1);
    d.set_ports(t, &[1, 2, 3]);
    events(&mut d);
    d.drain_port(t, 1);
    let m = d
        .poll_marker_request()
        .expect("a marker on the active port");
    assert_eq!(m.port, 1);
    assert!(matches!(d.handle_hashed(t, 5, 64, 10), Dispatch::Held));
    assert!(matches!(d.handle_hashed(t, 9, 64, 11), Dispatch::Held));
    assert_eq!(d.active(), Some(1));
    d.handle_marker_response(t + Duration::from_millis(1), m.id);
    assert_eq!(d.poll_release(), Some((2, 10)));
    assert_eq!(d.poll_release(), Some((2, 11)));
    assert_eq!(d.poll_release(), None);
    let ev = events(&mut d);
    assert!(ev.contains(&DistEvent::ActiveChanged { port: Some(2) }));
    assert!(ev.contains(&DistEvent::Drained { port: 1 }));
    // Draining a backup is immediate.
    d.drain_port(t, 3);
    assert!(events(&mut d).contains(&DistEvent::Drained { port: 3 }));
}

#[test]
fn round_robin_rotates_per_frame_and_skips_draining_ports() {
    let mut d = dist(Mode::RoundRobin);
    let t = Instant::from_secs(1);
    d.set_ports(t, &[1, 2, 3]);
    let seq: Vec<_> = (0..6)
        .map(|i| port_of(d.handle_hashed(t, 42, 64, i)))
        .collect();
    assert_eq!(seq, [1, 2, 3, 1, 2, 3].map(Some));
    d.drain_port(t, 2);
    assert!(events(&mut d).contains(&DistEvent::Drained { port: 2 }));
    let seq: Vec<_> = (0..4)
        .map(|i| port_of(d.handle_hashed(t, 42, 64, i)))
        .collect();
    assert!(seq.iter().all(|p| *p == Some(1) || *p == Some(3)));
    assert!(seq.contains(&Some(1)) && seq.contains(&Some(3)));
}

#[test]
fn broadcast_sends_everything_everywhere() {
    let mut d = dist(Mode::Broadcast);
    let t = Instant::from_secs(1);
    assert!(matches!(
        d.handle_hashed(t, 1, 64, 0),
        Dispatch::Drop(0, DropReason::NoPort)
    ));
    d.set_ports(t, &[4, 5]);
    assert_eq!(d.handle_frame(t, &[0u8; 60], 9), Dispatch::Broadcast(9));
    let s = d.stats();
    for p in [4, 5] {
        let ps = s.ports.iter().find(|x| x.port == p).unwrap();
        assert_eq!((ps.frames, ps.bytes), (1, 60));
    }
    assert_eq!(s.frames_dropped, 1);
}

#[test]
fn hash_mode_without_ports_drops_with_a_reason() {
    let mut d = dist(Mode::Hash);
    let t = Instant::from_secs(1);
    assert!(matches!(
        d.handle_hashed(t, 1, 64, 3),
        Dispatch::Drop(3, DropReason::NoPort)
    ));
    d.set_ports(t, &[1]);
    assert_eq!(port_of(d.handle_hashed(t, 1, 64, 3)), Some(1));
}

#[test]
fn moves_are_protected_only_in_ordered_modes_with_protection() {
    // The aggregation drains a port that stops distributing with its link up only when the
    // distributor protects moves (issue 11, defect 4); otherwise the port leaves at once.
    use lagd_distrib::MoveProtection;
    let with = |mode, move_protection| {
        Distributor::<u32>::new(DistributorConfig {
            mode,
            move_protection,
            ..DistributorConfig::default()
        })
        .protects_moves()
    };
    let marker = MoveProtection::Marker {
        timeout: Duration::from_millis(100),
    };
    assert!(with(Mode::Hash, marker));
    assert!(with(Mode::ActiveBackup, marker));
    assert!(with(
        Mode::Hash,
        MoveProtection::CollectorDelay(Duration::from_millis(10))
    ));
    assert!(!with(Mode::RoundRobin, marker));
    assert!(!with(Mode::Broadcast, marker));
    assert!(!with(Mode::Hash, MoveProtection::None));
    assert!(!with(Mode::ActiveBackup, MoveProtection::None));
}

#[test]
fn active_backup_choose_active_moves_under_a_marker_and_sticks() {
    let mut d = dist(Mode::ActiveBackup);
    let t = Instant::from_secs(1);
    d.set_ports(t, &[1, 2, 3]);
    events(&mut d);
    assert!(!d.choose_active(t, 1), "already active");
    assert!(!d.choose_active(t, 9), "not a member");
    assert!(d.choose_active(t, 3));
    let m = d.poll_marker_request().expect("a marker on the old port");
    assert_eq!(m.port, 1);
    // Frames sent meanwhile are held, then go out on the chosen port in order.
    assert!(matches!(d.handle_hashed(t, 5, 64, 10), Dispatch::Held));
    assert_eq!(d.active(), Some(1));
    d.handle_marker_response(t + Duration::from_millis(1), m.id);
    assert_eq!(d.poll_release(), Some((3, 10)));
    assert!(events(&mut d).contains(&DistEvent::ActiveChanged { port: Some(3) }));
    assert_eq!(port_of(d.handle_hashed(t, 77, 64, 0)), Some(3));
    // A membership change elsewhere keeps the choice.
    d.set_ports(t, &[1, 2, 3, 4]);
    assert_eq!(d.active(), Some(3));
    // Other modes have no active member to choose.
    let mut h = dist(Mode::Hash);
    h.set_ports(t, &[1, 2]);
    assert!(!h.choose_active(t, 2));
}
