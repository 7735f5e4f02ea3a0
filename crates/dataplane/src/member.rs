//! Taking a real interface over as an aggregation member, and giving it back exactly as found.
//!
//! A member carries the aggregate's traffic but must not be used by the host stack itself: no
//! addresses, no ARP (`IFF_NOARP`, `arp_ignore=8`: the kernel must never answer ARP with the
//! member's own MAC), strict reverse-path filtering (`rp_filter=1`: an IPv4 packet for a local
//! address that arrives on the member itself, e.g. on the member whose MAC the aggregate uses,
//! is dropped by the kernel instead of being delivered a second time next to the copy that
//! lagd forwards through the aggregate), IPv6 disabled, neighbour cache flushed, MTU equal to the aggregate's. Every
//! setting changed is remembered and put back by [`Member::restore`] (also run on drop), in the
//! member's network namespace whatever thread calls it.
//!
//! Least privilege: a daemon restores members that live in its own network namespace without
//! `setns(2)` (which needs `CAP_SYS_ADMIN`, denied by the unit): the restore runs on the calling
//! thread when that thread is already in the member's namespace, which is always the case for
//! lagd. Only a caller that took a member over from another namespace (tests, tools running as
//! full root) pays a `setns`. Speed and duplex are read through a socket created at take-over
//! in the member's namespace, so they need no `setns` either.

use crate::error::{Error, Result, check_ifname};
use crate::member_original::MemberOriginal;
use crate::netlink::{IfAddr, LinkInfo, Netlink};
use crate::netns;
use crate::sysctl;
use lagd_types::MacAddr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// The `arp_ignore` value lagd sets on members: do not reply to ARP for any local address.
pub const ARP_IGNORE_ALL: i64 = 8;
/// The `rp_filter` value lagd sets on members: strict reverse-path filtering.
pub const RP_FILTER_STRICT: i64 = 1;

/// How to take a member over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakeOverOptions {
    /// Take the interface even if it has global addresses: they are removed and restored later.
    pub force: bool,
    /// The aggregate's MTU, set on the member (unchanged if `None`).
    pub mtu: Option<u32>,
}

/// Speed and duplex as ethtool reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkSpeed {
    /// Speed in Mbit/s, 0 if unknown.
    pub mbps: u32,
    /// Full duplex (false if half or unknown).
    pub full_duplex: bool,
}

/// An interface taken over as a member. Restores the interface when dropped.
#[derive(Debug)]
pub struct Member {
    name: String,
    ifindex: u32,
    mac: MacAddr,
    /// The member's network namespace (`/proc/thread-self/ns/net` at take-over).
    netns: std::fs::File,
    /// An `AF_INET` datagram socket created in the member's namespace, for `SIOCETHTOOL`.
    ethtool: OwnedFd,
    /// The settings before take-over: what [`Member::restore`] puts back.
    original: MemberOriginal,
    restored: bool,
}

impl Member {
    /// Takes interface `name` (in the calling thread's network namespace) over.
    ///
    /// Refuses, with [`Error::MemberHasAddress`] naming the interface and the address, an
    /// interface that has a global IPv4/IPv6 address unless `opts.force`; with `force` the
    /// addresses are remembered and removed. Other IPv4 addresses are always removed (and
    /// restored); IPv6 link-local addresses go with `disable_ipv6` and come back with it.
    pub fn take_over(name: &str, opts: TakeOverOptions) -> Result<Member> {
        Member::take_over_recorded(name, opts, |_| Ok(()))
    }

    /// [`Member::take_over`], with the interface's original settings handed to `record`
    /// before anything is changed: the caller stores them durably, so that they survive a
    /// crash of the process. If `record` fails nothing is changed.
    pub fn take_over_recorded(
        name: &str,
        opts: TakeOverOptions,
        record: impl FnOnce(&MemberOriginal) -> Result<()>,
    ) -> Result<Member> {
        check_ifname(name)?;
        let mut nl = Netlink::open()?;
        let link = nl.link_by_name(name)?;
        let addrs = nl.addresses(link.ifindex)?;
        if !opts.force
            && let Some(a) = addrs.iter().find(|a| a.is_global())
        {
            return Err(Error::MemberHasAddress {
                ifname: name.to_string(),
                addr: a.to_string(),
            });
        }
        let original = MemberOriginal::read(&mut nl, &link)?;
        record(&original)?;
        let mut m = Member::new(&link, original)?;
        // On error `m` is dropped, which restores whatever was already changed.
        m.apply(&mut nl, &link, &addrs, opts)?;
        tracing::info!(member = %m.name, ifindex = m.ifindex, "member taken over");
        Ok(m)
    }

    /// Takes back a member that a previous process took over (and did not restore: it
    /// crashed, or handed over for a restart), with its settings before the first take-over
    /// from that process's record, never from the interface's state now. The interface is
    /// found by index (a renamed member is followed) and must have the recorded hardware
    /// address. lagd's settings are applied again (they may have been changed meanwhile).
    pub fn adopt(original: MemberOriginal, opts: TakeOverOptions) -> Result<Member> {
        let mut nl = Netlink::open()?;
        let link = original.find(&mut nl)?;
        let addrs = nl.addresses(link.ifindex)?;
        for a in addrs.iter().filter(|a| a.is_global()) {
            tracing::warn!(member = %link.name, address = %a, "address added while lagd was away: removed (it is not put back at restore)");
        }
        let mut m = Member::new(&link, original)?;
        m.apply(&mut nl, &link, &addrs, opts)?;
        tracing::info!(member = %m.name, ifindex = m.ifindex, "member adopted from its record");
        Ok(m)
    }

    fn new(link: &LinkInfo, original: MemberOriginal) -> Result<Member> {
        let netns =
            std::fs::File::open("/proc/thread-self/ns/net").map_err(|source| Error::Sys {
                op: "open /proc/thread-self/ns/net",
                source,
            })?;
        Ok(Member {
            name: link.name.clone(),
            ifindex: link.ifindex,
            mac: link.mac.unwrap_or(MacAddr::ZERO),
            netns,
            ethtool: ethtool_socket()?,
            original,
            restored: false,
        })
    }

    /// Imposes lagd's settings (whatever the interface's state: each step only if needed).
    fn apply(
        &mut self,
        nl: &mut Netlink,
        link: &LinkInfo,
        addrs: &[IfAddr],
        opts: TakeOverOptions,
    ) -> Result<()> {
        if let Some(mtu) = opts.mtu
            && mtu != link.mtu
        {
            nl.set_mtu(self.ifindex, mtu)?;
        }
        if !link.is_noarp() {
            nl.set_noarp(self.ifindex, true)?;
        }
        let arp_ignore = sysctl::ipv4_conf(&self.name, "arp_ignore")?;
        if sysctl::read_int(&arp_ignore)? != ARP_IGNORE_ALL {
            sysctl::write_int(&arp_ignore, ARP_IGNORE_ALL)?;
        }
        let rp_filter = sysctl::ipv4_conf(&self.name, "rp_filter")?;
        if sysctl::read_int(&rp_filter)? != RP_FILTER_STRICT {
            sysctl::write_int(&rp_filter, RP_FILTER_STRICT)?;
        }
        for a in addrs {
            match nl.delete_address(a) {
                Ok(()) => {}
                Err(Error::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
                Err(e) => return Err(e),
            }
        }
        let disable_ipv6 = sysctl::ipv6_conf(&self.name, "disable_ipv6")?;
        if sysctl::read_int_opt(&disable_ipv6)?.is_some_and(|v| v != 1) {
            sysctl::write_int(&disable_ipv6, 1)?;
        }
        nl.flush_neighbours(self.ifindex)?;
        if !link.is_up() {
            nl.set_up(self.ifindex, true)?;
        }
        Ok(())
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface was renamed (it is followed by its index): `name` is its name now.
    pub fn renamed(&mut self, name: &str) {
        self.name = name.to_string();
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The member's own hardware address (the source of its LACPDUs).
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The addresses removed at take-over (restored by [`Member::restore`]).
    pub fn removed_addresses(&self) -> &[IfAddr] {
        &self.original.addresses
    }

    /// The settings before take-over (what [`Member::restore`] puts back).
    pub fn original(&self) -> &MemberOriginal {
        &self.original
    }

    /// Lets the member go without restoring it: it stays taken over, for the next process to
    /// [`Member::adopt`] from its record (a restart that keeps the aggregation).
    pub fn keep_taken_over(mut self) {
        self.restored = true;
    }

    /// Speed and duplex now, by ethtool (through the socket made in the member's namespace:
    /// no namespace switch, from any thread).
    pub fn speed(&self) -> Result<LinkSpeed> {
        link_speed_on(&self.ethtool, &self.name)
    }

    /// Whether the calling thread is in the member's network namespace.
    fn in_own_netns(&self) -> Result<bool> {
        let here = std::fs::metadata("/proc/thread-self/ns/net").map_err(|source| Error::Sys {
            op: "stat /proc/thread-self/ns/net",
            source,
        })?;
        let there = self.netns.metadata().map_err(|source| Error::Sys {
            op: "fstat member netns",
            source,
        })?;
        Ok(here.dev() == there.dev() && here.ino() == there.ino())
    }

    /// Sets the member's MTU (the aggregate's MTU changed), in place; the MTU it had before
    /// take-over stays in [`Member::original`] for the restore.
    pub fn set_mtu(&mut self, mtu: u32) -> Result<()> {
        let mut nl = Netlink::open()?;
        let now = nl.link_by_index(self.ifindex)?.mtu;
        if now == mtu {
            return Ok(());
        }
        nl.set_mtu(self.ifindex, mtu)
    }

    /// Puts every setting back as it was before take-over (addresses, IPv6, `arp_ignore`,
    /// `rp_filter`, `IFF_NOARP`, MTU, admin state), in the member's network namespace: on the
    /// calling thread when it is already there (no `setns`, no `CAP_SYS_ADMIN`), otherwise on
    /// a helper thread that enters it.
    /// Idempotent; on drop it runs by itself. Every step is tried; the first error is returned
    /// and logged as an error (the member is then NOT restored, and callers must say so).
    pub fn restore(&mut self) -> Result<()> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        let original = &self.original;
        let r = match self.in_own_netns() {
            Ok(true) => original.restore(),
            Ok(false) => {
                let fd = self.netns.as_fd();
                std::thread::scope(|s| {
                    s.spawn(move || {
                        netns::enter_fd(fd)?;
                        original.restore()
                    })
                    .join()
                    .unwrap_or_else(|_| {
                        Err(Error::Sys {
                            op: "restore thread",
                            source: io::Error::other("panicked"),
                        })
                    })
                })
            }
            Err(e) => Err(e),
        };
        match &r {
            Ok(()) => tracing::info!(member = %self.name, "member restored"),
            Err(e) => {
                tracing::error!(member = %self.name, error = %e, "member NOT restored")
            }
        }
        r
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

const ETHTOOL_GSET: u32 = 0x1;
const ETHTOOL_GLINKSETTINGS: u32 = 0x4c;
const SPEED_UNKNOWN: u32 = u32::MAX;
const DUPLEX_FULL: u8 = 1;
const MAX_NWORDS: usize = 127;

/// `struct ifreq` with the `ifr_data` pointer member of the union.
#[repr(C)]
struct IfReqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// `struct ethtool_link_settings` followed by room for its three link-mode bitmaps.
#[repr(C)]
struct EthtoolLinkSettings {
    cmd: u32,
    speed: u32,
    duplex: u8,
    port: u8,
    phy_address: u8,
    autoneg: u8,
    mdio_support: u8,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    link_mode_masks_nwords: i8,
    transceiver: u8,
    master_slave_cfg: u8,
    master_slave_state: u8,
    rate_matching: u8,
    reserved: [u32; 7],
    masks: [u32; 3 * MAX_NWORDS],
}

/// `struct ethtool_cmd` (the legacy `ETHTOOL_GSET`).
#[repr(C)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

pub(crate) fn ethtool(sock: &OwnedFd, name: &str, data: *mut libc::c_void) -> io::Result<()> {
    let mut req = IfReqData {
        name: [0; libc::IFNAMSIZ],
        data,
        _pad: [0; 16],
    };
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCETHTOOL reads the ifreq and reads/writes the command structure `data` points
    // at, which the caller keeps alive and sized for the command it holds.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Speed and duplex of interface `name` in the calling thread's network namespace, by
/// `ETHTOOL_GLINKSETTINGS` (falling back to `ETHTOOL_GSET`). Unknown speed gives 0; a driver
/// without ethtool support gives 0 / half.
pub fn link_speed(name: &str) -> Result<LinkSpeed> {
    link_speed_on(&ethtool_socket()?, name)
}

/// A socket for `SIOCETHTOOL` in the calling thread's network namespace (the ioctl acts on the
/// interfaces of the namespace the socket was created in).
pub(crate) fn ethtool_socket() -> Result<OwnedFd> {
    // SAFETY: plain system call without pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::last_os("socket(AF_INET) for ethtool"));
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// [`link_speed`] through `sock` (made by [`ethtool_socket`] in the interface's namespace).
fn link_speed_on(sock: &OwnedFd, name: &str) -> Result<LinkSpeed> {
    check_ifname(name)?;
    let speed_of = |speed: u32, duplex: u8| LinkSpeed {
        mbps: if speed == SPEED_UNKNOWN { 0 } else { speed },
        full_duplex: duplex == DUPLEX_FULL,
    };

    // SAFETY: plain data; all-zero is valid.
    let mut ls: Box<EthtoolLinkSettings> = Box::new(unsafe { std::mem::zeroed() });
    ls.cmd = ETHTOOL_GLINKSETTINGS;
    let ptr: *mut EthtoolLinkSettings = &mut *ls;
    if ethtool(sock, name, ptr.cast()).is_ok() && ls.link_mode_masks_nwords < 0 {
        let nwords = ls.link_mode_masks_nwords.unsigned_abs();
        if usize::from(nwords) <= MAX_NWORDS {
            // SAFETY: plain data; all-zero is valid.
            *ls = unsafe { std::mem::zeroed() };
            ls.cmd = ETHTOOL_GLINKSETTINGS;
            ls.link_mode_masks_nwords = nwords as i8;
            let ptr: *mut EthtoolLinkSettings = &mut *ls;
            if ethtool(sock, name, ptr.cast()).is_ok() && ls.link_mode_masks_nwords > 0 {
                return Ok(speed_of(ls.speed, ls.duplex));
            }
        }
    }
    // SAFETY: plain data; all-zero is valid.
    let mut cmd: EthtoolCmd = unsafe { std::mem::zeroed() };
    cmd.cmd = ETHTOOL_GSET;
    let ptr: *mut EthtoolCmd = &mut cmd;
    match ethtool(sock, name, ptr.cast()) {
        Ok(()) => Ok(speed_of(
            u32::from(cmd.speed) | (u32::from(cmd.speed_hi) << 16),
            cmd.duplex,
        )),
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(LinkSpeed::default()),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
            Err(Error::NoSuchInterface(name.to_string()))
        }
        Err(e) => Err(Error::link("SIOCETHTOOL", name, e)),
    }
}

const ETHTOOL_GGRO: u32 = 0x2b;

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// How long frames may wait in `name`'s GRO lists before they are delivered, at most: zero
/// without GRO; else the interface's `gro_flush_timeout` plus 2 ms (a NAPI poll that ran out
/// of budget keeps packets younger than one jiffy, 1 to 10 ms, for the next poll; 2 ms covers
/// HZ ≥ 500). A Marker PDU is not merged by GRO and can overtake data frames held there, so
/// lagd answers a Marker this much later (see `docs/ARCHITECTURE.md`).
pub fn gro_hold(name: &str) -> std::time::Duration {
    let on = (|| -> Option<bool> {
        check_ifname(name).ok()?;
        // SAFETY: plain system call without pointers.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut v = EthtoolValue {
            cmd: ETHTOOL_GGRO,
            data: 0,
        };
        let ptr: *mut EthtoolValue = &mut v;
        ethtool(&sock, name, ptr.cast()).ok()?;
        Some(v.data != 0)
    })()
    .unwrap_or(false);
    if !on {
        return std::time::Duration::ZERO;
    }
    let flush_ns: u64 = std::fs::read_to_string(format!("/sys/class/net/{name}/gro_flush_timeout"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    std::time::Duration::from_nanos(flush_ns.min(1_000_000_000))
        + std::time::Duration::from_millis(2)
}

/// [`gro_hold`] of the interface with index `ifindex`.
pub fn gro_hold_ifindex(ifindex: u32) -> std::time::Duration {
    ifname(ifindex).map_or(std::time::Duration::ZERO, |n| gro_hold(&n))
}

/// The name of the interface with index `ifindex` in the calling thread's namespace.
pub(crate) fn ifname(ifindex: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(ifindex, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success the kernel wrote a NUL-terminated name into `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethtool_structures_have_kernel_sizes() {
        assert_eq!(std::mem::size_of::<IfReqData>(), 40);
        assert_eq!(std::mem::size_of::<EthtoolCmd>(), 44);
        assert_eq!(
            std::mem::size_of::<EthtoolLinkSettings>(),
            48 + 4 * 3 * MAX_NWORDS
        );
    }

    #[test]
    fn loopback_speed_is_unknown_not_an_error() -> Result<()> {
        // lo has no ethtool link settings: reported as 0 (unknown).
        let s = link_speed("lo")?;
        assert_eq!(s.mbps, 0);
        assert!(matches!(
            link_speed("nonexistent0"),
            Err(Error::NoSuchInterface(_))
        ));
        Ok(())
    }
}
