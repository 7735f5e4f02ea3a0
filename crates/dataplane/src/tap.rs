//! The aggregate's host-side device: a TAP (`/dev/net/tun`, `IFF_TAP | IFF_NO_PI |
//! IFF_VNET_HDR`) with offloads on, so the host stack hands lagd GSO super-frames with partial
//! checksums, each behind a 10-byte [`crate::VnetHdr`].
//!
//! The device is not persistent: it vanishes when the [`Tap`] is dropped.

use crate::error::{Error, Result, check_ifname};
use crate::netlink::Netlink;
use crate::vnet::VNET_HDR_LEN;
use lagd_types::MacAddr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const TUN_F_CSUM: libc::c_ulong = 0x01;
const TUN_F_TSO4: libc::c_ulong = 0x02;
const TUN_F_TSO6: libc::c_ulong = 0x04;
const TUN_F_TSO_ECN: libc::c_ulong = 0x08;

/// `struct ifreq` with the `ifr_flags` member of the union (40 bytes like the kernel's).
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// A TAP device with virtio-net headers.
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    name: String,
    ifindex: u32,
}

impl Tap {
    /// Creates TAP `name` (in the calling thread's network namespace) with hardware address
    /// `mac` and MTU `mtu`, vnet header size 10 and offloads CSUM/TSO4/TSO6/TSO_ECN, its file
    /// descriptor nonblocking. The device is left administratively down with carrier off: see
    /// [`Tap::set_up`] and [`Tap::set_carrier`].
    pub fn create(name: &str, mac: MacAddr, mtu: u32) -> Result<Tap> {
        check_ifname(name)?;
        // SAFETY: the path is a NUL-terminated literal.
        let fd = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Error::last_os("open /dev/net/tun"));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };

        let mut req = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
            _pad: [0; 22],
        };
        for (d, s) in req.name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`; `req` has its size and layout.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
            return Err(Error::link("TUNSETIFF", name, io::Error::last_os_error()));
        }
        let hdr_sz = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads one int through the pointer.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &hdr_sz) } < 0 {
            return Err(Error::link(
                "TUNSETVNETHDRSZ",
                name,
                io::Error::last_os_error(),
            ));
        }
        let offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        // SAFETY: TUNSETOFFLOAD takes its argument by value.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETOFFLOAD, offloads) } < 0 {
            return Err(Error::link(
                "TUNSETOFFLOAD",
                name,
                io::Error::last_os_error(),
            ));
        }
        let mut nl = Netlink::open()?;
        let ifindex = nl.link_by_name(name)?.ifindex;
        let tap = Tap {
            fd,
            name: name.to_string(),
            ifindex,
        };
        tap.set_carrier(false)?;
        nl.set_mac(ifindex, mac)?;
        nl.set_mtu(ifindex, mtu)?;
        Ok(tap)
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Carrier on or off (`TUNSETCARRIER`): the host sees the aggregate's link state.
    pub fn set_carrier(&self, on: bool) -> Result<()> {
        let v: libc::c_int = on.into();
        // SAFETY: TUNSETCARRIER reads one int through the pointer.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETCARRIER, &v) } < 0 {
            return Err(Error::link(
                "TUNSETCARRIER",
                &self.name,
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Administratively up or down.
    pub fn set_up(&self, up: bool) -> Result<()> {
        Netlink::open()?.set_up(self.ifindex, up)
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: u32) -> Result<()> {
        Netlink::open()?.set_mtu(self.ifindex, mtu)
    }

    /// Sets the hardware address.
    pub fn set_mac(&self, mac: MacAddr) -> Result<()> {
        Netlink::open()?.set_mac(self.ifindex, mac)
    }

    /// Reads one frame (vnet header + Ethernet frame) into `buf`; `WouldBlock` if none waits.
    /// `buf` should hold `10 + 65550` bytes, or GSO super-frames are truncated.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Writes one frame (vnet header + Ethernet frame) to the host.
    pub fn write(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: the kernel reads `frame.len()` bytes from `frame`.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
