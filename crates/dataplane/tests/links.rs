//! TAP, member take-over/restore and the link monitor, in throwaway network namespaces.
//! Needs root (skips otherwise).

mod common;

use common::{eventually, skip_unless_root};
use lagd_dataplane::netlink::{IFF_NOARP, IFF_UP};
use lagd_dataplane::netns::{self, TestNet, ns_cmd};
use lagd_dataplane::{
    Epoll, Error, Events, IfAddr, Interest, LinkEvent, LinkMonitor, Member, Netlink,
    TakeOverOptions, Tap, sysctl,
};
use lagd_types::MacAddr;
use std::os::fd::AsFd;
use std::time::Duration;

#[test]
fn tap_create_carrier_and_destroy() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let ns = net.netns("dpt").expect("netns");
    let name = netns::unique_name("dptap");
    let mac = MacAddr([0x02, 0, 0x5e, 0, 3, 1]);
    let tap = {
        let name = name.clone();
        netns::run_in(&ns, move || Tap::create(&name, mac, 1400))
            .and_then(|r| r)
            .expect("create TAP")
    };
    let show = || ns_cmd(&ns, &["ip", "link", "show", &name]).unwrap_or_default();
    let s = show();
    assert!(
        s.contains(&mac.to_string()) && s.contains("mtu 1400"),
        "{s}"
    );
    // Created down with carrier off; up shows NO-CARRIER until the carrier is switched on.
    let t = netns::run_in(&ns, move || -> lagd_dataplane::Result<Tap> {
        tap.set_up(true)?;
        Ok(tap)
    })
    .and_then(|r| r)
    .expect("set up");
    assert!(show().contains("NO-CARRIER"), "{}", show());
    t.set_carrier(true).expect("carrier on");
    assert!(
        eventually(40, || !show().contains("NO-CARRIER")),
        "{}",
        show()
    );
    let info = {
        let name = name.clone();
        netns::run_in(&ns, move || Netlink::open()?.link_by_name(&name))
            .and_then(|r| r)
            .expect("link info")
    };
    assert!(info.carrier && info.is_up());
    assert_eq!(info.mac, Some(mac));
    t.set_carrier(false).expect("carrier off");
    assert!(
        eventually(40, || show().contains("NO-CARRIER")),
        "{}",
        show()
    );
    drop(t);
    // Not persistent: the device is gone with its file descriptor.
    let gone = {
        let name = name.clone();
        netns::run_in(&ns, move || Netlink::open()?.link_by_name(&name)).expect("run")
    };
    assert!(matches!(gone, Err(Error::NoSuchInterface(_))), "{gone:?}");
}

/// An address as compared: `addr/prefix`, broadcast, scope, flags, label.
type AddrKey = (String, Option<std::net::Ipv4Addr>, u8, u32, Option<String>);

/// What restore must put back exactly.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    mac: Option<MacAddr>,
    mtu: u32,
    flags: u32,
    arp_ignore: i64,
    disable_ipv6: Option<i64>,
    addrs: Vec<AddrKey>,
}

fn snapshot(ns: &str, ifname: &str) -> Snapshot {
    let ifname = ifname.to_string();
    netns::run_in(ns, move || -> lagd_dataplane::Result<Snapshot> {
        let mut nl = Netlink::open()?;
        let l = nl.link_by_name(&ifname)?;
        let mut addrs: Vec<_> = nl
            .addresses(l.ifindex)?
            .into_iter()
            .filter(|a: &IfAddr| !a.is_ipv6() || a.scope != lagd_dataplane::netlink::RT_SCOPE_LINK)
            .map(|a| {
                (
                    a.to_string(),
                    a.broadcast,
                    a.scope,
                    a.flags,
                    a.label.clone(),
                )
            })
            .collect();
        addrs.sort();
        Ok(Snapshot {
            mac: l.mac,
            mtu: l.mtu,
            flags: l.flags & (IFF_UP | IFF_NOARP | lagd_dataplane::netlink::IFF_PROMISC),
            arp_ignore: sysctl::read_int(&sysctl::ipv4_conf(&ifname, "arp_ignore")?)?,
            disable_ipv6: sysctl::read_int_opt(&sysctl::ipv6_conf(&ifname, "disable_ipv6")?)?,
            addrs,
        })
    })
    .and_then(|r| r)
    .expect("snapshot")
}

#[test]
fn member_take_over_refuses_addresses_and_restores_exactly() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let ns = net.netns("dpm").expect("netns");
    let (a, b) = net.veth("dpm", Some(&ns), Some(&ns)).expect("veth");
    for cmd in [
        vec!["ip", "link", "set", a.as_str(), "mtu", "1400", "up"],
        vec!["ip", "link", "set", b.as_str(), "up"],
        vec![
            "ip",
            "addr",
            "add",
            "198.18.4.1/24",
            "brd",
            "+",
            "dev",
            a.as_str(),
        ],
        vec![
            "ip",
            "addr",
            "add",
            "198.18.5.1/25",
            "dev",
            a.as_str(),
            "label",
            "lbl",
        ],
    ] {
        let mut c = cmd.clone();
        if c.last() == Some(&"lbl") {
            c.pop();
            let lbl = format!("{a}:x");
            ns_cmd(&ns, &[c.as_slice(), &[lbl.as_str()]].concat()).expect("configure");
        } else {
            ns_cmd(&ns, &c).expect("configure");
        }
    }
    let before = snapshot(&ns, &a);
    assert_eq!(before.addrs.len(), 2, "{before:?}");
    assert!(
        before
            .addrs
            .iter()
            .any(|x| x.4.as_deref() == Some(&format!("{a}:x")[..])),
        "{before:?}"
    );

    // Refused without force, naming the interface and an address; nothing changed.
    let refused = {
        let a = a.clone();
        netns::run_in(&ns, move || {
            Member::take_over(&a, TakeOverOptions::default())
        })
        .expect("run")
    };
    match refused {
        Err(Error::MemberHasAddress { ifname, addr }) => {
            assert_eq!(ifname, a);
            assert!(addr == "198.18.4.1/24" || addr == "198.18.5.1/25", "{addr}");
        }
        other => panic!("expected refusal, got {other:?}"),
    }
    assert_eq!(snapshot(&ns, &a), before);

    // Forced: addresses removed, member settings applied.
    let mut m = {
        let a = a.clone();
        netns::run_in(&ns, move || {
            Member::take_over(
                &a,
                TakeOverOptions {
                    force: true,
                    mtu: Some(9000),
                },
            )
        })
        .and_then(|r| r)
        .expect("take over")
    };
    assert_eq!(m.removed_addresses().len(), 2);
    let during = snapshot(&ns, &a);
    assert_eq!(during.mtu, 9000);
    assert_eq!(during.flags & (IFF_UP | IFF_NOARP), IFF_UP | IFF_NOARP);
    assert_eq!(during.arp_ignore, 8);
    assert_eq!(during.disable_ipv6, Some(1));
    assert!(during.addrs.is_empty(), "{during:?}");
    assert_eq!(during.mac, before.mac);
    let speed = m.speed().expect("ethtool");
    assert_eq!((speed.mbps, speed.full_duplex), (10000, true), "veth speed");

    // Restore from this thread (another namespace): everything is back.
    m.restore().expect("restore");
    assert_eq!(snapshot(&ns, &a), before);
    m.restore().expect("restore is idempotent");
    drop(m);
    assert_eq!(snapshot(&ns, &a), before);

    // A down interface is brought up, and put back down by Drop.
    ns_cmd(&ns, &["ip", "link", "set", b.as_str(), "down"]).expect("down");
    let before_b = snapshot(&ns, &b);
    assert_eq!(before_b.flags & IFF_UP, 0);
    let mb = {
        let b = b.clone();
        netns::run_in(&ns, move || {
            Member::take_over(&b, TakeOverOptions::default())
        })
        .and_then(|r| r)
        .expect("take over b")
    };
    assert_eq!(snapshot(&ns, &b).flags & IFF_UP, IFF_UP);
    drop(mb);
    assert_eq!(snapshot(&ns, &b), before_b);
}

#[test]
fn link_monitor_reports_carrier_down_and_up() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let ns = net.netns("dpl").expect("netns");
    let (a, b) = net.veth("dpl", Some(&ns), Some(&ns)).expect("veth");
    ns_cmd(&ns, &["ip", "link", "set", a.as_str(), "up"]).expect("a up");
    let ns2 = ns.clone();
    let a2 = a.clone();
    let events = netns::run_in(&ns, move || -> lagd_dataplane::Result<Vec<LinkEvent>> {
        let mut mon = LinkMonitor::open()?;
        let ep = Epoll::new()?;
        ep.add(mon.as_fd(), 1, Interest::Read)?;
        let mut evs = Events::with_capacity(4);
        let mut out = Vec::new();
        let ifindex = Netlink::open()?.link_by_name(&a2)?.ifindex;
        // Wait (bounded, no timing asserted) until an event for `a` satisfies `want`.
        let mut wait_for = |out: &mut Vec<LinkEvent>, want: bool| -> lagd_dataplane::Result<()> {
            for _ in 0..100 {
                ep.wait(&mut evs, Some(Duration::from_millis(100)))?;
                mon.recv(out)?;
                if out
                    .iter()
                    .any(|e| e.ifindex == ifindex && e.carrier == want)
                {
                    return Ok(());
                }
            }
            Ok(())
        };
        netns::ns_cmd(&ns2, &["ip", "link", "set", b.as_str(), "up"])?;
        wait_for(&mut out, true)?;
        let seen_up = out.len();
        netns::ns_cmd(&ns2, &["ip", "link", "set", b.as_str(), "down"])?;
        let mut later = Vec::new();
        wait_for(&mut later, false)?;
        out.truncate(seen_up);
        out.extend(later);
        Ok(out)
    })
    .and_then(|r| r)
    .expect("monitor");
    let a_events: Vec<_> = events.iter().filter(|e| e.name == a).collect();
    let up = a_events.iter().position(|e| e.carrier && e.up);
    let down = a_events.iter().rposition(|e| !e.carrier && e.up);
    assert!(up.is_some(), "carrier up reported: {events:?}");
    assert!(down.is_some(), "carrier down reported: {events:?}");
    assert!(up < down, "up before down: {events:?}");
}
