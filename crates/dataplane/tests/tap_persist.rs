//! A persistent TAP outlives its process with its addresses, routes and neighbours, is
//! re-attached by name or through an inherited descriptor, and only one process holds it.
//! Needs root (skips otherwise).

mod common;

use common::skip_unless_root;
use lagd_dataplane::netns::{self, TestNet, ns_cmd};
use lagd_dataplane::{Error, Tap};
use lagd_types::MacAddr;
use std::os::fd::OwnedFd;

#[test]
fn persistent_tap_survives_and_is_taken_back() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let ns = net.netns("dpp").expect("netns");
    let name = netns::unique_name("dpptap");
    let mac = MacAddr([0x02, 0, 0x5e, 0, 7, 1]);
    let sh = |args: &[&str]| ns_cmd(&ns, args).unwrap_or_else(|e| format!("{e}"));
    let n = name.clone();
    netns::run_in(&ns, move || -> lagd_dataplane::Result<()> {
        let tap = Tap::create_persistent(&n, mac, 1400)?;
        tap.set_up(true)?;
        tap.set_carrier(true)?;
        ns_cmd_here(&["ip", "addr", "add", "198.18.77.1/24", "dev", &n]);
        ns_cmd_here(&[
            "ip",
            "neigh",
            "add",
            "198.18.77.2",
            "lladdr",
            "02:00:00:00:77:02",
            "dev",
            &n,
            "nud",
            "reachable",
        ]);
        // A second instance cannot take it while this one holds it.
        assert!(matches!(Tap::attach(&n), Err(Error::Link { .. })));
        // The process "dies": the descriptor goes, the device stays.
        drop(tap);
        Ok(())
    })
    .and_then(|r| r)
    .expect("create");
    let link = sh(&["ip", "link", "show", &name]);
    assert!(
        link.contains("NO-CARRIER") && link.contains("mtu 1400"),
        "{link}"
    );
    assert!(link.contains(&mac.to_string()), "{link}");
    assert!(sh(&["ip", "addr", "show", "dev", &name]).contains("198.18.77.1/24"));
    assert!(sh(&["ip", "route"]).contains("198.18.77.0/24"));
    let neigh = sh(&["ip", "neigh", "show", "dev", &name]);
    assert!(
        neigh.contains("02:00:00:00:77:02"),
        "neighbour flushed: {neigh}"
    );

    // The next instance re-attaches by name; then hands its descriptor on (an exec).
    let n = name.clone();
    netns::run_in(&ns, move || -> lagd_dataplane::Result<()> {
        let tap = Tap::attach(&n)?;
        tap.set_carrier(true)?;
        let fd: OwnedFd = std::os::fd::AsFd::as_fd(&tap)
            .try_clone_to_owned()
            .expect("dup");
        let again = Tap::from_fd(fd, &n)?;
        assert_eq!(again.ifindex(), tap.ifindex());
        let other: OwnedFd = std::os::fd::AsFd::as_fd(&tap)
            .try_clone_to_owned()
            .expect("dup");
        assert!(Tap::from_fd(other, "notours0").is_err());
        drop(tap);
        // Released: no longer persistent, it goes with its last descriptor.
        again.set_persistent(false)?;
        drop(again);
        Ok(())
    })
    .and_then(|r| r)
    .expect("re-attach");
    assert!(
        sh(&["ip", "link", "show", &name]).contains("does not exist"),
        "TAP left behind"
    );
    // Nothing to attach to now.
    let n = name.clone();
    let r = netns::run_in(&ns, move || Tap::attach(&n).map(|_| ())).expect("thread");
    assert!(matches!(r, Err(Error::NoSuchInterface(_))), "{r:?}");
}

fn ns_cmd_here(args: &[&str]) {
    let (prog, rest) = args.split_first().expect("a command");
    netns::cmd(prog, rest).expect("command");
}
