//! What `show-aggr -x`, `--json` and `diagnose` read of the balancer.

use std::net::IpAddr;

use lagd_types::{MacAddr, PortNumber};
use serde::Serialize;

use super::{Alb, AlbMode, AlbRxDrop};

/// Counters of the balancer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlbCounters {
    /// Gratuitous ARPs and unsolicited NAs of the aggregate's addresses sent.
    pub announcements: u64,
    /// Peer updates (unicast ARP replies, NAs) sent.
    pub peer_updates: u64,
    /// Learning frames sent.
    pub learning: u64,
    /// Host ARP replies sent with a member's MAC.
    pub arp_rewritten: u64,
    /// Host Neighbour Advertisements sent with a member's MAC.
    pub nd_rewritten: u64,
    /// Host frames sent with a member's MAC as source.
    pub src_rewritten: u64,
    /// Peers not in the table because it was full.
    pub peers_untracked: u64,
    /// Received broadcast/multicast copies dropped on members other than the receive member.
    pub rx_not_receive_member: u64,
    /// Received unicast copies for another member's MAC dropped.
    pub rx_flooded: u64,
    /// Received unicast for none of our MACs dropped.
    pub rx_not_ours: u64,
    /// Our own frames, back from the switch, dropped.
    pub rx_own: u64,
}

impl AlbCounters {
    pub(super) fn count_drop(&mut self, why: AlbRxDrop) {
        match why {
            AlbRxDrop::NotReceiveMember => self.rx_not_receive_member += 1,
            AlbRxDrop::Flooded => self.rx_flooded += 1,
            AlbRxDrop::NotOurs => self.rx_not_ours += 1,
            AlbRxDrop::OwnFrame => self.rx_own += 1,
        }
    }
}

/// One member as the balancer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbMemberStatus {
    /// The port.
    pub port: PortNumber,
    /// The MAC peers use to reach it (the aggregate's on the receive member).
    pub mac: MacAddr,
    /// Whether it answers to the aggregate's MAC.
    pub receive: bool,
    /// Peers received on it.
    pub peers: usize,
    /// Their measured rate, bytes per second.
    pub rx_rate: u64,
    /// Unicast frames for the aggregate's MAC the switch delivered here although this is not
    /// the receive member: the switch learned the aggregate's MAC on this port.
    pub aggregate_mac_elsewhere: u64,
}

/// One peer of `adaptive-lb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbPeerStatus {
    /// Its address.
    pub ip: IpAddr,
    /// Its MAC, once learned.
    pub mac: Option<MacAddr>,
    /// The member it is received on.
    pub member: PortNumber,
    /// Its measured rate, bytes per second.
    pub rx_rate: u64,
    /// Updates still to send it.
    pub updates_pending: u8,
}

/// Everything observable about the balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbStatus {
    /// The mode.
    pub mode: AlbMode,
    /// The aggregate's MAC.
    pub aggregate_mac: MacAddr,
    /// The member answering to it.
    pub receive_member: Option<PortNumber>,
    /// The aggregate's addresses announced.
    pub addresses: Vec<IpAddr>,
    /// Members.
    pub members: Vec<AlbMemberStatus>,
    /// Peers (adaptive-lb), by address.
    pub peers: Vec<AlbPeerStatus>,
    /// Counters.
    pub counters: AlbCounters,
}

impl Alb {
    /// Everything observable, serialisable.
    pub fn status(&self) -> AlbStatus {
        let loads = self.loads();
        AlbStatus {
            mode: self.config.mode,
            aggregate_mac: self.config.aggregate_mac,
            receive_member: self.receive,
            addresses: self.local.keys().copied().collect(),
            members: self
                .members
                .iter()
                .map(|m| AlbMemberStatus {
                    port: m.port,
                    mac: self.mac_of(m.port).unwrap_or(m.mac),
                    receive: Some(m.port) == self.receive,
                    peers: loads.get(&m.port).map_or(0, |l| l.peers),
                    rx_rate: loads.get(&m.port).map_or(0, |l| l.rate),
                    aggregate_mac_elsewhere: self
                        .aggregate_mac_elsewhere
                        .get(&m.port)
                        .copied()
                        .unwrap_or(0),
                })
                .collect(),
            peers: self
                .peers
                .iter()
                .map(|(ip, p)| AlbPeerStatus {
                    ip: *ip,
                    mac: p.mac,
                    member: p.member,
                    rx_rate: p.rate,
                    updates_pending: p.updates_left,
                })
                .collect(),
            counters: self.counters,
        }
    }
}
