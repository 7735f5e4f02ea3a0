//! The per-ingress egress filter on a real Linux bridge, in throwaway namespaces. Needs root
//! (skips otherwise).

mod common;

use common::{no_ipv6, skip_unless_root};
use lagd_dataplane::egress_filter::EgressFilter;
use lagd_dataplane::netns::{self, TestNet};
use lagd_dataplane::{Netlink, Result};

fn ping(net: &TestNet, ns: &str, dst: &str) -> bool {
    net.exec(ns, &["ping", "-c", "1", "-W", "1", dst]).is_ok()
}

fn ifindex(ns: &str, name: &str) -> u32 {
    let name = name.to_string();
    netns::run_in(ns, move || -> Result<u32> {
        Ok(Netlink::open()?.link_by_name(&name)?.ifindex)
    })
    .and_then(|r| r)
    .expect("ifindex")
}

/// A bridge with three ports P, X and Y, each leading to a host. With the filter on X's egress
/// for frames from P, P's host cannot reach X's (its ARP request never leaves through X) but
/// still reaches Y's, and Y's reaches X's; the filter counts what it dropped; switched off, P
/// reaches X and nothing is counted; on again, P does not; once dropped, the filter is gone and
/// P reaches X.
#[test]
fn frames_from_one_port_do_not_leave_through_the_filtered_one() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let sw = net.netns("efsw").expect("netns");
    let br = netns::unique_name("efbr");
    net.exec(&sw, &["ip", "link", "add", &br, "type", "bridge"])
        .expect("bridge");
    net.exec(&sw, &["ip", "link", "set", &br, "up"])
        .expect("up");
    let mut ports = Vec::new();
    for (i, tag) in ["p", "x", "y"].iter().enumerate() {
        let host = net.netns(&format!("efh{tag}")).expect("netns");
        // No IPv6: a host's own router solicitations and DAD probes would cross the filter at
        // moments of the kernel's choosing; the only frames are then the test's ARP and ping.
        no_ipv6(&net, &host);
        let (sw_end, host_end) = net
            .veth(&format!("ef{tag}"), Some(&sw), Some(&host))
            .expect("veth");
        net.exec(&sw, &["ip", "link", "set", &sw_end, "master", &br, "up"])
            .expect("port");
        let addr = format!("198.18.44.{}", i + 1);
        net.exec(
            &host,
            &["ip", "addr", "add", &format!("{addr}/24"), "dev", &host_end],
        )
        .expect("addr");
        net.exec(&host, &["ip", "link", "set", &host_end, "up"])
            .expect("up");
        ports.push((host, sw_end, addr));
    }
    let (hp, p, _) = &ports[0];
    let (hx, x, ax) = &ports[1];
    let (_, _, ay) = &ports[2];
    assert!(ping(&net, hp, ax), "no filter yet: P's host reaches X's");
    for (h, ..) in &ports {
        net.exec(h, &["ip", "neigh", "flush", "all"])
            .expect("flush");
    }
    let f = {
        let (x, p) = (ifindex(&sw, x), ifindex(&sw, p));
        netns::run_in(&sw, move || EgressFilter::drop_from(x, p, true))
            .and_then(|r| r)
            .expect("attach the filter")
    };
    assert_eq!(f.dropped().expect("counter"), 0);
    assert!(!ping(&net, hp, ax), "P's host must not reach X's");
    let dropped = f.dropped().expect("counter");
    assert!(dropped >= 1, "the filter counted {dropped}");
    assert!(ping(&net, hp, ay), "P's host still reaches Y's");
    assert!(ping(&net, hx, ay), "X's host reaches Y's");
    // Switched off (one map write, the program stays attached): P's host reaches X's; on
    // again: it does not.
    f.set_on(false).expect("switch off");
    assert!(!f.is_on().expect("state"));
    for (h, ..) in &ports {
        net.exec(h, &["ip", "neigh", "flush", "all"])
            .expect("flush");
    }
    let before = f.dropped().expect("counter");
    assert!(ping(&net, hp, ax), "filter off: P's host reaches X's");
    assert_eq!(
        f.dropped().expect("counter"),
        before,
        "nothing dropped while off"
    );
    f.set_on(true).expect("switch on");
    for (h, ..) in &ports {
        net.exec(h, &["ip", "neigh", "flush", "all"])
            .expect("flush");
    }
    assert!(
        !ping(&net, hp, ax),
        "filter on again: P's host must not reach X's"
    );
    drop(f);
    for (h, ..) in &ports {
        net.exec(h, &["ip", "neigh", "flush", "all"])
            .expect("flush");
    }
    assert!(
        ping(&net, hp, ax),
        "filter detached: P's host reaches X's again"
    );
}
