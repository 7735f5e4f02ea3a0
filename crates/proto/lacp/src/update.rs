//! Running the machines after an input until they rest, then transmitting and reporting: the
//! heart of [`Lacp`]. Only the ports in the work list (those the input touched, and those a
//! change of Selection, of an Aggregator's readiness or of the active Aggregator reaches) are
//! visited; every other port is at rest.

use crate::aggregator::Aggregators;
use crate::churn::Side;
use crate::mux::AggView;
use crate::port::{Ctx, Port};
use crate::timers::Timer;
use crate::{
    AggregatorId, Event, EventKind, Lacp, churn, fallback, mux, periodic, receive, selection,
    transmit,
};
use lagd_types::{Instant, PortNumber};

/// How many rounds of the machines one input may cause before they rest (they always rest
/// much sooner; the bound only guards against a livelock bug).
const MAX_PASSES: usize = 16;

/// Buffers reused from one input to the next (no allocation once warm).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    pub selection: selection::Scratch,
    /// Port numbers (port_moved candidates, ports to wake).
    pub numbers: Vec<PortNumber>,
    /// Port positions (timers due).
    pub positions: Vec<usize>,
    aggs: Vec<AggregatorId>,
    views: Vec<AggView>,
}

/// What a port's Mux needs to know of its Aggregator (§6.4.15): Ready (§6.4.8), whether a
/// port is already attached, and whether it is the `active` one.
fn view(aggs: &Aggregators, p: &Port, active: Option<AggregatorId>) -> AggView {
    p.aggregator
        .and_then(|id| Some((id, aggs.get(id)?)))
        .map(|(id, a)| AggView {
            ready: a.tally.unready == 0,
            has_attached: a.tally.attached > 0,
            active: active == Some(id),
        })
        .unwrap_or_default()
}

impl Lacp {
    /// Runs the machines of the touched ports until they rest, transmits, and reports what
    /// changed.
    pub(crate) fn update(&mut self, now: Instant) {
        let Lacp {
            config,
            ports,
            aggregators,
            events,
            transmits,
            fallback,
            timers,
            work,
            schedule,
            deferred,
            moved,
            scratch,
            active,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            cfg: config,
            events,
        };
        let mut rested = false;
        for _ in 0..MAX_PASSES {
            fallback::update(fallback, timers, ports.as_mut_slice(), &mut ctx, work);
            work.normalize();
            let mut changed = false;
            for k in 0..work.len() {
                if let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) {
                    changed |= receive::step(p, &mut ctx);
                }
            }
            changed |= selection::run(ports, aggregators, work, &mut ctx, &mut scratch.selection);
            work.normalize();
            for k in 0..work.len() {
                if let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) {
                    aggregators.sync(p);
                }
            }
            // An Aggregator that became Ready: its WAITING ports with Ready_N attach now.
            aggregators.take_touched(&mut scratch.aggs);
            scratch.numbers.clear();
            for id in &scratch.aggs {
                if let Some(a) = aggregators.get(*id)
                    && a.tally.unready == 0
                {
                    scratch.numbers.extend(a.ready_waiting.iter().copied());
                }
            }
            // The active Aggregator (its ports report Sync and go on to collect and
            // distribute; those of the one it replaces fall back to ATTACHED).
            let chosen = aggregators.choose_active(*active);
            if chosen != *active {
                for id in [*active, chosen].into_iter().flatten() {
                    scratch
                        .numbers
                        .extend(aggregators.get(id).into_iter().flat_map(|a| &a.ports));
                }
                *active = chosen;
                changed = true;
            }
            for n in &scratch.numbers {
                if let Some(i) = ports.position(*n) {
                    work.push(i);
                }
            }
            work.normalize();
            // The Aggregators as the Mux machines see them during this pass.
            scratch.views.clear();
            for k in 0..work.len() {
                let v = work
                    .get(k)
                    .and_then(|i| ports.at(i))
                    .map(|p| view(aggregators, p, *active))
                    .unwrap_or_default();
                scratch.views.push(v);
            }
            for k in 0..work.len() {
                let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) else {
                    continue;
                };
                let v = scratch.views.get(k).copied().unwrap_or_default();
                changed |= mux::step(p, &mut ctx, v);
                changed |= periodic::step(p, &mut ctx);
                changed |= churn::step(p, &mut ctx, Side::Actor);
                changed |= churn::step(p, &mut ctx, Side::Partner);
                aggregators.sync(p);
            }
            if !changed {
                rested = true;
                break;
            }
        }
        // A LACPDU deferred by the transmit rate limit goes as soon as the window allows, on
        // whatever input comes first.
        scratch.positions.clear();
        deferred.due(now, &mut scratch.positions);
        for i in &scratch.positions {
            work.push(*i);
        }
        work.normalize();
        for k in 0..work.len() {
            let Some(i) = work.get(k) else { continue };
            if let Some(p) = ports.at_mut(i) {
                transmit::step(p, &mut ctx, transmits);
                schedule.set(i, p.next_timeout());
                deferred.set(i, p.timers.get(Timer::TxDefer));
                moved.sync(p);
            }
        }
        self.report(now);
        if rested {
            self.work.clear();
        }
    }

    /// Emits the events derived from the machines' state: actor and partner changes, the
    /// active Aggregator, the data plane's collecting/distributing, aggregate up/down.
    fn report(&mut self, now: Instant) {
        let Lacp {
            ports,
            aggregators,
            events,
            work,
            active,
            reported_active,
            up: current_up,
            config,
            fallback,
            ..
        } = self;
        let mut emit = |port: Option<PortNumber>, kind: EventKind| {
            events.push_back(Event {
                at: now,
                port,
                kind,
            })
        };
        let active = *active;
        if active != *reported_active {
            *reported_active = active;
            emit(None, EventKind::ActiveAggregator { aggregator: active });
        }
        for k in 0..work.len() {
            let Some(p) = work.get(k).and_then(|i| ports.at_mut(i)) else {
                continue;
            };
            if p.actor.state != p.reported_actor {
                emit(
                    Some(p.number()),
                    EventKind::ActorStateChanged {
                        old: p.reported_actor,
                        new: p.actor.state,
                    },
                );
                p.reported_actor = p.actor.state;
            }
            if p.partner != p.reported_partner {
                emit(
                    Some(p.number()),
                    EventKind::PartnerChanged {
                        old: p.reported_partner,
                        new: p.partner,
                    },
                );
                p.reported_partner = p.partner;
            }
            let in_active = active.is_some() && p.aggregator == active;
            let now_cd = if in_active {
                (p.actor.state.collecting(), p.actor.state.distributing())
            } else {
                (false, false)
            };
            if now_cd != p.reported_cd {
                p.reported_cd = now_cd;
                emit(
                    Some(p.number()),
                    EventKind::CollectingDistributing {
                        collecting: now_cd.0,
                        distributing: now_cd.1,
                    },
                );
            }
        }
        let cd = active
            .and_then(|id| aggregators.get(id))
            .map_or(0, |a| a.tally.cd as usize);
        let min = config.min_links;
        let up = if fallback.active.is_some() {
            cd > 0
        } else {
            cd >= min
        };
        if up != *current_up {
            *current_up = up;
            emit(
                None,
                if up {
                    EventKind::AggregateUp
                } else {
                    EventKind::AggregateDown {
                        reason: format!(
                            "{cd} of {} members collecting and distributing, min-links is {min}",
                            ports.len()
                        ),
                    }
                },
            );
        }
    }
}
