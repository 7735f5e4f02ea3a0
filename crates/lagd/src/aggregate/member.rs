//! A member taken over, as a running aggregation holds it.

use lagd_dataplane::Member;

/// A member taken over.
pub(crate) struct MemberRt {
    /// Interface name.
    pub name: String,
    /// The take-over guard (restores the interface when dropped).
    pub member: Member,
    /// A graceful removal is in progress.
    pub draining: bool,
    /// Its kernel drop counters lately.
    pub drops: crate::member_facts::DropHistory,
    /// How many times its carrier went down.
    pub carrier_losses: u64,
}
