//! The aggregation driver that the daemon (`lagd`'s adapter and aggregates) and the simulator
//! (its nodes) both execute: how an aggregation's ports are numbered from its port number base
//! ([`PortNumbers`]) and named in the events the executor reports ([`PortNames`]), how
//! micro-BFD gates each member's carrier before the LACP core sees it ([`LinkGate`]), and how
//! the events of an aggregation and its micro-BFD sessions are drained ([`EventDrain`]).
//!
//! After every input (a frame, a timer, a carrier change, a configuration), the executor drains:
//! micro-BFD's events first ([`EventDrain::drain_bfd`]; a session that changed state changes
//! what [`LinkGate::changes`] shows the LACP core), then the aggregation's
//! ([`EventDrain::drain_agg`]). What it does with each event is its own: the daemon logs and
//! records it (`lagd`'s adapter), the simulator writes its report (its node).

use std::collections::{BTreeMap, BTreeSet};

use lagd_agg::lagd_lacp::{EventKind, LinkStatus};
use lagd_agg::{AggEvent, Aggregation};
use lagd_bfd::MicroBfd;
use lagd_types::{Instant, PortNumber};

/// The LACP port numbers of one aggregation: `base + 1`, `base + 2`, … (base 0 normally; a DT
/// secondary's aggregation numbers its ports from `0x8001`, so that the partner, which sees
/// both switches as one System, never sees one number twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortNumbers {
    /// The port number base.
    pub base: u16,
}

impl PortNumbers {
    /// Numbers from `base`.
    pub fn from_base(base: u16) -> PortNumbers {
        PortNumbers { base }
    }

    /// The number of the port in slot `slot` (0, 1, …): `base + slot + 1`. Check
    /// [`PortNumbers::fits`] first: the sum is truncated to 16 bits.
    pub fn nth(self, slot: usize) -> PortNumber {
        (usize::from(self.base) + slot + 1) as PortNumber
    }

    /// The slot of port number `n` (0 for a number not above the base).
    pub fn slot(self, n: PortNumber) -> usize {
        usize::from(n).saturating_sub(usize::from(self.base) + 1)
    }

    /// Whether `slots` ports can be numbered from the base without passing
    /// [`PortNumber::MAX`].
    pub fn fits(self, slots: usize) -> bool {
        usize::from(self.base) + slots <= usize::from(PortNumber::MAX)
    }

    /// Whether `n` is one of these numbers (above the base).
    pub fn holds(self, n: PortNumber) -> bool {
        n > self.base
    }

    /// The lowest number above the base that `used` does not hold (`None`: none is left).
    pub fn lowest_free(self, used: impl Fn(PortNumber) -> bool) -> Option<PortNumber> {
        (self.base.checked_add(1)?..=PortNumber::MAX).find(|n| !used(*n))
    }
}

/// The names of an aggregation's ports in the events it reports (the member interfaces in the
/// daemon, the node's ports in the simulator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortNames(BTreeMap<PortNumber, String>);

impl PortNames {
    /// No port named.
    pub fn new() -> PortNames {
        PortNames::default()
    }

    /// Port `n` is called `name`.
    pub fn insert(&mut self, n: PortNumber, name: &str) {
        self.0.insert(n, name.to_string());
    }

    /// Port `n` is gone.
    pub fn remove(&mut self, n: PortNumber) {
        self.0.remove(&n);
    }

    /// The name of port `n`, if it has one.
    pub fn get(&self, n: PortNumber) -> Option<&str> {
        self.0.get(&n).map(String::as_str)
    }

    /// The number of the port called `name`.
    pub fn number_of(&self, name: &str) -> Option<PortNumber> {
        self.0
            .iter()
            .find(|(_, x)| x.as_str() == name)
            .map(|(n, _)| *n)
    }

    /// The name of port `n` in an event: its own, else `port N`.
    pub fn name(&self, n: PortNumber) -> String {
        port_name(self.get(n), n)
    }
}

/// How an event names port `n` whose name is `name`: that, else `port N`.
pub fn port_name(name: Option<&str>, n: PortNumber) -> String {
    name.map_or_else(|| format!("port {n}"), str::to_string)
}

/// Each member's carrier as last reported, and the status the LACP core is shown: while
/// micro-BFD runs (RFC 7130), a member whose session is not Up is shown as a link that is down,
/// so it neither collects nor distributes, and comes back when its session is Up again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkGate {
    links: BTreeMap<PortNumber, LinkStatus>,
}

impl LinkGate {
    /// No member known.
    pub fn new() -> LinkGate {
        LinkGate::default()
    }

    /// The carrier of `port` is `link`.
    pub fn set(&mut self, port: PortNumber, link: LinkStatus) {
        self.links.insert(port, link);
    }

    /// Member `port` is gone.
    pub fn remove(&mut self, port: PortNumber) {
        self.links.remove(&port);
    }

    /// The carrier of `port` as last reported.
    pub fn get(&self, port: PortNumber) -> Option<LinkStatus> {
        self.links.get(&port).copied()
    }

    /// `link` of `port` as the LACP core sees it: down while micro-BFD runs (`bfd`) and the
    /// session of `port` is not Up.
    pub fn gated(bfd: Option<&MicroBfd>, port: PortNumber, link: LinkStatus) -> LinkStatus {
        match bfd {
            Some(b) if !b.is_up(port) => LinkStatus { up: false, ..link },
            _ => link,
        }
    }

    /// The members whose gated status differs from what `agg`'s LACP core knows (a session
    /// went Down or came Up): the executor gives each to `Aggregation::handle_link`.
    pub fn changes<S>(
        &self,
        bfd: Option<&MicroBfd>,
        agg: &Aggregation<S>,
    ) -> Vec<(PortNumber, LinkStatus)> {
        self.links
            .iter()
            .map(|(p, l)| (*p, Self::gated(bfd, *p, *l)))
            .filter(|(p, g)| agg.lacp().port(*p).is_some_and(|s| s.link.up != g.up))
            .collect()
    }
}

/// What the driver keeps of the events it drains: which members distribute, how many times
/// each stopped distributing (its flaps), and whether the aggregate was up when last asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventDrain {
    distributing: BTreeSet<PortNumber>,
    flaps: BTreeMap<PortNumber, u64>,
    up: bool,
}

impl EventDrain {
    /// Nothing drained yet (the aggregate down).
    pub fn new() -> EventDrain {
        EventDrain::default()
    }

    /// Hands every pending micro-BFD event to `each`, in order; returns the instant of the
    /// last session state change, if any (the executor then applies [`LinkGate::changes`]).
    pub fn drain_bfd(
        &mut self,
        bfd: Option<&mut MicroBfd>,
        mut each: impl FnMut(lagd_bfd::Event),
    ) -> Option<Instant> {
        let mut changed = None;
        if let Some(b) = bfd {
            while let Some(e) = b.poll_event() {
                if matches!(e.kind, lagd_bfd::EventKind::SessionState { .. }) {
                    changed = Some(e.at);
                }
                each(e);
            }
        }
        changed
    }

    /// Hands every pending event of `agg` to `each`, in order, counting the members that stop
    /// distributing; returns how many there were.
    pub fn drain_agg<S>(
        &mut self,
        agg: &mut Aggregation<S>,
        mut each: impl FnMut(AggEvent),
    ) -> usize {
        let mut n = 0;
        while let Some(ev) = agg.poll_event() {
            n += 1;
            if let AggEvent::Lacp(lagd_agg::lagd_lacp::Event {
                port: Some(p),
                kind: EventKind::CollectingDistributing { distributing, .. },
                ..
            }) = &ev
            {
                if *distributing {
                    self.distributing.insert(*p);
                } else if self.distributing.remove(p) {
                    *self.flaps.entry(*p).or_default() += 1;
                }
            }
            each(ev);
        }
        n
    }

    /// Whether `agg`'s carrier (the aggregate up) changed since the last call: the new one.
    pub fn carrier<S>(&mut self, agg: &Aggregation<S>) -> Option<bool> {
        let up = agg.is_up();
        (up != self.up).then(|| {
            self.up = up;
            up
        })
    }

    /// How many times each member stopped distributing.
    pub fn flaps(&self) -> &BTreeMap<PortNumber, u64> {
        &self.flaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_the_base() {
        let dt = PortNumbers::from_base(0x8000);
        assert_eq!((dt.nth(0), dt.slot(0x8003)), (0x8001, 2));
        assert_eq!(dt.slot(0x8000), 0);
        assert!(dt.fits(0x7fff) && !dt.fits(0x8000));
        assert!(dt.holds(0x8001) && !dt.holds(0x8000));
        assert_eq!(dt.lowest_free(|n| n < 0x8003), Some(0x8003));
        assert_eq!(
            PortNumbers::from_base(u16::MAX).lowest_free(|_| false),
            None
        );
        assert_eq!(PortNumbers::default().lowest_free(|_| true), None);
    }

    #[test]
    fn ports_without_a_name_are_called_by_number() {
        let mut names = PortNames::new();
        names.insert(1, "eth1");
        assert_eq!(
            (names.name(1), names.name(2)),
            ("eth1".into(), "port 2".into())
        );
        assert_eq!(names.number_of("eth1"), Some(1));
        names.remove(1);
        assert_eq!(names.get(1), None);
    }
}
