//! The operator verbs bonding and OVS have, with `lagctl` against running `lagd`s in network
//! namespaces: `show-aggr -P` (persistent configuration), `show-hash` (buckets and where a
//! conversation goes), `disable-member` / `enable-member`, `set-active-member` (refused
//! outside active-backup), `events` and `events -f`, `--port-priority`. Golden outputs in
//! tests/golden/ (`UPDATE_GOLDEN=1` rewrites them). The data path under traffic is
//! crates/lagd/tests/ns_operator.rs.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn operator_verbs_match_golden_outputs() {
    if !can_run("operator_verbs_match_golden_outputs") {
        return;
    }
    let dir = TempDir::new("lcoper");
    let create = |mac| create_aggr1(&["-u", mac, "-P", "L4", "--port-priority", "eth1=100"]);
    let (a, b) = (create("02:00:00:00:0a:01"), create("02:00:00:00:0b:01"));
    let (_h, mut da, mut db) = pair_with(&dir, 2, [&a, &b]);
    wait_forwarding(&mut da, &mut db, 2);

    // Follow the event stream from the start (lagctl needs no namespace for a socket path).
    let mut follow = Command::new(lagctl_bin())
        .args([
            "--socket",
            da.socket.to_str().unwrap(),
            "events",
            "-f",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The persistent configuration; a temporary change shows as flag `t`.
    golden(
        "show-aggr-P.txt",
        &ok(&da.lagctl(&["show-aggr", "-P"]), "-P"),
    );
    let pj = ok(
        &da.lagctl(&["show-aggr", "-P", "-o", "all", "--json"]),
        "-P --json",
    );
    schema::check_text(&pj, "show-aggr -P --json");
    golden("show-aggr-P.json", &pj);
    ok(
        &da.lagctl(&["modify-aggr", "-t", "--port-priority", "eth2=7", "aggr1"]),
        "modify-aggr --port-priority",
    );
    let p = ok(
        &da.lagctl(&["show-aggr", "-P", "-p", "-o", "link,flags"]),
        "-P -p",
    );
    assert_eq!(p, "aggr1:t\n");
    let x = ok(&da.lagctl(&["state", "dump"]), "state dump");
    schema::check_text(&x, "state dump (-t change)");
    assert!(x.contains("\"priority\": 7"), "running port priority: {x}");

    // show-hash: one bucket per conversation, by the distributor's own hash (L4 policy).
    let flow = "198.18.7.1,198.18.7.2,tcp,40000,80";
    golden(
        "show-hash-flow-p.txt",
        &ok(
            &da.lagctl(&[
                "show-hash",
                "aggr1",
                "--flow",
                flow,
                "-p",
                "-o",
                "bucket,moving",
            ]),
            "show-hash --flow",
        ),
    );
    let t = ok(
        &da.lagctl(&["show-hash", "aggr1", "--flow", flow]),
        "show-hash",
    );
    let line = t.lines().nth(1).unwrap_or_default();
    assert!(
        line.starts_with("flow 198.18.7.1 -> 198.18.7.2 proto 6 ports 40000 -> 80: hash 0x")
            && (line.ends_with("member eth1") || line.ends_with("member eth2")),
        "{t}"
    );
    let all = ok(
        &da.lagctl(&["show-hash", "aggr1", "-p", "-o", "member"]),
        "buckets",
    );
    assert_eq!(all.lines().count(), 256, "every bucket listed");
    let e1 = all.lines().filter(|l| *l == "eth1").count();
    assert!((127..=129).contains(&e1), "even split: eth1 {e1} of 256");
    let j = ok(&da.lagctl(&["show-hash", "aggr1", "--json"]), "json");
    schema::check_text(&j, "show-hash --json");
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["buckets"].as_array().map(Vec::len), Some(256));
    assert_eq!(j["policy"], "L4");
    let jf = ok(
        &da.lagctl(&["show-hash", "aggr1", "--flow", flow, "--json"]),
        "--flow --json",
    );
    schema::check_text(&jf, "show-hash --flow --json");
    let bad = da.lagctl(&[
        "show-hash",
        "aggr1",
        "--flow",
        "198.18.7.1,2001:2::1,tcp,1,2",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    golden("show-hash-bad-flow.txt", &bad.stderr);

    // -i N --json: one JSON document per line.
    let s = ok(
        &da.lagctl(&["show-aggr", "-s", "-i", "1", "-c", "2", "--json"]),
        "-s -i --json",
    );
    assert_eq!(s.lines().count(), 2, "{s}");
    for l in s.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("one document per line");
        schema::check_doc(&v, "show-aggr -s -i 1 --json");
        assert_eq!(v["aggregations"][0]["name"], "aggr1", "{l}");
    }

    // disable-member / enable-member.
    golden(
        "disable-member.txt",
        &ok(
            &da.lagctl(&["disable-member", "-l", "eth2", "aggr1"]),
            "disable",
        ),
    );
    golden(
        "show-aggr-disabled-p.txt",
        &ok(
            &da.lagctl(&["show-aggr", "-p", "-o", "device,state"]),
            "show-aggr",
        ),
    );
    let after = ok(
        &da.lagctl(&["show-hash", "aggr1", "-p", "-o", "member"]),
        "buckets",
    );
    assert!(after.lines().all(|l| l == "eth1"), "{after}");
    let last = da.lagctl(&["disable-member", "-l", "eth1", "aggr1"]);
    assert_eq!(last.code, 1, "{last:?}");
    golden("disable-member-last.txt", &last.stderr);
    golden(
        "enable-member.txt",
        &ok(
            &da.lagctl(&["enable-member", "-l", "eth2", "aggr1"]),
            "enable",
        ),
    );
    da.wait_for("aggr1", "eth2 active again", |a| {
        a.members.iter().all(|m| m.state == "active")
    });
    let active = da.lagctl(&["set-active-member", "aggr1", "eth2"]);
    assert_eq!(active.code, 1, "{active:?}");
    golden("set-active-member-lacp.txt", &active.stderr);

    // events: the recent ones; -f streamed the same as they happened, one JSON per line.
    let ev = ok(&da.lagctl(&["events", "aggr1"]), "events");
    assert!(
        ev.lines()
            .any(|l| l.contains("aggr1: disabled eth2 of `aggr1`")),
        "{ev}"
    );
    let mut lines = std::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).expect("one JSON document per line");
        schema::check_doc(&v, "events -f --json");
        let msg = v["message"].as_str().unwrap_or_default().to_string();
        seen.push(msg.clone());
        if msg.starts_with("enabled eth2") {
            break;
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        seen.iter().any(|m| m.starts_with("disabled eth2")),
        "events -f: {seen:?}"
    );
}

/// The operator's choices outlive lagd: a member disabled and the member chosen active in
/// active-backup are still so after a stop and start (SIGTERM, then lagd again on the same
/// configuration), after `restart-daemon`'s hand-over, and after a crash (SIGKILL); enabling
/// the member, or deleting the aggregation, forgets them.
#[test]
fn operator_choices_survive_a_restart_of_lagd() {
    if !can_run("operator_choices_survive_a_restart_of_lagd") {
        return;
    }
    let dir = TempDir::new("lcopkeep");
    let create: &[&str] = &[
        "create-aggr",
        "-m",
        "active-backup",
        "-l",
        "eth1",
        "-l",
        "eth2",
        "-l",
        "eth3",
        "aggr1",
    ];
    let (h, mut da, mut db) = pair_with(&dir, 3, [create, create]);
    wait_forwarding(&mut da, &mut db, 3);
    ok(
        &da.lagctl(&["disable-member", "-l", "eth3", "aggr1"]),
        "disable eth3",
    );
    let chosen = ok(
        &da.lagctl(&["set-active-member", "aggr1", "eth2"]),
        "set-active",
    );
    assert!(chosen.contains("eth2 is the active member"), "{chosen}");
    let kept = |a: &lagd_control::proto::AggrStatus| {
        a.disabled == ["eth3"] && a.active_member.as_deref() == Some("eth2")
    };
    da.wait_for("aggr1", "eth3 disabled, eth2 active", kept);

    // Stop and start: every member restored, then taken again with the choices.
    da.stop();
    let mut da = Daemon::start(&h.a, &dir, "a", None);
    let st = da.wait_for("aggr1", "after a restart: eth3 disabled, eth2 active", kept);
    println!(
        "after stop and start: disabled {:?}, active {:?}",
        st.disabled, st.active_member
    );
    let states = ok(
        &da.lagctl(&["show-aggr", "-p", "-o", "device,state"]),
        "show",
    );
    assert!(states.contains("eth3:disabled"), "{states}");
    let ev = ok(&da.lagctl(&["events", "aggr1"]), "events");
    assert!(
        ev.contains("operator choices kept from before: eth3 disabled, eth2 chosen active"),
        "{ev}"
    );

    // restart-daemon: the hand-over keeps them too.
    let r = da.lagctl(&["restart-daemon"]);
    assert_eq!(r.code, 0, "restart-daemon: {r:?}; log:\n{}", da.log_text());
    da.wait_for(
        "aggr1",
        "after restart-daemon: eth3 disabled, eth2 active",
        kept,
    );

    // A crash (SIGKILL): the next lagd resumes with them.
    let _ = da.child.kill();
    let _ = da.child.wait();
    let mut da = Daemon::start(&h.a, &dir, "a", None);
    da.wait_for("aggr1", "after SIGKILL: eth3 disabled, eth2 active", kept);

    // Enabled again: forgotten at the next restart.
    ok(
        &da.lagctl(&["enable-member", "-l", "eth3", "aggr1"]),
        "enable eth3",
    );
    da.stop();
    let mut da = Daemon::start(&h.a, &dir, "a", None);
    da.wait_for(
        "aggr1",
        "after enable and restart: eth3 enabled, eth2 active",
        |a| {
            all_forwarding(a, 3)
                && a.disabled.is_empty()
                && a.members.iter().all(|m| m.state != "disabled")
                && a.active_member.as_deref() == Some("eth2")
        },
    );

    // Deleted and created again: a new aggregation, no choice of the old one.
    ok(&da.lagctl(&["delete-aggr", "aggr1"]), "delete");
    ok(
        &da.lagctl(&[
            "create-aggr",
            "-m",
            "active-backup",
            "-l",
            "eth3",
            "-l",
            "eth1",
            "-l",
            "eth2",
            "aggr1",
        ]),
        "create again",
    );
    let st = da.wait_for("aggr1", "forwarding again", |a| all_forwarding(a, 3));
    assert!(st.disabled.is_empty(), "{:?}", st.disabled);
    let ev = ok(&da.lagctl(&["events", "aggr1"]), "events");
    assert_eq!(
        ev.matches("operator choices kept from before").count(),
        1,
        "only at this lagd's start, not for the new aggregation: {ev}"
    );
    drop(db);
}
