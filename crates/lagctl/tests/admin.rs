//! `lagctl` against running `lagd`s in network namespaces: golden outputs of every show verb
//! (table and JSON), persistence across a restart, bad inputs refused with nothing changed,
//! `diagnose` on a static switch and on a healthy aggregation, `import ifupdown` of seed 000's
//! stanza, `monitor` in line mode and `state dump`.
//!
//! Needs root (skipped otherwise, unless CI is set). Nothing asserts on elapsed time.

mod common;

use common::*;

const MAC_A: &str = "02:00:00:00:0a:01";
const MAC_B: &str = "02:00:00:00:0b:01";

/// Host A and B with a LACP aggregation `aggr1` of eth1, eth2 on each, formed.
fn formed_pair(dir: &TempDir) -> (Hosts, Daemon, Daemon) {
    let (a, b) = (
        create_aggr1(&["-u", MAC_A, "-P", "L4"]),
        create_aggr1(&["-u", MAC_B, "-P", "L4"]),
    );
    let (h, mut da, mut db) = pair_with(dir, 2, [&a, &b]);
    wait_forwarding(&mut da, &mut db, 2);
    (h, da, db)
}

/// What a refused change must leave as it was: `show-aggr -x -p`, `show-link` and the file.
fn state(d: &Daemon) -> (String, String, String) {
    (
        ok(&d.lagctl(&["show-aggr", "-x", "-p"]), "show-aggr"),
        ok(&d.lagctl(&["show-link"]), "show-link"),
        std::fs::read_to_string(&d.config).unwrap(),
    )
}

/// Runs `lagctl ARGS`, which must exit with `code`, say `msg` on stderr and leave the
/// [`state`] as `before`.
fn refused(
    d: &Daemon,
    args: &[&str],
    code: i32,
    msg: &str,
    before: &(String, String, String),
) -> Out {
    let o = d.lagctl(args);
    assert_eq!(o.code, code, "lagctl {}: {o:?}", args.join(" "));
    assert!(
        o.stderr.contains(msg),
        "lagctl {}: stderr {:?} does not contain {msg:?}",
        args.join(" "),
        o.stderr
    );
    assert_eq!(
        &state(d),
        before,
        "lagctl {} changed the state",
        args.join(" ")
    );
    o
}

/// Sends SIGHUP to lagd and waits (bounded) until its log says the reload was refused.
fn hup_refused(d: &Daemon) {
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status();
    let start = std::time::Instant::now();
    while !d.log_text().contains("reload refused") {
        assert!(start.elapsed() < PATIENCE, "no reload: {}", d.log_text());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs lagd under `ip netns exec NETNS_AND_PREFIX...` on `config`, which it must refuse to
/// start on: its standard error.
fn lagd_refuses(
    netns_and_prefix: &[&str],
    config: &std::path::Path,
    socket: &std::path::Path,
) -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec"])
        .args(netns_and_prefix)
        .arg(lagd_bin())
        .arg("--config")
        .arg(config)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mask_json_counters(text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    // Counters, and the Aggregator id (the port that selected it first).
                    let counter = [
                        "ipackets",
                        "rbytes",
                        "ierrors",
                        "opackets",
                        "obytes",
                        "oerrors",
                        "pct_ipkts",
                        "pct_opkts",
                        "aggregator",
                    ]
                    .contains(&k.as_str());
                    if counter && x.is_number() {
                        *x = serde_json::Value::from("N");
                    } else if k == "fast_path" {
                        // The kernel fast path's counters move with the traffic.
                        if let Some(o) = x.as_object_mut() {
                            for n in o.values_mut().filter(|n| n.is_number()) {
                                *n = serde_json::Value::from("N");
                            }
                        }
                    } else {
                        walk(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn show_verbs_match_golden_outputs() {
    if !can_run("show_verbs_match_golden_outputs") {
        return;
    }
    let dir = TempDir::new("lcgold");
    let (h, da, _db) = formed_pair(&dir);
    // A little traffic so the counters move.
    h.net
        .exec(
            &h.a,
            &["ip", "addr", "add", "198.18.7.1/24", "dev", "aggr1"],
        )
        .unwrap();
    h.net
        .exec(
            &h.b,
            &["ip", "addr", "add", "198.18.7.2/24", "dev", "aggr1"],
        )
        .unwrap();
    let _ = h.net.exec(
        &h.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "3", "198.18.7.2"],
    );

    let table: &[(&str, &[&str])] = &[
        ("show-aggr.txt", &["show-aggr"]),
        ("show-aggr-L.txt", &["show-aggr", "-L", "aggr1"]),
        (
            "show-aggr-p.txt",
            &["show-aggr", "-p", "-o", "device,address,speed,state"],
        ),
        (
            "show-aggr-L-p.txt",
            &["show-aggr", "-L", "-p", "-o", "device,sync,dist"],
        ),
        ("show-link.txt", &["show-link"]),
    ];
    for (file, args) in table {
        golden(file, &ok(&da.lagctl(args), &args.join(" ")));
    }
    let json: &[(&str, &[&str])] = &[
        ("show-aggr.json", &["show-aggr", "--json"]),
        ("show-aggr-L.json", &["show-aggr", "-L", "--json"]),
        ("show-link.json", &["show-link", "--json"]),
    ];
    for (file, args) in json {
        let text = ok(&da.lagctl(args), &args.join(" "));
        schema::check_text(&text, &args.join(" "));
        golden(file, &text);
    }
    // Extended: the Aggregator id depends on which port selected first; masked.
    let x = ok(&da.lagctl(&["show-aggr", "-x"]), "show-aggr -x");
    let x: String = collapse(&x)
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if l.starts_with("eth") && f.len() == 19 {
                f[14] = "A";
                f[15] = "C";
            }
            if l.starts_with("kernel fast path") {
                // Its counters move with the traffic.
                return mask_numbers(l) + "\n";
            }
            f.join(" ") + "\n"
        })
        .collect();
    golden("show-aggr-x.txt", &x);
    let xj = ok(&da.lagctl(&["show-aggr", "-x", "--json"]), "-x --json");
    schema::check_text(&xj, "show-aggr -x --json");
    golden("show-aggr-x.json", &mask_json_counters(&xj));
    // Statistics: counters masked.
    let stats: &[(&str, &[&str])] = &[
        ("show-aggr-s.txt", &["show-aggr", "-s"]),
        ("show-link-s.txt", &["show-link", "-s", "aggr1"]),
        (
            "show-aggr-s-i.txt",
            &["show-aggr", "-s", "-i", "1", "-c", "2"],
        ),
    ];
    for (file, args) in stats {
        // Interval blocks start with their time (`Dec 07 01:50:12 2026`): the month masked too.
        let text = ok(&da.lagctl(args), &args.join(" "));
        let months = [
            "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ",
            "Dec ",
        ];
        let text: String = text
            .lines()
            .map(|l| match months.iter().find(|m| l.starts_with(*m)) {
                Some(m) => format!("Mon {}\n", &l[m.len()..]),
                None => format!("{l}\n"),
            })
            .collect();
        golden(file, &collapse(&mask_numbers(&text)));
    }
    let stats_json: &[(&str, &[&str])] = &[
        ("show-aggr-s.json", &["show-aggr", "-s", "--json"]),
        ("show-link-s.json", &["show-link", "-s", "--json"]),
    ];
    for (file, args) in stats_json {
        let text = ok(&da.lagctl(args), &args.join(" "));
        schema::check_text(&text, &args.join(" "));
        golden(file, &mask_json_counters(&text));
    }
    // -o selects the row fields, the document stays valid.
    let args = ["show-aggr", "-L", "-o", "device,sync", "--json"];
    schema::check_text(&ok(&da.lagctl(&args), "-o --json"), &args.join(" "));
    // The counters themselves: the pings went through the aggregate.
    let s = ok(
        &da.lagctl(&["show-link", "-s", "-p", "-o", "link,opackets"]),
        "show-link",
    );
    let agg_out: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("aggr1:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(agg_out >= 3, "{s}");

    // The socket given before the verb (as `ip -n NS`, `ovs-appctl -t`), over LAGD_SOCKET; one
    // given after the verb wins over it.
    let sock = da.socket.to_str().unwrap();
    let wrong = std::path::Path::new("/nonexistent/lagd.sock");
    for args in [
        &["--socket", sock, "show-aggr", "-p", "-o", "device,state"][..],
        &[
            "--socket",
            "/nonexistent/x.sock",
            "show-aggr",
            "--socket",
            sock,
            "-p",
            "-o",
            "device,state",
        ],
        &["--socket", sock, "state", "dump"],
    ] {
        let o = lagctl_in(&da.ns, wrong, args, None);
        assert_eq!(o.code, 0, "lagctl {}: {o:?}", args.join(" "));
        assert!(
            o.stdout.contains("eth1") || o.stdout.contains("aggr1"),
            "{o:?}"
        );
    }
    let o = lagctl_in(&da.ns, wrong, &["show-aggr"], None);
    assert!(
        o.code != 0 && o.stderr.contains("/nonexistent/lagd.sock"),
        "{o:?}"
    );

    // Healthy aggregation: diagnose says so, exit 0.
    let d = da.lagctl(&["diagnose", "aggr1"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(d.stdout, "aggr1: healthy\n");

    // State dump: one JSON document with the aggregation and the configuration.
    let dump = ok(&da.lagctl(&["state", "dump"]), "state dump");
    schema::check_text(&dump, "state dump");
    let dump: serde_json::Value = serde_json::from_str(&dump).unwrap();
    assert_eq!(dump["aggregations"][0]["name"], "aggr1");
    assert_eq!(dump["config"]["aggregation"][0]["name"], "aggr1");

    // Monitor, not on a terminal: one block per interval.
    let m = ok(&da.lagctl(&["monitor", "aggr1", "1", "-c", "2"]), "monitor");
    assert_eq!(
        m.matches("(Aggregate Throughput(Mb/sec):").count(),
        2,
        "{m}"
    );
    assert!(m.contains("eth1") && m.contains("active"), "{m}");
}

#[test]
fn changes_persist_across_a_restart_and_temporary_ones_do_not() {
    if !can_run("changes_persist_across_a_restart_and_temporary_ones_do_not") {
        return;
    }
    let h = Hosts::new(3);
    let dir = TempDir::new("lcpers");
    let mut d = Daemon::start(
        &h.a,
        &dir,
        "a",
        Some("# Rack 12: written by hand, keep this comment.\n"),
    );
    ok(
        &d.lagctl(&["create-aggr", "-l", "eth1", "-l", "eth2", "aggr1"]),
        "create",
    );
    ok(
        &d.lagctl(&["create-aggr", "-t", "-l", "eth3", "tmp1"]),
        "create -t",
    );
    ok(&d.lagctl(&["modify-aggr", "-P", "L2", "aggr1"]), "modify");
    ok(
        &d.lagctl(&["modify-aggr", "-t", "-T", "long", "aggr1"]),
        "modify -t",
    );
    ok(
        &d.lagctl(&["remove-aggr", "-t", "-l", "eth2", "aggr1"]),
        "remove -t",
    );
    let before = ok(&d.lagctl(&["show-aggr", "-L", "aggr1"]), "show");
    assert!(before.contains("LACP timer: long"), "{before}");
    assert!(before.contains("(temporary changes)"), "{before}");
    let file = std::fs::read_to_string(&d.config).unwrap();
    assert!(
        file.contains("name = \"aggr1\"") && !file.contains("tmp1"),
        "{file}"
    );
    assert!(
        file.contains("policy = \"L2\"") && !file.contains("long"),
        "{file}"
    );
    assert!(file.contains("# Rack 12: written by hand"), "{file}");

    d.stop();
    let d = Daemon::start(&h.a, &dir, "a", None);
    let after = ok(&d.lagctl(&["show-aggr", "-L"]), "show after restart");
    assert!(
        after.contains("aggr1: key: 1 (0x0001) policy: L2"),
        "{after}"
    );
    assert!(after.contains("LACP timer: short"), "{after}");
    assert!(after.contains("eth1") && after.contains("eth2"), "{after}");
    assert!(!after.contains("tmp1"), "{after}");
    assert!(!after.contains("temporary"), "{after}");

    // delete -t keeps it in the file; delete removes it.
    ok(&d.lagctl(&["delete-aggr", "-t", "aggr1"]), "delete -t");
    assert!(
        std::fs::read_to_string(&d.config)
            .unwrap()
            .contains("aggr1")
    );
    ok(
        &d.lagctl(&["create-aggr", "-t", "-l", "eth1", "aggr1"]),
        "again",
    );
    ok(&d.lagctl(&["delete-aggr", "aggr1"]), "delete");
    assert!(
        !std::fs::read_to_string(&d.config)
            .unwrap()
            .contains("aggr1")
    );
}

#[test]
fn offload_is_switched_live_and_shown() {
    if !can_run("offload_is_switched_live_and_shown") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("lcoff");
    let d = Daemon::start(&h.a, &dir, "a", Some(""));
    ok(
        &d.lagctl(&create_aggr1(&["--offload", "on"])),
        "create --offload on",
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show -x");
    assert!(x.contains("kernel fast path: "), "{x}");
    let file = std::fs::read_to_string(&d.config).unwrap();
    assert!(file.contains("offload = \"on\""), "{file}");
    ok(
        &d.lagctl(&["modify-aggr", "--offload", "off", "aggr1"]),
        "modify --offload off",
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show -x");
    assert!(x.contains("kernel fast path: off (offload = off)"), "{x}");
    ok(
        &d.lagctl(&["modify-aggr", "--offload", "auto", "aggr1"]),
        "modify --offload auto",
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show -x");
    assert!(x.contains("kernel fast path: on ("), "{x}");
    let bad = d.lagctl(&["modify-aggr", "--offload", "maybe", "aggr1"]);
    assert_ne!(bad.code, 0, "{bad:?}");
    // Every policy has the kernel path now, L3 alone too.
    ok(
        &d.lagctl(&["modify-aggr", "-P", "L3", "aggr1"]),
        "modify -P L3",
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show -x");
    assert!(x.contains("kernel fast path: on ("), "{x}");
}

/// Where the kernel refuses the programs (simulated: `LAGD_BPF_ATTACH=none`), `auto` falls back
/// to the user-space path and says why (show-aggr -x, --json, diagnose with the fix), and `on`
/// fails loudly.
#[test]
fn offload_falls_back_and_says_why() {
    if !can_run("offload_falls_back_and_says_why") {
        return;
    }
    let h = Hosts::new(3);
    let dir = TempDir::new("lcofb");
    let d = Daemon::start_env(&h.a, &dir, "a", Some(""), &[("LAGD_BPF_ATTACH", "none")]);
    ok(
        &d.lagctl(&["create-aggr", "-l", "eth1", "-l", "eth2", "aggr1"]),
        "create (offload auto)",
    );
    let x = ok(&d.lagctl(&["show-aggr", "-x", "aggr1"]), "show -x");
    assert!(
        x.contains("kernel fast path: off (offload = auto)")
            && x.contains("user-space path because")
            && x.contains("LAGD_BPF_ATTACH=none")
            && x.contains("fix:"),
        "{x}"
    );
    let j = ok(&d.lagctl(&["show-aggr", "-x", "--json", "aggr1"]), "--json");
    schema::check_text(&j, "show-aggr -x --json (user-space path)");
    assert!(j.contains("\"reason\"") && j.contains("\"fix\""), "{j}");
    let diag = d.lagctl(&["diagnose", "aggr1"]);
    assert!(
        diag.stdout.contains("kernel fast path is not running") && diag.stdout.contains("tcx"),
        "{diag:?}"
    );
    let on = d.lagctl(&["create-aggr", "--offload", "on", "-l", "eth3", "aggr2"]);
    assert_ne!(on.code, 0, "{on:?}");
    assert!(on.stderr.contains("offload = on"), "{on:?}");
}

#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    if !can_run("bad_inputs_are_refused_and_change_nothing") {
        return;
    }
    let h = Hosts::new(4);
    let dir = TempDir::new("lcbad");
    let d = Daemon::start(&h.a, &dir, "a", Some(""));
    ok(&d.lagctl(&create_aggr1(&["-u", MAC_A])), "create");
    h.net
        .exec(&h.a, &["ip", "addr", "add", "198.18.9.1/24", "dev", "eth3"])
        .unwrap();
    let before = state(&d);
    let bad_ifupdown = dir.path("bad.interfaces");
    std::fs::write(
        &bad_ifupdown,
        "iface bond0 inet manual\n bond-mode 9\n bond-slaves eth4\n",
    )
    .unwrap();
    let bad_ifupdown = bad_ifupdown.to_str().unwrap().to_string();
    // (args, expected exit status, fragment of stderr)
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["create-aggr", "-l", "nosuch0", "aggr2"],
            1,
            "unknown link `nosuch0`: no such interface",
        ),
        (
            vec!["create-aggr", "-l", "eth1", "aggr2"],
            1,
            "link `eth1` is already a member of aggregation `aggr1`",
        ),
        (
            vec!["add-aggr", "-l", "eth1", "aggr1"],
            1,
            "link `eth1` is already a member of aggregation `aggr1`",
        ),
        (
            vec!["create-aggr", "-l", "eth3", "aggr2"],
            1,
            "has the global address 198.18.9.1",
        ),
        (
            vec!["create-aggr", "-l", "aggr2", "aggr2"],
            1,
            "the aggregate `aggr2` cannot be its own member",
        ),
        (
            vec!["add-aggr", "-l", "aggr1", "aggr1"],
            1,
            "the aggregate `aggr1` cannot be its own member",
        ),
        (
            vec!["create-aggr", "-u", "02:00:00:00:00", "-l", "eth4", "aggr2"],
            2,
            "invalid MAC address \"02:00:00:00:00\"",
        ),
        (
            vec![
                "create-aggr",
                "-u",
                "01:00:5e:00:00:01",
                "-l",
                "eth4",
                "aggr2",
            ],
            2,
            "01:00:5e:00:00:01 is not a unicast address",
        ),
        (
            vec!["create-aggr", "-P", "L3,L5", "-l", "eth4", "aggr2"],
            2,
            "unknown hash policy layer \"L5\"",
        ),
        (
            vec!["modify-aggr", "-P", "L4,l4", "aggr1"],
            2,
            "given twice",
        ),
        (
            vec!["create-aggr", "-l", "eth4", "aggr1"],
            1,
            "aggregation `aggr1` already exists",
        ),
        (
            vec!["create-aggr", "aggr2"],
            2,
            "give at least one member link",
        ),
        (vec!["modify-aggr", "aggr1"], 2, "nothing to change"),
        (
            vec!["modify-aggr", "--mtu", "20", "aggr1"],
            1,
            "aggregation `aggr1`: --mtu: 20 is out of range",
        ),
        (
            vec![
                "modify-aggr",
                "--max-active",
                "1",
                "--min-links",
                "2",
                "aggr1",
            ],
            1,
            "--max-active: 1 is below --min-links 2",
        ),
        (
            vec!["remove-aggr", "-l", "eth4", "aggr1"],
            1,
            "link `eth4` is not a member of aggregation `aggr1`",
        ),
        (
            vec!["delete-aggr", "nosuch"],
            1,
            "no aggregation named `nosuch`",
        ),
        (
            vec!["show-aggr", "-p", "-o", "device,bogus"],
            2,
            "unknown field `bogus`: valid fields are aggregation,device,address,speed,duplex,link,state",
        ),
        (
            vec!["import", "ifupdown", &bad_ifupdown, "--apply"],
            1,
            "bond-mode: unknown mode `9`",
        ),
        (
            vec!["create-aggr", "-m", "bond", "-l", "eth4", "aggr2"],
            2,
            "invalid value 'bond' for '--mode <MODE>'",
        ),
    ];
    for (args, code, msg) in &cases {
        let o = refused(&d, args, *code, msg, &before);
        assert!(o.stdout.is_empty(), "lagctl {}: {o:?}", args.join(" "));
    }
    // A caller who is not root: refused before anything is sent, and the socket is 0600.
    let o = lagctl_in(&h.a, &d.socket, &["delete-aggr", "aggr1"], Some(65534));
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stderr
            .contains("delete-aggr: must be run as root (effective uid 65534)"),
        "{o:?}"
    );
    let o = lagctl_in(&h.a, &d.socket, &["show-aggr"], Some(65534));
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("permission denied"), "{o:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(state(&d), before);

    // A configuration file with a syntax error: lagd refuses to start, naming the line.
    let broken = dir.path("broken.toml");
    std::fs::write(&broken, "[[aggregation]\nname = \"x\"\n").unwrap();
    let err = lagd_refuses(&[&h.a], &broken, &dir.path("broken.sock"));
    assert!(err.contains("TOML parse error"), "{err}");
    assert_eq!(state(&d), before);
    // The same error in the running daemon's file, then SIGHUP: the reload is refused.
    std::fs::write(&d.config, "[[aggregation]\nname = \"x\"\n").unwrap();
    hup_refused(&d);
    let after = state(&d);
    assert_eq!((&after.0, &after.1), (&before.0, &before.1));
    // No daemon at all: a clear message.
    let o = lagctl_in(&h.a, &dir.path("none.sock"), &["show-aggr"], None);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("cannot connect to lagd at"), "{o:?}");
}

/// Issue 11: interfaces that cannot be Ethernet links are refused as members, with a clear
/// error and nothing changed: by create-aggr, add-aggr, at start and on reload.
#[test]
fn members_that_are_not_ethernet_links_are_refused() {
    if !can_run("members_that_are_not_ethernet_links_are_refused") {
        return;
    }
    let h = Hosts::new(4);
    let dir = TempDir::new("lcelig");
    let d = Daemon::start(&h.a, &dir, "a", Some(""));
    ok(
        &d.lagctl(&["create-aggr", "-l", "eth1", "-u", MAC_A, "aggr1"]),
        "create",
    );
    for cmd in [
        vec!["ip", "link", "add", "br0", "type", "bridge"],
        vec!["ip", "link", "set", "eth3", "master", "br0"],
        vec!["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"],
        // Another lagd's aggregate is a TAP like this one.
        vec!["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"],
    ] {
        h.net.exec(&h.a, &cmd).unwrap();
    }
    let before = state(&d);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["create-aggr", "-l", "eth2", "-l", "lo", "aggr2"],
            "aggregation `aggr2`: links: `lo` is the loopback device",
        ),
        (
            vec!["add-aggr", "-l", "lo", "aggr1"],
            "`lo` is the loopback device",
        ),
        (
            vec!["create-aggr", "-l", "aggr1", "aggr2"],
            "the aggregate is named like a member link of aggregation `aggr2`",
        ),
        (
            vec!["add-aggr", "-l", "tap0", "aggr1"],
            "`tap0` is a TAP device",
        ),
        (
            vec!["add-aggr", "-l", "br0", "aggr1"],
            "`br0` is a bridge device",
        ),
        (
            vec!["add-aggr", "-l", "eth3", "aggr1"],
            "`eth3` is a port of `br0`",
        ),
        (
            vec!["create-aggr", "-l", "tun0", "aggr2"],
            "`tun0` is not an Ethernet link",
        ),
    ];
    for (args, msg) in &cases {
        refused(&d, args, 1, msg, &before);
    }
    // The same in the configuration file: the reload is refused, and so is a start.
    let text = format!(
        "[[aggregation]]\nname = \"aggr1\"\nlinks = [\"eth1\", \"lo\"]\nmac = \"{MAC_A}\"\n"
    );
    let saved = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, &text).unwrap();
    hup_refused(&d);
    assert!(
        d.log_text().contains("`lo` is the loopback device"),
        "{}",
        d.log_text()
    );
    std::fs::write(&d.config, &saved).unwrap();
    assert_eq!(state(&d), before);
    let conf = dir.path("lo.toml");
    std::fs::write(&conf, &text).unwrap();
    let err = lagd_refuses(&[&h.b, "timeout", "60"], &conf, &dir.path("lo.sock"));
    assert!(err.contains("`lo` is the loopback device"), "{err}");
}

/// Issue 11: two members of one lagd cabled to each other (a veth pair with both ends in the
/// same aggregation) never form an aggregate with lagd itself, and `diagnose` says what is
/// cabled wrong.
#[test]
fn members_cabled_to_each_other_are_a_loop_and_diagnosed() {
    if !can_run("members_cabled_to_each_other_are_a_loop_and_diagnosed") {
        return;
    }
    let mut h = Hosts::new(0);
    let (x, y) = h.net.veth("lcl", Some(&h.a), Some(&h.a)).unwrap();
    for (dev, name) in [(&x, "lp1"), (&y, "lp2")] {
        h.net
            .exec(&h.a, &["ip", "link", "set", dev, "name", name])
            .unwrap();
    }
    let dir = TempDir::new("lcloop");
    let mut d = Daemon::start(&h.a, &dir, "a", Some(""));
    ok(
        &d.lagctl(&[
            "create-aggr",
            "-l",
            "lp1",
            "-l",
            "lp2",
            "-u",
            MAC_A,
            "aggr1",
        ]),
        "create-aggr",
    );
    let st = d.wait_for("aggr1", "the loop found on both members", |a| {
        a.members.len() == 2
            && a.members.iter().all(|m| {
                m.why_not_distributing
                    .as_deref()
                    .is_some_and(|w| w.contains("loopback"))
            })
    });
    assert!(!st.up);
    for m in &st.members {
        assert!(!m.collecting && !m.distributing, "{m:?}");
        assert!(
            m.counters["looped_lacpdus_rx"].as_u64().unwrap() > 0,
            "{m:?}"
        );
        let other = if m.port == 1 { 2 } else { 1 };
        assert!(
            m.why_not_distributing
                .as_deref()
                .unwrap()
                .contains(&format!("our own port {other}")),
            "{m:?}"
        );
    }
    let diag = d.lagctl(&["diagnose", "aggr1"]);
    assert_eq!(diag.code, 1, "{diag:?}");
    assert!(
        diag.stdout
            .contains("error [loopback]: lp1 is cabled to lp2, a member of this same aggregation"),
        "{}",
        diag.stdout
    );
    let j = d.lagctl(&["diagnose", "--json", "aggr1"]).stdout;
    schema::check_text(&j, "diagnose --json (loopback)");
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["findings"][0]["code"], "loopback", "{j}");
    let log = d.log_text();
    assert!(
        log.contains("loopback: this System's own LACPDUs arrive"),
        "{log}"
    );
    assert!(!log.contains("aggregate up"), "{log}");
}

#[test]
fn diagnose_finds_a_static_switch_and_the_fix_works() {
    if !can_run("diagnose_finds_a_static_switch_and_the_fix_works") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("lcdiag");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    // B is a static switch: no LACP. A runs LACP active (seed 004's outage, the other way).
    ok(
        &db.lagctl(&[
            "create-aggr",
            "-L",
            "off",
            "-l",
            "eth1",
            "-l",
            "eth2",
            "aggr1",
        ]),
        "create static",
    );
    ok(
        &da.lagctl(&["create-aggr", "-l", "eth1", "-l", "eth2", "aggr1"]),
        "create lacp",
    );
    db.wait_for("aggr1", "static side up", |a| all_forwarding(a, 2));
    da.wait_for("aggr1", "A defaulted", |a| {
        a.members.iter().all(|m| m.receive == "DEFAULTED")
    });
    let d = da.lagctl(&["diagnose", "aggr1"]);
    assert_eq!(d.code, 1, "{d:?}");
    assert!(d.stdout.contains("error [partner-no-lacp]"), "{}", d.stdout);
    assert!(
        d.stdout
            .contains("fix: or run a static trunk: lagctl modify-aggr -L off aggr1"),
        "{}",
        d.stdout
    );
    let j = da.lagctl(&["diagnose", "--json", "aggr1"]).stdout;
    schema::check_text(&j, "diagnose --json (static switch)");
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["healthy"], false);
    assert_eq!(j["findings"][0]["code"], "partner-no-lacp");

    // The suggested fix.
    ok(
        &da.lagctl(&["modify-aggr", "-L", "off", "aggr1"]),
        "modify -L off",
    );
    da.wait_for("aggr1", "A static", |a| all_forwarding(a, 2));
    let d = da.lagctl(&["diagnose", "aggr1"]);
    assert_eq!(
        (d.code, d.stdout.as_str()),
        (0, "aggr1: healthy\n"),
        "{d:?}"
    );
    // Unknown aggregation: exit 2.
    let d = da.lagctl(&["diagnose", "nosuch"]);
    assert_eq!(d.code, 2, "{d:?}");
}

#[test]
fn import_ifupdown_seed_000_forms_lacp_with_a_second_lagd() {
    if !can_run("import_ifupdown_seed_000_forms_lacp_with_a_second_lagd") {
        return;
    }
    let h = Hosts::new(2);
    let dir = TempDir::new("lcimp");
    let mut da = Daemon::start(&h.a, &dir, "a", Some(""));
    let mut db = Daemon::start(&h.b, &dir, "b", Some(""));
    // Seed 000's stanza, with its eth0/eth1 replaced by the test's links eth1/eth2.
    let seed = "auto bond0\niface bond0 inet dhcp\nbond-mode 4 (802.3ad)\nbond-miimon 100\nbond-lacp-rate 1\nbond-slaves eth0 eth1\n"
        .replace("eth1", "ethY")
        .replace("eth0", "eth1")
        .replace("ethY", "eth2");
    let file = dir.path("interfaces");
    std::fs::write(&file, seed).unwrap();
    let file = file.to_str().unwrap();
    let out_toml = dir.path("imported.toml");
    let o = da.lagctl(&["import", "ifupdown", file, "-o", out_toml.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr.contains("bond-miimon: no lagd setting (ignored)"),
        "{o:?}"
    );
    let toml = std::fs::read_to_string(&out_toml).unwrap();
    let cfg = lagd_control::config::Config::parse(&toml).unwrap();
    assert_eq!(cfg.aggregations[0].links, vec!["eth1", "eth2"]);

    ok(
        &da.lagctl(&["import", "ifupdown", file, "--apply"]),
        "import --apply",
    );
    ok(
        &db.lagctl(&["create-aggr", "-l", "eth1", "-l", "eth2", "aggr1"]),
        "create",
    );
    let a = da.wait_for("bond0", "imported aggregation forwarding", |a| {
        all_forwarding(a, 2)
    });
    assert!(a.members.iter().all(|m| m.actor.state.short_timeout()));
    db.wait_for("aggr1", "B forwarding", |a| all_forwarding(a, 2));
    let show = ok(&da.lagctl(&["show-aggr", "-L", "bond0"]), "show");
    assert!(
        show.contains("LACP mode: active LACP timer: short"),
        "{show}"
    );
    // Persisted: the imported aggregation is in lagd's configuration file.
    assert!(
        std::fs::read_to_string(&da.config)
            .unwrap()
            .contains("bond0")
    );
}
