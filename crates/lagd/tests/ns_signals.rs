//! SIGINT stops lagd like SIGTERM (covered by two_hosts.rs): every member restored exactly,
//! the TAP and the control socket removed, exit status 0.
//!
//! Needs root (skipped otherwise, failed when `CI` is set).

mod common;

use common::*;

#[test]
fn sigint_restores_members_and_exits_cleanly() {
    if !root_or_skip("sigint_restores_members_and_exits_cleanly") {
        return;
    }
    let mut net = lagd_dataplane::netns::TestNet::new();
    let a = net.netns("nsiA").unwrap();
    let b = net.netns("nsiB").unwrap();
    let (a1, b1) = net.veth("ni", Some(&a), Some(&b)).unwrap();
    let (a2, b2) = net.veth("ni", Some(&a), Some(&b)).unwrap();
    let members = [(&a, &a1), (&a, &a2), (&b, &b1), (&b, &b2)];
    let before: Vec<IfSnapshot> = members.iter().map(|(ns, d)| snapshot(ns, d)).collect();
    let dir = TempDir::new("nsint");
    let la = vec![a1.clone(), a2.clone()];
    let lb = vec![b1.clone(), b2.clone()];
    let mut da = Daemon::start(&a, &dir, "a", &lacp_config(&la, "mtu = 9000"));
    let mut db = Daemon::start(&b, &dir, "b", &lacp_config(&lb, "mtu = 9000"));
    let mut ca = da.client();
    let mut cb = db.client();
    wait_both_forwarding((&mut da, &mut ca), (&mut db, &mut cb), 2);
    let during = snapshot(&a, &a1);
    assert_eq!(during.mtu, 9000);
    assert_eq!(during.rp_filter, "1");
    drop(ca);
    drop(cb);
    stop_cleanly("INT", &mut [("A", &mut da), ("B", &mut db)]);
    assert!(
        !link_exists(&a, AGGR) && !link_exists(&b, AGGR),
        "TAP left behind"
    );
    assert!(
        !exists(&da.socket) && !exists(&db.socket),
        "socket left behind"
    );
    let after: Vec<IfSnapshot> = members.iter().map(|(ns, d)| snapshot(ns, d)).collect();
    assert_eq!(before, after, "members not restored exactly");
}
