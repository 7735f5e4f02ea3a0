//! The Prometheus endpoint of a running lagd, and the Grafana dashboard shipped in
//! `dist/grafana/lagd.json`: every series the dashboard queries (metric names, the labels its
//! selectors, `by` clauses and legends use) is in the endpoint's output.
//!
//! Host A runs a LACP aggregation `lag0` with host B (two links), a Distributed Trunking domain
//! (peer link to an empty namespace: the switch ends up alone) with one DT aggregation `trk1`,
//! and the Prometheus endpoint. Needs root.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use lagd_dataplane::netns::TestNet;

/// Series in an exposition: metric name → the label names of its samples.
type Series = BTreeMap<String, BTreeSet<String>>;

/// Fetches `GET /metrics` from `127.0.0.1:port` inside namespace `ns`.
fn scrape(ns: &str, port: u16) -> String {
    scrape_metrics(ns, port).unwrap().unwrap_or_default()
}

/// The samples of an exposition body.
fn parse(body: &str) -> Series {
    let mut series = Series::new();
    for line in body.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let head = line.rsplit_once(' ').map_or(line, |(h, _)| h);
        let (name, labels) = match head.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (head, ""),
        };
        let e = series.entry(name.to_string()).or_default();
        for kv in labels.split("\",").filter(|s| !s.is_empty()) {
            e.insert(kv.split('=').next().unwrap_or("").to_string());
        }
    }
    series
}

/// Every `lagd_*` metric name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("lagd_") {
        let start = i + pos;
        let before_ok =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        if before_ok {
            out.push(expr[start..end].to_string());
        }
        i = end;
    }
    out
}

/// Label names of the selector right after each metric name: `name{a="x",b=~"y"}`.
fn selector_labels(expr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in metric_names(expr) {
        let mut rest = expr;
        while let Some(p) = rest.find(&name) {
            let after = &rest[p + name.len()..];
            if let Some(sel) = after.strip_prefix('{') {
                let body = &sel[..sel.find('}').unwrap_or(sel.len())];
                for m in body.split(',') {
                    let label: String = m
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !label.is_empty() {
                        out.push((name.clone(), label));
                    }
                }
            }
            rest = after;
        }
    }
    out
}

/// Label names of `by (...)` clauses.
fn by_labels(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(p) = rest.find("by (") {
        let body = &rest[p + 4..];
        let end = body.find(')').unwrap_or(body.len());
        out.extend(body[..end].split(',').map(|s| s.trim().to_string()));
        rest = &body[end..];
    }
    out
}

/// `{{label}}` names of a legend.
fn legend_labels(legend: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = legend;
    while let Some(p) = rest.find("{{") {
        let body = &rest[p + 2..];
        let end = body.find("}}").unwrap_or(body.len());
        out.push(body[..end].trim().to_string());
        rest = &body[end..];
    }
    out
}

fn dashboard() -> serde_json::Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/grafana/lagd.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every query of the dashboard: (panel title, expression, legend).
fn queries(d: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        let title = p["title"].as_str().unwrap_or("").to_string();
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                title.clone(),
                t["expr"].as_str().unwrap_or("").to_string(),
                t["legendFormat"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if let Some(q) = v["definition"].as_str() {
            out.push((
                format!("variable {}", v["name"]),
                q.to_string(),
                String::new(),
            ));
        }
    }
    out
}

/// The dashboard's own shape, without a daemon: valid JSON, a Grafana dashboard model, unique
/// panel ids, panels on the 24-column grid and not overlapping, every query naming lagd series.
#[test]
fn dashboard_is_well_formed() {
    let d = dashboard();
    assert_eq!(d["uid"], "lagd");
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    let panels = d["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut cells: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut kinds = BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate panel id");
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().unwrap(),
            g["y"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        assert!(x + w <= 24, "{}: wider than the grid", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                let title = p["title"].as_str().unwrap().to_string();
                if let Some(other) = cells.insert((cx, cy), title.clone()) {
                    panic!("panels {other} and {title} overlap at {cx},{cy}");
                }
            }
        }
        kinds.insert(p["type"].as_str().unwrap().to_string());
        if p["type"] != "row" {
            assert!(
                !p["targets"].as_array().unwrap().is_empty(),
                "{}: no query",
                p["title"]
            );
            assert!(!p["description"].as_str().unwrap_or("").is_empty());
        }
    }
    let q = queries(&d);
    assert!(q.len() >= 20, "{} queries", q.len());
    for (title, expr, _) in &q {
        assert!(!metric_names(expr).is_empty(), "{title}: {expr}");
        let opens = expr.matches('(').count();
        assert_eq!(opens, expr.matches(')').count(), "{title}: {expr}");
        assert_eq!(
            expr.matches('{').count(),
            expr.matches('}').count(),
            "{title}: {expr}"
        );
    }
    // What the issue asks the dashboard to show.
    let all: String = q.iter().map(|(_, e, _)| e.as_str()).collect();
    for needed in [
        "lagd_member_transmit_bytes_total",
        "lagd_aggregate_failovers_total",
        "lagd_member_mux_state",
        "lagd_member_partner_info",
        "lagd_dt_peer_state",
    ] {
        assert!(all.contains(needed), "the dashboard does not show {needed}");
    }
}

#[test]
fn dashboard_queries_are_answered_by_a_running_lagd() {
    if !root_or_skip("dashboard_queries_are_answered_by_a_running_lagd") {
        return;
    }
    let mut net = TestNet::new();
    let a = net.netns("mtA").unwrap();
    let b = net.netns("mtB").unwrap();
    let c = net.netns("mtC").unwrap();
    let d = net.netns("mtD").unwrap();
    let (a1, b1) = net.veth("mt", Some(&a), Some(&b)).unwrap();
    let (a2, b2) = net.veth("mt", Some(&a), Some(&b)).unwrap();
    let (a3, _c3) = net.veth("mt", Some(&a), Some(&c)).unwrap();
    let (pl, _d1) = net.veth("mt", Some(&a), Some(&d)).unwrap();
    net.exec(&a, &["ip", "link", "add", "br0", "type", "bridge"])
        .unwrap();
    net.exec(&a, &["ip", "link", "set", "br0", "up"]).unwrap();
    let port = 9477;
    let config_a = format!(
        r#"[daemon]
prometheus = "127.0.0.1:{port}"

[dt]
domain_id = 7
role_priority = 100
peer_link = "{pl}"
bridge = "br0"
tx_interval = "200ms"
peer_timeout = "1s"
init_delay = "1s"

[[aggregation]]
name = "{AGGR}"
links = ["{a1}", "{a2}"]
mode = "lacp"
lacp = "active"
timer = "short"

[[aggregation]]
name = "trk1"
links = ["{a3}"]
distributed = true
mac = "02:d7:00:00:00:01"
system_priority = 256
key = 2
dt_id = 2
"#
    );
    let dir = TempDir::new("metrics");
    let mut da = Daemon::start(&a, &dir, "a", &config_a);
    let mut db = Daemon::start(&b, &dir, "b", &lacp_config(&[b1, b2], ""));
    let mut ca = da.client();
    let _cb = db.client();
    wait_for(&mut da, &mut ca, AGGR, "lag0 forwarding", |s| {
        all_forwarding(s, 2)
    });
    address_aggregates(&net, &a, &b);
    let _ = ping(&a, ADDR_B, &[]);

    // Wait (bounded) for the DT domain to leave Init, then take the scrape.
    let start = Instant::now();
    let body = loop {
        let text = scrape(&a, port);
        if text.contains("lagd_dt_peer_state{domain=\"7\",state=\"alone\"} 1") {
            break text;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "DT not alone; scrape:\n{text}\nlog:\n{}",
            da.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let series = parse(&body);
    println!(
        "the endpoint served {} families, {} bytes",
        series.len(),
        body.len()
    );

    // The values a network engineer reads first are right.
    for want in [
        format!("lagd_aggregate_members{{aggregate=\"{AGGR}\"}} 2"),
        format!("lagd_aggregate_members_active{{aggregate=\"{AGGR}\"}} 2"),
        format!("lagd_aggregate_up{{aggregate=\"{AGGR}\"}} 1"),
        format!(
            "lagd_member_mux_state{{aggregate=\"{AGGR}\",device=\"{a1}\",state=\"collecting_distributing\"}} 1"
        ),
        format!(
            "lagd_member_partner_state{{aggregate=\"{AGGR}\",device=\"{a1}\",flag=\"synchronization\"}} 1"
        ),
        "lagd_dt_role{domain=\"7\",role=\"primary\"} 1".to_string(),
    ] {
        assert!(body.contains(&want), "missing {want} in\n{body}");
    }
    assert!(
        body.contains(&format!(
            "lagd_member_partner_info{{aggregate=\"{AGGR}\",device=\"{a1}\",system="
        )),
        "{body}"
    );

    // Every query of the dashboard is answered.
    let dash = dashboard();
    let mut checked = BTreeSet::new();
    for (title, expr, legend) in queries(&dash) {
        let names = metric_names(&expr);
        for n in &names {
            assert!(
                series.contains_key(n),
                "panel {title}: {n} is not served by lagd ({expr})"
            );
            checked.insert(n.clone());
        }
        let labels_of = |n: &str| series.get(n).cloned().unwrap_or_default();
        for (n, l) in selector_labels(&expr) {
            assert!(
                labels_of(&n).contains(&l),
                "panel {title}: {n} has no label {l} ({expr})"
            );
        }
        for l in by_labels(&expr).into_iter().chain(legend_labels(&legend)) {
            assert!(
                names.iter().any(|n| labels_of(n).contains(&l)),
                "panel {title}: no series of {expr} has label {l}"
            );
        }
    }
    println!(
        "{} metric names queried by the dashboard, all served: {}",
        checked.len(),
        checked.into_iter().collect::<Vec<_>>().join(" ")
    );
}
