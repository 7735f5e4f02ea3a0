//! MAC address synchronisation between the two switches (not in 802.1AX; SONiC and Cumulus
//! MC-LAG do the same): each switch tells the other which addresses it learned on its DT
//! aggregations, so both forward to those hosts over their own member links.
//!
//! Reliable over a lossy path with a stop-and-wait window: changes go in numbered batches of a
//! *session*; each PDU retransmits the unacknowledged batch and acknowledges the peer's
//! highest applied batch. A new session (peer found again, the peer asks for a resync, or the
//! peer's acknowledgements go backwards because it restarted) starts over with the whole
//! local table. A receiver that sees a new session of the peer flushes what it had from it.

use crate::pdu::{MacOp, MacSyncEntry, MacSyncInfo};
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// A MAC table key: DT aggregation id, VLAN, address.
pub type MacKey = (u16, u16, MacAddr);

/// Where a peer's address must point in the local forwarding database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MacTarget {
    /// The local port of the same DT aggregation (it has live members): the host is reached
    /// over this switch's own links.
    LocalAggregation,
    /// The peer link (the local half has no live member): the peer delivers. Known unicast
    /// then never floods, so it is never delivered twice.
    PeerLink,
}

/// A change to the static forwarding entries a switch keeps for its peer's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MacUpdate {
    /// DT aggregation id.
    pub aggr: u16,
    /// VLAN id (0 = untagged).
    pub vlan: u16,
    /// The address.
    pub mac: MacAddr,
    /// `true`: install (or move) a static entry pointing at `target`; `false`: remove it.
    pub install: bool,
    /// Where the entry points (for a removal: where it pointed).
    pub target: MacTarget,
}

/// The MAC sync state of one switch.
#[derive(Clone, Debug, Default)]
pub(crate) struct MacSync {
    /// Addresses learned locally on DT aggregations.
    pub local: BTreeSet<MacKey>,
    /// Addresses the peer reported.
    pub peer: BTreeSet<MacKey>,
    active: bool,
    session: u32,
    next_seq: u32,
    pending: VecDeque<MacSyncEntry>,
    inflight: Option<(u32, Vec<MacSyncEntry>)>,
    last_acked: u32,
    peer_session: Option<u32>,
    peer_expected: u32,
    resync_request: bool,
}

fn entry(op: MacOp, k: MacKey) -> MacSyncEntry {
    MacSyncEntry {
        op,
        aggr: k.0,
        vlan: k.1,
        mac: k.2,
    }
}

impl MacSync {
    /// A MAC sync whose first session follows `incarnation`.
    pub fn new(incarnation: u32) -> Self {
        MacSync {
            session: incarnation,
            ..Default::default()
        }
    }

    /// A local address was learned (`add`) or aged out. Returns whether it changed anything.
    pub fn local_change(&mut self, k: MacKey, add: bool) -> bool {
        let changed = if add {
            self.local.insert(k)
        } else {
            self.local.remove(&k)
        };
        if changed && self.active {
            self.pending
                .push_back(entry(if add { MacOp::Add } else { MacOp::Remove }, k));
        }
        changed
    }

    /// Starts a new session with the whole local table (peer found, or resync).
    pub fn start_session(&mut self) {
        self.session = self.session.wrapping_add(1).max(1);
        self.active = true;
        self.next_seq = 1;
        self.last_acked = 0;
        self.inflight = None;
        self.pending = self.local.iter().map(|k| entry(MacOp::Add, *k)).collect();
    }

    /// The peer is gone: stop sending and forget what it reported. Returns the forgotten keys.
    pub fn peer_down(&mut self) -> Vec<MacKey> {
        self.active = false;
        self.pending.clear();
        self.inflight = None;
        self.peer_session = None;
        self.peer_expected = 0;
        self.resync_request = false;
        std::mem::take(&mut self.peer).into_iter().collect()
    }

    /// Every local change has been acknowledged.
    pub fn synced(&self) -> bool {
        self.inflight.is_none() && self.pending.is_empty()
    }

    /// Whether a session is running.
    pub fn active(&self) -> bool {
        self.active
    }

    /// The MAC Sync TLV to send now (`None` when no session runs). Builds the next batch of
    /// at most `max` entries if none is in flight.
    pub fn tlv(&mut self, max: usize) -> Option<MacSyncInfo> {
        if !self.active {
            return None;
        }
        if self.inflight.is_none() && !self.pending.is_empty() {
            let n = self.pending.len().min(max.max(1));
            let batch: Vec<_> = self.pending.drain(..n).collect();
            self.inflight = Some((self.next_seq, batch));
            self.next_seq = self.next_seq.wrapping_add(1).max(1);
        }
        let (seq, entries) = match &self.inflight {
            Some((s, e)) => (*s, e.clone()),
            None => (0, Vec::new()),
        };
        Some(MacSyncInfo {
            flags: if self.resync_request {
                MacSyncInfo::RESYNC
            } else {
                0
            },
            session: self.session,
            seq,
            ack_session: self.peer_session.unwrap_or(0),
            ack_seq: self.peer_expected.saturating_sub(1),
            entries,
        })
    }

    /// Processes the peer's MAC Sync TLV. Returns (whether a PDU should go out now, the peer
    /// table changes as (key, present)).
    pub fn receive(&mut self, m: &MacSyncInfo) -> (bool, Vec<(MacKey, bool)>) {
        let mut ntt = false;
        let mut changes = Vec::new();
        if !self.active {
            return (false, changes);
        }
        // Our side: acknowledgements and resync requests.
        if m.ack_session == self.session {
            if m.flags & MacSyncInfo::RESYNC != 0 || m.ack_seq < self.last_acked {
                // The peer lost our batches (it missed one, or restarted): start over.
                self.start_session();
                ntt = true;
            } else {
                self.last_acked = m.ack_seq;
                if self.inflight.as_ref().is_some_and(|(s, _)| *s <= m.ack_seq) {
                    self.inflight = None;
                    ntt |= !self.pending.is_empty();
                }
            }
        }
        // Their side: a new session flushes, the expected batch is applied.
        if self.peer_session != Some(m.session) {
            for k in std::mem::take(&mut self.peer) {
                changes.push((k, false));
            }
            self.peer_session = Some(m.session);
            self.peer_expected = 1;
            self.resync_request = false;
            ntt = true;
        }
        if m.seq != 0 {
            if m.seq == self.peer_expected {
                for e in &m.entries {
                    let k = (e.aggr, e.vlan, e.mac);
                    let present = e.op == MacOp::Add;
                    let changed = if present {
                        self.peer.insert(k)
                    } else {
                        self.peer.remove(&k)
                    };
                    if changed {
                        changes.push((k, present));
                    }
                }
                self.peer_expected = self.peer_expected.wrapping_add(1).max(1);
                self.resync_request = false;
                ntt = true;
            } else if m.seq < self.peer_expected {
                // A retransmission: our acknowledgement was lost; acknowledge again.
                ntt = true;
            } else if !self.resync_request {
                self.resync_request = true;
                ntt = true;
            }
        }
        (ntt, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> MacKey {
        (1, 0, MacAddr([2, 0, 0, 0, 0, n]))
    }

    /// Moves one PDU from `a` to `b`; returns b's peer-table changes.
    fn send(a: &mut MacSync, b: &mut MacSync, max: usize) -> Vec<(MacKey, bool)> {
        let Some(t) = a.tlv(max) else {
            return Vec::new();
        };
        b.receive(&t).1
    }

    #[test]
    fn batches_are_acknowledged_and_resent_until_then() {
        let mut a = MacSync::new(100);
        let mut b = MacSync::new(200);
        for n in 1..=5 {
            a.local_change(k(n), true);
        }
        a.start_session();
        b.start_session();
        // First batch of 2; b applies; a resends it until b's ack arrives.
        assert_eq!(send(&mut a, &mut b, 2).len(), 2);
        assert!(send(&mut a, &mut b, 2).is_empty(), "retransmission ignored");
        let _ = send(&mut b, &mut a, 2); // ack
        assert_eq!(send(&mut a, &mut b, 2).len(), 2);
        let _ = send(&mut b, &mut a, 2);
        assert_eq!(send(&mut a, &mut b, 2).len(), 1);
        let _ = send(&mut b, &mut a, 2);
        assert!(a.synced());
        assert_eq!(b.peer.len(), 5);
        // A removal flows the same way.
        a.local_change(k(3), false);
        assert_eq!(send(&mut a, &mut b, 2), vec![(k(3), false)]);
        assert_eq!(b.peer.len(), 4);
    }

    #[test]
    fn lost_batch_is_recovered_by_resync() {
        let mut a = MacSync::new(1);
        let mut b = MacSync::new(50);
        a.start_session();
        b.start_session();
        a.local_change(k(1), true);
        assert_eq!(send(&mut a, &mut b, 1).len(), 1);
        let _ = send(&mut b, &mut a, 1);
        a.local_change(k(2), true);
        let _ = a.tlv(1); // batch 2 lost
        let _ = send(&mut b, &mut a, 1); // b acks 1 only: a keeps batch 2 in flight
        a.local_change(k(3), true);
        // Simulate a gap: batch 3 arriving first cannot happen with stop-and-wait, so force
        // it by a peer restart instead: b forgets everything and acks backwards.
        let mut b2 = MacSync::new(51);
        b2.start_session();
        let _ = send(&mut a, &mut b2, 1); // b2 sees a's session, batch 2: a gap
        let t = b2.tlv(1).unwrap();
        assert_eq!(t.flags & MacSyncInfo::RESYNC, MacSyncInfo::RESYNC);
        let _ = a.receive(&t);
        // a started a new session with the whole table.
        for _ in 0..6 {
            let _ = send(&mut a, &mut b2, 1);
            let _ = send(&mut b2, &mut a, 1);
        }
        assert_eq!(b2.peer, a.local);
        assert!(a.synced());
    }

    #[test]
    fn new_peer_session_flushes_and_peer_down_forgets() {
        let mut a = MacSync::new(1);
        let mut b = MacSync::new(9);
        a.start_session();
        b.start_session();
        a.local_change(k(7), true);
        let _ = send(&mut a, &mut b, 4);
        assert_eq!(b.peer.len(), 1);
        a.start_session(); // e.g. a restarted: new session
        let changes = send(&mut a, &mut b, 4);
        assert!(changes.contains(&(k(7), false)) && changes.contains(&(k(7), true)));
        assert_eq!(b.peer_down(), vec![k(7)]);
        assert!(b.tlv(4).is_none());
        assert!(!b.active());
    }
}
