//! Where a conversation goes: the answer to `lagctl show-hash AGGR --flow ...`, computed by the
//! same hash, bucket mask and bucket table as the data path (no copy of them anywhere else).

use lagd_types::PortNumber;
use serde::{Deserialize, Serialize};

use crate::{Distributor, FlowKey, Mode};

/// Where the frames of one conversation are sent now ([`Distributor::place`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The conversation hash ([`HashPolicy::hash`](crate::HashPolicy::hash); 0 where the mode
    /// does not hash).
    pub hash: u32,
    /// Its bucket (`hash & (buckets - 1)`).
    pub bucket: usize,
    /// The member that carries it (none: no member distributing; or a mode that spreads each
    /// frame, see `per_frame`).
    pub port: Option<PortNumber>,
    /// Its bucket is moving under Marker protection: its frames are held, then sent on the
    /// new member.
    pub moving: bool,
    /// Round-robin or broadcast: no single member carries the conversation.
    pub per_frame: bool,
}

impl<F> Distributor<F> {
    /// Where the frames of conversation `key` go now: the hash of the configured policy (as
    /// [`Distributor::handle_frame`] computes it), its bucket, and the bucket's member.
    pub fn place(&self, key: &FlowKey) -> Placement {
        let mode = self.config().mode;
        let hash = match mode {
            Mode::Hash => self.config().policy.hash(key),
            _ => 0,
        };
        let bucket = self.bucket_of(hash);
        let per_frame = !matches!(mode, Mode::Hash | Mode::ActiveBackup);
        let port = if per_frame {
            None
        } else {
            self.bucket_table().get(bucket).copied().flatten()
        };
        Placement {
            hash,
            bucket,
            port,
            moving: self.is_moving(bucket),
            per_frame,
        }
    }
}
