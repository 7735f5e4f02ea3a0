//! Micro-BFD's own socket on a member (RFC 7130): an `AF_PACKET` raw socket bound to the
//! member that receives only micro-BFD frames (a classic BPF filter: IPv4 without options,
//! UDP to port 6784), each with the time the kernel received it (`SO_TIMESTAMPNS`), and sends
//! the member's BFD Control packets.
//!
//! lagd's BFD thread reads and writes these sockets itself, apart from the forwarder: BFD's
//! packets do not wait behind data frames or for the forwarder's threads, and a packet that
//! waited in the socket while lagd was not scheduled is handed to the protocol with its
//! arrival time, not the time it was read (`lagd_bfd::MicroBfd::handle_received`).

use crate::error::{Error, Result};
use crate::packet::setsockopt;
use lagd_types::{Duration, Instant};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_MR_MULTICAST: u16 = 0;
/// Receive buffer: micro-BFD frames are 66 octets; this holds seconds of them.
const RCVBUF: libc::c_int = 256 << 10;
/// A receive timestamp older than this is not believed (the real-time clock was stepped):
/// the frame counts as received when it was read.
const MAX_AGE: Duration = Duration::from_secs(10);

/// `struct packet_mreq`.
#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// A member's micro-BFD socket, nonblocking.
#[derive(Debug)]
pub struct BfdSocket {
    fd: OwnedFd,
    ifindex: u32,
}

fn clock(id: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec the kernel fills.
    let r = unsafe { libc::clock_gettime(id, &mut ts) };
    (r == 0).then(|| timespec(&ts))
}

fn timespec(ts: &libc::timespec) -> Duration {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Duration::from_nanos(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// The arrival on `CLOCK_MONOTONIC` of a frame stamped `stamp` on `CLOCK_REALTIME`, seen at
/// `real_now` / `mono_now`: `mono_now` less the frame's age, the age taken as zero when the
/// stamp is in the future or older than [`MAX_AGE`].
fn arrival(stamp: Duration, real_now: Duration, mono_now: Instant) -> Instant {
    let age = Duration::from_nanos(real_now.as_nanos().saturating_sub(stamp.as_nanos()));
    if age > MAX_AGE {
        return mono_now;
    }
    Instant::from_nanos(mono_now.as_nanos().saturating_sub(age.as_nanos()))
}

impl BfdSocket {
    /// Opens the micro-BFD socket of interface `ifindex` (of the calling thread's network
    /// namespace), member of the micro-BFD group 01-00-5E-90-00-01.
    pub fn open(ifindex: u32) -> Result<BfdSocket> {
        let sys = |op: &'static str| move |source| Error::Sys { op, source };
        // Protocol 0 at creation: nothing is queued before the filter is attached and the
        // socket bound.
        // SAFETY: plain system call without pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(Error::last_os("socket(AF_PACKET) for micro-BFD"));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let one: libc::c_int = 1;
        setsockopt(&fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, &one)
            .map_err(sys("PACKET_IGNORE_OUTGOING"))?;
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &one)
            .map_err(sys("SO_TIMESTAMPNS"))?;
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF).map_err(sys("SO_RCVBUF"))?;
        let f = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
        let code = [
            f(0x28, 0, 0, 12),                                      // 0 ldh [12]: EtherType
            f(0x15, 0, 7, 0x0800),                                  // 1 not IPv4: drop
            f(0x30, 0, 0, 14),   // 2 ldb [14]: version and header length
            f(0x15, 0, 5, 0x45), // 3 options or not IPv4: drop
            f(0x30, 0, 0, 23),   // 4 ldb [23]: protocol
            f(0x15, 0, 3, 17),   // 5 not UDP: drop
            f(0x28, 0, 0, 36),   // 6 ldh [36]: UDP destination port
            f(0x15, 0, 1, u32::from(lagd_bfd::UDP_PORT_MICRO_BFD)), // 7 not micro-BFD: drop
            f(0x06, 0, 0, u32::MAX), // 8 accept
            f(0x06, 0, 0, 0),    // 9 drop
        ];
        let prog = libc::sock_fprog {
            len: code.len() as u16,
            filter: code.as_ptr().cast_mut(),
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
            .map_err(sys("SO_ATTACH_FILTER (micro-BFD)"))?;
        let idx = crate::packet::bind_all(&fd, ifindex, "bind(AF_PACKET) for micro-BFD")?;
        let mut mr = PacketMreq {
            mr_ifindex: idx,
            mr_type: PACKET_MR_MULTICAST,
            mr_alen: 6,
            mr_address: [0; 8],
        };
        for (d, s) in mr.mr_address.iter_mut().zip(lagd_bfd::MICRO_BFD_MAC.0) {
            *d = s;
        }
        setsockopt(&fd, libc::SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr)
            .map_err(sys("PACKET_ADD_MEMBERSHIP (micro-BFD)"))?;
        Ok(BfdSocket { fd, ifindex })
    }

    /// The interface the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Receives one frame into `buf`: its length and when it arrived (on the clock of
    /// [`crate::monotonic_now`]; the time it is read when the kernel gave no timestamp).
    /// `WouldBlock` when none waits. A frame longer than `buf` is truncated (the length
    /// returned is then `buf.len()`; micro-BFD frames are 66 octets).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Instant)> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one cmsghdr and a timespec, aligned for both.
        let mut control = [0u64; 8];
        // SAFETY: msghdr is plain data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: `msg` points at `iov` (over `buf`) and `control`, all live and of the
        // lengths given; the kernel writes at most those lengths.
        let r = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(r).unwrap_or(0).min(buf.len());
        let mono_now = crate::monotonic_now();
        let mut at = mono_now;
        // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
        // `msg_controllen`; the timespec is read unaligned from inside it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET
                    && (*c).cmsg_type == libc::SO_TIMESTAMPNS
                    && (*c).cmsg_len as usize
                        >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
                {
                    let ts: libc::timespec =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    if let Some(real_now) = clock(libc::CLOCK_REALTIME) {
                        at = arrival(timespec(&ts), real_now, mono_now);
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok((n, at))
    }

    /// Sends one frame on the member.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is a live buffer of the length given; the socket is bound, so no
        // address is needed.
        let r = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsFd for BfdSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_is_now_less_the_age_and_ignores_unbelievable_stamps() {
        let mono = Instant::from_secs(100);
        let real = Duration::from_secs(1_000_000);
        let ms = Duration::from_millis;
        assert_eq!(
            arrival(real - ms(30), real, mono),
            Instant::from_nanos(100_000_000_000 - 30_000_000)
        );
        assert_eq!(
            arrival(real + ms(5), real, mono),
            mono,
            "a stamp in the future"
        );
        assert_eq!(
            arrival(real - ms(10_001), real, mono),
            mono,
            "a stepped clock"
        );
    }
}
