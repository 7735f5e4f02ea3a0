//! lagd ↔ Open vSwitch interoperability: lagd on host A, OVS (userspace datapath) on host B,
//! joined by 2 or 4 veth links.
//!
//! - `lagd_ovs_modes_agree` (2 links): lagd active/OVS active, active/passive, passive/active,
//!   short and long timers: the aggregation forms; lagd's `ShowAggr` and OVS `lacp/show` agree on
//!   partner system, key, ports and state; ping (and TCP in the first case) both ways; both
//!   passive never forms, no LACPDU is sent, and lagd says why.
//! - `lagd_ovs_failover_marker_capture` (4 links): carrier loss seen by either side and silent
//!   failure in each direction, with the failover gap of a 1 000 pps UDP stream printed;
//!   detection and healing are checked with bounded waits; graceful removal of the member
//!   carrying a stream completes by marker timeout (OVS never answers) with nothing lost; every
//!   slow-protocol frame lagd sent during the test decodes in tshark as LACP or Marker with no
//!   expert warning.
//! - `lagd_ovs_static_fallback` (2 links): OVS static active-backup bond (`lacp=off`) against
//!   lagd LACP with one-member fallback: traffic flows and lagd names the cause.
//!
//! Needs root, Open vSwitch, tshark and the built `lagd` binary (`cargo build -p lagd`); skipped
//! otherwise, except under `CI`. The scenarios run one at a time (a lock), and no assertion is on
//! elapsed time: measured times are printed, waits are bounded generously.

use lagd_control::config::{AggrMode, AggrSpec, Fallback, LacpActivity, LacpTimeout, PortSettings};
use lagd_control::proto::AggrStatus;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use systest::capture::Capture;
use systest::lagd_instance::{LagdInstance, all_distributing, config_of, summary};
use systest::net::{Net, Side};
use systest::ovs_instance::{BondSpec, OvsBondMode, OvsInstance, OvsLacp};
use systest::ovs_show::LacpBond;
use systest::prereq::{self, Need};
use systest::scratch::ScratchDir;
use systest::traffic::{UdpProbe, busiest_end, tcp_transfer};
use systest::wait;

const AGG: &str = "lag0";
const BOND: &str = "bond0";
/// Generous bound for anything that should take a few seconds (loaded 2-core machine).
const BOUND: Duration = Duration::from_secs(30);

/// How long a silent failure lasts before it is removed (as in the OVS <-> OVS baseline).
const SILENT_HOLD: Duration = Duration::from_secs(15);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn prerequisites(test: &str) -> bool {
    prereq::check(
        test,
        &[
            Need::Root,
            Need::Iproute,
            Need::Ovs,
            Need::Tshark,
            Need::Lagd,
        ],
    )
}

/// The testbed. Field order is drop order: lagd, then OVS, then the namespaces.
struct Bed {
    lagd: Option<LagdInstance>,
    ovs: OvsInstance,
    net: Net,
}

impl Bed {
    fn new(links: usize) -> Bed {
        let net = Net::builder("lgov")
            .links(links)
            .build()
            .expect("namespaces");
        // lagd hands GSO super-frames with partial checksums to its members (vnet headers);
        // over a veth they reach OVS as such, so OVS must read with vnet headers too.
        let ovs = OvsInstance::start_with(
            net.ns(Side::B),
            "ovsB",
            Side::B.mac(),
            &["other_config:userspace-tso-enable=true"],
        )
        .expect("OVS");
        ovs.set_bridge_ip(Side::B.ip()).expect("bridge address");
        Bed {
            lagd: None,
            ovs,
            net,
        }
    }

    fn n(&self) -> usize {
        self.net.links().len()
    }

    fn ovs_bond(&self, lacp: OvsLacp, fast: bool) {
        let _ = self.ovs.del_bond(BOND);
        let mut b = BondSpec::new(&self.net.ends(Side::B));
        b.lacp = lacp;
        b.fast = fast;
        self.ovs.add_bond(&b).expect("add-bond");
    }

    fn spec(&self, lacp: LacpActivity, timer: LacpTimeout) -> AggrSpec {
        let ends = self.net.ends(Side::A);
        let refs: Vec<&str> = ends.iter().map(String::as_str).collect();
        let mut s = AggrSpec::new(AGG, &refs);
        s.mode = Some(AggrMode::Lacp);
        s.lacp_mode = Some(lacp);
        s.lacp_timer = Some(timer);
        s.mac = Some(Side::A.mac().to_string());
        s
    }

    /// (Re)starts lagd with `spec` and gives the aggregate its address.
    fn start_lagd(&mut self, spec: AggrSpec) -> &mut LagdInstance {
        self.lagd = None; // the previous instance stops (SIGTERM) and restores the members
        let l = LagdInstance::start(self.net.ns(Side::A), "lagdA", &config_of(spec))
            .expect("start lagd");
        self.net
            .add_addr(Side::A, AGG, Side::A.ip())
            .expect("aggregate address");
        self.lagd.insert(l)
    }

    fn lagd(&mut self) -> &mut LagdInstance {
        self.lagd.as_mut().expect("lagd running")
    }

    fn show(&mut self) -> AggrStatus {
        self.lagd().show(AGG).expect("ShowAggr")
    }

    /// Waits until lagd has `n` members Collecting+Distributing and OVS is negotiated with `n`.
    fn wait_formed(&mut self, n: usize, bound: Duration) -> (AggrStatus, LacpBond) {
        let s = self
            .lagd()
            .wait_for(AGG, "all members distributing", bound, |s| {
                all_distributing(s, n)
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let o = self
            .ovs
            .wait_negotiated(BOND, n, bound)
            .unwrap_or_else(|e| panic!("{e}"));
        (s, o)
    }

    /// Waits until lagd's and OVS's views agree on every link (states settle within a PDU).
    fn wait_agree(&mut self) {
        let mut last = String::new();
        let r = wait::until(
            "lagd and OVS to agree",
            BOUND,
            Duration::from_millis(50),
            || {
                let s = self.show();
                let o = self.ovs.lacp_bond(BOND)?;
                Ok(match disagreement(&self.net, &s, &o) {
                    None => Ok(()),
                    Some(d) => {
                        last = d.clone();
                        Err(d)
                    }
                })
            },
        );
        if let Err(e) = r {
            panic!("{e}\nlast: {last}");
        }
    }

    fn ping_both_ways(&self) {
        assert!(
            self.net.ping(Side::A, Side::B.ip(), 3),
            "ping lagd -> OVS failed"
        );
        assert!(
            self.net.ping(Side::B, Side::A.ip(), 3),
            "ping OVS -> lagd failed"
        );
    }
}

/// What differs between lagd's status and OVS's `lacp/show`, link by link.
fn disagreement(net: &Net, s: &AggrStatus, o: &LacpBond) -> Option<String> {
    let mut out = Vec::new();
    for l in net.links() {
        let Some(m) = s.members.iter().find(|m| m.name == l.a) else {
            out.push(format!("lagd has no member {}", l.a));
            continue;
        };
        let Some(om) = o.member(&l.b) else {
            out.push(format!("OVS has no member {}", l.b));
            continue;
        };
        let mut check = |what: &str, ok: bool, detail: String| {
            if !ok {
                out.push(format!("{}/{}: {what}: {detail}", l.a, l.b));
            }
        };
        // lagd's partner = OVS's actor.
        check(
            "partner system",
            Some(m.partner.system.addr) == o.sys_id && m.partner.system.priority == o.sys_priority,
            format!(
                "lagd sees {}/{}, OVS is {:?}/{}",
                m.partner.system.addr, m.partner.system.priority, o.sys_id, o.sys_priority
            ),
        );
        check(
            "partner key",
            m.partner.key == om.actor.key,
            format!("{} vs {}", m.partner.key, om.actor.key),
        );
        check(
            "partner port",
            m.partner.port.number == om.actor.port_id
                && m.partner.port.priority == om.actor.port_priority,
            format!(
                "{:?} vs {}/{}",
                m.partner.port, om.actor.port_id, om.actor.port_priority
            ),
        );
        check(
            "partner state",
            m.partner.state == om.actor.state,
            format!(
                "{:#04x} vs {:#04x}",
                m.partner.state.bits(),
                om.actor.state.bits()
            ),
        );
        // OVS's partner = lagd's actor.
        check(
            "OVS partner system",
            om.partner.sys_id == Some(s.mac)
                && om.partner.sys_id == Some(m.actor.system.addr)
                && om.partner.sys_priority == m.actor.system.priority,
            format!(
                "{:?}/{} vs {}/{}",
                om.partner.sys_id,
                om.partner.sys_priority,
                m.actor.system.addr,
                m.actor.system.priority
            ),
        );
        check(
            "OVS partner key",
            om.partner.key == m.actor.key,
            format!("{} vs {}", om.partner.key, m.actor.key),
        );
        check(
            "OVS partner port",
            om.partner.port_id == m.actor.port.number
                && om.partner.port_priority == m.actor.port.priority,
            format!(
                "{}/{} vs {:?}",
                om.partner.port_id, om.partner.port_priority, m.actor.port
            ),
        );
        check(
            "OVS partner state",
            om.partner.state == m.actor.state,
            format!(
                "{:#04x} vs {:#04x}",
                om.partner.state.bits(),
                m.actor.state.bits()
            ),
        );
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// Sum of every `key` number anywhere in a JSON document.
fn sum_key(v: &serde_json::Value, key: &str) -> u64 {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                if k == key {
                    x.as_u64().unwrap_or(0)
                } else {
                    sum_key(x, key)
                }
            })
            .sum(),
        serde_json::Value::Array(a) => a.iter().map(|x| sum_key(x, key)).sum(),
        _ => 0,
    }
}

#[test]
fn lagd_ovs_modes_agree() {
    if !prerequisites("lagd_ovs_modes_agree") {
        return;
    }
    let _g = serial();
    let mut bed = Bed::new(2);
    let n = bed.n();
    let cases = [
        (LacpActivity::Active, OvsLacp::Active, true),
        (LacpActivity::Active, OvsLacp::Passive, true),
        (LacpActivity::Passive, OvsLacp::Active, true),
        (LacpActivity::Active, OvsLacp::Active, false),
    ];
    for (i, (lagd_mode, ovs_mode, short)) in cases.into_iter().enumerate() {
        let timer = if short {
            LacpTimeout::Short
        } else {
            LacpTimeout::Long
        };
        println!("case: lagd {lagd_mode:?} / OVS {ovs_mode:?}, timer {timer:?}");
        bed.ovs_bond(ovs_mode, short);
        let t0 = Instant::now();
        let spec = bed.spec(lagd_mode, timer);
        bed.start_lagd(spec);
        let (s, o) = bed.wait_formed(n, BOUND);
        println!(
            "  formed {:.2} s after lagd started",
            t0.elapsed().as_secs_f64()
        );
        bed.wait_agree();
        for m in &s.members {
            assert_eq!(m.actor.state.short_timeout(), short, "{m:?}");
            assert_eq!(
                m.actor.state.activity(),
                lagd_mode == LacpActivity::Active,
                "{m:?}"
            );
            assert_eq!(
                m.partner.state.activity(),
                ovs_mode == OvsLacp::Active,
                "{m:?}"
            );
        }
        assert_eq!(o.lacp_time, if short { "fast" } else { "slow" });
        bed.ping_both_ways();
        if i == 0 {
            for (from, to) in [(Side::A, Side::B), (Side::B, Side::A)] {
                let (tx, rx) = tcp_transfer(
                    bed.net.ns(from),
                    bed.net.ns(to),
                    to.ip(),
                    4,
                    Duration::from_secs(2),
                    None,
                )
                .expect("TCP transfer");
                println!(
                    "  TCP {from:?} -> {to:?}: {} flows, {:.1} Mbit/s",
                    rx.flows.len(),
                    rx.total_bytes() as f64 * 8.0 / 2e6
                );
                assert!(tx.all_ok(), "{tx:?}");
                assert_eq!(rx.flows.len(), 4, "{rx:?}");
                assert!(rx.all_intact(), "{rx:?}");
                assert_eq!(rx.total_bytes(), tx.total_bytes());
                assert!(rx.total_bytes() > 0);
            }
        }
    }

    // Both passive: nobody sends a LACPDU, nothing forms, and lagd says why.
    println!("case: lagd Passive / OVS Passive");
    bed.ovs_bond(OvsLacp::Passive, true);
    let spec = bed.spec(LacpActivity::Passive, LacpTimeout::Short);
    bed.start_lagd(spec);
    // Longer than a short timeout plus a periodic interval: enough for anything to form.
    let s = bed
        .lagd()
        .wait_for(
            AGG,
            "members to report why they are not distributing",
            BOUND,
            |s| {
                s.members.iter().all(|m| {
                    m.why_not_distributing
                        .as_deref()
                        .is_some_and(|w| w.contains("passive"))
                })
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_secs(4));
    let s2 = bed.show();
    assert!(!s2.up, "{}", summary(&s2));
    assert!(
        s2.members.iter().all(|m| !m.collecting && !m.distributing),
        "{}",
        summary(&s2)
    );
    println!(
        "  lagd says: {:?}",
        s.members
            .first()
            .and_then(|m| m.why_not_distributing.clone())
    );
    let o = bed.ovs.lacp_bond(BOND).expect("lacp/show");
    assert!(!o.negotiated(), "{o:?}");
    let stats = bed.ovs.lacp_stats().expect("lacp/show-stats");
    assert!(
        stats.iter().all(|m| m.rx_pdus == 0 && m.tx_pdus == 0),
        "a passive side sent a LACPDU: {stats:?}"
    );
    assert_eq!(
        sum_key(&s2.protocol, "lacpdus_tx"),
        0,
        "lagd sent LACPDUs while passive"
    );
    let st = bed.lagd().stop().expect("stop lagd");
    assert!(st.success(), "lagd exit status {st}");
}

/// Runs a UDP stream `from` -> other side at 1 000 pps for `secs`, applies `fault` to the link
/// carrying it (its index given) once it flows, and returns the receiver's report.
fn stream_with_fault<T>(
    bed: &Bed,
    from: Side,
    secs: u64,
    idle: u64,
    fault: impl FnOnce(usize) -> T,
) -> (lagd_trafgen::StreamReport, usize, T) {
    let to = from.other();
    let probe = UdpProbe::start(
        bed.net.ns(from),
        bed.net.ns(to),
        to.ip(),
        1000,
        Duration::from_secs(secs),
        Duration::from_secs(idle),
    )
    .expect("UDP stream");
    probe
        .wait_flowing(300, BOUND)
        .expect("UDP stream flows before the fault");
    let i = busiest_end(&bed.net, from, Duration::from_millis(300)).expect("busiest member");
    let t = fault(i);
    let (sent, r) = probe.finish().expect("stream result");
    assert_eq!(sent.send_errors, 0, "{sent:?}");
    (r, i, t)
}

#[test]
fn lagd_ovs_failover_marker_capture() {
    if !prerequisites("lagd_ovs_failover_marker_capture") {
        return;
    }
    let _g = serial();
    let mut bed = Bed::new(4);
    let n = bed.n();
    let scratch = ScratchDir::new("ovscap").expect("scratch dir");
    // Captures on OVS's ends (up while captured: a device set down ends a capture): one from
    // before lagd starts until the first carrier cut, one around the graceful removal.
    let ends_b = bed.net.ends(Side::B);
    let refs: Vec<&str> = ends_b.iter().map(String::as_str).collect();
    let ns_b = bed.net.ns(Side::B).to_string();
    let capture = |tag: &str| {
        Capture::start(&ns_b, &refs, "ether proto 0x8809", scratch.path(), tag).expect("tshark")
    };
    bed.ovs_bond(OvsLacp::Active, true);
    let mut cap1 = capture("formation");
    let spec = bed.spec(LacpActivity::Active, LacpTimeout::Short);
    bed.start_lagd(spec);
    bed.wait_formed(n, BOUND);
    bed.wait_agree();
    bed.ping_both_ways();
    let mut frames = cap1.slow_frames().expect("decode capture");

    // Carrier loss seen by lagd (OVS's end goes down), under the member carrying lagd -> OVS.
    let (r, i, ()) = stream_with_fault(&bed, Side::A, 5, 4, |i| {
        bed.net.set_end(Side::B, i, false).expect("cut carrier")
    });
    println!("carrier loss seen by lagd, link {i}: {r}");
    assert!(
        r.lost < r.expected / 2,
        "the stream did not survive the failover: {r}"
    );
    let s = bed.show();
    assert!(s.up, "{}", summary(&s));
    for m in &s.members {
        let cut = m.name == bed.net.links()[i].a;
        assert_eq!(m.link_up, !cut, "{}", summary(&s));
        assert_eq!(m.distributing, !cut, "{}", summary(&s));
    }
    bed.net.set_end(Side::B, i, true).expect("restore carrier");
    bed.wait_formed(n, BOUND);

    // Carrier loss seen by OVS (lagd's member goes down), under the member carrying OVS -> lagd.
    let (r, j, ()) = stream_with_fault(&bed, Side::B, 5, 4, |j| {
        bed.net.set_end(Side::A, j, false).expect("cut carrier")
    });
    println!("carrier loss seen by OVS, link {j}: {r}");
    assert!(
        r.lost < r.expected / 2,
        "the stream did not survive the failover: {r}"
    );
    bed.net.set_end(Side::A, j, true).expect("restore carrier");
    bed.wait_formed(n, BOUND);

    // Silent failure, each direction: detected by the short timeout, member back quickly after
    // the fault is removed (lagd's LACPDUs reach OVS at once; OVS <-> OVS takes 22-24 s).
    for from in [Side::A, Side::B] {
        let socket = bed.lagd.as_ref().expect("lagd").socket().to_path_buf();
        let (r, i, (fault, t_inject, detected, why)) = stream_with_fault(&bed, from, 8, 6, |i| {
            let dev_a = bed.net.links()[i].a.clone();
            let fault = bed.net.silent_fault(from, i).expect("inject");
            let t = Instant::now();
            // Detected: lagd stops distributing on the member (polled while the stream runs).
            let mut c = lagd_control::client::Client::connect(&socket).expect("client");
            let why = wait::until(
                "the silent failure to be detected",
                BOUND,
                Duration::from_millis(20),
                || {
                    let s = c
                        .show_aggr(Some(AGG))
                        .map_err(|e| systest::Error::Lagd(e.to_string()))?;
                    let m = s
                        .iter()
                        .flat_map(|a| a.members.iter())
                        .find(|m| m.name == dev_a);
                    Ok(match m {
                        Some(m) if !m.distributing => Ok(m.why_not_distributing.clone()),
                        _ => Err(format!("{m:?}")),
                    })
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            (fault, t, t.elapsed(), why)
        });
        let (dev_a, dev_b) = (bed.net.links()[i].a.clone(), bed.net.links()[i].b.clone());
        let who = if from == Side::A {
            "lagd -> OVS"
        } else {
            "OVS -> lagd"
        };
        println!("silent failure {who}, link {i}: {r}");
        println!(
            "  lagd stopped distributing on {dev_a} {:.2} s after the fault ({why:?}); stream gap {:.2} s",
            detected.as_secs_f64(),
            r.max_gap.as_secs_f64(),
        );
        // Hold the fault until both ends would be DEFAULTED (OVS <-> OVS then takes 20+ s to
        // heal: a defaulted OVS port sends only every 30 s).
        std::thread::sleep(SILENT_HOLD.saturating_sub(t_inject.elapsed()));
        let t_heal = Instant::now();
        fault.heal().expect("heal");
        bed.lagd()
            .wait_for(
                AGG,
                "the member to come back after healing",
                Duration::from_secs(20),
                |s| all_distributing(s, n),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let back = t_heal.elapsed();
        wait::until(
            "OVS to take the member back",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || {
                let o = bed.ovs.lacp_bond(BOND)?;
                Ok(match o.member(&dev_b) {
                    Some(m) if m.is("current") && m.actor.state.distributing() => Ok(()),
                    _ => Err(format!("{o:?}")),
                })
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "  healed: lagd member back {:.2} s, OVS member back {:.2} s after the fault's removal",
            back.as_secs_f64(),
            t_heal.elapsed().as_secs_f64()
        );
    }
    bed.wait_formed(n, BOUND);
    bed.wait_agree();

    // Graceful removal of the member carrying a stream: markers go out, OVS never answers, the
    // move completes by timeout, and nothing is lost, duplicated or reordered.
    let mut cap2 = capture("removal");
    let before = bed.ovs.lacp_stats().expect("stats");
    let (r, i, removed) = stream_with_fault(&bed, Side::A, 4, 3, |i| {
        let dev = bed.net.links()[i].a.clone();
        let mut c = bed.lagd.as_ref().expect("lagd").client().expect("client");
        c.remove_links(AGG, &[dev.as_str()], true, true)
            .expect("RemoveLinks graceful");
        dev
    });
    println!("graceful removal of link {i}: {r}");
    assert_eq!((r.lost, r.duplicated, r.reordered), (0, 0, 0), "{r}");
    let s = bed
        .lagd()
        .wait_for(AGG, "the removed member to be released", BOUND, |s| {
            s.members.iter().all(|m| m.name != removed) && s.draining.is_empty()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let timeouts = sum_key(&s.protocol, "marker_timeouts");
    println!("  lagd marker timeouts: {timeouts}");
    assert!(timeouts >= 1, "no marker timeout counted: {}", s.protocol);
    let after = bed.ovs.lacp_stats().expect("stats");
    let dev_b = &bed.net.links()[i].b;
    let markers = |v: &[systest::ovs_show::LacpStats]| {
        v.iter()
            .find(|m| &m.name == dev_b)
            .map_or(0, |m| m.rx_marker_request_pdus)
    };
    assert!(
        markers(&after) > markers(&before),
        "OVS counted no marker on {dev_b}: {after:?}"
    );

    // Every slow-protocol frame lagd sent decodes cleanly.
    let ovs_macs: Vec<String> = bed
        .net
        .ends(Side::B)
        .iter()
        .map(|d| bed.net.mac_of(Side::B, d).expect("mac"))
        .collect();
    frames.extend(cap2.slow_frames().expect("decode capture"));
    let ours: Vec<_> = frames
        .iter()
        .filter(|f| !ovs_macs.contains(&f.src))
        .collect();
    println!(
        "capture: {} slow frames, {} from lagd ({} markers)",
        frames.len(),
        ours.len(),
        ours.iter().filter(|f| f.is_marker()).count()
    );
    assert!(!ours.is_empty(), "no frame from lagd captured");
    for f in &ours {
        assert!(f.is_lacp() || f.is_marker(), "{f:?}");
        assert!(!f.has_warning(), "expert warning: {f:?}");
    }
    assert!(
        ours.iter().any(|f| f.is_marker()),
        "no Marker PDU from lagd"
    );
    assert!(
        frames.iter().any(|f| ovs_macs.contains(&f.src)),
        "no frame from OVS captured"
    );
}

#[test]
fn lagd_ovs_static_fallback() {
    if !prerequisites("lagd_ovs_static_fallback") {
        return;
    }
    let _g = serial();
    let mut bed = Bed::new(2);
    // OVS static active-backup bond on link 0 (a balance-slb bond would send some flows on
    // link 1, where lagd's one-member fallback does not collect).
    let mut b = BondSpec::new(&bed.net.ends(Side::B));
    b.lacp = OvsLacp::Off;
    b.mode = OvsBondMode::ActiveBackup;
    bed.ovs.add_bond(&b).expect("add-bond");
    let primary = format!("other_config:bond-primary={}", bed.net.links()[0].b);
    bed.ovs.set_port(BOND, &[&primary]).expect("bond-primary");
    // lagd LACP with one-member fallback, link 0 preferred.
    let mut spec = bed.spec(LacpActivity::Active, LacpTimeout::Short);
    spec.fallback = Some(Fallback::OneMember);
    spec.fallback_timeout = Some("3s".into());
    spec.port.insert(
        bed.net.links()[0].a.clone(),
        PortSettings { priority: Some(1) },
    );
    bed.start_lagd(spec);
    let s = bed
        .lagd()
        .wait_for(AGG, "fallback", BOUND, |s| s.up && s.fallback_active)
        .unwrap_or_else(|e| panic!("{e}"));
    let reason = s.fallback_reason.clone().unwrap_or_default();
    println!("lagd fallback: {reason}; {}", summary(&s));
    assert!(reason.contains("LACPDU"), "{reason}");
    let o = bed.ovs.lacp_bond(BOND);
    assert!(
        o.map_or(true, |o| !o.negotiated()),
        "OVS static bond negotiated?"
    );
    bed.ping_both_ways();
    for (from, to) in [(Side::A, Side::B), (Side::B, Side::A)] {
        let (tx, rx) = tcp_transfer(
            bed.net.ns(from),
            bed.net.ns(to),
            to.ip(),
            2,
            Duration::from_secs(2),
            None,
        )
        .expect("TCP transfer");
        assert!(tx.all_ok(), "{tx:?}");
        assert!(rx.all_intact() && rx.flows.len() == 2, "{rx:?}");
    }
}
