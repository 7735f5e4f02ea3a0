//! What each port contributes to its Aggregator's tallies (how many ports are Selected,
//! Standby, attached, waiting, collecting and distributing, ...). The tallies are kept up to
//! date port by port, after every input that touched the port, so the Aggregator's state — the
//! mux's view of it (Ready, §6.4.8), its rank for the choice of the active Aggregator, the
//! aggregate's up/down — is read in O(1) instead of by walking every port.

use crate::AggregatorId;
use lagd_types::PortId;

/// What one port adds to the tallies of the Aggregator it has selected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Share {
    /// The Aggregator (none: the port adds nothing).
    pub agg: Option<AggregatorId>,
    /// Selected or Standby: a member for the max_active ordering and the status.
    pub member: bool,
    /// SELECTED.
    pub selected: bool,
    /// STANDBY.
    pub standby: bool,
    /// SELECTED, attached, and its partner in sync: it carries traffic when its Aggregator is
    /// the active one (it ranks the Aggregators, `AdSelect`).
    pub ready: bool,
    /// Its link speed (Mbit/s) when `ready`, else 0.
    pub ready_mbps: u32,
    /// Attached, Collecting and Distributing (`Port::is_cd`).
    pub cd: bool,
    /// The partner information is real (the actor is not DEFAULTED).
    pub real: bool,
    /// The mux is attached to the Aggregator.
    pub attached: bool,
    /// WAITING and SELECTED without Ready_N: the Aggregator is not Ready (§6.4.8).
    pub unready: bool,
    /// WAITING and SELECTED with Ready_N: attaches as soon as the Aggregator is Ready.
    pub ready_waiting: bool,
    /// The port priorities that order the members for max_active (actor's, partner's).
    pub key: (PortId, PortId),
}

/// The tallies of one Aggregator: how many of the ports that selected it are in each case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Selected or Standby.
    pub members: u32,
    /// SELECTED.
    pub selected: u32,
    /// STANDBY.
    pub standby: u32,
    /// SELECTED, attached, partner in sync.
    pub ready: u32,
    /// The link speeds of those, in Mbit/s.
    pub ready_mbps: u64,
    /// Attached, Collecting and Distributing.
    pub cd: u32,
    /// Not DEFAULTED.
    pub real: u32,
    /// Attached.
    pub attached: u32,
    /// WAITING, SELECTED, without Ready_N.
    pub unready: u32,
}

impl Tally {
    /// Adds (or, with `add` false, removes) a port's share.
    pub fn apply(&mut self, s: &Share, add: bool) {
        let fields = [
            (&mut self.members, s.member),
            (&mut self.selected, s.selected),
            (&mut self.standby, s.standby),
            (&mut self.ready, s.ready),
            (&mut self.cd, s.cd),
            (&mut self.real, s.real),
            (&mut self.attached, s.attached),
            (&mut self.unready, s.unready),
        ];
        for (count, set) in fields {
            if set {
                *count = if add {
                    count.saturating_add(1)
                } else {
                    count.saturating_sub(1)
                };
            }
        }
        let mbps = u64::from(s.ready_mbps);
        self.ready_mbps = if add {
            self.ready_mbps.saturating_add(mbps)
        } else {
            self.ready_mbps.saturating_sub(mbps)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_and_remove() {
        let s = Share {
            agg: Some(AggregatorId(1)),
            member: true,
            selected: true,
            attached: true,
            ..Share::default()
        };
        let mut t = Tally::default();
        t.apply(&s, true);
        t.apply(&s, true);
        assert_eq!((t.members, t.selected, t.attached, t.cd), (2, 2, 2, 0));
        t.apply(&s, false);
        assert_eq!((t.members, t.selected, t.attached), (1, 1, 1));
    }
}
