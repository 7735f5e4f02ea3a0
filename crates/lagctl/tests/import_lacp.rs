//! An imported configuration at work: the Clear Linux documentation's networkd bond (four ports
//! of a quad-port NIC, 802.3ad, jumbo frames; crates/lagctl/tests/import/networkd/
//! clear-linux-quad-port) imported on host A (whose NIC ports are named as the guide's:
//! enp1s0f0..enp1s0f3) with `lagctl import networkd --write` into A's lagd configuration,
//! then lagd on A forms LACP with a second lagd on host B over the four links. Needs root.

mod common;

use std::path::Path;

use common::*;

#[test]
fn imported_networkd_bond_forms_lacp_with_a_second_lagd() {
    if !can_run("imported_networkd_bond_forms_lacp_with_a_second_lagd") {
        return;
    }
    let h = Hosts::new(4);
    for i in 1..=4 {
        h.net
            .exec(
                &h.a,
                &[
                    "ip",
                    "link",
                    "set",
                    &format!("eth{i}"),
                    "name",
                    &format!("enp1s0f{}", i - 1),
                ],
            )
            .unwrap();
    }
    let dir = TempDir::new("impl");
    let config_a = dir.path("a.toml");
    std::fs::write(
        &config_a,
        "# A's own settings, kept by import --write.\n[daemon]\nevent_history = 100\n",
    )
    .unwrap();
    let ex =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/networkd/clear-linux-quad-port");
    let files: Vec<String> = [
        "30-bond1.netdev",
        "30-bond1-enp1s0.network",
        "30-bond1.network",
    ]
    .iter()
    .map(|f| ex.join(f).display().to_string())
    .collect();
    let cfg = config_a.display().to_string();
    let mut args = vec!["import", "networkd"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--write", "--config", &cfg]);
    // Run in A's namespace: the Name=enp1s0f* glob is resolved with A's own interfaces.
    let sock = dir.path("none.sock");
    let out = lagctl_in(&h.a, &sock, &args, None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("added bond1 to"), "{out:?}");
    assert!(
        out.stderr.contains(
            "enp1s0f* matches enp1s0f0 enp1s0f1 enp1s0f2 enp1s0f3 on this host's interfaces"
        ),
        "{out:?}"
    );
    let written = std::fs::read_to_string(&config_a).unwrap();
    println!("{written}");
    assert!(
        written.starts_with("# A's own settings, kept by import --write."),
        "{written}"
    );
    // A second --write of the same bond changes nothing.
    let again = lagctl_in(&h.a, &sock, &args, None);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again
            .stderr
            .contains("already has an aggregation bond1: nothing written"),
        "{again:?}"
    );
    assert_eq!(std::fs::read_to_string(&config_a).unwrap(), written);

    let mut a = Daemon::start(&h.a, &dir, "a", None);
    let mut b = Daemon::start(
        &h.b,
        &dir,
        "b",
        Some(
            "[[aggregation]]\nname = \"bond1\"\nlinks = [\"eth1\", \"eth2\", \"eth3\", \"eth4\"]\nmode = \"lacp\"\nmtu = 9000\n",
        ),
    );
    let sa = a.wait_for("bond1", "A: 4 members forwarding", |s| all_forwarding(s, 4));
    let sb = b.wait_for("bond1", "B: 4 members forwarding", |s| all_forwarding(s, 4));
    for m in &sa.members {
        assert_eq!(m.partner.system.addr, sb.mac, "{}", m.name);
    }
    assert_eq!(sa.mtu, 9000);
    let link = h
        .net
        .exec(&h.a, &["ip", "-o", "link", "show", "bond1"])
        .unwrap();
    assert!(link.contains("mtu 9000"), "{link}");
    h.net
        .exec(
            &h.a,
            &["ip", "addr", "add", "198.18.0.1/24", "dev", "bond1"],
        )
        .unwrap();
    h.net
        .exec(
            &h.b,
            &["ip", "addr", "add", "198.18.0.2/24", "dev", "bond1"],
        )
        .unwrap();
    let ping = h.net.exec(
        &h.a,
        &["ping", "-c", "3", "-i", "0.2", "-W", "3", "198.18.0.2"],
    );
    assert!(ping.is_ok(), "{ping:?}\n{}", a.log_text());
    let show = a.lagctl(&["show-aggr", "-L", "bond1"]);
    println!("{}", show.stdout);
    assert_eq!(show.code, 0);
}
