//! Switch-independent load balancing: `transmit-lb` (Linux `balance-tlb`, DPDK mode 5) and
//! `adaptive-lb` (Linux `balance-alb`, DPDK mode 6, QLogic Smart Load Balancing), as one
//! sans-I/O core.
//!
//! The switch knows nothing of the aggregation: to it each member is a host port with its own
//! MAC address. So:
//! - **Transmit** is spread by the distributor's bucket table and rebalancer (no reordering
//!   within a conversation). A frame the host wrote with the aggregate's MAC that leaves on a
//!   member other than the *receive member* gets that member's own MAC as source
//!   ([`Alb::handle_host_frame`]), so the switch never learns the aggregate's MAC on two ports.
//! - **Receive**, in `transmit-lb`, arrives on the receive member only: it alone answers to the
//!   aggregate's MAC. When it fails the next member takes over and announces the aggregate's
//!   addresses from the aggregate's MAC (gratuitous ARP, unsolicited Neighbour Advertisement),
//!   which also moves the MAC in the switch's table.
//! - In `adaptive-lb` each peer is given a member (`assign`): the host's ARP replies and
//!   solicited Neighbour Advertisements to that peer leave on that member with its MAC as the
//!   sender (`rlb_arp_xmit` in Linux's `bond_alb.c`), so the peer sends to that member. A
//!   member that fails has its peers re-assigned and each told (unicast ARP reply / Neighbour
//!   Advertisement with Override, [`AlbConfig::announce_count`] times); a member that returns
//!   gets its share back; every [`AlbConfig::rebalance_interval`] peers move by measured rate.
//! - On receive a member delivers unicast frames for its own MAC (rewritten to the aggregate's,
//!   so the host accepts them) and the receive member those for the aggregate's MAC and every
//!   broadcast and multicast; copies the switch floods to the others are dropped, so nothing is
//!   delivered twice ([`Alb::handle_member_frame`]).
//! - Every [`AlbConfig::learning_interval`] each member sends a *learning frame* from the MAC
//!   peers use to reach it (to itself, EtherType 0x9000 as Linux's), so a member that only
//!   receives never ages out of the switch's table and its traffic is not flooded.
//!
//! # Limits (as with balance-alb)
//! - A peer is an IP address on the link: every host behind a router reaches the aggregate
//!   through the router's one entry, on one member. Receive balancing needs several peers on
//!   the segment. A peer's load is what arrives with its address as source, so routed
//!   traffic (the remote hosts' addresses) is in no peer's rate.
//! - A peer that ignores unsolicited ARP replies or Override advertisements keeps sending to a
//!   failed member's MAC until its cache entry expires (Linux: `base_reachable_time`, 30 s).
//! - An ARP request the host broadcasts carries the aggregate's MAC, and every peer that
//!   hears it may re-point its entry there: [`AlbConfig::request_settle`] (2 s, past the
//!   peers' ARP locktime) after such a request, peers on other members are told their member
//!   again (Linux's `rlb_req_update_subnet_clients`); meanwhile they send to the receive
//!   member. A unicast probe of a known peer is sent from the peer's member instead.
//! - The table holds at most [`AlbConfig::max_peers`] peers; more are received on the
//!   receive member (counted as `peers_untracked`).
//! - Frames the switch delivers for the aggregate's MAC to another member than the receive
//!   member are dropped and counted per member (`aggregate_mac_elsewhere`): the switch learned
//!   the aggregate's MAC on that port, a sign of misconfiguration `diagnose` reports.
//!
//! # Call order
//! As every core: `handle_*` in any order ([`Alb::set_members`] whenever the set of usable
//! members or their addresses change, [`Alb::handle_host_frame`] for each frame the host
//! sends, [`Alb::handle_member_frame`] for each frame a member receives,
//! [`Alb::handle_timeout`] once `now >= poll_timeout()`), then drain [`Alb::poll_transmit`] and
//! [`Alb::poll_event`], then wait until [`Alb::poll_timeout`].

mod assign;
mod frames;
mod status;

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use lagd_types::{Duration, Instant, MacAddr, PortNumber};
use lagd_wire::{ArpOp, ETHERTYPE_ARP, L2Header, NdMessage};
use serde::{Deserialize, Serialize};

pub use status::{AlbCounters, AlbMemberStatus, AlbPeerStatus, AlbStatus};

/// Which of the two switch-independent modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlbMode {
    /// `transmit-lb`: transmit spread, receive on one member.
    Transmit,
    /// `adaptive-lb`: both directions spread, receive by peer.
    Adaptive,
}

/// Configuration of the switch-independent balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbConfig {
    /// Transmit only, or both directions.
    pub mode: AlbMode,
    /// The aggregate's MAC address (the host's interface).
    pub aggregate_mac: MacAddr,
    /// How many times an announcement (gratuitous ARP, unsolicited NA) and a peer's update are
    /// sent (Linux: `RLB_UPDATE_RETRY` 3).
    pub announce_count: u8,
    /// Between two of them.
    pub announce_interval: Duration,
    /// How long after the host broadcast an ARP request or Neighbour Solicitation (or the
    /// announcements) the peers on other members are told their member again. Longer than a
    /// peer's ARP `locktime` (Linux: 1 s), within which it ignores a second change of the same
    /// entry (Linux's `RLB_UPDATE_DELAY`: 2 s).
    pub request_settle: Duration,
    /// Between two learning frames of a member (Linux: `lp_interval`, 1 s).
    pub learning_interval: Duration,
    /// Between two rebalancing rounds by measured receive rate; zero: only when members come
    /// and go.
    pub rebalance_interval: Duration,
    /// The most peers the table holds.
    pub max_peers: usize,
}

impl AlbConfig {
    /// The defaults: 3 announcements 200 ms apart, settle 2 s, learning frames every
    /// second, rebalancing every 10 s (Linux's tlb interval), 1024 peers.
    pub fn new(mode: AlbMode, aggregate_mac: MacAddr) -> Self {
        AlbConfig {
            mode,
            aggregate_mac,
            announce_count: 3,
            announce_interval: Duration::from_millis(200),
            request_settle: Duration::from_secs(2),
            learning_interval: Duration::from_secs(1),
            rebalance_interval: Duration::from_secs(10),
            max_peers: 1024,
        }
    }
}

/// A usable member and the MAC address it keeps on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbMember {
    /// Its port number.
    pub port: PortNumber,
    /// Its own (permanent) MAC address.
    pub mac: MacAddr,
}

/// Why a frame the core sends is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlbFrameKind {
    /// Gratuitous ARP or unsolicited NA of one of the aggregate's addresses from the aggregate's
    /// MAC, on a new receive member.
    Announce,
    /// A peer told which MAC reaches the aggregate (unicast ARP reply or NA).
    PeerUpdate,
    /// A learning frame, for the switch's MAC table.
    Learning,
}

/// A frame to send on a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbTransmit {
    /// The member.
    pub port: PortNumber,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
    /// Why.
    pub kind: AlbFrameKind,
}

/// Why a peer was (re-)assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignReason {
    /// First seen (the host answered or asked it).
    New,
    /// Its member failed or left.
    Failover,
    /// Load: a member returned or rates were uneven.
    Rebalance,
    /// Another address of the same peer (its MAC) is received on that member: one host's
    /// addresses share a member, since each update names all of the aggregate's addresses.
    SameHost,
}

/// Something that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AlbEvent {
    /// The member answering to the aggregate's MAC changed.
    ReceiveMember {
        /// Before.
        from: Option<PortNumber>,
        /// Now.
        to: Option<PortNumber>,
    },
    /// A peer is received on another member.
    PeerAssigned {
        /// The peer.
        peer: IpAddr,
        /// Its member before, if it had one.
        from: Option<PortNumber>,
        /// Its member now.
        to: PortNumber,
        /// Why.
        reason: AssignReason,
    },
}

/// What [`Alb::handle_member_frame`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlbRx {
    /// Deliver to the aggregate (its destination may have been rewritten).
    Deliver,
    /// Drop it, for the reason given.
    Drop(AlbRxDrop),
}

/// Why a received frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlbRxDrop {
    /// A broadcast or multicast copy on a member that is not the receive member.
    NotReceiveMember,
    /// Unicast for another member's MAC (or the aggregate's, on another member): a copy the
    /// switch flooded.
    Flooded,
    /// Unicast for none of our addresses, on a member that is not the receive member.
    NotOurs,
    /// A frame we sent, back from the switch.
    OwnFrame,
}

#[derive(Clone, Debug)]
struct Peer {
    /// The peer's MAC, once known.
    mac: Option<MacAddr>,
    vlan: Option<u16>,
    /// Our address the peer resolved.
    local: IpAddr,
    member: PortNumber,
    updates_left: u8,
    next_update: Instant,
    /// Bytes received from the peer since the last rate sample.
    bytes: u64,
    /// Bytes per second, smoothed.
    rate: u64,
}

/// The switch-independent balancer (see the module docs).
#[derive(Clone, Debug)]
pub struct Alb {
    config: AlbConfig,
    /// The members as given.
    given: Vec<AlbMember>,
    /// The members with the MAC each uses on the wire ([`wire_mac`]).
    members: Vec<AlbMember>,
    receive: Option<PortNumber>,
    peers: BTreeMap<IpAddr, Peer>,
    /// The aggregate's addresses and the VLAN they were seen on.
    local: BTreeMap<IpAddr, Option<u16>>,
    announce_left: u8,
    announce_at: Instant,
    settle_at: Option<Instant>,
    learning_at: Option<Instant>,
    rebalance_at: Option<Instant>,
    sampled_at: Instant,
    aggregate_mac_elsewhere: BTreeMap<PortNumber, u64>,
    /// A frame handler set an earlier deadline (see [`Alb::take_wake`]).
    wake: bool,
    counters: AlbCounters,
    transmit: VecDeque<AlbTransmit>,
    events: VecDeque<AlbEvent>,
}

/// A host among the peers, for rebalancing: its MAC once known (all its addresses), else the
/// one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Host {
    Mac(MacAddr),
    Ip(IpAddr),
}

/// The most local addresses learned from the host's frames.
const MAX_LOCAL: usize = 64;
/// The most of the aggregate's addresses a peer is told about in one update.
const MAX_UPDATE_ADDRESSES: usize = 8;
/// The most peers one rebalancing round moves.
const MAX_MOVES: usize = 64;
/// Learning frames' EtherType (Linux's `ETH_P_LOOPBACK`).
pub const ETHERTYPE_LEARNING: u16 = 0x9000;

/// The MAC member `mac` uses on the wire: its own, unless that is the aggregate's (lagd's
/// aggregate takes its first member's MAC by default); then the same with the locally
/// administered bit set (or, if it is set, with bit 2 of the first octet flipped), so that the
/// switch never sees the aggregate's MAC from a member that is not the receive member.
pub fn wire_mac(mac: MacAddr, aggregate: MacAddr) -> MacAddr {
    if mac != aggregate {
        return mac;
    }
    let mut o = mac.0;
    o[0] = if o[0] & 0x02 == 0 {
        o[0] | 0x02
    } else {
        o[0] ^ 0x04
    };
    MacAddr(o)
}

impl Alb {
    /// A balancer with no members.
    pub fn new(config: AlbConfig) -> Self {
        Alb {
            config,
            given: Vec::new(),
            members: Vec::new(),
            receive: None,
            peers: BTreeMap::new(),
            local: BTreeMap::new(),
            announce_left: 0,
            announce_at: Instant::ZERO,
            settle_at: None,
            learning_at: None,
            rebalance_at: None,
            sampled_at: Instant::ZERO,
            aggregate_mac_elsewhere: BTreeMap::new(),
            wake: false,
            counters: AlbCounters::default(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AlbConfig {
        &self.config
    }

    /// Applies a new configuration (mode, timers, the aggregate's MAC). A change of MAC or
    /// mode is announced again and every peer told again.
    pub fn set_config(&mut self, now: Instant, config: AlbConfig) {
        let again =
            config.aggregate_mac != self.config.aggregate_mac || config.mode != self.config.mode;
        self.config = config;
        if again {
            let agg = self.config.aggregate_mac;
            for (m, g) in self.members.iter_mut().zip(&self.given) {
                m.mac = wire_mac(g.mac, agg);
            }
            self.start_announce(now);
            let n = self.config.announce_count;
            // transmit-lb receives on one member: the peers adaptive-lb gave other members
            // are told the receive member (the aggregate's MAC), and leave the table once
            // told (`handle_timeout`); those with no MAC yet cannot be told and leave now.
            let transmit = self.config.mode == AlbMode::Transmit;
            if transmit {
                self.peers.retain(|_, p| p.mac.is_some());
            }
            for p in self.peers.values_mut() {
                if transmit && let Some(r) = self.receive {
                    p.member = r;
                }
                p.updates_left = n;
                p.next_update = now;
            }
        }
    }

    /// The member answering to the aggregate's MAC.
    pub fn receive_member(&self) -> Option<PortNumber> {
        self.receive
    }

    /// The usable members with the MAC each uses on the wire ([`wire_mac`]; the receive
    /// member answers to the aggregate's MAC as well), in order.
    pub fn wire_members(&self) -> &[AlbMember] {
        &self.members
    }

    /// The member peer `ip` is received on, if it is in the table.
    pub fn peer_member(&self, ip: IpAddr) -> Option<PortNumber> {
        self.peers.get(&ip).map(|p| p.member)
    }

    /// The aggregate's addresses as configured on the host's interface (the daemon reads them
    /// from the kernel, at start and on every change; the core also learns them from the host's
    /// ARP and Neighbour Discovery, so that addresses of VLAN interfaces above the aggregate,
    /// learned with their tag, are kept). An untagged address no longer given is forgotten;
    /// new ones are announced on the receive member at once.
    pub fn set_local_addresses(&mut self, now: Instant, addrs: &[IpAddr]) {
        self.local
            .retain(|a, vlan| vlan.is_some() || addrs.contains(a));
        let mut new = false;
        for a in addrs.iter().take(MAX_LOCAL) {
            if self.local.len() >= MAX_LOCAL && !self.local.contains_key(a) {
                break;
            }
            new |= self.local.insert(*a, None).is_none();
        }
        if new {
            self.start_announce(now);
            self.wake = true;
        }
    }

    /// The peers in the table (`adaptive-lb`), by address.
    pub fn peer_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.peers.keys().copied()
    }

    /// `bytes` received from peer `ip` that did not pass [`Alb::handle_member_frame`] (the
    /// kernel fast path delivered them and counted them per source address): added to the
    /// peer's measured load as those frames would have been. Unknown peers: ignored.
    pub fn account_received(&mut self, ip: IpAddr, bytes: u64) {
        if let Some(p) = self.peers.get_mut(&ip) {
            p.bytes = p.bytes.saturating_add(bytes);
        }
    }

    /// The usable members (those distributing), in order, with their own MAC addresses. The
    /// receive member stays while it is usable (non-revertive: a return does not move the
    /// aggregate's MAC a second time); else it is the first member. Peers of a member that
    /// left are re-assigned and told; a member that joined gets its share of peers.
    pub fn set_members(&mut self, now: Instant, members: &[AlbMember]) {
        if members == self.given.as_slice() {
            return;
        }
        self.given = members.to_vec();
        let agg = self.config.aggregate_mac;
        let members: Vec<AlbMember> = members
            .iter()
            .map(|m| AlbMember {
                port: m.port,
                mac: wire_mac(m.mac, agg),
            })
            .collect();
        let members = members.as_slice();
        let joined = members
            .iter()
            .any(|m| !self.members.iter().any(|o| o.port == m.port));
        self.members = members.to_vec();
        let present = |p: PortNumber| members.iter().any(|m| m.port == p);
        let receive = match self.receive {
            Some(r) if present(r) => Some(r),
            _ => members.first().map(|m| m.port),
        };
        if receive != self.receive {
            self.events.push_back(AlbEvent::ReceiveMember {
                from: self.receive,
                to: receive,
            });
            self.receive = receive;
            self.start_announce(now);
        }
        if members.is_empty() {
            self.learning_at = None;
            self.rebalance_at = None;
            return;
        }
        self.learning_at.get_or_insert(now);
        if self.rebalance_at.is_none() && self.config.rebalance_interval > Duration::ZERO {
            self.rebalance_at = Some(now + self.config.rebalance_interval);
            self.sampled_at = now;
        }
        if self.config.mode != AlbMode::Adaptive {
            return;
        }
        let ports: Vec<PortNumber> = members.iter().map(|m| m.port).collect();
        let orphans: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| !ports.contains(&p.member))
            .map(|(ip, _)| *ip)
            .collect();
        for ip in orphans {
            // Moved already with another address of its host?
            if self
                .peers
                .get(&ip)
                .is_some_and(|p| ports.contains(&p.member))
            {
                continue;
            }
            let to = assign::least_loaded(&ports, &self.loads());
            if let Some(to) = to {
                self.move_peer(now, ip, to, AssignReason::Failover);
            }
        }
        if joined {
            self.rebalance(now, 0);
        }
    }

    /// A frame the host sends through the aggregate, which the distributor gave to member
    /// `port`. Returns the member to send it on; the frame may have been rewritten in place
    /// (source MAC; in `adaptive-lb` the ARP sender or the advertised link-layer address).
    pub fn handle_host_frame(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        port: PortNumber,
    ) -> PortNumber {
        let Some(rx) = self.receive else {
            return port;
        };
        let Ok(l2) = L2Header::parse(frame) else {
            return port;
        };
        if l2.src != self.config.aggregate_mac {
            // Not written by this host (a bridge above the aggregate): left alone.
            return port;
        }
        if l2.ethertype == ETHERTYPE_ARP {
            return self.host_arp(now, frame, &l2, rx);
        }
        if let Some(nd) = frames::nd_of(frame, &l2) {
            return self.host_nd(now, frame, &l2, nd, rx);
        }
        if port != rx
            && let Some(m) = self.mac_of(port)
        {
            frames::set_src(frame, m);
            self.counters.src_rewritten += 1;
        }
        port
    }

    /// A frame received on member `port`: whether it reaches the aggregate. A unicast frame for
    /// the member's own MAC gets the aggregate's MAC as destination. ARP and Neighbour
    /// Discovery from peers are learned; IPv4 and IPv6 bytes are counted per peer.
    pub fn handle_member_frame(
        &mut self,
        now: Instant,
        port: PortNumber,
        frame: &mut [u8],
    ) -> AlbRx {
        let rx = self.receive;
        let Ok(l2) = L2Header::parse(frame) else {
            return if rx == Some(port) {
                AlbRx::Deliver
            } else {
                self.drop(AlbRxDrop::NotOurs)
            };
        };
        let agg = self.config.aggregate_mac;
        if l2.src == agg || self.members.iter().any(|m| m.mac == l2.src) {
            return self.drop(AlbRxDrop::OwnFrame);
        }
        if l2.dst.is_multicast() {
            if rx != Some(port) {
                return self.drop(AlbRxDrop::NotReceiveMember);
            }
        } else if l2.dst == agg {
            if rx != Some(port) {
                *self.aggregate_mac_elsewhere.entry(port).or_insert(0) += 1;
                return self.drop(AlbRxDrop::Flooded);
            }
        } else if self.own_mac(port) == Some(l2.dst) {
            frames::set_dst(frame, agg);
        } else if self.members.iter().any(|m| m.mac == l2.dst) {
            return self.drop(AlbRxDrop::Flooded);
        } else if rx != Some(port) {
            return self.drop(AlbRxDrop::NotOurs);
        }
        self.learn(now, frame, &l2);
        AlbRx::Deliver
    }

    /// Runs what is due: announcements, peer updates, learning frames, rebalancing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let agg = self.config.aggregate_mac;
        if let Some(rx) = self.receive
            && self.announce_left > 0
            && now >= self.announce_at
        {
            for (addr, vlan) in &self.local {
                let frame = frames::announce(agg, *vlan, *addr);
                self.transmit.push_back(AlbTransmit {
                    port: rx,
                    frame,
                    kind: AlbFrameKind::Announce,
                });
                self.counters.announcements += 1;
            }
            self.announce_left -= 1;
            self.announce_at = now + self.config.announce_interval;
            // Every peer that heard the broadcast now points at the aggregate's MAC: those of
            // other members are told theirs again once the announcements are over.
            if self.announce_left == 0 && !self.local.is_empty() {
                self.settle_at = Some(now + self.config.request_settle);
            }
        }
        if self.settle_at.is_some_and(|t| now >= t) {
            self.settle_at = None;
            let n = self.config.announce_count;
            for p in self.peers.values_mut() {
                if Some(p.member) != self.receive {
                    p.updates_left = n;
                    p.next_update = now;
                }
            }
        }
        let due: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.updates_left > 0 && p.mac.is_some() && now >= p.next_update)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in due {
            let Some(p) = self.peers.get(&ip) else {
                continue;
            };
            let (Some(peer_mac), Some(mac)) = (p.mac, self.mac_of(p.member)) else {
                continue;
            };
            // The address the peer last resolved, and every other of the aggregate's addresses
            // of its family on its VLAN: a peer resolves several (an IPv6 peer the global
            // address and the link-local one the host's probes come from), and each entry
            // must follow.
            let (vlan, local, port) = (p.vlan, p.local, p.member);
            let others = self
                .local
                .iter()
                .filter(|(a, v)| **v == vlan && a.is_ipv4() == ip.is_ipv4() && **a != local)
                .map(|(a, _)| *a)
                .take(MAX_UPDATE_ADDRESSES - 1);
            let addrs: Vec<IpAddr> = std::iter::once(local).chain(others).collect();
            for addr in addrs {
                if let Some(frame) = frames::update(mac, peer_mac, vlan, addr, ip) {
                    self.transmit.push_back(AlbTransmit {
                        port,
                        frame,
                        kind: AlbFrameKind::PeerUpdate,
                    });
                    self.counters.peer_updates += 1;
                }
            }
            if let Some(p) = self.peers.get_mut(&ip) {
                p.updates_left -= 1;
                p.next_update = now + self.config.announce_interval;
                // Told the receive member after a change to transmit-lb (`set_config`): no
                // peer is kept in that mode.
                if p.updates_left == 0 && self.config.mode != AlbMode::Adaptive {
                    self.peers.remove(&ip);
                }
            }
        }
        if self.learning_at.is_some_and(|t| now >= t) {
            for m in &self.members {
                let mut macs = vec![m.mac];
                if Some(m.port) == self.receive {
                    macs.insert(0, agg);
                }
                for mac in macs {
                    self.transmit.push_back(AlbTransmit {
                        port: m.port,
                        frame: frames::learning(mac),
                        kind: AlbFrameKind::Learning,
                    });
                    self.counters.learning += 1;
                }
            }
            self.learning_at = Some(now + self.config.learning_interval);
        }
        if self.rebalance_at.is_some_and(|t| now >= t) {
            self.sample(now);
            self.rebalance(now, 20);
            self.rebalance_at = Some(now + self.config.rebalance_interval);
        }
    }

    /// Whether a frame handler ([`Alb::handle_host_frame`], [`Alb::handle_member_frame`]) set
    /// a deadline since the last call: a caller that sleeps until [`Alb::poll_timeout`] must
    /// look again. Cheap (a flag), for per-frame paths.
    pub fn take_wake(&mut self) -> bool {
        core::mem::take(&mut self.wake)
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<AlbTransmit> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<AlbEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`Alb::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let announce = (self.announce_left > 0 && self.receive.is_some() && !self.local.is_empty())
            .then_some(self.announce_at);
        let update = self
            .peers
            .values()
            .filter(|p| p.updates_left > 0 && p.mac.is_some())
            .map(|p| p.next_update)
            .min();
        [
            announce,
            update,
            self.settle_at,
            self.learning_at,
            self.rebalance_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals ----

    fn drop(&mut self, why: AlbRxDrop) -> AlbRx {
        self.counters.count_drop(why);
        AlbRx::Drop(why)
    }

    fn own_mac(&self, port: PortNumber) -> Option<MacAddr> {
        self.members.iter().find(|m| m.port == port).map(|m| m.mac)
    }

    /// The MAC peers use to reach member `port`: the aggregate's on the receive member, else
    /// the member's own.
    fn mac_of(&self, port: PortNumber) -> Option<MacAddr> {
        if Some(port) == self.receive {
            Some(self.config.aggregate_mac)
        } else {
            self.own_mac(port)
        }
    }

    fn start_announce(&mut self, now: Instant) {
        self.announce_left = self.config.announce_count;
        self.announce_at = now;
    }

    fn loads(&self) -> BTreeMap<PortNumber, assign::Load> {
        let mut loads = BTreeMap::new();
        for p in self.peers.values() {
            let l: &mut assign::Load = loads.entry(p.member).or_default();
            l.rate += p.rate;
            l.peers += 1;
        }
        loads
    }

    /// Moves peers by the plan of [`assign::rebalance`]; `tolerance` (percent): no move while
    /// the most loaded member is within that much of the least.
    fn rebalance(&mut self, now: Instant, tolerance: u64) {
        let ports: Vec<PortNumber> = self.members.iter().map(|m| m.port).collect();
        if self.config.mode != AlbMode::Adaptive || ports.len() < 2 {
            return;
        }
        if tolerance > 0 {
            let loads = self.loads();
            let rates = ports.iter().map(|p| loads.get(p).map_or(0, |l| l.rate));
            let (hi, lo) = rates.fold((0, u64::MAX), |(h, l), r| (h.max(r), l.min(r)));
            if hi == 0 || (hi - lo) * 100 <= hi * tolerance {
                return;
            }
        }
        // A host's addresses (one MAC) move as one.
        let mut view: BTreeMap<Host, (PortNumber, u64)> = BTreeMap::new();
        let mut first: BTreeMap<Host, IpAddr> = BTreeMap::new();
        for (ip, p) in &self.peers {
            let h = p.mac.map_or(Host::Ip(*ip), Host::Mac);
            view.entry(h).or_insert((p.member, 0)).1 += p.rate;
            first.entry(h).or_insert(*ip);
        }
        for mv in assign::rebalance(&ports, &view, MAX_MOVES) {
            if let Some(ip) = first.get(&mv.peer) {
                self.move_peer(now, *ip, mv.to, AssignReason::Rebalance);
            }
        }
    }

    /// Moves peer `ip` to member `to`, with every other address of the same host (MAC).
    fn move_peer(&mut self, now: Instant, ip: IpAddr, to: PortNumber, reason: AssignReason) {
        let n = self.config.announce_count;
        let mac = self.peers.get(&ip).and_then(|p| p.mac);
        let host: Vec<IpAddr> = std::iter::once(ip)
            .chain(
                self.peers
                    .iter()
                    .filter(|(i, p)| **i != ip && mac.is_some() && p.mac == mac)
                    .map(|(i, _)| *i),
            )
            .collect();
        for ip in host {
            if let Some(p) = self.peers.get_mut(&ip) {
                let from = p.member;
                if from == to {
                    continue;
                }
                p.member = to;
                p.updates_left = n;
                p.next_update = now;
                self.events.push_back(AlbEvent::PeerAssigned {
                    peer: ip,
                    from: Some(from),
                    to,
                    reason,
                });
            }
        }
    }

    /// Peer `ip`'s MAC is `mac`: if another address of that host is received on another
    /// member, this one joins it (and is told so).
    fn set_peer_mac(&mut self, now: Instant, ip: IpAddr, mac: MacAddr) {
        let Some(p) = self.peers.get_mut(&ip) else {
            return;
        };
        p.mac = Some(mac);
        let member = p.member;
        let host = self
            .peers
            .iter()
            .find(|(i, p)| **i != ip && p.mac == Some(mac))
            .map(|(_, p)| p.member);
        if let Some(to) = host.filter(|to| *to != member) {
            self.move_peer(now, ip, to, AssignReason::SameHost);
            self.wake = true;
        }
    }

    /// The member of peer `ip`, assigning one if it is new. `None` when the table is full.
    fn peer(&mut self, ip: IpAddr, local: IpAddr, vlan: Option<u16>) -> Option<PortNumber> {
        if let Some(p) = self.peers.get_mut(&ip) {
            p.local = local;
            p.vlan = vlan;
            return Some(p.member);
        }
        if self.peers.len() >= self.config.max_peers {
            self.counters.peers_untracked += 1;
            return None;
        }
        let ports: Vec<PortNumber> = self.members.iter().map(|m| m.port).collect();
        let to = assign::least_loaded(&ports, &self.loads())?;
        self.peers.insert(
            ip,
            Peer {
                mac: None,
                vlan,
                local,
                member: to,
                updates_left: 0,
                next_update: Instant::ZERO,
                bytes: 0,
                rate: 0,
            },
        );
        self.events.push_back(AlbEvent::PeerAssigned {
            peer: ip,
            from: None,
            to,
            reason: AssignReason::New,
        });
        Some(to)
    }

    fn learn_local(&mut self, addr: IpAddr, vlan: Option<u16>) {
        if addr.is_unspecified() || self.local.contains_key(&addr) || self.local.len() >= MAX_LOCAL
        {
            return;
        }
        self.local.insert(addr, vlan);
    }

    fn host_arp(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        l2: &L2Header,
        rx: PortNumber,
    ) -> PortNumber {
        let Ok(arp) = lagd_wire::ArpRepr::parse(frame.get(l2.payload..).unwrap_or_default()) else {
            return rx;
        };
        self.learn_local(IpAddr::V4(arp.sender_ip), l2.vlan);
        if self.config.mode != AlbMode::Adaptive || arp.sender_ip == arp.target_ip {
            return rx;
        }
        let (local, peer) = (IpAddr::V4(arp.sender_ip), IpAddr::V4(arp.target_ip));
        match arp.op {
            ArpOp::Reply if arp.target_mac.is_unicast() && !arp.target_mac.is_zero() => {
                if self.peer(peer, local, l2.vlan).is_none() {
                    return rx;
                }
                self.set_peer_mac(now, peer, arp.target_mac);
                let Some(m) = self.peer_member(peer) else {
                    return rx;
                };
                let Some(mac) = self.mac_of(m) else {
                    return rx;
                };
                lagd_wire::rewrite_arp_sender(frame, mac);
                self.counters.arp_rewritten += 1;
                m
            }
            ArpOp::Request
                if l2.dst.is_unicast()
                    && self.peers.get(&peer).is_some_and(|p| p.mac.is_some()) =>
            {
                // A unicast probe of a known peer (its entry went stale): asked from its
                // member's MAC, on its member, so that it does not re-point the peer at the
                // aggregate's MAC (Linux's bonding sends it from the aggregate's MAC and
                // re-tells the peer 2 s later).
                let m = self.peer_member(peer).unwrap_or(rx);
                let Some(mac) = self.mac_of(m) else {
                    return rx;
                };
                lagd_wire::rewrite_arp_sender(frame, mac);
                self.counters.arp_rewritten += 1;
                m
            }
            ArpOp::Request => {
                // Broadcast from the aggregate's MAC: a place in the table now, the peer's MAC
                // from its reply, every peer on another member told again after the settle.
                self.peer(peer, local, l2.vlan);
                self.settle_at = Some(now + self.config.request_settle);
                self.wake = true;
                rx
            }
            ArpOp::Reply => rx,
        }
    }

    fn host_nd(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        l2: &L2Header,
        nd: lagd_wire::NdRepr,
        rx: PortNumber,
    ) -> PortNumber {
        match nd.message {
            NdMessage::Advert { target, .. } => self.learn_local(IpAddr::V6(target), l2.vlan),
            NdMessage::Solicit { .. } => self.learn_local(IpAddr::V6(nd.src), l2.vlan),
        }
        if self.config.mode != AlbMode::Adaptive || nd.src.is_unspecified() {
            return rx;
        }
        let (local, peer) = (IpAddr::V6(nd.src), IpAddr::V6(nd.dst));
        match nd.message {
            NdMessage::Advert {
                target_lladdr: Some(_),
                ..
            } if !nd.dst.is_multicast() => {
                if self.peer(peer, local, l2.vlan).is_none() {
                    return rx;
                }
                if self.peers.get(&peer).is_some_and(|p| p.mac.is_none()) {
                    self.set_peer_mac(now, peer, l2.dst);
                }
                let Some(m) = self.peer_member(peer) else {
                    return rx;
                };
                let Some(mac) = self.mac_of(m) else {
                    return rx;
                };
                if frames::rewrite_nd_lladdr(frame, l2, nd, mac) {
                    self.counters.nd_rewritten += 1;
                    m
                } else {
                    rx
                }
            }
            NdMessage::Solicit { target, .. } => {
                self.peer(IpAddr::V6(target), local, l2.vlan);
                self.settle_at = Some(now + self.config.request_settle);
                self.wake = true;
                rx
            }
            NdMessage::Advert { .. } => rx,
        }
    }

    /// Learns peers' MACs from their ARP and Neighbour Discovery, counts bytes per peer.
    fn learn(&mut self, now: Instant, frame: &[u8], l2: &L2Header) {
        let len = frame.len() as u64;
        let learned = if l2.ethertype == ETHERTYPE_ARP {
            lagd_wire::ArpRepr::parse(frame.get(l2.payload..).unwrap_or_default())
                .ok()
                .map(|a| (IpAddr::V4(a.sender_ip), a.sender_mac))
        } else if let Some(nd) = frames::nd_of(frame, l2) {
            match nd.message {
                NdMessage::Advert {
                    target,
                    target_lladdr,
                    ..
                } => Some((IpAddr::V6(target), target_lladdr.unwrap_or(l2.src))),
                NdMessage::Solicit { .. } => Some((IpAddr::V6(nd.src), l2.src)),
            }
        } else {
            if let Some(src) = frames::ip_source(frame, l2)
                && let Some(p) = self.peers.get_mut(&src)
            {
                p.bytes += len;
            }
            None
        };
        let Some((ip, mac)) = learned else { return };
        if !mac.is_unicast() || mac.is_zero() {
            return;
        }
        let n = self.config.announce_count;
        let receive = self.receive;
        let Some(first) = self
            .peers
            .get(&ip)
            .filter(|p| p.mac != Some(mac))
            .map(|p| p.mac.is_none())
        else {
            return;
        };
        self.set_peer_mac(now, ip, mac);
        // A placeholder (the host asked) learned the aggregate's MAC from the request: tell it
        // its own member unless that is the receive member.
        if first
            && let Some(p) = self.peers.get_mut(&ip)
            && Some(p.member) != receive
            && p.updates_left == 0
        {
            p.updates_left = n;
            p.next_update = now;
            self.wake = true;
        }
    }

    /// Turns the bytes counted since the last sample into rates (halved each sample: an
    /// exponential average).
    fn sample(&mut self, now: Instant) {
        let elapsed = now.saturating_since(self.sampled_at).as_millis().max(1);
        for p in self.peers.values_mut() {
            let r = p.bytes.saturating_mul(1000) / elapsed;
            p.rate = (p.rate + r) / 2;
            p.bytes = 0;
        }
        self.sampled_at = now;
    }
}

#[cfg(test)]
mod tests;
