//! The index behind port_moved (§6.4.8): the disabled ports that still remember a partner, by
//! that partner's System and port number, so a LACPDU finds the ports its sender has moved
//! away from without looking at every port.

use crate::ReceiveState;
use crate::port::Port;
use lagd_types::{PortNumber, SystemId};
use std::collections::BTreeSet;

/// (partner System, partner port number, our port) for every port in PORT_DISABLED with a
/// partner.
#[derive(Clone, Debug, Default)]
pub(crate) struct MovedIndex {
    set: BTreeSet<(SystemId, PortNumber, PortNumber)>,
}

/// The partner a port is filed under: its partner, while the port is in PORT_DISABLED.
fn key(p: &Port) -> Option<(SystemId, PortNumber)> {
    (p.receive == ReceiveState::PortDisabled && p.partner.system != SystemId::NULL)
        .then_some((p.partner.system, p.partner.port.number))
}

impl MovedIndex {
    /// Files port `p` under its current partner, if it is disabled.
    pub fn sync(&mut self, p: &mut Port) {
        let k = key(p);
        if k != p.moved_key {
            if let Some((s, n)) = p.moved_key {
                self.set.remove(&(s, n, p.number()));
            }
            if let Some((s, n)) = k {
                self.set.insert((s, n, p.number()));
            }
            p.moved_key = k;
        }
    }

    /// Forgets port `p` (it is being removed).
    pub fn remove(&mut self, p: &Port) {
        if let Some((s, n)) = p.moved_key {
            self.set.remove(&(s, n, p.number()));
        }
    }

    /// The disabled ports whose partner is port `port` of `system`.
    pub fn ports_of(
        &self,
        system: SystemId,
        port: PortNumber,
    ) -> impl Iterator<Item = PortNumber> + '_ {
        self.set
            .range((system, port, 0)..=(system, port, PortNumber::MAX))
            .map(|(_, _, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PortConfig, SystemConfig};
    use lagd_types::{MacAddr, PortId};

    #[test]
    fn only_disabled_ports_with_a_partner_are_filed() {
        let sys = SystemConfig::default();
        let partner = SystemId::new(1, MacAddr([2, 0, 0, 0, 0, 9]));
        let mut idx = MovedIndex::default();
        let mut p = Port::new(PortConfig::new(3, MacAddr::ZERO), &sys);
        p.receive = ReceiveState::PortDisabled;
        idx.sync(&mut p);
        assert_eq!(idx.ports_of(SystemId::NULL, 0).count(), 0, "no partner");
        p.partner.system = partner;
        p.partner.port = PortId::new(1, 7);
        idx.sync(&mut p);
        assert_eq!(idx.ports_of(partner, 7).collect::<Vec<_>>(), vec![3]);
        assert_eq!(idx.ports_of(partner, 8).count(), 0);
        p.receive = ReceiveState::Current;
        idx.sync(&mut p);
        assert_eq!(idx.ports_of(partner, 7).count(), 0);
        p.receive = ReceiveState::PortDisabled;
        idx.sync(&mut p);
        idx.remove(&p);
        assert_eq!(idx.ports_of(partner, 7).count(), 0);
    }
}
