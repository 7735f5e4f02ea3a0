//! A member's settings as they were before lagd took it over: everything take-over changes
//! (admin state, MTU, `IFF_NOARP`, `arp_ignore`, `rp_filter`, `disable_ipv6`, the addresses,
//! the alias), read before the first change, serialisable so that it can be recorded durably,
//! and put back from the record alone: by the daemon that took the member, by the next daemon
//! after a crash, or by `lagctl` when no daemon is left.

use crate::error::{Error, Result};
use crate::netlink::{IFA_F_PERMANENT, IfAddr, LinkInfo, Netlink, RT_SCOPE_LINK};
use crate::sysctl;
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};

/// The settings of an interface that take-over changes, as they were before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberOriginal {
    /// Interface index (the identity that survives a rename).
    pub ifindex: u32,
    /// Its name then.
    pub name: String,
    /// Its hardware address then (checked: a record never applies to another interface).
    pub mac: Option<MacAddr>,
    /// Administratively up.
    pub up: bool,
    /// MTU.
    pub mtu: u32,
    /// `IFF_NOARP`.
    pub noarp: bool,
    /// `net.ipv4.conf.IF.arp_ignore`.
    pub arp_ignore: i64,
    /// `net.ipv4.conf.IF.rp_filter`.
    pub rp_filter: i64,
    /// `net.ipv6.conf.IF.disable_ipv6` (`None`: no IPv6 on this host).
    pub disable_ipv6: Option<i64>,
    /// The addresses to put back: every IPv4 address, and the IPv6 addresses configured by
    /// hand (link-local and autoconfigured ones come back by themselves with IPv6).
    pub addresses: Vec<IfAddr>,
    /// Its alias (`ip link set dev X alias`), which lagd replaces by "lagd: member of AGGR".
    /// Records written before lagd set aliases have none: the alias is then removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Whether it had a `clsact` qdisc (the kernel fast path's clsact attach mode adds one).
    /// `None` (records written before lagd read it, or not readable): left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clsact: Option<bool>,
}

/// Whether take-over's removal of `a` must be undone by adding it back (the kernel makes
/// link-local and autoconfigured IPv6 addresses again when IPv6 is switched back on).
pub(crate) fn must_restore(a: &IfAddr) -> bool {
    !a.is_ipv6() || (a.scope != RT_SCOPE_LINK && a.flags & IFA_F_PERMANENT != 0)
}

impl MemberOriginal {
    /// Reads the settings of `link` now (in the calling thread's network namespace).
    pub fn read(nl: &mut Netlink, link: &LinkInfo) -> Result<MemberOriginal> {
        let name = &link.name;
        let addresses = nl
            .addresses(link.ifindex)?
            .into_iter()
            .filter(must_restore)
            .collect();
        Ok(MemberOriginal {
            ifindex: link.ifindex,
            name: name.clone(),
            mac: link.mac,
            up: link.is_up(),
            mtu: link.mtu,
            noarp: link.is_noarp(),
            arp_ignore: sysctl::read_int(&sysctl::ipv4_conf(name, "arp_ignore")?)?,
            rp_filter: sysctl::read_int(&sysctl::ipv4_conf(name, "rp_filter")?)?,
            disable_ipv6: sysctl::read_int_opt(&sysctl::ipv6_conf(name, "disable_ipv6")?)?,
            addresses,
            alias: link.alias.clone(),
            clsact: nl.has_clsact(link.ifindex).ok(),
        })
    }

    /// The interface this record is about, as it is now: found by index, and refused
    /// ([`Error::NoSuchInterface`]) if that index now names an interface with another hardware
    /// address (the original was deleted and the index reused).
    pub fn find(&self, nl: &mut Netlink) -> Result<LinkInfo> {
        let link = nl.link_by_index(self.ifindex)?;
        if self.mac.is_some() && link.mac != self.mac {
            return Err(Error::NoSuchInterface(format!(
                "{} (index {} now belongs to {} with another hardware address)",
                self.name, self.ifindex, link.name
            )));
        }
        Ok(link)
    }

    /// Puts every recorded setting back where it differs from the interface now (found by
    /// index: a renamed member is followed), in the calling thread's network namespace. Every
    /// step is tried; the first error is returned. [`Error::NoSuchInterface`] when the
    /// interface is gone (nothing left to restore).
    pub fn restore(&self) -> Result<()> {
        let mut nl = Netlink::open()?;
        let link = self.find(&mut nl)?;
        let name = link.name.as_str();
        let ifindex = link.ifindex;
        let mut first: Option<Error> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r
                && first.is_none()
            {
                first = Some(e);
            }
        };
        if link.is_up() != self.up {
            note(nl.set_up(ifindex, self.up));
        }
        if let Some(v) = self.disable_ipv6 {
            note(write_if_changed(sysctl::ipv6_conf(name, "disable_ipv6"), v));
        }
        match nl.addresses(ifindex) {
            Ok(now) => {
                for a in self.addresses.iter().filter(|a| !has(&now, a)) {
                    let mut a = a.clone();
                    a.ifindex = ifindex;
                    match nl.add_address(&a) {
                        Err(Error::Netlink { source, .. })
                            if source.raw_os_error() == Some(libc::EEXIST) => {}
                        r => note(r),
                    }
                }
            }
            Err(e) => note(Err(e)),
        }
        note(write_if_changed(
            sysctl::ipv4_conf(name, "arp_ignore"),
            self.arp_ignore,
        ));
        note(write_if_changed(
            sysctl::ipv4_conf(name, "rp_filter"),
            self.rp_filter,
        ));
        if link.is_noarp() != self.noarp {
            note(nl.set_noarp(ifindex, self.noarp));
        }
        if link.mtu != self.mtu {
            note(nl.set_mtu(ifindex, self.mtu));
        }
        if link.alias != self.alias {
            note(nl.set_alias(ifindex, self.alias.as_deref().unwrap_or("")));
        }
        // The clsact qdisc the fast path added (its filters are gone by now), unless someone
        // else's BPF filter sits under it.
        if self.clsact == Some(false) && nl.has_clsact(ifindex).unwrap_or(false) {
            let others = [crate::bpf::TcxHook::Ingress, crate::bpf::TcxHook::Egress]
                .into_iter()
                .any(|h| nl.bpf_filters(ifindex, h).map_or(true, |f| !f.is_empty()));
            if !others {
                note(nl.del_clsact(ifindex));
            }
        }
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

fn has(now: &[IfAddr], a: &IfAddr) -> bool {
    now.iter()
        .any(|n| n.addr() == a.addr() && n.prefix_len == a.prefix_len)
}

fn write_if_changed(path: Result<std::path::PathBuf>, v: i64) -> Result<()> {
    let p = path?;
    match sysctl::read_int_opt(&p)? {
        Some(cur) if cur == v => Ok(()),
        Some(_) => sysctl::write_int(&p, v),
        None => Ok(()),
    }
}
