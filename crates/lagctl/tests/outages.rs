//! The classic outages, produced for real between two lagds in network namespaces, and what
//! `lagctl diagnose` says of each (issue 17): both ends passive; LACP against a static trunk,
//! from both ends (seed 004, with the change refused first); an MTU mismatch; a member deleted;
//! min-links above the members in service. Every diagnosis is also checked for a fix that sets
//! a value already in force.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;
use lagd_control::config::{AnyLinks, Fallback};
use serde_json::Value;

/// The value of setting `key` (a diagnose `Setting`) in force on `d`'s aggregation `name`.
fn current(d: &mut Daemon, name: &str, key: &str) -> Option<String> {
    let a = d.client().show_aggr(Some(name)).ok()?.into_iter().next()?;
    let r = a.spec.resolve(&AnyLinks).ok()?;
    Some(match key {
        "mode" => r.mode.to_string(),
        "lacp_mode" => r.lacp_mode.to_string(),
        "lacp_timer" => r.lacp_timer.to_string(),
        "policy" => r.policy.to_string(),
        "mtu" => r.mtu.to_string(),
        "min_links" => r.min_links.to_string(),
        "max_active" => r.max_active.unwrap_or(0).to_string(),
        "fallback" => r.fallback.map_or(Fallback::Off, |f| f.0).to_string(),
        "key" => r.key.to_string(),
        "system_priority" => r.system_priority.to_string(),
        "offload" => r.offload.to_string(),
        _ => return None,
    })
}

/// `diagnose --json` on `d`, failing if a fix sets a setting to the value in force.
fn diagnose(d: &mut Daemon, name: &str) -> Value {
    let o = d.lagctl(&["diagnose", "--json", name]);
    assert!(o.code <= 1, "{o:?}");
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    for f in j["findings"].as_array().unwrap() {
        for x in f["fix"].as_array().unwrap() {
            let here = matches!(x["on"].as_str(), Some("here" | "both-ends"));
            if here && x["change"]["action"] == "set" {
                let key = x["change"]["setting"].as_str().unwrap();
                let value = x["change"]["value"].as_str().unwrap();
                assert_ne!(
                    current(d, name, key).as_deref(),
                    Some(value),
                    "a fix sets {key} = {value}, already in force:\n{f:#}"
                );
            }
        }
    }
    j
}

/// The finding with `code`, or a failure showing the diagnosis.
fn finding<'a>(j: &'a Value, code: &str) -> &'a Value {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {j:#}"))
}

/// Whether some fix of `f` sets `setting` to `value`, applied `on`.
fn fixes(f: &Value, on: &str, setting: &str, value: &str) -> bool {
    f["fix"].as_array().unwrap().iter().any(|x| {
        x["on"] == on && x["change"]["setting"] == setting && x["change"]["value"] == value
    })
}

fn create(d: &Daemon, extra: &[&str], links: usize) {
    let mut args = vec!["create-aggr"];
    let names: Vec<String> = (1..=links).map(|i| format!("eth{i}")).collect();
    for n in &names {
        args.extend(["-l", n.as_str()]);
    }
    args.extend(extra);
    args.push("aggr1");
    ok(&d.lagctl(&args), "create-aggr");
}

#[test]
fn seed_004_lacp_against_a_static_trunk_is_refused_then_diagnosed_on_both_ends() {
    if !can_run("seed_004_lacp_against_a_static_trunk_is_refused_then_diagnosed_on_both_ends") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("oseed4");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &["-L", "off"], 2);
    create(&db, &["-L", "off"], 2);
    da.wait_for("aggr1", "A static up", |a| all_forwarding(a, 2));
    db.wait_for("aggr1", "B static up", |a| all_forwarding(a, 2));

    // The change that broke the storage network: refused, with the diagnosis, nothing changed.
    let o = da.lagctl(&["modify-aggr", "-L", "active", "aggr1"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stderr
            .contains("lagctl: modify-aggr: refused: mode static → lacp, lacp off → active on aggr1 would take aggr1 down: the partner sends no LACPDU"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("error [partner-no-lacp]"), "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "fix: or turn it on here with a fallback that forwards while the partner sends none: lagctl modify-aggr --fallback static aggr1"
        ),
        "{}",
        o.stderr
    );
    let a = da.wait_for("aggr1", "A unchanged", |a| all_forwarding(a, 2));
    assert_eq!(
        a.spec.lacp_mode,
        Some(lagd_control::config::LacpActivity::Off)
    );

    // Forced: applied, and said to take the aggregate down.
    let out = ok(
        &da.lagctl(&["modify-aggr", "-L", "active", "--force", "aggr1"]),
        "modify --force",
    );
    assert!(
        out.contains("lacp off → active on aggr1; aggr1 goes down: the partner sends no LACPDU"),
        "{out}"
    );
    da.wait_for("aggr1", "A defaulted", |a| {
        a.members.iter().all(|m| m.receive == "DEFAULTED")
    });
    // The LACP end names the static partner, with the three ways out.
    let j = diagnose(&mut da, "aggr1");
    assert_eq!(j["findings"][0]["code"], "partner-no-lacp", "{j:#}");
    let f = &j["findings"][0];
    assert!(fixes(f, "partner", "lacp_mode", "active"), "{f:#}");
    assert!(fixes(f, "here", "lacp_mode", "off"), "{f:#}");
    assert!(fixes(f, "here", "fallback", "static"), "{f:#}");
    // The static end hears the LACPDUs: the partner runs LACP and does not forward.
    let j = diagnose(&mut db, "aggr1");
    assert_eq!(j["healthy"], false, "{j:#}");
    let f = finding(&j, "lacp-on-static-trunk");
    assert_eq!(f["severity"], "error");
    assert!(fixes(f, "here", "lacp_mode", "active"), "{f:#}");
    assert!(fixes(f, "partner", "lacp_mode", "off"), "{f:#}");
    let text = db.lagctl(&["diagnose", "aggr1"]).stdout;
    assert!(
        text.contains("fix: run LACP (active) here too: lagctl modify-aggr -L active aggr1"),
        "{text}"
    );

    // The static end follows the advice: both run LACP, both healthy.
    ok(
        &db.lagctl(&["modify-aggr", "-L", "active", "aggr1"]),
        "B -L active",
    );
    wait_forwarding(&mut da, &mut db, 2);
    for d in [&mut da, &mut db] {
        let j = diagnose(d, "aggr1");
        assert_eq!(j["healthy"], true, "{j:#}");
    }
}

#[test]
fn both_passive_is_refused_then_diagnosed() {
    if !can_run("both_passive_is_refused_then_diagnosed") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("opass");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &[], 2);
    create(&db, &["-L", "passive"], 2);
    wait_forwarding(&mut da, &mut db, 2);
    let o = da.lagctl(&["modify-aggr", "-L", "passive", "aggr1"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("error [both-passive]"), "{}", o.stderr);
    ok(
        &da.lagctl(&["modify-aggr", "-L", "passive", "-f", "aggr1"]),
        "forced",
    );
    for d in [&mut da, &mut db] {
        d.wait_for("aggr1", "defaulted", |a| {
            a.members.iter().all(|m| m.receive == "DEFAULTED")
        });
        let j = diagnose(d, "aggr1");
        let f = &j["findings"][0];
        assert_eq!(f["code"], "both-passive", "{j:#}");
        assert!(fixes(f, "here", "lacp_mode", "active"), "{f:#}");
        assert!(fixes(f, "both-ends", "lacp_mode", "off"), "{f:#}");
        assert!(fixes(f, "here", "fallback", "static"), "{f:#}");
    }
}

#[test]
fn mtu_mismatch_is_diagnosed_from_the_drops() {
    if !can_run("mtu_mismatch_is_diagnosed_from_the_drops") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("omtu");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &["--mtu", "9000"], 2);
    create(&db, &[], 2);
    wait_forwarding(&mut da, &mut db, 2);
    for (ns, ip) in [(&h.a, "198.18.11.1/24"), (&h.b, "198.18.11.2/24")] {
        h.net
            .exec(ns, &["ip", "addr", "add", ip, "dev", "aggr1"])
            .unwrap();
    }
    // Small frames pass, large ones never arrive.
    h.net
        .exec(&h.a, &["ping", "-c", "2", "-W", "5", "198.18.11.2"])
        .unwrap();
    let big = h.net.exec(
        &h.a,
        &[
            "ping",
            "-c",
            "6",
            "-i",
            "0.2",
            "-W",
            "1",
            "-s",
            "8000",
            "-M",
            "do",
            "198.18.11.2",
        ],
    );
    assert!(big.is_err(), "{big:?}");
    let j = diagnose(&mut da, "aggr1");
    let f = finding(&j, "mtu-mismatch");
    assert!(fixes(f, "partner", "mtu", "9000"), "{f:#}");
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .contains("frames dropped on transmit"),
        "{f:#}"
    );
}

#[test]
fn a_deleted_member_is_named() {
    if !can_run("a_deleted_member_is_named") {
        return;
    }
    let h = Hosts::new(3);
    let dir = TempDir::new("odel");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &[], 3);
    create(&db, &[], 3);
    da.wait_for("aggr1", "A forwarding", |a| all_forwarding(a, 3));
    h.net.exec(&h.a, &["ip", "link", "del", "eth3"]).unwrap();
    da.wait_for("aggr1", "A down to two", |a| {
        a.members.iter().filter(|m| m.collecting).count() == 2
    });
    for d in [&mut da, &mut db] {
        let j = diagnose(d, "aggr1");
        let f = finding(&j, "member-deleted");
        assert_eq!(f["member"], "eth3", "{j:#}");
        assert_eq!(f["fix"][0]["change"]["action"], "remove-members");
        assert!(
            !j["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "link-down"),
            "a deleted member is not 'no carrier': {j:#}"
        );
    }
    let text = da.lagctl(&["diagnose", "aggr1"]).stdout;
    assert!(
        text.contains("fix: take it out of the aggregation: lagctl remove-aggr -l eth3 aggr1"),
        "{text}"
    );
}

#[test]
fn min_links_above_the_members_in_service_is_refused() {
    if !can_run("min_links_above_the_members_in_service_is_refused") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("omin");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    create(&da, &[], 2);
    create(&db, &[], 2);
    da.wait_for("aggr1", "A forwarding", |a| all_forwarding(a, 2));
    let o = da.lagctl(&["modify-aggr", "--min-links", "3", "aggr1"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("error [min-links]"), "{}", o.stderr);
    let out = ok(
        &da.lagctl(&["modify-aggr", "--min-links", "2", "aggr1"]),
        "min-links 2",
    );
    assert_eq!(out, "min-links 1 → 2 on aggr1; aggr1 stays up\n");
    ok(
        &da.lagctl(&["modify-aggr", "--min-links", "3", "--force", "aggr1"]),
        "forced",
    );
    da.wait_for("aggr1", "A down", |a| !a.up);
    let j = diagnose(&mut da, "aggr1");
    let f = finding(&j, "min-links");
    assert!(fixes(f, "here", "min_links", "2"), "{f:#}");
    assert_eq!(f["fix"][0]["change"]["action"], "add-member", "{f:#}");
    drop(db.client());
}
