//! `show-aggr -x` and `show-aggr -x --json` show each member's micro-BFD session (issue 11):
//! the BFD line under the aggregation, the bfd / bfd-detect / bfd-diag columns, and in JSON the
//! whole session per member, valid against docs/schema/show-aggr-extended.v1.json. Two lagd
//! with `--bfd 200ms,5` on two members each: a 1 s Detection Time, so that a loaded machine
//! (debug builds, 50 ms x 3 flaps there: BENCHMARKS.md, the BFD soak) cannot take a session
//! down between the wait and the reads.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;
use serde_json::Value;

fn bfd_up(a: &lagd_control::proto::AggrStatus) -> bool {
    all_forwarding(a, 2)
        && a.members
            .iter()
            .all(|m| m.bfd.as_ref().is_some_and(|b| b.state == "Up"))
}

#[test]
fn show_aggr_x_shows_each_bfd_session() {
    if !can_run("show_aggr_x_shows_each_bfd_session") {
        return;
    }
    let dir = TempDir::new("lcbfd");
    let create: &[&str] = &create_aggr1(&["--bfd", "200ms,5"]);
    let (_h, mut da, mut db) = pair_with(&dir, 2, [create, create]);
    db.wait_for("aggr1", "BFD Up on both members", bfd_up);

    let a = da.wait_for("aggr1", "BFD Up on both members", bfd_up);
    let detect = a.members[0].bfd.as_ref().unwrap().detection_time.clone();
    let detect = detect.expect("a Detection Time once the peer is heard");
    let text = ok(&da.lagctl(&["show-aggr", "-x", "aggr1"]), "show-aggr -x");
    assert!(
        text.contains("BFD (RFC 7130 micro-BFD): interval 200ms multiplier 5; 2/2 sessions Up"),
        "{text}"
    );
    let header = text
        .lines()
        .find(|l| l.starts_with("device"))
        .unwrap_or_else(|| panic!("no column titles:\n{text}"));
    let titles: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        titles[titles.len() - 3..],
        ["bfd", "bfd-detect", "bfd-diag"],
        "{header}"
    );
    for dev in ["eth1", "eth2"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(dev))
            .unwrap_or_else(|| panic!("no row for {dev}:\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        let at = cells.iter().position(|c| *c == "Up/Up");
        assert!(
            at.is_some_and(|i| cells.get(i + 1) == Some(&detect.as_str())),
            "{row}"
        );
    }

    let j = ok(
        &da.lagctl(&["show-aggr", "-x", "--json", "aggr1"]),
        "show-aggr -x --json",
    );
    schema::check_text(&j, "show-aggr -x --json with BFD");
    let j: Value = serde_json::from_str(&j).unwrap();
    let members = j["aggregations"][0]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{j:#}");
    for m in members {
        let b = &m["bfd"];
        assert_eq!(b["state"], "Up", "{m:#}");
        assert_eq!(b["remote_state"], "Up", "{m:#}");
        assert_eq!(b["detection_time"], detect.as_str(), "{m:#}");
        assert_eq!(b["tx_interval"], "200ms", "{m:#}");
        assert!(b["ctrl_pkt_in"].as_u64().unwrap() > 0, "{m:#}");
        assert_eq!(m["bfd_detect"], detect.as_str(), "{m:#}");
    }
}
