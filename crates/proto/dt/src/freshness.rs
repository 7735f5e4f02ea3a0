//! Replay protection: every DT frame carries its sender's boot **epoch** (random per start)
//! and a **frame number** (`seq`, one counter for both paths, from 1), plus the **echo** of the
//! receiver's own epoch and frame number as the sender last heard them (Sequence TLV).
//!
//! * Within the peer's current epoch, a frame is fresh when its number is higher than the last
//!   accepted on the same path (each path is one link, so it does not reorder; a frame moved
//!   to the other path is refused by its KEEPALIVE flag, which the ICV covers).
//! * A frame of another epoch (the peer restarted, or an old recording) is adopted only when
//!   it echoes **this** switch's current epoch with a frame number sent after the last
//!   adoption: a recording from an earlier boot of either switch cannot echo it. Until then
//!   the frame proves nothing and is only answered, so that the peer learns our epoch (one
//!   round trip at a peer's restart).
//!
//! With a key the ICV covers the Sequence TLV, so neither number can be forged; without one
//! this stops replays only.

use crate::DtPath;
use crate::pdu::SequenceInfo;

/// What a frame's Sequence TLV says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// Newer than anything of the peer's current epoch on this path.
    Newer,
    /// A new epoch of the peer, confirmed by a valid echo: adopted.
    Adopted,
    /// A new epoch without a valid echo: not used (answered).
    Unconfirmed,
    /// Old, replayed or invalid numbers.
    Stale,
}

fn slot(path: DtPath) -> usize {
    match path {
        DtPath::PeerLink => 0,
        DtPath::Keepalive => 1,
    }
}

/// The replay-protection state kept for the peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Freshness {
    /// The peer's adopted epoch.
    epoch: Option<u64>,
    /// Highest frame number accepted on each path in that epoch.
    seq: [u64; 2],
    /// Our own frame number when that epoch was adopted: a new epoch must echo a later one.
    mark: u64,
}

impl Freshness {
    /// Judges `q`, received on `path`, when this switch is in epoch `our_epoch` and has sent
    /// frames up to number `our_seq`.
    pub fn check(&mut self, path: DtPath, q: &SequenceInfo, our_epoch: u64, our_seq: u64) -> Fresh {
        if q.epoch == 0 || q.seq == 0 {
            return Fresh::Stale;
        }
        let s = slot(path);
        if self.epoch == Some(q.epoch) {
            return match self.seq.get_mut(s) {
                Some(last) if q.seq > *last => {
                    *last = q.seq;
                    Fresh::Newer
                }
                _ => Fresh::Stale,
            };
        }
        let echoes_us =
            q.echo_epoch == our_epoch && q.echo_seq > self.mark && q.echo_seq <= our_seq;
        if !echoes_us {
            return Fresh::Unconfirmed;
        }
        self.epoch = Some(q.epoch);
        self.seq = [0, 0];
        if let Some(last) = self.seq.get_mut(s) {
            *last = q.seq;
        }
        self.mark = our_seq;
        Fresh::Adopted
    }

    /// The peer's adopted epoch.
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// The highest frame number accepted on `path` in the adopted epoch.
    pub fn last(&self, path: DtPath) -> u64 {
        self.seq.get(slot(path)).copied().unwrap_or(0)
    }

    /// Another identity takes the peer's place: nothing of the old one's numbers applies, but
    /// the mark stays (recordings from before it remain refused).
    pub fn reset(&mut self) {
        self.epoch = None;
        self.seq = [0, 0];
    }
}

/// The echo a switch sends: the newest (epoch, frame number) it heard from the peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Echo {
    pub epoch: u64,
    pub seq: u64,
}

impl Echo {
    /// Takes `q` if it is newer (another epoch, or a higher number in the same one).
    pub fn hear(&mut self, q: &SequenceInfo) {
        if q.epoch != self.epoch || q.seq > self.seq {
            self.epoch = q.epoch;
            self.seq = q.seq;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(epoch: u64, seq: u64, echo_epoch: u64, echo_seq: u64) -> SequenceInfo {
        SequenceInfo {
            epoch,
            seq,
            echo_epoch,
            echo_seq,
        }
    }

    #[test]
    fn adopts_on_echo_then_needs_increasing_numbers_per_path() {
        let mut f = Freshness::default();
        let pl = DtPath::PeerLink;
        let ka = DtPath::Keepalive;
        // First frame of the peer: it has not heard us yet.
        assert_eq!(f.check(pl, &q(5, 1, 0, 0), 77, 3), Fresh::Unconfirmed);
        // It echoes an epoch of ours that is not the current one (a recording).
        assert_eq!(f.check(pl, &q(5, 2, 76, 3), 77, 3), Fresh::Unconfirmed);
        // It cannot echo a frame we have not sent.
        assert_eq!(f.check(pl, &q(5, 2, 77, 4), 77, 3), Fresh::Unconfirmed);
        assert_eq!(f.check(pl, &q(5, 2, 77, 3), 77, 3), Fresh::Adopted);
        assert_eq!(f.epoch(), Some(5));
        assert_eq!(f.check(pl, &q(5, 2, 77, 3), 77, 4), Fresh::Stale, "replay");
        assert_eq!(f.check(pl, &q(5, 1, 77, 3), 77, 4), Fresh::Stale);
        assert_eq!(
            f.check(ka, &q(5, 1, 77, 3), 77, 4),
            Fresh::Newer,
            "own path"
        );
        assert_eq!(f.check(pl, &q(5, 4, 77, 3), 77, 4), Fresh::Newer);
        assert_eq!(f.check(ka, &q(5, 3, 77, 3), 77, 4), Fresh::Newer);
        assert_eq!((f.last(pl), f.last(ka)), (4, 3));
        assert_eq!(f.check(pl, &q(0, 9, 77, 3), 77, 4), Fresh::Stale);
        assert_eq!(f.check(pl, &q(5, 0, 77, 3), 77, 4), Fresh::Stale);
        // The peer restarts (epoch 6): adopted once it echoes a frame of ours sent after the
        // last adoption (mark 3); a recording of epoch 5 can no longer come back.
        assert_eq!(f.check(ka, &q(6, 1, 77, 3), 77, 9), Fresh::Unconfirmed);
        assert_eq!(f.check(ka, &q(6, 2, 77, 9), 77, 9), Fresh::Adopted);
        assert_eq!((f.last(pl), f.last(ka)), (0, 2));
        assert_eq!(f.check(pl, &q(5, 10, 77, 4), 77, 12), Fresh::Unconfirmed);
        f.reset();
        assert_eq!(f.epoch(), None);
        assert_eq!(
            f.check(pl, &q(5, 11, 77, 9), 77, 12),
            Fresh::Unconfirmed,
            "mark kept"
        );
    }

    #[test]
    fn echo_keeps_the_newest() {
        let mut e = Echo::default();
        e.hear(&q(5, 3, 0, 0));
        e.hear(&q(5, 2, 0, 0));
        assert_eq!((e.epoch, e.seq), (5, 3));
        e.hear(&q(6, 1, 0, 0));
        assert_eq!((e.epoch, e.seq), (6, 1));
    }
}
