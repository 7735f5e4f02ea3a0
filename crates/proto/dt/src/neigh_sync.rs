//! ARP and IPv6 ND synchronisation between the two switches (SONiC's MC-LAG and Cumulus clagd
//! do the same): each switch tells the other the neighbour entries (IPv4 ARP, IPv6 ND) its
//! bridge resolved for the hosts behind it, and installs the peer's, so that whichever switch
//! a host's frames reach, and whichever switch survives, the switch answers the host at once:
//! no ARP or ND round (and no flood) first, and a host whose gateway is the pair keeps its
//! gateway working when either switch is lost.
//!
//! **Soft state**, so nothing needs acknowledging: every peer-link PDU carries the next slice
//! of the local table (round robin over the table, by address); the slice that reaches the end
//! is flagged `PASS_END`. The receiver stamps each entry with the pass it was heard in and, at
//! the end of each pass, removes the entries not heard in that pass nor the one before (the
//! host is gone at the peer). An entry the switch resolved itself wins over the peer's (the
//! peer's is installed only while the local one is absent), and what the peer announced
//! stays installed while the peer is silent: the hosts did not move because a switch died.
//!
//! **Bounded**: each table holds at most `limit` entries (the MAC sync limit); a peer entry
//! beyond it is not installed and counted (`overflow`), a local one beyond it not announced
//! (`local_dropped`). Every operation is O(log n).

use crate::pdu::{NeighEntry, NeighSyncInfo};
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Bound;

/// A change to the neighbour entries a switch installed for its peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeighUpdate {
    /// The host's address.
    pub ip: IpAddr,
    /// Its link-layer address (for a removal: the one installed).
    pub mac: MacAddr,
    /// `true`: install (or replace) the entry; `false`: remove it.
    pub install: bool,
}

/// The neighbour sync tables of one switch.
#[derive(Clone, Debug, Default)]
pub(crate) struct NeighSync {
    /// Entries the local bridge resolved.
    local: BTreeMap<IpAddr, MacAddr>,
    /// Entries the peer announced, with the pass they were last heard in.
    peer: BTreeMap<IpAddr, (MacAddr, u64)>,
    limit: usize,
    /// Peer entries not installed because the table was full.
    pub overflow: u64,
    /// Local entries not announced because the table was full.
    pub local_dropped: u64,
    /// The last local address sent in the current pass (`None`: a pass starts).
    cursor: Option<IpAddr>,
    /// Passes of the peer's table completed.
    peer_pass: u64,
}

impl NeighSync {
    /// Tables of at most `limit` entries each.
    pub fn new(limit: usize) -> Self {
        NeighSync {
            limit,
            ..Default::default()
        }
    }

    /// Local entries.
    pub fn local_len(&self) -> usize {
        self.local.len()
    }

    /// Peer entries held.
    pub fn peer_len(&self) -> usize {
        self.peer.len()
    }

    /// The peer's entries installed (those the local bridge has not resolved itself).
    pub fn installed(&self) -> impl Iterator<Item = (IpAddr, MacAddr)> + '_ {
        self.peer
            .iter()
            .filter(|(ip, _)| !self.local.contains_key(*ip))
            .map(|(ip, (mac, _))| (*ip, *mac))
    }

    /// The local bridge resolved `ip` to `mac` (`Some`), or its entry is gone (`None`).
    pub fn local_change(&mut self, ip: IpAddr, mac: Option<MacAddr>, out: &mut Vec<NeighUpdate>) {
        match mac {
            Some(mac) => {
                if self.local.len() >= self.limit && !self.local.contains_key(&ip) {
                    self.local_dropped += 1;
                    return;
                }
                if self.local.insert(ip, mac).is_none()
                    && let Some((theirs, _)) = self.peer.get(&ip)
                {
                    // Ours now: the peer's entry is no longer installed (the daemon leaves
                    // an entry the kernel resolved alone).
                    out.push(NeighUpdate {
                        ip,
                        mac: *theirs,
                        install: false,
                    });
                }
            }
            None => {
                if self.local.remove(&ip).is_some()
                    && let Some((theirs, _)) = self.peer.get(&ip)
                {
                    out.push(NeighUpdate {
                        ip,
                        mac: *theirs,
                        install: true,
                    });
                }
            }
        }
    }

    /// The next slice of the local table for a PDU: at most `batch` entries after the cursor,
    /// flagged `PASS_END` when it reaches the end of the table.
    pub fn tlv(&mut self, batch: usize) -> NeighSyncInfo {
        let from = match self.cursor {
            Some(ip) => Bound::Excluded(ip),
            None => Bound::Unbounded,
        };
        let entries: Vec<NeighEntry> = self
            .local
            .range((from, Bound::Unbounded))
            .take(batch)
            .map(|(ip, mac)| NeighEntry { ip: *ip, mac: *mac })
            .collect();
        let last = entries.last().map(|e| e.ip);
        let end = last.is_none_or(|ip| {
            self.local
                .range((Bound::Excluded(ip), Bound::Unbounded))
                .next()
                .is_none()
        });
        self.cursor = if end { None } else { last };
        NeighSyncInfo {
            flags: if end { NeighSyncInfo::PASS_END } else { 0 },
            entries,
        }
    }

    /// A slice of the peer's table arrived.
    pub fn receive(&mut self, info: &NeighSyncInfo, out: &mut Vec<NeighUpdate>) {
        let pass = self.peer_pass;
        for e in &info.entries {
            let full = self.peer.len() >= self.limit;
            match self.peer.get_mut(&e.ip) {
                Some((mac, heard)) => {
                    *heard = pass;
                    if *mac != e.mac {
                        *mac = e.mac;
                        if !self.local.contains_key(&e.ip) {
                            out.push(NeighUpdate {
                                ip: e.ip,
                                mac: e.mac,
                                install: true,
                            });
                        }
                    }
                }
                None if full => self.overflow += 1,
                None => {
                    self.peer.insert(e.ip, (e.mac, pass));
                    if !self.local.contains_key(&e.ip) {
                        out.push(NeighUpdate {
                            ip: e.ip,
                            mac: e.mac,
                            install: true,
                        });
                    }
                }
            }
        }
        if info.flags & NeighSyncInfo::PASS_END != 0 {
            // Heard in neither this pass nor the one before: gone at the peer.
            let gone: Vec<IpAddr> = self
                .peer
                .iter()
                .filter(|(_, (_, heard))| heard + 1 < pass)
                .map(|(ip, _)| *ip)
                .collect();
            for ip in gone {
                if let Some((mac, _)) = self.peer.remove(&ip)
                    && !self.local.contains_key(&ip)
                {
                    out.push(NeighUpdate {
                        ip,
                        mac,
                        install: false,
                    });
                }
            }
            self.peer_pass += 1;
        }
    }

    /// Forgets the peer's table (DT stops), removing what was installed.
    pub fn clear(&mut self, out: &mut Vec<NeighUpdate>) {
        let installed: Vec<(IpAddr, MacAddr)> = self.installed().collect();
        for (ip, mac) in installed {
            out.push(NeighUpdate {
                ip,
                mac,
                install: false,
            });
        }
        self.peer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
    }
    fn v6(n: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, n))
    }
    fn mac(n: u8) -> MacAddr {
        MacAddr([2, 0x11, 0, 0, 0, n])
    }

    /// Sends whole passes of `from`'s table to `to` in slices of `batch`; returns the updates.
    fn passes(
        from: &mut NeighSync,
        to: &mut NeighSync,
        n: usize,
        batch: usize,
    ) -> Vec<NeighUpdate> {
        let mut out = Vec::new();
        let mut done = 0;
        while done < n {
            let t = from.tlv(batch);
            if t.flags & NeighSyncInfo::PASS_END != 0 {
                done += 1;
            }
            to.receive(&t, &mut out);
        }
        out
    }

    #[test]
    fn the_peers_entries_are_installed_and_removed_two_passes_after_they_go() {
        let (mut a, mut b) = (NeighSync::new(100), NeighSync::new(100));
        let mut out = Vec::new();
        for n in 1..=5 {
            a.local_change(v4(n), Some(mac(n)), &mut out);
        }
        a.local_change(v6(1), Some(mac(9)), &mut out);
        assert!(out.is_empty(), "local changes install nothing");
        let up = passes(&mut a, &mut b, 1, 2);
        assert_eq!(up.len(), 6);
        assert!(up.iter().all(|u| u.install));
        assert_eq!(b.installed().count(), 6);
        assert!(b.installed().any(|e| e == (v6(1), mac(9))));
        // Repeated passes change nothing.
        assert!(passes(&mut a, &mut b, 3, 2).is_empty());
        // Gone at A: removed at B once a whole pass went by without it.
        a.local_change(v4(3), None, &mut out);
        let up = passes(&mut a, &mut b, 1, 2);
        assert!(up.is_empty(), "one pass of grace: {up:?}");
        let up = passes(&mut a, &mut b, 1, 2);
        assert_eq!(
            up,
            vec![NeighUpdate {
                ip: v4(3),
                mac: mac(3),
                install: false
            }]
        );
        assert_eq!(b.peer_len(), 5);
        // A host that moved to another MAC is replaced at once.
        a.local_change(v4(1), Some(mac(77)), &mut out);
        let up = passes(&mut a, &mut b, 1, 10);
        assert_eq!(
            up,
            vec![NeighUpdate {
                ip: v4(1),
                mac: mac(77),
                install: true
            }]
        );
    }

    #[test]
    fn an_entry_resolved_locally_wins_over_the_peers() {
        let (mut a, mut b) = (NeighSync::new(100), NeighSync::new(100));
        let mut out = Vec::new();
        a.local_change(v4(1), Some(mac(1)), &mut out);
        b.local_change(v4(1), Some(mac(1)), &mut out);
        assert!(passes(&mut a, &mut b, 1, 8).is_empty(), "B has its own");
        assert_eq!(b.installed().count(), 0);
        // B's own entry goes (it aged out): A's is installed in its place, and removed again
        // when B resolves it itself.
        b.local_change(v4(1), None, &mut out);
        assert_eq!(
            out,
            vec![NeighUpdate {
                ip: v4(1),
                mac: mac(1),
                install: true
            }]
        );
        out.clear();
        b.local_change(v4(1), Some(mac(1)), &mut out);
        assert_eq!(
            out,
            vec![NeighUpdate {
                ip: v4(1),
                mac: mac(1),
                install: false
            }]
        );
        // A's entry of an address B has locally never installs, even if it changes MAC.
        out.clear();
        a.local_change(v4(1), Some(mac(2)), &mut out);
        assert!(passes(&mut a, &mut b, 1, 8).is_empty());
    }

    #[test]
    fn tables_are_bounded_and_count_what_they_refuse() {
        let (mut a, mut b) = (NeighSync::new(1000), NeighSync::new(10));
        let mut out = Vec::new();
        for n in 0..50u16 {
            a.local_change(v6(n), Some(mac(n as u8)), &mut out);
        }
        let up = passes(&mut a, &mut b, 1, 7);
        assert_eq!(up.len(), 10);
        assert_eq!(b.peer_len(), 10);
        assert_eq!(b.overflow, 40);
        // The local table too.
        for n in 0..20u8 {
            b.local_change(v4(n), Some(mac(n)), &mut out);
        }
        assert_eq!(b.local_len(), 10);
        assert_eq!(b.local_dropped, 10);
        // An entry already held is updated even when full.
        b.local_change(v4(0), Some(mac(99)), &mut out);
        assert_eq!(b.local_dropped, 10);
    }

    #[test]
    fn an_empty_table_ends_every_pass_and_clear_removes_what_was_installed() {
        let (mut a, mut b) = (NeighSync::new(100), NeighSync::new(100));
        let mut out = Vec::new();
        let t = a.tlv(8);
        assert_eq!(t.flags, NeighSyncInfo::PASS_END);
        assert!(t.entries.is_empty());
        a.local_change(v4(1), Some(mac(1)), &mut out);
        a.local_change(v4(2), Some(mac(2)), &mut out);
        passes(&mut a, &mut b, 1, 1);
        b.local_change(v4(2), Some(mac(2)), &mut out);
        out.clear();
        b.clear(&mut out);
        assert_eq!(
            out,
            vec![NeighUpdate {
                ip: v4(1),
                mac: mac(1),
                install: false
            }],
            "only what was installed"
        );
        assert_eq!(b.peer_len(), 0);
        // Everything gone at A: two passes later, gone at B.
        let (mut a, mut b) = (NeighSync::new(100), NeighSync::new(100));
        a.local_change(v4(1), Some(mac(1)), &mut out);
        passes(&mut a, &mut b, 1, 1);
        a.local_change(v4(1), None, &mut out);
        out.clear();
        let up = passes(&mut a, &mut b, 2, 1);
        assert_eq!(up.len(), 1);
        assert!(!up[0].install);
    }

    #[test]
    fn slices_cover_the_table_in_order_across_changes() {
        let mut a = NeighSync::new(100);
        let mut out = Vec::new();
        for n in 1..=10 {
            a.local_change(v4(n), Some(mac(n)), &mut out);
        }
        let t = a.tlv(4);
        assert_eq!(t.entries.len(), 4);
        assert_eq!(t.flags, 0);
        // An entry removed at the cursor does not restart the pass.
        a.local_change(v4(4), None, &mut out);
        let t = a.tlv(4);
        assert_eq!(
            t.entries.iter().map(|e| e.ip).collect::<Vec<_>>(),
            vec![v4(5), v4(6), v4(7), v4(8)]
        );
        let t = a.tlv(4);
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.flags, NeighSyncInfo::PASS_END);
        let t = a.tlv(4);
        assert_eq!(t.entries.first().map(|e| e.ip), Some(v4(1)));
    }
}
