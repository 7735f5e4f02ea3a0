//! The aggregate's host-side device: a TAP (`/dev/net/tun`, `IFF_TAP | IFF_NO_PI |
//! IFF_VNET_HDR`) with offloads on, so the host stack hands lagd GSO super-frames with partial
//! checksums, each behind a 10-byte [`crate::VnetHdr`].
//!
//! [`Tap::create`] makes a device that vanishes when the [`Tap`] is dropped.
//! [`Tap::create_persistent`] makes one that survives its process (`TUNSETPERSIST`): with no
//! reader it shows NO-CARRIER but keeps its addresses, routes and (with
//! [`Tap::keep_neighbours_without_carrier`]) its neighbours; the next process re-attaches to
//! it by name with [`Tap::attach`], or takes over an inherited descriptor with
//! [`Tap::from_fd`]. [`Tap::set_persistent`]`(false)` before the drop removes it again.

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
/// `TUNGETIFF` (`_IOR('T', 210, unsigned int)`), not in the libc crate.
const TUNGETIFF: libc::c_ulong = 0x800454d2;
/// The flags every lagd TAP is made with; an existing device is re-attached with the same.
const TAP_FLAGS: libc::c_short = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

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
    /// [`Tap::set_up`] and [`Tap::set_carrier`]. It vanishes with the [`Tap`].
    pub fn create(name: &str, mac: MacAddr, mtu: u32) -> Result<Tap> {
        Tap::make(name, mac, mtu, false)
    }

    /// Like [`Tap::create`], but the device outlives the process (`TUNSETPERSIST`), keeps its
    /// neighbours when its carrier drops ([`Tap::keep_neighbours_without_carrier`]), and is
    /// taken back by [`Tap::attach`]. Fails with [`Error::Link`] (`EBUSY`) if a device of that
    /// name exists and is in use.
    pub fn create_persistent(name: &str, mac: MacAddr, mtu: u32) -> Result<Tap> {
        let tap = Tap::make(name, mac, mtu, true)?;
        tap.keep_neighbours_without_carrier();
        Ok(tap)
    }

    fn make(name: &str, mac: MacAddr, mtu: u32, persistent: bool) -> Result<Tap> {
        check_ifname(name)?;
        let mut nl = Netlink::open()?;
        if nl.link_by_name(name).is_ok() {
            return Err(Error::link(
                "TUNSETIFF",
                name,
                io::Error::from_raw_os_error(libc::EEXIST),
            ));
        }
        let tap = Tap::open(name)?;
        if persistent {
            tap.set_persistent(true)?;
        }
        // From here on a failure must not leave a persistent device behind.
        let mut setup = || -> Result<()> {
            tap.set_carrier(false)?;
            nl.set_mac(tap.ifindex, mac)?;
            nl.set_mtu(tap.ifindex, mtu)
        };
        if let Err(e) = setup() {
            let _ = tap.set_persistent(false);
            return Err(e);
        }
        Ok(tap)
    }

    /// Re-attaches to the existing TAP `name` that a previous process left persistent (its
    /// MAC, MTU, addresses, routes and carrier are left as they are). Fails with
    /// [`Error::NoSuchInterface`] if there is none, and with [`Error::Link`] (`EBUSY`) if
    /// another process still has it open, (`EINVAL`) if it is not a TAP of this kind.
    pub fn attach(name: &str) -> Result<Tap> {
        check_ifname(name)?;
        Netlink::open()?.link_by_name(name)?;
        let tap = Tap::open(name)?;
        tap.keep_neighbours_without_carrier();
        Ok(tap)
    }

    /// Takes over `fd`, a TAP descriptor inherited from a previous process (a restart that
    /// keeps the aggregation), after checking with `TUNGETIFF` that it is attached to `name`
    /// with lagd's flags. The descriptor is made nonblocking and close-on-exec.
    pub fn from_fd(fd: OwnedFd, name: &str) -> Result<Tap> {
        check_ifname(name)?;
        let mut req = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: 0,
            _pad: [0; 22],
        };
        // SAFETY: TUNGETIFF writes a `struct ifreq`; `req` has its size and layout.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNGETIFF, &mut req) } < 0 {
            return Err(Error::link("TUNGETIFF", name, io::Error::last_os_error()));
        }
        let got: Vec<u8> = req
            .name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        if got != name.as_bytes() || req.flags & TAP_FLAGS != TAP_FLAGS {
            return Err(Error::link(
                "TUNGETIFF",
                name,
                io::Error::other(format!(
                    "the inherited descriptor is `{}` (flags {:#x}), not lagd's TAP `{name}`",
                    String::from_utf8_lossy(&got),
                    req.flags
                )),
            ));
        }
        set_fd_flags(&fd, name)?;
        let ifindex = Netlink::open()?.link_by_name(name)?.ifindex;
        let tap = Tap {
            fd,
            name: name.to_string(),
            ifindex,
        };
        tap.configure()?;
        Ok(tap)
    }

    /// Opens `/dev/net/tun` and attaches to (or creates) `name` with lagd's flags.
    fn open(name: &str) -> Result<Tap> {
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
            flags: TAP_FLAGS,
            _pad: [0; 22],
        };
        for (d, s) in req.name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`; `req` has its size and layout.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
            return Err(Error::link("TUNSETIFF", name, io::Error::last_os_error()));
        }
        let ifindex = Netlink::open()?.link_by_name(name)?.ifindex;
        let tap = Tap {
            fd,
            name: name.to_string(),
            ifindex,
        };
        tap.configure()?;
        Ok(tap)
    }

    /// Vnet header size and offloads (also on a re-attached device: they belong to the queue).
    fn configure(&self) -> Result<()> {
        let hdr_sz = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads one int through the pointer.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &hdr_sz) };
        self.check_ioctl("TUNSETVNETHDRSZ", r)?;
        let offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        // SAFETY: TUNSETOFFLOAD takes its argument by value.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETOFFLOAD, offloads) };
        self.check_ioctl("TUNSETOFFLOAD", r)
    }

    /// Whether the device outlives its last descriptor (`TUNSETPERSIST`). Switching it off
    /// makes the device go with the [`Tap`].
    pub fn set_persistent(&self, on: bool) -> Result<()> {
        let v: libc::c_ulong = on.into();
        // SAFETY: TUNSETPERSIST takes its argument by value.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETPERSIST, v) };
        self.check_ioctl("TUNSETPERSIST", r)
    }

    /// Keeps the device's ARP and NDP neighbours when its carrier drops
    /// (`arp_evict_nocarrier = 0`, `ndisc_evict_nocarrier = 0`, Linux 5.16+): while no
    /// process reads a persistent TAP it has no carrier, and the host must still know its
    /// neighbours when the next process takes over. Best effort (logged): an older kernel
    /// flushes them, and they are learnt again.
    pub fn keep_neighbours_without_carrier(&self) {
        let set = |path: Result<std::path::PathBuf>| {
            path.and_then(|p| match crate::sysctl::read_int_opt(&p)? {
                Some(v) if v != 0 => crate::sysctl::write_int(&p, 0),
                _ => Ok(()),
            })
        };
        for r in [
            set(crate::sysctl::ipv4_conf(&self.name, "arp_evict_nocarrier")),
            set(crate::sysctl::ipv6_conf(
                &self.name,
                "ndisc_evict_nocarrier",
            )),
        ] {
            if let Err(e) = r {
                tracing::warn!(tap = %self.name, "cannot keep neighbours across a restart: {e}");
            }
        }
    }

    /// `Ok` for an ioctl's result `r` of 0 or more, else the error of `what` on this device
    /// (from `errno`: call it right after the ioctl).
    fn check_ioctl(&self, what: &'static str, r: libc::c_int) -> Result<()> {
        if r < 0 {
            return Err(Error::link(what, &self.name, io::Error::last_os_error()));
        }
        Ok(())
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
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TUNSETCARRIER, &v) };
        self.check_ioctl("TUNSETCARRIER", r)
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

/// Makes an inherited descriptor nonblocking and close-on-exec, as [`Tap::open`] makes its own.
fn set_fd_flags(fd: &OwnedFd, name: &str) -> Result<()> {
    // SAFETY: F_GETFL/F_SETFL/F_SETFD with integer flags on a descriptor we own.
    let r = unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            -1
        } else {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC)
        }
    };
    if r < 0 {
        return Err(Error::link("fcntl", name, io::Error::last_os_error()));
    }
    Ok(())
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
