//! When a Marker leaves its member: a software transmit timestamp of the Marker frame.
//!
//! A Marker PDU waits in the member's qdisc (and a NIC's ring) behind every frame sent there
//! before it. The distributor's Marker timeout must count from when it leaves, not from when
//! lagd queued it: behind a deep queue (a shaped member, a slow link) the timeout would
//! otherwise complete a move while the moved conversations' frames still wait on the old
//! member, and the frames released on the new member would overtake them.
//!
//! lagd asks for `SOF_TIMESTAMPING_TX_SOFTWARE` on the Marker frame alone (a `SO_TIMESTAMPING`
//! control message on its `sendmsg`, so no other frame and no socket option changes): the
//! driver stamps it when it takes it from the qdisc (`skb_tx_timestamp`, veth included), and
//! the kernel queues a copy of the frame on the socket's error queue, which makes the socket
//! report `EPOLLERR`; the RX thread, which polls every member socket, reads it
//! ([`recv`]). The timestamp's value is not used: the report itself is the event, taken at the
//! time it is read (later, never earlier, than the departure).
//!
//! Why this and not the alternatives: the qdisc's backlog (`RTM_GETQDISC` statistics) is
//! never empty on a busy member and would have to be polled; starting the timer when the
//! Marker is dequeued is exactly what the timestamp reports, per frame, event-driven, at the
//! cost of one clone of one frame per Marker. A driver that does not stamp frames in software
//! ([`reports`] false: `ETHTOOL_GET_TS_INFO`) gets its departures reported when the Marker is
//! handed to the socket, as before; a Marker whose report never comes (dropped in the queue,
//! or the report dropped because the socket's receive buffer is full) is taken as departed
//! after the distributor's `marker_queue_limit` (1 s).
//!
//! Limits: the report says when the Marker left its transmit queue; on a multi-queue NIC the
//! frames of a conversation may sit in another queue (as they may overtake a Marker there at
//! all): members with one transmit queue (or a single-queue qdisc) are what the ordering
//! guarantee covers.

use crate::packet::PacketSocket;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// `PACKET_TX_TIMESTAMP`: the control message type of a packet socket's timestamp report.
const PACKET_TX_TIMESTAMP: libc::c_int = 16;
/// `SCM_TSTAMP_SND`: the driver took the frame.
const SCM_TSTAMP_SND: u32 = 0;
/// `ETHTOOL_GET_TS_INFO`.
const ETHTOOL_GET_TS_INFO: u32 = 0x41;

/// `struct ethtool_ts_info`.
#[repr(C)]
struct EthtoolTsInfo {
    cmd: u32,
    so_timestamping: u32,
    phc_index: i32,
    tx_types: u32,
    tx_reserved: [u32; 3],
    rx_filters: u32,
    rx_reserved: [u32; 3],
}

/// Whether the driver of interface `ifindex` (in the calling thread's namespace) stamps
/// transmitted frames in software, so a Marker's departure can be reported.
pub(crate) fn reports(ifindex: u32) -> bool {
    let Some(name) = crate::member::ifname(ifindex) else {
        return false;
    };
    let Ok(sock) = crate::member::ethtool_socket() else {
        return false;
    };
    // SAFETY: plain data; all-zero is valid.
    let mut info: EthtoolTsInfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GET_TS_INFO;
    let ptr: *mut EthtoolTsInfo = &mut info;
    crate::member::ethtool(&sock, &name, ptr.cast()).is_ok()
        && info.so_timestamping & libc::SOF_TIMESTAMPING_TX_SOFTWARE != 0
}

/// Room for one `SO_TIMESTAMPING` control message (`CMSG_SPACE(4)` is 24 on 64-bit Linux),
/// aligned as `cmsghdr`.
type CmsgBuf = [u64; 4];

/// Sends one frame (with its vnet header if the socket uses them) asking for a report when the
/// driver takes it. Errors as [`PacketSocket::send`].
pub(crate) fn send(sock: &PacketSocket, frame: &[u8]) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: frame.as_ptr() as *mut libc::c_void,
        iov_len: frame.len(),
    };
    let mut ctrl: CmsgBuf = [0; 4];
    let flags = libc::SOF_TIMESTAMPING_TX_SOFTWARE;
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<u32>() as u32) } as usize;
    debug_assert!(msg.msg_controllen <= std::mem::size_of::<CmsgBuf>());
    // SAFETY: `msg.msg_control` points at `ctrl`, aligned for cmsghdr and at least
    // `msg_controllen` bytes long, so the first header and its 4 data bytes lie inside it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SO_TIMESTAMPING;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u32>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u32>(), flags);
    }
    // SAFETY: `msg` points at `iov` (the caller's frame) and `ctrl`, all alive for the call;
    // the kernel only reads them.
    let r = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Takes the next departure report from the socket's error queue: `Some(n)` with the frame
/// that departed (Ethernet, no vnet header; the first `n` bytes, cut to `buf`'s length) in
/// `buf`, `None` when the queue is empty. Other error-queue entries are skipped.
pub(crate) fn recv(sock: &PacketSocket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut ctrl = [0u64; 16];
        // SAFETY: msghdr is plain data; all-zero is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&ctrl);
        // SAFETY: `msg` points at `iov` (over `buf`) and `ctrl`, both alive and of the lengths
        // given; the kernel writes at most those lengths.
        let r = unsafe {
            libc::recvmsg(
                sock.as_fd().as_raw_fd(),
                &mut msg,
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(e),
            };
        }
        let n = usize::try_from(r).unwrap_or(0).min(buf.len());
        let mut departed = false;
        // SAFETY: the kernel filled `ctrl` with `msg.msg_controllen` bytes of control
        // messages; CMSG_FIRSTHDR/NXTHDR stay within them, and each header's data is read only
        // when its length covers a sock_extended_err (read unaligned).
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let need = libc::CMSG_LEN(std::mem::size_of::<libc::sock_extended_err>() as u32);
                if (*c).cmsg_level == libc::SOL_PACKET
                    && (*c).cmsg_type == PACKET_TX_TIMESTAMP
                    && (*c).cmsg_len >= need as usize
                {
                    let e = std::ptr::read_unaligned(
                        libc::CMSG_DATA(c).cast::<libc::sock_extended_err>(),
                    );
                    departed |= e.ee_origin == libc::SO_EE_ORIGIN_TIMESTAMPING
                        && e.ee_info == SCM_TSTAMP_SND;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        if departed {
            return Ok(Some(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethtool_ts_info_has_the_kernel_size() {
        assert_eq!(std::mem::size_of::<EthtoolTsInfo>(), 44);
    }
}
