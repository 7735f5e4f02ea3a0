//! End-to-end protocol behaviour in virtual time, through the real aggregation code on both
//! ends: marker-protected moves, drain, rebalancing, restart, silent failure.

use lagd_sim::{RunOptions, RunReport, run_str};

/// Two hosts, four links with unequal delays (p1 is 5 ms long, the others 100 us) so that a
/// conversation moved off p1 without protection would overtake its own frames in flight.
fn two_hosts(agg_extra: &str, flows: &str, faults: &str, checks: &str, duration: &str) -> String {
    format!(
        r#"
name = "two-hosts"
duration = "{duration}"
seed = 7
[report]
table = ["a/bond"]
[[node]]
name = "a"
ports = 4
[[node.aggregation]]
name = "bond"
{agg_extra}
[[node]]
name = "b"
ports = 4
[[node.aggregation]]
name = "bond"
{agg_extra}
[[link]]
a = "a:p1"
b = "b:p1"
delay = "5ms"
rate = "100Mbit"
[[link]]
a = "a:p2"
b = "b:p2"
delay = "100us"
rate = "100Mbit"
[[link]]
a = "a:p3"
b = "b:p3"
delay = "100us"
rate = "100Mbit"
[[link]]
a = "a:p4"
b = "b:p4"
delay = "100us"
rate = "100Mbit"
{flows}
{faults}
{checks}
"#
    )
}

fn run(text: &str) -> RunReport {
    let (_, r) = run_str(text, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    r
}

fn assert_all_pass(r: &RunReport) {
    assert!(r.passed, "{}", r.summary_text());
}

fn totals(r: &RunReport) -> (u64, u64, u64, u64) {
    r.flows.iter().fold((0, 0, 0, 0), |a, f| {
        (
            a.0 + f.sent,
            a.1 + f.lost,
            a.2 + f.reordered,
            a.3 + f.duplicates,
        )
    })
}

const SIXTEEN_FLOWS: &str = r#"
[[flow]]
name = "f"
from = "a"
to = "b"
count = 16
rate = "500fps"
size = 300
start = "3s"
"#;

/// With a rebalancer that must move buckets (16 flows of unequal rates) and p1 much longer
/// than the others, every move is protected by a Marker answered by the real responder on b.
fn moves_scenario(protection: &str) -> String {
    let flows = r#"
[[flow]]
name = "f"
from = "a"
to = "b"
count = 16
rates = ["50fps", "100fps", "150fps", "200fps", "250fps", "300fps", "350fps", "400fps",
         "450fps", "500fps", "550fps", "600fps", "650fps", "700fps", "750fps", "800fps"]
size = 300
start = "3s"
"#;
    two_hosts(
        &format!(
            "rebalance_interval = \"500ms\"\nmove_protection = \"{protection}\"\n\
             marker_timeout = \"200ms\"\nrebalance_threshold = 0.05"
        ),
        flows,
        "",
        "",
        "20s",
    )
}

#[test]
fn marker_protected_moves_lose_and_reorder_nothing() {
    let r = run(&moves_scenario("marker"));
    let moved = r
        .events
        .iter()
        .filter(|e| e.text.contains("(rebalance)") && e.aggregation == "a/bond")
        .count();
    assert!(
        moved > 0,
        "the rebalancer moved no bucket: the test would prove nothing"
    );
    let by_marker = r
        .events
        .iter()
        .filter(|e| e.text.contains("completed by marker response"))
        .count();
    assert!(by_marker > 0, "no move was completed by a Marker Response");
    let (sent, lost, reordered, dup) = totals(&r);
    assert!(sent > 50_000);
    assert_eq!((lost, reordered, dup), (0, 0, 0), "{}", r.summary_text());
}

#[test]
fn rebalancer_evens_unequal_flows_then_stops_moving() {
    let text = moves_scenario("marker").replace("duration = \"20s\"", "duration = \"40s\"")
        + r#"
[[check]]
at = "40s"
from = "20s"
check = "balance"
aggregation = "a/bond"
max = 1.15
"#;
    let r = run(&text);
    assert_all_pass(&r);
    let late_moves: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.t >= 20.0 && e.text.contains("(rebalance)"))
        .collect();
    assert!(
        late_moves.is_empty(),
        "still moving after convergence: {late_moves:#?}"
    );
}

fn drain_scenario(protection: &str) -> String {
    two_hosts(
        &format!("rebalance_interval = \"off\"\nmove_protection = \"{protection}\""),
        SIXTEEN_FLOWS,
        r#"
[[fault]]
at = "8s"
action = "drain"
port = "a:p1"
"#,
        r#"
[[check]]
at = "9s"
check = "event"
contains = "a:p1 drained and removed"
[[check]]
at = "14s"
from = "10s"
check = "port-share"
port = "a:p1"
max = 0.0
[[check]]
at = "14s"
check = "distributing"
aggregation = "a/bond"
min = 3
max = 3
"#,
        "15s",
    )
}

#[test]
fn drain_one_of_four_members_under_traffic_loses_and_reorders_nothing() {
    let r = run(&drain_scenario("marker"));
    assert_all_pass(&r);
    // p1 carried traffic before the drain (the drain had something to move).
    let before = r
        .tables
        .iter()
        .find(|t| t.t == 7.0)
        .and_then(|t| t.rows.iter().find(|row| row.name == "p1"))
        .map_or(0, |row| row.opkts);
    assert!(
        before > 500,
        "p1 carried {before} frames/s before the drain"
    );
    let (sent, lost, reordered, dup) = totals(&r);
    assert!(sent > 50_000);
    assert_eq!((lost, reordered, dup), (0, 0, 0), "{}", r.summary_text());
}

#[test]
fn unprotected_drain_does_reorder() {
    // The negative control of the test above: the same drain without protection moves p1's
    // conversations at once to 100 us links while their frames are still on p1's 5 ms wire:
    // the receiver sees them out of order. So the checks above can fail.
    let r = run(&drain_scenario("none"));
    let (_, lost, reordered, _) = totals(&r);
    assert_eq!(lost, 0);
    assert!(reordered > 0, "{}", r.summary_text());
}

#[test]
fn both_ends_restart_and_reform() {
    let text = two_hosts(
        "",
        SIXTEEN_FLOWS,
        r#"
[[fault]]
at = "10s"
action = "restart"
node = "a"
[[fault]]
at = "10s"
action = "restart"
node = "b"
down_for = "500ms"
"#,
        r#"
[[check]]
at = "9s"
check = "up"
aggregation = "a/bond"
is = true
[[check]]
at = "10.2s"
check = "up"
aggregation = "a/bond"
is = false
[[check]]
at = "14s"
check = "up"
aggregation = "a/bond"
is = true
[[check]]
at = "14s"
check = "up"
aggregation = "b/bond"
is = true
[[check]]
at = "14s"
check = "mux"
port = "a:p1"
equals = "COLLECTING_DISTRIBUTING"
[[check]]
at = "14s"
check = "mux"
port = "b:p4"
equals = "COLLECTING_DISTRIBUTING"
[[check]]
at = "20s"
from = "15s"
check = "flow-loss"
flow = "*"
max = 0
"#,
        "20s",
    );
    let r = run(&text);
    assert_all_pass(&r);
    // Something was lost during the restart (the node was gone), so the checks mattered.
    assert!(totals(&r).1 > 0);
}

#[test]
fn silent_member_expires_and_traffic_moves_off_it() {
    let text = two_hosts(
        "",
        SIXTEEN_FLOWS,
        r#"
[[fault]]
at = "8s"
action = "silent"
link = "a:p2"
"#,
        r#"
[[check]]
at = "7.9s"
check = "mux"
port = "a:p2"
equals = "COLLECTING_DISTRIBUTING"
[[check]]
at = "11.5s"
check = "receive"
port = "a:p2"
equals = "EXPIRED"
[[check]]
at = "13s"
check = "distributing"
aggregation = "a/bond"
min = 3
max = 3
[[check]]
at = "18s"
from = "13s"
check = "port-share"
port = "a:p2"
max = 0.0
[[check]]
at = "end"
from = "13s"
check = "flow-loss"
flow = "*"
max = 0
"#,
        "18s",
    );
    let r = run(&text);
    assert_all_pass(&r);
}
