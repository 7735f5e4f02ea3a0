//! Distributed Trunking in the daemon: the `[dt]` configuration, and the runtime that drives
//! the DT protocol core (`lagd-dt`) over the peer link and the keepalive, and applies its
//! decisions to the distributed aggregations (LACP system id, port numbers, ports down, bridge
//! port isolation, MAC sync). See `docs/DT.md`.

pub(crate) mod epoch;
pub(crate) mod isolation;
pub(crate) mod runtime;

pub(crate) use runtime::DtRuntime;
