//! MAC address synchronisation between the two switches (not in 802.1AX; SONiC and Cumulus
//! MC-LAG do the same): each switch tells the other which addresses it learned on its DT
//! aggregations, so both forward to those hosts over their own member links.
//!
//! Reliable over a lossy path with a stop-and-wait window: changes go in numbered batches of a
//! *session*; each PDU retransmits the unacknowledged batch and acknowledges the peer's
//! highest applied batch. A new session (peer found again, the peer asks for a resync, or the
//! peer's acknowledgements go backwards because it restarted) starts over with the whole
//! local table. A receiver that sees a new session of the peer keeps what it had from it as
//! *stale* until the session's initial dump ends (the batch flagged `DUMP_END`): addresses the
//! dump repeats stay installed without a flap, the others are removed then.
//!
//! **Bounded**: the peer's table holds at most `limit` addresses (`[dt] mac_sync_limit`); a peer
//! address beyond it is not installed (its frames are flooded, as without MAC sync) and
//! counted (`overflow`), and the local table holds at most `MAX_MAC_LIMIT` (a local address
//! beyond is not announced, `local_dropped`); the peer's table and the table reports itself `full`
//! until it drains below 90 % of the limit, when it asks the peer for a new session to fill up
//! again. Every operation is O(log n) (ordered sets); the send queue is bounded by starting a
//! new session instead when it outgrows the table by more than the limit.

use crate::pdu::{MacOp, MacSyncEntry, MacSyncInfo};
use lagd_types::MacAddr;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// A MAC table key: DT aggregation id ([`ORPHAN`] for a host on a port of no DT aggregation),
/// VLAN, address.
pub type MacKey = (u16, u16, MacAddr);

/// The aggregation id of addresses learned on orphan ports (single-homed hosts, on bridge
/// ports that belong to no DT aggregation): the peer points them at the peer link, so frames
/// to them cross once instead of being flooded. No DT aggregation may use id 0.
pub const ORPHAN: u16 = 0;

/// Default of the MAC table limit (`[dt] mac-sync-limit`).
pub const DEFAULT_MAC_LIMIT: usize = 32_768;

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
    /// Addresses learned locally on DT aggregations and orphan ports.
    pub local: BTreeSet<MacKey>,
    /// Addresses the peer reported in its current session.
    pub peer: BTreeSet<MacKey>,
    /// Addresses of the peer's previous session not (yet) repeated by the current one.
    pub stale: BTreeSet<MacKey>,
    /// Most addresses in `peer` and `stale` together.
    limit: usize,
    /// Most addresses in `local` ([`crate::MAX_MAC_LIMIT`], or the limit if higher): a switch
    /// announces more than its peer's limit, so that the peer sees and reports the overflow.
    local_limit: usize,
    /// Peer addresses not installed because the table was full.
    pub overflow: u64,
    /// Local addresses not announced because the table was full.
    pub local_dropped: u64,
    /// The peer table reached the limit (until it drains below 90 % of it).
    pub full: bool,
    active: bool,
    session: u32,
    next_seq: u32,
    pending: VecDeque<MacSyncEntry>,
    /// Entries of the session's initial dump still in `pending`.
    dump_left: Option<usize>,
    inflight: Option<(u32, Vec<MacSyncEntry>, u8)>,
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
    /// A MAC sync whose first session follows `incarnation`, holding at most `limit`
    /// addresses per table.
    pub fn new(incarnation: u32, limit: usize) -> Self {
        MacSync {
            session: incarnation,
            limit,
            local_limit: limit.max(crate::MAX_MAC_LIMIT),
            ..Default::default()
        }
    }

    /// The limit of each table.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A local address was learned (`add`) or aged out. Returns whether it changed anything.
    pub fn local_change(&mut self, k: MacKey, add: bool) -> bool {
        let changed = if add {
            if self.local.len() >= self.local_limit && !self.local.contains(&k) {
                self.local_dropped += 1;
                return false;
            }
            self.local.insert(k)
        } else {
            self.local.remove(&k)
        };
        if changed && self.active {
            if self.pending.len() > self.local.len() + self.limit {
                // The peer does not keep up: send the table instead of the history (amortised:
                // at most once every `limit` changes).
                self.start_session();
            } else {
                self.pending
                    .push_back(entry(if add { MacOp::Add } else { MacOp::Remove }, k));
            }
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
        self.dump_left = Some(self.pending.len());
    }

    /// The peer is gone: stop sending and forget what it reported. Returns the forgotten keys.
    pub fn peer_down(&mut self) -> Vec<MacKey> {
        self.active = false;
        self.pending.clear();
        self.dump_left = None;
        self.inflight = None;
        self.peer_session = None;
        self.peer_expected = 0;
        self.resync_request = false;
        self.full = false;
        let mut gone: Vec<MacKey> = std::mem::take(&mut self.peer).into_iter().collect();
        gone.extend(std::mem::take(&mut self.stale));
        gone
    }

    /// The peer's addresses of aggregation `aggr` (current and stale), in order.
    pub fn peer_keys_of(&self, aggr: u16) -> impl Iterator<Item = &MacKey> {
        let range = (aggr, 0, MacAddr::ZERO)..=(aggr, u16::MAX, MacAddr([0xff; 6]));
        self.peer
            .range(range.clone())
            .chain(self.stale.range(range))
    }

    /// Every local change has been acknowledged.
    pub fn synced(&self) -> bool {
        self.inflight.is_none() && self.pending.is_empty()
    }

    /// No batch awaits its acknowledgement: a change can go out now.
    pub fn idle(&self) -> bool {
        self.inflight.is_none()
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
        if self.inflight.is_none() && (!self.pending.is_empty() || self.dump_left.is_some()) {
            let n = self.pending.len().min(max.max(1));
            let batch: Vec<_> = self.pending.drain(..n).collect();
            // The batch that completes the initial dump says so (an empty table: at once).
            let mut flags = 0;
            if let Some(left) = self.dump_left {
                if left <= n {
                    self.dump_left = None;
                    flags |= MacSyncInfo::DUMP_END;
                } else {
                    self.dump_left = Some(left - n);
                }
            }
            self.inflight = Some((self.next_seq, batch, flags));
            self.next_seq = self.next_seq.wrapping_add(1).max(1);
        }
        let (seq, entries, flags) = match &self.inflight {
            Some((s, e, f)) => (*s, e.clone(), *f),
            None => (0, Vec::new(), 0),
        };
        Some(MacSyncInfo {
            flags: flags
                | if self.resync_request {
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
                if self
                    .inflight
                    .as_ref()
                    .is_some_and(|(s, _, _)| *s <= m.ack_seq)
                {
                    self.inflight = None;
                    ntt |= !self.pending.is_empty();
                }
            }
        }
        // Their side: a new session makes the old table stale, the expected batch is applied.
        if self.peer_session != Some(m.session) {
            let old = std::mem::take(&mut self.peer);
            self.stale.extend(old);
            self.peer_session = Some(m.session);
            self.peer_expected = 1;
            self.resync_request = false;
            ntt = true;
        }
        if m.seq != 0 {
            if m.seq == self.peer_expected {
                for e in &m.entries {
                    self.apply(e, &mut changes);
                }
                if m.flags & MacSyncInfo::DUMP_END != 0 {
                    for k in std::mem::take(&mut self.stale) {
                        changes.push((k, false));
                    }
                }
                self.peer_expected = self.peer_expected.wrapping_add(1).max(1);
                self.resync_request = false;
                if self.full && self.peer.len() + self.stale.len() < self.limit / 10 * 9 {
                    // Room again: a new session fills the table with what was refused.
                    self.full = false;
                    self.resync_request = true;
                }
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

    /// Applies one entry of the peer's current session.
    fn apply(&mut self, e: &MacSyncEntry, changes: &mut Vec<(MacKey, bool)>) {
        let k = (e.aggr, e.vlan, e.mac);
        match e.op {
            MacOp::Add => {
                if self.peer.contains(&k) {
                    return;
                }
                if self.stale.remove(&k) {
                    // Repeated by the new session: stays installed.
                    self.peer.insert(k);
                    return;
                }
                if self.peer.len() + self.stale.len() >= self.limit
                    && let Some(old) = self.stale.pop_first()
                {
                    // The current session's addresses take precedence over stale ones.
                    changes.push((old, false));
                }
                if self.peer.len() + self.stale.len() >= self.limit {
                    self.overflow += 1;
                    self.full = true;
                    return;
                }
                self.peer.insert(k);
                changes.push((k, true));
            }
            MacOp::Remove => {
                if self.peer.remove(&k) || self.stale.remove(&k) {
                    changes.push((k, false));
                }
            }
        }
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
        let mut a = MacSync::new(100, 100);
        let mut b = MacSync::new(200, 100);
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
        let mut a = MacSync::new(1, 100);
        let mut b = MacSync::new(50, 100);
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
        let mut b2 = MacSync::new(51, 100);
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
    fn new_peer_session_keeps_repeated_addresses_and_drops_the_rest_at_dump_end() {
        let mut a = MacSync::new(1, 100);
        let mut b = MacSync::new(9, 100);
        a.start_session();
        b.start_session();
        a.local_change(k(7), true);
        a.local_change(k(8), true);
        let _ = send(&mut a, &mut b, 4); // the empty initial dump
        let _ = send(&mut b, &mut a, 4);
        let _ = send(&mut a, &mut b, 4);
        assert_eq!(b.peer.len(), 2);
        let _ = send(&mut b, &mut a, 4);
        // a restarts its session having lost k(8): k(7) does not flap, k(8) goes at dump end.
        a.local_change(k(8), false);
        a.start_session();
        let changes = send(&mut a, &mut b, 4);
        assert_eq!(changes, vec![(k(8), false)]);
        assert_eq!(b.peer_down(), vec![k(7)]);
        assert!(b.tlv(4).is_none());
        assert!(!b.active());
    }

    #[test]
    fn tables_are_bounded_and_refill_after_draining() {
        let mut a = MacSync::new(1, 1000);
        let mut b = MacSync::new(9, 10);
        a.start_session();
        b.start_session();
        for n in 0..20 {
            a.local_change(k(n), true);
        }
        let pump = |a: &mut MacSync, b: &mut MacSync| {
            let mut applied = 0;
            for _ in 0..40 {
                applied += send(a, b, 4).len();
                let _ = send(b, a, 4);
            }
            applied
        };
        assert_eq!(pump(&mut a, &mut b), 10);
        assert_eq!(b.peer.len(), 10, "capped");
        assert_eq!(b.overflow, 10);
        assert!(b.full);
        // The peer withdraws some: below 90 % b asks for a new session and fills up again.
        for n in 0..5 {
            a.local_change(k(n), false);
        }
        let _ = pump(&mut a, &mut b);
        assert_eq!(b.peer.len(), 10, "refilled from the new session");
        assert!(b.peer.iter().all(|x| x.2.0[5] >= 5));
        // The local table is bounded too.
        let mut c = MacSync::new(1, 3);
        c.local_limit = 3;
        for n in 0..5 {
            c.local_change(k(n), true);
        }
        assert_eq!((c.local.len(), c.local_dropped), (3, 2));
    }

    /// Syncs `a`'s table to `b` (batches of `max`, acknowledged) until `a` is synced.
    fn sync(a: &mut MacSync, b: &mut MacSync, max: usize) {
        for _ in 0..200 {
            let _ = send(a, b, max);
            let _ = send(b, a, max);
            if a.synced() && a.inflight.is_none() {
                return;
            }
        }
        panic!("not synced");
    }

    /// A resync (the peer's new session) keeps the old session's addresses installed while the
    /// new dump runs, however many new addresses it brings below the limit: only the dump's end
    /// removes the ones it did not repeat (an address dropped early would flap: flooded until
    /// the dump repeats it).
    #[test]
    fn a_resync_below_the_limit_removes_old_addresses_only_at_dump_end() {
        let mut a = MacSync::new(1, 100);
        let mut b = MacSync::new(9, 10);
        a.start_session();
        b.start_session();
        for n in 1..=3 {
            a.local_change(k(n), true);
        }
        sync(&mut a, &mut b, 4);
        assert_eq!(b.peer.len(), 3);
        // a's table changes while b's acknowledgements are lost, then a starts over: k(2)
        // repeated, k(1) and k(3) gone, k(20) and k(21) new.
        a.local_change(k(1), false);
        a.local_change(k(3), false);
        a.local_change(k(20), true);
        a.local_change(k(21), true);
        a.start_session();
        let mut changes = Vec::new();
        let mut stale_seen = Vec::new();
        for _ in 0..20 {
            changes.extend(send(&mut a, &mut b, 1));
            stale_seen.push(b.stale.len());
            let _ = send(&mut b, &mut a, 1);
            if a.synced() && a.inflight.is_none() {
                break;
            }
        }
        let adds: Vec<_> = changes.iter().filter(|c| c.1).map(|c| c.0).collect();
        let removes: Vec<_> = changes.iter().filter(|c| !c.1).map(|c| c.0).collect();
        assert_eq!(adds, vec![k(20), k(21)]);
        assert_eq!(removes, vec![k(1), k(3)]);
        // The removals came last, together, at the dump's end (after both additions).
        let first_removal = changes.iter().position(|c| !c.1).unwrap();
        assert!(changes[..first_removal].iter().all(|c| c.1), "{changes:?}");
        assert_eq!(first_removal, 2, "{changes:?}");
        assert!(
            stale_seen.contains(&2),
            "stale entries held during the dump: {stale_seen:?}"
        );
        assert_eq!(b.peer, [k(2), k(20), k(21)].into_iter().collect());
        assert!(b.stale.is_empty());
        assert_eq!(b.overflow, 0);
    }

    /// A full table says so until it drains *below* 90 % of the limit (9 of 10): at 9 it is
    /// still full, at 8 it asks the peer for a new session.
    #[test]
    fn a_full_table_asks_for_more_only_below_ninety_percent() {
        let mut a = MacSync::new(1, 1000);
        let mut b = MacSync::new(9, 10);
        a.start_session();
        b.start_session();
        for n in 0..12 {
            a.local_change(k(n), true);
        }
        sync(&mut a, &mut b, 4);
        assert_eq!((b.peer.len(), b.overflow, b.full), (10, 2, true));
        let installed: Vec<MacKey> = b.peer.iter().copied().collect();
        a.local_change(installed[0], false);
        let _ = send(&mut a, &mut b, 4);
        assert_eq!(b.peer.len(), 9);
        assert!(b.full, "9 of 10 is not below 90 %");
        assert!(!b.resync_request);
        let _ = send(&mut b, &mut a, 4);
        a.local_change(installed[1], false);
        let _ = send(&mut a, &mut b, 4);
        assert_eq!(b.peer.len(), 8);
        assert!(!b.full, "8 of 10 is below 90 %");
        assert!(b.resync_request, "a new session asked for");
        let t = b.tlv(4).expect("a PDU");
        assert_eq!(t.flags & MacSyncInfo::RESYNC, MacSyncInfo::RESYNC);
    }

    /// A full table whose peer starts a new session: the stale addresses count against the
    /// limit with the current ones while the dump runs; repeated addresses move back without
    /// an overflow or a flap, a new one takes a stale one's place, and the table stays full
    /// (it has not drained) until the dump's end removes what was not repeated.
    #[test]
    fn a_full_table_resyncs_within_its_limit() {
        let mut a = MacSync::new(1, 1000);
        let mut b = MacSync::new(9, 10);
        a.start_session();
        b.start_session();
        for n in 0..10 {
            a.local_change(k(n), true);
        }
        sync(&mut a, &mut b, 4);
        assert_eq!((b.peer.len(), b.overflow), (10, 0));
        // Fill it: one more is refused.
        a.local_change(k(50), true);
        sync(&mut a, &mut b, 4);
        assert_eq!((b.peer.len(), b.overflow, b.full), (10, 1, true));
        // a starts over with k(0) gone and k(60) new: 11 addresses, k(1)..k(9), k(50), k(60).
        a.local_change(k(0), false);
        a.local_change(k(60), true);
        a.start_session();
        let mut changes = Vec::new();
        let mut first = true;
        for _ in 0..40 {
            changes.extend(send(&mut a, &mut b, 1));
            if first {
                // Old addresses now stale, current ones few: still full, nothing asked for.
                assert!(b.stale.len() > b.peer.len());
                assert!(b.full);
                assert!(!b.resync_request);
                first = false;
            }
            assert!(b.peer.len() + b.stale.len() <= 10, "bounded");
            let _ = send(&mut b, &mut a, 1);
            if a.synced() && a.inflight.is_none() {
                break;
            }
        }
        assert!(b.stale.is_empty());
        assert_eq!(b.peer.len(), 10, "{changes:?}");
        // Repeated addresses never flapped: k(1)..k(9) were neither removed nor added.
        for n in 1..10 {
            assert!(
                !changes.iter().any(|c| c.0 == k(n)),
                "k({n}) flapped: {changes:?}"
            );
        }
        assert!(changes.contains(&(k(0), false)));
        assert!(b.full || b.resync_request);
    }
}
