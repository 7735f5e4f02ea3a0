//! Micro-BFD (RFC 7130) in the simulator (issue 11): the simulator drives the same
//! `lagd_bfd::MicroBfd` as the daemon, one session per member; a silent failure (carrier up,
//! frames dropped) takes the member out within interval x multiplier of virtual time, and it
//! returns when its session is Up again. Bounds are virtual time derived from the protocol.

use lagd_sim::{RunOptions, run_file, run_str};
use std::path::PathBuf;

fn scenario_text() -> String {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bfd-silent-failure.toml");
    std::fs::read_to_string(p).expect("scenarios/bfd-silent-failure.toml")
}

/// Report lines "   10.133s  a/bond p1: BFD session Up -> Down (...)" as (time, node, text).
fn bfd_lines(text: &str) -> Vec<(f64, String, String)> {
    text.lines()
        .filter(|l| l.contains(": BFD session "))
        .filter_map(|l| {
            let l = l.trim_start();
            let (t, rest) = l.split_once("s  ")?;
            let t: f64 = t.parse().ok()?;
            let node = rest.split('/').next()?.to_string();
            Some((t, node, rest.to_string()))
        })
        .collect()
}

#[test]
fn a_silent_member_is_out_within_the_detection_time_and_back_after_the_heal() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bfd-silent-failure.toml");
    let (text, report) = run_file(&path, RunOptions::default()).expect("scenario runs");
    assert!(report.passed, "{}", report.summary_text());
    let lines = bfd_lines(&text);
    // Every session formed once, then only p1's went Down (at the cut) and Up (after the heal).
    let downs: Vec<_> = lines
        .iter()
        .filter(|l| l.2.contains("Up -> Down"))
        .collect();
    assert_eq!(downs.len(), 2, "one detection per end: {downs:#?}");
    for (t, node, line) in &downs {
        assert!(line.contains(" p1: "), "{line}");
        assert!(line.contains("Control Detection Time Expired"), "{line}");
        // Detection Time 150 ms (50 ms x 3) after the last packet heard, which left at most
        // one interval (50 ms) before the cut at 10 s and took the link's 1 ms (+ 1.1 us).
        assert!(
            (10.1..=10.152).contains(t),
            "{node}: detected at {t} s, the cut was at 10 s"
        );
    }
    for node in ["a", "b"] {
        let ups: Vec<_> = lines
            .iter()
            .filter(|l| {
                l.1 == node && l.2.contains(" p1: ") && l.2.ends_with("-> Up (No Diagnostic)")
            })
            .collect();
        assert_eq!(
            ups.len(),
            2,
            "{node}: formed, then again after the heal: {ups:#?}"
        );
        assert!(ups[1].0 > 15.0, "{node}: back only after the heal at 15 s");
    }
    // The streams on p1 lost at most the Detection Time's worth (8 streams x 500 fps: the
    // four on p1 lose <= 0.152 s x 500 each).
    for f in &report.flows {
        assert!(f.lost <= 76, "{}: lost {}", f.name, f.lost);
    }
}

#[test]
fn without_bfd_the_same_failure_takes_lacp_s_three_seconds() {
    let text = scenario_text().replace("bfd = { interval = \"50ms\", multiplier = 3 }\n", "");
    assert!(!text.contains("bfd ="));
    let (out, report) = run_str(&text, RunOptions::default()).expect("scenario runs");
    assert!(bfd_lines(&out).is_empty());
    // The checks that p1 is out by 10.152 s fail: LACP notices only after its short timeout.
    assert!(!report.passed);
    let gap = report
        .flows
        .iter()
        .map(|f| f.max_gap_ms / 1e3)
        .fold(0.0, f64::max);
    assert!(gap >= 2.0, "LACP alone: max gap {gap} s");
}

#[test]
fn the_bfd_scenario_is_deterministic() {
    let text = scenario_text();
    let a = run_str(&text, RunOptions::default()).expect("runs").0;
    let b = run_str(&text, RunOptions::default()).expect("runs").0;
    assert_eq!(a, b);
}
