//! The IPv4 neighbour table of a simulated host (`ip = "..."` on a node): what a peer of a
//! `transmit-lb` / `adaptive-lb` host believes the host's MAC is, since that decides which
//! member its frames arrive on. The rules are Linux's (`net/ipv4/arp.c`, `arp_process`),
//! reduced to what the balancer relies on:
//!
//! - an ARP request for the host's own address is answered (a unicast reply from the host's
//!   MAC) and its sender's entry is created or overwritten;
//! - any other ARP (a reply, a request for someone else, a gratuitous ARP) updates the
//!   sender's entry only if there is one (pending or resolved), and changes its MAC only if
//!   the entry was last updated at least `locktime` ago (Linux's `locktime`, 1 s) or the ARP is
//!   gratuitous (sender address = target address);
//! - a destination without an entry is asked for by a broadcast request; frames for it are
//!   dropped until the reply comes (Linux queues three).
//!
//! Not modelled: reachability confirmation, entries going stale and unicast probes, entry
//! expiry (scenarios are shorter than Linux's 30 s `base_reachable_time`).

use lagd_types::{Duration, Instant, MacAddr};
use lagd_wire::{ArpFrame, ArpOp, ArpRepr};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Linux's default ARP `locktime`.
pub const LOCKTIME: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// `None` while a request is pending.
    mac: Option<MacAddr>,
    updated: Instant,
}

/// Counters of a neighbour table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NeighCounters {
    /// Requests sent.
    pub requests: u64,
    /// Replies sent.
    pub replies: u64,
    /// Entries whose MAC changed.
    pub changes: u64,
    /// Changes refused within `locktime`.
    pub locked: u64,
}

/// A host's address and its neighbour table.
#[derive(Clone, Debug)]
pub struct Neigh {
    ip: Ipv4Addr,
    mac: MacAddr,
    locktime: Duration,
    entries: BTreeMap<Ipv4Addr, Entry>,
    /// Counters.
    pub counters: NeighCounters,
}

impl Neigh {
    /// The table of a host with address `ip` on an interface with MAC `mac`.
    pub fn new(ip: Ipv4Addr, mac: MacAddr) -> Self {
        Neigh {
            ip,
            mac,
            locktime: LOCKTIME,
            entries: BTreeMap::new(),
            counters: NeighCounters::default(),
        }
    }

    /// The host's address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The MAC `ip` resolves to.
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        self.entries.get(&ip).and_then(|e| e.mac)
    }

    /// A broadcast request for `ip` (marks the entry pending if there is none).
    pub fn request(&mut self, now: Instant, ip: Ipv4Addr) -> Vec<u8> {
        self.entries.entry(ip).or_insert(Entry {
            mac: None,
            updated: now,
        });
        self.counters.requests += 1;
        let arp = ArpRepr {
            op: ArpOp::Request,
            sender_mac: self.mac,
            sender_ip: self.ip,
            target_mac: MacAddr::ZERO,
            target_ip: ip,
        };
        ArpFrame::new(self.mac, MacAddr::BROADCAST, None, arp).to_bytes()
    }

    /// An ARP frame received: updates the table; returns the reply to send, if it asked for
    /// this host's address.
    pub fn handle_arp(&mut self, now: Instant, frame: &[u8]) -> Option<Vec<u8>> {
        let f = ArpFrame::parse(frame).ok()?;
        let a = f.arp;
        if !a.sender_mac.is_unicast() || a.sender_mac.is_zero() || a.sender_ip == self.ip {
            return None;
        }
        if a.op == ArpOp::Request && a.target_ip == self.ip {
            self.set(now, a.sender_ip, a.sender_mac, true);
            self.counters.replies += 1;
            let reply = ArpRepr {
                op: ArpOp::Reply,
                sender_mac: self.mac,
                sender_ip: self.ip,
                target_mac: a.sender_mac,
                target_ip: a.sender_ip,
            };
            return Some(ArpFrame::new(self.mac, a.sender_mac, None, reply).to_bytes());
        }
        if self.entries.contains_key(&a.sender_ip) {
            let garp = a.sender_ip == a.target_ip;
            self.set(now, a.sender_ip, a.sender_mac, garp);
        }
        None
    }

    fn set(&mut self, now: Instant, ip: Ipv4Addr, mac: MacAddr, force: bool) {
        let locktime = self.locktime;
        let e = self.entries.entry(ip).or_insert(Entry {
            mac: None,
            updated: now,
        });
        match e.mac {
            Some(old) if old == mac => e.updated = now,
            Some(_) if !force && now.saturating_since(e.updated) < locktime => {
                self.counters.locked += 1;
            }
            _ => {
                if e.mac.is_some() {
                    self.counters.changes += 1;
                }
                e.mac = Some(mac);
                e.updated = now;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const M1: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
    const M2: MacAddr = MacAddr([2, 0, 0, 0, 1, 2]);
    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn reply(from: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
        let arp = ArpRepr {
            op: ArpOp::Reply,
            sender_mac: from,
            sender_ip: ip,
            target_mac: ME,
            target_ip: IP,
        };
        ArpFrame::new(from, ME, None, arp).to_bytes()
    }

    #[test]
    fn resolves_answers_and_honours_locktime_except_for_gratuitous_arp() {
        let mut n = Neigh::new(IP, ME);
        // An unsolicited reply for an address with no entry is ignored.
        assert_eq!(n.handle_arp(at(0), &reply(M1, HOST)), None);
        assert_eq!(n.lookup(HOST), None);
        let _ = n.request(at(0), HOST);
        n.handle_arp(at(1), &reply(M1, HOST));
        assert_eq!(n.lookup(HOST), Some(M1));
        // A change within the locktime is refused, after it accepted.
        n.handle_arp(at(500), &reply(M2, HOST));
        assert_eq!(n.lookup(HOST), Some(M1));
        n.handle_arp(at(1200), &reply(M2, HOST));
        assert_eq!(n.lookup(HOST), Some(M2));
        // A gratuitous ARP overrides at once.
        let g = ArpFrame::new(M1, MacAddr::BROADCAST, None, ArpRepr::gratuitous(M1, HOST));
        n.handle_arp(at(1300), &g.to_bytes());
        assert_eq!(n.lookup(HOST), Some(M1));
        assert_eq!((n.counters.changes, n.counters.locked), (2, 1));
        // A request for our address is answered and overwrites its sender's entry.
        let q = ArpRepr {
            op: ArpOp::Request,
            sender_mac: M2,
            sender_ip: HOST,
            target_mac: MacAddr::ZERO,
            target_ip: IP,
        };
        let r = n
            .handle_arp(
                at(1400),
                &ArpFrame::new(M2, MacAddr::BROADCAST, None, q).to_bytes(),
            )
            .unwrap();
        let r = ArpFrame::parse(&r).unwrap();
        assert_eq!(
            (r.l2.dst, r.arp.op, r.arp.sender_ip),
            (M2, ArpOp::Reply, IP)
        );
        assert_eq!(n.lookup(HOST), Some(M2));
    }
}
