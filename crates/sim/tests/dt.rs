//! Distributed Trunking in the simulator: the shipped `scenarios/dt-*.toml` pass their checks
//! (as the namespace tests: one partner, all four links Collecting and Distributing; switch
//! death under a stream with a gap < 1 s and no duplicate; split brain without duplicates,
//! then healing; a mismatch reported with the secondary's ports down), and variations show the
//! checks can fail.

use lagd_sim::fabric::{FabricSpec, fabric_scenario, server_flow};
use lagd_sim::{RunOptions, RunReport, run_file, run_str};
use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_passes(name: &str) -> (String, RunReport) {
    let (out, report) =
        run_file(&path(name), RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(
        report.passed && failed.is_empty(),
        "{name}: failed checks {failed:#?}\n{}",
        report.summary_text()
    );
    assert!(report.checks.len() >= 10, "{name} has too few checks");
    assert!(out.contains("RESULT: PASS"));
    (out, report)
}

fn run(scenario: &str) -> RunReport {
    run_str(scenario, RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .1
}

fn check<'a>(r: &'a RunReport, label_part: &str, t: f64) -> &'a lagd_sim::report::CheckResult {
    r.checks
        .iter()
        .find(|c| c.label.contains(label_part) && (c.t - t).abs() < 1e-6)
        .unwrap_or_else(|| panic!("no check {label_part:?} at {t}: {:#?}", r.checks))
}

#[test]
fn pair_is_one_partner_and_one_aggregator() {
    let (out, r) = assert_passes("dt-pair.toml");
    // Every frame arrived once, through both switches.
    for f in &r.flows {
        assert_eq!((f.lost, f.duplicates), (0, 0), "{f:?}");
        assert!(f.received > 0);
    }
    let a = r.dt.iter().find(|d| d.node == "swA").unwrap();
    let b = r.dt.iter().find(|d| d.node == "swB").unwrap();
    assert_eq!((a.state.as_str(), a.role.as_str()), ("up", "primary"));
    assert_eq!(
        (b.state.as_str(), b.role.as_str(), b.port_base),
        ("up", "secondary", 0x8000)
    );
    assert!(a.forwarding.local > 0 && b.forwarding.local > 0);
    assert_eq!(a.forwarding.dropped + b.forwarding.dropped, 0);
    assert!(out.contains("== distributed trunking"));
    // The JSON carries the DT summary.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["dt"][1]["port_base"], 0x8000);
}

#[test]
fn without_dt_the_server_does_not_aggregate_across_the_switches() {
    // The same fabric with no [[dt]] table: two independent switches, two partner systems;
    // the server puts their links in two Aggregators and only one distributes.
    let t = text("dt-pair.toml");
    let dt_start = t.find("[[dt]]").unwrap();
    let dt_end = t.find("# A UDP-like stream").unwrap();
    let checks = t.find("[[check]]").unwrap();
    let no_dt = format!(
        "{}{}[[check]]\nat = \"4s\"\ncheck = \"distributing\"\naggregation = \"srv/bond0\"\nmin = 4\n",
        &t[..dt_start],
        &t[dt_end..checks]
    );
    let r = run(&no_dt);
    assert!(r.dt.is_empty());
    let c = check(&r, "distributing srv/bond0", 4.0);
    assert!(!c.passed && c.value == "2 members distributing", "{c:?}");
}

#[test]
fn switch_death_gap_under_a_second_no_duplicates() {
    let (_, r) = assert_passes("dt-switch-failure.toml");
    for f in &r.flows {
        assert_eq!(f.duplicates, 0, "{f:?}");
        assert!(f.max_gap_ms < 1000.0, "{f:?}");
    }
    assert!(r.faults.iter().any(|f| f.text.contains("node-down swA")));
    assert!(r.dt.iter().all(|d| d.state == "up"), "{:?}", r.dt);
}

#[test]
fn switch_death_without_a_keepalive_still_fails_over() {
    // Without a keepalive a dead peer is told by the peer link alone: same outcome.
    let t = text("dt-switch-failure.toml").replace("keepalive = \"swA:ka\"\n", "");
    let r = run(&t);
    assert!(r.passed, "{}", r.summary_text());
    assert!(r.dt.iter().all(|d| d.counters.tx_keepalive == 0));
}

#[test]
fn control_plane_restart_of_the_secondary_reforms_the_pair() {
    // swB's daemon restarts (links stay up): its distributed members are held down until the
    // pair re-forms, renumbered from 0x8000 again; the server never loses swA's links.
    let t = text("dt-pair.toml").replacen(
        "[[check]]",
        "[[fault]]\nat = \"6s\"\naction = \"restart\"\nnode = \"swB\"\n\n[[check]]",
        1,
    );
    let (out, r) = run_str(&t, RunOptions::default()).unwrap();
    assert!(r.passed, "{}", r.summary_text());
    assert!(out.contains("restart swB: control plane state lost"));
    let renumbered = r
        .events
        .iter()
        .filter(|e| {
            e.aggregation == "swB/dt" && e.text.contains("trk1: port number base 0x0000 -> 0x8000")
        })
        .count();
    assert_eq!(renumbered, 2, "at start and after the restart");
    for f in &r.flows {
        assert_eq!(f.duplicates, 0, "{f:?}");
        assert!(f.max_gap_ms < 1000.0, "{f:?}");
    }
}

#[test]
fn split_brain_no_duplicates_then_heals() {
    let (out, r) = assert_passes("dt-split-brain.toml");
    assert!(r.flows.iter().all(|f| f.duplicates == 0));
    // swB gave way with its own system id, then took the shared one back.
    assert!(
        out.contains("swB/dt: DT aggregation 1: system 0100,02:bb:00:00:00:00 base 0x8000 ports down (split brain)"),
        "{out}"
    );
    assert!(check(&r, "dt-state swB == split-brain", 12.0).passed);
}

#[test]
fn split_brain_without_keepalive_is_two_lone_switches() {
    // No keepalive: a peer link failure cannot be told from a dead peer; both act alone and
    // the `split-brain` checks fail.
    let t = text("dt-split-brain.toml").replace("keepalive = \"swA:ka\"\n", "");
    let r = run(&t);
    let c = check(&r, "dt-state swB == split-brain", 12.0);
    assert!(!c.passed && c.value == "state alone", "{c:?}");
    assert!(!r.passed);
}

#[test]
fn mismatch_reported_and_secondary_ports_down() {
    let (_, r) = assert_passes("dt-mismatch.toml");
    let mismatch: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.text.contains("configuration mismatch"))
        .map(|e| e.aggregation.as_str())
        .collect();
    assert!(
        mismatch.contains(&"swA/dt") && mismatch.contains(&"swB/dt"),
        "{mismatch:?}"
    );
    // Until the fix, nothing was sent to the server on swB's trk1 links.
    assert!(check(&r, "distributing srv/bond0", 9.9).passed);
    // The repeated "PDU of DT domain" events are in the JSON, once each in the text.
    let foreign = r
        .events
        .iter()
        .filter(|e| e.text.contains("PDU of DT domain"))
        .count();
    assert!(foreign > 10, "{foreign}");
}

#[test]
fn mismatch_on_the_primary_does_not_take_its_ports_down() {
    // The same key mismatch, but the misconfigured switch is the primary: the secondary (the
    // correctly configured one) gives way; the checks written for swB then fail.
    let t = text("dt-mismatch.toml").replace(
        "node = \"swA\"\nrole_priority = 100",
        "node = \"swA\"\nrole_priority = 300",
    );
    let r = run(&t);
    let c = check(&r, "dt-ports swA/trk1 is true", 4.0);
    assert!(
        !c.passed && c.value == "ports down (configuration mismatch)",
        "{c:?}"
    );
    // swB is primary now: its trk1 (key 42) stays up, swA's (key 1) goes down.
    let c = check(&r, "dt-ports swB/trk1 is false", 4.0);
    assert!(!c.passed, "{c:?}");
}

#[test]
fn dt_runs_are_byte_identical() {
    let a = run_file(&path("dt-split-brain.toml"), RunOptions::default()).unwrap();
    let b = run_file(&path("dt-split-brain.toml"), RunOptions::default()).unwrap();
    assert_eq!(a.0, b.0);
    assert_eq!(
        serde_json::to_string(&a.1).unwrap(),
        serde_json::to_string(&b.1).unwrap()
    );
}

#[test]
fn small_fabric_every_server_fails_over() {
    let spec = FabricSpec {
        pairs: 2,
        servers_per_pair: 3,
        frames_per_sec: 200,
        duration_s: 25,
        ..FabricSpec::default()
    };
    let r = run(&fabric_scenario(&spec).unwrap());
    assert!(r.passed, "{}", r.summary_text());
    for p in 0..2 {
        for i in 0..3 {
            let f = r
                .flows
                .iter()
                .find(|f| f.name == server_flow(p, i))
                .unwrap();
            assert_eq!(f.duplicates, 0, "{f:?}");
            assert!(f.max_gap_ms < 1000.0, "{f:?}");
            assert!(f.received > 0);
        }
    }
    assert_eq!(r.dt.len(), 4);
}
