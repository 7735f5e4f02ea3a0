//! Micro-BFD (RFC 7130): one Asynchronous-mode [`Session`] per member of an aggregation,
//! each carried by the member itself in the encapsulation of [`MicroBfdFrame`].

use crate::jitter::mix;
use crate::{
    BFD_TTL, BfdConfig, BfdConfigError, BfdWireError, Event, EventKind, MICRO_BFD_FRAME_LEN,
    MICRO_BFD_MAC, MicroBfdFrame, RxError, Session, SessionState, SessionStatus,
    UDP_SOURCE_PORT_MIN,
};
use lagd_types::{Instant, MacAddr, PortNumber};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// Queues keep at most this much room once drained.
const QUEUE_KEEP: usize = 256;

/// A frame to send on a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The member.
    pub port: PortNumber,
    /// The whole Ethernet frame (no FCS).
    pub frame: Vec<u8>,
}

impl Transmit {
    /// The length of every frame; a buffer this long always suffices for
    /// [`MicroBfd::poll_transmit_into`].
    pub const MAX_LEN: usize = MICRO_BFD_FRAME_LEN;
}

/// Why a member could not be added or found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    /// The port already runs a session.
    #[error("port {0} already runs a BFD session")]
    Duplicate(PortNumber),
    /// The port runs no session.
    #[error("port {0} runs no BFD session")]
    Unknown(PortNumber),
}

#[derive(Clone, Debug)]
struct Member {
    port: PortNumber,
    /// Our member's MAC: the source of our frames, and a destination we accept.
    mac: MacAddr,
    session: Session,
    /// The peer member's MAC, once heard.
    peer_mac: Option<MacAddr>,
    /// The peer's IPv4 source address, once heard.
    peer_ip: Option<Ipv4Addr>,
}

/// The state of one member's session, serializable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MemberStatus {
    /// The member.
    pub port: PortNumber,
    /// Our source MAC.
    pub mac: MacAddr,
    /// The destination MAC in use: the peer's once heard, else the dedicated one.
    pub dst_mac: MacAddr,
    /// Our IPv4 source address.
    pub src_ip: Ipv4Addr,
    /// The IPv4 destination in use.
    pub dst_ip: Ipv4Addr,
    /// The UDP source port of this session.
    pub src_port: u16,
    /// The peer's MAC, once heard.
    pub peer_mac: Option<MacAddr>,
    /// The session.
    pub session: SessionStatus,
}

/// The micro-BFD sessions of one aggregation.
///
/// # Addresses
/// Frames leave from the member's MAC to [`MICRO_BFD_MAC`] until the peer has been heard,
/// then to the MAC its packets come from; the peer is forgotten (back to the dedicated MAC)
/// when its session times out. The IPv4 source is [`MicroBfd::set_local_ip`]'s address; the
/// destination is the configured peer address if any, else the source address of the
/// peer's packets once heard, else 255.255.255.255 (the limited broadcast, which never leaves
/// the link).
#[derive(Clone, Debug)]
pub struct MicroBfd {
    cfg: BfdConfig,
    seed: u64,
    local_ip: Ipv4Addr,
    peer_ip: Option<Ipv4Addr>,
    admin_down: bool,
    /// By port number.
    members: Vec<Member>,
    events: VecDeque<Event>,
}

/// The fallback IPv4 source when the aggregate has no address: a link-local address (RFC
/// 3927, 169.254.1.0-169.254.254.255) made from the last two octets of `mac`.
pub fn link_local_ipv4(mac: MacAddr) -> Ipv4Addr {
    let [.., a, b] = mac.0;
    Ipv4Addr::new(169, 254, 1 + a % 254, b)
}

impl MicroBfd {
    /// No members yet. `seed` seeds the discriminators and the transmit jitter (the core has
    /// no randomness of its own: the daemon passes a random seed, the simulator a fixed one).
    /// An invalid `cfg` is used as given: check it with [`BfdConfig::validate`] first.
    pub fn new(cfg: BfdConfig, seed: u64) -> MicroBfd {
        MicroBfd {
            cfg,
            seed,
            local_ip: Ipv4Addr::UNSPECIFIED,
            peer_ip: None,
            admin_down: false,
            members: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> BfdConfig {
        self.cfg
    }

    /// Changes the timing of every session (announced by Poll Sequences where Up).
    pub fn set_config(&mut self, now: Instant, cfg: BfdConfig) -> Result<(), BfdConfigError> {
        cfg.validate()?;
        self.cfg = cfg;
        for i in 0..self.members.len() {
            if let Some(m) = self.members.get_mut(i) {
                m.session.set_config(now, cfg)?;
            }
            self.drain(i);
        }
        Ok(())
    }

    /// The IPv4 source address of our packets.
    pub fn set_local_ip(&mut self, ip: Ipv4Addr) {
        self.local_ip = ip;
    }

    /// The peer's IPv4 address, if configured (else learned from its packets).
    pub fn set_peer_ip(&mut self, ip: Option<Ipv4Addr>) {
        self.peer_ip = ip;
    }

    /// Holds every session in AdminDown, or releases them.
    pub fn set_admin_down(&mut self, now: Instant, admin_down: bool) {
        self.admin_down = admin_down;
        for i in 0..self.members.len() {
            if let Some(m) = self.members.get_mut(i) {
                m.session.set_admin_down(now, admin_down);
            }
            self.drain(i);
        }
    }

    /// Starts a session on `port`, whose frames leave from `mac`. It sends its first packet
    /// at once.
    pub fn add_port(
        &mut self,
        now: Instant,
        port: PortNumber,
        mac: MacAddr,
    ) -> Result<(), MemberError> {
        let i = match self.members.binary_search_by_key(&port, |m| m.port) {
            Ok(_) => return Err(MemberError::Duplicate(port)),
            Err(i) => i,
        };
        let mut discr = mix(self.seed ^ u64::from(port)) as u32;
        while discr == 0
            || self
                .members
                .iter()
                .any(|m| m.session.local_discr() == discr)
        {
            discr = discr.wrapping_add(1);
        }
        let mut session = Session::new(
            now,
            self.cfg,
            discr,
            mix(self.seed.wrapping_add(u64::from(port))),
        );
        session.set_admin_down(now, self.admin_down);
        self.members.insert(
            i,
            Member {
                port,
                mac,
                session,
                peer_mac: None,
                peer_ip: None,
            },
        );
        self.drain(i);
        Ok(())
    }

    /// Stops the session on `port`.
    pub fn remove_port(&mut self, port: PortNumber) -> Result<(), MemberError> {
        let i = self.position(port).ok_or(MemberError::Unknown(port))?;
        self.members.remove(i);
        Ok(())
    }

    /// Changes the source MAC of `port`'s frames.
    pub fn set_port_mac(&mut self, port: PortNumber, mac: MacAddr) -> Result<(), MemberError> {
        let i = self.position(port).ok_or(MemberError::Unknown(port))?;
        if let Some(m) = self.members.get_mut(i) {
            m.mac = mac;
        }
        Ok(())
    }

    /// The member's carrier went down or up (see [`Session::set_enabled`]).
    pub fn handle_link(&mut self, now: Instant, port: PortNumber, up: bool) {
        let Some(i) = self.position(port) else { return };
        if let Some(m) = self.members.get_mut(i) {
            m.session.set_enabled(now, up);
        }
        self.drain(i);
    }

    /// A frame classified as micro-BFD ([`MicroBfdFrame::is_micro_bfd`]) arrived on `port`.
    /// A refused frame is counted (`ctrl_pkt_drop`), reported as an `RxError` event and
    /// returned as the error.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        port: PortNumber,
        frame: &[u8],
    ) -> Result<(), RxError> {
        let i = self.position(port).ok_or(RxError::UnknownPort(port))?;
        let r = match self.members.get_mut(i) {
            Some(m) => receive(m, now, frame),
            None => Err(RxError::UnknownPort(port)),
        };
        self.drain(i);
        r
    }

    /// Hands in frames that were queued before they could be read (a driver that was not
    /// scheduled for a while, a socket drained only now), each with the time it *arrived* (the
    /// kernel's receive timestamp), then runs the timers due at `now`.
    ///
    /// Everything is processed as if it had been processed when it happened: frames in order
    /// of arrival, and before each frame the timers that were due before it arrived. So a
    /// frame that arrived before its session's Detection Time expired keeps the session Up,
    /// however late it is read, while a frame that arrived after the Detection Time expired
    /// does not undo the detection. `now` must be a time up to which every frame received
    /// has been read: a driver samples `now`, then drains its sockets, then calls this. A
    /// driver that runs the timers before reading what is queued declares a session Down
    /// whose packets are waiting in its socket (the false detections of a stalled process).
    /// Arrival times later than `now` are taken as `now`.
    pub fn handle_received<'a>(
        &mut self,
        now: Instant,
        frames: impl IntoIterator<Item = (PortNumber, Instant, &'a [u8])>,
    ) {
        let mut frames: Vec<(PortNumber, Instant, &[u8])> = frames
            .into_iter()
            .map(|(p, at, f)| (p, at.min(now), f))
            .collect();
        frames.sort_by_key(|f| f.1);
        for (port, at, frame) in frames {
            self.run_timers_until(at);
            let _ = self.handle_frame(at, port, frame);
        }
        self.run_timers_until(now);
    }

    /// Runs every timer due by `until`, each at its own deadline (bounded: a timer that
    /// fires re-arms itself at least a transmit interval later).
    fn run_timers_until(&mut self, until: Instant) {
        for _ in 0..1024 {
            match self.poll_timeout() {
                Some(t) if t <= until => self.handle_timeout(t),
                _ => return,
            }
        }
        self.handle_timeout(until);
    }

    /// Whether events wait in [`MicroBfd::poll_event`].
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Runs the timers due at `now`. Call when `now >= poll_timeout()`; harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.members.len() {
            if let Some(m) = self.members.get_mut(i) {
                m.session.handle_timeout(now);
            }
            self.drain(i);
        }
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let mut frame = vec![0u8; MICRO_BFD_FRAME_LEN];
        let (port, n) = self.poll_transmit_into(now, &mut frame).ok()??;
        frame.truncate(n);
        Some(Transmit { port, frame })
    }

    /// The next frame to send, written into `buf` (no allocation): its port and length. A
    /// buffer of [`Transmit::MAX_LEN`] octets always suffices; if `buf` is too short nothing
    /// is taken and the error says how long it must be.
    pub fn poll_transmit_into(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<(PortNumber, usize)>, BfdWireError> {
        if buf.len() < MICRO_BFD_FRAME_LEN {
            return Err(BfdWireError::BufferTooSmall {
                need: MICRO_BFD_FRAME_LEN,
                have: buf.len(),
            });
        }
        let (local_ip, peer_ip) = (self.local_ip, self.peer_ip);
        for m in &mut self.members {
            if let Some(bfd) = m.session.poll_transmit(now) {
                let f = MicroBfdFrame {
                    dst: m.peer_mac.unwrap_or(MICRO_BFD_MAC),
                    src: m.mac,
                    src_ip: local_ip,
                    dst_ip: dst_ip(peer_ip, m),
                    ttl: BFD_TTL,
                    src_port: src_port(m.port),
                    bfd,
                };
                let n = f.emit(buf)?;
                return Ok(Some((m.port, n)));
            }
        }
        Ok(None)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        if self.events.is_empty() && self.events.capacity() > QUEUE_KEEP {
            self.events.shrink_to(QUEUE_KEEP);
        }
        Some(e)
    }

    /// The earliest deadline of any session's timers (a scan: an aggregation has few members).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(|m| m.session.poll_timeout())
            .min()
    }

    /// Whether `port`'s session is Up. A member with BFD configured carries traffic only then.
    pub fn is_up(&self, port: PortNumber) -> bool {
        self.member(port).is_some_and(|m| m.session.is_up())
    }

    /// The session state of `port`.
    pub fn state(&self, port: PortNumber) -> Option<SessionState> {
        self.member(port).map(|m| m.session.state())
    }

    /// The ports with a session, in order.
    pub fn ports(&self) -> impl Iterator<Item = PortNumber> + '_ {
        self.members.iter().map(|m| m.port)
    }

    /// The state of `port`'s session.
    pub fn port(&self, port: PortNumber) -> Option<MemberStatus> {
        self.member(port).map(|m| self.member_status(m))
    }

    /// The state of every session, by port.
    pub fn status(&self) -> Vec<MemberStatus> {
        self.members.iter().map(|m| self.member_status(m)).collect()
    }

    fn member_status(&self, m: &Member) -> MemberStatus {
        MemberStatus {
            port: m.port,
            mac: m.mac,
            dst_mac: m.peer_mac.unwrap_or(MICRO_BFD_MAC),
            src_ip: self.local_ip,
            dst_ip: dst_ip(self.peer_ip, m),
            src_port: src_port(m.port),
            peer_mac: m.peer_mac,
            session: m.session.status(),
        }
    }

    fn position(&self, port: PortNumber) -> Option<usize> {
        self.members.binary_search_by_key(&port, |m| m.port).ok()
    }

    fn member(&self, port: PortNumber) -> Option<&Member> {
        self.position(port).and_then(|i| self.members.get(i))
    }

    /// Moves member `i`'s session events to the queue, with its port; forgets the peer's
    /// addresses once the session has forgotten the peer.
    fn drain(&mut self, i: usize) {
        let Some(m) = self.members.get_mut(i) else {
            return;
        };
        while let Some(mut e) = m.session.poll_event() {
            e.port = Some(m.port);
            self.events.push_back(e);
        }
        if m.session.remote_discr() == 0 {
            m.peer_mac = None;
            m.peer_ip = None;
        }
    }
}

/// RFC 5881 §4: a source port from 49152-65535, the same for all packets of a session and
/// unique among the system's sessions (one per member number).
fn src_port(port: PortNumber) -> u16 {
    UDP_SOURCE_PORT_MIN + port % (u16::MAX - UDP_SOURCE_PORT_MIN + 1)
}

fn dst_ip(configured: Option<Ipv4Addr>, m: &Member) -> Ipv4Addr {
    configured.or(m.peer_ip).unwrap_or(Ipv4Addr::BROADCAST)
}

/// The micro-BFD checks of one frame, then the session's.
fn receive(m: &mut Member, now: Instant, frame: &[u8]) -> Result<(), RxError> {
    let f = match MicroBfdFrame::parse(frame) {
        Ok(f) => f,
        Err(e) => return Err(m.session.drop_packet(now, e.into())),
    };
    if f.ttl != BFD_TTL {
        return Err(m.session.drop_packet(now, BfdWireError::Ttl(f.ttl).into()));
    }
    if f.dst != MICRO_BFD_MAC && f.dst != m.mac {
        return Err(m.session.drop_packet(now, RxError::NotForUs(f.dst)));
    }
    m.session.handle_packet(now, &f.bfd)?;
    if m.peer_mac != Some(f.src) || m.peer_ip != Some(f.src_ip) {
        m.peer_mac = Some(f.src);
        m.peer_ip = Some(f.src_ip);
        m.session.push_event(
            now,
            EventKind::PeerLearned {
                mac: f.src,
                ip: f.src_ip,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lagd_types::Duration;

    #[test]
    fn link_local_fallback_stays_in_the_rfc_3927_range() {
        assert_eq!(
            link_local_ipv4(MacAddr([2, 0, 0, 0, 0, 7])),
            Ipv4Addr::new(169, 254, 1, 7)
        );
        assert_eq!(
            link_local_ipv4(MacAddr([2, 0, 0, 0, 253, 9])),
            Ipv4Addr::new(169, 254, 254, 9)
        );
        assert_eq!(
            link_local_ipv4(MacAddr([2, 0, 0, 0, 254, 0xff])),
            Ipv4Addr::new(169, 254, 1, 255)
        );
    }

    #[test]
    fn addresses_and_config_reach_the_frames() {
        let cfg = BfdConfig::new(Duration::from_millis(20), 4);
        let mut m = MicroBfd::new(cfg, 3);
        assert_eq!(m.config(), cfg);
        m.set_local_ip(Ipv4Addr::new(198, 18, 0, 1));
        m.add_port(Instant::ZERO, 5, MacAddr([2, 0, 0, 0, 0, 5]))
            .unwrap();
        assert_eq!(
            m.add_port(Instant::ZERO, 5, MacAddr([2, 0, 0, 0, 0, 5])),
            Err(MemberError::Duplicate(5))
        );
        m.handle_timeout(Instant::ZERO);
        let t = m.poll_transmit(Instant::ZERO).unwrap();
        let f = MicroBfdFrame::parse(&t.frame).unwrap();
        assert_eq!(f.src_ip, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(f.dst_ip, Ipv4Addr::BROADCAST);
        assert_eq!(f.src_port, UDP_SOURCE_PORT_MIN + 5);
        assert_eq!(f.bfd.detect_mult, 4);
        m.set_peer_ip(Some(Ipv4Addr::new(198, 18, 0, 2)));
        assert_eq!(m.port(5).unwrap().dst_ip, Ipv4Addr::new(198, 18, 0, 2));
        m.set_admin_down(Instant::ZERO, true);
        assert_eq!(m.state(5), Some(SessionState::AdminDown));
        let bad = BfdConfig::new(Duration::ZERO, 3);
        assert!(m.set_config(Instant::ZERO, bad).is_err());
        assert_eq!(m.config(), cfg, "a refused config changes nothing");
        assert_eq!(m.remove_port(6), Err(MemberError::Unknown(6)));
        m.remove_port(5).unwrap();
        assert!(m.status().is_empty());
    }

    #[test]
    fn discriminators_are_unique_and_non_zero() {
        let mut m = MicroBfd::new(BfdConfig::default(), 0);
        for p in 1..=64 {
            m.add_port(Instant::ZERO, p, MacAddr([2, 0, 0, 0, 0, p as u8]))
                .unwrap();
        }
        let d: std::collections::BTreeSet<u32> =
            m.status().iter().map(|s| s.session.local_discr).collect();
        assert_eq!(d.len(), 64);
        assert!(!d.contains(&0));
    }
}
