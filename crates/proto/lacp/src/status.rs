//! Observation: the state of ports, Aggregators and the System, serializable (for
//! `lagctl state dump` and `show-aggr -L`), with a human reason when a port does not distribute.

use crate::port::Port;
use crate::{
    AggregatorId, ChurnState, Lacp, LacpActivity, LinkStatus, MuxState, PeriodicState,
    PortCounters, ReceiveState, Selected, SystemConfig,
};
use lagd_types::{Instant, Key, MacAddr, PortNumber, SystemId};
use lagd_wire::LacpInfo;
use serde::Serialize;

/// The state of one port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PortStatus {
    /// Actor_Port_Number.
    pub number: PortNumber,
    /// The port's MAC.
    pub mac: MacAddr,
    /// Link status as last reported.
    pub link: LinkStatus,
    /// Actor operational information.
    pub actor: LacpInfo,
    /// Partner operational information.
    pub partner: LacpInfo,
    /// Receive machine state.
    pub receive: ReceiveState,
    /// Periodic Transmission machine state.
    pub periodic: PeriodicState,
    /// Mux machine state.
    pub mux: MuxState,
    /// Selected.
    pub selected: Selected,
    /// The Aggregator selected.
    pub aggregator: Option<AggregatorId>,
    /// Actor Churn Detection state.
    pub actor_churn: ChurnState,
    /// Partner Churn Detection state.
    pub partner_churn: ChurnState,
    /// The port forwards because of fallback.
    pub fallback: bool,
    /// This System's port whose own LACPDUs arrive here (a loop: the port is looped back to
    /// itself or to a hub that echoes, or cabled to that port); `None` without a loop.
    pub loopback: Option<PortNumber>,
    /// Protocol counters.
    pub counters: PortCounters,
    /// When the last valid LACPDU arrived.
    pub last_rx: Option<Instant>,
    /// The data plane collects on this port.
    pub collecting: bool,
    /// The data plane distributes on this port.
    pub distributing: bool,
    /// Why the port is not distributing, in words; `None` when it is.
    pub why_not_distributing: Option<String>,
}

/// The state of one Aggregator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AggregatorStatus {
    /// Its identifier.
    pub id: AggregatorId,
    /// Actor_Oper_Aggregator_Key.
    pub actor_key: Key,
    /// Partner_System (priority and address).
    pub partner_system: SystemId,
    /// Partner_Oper_Aggregator_Key.
    pub partner_key: Key,
    /// An Individual link's Aggregator.
    pub individual: bool,
    /// Ports that selected it (Selected or Standby), in port order.
    pub ports: Vec<PortNumber>,
    /// The Aggregator the data plane uses.
    pub active: bool,
    /// At least min_links of its ports are Collecting and Distributing.
    pub up: bool,
}

/// Everything.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemStatus {
    /// The configuration in force.
    pub config: SystemConfig,
    /// All ports, by number.
    pub ports: Vec<PortStatus>,
    /// All Aggregators, by id.
    pub aggregators: Vec<AggregatorStatus>,
    /// The aggregate is up.
    pub up: bool,
    /// Fallback is in force.
    pub fallback_active: bool,
    /// Why fallback is in force.
    pub fallback_reason: Option<String>,
}

impl Lacp {
    pub(crate) fn port_status(&self, p: &Port) -> PortStatus {
        PortStatus {
            number: p.number(),
            mac: p.cfg.mac,
            link: p.link,
            actor: p.actor,
            partner: p.partner,
            receive: p.receive,
            periodic: p.periodic,
            mux: p.mux,
            selected: p.selected,
            aggregator: p.aggregator,
            actor_churn: p.actor_churn,
            partner_churn: p.partner_churn,
            fallback: p.fallback.is_some(),
            loopback: p.loopback,
            counters: p.counters,
            last_rx: p.last_rx,
            collecting: p.reported_cd.0,
            distributing: p.reported_cd.1,
            why_not_distributing: self.why_not_distributing(p),
        }
    }

    fn why_not_distributing(&self, p: &Port) -> Option<String> {
        if p.reported_cd.1 {
            return None;
        }
        let cfg = &self.config;
        let s = |x: &str| Some(x.to_string());
        if !p.link.up {
            return s("link is down");
        }
        if !p.link.full_duplex {
            return s("link is half duplex: link aggregation needs full duplex");
        }
        if let Some(from) = p.loopback {
            return Some(if from != p.number() {
                format!(
                    "loopback: it receives the LACPDUs of our own port {from}: the two ports are \
                     cabled to each other"
                )
            } else if p.receive == ReceiveState::Current {
                "loopback: its own LACPDUs come back beside the partner's: a hub or a switch \
                 echoes frames on this link"
                    .to_string()
            } else {
                "loopback: its own LACPDUs come back: the link is looped back (a loopback plug, \
                 or a switch port that reflects frames)"
                    .to_string()
            });
        }
        match p.receive {
            ReceiveState::Expired => {
                return s("partner's LACPDUs stopped (EXPIRED): waiting for them to resume");
            }
            ReceiveState::Defaulted if p.fallback.is_none() => {
                if cfg.mode == LacpActivity::Passive && !p.partner.state.activity() {
                    return s(
                        "partner is passive and we are passive: nobody sends LACPDUs \
                         (make one side active)",
                    );
                }
                return s(
                    "no LACPDU received from the partner (DEFAULTED): partner silent, runs no \
                     LACP (static switch?) or the link drops frames",
                );
            }
            _ => {}
        }
        if p.selected == Selected::Standby {
            return Some(format!(
                "standby: max-active {} reached, better ports are active",
                cfg.max_active.unwrap_or(0)
            ));
        }
        if p.selected == Selected::Unselected {
            return s("not selected into an Aggregator yet");
        }
        match p.mux {
            MuxState::Detached => return s("detached from its Aggregator"),
            MuxState::Waiting => {
                return s("waiting for the Aggregator to be ready (wait_while_timer)");
            }
            MuxState::Attached if !p.partner.state.synchronization() => {
                return s(
                    "partner not in sync: the partner has not attached this link (different \
                     aggregation or key on the partner, or standby there)",
                );
            }
            MuxState::Collecting if !p.partner.state.collecting() => {
                return s("collecting; waiting for the partner to collect");
            }
            _ => {}
        }
        if self.active != p.aggregator {
            return Some(format!(
                "its Aggregator {} is not the active one ({})",
                p.aggregator.map_or("-".into(), |a| a.to_string()),
                self.active.map_or("none".into(), |a| a.to_string())
            ));
        }
        s("not yet distributing")
    }

    pub(crate) fn aggregator_statuses(&self) -> Vec<AggregatorStatus> {
        self.aggregators
            .iter()
            .map(|(id, a)| {
                let members: Vec<&Port> = a
                    .ports
                    .iter()
                    .filter_map(|n| self.ports.get(*n))
                    .filter(|p| p.selected != Selected::Unselected)
                    .collect();
                let cd = members.iter().filter(|p| p.is_cd()).count();
                AggregatorStatus {
                    id: *id,
                    actor_key: a.lag.actor_key,
                    partner_system: a.lag.partner_system,
                    partner_key: a.lag.partner_key,
                    individual: a.lag.individual.is_some(),
                    ports: members.iter().map(|p| p.number()).collect(),
                    active: self.active == Some(*id),
                    up: cd >= self.config.min_links || (self.fallback.active.is_some() && cd > 0),
                }
            })
            .collect()
    }
}
