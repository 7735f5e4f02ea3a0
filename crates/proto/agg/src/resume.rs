//! Snapshot and resume of a whole aggregation: LACP's view of every port
//! ([`lagd_lacp::LacpSnapshot`]) and the distributor's bucket table, so that a restarted driver
//! carries on where the previous one stopped: the partner sees the same LACPDUs, and every
//! conversation stays on its port (none moves, so none is reordered).

use lagd_lacp::{LacpSnapshot, LinkStatus, ResumeOutcome};
use lagd_types::{Instant, PortNumber};
use serde::{Deserialize, Serialize};

use crate::Aggregation;

/// The state of an aggregation a restarted driver resumes ([`Aggregation::resume`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggSnapshot {
    /// LACP: what the partner sees of each port.
    pub lacp: LacpSnapshot,
    /// The distributor's bucket table (bucket → port).
    pub buckets: Vec<Option<PortNumber>>,
}

/// What [`Aggregation::resume`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggResumeOutcome {
    /// LACP: the ports resumed and those that start afresh.
    pub lacp: ResumeOutcome,
    /// The saved bucket table was put back.
    pub buckets: bool,
}

impl<F> Aggregation<F> {
    /// The state a restarted driver needs to resume this aggregation unnoticed.
    pub fn snapshot(&self) -> AggSnapshot {
        AggSnapshot {
            lacp: self.lacp.snapshot(),
            buckets: self.dist.bucket_table().to_vec(),
        }
    }

    /// Resumes from `snap` (see [`lagd_lacp::Lacp::resume`]: call on a fresh aggregation whose
    /// ports were added but not yet reported up, before polling anything), then puts the
    /// bucket table back if it fits the ports that distribute now. Ports not resumed are left
    /// for [`Aggregation::handle_link`].
    pub fn resume(
        &mut self,
        now: Instant,
        snap: &AggSnapshot,
        link: impl FnMut(PortNumber) -> LinkStatus,
    ) -> AggResumeOutcome {
        let lacp = self.lacp.resume(now, &snap.lacp, link);
        self.sync(now);
        let buckets = !lacp.resumed.is_empty() && self.dist.resume_table(&snap.buckets);
        AggResumeOutcome { lacp, buckets }
    }
}
