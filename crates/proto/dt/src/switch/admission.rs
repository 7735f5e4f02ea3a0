//! What a received frame must pass before it may change anything, in order:
//!
//! 1. it parses (else `rx_errors`);
//! 2. it is addressed to the DT group address, its Ethernet source is the sender's system MAC
//!    and its KEEPALIVE flag names the path it arrived on (else `rx_bad_address`);
//! 3. it does not carry this switch's own MAC (else `rx_looped`);
//! 4. it is signed with this switch's key, or unsigned when there is no key (else
//!    `rx_auth_failed`);
//! 5. it comes from the pinned peer, when one is held (else `rx_stranger`);
//! 6. it belongs to this DT domain (else `rx_foreign`; see [`Dt::foreign_evidence`]);
//! 7. it is fresh (`crate::freshness`; else `rx_stale`, or `rx_unconfirmed` for a restarted
//!    peer's first frames, which are answered).
//!
//! A refused frame changes nothing but its counter and, at most once a second per counter, an
//! event (per path); it never causes a transmission (except the rate-limited answer of step 7).

use super::{Dt, ForeignPeer};
use crate::auth::verify;
use crate::freshness::Fresh;
use crate::pdu::{DomainInfo, DtPduRepr};
use crate::{DT_GROUP_ADDR, DtEventKind, DtFrame, DtPath, DtWireError, Refusal, RefuseReason};
use lagd_types::{Duration, Instant, MacAddr};

/// Least time between two events of one refusal counter.
const REFUSAL_EVENT_GAP: Duration = Duration::from_secs(1);
/// Least time between two answers to an unconfirmed frame on one path.
const REPLY_GAP: Duration = Duration::from_millis(50);

/// Which counter a refusal increments (the index of its event rate limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefusalClass {
    Malformed,
    Address,
    Stranger,
    Auth,
    Stale,
    Foreign,
}

impl RefusalClass {
    pub(crate) const COUNT: usize = 6;

    fn of(reason: &RefuseReason) -> RefusalClass {
        match reason {
            RefuseReason::Destination | RefuseReason::Source | RefuseReason::WrongPath => {
                RefusalClass::Address
            }
            RefuseReason::Stranger { .. } => RefusalClass::Stranger,
            RefuseReason::Auth(_) => RefusalClass::Auth,
            RefuseReason::Stale => RefusalClass::Stale,
        }
    }
}

fn path_slot(path: DtPath) -> usize {
    match path {
        DtPath::PeerLink => 0,
        DtPath::Keepalive => 1,
    }
}

impl Dt {
    /// Whether an event of `class` on `path` may be emitted now (and notes that it is).
    fn event_due(&mut self, now: Instant, class: RefusalClass, path: DtPath) -> bool {
        let slot = class as usize * 2 + path_slot(path);
        let Some(last) = self.refusal_events.get_mut(slot) else {
            return false;
        };
        if last.is_some_and(|t| now < t + REFUSAL_EVENT_GAP) {
            return false;
        }
        *last = Some(now);
        true
    }

    fn refuse(&mut self, now: Instant, path: DtPath, mac: MacAddr, reason: RefuseReason) {
        let c = &mut self.counters;
        let count = match RefusalClass::of(&reason) {
            RefusalClass::Address => {
                c.rx_bad_address += 1;
                c.rx_bad_address
            }
            RefusalClass::Stranger => {
                c.rx_stranger += 1;
                c.rx_stranger
            }
            RefusalClass::Auth => {
                c.rx_auth_failed += 1;
                c.rx_auth_failed
            }
            RefusalClass::Stale | RefusalClass::Malformed | RefusalClass::Foreign => {
                c.rx_stale += 1;
                c.rx_stale
            }
        };
        self.last_refused = Some(Refusal {
            at: now,
            path,
            mac,
            reason,
        });
        if self.event_due(now, RefusalClass::of(&reason), path) {
            self.emit(
                now,
                DtEventKind::Refused {
                    path,
                    mac,
                    reason,
                    count,
                },
            );
        }
    }

    /// Answers, at most every [`REPLY_GAP`] per path, a frame that needs ours to go on (a
    /// restarted peer learning our epoch).
    fn answer(&mut self, now: Instant, path: DtPath) {
        let Some(last) = self.reply_at.get_mut(path_slot(path)) else {
            return;
        };
        if last.is_some_and(|t| now < t + REPLY_GAP) {
            return;
        }
        *last = Some(now);
        match path {
            DtPath::PeerLink => self.ntt = true,
            DtPath::Keepalive => self.send_keepalive(),
        }
    }

    /// The identity frames must come from: the pinned peer, else the peer being formed with.
    fn expected_peer(&self) -> Option<MacAddr> {
        self.pinned.or(self.peer.map(|p| p.system_mac))
    }

    /// Runs the checks on a received frame: `Ok(Some(_))` when it may be used.
    pub(crate) fn admit(
        &mut self,
        now: Instant,
        path: DtPath,
        frame: &[u8],
    ) -> Result<Option<DtPduRepr>, DtWireError> {
        let f = match DtFrame::parse(frame) {
            Ok(f) => f,
            Err(e) => {
                self.counters.rx_errors += 1;
                if self.event_due(now, RefusalClass::Malformed, path) {
                    self.emit(now, DtEventKind::RxError { path, error: e });
                }
                return Err(e);
            }
        };
        let pdu = f.pdu;
        let mac = pdu.portal.aggregator_id;
        let keepalive = pdu.domain.flags & DomainInfo::KEEPALIVE != 0;
        if f.dst != DT_GROUP_ADDR {
            self.refuse(now, path, mac, RefuseReason::Destination);
            return Ok(None);
        }
        if f.src != mac {
            self.refuse(now, path, mac, RefuseReason::Source);
            return Ok(None);
        }
        if keepalive != (path == DtPath::Keepalive) {
            self.refuse(now, path, mac, RefuseReason::WrongPath);
            return Ok(None);
        }
        if mac == self.cfg.system_mac {
            self.counters.rx_looped += 1;
            self.emit(now, DtEventKind::Looped { path, mac });
            return Ok(None);
        }
        if let Err(e) = verify(frame, pdu.auth.as_ref(), self.cfg.key.as_ref()) {
            self.refuse(now, path, mac, RefuseReason::Auth(e));
            return Ok(None);
        }
        if let Some(pinned) = self.pinned
            && pinned != mac
        {
            self.refuse(now, path, mac, RefuseReason::Stranger { pinned });
            return Ok(None);
        }
        let Some(q) = pdu.sequence else {
            self.refuse(now, path, mac, RefuseReason::Stale);
            return Ok(None);
        };
        if pdu.domain.domain_id != self.cfg.domain_id {
            self.foreign_evidence(now, path, &pdu);
            return Ok(None);
        }
        // Before the pair has formed, another identity on the peer link replaces the one being
        // formed with; on the keepalive path it is a stranger.
        if let Some(expected) = self.expected_peer()
            && expected != mac
        {
            if path == DtPath::Keepalive {
                self.refuse(now, path, mac, RefuseReason::Stranger { pinned: expected });
                return Ok(None);
            }
            self.fresh.reset();
        }
        let fresh = self.fresh.check(path, &q, self.cfg.epoch, self.tx_seq);
        self.echo.hear(&q);
        match fresh {
            Fresh::Stale => {
                self.refuse(now, path, mac, RefuseReason::Stale);
                Ok(None)
            }
            Fresh::Unconfirmed => {
                self.counters.rx_unconfirmed += 1;
                self.answer(now, path);
                Ok(None)
            }
            Fresh::Newer | Fresh::Adopted => Ok(Some(pdu)),
        }
    }

    /// A PDU of another DT domain: counted and reported; it counts as evidence of a domain
    /// mismatch (the switch cabled as the peer is configured in another domain) only when it
    /// arrived on the peer link, from the pinned peer if one is held (checked before), and
    /// echoes this switch's current epoch (it hears us now: not a recording), with a frame
    /// number above the last one seen of it. With a key it was also authenticated before.
    fn foreign_evidence(&mut self, now: Instant, path: DtPath, pdu: &DtPduRepr) {
        self.counters.rx_foreign += 1;
        let mac = pdu.portal.aggregator_id;
        let domain_id = pdu.domain.domain_id;
        if let Some(q) = &pdu.sequence {
            self.echo.hear(q);
            let newer = self
                .foreign
                .is_none_or(|f| f.mac != mac || f.epoch != q.epoch || q.seq > f.seq);
            let echoes_us =
                q.echo_epoch == self.cfg.epoch && q.echo_seq > 0 && q.echo_seq <= self.tx_seq;
            if path == DtPath::PeerLink && newer && echoes_us {
                self.foreign = Some(ForeignPeer {
                    domain_id,
                    mac,
                    role_priority: pdu.portal.aggregator_priority,
                    until: now + self.cfg.peer_timeout,
                    epoch: q.epoch,
                    seq: q.seq,
                });
            } else if path == DtPath::PeerLink && newer {
                // It has not heard us yet: answer so it can.
                self.answer(now, path);
            }
        }
        if self.event_due(now, RefusalClass::Foreign, path) {
            self.emit(now, DtEventKind::ForeignDomain { path, domain_id });
        }
    }
}
