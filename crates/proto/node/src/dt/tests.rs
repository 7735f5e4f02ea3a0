use super::*;
use lagd_types::{Duration, MacAddr};

fn core() -> Dt {
    let cfg = lagd_dt::DtConfig {
        system_mac: MacAddr([2, 0, 0, 0, 0, 1]),
        ..lagd_dt::DtConfig::default()
    };
    Dt::new(Instant::ZERO, cfg).unwrap()
}

fn system() -> SystemId {
    SystemId::new(0x8000, MacAddr([2, 0, 0, 0, 0, 0xaa]))
}

fn facts(name: &str, id: u16) -> AggrFacts<String> {
    AggrFacts {
        aggr: name.to_string(),
        config: DtAggrConfig::new(id, name, system()),
        port_base: 0,
        lacp_system: system(),
        live: Vec::new(),
        partner: SystemId::NULL,
        partner_key: 0,
    }
}

#[test]
fn registers_holds_ports_at_init_and_forgets_what_is_gone() {
    let mut dt = core();
    let mut r = Reconciler::new();
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &[facts("trk1", 1)]);
    assert_eq!(r.id(&"trk1".to_string()), Some(1));
    assert_eq!(
        a,
        vec![
            DtAction::Ports {
                aggr: "trk1".into(),
                enabled: false
            },
            DtAction::IsolatePeerLink {
                aggr: "trk1".into(),
                on: false
            },
        ]
    );
    assert_eq!(r.isolation(&dt), vec![("trk1".to_string(), false)]);
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &[]);
    assert_eq!(
        a,
        vec![DtAction::Removed {
            aggr: "trk1".into()
        }]
    );
    assert!(dt.decision(1).is_none());
}

#[test]
fn a_switch_alone_enables_its_ports_after_the_init_delay() {
    let mut dt = core();
    let mut r = Reconciler::new();
    let f = [facts("trk1", 1)];
    r.reconcile(&mut dt, Instant::ZERO, true, &f);
    let later = Instant::ZERO + Duration::from_secs(10);
    dt.handle_timeout(later);
    let a = r.reconcile(&mut dt, later, true, &f);
    assert!(a.contains(&DtAction::Ports {
        aggr: "trk1".into(),
        enabled: true
    }));
}

#[test]
fn renumbers_when_the_base_differs_else_sets_the_system() {
    let mut dt = core();
    let mut r = Reconciler::new();
    let mut f = facts("trk1", 1);
    f.port_base = 0x8000;
    let a = r.reconcile(&mut dt, Instant::ZERO, true, std::slice::from_ref(&f));
    assert_eq!(
        a[0],
        DtAction::Renumber {
            aggr: "trk1".into(),
            base: 0,
            system: system()
        }
    );
    f.port_base = 0;
    f.lacp_system = SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 0xbb]));
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &[f]);
    assert_eq!(
        a[0],
        DtAction::SetSystem {
            aggr: "trk1".into(),
            system: system()
        }
    );
}

#[test]
fn a_refused_configuration_is_reported_once_and_offered_again() {
    let mut dt = core();
    let mut r = Reconciler::new();
    // Two aggregations with one DT id: the second is refused (duplicate) ...
    let f = [facts("trk1", 1), facts("trk2", 1)];
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &f);
    assert!(
        matches!(&a[2], DtAction::Refused { aggr, error: DtConfigError::Duplicate(1) } if aggr == "trk2")
    );
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &f);
    assert!(!a.iter().any(|x| matches!(x, DtAction::Refused { .. })));
    // ... and registered once the first is gone.
    let a = r.reconcile(&mut dt, Instant::ZERO, true, &f[1..]);
    assert_eq!(r.id(&"trk2".to_string()), Some(1));
    assert!(a.contains(&DtAction::Removed {
        aggr: "trk1".into()
    }));
}

/// Two cores joined by a lossless peer link, each with its reconciler, in 1 ms steps of
/// virtual time; every FDB action each reconciler returns is kept.
struct Two {
    now: Instant,
    dt: [Dt; 2],
    step: [Reconciler<String>; 2],
    fdb: [Vec<DtAction<String>>; 2],
}

impl Two {
    fn new() -> Two {
        let cfg = |m: u8, p: u16| lagd_dt::DtConfig {
            system_mac: MacAddr([2, 0, 0, 0, 0, m]),
            role_priority: p,
            ..lagd_dt::DtConfig::default()
        };
        Two {
            now: Instant::ZERO,
            dt: [
                Dt::new(Instant::ZERO, cfg(1, 1)).unwrap(),
                Dt::new(Instant::ZERO, cfg(2, 2)).unwrap(),
            ],
            step: [Reconciler::new(), Reconciler::new()],
            fdb: [Vec::new(), Vec::new()],
        }
    }

    /// Runs for `ms` milliseconds, reconciling each switch every 20 ms with its `live`
    /// members of aggregation `trk1` (DT id 1).
    fn run(&mut self, ms: u64, live: [&[u16]; 2]) {
        for t in 0..ms {
            self.now += Duration::from_millis(1);
            let now = self.now;
            for (i, live) in live.iter().enumerate() {
                if self.dt[i].poll_timeout().is_some_and(|d| d <= now) {
                    self.dt[i].handle_timeout(now);
                }
                if t % 20 == 0 {
                    let mut f = facts("trk1", 1);
                    f.live = live.to_vec();
                    f.partner = SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 0x99]));
                    f.partner_key = 1;
                    self.step[i].reconcile(&mut self.dt[i], now, true, &[f]);
                }
                while let Some(x) = self.dt[i].poll_transmit() {
                    let _ = match x.path {
                        lagd_dt::DtPath::PeerLink => {
                            self.dt[1 - i].handle_peer_frame(now, &x.frame)
                        }
                        lagd_dt::DtPath::Keepalive => {
                            self.dt[1 - i].handle_keepalive_frame(now, &x.frame)
                        }
                    };
                }
                let a = self.step[i].poll_fdb(&mut self.dt[i], now);
                self.fdb[i].extend(a);
            }
        }
    }
}

fn fdb(install: bool, target: FdbTarget<String>) -> DtAction<String> {
    DtAction::Fdb {
        install,
        vlan: 0,
        mac: MacAddr([2, 0, 0, 0, 0, 0x42]),
        target,
    }
}

#[test]
fn the_peers_addresses_point_at_the_aggregation_or_the_peer_link() {
    let mut p = Two::new();
    let trk1 = || FdbTarget::Aggregation("trk1".to_string());
    p.run(10_000, [&[1], &[1]]);
    assert_eq!(p.dt[0].state(), p.dt[1].state());
    let mac = MacAddr([2, 0, 0, 0, 0, 0x42]);
    let now = p.now;
    p.dt[1].handle_local_mac(now, 1, 0, mac, true);
    p.run(1_000, [&[1], &[1]]);
    // Both halves live: the host is reached over switch 0's own links.
    assert_eq!(p.fdb[0], vec![fdb(true, trk1())]);
    assert!(p.fdb[1].is_empty());
    assert!(flood_peer_link(&p.dt[0], true));
    assert!(!flood_peer_link(&p.dt[0], false));
    let wanted = p.step[0].fdb_wanted();
    assert_eq!(wanted.len(), 1);
    assert_eq!((wanted[0].mac, &wanted[0].target), (mac, &trk1()));
    assert_eq!(p.step[0].fdb_wanted_on(&"trk1".to_string()), vec![(0, mac)]);
    // Switch 0's half goes down: the peer delivers, and flood control floods onto the peer
    // link for it (switch 1 needs nothing from switch 0).
    p.fdb[0].clear();
    p.run(1_000, [&[], &[1]]);
    // (one install moves the entry)
    assert_eq!(p.fdb[0], vec![fdb(true, FdbTarget::PeerLink)]);
    assert!(
        flood_peer_link(&p.dt[0], false),
        "switch 0 needs switch 1 to deliver"
    );
    assert!(!flood_peer_link(&p.dt[1], false));
    assert!(p.step[0].fdb_wanted_on(&"trk1".to_string()).is_empty());
    // Stopping: every wanted entry is handed back once.
    let all = p.step[0].take_fdb();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].target, FdbTarget::PeerLink);
    assert!(p.step[0].fdb_wanted().is_empty());
}

#[test]
fn a_learned_address_is_reported_under_its_aggregation_and_removed_as_reported() {
    let mac = MacAddr([2, 0, 0, 0, 0, 7]);
    let mut l: LearnedMacs<u32> = LearnedMacs::new();
    // Learned on the tap of DT aggregation 3, then on an orphan port's bridge port.
    assert_eq!(
        l.learned(10, 0, mac, Some(3), true),
        vec![((3, 0, mac), true)]
    );
    assert_eq!(
        l.learned(10, 0, mac, Some(3), true),
        vec![((3, 0, mac), true)]
    );
    assert_eq!(
        l.learned(11, 5, mac, None, true),
        vec![((ORPHAN, 5, mac), true)]
    );
    // The port's aggregation changed: the old key goes first.
    assert_eq!(
        l.learned(10, 0, mac, Some(4), true),
        vec![((3, 0, mac), false), ((4, 0, mac), true)]
    );
    // Gone: removed as reported, whatever the port belongs to now.
    assert_eq!(
        l.learned(10, 0, mac, None, false),
        vec![((4, 0, mac), false)]
    );
    assert_eq!(l.learned(10, 0, mac, None, false), vec![]);
    assert_eq!(
        l.learned(11, 5, mac, Some(1), false),
        vec![((ORPHAN, 5, mac), false)]
    );
}

#[test]
fn the_wanted_entries_in_slices_are_the_wanted_entries() {
    let mut p = Two::new();
    p.run(10_000, [&[1], &[1]]);
    let now = p.now;
    for n in 0..5 {
        p.dt[1].handle_local_mac(now, 1, 0, MacAddr([2, 0, 0, 0, 1, n]), true);
    }
    p.run(1_000, [&[1], &[1]]);
    let all = p.step[0].fdb_wanted();
    assert_eq!(all.len(), 5);
    let mut sliced = Vec::new();
    let mut after = None;
    let mut slices = 0;
    loop {
        let (part, next) = p.step[0].fdb_wanted_slice(after, 2);
        slices += 1;
        sliced.extend(part.into_iter().map(|(vlan, mac, target, since)| FdbEntry {
            vlan,
            mac,
            target: match target {
                FdbTarget::Aggregation(a) => FdbTarget::Aggregation(a.clone()),
                FdbTarget::PeerLink => FdbTarget::PeerLink,
            },
            since,
        }));
        match next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(sliced, all);
    assert_eq!(slices, 3, "2 + 2 + 1, the last slice says it is the last");
    assert_eq!(p.step[0].fdb_wanted_slice(None, 5).1, None);
}
