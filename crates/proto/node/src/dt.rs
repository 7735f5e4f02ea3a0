//! Distributed Trunking reconciliation: the one step that brings a switch's distributed
//! aggregations in line with its DT core ([`lagd_dt::Dt`]). The daemon (`lagd`'s DT runtime)
//! and the simulator (its DT engine) call [`Reconciler::reconcile`] every reconcile period
//! with what they know (the peer link's carrier, each distributed aggregation's
//! configuration, numbering, LACP System and live members) and execute the
//! [`DtAction`]s it returns: the daemon on the kernel and its aggregations, the simulator on
//! its model.
//!
//! The step tells the core (carrier, registration, live members) and reads its decisions
//! back; it keeps only what it registered. What the executor owns stays the executor's:
//! interfaces and their state, bridge ports, filters (the daemon's), held links (the
//! simulator's).

use std::collections::BTreeMap;

use lagd_dt::{Dt, DtAggrConfig, DtConfigError, LocalMembers};
use lagd_types::{Instant, Key, PortNumber, SystemId};

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
}

/// The reconciliation's memory: what it registered with the core, the refusals it reported,
/// the peer link carrier it told.
#[derive(Clone, Debug)]
pub struct Reconciler<K> {
    registered: BTreeMap<K, DtAggrConfig>,
    refused: BTreeMap<K, (DtAggrConfig, DtConfigError)>,
    peer_carrier: bool,
}

impl<K> Default for Reconciler<K> {
    fn default() -> Self {
        Reconciler {
            registered: BTreeMap::new(),
            refused: BTreeMap::new(),
            // A core starts with the peer link up.
            peer_carrier: true,
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
}

#[cfg(test)]
mod tests;
