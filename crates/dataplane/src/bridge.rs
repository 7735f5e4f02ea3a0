//! Linux bridge requests of lagd's rtnetlink client ([`Netlink`]), for Distributed Trunking:
//! bridge port flags (`IFLA_BRPORT_ISOLATED`, like `bridge link set dev X isolated on`;
//! flooding and learning), enslaving a port, and the forwarding database (`RTM_GETNEIGH` /
//! `RTM_NEWNEIGH` / `RTM_DELNEIGH` with `AF_BRIDGE`, like `bridge fdb show|add|del`).
//!
//! The socket, message builder, attribute walker and request loop are the client's
//! ([`crate::netlink`]); this file only says what the bridge messages hold.

use crate::error::Result;
use crate::netlink::{
    IFLA_MASTER, MsgBuilder, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE,
    NLM_F_REQUEST, NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE, Netlink, RTM_DELNEIGH, RTM_GETNEIGH,
    RTM_NEWNEIGH, RTM_SETLINK, attrs, ifinfomsg, ndmsg, nested, parse_ndmsg, u16_at, u32_at,
};
use lagd_types::MacAddr;

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
const AF_BRIDGE: u8 = 7;

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

fn parse_fdb(payload: &[u8]) -> Option<FdbEntry> {
    let nd = parse_ndmsg(payload).filter(|nd| nd.family == AF_BRIDGE)?;
    let mut e = FdbEntry {
        ifindex: nd.ifindex,
        mac: MacAddr::ZERO,
        vlan: 0,
        master: 0,
        state: nd.state,
        flags: nd.flags,
    };
    for (ty, data) in attrs(nd.attrs) {
        match ty {
            NDA_LLADDR => e.mac = MacAddr::from_slice(data)?,
            NDA_VLAN => e.vlan = u16_at(data, 0)?,
            NDA_MASTER => e.master = u32_at(data, 0)?,
            _ => {}
        }
    }
    Some(e)
}

/// An FDB request for `mac` (VLAN `vlan`, 0 = none) on bridge port `port`: `RTM_NEWNEIGH`
/// installs a static, sticky entry (lagd's mark, [`FdbEntry::is_lagd_static`]).
fn fdb_msg(ty: u16, flags: u16, seq: u32, port: u32, mac: MacAddr, vlan: u16) -> MsgBuilder {
    let (state, ntf) = if ty == RTM_NEWNEIGH {
        (NUD_NOARP | NUD_REACHABLE, NTF_STICKY)
    } else {
        (0, 0)
    };
    let mut m = MsgBuilder::new(ty, flags, seq);
    m.bytes(&ndmsg(AF_BRIDGE, port, state, NTF_MASTER | ntf))
        .attr(NDA_LLADDR, &mac.octets());
    if vlan != 0 {
        m.attr(NDA_VLAN, &vlan.to_ne_bytes());
    }
    m
}

impl Netlink {
    fn set_port_flags(
        &mut self,
        op: &'static str,
        ifindex: u32,
        flags: &[(u16, bool)],
    ) -> Result<()> {
        let values: Vec<(u16, [u8; 1])> =
            flags.iter().map(|&(a, on)| (a, [u8::from(on)])).collect();
        let parts: Vec<(u16, &[u8])> = values.iter().map(|(a, v)| (*a, &v[..])).collect();
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&ifinfomsg(AF_BRIDGE, ifindex, 0, 0))
            .attr(IFLA_PROTINFO | NLA_F_NESTED, &nested(&parts));
        let msg = m.finish();
        self.transact(op, &msg, seq, |_, _| Ok(()))
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
        self.set_link(
            "RTM_NEWLINK(master)",
            ifindex,
            0,
            0,
            Some((IFLA_MASTER, &master.to_ne_bytes())),
        )
    }

    /// The whole bridge forwarding database (every bridge of the namespace).
    pub fn fdb(&mut self) -> Result<Vec<FdbEntry>> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&ndmsg(AF_BRIDGE, 0, 0, 0));
        let msg = m.finish();
        let mut out = Vec::new();
        self.transact("RTM_GETNEIGH(AF_BRIDGE)", &msg, seq, |ty, p| {
            if ty == RTM_NEWNEIGH
                && let Some(e) = parse_fdb(p)
            {
                out.push(e);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Adds (or replaces) a static, sticky entry `mac` (VLAN `vlan`, 0 = none) on bridge port
    /// `port`, like `bridge fdb replace MAC dev PORT master static sticky`.
    pub fn fdb_add_static(&mut self, port: u32, mac: MacAddr, vlan: u16) -> Result<()> {
        let seq = self.next_seq();
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        let msg = fdb_msg(RTM_NEWNEIGH, flags, seq, port, mac, vlan).finish();
        self.transact("RTM_NEWNEIGH(AF_BRIDGE)", &msg, seq, |_, _| Ok(()))
    }

    /// Deletes entry `mac` (VLAN `vlan`) of bridge port `port`.
    pub fn fdb_del(&mut self, port: u32, mac: MacAddr, vlan: u16) -> Result<()> {
        let seq = self.next_seq();
        let flags = NLM_F_REQUEST | NLM_F_ACK;
        let msg = fdb_msg(RTM_DELNEIGH, flags, seq, port, mac, vlan).finish();
        self.transact("RTM_DELNEIGH(AF_BRIDGE)", &msg, seq, |_, _| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdb_messages_parse_and_build() {
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        let msg = fdb_msg(RTM_NEWNEIGH, 0, 1, 7, mac, 10).finish();
        let body = &msg[16..];
        let e = parse_fdb(body).unwrap();
        assert_eq!(e.ifindex, 7);
        assert_eq!(e.mac, mac);
        assert_eq!(e.vlan, 10);
        assert!(e.is_static());
        assert!(e.is_lagd_static());
        assert_eq!(e.flags, NTF_MASTER | NTF_STICKY);
        let del = fdb_msg(RTM_DELNEIGH, 0, 2, 7, mac, 0).finish();
        let d = parse_fdb(&del[16..]).unwrap();
        assert_eq!((d.state, d.flags, d.vlan), (0, NTF_MASTER, 0));
        assert!(parse_fdb(&[0u8; 3]).is_none());
        let mut junk = body.to_vec();
        junk[0] = 2; // AF_INET: not a bridge entry
        assert!(parse_fdb(&junk).is_none());
        // A truncated attribute ends the walk without panicking.
        let cut = &body[..body.len() - 3];
        let _ = parse_fdb(cut);
    }
}
