//! The control socket against a real daemon in a namespace: create, add, remove (graceful),
//! modify, delete, temporary changes, write-back to the config file, SIGHUP reload (valid and
//! invalid), and a startup that fails halfway restoring what it took.
//!
//! Needs root. Static aggregations against a plain peer, so no LACP partner is needed.

mod common;

use common::*;
use lagd::client::ClientError;
use lagd::config::{AggrMode, AggrSettings, AggrSpec, Config, LacpTimeout};
use lagd::control::proto::ErrorKind;
use lagd_dataplane::netns::TestNet;

fn static_spec(name: &str, links: &[&str]) -> AggrSpec {
    let mut s = AggrSpec::new(name, links);
    s.mode = Some(AggrMode::Static);
    s
}

fn daemon_error(r: Result<String, ClientError>) -> (ErrorKind, String) {
    match r {
        Err(ClientError::Daemon { kind, message, .. }) => (kind, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn saved(path: &std::path::Path) -> Config {
    Config::load(path).unwrap()
}

#[test]
fn control_socket_changes_reload_and_write_back() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let host = net.netns("lagH").unwrap();
    let peer = net.netns("lagP").unwrap();
    let mut h = Vec::new();
    for _ in 0..3 {
        let (a, b) = net.veth("lc", Some(&host), Some(&peer)).unwrap();
        net.exec(&peer, &["ip", "link", "set", &b, "up"]).unwrap();
        h.push(a);
    }
    let (h1, h2, h3) = (h[0].as_str(), h[1].as_str(), h[2].as_str());
    let before_h2 = snapshot(&host, h2);

    let dir = TempDir::new("lagdctl");
    // No aggregation at start; the file is written back on the first change.
    let mut d = Daemon::start(&host, &dir, "h", "");
    let mut c = d.client();

    c.create_aggr(static_spec("agg0", &[h1, h2]), false)
        .unwrap();
    let st = wait_for(&mut d, &mut c, "agg0", "static aggregate up", |a| {
        all_forwarding(a, 2)
    });
    assert!(!st.temporary);
    assert!(link_exists(&host, "agg0"));
    assert_eq!(
        saved(&d.config).aggregations,
        vec![static_spec("agg0", &[h1, h2])]
    );

    // Refusals name the problem and change nothing.
    let (k, m) = daemon_error(c.create_aggr(static_spec("agg0", &[h3]), false));
    assert_eq!(k, ErrorKind::AlreadyExists, "{m}");
    let (k, m) = daemon_error(c.create_aggr(static_spec("agg1", &[h1]), false));
    assert_eq!(k, ErrorKind::InvalidConfig);
    assert!(
        m.contains(&format!(
            "link `{h1}` is already a member of aggregation `agg0`"
        )),
        "{m}"
    );
    let (k, m) = daemon_error(c.create_aggr(static_spec("agg1", &["nosuch0"]), false));
    assert_eq!(k, ErrorKind::InvalidConfig);
    assert!(m.contains("unknown link `nosuch0`"), "{m}");
    let (k, m) = daemon_error(c.delete_aggr("nope", false));
    assert_eq!(k, ErrorKind::NotFound);
    assert!(m.contains("`nope`"), "{m}");
    assert_eq!(c.show_aggr(None).unwrap().len(), 1);

    // Add a link, then remove one gracefully: it is drained, released and restored.
    c.add_links("agg0", &[h3], false, false).unwrap();
    wait_for(&mut d, &mut c, "agg0", "three members", |a| {
        all_forwarding(a, 3)
    });
    assert_eq!(saved(&d.config).aggregations[0].links, vec![h1, h2, h3]);
    let msg = c.remove_links("agg0", &[h2], true, false).unwrap();
    assert!(msg.contains("drained"), "{msg}");
    let st = c.show_aggr(Some("agg0")).unwrap().remove(0);
    assert_eq!(
        st.members
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        vec![h1, h3]
    );
    assert_eq!(
        snapshot(&host, h2),
        before_h2,
        "removed member not restored"
    );
    assert_eq!(saved(&d.config).aggregations[0].links, vec![h1, h3]);

    // Modify live; persistent, then temporary.
    c.modify_aggr(
        "agg0",
        AggrSettings {
            policy: Some("L2".into()),
            ..AggrSettings::default()
        },
        false,
    )
    .unwrap();
    assert_eq!(
        saved(&d.config).aggregations[0].policy.as_deref(),
        Some("L2")
    );
    c.modify_aggr(
        "agg0",
        AggrSettings {
            lacp_timer: Some(LacpTimeout::Long),
            ..AggrSettings::default()
        },
        true,
    )
    .unwrap();
    let st = c.show_aggr(Some("agg0")).unwrap().remove(0);
    assert_eq!(st.spec.lacp_timer, Some(LacpTimeout::Long));
    assert!(
        st.temporary,
        "a temporary change makes the running config differ"
    );
    assert_eq!(saved(&d.config).aggregations[0].lacp_timer, None);
    assert_eq!(
        st.protocol["lacp"]["config"]["timer"], "long",
        "timer not applied to LACP"
    );

    // A temporary aggregation is not written.
    c.create_aggr(static_spec("tmp0", &[h2]), true).unwrap();
    wait_for(&mut d, &mut c, "tmp0", "temporary aggregate up", |a| {
        all_forwarding(a, 1)
    });
    assert!(saved(&d.config).get("tmp0").is_none());

    let events = c.events(false).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.aggregate == "tmp0" && e.message.contains("created")),
        "{events:?}"
    );

    // SIGHUP with an invalid file: refused, nothing changes. (A member that does not exist is
    // no longer invalid: it is taken over when it appears; an unknown mode is.)
    std::fs::write(
        &d.config,
        format!("[[aggregation]]\nname = \"agg0\"\nlinks = [\"{h1}\"]\nmode = \"no-such-mode\"\n"),
    )
    .unwrap();
    d.signal("HUP");
    let start = std::time::Instant::now();
    while !d.log_text().contains("reload refused") {
        assert!(
            start.elapsed() < PATIENCE,
            "no refusal logged:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(c.show_aggr(None).unwrap().len(), 2);
    assert_eq!(c.show_aggr(Some("agg0")).unwrap()[0].members.len(), 2);

    // SIGHUP with a valid file: agg0 loses h3; tmp0 (temporary: not the file's) stays.
    let mut cfg = Config::default();
    cfg.aggregations.push(static_spec("agg0", &[h1]));
    cfg.write_atomic(&d.config).unwrap();
    d.signal("HUP");
    let start = std::time::Instant::now();
    loop {
        let all = c.show_aggr(None).unwrap();
        if all.len() == 2 && all[0].name == "agg0" && all[0].members.len() == 1 {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "reload not applied:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(link_exists(&host, "tmp0"));
    assert!(
        d.log_text().contains("temporary aggregations kept: tmp0"),
        "{}",
        d.log_text()
    );
    c.delete_aggr("tmp0", true).unwrap();
    assert!(!link_exists(&host, "tmp0"));

    c.delete_aggr("agg0", false).unwrap();
    assert!(!link_exists(&host, "agg0"));
    assert!(saved(&d.config).aggregations.is_empty());
    assert_eq!(snapshot(&host, h2), before_h2);
    drop(c);

    d.signal("TERM");
    let st = d.wait_exit();
    assert!(st.success(), "exit {st}; log:\n{}", d.log_text());
}

#[test]
fn startup_failure_restores_members_taken_so_far() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let host = net.netns("lagF").unwrap();
    let peer = net.netns("lagQ").unwrap();
    let (a1, _) = net.veth("lf", Some(&host), Some(&peer)).unwrap();
    let (a2, _) = net.veth("lf", Some(&host), Some(&peer)).unwrap();
    // The second member has a global address: take-over is refused without `force`.
    net.exec(&host, &["ip", "addr", "add", "198.18.9.1/24", "dev", &a2])
        .unwrap();
    let before = snapshot(&host, &a1);
    let dir = TempDir::new("lagdfail");
    let text =
        format!("[[aggregation]]\nname = \"agg0\"\nlinks = [\"{a1}\", \"{a2}\"]\nmtu = 9000\n");
    let mut d = Daemon::start(&host, &dir, "f", &text);
    let st = d.wait_exit();
    assert!(!st.success());
    let log = d.log_text();
    assert!(log.contains(&a2) && log.contains("198.18.9.1"), "{log}");
    assert_eq!(snapshot(&host, &a1), before, "first member not restored");
    assert!(!link_exists(&host, "agg0"));
    assert!(!d.socket.exists());
}
