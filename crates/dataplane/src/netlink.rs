//! lagd's one rtnetlink (`NETLINK_ROUTE`) client, written by hand (docs/ARCHITECTURE.md says
//! why): one socket type ([`Netlink`]), one message builder (`MsgBuilder`, `put_attr`,
//! `nested`), one attribute walker (`attrs`) and one request/reply loop
//! (`Netlink::transact`). This file holds them and what they serve here: links (by name or
//! index, flags, MTU, MAC, alias, operstate, carrier), addresses (list, add, delete),
//! neighbours (list, flush, extern-learned entries) and a [`LinkMonitor`] subscribed to
//! `RTMGRP_LINK`. The same type's other requests live beside their concern: bridge ports and
//! the forwarding database in [`crate::bridge`], `clsact` qdiscs and `cls_bpf` filters in
//! [`crate::tc`].
//!
//! Messages are built and parsed as bytes by safe code that checks every length; only the socket
//! calls are `unsafe`. A netlink socket acts in the network namespace of the thread that opened
//! it.

use crate::error::{Error, Result, check_ifname};
use lagd_types::MacAddr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// Message types (linux/rtnetlink.h, linux/netlink.h).
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
pub(crate) const RTM_NEWNEIGH: u16 = 28;
pub(crate) const RTM_DELNEIGH: u16 = 29;
pub(crate) const RTM_GETNEIGH: u16 = 30;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_REPLACE: u16 = 0x100;

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
pub(crate) const NDMSG_LEN: usize = 12;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
pub(crate) const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_IFALIAS: u16 = 20;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_CARRIER: u16 = 33;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;

const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
pub(crate) const NUD_REACHABLE: u16 = 0x02;
const NUD_STALE: u16 = 0x04;
const NUD_DELAY: u16 = 0x08;
const NUD_PROBE: u16 = 0x10;
/// `NUD_NOARP`: a static entry (a neighbour that needs no resolution; in the bridge FDB, a
/// static address).
pub const NUD_NOARP: u16 = 0x40;
/// `NUD_PERMANENT`: a permanent entry (in the bridge FDB, a local address: the port's own).
pub const NUD_PERMANENT: u16 = 0x80;
/// `NTF_EXT_LEARNED`: the entry was installed by a program (`extern_learn` in `ip neigh`); the
/// kernel does not age it out or garbage-collect it.
const NTF_EXT_LEARNED: u8 = 0x10;

const RTMGRP_LINK: u32 = 1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const NLA_TYPE_MASK: u16 = 0x3fff;
/// `NLA_F_NESTED`: the attribute holds attributes.
pub(crate) const NLA_F_NESTED: u16 = 0x8000;

/// `IFF_UP`: administratively up.
pub const IFF_UP: u32 = 0x1;
/// `IFF_NOARP`: the kernel neither sends nor answers ARP on the link.
pub const IFF_NOARP: u32 = 0x80;
/// `IFF_PROMISC`.
pub const IFF_PROMISC: u32 = 0x100;
/// `IFF_LOWER_UP`: the driver reports carrier.
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// `RT_SCOPE_UNIVERSE`: a global address.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_LINK`.
pub const RT_SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_HOST`.
pub const RT_SCOPE_HOST: u8 = 254;
/// `IFA_F_PERMANENT`: configured, not autoconfigured with a lifetime.
pub const IFA_F_PERMANENT: u32 = 0x80;

/// The receive buffer: larger than the kernel's dump chunks (at most 32 KiB), so that no reply
/// is truncated.
const RECV_BUF: usize = 256 * 1024;

/// RFC 2863 operational state (`IF_OPER_*`, `IFLA_OPERSTATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN` (drivers that do not track it, e.g. an unconfigured TAP).
    Unknown,
    /// `IF_OPER_NOTPRESENT`.
    NotPresent,
    /// `IF_OPER_DOWN`.
    Down,
    /// `IF_OPER_LOWERLAYERDOWN`.
    LowerLayerDown,
    /// `IF_OPER_TESTING`.
    Testing,
    /// `IF_OPER_DORMANT`.
    Dormant,
    /// `IF_OPER_UP`.
    Up,
}

impl OperState {
    fn from_u8(v: u8) -> OperState {
        match v {
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            _ => OperState::Unknown,
        }
    }
}

/// What rtnetlink says about one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Hardware address, if the link has a 6-byte one.
    pub mac: Option<MacAddr>,
    /// Operational state.
    pub operstate: OperState,
    /// Carrier (`IFLA_CARRIER`, else `IFF_LOWER_UP`).
    pub carrier: bool,
    /// Hardware type (`ifi_type`, `ARPHRD_*`: 1 for Ethernet, 772 for loopback).
    pub link_type: u16,
    /// The driver kind (`IFLA_LINKINFO`/`IFLA_INFO_KIND`: `veth`, `bridge`, `tun`, ...), when
    /// the kernel reports one (physical NICs report none).
    pub kind: Option<String>,
    /// The index of the device it is enslaved to (`IFLA_MASTER`: a bridge, bond, team, VRF).
    pub master: Option<u32>,
    /// The interface's alias (`IFLA_IFALIAS`, `ip link set dev X alias TEXT`), if set.
    pub alias: Option<String>,
}

impl LinkInfo {
    /// Administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
    /// `IFF_NOARP` set.
    pub fn is_noarp(&self) -> bool {
        self.flags & IFF_NOARP != 0
    }
}

/// A link change reported by [`LinkMonitor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier (`IFF_LOWER_UP` / `IFLA_CARRIER`).
    pub carrier: bool,
    /// Operational state.
    pub operstate: OperState,
    /// The link was deleted (`RTM_DELLINK`).
    pub deleted: bool,
}

/// One address of a link, as much as is needed to put it back exactly.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IfAddr {
    /// Interface index.
    pub ifindex: u32,
    /// `IFA_ADDRESS` (the peer for point-to-point IPv4, else the address).
    pub address: IpAddr,
    /// `IFA_LOCAL` (IPv4: the local address).
    pub local: Option<IpAddr>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_LABEL`.
    pub label: Option<String>,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope (`RT_SCOPE_*`).
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_FLAGS`, else the 8-bit header flags).
    pub flags: u32,
    /// Valid lifetime in seconds, `None` if forever.
    pub valid_lft: Option<u32>,
    /// Preferred lifetime in seconds, `None` if forever.
    pub preferred_lft: Option<u32>,
}

impl IfAddr {
    /// The address the host uses (`IFA_LOCAL` if present, else `IFA_ADDRESS`).
    pub fn addr(&self) -> IpAddr {
        self.local.unwrap_or(self.address)
    }
    /// A global (universe scope) address.
    pub fn is_global(&self) -> bool {
        self.scope == RT_SCOPE_UNIVERSE
    }
    /// IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }
}

impl std::fmt::Display for IfAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix_len)
    }
}

// ---------------------------------------------------------------------------------------------
// Message building and parsing (safe, bounds-checked).

/// A netlink message under construction.
pub(crate) struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    pub(crate) fn new(ty: u16, flags: u16, seq: u32) -> MsgBuilder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it
        MsgBuilder { buf }
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        put_attr(&mut self.buf, ty, data);
        self
    }
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.resize(align4(self.buf.len()), 0);
        let len = u32::try_from(self.buf.len())
            .unwrap_or(u32::MAX)
            .to_ne_bytes();
        self.buf[..4].copy_from_slice(&len);
        self.buf
    }
}

/// Appends attribute `ty` holding `data` to `buf` (4-aligned before and after).
pub(crate) fn put_attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    buf.resize(align4(buf.len()), 0);
    let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align4(buf.len()), 0);
}

/// The attribute space of a nested attribute holding `parts`.
pub(crate) fn nested(parts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (ty, data) in parts {
        put_attr(&mut v, *ty, data);
    }
    v
}

/// `s` as a NUL-terminated string attribute value.
pub(crate) fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A `struct ifinfomsg` of address family `family` (`AF_UNSPEC` for links, `AF_BRIDGE` for
/// bridge ports).
pub(crate) fn ifinfomsg(family: u8, index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut b = [0u8; IFINFOMSG_LEN];
    b[0] = family;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// A `struct ndmsg` (neighbour and bridge FDB messages).
pub(crate) fn ndmsg(family: u8, ifindex: u32, state: u16, flags: u8) -> [u8; NDMSG_LEN] {
    let mut b = [0u8; NDMSG_LEN];
    b[0] = family;
    b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    b[8..10].copy_from_slice(&state.to_ne_bytes());
    b[10] = flags;
    b
}

/// The header of a neighbour or FDB message (`struct ndmsg`) and its attribute space.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NdHdr<'a> {
    pub(crate) family: u8,
    pub(crate) ifindex: u32,
    pub(crate) state: u16,
    pub(crate) flags: u8,
    pub(crate) attrs: &'a [u8],
}

/// Reads a neighbour or FDB message's header; `None` when it is truncated.
pub(crate) fn parse_ndmsg(payload: &[u8]) -> Option<NdHdr<'_>> {
    Some(NdHdr {
        family: *payload.first()?,
        ifindex: u32_at(payload, 4)?,
        state: u16_at(payload, 8)?,
        flags: *payload.get(10)?,
        attrs: payload.get(NDMSG_LEN..)?,
    })
}

/// A parsed message header.
#[derive(Clone, Copy, Debug)]
struct NlHdr {
    ty: u16,
    flags: u16,
    seq: u32,
}

pub(crate) fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn i32_at(b: &[u8], i: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Splits a datagram into messages; stops at the first malformed one.
fn messages(buf: &[u8]) -> impl Iterator<Item = (NlHdr, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let len = usize::try_from(u32_at(rest, 0)?).ok()?;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let hdr = NlHdr {
            ty: u16_at(rest, 4)?,
            flags: u16_at(rest, 6)?,
            seq: u32_at(rest, 8)?,
        };
        let payload = rest.get(NLMSG_HDRLEN..len)?;
        rest = rest.get(align4(len).min(rest.len())..).unwrap_or(&[]);
        Some((hdr, payload))
    })
}

/// Splits attribute space into `(type, data)`; stops at the first malformed attribute.
pub(crate) fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(rest, 0)?);
        let ty = u16_at(rest, 2)? & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            return None;
        }
        let data = rest.get(4..len)?;
        rest = rest.get(align4(len).min(rest.len())..).unwrap_or(&[]);
        Some((ty, data))
    })
}

pub(crate) fn attr_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(data.get(..end).unwrap_or(&[])).into_owned()
}

fn ip_from(family: u8, data: &[u8]) -> Option<IpAddr> {
    match i32::from(family) {
        libc::AF_INET => {
            let a: [u8; 4] = data.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        libc::AF_INET6 => {
            let a: [u8; 16] = data.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn family_of(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

/// Parses an `RTM_NEWLINK`/`RTM_DELLINK` payload.
fn parse_link(payload: &[u8]) -> Result<LinkInfo> {
    let bad = || Error::MalformedNetlink("ifinfomsg");
    let ifindex = u32::try_from(i32_at(payload, 4).ok_or_else(bad)?).map_err(|_| bad())?;
    let flags = u32_at(payload, 8).ok_or_else(bad)?;
    let link_type = u16_at(payload, 2).ok_or_else(bad)?;
    let mut info = LinkInfo {
        ifindex,
        name: String::new(),
        flags,
        mtu: 0,
        mac: None,
        operstate: OperState::Unknown,
        carrier: flags & IFF_LOWER_UP != 0,
        link_type,
        kind: None,
        master: None,
        alias: None,
    };
    for (ty, data) in attrs(payload.get(IFINFOMSG_LEN..).unwrap_or(&[])) {
        match ty {
            IFLA_IFNAME => info.name = attr_string(data),
            IFLA_MTU => info.mtu = u32_at(data, 0).unwrap_or(0),
            IFLA_ADDRESS if data.len() == 6 => info.mac = MacAddr::from_slice(data),
            IFLA_OPERSTATE => {
                info.operstate = OperState::from_u8(data.first().copied().unwrap_or(0))
            }
            IFLA_CARRIER => info.carrier = data.first().copied().unwrap_or(0) != 0,
            IFLA_MASTER => info.master = u32_at(data, 0).filter(|m| *m != 0),
            IFLA_IFALIAS => info.alias = Some(attr_string(data)).filter(|a| !a.is_empty()),
            IFLA_LINKINFO => {
                info.kind = attrs(data)
                    .find(|(t, _)| *t == IFLA_INFO_KIND)
                    .map(|(_, k)| attr_string(k))
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Parses an `RTM_NEWADDR` payload; `None` for families other than IPv4/IPv6.
fn parse_addr(payload: &[u8]) -> Option<IfAddr> {
    let family = *payload.first()?;
    let prefix_len = *payload.get(1)?;
    let hdr_flags = *payload.get(2)?;
    let scope = *payload.get(3)?;
    let ifindex = u32_at(payload, 4)?;
    let mut address = None;
    let mut local = None;
    let mut broadcast = None;
    let mut label = None;
    let mut flags = u32::from(hdr_flags);
    let mut valid_lft = None;
    let mut preferred_lft = None;
    for (ty, data) in attrs(payload.get(IFADDRMSG_LEN..)?) {
        match ty {
            IFA_ADDRESS => address = ip_from(family, data),
            IFA_LOCAL => local = ip_from(family, data),
            IFA_BROADCAST => {
                if let Some(IpAddr::V4(b)) = ip_from(family, data) {
                    broadcast = Some(b);
                }
            }
            IFA_LABEL => label = Some(attr_string(data)),
            IFA_FLAGS => flags = u32_at(data, 0).unwrap_or(flags),
            IFA_CACHEINFO => {
                let pref = u32_at(data, 0)?;
                let valid = u32_at(data, 4)?;
                preferred_lft = (pref != u32::MAX).then_some(pref);
                valid_lft = (valid != u32::MAX).then_some(valid);
            }
            _ => {}
        }
    }
    let address = address.or(local)?;
    Some(IfAddr {
        ifindex,
        address,
        local,
        broadcast,
        label,
        prefix_len,
        scope,
        flags,
        valid_lft,
        preferred_lft,
    })
}

fn errno_of(payload: &[u8]) -> Result<i32> {
    i32_at(payload, 0).ok_or(Error::MalformedNetlink("nlmsgerr"))
}

// ---------------------------------------------------------------------------------------------
// Sockets.

fn open_socket(groups: u32) -> Result<OwnedFd> {
    // SAFETY: plain system call without pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(Error::last_os("socket(AF_NETLINK)"));
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = groups;
    // SAFETY: `sa` is a valid sockaddr_nl of the length passed.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Error::last_os("bind(AF_NETLINK)"));
    }
    Ok(fd)
}

fn send_to_kernel(fd: &OwnedFd, msg: &[u8]) -> io::Result<()> {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value (pid 0 = the kernel).
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: `msg` and `sa` are live for the call and their lengths are passed.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn recv_into(fd: &OwnedFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
        if n >= 0 {
            return Ok(usize::try_from(n).unwrap_or(0));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A request/response rtnetlink socket.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink").field("seq", &self.seq).finish()
    }
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink> {
        Ok(Netlink {
            fd: open_socket(0)?,
            seq: 0,
            buf: vec![0u8; RECV_BUF],
        })
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends `msg` (sequence `seq`) and feeds each reply message to `on_msg` until the
    /// acknowledgement (requests) or `NLMSG_DONE` (dumps).
    pub(crate) fn transact(
        &mut self,
        op: &'static str,
        msg: &[u8],
        seq: u32,
        mut on_msg: impl FnMut(u16, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let sent_flags = u16_at(msg, 6).unwrap_or(0);
        let expect_end = sent_flags & (NLM_F_ACK | NLM_F_DUMP) != 0;
        send_to_kernel(&self.fd, msg).map_err(|source| Error::Netlink { op, source })?;
        loop {
            let n = recv_into(&self.fd, &mut self.buf, 0)
                .map_err(|source| Error::Netlink { op, source })?;
            let data = self.buf.get(..n).unwrap_or(&[]);
            for (hdr, payload) in messages(data) {
                if hdr.seq != seq {
                    continue;
                }
                match hdr.ty {
                    NLMSG_NOOP => {}
                    NLMSG_ERROR => {
                        let errno = errno_of(payload)?;
                        if errno == 0 {
                            return Ok(());
                        }
                        return Err(Error::Netlink {
                            op,
                            source: io::Error::from_raw_os_error(errno.saturating_neg()),
                        });
                    }
                    NLMSG_DONE => {
                        let errno = errno_of(payload).unwrap_or(0);
                        if errno < 0 {
                            return Err(Error::Netlink {
                                op,
                                source: io::Error::from_raw_os_error(errno.saturating_neg()),
                            });
                        }
                        return Ok(());
                    }
                    NLMSG_OVERRUN => return Err(Error::MalformedNetlink("overrun")),
                    ty => {
                        on_msg(ty, payload)?;
                        // A reply to a plain (non-dump) request without NLM_F_ACK ends here.
                        if hdr.flags & NLM_F_MULTI == 0 && !expect_end {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// The link called `name`.
    pub fn link_by_name(&mut self, name: &str) -> Result<LinkInfo> {
        check_ifname(name)?;
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&ifinfomsg(libc::AF_UNSPEC as u8, 0, 0, 0))
            .attr(IFLA_IFNAME, &cstr(name));
        self.get_link(m, seq, || name.to_string())
    }

    /// The link with index `ifindex`.
    pub fn link_by_index(&mut self, ifindex: u32) -> Result<LinkInfo> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&ifinfomsg(libc::AF_UNSPEC as u8, ifindex, 0, 0));
        self.get_link(m, seq, || format!("index {ifindex}"))
    }

    /// Sends the `RTM_GETLINK` request `m`: the link, else [`Error::NoSuchInterface`] named
    /// by `what`.
    fn get_link(&mut self, m: MsgBuilder, seq: u32, what: impl Fn() -> String) -> Result<LinkInfo> {
        let msg = m.finish();
        let mut found = None;
        let r = self.transact("RTM_GETLINK", &msg, seq, |ty, p| {
            if ty == RTM_NEWLINK {
                found = Some(parse_link(p)?);
            }
            Ok(())
        });
        match (r, found) {
            (_, Some(l)) => Ok(l),
            (Err(Error::Netlink { source, .. }), None)
                if source.raw_os_error() == Some(libc::ENODEV) =>
            {
                Err(Error::NoSuchInterface(what()))
            }
            (Err(e), None) => Err(e),
            (Ok(()), None) => Err(Error::NoSuchInterface(what())),
        }
    }

    /// All links.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&ifinfomsg(libc::AF_UNSPEC as u8, 0, 0, 0));
        let msg = m.finish();
        let mut out = Vec::new();
        self.transact("RTM_GETLINK", &msg, seq, |ty, p| {
            if ty == RTM_NEWLINK {
                out.push(parse_link(p)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// `RTM_NEWLINK` on an existing link: `IFF_*` bits and at most one attribute.
    pub(crate) fn set_link(
        &mut self,
        op: &'static str,
        ifindex: u32,
        flags: u32,
        change: u32,
        attr: Option<(u16, &[u8])>,
    ) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&ifinfomsg(libc::AF_UNSPEC as u8, ifindex, flags, change));
        if let Some((ty, data)) = attr {
            m.attr(ty, data);
        }
        let msg = m.finish();
        self.transact(op, &msg, seq, |_, _| Ok(()))
    }

    /// Sets the interface's alias (`ip link set dev X alias TEXT`; at most 255 bytes); an empty
    /// `alias` removes it.
    pub fn set_alias(&mut self, ifindex: u32, alias: &str) -> Result<()> {
        self.set_link(
            "RTM_NEWLINK",
            ifindex,
            0,
            0,
            Some((IFLA_IFALIAS, alias.as_bytes())),
        )
    }

    /// Sets or clears the `IFF_*` bits in `mask` to their values in `flags`.
    pub fn set_flags(&mut self, ifindex: u32, flags: u32, mask: u32) -> Result<()> {
        self.set_link("RTM_NEWLINK", ifindex, flags & mask, mask, None)
    }

    /// Administratively up or down.
    pub fn set_up(&mut self, ifindex: u32, up: bool) -> Result<()> {
        self.set_flags(ifindex, if up { IFF_UP } else { 0 }, IFF_UP)
    }

    /// Sets or clears `IFF_NOARP`.
    pub fn set_noarp(&mut self, ifindex: u32, noarp: bool) -> Result<()> {
        self.set_flags(ifindex, if noarp { IFF_NOARP } else { 0 }, IFF_NOARP)
    }

    /// Sets the MTU.
    pub fn set_mtu(&mut self, ifindex: u32, mtu: u32) -> Result<()> {
        self.set_link(
            "RTM_NEWLINK",
            ifindex,
            0,
            0,
            Some((IFLA_MTU, &mtu.to_ne_bytes())),
        )
    }

    /// Sets the hardware address.
    pub fn set_mac(&mut self, ifindex: u32, mac: MacAddr) -> Result<()> {
        self.set_link(
            "RTM_NEWLINK",
            ifindex,
            0,
            0,
            Some((IFLA_ADDRESS, &mac.octets())),
        )
    }

    /// The IPv4 and IPv6 addresses of `ifindex`.
    pub fn addresses(&mut self, ifindex: u32) -> Result<Vec<IfAddr>> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&[libc::AF_UNSPEC as u8, 0, 0, 0, 0, 0, 0, 0]);
        let msg = m.finish();
        let mut out = Vec::new();
        self.transact("RTM_GETADDR", &msg, seq, |ty, p| {
            if ty == RTM_NEWADDR
                && let Some(a) = parse_addr(p)
                && a.ifindex == ifindex
            {
                out.push(a);
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn addr_msg(&mut self, ty: u16, flags: u16, a: &IfAddr) -> (u32, Vec<u8>) {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(ty, flags, seq);
        let mut hdr = [0u8; IFADDRMSG_LEN];
        hdr[0] = family_of(&a.address);
        hdr[1] = a.prefix_len;
        hdr[2] = (a.flags & 0xff) as u8;
        hdr[3] = a.scope;
        hdr[4..8].copy_from_slice(&a.ifindex.to_ne_bytes());
        m.bytes(&hdr);
        if let Some(l) = &a.local {
            m.attr(IFA_LOCAL, &ip_bytes(l));
        }
        m.attr(IFA_ADDRESS, &ip_bytes(&a.address));
        if ty == RTM_NEWADDR {
            if let Some(b) = &a.broadcast {
                m.attr(IFA_BROADCAST, &b.octets());
            }
            if let Some(l) = &a.label {
                m.attr(IFA_LABEL, &cstr(l));
            }
            m.attr(IFA_FLAGS, &a.flags.to_ne_bytes());
            if a.valid_lft.is_some() || a.preferred_lft.is_some() {
                let mut ci = [0u8; 16];
                ci[0..4].copy_from_slice(&a.preferred_lft.unwrap_or(u32::MAX).to_ne_bytes());
                ci[4..8].copy_from_slice(&a.valid_lft.unwrap_or(u32::MAX).to_ne_bytes());
                m.attr(IFA_CACHEINFO, &ci);
            }
        }
        (seq, m.finish())
    }

    /// Adds an address (as returned by [`Netlink::addresses`]).
    pub fn add_address(&mut self, a: &IfAddr) -> Result<()> {
        let (seq, msg) = self.addr_msg(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            a,
        );
        self.transact("RTM_NEWADDR", &msg, seq, |_, _| Ok(()))
    }

    /// Deletes an address.
    pub fn delete_address(&mut self, a: &IfAddr) -> Result<()> {
        let (seq, msg) = self.addr_msg(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, a);
        self.transact("RTM_DELADDR", &msg, seq, |_, _| Ok(()))
    }

    /// Deletes the dynamic neighbour (ARP/NDP) entries of `ifindex` (permanent and NOARP entries
    /// stay, like `ip neigh flush dev`); returns how many were deleted.
    pub fn flush_neighbours(&mut self, ifindex: u32) -> Result<usize> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&ndmsg(0, 0, 0, 0));
        let msg = m.finish();
        let mut victims: Vec<IpAddr> = Vec::new();
        self.transact("RTM_GETNEIGH", &msg, seq, |ty, p| {
            let Some(nd) = parse_ndmsg(p).filter(|_| ty == RTM_NEWNEIGH) else {
                return Ok(());
            };
            if nd.ifindex != ifindex || nd.state & (NUD_NOARP | NUD_PERMANENT) != 0 {
                return Ok(());
            }
            for (aty, data) in attrs(nd.attrs) {
                if aty == NDA_DST
                    && let Some(ip) = ip_from(nd.family, data)
                {
                    victims.push(ip);
                }
            }
            Ok(())
        })?;
        let mut deleted = 0;
        for ip in victims {
            match self.del_neighbour(ifindex, ip) {
                Ok(()) => deleted += 1,
                Err(Error::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }
}

/// A neighbour (ARP / IPv6 ND) entry of one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// The neighbour's address.
    pub ip: IpAddr,
    /// Its link-layer address (zero while unresolved).
    pub mac: MacAddr,
    /// `NUD_*` state bits.
    pub state: u16,
    /// `NTF_*` flags.
    pub flags: u8,
}

impl Neighbour {
    /// Resolved by the kernel: reachable, stale, delay or probe (not permanent, not NOARP,
    /// not incomplete or failed).
    pub fn is_resolved(&self) -> bool {
        self.state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE) != 0
            && self.state & (NUD_NOARP | NUD_PERMANENT) == 0
            && !self.mac.is_zero()
    }
    /// Installed by a program (`extern_learn`), as lagd installs its DT peer's entries.
    pub fn is_extern_learned(&self) -> bool {
        self.flags & NTF_EXT_LEARNED != 0
    }
}

impl Netlink {
    /// The neighbour entries of interface `ifindex` (IPv4 and IPv6).
    pub fn neighbours(&mut self, ifindex: u32) -> Result<Vec<Neighbour>> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&ndmsg(0, ifindex, 0, 0));
        let msg = m.finish();
        let mut out = Vec::new();
        self.transact("RTM_GETNEIGH", &msg, seq, |ty, p| {
            let Some(nd) = parse_ndmsg(p).filter(|_| ty == RTM_NEWNEIGH) else {
                return Ok(());
            };
            if nd.ifindex != ifindex {
                return Ok(());
            }
            let mut ip = None;
            let mut mac = MacAddr::ZERO;
            for (aty, data) in attrs(nd.attrs) {
                match aty {
                    NDA_DST => ip = ip_from(nd.family, data),
                    NDA_LLADDR => {
                        if let Some(a) = data.get(..6).and_then(|d| <[u8; 6]>::try_from(d).ok()) {
                            mac = MacAddr(a);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(ip) = ip {
                out.push(Neighbour {
                    ip,
                    mac,
                    state: nd.state,
                    flags: nd.flags,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Installs (or replaces) `ip` → `mac` on `ifindex` as an externally learned entry in
    /// state STALE (`ip neigh replace IP lladdr MAC dev DEV nud stale extern_learn`): used at
    /// once, confirmed by the kernel's unicast probe on first use, never aged out.
    pub fn set_extern_neighbour(&mut self, ifindex: u32, ip: IpAddr, mac: MacAddr) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(
            RTM_NEWNEIGH,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
            seq,
        );
        m.bytes(&ndmsg(family_of(&ip), ifindex, NUD_STALE, NTF_EXT_LEARNED))
            .attr(NDA_DST, &ip_bytes(&ip))
            .attr(NDA_LLADDR, &mac.0);
        let msg = m.finish();
        self.transact("RTM_NEWNEIGH", &msg, seq, |_, _| Ok(()))
    }

    /// Deletes the neighbour entry of `ip` on `ifindex` (absent: not an error).
    pub fn delete_neighbour(&mut self, ifindex: u32, ip: IpAddr) -> Result<()> {
        match self.del_neighbour(ifindex, ip) {
            Err(Error::Netlink { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
                Ok(())
            }
            other => other,
        }
    }

    /// `RTM_DELNEIGH` of `ip` on `ifindex` (absent: `ENOENT`).
    fn del_neighbour(&mut self, ifindex: u32, ip: IpAddr) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&ndmsg(family_of(&ip), ifindex, 0, 0))
            .attr(NDA_DST, &ip_bytes(&ip));
        let msg = m.finish();
        self.transact("RTM_DELNEIGH", &msg, seq, |_, _| Ok(()))
    }
}

/// Link events from `RTMGRP_LINK`, read from a nonblocking socket that can be polled
/// (register [`LinkMonitor::as_fd`] with an [`crate::Epoll`]).
pub struct LinkMonitor {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Interfaces whose addresses changed (`RTM_NEWADDR` / `RTM_DELADDR`) since
    /// [`LinkMonitor::take_address_changes`].
    addr_changes: Vec<u32>,
}

impl std::fmt::Debug for LinkMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMonitor").finish_non_exhaustive()
    }
}

impl LinkMonitor {
    /// Subscribes to link and address notifications in the calling thread's network
    /// namespace.
    pub fn open() -> Result<LinkMonitor> {
        let fd = open_socket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)?;
        // SAFETY: F_SETFL with integer flags on a descriptor we own.
        let r = unsafe {
            let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK)
        };
        if r < 0 {
            return Err(Error::last_os("fcntl(O_NONBLOCK)"));
        }
        Ok(LinkMonitor {
            fd,
            buf: vec![0u8; RECV_BUF],
            addr_changes: Vec::new(),
        })
    }

    /// The interfaces (by index, each once) whose IPv4 or IPv6 addresses were added or removed
    /// since the last call, as seen by [`LinkMonitor::recv`]. After
    /// [`Error::MonitorOverrun`] some may be missing: re-read the addresses of every
    /// interface of interest.
    pub fn take_address_changes(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.addr_changes)
    }

    /// Appends the events waiting on the socket to `out` (never blocks); returns how many were
    /// added. [`Error::MonitorOverrun`] means notifications were lost: re-read the links.
    pub fn recv(&mut self, out: &mut Vec<LinkEvent>) -> Result<usize> {
        let before = out.len();
        loop {
            match recv_into(&self.fd, &mut self.buf, libc::MSG_DONTWAIT) {
                Ok(n) => {
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    for (hdr, payload) in messages(data) {
                        if hdr.ty == RTM_NEWADDR || hdr.ty == RTM_DELADDR {
                            if let Some(i) = u32_at(payload, 4)
                                && !self.addr_changes.contains(&i)
                            {
                                self.addr_changes.push(i);
                            }
                            continue;
                        }
                        if hdr.ty != RTM_NEWLINK && hdr.ty != RTM_DELLINK {
                            continue;
                        }
                        let Ok(l) = parse_link(payload) else { continue };
                        out.push(LinkEvent {
                            ifindex: l.ifindex,
                            up: l.is_up(),
                            carrier: l.carrier,
                            operstate: l.operstate,
                            name: l.name,
                            deleted: hdr.ty == RTM_DELLINK,
                        });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(Error::MonitorOverrun);
                }
                Err(source) => {
                    return Err(Error::Sys {
                        op: "recv(RTMGRP_LINK)",
                        source,
                    });
                }
            }
        }
        Ok(out.len() - before)
    }
}

impl AsFd for LinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_attributes_and_sets_length() {
        let mut m = MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST, 9);
        m.bytes(&ifinfomsg(0, 3, 0, 0)).attr(IFLA_IFNAME, b"lo\0");
        let msg = m.finish();
        assert_eq!(msg.len(), 16 + 16 + 8);
        assert_eq!(u32_at(&msg, 0), Some(40));
        let (hdr, payload) = messages(&msg).next().unwrap_or((
            NlHdr {
                ty: 0,
                flags: 0,
                seq: 0,
            },
            &[],
        ));
        assert_eq!((hdr.ty, hdr.seq), (RTM_GETLINK, 9));
        let a: Vec<_> = attrs(&payload[16..]).collect();
        assert_eq!(a, vec![(IFLA_IFNAME, &b"lo\0"[..])]);
    }

    #[test]
    fn malformed_input_never_panics() {
        // Lengths that lie, truncated headers, zero-length attributes.
        let cases: [&[u8]; 5] = [
            &[],
            &[0xff, 0xff, 0xff, 0xff, 0, 0],
            &[20, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[8, 0, 0, 0, 0, 0, 0, 0],
            &[0, 0, 1, 0, 9, 9],
        ];
        for c in cases {
            for (_, p) in messages(c) {
                let _ = parse_link(p);
                let _ = parse_addr(p);
            }
            let _ = attrs(c).count();
            let _ = parse_link(c);
            let _ = parse_addr(c);
        }
        assert_eq!(
            attrs(&[0xff, 0xff, 0, 0]).count(),
            0,
            "length beyond the buffer"
        );
        assert_eq!(attrs(&[2, 0, 1, 0]).count(), 0, "length below the header");
        assert_eq!(
            attrs(&[5, 0, 1, 0, 9]).collect::<Vec<_>>(),
            vec![(1, &[9u8][..])]
        );
        assert_eq!(
            messages(&[15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).count(),
            0
        );
    }

    #[test]
    fn parses_an_ipv4_address_message() {
        let mut m = MsgBuilder::new(RTM_NEWADDR, 0, 1);
        m.bytes(&[libc::AF_INET as u8, 24, 0x80, 0, 5, 0, 0, 0])
            .attr(IFA_ADDRESS, &[198, 18, 0, 1])
            .attr(IFA_LOCAL, &[198, 18, 0, 1])
            .attr(IFA_BROADCAST, &[198, 18, 0, 255])
            .attr(IFA_LABEL, b"veth0\0")
            .attr(IFA_FLAGS, &0x80u32.to_ne_bytes());
        let msg = m.finish();
        let (_, payload) = messages(&msg).next().unwrap_or((
            NlHdr {
                ty: 0,
                flags: 0,
                seq: 0,
            },
            &[],
        ));
        let a = parse_addr(payload);
        let a = a.as_ref();
        assert_eq!(a.map(|a| a.to_string()).as_deref(), Some("198.18.0.1/24"));
        assert_eq!(a.map(|a| a.ifindex), Some(5));
        assert_eq!(
            a.and_then(|a| a.broadcast),
            Some(Ipv4Addr::new(198, 18, 0, 255))
        );
        assert_eq!(a.map(|a| a.is_global()), Some(true));
        assert_eq!(a.and_then(|a| a.label.clone()).as_deref(), Some("veth0"));
    }

    #[test]
    fn loopback_is_found_by_name_and_index() -> Result<()> {
        let mut nl = Netlink::open()?;
        let lo = nl.link_by_name("lo")?;
        assert_eq!(lo.name, "lo");
        let again = nl.link_by_index(lo.ifindex)?;
        assert_eq!(again.name, "lo");
        assert!(matches!(
            nl.link_by_name("nonexistent0"),
            Err(Error::NoSuchInterface(_))
        ));
        assert!(nl.links()?.iter().any(|l| l.name == "lo"));
        Ok(())
    }
}
