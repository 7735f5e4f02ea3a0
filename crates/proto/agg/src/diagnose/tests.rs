//! Diagnosis of aggregations run in virtual time: two (or three) aggregations cabled port to
//! port, each outage produced for real, the finding and its fix asserted as data.

use super::*;
use crate::Aggregation;
use lagd_distrib::{DistributorConfig, HashPolicy};
use lagd_lacp::{
    ChurnState, FallbackConfig, FallbackKind, LacpTimeout, LinkStatus, MuxState, PortConfig,
    SystemConfig,
};
use lagd_types::{Duration, Instant, MacAddr};
use std::collections::VecDeque;

const PORTS: u16 = 2;
const DELAY: Duration = Duration::from_millis(1);

/// Two aggregations cabled port to port (port `p` of side 0 to port `p` of side 1), or
/// port `p` of side 0 to side `peer[p]` (for the two-switch case), run in virtual time.
struct Net {
    now: Instant,
    sides: Vec<Aggregation<Vec<u8>>>,
    /// (side, port) → (side, port).
    cable: BTreeMap<(usize, PortNumber), (usize, PortNumber)>,
    wire: VecDeque<(Instant, usize, PortNumber, Vec<u8>)>,
}

fn config(i: u8, mode: LacpActivity) -> AggregationConfig {
    let mut lacp = SystemConfig::new(MacAddr([2, 0, 0, 0, i, 0]));
    lacp.mode = mode;
    AggregationConfig {
        lacp,
        distributor: DistributorConfig {
            rebalance_interval: None,
            ..DistributorConfig::default()
        },
        alb: None,
    }
}

impl Net {
    fn new(configs: Vec<AggregationConfig>, ports: u16) -> Net {
        let sides = configs
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut agg = Aggregation::new(c);
                for p in 1..=ports {
                    agg.add_port(
                        Instant::ZERO,
                        PortConfig::new(p, MacAddr([2, 0, 0, 0, i as u8 + 1, p as u8])),
                    )
                    .unwrap();
                    agg.handle_link(Instant::ZERO, p, LinkStatus::up(10_000));
                }
                agg
            })
            .collect();
        Net {
            now: Instant::ZERO,
            sides,
            cable: BTreeMap::new(),
            wire: VecDeque::new(),
        }
    }
    fn connect(&mut self, a: (usize, PortNumber), b: (usize, PortNumber)) {
        self.cable.insert(a, b);
        self.cable.insert(b, a);
    }
    fn drain(&mut self, s: usize) {
        while let Some(t) = self.sides[s].poll_transmit(self.now) {
            if let Some(&(to, port)) = self.cable.get(&(s, t.port)) {
                self.wire.push_back((self.now + DELAY, to, port, t.frame));
            }
        }
        while self.sides[s].poll_release().is_some() {}
        while self.sides[s].poll_event().is_some() {}
    }
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            for s in 0..self.sides.len() {
                self.drain(s);
            }
            let next_frame = self.wire.front().map(|w| w.0);
            let next_timer = self.sides.iter().filter_map(|a| a.poll_timeout()).min();
            let next = [next_frame, next_timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    while self.wire.front().is_some_and(|w| w.0 <= self.now) {
                        if let Some((_, to, port, f)) = self.wire.pop_front() {
                            self.sides[to].handle_port_frame(self.now, port, &f);
                        }
                    }
                    for a in &mut self.sides {
                        if a.poll_timeout().is_some_and(|t| t <= self.now) {
                            a.handle_timeout(self.now);
                        }
                    }
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
    }
}

fn pair(a: LacpActivity, b: LacpActivity) -> Net {
    let mut n = Net::new(vec![config(1, a), config(2, b)], PORTS);
    for p in 1..=PORTS {
        n.connect((0, p), (1, p));
    }
    n
}

fn names() -> BTreeMap<PortNumber, String> {
    (1..=4).map(|p| (p, format!("eth{p}"))).collect()
}

fn run(cfg: &AggregationConfig, st: &AggregationStatus) -> Diagnosis {
    let mut input = DiagnoseInput::new("aggr1", cfg, st);
    input.port_names = names();
    checked(&input)
}

/// Diagnoses, and fails if a fix sets a setting to the value it already has.
fn checked(input: &DiagnoseInput<'_>) -> Diagnosis {
    let d = diagnose(input);
    let stale = d.fixes_in_effect(|s| input.current(s));
    assert!(stale.is_empty(), "fixes already in effect: {stale:#?}");
    d
}

fn codes(d: &Diagnosis) -> Vec<FindingCode> {
    d.findings.iter().map(|f| f.code).collect()
}

/// A UDP frame of flow `flow` (source port), `len` bytes, to destination MAC `dst`.
fn frame(flow: u16, dst: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(64)];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0x99, dst]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 1, 0]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    let ip_len = (len.max(64) - 14) as u16;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[23] = 17;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 18, (flow >> 8) as u8, flow as u8]);
    f[34..36].copy_from_slice(&(10_000 + flow).to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f
}

#[test]
fn healthy_aggregation_is_reported_healthy() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(10));
    let st = n.sides[0].status();
    assert!(st.up);
    let d = run(n.sides[0].config(), &st);
    assert!(d.healthy, "{d:#?}");
    assert!(d.findings.is_empty(), "{d:#?}");
}

#[test]
fn members_cabled_to_each_other_are_a_loopback() {
    let mut n = Net::new(vec![config(1, LacpActivity::Active)], PORTS);
    n.connect((0, 1), (0, 2));
    n.run_for(Duration::from_secs(10));
    let st = n.sides[0].status();
    assert!(!st.up);
    let d = run(n.sides[0].config(), &st);
    let loops: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::Loopback)
        .collect();
    assert_eq!(loops.len(), 2, "{d:#?}");
    assert_eq!(loops[0].severity, Severity::Error);
    assert_eq!(
        loops[0].problem,
        "eth1 is cabled to eth2, a member of this same aggregation: each receives the other's LACPDUs, and the link carries no traffic"
    );
    assert!(loops[0].evidence[0].contains("sent by eth2"), "{d:#?}");
    // Nothing else is blamed: not the partner (it is us), not the members' machines.
    for c in [
        FindingCode::NotDistributing,
        FindingCode::PartnerNoLacp,
        FindingCode::DifferentPartners,
        FindingCode::Defaulted,
    ] {
        assert!(!codes(&d).contains(&c), "{c:?}: {d:#?}");
    }
}

#[test]
fn static_switch_partner_runs_no_lacp() {
    // The partner is a static trunk: it sends no LACPDU (seed 004's storage outage).
    let mut n = pair(LacpActivity::Active, LacpActivity::Off);
    n.run_for(Duration::from_secs(10));
    let cfg = n.sides[0].config().clone();
    let st = n.sides[0].status();
    let d = run(&cfg, &st);
    assert!(!d.healthy);
    let f = &d.findings[0];
    assert_eq!(f.code, FindingCode::PartnerNoLacp, "{d:#?}");
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.fix
            .iter()
            .any(|x| x.text == "or run a static trunk"
                && x.sets() == Some((Setting::LacpMode, "off")))
    );
    assert!(
        f.fix
            .iter()
            .any(|x| x.sets() == Some((Setting::Fallback, "static")))
    );
    assert!(
        f.evidence.iter().any(|e| e.contains(
            "eth1: receive DEFAULTED, no LACPDU in the last 3 s (no LACPDU ever received)"
        )),
        "{f:#?}"
    );
    // The consequences are not reported as separate causes.
    assert!(!codes(&d).contains(&FindingCode::NotDistributing), "{d:#?}");
    assert!(codes(&d).contains(&FindingCode::MinLinks));

    // With fallback the aggregate forwards: a warning, not an error.
    let mut cfg = config(1, LacpActivity::Active);
    cfg.lacp.fallback = Some(FallbackConfig {
        timeout: Duration::from_secs(3),
        kind: FallbackKind::OneMember,
    });
    let mut n = Net::new(vec![cfg, config(2, LacpActivity::Off)], PORTS);
    for p in 1..=PORTS {
        n.connect((0, p), (1, p));
    }
    n.run_for(Duration::from_secs(10));
    let st = n.sides[0].status();
    assert!(st.lacp.fallback_active);
    let d = run(n.sides[0].config(), &st);
    assert_eq!(d.findings[0].code, FindingCode::PartnerNoLacp, "{d:#?}");
    assert_eq!(d.findings[0].severity, Severity::Warning);
    assert!(!codes(&d).contains(&FindingCode::MinLinks), "{d:#?}");
}

#[test]
fn both_sides_passive() {
    let mut n = pair(LacpActivity::Passive, LacpActivity::Passive);
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    assert_eq!(d.findings[0].code, FindingCode::BothPassive, "{d:#?}");
    assert_eq!(
        d.findings[0].fix[0].sets(),
        Some((Setting::LacpMode, "active"))
    );
}

#[test]
fn members_on_two_switches_reach_different_partners() {
    // Side 0's port 1 goes to switch A, port 2 to switch B (not a DT pair).
    let mut n = Net::new(
        vec![
            config(1, LacpActivity::Active),
            config(2, LacpActivity::Active),
            config(3, LacpActivity::Active),
        ],
        PORTS,
    );
    n.connect((0, 1), (1, 1));
    n.connect((0, 2), (2, 1));
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    let f = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::DifferentPartners)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(f.problem.contains("different partner systems"));
    assert_eq!(f.evidence.len(), 2, "{f:#?}");
    assert!(
        matches!(&f.fix[1].change, Some(Change::RemoveMembers { members }) if members.len() == 1),
        "{f:#?}"
    );
}

#[test]
fn speed_duplex_and_mtu_mismatch() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(10));
    let cfg = n.sides[0].config().clone();
    let st = n.sides[0].status();
    let mut input = DiagnoseInput::new("aggr1", &cfg, &st);
    input.port_names = names();
    input.aggregate_mtu = Some(9000);
    input.links.insert(
        1,
        LinkFacts {
            speed_mbps: Some(1000),
            mtu: Some(9000),
            ..LinkFacts::default()
        },
    );
    input.links.insert(
        2,
        LinkFacts {
            speed_mbps: Some(100),
            full_duplex: Some(false),
            mtu: Some(1500),
            ..LinkFacts::default()
        },
    );
    let d = checked(&input);
    let c = codes(&d);
    assert!(c.contains(&FindingCode::SpeedMismatch), "{d:#?}");
    assert!(c.contains(&FindingCode::DuplexMismatch), "{d:#?}");
    assert!(c.contains(&FindingCode::MtuMismatch), "{d:#?}");
    let mtu = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::MtuMismatch)
        .unwrap();
    assert_eq!(
        mtu.fix[0].change,
        Some(Change::Readd {
            member: "eth2".into()
        }),
        "{mtu:#?}"
    );
    let dup = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::DuplexMismatch)
        .unwrap();
    assert_eq!(dup.member.as_deref(), Some("eth2"));
    assert_eq!(d.findings[0].severity, Severity::Error);
}

#[test]
fn member_in_another_channel_group_on_the_partner() {
    // The partner puts its port 2 in another key (another channel group).
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    let mut pc = PortConfig::new(2, MacAddr([2, 0, 0, 0, 2, 2]));
    pc.key = Some(7);
    n.sides[1].set_port_config(Instant::ZERO, pc).unwrap();
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    assert!(!d.healthy, "{d:#?}");
    let f = &d.findings[0];
    assert_eq!(f.code, FindingCode::DifferentPartners, "{d:#?}");
    assert!(f.problem.contains("different keys"), "{f:#?}");
    assert_eq!(
        f.fix[1].change,
        Some(Change::RemoveMembers {
            members: vec!["eth2".into()]
        }),
        "{f:#?}"
    );
    let nd = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::NotDistributing)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(nd.member.as_deref(), Some("eth2"));
    assert!(nd.problem.contains("is not the active one"), "{nd:#?}");
}

#[test]
fn member_attached_but_not_collecting_says_why() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(5));
    let mut st = n.sides[0].status();
    let p = &mut st.lacp.ports[1];
    p.mux = MuxState::Attached;
    p.collecting = false;
    p.distributing = false;
    p.partner.state = p
        .partner
        .state
        .with(lagd_types::PortState::SYNCHRONIZATION, false);
    p.why_not_distributing = Some("partner not in sync".into());
    let d = run(n.sides[0].config(), &st);
    assert_eq!(codes(&d), vec![FindingCode::NotDistributing], "{d:#?}");
    let f = &d.findings[0];
    assert_eq!(
        f.problem,
        "eth2 is up but not collecting nor distributing: partner not in sync"
    );
    assert!(f.evidence[0].contains("mux ATTACHED"), "{f:#?}");
    assert!(
        f.fix[0]
            .text
            .contains("the partner has not put eth2 in its aggregation")
    );
    assert_eq!(
        f.fix[0].change,
        Some(Change::Show {
            view: View::Extended
        })
    );
}

#[test]
fn link_down_and_min_links() {
    let mut cfg0 = config(1, LacpActivity::Active);
    cfg0.lacp.min_links = 2;
    let mut n = Net::new(vec![cfg0, config(2, LacpActivity::Active)], PORTS);
    for p in 1..=PORTS {
        n.connect((0, p), (1, p));
    }
    n.run_for(Duration::from_secs(5));
    let now = n.now;
    n.sides[0].handle_link(now, 2, LinkStatus::DOWN);
    n.sides[1].handle_link(now, 2, LinkStatus::DOWN);
    n.run_for(Duration::from_secs(5));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    let c = codes(&d);
    assert!(c.contains(&FindingCode::LinkDown), "{d:#?}");
    assert!(c.contains(&FindingCode::MinLinks), "{d:#?}");
    let ml = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::MinLinks)
        .unwrap();
    assert!(ml.problem.contains("1 of 2 members"), "{ml:#?}");
    assert_eq!(ml.fix[1].sets(), Some((Setting::MinLinks, "1")), "{ml:#?}");
}

#[test]
fn expired_member_when_partner_goes_silent_on_one_link() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(5));
    // Frames from side 1 port 2 stop reaching side 0 (a unidirectional fault).
    n.cable.remove(&(1, 2));
    n.run_for(Duration::from_millis(3500));
    let st = n.sides[0].status();
    let d = run(n.sides[0].config(), &st);
    let c = codes(&d);
    assert_eq!(c, vec![FindingCode::Expired], "{d:#?}");
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    assert!(codes(&d).contains(&FindingCode::Defaulted), "{d:#?}");
}

#[test]
fn churn_is_reported() {
    // Constructed: churn on a member that is otherwise distributing.
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(5));
    let mut st = n.sides[0].status();
    st.lacp.ports[0].partner_churn = ChurnState::Churn;
    let d = run(n.sides[0].config(), &st);
    let f = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::Churn)
        .unwrap();
    assert_eq!(f.member.as_deref(), Some("eth1"));
    assert!(f.problem.starts_with("partner churn on eth1"));
}

fn traffic(policy: HashPolicy, flows: u16, dst_macs: u8) -> (AggregationConfig, AggregationStatus) {
    let mut c0 = config(1, LacpActivity::Active);
    c0.distributor.policy = policy;
    let mut n = Net::new(vec![c0, config(2, LacpActivity::Active)], 4);
    for p in 1..=4 {
        n.connect((0, p), (1, p));
    }
    n.run_for(Duration::from_secs(5));
    let now = n.now;
    for i in 0..4000u32 {
        let flow = (i % u32::from(flows)) as u16;
        let dst = (i % u32::from(dst_macs)) as u8;
        let f = frame(flow, dst, 1000);
        let _ = n.sides[0].handle_host_frame(now, &f.clone(), f);
    }
    (n.sides[0].config().clone(), n.sides[0].status())
}

#[test]
fn l2_policy_towards_one_router_is_unbalanced_and_l3l4_is_named() {
    // Seed 002 figure 8: many clients behind one router MAC, hashed on L2 only.
    let (cfg, st) = traffic(HashPolicy::L2, 200, 1);
    let d = run(&cfg, &st);
    let f = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::HashImbalance)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(
        f.problem.contains("policy L2 hashes only MAC addresses"),
        "{f:#?}"
    );
    assert_eq!(f.fix[0].sets(), Some((Setting::Policy, "L3,L4")));
    // The same traffic under L3,L4 spreads: no finding.
    let (cfg, st) = traffic(HashPolicy::L3_L4, 200, 1);
    let d = run(&cfg, &st);
    assert!(d.healthy, "{d:#?}");
}

#[test]
fn single_flow_saturating_one_member() {
    let (cfg, st) = traffic(HashPolicy::L3_L4, 1, 1);
    let mut input = DiagnoseInput::new("aggr1", &cfg, &st);
    input.port_names = names();
    let busy = st
        .distributor
        .ports
        .iter()
        .max_by_key(|p| p.bytes)
        .map(|p| p.port)
        .unwrap();
    input.links.insert(
        busy,
        LinkFacts {
            tx_bytes_per_sec: Some(1_240_000_000),
            ..LinkFacts::default()
        },
    );
    let d = checked(&input);
    let c = codes(&d);
    assert!(c.contains(&FindingCode::HashImbalance), "{d:#?}");
    let f = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::SingleFlowSaturation)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(
        f.fix
            .iter()
            .any(|x| x.sets() == Some((Setting::Mode, "round-robin")))
    );
    assert!(f.evidence[0].contains("99.2% utilised"), "{f:#?}");
}

/// Side `s` of `n` switches to LACP mode `mode` (as `modify-aggr -L` does).
fn set_mode(n: &mut Net, s: usize, mode: LacpActivity) {
    let mut c = n.sides[s].config().clone();
    c.lacp.mode = mode;
    let now = n.now;
    n.sides[s].set_config(now, c).unwrap();
}

#[test]
fn partner_turned_static_after_lacp_ran_is_named_on_both_ends() {
    // Seed 004 the other way round: LACP ran (lifetime counters are not zero), then the
    // partner became a static trunk.
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(10));
    set_mode(&mut n, 1, LacpActivity::Off);
    n.run_for(Duration::from_secs(10));
    let st = n.sides[0].status();
    assert!(st.lacp.ports[0].counters.lacpdus_rx > 0);
    let d = run(n.sides[0].config(), &st);
    assert_eq!(d.findings[0].code, FindingCode::PartnerNoLacp, "{d:#?}");
    let f = &d.findings[0];
    assert!(
        f.evidence[0].contains("no LACPDU in the last 3 s (last LACPDU"),
        "{f:#?}"
    );
    assert!(
        f.fix
            .iter()
            .any(|x| x.sets() == Some((Setting::Fallback, "static"))),
        "{f:#?}"
    );
    // min-links is already 1: not offered again; nor "findings above" that do not exist.
    let ml = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::MinLinks)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(ml.fix.iter().all(|x| x.sets().is_none()), "{ml:#?}");
    // The static end hears the LACPDUs: the partner runs LACP and does not forward.
    let d = run(n.sides[1].config(), &n.sides[1].status());
    let f = &d.findings[0];
    assert_eq!(f.code, FindingCode::LacpOnStaticTrunk, "{d:#?}");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.fix[0].sets(), Some((Setting::LacpMode, "active")));
    assert_eq!(f.fix[1].on, Where::Partner);
    assert!(
        f.evidence[0].contains("the partner says: LACP active"),
        "{f:#?}"
    );
}

#[test]
fn both_passive_after_lacp_ran_is_named() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Passive);
    n.run_for(Duration::from_secs(10));
    assert!(n.sides[0].status().up);
    set_mode(&mut n, 0, LacpActivity::Passive);
    n.run_for(Duration::from_secs(20));
    for s in 0..2 {
        let d = run(n.sides[s].config(), &n.sides[s].status());
        let f = &d.findings[0];
        assert_eq!(f.code, FindingCode::BothPassive, "side {s}: {d:#?}");
        assert_eq!(f.fix[0].sets(), Some((Setting::LacpMode, "active")));
        assert_eq!(f.fix[1].on, Where::BothEnds);
        assert_eq!(f.fix[1].sets(), Some((Setting::LacpMode, "off")));
        assert_eq!(f.fix[2].sets(), Some((Setting::Fallback, "static")));
    }
}

#[test]
fn timer_mismatch_is_a_note() {
    let mut c1 = config(2, LacpActivity::Active);
    c1.lacp.timer = LacpTimeout::Long;
    let mut n = Net::new(vec![config(1, LacpActivity::Active), c1], PORTS);
    for p in 1..=PORTS {
        n.connect((0, p), (1, p));
    }
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    assert!(d.healthy, "{d:#?}");
    assert_eq!(codes(&d), vec![FindingCode::TimerMismatch], "{d:#?}");
    let f = &d.findings[0];
    assert!(
        f.problem
            .starts_with("the partner runs the long LACP timer, we the short")
    );
    assert_eq!(f.fix[0].sets(), Some((Setting::LacpTimer, "long")));
}

#[test]
fn min_links_above_the_member_count() {
    let mut c0 = config(1, LacpActivity::Active);
    c0.lacp.min_links = 3;
    let mut n = Net::new(vec![c0, config(2, LacpActivity::Active)], PORTS);
    for p in 1..=PORTS {
        n.connect((0, p), (1, p));
    }
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    let f = &d.findings[0];
    assert_eq!(f.code, FindingCode::MinLinks, "{d:#?}");
    assert_eq!(f.fix[0].change, Some(Change::AddMember));
    assert_eq!(f.fix[1].sets(), Some((Setting::MinLinks, "2")));
}

#[test]
fn a_fix_already_in_effect_is_caught() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Active);
    n.run_for(Duration::from_secs(5));
    let cfg = n.sides[0].config().clone();
    let st = n.sides[0].status();
    let input = DiagnoseInput::new("aggr1", &cfg, &st);
    let d = Diagnosis::new(
        "aggr1",
        vec![Finding {
            severity: Severity::Error,
            code: FindingCode::MinLinks,
            member: None,
            problem: "min-links not met".into(),
            evidence: vec![],
            fix: vec![Fix::set("lower the threshold", Setting::MinLinks, 1)],
        }],
    );
    assert_eq!(d.fixes_in_effect(|s| input.current(s)).len(), 1);
}

/// The consequences of side `s` switching to `next`.
fn predicted(n: &Net, s: usize, next: &AggregationConfig) -> Vec<FindingCode> {
    let cfg = n.sides[s].config().clone();
    let st = n.sides[s].status();
    let mut input = DiagnoseInput::new("aggr1", &cfg, &st);
    input.port_names = names();
    consequences(&input, next).iter().map(|f| f.code).collect()
}

#[test]
fn seed_004_lacp_against_a_static_trunk_is_predicted_to_go_down() {
    let mut n = pair(LacpActivity::Off, LacpActivity::Off);
    n.run_for(Duration::from_secs(10));
    assert!(n.sides[0].status().up);
    let mut next = n.sides[0].config().clone();
    next.lacp.mode = LacpActivity::Active;
    assert_eq!(predicted(&n, 0, &next), vec![FindingCode::PartnerNoLacp]);
    // With a fallback the aggregate keeps forwarding.
    next.lacp.fallback = Some(FallbackConfig {
        timeout: Duration::from_secs(6),
        kind: FallbackKind::Static,
    });
    assert!(predicted(&n, 0, &next).is_empty());
    // Applied anyway: both ends name the outage.
    set_mode(&mut n, 0, LacpActivity::Active);
    n.run_for(Duration::from_secs(10));
    let d = run(n.sides[0].config(), &n.sides[0].status());
    assert_eq!(d.findings[0].code, FindingCode::PartnerNoLacp, "{d:#?}");
    let d = run(n.sides[1].config(), &n.sides[1].status());
    assert_eq!(d.findings[0].code, FindingCode::LacpOnStaticTrunk, "{d:#?}");
    assert_eq!(d.findings[0].severity, Severity::Error);
}

#[test]
fn static_against_lacp_passive_against_passive_and_min_links_are_predicted() {
    let mut n = pair(LacpActivity::Active, LacpActivity::Passive);
    n.run_for(Duration::from_secs(10));
    let cur = n.sides[0].config().clone();
    let mut off = cur.clone();
    off.lacp.mode = LacpActivity::Off;
    assert_eq!(predicted(&n, 0, &off), vec![FindingCode::LacpOnStaticTrunk]);
    let mut passive = cur.clone();
    passive.lacp.mode = LacpActivity::Passive;
    assert_eq!(predicted(&n, 0, &passive), vec![FindingCode::BothPassive]);
    let mut min = cur.clone();
    min.lacp.min_links = 3;
    assert_eq!(predicted(&n, 0, &min), vec![FindingCode::MinLinks]);
    min.lacp.min_links = 2;
    assert!(predicted(&n, 0, &min).is_empty());
    // The passive side may go active, the timer may change: nothing goes down.
    let mut active = n.sides[1].config().clone();
    active.lacp.mode = LacpActivity::Active;
    active.lacp.timer = LacpTimeout::Long;
    assert!(predicted(&n, 1, &active).is_empty());
}

#[test]
fn aggregate_mac_arriving_on_another_member_is_reported() {
    use crate::alb::{AlbConfig, AlbMode};
    let agg_mac = MacAddr([2, 0xa6, 0, 0, 0, 1]);
    let mut c = config(0, LacpActivity::Off);
    c.alb = Some(AlbConfig::new(AlbMode::Adaptive, agg_mac));
    let mut n = Net::new(vec![c.clone()], PORTS);
    n.run_for(Duration::from_secs(2));
    let now = n.now;
    let a = &mut n.sides[0];
    let st = a.status();
    assert_eq!(st.alb.as_ref().and_then(|b| b.receive_member), Some(1));
    assert!(
        diagnose(&DiagnoseInput::new("aggr1", &c, &st))
            .findings
            .iter()
            .all(|f| f.code != FindingCode::AggregateMacMoved)
    );
    // The switch sends a frame for the aggregate's MAC to member 2.
    let mut frame = vec![0u8; 64];
    frame[..6].copy_from_slice(&agg_mac.0);
    frame[6..12].copy_from_slice(&[2, 0xcc, 0, 0, 0, 1]);
    frame[12..14].copy_from_slice(&[8, 0]);
    assert_eq!(
        a.filter_port_frame(now, 2, &mut frame),
        crate::RxVerdict::Drop(crate::RxDrop::Balancer(crate::alb::AlbRxDrop::Flooded))
    );
    let st = a.status();
    let d = diagnose(&DiagnoseInput::new("aggr1", &c, &st));
    let f = d
        .findings
        .iter()
        .find(|f| f.code == FindingCode::AggregateMacMoved)
        .expect("a finding");
    assert_eq!(f.member.as_deref(), Some("port 2"));
    assert!(f.problem.contains("02:a6:00:00:00:01"), "{}", f.problem);
    assert_eq!(
        DiagnoseInput::new("aggr1", &c, &st)
            .current(Setting::Mode)
            .as_deref(),
        Some("adaptive-lb")
    );
}
