//! Where the peer's addresses point in the local forwarding database, kept incrementally: a
//! peer address change costs O(log n); a change of an aggregation's *mode* (its local half
//! starts or stops forwarding, the pair comes up or goes) re-points that aggregation's
//! addresses only.

use crate::mac_sync::{MacKey, MacSync};
use crate::{MacTarget, MacUpdate};
use std::collections::{BTreeMap, VecDeque};

/// The installed entries and the mode of each aggregation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Installed {
    /// Every installed peer address and where it points.
    pub entries: BTreeMap<MacKey, MacTarget>,
    /// Where each aggregation's peer addresses point (`None`: not installed). Aggregations
    /// absent here are not installed.
    modes: BTreeMap<u16, MacTarget>,
    /// Entries pointing at the peer link.
    via_peer_link: usize,
}

fn update(k: &MacKey, install: bool, target: MacTarget) -> MacUpdate {
    MacUpdate {
        aggr: k.0,
        vlan: k.1,
        mac: k.2,
        install,
        target,
    }
}

impl Installed {
    /// Brings `k` in line with its aggregation's mode (`present`: the peer reports it).
    pub fn apply(&mut self, k: MacKey, present: bool, out: &mut VecDeque<MacUpdate>) {
        let want = if present {
            self.modes.get(&k.0).copied()
        } else {
            None
        };
        let have = self.entries.get(&k).copied();
        if want == have {
            return;
        }
        if have == Some(MacTarget::PeerLink) {
            self.via_peer_link -= 1;
        }
        match want {
            Some(t) => {
                if t == MacTarget::PeerLink {
                    self.via_peer_link += 1;
                }
                self.entries.insert(k, t);
                out.push_back(update(&k, true, t));
            }
            None => {
                if let Some(t) = self.entries.remove(&k) {
                    out.push_back(update(&k, false, t));
                }
            }
        }
    }

    /// Sets aggregation `aggr`'s mode; re-points its addresses if it changed.
    pub fn set_mode(
        &mut self,
        aggr: u16,
        mode: Option<MacTarget>,
        mac: &MacSync,
        out: &mut VecDeque<MacUpdate>,
    ) {
        if self.modes.get(&aggr).copied() == mode {
            return;
        }
        match mode {
            Some(m) => self.modes.insert(aggr, m),
            None => self.modes.remove(&aggr),
        };
        let keys: Vec<MacKey> = mac.peer_keys_of(aggr).copied().collect();
        for k in keys {
            self.apply(k, true, out);
        }
    }

    /// Aggregations with a mode that are not in `keep` lose it.
    pub fn retain_modes(
        &mut self,
        keep: impl Fn(u16) -> bool,
        mac: &MacSync,
        out: &mut VecDeque<MacUpdate>,
    ) {
        let gone: Vec<u16> = self.modes.keys().copied().filter(|a| !keep(*a)).collect();
        for a in gone {
            self.set_mode(a, None, mac, out);
        }
    }

    /// Removes every entry (the peer is gone).
    pub fn clear(&mut self, out: &mut VecDeque<MacUpdate>) {
        self.via_peer_link = 0;
        for (k, t) in std::mem::take(&mut self.entries) {
            out.push_back(update(&k, false, t));
        }
    }

    /// Entries pointing at the peer link.
    pub fn via_peer_link(&self) -> usize {
        self.via_peer_link
    }
}
