//! A member's wire side: an `AF_PACKET`/`SOCK_RAW`/`ETH_P_ALL` socket bound to one interface,
//! with virtio-net headers (`PACKET_VNET_HDR`), our own transmissions hidden
//! (`PACKET_IGNORE_OUTGOING`), promiscuous membership (frames for the aggregate's MAC arrive)
//! and the Slow Protocols group 01-80-C2-00-00-02. Frames move in batches with `recvmmsg` /
//! `sendmmsg` from preallocated buffers.
//!
//! `PACKET_QDISC_BYPASS` is deliberately not used: a member's qdisc (e.g. tc tbf) must shape
//! what lagd sends.

use crate::error::{Error, Result};
use crate::vnet::{VNET_HDR_LEN, VnetHdr};
use lagd_types::MacAddr;
use lagd_wire::ETHERTYPE_SLOW_PROTOCOLS;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_MR_MULTICAST: u16 = 0;
const PACKET_MR_PROMISC: u16 = 1;

/// Most frames one `recvmmsg`/`sendmmsg` moves.
pub const MAX_BATCH: usize = 64;
/// Room for the largest frame: vnet header + a 64 KiB GSO super-frame with its Ethernet header.
pub const MAX_FRAME: usize = VNET_HDR_LEN + 65550;

/// `struct packet_mreq`.
#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// How to open a [`PacketSocket`]. The default is what a member needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketOptions {
    /// `PACKET_VNET_HDR`: each frame is preceded by a 10-byte [`VnetHdr`].
    pub vnet_hdr: bool,
    /// `PACKET_MR_PROMISC` membership.
    pub promisc: bool,
    /// `PACKET_MR_MULTICAST` membership of 01-80-C2-00-00-02 (Slow Protocols).
    pub slow_protocols: bool,
    /// `PACKET_IGNORE_OUTGOING`: do not receive what this host sends on the interface.
    pub ignore_outgoing: bool,
    /// `SO_RCVBUFFORCE` bytes (0 = leave the default).
    pub rcvbuf: usize,
    /// `SO_SNDBUFFORCE` bytes (0 = leave the default).
    pub sndbuf: usize,
}

impl Default for PacketOptions {
    fn default() -> Self {
        PacketOptions {
            vnet_hdr: true,
            promisc: true,
            slow_protocols: true,
            ignore_outgoing: true,
            rcvbuf: 16 << 20,
            sndbuf: 16 << 20,
        }
    }
}

/// An `AF_PACKET` raw socket bound to one interface, nonblocking.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    vnet_hdr: bool,
}

/// `setsockopt(2)` of `val` (option `opt` at `level`) on `fd`: the packet sockets' and the
/// micro-BFD sockets' ([`crate::BfdSocket`]) one helper.
pub(crate) fn setsockopt<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    opt: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` is a live value whose size is passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
impl PacketSocket {
    /// Receive only Slow Protocols frames (EtherType 0x8809) when `on`, everything again when
    /// not: for members whose data frames a kernel fast path delivers. Micro-BFD frames (IPv4
    /// without options, UDP to port 6784, RFC 7130) are control frames too and pass.
    /// ([`crate::rx_offload`]). A classic BPF socket filter, run before anything is copied;
    /// the socket stays bound to every protocol, so what lagd sends on it keeps its real
    /// EtherType. Marker PDUs are taken only on the pass where they carry
    /// [`crate::rx_offload::MARKER_PASS_MARK`] (after the data that preceded them); any frame
    /// carrying it is taken (the receive program of a switch-independent mode sends lagd the
    /// frames it must judge that way).
    pub fn set_slow_protocols_only(&self, on: bool) -> io::Result<()> {
        if !on {
            return match setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &0i32) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
                other => other,
            };
        }
        const SKF_AD_MARK: u32 = (-0x1000i32) as u32 + 20;
        let f = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
        let pass = crate::rx_offload::MARKER_PASS_MARK;
        let code = [
            f(0x20, 0, 0, SKF_AD_MARK),                         // 0 ld skb->mark
            f(0x15, 13, 0, pass), // 1 second pass (Marker PDU, a frame for lagd): accept
            f(0x28, 0, 0, 12),    // 2 ldh [12]: EtherType
            f(0x15, 7, 0, u32::from(ETHERTYPE_SLOW_PROTOCOLS)), // 3 Slow Protocols: to 11
            f(0x15, 0, 11, 0x0800), // 4 not IPv4: drop
            f(0x30, 0, 0, 14),    // 5 ldb [14]: version and header length
            f(0x15, 0, 9, 0x45),  // 6 options or not IPv4: drop
            f(0x30, 0, 0, 23),    // 7 ldb [23]: protocol
            f(0x15, 0, 7, 17),    // 8 not UDP: drop
            f(0x28, 0, 0, 36),    // 9 ldh [36]: UDP destination port
            f(0x15, 4, 5, 6784),  // 10 micro-BFD (RFC 7130): accept, else drop
            f(0x30, 0, 0, 14),    // 11 ldb [14]: subtype
            f(0x15, 0, 2, 2),     // 12 not a Marker PDU: accept
            f(0x20, 0, 0, SKF_AD_MARK), // 13 ld skb->mark
            f(0x15, 0, 1, pass),  // 14 a Marker PDU on its first pass: drop
            f(0x06, 0, 0, u32::MAX), // 15 accept
            f(0x06, 0, 0, 0),     // 16 drop
        ];
        let prog = libc::sock_fprog {
            len: code.len() as u16,
            filter: code.as_ptr().cast_mut(),
        };
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
    }

    /// Opens a socket on interface `ifindex` (of the calling thread's network namespace).
    pub fn open(ifindex: u32, opts: &PacketOptions) -> Result<PacketSocket> {
        let sys = |op: &'static str| move |source| Error::Sys { op, source };
        // Protocol 0 at creation: nothing is queued before the socket is bound to the interface.
        // SAFETY: plain system call without pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(Error::last_os("socket(AF_PACKET)"));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let one: libc::c_int = 1;
        if opts.vnet_hdr {
            setsockopt(&fd, libc::SOL_PACKET, PACKET_VNET_HDR, &one)
                .map_err(sys("PACKET_VNET_HDR"))?;
        }
        if opts.ignore_outgoing {
            setsockopt(&fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, &one)
                .map_err(sys("PACKET_IGNORE_OUTGOING"))?;
        }
        if opts.rcvbuf > 0 {
            let v = libc::c_int::try_from(opts.rcvbuf).unwrap_or(libc::c_int::MAX);
            setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &v)
                .map_err(sys("SO_RCVBUFFORCE"))?;
        }
        if opts.sndbuf > 0 {
            let v = libc::c_int::try_from(opts.sndbuf).unwrap_or(libc::c_int::MAX);
            setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &v)
                .map_err(sys("SO_SNDBUFFORCE"))?;
        }
        let idx = bind_all(&fd, ifindex, "bind(AF_PACKET)")?;
        let mut memberships = Vec::new();
        if opts.promisc {
            memberships.push((PACKET_MR_PROMISC, None));
        }
        if opts.slow_protocols {
            memberships.push((PACKET_MR_MULTICAST, Some(MacAddr::SLOW_PROTOCOLS)));
        }
        for (ty, addr) in memberships {
            let mut mr = PacketMreq {
                mr_ifindex: idx,
                mr_type: ty,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            if let Some(a) = addr {
                mr.mr_alen = 6;
                for (d, s) in mr.mr_address.iter_mut().zip(a.octets()) {
                    *d = s;
                }
            }
            setsockopt(&fd, libc::SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr)
                .map_err(sys("PACKET_ADD_MEMBERSHIP"))?;
        }
        Ok(PacketSocket {
            fd,
            ifindex,
            vnet_hdr: opts.vnet_hdr,
        })
    }

    /// Takes over `fd`, a member socket inherited from a previous process (a restart that
    /// keeps the aggregation: frames queued on it meanwhile are read, not lost), after checking
    /// that it is an `AF_PACKET` socket bound to `ifindex` with the vnet header setting
    /// `vnet_hdr`. Its options, memberships and filter are kept; it is made close-on-exec.
    pub fn from_fd(fd: OwnedFd, ifindex: u32, vnet_hdr: bool) -> Result<PacketSocket> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: getsockname writes at most `len` bytes into `sa`, which has that size.
        let r = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut sa as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(Error::last_os("getsockname(inherited member socket)"));
        }
        let bound = u32::try_from(sa.sll_ifindex).unwrap_or(0);
        if i32::from(sa.sll_family) != libc::AF_PACKET || bound != ifindex {
            return Err(Error::Sys {
                op: "inherited member socket",
                source: io::Error::other(format!(
                    "not an AF_PACKET socket bound to interface index {ifindex} (family {}, index {bound})",
                    sa.sll_family
                )),
            });
        }
        let mut v: libc::c_int = 0;
        let mut vlen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `vlen` bytes into `v`, which has that size.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_VNET_HDR,
                (&mut v as *mut libc::c_int).cast(),
                &mut vlen,
            )
        };
        if r < 0 || (v != 0) != vnet_hdr {
            return Err(Error::Sys {
                op: "inherited member socket",
                source: io::Error::other("PACKET_VNET_HDR differs"),
            });
        }
        crate::durable::set_cloexec(fd.as_fd(), true)?;
        Ok(PacketSocket {
            fd,
            ifindex,
            vnet_hdr,
        })
    }

    /// The interface the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether frames carry a vnet header.
    pub fn vnet_hdr(&self) -> bool {
        self.vnet_hdr
    }

    /// Frames the kernel dropped for this socket since the last call, its receive buffer full
    /// (`PACKET_STATISTICS`, which the kernel resets when read).
    pub fn take_drops(&self) -> io::Result<u32> {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `st`, which has that size.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(st.tp_drops)
        }
    }

    /// Receives up to `batch`'s capacity of frames with one `recvmmsg`; returns how many
    /// (`WouldBlock` if none waits). Frames are then read with [`RecvBatch::frame`].
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.count = 0;
        batch.vnet_len = if self.vnet_hdr { VNET_HDR_LEN } else { 0 };
        // SAFETY: iovec and mmsghdr are plain data; null pointers and zero lengths are valid.
        let mut iov: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let slot = batch.slot;
        let mut n = 0usize;
        for (v, chunk) in iov
            .iter_mut()
            .zip(batch.buf.chunks_exact_mut(slot))
            .take(batch.cap)
        {
            v.iov_base = chunk.as_mut_ptr().cast();
            v.iov_len = chunk.len();
            n += 1;
        }
        for (h, v) in hdrs.iter_mut().zip(iov.iter_mut()).take(n) {
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: `hdrs[..n]` point at `iov[..n]`, which point at disjoint chunks of
        // `batch.buf` of the lengths given; all outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let got = usize::try_from(r).unwrap_or(0).min(n);
        for ((h, len), trunc) in hdrs
            .iter()
            .zip(batch.lens.iter_mut())
            .zip(batch.truncated.iter_mut())
            .take(got)
        {
            *len = usize::try_from(h.msg_len).unwrap_or(0).min(slot);
            *trunc = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        batch.count = got;
        Ok(got)
    }

    /// Sends up to [`MAX_BATCH`] frames from `frames` with one `sendmmsg` (each frame includes
    /// its vnet header if the socket uses them); returns how many were sent. An error means the
    /// first one was not (`WouldBlock`: the socket's send buffer is full, see
    /// [`PacketSocket::wait_writable`]); a later failure shows as a short count.
    pub fn send_batch<'a, I>(&self, frames: I) -> io::Result<usize>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        // SAFETY: iovec and mmsghdr are plain data; null pointers and zero lengths are valid.
        let mut iov: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let mut n = 0usize;
        for (v, f) in iov.iter_mut().zip(frames) {
            v.iov_base = f.as_ptr() as *mut libc::c_void;
            v.iov_len = f.len();
            n += 1;
        }
        if n == 0 {
            return Ok(0);
        }
        for (h, v) in hdrs.iter_mut().zip(iov.iter_mut()).take(n) {
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs[..n]` point at `iov[..n]`, which point at caller slices that outlive
        // the call; the kernel only reads them.
        let r = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(r).unwrap_or(0))
    }

    /// Sends one frame (with its vnet header if the socket uses them).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        match self.send_batch([frame])? {
            1 => Ok(()),
            _ => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        }
    }

    /// Waits up to `timeout_ms` for room in the send buffer; returns whether there is.
    pub fn wait_writable(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(e);
        }
        Ok(r > 0 && p.revents & libc::POLLOUT != 0)
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Preallocated receive buffers for [`PacketSocket::recv_batch`]: `frames` slots of
/// [`MAX_FRAME`] bytes in one allocation, touched lazily by the kernel. No allocation per frame.
pub struct RecvBatch {
    buf: Vec<u8>,
    slot: usize,
    cap: usize,
    count: usize,
    vnet_len: usize,
    lens: [usize; MAX_BATCH],
    truncated: [bool; MAX_BATCH],
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("capacity", &self.cap)
            .field("count", &self.count)
            .finish()
    }
}

/// One received frame, borrowed from a [`RecvBatch`].
#[derive(Clone, Copy, Debug)]
pub struct RecvFrame<'a> {
    /// The bytes as received: vnet header (if enabled) then the Ethernet frame.
    pub raw: &'a [u8],
    /// The Ethernet frame (after the vnet header).
    pub ethernet: &'a [u8],
    /// The decoded vnet header ([`VnetHdr::PLAIN`] without vnet headers).
    pub vnet: VnetHdr,
    /// The frame did not fit its buffer (`MSG_TRUNC`) and is cut short.
    pub truncated: bool,
}

impl RecvBatch {
    /// Room for `frames` frames (at most [`MAX_BATCH`]) of [`MAX_FRAME`] bytes.
    pub fn new(frames: usize) -> RecvBatch {
        Self::with_slot_size(frames, MAX_FRAME)
    }

    /// Room for `frames` frames (at most [`MAX_BATCH`]) of `slot` bytes.
    pub fn with_slot_size(frames: usize, slot: usize) -> RecvBatch {
        let cap = frames.clamp(1, MAX_BATCH);
        let slot = slot.max(VNET_HDR_LEN + 14);
        RecvBatch {
            buf: vec![0u8; cap * slot],
            slot,
            cap,
            count: 0,
            vnet_len: 0,
            lens: [0; MAX_BATCH],
            truncated: [false; MAX_BATCH],
        }
    }

    /// Frames received by the last [`PacketSocket::recv_batch`].
    pub fn len(&self) -> usize {
        self.count
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The Ethernet frame of frame `i` of the last receive (after its vnet header), writable.
    pub fn ethernet_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        if i >= self.count {
            return None;
        }
        let len = *self.lens.get(i)?;
        let start = i.checked_mul(self.slot)?;
        let vnet = self.vnet_len.min(len);
        self.buf
            .get_mut(start.checked_add(vnet)?..start.checked_add(len)?)
    }

    /// Frame `i` of the last receive; `None` past the end. A frame shorter than its vnet
    /// header yields an empty `ethernet`.
    pub fn frame(&self, i: usize) -> Option<RecvFrame<'_>> {
        if i >= self.count {
            return None;
        }
        let len = *self.lens.get(i)?;
        let start = i.checked_mul(self.slot)?;
        let raw = self.buf.get(start..start.checked_add(len)?)?;
        let ethernet = raw.get(self.vnet_len..).unwrap_or(&[]);
        let vnet = if self.vnet_len > 0 {
            VnetHdr::parse(raw).unwrap_or_default()
        } else {
            VnetHdr::PLAIN
        };
        Some(RecvFrame {
            raw,
            ethernet,
            vnet,
            truncated: self.truncated.get(i).copied().unwrap_or(false),
        })
    }
}

/// Binds the AF_PACKET socket `fd` to every protocol on interface `ifindex`; `what` names the
/// call in the error. Returns the index as the kernel's structures take it.
pub(crate) fn bind_all(fd: &OwnedFd, ifindex: u32, what: &'static str) -> Result<libc::c_int> {
    let idx = libc::c_int::try_from(ifindex)
        .map_err(|_| Error::NoSuchInterface(format!("index {ifindex}")))?;
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sa.sll_ifindex = idx;
    // SAFETY: `sa` is a valid sockaddr_ll of the length passed.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Error::last_os(what));
    }
    Ok(idx)
}
