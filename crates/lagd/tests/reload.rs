//! Configuration and reload that never surprise (issue 10, item 7), against a real daemon in a
//! namespace:
//! - a write-back keeps the file's symlink, mode, owner and comments, and leaves no temporary
//!   file;
//! - an edit made on disk since lagd read the file is never overwritten: a change to be saved
//!   is refused before anything changes (a temporary one is not); an edit of comments only is
//!   no conflict and is kept;
//! - a reload with a broken, empty or missing file keeps the running state and says why;
//!   `lagctl reload --delete-all` deletes the file's aggregations;
//! - temporary (`-t`) aggregations survive a reload; temporary changes to the file's
//!   aggregations are undone by it, and the answer says so;
//! - `[daemon]` is applied by a reload (event history, Prometheus endpoint moved), `[dt]` is
//!   named as waiting for the next start.
//!
//! Needs root. Static aggregations against a plain peer: no LACP partner needed.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::*;
use lagd::client::ClientError;
use lagd::config::{AggrMode, AggrSettings, AggrSpec, Config};
use lagd::control::proto::ErrorKind;
use lagd_dataplane::netns::TestNet;

fn static_spec(name: &str, links: &[&str]) -> AggrSpec {
    let mut s = AggrSpec::new(name, links);
    s.mode = Some(AggrMode::Static);
    s
}

fn static_toml(name: &str, links: &[&str]) -> String {
    let links: Vec<String> = links.iter().map(|l| format!("\"{l}\"")).collect();
    format!(
        "[[aggregation]]\nname = \"{name}\"\nlinks = [{}]\nmode = \"static\"\n",
        links.join(", ")
    )
}

fn refusal(r: Result<String, ClientError>) -> (ErrorKind, String) {
    match r {
        Err(ClientError::Daemon { kind, message, .. }) => (kind, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn names(c: &mut lagd::client::Client) -> Vec<String> {
    c.show_aggr(None)
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect()
}

fn members(c: &mut lagd::client::Client, name: &str) -> Vec<String> {
    c.show_aggr(Some(name)).unwrap()[0]
        .members
        .iter()
        .map(|m| m.name.clone())
        .collect()
}

fn policy(c: &mut lagd::client::Client, name: &str) -> Option<String> {
    c.show_aggr(Some(name)).unwrap()[0].spec.policy.clone()
}

/// `lagctl reload ARGS` against `socket`: (success, stdout + stderr).
fn lagctl_reload(socket: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(lagctl_beside_lagd())
        .arg("reload")
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn scrape(ns: &str, port: u16) -> std::io::Result<String> {
    scrape_metrics(ns, port).map_err(|e| std::io::Error::other(e.to_string()))?
}

/// A host namespace with `n` veths to a peer namespace whose ends are up.
fn host(net: &mut TestNet, tag: &str, n: usize) -> (String, Vec<String>) {
    let host = net.netns(&format!("{tag}H")).unwrap();
    let peer = net.netns(&format!("{tag}P")).unwrap();
    let mut links = Vec::new();
    for _ in 0..n {
        let (a, b) = net.veth(tag, Some(&host), Some(&peer)).unwrap();
        net.exec(&peer, &["ip", "link", "set", &b, "up"]).unwrap();
        links.push(a);
    }
    (host, links)
}

#[test]
fn write_back_keeps_the_file_and_never_overwrites_an_edit() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let (host, h) = host(&mut net, "rw", 3);
    let (h1, h2, h3) = (h[0].as_str(), h[1].as_str(), h[2].as_str());
    let dir = TempDir::new("lagdrw");
    // The configuration is a relative symlink to a file of another owner, mode 0640.
    std::fs::create_dir_all(dir.path("etc")).unwrap();
    let real = dir.path("etc/real.toml");
    std::fs::write(&real, "").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&real, Some(4242), Some(4343)).unwrap();
    std::os::unix::fs::symlink("etc/real.toml", dir.path("w.toml")).unwrap();
    let text = format!("# the operator's comment\n{}", static_toml("agg0", &[h1]));
    let mut d = Daemon::start(&host, &dir, "w", &text);
    let mut c = d.client();
    wait_for(&mut d, &mut c, "agg0", "agg0 up", |a| all_forwarding(a, 1));

    // A change written back: through the symlink, mode, owner and comment kept, no temporary
    // file left.
    c.add_links("agg0", &[h2], false, false).unwrap();
    let link = std::fs::symlink_metadata(dir.path("w.toml")).unwrap();
    assert!(link.file_type().is_symlink(), "the symlink was replaced");
    let m = std::fs::metadata(&real).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.uid(), m.gid()), (4242, 4343));
    let saved = std::fs::read_to_string(&real).unwrap();
    assert!(saved.contains("# the operator's comment"), "{saved}");
    assert_eq!(
        Config::parse(&saved).unwrap().get("agg0").unwrap().links,
        vec![h1, h2]
    );
    let left: Vec<_> = std::fs::read_dir(dir.path("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    println!("write-back: symlink kept, mode 0640, owner 4242:4343, comment kept");

    // The operator edits the file (a new aggregation) and does not reload: a change to be
    // saved is refused before anything changes; the edit stays as written.
    let edited = format!("{saved}\n{}", static_toml("agg1", &[h3]));
    std::fs::write(dir.path("w.toml"), &edited).unwrap();
    let l2 = AggrSettings {
        policy: Some("L2".into()),
        ..AggrSettings::default()
    };
    let (k, msg) = refusal(c.modify_aggr("agg0", l2.clone(), false));
    assert_eq!(k, ErrorKind::FileChanged, "{msg}");
    for part in [
        "changed on disk since lagd read it",
        "nothing changed",
        "lagctl reload",
        "-t",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg:?}");
    }
    println!("refused: {msg}");
    assert_eq!(
        policy(&mut c, "agg0"),
        None,
        "the refused change was applied"
    );
    let (k, _) = refusal(c.create_aggr(static_spec("agg2", &[h3]), false));
    assert_eq!(k, ErrorKind::FileChanged);
    assert_eq!(names(&mut c), vec!["agg0"]);
    assert_eq!(std::fs::read_to_string(&real).unwrap(), edited);
    // A temporary change is not written: allowed.
    c.modify_aggr("agg0", l2, true).unwrap();
    assert_eq!(policy(&mut c, "agg0").as_deref(), Some("L2"));
    assert_eq!(std::fs::read_to_string(&real).unwrap(), edited);

    // The reload applies the edit (agg1 created) and makes agg0 what the file says again,
    // saying that it undid the temporary change.
    let msg = c.reload().unwrap();
    println!("reload: {msg}");
    assert!(
        msg.contains("temporary changes undone, as the file has them: agg0 (changed with -t)"),
        "{msg}"
    );
    // Each aggregation's change is in the answer, not only in the events.
    assert!(msg.contains("agg1 created"), "{msg}");
    assert!(msg.contains(" on agg0 (agg0 "), "{msg}");
    assert_eq!(names(&mut c), vec!["agg0", "agg1"]);
    assert_eq!(policy(&mut c, "agg0"), None);
    assert!(!c.show_aggr(Some("agg0")).unwrap()[0].temporary);

    // An edit of comments only is no conflict, and the write-back keeps it.
    let mut commented = std::fs::read_to_string(&real).unwrap();
    commented.push_str("# a note added by hand\n");
    std::fs::write(&real, &commented).unwrap();
    c.delete_aggr("agg1", false).unwrap();
    let saved = std::fs::read_to_string(&real).unwrap();
    assert!(saved.contains("# a note added by hand"), "{saved}");
    assert!(saved.contains("# the operator's comment"), "{saved}");
    assert!(Config::parse(&saved).unwrap().get("agg1").is_none());
    let m = std::fs::metadata(&real).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 4242, 4343));

    // A file aggregation deleted with -t comes back with a reload, which says so.
    c.delete_aggr("agg0", true).unwrap();
    assert!(names(&mut c).is_empty());
    let msg = c.reload().unwrap();
    assert!(msg.contains("agg0 (deleted with -t)"), "{msg}");
    assert_eq!(names(&mut c), vec!["agg0"]);

    drop(c);
    d.signal("TERM");
    let st = d.wait_exit();
    assert!(st.success(), "exit {st}; log:\n{}", d.log_text());
}

#[test]
fn reload_keeps_the_running_state_unless_told() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new();
    let (host, h) = host(&mut net, "rl", 3);
    let (h1, h2, h3) = (h[0].as_str(), h[1].as_str(), h[2].as_str());
    let before_h1 = snapshot(&host, h1);
    let dir = TempDir::new("lagdrl");
    let good = static_toml("agg0", &[h1]);
    let mut d = Daemon::start(&host, &dir, "r", &good);
    let mut c = d.client();
    wait_for(&mut d, &mut c, "agg0", "agg0 up", |a| all_forwarding(a, 1));
    // A temporary aggregation beside the file's.
    c.create_aggr(static_spec("tmp0", &[h2]), true).unwrap();
    wait_for(&mut d, &mut c, "tmp0", "tmp0 up", |a| all_forwarding(a, 1));
    let running = |c: &mut lagd::client::Client| {
        (
            names(c),
            members(c, "agg0"),
            members(c, "tmp0"),
            c.show_aggr(Some("agg0")).unwrap()[0].spec.clone(),
        )
    };
    let state = running(&mut c);

    // Broken, empty, missing: refused, nothing changed, the reason given (also through
    // lagctl, whose exit status fails `systemctl reload`).
    for (what, file) in [
        ("a broken file", Some("[[aggregation]\nname = broken\n")),
        (
            "a file that does not validate",
            Some("[[aggregation]]\nname = \"agg0\"\n[[aggregation]]\nname = \"agg0\"\n"),
        ),
        ("an empty file", Some("")),
        (
            "a file with comments only",
            Some("# everything commented out\n"),
        ),
        ("a missing file", None),
    ] {
        match file {
            Some(t) => std::fs::write(&d.config, t).unwrap(),
            None => std::fs::remove_file(&d.config).unwrap(),
        }
        let (k, msg) = refusal(c.reload());
        assert_eq!(k, ErrorKind::InvalidConfig, "{what}: {msg}");
        println!("{what}: refused: {msg}");
        let (ok, out) = lagctl_reload(&d.socket, &[]);
        assert!(!ok, "{what}: lagctl reload succeeded: {out}");
        assert_eq!(running(&mut c), state, "{what} changed the running state");
    }
    for (file, says) in [(Some(""), "is empty"), (None, "is missing")] {
        match file {
            Some(t) => std::fs::write(&d.config, t).unwrap(),
            None => {
                let _ = std::fs::remove_file(&d.config);
            }
        }
        let (_, msg) = refusal(c.reload());
        for part in [says, "would delete agg0", "nothing changed", "--delete-all"] {
            assert!(msg.contains(part), "{part:?} not in {msg:?}");
        }
    }
    // SIGHUP with an empty file: the same refusal, in the log.
    std::fs::write(&d.config, "").unwrap();
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
    assert_eq!(running(&mut c), state);

    // --delete-all means it: the file's aggregations go (members restored), the temporary
    // one stays.
    let (ok, out) = lagctl_reload(&d.socket, &["--delete-all"]);
    assert!(ok, "lagctl reload --delete-all: {out}");
    println!("reload --delete-all: {}", out.trim());
    assert!(out.contains("temporary aggregations kept: tmp0"), "{out}");
    assert!(out.contains("agg0 deleted"), "{out}");
    assert_eq!(names(&mut c), vec!["tmp0"]);
    assert!(!link_exists(&host, "agg0"));
    assert_eq!(snapshot(&host, h1), before_h1, "agg0's member not restored");

    // A file that takes the temporary aggregation's link is refused, saying why.
    std::fs::write(&d.config, static_toml("agg0", &[h2])).unwrap();
    let (_, msg) = refusal(c.reload());
    assert!(msg.contains("tmp0") && msg.contains("temporary"), "{msg}");
    assert_eq!(names(&mut c), vec!["tmp0"]);

    // [daemon] applied by a reload; [dt] named as waiting for the next start.
    let port = 9470 + (std::process::id() % 20) as u16;
    assert!(scrape(&host, port).is_err(), "something listens on {port}");
    std::fs::write(
        &d.config,
        format!(
            "[daemon]\nprometheus = \"127.0.0.1:{port}\"\nevent_history = 5\n\n[dt]\ndomain_id = 7\npeer_link = \"{h3}\"\nbridge = \"br-nothere\"\n\n{good}"
        ),
    )
    .unwrap();
    let msg = c.reload().unwrap();
    println!("reload with [daemon] and [dt]: {msg}");
    for part in [
        &format!("[daemon] prometheus = 127.0.0.1:{port} in force"),
        "[daemon] event_history = 5 in force",
        "[dt] bridge, domain_id, peer_link changed: in force at the next start",
        "temporary aggregations kept: tmp0",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg:?}");
    }
    assert_eq!(names(&mut c), vec!["agg0", "tmp0"]);
    let m = scrape(&host, port).unwrap();
    assert!(m.starts_with("HTTP/1.1 200") && m.contains("agg0"), "{m}");
    assert_eq!(c.events(false).unwrap().len(), 5);
    // Moved to another port: the old one closes.
    std::fs::write(
        &d.config,
        format!(
            "[daemon]\nprometheus = \"127.0.0.1:{}\"\n\n{good}",
            port + 100
        ),
    )
    .unwrap();
    let msg = c.reload().unwrap();
    assert!(msg.contains("event_history = 1024 in force"), "{msg}");
    assert!(
        scrape(&host, port + 100)
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        scrape(&host, port).is_err(),
        "the old endpoint still answers"
    );

    drop(c);
    d.signal("TERM");
    let st = d.wait_exit();
    assert!(st.success(), "exit {st}; log:\n{}", d.log_text());
}
