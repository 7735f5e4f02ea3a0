//! Micro-BFD (RFC 7130) in the simulator: the same [`lagd_bfd::MicroBfd`] the daemon's BFD
//! thread drives, one per aggregation that configures `bfd = { interval, multiplier }`, gating
//! its members exactly as the daemon's adapter does: a member whose session is not Up is shown
//! to the LACP core as a link that is down (it neither collects nor distributes, its buckets
//! move at once), and comes back when the session is Up again.
//!
//! Frames are delivered in virtual time as they arrive, so the simulator hands each one to
//! [`MicroBfd::handle_frame`] at its arrival instant (no queue between arrival and reading).
//!
//! The gate is the driver's ([`LinkGate`]) and the events are drained by the driver's
//! [`EventDrain`](lagd_node::driver::EventDrain), as in the daemon; a session's change reaches
//! the LACP core at once, at the input that caused it ([`SimBfd::link_changes`]), as the
//! daemon's BFD thread wakes the aggregation at once.

use crate::packet::Frame;
use lagd_agg::Aggregation;
use lagd_agg::lagd_lacp::LinkStatus;
use lagd_bfd::{BfdConfig, Event, EventKind, MicroBfd, MicroBfdFrame};
use lagd_node::driver::LinkGate;
use lagd_types::{Instant, MacAddr, PortNumber};
use std::net::Ipv4Addr;

/// An aggregation's micro-BFD sessions and the carrier of each member.
pub struct SimBfd {
    core: MicroBfd,
    /// Each member's carrier, by port number (before the BFD gate).
    links: LinkGate,
}

/// A micro-BFD event as the report shows it.
pub struct BfdEvent {
    /// The member.
    pub port: Option<PortNumber>,
    /// One readable line.
    pub text: String,
    /// Routine detail (peer learned, refused packets): JSON only.
    pub verbose: bool,
}

impl BfdEvent {
    /// `e` as the report shows it: the port is the record's own field, not in the text.
    pub fn of(mut e: Event) -> BfdEvent {
        let port = e.port.take();
        BfdEvent {
            port,
            text: e.to_string(),
            verbose: !matches!(e.kind, EventKind::SessionState { .. }),
        }
    }
}

impl SimBfd {
    /// Sessions with `cfg`; `seed` (fixed by the scenario) seeds discriminators and jitter;
    /// `ip` is the node's address (else the link-local fallback of `mac`, as lagd does).
    pub fn new(cfg: BfdConfig, seed: u64, ip: Option<Ipv4Addr>, mac: MacAddr) -> SimBfd {
        let mut core = MicroBfd::new(cfg, seed);
        core.set_local_ip(ip.unwrap_or_else(|| lagd_bfd::link_local_ipv4(mac)));
        SimBfd {
            core,
            links: LinkGate::new(),
        }
    }

    /// Whether `frame` is micro-BFD (UDP port 6784): the sessions' business, never the host's.
    pub fn is_bfd(frame: &[u8]) -> bool {
        MicroBfdFrame::is_micro_bfd(frame)
    }

    /// Starts the session of member `port` (frames from `mac`) with carrier `link`; returns the
    /// status the LACP core must see.
    pub fn add_port(
        &mut self,
        now: Instant,
        port: PortNumber,
        mac: MacAddr,
        link: LinkStatus,
    ) -> LinkStatus {
        let _ = self.core.add_port(now, port, mac);
        self.handle_link(now, port, link)
    }

    /// Stops the session of `port`.
    pub fn remove_port(&mut self, port: PortNumber) {
        let _ = self.core.remove_port(port);
        self.links.remove(port);
    }

    /// The carrier of `port` changed; returns the status the LACP core must see.
    pub fn handle_link(&mut self, now: Instant, port: PortNumber, link: LinkStatus) -> LinkStatus {
        self.links.set(port, link);
        self.core.handle_link(now, port, link.up);
        LinkGate::gated(Some(&self.core), port, link)
    }

    /// Changes the timing of every session.
    pub fn set_config(&mut self, now: Instant, cfg: BfdConfig) -> Result<(), String> {
        self.core.set_config(now, cfg).map_err(|e| e.to_string())
    }

    /// A micro-BFD frame arrived on `port` (refused ones are counted by the session).
    pub fn handle_frame(&mut self, now: Instant, port: PortNumber, frame: &[u8]) {
        let _ = self.core.handle_frame(now, port, frame);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.core.poll_timeout().is_some_and(|t| t <= now) {
            self.core.handle_timeout(now);
        }
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// The next frame to send: member and bytes.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(PortNumber, Frame)> {
        self.core
            .poll_transmit(now)
            .map(|t| (t.port, Frame::from(t.frame)))
    }

    /// The sessions, for the driver's drain.
    pub fn core_mut(&mut self) -> &mut MicroBfd {
        &mut self.core
    }

    /// The members whose gated status differs from what `agg`'s LACP core knows (a session
    /// went Down or came Up): feed each to `agg.handle_link`.
    pub fn link_changes(&self, agg: &Aggregation<Frame>) -> Vec<(PortNumber, LinkStatus)> {
        self.links.changes(Some(&self.core), agg)
    }

    /// The state of every session (for checks and the report).
    pub fn status(&self) -> Vec<lagd_bfd::MemberStatus> {
        self.core.status()
    }
}
