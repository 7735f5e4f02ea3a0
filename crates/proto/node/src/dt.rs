//! Distributed Trunking reconciliation: the one step that brings a switch's distributed
//! aggregations in line with its DT core ([`lagd_dt::Dt`]). The daemon (`lagd`'s DT runtime)
//! and the simulator (its DT engine) call [`Reconciler::reconcile`] every reconcile period
//! with what they know (the peer link's carrier, each distributed aggregation's
//! configuration, numbering, LACP System and live members) and execute the
//! [`DtAction`]s it returns: the daemon on the kernel and its aggregations, the simulator on
//! its model.
//!
//! The step tells the core (carrier, registration, live members) and reads its decisions
//! back; it keeps what it registered and the forwarding entries the core wants for the
//! peer's addresses (MAC sync), named by the executor's aggregations: between turns,
//! [`Reconciler::poll_fdb`] turns the core's MAC updates into [`DtAction::Fdb`], and
//! [`flood_peer_link`] decides the flood-control fallback; [`LearnedMacs`] decides which DT
//! aggregation an address the executor's bridge learned belongs to, as the core hears of it.
//! What the executor owns stays the
//! executor's: interfaces and their state, bridge ports, filters (the daemon's), held links
//! (the simulator's).

use std::collections::BTreeMap;

use lagd_agg::Aggregation;
use lagd_dt::{Dt, DtAggrConfig, DtConfigError, DtStatus, LocalMembers, MacKey, MacTarget, ORPHAN};
use lagd_types::{Instant, Key, MacAddr, PortNumber, SystemId};

/// What the executor knows of one distributed aggregation at a turn.
#[derive(Clone, Debug, PartialEq)]
pub struct AggrFacts<K> {
    /// The executor's name for the aggregation (the daemon's aggregate name, the simulator's
    /// index); the actions name it back.
    pub aggr: K,
    /// Its configuration as the core compares it (from its settings in force and its member
    /// speed: [`crate::Resolved::dt_aggr_config`]).
    pub config: DtAggrConfig,
    /// The port number base its ports are numbered from now.
    pub port_base: u16,
    /// The LACP System its ports use now.
    pub lacp_system: SystemId,
    /// LACP port numbers (as the aggregation numbers them, base included) of its Collecting
    /// and Distributing members.
    pub live: Vec<PortNumber>,
    /// The partner System the first of them sees (NULL if none), and its key.
    pub partner: SystemId,
    /// The partner's key.
    pub partner_key: Key,
}

impl<K> AggrFacts<K> {
    /// What the reconciliation needs to know of distributed aggregation `agg` (the executor
    /// names it `aggr`; its ports are numbered from `port_base`): its LACP System, its
    /// Collecting and Distributing members, the partner the first of them sees, and its
    /// configuration as the core compares it, `config` at the speed of its fastest member
    /// with link up (0 if none). The daemon and the simulator both build their facts here.
    pub fn of<F>(
        aggr: K,
        agg: &Aggregation<F>,
        port_base: u16,
        config: impl FnOnce(u32) -> DtAggrConfig,
    ) -> AggrFacts<K> {
        let lacp = agg.lacp();
        let speed = lacp
            .ports()
            .iter()
            .filter(|p| p.link.up)
            .map(|p| p.link.speed_mbps)
            .max()
            .unwrap_or(0);
        let live = lacp.distributing_ports();
        let first = live.first().and_then(|&n| lacp.port(n));
        AggrFacts {
            aggr,
            config: config(speed),
            port_base,
            lacp_system: agg.config().lacp.system,
            partner: first.as_ref().map_or(SystemId::NULL, |p| p.partner.system),
            partner_key: first.map_or(0, |p| p.partner.key),
            live,
        }
    }
}

/// Where a static forwarding entry for one of the peer's addresses points, in the executor's
/// names ([`MacTarget`] with the aggregation named).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FdbTarget<K> {
    /// The executor's aggregation (its local half has live members): the host is reached
    /// over this switch's own links.
    Aggregation(K),
    /// The peer link (the local half has no live member): the peer delivers.
    PeerLink,
}

/// A slice of the wanted entries ([`Reconciler::fdb_wanted_slice`]): (VLAN, address, target,
/// since) each, and the key to go on after (`None` at the end).
pub type WantedSlice<'a, K> = (
    Vec<(u16, MacAddr, FdbTarget<&'a K>, Instant)>,
    Option<MacKey>,
);

/// A static forwarding entry the core wants for one of the peer's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbEntry<K> {
    /// VLAN id (0 = untagged).
    pub vlan: u16,
    /// The address.
    pub mac: MacAddr,
    /// Where it points.
    pub target: FdbTarget<K>,
    /// Since when the core wants it (the instant [`Reconciler::poll_fdb`] was given).
    pub since: Instant,
}

/// What the executor must do, in the order returned (per aggregation, in the order of the
/// facts).
#[derive(Clone, Debug, PartialEq)]
pub enum DtAction<K> {
    /// The core refused the aggregation's configuration (reported once per configuration).
    /// A decision in force for it is still applied.
    Refused {
        /// The aggregation.
        aggr: K,
        /// Why.
        error: DtConfigError,
    },
    /// Restart the aggregation with its ports numbered from `base`, under `system` (the
    /// partner sees new ports: happens once, when the secondary first finds the primary).
    Renumber {
        /// The aggregation.
        aggr: K,
        /// The decision's port number base.
        base: u16,
        /// The decision's LACP System.
        system: SystemId,
    },
    /// Change the aggregation's LACP System live, keeping every other setting.
    SetSystem {
        /// The aggregation.
        aggr: K,
        /// The decision's LACP System.
        system: SystemId,
    },
    /// Whether the aggregation's member ports may be up (`false`: hold them down, so the
    /// server stops using them at once). Given at every turn.
    Ports {
        /// The aggregation.
        aggr: K,
        /// The decision's `ports_enabled`.
        enabled: bool,
    },
    /// Whether frames from the peer link must be kept out of the aggregation (both switches
    /// have live members of it). Given at every turn; [`Reconciler::isolation`] gives it
    /// between turns.
    IsolatePeerLink {
        /// The aggregation.
        aggr: K,
        /// The decision's `isolate_peer_link`.
        on: bool,
    },
    /// The aggregation is no longer distributed (absent from the facts): the core forgot it.
    Removed {
        /// The aggregation.
        aggr: K,
    },
    /// Install (or move) a static forwarding entry for one of the peer's addresses pointing
    /// at `target`, or remove the one pointing there (MAC sync). From
    /// [`Reconciler::poll_fdb`]; an entry of an aggregation the executor does not know (yet)
    /// is not given, [`Reconciler::fdb_wanted`] has it.
    Fdb {
        /// `true`: install; `false`: remove.
        install: bool,
        /// VLAN id (0 = untagged).
        vlan: u16,
        /// The address.
        mac: MacAddr,
        /// Where the entry points (for a removal: where it pointed).
        target: FdbTarget<K>,
    },
}

/// The reconciliation's memory: what it registered with the core, the refusals it reported,
/// the peer link carrier it told, the forwarding entries the core wants.
#[derive(Clone, Debug)]
pub struct Reconciler<K> {
    registered: BTreeMap<K, DtAggrConfig>,
    refused: BTreeMap<K, (DtAggrConfig, DtConfigError)>,
    peer_carrier: bool,
    /// The DT id each aggregation was last registered with, until it is gone: kept while a
    /// new id is refused, so that the core's removals of the old id's entries still name it.
    fdb_ids: BTreeMap<K, u16>,
    /// The peer's addresses as the core wants them installed: where, and since when.
    fdb: BTreeMap<MacKey, (MacTarget, Instant)>,
}

impl<K> Default for Reconciler<K> {
    fn default() -> Self {
        Reconciler {
            registered: BTreeMap::new(),
            refused: BTreeMap::new(),
            // A core starts with the peer link up.
            peer_carrier: true,
            fdb_ids: BTreeMap::new(),
            fdb: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Reconciler<K> {
    /// A reconciler for a fresh core (nothing registered).
    pub fn new() -> Self {
        Self::default()
    }

    /// The DT aggregation id `aggr` is registered with, if it is.
    pub fn id(&self, aggr: &K) -> Option<u16> {
        self.registered.get(aggr).map(|c| c.id)
    }

    /// Registers `aggr` with `config` (or changes its configuration); `Ok(false)`: nothing
    /// changed.
    pub fn register(
        &mut self,
        dt: &mut Dt,
        now: Instant,
        aggr: &K,
        config: &DtAggrConfig,
    ) -> Result<bool, DtConfigError> {
        if self.registered.get(aggr) == Some(config) {
            return Ok(false);
        }
        match self.registered.get(aggr) {
            Some(old) if old.id == config.id => dt.set_aggregation(now, config.clone())?,
            old => {
                // A new DT id: the old one is forgotten first.
                if let Some(old) = old {
                    let _ = dt.remove_aggregation(now, old.id);
                    self.registered.remove(aggr);
                }
                dt.add_aggregation(now, config.clone())?;
            }
        }
        self.registered.insert(aggr.clone(), config.clone());
        self.fdb_ids.insert(aggr.clone(), config.id);
        Ok(true)
    }

    /// One turn: tells the core the peer link's carrier, registers each aggregation of
    /// `facts` (and forgets the registered ones `facts` lacks), reports its live members
    /// (numbered from the aggregation's own base), and returns what the decisions ask.
    pub fn reconcile(
        &mut self,
        dt: &mut Dt,
        now: Instant,
        peer_carrier: bool,
        facts: &[AggrFacts<K>],
    ) -> Vec<DtAction<K>> {
        if peer_carrier != self.peer_carrier {
            self.peer_carrier = peer_carrier;
            dt.handle_peer_link_status(now, peer_carrier);
        }
        let mut out = Vec::new();
        // First what is gone, so that an id it frees can be taken in the same turn.
        let gone: Vec<K> = self
            .registered
            .keys()
            .filter(|k| !facts.iter().any(|f| f.aggr == **k))
            .cloned()
            .collect();
        for aggr in gone {
            if let Some(c) = self.registered.remove(&aggr) {
                let _ = dt.remove_aggregation(now, c.id);
            }
            self.refused.remove(&aggr);
            self.fdb_ids.remove(&aggr);
            out.push(DtAction::Removed { aggr });
        }
        for f in facts {
            match self.register(dt, now, &f.aggr, &f.config) {
                Ok(_) => {
                    self.refused.remove(&f.aggr);
                }
                // Offered again at every turn (a duplicate id may be gone by then), reported
                // once per configuration and reason.
                Err(error) => {
                    let r = (f.config.clone(), error);
                    if self.refused.get(&f.aggr) != Some(&r) {
                        out.push(DtAction::Refused {
                            aggr: f.aggr.clone(),
                            error: r.1.clone(),
                        });
                        self.refused.insert(f.aggr.clone(), r);
                    }
                }
            }
            let Some(id) = self.id(&f.aggr) else {
                continue;
            };
            dt.handle_members(
                now,
                id,
                LocalMembers {
                    live: f.live.iter().map(|p| p.wrapping_sub(f.port_base)).collect(),
                    partner: f.partner,
                    partner_key: f.partner_key,
                },
            );
            let Some(d) = dt.decision(id) else {
                continue;
            };
            let aggr = f.aggr.clone();
            if f.port_base != d.port_number_base {
                out.push(DtAction::Renumber {
                    aggr: aggr.clone(),
                    base: d.port_number_base,
                    system: d.lacp_system,
                });
            } else if f.lacp_system != d.lacp_system {
                out.push(DtAction::SetSystem {
                    aggr: aggr.clone(),
                    system: d.lacp_system,
                });
            }
            out.push(DtAction::Ports {
                aggr: aggr.clone(),
                enabled: d.ports_enabled,
            });
            out.push(DtAction::IsolatePeerLink {
                aggr,
                on: d.isolate_peer_link,
            });
        }
        self.refused
            .retain(|k, _| facts.iter().any(|f| f.aggr == *k));
        out
    }

    /// Whether each registered aggregation must keep frames from the peer link out (its
    /// decision's `isolate_peer_link`): for an executor that applies it after every input the
    /// core handled, not only at each turn.
    pub fn isolation(&self, dt: &Dt) -> Vec<(K, bool)> {
        self.registered
            .iter()
            .map(|(k, c)| {
                let on = dt.decision(c.id).is_some_and(|d| d.isolate_peer_link);
                (k.clone(), on)
            })
            .collect()
    }

    /// The core's changes to the forwarding entries for the peer's addresses (MAC sync), as
    /// [`DtAction::Fdb`] on the executor's aggregations or the peer link: for an executor
    /// that applies them after every input the core handled. `now` is when they are wanted
    /// from ([`FdbEntry::since`]).
    pub fn poll_fdb(&mut self, dt: &mut Dt, now: Instant) -> Vec<DtAction<K>> {
        let mut out = Vec::new();
        while let Some(m) = dt.poll_mac_update() {
            let key = (m.aggr, m.vlan, m.mac);
            if m.install {
                self.fdb.insert(key, (m.target, now));
            } else if self.fdb.get(&key).map(|w| w.0) == Some(m.target) {
                self.fdb.remove(&key);
            }
            if let Some(target) = self.fdb_target(m.aggr, m.target) {
                out.push(DtAction::Fdb {
                    install: m.install,
                    vlan: m.vlan,
                    mac: m.mac,
                    target,
                });
            }
        }
        out
    }

    /// Every entry the core wants installed now, on the executor's aggregations or the peer
    /// link (those of an aggregation not known are left out), with since when: to check the
    /// executor's forwarding database against.
    pub fn fdb_wanted(&self) -> Vec<FdbEntry<K>> {
        self.fdb
            .iter()
            .filter_map(|(k, (t, since))| self.entry(k, *t, *since))
            .collect()
    }

    /// Up to `n` of the entries [`Reconciler::fdb_wanted`] gives, in key order, those after
    /// `after` (`None`: from the first), as (VLAN, address, target, since), the target naming the
    /// executor's aggregation by reference; and the key to go on after, `None` once the end is
    /// reached. For an executor that checks a large table a slice at a time.
    pub fn fdb_wanted_slice(&self, after: Option<MacKey>, n: usize) -> WantedSlice<'_, K> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut out = Vec::new();
        let mut last = None;
        for (k, (t, since)) in self.fdb.range((from, Bound::Unbounded)).take(n) {
            last = Some(*k);
            let target = match t {
                MacTarget::PeerLink => Some(FdbTarget::PeerLink),
                MacTarget::LocalAggregation => self
                    .fdb_ids
                    .iter()
                    .find(|(_, i)| **i == k.0)
                    .map(|(a, _)| FdbTarget::Aggregation(a)),
            };
            if let Some(target) = target {
                out.push((k.1, k.2, target, *since));
            }
        }
        let more = last.filter(|k| {
            self.fdb
                .range((Bound::Excluded(*k), Bound::Unbounded))
                .next()
                .is_some()
        });
        (out, more)
    }

    /// The wanted entries pointing at aggregation `aggr` (its DT id as registered).
    pub fn fdb_wanted_on(&self, aggr: &K) -> Vec<(u16, MacAddr)> {
        let Some(id) = self.fdb_ids.get(aggr) else {
            return Vec::new();
        };
        self.fdb
            .iter()
            .filter(|(k, (t, _))| k.0 == *id && *t == MacTarget::LocalAggregation)
            .map(|(k, _)| (k.1, k.2))
            .collect()
    }

    /// Forgets every wanted entry and returns them (those of an aggregation not known are
    /// left out): what an executor that stops removes.
    pub fn take_fdb(&mut self) -> Vec<FdbEntry<K>> {
        let fdb = std::mem::take(&mut self.fdb);
        fdb.iter()
            .filter_map(|(k, (t, since))| self.entry(k, *t, *since))
            .collect()
    }

    fn entry(&self, k: &MacKey, t: MacTarget, since: Instant) -> Option<FdbEntry<K>> {
        Some(FdbEntry {
            vlan: k.1,
            mac: k.2,
            target: self.fdb_target(k.0, t)?,
            since,
        })
    }

    /// Where an entry of DT aggregation `id` pointing at `t` goes: the aggregation last
    /// registered with `id` (`None` if none is), or the peer link.
    fn fdb_target(&self, id: u16, t: MacTarget) -> Option<FdbTarget<K>> {
        match t {
            MacTarget::PeerLink => Some(FdbTarget::PeerLink),
            MacTarget::LocalAggregation => self
                .fdb_ids
                .iter()
                .find(|(_, i)| **i == id)
                .map(|(k, _)| FdbTarget::Aggregation(k.clone())),
        }
    }
}

/// The addresses the executor's bridge learned, as the core was told of them (MAC sync): each
/// learned entry, by where the bridge has it (`at`: the executor's bridge port, its VLAN, the
/// address), and the key ([`MacKey`]: DT aggregation id, VLAN, address) it was reported under.
#[derive(Clone, Debug)]
pub struct LearnedMacs<L> {
    reported: BTreeMap<(L, u16, MacAddr), MacKey>,
}

impl<L> Default for LearnedMacs<L> {
    fn default() -> Self {
        LearnedMacs {
            reported: BTreeMap::new(),
        }
    }
}

impl<L: Ord> LearnedMacs<L> {
    /// Nothing reported.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bridge learned `mac` in `vlan` on its port `at` (`present`), or the entry went.
    /// `id` is the DT aggregation id of the aggregation `at` belongs to, `None` for another
    /// port of the bridge (an orphan port's host, [`ORPHAN`]; the peer link learns nothing).
    /// Returns what the core must hear, in order ([`Dt::handle_local_mac`]: key, present):
    /// an entry that moved to another aggregation is first removed under its old key; an
    /// entry that went is removed under the key it was reported with, even if the port's
    /// aggregation changed since.
    pub fn learned(
        &mut self,
        at: L,
        vlan: u16,
        mac: MacAddr,
        id: Option<u16>,
        present: bool,
    ) -> Vec<(MacKey, bool)> {
        let at = (at, vlan, mac);
        if present {
            let k = (id.unwrap_or(ORPHAN), vlan, mac);
            let mut out = Vec::new();
            if let Some(old) = self.reported.insert(at, k)
                && old != k
            {
                out.push((old, false));
            }
            out.push((k, true));
            out
        } else {
            self.reported
                .remove(&at)
                .map(|k| vec![(k, false)])
                .unwrap_or_default()
        }
    }

    /// [`LearnedMacs::learned`], told to `dt` at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn tell(
        &mut self,
        dt: &mut Dt,
        now: Instant,
        at: L,
        vlan: u16,
        mac: MacAddr,
        id: Option<u16>,
        present: bool,
    ) {
        for ((id, vlan, mac), present) in self.learned(at, vlan, mac, id, present) {
            dt.handle_local_mac(now, id, vlan, mac, present);
        }
    }
}

/// Whether the executor must flood broadcast, multicast and unknown unicast onto the peer
/// link. With `isolating` (the executor keeps frames from the peer link out of each
/// aggregation whose decision says so, as the daemon's egress filter does) always: each DT
/// aggregation gets a flooded frame once, from the switch it reached first. Without it
/// (flood control, the fallback) only while some DT aggregation has no live local member and
/// the peer has live members of it: the peer must then deliver for it.
pub fn flood_peer_link(dt: &Dt, isolating: bool) -> bool {
    isolating || peer_needed(&dt.status())
}

/// Some DT aggregation has no live local member while the peer has live members of it.
fn peer_needed(status: &DtStatus) -> bool {
    status
        .aggregations
        .iter()
        .any(|a| a.local.live.is_empty() && !a.peer_live.is_empty())
}

#[cfg(test)]
mod tests;
