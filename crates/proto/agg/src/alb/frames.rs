//! The frames the balancer reads and writes, built and parsed with `lagd-wire`.

use std::net::IpAddr;

use lagd_types::MacAddr;
use lagd_wire::{
    ALL_NODES, ArpFrame, ArpOp, ArpRepr, ETHERTYPE_IPV6, L2Header, MIN_FRAME_LEN, NdFrame,
    NdMessage, NdRepr, multicast_mac,
};

use super::ETHERTYPE_LEARNING;

/// Sets a frame's source address.
pub(super) fn set_src(frame: &mut [u8], mac: MacAddr) {
    lagd_wire::bytes::put(frame, 6, &mac.0);
}

/// Sets a frame's destination address.
pub(super) fn set_dst(frame: &mut [u8], mac: MacAddr) {
    lagd_wire::bytes::put(frame, 0, &mac.0);
}

/// The Neighbour Solicitation or Advertisement a frame carries, if it carries one (checked
/// cheaply first: IPv6, next header ICMPv6, type 135 or 136).
pub(super) fn nd_of(frame: &[u8], l2: &L2Header) -> Option<NdRepr> {
    if l2.ethertype != ETHERTYPE_IPV6 {
        return None;
    }
    let ip = frame.get(l2.payload..)?;
    if ip.get(6) != Some(&58) || !matches!(ip.get(40), Some(135 | 136)) {
        return None;
    }
    NdRepr::parse(ip).ok()
}

/// The IPv4 or IPv6 source address of a data frame.
pub(super) fn ip_source(frame: &[u8], l2: &L2Header) -> Option<IpAddr> {
    let ip = frame.get(l2.payload..)?;
    match l2.ethertype {
        0x0800 if ip.len() >= 20 => {
            Some(IpAddr::V4(lagd_wire::bytes::array_at::<4>(ip, 12).into()))
        }
        ETHERTYPE_IPV6 if ip.len() >= 40 => {
            Some(IpAddr::V6(lagd_wire::bytes::array_at::<16>(ip, 8).into()))
        }
        _ => None,
    }
}

/// A gratuitous ARP (IPv4) or unsolicited all-nodes Neighbour Advertisement (IPv6) of `addr`
/// from `mac`.
pub(super) fn announce(mac: MacAddr, vlan: Option<u16>, addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => {
            ArpFrame::new(mac, MacAddr::BROADCAST, vlan, ArpRepr::gratuitous(mac, a)).to_bytes()
        }
        IpAddr::V6(a) => NdFrame::new(
            mac,
            multicast_mac(ALL_NODES),
            vlan,
            NdRepr::unsolicited(a, mac, ALL_NODES),
        )
        .to_bytes(),
    }
}

/// A peer told that `local` is at `mac`: a unicast ARP reply, or a unicast unsolicited
/// Neighbour Advertisement with Override. `None` if the families differ.
pub(super) fn update(
    mac: MacAddr,
    peer_mac: MacAddr,
    vlan: Option<u16>,
    local: IpAddr,
    peer: IpAddr,
) -> Option<Vec<u8>> {
    match (local, peer) {
        (IpAddr::V4(l), IpAddr::V4(p)) => Some(
            ArpFrame::new(
                mac,
                peer_mac,
                vlan,
                ArpRepr {
                    op: ArpOp::Reply,
                    sender_mac: mac,
                    sender_ip: l,
                    target_mac: peer_mac,
                    target_ip: p,
                },
            )
            .to_bytes(),
        ),
        (IpAddr::V6(l), IpAddr::V6(p)) => {
            Some(NdFrame::new(mac, peer_mac, vlan, NdRepr::unsolicited(l, mac, p)).to_bytes())
        }
        _ => None,
    }
}

/// A learning frame: from `mac` to `mac`, so the switch learns it on the port and forwards
/// the frame nowhere.
pub(super) fn learning(mac: MacAddr) -> Vec<u8> {
    let mut f = vec![0u8; MIN_FRAME_LEN];
    set_dst(&mut f, mac);
    set_src(&mut f, mac);
    lagd_wire::bytes::put_u16(&mut f, 12, ETHERTYPE_LEARNING);
    f
}

/// Rewrites the host's Neighbour Advertisement so that it advertises `mac` (option and
/// Ethernet source, checksum recomputed). Only when the re-emitted packet has the same length
/// (the host's advertisement carries just the Target Link-Layer Address option); else false
/// and the frame is unchanged.
pub(super) fn rewrite_nd_lladdr(frame: &mut [u8], l2: &L2Header, nd: NdRepr, mac: MacAddr) -> bool {
    let NdMessage::Advert {
        router,
        solicited,
        override_,
        target,
        ..
    } = nd.message
    else {
        return false;
    };
    let new = NdRepr {
        message: NdMessage::Advert {
            router,
            solicited,
            override_,
            target,
            target_lladdr: Some(mac),
        },
        ..nd
    };
    let Some(ip) = frame.get_mut(l2.payload..) else {
        return false;
    };
    let plen = 40 + usize::from(lagd_wire::bytes::u16_at(ip, 4));
    if new.buffer_len() != plen || new.emit(ip).is_err() {
        return false;
    }
    set_src(frame, mac);
    true
}
