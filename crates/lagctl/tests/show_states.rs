//! Golden outputs of `show-aggr` (default, `-L`, `-x`, `-p -o`, `--json`) on five
//! aggregations that each show one situation (issue 17 item 3): healthy LACP, degraded (a
//! member without carrier), a static trunk, active-backup, and misconfigured (LACP against a
//! static partner). Each member's state means one thing; the aggregate says whether it is up and
//! why not; every setting in force is in `-x` and the JSON.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;

fn create(d: &Daemon, name: &str, links: &[&str], extra: &[&str]) {
    let mut args = vec!["create-aggr"];
    for l in links {
        args.extend(["-l", l]);
    }
    args.extend(extra);
    args.push(name);
    ok(&d.lagctl(&args), "create-aggr");
}

fn state_of<'a>(a: &'a lagd_control::proto::AggrStatus, m: &str) -> &'a str {
    a.members
        .iter()
        .find(|x| x.name == m)
        .map_or("", |x| x.state.as_str())
}

/// `-x` with the columns that depend on timing masked: the Aggregator id (the port that selected
/// first), the churn machines (they leave their monitor state after 60 s) and the kernel fast
/// path's counters (they move with whatever traffic the hosts send).
fn mask_extended(text: &str) -> String {
    collapse(text)
        .lines()
        .map(|l| {
            if l.starts_with("kernel fast path") {
                return mask_numbers(l) + "\n";
            }
            let mut f: Vec<&str> = l.split(' ').collect();
            if l.starts_with("eth") && f.len() == 19 {
                f[14] = "A";
                f[15] = "C";
            }
            f.join(" ") + "\n"
        })
        .collect()
}

#[test]
fn show_aggr_states_match_golden_outputs() {
    if !can_run("show_aggr_states_match_golden_outputs") {
        return;
    }
    let h = Hosts::new(10);
    let dir = TempDir::new("lcstates");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    for d in [&da, &db] {
        create(d, "aggr1", &["eth1", "eth2"], &[]);
        create(d, "aggr2", &["eth3", "eth4"], &["--min-links", "1"]);
        create(d, "aggr3", &["eth5", "eth6"], &["-L", "off"]);
        create(d, "aggr4", &["eth7", "eth8"], &["-m", "active-backup"]);
    }
    create(&da, "aggr5", &["eth9", "eth10"], &[]);
    create(&db, "aggr5", &["eth9", "eth10"], &["-L", "off"]);
    da.wait_for("aggr2", "aggr2 formed", |a| all_forwarding(a, 2));
    // Degraded: B's end of eth4 goes down, so A's eth4 loses its carrier.
    h.net
        .exec(&h.b, &["ip", "link", "set", "eth4", "down"])
        .unwrap();
    da.wait_for("aggr1", "aggr1 healthy", |a| all_forwarding(a, 2));
    da.wait_for("aggr2", "aggr2 degraded", |a| {
        a.up && state_of(a, "eth3") == "active" && state_of(a, "eth4") == "down"
    });
    da.wait_for("aggr3", "aggr3 static", |a| all_forwarding(a, 2));
    da.wait_for("aggr4", "aggr4 active-backup", |a| {
        a.up && state_of(a, "eth7") == "active" && state_of(a, "eth8") == "backup"
    });
    let a5 = da.wait_for("aggr5", "aggr5 misconfigured", |a| {
        !a.up
            && a.members
                .iter()
                .all(|m| m.state == "no-lacp" && m.receive == "DEFAULTED")
    });
    assert_eq!(a5.why.as_deref(), Some("no LACPDU from the partner"));
    let a2 = da.wait_for("aggr2", "aggr2", |_| true);
    assert_eq!(a2.members[1].carrier_losses, 1, "{a2:#?}");

    let table: &[(&str, &[&str])] = &[
        ("states-show-aggr.txt", &["show-aggr"]),
        ("states-show-aggr-L.txt", &["show-aggr", "-L"]),
        (
            "states-show-aggr-p.txt",
            &[
                "show-aggr",
                "-p",
                "-o",
                "aggregation,device,speed,link,state",
            ],
        ),
        (
            "states-show-aggr-L-p.txt",
            &[
                "show-aggr",
                "-L",
                "-p",
                "-o",
                "aggregation,device,activity,sync,coll,dist",
            ],
        ),
    ];
    for (file, args) in table {
        golden(file, &ok(&da.lagctl(args), &args.join(" ")));
    }
    golden(
        "states-show-aggr-x.txt",
        &mask_extended(&ok(&da.lagctl(&["show-aggr", "-x"]), "show-aggr -x")),
    );
    // JSON: the aggregations' state and settings, the members' state (no counters here).
    let j = ok(&da.lagctl(&["show-aggr", "--json"]), "--json");
    schema::check_text(&j, "show-aggr --json (five states)");
    for args in [
        &["show-aggr", "-x", "--json"][..],
        &["show-aggr", "-L", "--json"],
    ] {
        schema::check_text(&ok(&da.lagctl(args), "--json"), &args.join(" "));
    }
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    golden(
        "states-show-aggr.json",
        &(serde_json::to_string_pretty(&j).unwrap() + "\n"),
    );
    // show-link by link name: that link alone; a typo gets the close names.
    assert_eq!(
        collapse(&ok(&da.lagctl(&["show-link", "eth4"]), "show-link eth4")),
        "link class mtu state over\neth4 member 1500 down aggr2\n"
    );
    let s = ok(
        &da.lagctl(&["show-link", "-s", "-p", "-o", "link,class", "eth3"]),
        "-s eth3",
    );
    assert_eq!(s, "eth3:member\n");
    let o = da.lagctl(&["show-link", "eht3"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert_eq!(
        o.stderr,
        "lagctl: show-link: no aggregation or member link named `eht3` (did you mean `eth3`?)\n"
    );
    drop(db.client());
}
