//! Raw frames of every class, sent on an aggregate with a packet socket (so they leave through
//! its egress hook exactly like the host's own frames) and received on the other host's
//! aggregate with a packet socket (accelerated VLAN tags put back in line): every frame
//! checked byte for byte, and in order within its conversation (each class is one
//! conversation: fixed addresses, ports, tags).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A frame class: one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Ipv4Udp,
    Ipv4TcpOptions,
    Ipv4FirstFragment,
    Ipv4LaterFragment,
    Ipv4Icmp,
    Ipv4Gre,
    Ipv4Esp,
    Ipv4Ah,
    Ipv6Udp,
    Ipv6ExtTcp,
    Ipv6FirstFragment,
    Ipv6LaterFragment,
    Ipv6Esp,
    Ipv6Icmp,
    VlanTcp,
    QinqUdp6,
    Tag9100Udp,
    Arp,
    NonIp,
    Llc,
}

/// Every class.
pub const CLASSES: [Class; 20] = [
    Class::Ipv4Udp,
    Class::Ipv4TcpOptions,
    Class::Ipv4FirstFragment,
    Class::Ipv4LaterFragment,
    Class::Ipv4Icmp,
    Class::Ipv4Gre,
    Class::Ipv4Esp,
    Class::Ipv4Ah,
    Class::Ipv6Udp,
    Class::Ipv6ExtTcp,
    Class::Ipv6FirstFragment,
    Class::Ipv6LaterFragment,
    Class::Ipv6Esp,
    Class::Ipv6Icmp,
    Class::VlanTcp,
    Class::QinqUdp6,
    Class::Tag9100Udp,
    Class::Arp,
    Class::NonIp,
    Class::Llc,
];

const MAGIC: &[u8; 8] = b"LAGDFRAM";
/// Trailer: magic, direction, class, sequence (big-endian u32), 2 spare bytes.
const TRAILER: usize = 16;

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], options: usize, flags_frag: u16) -> Vec<u8> {
    let ihl = 5 + options / 4;
    let mut h = vec![0x40 | ihl as u8, 0, 0, 0, 0x12, 0x34];
    h.extend_from_slice(&flags_frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend(std::iter::repeat_n(1u8, options)); // NOPs
    h
}

fn ipv6(next: u8, src: u8, dst: u8) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x00, 0x02]);
    a[15] = src;
    h.extend_from_slice(&a);
    a[15] = dst;
    h.extend_from_slice(&a);
    h
}

/// The headers of `class` from host `dir` (0: A → B, 1: B → A) between MACs `src` and
/// `dst` (without payload).
fn headers(class: Class, dir: u8, src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    let (a, b) = if dir == 0 { (1u8, 2u8) } else { (2, 1) };
    let v4 = |x: u8| [198, 18, 7, x];
    let ports = |s: u16, d: u16| {
        let mut p = s.to_be_bytes().to_vec();
        p.extend_from_slice(&d.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p
    };
    match class {
        Class::Ipv4Udp => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(17, v4(a), v4(b), 0, 0x4000));
            f.extend(ports(4000, 4001));
        }
        Class::Ipv4TcpOptions => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(6, v4(a), v4(b), 12, 0x4000));
            f.extend(ports(4010, 4011));
            f.extend_from_slice(&[0; 12]);
        }
        Class::Ipv4FirstFragment => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(17, v4(a), v4(b + 10), 0, 0x2000));
            f.extend(ports(4020, 4021));
        }
        Class::Ipv4LaterFragment => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(17, v4(a), v4(b + 10), 0, 0x00b9));
        }
        Class::Ipv4Icmp => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(1, v4(a), v4(b + 20), 0, 0));
            f.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
        }
        Class::Ipv4Gre => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(47, v4(a), v4(b + 30), 0, 0));
            f.extend_from_slice(&[0, 0, 0x08, 0x00]);
            // The tunnelled packet: one inner flow, as a real tunnel's conversation is. The
            // receiver's kernel steers GRE by the inner header (the flow dissector follows
            // GRE; lagd's RPS on the aggregate uses that hash): a payload that read as a
            // different inner IPv4 header in each frame made each frame a flow of its own,
            // spread over the CPUs' backlogs, legitimately out of order with each other.
            f.extend(ipv4(17, [198, 18, 8, a], [198, 18, 8, b], 0, 0x4000));
            f.extend(ports(4090, 4091));
        }
        Class::Ipv4Esp => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(50, v4(a), v4(b + 40), 0, 0));
            f.extend_from_slice(&[0xde, 0xad, 0xbe, dir, 0, 0, 0, 1]);
        }
        Class::Ipv4Ah => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend(ipv4(51, v4(a), v4(b + 40), 0, 0));
            f.extend_from_slice(&[6, 4, 0, 0, 0x01, 0x02, 0x03, dir, 0, 0, 0, 1]);
            f.extend_from_slice(&[0; 12]);
        }
        Class::Ipv6Udp => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(17, a, b));
            f.extend(ports(4030, 4031));
        }
        Class::Ipv6ExtTcp => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(0, a, b + 10));
            f.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop
            f.extend_from_slice(&[60, 2, 0, 1, 0, 0, 0, 0]); // routing, 24 bytes
            f.extend_from_slice(&[0; 16]);
            f.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // destination options
            f.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 9]); // atomic fragment
            f.extend(ports(4040, 4041));
            f.extend_from_slice(&[0; 12]);
        }
        Class::Ipv6FirstFragment => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(44, a, b + 20));
            f.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 7]);
            f.extend(ports(4050, 4051));
        }
        Class::Ipv6LaterFragment => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(44, a, b + 20));
            f.extend_from_slice(&[17, 0, 0x05, 0x00, 0, 0, 0, 7]);
        }
        Class::Ipv6Esp => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(60, a, b + 30));
            f.extend_from_slice(&[50, 0, 1, 4, 0, 0, 0, 0]); // destination options
            f.extend_from_slice(&[0xca, 0xfe, 0, dir, 0, 0, 0, 1]);
        }
        Class::Ipv6Icmp => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend(ipv6(58, a, b + 40));
            f.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
        }
        Class::VlanTcp => {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
            f.extend(ipv4(6, v4(a), v4(b + 50), 0, 0x4000));
            f.extend(ports(4060, 4061));
            f.extend_from_slice(&[0; 12]);
        }
        Class::QinqUdp6 => {
            f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd]);
            f.extend(ipv6(17, a, b + 50));
            f.extend(ports(4070, 4071));
        }
        Class::Tag9100Udp => {
            f.extend_from_slice(&[0x91, 0x00, 0x00, 0x05, 0x08, 0x00]);
            f.extend(ipv4(17, v4(a), v4(b + 60), 0, 0));
            f.extend(ports(4080, 4081));
        }
        Class::Arp => {
            f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&v4(a));
            f.extend_from_slice(&[0; 6]);
            f.extend_from_slice(&v4(b + 70));
        }
        Class::NonIp => f.extend_from_slice(&[0x88, 0xb5]),
        Class::Llc => f.extend_from_slice(&[0x00, 0x40, 0x42, 0x42, 0x03]),
    }
    f
}

/// Frame `seq` of `class` from `dir`, `len` bytes long (at least its headers and trailer).
pub fn frame(class: Class, dir: u8, seq: u32, len: usize, src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    let mut f = headers(class, dir, src, dst);
    let body = len.saturating_sub(f.len() + TRAILER);
    let ci = CLASSES.iter().position(|c| *c == class).unwrap_or(0) as u8;
    f.extend((0..body).map(|i| (i as u8) ^ ci ^ (seq as u8) ^ dir.wrapping_mul(0x55)));
    f.extend_from_slice(MAGIC);
    f.extend_from_slice(&[dir, ci]);
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f
}

/// The (direction, class index, sequence) of a received frame, if it is one of ours.
fn trailer(f: &[u8]) -> Option<(u8, usize, u32)> {
    let t = f.get(f.len().checked_sub(TRAILER)?..)?;
    if t.get(..8)? != MAGIC {
        return None;
    }
    let seq = u32::from_be_bytes(t.get(10..14)?.try_into().ok()?);
    Some((*t.get(8)?, usize::from(*t.get(9)?), seq))
}

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: a valid C string.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// A packet socket on `dev` (of the calling thread's namespace), receiving every protocol
/// (`rx`) or nothing.
fn packet_socket(dev: &str, rx: bool) -> i32 {
    let proto = if rx {
        (libc::ETH_P_ALL as u16).to_be()
    } else {
        0
    };
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: sockaddr_ll is plain data.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto;
    sa.sll_ifindex = ifindex(dev) as i32;
    // SAFETY: `sa` is a valid sockaddr_ll of the length given.
    let r = unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
    if rx {
        let one: i32 = 1;
        // SAFETY: a valid int option.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_AUXDATA,
                (&one as *const i32).cast(),
                4,
            );
            let big: i32 = 32 << 20;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&big as *const i32).cast(),
                4,
            );
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 200_000,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
    }
    fd
}

/// Receives one frame (accelerated VLAN tag back in line); `None` on timeout.
fn recv_frame(fd: i32, buf: &mut [u8]) -> Option<Vec<u8>> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u8; 256];
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.len();
    // SAFETY: the buffers live for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return None;
    }
    let mut f = buf[..n as usize].to_vec();
    // SAFETY: walking the control messages the kernel wrote into `cbuf`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_PACKET && (*c).cmsg_type == libc::PACKET_AUXDATA {
                let aux: libc::tpacket_auxdata =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                if aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 && f.len() >= 12 {
                    let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                        aux.tp_vlan_tpid
                    } else {
                        0x8100
                    };
                    let mut tag = tpid.to_be_bytes().to_vec();
                    tag.extend_from_slice(&aux.tp_vlan_tci.to_be_bytes());
                    f.splice(12..12, tag);
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Some(f)
}

/// What one burst delivered.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Frames sent.
    pub sent: u64,
    /// Frames received intact (a copy per member in broadcast).
    pub received: u64,
    /// Frames received with other bytes than sent.
    pub corrupt: Vec<String>,
    /// Conversations where a frame came before an earlier one.
    pub reordered: Vec<String>,
    /// (class, received count) of classes that did not get `copies` of every frame.
    pub missing: Vec<String>,
}

impl Delivery {
    /// Every frame arrived `copies` times, intact, and (if `ordered`) in order.
    pub fn ok(&self, ordered: bool) -> bool {
        self.corrupt.is_empty()
            && self.missing.is_empty()
            && (!ordered || self.reordered.is_empty())
    }
}

/// Sends `count` frames of every class from `tx_ns`'s `tx_dev` (interleaved by class, some
/// `jumbo` bytes long), receives them on `rx_ns`'s `rx_dev`, and checks them: `copies` of
/// each (broadcast: one per member), in order per class.
#[allow(clippy::too_many_arguments)]
pub fn burst(
    tx_ns: &str,
    tx_dev: &str,
    rx_ns: &str,
    rx_dev: &str,
    dir: u8,
    count: u32,
    jumbo: usize,
    copies: u64,
    macs: ([u8; 6], [u8; 6]),
) -> Delivery {
    let (src, dst) = macs;
    let mut expected = BTreeMap::new();
    let mut order = Vec::new();
    for seq in 0..count {
        for c in CLASSES {
            let len = if jumbo > 0 && seq % 4 == 3 {
                jumbo
            } else {
                96 + (seq as usize * 37) % 900
            };
            let f = frame(c, dir, seq, len, src, dst);
            let ci = CLASSES.iter().position(|x| *x == c).unwrap_or(0);
            expected.insert((ci, seq), f.clone());
            order.push(f);
        }
    }
    let total = order.len() as u64 * copies;
    let rx_ns2 = rx_ns.to_string();
    let rx_dev2 = rx_dev.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        lagd_dataplane::netns::enter(&rx_ns2).unwrap();
        let fd = packet_socket(&rx_dev2, true);
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        let start = Instant::now();
        let mut quiet = Instant::now();
        while (got.len() as u64) < total && start.elapsed() < Duration::from_secs(20) {
            match recv_frame(fd, &mut buf) {
                Some(f) => {
                    if let Some((d, _, _)) = trailer(&f)
                        && d == dir
                    {
                        got.push(f);
                        quiet = Instant::now();
                    }
                }
                None if quiet.elapsed() > Duration::from_secs(3) => break,
                None => {}
            }
        }
        // SAFETY: our descriptor.
        unsafe { libc::close(fd) };
        got
    });
    ready_rx.recv().unwrap();
    let tx_ns2 = tx_ns.to_string();
    let tx_dev2 = tx_dev.to_string();
    let sender = std::thread::spawn(move || {
        lagd_dataplane::netns::enter(&tx_ns2).unwrap();
        let fd = packet_socket(&tx_dev2, false);
        for (i, f) in order.iter().enumerate() {
            loop {
                // SAFETY: the frame lives for the call.
                let n = unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
                if n >= 0 {
                    break;
                }
                let e = std::io::Error::last_os_error();
                assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "send: {e}");
                std::thread::sleep(Duration::from_millis(1));
            }
            if i % 64 == 63 {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        // SAFETY: our descriptor.
        unsafe { libc::close(fd) };
    });
    sender.join().unwrap();
    let got = receiver.join().unwrap();
    let mut d = Delivery {
        sent: expected.len() as u64,
        ..Delivery::default()
    };
    let mut last: BTreeMap<usize, u32> = BTreeMap::new();
    let mut seen: BTreeMap<(usize, u32), u64> = BTreeMap::new();
    for f in &got {
        let Some((_, ci, seq)) = trailer(f) else {
            continue;
        };
        match expected.get(&(ci, seq)) {
            Some(e) if e == f => {
                d.received += 1;
                *seen.entry((ci, seq)).or_default() += 1;
                if copies == 1 {
                    if let Some(l) = last.get(&ci)
                        && *l >= seq
                    {
                        d.reordered
                            .push(format!("{:?}: {seq} after {l}", CLASSES[ci]));
                    }
                    last.insert(ci, seq);
                }
            }
            Some(e) => d.corrupt.push(format!(
                "{:?} #{seq}: sent {} bytes {:02x?}.., got {} bytes {:02x?}..",
                CLASSES[ci],
                e.len(),
                &e[..e.len().min(40)],
                f.len(),
                &f[..f.len().min(40)]
            )),
            None => d.corrupt.push(format!("unknown frame {ci} #{seq}")),
        }
    }
    for (ci, c) in CLASSES.iter().enumerate() {
        let n: u64 = (0..count)
            .map(|s| seen.get(&(ci, s)).copied().unwrap_or(0))
            .sum();
        if n != u64::from(count) * copies {
            d.missing
                .push(format!("{c:?}: {n} of {}", u64::from(count) * copies));
        }
    }
    d
}
