//! The forwarder end to end between network namespaces, with trivial protocols.
//! Needs root (skips otherwise). Every namespace and veth is removed by `TestNet`, even on panic.

mod common;

use common::{Fnv, Stream, TestProto, eventually, skip_unless_root, slow_frame};
use lagd_dataplane::netns::{self, TestNet, ns_cmd};
use lagd_dataplane::{
    Forwarder, Member, PacketOptions, PacketSocket, Protocol, TakeOverOptions, Tap, monotonic_now,
};
use lagd_types::{MacAddr, PortNumber};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// One aggregation: a TAP with an address, its members, the forwarder and the protocol.
/// Fields drop in order: the forwarder stops before the members are restored.
struct Side {
    fwd: Forwarder,
    members: Vec<Member>,
    proto: Arc<Mutex<TestProto>>,
    tap: String,
}

fn start_side(
    ns: &str,
    tap_mac: MacAddr,
    mtu: u32,
    members: &[(PortNumber, String)],
    proto: TestProto,
    ip: &str,
) -> Side {
    let members = members.to_vec();
    let tap_name = netns::unique_name("dptap");
    let name = tap_name.clone();
    let (fwd, members, proto) = netns::run_in(ns, move || -> lagd_dataplane::Result<_> {
        let tap = Tap::create(&name, tap_mac, mtu)?;
        let mut ms = Vec::new();
        let mut socks = Vec::new();
        for (port, ifname) in &members {
            let m = Member::take_over(
                ifname,
                TakeOverOptions {
                    force: false,
                    mtu: Some(mtu),
                },
            )?;
            socks.push((
                *port,
                PacketSocket::open(m.ifindex(), &PacketOptions::default())?,
            ));
            ms.push(m);
        }
        tap.set_up(true)?;
        let proto = Arc::new(Mutex::new(proto));
        let dynp: Arc<Mutex<dyn Protocol>> = proto.clone();
        let fwd = Forwarder::start(tap, socks, dynp, monotonic_now)?;
        Ok((fwd, ms, proto))
    })
    .and_then(|r| r)
    .unwrap_or_else(|e| panic!("side in {ns}: {e}"));
    ns_cmd(
        ns,
        &["ip", "addr", "add", &format!("{ip}/24"), "dev", &tap_name],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Side {
        fwd,
        members,
        proto,
        tap: tap_name,
    }
}

fn ping(ns: &str, dst: &str, extra: &[&str]) -> bool {
    let mut args = vec!["ping", "-c", "3", "-i", "0.2", "-W", "2"];
    args.extend_from_slice(extra);
    args.push(dst);
    ns_cmd(ns, &args).is_ok()
}

/// Sends `bytes` pseudo-random bytes over TCP from `client_ns` to `server_ip:port` in
/// `server_ns`; returns (sender's hash, receiver's hash, bytes received).
fn tcp_transfer(
    server_ns: &str,
    server_ip: Ipv4Addr,
    client_ns: &str,
    port: u16,
    bytes: usize,
) -> (Fnv, Fnv, usize) {
    let addr = SocketAddr::from((server_ip, port));
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = netns::spawn_in(server_ns, move || -> io::Result<(Fnv, usize)> {
        let l = TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        let _ = ready_tx.send(());
        let mut s = None;
        for _ in 0..600 {
            match l.accept() {
                Ok((c, _)) => {
                    s = Some(c);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
        let mut s = s.ok_or_else(|| io::Error::other("no connection"))?;
        s.set_nonblocking(false)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut h = Fnv::default();
        let mut n = 0;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let k = s.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(buf.get(..k).unwrap_or(&[]));
            n += k;
        }
        Ok((h, n))
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server ready");
    let client = netns::spawn_in(client_ns, move || -> io::Result<Fnv> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        s.set_write_timeout(Some(Duration::from_secs(30)))?;
        let mut stream = Stream::new(u64::from(port));
        let mut h = Fnv::default();
        let mut buf = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let k = left.min(buf.len());
            let chunk = buf.get_mut(..k).unwrap_or(&mut []);
            stream.fill(chunk);
            h.update(chunk);
            s.write_all(chunk)?;
            left -= k;
        }
        s.shutdown(std::net::Shutdown::Write)?;
        Ok(h)
    });
    let sent = client
        .join()
        .expect("client thread")
        .expect("enter netns")
        .expect("client transfer");
    let (got, n) = server
        .join()
        .expect("server thread")
        .expect("enter netns")
        .expect("server transfer");
    (sent, got, n)
}

fn neigh(ns: &str, ip: &str) -> String {
    ns_cmd(ns, &["ip", "neigh", "show", ip]).unwrap_or_default()
}

#[test]
fn single_member_ping_tcp_jumbo_and_no_member_arp() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let a = net.netns("dpa").expect("netns a");
    let b = net.netns("dpb").expect("netns b");
    let (ma, mb) = net.veth("dpv", Some(&a), Some(&b)).expect("veth");
    for cmd in [
        vec!["ip", "link", "set", mb.as_str(), "mtu", "9000", "up"],
        vec!["ip", "addr", "add", "198.18.0.2/24", "dev", mb.as_str()],
    ] {
        ns_cmd(&b, &cmd).expect("configure b");
    }
    let tap_mac = MacAddr([0x02, 0, 0x5e, 0, 1, 1]);
    let side = start_side(
        &a,
        tap_mac,
        9000,
        &[(1, ma.clone())],
        TestProto::single(1),
        "198.18.0.1",
    );
    let member_mac = side.members.first().map(|m| m.mac()).expect("member");

    assert!(ping(&a, "198.18.0.2", &[]), "ping A -> B");
    assert!(ping(&b, "198.18.0.1", &[]), "ping B -> A");
    assert!(
        ping(&a, "198.18.0.2", &["-M", "do", "-s", "8972"]),
        "jumbo ping A -> B"
    );
    assert!(
        ping(&b, "198.18.0.1", &["-M", "do", "-s", "8972"]),
        "jumbo ping B -> A"
    );

    // B learnt the TAP's MAC for A's address, never the member's: A's kernel did not answer
    // ARP on the member.
    let n = neigh(&b, "198.18.0.1");
    assert!(n.contains(&tap_mac.to_string()), "B's neighbour entry: {n}");
    assert!(
        !n.contains(&member_mac.to_string()),
        "B's neighbour entry: {n}"
    );

    const MB50: usize = 50 * 1024 * 1024;
    let (sent, got, len) = tcp_transfer(&b, Ipv4Addr::new(198, 18, 0, 2), &a, 5001, MB50);
    assert_eq!(len, MB50);
    assert_eq!(sent, got, "A -> B data intact");
    let (sent, got, len) = tcp_transfer(&a, Ipv4Addr::new(198, 18, 0, 1), &b, 5002, MB50);
    assert_eq!(len, MB50);
    assert_eq!(sent, got, "B -> A data intact");

    let s = side.fwd.stats();
    let m = *s.member(1).expect("member stats");
    eprintln!("stats: {s:?}");
    assert!(m.obytes >= MB50 as u64 && m.rbytes >= MB50 as u64, "{m:?}");
    assert!(s.tap.obytes >= MB50 as u64 && s.tap.rbytes >= MB50 as u64);
    // GSO super-frames passed whole in both directions (vnet headers passed through).
    assert!(
        m.obytes / m.opackets.max(1) > 1514,
        "TX average frame {m:?}"
    );
    assert!(
        s.tap.obytes / s.tap.opackets.max(1) > 1514,
        "RX average frame {s:?}"
    );
    assert_eq!(s.tap.drops.no_port, 0);
    drop(side);
    drop(net);
}

#[test]
fn two_members_round_robin_control_collecting_and_carrier() {
    if skip_unless_root() {
        return;
    }
    let mut net = TestNet::new();
    let a = net.netns("dpa").expect("netns a");
    let b = net.netns("dpb").expect("netns b");
    let (a1, b1) = net.veth("dpv", Some(&a), Some(&b)).expect("veth 1");
    let (a2, b2) = net.veth("dpv", Some(&a), Some(&b)).expect("veth 2");
    let mac_a = MacAddr([0x02, 0, 0x5e, 0, 2, 1]);
    let mac_b = MacAddr([0x02, 0, 0x5e, 0, 2, 2]);
    let side_b = start_side(
        &b,
        mac_b,
        1500,
        &[(1, b1), (2, b2)],
        TestProto::round_robin(&[1, 2]),
        "198.18.2.2",
    );
    let side_a = start_side(
        &a,
        mac_a,
        1500,
        &[(1, a1), (2, a2)],
        TestProto::round_robin(&[1, 2]),
        "198.18.2.1",
    );

    assert!(ping(&a, "198.18.2.2", &[]), "ping A -> B");
    let (sent, got, len) = tcp_transfer(&b, Ipv4Addr::new(198, 18, 2, 2), &a, 5003, 5 << 20);
    assert_eq!((sent, len), (got, 5 << 20), "data intact over two members");
    let sa = side_a.fwd.stats();
    let sb = side_b.fwd.stats();
    for port in [1, 2] {
        let ma = sa.member(port).expect("A member");
        let mb = sb.member(port).expect("B member");
        assert!(ma.opackets > 0 && ma.ipackets > 0, "A port {port}: {ma:?}");
        assert!(mb.opackets > 0 && mb.ipackets > 0, "B port {port}: {mb:?}");
    }

    // Control frames: queued by A's protocol, sent by A's TX thread, received by B's protocol on
    // the right port, never delivered to B's TAP. A capture on B's TAP watches for them (a count
    // of the TAP's packets would also see late segments of the TCP transfer above).
    let tap_b = side_b.tap.clone();
    let watch_b = netns::run_in(&b, move || -> lagd_dataplane::Result<PacketSocket> {
        let idx = lagd_dataplane::Netlink::open()?
            .link_by_name(&tap_b)?
            .ifindex;
        PacketSocket::open(
            idx,
            &PacketOptions {
                vnet_hdr: false,
                promisc: false,
                slow_protocols: false,
                ..PacketOptions::default()
            },
        )
    })
    .and_then(|r| r)
    .expect("capture on B's TAP");
    {
        let mut p = side_a.proto.lock().expect("lock");
        p.to_send.push_back((1, slow_frame(mac_a, 0x11)));
        p.to_send.push_back((2, slow_frame(mac_a, 0x22)));
    }
    side_a.fwd.wake();
    let got_both = eventually(100, || {
        let p = side_b.proto.lock().expect("lock");
        let has = |port: PortNumber, tag: u8| {
            p.received
                .iter()
                .any(|(pp, f)| *pp == port && f.get(16) == Some(&tag))
        };
        has(1, 0x11) && has(2, 0x22)
    });
    assert!(
        got_both,
        "B's protocol received both control frames on their ports"
    );
    let sa = side_a.fwd.stats();
    let sb = side_b.fwd.stats();
    for port in [1, 2] {
        assert!(sa.member(port).map(|m| m.control_out) >= Some(1));
        assert!(sb.member(port).map(|m| m.control_in) >= Some(1));
    }
    let mut batch = lagd_dataplane::RecvBatch::new(64);
    let mut slow_on_tap = 0;
    while let Ok(n) = watch_b.recv_batch(&mut batch) {
        if n == 0 {
            break;
        }
        slow_on_tap += (0..n)
            .filter_map(|i| batch.frame(i))
            .filter(|f| f.ethernet.get(12..14) == Some(&[0x88, 0x09][..]))
            .count();
    }
    assert_eq!(slow_on_tap, 0, "control frames never reach the TAP");

    // A slow-protocols frame the host writes to the TAP is dropped, not sent.
    let tap_a = side_a.tap.clone();
    netns::run_in(&a, move || -> lagd_dataplane::Result<()> {
        let idx = lagd_dataplane::Netlink::open()?
            .link_by_name(&tap_a)?
            .ifindex;
        let opts = PacketOptions {
            vnet_hdr: false,
            promisc: false,
            slow_protocols: false,
            ..PacketOptions::default()
        };
        let s = PacketSocket::open(idx, &opts)?;
        s.send(&slow_frame(mac_a, 0x33))
            .map_err(|source| lagd_dataplane::Error::Sys { op: "send", source })
    })
    .and_then(|r| r)
    .expect("inject on TAP");
    assert!(eventually(100, || side_a.fwd.stats().tap.drops.control >= 1));
    assert!(
        !side_b
            .proto
            .lock()
            .expect("lock")
            .received
            .iter()
            .any(|(_, f)| f.get(16) == Some(&0x33)),
        "host's slow-protocols frame was not forwarded"
    );

    // Not Collecting: B drops what arrives and counts it.
    let before: u64 = side_b
        .fwd
        .stats()
        .members
        .iter()
        .map(|(_, m)| m.drops.not_collecting)
        .sum();
    side_b.proto.lock().expect("lock").collecting = false;
    assert!(
        !ping(&a, "198.18.2.2", &["-w", "2"]),
        "no ping while B is not collecting"
    );
    let after: u64 = side_b
        .fwd
        .stats()
        .members
        .iter()
        .map(|(_, m)| m.drops.not_collecting)
        .sum();
    assert!(
        after > before,
        "not-collecting drops counted ({before} -> {after})"
    );
    side_b.proto.lock().expect("lock").collecting = true;
    assert!(ping(&a, "198.18.2.2", &[]), "ping again once collecting");

    // The TAP carrier follows the protocol.
    let link = |ns: &str, dev: &str| ns_cmd(ns, &["ip", "link", "show", dev]).unwrap_or_default();
    side_a.proto.lock().expect("lock").carrier = false;
    side_a.fwd.wake();
    assert!(
        eventually(100, || link(&a, &side_a.tap).contains("NO-CARRIER")),
        "carrier off: {}",
        link(&a, &side_a.tap)
    );
    side_a.proto.lock().expect("lock").carrier = true;
    side_a.fwd.wake();
    assert!(
        eventually(100, || !link(&a, &side_a.tap).contains("NO-CARRIER")),
        "carrier on: {}",
        link(&a, &side_a.tap)
    );

    // Removing a member: A then sends only on port 2 (the protocol still names 1: no-port drops).
    side_a.fwd.remove_member(1).expect("remove member");
    assert!(side_a.fwd.stats().member(1).is_none());
    let _ = ping(&a, "198.18.2.2", &["-w", "2"]);
    assert!(side_a.fwd.stats().tap.drops.no_port > 0);
    assert!(
        side_a.fwd.remove_member(1).is_err(),
        "removing twice is refused"
    );
    drop(side_a);
    drop(side_b);
    drop(net);
}

/// Holds every frame until told to release, then sends the held ones (in order) and the rest.
#[derive(Debug, Default)]
struct HoldProto {
    release: bool,
    held: std::collections::VecDeque<lagd_dataplane::Slot>,
    max_held: usize,
}

impl Protocol for HoldProto {
    fn dispatch(
        &mut self,
        _now: lagd_types::Instant,
        _frame: &[u8],
        slot: lagd_dataplane::Slot,
    ) -> lagd_dataplane::TxDecision {
        if self.release && self.held.is_empty() {
            return lagd_dataplane::TxDecision::Send(1);
        }
        self.held.push_back(slot);
        self.max_held = self.max_held.max(self.held.len());
        lagd_dataplane::TxDecision::Held
    }
    fn poll_release(&mut self) -> Option<(PortNumber, lagd_dataplane::Slot)> {
        if self.release {
            self.held.pop_front().map(|s| (1, s))
        } else {
            None
        }
    }
    fn broadcast_ports(&self) -> Vec<PortNumber> {
        vec![1]
    }
    fn poll_control_frame(&mut self, _now: lagd_types::Instant) -> Option<(PortNumber, Vec<u8>)> {
        None
    }
    fn handle_control_frame(&mut self, _now: lagd_types::Instant, _port: PortNumber, _f: &[u8]) {}
    fn is_collecting(&self, _port: PortNumber) -> bool {
        true
    }
    fn carrier(&self) -> bool {
        true
    }
}

#[test]
fn held_frames_exhaust_the_pool_then_leave_in_order() {
    if skip_unless_root() {
        return;
    }
    const N: u32 = 400; // more than the pool holds
    let mut net = TestNet::new();
    let a = net.netns("dpa").expect("netns a");
    let b = net.netns("dpb").expect("netns b");
    let (ma, mb) = net.veth("dpv", Some(&a), Some(&b)).expect("veth");
    ns_cmd(&b, &["ip", "link", "set", mb.as_str(), "up"]).expect("b up");
    ns_cmd(
        &b,
        &["ip", "addr", "add", "198.18.6.2/24", "dev", mb.as_str()],
    )
    .expect("b addr");
    let b_mac = netns::run_in(&b, {
        let mb = mb.clone();
        move || lagd_dataplane::Netlink::open()?.link_by_name(&mb)
    })
    .and_then(|r| r)
    .ok()
    .and_then(|l| l.mac)
    .expect("b mac");

    let tap_name = netns::unique_name("dptap");
    let proto = Arc::new(Mutex::new(HoldProto::default()));
    let (fwd, member) = {
        let (tap_name, ma, proto) = (tap_name.clone(), ma.clone(), proto.clone());
        netns::run_in(&a, move || -> lagd_dataplane::Result<_> {
            let tap = Tap::create(&tap_name, MacAddr([0x02, 0, 0x5e, 0, 6, 1]), 1500)?;
            let m = Member::take_over(&ma, TakeOverOptions::default())?;
            let s = PacketSocket::open(m.ifindex(), &PacketOptions::default())?;
            tap.set_up(true)?;
            let dynp: Arc<Mutex<dyn Protocol>> = proto;
            Ok((Forwarder::start(tap, vec![(1, s)], dynp, monotonic_now)?, m))
        })
        .and_then(|r| r)
        .expect("side a")
    };
    for cmd in [
        vec![
            "ip",
            "addr",
            "add",
            "198.18.6.1/24",
            "dev",
            tap_name.as_str(),
        ],
        vec![
            "ip",
            "neigh",
            "replace",
            "198.18.6.2",
            "lladdr",
            &b_mac.to_string(),
            "dev",
            tap_name.as_str(),
            "nud",
            "permanent",
        ],
    ] {
        ns_cmd(&a, &cmd).expect("configure a");
    }
    let rx = netns::spawn_in(&b, || -> io::Result<Vec<u32>> {
        let s = std::net::UdpSocket::bind("198.18.6.2:6000")?;
        // The release sends the held datagrams in one burst: give the receiver room for all of
        // them (about 1 KiB of buffer each), so a loaded machine cannot make it drop some.
        force_rcvbuf(&s, 4 << 20)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < N as usize {
            match s.recv(&mut buf) {
                Ok(k) if k >= 4 => got.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(got)
    });
    std::thread::sleep(Duration::from_millis(200));
    netns::run_in(&a, || -> io::Result<()> {
        let s = std::net::UdpSocket::bind("198.18.6.1:0")?;
        for i in 0..N {
            s.send_to(&i.to_be_bytes(), "198.18.6.2:6000")?;
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    })
    .expect("run")
    .expect("send");
    // Everything sent so far is held: the pool is exhausted, nothing reached the member.
    assert!(eventually(100, || proto
        .lock()
        .map(|p| p.max_held)
        .unwrap_or(0)
        >= lagd_dataplane::POOL_SLOTS));
    assert_eq!(fwd.stats().member(1).map(|m| m.opackets), Some(0));
    proto.lock().expect("lock").release = true;
    fwd.wake();
    let got = rx.join().expect("rx thread").expect("netns").expect("recv");
    assert_eq!(got, (0..N).collect::<Vec<_>>(), "all datagrams, in order");
    assert!(proto.lock().expect("lock").held.is_empty());
    drop(fwd);
    drop(member);
    drop(net);
}

/// Sets `SO_RCVBUFFORCE` (root) on a socket.
fn force_rcvbuf(s: &std::net::UdpSocket, bytes: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket fd, a pointer to a c_int that lives for the call, and its size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
