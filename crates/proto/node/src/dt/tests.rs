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
