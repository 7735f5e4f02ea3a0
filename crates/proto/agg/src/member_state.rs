//! What each member is doing, in one word that means one thing, and whether the aggregate is up
//! and why not. Derived from the protocol status (802.1AX machine states), for `show-aggr`, its
//! JSON and the logs.
//!
//! | state | meaning |
//! |---|---|
//! | `down` | no carrier (or administratively down) |
//! | `no-lacp` | LACP runs here but no LACPDU comes from the partner (DEFAULTED or EXPIRED, §6.4.12) |
//! | `wrong-partner` | it hears a partner other than the active members' (another system or key): it aggregates apart, in an Aggregator that is not the active one |
//! | `not-selected` | no Aggregator selected (half duplex, or an individual link, §6.4.14) |
//! | `standby` | selected as Standby: max-active members are active |
//! | `waiting` | selected, waiting for the Aggregator to be ready (wait_while_timer, §6.4.15) |
//! | `attached` | attached; waiting for the partner to put it in sync |
//! | `collecting` | collecting; not distributing yet |
//! | `active` | collecting and distributing: carries traffic |
//! | `backup` | active-backup mode: ready, the active member carries the traffic |
//! | `disabled` | the operator disabled it (`lagctl disable-member`): collecting, sending nothing |
//!
//! The daemon adds what the core cannot know: `deleted` (the interface no longer exists) and
//! `bfd-down` (carrier, but the member's micro-BFD session is not up).

use core::fmt;

use lagd_lacp::{LacpActivity, MuxState, PortStatus, ReceiveState, Selected};
use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

use crate::AggregationStatus;

/// What a member is doing (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberState {
    /// The interface no longer exists (set by the daemon).
    Deleted,
    /// No carrier.
    Down,
    /// Carrier, but the member's micro-BFD session is not up (set by the daemon).
    BfdDown,
    /// LACP runs here, but no LACPDU comes from the partner.
    NoLacp,
    /// It hears another partner (system or key) than the active members.
    WrongPartner,
    /// No Aggregator selected.
    NotSelected,
    /// Standby (max-active).
    Standby,
    /// Waiting for the Aggregator (wait_while_timer).
    Waiting,
    /// Attached, waiting for the partner's synchronization.
    Attached,
    /// Collecting, not distributing yet.
    Collecting,
    /// Collecting and distributing: carries traffic.
    Active,
    /// Active-backup: ready, not the member carrying the traffic.
    Backup,
    /// The operator disabled it: still a member and Collecting, it sends nothing
    /// ([`Aggregation::disable_port`](crate::Aggregation::disable_port)).
    Disabled,
}

impl MemberState {
    /// The name `show-aggr` prints (as in the JSON).
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Deleted => "deleted",
            MemberState::Down => "down",
            MemberState::BfdDown => "bfd-down",
            MemberState::NoLacp => "no-lacp",
            MemberState::WrongPartner => "wrong-partner",
            MemberState::NotSelected => "not-selected",
            MemberState::Standby => "standby",
            MemberState::Waiting => "waiting",
            MemberState::Attached => "attached",
            MemberState::Collecting => "collecting",
            MemberState::Active => "active",
            MemberState::Backup => "backup",
            MemberState::Disabled => "disabled",
        }
    }

    /// Whether the member carries (or is ready to carry, as a backup) traffic.
    pub fn in_service(self) -> bool {
        matches!(self, MemberState::Active | MemberState::Backup)
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state of member `p` of the aggregation whose status is `st`.
pub fn member_state(st: &AggregationStatus, p: &PortStatus) -> MemberState {
    if !p.link.up {
        return MemberState::Down;
    }
    if st.disabled.contains(&p.number) {
        return MemberState::Disabled;
    }
    if p.collecting && p.distributing {
        return match st.active_member {
            Some(a) if a != p.number => MemberState::Backup,
            _ => MemberState::Active,
        };
    }
    let lacp_on = st.lacp.config.mode != LacpActivity::Off;
    if lacp_on
        && !p.fallback
        && matches!(p.receive, ReceiveState::Expired | ReceiveState::Defaulted)
    {
        return MemberState::NoLacp;
    }
    if p.selected == Selected::Standby {
        return MemberState::Standby;
    }
    let active_aggregator = st.lacp.aggregators.iter().find(|a| a.active).map(|a| a.id);
    if p.selected == Selected::Selected
        && p.aggregator.is_some()
        && active_aggregator.is_some()
        && p.aggregator != active_aggregator
    {
        return MemberState::WrongPartner;
    }
    if p.selected == Selected::Unselected {
        return MemberState::NotSelected;
    }
    match p.mux {
        MuxState::Detached => MemberState::NotSelected,
        MuxState::Waiting => MemberState::Waiting,
        MuxState::Attached => MemberState::Attached,
        _ if p.collecting => MemberState::Collecting,
        _ => MemberState::Attached,
    }
}

/// Whether the aggregate is up, and why not when it is down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateState {
    /// Up: min-links members active (or fallback forwarding).
    pub up: bool,
    /// Why it is down; for an aggregate that is up, how (`fallback: ...`), if not plainly.
    pub why: Option<String>,
}

/// The aggregate's state, from the states of its members `states` (port, state).
pub fn aggregate_state(
    st: &AggregationStatus,
    states: &[(PortNumber, MemberState)],
) -> AggregateState {
    let min = st.lacp.config.min_links;
    let active = states.iter().filter(|(_, s)| s.in_service()).count();
    if st.up {
        return AggregateState {
            up: true,
            why: st
                .lacp
                .fallback_active
                .then(|| match &st.lacp.fallback_reason {
                    Some(r) => format!("through fallback: {r}"),
                    None => "through fallback".into(),
                }),
        };
    }
    let why = if states.is_empty() {
        "no member".to_string()
    } else if states
        .iter()
        .all(|(_, s)| matches!(s, MemberState::Down | MemberState::Deleted))
    {
        "no member has carrier".to_string()
    } else if states.iter().all(|(_, s)| {
        matches!(
            s,
            MemberState::Down | MemberState::Deleted | MemberState::BfdDown
        )
    }) {
        "no member's micro-BFD session is up".to_string()
    } else if states
        .iter()
        .filter(|(_, s)| {
            !matches!(
                s,
                MemberState::Down | MemberState::Deleted | MemberState::BfdDown
            )
        })
        .all(|(_, s)| *s == MemberState::NoLacp)
    {
        "no LACPDU from the partner".to_string()
    } else {
        format!(
            "min-links {min} not met: {active} of {} members active",
            states.len()
        )
    };
    AggregateState {
        up: false,
        why: Some(why),
    }
}
