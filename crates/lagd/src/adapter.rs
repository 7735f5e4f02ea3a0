//! The protocol side of one aggregation as the data plane sees it: [`lagd_agg::Aggregation`]
//! behind the data plane's [`Protocol`] trait.
//!
//! Every input that reaches the aggregation through here (host frames, control frames, timers,
//! link changes, configuration) is followed by [`Adapter::drain_events`], which executes the
//! driver's drain ([`lagd_node::driver::EventDrain`]): events are logged, recorded in the
//! [`EventLog`], and the engine is told about drained ports and earlier deadlines through its
//! message channel.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;

use lagd_agg::lagd_distrib::{Dispatch, Mode};
use lagd_agg::lagd_lacp::{EventKind, LinkStatus};
use lagd_agg::{AggEvent, Aggregation, AggregationConfig};
use lagd_bfd::{MicroBfd, MicroBfdFrame};

use crate::bfd_shared::BfdShared;
use crate::sync::lock;
use lagd_dataplane::{Protocol, Slot, TxDecision};
use lagd_node::driver::{EventDrain, LinkGate, PortNames};
use lagd_types::{Instant, MacAddr, PortNumber};

use crate::events::EventLog;
use crate::offload::Offload;
use crate::ratelimit::RateLimiter;

/// A message to the engine's timer thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EngineMsg {
    /// Re-read the deadlines (one moved earlier, or control frames were queued).
    Wake,
    /// A port of aggregation `id` finished draining: release it.
    Drained {
        /// Aggregation instance id.
        id: u64,
        /// The port.
        port: PortNumber,
    },
    /// Stop the timer thread.
    Stop,
}

/// Where an adapter reports to.
#[derive(Clone)]
pub(crate) struct Reporter {
    /// The event ring.
    pub log: Arc<EventLog>,
    /// The engine's channel.
    pub tx: Sender<EngineMsg>,
    /// The instant (ns) the timer thread sleeps until; an earlier deadline wakes it.
    pub sleeping_until: Arc<AtomicU64>,
}

/// The aggregation of one aggregate, adapted to the data plane.
pub(crate) struct Adapter {
    /// Aggregation instance id (unique per daemon run).
    pub id: u64,
    /// Aggregate name.
    pub name: String,
    /// The protocol core.
    pub agg: Aggregation<Slot>,
    /// Port number → member name, for logs.
    pub port_names: PortNames,
    /// The kernel TX fast path, when enabled and loaded.
    pub offload: Option<Offload>,
    /// Micro-BFD (RFC 7130), when configured (`core` is `Some`): a member whose session is
    /// not Up is shown to the LACP core as a link that is down, so it neither collects nor
    /// distributes, and its buckets move at once (a dead link: no Marker). Its frames and
    /// timers are the BFD thread's (`crate::bfd_thread`); lock order: this adapter, then
    /// the core.
    pub bfd: Arc<BfdShared>,
    /// Each member's carrier as the kernel reports it, gated by micro-BFD.
    links: LinkGate,
    /// The protocol state changed since the aggregation's record was last written.
    pub state_dirty: bool,
    /// The driver's drain: members distributing, their flaps, the aggregate's carrier.
    drain: EventDrain,
    reporter: Reporter,
    /// Log lines and recorded events per port and kind, rate-limited (a flood of refused
    /// frames must not flood the log or wipe the event history; counters stay exact).
    limiter: RateLimiter<EventKey>,
}

/// What the rate limiter tells apart: the port and the kind of event.
type EventKey = (
    Option<PortNumber>,
    std::mem::Discriminant<AggEvent>,
    Option<std::mem::Discriminant<EventKind>>,
);

impl Adapter {
    /// A new adapter around a fresh aggregation.
    pub(crate) fn new(
        id: u64,
        name: &str,
        config: AggregationConfig,
        reporter: Reporter,
    ) -> Adapter {
        let mut agg = Aggregation::new(config);
        // The forwarder reports when each Marker leaves its member (Protocol::marker_departed):
        // Marker timeouts count from then.
        agg.set_departure_reports(true);
        Adapter {
            id,
            name: name.to_string(),
            agg,
            port_names: PortNames::new(),
            offload: None,
            bfd: Arc::new(BfdShared::default()),
            links: LinkGate::new(),
            state_dirty: false,
            drain: EventDrain::new(),
            reporter,
            limiter: RateLimiter::default(),
        }
    }

    /// Turns micro-BFD on with `cfg` (sessions on every member: port, `mac` of its frames,
    /// interface index, from `members`), changes its timing, or turns it off (`None`).
    pub(crate) fn set_bfd(
        &mut self,
        now: Instant,
        cfg: Option<lagd_bfd::BfdConfig>,
        members: &[(PortNumber, MacAddr, u32)],
        local_ip: std::net::Ipv4Addr,
    ) {
        {
            let mut core = lock(&self.bfd.core);
            match (cfg, core.as_mut()) {
                (None, _) => {
                    *core = None;
                    for (port, _, _) in members {
                        self.bfd.remove_member(*port);
                    }
                }
                (Some(c), Some(b)) => {
                    if let Err(e) = b.set_config(now, c) {
                        tracing::warn!(aggregate = %self.name, "BFD: {e}");
                    }
                }
                (Some(c), None) => {
                    let mut b = MicroBfd::new(c, bfd_seed(self.id));
                    for (port, mac, ifindex) in members {
                        let _ = b.add_port(now, *port, *mac);
                        if let Some(l) = self.links.get(*port) {
                            b.handle_link(now, *port, l.up);
                        }
                        self.bfd.set_member(*port, *ifindex);
                    }
                    *core = Some(b);
                }
            }
            if let Some(b) = core.as_mut() {
                b.set_local_ip(local_ip);
            }
        }
        self.bfd.wake();
        self.apply_links(now);
    }

    /// Adds member `port` (frames from `mac`, interface `ifindex`) to micro-BFD, if on.
    pub(crate) fn bfd_add_port(
        &mut self,
        now: Instant,
        port: PortNumber,
        mac: MacAddr,
        ifindex: u32,
    ) {
        if let Some(b) = lock(&self.bfd.core).as_mut() {
            let _ = b.add_port(now, port, mac);
            self.bfd.set_member(port, ifindex);
        }
    }

    /// Forgets member `port` (carrier and micro-BFD session).
    pub(crate) fn forget_port(&mut self, port: PortNumber) {
        self.links.remove(port);
        if let Some(b) = lock(&self.bfd.core).as_mut() {
            let _ = b.remove_port(port);
        }
        self.bfd.remove_member(port);
    }

    /// The carrier of member `port` changed: micro-BFD hears of it, and the LACP core gets
    /// it gated by the BFD session.
    pub(crate) fn set_link(&mut self, now: Instant, port: PortNumber, st: LinkStatus) {
        self.links.set(port, st);
        if let Some(b) = lock(&self.bfd.core).as_mut() {
            b.handle_link(now, port, st.up);
            self.bfd.wake();
        }
        self.agg.handle_link(now, port, self.gated(port, st));
    }

    /// The carrier of member `port` as last reported.
    pub(crate) fn link(&self, port: PortNumber) -> Option<LinkStatus> {
        self.links.get(port)
    }

    /// `st` as the LACP core sees it: down while micro-BFD is on and the session not Up.
    fn gated(&self, port: PortNumber, st: LinkStatus) -> LinkStatus {
        LinkGate::gated(lock(&self.bfd.core).as_ref(), port, st)
    }

    /// Tells the LACP core of every member whose gated status differs from what it knows.
    fn apply_links(&mut self, now: Instant) {
        let changes = self.links.changes(lock(&self.bfd.core).as_ref(), &self.agg);
        for (p, g) in changes {
            self.agg.handle_link(now, p, g);
        }
    }

    /// Logs micro-BFD's events and applies session changes to the LACP core.
    fn drain_bfd(&mut self) {
        let mut events = Vec::new();
        let bfd = Arc::clone(&self.bfd);
        let changed = self
            .drain
            .drain_bfd(lock(&bfd.core).as_mut(), |e| events.push(e));
        for e in events {
            let link = e.port.map(|p| self.port_names.name(p));
            // An aggregation-wide event names no member.
            let member = link.as_deref();
            let message = e.to_string();
            match &e.kind {
                lagd_bfd::EventKind::SessionState { .. }
                | lagd_bfd::EventKind::PeerLearned { .. } => {
                    tracing::info!(aggregate = %self.name, member, "{message}");
                }
                lagd_bfd::EventKind::RxError { .. } => {
                    tracing::debug!(aggregate = %self.name, member, "{message}");
                    continue;
                }
            }
            let detail = serde_json::to_value(&e).unwrap_or(serde_json::Value::Null);
            self.reporter
                .log
                .push(e.at.as_nanos(), &self.name, link, message, detail);
        }
        if let Some(now) = changed {
            self.apply_links(now);
        }
    }

    /// How many times each member stopped distributing (flaps).
    pub(crate) fn flaps(&self) -> &BTreeMap<PortNumber, u64> {
        self.drain.flaps()
    }

    /// Logs and records every pending event; reports drained ports and earlier deadlines.
    pub(crate) fn drain_events(&mut self) {
        self.drain_bfd();
        let mut events = Vec::new();
        self.drain.drain_agg(&mut self.agg, |ev| events.push(ev));
        for ev in &events {
            self.report(ev);
        }
        self.report_suppressed();
        if let Some(up) = self.drain.carrier(&self.agg) {
            tracing::info!(aggregate = %self.name, up, "aggregate carrier {}", if up { "up" } else { "down" });
        }
        // While the kernel path runs, frames also leave by it, counted only at its harvest: no
        // move may then share a Marker already sent (Distributor::set_other_sender).
        self.agg.set_other_sender(self.offload.is_some());
        if let Some(o) = self.offload.as_mut() {
            o.sync_balancer(self.agg.alb());
            o.sync(&self.agg);
            let agg = &self.agg;
            o.sync_collecting(|p| agg.is_collecting(p));
        }
        if let Some(t) = self.poll_timeout()
            && t.as_nanos() < self.reporter.sleeping_until.load(Ordering::Relaxed)
        {
            // Lower the mark at once so a burst of frames sends one wake-up, not one each.
            self.reporter
                .sleeping_until
                .store(t.as_nanos(), Ordering::Relaxed);
            let _ = self.reporter.tx.send(EngineMsg::Wake);
        }
    }

    /// The earliest deadline: the aggregation's timers and the fast path's work (micro-BFD's
    /// timers are its thread's).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.agg.poll_timeout(),
            self.offload.as_ref().and_then(Offload::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs what is due at `now`: the aggregation's timers, then the fast path's counter
    /// harvest (folded into the distributor's load). Follow with
    /// [`Adapter::drain_events`].
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.agg.poll_timeout().is_some_and(|t| t <= now) {
            self.agg.handle_timeout(now);
        }
        if let Some(o) = self.offload.as_mut() {
            o.harvest(now);
            o.sync(&self.agg);
            for (bucket, bytes, frames) in o.take_pending() {
                self.agg.account_sent(bucket, frames, bytes);
            }
            for (peer, bytes) in o.harvest_peers(now, self.agg.alb()) {
                self.agg.account_peer_received(peer, bytes);
            }
        }
    }

    fn report(&mut self, ev: &AggEvent) {
        let port = ev.port();
        let name_of = |p: PortNumber| self.port_names.name(p);
        let link = port.map(name_of);
        if let AggEvent::Drained { port } = ev {
            let _ = self.reporter.tx.send(EngineMsg::Drained {
                id: self.id,
                port: *port,
            });
        }
        let message = ev.describe(&name_of);
        if !matches!(ev, AggEvent::Lacp(e) if matches!(e.kind, EventKind::Periodic { .. } | EventKind::RxError { .. }))
            && !self.state_dirty
        {
            // The record is rewritten promptly by the timer thread.
            self.state_dirty = true;
            let _ = self.reporter.tx.send(EngineMsg::Wake);
        }
        let key: EventKey = (
            port,
            std::mem::discriminant(ev),
            match ev {
                AggEvent::Lacp(e) => Some(std::mem::discriminant(&e.kind)),
                _ => None,
            },
        );
        let now = lagd_dataplane::monotonic_now().as_nanos();
        if !self.limiter.admit(now, &key, &message) {
            return;
        }
        // An aggregation-wide event names no member.
        let member = link.as_deref();
        if !ev.is_detail() {
            tracing::info!(aggregate = %self.name, member, "{message}");
        } else {
            tracing::debug!(aggregate = %self.name, member, "{message}");
        }
        let at = match ev {
            AggEvent::Lacp(e) => e.at.as_nanos(),
            _ => lagd_dataplane::monotonic_now().as_nanos(),
        };
        let detail = serde_json::to_value(ev).unwrap_or(serde_json::Value::Null);
        self.reporter
            .log
            .push(at, &self.name, link, message, detail);
    }

    /// Logs and records one line per rate-limited stream of events whose window is over.
    fn report_suppressed(&mut self) {
        let now = lagd_dataplane::monotonic_now().as_nanos();
        for s in self.limiter.flush(now) {
            let link = s.key.0.map(|p| self.port_names.name(p));
            // An aggregation-wide event names no member.
            let member = link.as_deref();
            let message = format!(
                "{} more like \"{}\" in the last {} s, not logged (rate limit; counters are exact)",
                s.count,
                s.sample,
                crate::ratelimit::WINDOW_NS / 1_000_000_000
            );
            tracing::warn!(aggregate = %self.name, member, "{message}");
            self.reporter.log.push(
                now,
                &self.name,
                link,
                message,
                serde_json::json!({ "suppressed": s.count }),
            );
        }
    }
}

impl Protocol for Adapter {
    fn dispatch(&mut self, now: Instant, frame: &[u8], slot: Slot) -> TxDecision {
        let d = match self.offload.as_mut() {
            Some(o) => {
                // The frame came through user space: counted for its bucket's hand-back.
                let dist = self.agg.distributor();
                let mode = dist.config().mode;
                let hash = crate::offload::host_hash(mode, &dist.config().policy, frame);
                if matches!(mode, Mode::Hash | Mode::ActiveBackup) {
                    o.note_dispatch(now, dist.bucket_of(hash));
                }
                self.agg.handle_host_hashed(now, hash, frame.len(), slot)
            }
            None => self.agg.handle_host_frame(now, frame, slot),
        };
        match d {
            Dispatch::Send(p, _) => TxDecision::Send(p),
            Dispatch::Broadcast(_) => TxDecision::Broadcast,
            Dispatch::Held => {
                // A move began (marker requested): events and a new deadline to report.
                self.drain_events();
                TxDecision::Held
            }
            Dispatch::Drop(..) => TxDecision::Drop,
        }
    }

    fn poll_release(&mut self) -> Option<(PortNumber, Slot)> {
        self.agg.poll_release()
    }

    fn broadcast_ports(&self) -> Vec<PortNumber> {
        self.agg.broadcast_ports()
    }

    fn poll_control_frame(&mut self, now: Instant) -> Option<(PortNumber, Vec<u8>)> {
        let t = self.agg.poll_transmit(now)?;
        Some((t.port, t.frame))
    }

    fn handle_control_frame(&mut self, now: Instant, port: PortNumber, frame: &[u8]) {
        if MicroBfdFrame::is_micro_bfd(frame) {
            // The BFD thread reads its own copy from the member's micro-BFD socket, with the
            // time it arrived; this one is dropped (it is never the host's).
            return;
        } else {
            let _ = self.agg.handle_port_frame(now, port, frame);
        }
        self.drain_events();
    }

    fn marker_departed(&mut self, now: Instant, port: PortNumber, frame: &[u8]) {
        self.agg.handle_marker_departed(now, port, frame);
        self.drain_events();
    }

    fn is_collecting(&self, port: PortNumber) -> bool {
        self.agg.is_collecting(port)
    }

    fn carrier(&self) -> bool {
        self.agg.is_up()
    }

    fn tap_drained(&mut self, now: Instant) {
        if let Some(o) = self.offload.as_mut() {
            o.promote(now, self.agg.distributor());
        }
    }

    fn after_send(&mut self, _now: Instant) {
        if let Some(o) = self.offload.as_mut() {
            o.after_send(self.agg.distributor());
        }
    }

    fn prepare_tx(&mut self, now: Instant, port: PortNumber, frame: &mut [u8]) -> PortNumber {
        let port = self.agg.prepare_host_frame(now, frame, port);
        if self.agg.take_wake() || self.agg.has_events() {
            // A new peer: its event, and the timer woken for its updates.
            self.drain_events();
        }
        port
    }

    fn filters_rx(&self) -> bool {
        self.agg.filters_port_frames()
    }

    fn filter_rx(&mut self, now: Instant, port: PortNumber, frame: &mut [u8]) -> bool {
        let v = self.agg.filter_port_frame(now, port, frame);
        if self.agg.take_wake() || self.agg.has_events() {
            self.drain_events();
        }
        v == lagd_agg::RxVerdict::Deliver
    }
}

/// The seed of an aggregation's micro-BFD discriminators and jitter: the clock and the
/// instance id, so that a restarted lagd does not reuse its discriminators.
fn bfd_seed(id: u64) -> u64 {
    lagd_dataplane::monotonic_now().as_nanos() ^ (id << 48) ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AggrMode, AggrSpec, AnyLinks};
    use lagd_agg::lagd_lacp::LinkStatus;
    use lagd_types::MacAddr;

    fn reporter() -> (Reporter, std::sync::mpsc::Receiver<EngineMsg>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (
            Reporter {
                log: Arc::new(EventLog::new(256)),
                tx,
                sleeping_until: Arc::new(AtomicU64::new(u64::MAX)),
            },
            rx,
        )
    }

    /// A static aggregation of two ports driven through the `Protocol` trait, as the forwarder
    /// does: dispatch, collecting, carrier, events, drain notification.
    #[test]
    fn protocol_adapter_drives_the_aggregation() {
        let mut s = AggrSpec::new("aggr1", &["eth1", "eth2"]);
        s.mode = Some(AggrMode::Static);
        let r = s.resolve(&AnyLinks).unwrap();
        let mac: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        let (rep, rx) = reporter();
        let log = rep.log.clone();
        let mut a = Adapter::new(7, "aggr1", r.aggregation_config(r.system(mac)), rep);
        let t = Instant::from_secs(1);
        for (n, link) in [(1u16, "eth1"), (2, "eth2")] {
            a.agg
                .add_port(t, r.port_config(link, n, MacAddr([2, 0, 0, 0, 1, n as u8])))
                .unwrap();
            a.port_names.insert(n, link);
        }
        // Nothing is up: frames are dropped, no carrier.
        let frame = [0u8; 64];
        assert_eq!(a.dispatch(t, &frame, 0), TxDecision::Drop);
        assert!(!a.carrier());
        let up = LinkStatus {
            up: true,
            speed_mbps: 10000,
            full_duplex: true,
        };
        a.agg.handle_link(t, 1, up);
        a.agg.handle_link(t, 2, up);
        a.drain_events();
        // A deadline earlier than the timer thread's sleep was reported.
        assert_eq!(rx.try_recv(), Ok(EngineMsg::Wake));
        // Static mode: Collecting and Distributing once the timers run (wait_while_timer).
        let mut now = t;
        for _ in 0..100 {
            if a.carrier() {
                break;
            }
            match a.agg.poll_timeout() {
                Some(d) => now = d.max(now),
                None => break,
            }
            a.agg.handle_timeout(now);
            a.drain_events();
        }
        assert!(a.carrier(), "{:?}", a.agg.status().lacp);
        assert!(a.is_collecting(1) && a.is_collecting(2));
        let mut ports = a.broadcast_ports();
        ports.sort();
        assert_eq!(ports, vec![1, 2]);
        assert!(matches!(
            a.dispatch(now, &frame, 1),
            TxDecision::Send(1 | 2)
        ));
        // Events were logged with member names.
        let ev = log.recent();
        assert!(
            ev.iter().any(|e| e.link.as_deref() == Some("eth2")),
            "{ev:?}"
        );
        // A graceful removal ends with a Drained message to the engine.
        while rx.try_recv().is_ok() {}
        a.agg.drain_port(now, 2).unwrap();
        a.drain_events();
        let mut drained = false;
        for _ in 0..100 {
            if rx
                .try_iter()
                .any(|m| m == EngineMsg::Drained { id: 7, port: 2 })
            {
                drained = true;
                break;
            }
            now = a.agg.poll_timeout().unwrap_or(now).max(now);
            a.agg.handle_timeout(now);
            a.drain_events();
        }
        assert!(drained);
    }
}
