//! Carrier polling: every member's carrier is read from the kernel every `[daemon]
//! carrier_poll` (default 20 ms; `docs/CONFIG.md`), as bonding's `miimon` does, besides the
//! link notifications.
//!
//! The kernel's `RTM_NEWLINK` notification of a carrier change is sent by linkwatch
//! (`net/core/link_watch.c`), which runs a change it does not deem urgent at most once a
//! second (`linkwatch_nextevent`): a carrier loss waits up to 1 s there whenever the device's
//! `ifindex` equals its `iflink`, which is the case of every physical NIC (no `ndo_get_iflink`)
//! and of a veth whose peer, in another namespace, has the same index. The carrier itself
//! (`netif_carrier_ok`, `IFLA_CARRIER` in an `RTM_GETLINK` reply) changes at once, so a
//! read finds the loss within one interval. A change found is handled exactly as the
//! notification is ([`Engine::on_link_event`]): the decision stays the protocol core's.
//!
//! Cost: one `RTM_GETLINK` request per member per interval (no driver call: the reply reads
//! the kernel's carrier bit); no new system call (the netlink socket the daemon already uses).

use std::time::{Duration as StdDuration, Instant};

use lagd_dataplane::{LinkEvent, Netlink};

use super::Engine;

/// How long the poller waits before it looks at `carrier_poll` again while it is off.
const OFF_RECHECK: StdDuration = StdDuration::from_millis(500);

/// The poller's state, kept by the link monitor thread.
#[derive(Debug)]
pub(super) struct CarrierPoll {
    nl: Option<Netlink>,
    next: Instant,
    /// The last read failed (logged once until a read succeeds again).
    failing: bool,
}

impl CarrierPoll {
    pub(super) fn new() -> CarrierPoll {
        CarrierPoll {
            nl: None,
            next: Instant::now(),
            failing: false,
        }
    }

    /// How long until the next read is due.
    pub(super) fn wait(&self) -> StdDuration {
        self.next.saturating_duration_since(Instant::now())
    }
}

impl Engine {
    /// Reads every member's carrier if a read is due, and hands each change found to the
    /// link event path.
    pub(super) fn poll_carriers(&self, p: &mut CarrierPoll) {
        let now = Instant::now();
        if now < p.next {
            return;
        }
        // What the protocol knows, taken under the lock; the kernel is asked without it.
        let known: Vec<(u32, bool)> = {
            let st = self.state();
            let Some(interval) = st.persistent.daemon.carrier_poll() else {
                p.next = now + OFF_RECHECK;
                return;
            };
            p.next = now + interval;
            st.aggrs
                .values()
                .flat_map(|a| {
                    a.members.iter().map(|(port, m)| {
                        (
                            m.member.ifindex(),
                            a.known_link(*port).is_some_and(|l| l.up),
                        )
                    })
                })
                .collect()
        };
        if known.is_empty() {
            return;
        }
        if p.nl.is_none() {
            match Netlink::open() {
                Ok(nl) => p.nl = Some(nl),
                Err(e) => {
                    if !p.failing {
                        p.failing = true;
                        tracing::warn!(
                            "carrier poll: {e}; carrier changes are seen by notification only until it works again"
                        );
                    }
                    return;
                }
            }
        }
        let Some(nl) = p.nl.as_mut() else { return };
        for (ifindex, was_up) in known {
            match nl.link_by_index(ifindex) {
                Ok(l) => {
                    p.failing = false;
                    if (l.is_up() && l.carrier) != was_up {
                        self.on_link_event(&LinkEvent {
                            ifindex,
                            up: l.is_up(),
                            carrier: l.carrier,
                            operstate: l.operstate,
                            name: l.name,
                            deleted: false,
                        });
                    }
                }
                // Deleted: its notification (never held back) handles it.
                Err(lagd_dataplane::Error::NoSuchInterface(_)) => {}
                Err(e) => {
                    if !p.failing {
                        p.failing = true;
                        tracing::warn!(
                            "carrier poll: {e}; carrier changes are seen by notification only until it works again"
                        );
                    }
                    // A fresh socket next time (a reply left behind would confuse this one).
                    p.nl = None;
                    return;
                }
            }
        }
    }
}
