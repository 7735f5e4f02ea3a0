//! The scenarios shipped in `scenarios/` pass their own checks, and runs are deterministic.

use lagd_sim::{RunOptions, run_file, run_str};
use std::path::PathBuf;

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn assert_passes(name: &str) -> lagd_sim::RunReport {
    let (text, report) =
        run_file(&scenario(name), RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(
        report.passed && failed.is_empty(),
        "{name}: failed checks {failed:#?}\n{}",
        report.summary_text()
    );
    assert!(!report.checks.is_empty(), "{name} has no checks");
    assert!(text.contains("RESULT: PASS"));
    report
}

#[test]
fn sun_failover_spreads_the_failed_link_over_the_survivors() {
    let r = assert_passes("sun-failover.toml");
    // The table exists in Sun's format.
    assert!(!r.tables.is_empty());
    // No survivor carried more than 40 % after the cut (Sun Trunking put 51.52 % on qfe1).
    let after: Vec<_> = r
        .tables
        .iter()
        .filter(|t| t.t > 11.5 && t.t < 19.5)
        .collect();
    assert!(!after.is_empty());
    for t in after {
        let total: u64 = t.rows.iter().map(|r| r.opkts).sum();
        for row in &t.rows {
            let share = row.opkts as f64 / total as f64;
            assert!(share < 0.40, "t={} {} carried {share}", t.t, row.name);
        }
    }
}

#[test]
fn outage_against_a_static_switch() {
    let r = assert_passes("outage-static-switch.toml");
    assert!(r.flows.iter().all(|f| f.received == 0));
}

#[test]
fn fallback_against_a_static_switch() {
    assert_passes("outage-static-switch-fallback.toml");
}

#[test]
fn load_sharing_figures_5_to_9() {
    assert_passes("load-sharing-fig5-9.toml");
}

#[test]
fn demo_passes_and_is_the_embedded_one() {
    assert_passes("demo.toml");
    let on_disk = std::fs::read_to_string(scenario("demo.toml")).unwrap();
    assert_eq!(on_disk, lagd_sim::DEMO_SCENARIO);
}

#[test]
fn same_seed_gives_byte_identical_output() {
    let a = run_file(&scenario("sun-failover.toml"), RunOptions::default()).unwrap();
    let b = run_file(&scenario("sun-failover.toml"), RunOptions::default()).unwrap();
    assert_eq!(a.0, b.0);
    assert_eq!(
        serde_json::to_string(&a.1).unwrap(),
        serde_json::to_string(&b.1).unwrap()
    );
}

const LOSSY: &str = r#"
name = "lossy"
duration = "8s"
seed = 1
[[node]]
name = "a"
ports = 2
[[node.aggregation]]
name = "bond"
[[node]]
name = "b"
ports = 2
[[node.aggregation]]
name = "bond"
[[link]]
a = "a:p1"
b = "b:p1"
loss = 0.02
[[link]]
a = "a:p2"
b = "b:p2"
loss = 0.02
[[flow]]
name = "f"
from = "a"
to = "b"
count = 4
rate = "1000fps"
size = 200
start = "3s"
"#;

#[test]
fn lossy_links_depend_on_the_seed_only() {
    let run = |seed| {
        run_str(
            LOSSY,
            RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let (t1, r1) = run(1);
    let (t1b, _) = run(1);
    let (t2, r2) = run(2);
    assert_eq!(t1, t1b, "same seed, same output");
    assert_ne!(t1, t2, "different seeds on lossy links should differ");
    let lost = |r: &lagd_sim::RunReport| r.flows.iter().map(|f| f.lost).sum::<u64>();
    // 2 % of about 20 000 frames
    assert!((200..=700).contains(&lost(&r1)), "{}", lost(&r1));
    assert_ne!(lost(&r1), lost(&r2));
}

#[test]
fn pcap_per_link_holds_the_slow_protocols_frames() {
    let dir = std::env::temp_dir().join(format!("lagd-sim-pcap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, report) = run_str(
        LOSSY,
        RunOptions {
            pcap_dir: Some(dir.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let path = dir.join("a-p1--b-p1.pcap");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let frames: Vec<_> = lagd_wire::PcapReader::new(std::io::BufReader::new(file))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // Both directions, one LACPDU per second each at least, and markers for the moves.
    assert!(frames.len() >= 2 * 8, "{} frames", frames.len());
    let mut lacpdus = 0;
    for (_, f) in &frames {
        let parsed = lagd_wire::SlowFrame::parse(f).expect("only slow-protocols frames");
        if matches!(parsed.pdu, lagd_wire::SlowPdu::Lacp(_)) {
            lacpdus += 1;
        }
    }
    assert!(lacpdus >= 16);
    // Time stamps are virtual time, in order.
    assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(frames.last().unwrap().0.as_secs_f64() <= report.duration + 1.0);
    assert!(dir.join("a-p2--b-p2.pcap").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_check_fails_the_run_and_is_named() {
    let text = LOSSY.to_string()
        + r#"
[[check]]
at = "end"
check = "flow-loss"
flow = "*"
max = 0
"#;
    let (out, report) = run_str(&text, RunOptions::default()).unwrap();
    assert!(!report.passed);
    let c = &report.checks[0];
    assert!(!c.passed && c.label == "flow-loss * <= 0", "{c:?}");
    assert!(
        out.contains("RESULT: FAIL (1 of 1 checks failed: #1 flow-loss * <= 0)"),
        "{out}"
    );
}

#[test]
fn bad_scenarios_are_refused_with_the_field_named() {
    let e = run_str(
        &LOSSY.replace("loss = 0.02\n[[link]]", "loss = 2.0\n[[link]]"),
        RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("loss 2 must be within 0..1"), "{e}");
    let e = run_str(
        &LOSSY.replace(
            "name = \"bond\"\n[[node]]",
            "name = \"bond\"\npolicy = \"L5\"\n[[node]]",
        ),
        RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("policy") && e.contains("L5"), "{e}");
}

#[test]
fn adaptive_lb_spreads_both_directions_on_a_learning_switch() {
    let r = assert_passes("adaptive-lb-bridge.toml");
    // Every peer is in the balancer's table, spread two per member at the end.
    let b = &r.balancers[0];
    assert_eq!(b.peers.len(), 8);
    for m in ["server:eth0", "server:eth1", "server:eth2", "server:eth3"] {
        assert_eq!(b.peers.iter().filter(|(_, x)| x == m).count(), 2, "{m}");
    }
    // The switch moved no MAC at all (the aggregate's, the members', the peers').
    assert_eq!(r.bridges[0].counters.moves, 0);
    assert!(r.flows.iter().all(|f| f.duplicates == 0));
}

#[test]
fn transmit_lb_receives_on_one_member_on_a_learning_switch() {
    let r = assert_passes("transmit-lb-bridge.toml");
    assert!(r.balancers[0].peers.is_empty());
    assert_eq!(r.bridges[0].counters.moves, 0);
}

#[test]
fn two_lacp_aggregations_of_a_node_with_one_system_need_different_keys() {
    // Issue 11, defect 5: the daemon's rule (802.1AX 6.3.3), one function for both.
    let two = |a: &str, b: &str| {
        format!(
            "name = \"keys\"\nduration = \"2s\"\n\
             [[node]]\nname = \"a\"\nports = 2\n\
             [[node.aggregation]]\nname = \"x\"\nports = [\"p1\"]\n{a}\n\
             [[node.aggregation]]\nname = \"y\"\nports = [\"p2\"]\n{b}\n\
             [[node]]\nname = \"b\"\nports = 2\n\
             [[node.aggregation]]\nname = \"x\"\nports = [\"p1\"]\nkey = 1\n\
             [[node.aggregation]]\nname = \"y\"\nports = [\"p2\"]\nkey = 2\n\
             [[link]]\na = \"a:p1\"\nb = \"b:p1\"\n[[link]]\na = \"a:p2\"\nb = \"b:p2\"\n"
        )
    };
    let e = run_str(&two("", ""), RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node \"a\"")
            && e.contains("aggregation `y`: key: aggregation `x` runs LACP with the same System")
            && e.contains("and key 1"),
        "{e}"
    );
    for (a, b) in [
        ("key = 1", "key = 2"),
        ("", "system_priority = 100"),
        ("", "mode = \"static\""),
    ] {
        run_str(&two(a, b), RunOptions::default()).unwrap_or_else(|e| panic!("{a} / {b}: {e}"));
    }
}
