//! The round-robin rotation.

use lagd_types::PortNumber;

use super::Distributor;

/// A port with its record (the counters its frames are charged to).
#[derive(Clone, Copy, Debug)]
pub(super) struct PortRef {
    pub(super) port: PortNumber,
    pub(super) record: u32,
}

/// Round-robin: the members frames rotate over (not draining, else all members) and the next.
#[derive(Debug, Default)]
pub(super) struct RoundRobin {
    pub(super) members: Vec<PortRef>,
    pub(super) next: usize,
}

impl RoundRobin {
    /// The port for the next frame, if any.
    pub(super) fn next_port(&mut self) -> Option<PortRef> {
        let n = self.members.len();
        let p = *self.members.get(self.next % n.max(1))?;
        self.next = self.next.wrapping_add(1);
        Some(p)
    }
}

impl<F> Distributor<F> {
    pub(super) fn update_rr(&mut self) {
        let e = self.eligible();
        self.rr.members = e
            .iter()
            .map(|&port| PortRef {
                port,
                record: self.existing_record(port),
            })
            .collect();
    }
}
