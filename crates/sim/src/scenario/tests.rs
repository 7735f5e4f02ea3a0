use super::*;
use lagd_types::{Duration, MacAddr};
use std::net::Ipv4Addr;

const MINI: &str = r#"
name = "mini"
duration = "5s"
[[node]]
name = "a"
ports = ["e0", "e1"]
[[node.aggregation]]
name = "bond0"
policy = "L3,L4"
[[node]]
name = "b"
ports = 2
[[node.aggregation]]
name = "bond0"
[[link]]
a = "a:e0"
b = "b:p1"
rate = "100Mbit"
[[link]]
a = "a:e1"
b = "b:p2"
[[flow]]
name = "f"
from = "a"
to = "b"
count = 4
rate = "1Mbit"
[[fault]]
at = "2s"
action = "link-down"
link = "a:e0"
[[check]]
at = "end"
check = "flow-loss"
flow = "*"
max = 0
"#;

#[test]
fn parses_and_resolves() {
    let s = Scenario::from_toml(MINI).unwrap();
    assert_eq!(s.nodes.len(), 2);
    assert_eq!(s.nodes[1].ports[1].name, "p2");
    assert_eq!(s.nodes[0].ports[0].mac, MacAddr([2, 0, 0, 1, 0, 1]));
    assert_eq!(s.links[0].rate_bps, 100e6);
    assert_eq!(s.links[1].rate_bps, 1e9);
    assert_eq!(s.flows.len(), 4);
    assert_eq!(s.flows[3].name, "f#4");
    assert_eq!(s.flows[3].frame.src_port, 10_003);
    assert_eq!(s.faults[0].fault, Fault::LinkDown(0));
    assert_eq!(s.checks[0].at, At::End);
    assert_eq!(s.report.table.len(), 2);
    assert_eq!(s.port_name(PortRef { node: 1, port: 0 }), "b:p1");
}

fn err(text: &str) -> String {
    Scenario::from_toml(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_problem() {
    assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"c:p1\"")).contains("unknown node \"c\""));
    assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"b:p9\"")).contains("has no port \"p9\""));
    assert!(err(&MINI.replace("b = \"b:p1\"", "b = \"b:p2\"")).contains("already cabled"));
    assert!(
        err(&MINI.replace("action = \"link-down\"", "action = \"explode\""))
            .contains("unknown action")
    );
    assert!(
        err(&MINI.replace("check = \"flow-loss\"", "check = \"vibes\"")).contains("unknown check")
    );
    assert!(err(&MINI.replace("flow = \"*\"", "flow = \"nope\"")).contains("matches no flow"));
    assert!(err(&MINI.replace("rate = \"1Mbit\"", "rat = \"1Mbit\"")).contains("unknown field"));
    assert!(
        err(&MINI.replace("duration = \"5s\"", "duration = \"5 fortnights\""))
            .contains("invalid duration")
    );
    assert!(err(&MINI.replace("max = 0", "")).contains("min` and/or `max"));
}

#[test]
fn vary_and_rates() {
    let t = MINI.replace(
        "count = 4\nrate = \"1Mbit\"",
        "count = 3\nvary = [\"src_ip\", \"dst_mac\"]\nrates = [\"1Mbit\", \"2Mbit\", \"3Mbit\"]\nsize = 1000",
    );
    let s = Scenario::from_toml(&t).unwrap();
    assert_eq!(s.flows[2].frame.src_ip, Ipv4Addr::new(10, 0, 1, 3));
    assert_eq!(s.flows[2].frame.dst_mac, MacAddr([2, 0, 0, 2, 0, 2]));
    assert_eq!(s.flows[2].frame.src_port, 10_000);
    // 3 Mbit/s of 1000-byte frames = 375 frames/s
    assert_eq!(s.flows[2].interval, Duration::from_nanos(2_666_667));
}
