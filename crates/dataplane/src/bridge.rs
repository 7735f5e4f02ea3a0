//! Linux bridge helpers over rtnetlink, for Distributed Trunking: bridge port isolation
//! (`IFLA_BRPORT_ISOLATED`, like `bridge link set dev X isolated on`) and the forwarding
//! database (`RTM_GETNEIGH` / `RTM_NEWNEIGH` / `RTM_DELNEIGH` with `AF_BRIDGE`, like
//! `bridge fdb show|add|del`).
//!
//! Self-contained: its own `NETLINK_ROUTE` socket (acting in the network namespace of the
//! thread that opened it). Messages are built and parsed by safe code that checks every
//! length; only the socket calls are `unsafe`.

use crate::error::{Error, Result};
use lagd_types::MacAddr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;
const RTM_GETNEIGH: u16 = 30;
const RTM_SETLINK: u16 = 19;
const RTM_NEWLINK: u16 = 16;
const IFLA_MASTER: u16 = 10;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
const IFLA_PROTINFO: u16 = 12;
const IFLA_BRPORT_ISOLATED: u16 = 33;
const IFLA_BRPORT_UNICAST_FLOOD: u16 = 9;
const IFLA_BRPORT_LEARNING: u16 = 8;
const IFLA_BRPORT_MCAST_FLOOD: u16 = 27;
const IFLA_BRPORT_BCAST_FLOOD: u16 = 30;
const NDA_LLADDR: u16 = 2;
const NDA_VLAN: u16 = 5;
const NDA_MASTER: u16 = 9;
const NTF_MASTER: u8 = 0x04;
/// `NTF_STICKY`: the entry does not roam when the address shows up on another port.
const NTF_STICKY: u8 = 0x40;
/// `NUD_REACHABLE`.
const NUD_REACHABLE: u16 = 0x02;
/// `NUD_NOARP`: a static entry.
pub const NUD_NOARP: u16 = 0x40;
/// `NUD_PERMANENT`: a local (own address) entry.
pub const NUD_PERMANENT: u16 = 0x80;
const AF_BRIDGE: u8 = 7;
const HDR: usize = 16;
const NDMSG_LEN: usize = 12;
const IFINFOMSG_LEN: usize = 16;
const RECV_BUF: usize = 256 * 1024;

/// One forwarding database entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FdbEntry {
    /// The bridge port (or device) it points at.
    pub ifindex: u32,
    /// The address.
    pub mac: MacAddr,
    /// VLAN id, 0 if none.
    pub vlan: u16,
    /// The bridge (`NDA_MASTER`), 0 if not reported.
    pub master: u32,
    /// `ndm_state` (`NUD_*`).
    pub state: u16,
    /// `ndm_flags` (`NTF_*`).
    pub flags: u8,
}

impl FdbEntry {
    /// A static or local entry (not learned).
    pub fn is_static(&self) -> bool {
        self.state & (NUD_NOARP | NUD_PERMANENT) != 0
    }
    /// Learned by the bridge (dynamic).
    pub fn is_learned(&self) -> bool {
        !self.is_static()
    }
    /// A static, sticky entry (`static sticky` in `bridge fdb show`): how lagd installs the
    /// DT peer's addresses, so that a lagd started again finds and removes what a killed one
    /// left behind on the ports it manages.
    pub fn is_lagd_static(&self) -> bool {
        self.state & NUD_NOARP != 0 && self.flags & NTF_STICKY != 0
    }
}

/// An rtnetlink socket for bridge operations.
pub struct BridgeNetlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for BridgeNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeNetlink")
            .field("seq", &self.seq)
            .finish()
    }
}

fn nl_err(op: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Netlink { op, source }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn attr(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(align4(out.len()), 0);
}

/// Netlink attributes of `buf`.
fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(buf, off)?);
        let ty = u16_at(buf, off + 2)? & NLA_TYPE_MASK;
        if len < 4 {
            return None;
        }
        let data = buf.get(off + 4..off + len)?;
        off += align4(len);
        Some((ty, data))
    })
}

fn message(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(HDR + body.len()).unwrap_or(u32::MAX);
    let mut m = Vec::with_capacity(HDR + body.len());
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(body);
    m
}

fn ndmsg(ifindex: u32, state: u16, flags: u8) -> [u8; NDMSG_LEN] {
    let mut b = [0u8; NDMSG_LEN];
    b[0] = AF_BRIDGE;
    b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    b[8..10].copy_from_slice(&state.to_ne_bytes());
    b[10] = flags;
    b
}

fn parse_fdb(payload: &[u8]) -> Option<FdbEntry> {
    if payload.first() != Some(&AF_BRIDGE) {
        return None;
    }
    let ifindex = u32_at(payload, 4)?;
    let state = u16_at(payload, 8)?;
    let flags = *payload.get(10)?;
    let mut e = FdbEntry {
        ifindex,
        mac: MacAddr::ZERO,
        vlan: 0,
        master: 0,
        state,
        flags,
    };
    for (ty, data) in attrs(payload.get(NDMSG_LEN..)?) {
        match ty {
            NDA_LLADDR => e.mac = MacAddr::from_slice(data)?,
            NDA_VLAN => e.vlan = u16_at(data, 0)?,
            NDA_MASTER => e.master = u32_at(data, 0)?,
            _ => {}
        }
    }
    Some(e)
}

impl BridgeNetlink {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> Result<BridgeNetlink> {
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
        Ok(BridgeNetlink {
            fd,
            seq: 0,
            buf: vec![0u8; RECV_BUF],
        })
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; all-zero (pid 0 = the kernel) is valid.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: `msg` and `sa` are live for the call and their lengths are passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
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

    fn recv(&mut self) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is a live, writable buffer of the length passed.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    0,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends a request and collects the payloads of the replies of type `want` until the
    /// acknowledgement or the end of the dump.
    fn transact(
        &mut self,
        op: &'static str,
        ty: u16,
        flags: u16,
        body: &[u8],
        want: u16,
    ) -> Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let msg = message(ty, flags, seq, body);
        self.send(&msg).map_err(nl_err(op))?;
        let mut out = Vec::new();
        loop {
            let n = self.recv().map_err(nl_err(op))?;
            let data = self.buf.get(..n).unwrap_or(&[]);
            let mut off = 0usize;
            while off + HDR <= data.len() {
                let len = u32_at(data, off).unwrap_or(0) as usize;
                let mty = u16_at(data, off + 4).unwrap_or(0);
                let mflags = u16_at(data, off + 6).unwrap_or(0);
                let mseq = u32_at(data, off + 8).unwrap_or(0);
                if len < HDR || off + len > data.len() {
                    return Err(Error::MalformedNetlink("bad message length"));
                }
                let payload = data.get(off + HDR..off + len).unwrap_or(&[]);
                off += align4(len);
                if mseq != seq {
                    continue;
                }
                match mty {
                    NLMSG_ERROR => {
                        let errno = u32_at(payload, 0).map(|v| v as i32).unwrap_or(0);
                        if errno == 0 {
                            return Ok(out);
                        }
                        return Err(Error::Netlink {
                            op,
                            source: io::Error::from_raw_os_error(errno.saturating_neg()),
                        });
                    }
                    NLMSG_DONE => return Ok(out),
                    t if t == want => {
                        out.push(payload.to_vec());
                        if mflags & NLM_F_MULTI == 0 && flags & (NLM_F_ACK | NLM_F_DUMP) == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn set_port_flags(
        &mut self,
        op: &'static str,
        ifindex: u32,
        flags: &[(u16, bool)],
    ) -> Result<()> {
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body[0] = AF_BRIDGE;
        body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        let mut nested = Vec::new();
        for (a, on) in flags {
            attr(&mut nested, *a, &[u8::from(*on)]);
        }
        attr(&mut body, IFLA_PROTINFO | NLA_F_NESTED, &nested);
        self.transact(op, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, &body, 0)
            .map(drop)
    }

    /// Sets or clears the `isolated` flag of bridge port `ifindex`: isolated ports do not
    /// exchange frames with each other (in either direction).
    pub fn set_port_isolated(&mut self, ifindex: u32, on: bool) -> Result<()> {
        self.set_port_flags(
            "RTM_SETLINK(isolated)",
            ifindex,
            &[(IFLA_BRPORT_ISOLATED, on)],
        )
    }

    /// Whether the bridge floods unknown unicast, multicast and broadcast out of port
    /// `ifindex` (`bridge link set dev X flood/mcast_flood/bcast_flood on|off`).
    pub fn set_port_flood(&mut self, ifindex: u32, on: bool) -> Result<()> {
        self.set_port_flags(
            "RTM_SETLINK(flood)",
            ifindex,
            &[
                (IFLA_BRPORT_UNICAST_FLOOD, on),
                (IFLA_BRPORT_MCAST_FLOOD, on),
                (IFLA_BRPORT_BCAST_FLOOD, on),
            ],
        )
    }

    /// Whether the bridge learns source addresses on port `ifindex` (`bridge link set dev X
    /// learning on|off`).
    pub fn set_port_learning(&mut self, ifindex: u32, on: bool) -> Result<()> {
        self.set_port_flags(
            "RTM_SETLINK(learning)",
            ifindex,
            &[(IFLA_BRPORT_LEARNING, on)],
        )
    }

    /// Makes `ifindex` a port of bridge `master` (like `ip link set dev X master BR`).
    pub fn set_master(&mut self, ifindex: u32, master: u32) -> Result<()> {
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        attr(&mut body, IFLA_MASTER, &master.to_ne_bytes());
        self.transact(
            "RTM_NEWLINK(master)",
            RTM_NEWLINK,
            NLM_F_REQUEST | NLM_F_ACK,
            &body,
            0,
        )
        .map(drop)
    }

    /// The whole bridge forwarding database (every bridge of the namespace).
    pub fn fdb(&mut self) -> Result<Vec<FdbEntry>> {
        let body = ndmsg(0, 0, 0);
        let replies = self.transact(
            "RTM_GETNEIGH(AF_BRIDGE)",
            RTM_GETNEIGH,
            NLM_F_REQUEST | NLM_F_DUMP,
            &body,
            RTM_NEWNEIGH,
        )?;
        Ok(replies.iter().filter_map(|p| parse_fdb(p)).collect())
    }

    fn fdb_body(port: u32, mac: MacAddr, vlan: u16, state: u16, flags: u8) -> Vec<u8> {
        let mut body = ndmsg(port, state, NTF_MASTER | flags).to_vec();
        attr(&mut body, NDA_LLADDR, &mac.octets());
        if vlan != 0 {
            attr(&mut body, NDA_VLAN, &vlan.to_ne_bytes());
        }
        body
    }

    /// Adds (or replaces) a static, sticky entry `mac` (VLAN `vlan`, 0 = none) on bridge port
    /// `port`, like `bridge fdb replace MAC dev PORT master static sticky`.
    pub fn fdb_add_static(&mut self, port: u32, mac: MacAddr, vlan: u16) -> Result<()> {
        let body = Self::fdb_body(port, mac, vlan, NUD_NOARP | NUD_REACHABLE, NTF_STICKY);
        self.transact(
            "RTM_NEWNEIGH(AF_BRIDGE)",
            RTM_NEWNEIGH,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
            &body,
            0,
        )
        .map(drop)
    }

    /// Deletes entry `mac` (VLAN `vlan`) of bridge port `port`.
    pub fn fdb_del(&mut self, port: u32, mac: MacAddr, vlan: u16) -> Result<()> {
        let body = Self::fdb_body(port, mac, vlan, 0, 0);
        self.transact(
            "RTM_DELNEIGH(AF_BRIDGE)",
            RTM_DELNEIGH,
            NLM_F_REQUEST | NLM_F_ACK,
            &body,
            0,
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdb_messages_parse_and_build() {
        let body = BridgeNetlink::fdb_body(7, MacAddr([2, 0, 0, 0, 0, 9]), 10, NUD_NOARP, 0);
        let e = parse_fdb(&body).unwrap();
        assert_eq!(e.ifindex, 7);
        assert_eq!(e.mac, MacAddr([2, 0, 0, 0, 0, 9]));
        assert_eq!(e.vlan, 10);
        assert!(e.is_static());
        assert_eq!(e.flags, NTF_MASTER);
        assert!(parse_fdb(&[0u8; 3]).is_none());
        let mut junk = body.clone();
        junk[0] = 2; // AF_INET: not a bridge entry
        assert!(parse_fdb(&junk).is_none());
        // A truncated attribute ends the walk without panicking.
        let cut = &body[..body.len() - 3];
        let _ = parse_fdb(cut);
    }
}
