//! Snapshot and resume: an actor restarted from its snapshot within the partner's timeout is
//! invisible to the partner (no change of its ports' machines, no LACPDU out of sync), while a
//! snapshot that does not fit the configuration is refused port by port.

use crate::common::*;
use lagd_lacp::testing::{End, Harness};
use lagd_lacp::{
    EventKind, Lacp, LacpActivity, LacpSnapshot, LacpTimeout, LinkStatus, MuxState, PortConfig,
    ReceiveState, ResumeRefusal, Selected, SystemConfig,
};
use lagd_types::Duration;
use lagd_wire::{SlowFrame, SlowPdu};

/// A new engine for System `sys` of the harness, resumed from `snap`, in place of the old one.
fn restart_resumed(
    h: &mut Harness,
    sys: usize,
    cfg: SystemConfig,
    ports: &[End],
    id: u8,
    snap: &LacpSnapshot,
) -> lagd_lacp::ResumeOutcome {
    let now = h.now;
    let mut l = Lacp::new(cfg);
    for e in ports {
        l.add_port(now, PortConfig::new(e.port, mac(id, e.port)))
            .unwrap();
    }
    let out = l.resume(now, snap, |_| LinkStatus::up(h.speed_mbps));
    for e in ports {
        if !out.resumed.contains(&e.port) {
            l.handle_link(now, e.port, LinkStatus::up(h.speed_mbps));
        }
    }
    h.nodes[sys].lacp = l;
    h.drain();
    out
}

/// Events of System `sys` after `from` that change what the data plane or the partner sees.
fn flaps(h: &Harness, sys: usize, from: lagd_types::Instant) -> Vec<String> {
    h.events(sys, |e| e.at >= from)
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::CollectingDistributing { .. }
                    | EventKind::Mux { .. }
                    | EventKind::Selection { .. }
                    | EventKind::AggregateDown { .. }
                    | EventKind::ActorStateChanged { .. }
            )
        })
        .map(|e| format!("{} port {:?}: {:?}", e.at, e.port, e.kind))
        .collect()
}

#[test]
fn resumed_actor_is_invisible_to_the_partner() {
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    h.run_for(Duration::from_secs(5));
    let snap = h.lacp(0).snapshot();
    assert_eq!(snap.ports.len(), 2);
    assert!(
        snap.ports
            .iter()
            .all(|p| p.mux == MuxState::CollectingDistributing)
    );
    // The snapshot survives a round trip through JSON (the daemon stores it so).
    let text = serde_json::to_string(&snap).unwrap();
    let snap: LacpSnapshot = serde_json::from_str(&text).unwrap();

    // A dies: it sends and hears nothing for 2 s (the partner's timeout is 3 s).
    h.silence(0, true, true);
    h.silence(1, true, true);
    let dead_from = h.now;
    h.run_for(Duration::from_secs(2));
    h.heal(0);
    h.heal(1);
    let back = h.now;
    let sent_before = h.sent.len();
    let out = restart_resumed(&mut h, 0, sys(1), &a, 1, &snap);
    assert_eq!(out.resumed, vec![1, 2], "{out:?}");
    assert!(out.refused.is_empty(), "{out:?}");
    // Forwarding at once, and the first LACPDUs say so.
    assert!(h.all_distributing(&a), "resumed ports distribute at once");
    assert!(h.lacp(0).is_up());
    let first: Vec<_> = h.sent[sent_before..]
        .iter()
        .filter(|s| s.system == 0)
        .collect();
    assert_eq!(first.len(), 2, "one LACPDU per port at once");
    for s in first {
        let SlowPdu::Lacp(pdu) = SlowFrame::parse(&s.transmit.frame).unwrap().pdu else {
            panic!("not a LACPDU");
        };
        let st = pdu.actor.state;
        assert!(st.synchronization() && st.collecting() && st.distributing());
        assert!(!st.defaulted() && !st.expired());
    }
    h.run_for(Duration::from_secs(10));
    assert!(h.all_distributing(&a) && h.all_distributing(&b));
    let f = flaps(&h, 1, dead_from);
    assert!(f.is_empty(), "the partner saw the restart: {f:#?}");
    // The resumed side reports where it resumed from (events with the reason), no flap after.
    let after = flaps(&h, 0, back + Duration::from_millis(1));
    assert!(after.is_empty(), "{after:#?}");
    assert!(h.saw(0, |k| matches!(
        k,
        EventKind::Mux {
            to: MuxState::CollectingDistributing,
            ..
        }
    )));
}

#[test]
fn a_cold_restart_is_seen_by_the_partner() {
    // The contrast the resume avoids: a fresh engine makes the partner's ports leave
    // Collecting and Distributing.
    let (mut h, a, b) = pair(sys(1), sys(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    let from = h.now;
    h.restart(0);
    h.run_for(Duration::from_secs(10));
    assert!(h.all_distributing(&b));
    let f = flaps(&h, 1, from);
    assert!(
        f.iter().any(|l| l.contains("collecting: false")),
        "expected a flap: {f:#?}"
    );
}

#[test]
fn long_timers_resume_too() {
    let cfg = |id| sys_with(id, LacpActivity::Active, LacpTimeout::Long);
    let (mut h, a, b) = pair(cfg(1), cfg(2), 3);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(40));
    h.run_for(Duration::from_secs(31));
    let snap = h.lacp(0).snapshot();
    let from = h.now;
    let out = restart_resumed(&mut h, 0, cfg(1), &a, 1, &snap);
    assert_eq!(out.resumed.len(), 3);
    h.run_for(Duration::from_secs(200));
    assert!(h.all_distributing(&a) && h.all_distributing(&b));
    assert!(flaps(&h, 1, from).is_empty());
    let p = h.port(a[0]);
    assert_eq!(p.receive, ReceiveState::Current);
    assert_eq!(p.selected, Selected::Selected);
}

#[test]
fn static_trunk_resumes_without_waiting() {
    let cfg = |id| sys_with(id, LacpActivity::Off, LacpTimeout::Short);
    let (mut h, a, b) = pair(cfg(1), cfg(2), 2);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    let snap = h.lacp(0).snapshot();
    assert!(
        snap.ports
            .iter()
            .all(|p| p.receive == ReceiveState::LacpDisabled)
    );
    let out = restart_resumed(&mut h, 0, cfg(1), &a, 1, &snap);
    assert_eq!(out.resumed, vec![1, 2]);
    // No wait_while_timer (2 s) this time: forwarding at once.
    assert!(h.all_distributing(&a));
    let p = h.port(a[0]);
    assert!(p.actor.state.defaulted());
}

#[test]
fn a_snapshot_that_does_not_fit_is_refused_port_by_port() {
    let (mut h, a, b) = pair(sys(1), sys(2), 3);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    let mut snap = h.lacp(0).snapshot();
    // Another System: nothing resumes.
    let mut other = snap.clone();
    other.system = sys(7).system;
    let mut l = Lacp::new(sys(1));
    for e in &a {
        l.add_port(h.now, PortConfig::new(e.port, mac(1, e.port)))
            .unwrap();
    }
    let out = l.resume(h.now, &other, |_| LinkStatus::up(1000));
    assert!(out.resumed.is_empty());
    assert!(
        out.refused
            .iter()
            .all(|(_, r)| *r == ResumeRefusal::SystemChanged)
    );
    // Port 1 was never attached, port 2 has another key now, port 3's link is down.
    if let Some(p) = snap.ports.get_mut(0) {
        p.mux = MuxState::Waiting;
    }
    let mut l = Lacp::new(sys(1));
    for e in &a {
        let mut pc = PortConfig::new(e.port, mac(1, e.port));
        if e.port == 2 {
            pc.key = Some(9);
        }
        l.add_port(h.now, pc).unwrap();
    }
    let out = l.resume(h.now, &snap, |p| {
        if p == 3 {
            LinkStatus::DOWN
        } else {
            LinkStatus::up(1000)
        }
    });
    assert!(out.resumed.is_empty(), "{out:?}");
    assert_eq!(
        out.refused,
        vec![
            (1, ResumeRefusal::NotAttached),
            (2, ResumeRefusal::IdentityChanged),
            (3, ResumeRefusal::LinkDown),
        ]
    );
    // Refused ports were left alone: they start as after a cold start.
    assert_eq!(l.port(1).unwrap().receive, ReceiveState::PortDisabled);
    // A snapshot of a LACP aggregation does not fit a static trunk.
    let mut l = Lacp::new(sys_with(1, LacpActivity::Off, LacpTimeout::Short));
    for e in &a {
        l.add_port(h.now, PortConfig::new(e.port, mac(1, e.port)))
            .unwrap();
    }
    let snap = h.lacp(0).snapshot();
    let out = l.resume(h.now, &snap, |_| LinkStatus::up(1000));
    assert!(out.resumed.is_empty());
    assert!(
        out.refused.iter().all(
            |(_, r)| *r == ResumeRefusal::StateMismatch || *r == ResumeRefusal::IdentityChanged
        ),
        "{out:?}"
    );
}

/// Resumes `snap` on a fresh System `cfg` with one port `pc` whose link is `link` now;
/// `up_first` reports the link before the resume (the port has left PORT_DISABLED).
fn resume_one(
    cfg: SystemConfig,
    pc: PortConfig,
    link: LinkStatus,
    up_first: bool,
    snap: &LacpSnapshot,
) -> lagd_lacp::ResumeOutcome {
    let now = lagd_types::Instant::from_secs(100);
    let mut l = Lacp::new(cfg);
    let n = pc.number;
    l.add_port(now, pc).unwrap();
    if up_first {
        l.handle_link(now, n, link);
    }
    l.resume(now, snap, |_| link)
}

/// Each clause of the check refuses on its own: a port priority or an Aggregation bit that
/// changed alone (IdentityChanged), coupled control switched off, a port already running, a
/// LACP_DISABLED state saved under a LACP configuration (StateMismatch). The unchanged
/// configuration resumes, so each refusal is that clause's.
#[test]
fn each_changed_clause_alone_refuses_the_resume() {
    let (mut h, a, b) = pair(sys(1), sys(2), 1);
    until_all_distributing(&mut h, &a, &b, Duration::from_secs(10));
    let snap = h.lacp(0).snapshot();
    let up = LinkStatus::up(h.speed_mbps);
    let pc = || PortConfig::new(1, mac(1, 1));
    let refused = |r| vec![(1, r)];

    let out = resume_one(sys(1), pc(), up, false, &snap);
    assert_eq!(out.resumed, vec![1], "{out:?}");

    let mut other_priority = pc();
    other_priority.priority = 0x10;
    let out = resume_one(sys(1), other_priority, up, false, &snap);
    assert_eq!(out.refused, refused(ResumeRefusal::IdentityChanged));

    let mut individual = pc();
    individual.aggregatable = false;
    let out = resume_one(sys(1), individual, up, false, &snap);
    assert_eq!(out.refused, refused(ResumeRefusal::IdentityChanged));

    let independent = SystemConfig {
        coupled_control: false,
        ..sys(1)
    };
    let out = resume_one(independent, pc(), up, false, &snap);
    assert_eq!(out.refused, refused(ResumeRefusal::StateMismatch));

    let out = resume_one(sys(1), pc(), up, true, &snap);
    assert_eq!(out.refused, refused(ResumeRefusal::StateMismatch));

    // A LACP (Active) port on a half-duplex link rests in LACP_DISABLED, Individual, attached
    // to an Aggregator of its own; the same configuration and link do not resume it (only a
    // static trunk resumes LACP_DISABLED).
    let (mut h, a, _) = pair(sys(1), sys(2), 1);
    let half = LinkStatus {
        full_duplex: false,
        ..up
    };
    h.lacp_mut(0)
        .handle_link(lagd_types::Instant::ZERO, a[0].port, half);
    h.run_for(Duration::from_secs(5));
    let snap = h.lacp(0).snapshot();
    let s = &snap.ports[0];
    assert_eq!(s.receive, ReceiveState::LacpDisabled);
    assert_eq!(s.selected, Selected::Selected);
    assert!(
        !matches!(s.mux, MuxState::Detached | MuxState::Waiting),
        "{s:?}"
    );
    let out = resume_one(sys(1), pc(), half, false, &snap);
    assert_eq!(out.refused, refused(ResumeRefusal::StateMismatch));
}
