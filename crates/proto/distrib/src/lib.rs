//! Frame distribution: flow keys, hash policies, bucket table, marker-protected moves and load rebalancing, with no I/O.
