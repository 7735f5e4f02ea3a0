//! Which interfaces may become members of an aggregation: Ethernet links only.
//!
//! lagd reads and writes a member as an Ethernet port (`AF_PACKET`, Slow Protocols frames to
//! 01-80-C2-00-00-02, its own MAC as source). An interface that is not one would take LACP and
//! data frames into a loop or into nothing: the loopback device (`lo` echoes everything back:
//! lagd would aggregate with itself), a non-Ethernet device (`ARPHRD_*` other than Ethernet: a
//! tun, an IP tunnel), a bridge, bond or team (they already aggregate or switch other ports),
//! a TUN/TAP device (the aggregate of lagd itself, of another aggregation or of another lagd,
//! or a VM's: frames written by a program, not a link), or a device already enslaved to a
//! bridge, bond, team or VRF. [`check`] refuses each with a message that names what it is;
//! the caller then changes nothing. The checks that need the configuration (the aggregate
//! itself, a member of another aggregation) are the configuration's.

use crate::error::Result;
use crate::netlink::{LinkInfo, Netlink};

/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// Why an interface cannot be a member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// The loopback device.
    #[error(
        "`{0}` is the loopback device: everything sent on it comes back, so lagd would \
         aggregate with itself; a member must be an Ethernet link to the partner"
    )]
    Loopback(String),
    /// Not an Ethernet device.
    #[error(
        "`{name}` is not an Ethernet link (hardware type {link_type}); a member must be an \
         Ethernet link to the partner"
    )]
    NotEthernet {
        /// The interface.
        name: String,
        /// Its `ARPHRD_*` type.
        link_type: u16,
    },
    /// A TUN/TAP device.
    #[error(
        "`{0}` is a TAP device (the aggregate of an aggregation, of lagd or another, or a \
         VM's): a member must be an Ethernet link to the partner"
    )]
    Tap(String),
    /// A device that aggregates or switches other ports itself.
    #[error(
        "`{name}` is a {kind} device: it is not a link but joins others; give its ports to \
         lagd instead"
    )]
    Aggregating {
        /// The interface.
        name: String,
        /// Its kind (`bridge`, `bond`, `team`, ...).
        kind: String,
    },
    /// Enslaved to another device.
    #[error("`{name}` is a port of `{master}`: release it first (ip link set {name} nomaster)")]
    Enslaved {
        /// The interface.
        name: String,
        /// The device it belongs to.
        master: String,
    },
}

/// Device kinds that join other ports and never are a link themselves.
const AGGREGATING: [&str; 5] = ["bridge", "bond", "team", "openvswitch", "vrf"];

/// Checks what rtnetlink says of `info`; `master` is the name of its master device, if any.
pub fn check_info(info: &LinkInfo, master: Option<&str>) -> core::result::Result<(), Ineligible> {
    let name = info.name.clone();
    if info.link_type == ARPHRD_LOOPBACK {
        return Err(Ineligible::Loopback(name));
    }
    if info.link_type != ARPHRD_ETHER {
        return Err(Ineligible::NotEthernet {
            name,
            link_type: info.link_type,
        });
    }
    match info.kind.as_deref() {
        Some("tun") => return Err(Ineligible::Tap(name)),
        Some(k) if AGGREGATING.contains(&k) => {
            return Err(Ineligible::Aggregating {
                name,
                kind: k.to_string(),
            });
        }
        _ => {}
    }
    if let Some(m) = info.master {
        return Err(Ineligible::Enslaved {
            name,
            master: master.map_or_else(|| format!("index {m}"), str::to_string),
        });
    }
    Ok(())
}

/// Checks interface `name` in the caller's network namespace: `Ok(Err(why))` when it exists
/// but cannot be a member; `Err` when rtnetlink cannot say (no such interface, ...).
pub fn check(nl: &mut Netlink, name: &str) -> Result<core::result::Result<(), Ineligible>> {
    let info = nl.link_by_name(name)?;
    let master = match info.master {
        Some(m) => nl.link_by_index(m).ok().map(|l| l.name),
        None => None,
    };
    Ok(check_info(&info, master.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::OperState;

    fn link(name: &str, link_type: u16, kind: Option<&str>, master: Option<u32>) -> LinkInfo {
        LinkInfo {
            ifindex: 7,
            name: name.into(),
            flags: 0,
            mtu: 1500,
            mac: None,
            operstate: OperState::Up,
            carrier: true,
            link_type,
            kind: kind.map(str::to_string),
            master,
            alias: None,
        }
    }

    #[test]
    fn only_ethernet_links_that_are_nobody_s_port() {
        assert_eq!(check_info(&link("eth0", 1, None, None), None), Ok(()));
        assert_eq!(check_info(&link("v1", 1, Some("veth"), None), None), Ok(()));
        assert_eq!(
            check_info(&link("lo", 772, None, None), None),
            Err(Ineligible::Loopback("lo".into()))
        );
        assert!(matches!(
            check_info(&link("tun0", 65534, Some("tun"), None), None),
            Err(Ineligible::NotEthernet {
                link_type: 65534,
                ..
            })
        ));
        assert_eq!(
            check_info(&link("aggr1", 1, Some("tun"), None), None),
            Err(Ineligible::Tap("aggr1".into()))
        );
        let e = check_info(&link("br0", 1, Some("bridge"), None), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`br0` is a bridge device: it is not a link but joins others; give its ports to lagd instead"
        );
        let e = check_info(&link("eth3", 1, Some("veth"), Some(9)), Some("br0")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`eth3` is a port of `br0`: release it first (ip link set eth3 nomaster)"
        );
    }
}
