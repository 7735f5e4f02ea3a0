//! Distributed Trunking renumbers a switch's ports when it becomes the secondary (issue 17,
//! item 2: no change wipes host state by surprise): the aggregate is kept, so its addresses
//! and routes stay.
//!
//! Switch B starts alone (primary, ports from 1); an address and a route are put on its DT
//! aggregate; switch A (lower role priority: the primary) starts; B becomes the secondary and
//! renumbers its ports from 0x8000. Before, that re-created the aggregate and the host lost
//! its address and route. Needs root; a few seconds; nothing asserts on elapsed time.

mod common;

use common::*;
use lagd::client::Client;
use lagd::control::proto::{Reply, Request};
use lagd_dataplane::netns::{TestNet, ns_cmd};
use std::time::{Duration, Instant};

fn switch_config(prio: u16, pl: &str, ka: &str, member: &str) -> String {
    let dt = dt_section(9, prio, pl, ka, "1s");
    format!(
        r#"{dt}
[[aggregation]]
name = "trk1"
links = ["{member}"]
distributed = true
mac = "02:d7:00:00:00:09"
system_priority = 256
key = 1
dt_id = 1
"#
    )
}

fn role(c: &mut Client) -> String {
    match c.request(&Request::ShowDt).unwrap() {
        Reply::Dt { status } => status["status"]["role"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// The DT role once the DT thread has published it (its first view follows its first turn, so
/// a request right after start-up may find none yet).
fn published_role(c: &mut Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = role(c);
        if !r.is_empty() || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `ip -j` output of `args` in `ns`, as JSON.
fn ip_json(ns: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["ip", "-j"];
    all.extend_from_slice(args);
    serde_json::from_str(&ns_cmd(ns, &all).unwrap()).unwrap()
}

fn ifindex(ns: &str, dev: &str) -> u64 {
    ip_json(ns, &["link", "show", "dev", dev])[0]["ifindex"]
        .as_u64()
        .unwrap()
}

/// The aggregate's addresses (`local/prefixlen`, scope global) and routes (`dst`), sorted.
fn host_state(ns: &str, dev: &str) -> (Vec<String>, Vec<String>) {
    let a = ip_json(ns, &["addr", "show", "dev", dev]);
    let mut addrs: Vec<String> = a[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["scope"] == "global")
        .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
        .collect();
    addrs.sort();
    let mut routes: Vec<String> = ["-4", "-6"]
        .iter()
        .flat_map(|f| {
            ip_json(ns, &[f, "route", "show", "dev", dev])
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|r| r["dst"].as_str().map(str::to_string))
        .filter(|d| !d.starts_with("fe80"))
        .collect();
    routes.sort();
    (addrs, routes)
}

#[test]
fn dt_renumbering_keeps_the_aggregate_with_its_addresses_and_routes() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let ns_h = net.netns("dtrh").unwrap();
    let ns_a = net.netns("dtra").unwrap();
    let ns_b = net.netns("dtrb").unwrap();
    let (_, ma) = net.veth("dtrm", Some(&ns_h), Some(&ns_a)).unwrap();
    let (_, mb) = net.veth("dtrm", Some(&ns_h), Some(&ns_b)).unwrap();
    let (pa, pb) = net.veth("dtrp", Some(&ns_a), Some(&ns_b)).unwrap();
    let (ka, kb) = net.veth("dtrk", Some(&ns_a), Some(&ns_b)).unwrap();
    for ns in [&ns_a, &ns_b] {
        net.exec(ns, &["ip", "link", "add", "br0", "type", "bridge"])
            .unwrap();
        net.exec(ns, &["ip", "link", "set", "br0", "up"]).unwrap();
    }
    let dir = TempDir::new("lagddtr");
    // B alone: the primary, its ports numbered from 1.
    let mut b = Daemon::start(&ns_b, &dir, "swb", &switch_config(200, &pb, &kb, &mb));
    let mut cb = b.client();
    wait_for(&mut b, &mut cb, "trk1", "trk1 on B, port 1", |a| {
        a.members.len() == 1 && a.members[0].port == 1
    });
    assert_eq!(published_role(&mut cb), "primary");
    let before_index = ifindex(&ns_b, "trk1");
    for args in [
        &["ip", "addr", "add", "198.18.9.2/24", "dev", "trk1"][..],
        &[
            "ip",
            "addr",
            "add",
            "2001:2:0:9::2/64",
            "dev",
            "trk1",
            "nodad",
        ][..],
        &["ip", "route", "add", "198.18.10.0/24", "dev", "trk1"][..],
        &["ip", "route", "add", "2001:2:0:10::/64", "dev", "trk1"][..],
    ] {
        net.exec(&ns_b, args).unwrap();
    }
    let before = host_state(&ns_b, "trk1");
    assert_eq!(before.0.len(), 2, "{before:?}");
    assert_eq!(before.1.len(), 4, "{before:?}");

    // A (the lower role priority wins) pairs with B: B becomes the secondary, ports 0x8001.
    let mut a = Daemon::start(&ns_a, &dir, "swa", &switch_config(100, &pa, &ka, &ma));
    let _ = a.client();
    wait_for(
        &mut b,
        &mut cb,
        "trk1",
        "B's trk1 renumbered from 0x8000",
        |a| a.members.len() == 1 && a.members[0].port == 0x8001,
    );
    assert_eq!(role(&mut cb), "secondary");
    let log = b.log_text();
    assert!(
        log.contains("renumbered from 0x0000 to 0x8000"),
        "the renumbering is said\n{log}"
    );
    assert_eq!(
        ifindex(&ns_b, "trk1"),
        before_index,
        "the aggregate is the same interface"
    );
    assert_eq!(
        host_state(&ns_b, "trk1"),
        before,
        "addresses and routes kept\n{log}"
    );
    // Still a port of the DT bridge.
    let link = ip_json(&ns_b, &["link", "show", "dev", "trk1"]);
    assert_eq!(link[0]["master"], "br0", "{link}");

    // A clean stop still removes it.
    b.signal("TERM");
    assert!(b.wait_exit().success(), "{}", b.log_text());
    assert!(!link_exists(&ns_b, "trk1"), "{}", b.log_text());
}
